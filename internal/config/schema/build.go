package schema

// BuildConfig says which images to build, where, and how to tag them.
type BuildConfig struct {
	// Hooks run on the host before and after the whole build phase.
	Hooks BuildHooks `yaml:"hooks,omitempty"`
	// Artifacts are the images to build.
	Artifacts []*Artifact `yaml:"artifacts,omitempty"`
	// InsecureRegistries are registries reached over plain HTTP.
	InsecureRegistries []string `yaml:"insecureRegistries,omitempty"`
	// TagPolicy chooses how built images are tagged; unset means gitCommit.
	TagPolicy TagPolicy `yaml:"tagPolicy,omitempty"`
	// Platforms are the os[/arch[/variant]] targets every artifact is
	// built for unless it sets its own.
	Platforms []string `yaml:"platforms,omitempty"`
	// BuildType chooses where the builds run.
	BuildType `yaml:",inline"`
}

// BuildType chooses where images are built: at most one may be set.
type BuildType struct {
	// LocalBuild builds on this machine and pushes or loads the result.
	LocalBuild *LocalBuild `yaml:"local,omitempty" oneof:"buildType"`
	// GoogleCloudBuild builds remotely on Google Cloud Build.
	GoogleCloudBuild *GoogleCloudBuild `yaml:"googleCloudBuild,omitempty" oneof:"buildType"`
	// Cluster builds in pods of the Kubernetes cluster (kaniko).
	Cluster *ClusterDetails `yaml:"cluster,omitempty" oneof:"buildType"`
}

// LocalBuild configures builds on this machine.
type LocalBuild struct {
	// Push says whether built images are pushed to a registry; unset means
	// push only when the cluster is not local.
	Push *bool `yaml:"push,omitempty"`
	// TryImportMissing looks for a missing cached image in the daemon or
	// the registry before rebuilding it.
	TryImportMissing bool `yaml:"tryImportMissing,omitempty"`
	// UseDockerCLI builds by running the docker command instead of calling
	// the Engine API.
	UseDockerCLI bool `yaml:"useDockerCLI,omitempty"`
	// UseBuildkit turns BuildKit on or off; unset keeps the daemon's default.
	UseBuildkit *bool `yaml:"useBuildkit,omitempty"`
	// Concurrency is how many artifacts build at once; 0 means no limit and
	// unset means 1.
	Concurrency *int `yaml:"concurrency,omitempty"`
}

// GoogleCloudBuild configures remote builds on Google Cloud Build.
type GoogleCloudBuild struct {
	// ProjectID is the GCP project to build in; empty means the project
	// named in the image (gcr.io/<project>/...).
	ProjectID string `yaml:"projectId,omitempty"`
	// DiskSizeGb is the disk size of the build VM.
	DiskSizeGb int64 `yaml:"diskSizeGb,omitempty"`
	// MachineType is the machine type of the build VM.
	MachineType string `yaml:"machineType,omitempty"`
	// Timeout bounds each build (a duration such as "600s").
	Timeout string `yaml:"timeout,omitempty"`
	// Logging is the Cloud Build logging mode (LEGACY, GCS_ONLY, ...).
	Logging string `yaml:"logging,omitempty"`
	// LogStreamingOption says whether logs stream to Cloud Storage during
	// the build (STREAM_DEFAULT, STREAM_ON, STREAM_OFF).
	LogStreamingOption string `yaml:"logStreamingOption,omitempty"`
	// DockerImage is the builder image for docker artifacts.
	DockerImage string `yaml:"dockerImage,omitempty"`
	// KanikoImage is the builder image for kaniko artifacts.
	KanikoImage string `yaml:"kanikoImage,omitempty"`
	// MavenImage is the builder image for Jib Maven artifacts.
	MavenImage string `yaml:"mavenImage,omitempty"`
	// GradleImage is the builder image for Jib Gradle artifacts.
	GradleImage string `yaml:"gradleImage,omitempty"`
	// PackImage is the builder image for buildpacks artifacts.
	PackImage string `yaml:"packImage,omitempty"`
	// KoImage is the builder image for ko artifacts.
	KoImage string `yaml:"koImage,omitempty"`
	// Bucket is the Cloud Storage bucket the sources are staged in.
	Bucket string `yaml:"bucket,omitempty"`
	// Concurrency is how many artifacts build at once; 0 means no limit.
	Concurrency int `yaml:"concurrency,omitempty"`
	// WorkerPool is the private worker pool to build on.
	WorkerPool string `yaml:"workerPool,omitempty"`
	// Region is the region to build in; taken from WorkerPool when that is
	// set, and global when neither is.
	Region string `yaml:"region,omitempty"`
	// PlatformEmulatorInstallStep installs QEMU emulation before
	// cross-platform builds.
	PlatformEmulatorInstallStep *PlatformEmulatorInstallStep `yaml:"platformEmulatorInstallStep,omitempty"`
	// ServiceAccount is the service account the builds run as.
	ServiceAccount string `yaml:"serviceAccount,omitempty"`
}

