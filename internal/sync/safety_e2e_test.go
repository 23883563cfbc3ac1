//go:build e2e

package sync_test

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"

	"skiff.dev/skiff/internal/config/schema"
	"skiff.dev/skiff/internal/image"
	"skiff.dev/skiff/internal/kube"
	"skiff.dev/skiff/internal/kube/kubetest"
	"skiff.dev/skiff/internal/sync"
	"skiff.dev/skiff/internal/sync/deliver"
	"skiff.dev/skiff/internal/testutil"
)

// TestTarDeleteDirectoryAtRootE2E is issue 11's `rm -rf /` case: with the
// rule {src: "data/**", dest: "/", strip: "data"}, removing the directory
// data (which data/** matches, and which maps to "/") once planned
// "delete /", and the tar transport wiped the container's root file
// system. It syncs files through the rule into a busybox container (with a
// relative link, which arrives as a link, a setuid file, which arrives
// without the bit, and a FIFO, which Screen and the transport skip),
// removes data locally, plans and applies the removal with TarTransport,
// and checks that the container still runs and that only the synced files
// are gone.
func TestTarDeleteDirectoryAtRootE2E(t *testing.T) {
	kc, cs := clusterE2E(t)
	img := pushBusybox(t, cs)
	ns := testutil.Namespace(t, cs, "skiff-e2e-sync-")
	pods := createDeployment(t, cs, ns, img)
	ex, err := sync.NewKubeExecutor(kc)
	if err != nil {
		t.Fatal(err)
	}
	target := sync.Target{Namespace: ns, Pod: pods[0], Container: "web"}

	project := t.TempDir()
	for rel, content := range map[string]string{"data/synced.txt": "synced\n", "data/sub/deep.txt": "deep\n"} {
		p := filepath.Join(project, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// A relative link inside the tree syncs as a link, a setuid file
	// without its setuid bit, and a FIFO not at all (opening it would
	// block the sync).
	if err := os.Symlink("synced.txt", filepath.Join(project, "data/link.txt")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(project, "data/suid.sh"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Chmod(filepath.Join(project, "data/suid.sh"), 0o4755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(project, "data/pipe"), 0o644); err != nil {
		t.Fatal(err)
	}
	rules, err := sync.NewRules(&schema.Artifact{ImageName: "web", Workspace: project, Sync: &schema.Sync{
		Manual: []*schema.SyncRule{{Src: "data/**", Dest: "/", Strip: "data"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	at := func(rels ...string) []string {
		var out []string
		for _, rel := range rels {
			out = append(out, filepath.Join(project, rel))
		}
		return out
	}
	tr := &sync.TarTransport{Exec: ex}
	apply := func(changed, removed []string) []sync.Skipped {
		t.Helper()
		ops, covered := rules.Plan(changed, removed)
		if !covered {
			t.Fatalf("Plan(%q, %q) is not covered", changed, removed)
		}
		keep, skipped := sync.Screen(ops)
		t.Logf("ops: %v", keep)
		// The transport gets every op: it must skip the FIFO itself.
		if err := tr.Sync(t.Context(), target, ops); err != nil {
			t.Fatal(err)
		}
		return skipped
	}
	files := []string{"data/synced.txt", "data/sub", "data/sub/deep.txt", "data/link.txt", "data/suid.sh", "data/pipe"}
	skipped := apply(at(append([]string{"data"}, files...)...), nil)
	if len(skipped) != 1 || skipped[0].Local != filepath.Join(project, "data/pipe") || !strings.Contains(skipped[0].Reason, "FIFO") {
		t.Errorf("Screen skipped %v, want the FIFO data/pipe", skipped)
	}
	if got := execOut(t, ex, target, "cat", "/synced.txt", "/sub/deep.txt", "/link.txt"); got != "synced\ndeep\nsynced\n" {
		t.Fatalf("after the first sync: %q", got)
	}
	if got := execOut(t, ex, target, "stat", "-c", "%a %F", "/suid.sh", "/link.txt"); got != "755 regular file\n777 symbolic link\n" {
		t.Errorf("stat = %q, want a 755 file (no setuid) and a symbolic link", got)
	}
	if got := execOut(t, ex, target, "ls", "/"); strings.Contains(got, "pipe") {
		t.Errorf("ls / = %q: the FIFO was synced", got)
	}

	if err := os.RemoveAll(filepath.Join(project, "data")); err != nil {
		t.Fatal(err)
	}
	apply(nil, at(append([]string{"data"}, files...)...))

	// The container still runs commands, its own files are there, and the
	// synced ones are gone.
	got := execOut(t, ex, target, "ls", "/")
	for _, want := range []string{"app", "bin", "tmp"} {
		if !strings.Contains("\n"+got, "\n"+want+"\n") {
			t.Errorf("ls / = %q: %s is gone", got, want)
		}
	}
	for _, gone := range []string{"synced.txt", "sub", "link.txt", "suid.sh"} {
		if strings.Contains("\n"+got, "\n"+gone+"\n") {
			t.Errorf("ls / = %q: the synced %s is still there", got, gone)
		}
	}
	if got := execOut(t, ex, target, "cat", "/app/index.html"); got != "v1\n" {
		t.Errorf("/app/index.html = %q, want the image's v1", got)
	}
	f := kube.NewForwarder(kc, kubetest.API(cs), io.Discard, nil)
	t.Cleanup(f.Stop)
	addr, err := f.Add(t.Context(), kube.Forward{Type: "pod", Name: pods[0], Namespace: ns, Port: intstr.FromInt32(8080), LocalPort: testutil.FreePort(t)})
	if err != nil {
		t.Fatal(err)
	}
	if got := httpGet(t, "http://"+addr+"/index.html"); got != "200 v1\n" {
		t.Errorf("GET /index.html = %q: the app no longer serves", got)
	}
}

// TestAgentRestrictedE2E runs a restricted-compliant FROM scratch app
// (non-root uid 1000, seccomp RuntimeDefault, no capabilities) with the
// agent injected in a namespace that enforces the restricted Pod Security
// Standard: the pods must be admitted, the init container must install
// the agent, and a sync through AgentTransport must work.
func TestAgentRestrictedE2E(t *testing.T) {
	kc, cs := clusterE2E(t)
	registry := registryE2E()
	reg := image.NewRegistry(nil)
	agentImg, err := deliver.Image(goBuildStatic(t, "skiff.dev/skiff/cmd/skiff-agent", ""))
	if err != nil {
		t.Fatal(err)
	}
	agentRef, _, err := deliver.Push(t.Context(), reg, registry+"/skiff-agent", agentImg)
	if err != nil {
		t.Fatal(err)
	}
	const uid = 1000
	appRef := pushScratchApp(t, reg, registry, uid)

	ns := testutil.Namespace(t, cs, "skiff-e2e-restricted-")
	patch := []byte(`{"metadata":{"labels":{"pod-security.kubernetes.io/enforce":"restricted","pod-security.kubernetes.io/enforce-version":"latest"}}}`)
	if _, err := cs.CoreV1().Namespaces().Patch(t.Context(), ns, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatalf("labelling namespace %s restricted: %v", ns, err)
	}
	// The namespace enforces restricted: a pod that is not is refused.
	bad := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "not-restricted", Namespace: ns},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: appRef}}}}
	if _, err := cs.CoreV1().Pods(ns).Create(t.Context(), bad, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}); err == nil || !strings.Contains(err.Error(), "restricted") {
		t.Fatalf("a pod without security context in %s: %v; want it refused by the restricted policy", ns, err)
	}

	nonRoot, id, no := true, int64(uid), false
	// The app sets its security context on its container, not the pod, so
	// the injected init container must bring its own.
	pods := createAgentDeployment(t, cs, ns, appRef, agentRef, func(spec *corev1.PodSpec) {
		for i := range spec.Containers {
			spec.Containers[i].SecurityContext = &corev1.SecurityContext{
				RunAsNonRoot: &nonRoot, RunAsUser: &id, RunAsGroup: &id,
				SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
				AllowPrivilegeEscalation: &no,
				Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
			}
		}
	})

	ex, err := sync.NewKubeExecutor(kc)
	if err != nil {
		t.Fatal(err)
	}
	local := t.TempDir()
	if err := os.WriteFile(filepath.Join(local, "hello.txt"), []byte("v2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("hello.txt", filepath.Join(local, "link.txt")); err != nil {
		t.Fatal(err)
	}
	ops := []sync.Op{
		{Kind: sync.Delete, Local: filepath.Join(local, "old.txt"), Base: local, Dest: "/app/old.txt", Root: "/app"},
		{Kind: sync.Write, Local: filepath.Join(local, "hello.txt"), Base: local, Dest: "/app/hello.txt", Root: "/app"},
		{Kind: sync.Write, Local: filepath.Join(local, "link.txt"), Base: local, Dest: "/app/link.txt", Root: "/app"},
	}
	tr := &sync.AgentTransport{Exec: ex}
	fw := kube.NewForwarder(kc, kubetest.API(cs), io.Discard, nil)
	t.Cleanup(fw.Stop)
	for _, pod := range pods {
		if err := tr.Sync(t.Context(), sync.Target{Namespace: ns, Pod: pod, Container: "app"}, ops); err != nil {
			t.Fatalf("sync to %s: %v", pod, err)
		}
		addr, err := fw.Add(t.Context(), kube.Forward{Type: "pod", Name: pod, Namespace: ns, Port: intstr.FromInt32(8080), LocalPort: testutil.FreePort(t)})
		if err != nil {
			t.Fatal(err)
		}
		checkServed(t, addr, map[string]string{"/hello.txt": "v2\n", "/link.txt": "v2\n", "/keep.txt": "keep\n", "/old.txt": ""})
	}
}
