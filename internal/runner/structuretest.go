package runner

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"skiff.dev/skiff/internal/artifact"
	"skiff.dev/skiff/internal/config"
	"skiff.dev/skiff/internal/config/schema"
	"skiff.dev/skiff/internal/output"
	"skiff.dev/skiff/internal/proc"
)

// structureTestBin is the program Skaffold runs for test[].structureTests.
const structureTestBin = "container-structure-test"

// missingStructureTest lists, located, the structure tests of the project
// when container-structure-test is not on the PATH of Environ: Check
// reports them before anything is built.
func (r *Runner) missingStructureTest() config.Errors {
	if _, ok := lookPath(r.opts.Environ, structureTestBin); ok {
		return nil
	}
	var errs config.Errors
	for _, c := range r.opts.Project.Configs {
		for i, tc := range c.Test {
			if tc != nil && len(tc.StructureTests) > 0 {
				errs = append(errs, c.ErrorAt(structureTestBin+" is not on PATH; structure tests run it as Skaffold does: install it (https://github.com/GoogleContainerTools/container-structure-test) or skip the tests with --skip-tests", "test", i, "structureTests"))
			}
		}
	}
	return errs
}

// structureTest runs container-structure-test on im with the files tc's
// structureTests match, as Skaffold does: `test -v warn --image REF
// --config FILE... ARGS...`, in the config's directory, with Environ. A
// pushed image (a reference with a digest) is pulled into the local Docker
// daemon first, as container-structure-test reads images from there.
func (r *Runner) structureTest(ctx context.Context, c *config.Config, tc *schema.TestCase, im artifact.Image, w *output.PrefixWriter) error {
	where := fmt.Sprintf("%s: test[image=%s].structureTests", c.Name(), tc.ImageName)
	bin, ok := lookPath(r.opts.Environ, structureTestBin)
	if !ok {
		return fmt.Errorf("%s: %s is not on PATH; install it or skip the tests with --skip-tests", where, structureTestBin)
	}
	files, err := structureTestFiles(c.Dir, tc.StructureTests)
	if err != nil {
		return fmt.Errorf("%s: %w", where, err)
	}
	ref := im.Ref
	if strings.Contains(ref, "@sha256:") {
		d, closeDeployer, err := r.dockerDeployer(nil)
		if err != nil {
			return fmt.Errorf("%s: pulling %s into the Docker daemon for %s: %w", where, ref, structureTestBin, err)
		}
		defer closeDeployer()
		if ref, err = d.LocalImage(ctx, im); err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
	}
	args := []string{"test", "-v", "warn", "--image", ref}
	for _, f := range files {
		args = append(args, "--config", f)
	}
	args = append(args, tc.StructureTestArgs...)
	fmt.Fprintf(r.opts.ErrOut, "Running structure tests on %s: %s\n", ref, strings.Join(files, " "))
	cmd := proc.Command(ctx, bin, args...)
	cmd.Dir = c.Dir
	cmd.Env = r.opts.Environ
	cmd.Stdout, cmd.Stderr = w, w
	err = cmd.Run()
	w.Flush()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return fmt.Errorf("%s: %s exited with %d; its output is above", where, structureTestBin, exit.ExitCode())
	}
	if err != nil {
		return fmt.Errorf("%s: running %s: %w", where, bin, err)
	}
	return nil
}

// structureTestFiles expands patterns (files, directories or globs,
// relative to dir) into the files they name, in order and without
// repeats, the files under a directory included. A pattern that matches
// nothing is an error: container-structure-test needs a config.
func structureTestFiles(dir string, patterns []string) ([]string, error) {
	var files []string
	for _, p := range patterns {
		path := p
		if !filepath.IsAbs(path) {
			path = filepath.Join(dir, path)
		}
		matches, err := filepath.Glob(path)
		if err != nil {
			return nil, fmt.Errorf("%q is not a valid pattern: %w", p, err)
		}
		if len(matches) == 0 {
			return nil, fmt.Errorf("%q matches no file in %s; fix the path", p, dir)
		}
		for _, m := range matches {
			err := filepath.WalkDir(m, func(f string, e fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				if !e.IsDir() && !slices.Contains(files, f) {
					files = append(files, f)
				}
				return nil
			})
			if err != nil {
				return nil, fmt.Errorf("reading %s: %w", m, err)
			}
		}
	}
	return files, nil
}

// lookPath finds the executable name in the directories of environ's
// PATH, as exec.LookPath does in the process's (relative directories are
// skipped, as exec.LookPath refuses what they would find).
func lookPath(environ []string, name string) (string, bool) {
	var dirs string
	for _, kv := range environ {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			dirs = v
		}
	}
	for _, d := range filepath.SplitList(dirs) {
		if !filepath.IsAbs(d) {
			continue
		}
		f := filepath.Join(d, name)
		if fi, err := os.Stat(f); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return f, true
		}
	}
	return "", false
}
