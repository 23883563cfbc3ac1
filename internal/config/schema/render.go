package schema

// RenderConfig says where manifests come from and how they are hydrated.
type RenderConfig struct {
	// Generate lists the manifest sources.
	Generate `yaml:",inline"`
	// Transform lists kpt transformer functions run in order over the
	// manifests.
	Transform []Transformer `yaml:"transform,omitempty"`
	// Validate lists kpt validator functions run in order over the
	// manifests.
	Validate []Validator `yaml:"validate,omitempty"`
	// Output is a file or directory the rendered manifests are written to.
	Output string `yaml:"output,omitempty"`
}

// Generate lists the sources of the manifests; several may be combined.
type Generate struct {
	// RawK8s are globs of plain manifest files, or URLs and gs:// objects.
	RawK8s []string `yaml:"rawYaml,omitempty" skiff:"template,path"`
	// RemoteManifests are resources read from a cluster.
	RemoteManifests []RemoteManifest `yaml:"remoteManifests,omitempty"`
	// Kustomize renders kustomizations.
	Kustomize *Kustomize `yaml:"kustomize,omitempty"`
	// Helm renders Helm charts with `helm template`; they are then applied
	// by the kubectl (or kpt) deployer, not by Helm.
	Helm *Helm `yaml:"helm,omitempty"`
	// Kpt are directories of kpt packages.
	Kpt []string `yaml:"kpt,omitempty" skiff:"path"`
	// LifecycleHooks run before and after every render.
	LifecycleHooks RenderHooks `yaml:"hooks,omitempty"`
}

// RemoteManifest is a resource read from a cluster, e.g. deployment/web.
type RemoteManifest struct {
	// Manifest is the resource, as [namespace:]kind/name.
	Manifest string `yaml:"manifest,omitempty"`
	// KubeContext is the kube context to read it from.
	KubeContext string `yaml:"kubeContext,omitempty"`
}

// Kustomize renders kustomizations.
type Kustomize struct {
	// Paths are the kustomization directories; defaults to ["."].
	Paths []string `yaml:"paths,omitempty" skiff:"template,path"`
	// BuildArgs are extra arguments for `kustomize build`.
	BuildArgs []string `yaml:"buildArgs,omitempty"`
}

// Helm renders Helm charts into manifests.
type Helm struct {
	// Flags are extra helm command-line flags.
	Flags HelmDeployFlags `yaml:"flags,omitempty"`
	// Releases are the charts to render.
	Releases []HelmRelease `yaml:"releases,omitempty"`
}

// Transformer is a kpt function that rewrites manifests.
type Transformer struct {
	// Name is the function; only an allowlisted set is accepted.
	Name string `yaml:"name,omitempty"`
	// ConfigMap are key:value settings for the function.
	ConfigMap []string `yaml:"configMap,omitempty"`
}

// Validator is a kpt function that checks manifests.
type Validator struct {
	// Name is the function; only an allowlisted set is accepted.
	Name string `yaml:"name,omitempty"`
	// ConfigMap are key:value settings for the function.
	ConfigMap []string `yaml:"configMap,omitempty"`
}

// HelmRelease is one Helm chart installed (or rendered) as a release.
type HelmRelease struct {
	// Name is the release name.
	Name string `yaml:"name,omitempty" skiff:"template"`
	// ChartPath is a local chart directory or packaged chart.
	ChartPath string `yaml:"chartPath,omitempty" oneof:"chartSource" skiff:"template,path"`
	// RemoteChart is a chart reference (repo/chart, oci:// or URL).
	RemoteChart string `yaml:"remoteChart,omitempty" oneof:"chartSource"`
	// ValuesFiles are values files passed with -f (gs:// allowed); they
	// are templates that also see the IMAGE_* variables of built images.
	ValuesFiles []string `yaml:"valuesFiles,omitempty" skiff:"template,path"`
	// Namespace is the release's namespace.
	Namespace string `yaml:"namespace,omitempty" skiff:"template"`
	// Version is the chart version.
	Version string `yaml:"version,omitempty" skiff:"template"`
	// SetValues are passed literally with --set; nested YAML is flattened
	// to dotted keys.
	SetValues FlatMap `yaml:"setValues,omitempty"`
	// SetValueTemplates are passed with --set after expansion; keys and
	// values are templates that also see the IMAGE_* variables of built
	// images (IMAGE_REPO_<name>, IMAGE_TAG_<name>, ...).
	SetValueTemplates FlatMap `yaml:"setValueTemplates,omitempty" skiff:"template"`
	// SetFiles are passed with --set-file: value key to local file.
	SetFiles map[string]string `yaml:"setFiles,omitempty" skiff:"path"`
	// CreateNamespace passes --create-namespace.
	CreateNamespace *bool `yaml:"createNamespace,omitempty"`
	// Wait passes --wait.
	Wait bool `yaml:"wait,omitempty"`
	// RecreatePods passes --recreate-pods on upgrades.
	RecreatePods bool `yaml:"recreatePods,omitempty"`
	// SkipBuildDependencies skips `helm dep build` (remote charts never
	// run it).
	SkipBuildDependencies bool `yaml:"skipBuildDependencies,omitempty"`
	// SkipTests leaves chart tests out of rendered manifests.
	SkipTests bool `yaml:"skipTests,omitempty"`
	// UseHelmSecrets runs helm through the helm-secrets plugin.
	UseHelmSecrets bool `yaml:"useHelmSecrets,omitempty"`
	// Repo is the chart repository of a remote chart (--repo).
	Repo string `yaml:"repo,omitempty" skiff:"template"`
	// UpgradeOnChange says whether the release is upgraded when sources
	// change; unset means true for local charts and false for remote ones.
	UpgradeOnChange *bool `yaml:"upgradeOnChange,omitempty"`
	// Overrides are values written to a generated values file passed
	// last; any YAML.
	Overrides map[string]any `yaml:"overrides,omitempty"`
	// Packaged packages the chart with `helm package` before installing.
	Packaged *HelmPackaged `yaml:"packaged,omitempty"`
	// DependsOn names releases that must be installed before this one.
	DependsOn []string `yaml:"dependsOn,omitempty"`
}

// HelmPackaged sets the versions `helm package` stamps on the chart.
type HelmPackaged struct {
	// Version is the chart version to set.
	Version string `yaml:"version,omitempty" skiff:"template"`
	// AppVersion is the appVersion to set.
	AppVersion string `yaml:"appVersion,omitempty" skiff:"template"`
}

// HelmDeployFlags are extra helm command-line flags, per subcommand.
type HelmDeployFlags struct {
	// Global are passed to every helm command.
	Global []string `yaml:"global,omitempty"`
	// Install are passed to `helm install`.
	Install []string `yaml:"install,omitempty"`
	// Upgrade are passed to `helm upgrade`.
	Upgrade []string `yaml:"upgrade,omitempty"`
	// DepBuild are passed to `helm dep build`.
	DepBuild []string `yaml:"depBuild,omitempty"`
	// Template are passed to `helm template`.
	Template []string `yaml:"template,omitempty"`
}
