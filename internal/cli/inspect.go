package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"skiff.dev/skiff/internal/config"
)

// inspectOptions are the flags of skiff inspect's subcommands beyond the
// global ones (-f, -m, -p, --propagate-profiles).
type inspectOptions struct {
	format     string
	all        bool   // modules list -a
	buildEnv   string // profiles list --build-env
	profileOne string // build-env add/modify -p (not supported)
}

// The JSON that skiff inspect prints, in Skaffold's shapes (its
// pkg/skaffold/inspect), which IDE plugins and CI scripts read.
type (
	inspectModules struct {
		Modules []inspectModule `json:"modules"`
	}
	inspectModule struct {
		Name     string `json:"name"`
		Path     string `json:"path"`
		IsRemote bool   `json:"isRemote,omitempty"`
		IsRoot   bool   `json:"isRoot,omitempty"`
	}
	inspectProfiles struct {
		Profiles []inspectProfile `json:"profiles"`
	}
	inspectProfile struct {
		Name   string `json:"name"`
		Path   string `json:"path"`
		Module string `json:"module,omitempty"`
	}
	inspectBuildEnvs struct {
		BuildEnvs []inspectBuildEnv `json:"build_envs"`
	}
	inspectBuildEnv struct {
		Type   string `json:"type"`
		Path   string `json:"path"`
		Module string `json:"module,omitempty"`
	}
	inspectTests struct {
		Tests []any `json:"tests"`
	}
	inspectCustomTest struct {
		TestType       string                   `json:"testType"`
		Command        string                   `json:"command"`
		TimeoutSeconds int                      `json:"timeoutSeconds,omitempty"`
		Dependencies   *inspectTestDependencies `json:"dependencies,omitempty"`
	}
	inspectTestDependencies struct {
		Command string   `json:"command,omitempty"`
		Paths   []string `json:"paths,omitempty" `
		Ignore  []string `json:"ignore,omitempty"`
	}
	inspectStructureTest struct {
		TestType          string   `json:"testType"`
		StructureTest     string   `json:"structureTest"`
		StructureTestArgs []string `json:"structureTestArgs"`
	}
	inspectNamespaces struct {
		ResourceToInfoMap map[string][]inspectResource `json:"resourceToInfoMap"`
	}
	inspectResource struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	}
	inspectJobManifestPaths struct {
		VerifyJobManifestPaths       map[string]string `json:"verifyJobManifestPaths"`
		CustomActionJobManifestPaths map[string]string `json:"customActionJobManifestPaths"`
	}
	inspectExecutionModes struct {
		VerifyExecutionModes        map[string]string `json:"verifyExecutionModes"`
		CustomActionsExecutionModes map[string]string `json:"customActionsExecutionModes"`
	}
	// inspectError is how Skaffold's inspect reports a failure on stdout.
	inspectError struct {
		ErrorCode    string `json:"errorCode"`
		ErrorMessage string `json:"errorMessage"`
	}
)

