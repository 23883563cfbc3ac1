package deploy

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/client-go/rest"
	k8stesting "k8s.io/client-go/testing"

	"skiff.dev/skiff/internal/kube"
)

var deployments = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}

const appYAML = `apiVersion: v1
kind: Namespace
metadata:
  name: apps
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: cfg
data:
  greeting: hello
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 0
`

func TestApplySetIDMatchesKubectl(t *testing.T) {
	t.Parallel()
	// Values from kubectl's own tests (pkg/cmd/apply): Secret parents in
	// namespace "test".
	for name, want := range map[string]string{
		"my-set": "applyset-0eFHV8ySqp7XoShsGvyWFQD3s96yqwHmzc4e0HR1dsY-v1",
		"simple": "applyset-bjd1LnyQq0mtUu-riZCqjDQOmh0iNb9O2RcuT12WR0k-v1",
	} {
		if got := applySetID(name, "test", "Secret", ""); got != want {
			t.Errorf("applySetID(%s) = %s, want %s", name, got, want)
		}
	}
}

func TestApplyRecordsReappliesAndPrunes(t *testing.T) {
	t.Parallel()
	f, d := newFakeCluster(t)
	ms := manifests(t, "k8s/app.yaml", appYAML)

	applied, err := d.Apply(t.Context(), ms)
	if err != nil {
		t.Fatal(err)
	}
	wantLines(t, f.lines(), " - configmap/cfg created", " - deployment.apps/web created", " - namespace/apps created")
	if len(applied) != 3 || applied[2].GetKind() != "Deployment" || applied[2].GetResourceVersion() == "" {
		t.Fatalf("Apply returned %v, want the 3 live objects in manifest order", applied)
	}
	parent := f.get(configMaps, "apps", "skiff-applyset-demo")
	if parent == nil {
		t.Fatal("no ApplySet parent ConfigMap apps/skiff-applyset-demo")
	}
	id := applySetID("skiff-applyset-demo", "apps", "ConfigMap", "")
	if got := parent.GetLabels()[applySetIDLabel]; got != id {
		t.Errorf("parent id label = %q, want %q", got, id)
	}
	wantAnnotations(t, parent, map[string]string{
		applySetToolingAnnotation:    "skiff/dev",
		applySetKindsAnnotation:      "ConfigMap,Deployment.apps,Namespace",
		applySetNamespacesAnnotation: "",
	})
	if got := f.get(deployments, "apps", "web").GetLabels()[applySetPartOfLabel]; got != id {
		t.Errorf("deployment's part-of label = %q, want %q", got, id)
	}

	if _, err := d.Apply(t.Context(), ms); err != nil {
		t.Fatal(err)
	}
	wantLines(t, f.lines(), " - configmap/cfg unchanged", " - deployment.apps/web unchanged", " - namespace/apps unchanged")

	changed := manifests(t, "k8s/app.yaml", strings.Replace(appYAML, "hello", "hi", 1))
	if _, err := d.Apply(t.Context(), changed); err != nil {
		t.Fatal(err)
	}
	wantLines(t, f.lines(), " - configmap/cfg configured", " - deployment.apps/web unchanged", " - namespace/apps unchanged")

	if _, err := d.Apply(t.Context(), changed[:2]); err != nil {
		t.Fatal(err)
	}
	wantLines(t, f.lines(), " - configmap/cfg unchanged", " - deployment.apps/web pruned", " - namespace/apps unchanged")
	if f.get(deployments, "apps", "web") != nil {
		t.Error("the pruned deployment is still there")
	}
	wantAnnotations(t, f.get(configMaps, "apps", "skiff-applyset-demo"), map[string]string{
		applySetKindsAnnotation: "ConfigMap,Namespace",
	})
}

