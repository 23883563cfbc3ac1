package kube

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/httpstream"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes/fake"

	"skiff.dev/skiff/internal/kube/kubetest"
	"skiff.dev/skiff/internal/log"
	"skiff.dev/skiff/internal/testutil"
)

// webPod is a pod of app=web with a container port named http.
func webPod(name string, port int32, ready bool, age time.Duration) *corev1.Pod {
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: "ns", UID: types.UID(name), Labels: map[string]string{"app": "web"},
			CreationTimestamp: metav1.NewTime(time.Now().Add(-age).Truncate(time.Second)),
		},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "app", Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: port}},
		}}},
		Status: corev1.PodStatus{
			Phase:      corev1.PodRunning,
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: status}},
		},
	}
}

func webService() *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns"},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": "web"},
			Ports: []corev1.ServicePort{
				{Name: "http", Port: 80, TargetPort: intstr.FromString("http")},
				{Name: "metrics", Port: 9090, TargetPort: intstr.FromInt32(9091)},
				{Port: 81},
			},
		},
	}
}

func webDeployment() *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns"},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
				Spec:       webPod("template", 8080, false, 0).Spec,
			},
		},
	}
}

func TestForwardTargets(t *testing.T) {
	t.Parallel()
	terminating := webPod("web-d", 8080, true, time.Hour)
	terminating.DeletionTimestamp = &metav1.Time{Time: time.Now()}
	cs := fake.NewClientset(
		webService(), webDeployment(),
		webPod("web-a", 8080, true, time.Hour),
		webPod("web-b", 8081, true, time.Minute), // another port behind the same name
		webPod("web-c", 8080, false, time.Second),
		terminating,
	)
	f := NewForwarder(nil, kubetest.API(cs), io.Discard, nil)
	t.Cleanup(f.Stop)

	for _, tc := range []struct {
		kind       string
		name       string
		port       intstr.IntOrString
		wantRemote int32
		want       []string // pod:port, in the order tried
		wantErr    string
	}{
		{kind: "service", name: "web", port: intstr.FromInt32(80), wantRemote: 80, want: []string{"web-b:8081", "web-a:8080"}},
		{kind: "service", name: "web", port: intstr.FromString("metrics"), wantRemote: 9090, want: []string{"web-b:9091", "web-a:9091"}},
		{kind: "service", name: "web", port: intstr.FromInt32(81), wantRemote: 81, want: []string{"web-b:81", "web-a:81"}},
		{kind: "Deployment", name: "web", port: intstr.FromString("http"), wantRemote: 8080, want: []string{"web-b:8081", "web-a:8080"}},
		{kind: "deployment", name: "web", port: intstr.FromInt32(8080), wantRemote: 8080, want: []string{"web-b:8080", "web-a:8080"}},
		{kind: "pod", name: "web-b", port: intstr.FromString("http"), wantRemote: 8081, want: []string{"web-b:8081"}},
		{kind: "pod", name: "web-c", port: intstr.FromInt32(8080), wantRemote: 8080, want: nil},
		{kind: "service", name: "web", port: intstr.FromInt32(443), wantErr: `service "web" has no port 443; its ports are 80 (http), 9090 (metrics), 81`},
		{kind: "service", name: "api", port: intstr.FromInt32(80), wantErr: `service "api" does not exist: deploy it first`},
		{kind: "deployment", name: "web", port: intstr.FromString("grpc"), wantErr: `the pod template of deployment "web" has no container port named "grpc"`},
		{kind: "statefulset", name: "db", port: intstr.FromInt32(5432), wantErr: `statefulset "db" does not exist`},
		{kind: "cronjob", name: "web", port: intstr.FromInt32(80), wantErr: `the resource type is one of pod, service,`},
		{kind: "pod", name: "web-a", port: intstr.FromInt32(0), wantErr: "no port to forward"},
	} {
		fw := Forward{Type: strings.ToLower(tc.kind), Name: tc.name, Namespace: "ns", Port: tc.port}
		target, remote, err := f.newTarget(t.Context(), fw)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s/%s port %s: error %v, want one with %q", tc.kind, tc.name, tc.port.String(), err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s/%s port %s: %v", tc.kind, tc.name, tc.port.String(), err)
			continue
		}
		eps, why := target.endpoints(f)
		var got []string
		for _, ep := range f.prefer(eps) {
			got = append(got, fmt.Sprintf("%s:%d", ep.pod.Name, ep.port))
		}
		if remote != tc.wantRemote || !slices.Equal(got, tc.want) {
			t.Errorf("%s/%s port %s: remote port %d and endpoints %v (%s); want %d and %v", tc.kind, tc.name, tc.port.String(), remote, got, why, tc.wantRemote, tc.want)
		}
	}
}

