package schema

// DockerArtifact builds an image from a Dockerfile.
type DockerArtifact struct {
	// DockerfilePath is the Dockerfile, relative to the context; defaults
	// to "Dockerfile".
	DockerfilePath string `yaml:"dockerfile,omitempty"`
	// Target is the Dockerfile stage to build.
	Target string `yaml:"target,omitempty"`
	// BuildArgs are values for ARG instructions; a nil value passes the
	// variable from the environment. Values are templates that also see
	// IMAGE_REPO, IMAGE_NAME and IMAGE_TAG of required artifacts.
	BuildArgs map[string]*string `yaml:"buildArgs,omitempty" skiff:"template"`
	// NetworkMode is the build's network: host, bridge, none,
	// container:<name|id> or a user-defined network.
	NetworkMode string `yaml:"network,omitempty"`
	// AddHost adds host:ip entries to the build's /etc/hosts.
	AddHost []string `yaml:"addHost,omitempty"`
	// CacheFrom lists images used as cache sources.
	CacheFrom []string `yaml:"cacheFrom,omitempty"`
	// CliFlags are extra flags for `docker build` (docker CLI builds only).
	CliFlags []string `yaml:"cliFlags,omitempty" skiff:"template"`
	// PullParent pulls the base image even when an older one is present.
	PullParent bool `yaml:"pullParent,omitempty"`
	// NoCache builds without the layer cache.
	NoCache bool `yaml:"noCache,omitempty"`
	// Squash squashes the new layers into one.
	Squash bool `yaml:"squash,omitempty"`
	// Secrets are build secrets (--secret); they need BuildKit.
	Secrets []*DockerSecret `yaml:"secrets,omitempty"`
	// SSH forwards an SSH agent or keys to the build (--ssh), in the form
	// default|<id>[=<socket>|<key>[,<key>]].
	SSH string `yaml:"ssh,omitempty"`
}

// DockerSecret is a BuildKit build secret, read from a file or a variable.
type DockerSecret struct {
	// ID is the secret's id in the Dockerfile.
	ID string `yaml:"id,omitempty"`
	// Source is the local file holding the secret.
	Source string `yaml:"src,omitempty" oneof:"secretSource"`
	// Env is the environment variable holding the secret.
	Env string `yaml:"env,omitempty" oneof:"secretSource"`
}

// BazelArtifact builds an image with Bazel.
type BazelArtifact struct {
	// BuildTarget is the `bazel build` target producing an image tarball,
	// e.g. //:app.tar.
	BuildTarget string `yaml:"target,omitempty"`
	// BuildArgs are extra arguments for `bazel build`.
	BuildArgs []string `yaml:"args,omitempty"`
	// PlatformMappings map target platforms to Bazel --platforms targets.
	PlatformMappings []BazelPlatformMapping `yaml:"platforms,omitempty"`
}

// BazelPlatformMapping maps one target platform to a Bazel platform target.
type BazelPlatformMapping struct {
	// Platform is the target platform, e.g. linux/amd64.
	Platform string `yaml:"platform,omitempty"`
	// BazelPlatformTarget is the Bazel platform target, e.g.
	// //platforms:linux_amd64.
	BazelPlatformTarget string `yaml:"target,omitempty"`
}

// KoArtifact builds a Go program into an image the way ko does: no
// Dockerfile and no daemon.
type KoArtifact struct {
	// BaseImage is the base image; defaults to ko's
	// (gcr.io/distroless/static:nonroot).
	BaseImage string `yaml:"fromImage,omitempty"`
	// Dependencies are the files watched for rebuilds and sync.
	Dependencies *KoDependencies `yaml:"dependencies,omitempty"`
	// Dir is where `go build` runs, relative to the context.
	Dir string `yaml:"dir,omitempty"`
	// Env are KEY=value variables for the build (not the image).
	Env []string `yaml:"env,omitempty" skiff:"template"`
	// Flags are extra `go build` flags.
	Flags []string `yaml:"flags,omitempty" skiff:"template"`
	// Labels are added to the image config.
	Labels map[string]string `yaml:"labels,omitempty" skiff:"template"`
	// Ldflags are linker flags.
	Ldflags []string `yaml:"ldflags,omitempty" skiff:"template"`
	// Main is the main package to build, relative to the context;
	// defaults to ".". Ignored when the image name starts with ko://.
	Main string `yaml:"main,omitempty"`
}