func TestApplyOrdersKindsAndWaitsForCRDs(t *testing.T) {
	t.Parallel()
	f, d := newFakeCluster(t)
	ms := manifests(t, "k8s/all.yaml", `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata:
  name: hook
---
apiVersion: example.com/v1
kind: Widget
metadata:
  name: w
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: sa
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names: {kind: Widget, plural: widgets}
  versions: [{name: v1, served: true, storage: true}]
---
apiVersion: v1
kind: Namespace
metadata:
  name: apps
`)
	if _, err := d.Apply(t.Context(), ms); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"namespaces/apps", // first: the set's record goes there
		"customresourcedefinitions/widgets.example.com",
		"serviceaccounts/sa",
		"deployments/web",
		"widgets/w",
		"validatingwebhookconfigurations/hook",
	}
	if got := f.patched(); !slices.Equal(got, want) {
		t.Errorf("applied in order\n%v\nwant\n%v", got, want)
	}
	if _, err := d.mapper.RESTMappingWithContext(t.Context(), schema.GroupKind{Group: "example.com", Kind: "Widget"}, "v1"); err != nil {
		t.Errorf("after the CRD was established, the RESTMapper does not know its kind: %v", err)
	}
	wantAnnotations(t, f.get(configMaps, "apps", "skiff-applyset-demo"), map[string]string{
		applySetKindsAnnotation: "CustomResourceDefinition.apiextensions.k8s.io,Deployment.apps,Namespace,ServiceAccount,ValidatingWebhookConfiguration.admissionregistration.k8s.io,Widget.example.com",
	})
}

func TestApplyRejectsManifestsBeforeApplyingAny(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, yaml string
		want       []string
	}{{
		name: "unknown kind",
		yaml: "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\n---\napiVersion: example.com/v1\nkind: Gadget\nmetadata:\n  name: g\n",
		want: []string{"kind Gadget (example.com/v1) in k8s/app.yaml:6 is not known to the cluster: apply its CustomResourceDefinition first or check apiVersion (the object is gadget.example.com/g)\nnothing was applied"},
	}, {
		name: "version not served",
		yaml: "apiVersion: apps/v1beta1\nkind: Deployment\nmetadata:\n  name: web\n",
		want: []string{"kind Deployment (apps/v1beta1) of deployment.apps/web in k8s/app.yaml:1 is not served by the cluster, which serves Deployment in apps/v1: check apiVersion"},
	}, {
		name: "missing namespace",
		yaml: "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\n  namespace: nowhere\n",
		want: []string{"namespace nowhere does not exist (configmap/cfg in k8s/app.yaml:1 goes there): create it (`kubectl create namespace nowhere`), add a Namespace manifest for it, or deploy to another namespace with -n"},
	}, {
		name: "twice",
		yaml: "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\n  namespace: apps\n",
		want: []string{"configmap/cfg is in the manifests twice: in k8s/app.yaml:1 and in k8s/app.yaml:6; keep one"},
	}, {
		name: "another set's label",
		yaml: "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\n  labels:\n    applyset.kubernetes.io/part-of: applyset-other-v1\n",
		want: []string{"configmap/cfg in k8s/app.yaml:1 has label applyset.kubernetes.io/part-of=applyset-other-v1: it belongs to another ApplySet"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f, d := newFakeCluster(t, "apps")
			_, err := d.Apply(t.Context(), manifests(t, "k8s/app.yaml", tc.yaml))
			wantError(t, err, tc.want...)
			if got := f.patched(); len(got) > 0 {
				t.Errorf("applied %v, want nothing", got)
			}
		})
	}
}

func TestApplyReportsWhatWasAndWasNotApplied(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{{
		name: "invalid",
		err: apierrors.NewInvalid(schema.GroupKind{Group: "apps", Kind: "Deployment"}, "web",
			field.ErrorList{field.Invalid(field.NewPath("spec", "replicas"), -1, "must be greater than or equal to 0")}),
		want: `deployment.apps/web in k8s/app.yaml:13 was rejected by the API server: fix the manifest: Deployment.apps "web" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0`,
	}, {
		name: "forbidden",
		err:  apierrors.NewForbidden(schema.GroupResource{Group: "apps", Resource: "deployments"}, "web", errors.New(`User "dev" cannot patch resource "deployments"`)),
		want: `deployment.apps/web in k8s/app.yaml:13: the user of kube context "fake" may not apply it: ask for the RBAC permission or use another kube context: deployments.apps "web" is forbidden: User "dev" cannot patch resource "deployments"`,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f, d := newFakeCluster(t)
			f.reject = func(obj *unstructured.Unstructured) error {
				if obj.GetKind() == "Deployment" {
					return tc.err
				}
				return nil
			}
			ms := manifests(t, "k8s/app.yaml", appYAML+"---\napiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingWebhookConfiguration\nmetadata:\n  name: hook\n")
			_, err := d.Apply(t.Context(), ms)
			wantError(t, err, tc.want, "\napplied: namespace/apps, configmap/cfg\nnot applied: deployment.apps/web, validatingwebhookconfiguration.admissionregistration.k8s.io/hook")
			var ae *ApplyError
			if !errors.As(err, &ae) || len(ae.Applied) != 2 || len(ae.NotApplied) != 2 {
				t.Errorf("error is not an *ApplyError with 2 applied and 2 not: %#v", err)
			}
			if slices.Contains(f.patched(), "validatingwebhookconfigurations/hook") {
				t.Error("a later stage was applied after a failure")
			}
		})
	}
}

