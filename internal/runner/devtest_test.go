package runner

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"skiff.dev/skiff/internal/artifact"
	"skiff.dev/skiff/internal/build/builders"
	"skiff.dev/skiff/internal/config"
	"skiff.dev/skiff/internal/config/schema"
	"skiff.dev/skiff/internal/event"
	"skiff.dev/skiff/internal/watch"
)

// testDev is a dev of a project in dir with the artifacts web, api and
// cst and the test cases given, its tests on (their dependencies read as
// Dev reads them), building with build and deploying nothing (it has no manifests) to no cluster.
func testDev(t *testing.T, dir string, tests []*schema.TestCase, build func(context.Context, []string) ([]artifact.Image, error)) (*dev, *bytes.Buffer, *event.Bus) {
	t.Helper()
	c := testConfig(dir,
		dockerArtifact("web", filepath.Join(dir, "web"), ""),
		dockerArtifact("api", filepath.Join(dir, "api"), ""),
		dockerArtifact("cst", filepath.Join(dir, "cst"), ""),
	)
	c.Test = tests
	p := &config.Project{Configs: []*config.Config{c}}
	var errOut bytes.Buffer
	bus := event.NewBus(1000)
	r := New(Options{Project: p, ErrOut: &errOut, Events: bus, KubeContext: "skiff-unit-test-no-such-context", Environ: []string{"PATH=" + os.Getenv("PATH")}})
	in, err := newInputs(p, builders.All, r.buildEnv())
	if err != nil {
		t.Fatal(err)
	}
	if err := in.addTests(t.Context(), p, r.opts.Environ); err != nil {
		t.Fatal(err)
	}
	d := &dev{r: r, in: in, build: build, stale: map[string]bool{}, built: map[string]artifact.Image{},
		retest: map[string]bool{}, images: map[string]artifact.Image{}, ctl: NewControl(Auto{Build: true, Sync: true, Deploy: true})}
	d.opts.Build.Test = true
	return d, &errOut, bus
}

// The tests' dependencies are inputs of dev: dependencies.paths less
// ignore and what dependencies.command lists, relative to the test's
// context, and the structure tests' files; a change to one tests its
// image again (with -w, of a watched image only), and the watcher looks
// at them.
func TestRetestsOnTestDependencies(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"web/Dockerfile": "FROM scratch\n", "api/Dockerfile": "FROM scratch\n", "cst/Dockerfile": "FROM scratch\n",
		"webtests/a_test.sh": "", "webtests/data/in.txt": "", "webtests/skip.tmp": "",
		"apitests/list.json": "", "shared/fixtures/one.json": "",
		"cst/structure.yaml": "",
	})
	tests := []*schema.TestCase{
		{ImageName: "web", Workspace: "webtests", CustomTests: []schema.CustomTest{{Command: "true", Dependencies: &schema.CustomTestDependencies{Paths: []string{"**/*.sh", "data"}, Ignore: []string{"*.tmp"}}}}},
		{ImageName: "api", Workspace: "apitests", CustomTests: []schema.CustomTest{{Command: "true", Dependencies: &schema.CustomTestDependencies{Command: `echo '["list.json", "../shared/fixtures/"]'`}}}},
		{ImageName: "cst", StructureTests: []string{"cst/*.yaml"}},
	}
	at := func(rel string) string { return filepath.Join(dir, filepath.FromSlash(rel)) }
	for _, tc := range []struct {
		changed, removed []string
		watch            []string
		want             []string
	}{
		{changed: []string{"webtests/a_test.sh"}, want: []string{"web"}},
		{changed: []string{"webtests/sub/b_test.sh"}, want: []string{"web"}},
		{changed: []string{"webtests/data/in.txt"}, want: []string{"web"}},
		{changed: []string{"webtests/skip.tmp", "webtests/notes.md"}},
		{changed: []string{"apitests/list.json"}, want: []string{"api"}},
		{changed: []string{"shared/fixtures/two.json"}, want: []string{"api"}},
		{changed: []string{"apitests/other.json", "shared/README"}},
		{removed: []string{"cst/structure.yaml"}, want: []string{"cst"}},
		{changed: []string{"cst/structure.yaml", "webtests/a_test.sh"}, watch: []string{"cs"}, want: []string{"cst"}},
		{changed: []string{"web/main.go"}},
	} {
		d, _, _ := testDev(t, dir, tests, nil)
		d.opts.Watch = tc.watch
		var b watch.Batch
		for _, p := range tc.changed {
			b.Changed = append(b.Changed, at(p))
		}
		for _, p := range tc.removed {
			b.Removed = append(b.Removed, at(p))
		}
		if got := d.retests(b); !slices.Equal(got, tc.want) {
			t.Errorf("changed %q, removed %q (-w %q): retests %q, want %q", tc.changed, tc.removed, tc.watch, got, tc.want)
		}
	}

	d, _, _ := testDev(t, dir, tests, nil)
	for _, p := range []string{"webtests/a_test.sh", "webtests/data/in.txt", "shared/fixtures/one.json", "apitests/list.json"} {
		if d.in.ignored(at(p), false) {
			t.Errorf("the watcher ignores %s, a test's dependency", p)
		}
	}
	for _, p := range []string{"shared", "shared/fixtures", "webtests/sub"} {
		if d.in.ignored(at(p), true) {
			t.Errorf("the watcher ignores the directory %s, which holds tests' dependencies", p)
		}
	}
	if !d.in.ignored(at("webtests/skip.tmp"), false) || !d.in.ignored(at("shared/README"), false) {
		t.Errorf("the watcher looks at files that are no test's dependencies")
	}
	for _, root := range []string{"webtests", "apitests", "shared/fixtures"} {
		if !slices.ContainsFunc(d.in.roots, func(r string) bool { return within(at(root), r) }) {
			t.Errorf("watch roots %q leave out %s", d.in.roots, root)
		}
	}
}

