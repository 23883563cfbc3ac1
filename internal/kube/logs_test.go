package kube

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"

	"skiff.dev/skiff/internal/kube/kubetest"
	"skiff.dev/skiff/internal/testutil"
)

func TestLogPrefix(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		mode, pod, container, want string
	}{
		{"", "web-1", "app", "[web-1 app]"},
		{LogPrefixAuto, "web-1", "app", "[web-1 app]"},
		{LogPrefixAuto, "app", "app", "[app]"},
		{LogPrefixContainer, "web-1", "app", "[app]"},
		{LogPrefixPodAndContainer, "app", "app", "[app app]"},
		{LogPrefixNone, "web-1", "app", ""},
	} {
		if got := logPrefix(tc.mode, tc.pod, tc.container); got != tc.want {
			t.Errorf("logPrefix(%q, %q, %q) = %q, want %q", tc.mode, tc.pod, tc.container, got, tc.want)
		}
	}
}

func TestLogColorsPerPod(t *testing.T) {
	t.Parallel()
	pod := func(name string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID(name)}}
	}
	plain := NewLogTailer(nil, io.Discard, LogOptions{})
	if got := plain.prefix(pod("a"), "app"); got != "[a app] " {
		t.Errorf("without Color: prefix %q, want %q", got, "[a app] ")
	}
	colored := NewLogTailer(nil, io.Discard, LogOptions{Color: true})
	a, b := colored.prefix(pod("a"), "app"), colored.prefix(pod("b"), "app")
	if a != "\x1b[91m[a app]\x1b[0m " || b != "\x1b[92m[b app]\x1b[0m " {
		t.Errorf("pods a and b got prefixes %q and %q; want bright red and bright green", a, b)
	}
	if again := colored.prefix(pod("a"), "sidecar"); again != "\x1b[91m[a sidecar]\x1b[0m " {
		t.Errorf("a second container of pod a got %q; want pod a's colour", again)
	}
	none := NewLogTailer(nil, io.Discard, LogOptions{Color: true, Prefix: LogPrefixNone})
	if got := none.prefix(pod("a"), "app"); got != "" {
		t.Errorf("prefix none with Color: %q, want nothing", got)
	}
}

func TestSplitTimestamp(t *testing.T) {
	t.Parallel()
	ts, msg, ok := splitTimestamp([]byte("2026-01-02T03:04:05.123456789Z hello world\n"))
	if !ok || string(msg) != "hello world\n" || ts.Nanosecond() != 123456789 {
		t.Errorf("got %v %q %v", ts, msg, ok)
	}
	if _, msg, ok := splitTimestamp([]byte("no timestamp here\n")); ok || string(msg) != "no timestamp here\n" {
		t.Errorf("a line without a timestamp: %q %v", msg, ok)
	}
}

// fakeKubelet serves container logs as the kubelet does: by container
// instance, filtered line by line by sinceTime, following while the
// instance runs; it can cut a stream short once.
type fakeKubelet struct {
	cs *fake.Clientset

	mu      sync.Mutex
	changed chan struct{}
	logs    map[string][]string // container ID -> "TIMESTAMP message\n" lines
	running map[string]bool
	// removed are the container IDs the runtime no longer has: their log
	// is the kubelet's removedText.
	removed map[string]bool
	// cut makes the next stream of a container ID end after that many
	// lines, with an error (dropped connection) or cleanly.
	cut      map[string]int
	cutClean bool
	opened   []string // "ID previous=... since=..." per stream
}

func newFakeKubelet(cs *fake.Clientset) *fakeKubelet {
	return &fakeKubelet{cs: cs, changed: make(chan struct{}), logs: map[string][]string{}, running: map[string]bool{}, removed: map[string]bool{}, cut: map[string]int{}}
}

var logEpoch = time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)

// write appends a line to a container's log, at ms after logEpoch.
func (k *fakeKubelet) write(id string, ms int, text string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	ts := logEpoch.Add(time.Duration(ms) * time.Millisecond).Format(time.RFC3339Nano)
	k.logs[id] = append(k.logs[id], ts+" "+text)
	k.notify()
}

func (k *fakeKubelet) setRunning(id string, running bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.running[id] = running
	k.notify()
}

func (k *fakeKubelet) notify() {
	close(k.changed)
	k.changed = make(chan struct{})
}

