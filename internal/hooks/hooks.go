// Package hooks runs Skaffold's lifecycle hooks: the commands a config
// asks for before and after a build (build.hooks, build.artifacts[].hooks),
// a file sync (sync.hooks), a render (manifests.hooks) and a deploy
// (deploy.kubectl.hooks, deploy.helm.hooks). Host hooks run on this
// machine with the caller's environment plus Skaffold's SKAFFOLD_*
// variables; container hooks run through exec in running containers that
// the caller lists. Output is streamed line by line with a prefix naming
// the phase; a hook that fails fails its step with its exit status and
// its last lines of output.
package hooks

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path"
	"runtime"
	"slices"
	"strings"
	gosync "sync"

	"skiff.dev/skiff/internal/config/schema"
	"skiff.dev/skiff/internal/output"
	"skiff.dev/skiff/internal/proc"
)

// Phase is when a hook runs, named as Skaffold names it (pre-build,
// post-sync, ...).
type Phase string

// The phases hooks run in.
const (
	PreBuild   Phase = "pre-build"
	PostBuild  Phase = "post-build"
	PreSync    Phase = "pre-sync"
	PostSync   Phase = "post-sync"
	PreRender  Phase = "pre-render"
	PostRender Phase = "post-render"
	PreDeploy  Phase = "pre-deploy"
	PostDeploy Phase = "post-deploy"
)

// tailLines is how many of a failed hook's last output lines its error
// quotes.
const tailLines = 20

// Runner runs hooks. One Runner serves a whole session: it remembers which
// containers ran a deploy container hook, so that dev runs it once per
// container, as Skaffold does. It is safe for concurrent use.
type Runner struct {
	// Environ (KEY=value entries) is the environment host hooks start
	// from, the process environment as the CLI read it; Skaffold's
	// variables are added to it and win over it.
	Environ []string
	// DefaultRepo is SKAFFOLD_DEFAULT_REPO; "" leaves it unset.
	DefaultRepo string
	// WorkDir is SKAFFOLD_WORK_DIR, the project's root directory.
	WorkDir string
	// Out receives the hooks' output and progress, each line prefixed.
	Out io.Writer
	// GOOS is what a hook's os list is matched against; "" means the
	// operating system skiff runs on.
	GOOS string

	mu      gosync.Mutex
	visited map[string]bool // phase/container keys deploy container hooks ran in
}

// BuildEnv are the variables of a build hook.
type BuildEnv struct {
	// Image is the full reference built, repo:tag (SKAFFOLD_IMAGE).
	Image string
	// PushImage says the image goes to a registry, not the local daemon.
	PushImage bool
	// ImageRepo and ImageTag are the two halves of Image.
	ImageRepo, ImageTag string
	// BuildContext is the artifact's absolute context directory.
	BuildContext string
}

// SyncEnv are the variables of a sync hook.
type SyncEnv struct {
	// Image is the full reference of the image whose containers are
	// synced (SKAFFOLD_IMAGE).
	Image string
	// BuildContext is the artifact's absolute context directory.
	BuildContext string
	// FilesAddedOrModified and FilesDeleted are the absolute local paths
	// synced, joined with ";" as in Skaffold.
	FilesAddedOrModified, FilesDeleted []string
	// KubeContext is the kube context; Namespaces those synced into.
	KubeContext string
	Namespaces  []string
}

// RenderEnv are the variables of a render hook.
type RenderEnv struct {
	KubeContext string
	Namespaces  []string
}

// DeployEnv are the variables of a deploy hook.
type DeployEnv struct {
	// RunID labels what this run deploys (SKAFFOLD_RUN_ID).
	RunID       string
	KubeContext string
	Namespaces  []string
}

// Container is a running container a container hook may run in.
type Container struct {
	// Pod is the pod's name ("" for a Docker container); Name the
	// container's.
	Pod, Name string
	// Image is the image reference the container runs.
	Image string
	// Key identifies the container across lists (its pod's UID, say), so
	// that a deploy hook runs once per container.
	Key string
}

// label names c in output and errors.
func (c Container) label() string {
	if c.Pod == "" {
		return c.Name
	}
	return c.Pod + "/" + c.Name
}

