package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"skiff.dev/skiff/internal/config"
	"skiff.dev/skiff/internal/runner"
)

// DevOptions are the flags of `skiff dev` beyond those of run.
type DevOptions struct {
	Trigger                         string
	PollInterval                    int // milliseconds, as Skaffold's flag
	AutoBuild, AutoSync, AutoDeploy bool
	Cleanup                         bool
	WatchImages                     []string
	// KeepRunning keeps dev going when the first load, build or deploy
	// fails (--keep-running-on-failure): it waits for a fix instead.
	KeepRunning bool
	// HotSwap swaps a Go change of a ko artifact into the running
	// containers instead of rebuilding and redeploying.
	HotSwap bool
}

// cleanupWait bounds the wait for what dev deployed to be gone after
// Ctrl-C; whatever is still there then is named, for skiff delete.
const cleanupWait = 15 * time.Second

func (a *app) newDevCmd() *cobra.Command {
	return a.devCommand(&cobra.Command{
		Use:   "dev",
		Short: "Run the application, then sync or rebuild and redeploy it on every change until Ctrl-C",
		Long: `Build and deploy as skiff run does, stream the logs, then watch the sources.
A change that an artifact's sync rules cover is copied into every running
container of the artifact (through one skiff-agent session per container,
through tar where the agent is missing; deletions too). Any other change to an
artifact's files rebuilds it and the artifacts that require it, then
redeploys; a changed manifest redeploys; a changed skaffold.yaml reloads the
configuration. A failed build or deploy is reported and the previous version
keeps running. Ctrl-C deletes what dev deployed (--cleanup) and exits; a
second Ctrl-C exits at once.`,
	}, false)
}

func (a *app) newDebugCmd() *cobra.Command {
	return a.devCommand(&cobra.Command{
		Use:   "debug",
		Short: "Run the application under its debuggers, as dev does, until Ctrl-C",
		Long: `Build for debugging (Go without optimizations), deploy as skiff dev does, with
each container of an image skiff built rewritten to run under its runtime's
debugger: Delve for Go, the inspector for Node.js, debugpy for Python, JDWP
for the JVM (the runtime comes from the artifact's runtimeType, else from the
image and the command). The debuggers' support files reach the pods through
init containers from images skiff makes and pushes next to the built images.
The debug ports are forwarded (--port-forward defaults to user,debug) and
skiff prints how to attach to each container. --suspend makes each app wait
for its debugger before it starts. Unlike dev, changes are acted on only when
you press Enter (--auto-build, --auto-sync and --auto-deploy are off), so a
debugging session is not restarted under you.`,
	}, true)
}

// devCommand makes dev (debug false) or debug out of cmd, which names and
// describes it.
func (a *app) devCommand(cmd *cobra.Command, debug bool) *cobra.Command {
	bopts := &runner.BuildOptions{Debug: debug}
	dopts := &DeployOptions{}
	vopts := &DevOptions{}
	var bvals buildFlagValues
	var renderOnly bool
	cmd.Args = noArgs
	if debug {
		dopts.Debug = &runner.DebugOptions{}
	}
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if err := bvals.apply(cmd, bopts, a); err != nil {
			return err
		}
		if renderOnly {
			return &UsageError{Command: commandName(cmd), Err: fmt.Errorf("%s --render-only would deploy nothing; use skiff render (or skiff run --render-only) to print the manifests", cmd.Name())}
		}
		switch vopts.Trigger {
		case runner.TriggerNotify, runner.TriggerPolling, runner.TriggerManual:
		default:
			return &UsageError{Command: commandName(cmd), Err: fmt.Errorf("--trigger=%s: use notify, polling or manual", vopts.Trigger)}
		}
		if vopts.PollInterval <= 0 {
			return &UsageError{Command: commandName(cmd), Err: fmt.Errorf("--watch-poll-interval=%d: it must be a positive number of milliseconds", vopts.PollInterval)}
		}
		return a.runDev(cmd, bopts, dopts, vopts)
	}
	f := cmd.Flags()
	buildFlags(f, bopts, &bvals)
	deployFlags(f, dopts)
	dashboardFlag(f)
	f.Lookup("tail").DefValue = "true"
	dopts.Tail = true
	f.Lookup("disable-multi-platform-build").DefValue = "true"
	bvals.singlePlatform = true
	f.StringVar(&vopts.Trigger, "trigger", runner.TriggerNotify, "how changes are noticed: notify (file system events), polling, or manual (press Enter)")
	f.IntVarP(&vopts.PollInterval, "watch-poll-interval", "i", 1000, "milliseconds between two looks at the files with --trigger=polling")
	f.BoolVar(&vopts.AutoBuild, "auto-build", true, "rebuild on changes; when false, press Enter to rebuild")
	f.BoolVar(&vopts.AutoSync, "auto-sync", true, "sync changes that sync rules cover; when false, press Enter to sync")
	f.BoolVar(&vopts.AutoDeploy, "auto-deploy", true, "redeploy after a rebuild or a manifest change; when false, press Enter to redeploy")
	f.BoolVar(&vopts.Cleanup, "cleanup", true, "delete what "+cmd.Name()+" deployed when it exits")
	f.BoolVar(&vopts.KeepRunning, "keep-running-on-failure", false, "when the first load, build or deploy fails, wait for a fix instead of exiting")
	f.BoolVar(&vopts.HotSwap, "hot-swap", !debug, "serve a Go change of a ko artifact without a new pod: build the executable, swap it into the running containers and restart it there; when false, rebuild the image and redeploy")
	f.StringSliceVarP(&vopts.WatchImages, "watch-image", "w", nil, "act only on changes to the artifacts whose image contains one of these names (default all)")
	f.BoolVar(&renderOnly, "render-only", false, "not supported with "+cmd.Name()+": use skiff render")
	deprecate(f.Lookup("render-only"), "use skiff render")
	if debug {
		vopts.AutoBuild, vopts.AutoSync, vopts.AutoDeploy = false, false, false
		for _, name := range []string{"auto-build", "auto-sync", "auto-deploy"} {
			f.Lookup(name).DefValue = "false"
		}
		dopts.PortForward = []string{runner.ForwardUser, runner.ForwardDebug}
		f.Lookup("port-forward").DefValue = "[user,debug]"
		f.BoolVar(&dopts.Debug.Suspend, "suspend", false, "each debugged app waits for its debugger to attach before it starts")
	}
	addIgnoredFlags(cmd.Flags(), cmd.Name())
	return cmd
}

