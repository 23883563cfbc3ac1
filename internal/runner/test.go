package runner

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"skiff.dev/skiff/internal/artifact"
	"skiff.dev/skiff/internal/config"
	"skiff.dev/skiff/internal/config/schema"
	"skiff.dev/skiff/internal/event"
	"skiff.dev/skiff/internal/output"
	"skiff.dev/skiff/internal/proc"
)

// Test runs the tests of the images in imgs, as Skaffold's test stage
// does: for each test case, its structure tests (test[].structureTests,
// with container-structure-test, see structureTest), then its custom
// tests (test[].custom): each command runs with `sh -c` in the test
// case's context directory, with the environment and IMAGE (the image's
// reference) and TEST_CONTEXT (that directory). Output goes to ErrOut
// prefixed with the image's name. The first test that fails, or outlives
// its timeoutSeconds, fails the stage. Structure tests without
// container-structure-test on PATH are refused earlier, by
// Check("test"). The tests run as a Test task of the events.
func (r *Runner) Test(ctx context.Context, imgs []artifact.Image) (err error) {
	if err := r.Check("test"); err != nil {
		return err
	}
	refs := map[string]string{}
	for _, im := range imgs {
		refs[im.Name] = im.Ref
	}
	type testCase struct {
		c   *config.Config
		tc  *schema.TestCase
		ref string
	}
	var cases []testCase
	var names []string
	for _, c := range r.opts.Project.Configs {
		for _, tc := range c.Test {
			if ref, ok := refs[tc.ImageName]; ok && len(tc.CustomTests)+len(tc.StructureTests) > 0 {
				cases = append(cases, testCase{c, tc, ref})
				names = append(names, tc.ImageName)
			}
		}
	}
	if len(cases) == 0 {
		return nil
	}
	slices.Sort(names)
	r.opts.Events.TaskStarted(event.TaskTest, "Testing "+strings.Join(slices.Compact(names), ", "))
	defer func() { r.opts.Events.TaskEnded(event.TaskTest, err) }()
	lines := output.NewLines(r.opts.ErrOut)
	for _, k := range cases {
		c, tc, ref := k.c, k.tc, k.ref
		if len(tc.StructureTests) > 0 {
			w := lines.Prefixed("[test " + tc.ImageName + "] ")
			if err := r.structureTest(ctx, c, tc, artifact.Image{Name: tc.ImageName, Ref: ref}, w); err != nil {
				return err
			}
		}
		dir := testDir(c, tc)
		for i, ct := range tc.CustomTests {
			fmt.Fprintf(r.opts.ErrOut, "Testing %s: %s\n", ref, ct.Command)
			w := lines.Prefixed("[test " + tc.ImageName + "] ")
			err := runCustomTest(ctx, ct.Command, dir, ct.TimeoutSeconds, append(r.opts.Environ[:len(r.opts.Environ):len(r.opts.Environ)], "IMAGE="+ref, "TEST_CONTEXT="+dir), w)
			w.Flush()
			if err != nil {
				return fmt.Errorf("%s: test[image=%s].custom[%d] (%s): %w", c.Name(), tc.ImageName, i, ct.Command, err)
			}
		}
	}
	return nil
}

// testDir is the absolute directory of test case tc of config c: its
// context, the config's directory by default.
func testDir(c *config.Config, tc *schema.TestCase) string {
	switch {
	case tc.Workspace == "":
		return c.Dir
	case filepath.IsAbs(tc.Workspace):
		return tc.Workspace
	}
	return filepath.Join(c.Dir, tc.Workspace)
}

// runCustomTest runs command with sh -c in dir, stopping it after
// timeoutSeconds (0: no limit) with everything it started.
func runCustomTest(ctx context.Context, command, dir string, timeoutSeconds int, env []string, out *output.PrefixWriter) error {
	if timeoutSeconds > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(timeoutSeconds)*time.Second)
		defer cancel()
	}
	cmd := proc.Command(ctx, "sh", "-c", command)
	cmd.Dir = dir
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = out, out
	err := cmd.Run()
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("timed out after %ds (timeoutSeconds)", timeoutSeconds)
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return fmt.Errorf("the command exited with %d; its output is above", exit.ExitCode())
	}
	return err
}