// Containers lists the running containers and runs commands in them: the
// cluster's pods or the Docker deployer's containers.
type Containers interface {
	// Running lists the containers that run now.
	Running(ctx context.Context) ([]Container, error)
	// Exec runs cmd in c with its output (stdout and stderr) to out; a
	// command that exits non-zero is an error saying so.
	Exec(ctx context.Context, c Container, cmd []string, out io.Writer) error
}

// Build runs the host hooks of a build phase: an artifact's (label is its
// image name) or, with a zero env, the whole build's (build.hooks).
func (r *Runner) Build(ctx context.Context, phase Phase, hs []schema.HostHook, env BuildEnv, label string) error {
	if len(hs) == 0 {
		return nil
	}
	vars := r.static()
	if env != (BuildEnv{}) {
		vars = append(vars,
			"SKAFFOLD_IMAGE="+env.Image,
			fmt.Sprintf("SKAFFOLD_PUSH_IMAGE=%t", env.PushImage),
			"SKAFFOLD_IMAGE_REPO="+env.ImageRepo,
			"SKAFFOLD_IMAGE_TAG="+env.ImageTag,
			"SKAFFOLD_BUILD_CONTEXT="+env.BuildContext)
	}
	return r.phase(phase, label, len(hs), func(i int, prefix string) error {
		return r.host(ctx, phase, i, hs[i], vars, nil, r.prefixed(prefix))
	})
}

// Sync runs the hooks of a sync phase for the artifact named label:
// host hooks, and container hooks in every container of cs that runs
// env.Image.
func (r *Runner) Sync(ctx context.Context, phase Phase, hs []schema.SyncHookItem, env SyncEnv, cs Containers, label string) error {
	if len(hs) == 0 {
		return nil
	}
	vars := append(r.static(),
		"SKAFFOLD_IMAGE="+env.Image,
		"SKAFFOLD_BUILD_CONTEXT="+env.BuildContext,
		"SKAFFOLD_FILES_ADDED_OR_MODIFIED="+strings.Join(env.FilesAddedOrModified, ";"),
		"SKAFFOLD_FILES_DELETED="+strings.Join(env.FilesDeleted, ";"),
		"SKAFFOLD_KUBE_CONTEXT="+env.KubeContext,
		"SKAFFOLD_NAMESPACES="+strings.Join(env.Namespaces, ","))
	return r.phase(phase, label, len(hs), func(i int, prefix string) error {
		h := hs[i]
		switch {
		case h.HostHook != nil:
			return r.host(ctx, phase, i, *h.HostHook, vars, nil, r.prefixed(prefix))
		case h.ContainerHook != nil:
			return r.inContainers(ctx, phase, i, h.ContainerHook.Command, cs, prefix, func(c Container) (bool, error) {
				return c.Image == env.Image, nil
			})
		}
		return nil
	})
}

// PreRender runs the pre-render host hooks.
func (r *Runner) PreRender(ctx context.Context, hs []schema.RenderHookItem, env RenderEnv) error {
	if len(hs) == 0 {
		return nil
	}
	vars := append(r.static(), renderVars(env)...)
	return r.phase(PreRender, "", len(hs), func(i int, prefix string) error {
		if h := hs[i].HostHook; h != nil {
			return r.host(ctx, PreRender, i, *h, vars, nil, r.prefixed(prefix))
		}
		return nil
	})
}

// PostRender runs the post-render host hooks with the rendered manifests
// (a YAML stream) on their standard input, and returns the manifests the
// hooks leave: a hook with withChange replaces them with its standard
// output, which must not be empty.
func (r *Runner) PostRender(ctx context.Context, hs []schema.PostRenderHookItem, env RenderEnv, manifests []byte) ([]byte, error) {
	if len(hs) == 0 {
		return manifests, nil
	}
	vars := append(r.static(), renderVars(env)...)
	err := r.phase(PostRender, "", len(hs), func(i int, prefix string) error {
		h := hs[i].HostHook
		if h == nil {
			return nil
		}
		host := schema.HostHook{Command: h.Command, OS: h.OS, Dir: h.Dir}
		if !h.WithChange {
			return r.host(ctx, PostRender, i, host, vars, strings.NewReader(string(manifests)), r.prefixed(prefix))
		}
		var changed strings.Builder
		if err := r.host(ctx, PostRender, i, host, vars, strings.NewReader(string(manifests)), &changed); err != nil {
			return err
		}
		if r.skipped(host) {
			return nil
		}
		if strings.TrimSpace(changed.String()) == "" {
			return fmt.Errorf("post-render hook %d (%s) has withChange: true but printed nothing: it must print the changed manifests on its standard output", i+1, quote(h.Command))
		}
		manifests = []byte(changed.String())
		return nil
	})
	return manifests, err
}

