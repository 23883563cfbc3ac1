package runner

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"time"

	"skiff.dev/skiff/internal/artifact"
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
// Check("test").
func (r *Runner) Test(ctx context.Context, imgs []artifact.Image) error {
	if err := r.Check("test"); err != nil {
		return err
	}
	refs := map[string]string{}
	for _, im := range imgs {
		refs[im.Name] = im.Ref
	}
	lines := output.NewLines(r.opts.ErrOut)
	for _, c := range r.opts.Project.Configs {
		for _, tc := range c.Test {
			ref, ok := refs[tc.ImageName]
			if !ok || len(tc.CustomTests)+len(tc.StructureTests) == 0 {
				continue
			}
			if len(tc.StructureTests) > 0 {
				w := lines.Prefixed("[test " + tc.ImageName + "] ")
				if err := r.structureTest(ctx, c, tc, artifact.Image{Name: tc.ImageName, Ref: ref}, w); err != nil {
					return err
				}
			}
			dir := tc.Workspace
			if dir == "" {
				dir = c.Dir
			} else if !filepath.IsAbs(dir) {
				dir = filepath.Join(c.Dir, dir)
			}
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
	}
	return nil
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
