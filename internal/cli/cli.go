// Package cli is skiff's command line: it parses flags into options and
// calls the pipeline's stages. It never exits the process; Run returns an
// error and Main turns it into an exit code, so the whole CLI runs in
// process in tests.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/klog/v2"

	"skiff.dev/skiff/internal/config"
	"skiff.dev/skiff/internal/config/upgrade"
	"skiff.dev/skiff/internal/log"
	"skiff.dev/skiff/internal/runner"
)

// IOStreams are the standard streams a command reads and writes.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
}

// Option changes how Run runs; tests use them instead of the process state.
type Option func(*app)

// WithEnviron replaces the process environment (os.Environ) that flags,
// profiles and templates read.
func WithEnviron(environ []string) Option { return func(a *app) { a.environ = environ } }

// WithTerminalInput says whether standard input is a terminal, where
// skiff init may ask, instead of asking the input.
func WithTerminalInput(terminal bool) Option {
	return func(a *app) { a.terminalIn = func() bool { return terminal } }
}

// app is what every command shares: streams, environment and the global
// flags.
type app struct {
	streams IOStreams
	// args is the command line Run was given, and environ the environment.
	args    []string
	environ []string
	log     *log.Logger
	global  globalOptions
	// terminalIn says standard input is a terminal, where skiff init may
	// ask; nil asks the input itself (tests set it).
	terminalIn func() bool
	// id is the invocation's run id (runID).
	id string
	// events is the session's event stream (--event-log-file), nil when
	// nothing records it; see openEvents.
	events *eventLog
	// control drives skiff dev's loop from the HTTP API; nil without it.
	control *runner.Control
	// env is the environment with skaffold.env, and flagSources says where
	// each flag given came from ("flag --push", "env SKAFFOLD_PUSH"), as
	// prepare read them: diagnose shows it.
	env         config.Env
	flagSources map[string]string
}

// globalOptions are the flags every command accepts, spelled as Skaffold
// spells them.
type globalOptions struct {
	filename    string
	profiles    []string
	kubeContext string
	namespace   string
	modules     []string
	defaultRepo string
	// globalConfig is --config: the global config file (see
	// globalConfigFile).
	globalConfig string
	verbosity    string
	kubeconfig   string
	// profileAutoActivation and propagateProfiles are on by default, as
	// in Skaffold.
	profileAutoActivation bool
	propagateProfiles     bool
	forceColors           bool
}

// Run runs skiff with args (without the program name).
func Run(ctx context.Context, streams IOStreams, args []string, opts ...Option) error {
	a := &app{streams: streams, args: args, environ: os.Environ()}
	for _, o := range opts {
		o(a)
	}
	root := a.newRootCmd()
	// An unknown command is reported as such even when flags follow it
	// (cobra would report the first flag the root does not know).
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") && !strings.HasPrefix(args[0], "__") && findSub(root, args[0]) == nil && args[0] != "help" {
		return unknownCommand(root, args[0])
	}
	root.SetArgs(args)
	root.SetIn(streams.In)
	root.SetOut(streams.Out)
	root.SetErr(streams.ErrOut)
	err := root.ExecuteContext(ctx)
	return errors.Join(err, a.closeEvents())
}

// Main runs skiff, prints a failure to streams.ErrOut and returns the
// process exit code.
func Main(ctx context.Context, streams IOStreams, args []string) int {
	err := Run(ctx, streams, args)
	if err == nil {
		return ExitOK
	}
	fmt.Fprintf(streams.ErrOut, "ERROR: %v\n", err)
	var usage *UsageError
	if errors.As(err, &usage) {
		fmt.Fprintf(streams.ErrOut, "Run '%s --help' for usage.\n", strings.TrimSpace("skiff "+usage.Command))
		return ExitUsage
	}
	var missing *NotInSkiffError
	if errors.As(err, &missing) {
		return ExitUsage
	}
	return ExitFailure
}

// UsageError is a mistake in the command line (unknown flag, missing
// argument); it is reported with a pointer to --help.
type UsageError struct {
	Command string
	Err     error
}

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