func (a *app) newInspectCmd() *cobra.Command {
	opts := &inspectOptions{}
	cmd := &cobra.Command{
		Use:   "inspect",
		Short: "Print what the configuration holds as JSON, as Skaffold's inspect does (for IDEs and scripts)",
		Long: `Print facts of the configuration as JSON, in the shapes of Skaffold's inspect
command: modules, profiles, build environments, tests, the namespaces of a
rendered manifest, the verify and custom action job manifests and execution
modes. A failure is printed as JSON too ({"errorCode", "errorMessage"}) and
exits non-zero.`,
		Args: cobra.ArbitraryArgs,
		RunE: runGroup,
	}
	cmd.PersistentFlags().StringVarP(&opts.format, "format", "o", "json", "output format: json (the only one)")

	list := func(use, short string, args cobra.PositionalArgs, run func(cmd *cobra.Command, args []string) (any, error)) *cobra.Command {
		return &cobra.Command{
			Use:   use,
			Short: short,
			Args:  args,
			RunE: func(cmd *cobra.Command, args []string) error {
				if opts.format != "json" {
					return usageError(cmd, "--format %q: skiff inspect prints json only", opts.format)
				}
				v, err := run(cmd, args)
				if err != nil {
					var usage *UsageError
					if !errors.As(err, &usage) {
						_ = json.NewEncoder(a.streams.Out).Encode(inspectError{ErrorCode: "INSPECT_UNKNOWN_ERR", ErrorMessage: err.Error()})
					}
					return err
				}
				return json.NewEncoder(a.streams.Out).Encode(v)
			},
		}
	}
	group := func(use, short string, subs ...*cobra.Command) *cobra.Command {
		c := &cobra.Command{Use: use, Short: short, Args: cobra.ArbitraryArgs, RunE: runGroup}
		c.AddCommand(subs...)
		return c
	}
	noEdit := func(use, what string) *cobra.Command {
		return &cobra.Command{
			Use:                use,
			Short:              what + " (not in skiff: edit skaffold.yaml)",
			Hidden:             true,
			DisableFlagParsing: true,
			RunE: func(cmd *cobra.Command, _ []string) error {
				return &NotInSkiffError{Command: cmd.CommandPath(), Instead: "skiff inspect only reads the configuration; edit skaffold.yaml by hand (skiff schema get prints its schema)"}
			},
		}
	}

	modulesList := list("list", "List the configs' modules (named configs; -a: unnamed too)", noArgs, func(cmd *cobra.Command, _ []string) (any, error) {
		return a.inspectModules(cmd, opts)
	})
	modulesList.Flags().BoolVarP(&opts.all, "all", "a", false, "include unnamed configs, as __config_<index>")
	profilesList := list("list", "List the profiles every config defines", noArgs, func(cmd *cobra.Command, _ []string) (any, error) {
		return a.inspectProfiles(cmd, opts)
	})
	profilesList.Flags().StringVar(&opts.buildEnv, "build-env", "", "only the profiles whose build environment is this: local, googleCloudBuild or cluster")
	buildEnvAdd := group("add", "Add a build environment (not in skiff)", noEdit("local", "Add a local build environment"), noEdit("googleCloudBuild", "Add a googleCloudBuild build environment"), noEdit("cluster", "Add a cluster build environment"))
	buildEnvModify := group("modify", "Modify a build environment (not in skiff)", noEdit("googleCloudBuild", "Modify a googleCloudBuild build environment"))
	for _, c := range []*cobra.Command{buildEnvAdd, buildEnvModify} {
		c.Hidden = true
		c.PersistentFlags().StringVarP(&opts.profileOne, "profile", "p", "", "the profile to change")
	}

	cmd.AddCommand(
		group("modules", "The configs' modules", modulesList),
		group("profiles", "The configs' profiles", profilesList),
		group("build-env", "The configs' build environments",
			list("list", "List the build environment of every config (with the -p profiles applied)", noArgs, func(cmd *cobra.Command, _ []string) (any, error) {
				return a.inspectBuildEnvs(cmd)
			}),
			buildEnvAdd, buildEnvModify),
		group("tests", "The configs' tests",
			list("list", "List the custom and structure tests of every config", noArgs, func(cmd *cobra.Command, _ []string) (any, error) {
				return a.inspectTests(cmd)
			})),
		group("namespaces", "The namespaces of rendered manifests",
			list("list MANIFEST-FILE", "List the Deployments of a rendered manifest file and the namespace each goes to", oneArg("the rendered manifest file"), func(cmd *cobra.Command, args []string) (any, error) {
				return a.inspectNamespaces(cmd, args[0])
			})),
		group("jobManifestPaths", "The Job manifests of verify tests and custom actions",
			list("list", "List the jobManifestPath of every verify test and custom action run on the cluster", noArgs, func(cmd *cobra.Command, _ []string) (any, error) {
				return a.inspectJobManifestPaths(cmd)
			}),
			noEdit("modify", "Change the jobManifestPaths")),
		group("executionModes", "Where verify tests and custom actions run",
			list("list", "List the execution mode (local or kubernetesCluster) of every verify test and custom action", noArgs, func(cmd *cobra.Command, _ []string) (any, error) {
				return a.inspectExecutionModes(cmd)
			})),
		hidden(group("config-dependencies", "The configs' requires",
			noEdit("add", "Add config dependencies"))),
	)
	return cmd
}