func TestReadyEndpointsSaysWhyNone(t *testing.T) {
	t.Parallel()
	terminating := webPod("web-d", 8080, true, 0)
	terminating.DeletionTimestamp = &metav1.Time{Time: time.Now()}
	pending := webPod("web-e", 8080, false, 0)
	pending.Status.Phase = corev1.PodPending
	port := func(*corev1.Pod) (int32, bool) { return 80, true }
	_, why := readyEndpoints([]*corev1.Pod{webPod("web-c", 8080, false, 0), terminating, pending}, nil, port)
	if want := "web-c is not ready, web-d is terminating, web-e is pending"; why != want {
		t.Errorf("why = %q, want %q", why, want)
	}
	_, why = readyEndpoints(nil, labels.SelectorFromSet(labels.Set{"app": "web"}), port)
	if want := "no pod matches app=web"; why != want {
		t.Errorf("why = %q, want %q", why, want)
	}
}

func TestSortEndpointsPrefersOpenThenNewest(t *testing.T) {
	t.Parallel()
	old, mid, young := webPod("old", 1, true, time.Hour), webPod("mid", 1, true, time.Minute), webPod("young", 1, true, 0)
	eps := []endpoint{{pod: old}, {pod: young}, {pod: mid}}
	sortEndpoints(eps, map[types.UID]bool{"old": true})
	var got []string
	for _, ep := range eps {
		got = append(got, ep.pod.Name)
	}
	if want := []string{"old", "young", "mid"}; !slices.Equal(got, want) {
		t.Errorf("order %v, want %v", got, want)
	}
}

func TestSortEndpointsPrefersTheNewestRevision(t *testing.T) {
	t.Parallel()
	pod := func(name, hash string, age time.Duration) *corev1.Pod {
		p := webPod(name, 1, true, age)
		p.Labels = map[string]string{"app": "web", appsv1.DefaultDeploymentUniqueLabelKey: hash}
		return p
	}
	// A rollout's first new pod is ready; the old one still has the
	// forward's open connection.
	oldA, oldB, newA := pod("old-a", "v1", time.Hour), pod("old-b", "v1", time.Hour), pod("new-a", "v2", 0)
	eps := []endpoint{{pod: oldA}, {pod: oldB}, {pod: newA}}
	sortEndpoints(eps, map[types.UID]bool{oldA.UID: true})
	var got []string
	for _, ep := range eps {
		got = append(got, ep.pod.Name)
	}
	if want := []string{"new-a", "old-a", "old-b"}; !slices.Equal(got, want) {
		t.Errorf("order %v, want %v", got, want)
	}
}

func TestServiceForwards(t *testing.T) {
	t.Parallel()
	toUnstructured := func(o runtime.Object, kind string) *unstructured.Unstructured {
		m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(o)
		if err != nil {
			t.Fatal(err)
		}
		u := &unstructured.Unstructured{Object: m}
		u.SetAPIVersion("v1")
		u.SetKind(kind)
		return u
	}
	svc := webService()
	svc.Spec.Ports = append(svc.Spec.Ports, corev1.ServicePort{Name: "dns", Port: 53, Protocol: corev1.ProtocolUDP})
	external := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "ext", Namespace: "ns"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "example.invalid", Ports: []corev1.ServicePort{{Port: 80}}}}
	deployment := toUnstructured(webDeployment(), "Deployment")
	deployment.SetAPIVersion("apps/v1")
	got := ServiceForwards([]*unstructured.Unstructured{toUnstructured(svc, "Service"), toUnstructured(external, "Service"), deployment})
	want := []Forward{
		{Type: "service", Name: "web", Namespace: "ns", Port: intstr.FromInt32(80), Address: "127.0.0.1"},
		{Type: "service", Name: "web", Namespace: "ns", Port: intstr.FromInt32(9090), Address: "127.0.0.1"},
		{Type: "service", Name: "web", Namespace: "ns", Port: intstr.FromInt32(81), Address: "127.0.0.1"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("ServiceForwards = %+v\nwant %+v", got, want)
	}
}