func (a *app) newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "skiff",
		Short: "Build, deploy and develop applications on Kubernetes; reads skaffold.yaml",
		Long: `skiff takes an application from source to running on Kubernetes and keeps it
running while you edit it. It reads skaffold.yaml, so Skaffold projects run
unchanged.`,
		SilenceErrors:     true,
		SilenceUsage:      true,
		PersistentPreRunE: a.prepare,
		Args:              cobra.ArbitraryArgs,
		RunE:              runGroup,
		CompletionOptions: cobra.CompletionOptions{DisableDefaultCmd: true},
	}
	root.SetFlagErrorFunc(flagError)
	root.SetHelpCommand(newHelpCmd())
	g := &a.global
	pf := root.PersistentFlags()
	pf.StringVarP(&g.filename, "filename", "f", "", "path or URL to the config file (default skaffold.yaml, then skiff.yaml)")
	pf.StringSliceVarP(&g.profiles, "profile", "p", nil, "profiles to activate (comma list; -name deactivates)")
	pf.StringVar(&g.kubeContext, "kube-context", "", "the kubeconfig context to use")
	pf.StringVarP(&g.namespace, "namespace", "n", "", "the namespace to deploy to")
	pf.StringSliceVarP(&g.modules, "module", "m", nil, "only the configs (modules) with these names, and those they require")
	pf.StringVarP(&g.defaultRepo, "default-repo", "d", "", "the registry images are pushed to, prefixed to image names")
	pf.StringVarP(&g.verbosity, "verbosity", "v", "warn", "log level: error, warn, info, debug or trace")
	pf.StringVar(&g.kubeconfig, "kubeconfig", "", "the kubeconfig file (default KUBECONFIG, else ~/.kube/config)")
	pf.BoolVar(&g.profileAutoActivation, "profile-auto-activation", true, "activate profiles by their activation conditions; false: only -p and requires activate them")
	pf.BoolVar(&g.propagateProfiles, "propagate-profiles", true, "apply the -p profiles to required configs too; false: only to the configs of the root file")
	pf.BoolVar(&g.forceColors, "force-colors", false, "colour log prefixes even when the output is not a terminal")
	pf.Lookup("force-colors").Hidden = true
	addIgnoredFlags(pf, "")

	root.AddCommand(
		a.newVersionCmd(),
		a.newBuildCmd(),
		a.newRenderCmd(),
		a.newDeployCmd(),
		a.newRunCmd(),
		a.newDevCmd(),
		a.newDebugCmd(),
		a.newApplyCmd(),
		a.newDeleteCmd(),
		a.newDiagnoseCmd(),
		a.newFixCmd(),
		a.newSchemaCmd(),
		a.newCompletionCmd(),
		a.newOptionsCmd(),
		a.newInitCmd(),
		a.newInspectCmd(),
		a.newLintCmd(),
		a.newFilterCmd(),
		a.newConfigCmd(),
		a.newTestCmd(),
		a.newVerifyCmd(),
		a.newExecCmd(),
	)
	a.addGlobalConfigFlags(root)
	return root
}

