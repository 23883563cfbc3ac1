package deploy

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	discoveryfake "k8s.io/client-go/discovery/fake"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/restmapper"
	k8stesting "k8s.io/client-go/testing"
	"sigs.k8s.io/yaml"

	"skiff.dev/skiff/internal/render"
	"skiff.dev/skiff/internal/testutil"
)

// fakeCluster is an in-memory API server good enough for the deployer:
// discovery, and a dynamic client whose server-side apply creates or
// replaces an object and bumps its resourceVersion only when it changes.
type fakeCluster struct {
	t      *testing.T
	client *dynamicfake.FakeDynamicClient
	disc   *discoveryfake.FakeDiscovery
	out    testutil.Buffer

	mu      sync.Mutex
	version int
	// reject, when set, fails the apply of the objects it returns an
	// error for.
	reject func(obj *unstructured.Unstructured) error
}

// builtinResources are the kinds the fake cluster serves.
var builtinResources = []*metav1.APIResourceList{
	{GroupVersion: "v1", APIResources: []metav1.APIResource{
		{Name: "namespaces", Kind: "Namespace"},
		{Name: "configmaps", Kind: "ConfigMap", Namespaced: true},
		{Name: "services", Kind: "Service", Namespaced: true},
		{Name: "serviceaccounts", Kind: "ServiceAccount", Namespaced: true},
	}},
	{GroupVersion: "apps/v1", APIResources: []metav1.APIResource{
		{Name: "deployments", Kind: "Deployment", Namespaced: true},
	}},
	{GroupVersion: "apiextensions.k8s.io/v1", APIResources: []metav1.APIResource{
		{Name: "customresourcedefinitions", Kind: "CustomResourceDefinition"},
	}},
	{GroupVersion: "admissionregistration.k8s.io/v1", APIResources: []metav1.APIResource{
		{Name: "validatingwebhookconfigurations", Kind: "ValidatingWebhookConfiguration"},
	}},
}

// widgets are the custom resources of the CRD in crdYAML.
var widgets = schema.GroupVersionResource{Group: "example.com", Version: "v1", Resource: "widgets"}

// newFakeCluster returns a fake cluster with the namespaces given, and a
// Deployer for project "demo" in namespace "apps" on it.
func newFakeCluster(t *testing.T, nss ...string) (*fakeCluster, *Deployer) {
	t.Helper()
	listKinds := map[schema.GroupVersionResource]string{widgets: "WidgetList"}
	for _, rl := range builtinResources {
		gv, _ := schema.ParseGroupVersion(rl.GroupVersion)
		for _, r := range rl.APIResources {
			listKinds[gv.WithResource(r.Name)] = r.Kind + "List"
		}
	}
	f := &fakeCluster{
		t:      t,
		client: dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), listKinds),
		disc:   &discoveryfake.FakeDiscovery{Fake: &k8stesting.Fake{Resources: slices.Clone(builtinResources)}},
	}
	f.client.PrependReactor("patch", "*", f.apply)
	for _, ns := range nss {
		f.add(namespaces, &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": ns},
		}})
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapperWithContext(memory.NewMemCacheClientWithContext(discovery.ToDiscoveryInterfaceWithContext(f.disc)))
	d, err := newDeployer(f.client, mapper, "fake", "https://fake.invalid", Options{Project: "demo", Namespace: "apps", Out: &f.out})
	if err != nil {
		t.Fatal(err)
	}
	d.poll = time.Millisecond
	return f, d
}

// add stores obj as the API server would.
func (f *fakeCluster) add(gvr schema.GroupVersionResource, obj *unstructured.Unstructured) {
	f.t.Helper()
	f.mu.Lock()
	f.version++
	obj.SetResourceVersion(fmt.Sprint(f.version))
	obj.SetUID(types.UID(fmt.Sprintf("uid-%d", f.version)))
	f.mu.Unlock()
	if err := f.client.Tracker().Create(gvr, obj, obj.GetNamespace()); err != nil {
		f.t.Fatal(err)
	}
}