// A dependencies command that fails, or prints no JSON list, fails dev's
// start, naming the test and saying what to print.
func TestTestDependenciesCommandErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for command, want := range map[string]string{
		"echo oops >&2; exit 3": "test[image=web].custom[0].dependencies.command (echo oops >&2; exit 3) failed in " + dir + ": exit status 3: oops",
		"echo not json":         "must print a JSON list of paths",
	} {
		c := testConfig(dir)
		c.Test = []*schema.TestCase{{ImageName: "web", CustomTests: []schema.CustomTest{{Command: "true", Dependencies: &schema.CustomTestDependencies{Command: command}}}}}
		_, err := newTestInputs(t.Context(), &config.Project{Configs: []*config.Config{c}}, []string{"PATH=" + os.Getenv("PATH")})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("command %q: %v, want %q", command, err, want)
		}
	}
}

// In dev, a change to a test's dependency runs the test again without a
// build; a rebuilt image is tested before it is deployed; a failing test
// is reported, as a failed Test task too, and holds the deploy back
// until the tests pass, without ending dev. --skip-tests runs none.
func TestDevRunsTestsAgain(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"web/Dockerfile": "FROM scratch\n", "api/Dockerfile": "FROM scratch\n", "cst/Dockerfile": "FROM scratch\n", "tests/check.sh": "exit 0\n"})
	runs := filepath.Join(dir, "runs")
	tests := []*schema.TestCase{{ImageName: "web", Workspace: "tests", CustomTests: []schema.CustomTest{{
		Command:      `echo "$IMAGE" >> ` + runs + `; sh check.sh`,
		Dependencies: &schema.CustomTestDependencies{Paths: []string{"*.sh"}},
	}}}}
	version := 1
	var built [][]string
	build := func(_ context.Context, names []string) ([]artifact.Image, error) {
		built = append(built, names)
		version++
		var out []artifact.Image
		for _, n := range names {
			out = append(out, artifact.Image{Name: n, Ref: n + ":" + string(rune('0'+version))})
		}
		return out, nil
	}
	d, errOut, bus := testDev(t, dir, tests, build)
	sub := bus.Subscribe(1000)
	ctx := t.Context()
	testRuns := func() []string {
		b, err := os.ReadFile(runs)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		return strings.Fields(string(b))
	}
	d.built["web"] = artifact.Image{Name: "web", Ref: "web:1"}
	d.images["web"] = d.built["web"]
	check := filepath.Join(dir, "tests", "check.sh")

	// A test dependency changes: the test runs on the image as built,
	// nothing is built or deployed.
	d.iterate(ctx, watch.Batch{Changed: []string{check}})
	if got := testRuns(); !slices.Equal(got, []string{"web:1"}) || len(built) != 0 {
		t.Fatalf("after a test dependency changed: test runs %q, builds %v; want one run on web:1 and no build\n%s", got, built, errOut)
	}
	if !strings.Contains(errOut.String(), "Tests of web passed") {
		t.Errorf("the passing tests are not reported:\n%s", errOut)
	}

	// The test now fails: reported, dev goes on, the test waits to run
	// again.
	writeFiles(t, dir, map[string]string{"tests/check.sh": "echo broken; exit 4\n"})
	d.iterate(ctx, watch.Batch{Changed: []string{check}})
	if !strings.Contains(errOut.String(), "Tests of web failed: ") || !strings.Contains(errOut.String(), "the command exited with 4") || !d.retest["web"] {
		t.Errorf("a failing test is not reported, or not kept to run again:\n%s", errOut)
	}

	// A source change rebuilds web: the new image is tested, fails, and
	// is not deployed.
	errOut.Reset()
	d.iterate(ctx, watch.Batch{Changed: []string{filepath.Join(dir, "web", "main.go")}})
	if got := testRuns(); len(built) != 1 || len(got) != 3 || got[2] != "web:2" {
		t.Fatalf("after a rebuild: builds %v, test runs %q; want one build and a run on web:2\n%s", built, got, errOut)
	}
	if !strings.Contains(errOut.String(), "Rebuilt web in ") || !strings.Contains(errOut.String(), "the tests failed") ||
		!strings.Contains(errOut.String(), "Not deploying until they pass") || strings.Contains(errOut.String(), "Tags used in deployment") || !d.undeployed {
		t.Errorf("a rebuilt image whose tests fail should not be deployed:\n%s", errOut)
	}

	// The test is fixed: it runs again, passes, and the deploy held
	// back goes ahead.
	errOut.Reset()
	writeFiles(t, dir, map[string]string{"tests/check.sh": "exit 0\n"})
	d.iterate(ctx, watch.Batch{Changed: []string{check}})
	if got := testRuns(); len(got) != 4 || got[3] != "web:2" || len(built) != 1 {
		t.Fatalf("after the fix: test runs %q, builds %v; want a run on web:2 and no new build\n%s", got, built, errOut)
	}
	if !strings.Contains(errOut.String(), "web -> web:2") || !strings.Contains(errOut.String(), "Redeployed in ") || len(d.retest) != 0 || d.undeployed {
		t.Errorf("passing tests should release the deploy, retest %v:\n%s", d.retest, errOut)
	}

	// The Test tasks are events, the failed ones with their error.
	bus.Close()
	var tasks []string
	for e := range sub.C {
		if te := e.TaskEvent; te != nil && te.Task == event.TaskTest {
			line := te.Status
			if te.ActionableErr != nil && strings.Contains(te.ActionableErr.Message, "exited with 4") {
				line += " (exited with 4)"
			}
			tasks = append(tasks, line)
		}
	}
	want := []string{"InProgress", "Succeeded", "InProgress", "Failed (exited with 4)", "InProgress", "Failed (exited with 4)", "InProgress", "Succeeded"}
	if !slices.Equal(tasks, want) {
		t.Errorf("Test task events %q, want %q", tasks, want)
	}

	// --skip-tests: no test runs, on a dependency change or a rebuild.
	d, errOut, _ = testDev(t, dir, tests, build)
	d.opts.Build.Test = false
	d.in.tests = nil // Dev reads no test dependencies with --skip-tests
	d.built["web"] = artifact.Image{Name: "web", Ref: "web:1"}
	before := len(testRuns())
	d.iterate(ctx, watch.Batch{Changed: []string{check}})
	d.iterate(ctx, watch.Batch{Changed: []string{filepath.Join(dir, "web", "main.go")}})
	if got := testRuns(); len(got) != before {
		t.Errorf("with --skip-tests, tests ran: %q\n%s", got[before:], errOut)
	}
}