// Deploy runs the hooks of a deploy phase: host hooks, and container hooks
// in the containers of cs whose pod and container names match the hook's
// globs and that have not run this phase's hooks before.
func (r *Runner) Deploy(ctx context.Context, phase Phase, hs []schema.DeployHookItem, env DeployEnv, cs Containers) error {
	if len(hs) == 0 {
		return nil
	}
	vars := append(r.static(),
		"SKAFFOLD_RUN_ID="+env.RunID,
		"SKAFFOLD_KUBE_CONTEXT="+env.KubeContext,
		"SKAFFOLD_NAMESPACES="+strings.Join(env.Namespaces, ","))
	return r.phase(phase, "", len(hs), func(i int, prefix string) error {
		h := hs[i]
		switch {
		case h.HostHook != nil:
			return r.host(ctx, phase, i, *h.HostHook, vars, nil, r.prefixed(prefix))
		case h.ContainerHook != nil:
			ch := h.ContainerHook
			return r.inContainers(ctx, phase, i, ch.Command, cs, prefix, func(c Container) (bool, error) {
				ok, err := matches(ch.PodName, c.Pod, "podName")
				if err != nil || !ok {
					return false, err
				}
				if ok, err = matches(ch.ContainerName, c.Name, "containerName"); err != nil || !ok {
					return false, err
				}
				return r.firstVisit(string(phase) + "/" + c.Key), nil
			})
		}
		return nil
	})
}

// matches reports whether name matches the glob pattern of the field
// named field; an empty pattern matches everything.
func matches(pattern, name, field string) (bool, error) {
	if pattern == "" {
		return true, nil
	}
	ok, err := path.Match(pattern, name)
	if err != nil {
		return false, fmt.Errorf("container hook: %s %q is not a valid glob: %w", field, pattern, err)
	}
	return ok, nil
}

// firstVisit records key and reports whether it is new.
func (r *Runner) firstVisit(key string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.visited == nil {
		r.visited = map[string]bool{}
	}
	if r.visited[key] {
		return false
	}
	r.visited[key] = true
	return true
}

// phase runs n hooks of phase in order, between a starting and a
// completed line; each hook's output goes out under prefix. The first
// failure stops the phase.
func (r *Runner) phase(phase Phase, label string, n int, run func(i int, prefix string) error) error {
	out := r.out()
	what := fmt.Sprintf("%s hooks", phase)
	prefix := "[" + string(phase)
	if label != "" {
		what += fmt.Sprintf(" for %s", label)
		prefix += " " + label
	}
	fmt.Fprintf(out, "Starting %s...\n", what)
	for i := range n {
		if err := run(i, prefix); err != nil {
			return err
		}
	}
	fmt.Fprintf(out, "Completed %s\n", what)
	return nil
}

// static are the variables every hook gets.
func (r *Runner) static() []string {
	var vars []string
	if r.DefaultRepo != "" {
		vars = append(vars, "SKAFFOLD_DEFAULT_REPO="+r.DefaultRepo)
	}
	return append(vars, "SKAFFOLD_WORK_DIR="+r.WorkDir)
}

func renderVars(env RenderEnv) []string {
	return []string{"SKAFFOLD_KUBE_CONTEXT=" + env.KubeContext, "SKAFFOLD_NAMESPACES=" + strings.Join(env.Namespaces, ",")}
}

func (r *Runner) out() io.Writer {
	if r.Out == nil {
		return io.Discard
	}
	return r.Out
}

// prefixed is a writer that puts prefix + "] " before each line to Out.
func (r *Runner) prefixed(prefix string) *hookOutput {
	return newHookOutput(output.NewLines(r.out()).Prefixed(prefix + "] "))
}