// KoDependencies are the files a ko artifact depends on.
type KoDependencies struct {
	// Paths are globs of dependencies; defaults to ["**/*.go"].
	Paths []string `yaml:"paths,omitempty"`
	// Ignore are globs excluded from Paths.
	Ignore []string `yaml:"ignore,omitempty"`
}

// JibArtifact builds a Java project with the Jib Maven or Gradle plugin.
type JibArtifact struct {
	// Project is the module of a multi-module build.
	Project string `yaml:"project,omitempty"`
	// Flags are extra arguments for Maven or Gradle.
	Flags []string `yaml:"args,omitempty"`
	// Type is maven or gradle; empty means detected.
	Type string `yaml:"type,omitempty"`
	// BaseImage overrides Jib's base image.
	BaseImage string `yaml:"fromImage,omitempty"`
}

// KanikoArtifact builds from a Dockerfile with kaniko in a cluster pod.
type KanikoArtifact struct {
	// Cleanup cleans the filesystem at the end of the build.
	Cleanup bool `yaml:"cleanup,omitempty"`
	// Insecure pushes to plain-HTTP registries.
	Insecure bool `yaml:"insecure,omitempty"`
	// InsecurePull pulls from plain-HTTP registries.
	InsecurePull bool `yaml:"insecurePull,omitempty"`
	// Force builds outside a container.
	Force bool `yaml:"force,omitempty"`
	// LogTimestamp adds timestamps to kaniko's log.
	LogTimestamp bool `yaml:"logTimestamp,omitempty"`
	// Reproducible strips timestamps from the image.
	Reproducible bool `yaml:"reproducible,omitempty"`
	// SingleSnapshot takes one snapshot at the end, adding one layer.
	SingleSnapshot bool `yaml:"singleSnapshot,omitempty"`
	// SkipTLS skips TLS verification when pushing.
	SkipTLS bool `yaml:"skipTLS,omitempty"`
	// SkipTLSVerifyPull skips TLS verification when pulling.
	SkipTLSVerifyPull bool `yaml:"skipTLSVerifyPull,omitempty"`
	// SkipUnusedStages builds only the stages the target needs.
	SkipUnusedStages bool `yaml:"skipUnusedStages,omitempty"`
	// UseNewRun uses kaniko's experimental RUN change detection.
	UseNewRun bool `yaml:"useNewRun,omitempty"`
	// WhitelistVarRun leaves /var/run out of snapshots.
	WhitelistVarRun bool `yaml:"whitelistVarRun,omitempty"`
	// DockerfilePath is the Dockerfile, relative to the context; defaults
	// to "Dockerfile".
	DockerfilePath string `yaml:"dockerfile,omitempty"`
	// Target is the Dockerfile stage to build.
	Target string `yaml:"target,omitempty"`
	// InitImage is the image of the init container that receives the
	// build context.
	InitImage string `yaml:"initImage,omitempty"`
	// Image is the kaniko executor image.
	Image string `yaml:"image,omitempty"`
	// ImagePullSecret is the secret for pulling the kaniko and init images.
	ImagePullSecret string `yaml:"imagePullSecret,omitempty"`
	// Destination are extra tags to push.
	Destination []string `yaml:"destination,omitempty"`
	// DigestFile is a file in the pod that receives the image digest.
	DigestFile string `yaml:"digestFile,omitempty"`
	// ImageFSExtractRetry is how often extracting a base image is retried.
	ImageFSExtractRetry string `yaml:"imageFSExtractRetry,omitempty"`
	// ImageNameWithDigestFile is a file in the pod that receives the image
	// name with its digest.
	ImageNameWithDigestFile string `yaml:"imageNameWithDigestFile,omitempty"`
	// LogFormat is text, color or json.
	LogFormat string `yaml:"logFormat,omitempty"`
	// OCILayoutPath is a directory in the pod that receives the image as
	// an OCI layout.
	OCILayoutPath string `yaml:"ociLayoutPath,omitempty"`
	// RegistryMirror replaces index.docker.io.
	RegistryMirror string `yaml:"registryMirror,omitempty"`
	// SnapshotMode is how kaniko detects filesystem changes.
	SnapshotMode string `yaml:"snapshotMode,omitempty"`
	// PushRetry is how often a push is retried.
	PushRetry string `yaml:"pushRetry,omitempty"`
	// TarPath saves the image as a tarball instead of pushing it.
	TarPath string `yaml:"tarPath,omitempty"`
	// Verbosity is kaniko's log level (panic ... trace).
	Verbosity string `yaml:"verbosity,omitempty"`
	// InsecureRegistry lists registries reached over plain HTTP.
	InsecureRegistry []string `yaml:"insecureRegistry,omitempty"`
	// SkipTLSVerifyRegistry lists registries whose TLS is not verified.
	SkipTLSVerifyRegistry []string `yaml:"skipTLSVerifyRegistry,omitempty"`
	// Env are environment variables of the kaniko pod.
	Env []EnvVar `yaml:"env,omitempty"`
	// Cache configures kaniko's layer cache.
	Cache *KanikoCache `yaml:"cache,omitempty"`
	// RegistryCertificate maps a registry to a certificate file for TLS.
	RegistryCertificate map[string]*string `yaml:"registryCertificate,omitempty"`
	// Label sets image labels, like LABEL in the Dockerfile.
	Label map[string]*string `yaml:"label,omitempty"`
	// BuildArgs are values for ARG instructions; values are templates that
	// also see IMAGE_REPO, IMAGE_NAME and IMAGE_TAG of required artifacts.
	BuildArgs map[string]*string `yaml:"buildArgs,omitempty" skiff:"template"`
	// VolumeMounts are mounts added to the kaniko container.
	VolumeMounts []VolumeMount `yaml:"volumeMounts,omitempty"`
	// ContextSubPath is a directory inside the context used as the build
	// context (relative to the context, not to the config file).
	ContextSubPath string `yaml:"contextSubPath,omitempty"`
	// IgnorePaths are paths left out of snapshots.
	IgnorePaths []string `yaml:"ignorePaths,omitempty"`
	// CopyMaxRetries is how often copying the context to the pod is
	// retried; defaults to 3.
	CopyMaxRetries *int `yaml:"copyMaxRetries,omitempty"`
	// CopyTimeout bounds copying the context to the pod; defaults to 5m.
	CopyTimeout string `yaml:"copyTimeout,omitempty"`
	// BuildContextCompressionLevel is the gzip level (-2 to 9) of the
	// context sent to the pod; defaults to 1.
	BuildContextCompressionLevel *int `yaml:"buildContextCompressionLevel,omitempty"`
}