func (a *app) runDev(cmd *cobra.Command, bopts *runner.BuildOptions, dopts *DeployOptions, vopts *DevOptions) (err error) {
	ctx := cmd.Context()
	var deployed []*runner.Runner
	defer func() {
		deployed = slices.DeleteFunc(deployed, func(r *runner.Runner) bool { return !r.Touched() })
		if vopts.Cleanup && len(deployed) > 0 {
			if cerr := a.cleanup(cmd.Name(), deployed); cerr != nil {
				err = errors.Join(err, cerr)
			}
		}
	}()
	manual := a.enterPresses(ctx, vopts)
	retry := false
	for {
		r, err := a.engineFor(cmd, "dev", dopts)
		if err != nil {
			if !(retry || vopts.KeepRunning) || ctx.Err() != nil {
				return err
			}
			// The file changed again since the session checked it.
			fmt.Fprintf(a.streams.ErrOut, "ERROR: %v\nFix the file and save it again.\n", err)
			if err := a.waitForConfigChange(ctx); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
			continue
		}
		if !slices.ContainsFunc(deployed, func(d *runner.Runner) bool { return d.ID() == r.ID() }) {
			deployed = append(deployed, r)
		}
		if !retry {
			fmt.Fprintln(a.streams.ErrOut, "Press Ctrl+C to exit")
		}
		devOpts := runner.DevOptions{
			Build:        *bopts,
			Trigger:      vopts.Trigger,
			PollInterval: time.Duration(vopts.PollInterval) * time.Millisecond,
			AutoBuild:    vopts.AutoBuild,
			AutoSync:     vopts.AutoSync,
			AutoDeploy:   vopts.AutoDeploy,
			Watch:        vopts.WatchImages,
			Manual:       manual,
			Control:      a.control,
			CheckConfig: func() error {
				_, err := a.engineFor(cmd, "dev", dopts)
				return err
			},
			Retry:   retry || vopts.KeepRunning,
			HotSwap: vopts.HotSwap,
		}
		// Dev renders on every redeploy, and rendering may not notice
		// Ctrl-C: the cleanup must not wait for it.
		err = interruptibleErr(ctx, func() error { return r.Dev(ctx, devOpts) })
		if errors.Is(err, runner.ErrConfigChanged) && ctx.Err() == nil {
			retry = true
			continue
		}
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
}

// cleanup deletes what the dev runners deployed, with a context of its
// own: the command's has ended with Ctrl-C. It says what it waits for and
// for how long (cleanupWait), and gives up then; a second Ctrl-C ends the
// process at once (see cmd/skiff).
func (a *app) cleanup(command string, deployed []*runner.Runner) error {
	fmt.Fprintf(a.streams.ErrOut, "Cleaning up: deleting what %s deployed; waiting up to %s for it to go (press Ctrl+C again to stop waiting and exit)\n", command, cleanupWait)
	ctx, cancel := context.WithTimeout(context.Background(), cleanupWait+time.Second)
	defer cancel()
	var errs []error
	for _, r := range deployed {
		if err := r.Cleanup(ctx, cleanupWait); err != nil {
			errs = append(errs, fmt.Errorf("cleaning up: %w", err))
		}
	}
	if len(errs) == 0 {
		fmt.Fprintln(a.streams.ErrOut, "Cleanup complete")
	}
	return errors.Join(errs...)
}

// enterPresses returns a channel that receives a value for every line
// read from stdin, when a flag makes dev wait for Enter; nil otherwise.
func (a *app) enterPresses(ctx context.Context, vopts *DevOptions) <-chan struct{} {
	// The HTTP API may turn the auto switches off, and then Enter runs
	// what they hold back.
	if vopts.Trigger != runner.TriggerManual && vopts.AutoBuild && vopts.AutoSync && vopts.AutoDeploy && a.control == nil {
		return nil
	}
	if vopts.Trigger == runner.TriggerManual {
		fmt.Fprintln(a.streams.ErrOut, "Press Enter to act on the changes made since the last time (--trigger=manual)")
	}
	ch := make(chan struct{})
	go func() {
		s := bufio.NewScanner(a.streams.In)
		for s.Scan() {
			select {
			case ch <- struct{}{}:
			case <-ctx.Done():
				return
			}
		}
	}()
	return ch
}

// waitForConfigChange waits until the config file is written again; it
// returns ctx's error when ctx ends first.
func (a *app) waitForConfigChange(ctx context.Context) error {
	file, err := config.ResolveFile(a.global.filename)
	if err != nil {
		return err
	}
	return runner.WaitForChange(ctx, file)
}
