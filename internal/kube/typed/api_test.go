package typed

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
)

// TestAPIRequestsEachGroupsPaths checks that each resource goes to its
// group's path and that objects and lists decode.
func TestAPIRequestsEachGroupsPaths(t *testing.T) {
	var mu sync.Mutex
	var paths []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.Method+" "+r.URL.Path)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		parts := strings.Split(r.URL.Path, "/")
		name := parts[len(parts)-1]
		switch {
		case strings.HasSuffix(r.URL.Path, "/pods"):
			json.NewEncoder(w).Encode(map[string]any{"kind": "PodList", "apiVersion": "v1", "metadata": map[string]any{"resourceVersion": "7"},
				"items": []any{map[string]any{"metadata": map[string]any{"name": "web-1", "namespace": "ns"}}}})
		case strings.Contains(r.URL.Path, "/deployments/"):
			json.NewEncoder(w).Encode(map[string]any{"kind": "Deployment", "apiVersion": "apps/v1", "metadata": map[string]any{"name": name}, "spec": map[string]any{"replicas": 2}})
		case strings.Contains(r.URL.Path, "/jobs/"):
			json.NewEncoder(w).Encode(map[string]any{"kind": "Job", "apiVersion": "batch/v1", "metadata": map[string]any{"name": name}})
		case strings.Contains(r.URL.Path, "/configmaps/"):
			json.NewEncoder(w).Encode(map[string]any{"kind": "ConfigMap", "apiVersion": "v1", "metadata": map[string]any{"name": name}, "data": map[string]string{"k": "v"}})
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	api, err := New(&rest.Config{Host: srv.URL}, 0)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	pods, err := api.Pods("ns").List(ctx, metav1.ListOptions{})
	if err != nil || len(pods.Items) != 1 || pods.Items[0].Name != "web-1" || pods.ResourceVersion != "7" {
		t.Fatalf("pods: %+v, %v; want web-1 at resource version 7", pods, err)
	}
	d, err := api.Deployments("ns").Get(ctx, "web", metav1.GetOptions{})
	if err != nil || d.Name != "web" || d.Spec.Replicas == nil || *d.Spec.Replicas != 2 {
		t.Fatalf("deployment: %+v, %v", d, err)
	}
	j, err := api.Jobs("ns").Get(ctx, "migrate", metav1.GetOptions{})
	if err != nil || j.Name != "migrate" {
		t.Fatalf("job: %+v, %v", j, err)
	}
	cm, err := api.ConfigMaps("kube-public").Get(ctx, "local-registry-hosting", metav1.GetOptions{})
	if err != nil || cm.Data["k"] != "v" {
		t.Fatalf("config map: %+v, %v", cm, err)
	}
	want := []string{
		"GET /api/v1/namespaces/ns/pods",
		"GET /apis/apps/v1/namespaces/ns/deployments/web",
		"GET /apis/batch/v1/namespaces/ns/jobs/migrate",
		"GET /api/v1/namespaces/kube-public/configmaps/local-registry-hosting",
	}
	if strings.Join(paths, "\n") != strings.Join(want, "\n") {
		t.Errorf("requests:\n%s\nwant:\n%s", strings.Join(paths, "\n"), strings.Join(want, "\n"))
	}

	logs := api.Pods("ns").GetLogs("web-1", &corev1.PodLogOptions{Container: "app", Follow: true}).URL()
	if logs.Path != "/api/v1/namespaces/ns/pods/web-1/log" || logs.Query().Get("container") != "app" || logs.Query().Get("follow") != "true" {
		t.Errorf("log request %s; want the pod's log subresource with container=app&follow=true", logs)
	}
	exec := api.CoreREST().Post().Resource("pods").Namespace("ns").Name("web-1").SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{Container: "app", Command: []string{"sh", "-c", "true"}, Stdout: true}, ParameterCodec).URL()
	if exec.Path != "/api/v1/namespaces/ns/pods/web-1/exec" || strings.Join(exec.Query()["command"], " ") != "sh -c true" || exec.Query().Get("stdout") != "true" {
		t.Errorf("exec request %s; want the pod's exec subresource with its command and streams", exec)
	}
}

// fakePods lists one pod and watches nothing, for NewInformer.
type fakePods struct {
	Pods
	listed chan metav1.ListOptions
}

func (f fakePods) List(_ context.Context, o metav1.ListOptions) (*corev1.PodList, error) {
	f.listed <- o
	return &corev1.PodList{ListMeta: metav1.ListMeta{ResourceVersion: "1"}, Items: []corev1.Pod{{ObjectMeta: metav1.ObjectMeta{Name: "web-1", Namespace: "ns"}}}}, nil
}

func (f fakePods) Watch(context.Context, metav1.ListOptions) (watch.Interface, error) {
	return watch.NewFake(), nil
}

func (fakePods) IsWatchListSemanticsUnSupported() bool { return true }

// TestNewInformerListsWithTheTweakedOptions checks that the informer lists
// through the resource, with tweak's options, and caches by namespace.
func TestNewInformerListsWithTheTweakedOptions(t *testing.T) {
	r := fakePods{listed: make(chan metav1.ListOptions, 10)}
	inf := NewInformer[*corev1.Pod, *corev1.PodList](r, &corev1.Pod{}, func(o *metav1.ListOptions) { o.LabelSelector = "app=web" })
	var s Informers
	ctx, cancel := context.WithCancel(t.Context())
	s.Run(ctx, inf)
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		t.Fatal("the informer did not sync")
	}
	if o := <-r.listed; o.LabelSelector != "app=web" {
		t.Errorf("listed with %+v; want the label selector app=web", o)
	}
	objs, err := inf.GetIndexer().ByIndex(cache.NamespaceIndex, "ns")
	if err != nil || len(objs) != 1 || objs[0].(*corev1.Pod).Name != "web-1" {
		t.Errorf("namespace ns holds %v (%v); want web-1", objs, err)
	}
	cancel()
	s.Wait()
}