// PlatformEmulatorInstallStep is the Cloud Build step that installs
// emulation for building other platforms.
type PlatformEmulatorInstallStep struct {
	// Image is the image that installs the emulators.
	Image string `yaml:"image,omitempty"`
	// Args are the arguments passed to the image.
	Args []string `yaml:"args,omitempty"`
	// Entrypoint overrides the image's entrypoint.
	Entrypoint string `yaml:"entrypoint,omitempty"`
}

// ClusterDetails configures builds that run as kaniko pods in the cluster.
type ClusterDetails struct {
	// HTTPProxy is the HTTP proxy the build pod uses.
	HTTPProxy string `yaml:"HTTP_PROXY,omitempty"`
	// HTTPSProxy is the HTTPS proxy the build pod uses.
	HTTPSProxy string `yaml:"HTTPS_PROXY,omitempty"`
	// PullSecretPath is a local Google service-account key file uploaded
	// as the pull secret.
	PullSecretPath string `yaml:"pullSecretPath,omitempty"`
	// PullSecretName is the secret used to pull base images and push the
	// result; defaults to kaniko-secret.
	PullSecretName string `yaml:"pullSecretName,omitempty"`
	// PullSecretMountPath is where the pull secret is mounted in the pod.
	PullSecretMountPath string `yaml:"pullSecretMountPath,omitempty"`
	// Namespace is where build pods run; empty means the current namespace.
	Namespace string `yaml:"namespace,omitempty"`
	// Timeout bounds each build (a duration; default 20m).
	Timeout string `yaml:"timeout,omitempty"`
	// DockerConfig mounts a docker config.json into the pod.
	DockerConfig *DockerConfig `yaml:"dockerConfig,omitempty"`
	// ServiceAccountName is the Kubernetes service account of the pod.
	ServiceAccountName string `yaml:"serviceAccount,omitempty"`
	// Tolerations are the pod's Kubernetes tolerations.
	Tolerations []Toleration `yaml:"tolerations,omitempty"`
	// NodeSelector is the pod's Kubernetes node selector.
	NodeSelector map[string]string `yaml:"nodeSelector,omitempty"`
	// Annotations are added to the pod.
	Annotations map[string]string `yaml:"annotations,omitempty"`
	// Labels are added to the pod.
	Labels map[string]string `yaml:"labels,omitempty"`
	// RunAsUser is the UID the pod runs as; unset leaves the security
	// context to the service account.
	RunAsUser *int64 `yaml:"runAsUser,omitempty"`
	// Resources are the pod's resource requests and limits.
	Resources *ResourceRequirements `yaml:"resources,omitempty"`
	// Concurrency is how many artifacts build at once; 0 means no limit.
	Concurrency int `yaml:"concurrency,omitempty"`
	// Volumes are Kubernetes volumes (core/v1 Volume objects, kept as
	// generic YAML) added to the pod, e.g. for ConfigMaps and Secrets.
	Volumes []map[string]any `yaml:"volumes,omitempty"`
	// RandomPullSecret appends a random suffix to the pull secret's name
	// so that parallel builds do not collide.
	RandomPullSecret bool `yaml:"randomPullSecret,omitempty"`
	// RandomDockerConfigSecret appends a random suffix to the docker
	// config secret's name so that parallel builds do not collide.
	RandomDockerConfigSecret bool `yaml:"randomDockerConfigSecret,omitempty"`
}

// DockerConfig says which docker config.json a build pod gets.
type DockerConfig struct {
	// Path is a local config.json to upload.
	Path string `yaml:"path,omitempty"`
	// SecretName is an existing Opaque secret holding config.json.
	SecretName string `yaml:"secretName,omitempty"`
}

// ResourceRequirements are a build pod's resource requests and limits.
type ResourceRequirements struct {
	// Requests are the resources the pod asks for.
	Requests *ResourceRequirement `yaml:"requests,omitempty"`
	// Limits are the most the pod may use.
	Limits *ResourceRequirement `yaml:"limits,omitempty"`
}

// ResourceRequirement is an amount of each resource, as Kubernetes
// quantities.
type ResourceRequirement struct {
	// CPU is a CPU quantity such as "2" or "200m".
	CPU string `yaml:"cpu,omitempty"`
	// Memory is a memory quantity such as "1Gi".
	Memory string `yaml:"memory,omitempty"`
	// EphemeralStorage is an ephemeral-storage quantity such as "1Gi".
	EphemeralStorage string `yaml:"ephemeralStorage,omitempty"`
	// ResourceStorage is a storage quantity such as "1Gi".
	ResourceStorage string `yaml:"resourceStorage,omitempty"`
}

// Toleration is a Kubernetes pod toleration (core/v1 Toleration).
type Toleration struct {
	// Key is the taint key tolerated; empty with Exists tolerates all.
	Key string `yaml:"key,omitempty"`
	// Operator is Exists or Equal (the default).
	Operator string `yaml:"operator,omitempty"`
	// Value is the taint value matched by Equal.
	Value string `yaml:"value,omitempty"`
	// Effect is the taint effect matched; empty matches all.
	Effect string `yaml:"effect,omitempty"`
	// TolerationSeconds is how long a NoExecute taint is tolerated.
	TolerationSeconds *int64 `yaml:"tolerationSeconds,omitempty"`
}