func TestApplyRefusesAnotherToolsSet(t *testing.T) {
	t.Parallel()
	f, d := newFakeCluster(t, "apps")
	f.add(configMaps, &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{
			"name": "skiff-applyset-demo", "namespace": "apps",
			"labels":      map[string]any{applySetIDLabel: applySetID("skiff-applyset-demo", "apps", "ConfigMap", "")},
			"annotations": map[string]any{applySetToolingAnnotation: "kubectl/v1.34.0"},
		},
	}})
	_, err := d.Apply(t.Context(), manifests(t, "k8s/app.yaml", appYAML))
	wantError(t, err, `ConfigMap apps/skiff-applyset-demo records an ApplySet that "kubectl/v1.34.0" manages, not skiff`, "nothing was applied")
}

func TestPruneKeepsANamespaceInUse(t *testing.T) {
	t.Parallel()
	f, d := newFakeCluster(t, "apps")
	const extra = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\n  namespace: extra\n"
	if _, err := d.Apply(t.Context(), manifests(t, "k8s/app.yaml", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: extra\n---\n"+extra)); err != nil {
		t.Fatal(err)
	}
	wantAnnotations(t, f.get(configMaps, "apps", "skiff-applyset-demo"), map[string]string{applySetNamespacesAnnotation: "extra"})
	f.lines()
	if _, err := d.Apply(t.Context(), manifests(t, "k8s/app.yaml", extra)); err != nil {
		t.Fatal(err)
	}
	wantLines(t, f.lines(), " - configmap/cfg unchanged", " - namespace/extra not pruned: objects of this deploy are in it")
	wantAnnotations(t, f.get(configMaps, "apps", "skiff-applyset-demo"), map[string]string{applySetKindsAnnotation: "ConfigMap,Namespace"})
}

func TestDeleteRemovesTheSetInReverseOrder(t *testing.T) {
	t.Parallel()
	f, d := newFakeCluster(t)
	if _, err := d.Apply(t.Context(), manifests(t, "k8s/app.yaml", appYAML)); err != nil {
		t.Fatal(err)
	}
	f.lines()
	f.client.ClearActions()
	if err := d.Delete(t.Context()); err != nil {
		t.Fatal(err)
	}
	wantLines(t, f.lines(), " - configmap/cfg deleted", " - deleting 3 objects of project demo; waiting up to 2m0s for them to go", " - deployment.apps/web deleted", " - namespace/apps deleted")
	var deleted []string
	for _, a := range f.client.Actions() {
		if da, ok := a.(k8stesting.DeleteActionImpl); ok {
			deleted = append(deleted, da.GetResource().Resource+"/"+da.GetName())
			if p := da.DeleteOptions.PropagationPolicy; da.GetName() != "skiff-applyset-demo" && (p == nil || *p != metav1.DeletePropagationForeground) {
				t.Errorf("%s deleted with propagation %v, want Foreground", da.GetName(), p)
			}
		}
	}
	want := []string{"deployments/web", "configmaps/cfg", "namespaces/apps", "configmaps/skiff-applyset-demo"}
	if !slices.Equal(deleted, want) {
		t.Errorf("deleted %v, want %v", deleted, want)
	}

	if err := d.Delete(t.Context()); err != nil {
		t.Fatal(err)
	}
	wantLines(t, f.lines(), " - nothing to delete: no record of project demo in namespace apps")
}

// With Background (dev's Ctrl-C), every object is deleted in the
// background: Delete does not wait for a workload's pods to stop.
func TestDeleteInTheBackground(t *testing.T) {
	t.Parallel()
	f, d := newFakeCluster(t)
	if _, err := d.Apply(t.Context(), manifests(t, "k8s/app.yaml", appYAML)); err != nil {
		t.Fatal(err)
	}
	d.opts.Background = true
	f.lines()
	f.client.ClearActions()
	if err := d.Delete(t.Context()); err != nil {
		t.Fatal(err)
	}
	wantLines(t, f.lines(), " - configmap/cfg deleted", " - deleting 3 objects of project demo; waiting up to 2m0s for them to go (their pods stop in the background)", " - deployment.apps/web deleted", " - namespace/apps deleted")
	n := 0
	for _, a := range f.client.Actions() {
		if da, ok := a.(k8stesting.DeleteActionImpl); ok && da.GetName() != "skiff-applyset-demo" {
			n++
			if p := da.DeleteOptions.PropagationPolicy; p == nil {
				t.Errorf("%s deleted without a propagation policy, want Background", da.GetName())
			} else if *p != metav1.DeletePropagationBackground {
				t.Errorf("%s deleted with propagation %s, want Background", da.GetName(), *p)
			}
		}
	}
	if n != 3 {
		t.Errorf("%d objects deleted, want 3", n)
	}
}

func TestDeleteReportsWhatOutlastsTheTimeout(t *testing.T) {
	t.Parallel()
	f, d := newFakeCluster(t)
	if _, err := d.Apply(t.Context(), manifests(t, "k8s/app.yaml", appYAML)); err != nil {
		t.Fatal(err)
	}
	// The deployment's deletion never finishes.
	f.client.PrependReactor("delete", "deployments", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, nil
	})
	d.opts.Timeout = 50 * time.Millisecond
	f.lines()
	err := d.Delete(t.Context())
	wantError(t, err, "deleting project demo: still there after 50ms: deployment.apps/web in namespace apps:", "run `skiff delete`", "(ConfigMap apps/skiff-applyset-demo is kept)")
	if f.get(configMaps, "apps", "skiff-applyset-demo") == nil {
		t.Error("the record was deleted although objects are left")
	}
	// Delete says what it waits for and how long, and once that time is
	// over it still asks for the deletion of what it had not reached.
	wantLines(t, f.lines(),
		" - configmap/cfg deletion requested",
		" - deleting 3 objects of project demo; waiting up to 50ms for them to go",
		" - namespace/apps deletion requested")
	if f.get(configMaps, "apps", "cfg") != nil {
		t.Error("the configmap's deletion was not requested after the wait")
	}
}