// fakePods answers port-forward connections as pods would: the app reads
// a line from each data stream and answers "POD:PORT LINE", then closes
// it.
type fakePods struct {
	mu     sync.Mutex
	dials  []string
	conns  []*fakeConn
	refuse map[string]bool // pods whose dial fails
	down   map[string]bool // pods whose app does not listen
	turned map[string]int  // connections each down pod turned away
}

func (p *fakePods) dial(_, pod string) (httpstream.Connection, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.dials = append(p.dials, pod)
	if p.refuse[pod] {
		return nil, errors.New("connection refused")
	}
	c := &fakeConn{pod: pod, pods: p, closed: make(chan bool), errs: map[string]*io.PipeWriter{}}
	p.conns = append(p.conns, c)
	return c, nil
}

func (p *fakePods) dialed() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.dials)
}

// open returns the connections not closed yet.
func (p *fakePods) open() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, c := range p.conns {
		select {
		case <-c.closed:
		default:
			out = append(out, c.pod)
		}
	}
	return out
}

type fakeConn struct {
	pod       string
	pods      *fakePods
	closeOnce sync.Once
	closed    chan bool

	mu   sync.Mutex
	errs map[string]*io.PipeWriter // error streams' server ends, by request ID
}

func (c *fakeConn) CreateStream(h http.Header) (httpstream.Stream, error) {
	select {
	case <-c.closed:
		return nil, errors.New("connection closed")
	default:
	}
	id := h.Get(corev1.PortForwardRequestIDHeader)
	if h.Get(corev1.StreamType) == corev1.StreamTypeError {
		r, w := io.Pipe()
		c.mu.Lock()
		c.errs[id] = w
		c.mu.Unlock()
		return &fakeStream{headers: h.Clone(), r: r, w: nopWriteCloser{}}, nil
	}
	c.mu.Lock()
	errW := c.errs[id]
	c.mu.Unlock()
	toPod, fromClient := io.Pipe()
	toClient, fromPod := io.Pipe()
	c.pods.mu.Lock()
	down := c.pods.down[c.pod]
	if down {
		c.pods.turned[c.pod]++
	}
	c.pods.mu.Unlock()
	go func() {
		defer errW.Close()
		defer toPod.Close()
		defer fromPod.Close()
		if down {
			fmt.Fprintf(errW, "error forwarding port %s to pod %s: failed to connect to localhost:%s inside namespace: connect: connection refused", h.Get(corev1.PortHeader), c.pod, h.Get(corev1.PortHeader))
			return
		}
		line, _ := bufio.NewReader(toPod).ReadString('\n')
		fmt.Fprintf(fromPod, "%s:%s %s", c.pod, h.Get(corev1.PortHeader), line)
	}()
	return &fakeStream{headers: h.Clone(), r: toClient, w: fromClient}, nil
}

func (c *fakeConn) Close() error {
	c.closeOnce.Do(func() { close(c.closed) })
	return nil
}
func (c *fakeConn) CloseChan() <-chan bool             { return c.closed }
func (c *fakeConn) SetIdleTimeout(time.Duration)       {}
func (c *fakeConn) RemoveStreams(...httpstream.Stream) {}

type nopWriteCloser struct{}

func (nopWriteCloser) Write(p []byte) (int, error) { return len(p), nil }
func (nopWriteCloser) Close() error                { return nil }

type fakeStream struct {
	headers http.Header
	r       *io.PipeReader
	w       io.WriteCloser
}

func (s *fakeStream) Read(p []byte) (int, error)  { return s.r.Read(p) }
func (s *fakeStream) Write(p []byte) (int, error) { return s.w.Write(p) }
func (s *fakeStream) Close() error                { return s.w.Close() }
func (s *fakeStream) Reset() error {
	s.r.CloseWithError(errors.New("stream reset"))
	return s.w.Close()
}
func (s *fakeStream) Headers() http.Header { return s.headers }
func (s *fakeStream) Identifier() uint32   { return 0 }