func (k *fakeKubelet) open(ctx context.Context, namespace, pod string, o *corev1.PodLogOptions) (io.ReadCloser, error) {
	p, err := k.cs.CoreV1().Pods(namespace).Get(ctx, pod, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	var id string
	for _, st := range containerStatuses(p) {
		if st.Name != o.Container {
			continue
		}
		id = st.ContainerID
		if o.Previous {
			if st.LastTerminationState.Terminated == nil {
				return nil, fmt.Errorf("previous terminated container %q in pod %q not found", o.Container, pod)
			}
			id = st.LastTerminationState.Terminated.ContainerID
		}
	}
	if id == "" {
		return nil, fmt.Errorf("container %q in pod %q is waiting to start", o.Container, pod)
	}
	var since time.Time
	if o.SinceTime != nil {
		// As on the wire: RFC 3339 to the second.
		since = o.SinceTime.Time.Truncate(time.Second)
	}
	k.mu.Lock()
	k.opened = append(k.opened, fmt.Sprintf("%s previous=%v since=%s", id, o.Previous, since.Format(time.TimeOnly)))
	cut, cutting := k.cut[id]
	delete(k.cut, id)
	clean := k.cutClean
	removed := k.removed[id]
	k.mu.Unlock()
	if removed {
		return io.NopCloser(strings.NewReader(removedText(id))), nil
	}

	r, w := io.Pipe()
	go func() {
		sent := 0
		for i := 0; ; {
			k.mu.Lock()
			lines, running, changed := k.logs[id], k.running[id], k.changed
			k.mu.Unlock()
			if cutting && sent == cut {
				if clean {
					w.Close()
				} else {
					w.CloseWithError(errors.New("connection reset by peer"))
				}
				return
			}
			if i < len(lines) {
				line := lines[i]
				i++
				ts, _, _ := splitTimestamp([]byte(line))
				if ts.Before(since) {
					continue
				}
				if _, err := io.WriteString(w, line); err != nil {
					return
				}
				sent++
				continue
			}
			if !o.Follow || !running {
				w.Close()
				return
			}
			select {
			case <-ctx.Done():
				w.CloseWithError(ctx.Err())
				return
			case <-changed:
			}
		}
	}()
	return r, nil
}

// lines splits what out holds into lines.
func lines(out *testutil.Buffer) []string {
	return strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
}

// waitLines waits until out holds want lines.
func waitLines(t *testing.T, out *testutil.Buffer, want int) []string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := lines(out)
		if out.String() != "" && len(got) >= want {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited for %d lines, got %d:\n%s", want, len(got), out)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func runningPod(name, container, id string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: types.UID(name), Labels: map[string]string{ProjectLabel: "p"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: container}}},
		Status: corev1.PodStatus{
			Phase: corev1.PodRunning,
			ContainerStatuses: []corev1.ContainerStatus{{
				Name: container, ContainerID: id,
				State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}},
			}},
		},
	}
}

func startTailer(t *testing.T, cs *fake.Clientset, k *fakeKubelet, out io.Writer) *LogTailer {
	t.Helper()
	tailer := NewLogTailer(kubetest.API(cs), out, LogOptions{
		Namespaces: []string{"ns"},
		Selector:   labels.SelectorFromSet(labels.Set{ProjectLabel: "p"}),
	})
	tailer.openLogs = k.open
	tailer.settleTimeout = 300 * time.Millisecond
	if err := tailer.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tailer.Stop)
	return tailer
}

