package hooks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"skiff.dev/skiff/internal/config/schema"
)

func sh(script string) []string { return []string{"sh", "-c", script} }

func newRunner(out io.Writer) *Runner {
	return &Runner{Environ: []string{"PATH=" + os.Getenv("PATH"), "FROM_PROCESS=yes", "SKAFFOLD_IMAGE=from-process"}, DefaultRepo: "reg.local:5000", WorkDir: "/work/proj", Out: out}
}

// envOf reads KEY=value lines a hook wrote.
func envOf(t *testing.T, file string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for l := range strings.SplitSeq(strings.TrimSpace(string(b)), "\n") {
		k, v, _ := strings.Cut(l, "=")
		m[k] = v
	}
	return m
}

func TestBuildHookEnvironment(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "env")
	var out bytes.Buffer
	r := newRunner(&out)
	env := BuildEnv{Image: "reg.local:5000/app:v1", PushImage: true, ImageRepo: "reg.local:5000/app", ImageTag: "v1", BuildContext: "/work/proj/app"}
	err := r.Build(context.Background(), PreBuild, []schema.HostHook{{Command: sh("env > " + file + "; pwd >> " + file), Dir: dir}}, env, "app")
	if err != nil {
		t.Fatal(err)
	}
	got := envOf(t, file)
	want := map[string]string{
		"SKAFFOLD_IMAGE":         "reg.local:5000/app:v1", // skiff's value wins over the process's
		"SKAFFOLD_PUSH_IMAGE":    "true",
		"SKAFFOLD_IMAGE_REPO":    "reg.local:5000/app",
		"SKAFFOLD_IMAGE_TAG":     "v1",
		"SKAFFOLD_BUILD_CONTEXT": "/work/proj/app",
		"SKAFFOLD_DEFAULT_REPO":  "reg.local:5000",
		"SKAFFOLD_WORK_DIR":      "/work/proj",
		"FROM_PROCESS":           "yes",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if b, _ := os.ReadFile(file); !strings.Contains(string(b), "\n"+dir+"\n") {
		t.Errorf("the hook did not run in its dir %s:\n%s", dir, b)
	}
	for _, line := range []string{"Starting pre-build hooks for app...", "Completed pre-build hooks for app"} {
		if !strings.Contains(out.String(), line) {
			t.Errorf("output lacks %q:\n%s", line, out.String())
		}
	}
}

func TestPipelineBuildHookHasNoImageVariables(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "env")
	r := newRunner(io.Discard)
	r.Environ = []string{"PATH=" + os.Getenv("PATH")}
	if err := r.Build(context.Background(), PostBuild, []schema.HostHook{{Command: sh("env > " + file)}}, BuildEnv{}, ""); err != nil {
		t.Fatal(err)
	}
	got := envOf(t, file)
	if _, ok := got["SKAFFOLD_IMAGE"]; ok {
		t.Errorf("build.hooks got SKAFFOLD_IMAGE=%s; the phase's hooks are about no image", got["SKAFFOLD_IMAGE"])
	}
	if got["SKAFFOLD_WORK_DIR"] != "/work/proj" {
		t.Errorf("SKAFFOLD_WORK_DIR = %q", got["SKAFFOLD_WORK_DIR"])
	}
}

func TestHooksRunInOrderWithPrefixedOutput(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	r := newRunner(&out)
	hs := []schema.HostHook{{Command: sh("echo one")}, {Command: sh("echo two >&2; printf three")}}
	if err := r.Build(context.Background(), PostBuild, hs, BuildEnv{Image: "a:1"}, "app"); err != nil {
		t.Fatal(err)
	}
	want := "Starting post-build hooks for app...\n[post-build app] one\n[post-build app] two\n[post-build app] three\nCompleted post-build hooks for app\n"
	if out.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", out.String(), want)
	}
}

func TestFailingHookStopsThePhaseWithItsOutput(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var out bytes.Buffer
	r := newRunner(&out)
	hs := []schema.HostHook{
		{Command: sh("echo checking; echo 'version mismatch' >&2; exit 3")},
		{Command: sh("touch " + filepath.Join(dir, "ran"))},
	}
	err := r.Build(context.Background(), PreBuild, hs, BuildEnv{Image: "a:1"}, "app")
	if err == nil {
		t.Fatal("no error")
	}
	for _, s := range []string{"pre-build hook 1", "exit status 3", "checking", "version mismatch"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error lacks %q: %v", s, err)
		}
	}
	if _, serr := os.Stat(filepath.Join(dir, "ran")); serr == nil {
		t.Error("the hook after the failing one ran")
	}
	if strings.Contains(out.String(), "Completed") {
		t.Errorf("a failed phase says it completed:\n%s", out.String())
	}
}