// prepare runs before every command: flags not given on the command line
// are read from SKIFF_<FLAG> or SKAFFOLD_<FLAG> (from the environment,
// then skaffold.env), then the logger is set up.
func (a *app) prepare(cmd *cobra.Command, _ []string) error {
	// skaffold.env is read here, before any command: Ctrl-C stops
	// skiff even when reading it hangs.
	env, err := interruptible(cmd.Context(), func() (config.Env, error) { return config.NewEnv(a.environ, ".") })
	if err != nil {
		return err
	}
	var setErr error
	fromEnv := map[string]string{} // flag name -> the variable that set it
	a.env, a.flagSources = env, map[string]string{}
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if f.Changed {
			a.flagSources[f.Name] = "flag --" + f.Name
		}
		if f.Changed || f.Name == "help" || setErr != nil {
			return
		}
		name := strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		for _, prefix := range []string{"SKIFF_", "SKAFFOLD_"} {
			if v, ok := env[prefix+name]; ok {
				if err := f.Value.Set(v); err != nil {
					setErr = &UsageError{Command: commandName(cmd), Err: fmt.Errorf("%s%s=%q: %w", prefix, name, v, err)}
				}
				f.Changed = true
				fromEnv[f.Name] = prefix + name
				a.flagSources[f.Name] = "env " + prefix + name
				return
			}
		}
	})
	if setErr != nil {
		return setErr
	}
	level, err := log.ParseLevel(a.global.verbosity)
	if err != nil {
		if v, ok := fromEnv["verbosity"]; ok {
			err = fmt.Errorf("%s: %w", v, err)
		}
		return &UsageError{Command: commandName(cmd), Err: err}
	}
	a.log = log.New(a.streams.ErrOut, level)
	if ns, ok := env["SKAFFOLD_DEPLOY_NAMESPACE"]; ok && !cmd.Flags().Changed("namespace") && cmd.Flags().Lookup("namespace") != nil {
		a.log.Warnf("SKAFFOLD_DEPLOY_NAMESPACE is deprecated (as in Skaffold); use SKAFFOLD_NAMESPACE")
		a.global.namespace = ns
	}
	a.reportCompatFlags(cmd, fromEnv)
	if err := a.openEvents(cmd); err != nil {
		return err
	}
	// client-go logs through klog (an exec's "Copying stdin failed", a
	// watch that restarts) to the process's stderr; its lines are only
	// wanted when debugging, and then on ErrOut.
	routeKlog()
	klogOut := io.Discard
	if a.log.Enabled(log.LevelDebug) {
		klogOut = a.streams.ErrOut
	}
	klog.SetOutput(klogOut)
	return nil
}

// routeKlog makes klog write only to the writer klog.SetOutput gives, each
// line once: not to stderr (by default it writes its errors there even
// when told not to log to stderr), and not once per severity at or below
// the line's.
var routeKlog = sync.OnceFunc(func() {
	fs := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(fs)
	for name, value := range map[string]string{"logtostderr": "false", "alsologtostderr": "false", "stderrthreshold": "FATAL", "one_output": "true"} {
		if err := fs.Set(name, value); err != nil {
			panic(fmt.Sprintf("klog flag %s=%s: %v", name, value, err))
		}
	}
})

// loadConfig loads the project for command with the global flags; it
// returns when ctx ends (see interruptible).
func (a *app) loadConfig(ctx context.Context, command string) (*config.Project, error) {
	return interruptible(ctx, func() (*config.Project, error) { return a.load(command) })
}

// load loads the project for command with the global flags. The upgrade
// of an old apiVersion that dropped or changed something the config asks
// for is printed as a warning (skiff fix shows the whole upgrade).
func (a *app) load(command string) (*config.Project, error) {
	p, err := a.loadProject(command)
	if err != nil {
		return nil, err
	}
	if err := a.handOff(p); err != nil {
		return nil, err
	}
	a.events.listArtifacts(p)
	for _, n := range p.Notes {
		if msg, warn := upgrade.Warning(n); warn {
			a.log.Warnf("%s", msg)
		}
	}
	return p, nil
}

func (a *app) loadProject(command string) (*config.Project, error) {
	g := &a.global
	p, err := config.Load(config.Options{
		File:        g.filename,
		Profiles:    g.profiles,
		Modules:     g.modules,
		Command:     command,
		KubeContext: g.kubeContext,
		CurrentKubeContext: func() (string, error) {
			return runner.CurrentKubeContext(g.kubeconfig)
		},
		Environ:                 a.environ,
		NoProfileAutoActivation: !g.profileAutoActivation,
		NoProfilePropagation:    !g.propagateProfiles,
	})
	if err != nil {
		return nil, err
	}
	if err := a.applyGlobalConfig(p); err != nil {
		return nil, err
	}
	return p, nil
}

// noArgs rejects positional arguments as a usage error.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return &UsageError{Command: commandName(cmd), Err: fmt.Errorf("%q takes no arguments, got %q", cmd.CommandPath(), args)}
	}
	return nil
}