func TestUnreachableClusterSaysWhichAndWhatToCheck(t *testing.T) {
	t.Parallel()
	// Nothing listens on port 1 of the loopback address.
	kc := &kube.Config{Context: "skiff-test", Namespace: "default", REST: &rest.Config{Host: "http://127.0.0.1:1"}}
	d, err := New(kc, Options{Project: "demo"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = d.Apply(t.Context(), manifests(t, "k8s/app.yaml", appYAML))
	wantError(t, err, `cannot reach the cluster of kube context "skiff-test" (http://127.0.0.1:1): connection refused: check that the cluster is running`, "nothing was applied")
	err = d.Delete(t.Context())
	wantError(t, err, `cannot reach the cluster of kube context "skiff-test"`)
}

func TestNewRejectsBadProjectNames(t *testing.T) {
	t.Parallel()
	kc := &kube.Config{Context: "c", Namespace: "default", REST: &rest.Config{Host: "http://127.0.0.1:1"}}
	for _, project := range []string{"", "Has_Upper", strings.Repeat("x", 64)} {
		if _, err := New(kc, Options{Project: project}); err == nil {
			t.Errorf("New accepted project %q", project)
		}
	}
}

func wantLines(t *testing.T, got []string, want ...string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("printed\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func wantAnnotations(t *testing.T, obj *unstructured.Unstructured, want map[string]string) {
	t.Helper()
	got := obj.GetAnnotations()
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("annotation %s = %q (set: %t), want %q", k, g, ok, v)
		}
	}
}

func wantError(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one with %q", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error\n%v\ndoes not contain\n%s", err, p)
		}
	}
}