func updateStatus(t *testing.T, cs *fake.Clientset, pod *corev1.Pod) {
	t.Helper()
	if _, err := cs.CoreV1().Pods(pod.Namespace).UpdateStatus(t.Context(), pod, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func TestLogTailerResumesDroppedStreamWithoutDuplicates(t *testing.T) {
	t.Parallel()
	for _, clean := range []bool{false, true} {
		t.Run(fmt.Sprintf("clean=%v", clean), func(t *testing.T) {
			t.Parallel()
			pod := runningPod("web-1", "app", "c1")
			cs := fake.NewClientset(pod)
			k := newFakeKubelet(cs)
			k.setRunning("c1", true)
			// Three lines a second, so the stream drops in the middle of a
			// second; two lines share a timestamp.
			for i := range 8 {
				k.write("c1", i*333, fmt.Sprintf("line %d\n", i))
			}
			k.write("c1", 7*333, "line 8\n")
			k.cut["c1"] = 5
			k.cutClean = clean
			out := &testutil.Buffer{}
			startTailer(t, cs, k, out)
			waitLines(t, out, 9)
			k.write("c1", 4000, "line 9\n")
			got := waitLines(t, out, 10)
			var want []string
			for i := range 10 {
				want = append(want, fmt.Sprintf("[web-1 app] line %d", i))
			}
			if !slices.Equal(got, want) {
				t.Errorf("got lines\n%s\nwant\n%s\nstreams: %v", strings.Join(got, "\n"), strings.Join(want, "\n"), k.opened)
			}
			if len(k.opened) != 2 || !strings.HasSuffix(k.opened[1], "since=10:00:01") {
				t.Errorf("want a second stream since 10:00:01, the second of the last line printed; streams: %v", k.opened)
			}
		})
	}
}

// When a rollout removes a pod, the kubelet answers a stream of its
// stopped container with its own words, "unable to retrieve container
// logs for ID": they are not printed as the container's (issue 16).
func TestLogTailerLeavesOutTheKubeletsWordOnARemovedContainer(t *testing.T) {
	t.Parallel()
	// The container prints nothing (as a quiet server), so the stream of
	// the stopped container starts from the beginning of its log.
	pod := runningPod("web-1", "app", "containerd://c1")
	cs := fake.NewClientset(pod)
	k := newFakeKubelet(cs)
	k.setRunning("containerd://c1", true)
	out := &testutil.Buffer{}
	tailer := startTailer(t, cs, k, out)
	waitStreams := func(n int) {
		t.Helper()
		testutil.WaitFor(t, 10*time.Second, fmt.Sprintf("%d log streams", n), func(context.Context) (bool, string) {
			k.mu.Lock()
			defer k.mu.Unlock()
			return len(k.opened) >= n, fmt.Sprint(k.opened)
		})
	}
	waitStreams(1)
	k.mu.Lock()
	k.removed["containerd://c1"] = true
	k.mu.Unlock()
	stopped := pod.DeepCopy()
	stopped.Status.ContainerStatuses[0].State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ContainerID: "containerd://c1"}}
	updateStatus(t, cs, stopped)
	k.setRunning("containerd://c1", false)
	waitStreams(2)
	tailer.Stop()
	if got := out.String(); got != "" {
		t.Errorf("printed %q, want nothing; streams: %v", got, k.opened)
	}
}

