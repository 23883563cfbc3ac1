package cli

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"

	"skiff.dev/skiff/internal/config"
	"skiff.dev/skiff/internal/runner"
)

// DeployOptions are the flags shared by run, dev, deploy and apply (and
// render's -l).
type DeployOptions struct {
	StatusCheck      bool
	TolerateFailures bool
	Tail             bool
	PortForward      []string
	Labels           []string
	Force            bool
	Toot             bool
	// WaitForDeletions waits, up to WaitForDeletionsMax, for what the
	// manifests name and is being deleted to go before applying.
	WaitForDeletions      bool
	WaitForDeletionsMax   time.Duration
	WaitForDeletionsDelay time.Duration
	// Debug is set by skiff debug and render --debug.
	Debug *runner.DebugOptions
}

// deployFlags binds the flags of commands that deploy.
func deployFlags(f *pflag.FlagSet, opts *DeployOptions) {
	f.BoolVar(&opts.StatusCheck, "status-check", true, "wait for the deployed resources to be ready, failing fast when they cannot be")
	f.BoolVar(&opts.TolerateFailures, "tolerate-failures-until-deadline", false, "let the status check wait out failures until its deadline instead of failing fast (default deploy.tolerateFailuresUntilDeadline)")
	f.BoolVar(&opts.Tail, "tail", false, "stream the deployed containers' logs until Ctrl-C")
	f.StringSliceVar(&opts.PortForward, "port-forward", nil, "forward ports until Ctrl-C: user (the config's portForward), services, pods, debug (skiff debug's debug ports), off; alone means user,services; a local port that is taken gives way to the next free one")
	f.Lookup("port-forward").NoOptDefVal = "user,services"
	labelFlag(f, opts)
	f.BoolVar(&opts.Force, "force", false, "delete and recreate an object the API server will not change in place (an immutable field changed); its pods restart")
	f.BoolVar(&opts.Toot, "toot", false, "ring the terminal bell after each deploy")
	f.BoolVar(&opts.WaitForDeletions, "wait-for-deletions", true, "before applying, wait for a namespace or object of the manifests that is being deleted to go")
	f.DurationVar(&opts.WaitForDeletionsMax, "wait-for-deletions-max", 60*time.Second, "the longest wait for pending deletions")
	f.DurationVar(&opts.WaitForDeletionsDelay, "wait-for-deletions-delay", 2*time.Second, "the time between two looks at pending deletions")
}

// dashboardFlag binds --ui (read by openEvents).
func dashboardFlag(f *pflag.FlagSet) {
	f.Bool("ui", false, "serve a web dashboard of the session on 127.0.0.1 at a free port (printed), with the HTTP API (--rpc-http-port gives the port)")
}

// labelFlag binds -l, the labels added to every deployed object.
func labelFlag(f *pflag.FlagSet, opts *DeployOptions) {
	f.StringSliceVarP(&opts.Labels, "label", "l", nil, "add labels (key=value) to every deployed object and its pods; repeat or comma-separate for several")
}

// muteFlag binds --mute-logs.
func muteFlag(f *pflag.FlagSet, stages *[]string) {
	f.StringSliceVar(stages, "mute-logs", nil, "stages whose output is muted, shown only when they fail: build or all (skiff does not mute deploy and status-check), none")
}

// muteBuild reads --mute-logs: whether the build output is muted.
func (a *app) muteBuild(cmd *cobra.Command, stages []string) (bool, error) {
	build := false
	for _, s := range stages {
		switch s {
		case "build", "all":
			build = true
			if s == "all" {
				a.log.Infof("--mute-logs=all: skiff mutes the build's output; deploy and status-check lines stay")
			}
		case "deploy", "status-check":
			a.log.Infof("--mute-logs=%s: skiff does not mute the %s lines (one a resource)", s, s)
		case "none":
		default:
			return false, usageError(cmd, "--mute-logs=%s: use build, deploy, status-check, all or none", s)
		}
	}
	return build, nil
}