// With Force, an object the API server rejects as invalid (an immutable
// field changed) is deleted and recreated; without it, the rejection is
// the error.
func TestApplyForceRecreatesWhatCannotChangeInPlace(t *testing.T) {
	t.Parallel()
	for _, force := range []bool{false, true} {
		t.Run(fmt.Sprint("force=", force), func(t *testing.T) {
			t.Parallel()
			f, d := newFakeCluster(t)
			d.opts.Force = force
			if _, err := d.Apply(t.Context(), manifests(t, "k8s/app.yaml", appYAML)); err != nil {
				t.Fatal(err)
			}
			f.lines()
			old := f.get(deployments, "apps", "web").GetUID()
			f.reject = func(obj *unstructured.Unstructured) error {
				if obj.GetKind() == "Deployment" && f.get(deployments, "apps", "web") != nil {
					return apierrors.NewInvalid(schema.GroupKind{Group: "apps", Kind: "Deployment"}, "web",
						field.ErrorList{field.Invalid(field.NewPath("spec", "selector"), "x", "field is immutable")})
				}
				return nil
			}
			_, err := d.Apply(t.Context(), manifests(t, "k8s/app.yaml", appYAML))
			if !force {
				wantError(t, err, "field is immutable")
				if f.get(deployments, "apps", "web").GetUID() != old {
					t.Error("without --force the deployment was replaced")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if now := f.get(deployments, "apps", "web"); now == nil || now.GetUID() == old {
				t.Errorf("deployment not recreated: %v", now)
			}
			out := strings.Join(f.lines(), "\n")
			if !strings.Contains(out, "deployment.apps/web recreated (--force)") {
				t.Errorf("progress does not say the deployment was recreated:\n%s", out)
			}
		})
	}
}

// A dry run lists what Delete would delete and deletes nothing.
func TestDeleteDryRunDeletesNothing(t *testing.T) {
	t.Parallel()
	f, d := newFakeCluster(t)
	if _, err := d.Apply(t.Context(), manifests(t, "k8s/app.yaml", appYAML)); err != nil {
		t.Fatal(err)
	}
	f.lines()
	f.client.ClearActions()
	d.opts.DryRun = true
	if err := d.Delete(t.Context()); err != nil {
		t.Fatal(err)
	}
	wantLines(t, f.lines(), " - configmap/cfg would be deleted", " - deployment.apps/web would be deleted", " - namespace/apps would be deleted", " - would delete 3 objects of project demo (dry run):")
	for _, a := range f.client.Actions() {
		if _, ok := a.(k8stesting.DeleteActionImpl); ok {
			t.Errorf("a dry run deleted %s", a.GetResource().Resource)
		}
	}
	if f.get(deployments, "apps", "web") == nil {
		t.Error("the deployment is gone after a dry run")
	}
}

// With WaitForDeletions, Apply waits for a namespace being deleted to go,
// then creates it from the manifests; without, or when it outlasts the
// wait, the deletion is the error.
func TestApplyWaitsForDeletions(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		wait      time.Duration
		goneAfter int // gets of the namespace before it is gone; 0: never
		want      string
	}{
		{name: "waits", wait: time.Minute, goneAfter: 3},
		{name: "no wait", wait: 0, goneAfter: 3, want: "namespace apps is being deleted"},
		{name: "outlasts the wait", wait: 20 * time.Millisecond, want: "namespace apps is being deleted"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f, d := newFakeCluster(t)
			d.opts.WaitForDeletions, d.opts.WaitForDeletionsDelay = tc.wait, time.Millisecond
			f.add(namespaces, &unstructured.Unstructured{Object: map[string]any{
				"apiVersion": "v1", "kind": "Namespace",
				"metadata": map[string]any{"name": "apps", "deletionTimestamp": "2026-01-01T00:00:00Z", "finalizers": []any{"kubernetes"}},
			}})
			var mu sync.Mutex
			gets := 0
			f.client.PrependReactor("get", "namespaces", func(action k8stesting.Action) (bool, runtime.Object, error) {
				mu.Lock()
				defer mu.Unlock()
				if gets++; tc.goneAfter > 0 && gets == tc.goneAfter {
					if err := f.client.Tracker().Delete(namespaces, "", "apps"); err != nil {
						return true, nil, err
					}
				}
				return false, nil, nil
			})
			_, err := d.Apply(t.Context(), manifests(t, "k8s/app.yaml", appYAML))
			if tc.want != "" {
				wantError(t, err, tc.want)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if ns := f.get(namespaces, "", "apps"); ns == nil || ns.GetDeletionTimestamp() != nil {
				t.Errorf("namespace apps after the wait: %v", ns)
			}
			if out := strings.Join(f.lines(), "\n"); !strings.Contains(out, "namespace/apps is being deleted: waiting up to 1m0s") {
				t.Errorf("progress does not say it waits:\n%s", out)
			}
		})
	}
}