func TestMissingProgramSaysSo(t *testing.T) {
	t.Parallel()
	r := newRunner(io.Discard)
	err := r.Build(context.Background(), PreBuild, []schema.HostHook{{Command: []string{"no-such-hook-program"}}}, BuildEnv{}, "")
	if err == nil || !strings.Contains(err.Error(), "could not start") {
		t.Fatalf("error = %v, want one saying the hook could not start", err)
	}
	err = r.Build(context.Background(), PreBuild, []schema.HostHook{{}}, BuildEnv{}, "")
	if err == nil || !strings.Contains(err.Error(), "no command") {
		t.Fatalf("error = %v, want one saying the hook has no command", err)
	}
}

func TestOSFilter(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	r := newRunner(io.Discard)
	r.GOOS = "linux"
	hs := []schema.HostHook{
		{Command: sh("touch " + filepath.Join(dir, "windows")), OS: []string{"windows"}},
		{Command: sh("touch " + filepath.Join(dir, "unix")), OS: []string{"darwin", "linux"}},
		{Command: sh("touch " + filepath.Join(dir, "all"))},
	}
	if err := r.Build(context.Background(), PreBuild, hs, BuildEnv{}, ""); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	var ran []string
	for _, e := range entries {
		ran = append(ran, e.Name())
	}
	if !slices.Equal(ran, []string{"all", "unix"}) {
		t.Errorf("ran %v, want [all unix]", ran)
	}
}

// fakeContainers records the commands run in its containers.
type fakeContainers struct {
	running []Container
	ran     []string
	fail    string // container name whose commands fail
}

func (f *fakeContainers) Running(context.Context) ([]Container, error) { return f.running, nil }

func (f *fakeContainers) Exec(_ context.Context, c Container, cmd []string, out io.Writer) error {
	f.ran = append(f.ran, c.label()+": "+strings.Join(cmd, " "))
	fmt.Fprintln(out, "hello from", c.Name)
	if c.Name == f.fail {
		fmt.Fprintln(out, "no such file")
		return errors.New("command exited with code 2")
	}
	return nil
}

func TestSyncHooks(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "env")
	var out bytes.Buffer
	r := newRunner(&out)
	cs := &fakeContainers{running: []Container{
		{Pod: "web-1", Name: "app", Image: "reg/app:v1", Key: "1/app"},
		{Pod: "web-1", Name: "sidecar", Image: "reg/side:v1", Key: "1/sidecar"},
		{Pod: "web-2", Name: "app", Image: "reg/app:v1", Key: "2/app"},
	}}
	env := SyncEnv{Image: "reg/app:v1", BuildContext: "/p/app", FilesAddedOrModified: []string{"/p/app/a.js", "/p/app/b.js"}, FilesDeleted: []string{"/p/app/c.js"}, KubeContext: "local", Namespaces: []string{"default", "web"}}
	hs := []schema.SyncHookItem{
		{HostHook: &schema.HostHook{Command: sh("env > " + file)}},
		{ContainerHook: &schema.ContainerHook{Command: []string{"kill", "-HUP", "1"}}},
	}
	if err := r.Sync(context.Background(), PostSync, hs, env, cs, "app"); err != nil {
		t.Fatal(err)
	}
	got := envOf(t, file)
	for k, v := range map[string]string{
		"SKAFFOLD_IMAGE":                   "reg/app:v1",
		"SKAFFOLD_BUILD_CONTEXT":           "/p/app",
		"SKAFFOLD_FILES_ADDED_OR_MODIFIED": "/p/app/a.js;/p/app/b.js",
		"SKAFFOLD_FILES_DELETED":           "/p/app/c.js",
		"SKAFFOLD_KUBE_CONTEXT":            "local",
		"SKAFFOLD_NAMESPACES":              "default,web",
	} {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if want := []string{"web-1/app: kill -HUP 1", "web-2/app: kill -HUP 1"}; !slices.Equal(cs.ran, want) {
		t.Errorf("ran %q, want %q (the containers of the synced image only)", cs.ran, want)
	}
	if !strings.Contains(out.String(), "[post-sync app web-2/app] hello from app\n") {
		t.Errorf("container output not prefixed with its phase and container:\n%s", out.String())
	}
}

func TestContainerHookFailure(t *testing.T) {
	t.Parallel()
	r := newRunner(io.Discard)
	cs := &fakeContainers{running: []Container{{Pod: "web-1", Name: "app", Image: "reg/app:v1", Key: "1"}}, fail: "app"}
	err := r.Sync(context.Background(), PreSync, []schema.SyncHookItem{{ContainerHook: &schema.ContainerHook{Command: []string{"reload"}}}}, SyncEnv{Image: "reg/app:v1"}, cs, "app")
	if err == nil {
		t.Fatal("no error")
	}
	for _, s := range []string{"pre-sync container hook 1 (reload) failed in web-1/app", "code 2", "no such file"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error lacks %q: %v", s, err)
		}
	}
}