// buildFlagValues are the build flags whose default is the config's or
// the cluster's: a command applies them only when they are given.
type buildFlagValues struct {
	push        bool
	concurrency int
	mute        []string
	// singlePlatform is --disable-multi-platform-build (default on in
	// dev, as in Skaffold).
	singlePlatform bool
	// skipTests is --skip-tests: no tests (test[]) after building.
	skipTests bool
}

// apply sets what the flags given say into opts; l says what it changed.
func (v *buildFlagValues) apply(cmd *cobra.Command, opts *runner.BuildOptions, a *app) error {
	l := a.log
	mute, err := a.muteBuild(cmd, v.mute)
	if err != nil {
		return err
	}
	opts.MuteOutput = mute
	opts.Test = !v.skipTests
	if v.singlePlatform && len(opts.Platforms) > 1 {
		l.Infof("--disable-multi-platform-build: building for %s only, not %s", opts.Platforms[0], strings.Join(opts.Platforms[1:], ", "))
		opts.Platforms = opts.Platforms[:1]
	}
	if cmd.Flags().Changed("push") {
		opts.Push = &v.push
	}
	// A negative --build-concurrency (the default, -1) keeps the
	// config's, as in Skaffold.
	if cmd.Flags().Changed("build-concurrency") && v.concurrency >= 0 {
		opts.Concurrency = &v.concurrency
	}
	return nil
}

func (a *app) newRunCmd() *cobra.Command {
	bopts := &runner.BuildOptions{}
	dopts := &DeployOptions{}
	var bvals buildFlagValues
	var renderOnly bool
	var renderOutput string
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Build the artifacts, deploy them and wait until the application is healthy",
		Long: `Build every artifact, render the manifests with the built images, apply them
with server-side apply (pruning what an earlier run of the project left
behind), and wait until the workloads are ready, failing fast with the reason
when they cannot become ready. With --tail or --port-forward, skiff then
streams logs and forwards ports until Ctrl-C. --ui serves a web dashboard of
the session (and implies --tail).`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := bvals.apply(cmd, bopts, a); err != nil {
				return err
			}
			if uiFlag(cmd) && !cmd.Flags().Changed("tail") {
				dopts.Tail = true // the dashboard stays until Ctrl-C
			}
			if renderOnly {
				return a.runRenderOnly(cmd, bopts, dopts, renderOutput)
			}
			if renderOutput != "" {
				return &UsageError{Command: commandName(cmd), Err: fmt.Errorf("--render-output goes with --render-only; or use skiff render -o %s", renderOutput)}
			}
			return a.runRun(cmd, bopts, dopts)
		},
	}
	f := cmd.Flags()
	buildFlags(f, bopts, &bvals)
	deployFlags(f, dopts)
	dashboardFlag(f)
	f.BoolVar(&renderOnly, "render-only", false, "build, then print the rendered manifests instead of deploying them")
	deprecate(f.Lookup("render-only"), "use skiff render")
	f.StringVar(&renderOutput, "render-output", "", "with --render-only, write the manifests to this file")
	deprecate(f.Lookup("render-output"), "use skiff render -o FILE")
	addIgnoredFlags(cmd.Flags(), "run")
	return cmd
}

// runRenderOnly is run --render-only (deprecated in Skaffold, still used
// by scripts): build, then print the manifests as skiff render would.
func (a *app) runRenderOnly(cmd *cobra.Command, bopts *runner.BuildOptions, dopts *DeployOptions, file string) error {
	ctx := cmd.Context()
	r, err := a.engineFor(cmd, "run", dopts)
	if err != nil {
		return err
	}
	imgs, err := r.Build(ctx, *bopts)
	if err != nil {
		return err
	}
	return a.writeRendered(ctx, r, imgs, false, file)
}