// skipped reports whether h's os list leaves this system out.
func (r *Runner) skipped(h schema.HostHook) bool {
	goos := r.GOOS
	if goos == "" {
		goos = runtime.GOOS
	}
	return len(h.OS) > 0 && !slices.Contains(h.OS, goos)
}

// host runs the i-th hook of phase on this machine with the extra vars,
// stdin and its output to out.
func (r *Runner) host(ctx context.Context, phase Phase, i int, h schema.HostHook, vars []string, stdin io.Reader, out io.Writer) error {
	if r.skipped(h) {
		return nil
	}
	if len(h.Command) == 0 {
		return fmt.Errorf("%s hook %d has no command: set its command: [program, args...]", phase, i+1)
	}
	tail, _ := out.(*hookOutput)
	if tail == nil {
		// withChange: stdout is the manifests, stderr still shows.
		tail = r.prefixed("[" + string(phase))
	}
	cmd := proc.Command(ctx, h.Command[0], h.Command[1:]...)
	cmd.Dir = h.Dir
	cmd.Env = append(slices.Clone(r.Environ), vars...)
	cmd.Stdin = stdin
	cmd.Stdout = out
	cmd.Stderr = tail
	err := cmd.Run()
	tail.Flush()
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	where := ""
	if h.Dir != "" {
		where = " in " + h.Dir
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return fmt.Errorf("%s hook %d (%s) could not start%s: %w; check that the program exists on this machine and is executable", phase, i+1, quote(h.Command), where, err)
	}
	return fmt.Errorf("%s hook %d (%s) failed%s: %v%s", phase, i+1, quote(h.Command), where, err, tail.last())
}

// inContainers runs the i-th hook of phase, cmd, in every running
// container of cs that pick accepts, one after another.
func (r *Runner) inContainers(ctx context.Context, phase Phase, i int, cmd []string, cs Containers, prefix string, pick func(Container) (bool, error)) error {
	if len(cmd) == 0 {
		return fmt.Errorf("%s container hook %d has no command: set its command: [program, args...]", phase, i+1)
	}
	if cs == nil {
		return nil
	}
	running, err := cs.Running(ctx)
	if err != nil {
		return fmt.Errorf("%s container hook %d: listing the running containers: %w", phase, i+1, err)
	}
	for _, c := range running {
		ok, err := pick(c)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		out := r.prefixed(prefix + " " + c.label())
		err = cs.Exec(ctx, c, cmd, out)
		out.Flush()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("%s container hook %d (%s) failed in %s: %w%s", phase, i+1, quote(cmd), c.label(), err, out.last())
		}
	}
	return nil
}

// quote shows a command as a user would type it.
func quote(cmd []string) string {
	q := make([]string, len(cmd))
	for i, a := range cmd {
		if a == "" || strings.ContainsAny(a, " \t\n'\"\\$;&|<>()*?") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		q[i] = a
	}
	return strings.Join(q, " ")
}

// hookOutput streams a hook's output through a prefixing writer and keeps
// its last lines for an error.
type hookOutput struct {
	mu    gosync.Mutex
	w     *output.PrefixWriter
	lines []string
	part  []byte
}

func newHookOutput(w *output.PrefixWriter) *hookOutput { return &hookOutput{w: w} }

// Write implements io.Writer.
func (h *hookOutput) Write(b []byte) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, c := range b {
		if c == '\n' {
			h.keep(string(h.part))
			h.part = h.part[:0]
			continue
		}
		if len(h.part) < 4096 {
			h.part = append(h.part, c)
		}
	}
	return h.w.Write(b)
}

// keep remembers line among the last tailLines. The caller holds mu.
func (h *hookOutput) keep(line string) {
	h.lines = append(h.lines, line)
	if len(h.lines) > tailLines {
		h.lines = h.lines[len(h.lines)-tailLines:]
	}
}

// Flush writes out a last line without a newline.
func (h *hookOutput) Flush() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.part) > 0 {
		h.keep(string(h.part))
		h.part = h.part[:0]
	}
	h.w.Flush()
}

// last quotes the last lines of output for an error, "" when there was
// none.
func (h *hookOutput) last() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.lines) == 0 {
		return "; it printed nothing"
	}
	return fmt.Sprintf("; its last lines of output:\n  %s", strings.Join(h.lines, "\n  "))
}