// KanikoCache configures kaniko's remote layer cache.
type KanikoCache struct {
	// Repo is the repository cached layers are stored in; defaults to one
	// derived from the image name.
	Repo string `yaml:"repo,omitempty"`
	// HostPath is a node directory, prepared with kaniko-warmer, mounted
	// read-only as a base-image cache.
	HostPath string `yaml:"hostPath,omitempty"`
	// TTL is how long cached layers stay valid (hours, e.g. "6h").
	TTL string `yaml:"ttl,omitempty"`
	// CacheCopyLayers also caches COPY layers.
	CacheCopyLayers bool `yaml:"cacheCopyLayers,omitempty"`
	// CacheRunLayers caches RUN layers; unset means true.
	CacheRunLayers *bool `yaml:"cacheRunLayers,omitempty"`
}

// EnvVar is an environment variable of a pod (core/v1 EnvVar).
type EnvVar struct {
	// Name is the variable's name.
	Name string `yaml:"name,omitempty"`
	// Value is the variable's value.
	Value string `yaml:"value,omitempty" skiff:"template"`
	// ValueFrom takes the value from a secret, config map or field
	// (core/v1 EnvVarSource, kept as generic YAML).
	ValueFrom any `yaml:"valueFrom,omitempty"`
}

// VolumeMount mounts a pod volume into a container (core/v1 VolumeMount).
type VolumeMount struct {
	// Name is the volume's name.
	Name string `yaml:"name,omitempty"`
	// ReadOnly mounts the volume read-only.
	ReadOnly bool `yaml:"readOnly,omitempty"`
	// RecursiveReadOnly makes read-only mounts recursively read-only
	// (Disabled, IfPossible or Enabled).
	RecursiveReadOnly string `yaml:"recursiveReadOnly,omitempty"`
	// MountPath is where the volume appears in the container.
	MountPath string `yaml:"mountPath,omitempty"`
	// SubPath mounts a path inside the volume instead of its root.
	SubPath string `yaml:"subPath,omitempty"`
	// MountPropagation is None, HostToContainer or Bidirectional.
	MountPropagation string `yaml:"mountPropagation,omitempty"`
	// SubPathExpr is like SubPath with $(VAR) expansion.
	SubPathExpr string `yaml:"subPathExpr,omitempty"`
}