// A pod that is being deleted when the tailer first sees it is left from
// an earlier run: its logs are not streamed (issue 16).
func TestLogTailerSkipsPodsBeingDeleted(t *testing.T) {
	t.Parallel()
	old := runningPod("old-1", "app", "o1")
	old.DeletionTimestamp = &metav1.Time{Time: logEpoch}
	old.Finalizers = []string{"test/hold"} // the fake keeps it as it is
	cs := fake.NewClientset(old, runningPod("web-1", "app", "c1"))
	k := newFakeKubelet(cs)
	k.setRunning("o1", true)
	k.write("o1", 0, "the earlier run\n")
	k.setRunning("c1", true)
	k.write("c1", 100, "this run\n")
	out := &testutil.Buffer{}
	startTailer(t, cs, k, out)
	waitLines(t, out, 1)
	// The old pod changes again (its container stops), then a new pod
	// starts: the informer brings the news in that order, so once the new
	// pod's line is printed the old pod's change has been seen.
	stopped := old.DeepCopy()
	stopped.Status.ContainerStatuses[0].State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ContainerID: "o1"}}
	updateStatus(t, cs, stopped)
	if _, err := cs.CoreV1().Pods("ns").Create(t.Context(), runningPod("web-2", "app", "d1"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	k.setRunning("d1", true)
	k.write("d1", 200, "web-2 up\n")
	got := waitLines(t, out, 2)
	slices.Sort(got)
	if want := []string{"[web-1 app] this run", "[web-2 app] web-2 up"}; !slices.Equal(got, want) {
		t.Errorf("got lines\n%s\nwant\n%s\nstreams: %v", strings.Join(got, "\n"), strings.Join(want, "\n"), k.opened)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, s := range k.opened {
		if strings.HasPrefix(s, "o1 ") {
			t.Errorf("a stream of the pod being deleted was opened: %v", k.opened)
		}
	}
}

func TestLogTailerFollowsRestartsAndNewContainers(t *testing.T) {
	t.Parallel()
	pod := runningPod("web-1", "app", "c1")
	pod.Spec.InitContainers = []corev1.Container{{Name: "init"}}
	pod.Status.InitContainerStatuses = []corev1.ContainerStatus{{
		Name: "init", ContainerID: "i1",
		State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ContainerID: "i1"}},
	}}
	cs := fake.NewClientset(pod)
	k := newFakeKubelet(cs)
	k.write("i1", 0, "init done\n")
	k.setRunning("c1", true)
	k.write("c1", 100, "first start\n")
	out := &testutil.Buffer{}
	tailer := startTailer(t, cs, k, out)
	waitLines(t, out, 2)

	// The container writes a last line and exits; its stream is cut as
	// it stops, before that line; it restarts as c2.
	k.cut["c1"] = 0
	k.write("c1", 200, "last words\n")
	k.setRunning("c1", false)
	k.setRunning("c2", true)
	k.write("c2", 300, "second start\n")
	pod.Status.ContainerStatuses[0] = corev1.ContainerStatus{
		Name: "app", ContainerID: "c2", RestartCount: 1,
		State:                corev1.ContainerState{Running: &corev1.ContainerStateRunning{}},
		LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ContainerID: "c1", ExitCode: 1}},
	}
	updateStatus(t, cs, pod)

	// A second pod waits for its image, then starts.
	waiting := runningPod("web-2", "app", "")
	waiting.Status.ContainerStatuses[0].State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}}
	if _, err := cs.CoreV1().Pods("ns").Create(t.Context(), waiting, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	k.setRunning("d1", true)
	k.write("d1", 400, "web-2 up\n")
	k.write("d1", 500, "no newline yet")
	started := runningPod("web-2", "app", "d1")
	updateStatus(t, cs, started)

	waitLines(t, out, 5)
	// Stop prints the line that has no newline yet, once its stream has it.
	time.Sleep(200 * time.Millisecond)
	tailer.Stop()
	got := lines(out)
	slices.Sort(got)
	want := []string{
		"[web-1 app] first start",
		"[web-1 app] last words",
		"[web-1 app] second start",
		"[web-1 init] init done",
		"[web-2 app] no newline yet",
		"[web-2 app] web-2 up",
	}
	if !slices.Contains(k.opened, "c1 previous=true since=10:00:00") {
		t.Errorf("the stopped instance c1 was not read again as the previous container; streams: %v", k.opened)
	}
	if !slices.Equal(got, want) {
		t.Errorf("got lines\n%s\nwant\n%s\nstreams: %v", strings.Join(got, "\n"), strings.Join(want, "\n"), k.opened)
	}
}

func TestLogTailerWholeLinesFromConcurrentContainers(t *testing.T) {
	t.Parallel()
	const pods, lines = 4, 300
	var objs []*corev1.Pod
	for p := range pods {
		objs = append(objs, runningPod(fmt.Sprintf("web-%d", p), "app", fmt.Sprintf("c%d", p)))
	}
	cs := fake.NewClientset(objs[0], objs[1], objs[2], objs[3])
	k := newFakeKubelet(cs)
	long := strings.Repeat("x", 5000)
	for p := range pods {
		id := fmt.Sprintf("c%d", p)
		k.setRunning(id, true)
		for i := range lines {
			k.write(id, i, fmt.Sprintf("web-%d line %d %s\n", p, i, long))
		}
	}
	out := &testutil.Buffer{}
	startTailer(t, cs, k, out)
	got := waitLines(t, out, pods*lines)
	next := map[string]int{}
	for _, l := range got {
		var pod, same string
		var i int
		if _, err := fmt.Sscanf(l, "[%s app] %s line %d", &pod, &same, &i); err != nil || pod != same || !strings.HasSuffix(l, " "+long) {
			t.Fatalf("a line is not whole: %.80q...", l)
		}
		if i != next[pod] {
			t.Fatalf("%s: line %d came after line %d", pod, i, next[pod]-1)
		}
		next[pod]++
	}
}