// hidden hides c from help.
func hidden(c *cobra.Command) *cobra.Command {
	c.Hidden = true
	return c
}

// oneArg accepts exactly one argument, what, as a usage error otherwise.
func oneArg(what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != 1 {
			return usageError(cmd, "%q takes one argument, %s; got %d", cmd.CommandPath(), what, len(args))
		}
		return nil
	}
}

// inspectLoad loads the project for inspect (profiles from -p, modules
// from -m) and names its root file.
func (a *app) inspectLoad(cmd *cobra.Command) (*config.Project, string, error) {
	p, err := a.loadConfig(cmd.Context(), "inspect")
	if err != nil {
		return nil, "", err
	}
	root, err := config.ResolveFile(a.global.filename)
	return p, root, err
}

// sourceFile is where c comes from, as Skaffold's inspect names it: an
// absolute path.
func sourceFile(c *config.Config) string {
	if abs, err := filepath.Abs(c.File); err == nil {
		return abs
	}
	return c.File
}

func (a *app) inspectModules(cmd *cobra.Command, opts *inspectOptions) (any, error) {
	p, root, err := a.inspectLoad(cmd)
	if err != nil {
		return nil, err
	}
	out := inspectModules{Modules: []inspectModule{}}
	for _, c := range p.Configs {
		name := c.Metadata.Name
		if name == "" {
			if !opts.all {
				continue
			}
			name = fmt.Sprintf("__config_%d", c.Index)
		}
		out.Modules = append(out.Modules, inspectModule{Name: name, Path: sourceFile(c), IsRoot: c.File == root})
	}
	return out, nil
}

func (a *app) inspectProfiles(cmd *cobra.Command, opts *inspectOptions) (any, error) {
	switch opts.buildEnv {
	case "", "local", "googleCloudBuild", "cluster":
	default:
		return nil, usageError(cmd, "--build-env %q: use local, googleCloudBuild or cluster", opts.buildEnv)
	}
	p, _, err := a.inspectLoad(cmd)
	if err != nil {
		return nil, err
	}
	out := inspectProfiles{Profiles: []inspectProfile{}}
	for _, c := range p.Configs {
		for _, pr := range c.DefinedProfiles {
			if opts.buildEnv != "" && config.BuildEnvOf(&pr.Build.BuildType) != opts.buildEnv {
				continue
			}
			out.Profiles = append(out.Profiles, inspectProfile{Name: pr.Name, Path: sourceFile(c), Module: c.Metadata.Name})
		}
	}
	return out, nil
}

func (a *app) inspectBuildEnvs(cmd *cobra.Command) (any, error) {
	p, _, err := a.inspectLoad(cmd)
	if err != nil {
		return nil, err
	}
	out := inspectBuildEnvs{BuildEnvs: []inspectBuildEnv{}}
	for _, c := range p.Configs {
		out.BuildEnvs = append(out.BuildEnvs, inspectBuildEnv{Type: config.BuildEnvOf(&c.Build.BuildType), Path: sourceFile(c), Module: c.Metadata.Name})
	}
	return out, nil
}

func (a *app) inspectTests(cmd *cobra.Command) (any, error) {
	p, _, err := a.inspectLoad(cmd)
	if err != nil {
		return nil, err
	}
	out := inspectTests{Tests: []any{}}
	for _, c := range p.Configs {
		for _, t := range c.Test {
			if t == nil {
				continue
			}
			for _, ct := range t.CustomTests {
				e := inspectCustomTest{TestType: "custom-test", Command: ct.Command, TimeoutSeconds: ct.TimeoutSeconds}
				if d := ct.Dependencies; d != nil {
					e.Dependencies = &inspectTestDependencies{Command: d.Command, Paths: d.Paths, Ignore: d.Ignore}
				}
				out.Tests = append(out.Tests, e)
			}
			for _, st := range t.StructureTests {
				out.Tests = append(out.Tests, inspectStructureTest{TestType: "structure-test", StructureTest: st, StructureTestArgs: t.StructureTestArgs})
			}
		}
	}
	return out, nil
}