// apply is the fake's server-side apply.
func (f *fakeCluster) apply(action k8stesting.Action) (bool, runtime.Object, error) {
	pa, ok := action.(k8stesting.PatchActionImpl)
	if !ok || pa.GetPatchType() != types.ApplyPatchType {
		return false, nil, nil
	}
	obj := &unstructured.Unstructured{}
	if err := json.Unmarshal(pa.GetPatch(), &obj.Object); err != nil {
		return true, nil, err
	}
	if f.reject != nil {
		if err := f.reject(obj); err != nil {
			return true, nil, err
		}
	}
	gvr, ns, tracker := pa.GetResource(), pa.GetNamespace(), f.client.Tracker()
	if ns != "" {
		if _, err := tracker.Get(namespaces, "", ns); apierrors.IsNotFound(err) {
			return true, nil, apierrors.NewNotFound(namespaces.GroupResource(), ns)
		}
	}
	old, err := tracker.Get(gvr, ns, pa.GetName())
	if apierrors.IsNotFound(err) {
		if obj.GetKind() == "CustomResourceDefinition" {
			f.establish(obj)
		}
		f.mu.Lock()
		f.version++
		obj.SetResourceVersion(fmt.Sprint(f.version))
		obj.SetUID(types.UID(fmt.Sprintf("uid-%d", f.version)))
		f.mu.Unlock()
		if err := tracker.Create(gvr, obj, ns); err != nil {
			return true, nil, err
		}
		return true, obj, nil
	}
	if err != nil {
		return true, nil, err
	}
	live := old.(*unstructured.Unstructured)
	obj.SetResourceVersion(live.GetResourceVersion())
	obj.SetUID(live.GetUID())
	if status, ok := live.Object["status"]; ok {
		obj.Object["status"] = status
	}
	if equality.Semantic.DeepEqual(obj.Object, live.Object) {
		return true, live, nil
	}
	f.mu.Lock()
	f.version++
	obj.SetResourceVersion(fmt.Sprint(f.version))
	f.mu.Unlock()
	if err := tracker.Update(gvr, obj, ns); err != nil {
		return true, nil, err
	}
	return true, obj, nil
}

// establish marks a new CRD established and serves its kind.
func (f *fakeCluster) establish(crd *unstructured.Unstructured) {
	crd.Object["status"] = map[string]any{"conditions": []any{
		map[string]any{"type": "NamesAccepted", "status": "True"},
		map[string]any{"type": "Established", "status": "True"},
	}}
	group, _, _ := unstructured.NestedString(crd.Object, "spec", "group")
	kind, _, _ := unstructured.NestedString(crd.Object, "spec", "names", "kind")
	plural, _, _ := unstructured.NestedString(crd.Object, "spec", "names", "plural")
	f.disc.Resources = append(f.disc.Resources, &metav1.APIResourceList{
		GroupVersion: group + "/v1",
		APIResources: []metav1.APIResource{{Name: plural, Kind: kind, Namespaced: true}},
	})
}

// get returns the live object, or nil.
func (f *fakeCluster) get(gvr schema.GroupVersionResource, ns, name string) *unstructured.Unstructured {
	f.t.Helper()
	obj, err := f.client.Tracker().Get(gvr, ns, name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		f.t.Fatal(err)
	}
	return obj.(*unstructured.Unstructured)
}

// patched lists the objects applied, as "kind/name", in order.
func (f *fakeCluster) patched() []string {
	var names []string
	for _, a := range f.client.Actions() {
		if pa, ok := a.(k8stesting.PatchActionImpl); ok && pa.GetName() != "skiff-applyset-demo" {
			names = append(names, pa.GetResource().Resource+"/"+pa.GetName())
		}
	}
	return names
}

// lines returns the progress lines printed since the last call, sorted.
func (f *fakeCluster) lines() []string {
	s := strings.TrimSuffix(f.out.Take(), "\n")
	if s == "" {
		return nil
	}
	lines := strings.Split(s, "\n")
	slices.Sort(lines)
	return lines
}

// manifests parses a multi-document YAML stream, each document one
// manifest from file, starting on the line its document does.
func manifests(t *testing.T, file, stream string) []render.Manifest {
	t.Helper()
	var ms []render.Manifest
	line := 1
	for doc := range strings.SplitSeq(stream, "---\n") {
		start := line
		line += strings.Count(doc, "\n") + 1
		if strings.TrimSpace(doc) == "" {
			continue
		}
		obj := map[string]any{}
		if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
			t.Fatalf("%s:%d: %v", file, start, err)
		}
		ms = append(ms, render.Manifest{Object: &unstructured.Unstructured{Object: obj}, Source: render.Source{File: file, Line: start}})
	}
	return ms
}