func (a *app) runRun(cmd *cobra.Command, bopts *runner.BuildOptions, dopts *DeployOptions) error {
	ctx := cmd.Context()
	r, err := a.engineFor(cmd, "run", dopts)
	if err != nil {
		return err
	}
	results, err := r.Build(ctx, *bopts)
	if err != nil {
		return err
	}
	if err := interruptibleErr(ctx, func() error { return r.Deploy(ctx, results) }); err != nil {
		return err
	}
	return a.observe(ctx, r, "run")
}

// newRunner checks that the project only uses what skiff can deploy and
// sets up the engine from the global and deploy flags.
func (a *app) newRunner(cmd *cobra.Command, p *config.Project, dopts *DeployOptions) (*runner.Runner, error) {
	modes, err := runner.ParsePortForward(dopts.PortForward)
	if err != nil {
		return nil, &UsageError{Command: commandName(cmd), Err: err}
	}
	labels, err := runner.ParseLabels(dopts.Labels)
	if err != nil {
		return nil, &UsageError{Command: commandName(cmd), Err: err}
	}
	opts := a.engineOptions(p)
	opts.Tail = dopts.Tail
	opts.PortForward = modes
	opts.Debug = dopts.Debug
	if opts.Debug != nil && opts.Debug.HelpersRegistry == "" {
		opts.Debug.HelpersRegistry = p.DebugHelpersRegistry()
	}
	opts.Labels = labels
	opts.Force = dopts.Force
	opts.Beep = dopts.Toot
	if dopts.WaitForDeletions {
		opts.WaitForDeletions, opts.WaitForDeletionsDelay = dopts.WaitForDeletionsMax, dopts.WaitForDeletionsDelay
	}
	if cmd.Flags().Changed("status-check") {
		opts.StatusCheck = &dopts.StatusCheck
	}
	if cmd.Flags().Changed("tolerate-failures-until-deadline") {
		opts.TolerateFailures = &dopts.TolerateFailures
	}
	r := runner.New(opts)
	if err := r.Check("manifests", "deploy", "portForward"); err != nil {
		return nil, err
	}
	return r, nil
}

// engineFor loads the project for command and sets up the engine for it
// from the global and deploy flags (see newRunner).
func (a *app) engineFor(cmd *cobra.Command, command string, dopts *DeployOptions) (*runner.Runner, error) {
	p, err := a.loadConfig(cmd.Context(), command)
	if err != nil {
		return nil, err
	}
	return a.newRunner(cmd, p, dopts)
}

// newEngine sets up the engine from the global flags, for commands that
// do not deploy.
func (a *app) newEngine(p *config.Project) *runner.Runner {
	return runner.New(a.engineOptions(p))
}

// engineOptions are the engine's options that the global flags and the
// environment set.
func (a *app) engineOptions(p *config.Project) runner.Options {
	return runner.Options{
		Project:     p,
		RunID:       newRunID(),
		KubeContext: a.global.kubeContext,
		Kubeconfig:  a.global.kubeconfig,
		Namespace:   a.global.namespace,
		DefaultRepo: cmp.Or(a.global.defaultRepo, p.DefaultRepo()),
		Environ:     a.environ,
		Out:         a.streams.Out,
		ErrOut:      a.streams.ErrOut,
		Color:       a.global.forceColors || isTerminal(a.streams.Out),
		Log:         a.log,
		Events:      a.eventBus(),
	}
}

// observe streams logs and forwards ports until Ctrl-C when asked to, or
// says how to.
func (a *app) observe(ctx context.Context, r *runner.Runner, command string) error {
	if !r.Observing() {
		fmt.Fprintf(a.streams.ErrOut, "You can also run [skiff %s --tail] to get the logs\n", command)
		return nil
	}
	fmt.Fprintln(a.streams.ErrOut, "Press Ctrl+C to exit")
	return r.Observe(ctx)
}

// newRunID returns a fresh id for one invocation.
func newRunID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// isTerminal reports whether w is a terminal, where colour is welcome.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