// newTestForwarder is a Forwarder whose pods are fakePods.
func newTestForwarder(t *testing.T, objs ...runtime.Object) (*Forwarder, *fake.Clientset, *fakePods, *testutil.Buffer) {
	t.Helper()
	cs := fake.NewClientset(objs...)
	out := &testutil.Buffer{}
	f := NewForwarder(&Config{Namespace: "ns"}, kubetest.API(cs), out, log.New(out, log.LevelWarn))
	pods := &fakePods{refuse: map[string]bool{}, down: map[string]bool{}, turned: map[string]int{}}
	f.dial = pods.dial
	f.readyWait = 10 * time.Second
	t.Cleanup(f.Stop)
	return f, cs, pods, out
}

// ask connects to a forward, sends a line and returns which pod answered
// ("" when the connection is closed without an answer).
func ask(t *testing.T, addr string) string {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Errorf("connecting to the forward %s: %v", addr, err)
		return ""
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	fmt.Fprintf(conn, "hello\n")
	line, _ := bufio.NewReader(conn).ReadString('\n')
	pod, ok := strings.CutSuffix(line, " hello\n")
	if !ok && line != "" {
		t.Errorf("the pod answered %q; want POD:PORT hello", line)
	}
	return pod
}

// waitSeen waits until f's cache of namespace ns shows pod name in the
// state seen says.
func waitSeen(t *testing.T, f *Forwarder, ns, name string, seen func(*corev1.Pod) bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		f.mu.Lock()
		c := f.caches[ns]
		f.mu.Unlock()
		if c != nil {
			if p, err := c.pods.Pods(ns).Get(name); err == nil && seen(p) {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the forwarder's cache did not show the change of pod %s/%s within 10s", ns, name)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestForwarderMovesToAReadyPodWhenItsPodGoes(t *testing.T) {
	t.Parallel()
	f, cs, pods, out := newTestForwarder(t, webService(), webPod("web-a", 8080, true, time.Hour))
	port := testutil.FreePort(t)
	addr, err := f.Add(t.Context(), Forward{Type: "service", Name: "web", Port: intstr.FromString("http"), LocalPort: port})
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("Port forwarding service/web in namespace ns, remote port http (80) -> http://127.0.0.1:%d\n", port); out.String() != want || addr != fmt.Sprintf("127.0.0.1:%d", port) {
		t.Errorf("Add returned %s and reported %q; want 127.0.0.1:%d and %q", addr, out, port, want)
	}
	for range 3 {
		if got := ask(t, addr); got != "web-a:8080" {
			t.Fatalf("answer %q, want web-a:8080", got)
		}
	}
	if got := pods.dialed(); !slices.Equal(got, []string{"web-a"}) {
		t.Errorf("dialled %v; want one connection to web-a, reused", got)
	}

	// A rollout: web-a terminates, web-b is not ready yet. A connection
	// now waits for web-b rather than being refused.
	gone := webPod("web-a", 8080, true, time.Hour)
	gone.DeletionTimestamp = &metav1.Time{Time: time.Now()}
	if _, err := cs.CoreV1().Pods("ns").Update(t.Context(), gone, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().Pods("ns").Create(t.Context(), webPod("web-b", 8081, false, 0), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// Until its watch brings the news, the forwarder rightly still sends
	// connections to web-a; on a loaded machine that takes a moment.
	waitSeen(t, f, "ns", "web-a", func(p *corev1.Pod) bool { return p.DeletionTimestamp != nil })
	answer := make(chan string)
	go func() { answer <- ask(t, addr) }()
	time.Sleep(300 * time.Millisecond)
	if _, err := cs.CoreV1().Pods("ns").UpdateStatus(t.Context(), webPod("web-b", 8081, true, 0), metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := <-answer; got != "web-b:8081" {
		t.Errorf("answer during the rollout %q, want web-b:8081 (web-b's named port)", got)
	}
	if got := pods.open(); !slices.Equal(got, []string{"web-b"}) {
		t.Errorf("open pod connections %v; want only web-b's, web-a's closed", got)
	}
}

func TestForwarderReplaysToAnotherPodWhenRefused(t *testing.T) {
	t.Parallel()
	// web-b, the newest pod, is tried first; its app is not listening.
	f, _, pods, out := newTestForwarder(t, webDeployment(), webPod("web-a", 8080, true, time.Hour), webPod("web-b", 8080, true, 0))
	f.readyWait = 300 * time.Millisecond
	pods.mu.Lock()
	pods.down["web-b"] = true
	pods.mu.Unlock()
	addr, err := f.Add(t.Context(), Forward{Type: "deployment", Name: "web", Port: intstr.FromInt32(8080), LocalPort: testutil.FreePort(t)})
	if err != nil {
		t.Fatal(err)
	}
	if got := ask(t, addr); got != "web-a:8080" {
		t.Errorf("answer %q; want web-a's, with what the client sent to web-b replayed", got)
	}
	if strings.Contains(out.String(), "WARN") {
		t.Errorf("a warning about a connection that was answered:\n%s", out)
	}

	// When every pod refuses, the connection ends with a warning that
	// says why.
	pods.mu.Lock()
	pods.down["web-a"] = true
	pods.mu.Unlock()
	if got := ask(t, addr); got != "" {
		t.Errorf("answer %q from a pod that is down", got)
	}
	if want := "no ready pod accepted the connection within 300ms: pod web-a, port 8080: error forwarding port 8080 to pod web-a: failed to connect to localhost:8080 inside namespace: connect: connection refused; pod web-b, port 8080:"; !strings.Contains(out.String(), want) {
		t.Errorf("output %q; want a warning with %q", out, want)
	}
}

// The app of a ready pod is not listening yet (it is starting, or
// restarting after an update): a connection waits and is replayed to it
// once it listens, rather than being refused.
func TestForwarderRetriesAPodUntilItsAppListens(t *testing.T) {
	t.Parallel()
	f, _, pods, out := newTestForwarder(t, webDeployment(), webPod("web-a", 8080, true, 0))
	pods.mu.Lock()
	pods.down["web-a"] = true
	pods.mu.Unlock()
	addr, err := f.Add(t.Context(), Forward{Type: "deployment", Name: "web", Port: intstr.FromInt32(8080), LocalPort: testutil.FreePort(t)})
	if err != nil {
		t.Fatal(err)
	}
	answer := make(chan string)
	go func() { answer <- ask(t, addr) }()
	// Once the app turned the connection away twice, it starts listening.
	deadline := time.Now().Add(10 * time.Second)
	for {
		pods.mu.Lock()
		turned := pods.turned["web-a"]
		if turned >= 2 {
			pods.down["web-a"] = false
		}
		pods.mu.Unlock()
		if turned >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("web-a turned the connection away %d times within 10s; want it retried", turned)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if got := <-answer; got != "web-a:8080" {
		t.Errorf("answer %q; want web-a's once its app listens\n%s", got, out)
	}
	if strings.Contains(out.String(), "WARN") {
		t.Errorf("a warning about a connection that was answered:\n%s", out)
	}
}

func TestReplayReader(t *testing.T) {
	t.Parallel()
	client, server := net.Pipe()
	defer client.Close()
	r := &replayReader{conn: server}
	go client.Write([]byte("GET / HTTP/1.1\r\n"))
	buf := make([]byte, 100)
	n, _ := r.Read(buf)
	r.rewind()
	m, _ := r.Read(buf[n:])
	if string(buf[:n]) != "GET / HTTP/1.1\r\n" || string(buf[n:n+m]) != string(buf[:n]) || !r.replayable() {
		t.Errorf("read %q then, rewound, %q", buf[:n], buf[n:n+m])
	}
	go client.Write(make([]byte, maxReplay))
	for r.replayable() {
		if _, err := r.Read(buf); err != nil {
			t.Fatal(err)
		}
	}
}

func TestForwarderWarnsWhenNoPodIsReady(t *testing.T) {
	t.Parallel()
	f, _, pods, out := newTestForwarder(t, webDeployment())
	f.readyWait = 200 * time.Millisecond
	addr, err := f.Add(t.Context(), Forward{Type: "deployment", Name: "web", Port: intstr.FromInt32(8080), LocalPort: testutil.FreePort(t)})
	if err != nil {
		t.Fatal(err)
	}
	if got := ask(t, addr); got != "" {
		t.Errorf("answer %q without pods", got)
	}
	want := regexp.MustCompile(`WARN: port-forward deployment/web in namespace ns \(127\.0\.0\.1:\d+\): no ready pod to forward to within 200ms: no pod matches app=web; check the pods' state and readiness with kubectl get pods -n ns\n`)
	if !want.MatchString(out.String()) {
		t.Errorf("output %q, want a warning matching %s", out, want)
	}
	// A pod that cannot be reached is named.
	pods.mu.Lock()
	pods.refuse["web-a"] = true
	pods.mu.Unlock()
	if _, err := f.api.Pods("ns").Create(t.Context(), webPod("web-a", 8080, true, 0), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	ask(t, addr)
	if !strings.Contains(out.String(), "no pod could be reached within 200ms: pod web-a: connection refused") {
		t.Errorf("output %q does not name the unreachable pod", out)
	}
}

func TestForwarderTakesTheNextFreeLocalPort(t *testing.T) {
	t.Parallel()
	f, _, _, out := newTestForwarder(t, webService(), webPod("web-a", 8080, true, 0))
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	port := taken.Addr().(*net.TCPAddr).Port
	addr, err := f.Add(t.Context(), Forward{Type: "service", Name: "web", Port: intstr.FromInt32(80), LocalPort: port})
	if err != nil {
		t.Fatal(err)
	}
	if addr == taken.Addr().String() {
		t.Fatalf("Add listens on the taken port %s", addr)
	}
	if want := fmt.Sprintf("-> http://%s (local port %d is taken)\n", addr, port); !strings.HasSuffix(out.String(), want) {
		t.Errorf("reported %q, want it to end with %q", out, want)
	}
	if got := ask(t, addr); got != "web-a:8080" {
		t.Errorf("answer %q, want web-a:8080", got)
	}
}

func TestForwarderSharesOnePodConnection(t *testing.T) {
	t.Parallel()
	f, _, pods, _ := newTestForwarder(t, webService(), webPod("web-a", 8080, true, 0))
	addr, err := f.Add(t.Context(), Forward{Type: "service", Name: "web", Port: intstr.FromInt32(80), LocalPort: testutil.FreePort(t)})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if got := ask(t, addr); got != "web-a:8080" {
				t.Errorf("answer %q, want web-a:8080", got)
			}
		})
	}
	wg.Wait()
	if got := pods.dialed(); len(got) != 1 {
		t.Errorf("dialled %v; want one connection for all", got)
	}
	f.Stop()
	if open := pods.open(); len(open) > 0 {
		t.Errorf("connections to %v still open after Stop", open)
	}
	if _, err := net.Dial("tcp", addr); err == nil {
		t.Errorf("%s still accepts connections after Stop", addr)
	}
}

func TestForwardPodsOnePerWorkloadAndPort(t *testing.T) {
	t.Parallel()
	truth := true
	rs := func(name string) *appsv1.ReplicaSet {
		return &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: types.UID(name),
			OwnerReferences: []metav1.OwnerReference{{Kind: "Deployment", Name: "web", UID: "web", Controller: &truth}}}}
	}
	owned := func(name, owner string) *corev1.Pod {
		p := webPod(name, 8080, true, 0)
		p.Labels[ProjectLabel] = "p"
		p.OwnerReferences = []metav1.OwnerReference{{Kind: "ReplicaSet", Name: owner, UID: types.UID(owner), Controller: &truth}}
		return p
	}
	other := webPod("other", 9000, true, 0) // not the project's
	f, cs, _, out := newTestForwarder(t, rs("web-1"), rs("web-2"), owned("web-1-a", "web-1"), owned("web-1-b", "web-1"), other)
	selector := labels.SelectorFromSet(labels.Set{ProjectLabel: "p"})
	if err := f.ForwardPods(t.Context(), []string{"ns"}, selector); err != nil {
		t.Fatal(err)
	}
	report := regexp.MustCompile(`Port forwarding deployment/web container app in namespace ns, remote port 8080 -> http://(\S+)`)
	var addr string
	waitOutput(t, out, func(s string) bool {
		if m := report.FindStringSubmatch(s); m != nil {
			addr = m[1]
		}
		return addr != ""
	})
	if got := ask(t, addr); got != "web-1-a:8080" && got != "web-1-b:8080" {
		t.Errorf("answer %q, want one of deployment/web's pods", got)
	}
	// A rollout replaces both pods with a new ReplicaSet's: the forward
	// stays on its port and reaches the new pod.
	for _, name := range []string{"web-1-a", "web-1-b"} {
		if err := cs.CoreV1().Pods("ns").Delete(t.Context(), name, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := cs.CoreV1().Pods("ns").Create(t.Context(), owned("web-2-a", "web-2"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// The forwarder learns of the change through its watch, a moment later.
	deadline := time.Now().Add(10 * time.Second)
	for got := ask(t, addr); got != "web-2-a:8080"; got = ask(t, addr) {
		if time.Now().After(deadline) {
			t.Fatalf("answer after the rollout %q, want web-2-a:8080", got)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n := len(report.FindAllString(out.String(), -1)); n != 1 || strings.Contains(out.String(), "other") {
		t.Errorf("want one forward, for deployment/web only; output:\n%s", out)
	}
}

// waitOutput waits until done accepts what out holds.
func waitOutput(t *testing.T, out *testutil.Buffer, done func(string) bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	for !done(out.String()) {
		select {
		case <-ctx.Done():
			t.Fatalf("output so far:\n%s", out)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// started marks p's container as running, as the kubelet reports it once
// it has started the container (before its readiness probe passes).
func started(p *corev1.Pod) *corev1.Pod {
	p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}
	return p
}

func TestForwarderOpensANewPodsConnectionBeforeItIsReady(t *testing.T) {
	t.Parallel()
	old := started(webPod("web-a", 8080, true, time.Hour))
	old.Labels[appsv1.DefaultDeploymentUniqueLabelKey] = "a"
	other := started(webPod("db-a", 5432, false, 0))
	other.Labels = map[string]string{"app": "db"}
	f, cs, pods, _ := newTestForwarder(t, webDeployment(), old, other)
	addr, err := f.Add(t.Context(), Forward{Type: "deployment", Name: "web", Port: intstr.FromInt32(8080), LocalPort: testutil.FreePort(t)})
	if err != nil {
		t.Fatal(err)
	}
	if got := ask(t, addr); got != "web-a:8080" {
		t.Fatalf("answer %q, want web-a:8080", got)
	}

	// A rollout's new pod: its container runs, its readiness probe has not
	// passed yet. The forward sends it nothing yet, but dials it.
	fresh := started(webPod("web-b", 8080, false, 0))
	fresh.Labels[appsv1.DefaultDeploymentUniqueLabelKey] = "b"
	if _, err := cs.CoreV1().Pods("ns").Create(t.Context(), fresh, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !slices.Contains(pods.dialed(), "web-b") {
		if time.Now().After(deadline) {
			t.Fatalf("dialled %v; want web-b dialled once its container runs, before it is ready", pods.dialed())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if got := ask(t, addr); got != "web-a:8080" {
		t.Errorf("answer %q before web-b is ready, want web-a:8080", got)
	}

	// Ready: connections go to it, over the connection opened ahead.
	ready := started(webPod("web-b", 8080, true, 0))
	ready.Labels[appsv1.DefaultDeploymentUniqueLabelKey] = "b"
	if _, err := cs.CoreV1().Pods("ns").UpdateStatus(t.Context(), ready, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitSeen(t, f, "ns", "web-b", podReady)
	if got := ask(t, addr); got != "web-b:8080" {
		t.Errorf("answer %q once web-b is ready, want web-b:8080", got)
	}
	if got := pods.dialed(); !slices.Equal(got, []string{"web-a", "web-b"}) {
		t.Errorf("dialled %v; want web-a, then web-b once (its connection opened ahead is used), and never db-a, which no forward serves", got)
	}
}
