// Package custom builds the custom artifacts of skaffold.yaml: it runs the
// artifact's buildCommand, which must build the image named $IMAGE and push
// it when $PUSH_IMAGE is true, as Skaffold's custom builder does.
package custom

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"skiff.dev/skiff/internal/build"
	"skiff.dev/skiff/internal/config"
	"skiff.dev/skiff/internal/config/schema"
	"skiff.dev/skiff/internal/proc"
)

// tailLines is how many of the command's last output lines an error
// repeats.
const tailLines = 15

// Builder runs custom build commands; it implements build.Builder.
type Builder struct {
	shell string
}

var _ build.Builder = (*Builder)(nil)

// New returns a Builder that runs build commands with sh -c.
func New() *Builder { return &Builder{shell: "sh"} }

// Build runs a's buildCommand, a template expanded with req.Env, through
// sh -c in the artifact's context. The command's environment is req.Env
// (the process environment and skaffold.env) plus:
//
//	IMAGE          the reference to build (req.Tag)
//	PUSH_IMAGE     true when the command must push IMAGE, else false
//	BUILD_CONTEXT  the artifact's context, absolute
//	PLATFORMS      the target platforms, comma-separated ("" for the host's)
//	SKIP_TEST      false
//	IMAGE_REPO     IMAGE without its tag
//	IMAGE_TAG      IMAGE's tag
//	<alias>        for each required artifact, its built reference
//
// These win over variables of the same name in req.Env (in Skaffold the
// process environment wins). Output goes to req.Out; the command's failure
// comes back as a *CommandError (which repeats the end of the output only
// when req.Out is nil). The image is the command's to build and
// push, so Build returns Built{External: true}.
func (b *Builder) Build(ctx context.Context, a *schema.Artifact, req build.Request) (build.Built, error) {
	c := a.CustomArtifact
	if c == nil {
		return build.Built{}, fmt.Errorf("artifact %q is not a custom artifact", a.ImageName)
	}
	if strings.TrimSpace(c.BuildCommand) == "" {
		return build.Built{}, errors.New("custom.buildCommand is empty: set the command that builds $IMAGE")
	}
	command, err := config.Expand(c.BuildCommand, req.Env)
	if err != nil {
		return build.Built{}, fmt.Errorf("custom.buildCommand: %w", err)
	}
	dir, err := filepath.Abs(a.Workspace)
	if err != nil {
		return build.Built{}, fmt.Errorf("finding the build context %q: %w", a.Workspace, err)
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return build.Built{}, fmt.Errorf("the build context %s is not a directory: fix the artifact's context in skaffold.yaml or create it", dir)
	}

	out := req.Out
	if out == nil {
		out = io.Discard
	}
	t := &tailWriter{w: out}
	// The command runs in a process group of its own: cancelling the
	// build sends the group SIGINT, as Ctrl-C in a terminal would, and
	// kills what is left of it after proc.Grace.
	cmd := proc.Command(ctx, b.shell, "-c", command)
	cmd.Signal = syscall.SIGINT
	cmd.Dir = dir
	cmd.Env = Environ(req, dir)
	cmd.Stdout = t
	cmd.Stderr = t
	err = cmd.Run()
	t.flush()
	if err != nil {
		if ctx.Err() != nil {
			return build.Built{}, ctx.Err()
		}
		ce := &CommandError{Command: command, Dir: dir, Output: t.lines(), Streamed: req.Out != nil, Err: err, ExitCode: -1}
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			ce.ExitCode = exitErr.ExitCode()
		}
		return build.Built{}, ce
	}
	return build.Built{External: true}, nil
}

// Environ returns the environment a build command of req runs with, in
// context dir: req.Env with the variables Build documents set, sorted.
func Environ(req build.Request, dir string) []string {
	vars := map[string]string{}
	for k, v := range req.Env {
		vars[k] = v
	}
	for _, r := range req.Requires {
		vars[r.Alias] = r.Ref
	}
	repo, tag := splitTag(req.Tag)
	vars["IMAGE"] = req.Tag
	vars["PUSH_IMAGE"] = strconv.FormatBool(req.Push)
	vars["BUILD_CONTEXT"] = dir
	vars["PLATFORMS"] = strings.Join(req.Platforms, ",")
	vars["SKIP_TEST"] = "false"
	vars["IMAGE_REPO"] = repo
	vars["IMAGE_TAG"] = tag
	env := make([]string, 0, len(vars))
	for k, v := range vars {
		env = append(env, k+"="+v)
	}
	sort.Strings(env)
	return env
}

// splitTag splits a reference into its name and its tag ("" without one),
// dropping a digest.
func splitTag(ref string) (name, tag string) {
	name, _, _ = strings.Cut(ref, "@")
	if i := strings.LastIndex(name, ":"); i > strings.LastIndex(name, "/") {
		return name[:i], name[i+1:]
	}
	return name, ""
}

// CommandError is a build command that failed.
type CommandError struct {
	// Command is the command as run by sh -c.
	Command string
	// Dir is where it ran.
	Dir string
	// ExitCode is its exit code, -1 when it did not exit (a signal, or
	// it could not start).
	ExitCode int
	// Output are its last lines of output.
	Output []string
	// Streamed says the output went to the build's writer (the user has
	// seen it): Error then does not repeat it.
	Streamed bool
	// Err is the error of running it.
	Err error
}

// Error implements error: the exit code, the command, its last output and
// what to do.
func (e *CommandError) Error() string {
	var b strings.Builder
	if e.ExitCode >= 0 {
		fmt.Fprintf(&b, "the build command exited with code %d: %s", e.ExitCode, e.Command)
	} else {
		fmt.Fprintf(&b, "the build command failed (%v): %s", e.Err, e.Command)
	}
	if e.Streamed {
		b.WriteString(" (its output is above)")
	} else if len(e.Output) > 0 {
		b.WriteString("\n  last output:")
		for _, l := range e.Output {
			b.WriteString("\n    " + l)
		}
	}
	fmt.Fprintf(&b, "\n  Fix the command (custom.buildCommand in skaffold.yaml; it runs with sh -c in %s) and build again.", e.Dir)
	return b.String()
}

// Unwrap returns the error of running the command.
func (e *CommandError) Unwrap() error { return e.Err }

// tailWriter passes output on and keeps its last lines.
type tailWriter struct {
	w       io.Writer
	mu      sync.Mutex
	partial []byte
	tail    []string
}

func (t *tailWriter) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.partial = append(t.partial, p...)
	for {
		i := bytes.IndexByte(t.partial, '\n')
		if i < 0 {
			break
		}
		t.add(string(t.partial[:i]))
		t.partial = t.partial[i+1:]
	}
	return t.w.Write(p)
}

func (t *tailWriter) add(line string) {
	line = strings.TrimRight(line, "\r")
	if strings.TrimSpace(line) == "" {
		return
	}
	t.tail = append(t.tail, line)
	if len(t.tail) > tailLines {
		t.tail = t.tail[len(t.tail)-tailLines:]
	}
}

// flush keeps a last line without a newline; the writer downstream gets
// it with one, so that the next output starts on a line of its own.
func (t *tailWriter) flush() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.partial) > 0 {
		t.add(string(t.partial))
		t.partial = nil
		t.w.Write([]byte("\n"))
	}
}

func (t *tailWriter) lines() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]string(nil), t.tail...)
}
