package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"

	"skiff.dev/skiff/internal/config"
	"skiff.dev/skiff/internal/runner"
)

// DeployOptions are the flags shared by run, deploy, apply and delete.
type DeployOptions struct {
	StatusCheck bool
	Tail        bool
	PortForward []string
	// Debug is set by skiff debug and render --debug.
	Debug *runner.DebugOptions
}

// deployFlags binds the flags of commands that deploy.
func deployFlags(f *pflag.FlagSet, opts *DeployOptions) {
	f.BoolVar(&opts.StatusCheck, "status-check", true, "wait for the deployed resources to be ready, failing fast when they cannot be")
	f.BoolVar(&opts.Tail, "tail", false, "stream the deployed containers' logs until Ctrl-C")
	f.StringSliceVar(&opts.PortForward, "port-forward", nil, "forward ports until Ctrl-C: user (the config's portForward), services, pods, debug (skiff debug's debug ports), off; alone means user,services; a local port that is taken gives way to the next free one")
	f.Lookup("port-forward").NoOptDefVal = "user,services"
}

func (a *app) newRunCmd() *cobra.Command {
	bopts := &runner.BuildOptions{}
	dopts := &DeployOptions{}
	var push bool
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Build the artifacts, deploy them and wait until the application is healthy",
		Long: `Build every artifact, render the manifests with the built images, apply them
with server-side apply (pruning what an earlier run of the project left
behind), and wait until the workloads are ready, failing fast with the reason
when they cannot become ready. With --tail or --port-forward, skiff then
streams logs and forwards ports until Ctrl-C.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cmd.Flags().Changed("push") {
				bopts.Push = &push
			}
			return a.runRun(cmd, bopts, dopts)
		},
	}
	f := cmd.Flags()
	buildFlags(f, bopts, &push)
	f.StringVarP(&bopts.Tag, "tag", "t", "", "use this tag for every image instead of the tag policy's")
	deployFlags(f, dopts)
	return cmd
}

func (a *app) runRun(cmd *cobra.Command, bopts *runner.BuildOptions, dopts *DeployOptions) error {
	ctx := cmd.Context()
	p, err := a.loadConfig(ctx, "run")
	if err != nil {
		return err
	}
	r, err := a.newRunner(cmd, p, dopts)
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
		return nil, &UsageError{Command: cmd.Name(), Err: err}
	}
	opts := a.engineOptions(p)
	opts.Tail = dopts.Tail
	opts.PortForward = modes
	opts.Debug = dopts.Debug
	if cmd.Flags().Changed("status-check") {
		opts.StatusCheck = &dopts.StatusCheck
	}
	r := runner.New(opts)
	if err := r.Check("manifests", "deploy", "portForward"); err != nil {
		return nil, err
	}
	return r, nil
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
		Namespace:   a.global.namespace,
		DefaultRepo: a.global.defaultRepo,
		Environ:     a.environ,
		Out:         a.streams.Out,
		ErrOut:      a.streams.ErrOut,
		Color:       isTerminal(a.streams.Out),
		Log:         a.log,
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