func TestDeployHooks(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "env")
	r := newRunner(io.Discard)
	cs := &fakeContainers{running: []Container{
		{Pod: "hooks-example-deployment-abc", Name: "hooks-example", Key: "1/hooks-example"},
		{Pod: "hooks-example-deployment-abc", Name: "istio-proxy", Key: "1/istio-proxy"},
		{Pod: "other", Name: "hooks-example", Key: "2/hooks-example"},
	}}
	hs := []schema.DeployHookItem{
		{HostHook: &schema.HostHook{Command: sh("env > " + file)}},
		{ContainerHook: &schema.NamedContainerHook{ContainerHook: schema.ContainerHook{Command: []string{"echo", "hi"}}, PodName: "hooks-example-deployment*", ContainerName: "hooks-*"}},
	}
	env := DeployEnv{RunID: "run-1", KubeContext: "local", Namespaces: []string{"default"}}
	if err := r.Deploy(context.Background(), PostDeploy, hs, env, cs); err != nil {
		t.Fatal(err)
	}
	got := envOf(t, file)
	for k, v := range map[string]string{"SKAFFOLD_RUN_ID": "run-1", "SKAFFOLD_KUBE_CONTEXT": "local", "SKAFFOLD_NAMESPACES": "default"} {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if want := []string{"hooks-example-deployment-abc/hooks-example: echo hi"}; !slices.Equal(cs.ran, want) {
		t.Errorf("ran %q, want %q", cs.ran, want)
	}
	// A later deploy (dev's next iteration) runs the hook only in
	// containers that did not run it yet, as Skaffold does.
	cs.running = append(cs.running, Container{Pod: "hooks-example-deployment-def", Name: "hooks-example", Key: "3/hooks-example"})
	cs.ran = nil
	if err := r.Deploy(context.Background(), PostDeploy, hs, env, cs); err != nil {
		t.Fatal(err)
	}
	if want := []string{"hooks-example-deployment-def/hooks-example: echo hi"}; !slices.Equal(cs.ran, want) {
		t.Errorf("second deploy ran %q, want %q", cs.ran, want)
	}
}

func TestDeployHookBadGlob(t *testing.T) {
	t.Parallel()
	r := newRunner(io.Discard)
	cs := &fakeContainers{running: []Container{{Pod: "p", Name: "c", Key: "k"}}}
	hs := []schema.DeployHookItem{{ContainerHook: &schema.NamedContainerHook{ContainerHook: schema.ContainerHook{Command: []string{"true"}}, PodName: "web-[", ContainerName: ""}}}
	err := r.Deploy(context.Background(), PreDeploy, hs, DeployEnv{}, cs)
	if err == nil || !strings.Contains(err.Error(), `podName "web-["`) {
		t.Fatalf("error = %v, want one naming the bad podName glob", err)
	}
}

func TestRenderHooks(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "env")
	var out bytes.Buffer
	r := newRunner(&out)
	env := RenderEnv{KubeContext: "local", Namespaces: []string{"ns1"}}
	if err := r.PreRender(context.Background(), []schema.RenderHookItem{{HostHook: &schema.HostHook{Command: sh("env > " + file)}}}, env); err != nil {
		t.Fatal(err)
	}
	if got := envOf(t, file); got["SKAFFOLD_KUBE_CONTEXT"] != "local" || got["SKAFFOLD_NAMESPACES"] != "ns1" {
		t.Errorf("pre-render env: %v", got)
	}
	in := []byte("kind: ConfigMap\nmetadata:\n  name: a\n")
	hs := []schema.PostRenderHookItem{
		{HostHook: &schema.PostRenderHostHook{Command: sh("grep -c kind")}},                                 // reads, changes nothing
		{HostHook: &schema.PostRenderHostHook{Command: sh("sed s/name:\\ a/name:\\ b/"), WithChange: true}}, // rewrites
		{HostHook: &schema.PostRenderHostHook{Command: sh("echo skipped"), WithChange: true, OS: []string{"plan9"}}},
	}
	got, err := r.PostRender(context.Background(), hs, env, in)
	if err != nil {
		t.Fatal(err)
	}
	if want := "kind: ConfigMap\nmetadata:\n  name: b\n"; string(got) != want {
		t.Errorf("manifests after the hooks:\n%s\nwant:\n%s", got, want)
	}
	if !strings.Contains(out.String(), "[post-render] 1\n") {
		t.Errorf("a hook without withChange should see the manifests on stdin and print to the output:\n%s", out.String())
	}
	_, err = r.PostRender(context.Background(), []schema.PostRenderHookItem{{HostHook: &schema.PostRenderHostHook{Command: sh("true"), WithChange: true}}}, env, in)
	if err == nil || !strings.Contains(err.Error(), "printed nothing") {
		t.Fatalf("error = %v, want one saying withChange printed nothing", err)
	}
}
