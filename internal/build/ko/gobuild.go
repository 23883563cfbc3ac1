package ko

import (
	"context"
	"debug/buildinfo"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"skiff.dev/skiff/internal/proc"
)

// compiled is the output of one `go build`.
type compiled struct {
	// file is the executable, where the caller of compile asked for it.
	file string
	// name is the file name ko gives it: the last element of the main
	// package's import path.
	name string
}

// compile runs `go build` for the main package of s and platform p,
// streaming its output to out, and writes the executable to file, which
// it never reads into memory (a service's executable is tens of MB). The
// error of a failed build repeats the end of the output only when out is
// io.Discard; after an error file may hold anything.
func (b *Builder) compile(ctx context.Context, s *spec, p v1.Platform, out io.Writer, file string) (*compiled, error) {
	penv, err := platformEnv(p)
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "skiff-ko-")
	if err != nil {
		return nil, fmt.Errorf("making a directory for the go build output: %w", err)
	}
	defer os.RemoveAll(tmp)

	args := append([]string{"build"}, s.flags...)
	args = append(args, "-o", file, s.main)
	tail := &tailWriter{max: 8 << 10}
	w := io.MultiWriter(out, tail)
	if err := b.runGo(ctx, s, penv, tmp, w, w, args...); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		var exitErr *exec.ExitError
		if !errors.As(err, &exitErr) {
			return nil, fmt.Errorf("running go build for artifact %q: %w; the ko builder needs Go: install it (https://go.dev/dl) or put the go command in PATH", s.image, err)
		}
		if out != io.Discard {
			// The output went to out, which the user reads: the error
			// does not repeat it.
			return nil, fmt.Errorf("compiling artifact %q: go build %s for %s in %s: %w (the compiler's messages are in the build output above): fix the code and build again",
				s.image, s.main, p, s.workdir, err)
		}
		return nil, fmt.Errorf("compiling artifact %q: go build %s for %s in %s: %w:\n%s",
			s.image, s.main, p, s.workdir, err, strings.TrimRight(tail.String(), "\n"))
	}
	info, err := buildinfo.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("artifact %q: go build %s in %s made no executable (%v): the ko builder's main must name a `package main`; fix build.artifacts[].ko.main", s.image, s.main, s.workdir, err)
	}
	return &compiled{file: file, name: appName(info.Path)}, nil
}

// runGo runs the go command with args in s's workdir for the platform
// env penv, with stdout and stderr as given. It runs in a process group
// of its own and with a GOTMPDIR of its own under dir (which the caller
// removes), so that when a cancelled build returns, no process of it is
// left and its temporary files are under dir.
func (b *Builder) runGo(ctx context.Context, s *spec, penv []string, dir string, stdout, stderr io.Writer, args ...string) error {
	gotmp := filepath.Join(dir, "gotmp")
	if err := os.Mkdir(gotmp, 0o700); err != nil {
		return fmt.Errorf("making a temporary directory for go: %w", err)
	}
	cmd := proc.Command(ctx, "go", args...)
	cmd.Dir = s.workdir
	cmd.Env = append(b.buildEnv(penv, s.env), "GOTMPDIR="+gotmp)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	return cmd.Run()
}

// appName is ko's name for the binary of the main package importPath.
func appName(importPath string) string {
	base := path.Base(importPath)
	if base == "." || base == "/" || importPath == "command-line-arguments" {
		return "ko-app"
	}
	return base
}

// buildEnv is the environment of `go build`: cgo off by default (a
// static binary runs on any base), then the user's environment, then the
// target platform, then the artifact's env. Unlike ko, a GOOS or GOARCH
// exported in the user's shell does not override the platform, so the
// binary always matches the platform the image claims.
func (b *Builder) buildEnv(platform, artifact []string) []string {
	environ := b.opts.environ
	env := make([]string, 0, 1+len(environ)+len(platform)+len(artifact))
	env = append(env, "CGO_ENABLED=0")
	env = append(env, environ...)
	env = append(env, platform...)
	return append(env, artifact...)
}

// platformEnv sets GOOS, GOARCH and the variant's GOARM or GOAMD64 for p,
// as ko does.
func platformEnv(p v1.Platform) ([]string, error) {
	env := []string{"GOOS=" + p.OS, "GOARCH=" + p.Architecture}
	if p.Variant == "" {
		return env, nil
	}
	switch p.Architecture {
	case "arm":
		n, err := strconv.Atoi(strings.TrimPrefix(p.Variant, "v"))
		if err != nil || !strings.HasPrefix(p.Variant, "v") {
			return nil, fmt.Errorf("platform %s: arm variant %q is not v5, v6 or v7", p, p.Variant)
		}
		if n >= 5 {
			env = append(env, "GOARM="+strconv.Itoa(min(n, 7)))
		}
	case "amd64":
		env = append(env, "GOAMD64="+p.Variant)
	}
	return env, nil
}

// tailWriter keeps the last max bytes written to it, for the error of a
// failed build (the whole output has gone to the build's writer).
type tailWriter struct {
	max int
	buf []byte
}

func (t *tailWriter) Write(p []byte) (int, error) {
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

func (t *tailWriter) String() string { return string(t.buf) }