// maxInspectManifest bounds the manifest file inspect namespaces reads.
const maxInspectManifest = 64 << 20

func (a *app) inspectNamespaces(cmd *cobra.Command, file string) (any, error) {
	data, err := readBounded(file, maxInspectManifest)
	if err != nil {
		return nil, err
	}
	p, _, err := a.inspectLoad(cmd)
	if err != nil {
		return nil, err
	}
	// Objects naming no namespace go to the kubectl deployer's default
	// namespace, as Skaffold's apply would put them ("default" else).
	ns := p.DefaultNamespace()
	if ns == "" {
		ns = "default"
	}
	const deployments = "apps/v1, Kind=Deployment"
	out := inspectNamespaces{ResourceToInfoMap: map[string][]inspectResource{}}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var obj struct {
			APIVersion string `yaml:"apiVersion"`
			Kind       string `yaml:"kind"`
			Metadata   struct {
				Name      string `yaml:"name"`
				Namespace string `yaml:"namespace"`
			} `yaml:"metadata"`
		}
		err := dec.Decode(&obj)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		// Only Deployments, as in Skaffold.
		if obj.APIVersion != "apps/v1" || obj.Kind != "Deployment" {
			continue
		}
		r := inspectResource{Name: obj.Metadata.Name, Namespace: obj.Metadata.Namespace}
		if r.Namespace == "" {
			r.Namespace = ns
		}
		out.ResourceToInfoMap[deployments] = append(out.ResourceToInfoMap[deployments], r)
	}
	return out, nil
}

// readBounded reads file, failing when it is larger than limit.
func readBounded(file string, limit int64) ([]byte, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", file, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", file, limit)
	}
	return data, nil
}

func (a *app) inspectJobManifestPaths(cmd *cobra.Command) (any, error) {
	p, _, err := a.inspectLoad(cmd)
	if err != nil {
		return nil, err
	}
	out := inspectJobManifestPaths{VerifyJobManifestPaths: map[string]string{}, CustomActionJobManifestPaths: map[string]string{}}
	for _, c := range p.Configs {
		for _, v := range c.Verify {
			if v == nil {
				continue
			}
			if k := v.ExecutionMode.KubernetesClusterExecutionMode; k != nil && k.JobManifestPath != "" {
				out.VerifyJobManifestPaths[v.Name] = k.JobManifestPath
			}
		}
		for _, act := range c.CustomActions {
			if k := act.ExecutionModeConfig.KubernetesClusterExecutionMode; k != nil && k.JobManifestPath != "" {
				out.CustomActionJobManifestPaths[act.Name] = k.JobManifestPath
			}
		}
	}
	return out, nil
}

func (a *app) inspectExecutionModes(cmd *cobra.Command) (any, error) {
	p, _, err := a.inspectLoad(cmd)
	if err != nil {
		return nil, err
	}
	mode := func(onCluster bool) string {
		if onCluster {
			return "kubernetesCluster"
		}
		return "local"
	}
	out := inspectExecutionModes{VerifyExecutionModes: map[string]string{}, CustomActionsExecutionModes: map[string]string{}}
	for _, c := range p.Configs {
		for _, v := range c.Verify {
			if v != nil {
				out.VerifyExecutionModes[v.Name] = mode(v.ExecutionMode.KubernetesClusterExecutionMode != nil)
			}
		}
		for _, act := range c.CustomActions {
			out.CustomActionsExecutionModes[act.Name] = mode(act.ExecutionModeConfig.KubernetesClusterExecutionMode != nil)
		}
	}
	return out, nil
}
