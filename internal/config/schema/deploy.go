package schema

// DeployConfig says how rendered manifests are deployed and how the
// rollout is watched.
type DeployConfig struct {
	// DeployType lists the deployers; several may be used together.
	DeployType `yaml:",inline"`
	// StatusCheck turns waiting for the rollout on or off; unset means on.
	StatusCheck *bool `yaml:"statusCheck,omitempty"`
	// StatusCheckDeadlineSeconds bounds the wait for the rollout.
	StatusCheckDeadlineSeconds int `yaml:"statusCheckDeadlineSeconds,omitempty"`
	// TolerateFailuresUntilDeadline keeps waiting through failures (such
	// as crash loops) until the deadline instead of failing at once.
	TolerateFailuresUntilDeadline bool `yaml:"tolerateFailuresUntilDeadline,omitempty"`
	// KubeContext is the kube context to deploy to.
	KubeContext string `yaml:"kubeContext,omitempty"`
	// Logs says how container logs are printed.
	Logs LogsConfig `yaml:"logs,omitempty"`
}

// DeployType lists the deployers. Unlike builders they are not exclusive:
// several can deploy side by side.
type DeployType struct {
	// DockerDeploy runs the images as containers on the docker daemon.
	DockerDeploy *DockerDeploy `yaml:"docker,omitempty"`
	// HelmDeploy installs Helm releases with helm.
	HelmDeploy *HelmDeploy `yaml:"helm,omitempty"`
	// KptDeploy applies manifests with `kpt live apply`.
	KptDeploy *KptDeploy `yaml:"kpt,omitempty"`
	// KubectlDeploy applies the rendered manifests (kubectl apply).
	KubectlDeploy *KubectlDeploy `yaml:"kubectl,omitempty"`
	// CloudRunDeploy deploys Cloud Run services.
	CloudRunDeploy *CloudRunDeploy `yaml:"cloudrun,omitempty"`
}

// DockerDeploy runs images as containers on the docker daemon.
type DockerDeploy struct {
	// UseCompose deploys with docker compose.
	UseCompose bool `yaml:"useCompose,omitempty"`
	// Images are the images to run.
	Images []string `yaml:"images,omitempty"`
}

// HelmDeploy installs Helm releases with helm (upgrade --install).
type HelmDeploy struct {
	// Concurrency is how many releases install at once; 0 means no limit
	// and unset means 1.
	Concurrency *int `yaml:"concurrency,omitempty"`
	// Releases are the releases to install.
	Releases []HelmRelease `yaml:"releases,omitempty"`
	// Flags are extra helm command-line flags.
	Flags HelmDeployFlags `yaml:"flags,omitempty"`
	// LifecycleHooks run before and after every deploy.
	LifecycleHooks DeployHooks `yaml:"hooks,omitempty"`
}

// KptDeploy applies manifests with kpt.
type KptDeploy struct {
	// Dir is the directory passed to `kpt live apply`; defaults to the
	// hydrated output, <workdir>/.kpt-pipeline.
	Dir string `yaml:"dir,omitempty"`
	// ApplyFlags are extra flags for `kpt live apply`.
	ApplyFlags []string `yaml:"applyFlags,omitempty"`
	// Flags are kpt global flags.
	Flags []string `yaml:"flags,omitempty"`
	// Name is the inventory object's name.
	Name string `yaml:"name,omitempty"`
	// InventoryID is the inventory ID that annotates applied resources.
	InventoryID string `yaml:"inventoryID,omitempty"`
	// InventoryNamespace is the inventory object's namespace.
	InventoryNamespace string `yaml:"namespace,omitempty"`
	// Force updates inventory values in `kpt live init` even when set.
	Force bool `yaml:"force,omitempty"`
	// DefaultNamespace is the namespace of resources that name none.
	DefaultNamespace *string `yaml:"defaultNamespace,omitempty" skiff:"template"`
}

// KubectlDeploy applies the rendered manifests to the cluster.
type KubectlDeploy struct {
	// Flags are extra kubectl flags.
	Flags KubectlFlags `yaml:"flags,omitempty"`
	// RemoteManifests are resources in the cluster, as
	// [namespace:]kind/name, redeployed with the new images.
	RemoteManifests []string `yaml:"remoteManifests,omitempty"`
	// DefaultNamespace is the namespace of resources that name none,
	// unless the command line sets one.
	DefaultNamespace *string `yaml:"defaultNamespace,omitempty" skiff:"template"`
	// LifecycleHooks run before and after every deploy.
	LifecycleHooks DeployHooks `yaml:"hooks,omitempty"`
}

// KubectlFlags are extra kubectl flags, per operation.
type KubectlFlags struct {
	// Global are passed to every kubectl command.
	Global []string `yaml:"global,omitempty"`
	// Apply are passed when creating and updating resources.
	Apply []string `yaml:"apply,omitempty"`
	// Delete are passed when deleting resources.
	Delete []string `yaml:"delete,omitempty"`
	// DisableValidation turns off schema validation (--validate=false).
	DisableValidation bool `yaml:"disableValidation,omitempty"`
}

// CloudRunDeploy deploys Cloud Run services from the rendered manifests.
type CloudRunDeploy struct {
	// ProjectID is the GCP project of every service; empty means each
	// manifest's metadata.namespace.
	ProjectID string `yaml:"projectid,omitempty"`
	// Region is the Cloud Run region.
	Region string `yaml:"region,omitempty"`
	// LifecycleHooks run on the host before and after deploying.
	LifecycleHooks CloudRunDeployHooks `yaml:"hooks,omitempty"`
}

// LogsConfig says how container logs are printed.
type LogsConfig struct {
	// Prefix is container, podAndContainer, auto (the default: like
	// podAndContainer but without a pod name equal to the container's) or
	// none.
	Prefix string `yaml:"prefix,omitempty"`
	// JSONParse picks fields out of JSON log lines.
	JSONParse JSONParseConfig `yaml:"jsonParse,omitempty"`
}

// JSONParseConfig says which fields of JSON log lines are printed.
type JSONParseConfig struct {
	// Fields are the top-level fields printed.
	Fields []string `yaml:"fields,omitempty"`
}
