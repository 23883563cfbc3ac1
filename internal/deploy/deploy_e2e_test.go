//go:build e2e

package deploy

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"skiff.dev/skiff/internal/kube"
	"skiff.dev/skiff/internal/kube/kubetest"
	"skiff.dev/skiff/internal/testutil"
)

// These tests run against the local cluster of hack/cluster.sh:
//
//	eval "$(hack/cluster.sh env)"; go test -tags e2e ./internal/deploy/
//
// Each works in namespaces and API groups of its own and removes them.

// e2eCluster is the cluster under test.
type e2eCluster struct {
	kc     *kube.Config
	cs     kubernetes.Interface
	client dynamic.Interface
}

func newE2ECluster(t *testing.T) *e2eCluster {
	t.Helper()
	if os.Getenv("KUBECONFIG") == "" {
		t.Fatal(`KUBECONFIG is not set: run eval "$(hack/cluster.sh env)" first`)
	}
	kc, err := kube.Load("")
	if err != nil {
		t.Fatal(err)
	}
	cs, err := kubetest.Clientset(kc.REST, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	client, err := dynamic.NewForConfig(kc.REST)
	if err != nil {
		t.Fatal(err)
	}
	return &e2eCluster{kc: kc, cs: cs, client: client}
}

// uniqueName is prefix and 8 random hex digits.
func uniqueName(t *testing.T, prefix string) string {
	t.Helper()
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return prefix + hex.EncodeToString(b)
}

// deployer returns a Deployer for project in namespace ns, and its output.
func (c *e2eCluster) deployer(t *testing.T, project, ns string) (*Deployer, *testutil.Buffer) {
	t.Helper()
	var out testutil.Buffer
	d, err := New(c.kc, Options{Project: project, Namespace: ns, Out: &out})
	if err != nil {
		t.Fatal(err)
	}
	return d, &out
}

// createNamespace makes namespace ns for the test; removeNamespace is
// registered to delete it.
func (c *e2eCluster) createNamespace(t *testing.T, ns string) {
	t.Helper()
	_, err := c.cs.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c.removeNamespace(t, ns)
}

// removeNamespace deletes ns, if it is there, when the test ends.
func (c *e2eCluster) removeNamespace(t *testing.T, ns string) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		err := c.cs.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("cleaning up namespace %s: %v", ns, err)
		}
	})
}