// BuildpackArtifact builds an image from source with Cloud Native
// Buildpacks.
type BuildpackArtifact struct {
	// Builder is the builder image.
	Builder string `yaml:"builder,omitempty"`
	// RunImage overrides the builder's run image.
	RunImage string `yaml:"runImage,omitempty"`
	// Env are KEY=value variables for the build.
	Env []string `yaml:"env,omitempty" skiff:"template"`
	// Buildpacks are the buildpacks to run, in order, instead of the
	// builder's detection.
	Buildpacks []string `yaml:"buildpacks,omitempty"`
	// TrustBuilder runs all lifecycle phases in one container with the
	// builder's credentials.
	TrustBuilder bool `yaml:"trustBuilder,omitempty"`
	// ClearCache starts the build with an empty cache.
	ClearCache bool `yaml:"clearCache,omitempty"`
	// ProjectDescriptor is the project.toml, relative to the context;
	// used when present.
	ProjectDescriptor string `yaml:"projectDescriptor,omitempty"`
	// Dependencies are the files watched for rebuilds and sync.
	Dependencies *BuildpackDependencies `yaml:"dependencies,omitempty"`
	// Volumes are host directories mounted into the build.
	Volumes []*BuildpackVolume `yaml:"volumes,omitempty"`
	// BuildArgs are extra arguments for `pack build`.
	BuildArgs []string `yaml:"buildArgs,omitempty"`
}

// BuildpackDependencies are the files a buildpacks artifact depends on.
type BuildpackDependencies struct {
	// Paths are globs of dependencies.
	Paths []string `yaml:"paths,omitempty"`
	// Ignore are globs excluded from Paths.
	Ignore []string `yaml:"ignore,omitempty"`
}

// BuildpackVolume mounts a host directory into a buildpacks build.
type BuildpackVolume struct {
	// Host is the host directory.
	Host string `yaml:"host,omitempty" skiff:"path"`
	// Target is the mount point in the build container (not under /cnb
	// or /layers).
	Target string `yaml:"target,omitempty"`
	// Options are comma-separated mount options: ro (default), rw,
	// volume-opt=<key>=<value>.
	Options string `yaml:"options,omitempty"`
}

// CustomArtifact builds an image by running a user's command, which
// receives the image name in $IMAGE and must build (and push) it.
type CustomArtifact struct {
	// BuildCommand is the command that builds the image.
	BuildCommand string `yaml:"buildCommand,omitempty" skiff:"template"`
	// Dependencies are the files watched for rebuilds and sync.
	Dependencies *CustomDependencies `yaml:"dependencies,omitempty"`
}

// CustomDependencies says which files a custom build depends on: at most
// one of dockerfile, command and paths may be set.
type CustomDependencies struct {
	// Dockerfile takes the dependencies from a Dockerfile.
	Dockerfile *DockerfileDependency `yaml:"dockerfile,omitempty" oneof:"dependencies"`
	// Command prints the dependencies as a JSON array.
	Command string `yaml:"command,omitempty" oneof:"dependencies"`
	// Paths are globs of dependencies.
	Paths []string `yaml:"paths,omitempty" oneof:"dependencies"`
	// Ignore are globs excluded from Paths.
	Ignore []string `yaml:"ignore,omitempty"`
}

// DockerfileDependency takes a custom build's dependencies from a
// Dockerfile.
type DockerfileDependency struct {
	// Path is the Dockerfile, relative to the context.
	Path string `yaml:"path,omitempty"`
	// BuildArgs are values for ARG instructions used while reading it.
	BuildArgs map[string]*string `yaml:"buildArgs,omitempty" skiff:"template"`
}