// eventually polls check until it returns "" or a minute passes.
func eventually(t *testing.T, what string, check func(ctx context.Context) string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	last := ""
	for {
		if last = check(ctx); last == "" {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s: still %s after a minute", what, last)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// appManifests is a namespace with a config map, a deployment whose pod
// runs the cluster's pause image (imported, never pulled) and a service.
const appManifests = `apiVersion: v1
kind: Namespace
metadata:
  name: NS
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
  replicas: 1
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      terminationGracePeriodSeconds: 5
      containers:
      - name: pause
        image: registry.k8s.io/pause:3.10
        imagePullPolicy: Never
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports:
  - port: 80
`

func TestE2EApplyReapplyPruneDelete(t *testing.T) {
	c := newE2ECluster(t)
	ns := uniqueName(t, "skiff-deploy-")
	c.removeNamespace(t, ns)
	d, out := c.deployer(t, ns, ns)
	yaml := strings.ReplaceAll(appManifests, "NS", ns)
	ms := manifests(t, "k8s/app.yaml", yaml)

	applied, err := d.Apply(t.Context(), ms)
	if err != nil {
		t.Fatal(err)
	}
	wantOutput(t, out.Take(), " - namespace/NS created\n - configmap/cfg created\n - deployment.apps/web created\n - service/web created\n", ns)
	if len(applied) != 4 || applied[2].GetUID() == "" {
		t.Fatalf("Apply returned %d objects, want the 4 live ones", len(applied))
	}

	parent, err := c.cs.CoreV1().ConfigMaps(ns).Get(t.Context(), "skiff-applyset-"+ns, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the set's parent: %v", err)
	}
	id := applySetID("skiff-applyset-"+ns, ns, "ConfigMap", "")
	if parent.Labels[applySetIDLabel] != id || parent.Annotations[applySetKindsAnnotation] != "ConfigMap,Deployment.apps,Namespace,Service" {
		t.Errorf("parent labels %v, annotations %v", parent.Labels, parent.Annotations)
	}
	members, err := c.cs.CoreV1().ConfigMaps(ns).List(t.Context(), metav1.ListOptions{LabelSelector: applySetPartOfLabel + "=" + id})
	if err != nil || len(members.Items) != 1 || members.Items[0].Name != "cfg" {
		t.Errorf("config maps labelled part of the set: %v (err %v), want cfg", members, err)
	}

	t.Run("kubectl sees skiff's set", func(t *testing.T) {
		kubectlSeesSkiffSet(t, ns, "skiff-applyset-"+ns, yaml)
	})

	if _, err := d.Apply(t.Context(), ms); err != nil {
		t.Fatal(err)
	}
	wantOutput(t, out.Take(), " - namespace/NS unchanged\n - configmap/cfg unchanged\n - deployment.apps/web unchanged\n - service/web unchanged\n", ns)

	changed := manifests(t, "k8s/app.yaml", strings.Replace(yaml, "greeting: hello", "greeting: hi", 1))
	if _, err := d.Apply(t.Context(), changed); err != nil {
		t.Fatal(err)
	}
	wantOutput(t, out.Take(), " - namespace/NS unchanged\n - configmap/cfg configured\n - deployment.apps/web unchanged\n - service/web unchanged\n", ns)

	if _, err := d.Apply(t.Context(), changed[:3]); err != nil {
		t.Fatal(err)
	}
	wantOutput(t, out.Take(), " - namespace/NS unchanged\n - configmap/cfg unchanged\n - deployment.apps/web unchanged\n - service/web pruned\n", ns)
	eventually(t, "the pruned service to be gone", func(ctx context.Context) string {
		_, err := c.cs.CoreV1().Services(ns).Get(ctx, "web", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return ""
		}
		return fmt.Sprintf("there (err %v)", err)
	})
	parent, err = c.cs.CoreV1().ConfigMaps(ns).Get(t.Context(), "skiff-applyset-"+ns, metav1.GetOptions{})
	if err != nil || parent.Annotations[applySetKindsAnnotation] != "ConfigMap,Deployment.apps,Namespace" {
		t.Errorf("after pruning, the parent records %v (err %v)", parent.Annotations, err)
	}

	// Delete has pods to wait for.
	eventually(t, "the deployment's pod to run", func(ctx context.Context) string {
		pods, err := c.cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
		if err != nil {
			return err.Error()
		}
		for _, p := range pods.Items {
			if p.Status.Phase == corev1.PodRunning {
				return ""
			}
		}
		return fmt.Sprintf("not running (%d pods)", len(pods.Items))
	})
	if err := d.Delete(t.Context()); err != nil {
		t.Fatal(err)
	}
	got := strings.Split(strings.TrimSuffix(out.Take(), "\n"), "\n")
	slices.Sort(got)
	want := []string{" - configmap/cfg deleted", " - deleting 3 objects of project " + ns + "; waiting up to 2m0s for them to go", " - deployment.apps/web deleted", " - namespace/" + ns + " deleted"}
	if !slices.Equal(got, want) {
		t.Errorf("Delete printed\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// Nothing left: no namespace, no pods, nothing labelled part of the set
	// anywhere.
	if _, err := c.cs.CoreV1().Namespaces().Get(t.Context(), ns, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("namespace %s is still there after Delete (err %v)", ns, err)
	}
	for _, gvr := range []schema.GroupVersionResource{configMaps, namespaces, {Group: "apps", Version: "v1", Resource: "deployments"}, {Version: "v1", Resource: "pods"}} {
		list, err := c.client.Resource(gvr).List(t.Context(), metav1.ListOptions{LabelSelector: applySetPartOfLabel + "=" + id})
		if err != nil {
			t.Fatal(err)
		}
		if len(list.Items) > 0 {
			t.Errorf("after Delete, %d %s are still labelled part of the set", len(list.Items), gvr.Resource)
		}
	}
	pods, err := c.cs.CoreV1().Pods(ns).List(t.Context(), metav1.ListOptions{})
	if err != nil || len(pods.Items) > 0 {
		t.Errorf("after Delete, pods in %s: %d (err %v)", ns, len(pods.Items), err)
	}
}

// kubectlSeesSkiffSet checks that kubectl reads skiff's set as an ApplySet
// that skiff manages: it refuses to apply over it, as the specification
// asks of tools.
func kubectlSeesSkiffSet(t *testing.T, ns, parent, yaml string) {
	// /usr/bin/kubectl on these machines is a dispatcher that may reach
	// the network; use a real binary.
	kubectl := "/usr/lib/google-cloud-sdk/bin/kubectl.1.33"
	if _, err := os.Stat(kubectl); err != nil {
		t.Skipf("no kubectl binary at %s", kubectl)
	}
	file := filepath.Join(t.TempDir(), "app.yaml")
	if err := os.WriteFile(file, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), kubectl, "apply", "--server-side", "--dry-run=server", "--prune",
		"--applyset=configmaps/"+parent, "--namespace="+ns, "--filename="+file)
	cmd.Env = append(os.Environ(), "KUBECTL_APPLYSET=true")
	b, err := cmd.CombinedOutput()
	want := fmt.Sprintf(`ApplySet parent object "configmaps./%s" already exists and is managed by tooling "skiff" instead of "kubectl"`, parent)
	if err == nil || !strings.Contains(string(b), want) {
		t.Errorf("kubectl apply --applyset over skiff's set: err %v, output:\n%s\nwant it to contain %s", err, b, want)
	}
}

func TestE2ECRDAndCustomResourcesInOneApply(t *testing.T) {
	c := newE2ECluster(t)
	ns := uniqueName(t, "skiff-deploy-")
	c.createNamespace(t, ns)
	group := uniqueName(t, "t") + ".skiff.test"
	crd := "widgets." + group
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		crds := schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
		if err := c.client.Resource(crds).Delete(ctx, crd, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("cleaning up CRD %s: %v", crd, err)
		}
	})
	d, out := c.deployer(t, ns, ns)
	ms := manifests(t, "k8s/widgets.yaml", strings.ReplaceAll(`apiVersion: GROUP/v1
kind: Widget
metadata:
  name: w
spec:
  size: 3
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.GROUP
spec:
  group: GROUP
  scope: Namespaced
  names: {kind: Widget, plural: widgets, singular: widget, listKind: WidgetList}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {type: integer}
`, "GROUP", group))
	applied, err := d.Apply(t.Context(), ms)
	if err != nil {
		t.Fatal(err)
	}
	wantOutput(t, out.Take(), " - customresourcedefinition.apiextensions.k8s.io/widgets.GROUP created\n - widget.GROUP/w created\n", group)
	if size, _, _ := unstructured.NestedInt64(applied[0].Object, "spec", "size"); size != 3 {
		t.Errorf("the widget the server returned has spec.size %d, want 3", size)
	}
	if _, err := d.Apply(t.Context(), ms); err != nil {
		t.Fatal(err)
	}
	wantOutput(t, out.Take(), " - customresourcedefinition.apiextensions.k8s.io/widgets.GROUP unchanged\n - widget.GROUP/w unchanged\n", group)

	if err := d.Delete(t.Context()); err != nil {
		t.Fatal(err)
	}
	wantOutput(t, out.Take(), " - deleting 2 objects of project "+ns+"; waiting up to 2m0s for them to go\n - widget.GROUP/w deleted\n - customresourcedefinition.apiextensions.k8s.io/widgets.GROUP deleted\n", group)
}

func TestE2EErrorsNameTheManifestAndWhatToDo(t *testing.T) {
	c := newE2ECluster(t)
	ns := uniqueName(t, "skiff-deploy-")
	c.createNamespace(t, ns)
	const cfg = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\n---\n"
	for _, tc := range []struct {
		name, yaml string
		want       []string
		applied    bool // cfg was applied before the failure
	}{{
		name: "unknown kind",
		yaml: cfg + "apiVersion: nothere.skiff.test/v1\nkind: Gadget\nmetadata:\n  name: g\n",
		want: []string{"kind Gadget (nothere.skiff.test/v1) in k8s/app.yaml:6 is not known to the cluster: apply its CustomResourceDefinition first or check apiVersion", "nothing was applied"},
	}, {
		name: "missing namespace",
		yaml: cfg + "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: other\n  namespace: skiff-deploy-missing\n",
		want: []string{"namespace skiff-deploy-missing does not exist (configmap/other in k8s/app.yaml:6 goes there): create it (`kubectl create namespace skiff-deploy-missing`), add a Namespace manifest for it, or deploy to another namespace with -n", "nothing was applied"},
	}, {
		name: "invalid object",
		yaml: cfg + "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: -1\n",
		want: []string{
			"deployment.apps/web in k8s/app.yaml:6 was rejected by the API server: fix the manifest: Deployment.apps \"web\" is invalid:",
			"spec.replicas: Invalid value: -1",
			"\napplied: configmap/cfg\nnot applied: deployment.apps/web",
		},
		applied: true,
	}, {
		name:    "unknown field",
		yaml:    cfg + "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  ports:\n  - port: 80\n    targetPrt: 8080\n",
		want:    []string{"service/web in k8s/app.yaml:6 was rejected by the API server: fix the manifest:", `.spec.ports[port=80,protocol="TCP"].targetPrt: field not declared in schema`, "\napplied: configmap/cfg\nnot applied: service/web"},
		applied: true,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			d, _ := c.deployer(t, uniqueName(t, "p"), ns)
			_, err := d.Apply(t.Context(), manifests(t, "k8s/app.yaml", tc.yaml))
			wantError(t, err, tc.want...)
			_, getErr := c.cs.CoreV1().ConfigMaps(ns).Get(t.Context(), "cfg", metav1.GetOptions{})
			if tc.applied != (getErr == nil) {
				t.Errorf("configmap cfg applied: %t, want %t", getErr == nil, tc.applied)
			}
			if getErr == nil {
				if err := d.Delete(t.Context()); err != nil {
					t.Fatal(err)
				}
			}
		})
	}

	t.Run("forbidden", func(t *testing.T) {
		user := "skiff-e2e-" + ns
		ctx := t.Context()
		_, err := c.cs.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{
			ObjectMeta: metav1.ObjectMeta{Name: "configmaps-only"},
			Rules: []rbacv1.PolicyRule{
				{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get", "list", "create", "patch", "update", "delete"}},
				{APIGroups: []string{"apps"}, Resources: []string{"deployments"}, Verbs: []string{"get", "list"}},
			},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.cs.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "configmaps-only"},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "configmaps-only"},
			Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: user}},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		limited := *c.kc
		limited.REST = rest.CopyConfig(c.kc.REST)
		limited.REST.Impersonate = rest.ImpersonationConfig{UserName: user}
		// The API server's authorizer learns of the binding through a watch:
		// wait until it lets the user read ConfigMaps, so that what is
		// forbidden below is the Deployment, as the test means.
		limitedCS, err := kubernetes.NewForConfig(limited.REST)
		if err != nil {
			t.Fatal(err)
		}
		testutil.WaitFor(t, 30*time.Second, "the role binding to take effect", func(ctx context.Context) (bool, string) {
			r, err := limitedCS.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, &authorizationv1.SelfSubjectAccessReview{
				Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: ns, Verb: "get", Resource: "configmaps"}},
			}, metav1.CreateOptions{})
			if err != nil {
				return false, err.Error()
			}
			return r.Status.Allowed, "not allowed to get configmaps yet"
		})
		d, err := New(&limited, Options{Project: uniqueName(t, "p"), Namespace: ns})
		if err != nil {
			t.Fatal(err)
		}
		_, err = d.Apply(ctx, manifests(t, "k8s/app.yaml", cfg+"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec: {containers: [{name: c, image: registry.k8s.io/pause:3.10}]}\n"))
		wantError(t, err,
			fmt.Sprintf("deployment.apps/web in k8s/app.yaml:6: the user of kube context %q may not apply it: ask for the RBAC permission or use another kube context:", c.kc.Context),
			`cannot patch resource "deployments"`,
			"\napplied: configmap/cfg\nnot applied: deployment.apps/web")
		var ae *ApplyError
		if !errors.As(err, &ae) {
			t.Errorf("error is not an *ApplyError: %T", err)
		}
		if err := d.Delete(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

// wantOutput compares progress output, with name written NS or GROUP in
// want.
func wantOutput(t *testing.T, got, want, name string) {
	t.Helper()
	want = strings.NewReplacer("NS", name, "GROUP", name).Replace(want)
	if got != want {
		t.Errorf("printed\n%s\nwant\n%s", got, want)
	}
}

func TestE2EServerWarningsArePrinted(t *testing.T) {
	c := newE2ECluster(t)
	ns := uniqueName(t, "skiff-deploy-")
	c.createNamespace(t, ns)
	d, out := c.deployer(t, ns, ns)
	const deployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 0
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      nodeSelector: {beta.kubernetes.io/arch: amd64}
      containers: [{name: c, image: 127.0.0.1:5001/none:1}]
`
	if _, err := d.Apply(t.Context(), manifests(t, "k8s/web.yaml", deployment)); err != nil {
		t.Fatal(err)
	}
	want := "Warning: spec.template.spec.nodeSelector[beta.kubernetes.io/arch]: deprecated since v1.14; use \"kubernetes.io/arch\" instead\n"
	if got := out.Take(); !strings.Contains(got, want) || !strings.Contains(got, " - deployment.apps/web created\n") {
		t.Errorf("printed\n%s\nwant the server's warning\n%s", got, want)
	}
}

func TestE2ENamespaceBeingDeleted(t *testing.T) {
	c := newE2ECluster(t)
	ns := uniqueName(t, "skiff-deploy-")
	c.createNamespace(t, ns)
	// A finalizer nobody removes keeps the namespace terminating.
	ctx := t.Context()
	held := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "held", Finalizers: []string{"skiff.test/hold"}}}
	if _, err := c.cs.CoreV1().ConfigMaps(ns).Create(ctx, held, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		patch := []byte(`{"metadata":{"finalizers":null}}`)
		if _, err := c.cs.CoreV1().ConfigMaps(ns).Patch(ctx, "held", types.MergePatchType, patch, metav1.PatchOptions{}); err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("releasing configmap %s/held: %v", ns, err)
		}
	})
	if err := c.cs.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, yaml := range []string{
		"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\n",
		"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: " + ns + "\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\n",
	} {
		d, _ := c.deployer(t, uniqueName(t, "p"), ns)
		_, err := d.Apply(ctx, manifests(t, "k8s/app.yaml", yaml))
		wantError(t, err, "namespace "+ns+" is being deleted: wait until it is gone (skiff delete waits), then deploy again", "nothing was applied")
	}
}
