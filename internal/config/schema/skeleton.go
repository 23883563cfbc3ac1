// Package schema holds the Go types of the newest skaffold.yaml schema,
// skaffold/v4beta14: skiff's one configuration model. Every older
// apiVersion is upgraded into this shape before it is decoded.
package schema

// Version is the apiVersion these types describe.
const Version = "skaffold/v4beta14"

// SkaffoldConfig is one skaffold.yaml document.
type SkaffoldConfig struct {
	// APIVersion is the schema version the document is written in.
	APIVersion string `yaml:"apiVersion"`
	// Kind is always "Config".
	Kind string `yaml:"kind"`
	// Metadata names the config so other configs and -m can refer to it.
	Metadata Metadata `yaml:"metadata,omitempty"`
	// Dependencies are other configs this one requires.
	Dependencies []ConfigDependency `yaml:"requires,omitempty"`
	// Pipeline is the build, test, render and deploy description.
	Pipeline `yaml:",inline"`
	// Profiles are named overrides of the pipeline.
	Profiles []Profile `yaml:"profiles,omitempty"`
}

// Metadata identifies a config.
type Metadata struct {
	// Name is the config's name, used by requires.configs and -m.
	Name string `yaml:"name,omitempty"`
	// Labels are user-defined labels on the config.
	Labels map[string]string `yaml:"labels,omitempty"`
	// Annotations are user-defined annotations on the config.
	Annotations map[string]string `yaml:"annotations,omitempty"`
}

// Pipeline describes what to build, test, render, deploy and verify.
type Pipeline struct {
	// Build says how images are built.
	Build BuildConfig `yaml:"build,omitempty"`
	// Test lists tests run against built images.
	Test []*TestCase `yaml:"test,omitempty"`
	// Render says how manifests are produced.
	Render RenderConfig `yaml:"manifests,omitempty"`
	// Deploy says how manifests are applied.
	Deploy DeployConfig `yaml:"deploy,omitempty"`
	// PortForward lists resources whose ports are forwarded.
	PortForward []*PortForwardResource `yaml:"portForward,omitempty"`
	// ResourceSelector adds or removes resources from image replacement.
	ResourceSelector ResourceSelectorConfig `yaml:"resourceSelector,omitempty"`
	// Verify lists test containers run after deployment.
	Verify []*VerifyTestCase `yaml:"verify,omitempty"`
	// CustomActions lists user-defined actions run by `exec`.
	CustomActions []Action `yaml:"customActions,omitempty"`
}

// Profile is a named set of overrides applied on top of the pipeline.
type Profile struct {
	// Name identifies the profile.
	Name string `yaml:"name,omitempty"`
	// Activation lists conditions that activate the profile automatically.
	Activation []Activation `yaml:"activation,omitempty"`
	// RequiresAllActivations activates the profile only when every condition holds.
	RequiresAllActivations bool `yaml:"requiresAllActivations,omitempty"`
	// Patches are JSON patches applied to the pipeline.
	Patches []JSONPatch `yaml:"patches,omitempty"`
	// Pipeline replaces the matching sections of the base pipeline.
	Pipeline `yaml:",inline"`
}

// Activation is one condition under which a profile activates.
type Activation struct {
	// Env is a KEY=VALUE condition on an environment variable.
	Env string `yaml:"env,omitempty"`
	// KubeContext is the kube context the profile applies to.
	KubeContext string `yaml:"kubeContext,omitempty"`
	// Command is the command the profile applies to.
	Command string `yaml:"command,omitempty"`
}

// JSONPatch is one RFC 6902 operation applied to the pipeline.
type JSONPatch struct {
	// Op is the operation.
	Op string `yaml:"op,omitempty"`
	// Path is the target JSON pointer.
	Path string `yaml:"path,omitempty"`
	// From is the source pointer of move and copy.
	From string `yaml:"from,omitempty"`
	// Value is the value of add, replace and test.
	Value any `yaml:"value,omitempty"`
}

// ConfigDependency names another config this one requires.
type ConfigDependency struct {
	// Names are the required configs' names.
	Names []string `yaml:"configs,omitempty"`
	// Path is the file or directory holding the configs.
	Path string `yaml:"path,omitempty" oneof:"source" skiff:"path"`
	// GitRepo is a git repository holding the configs.
	GitRepo *GitInfo `yaml:"git,omitempty" oneof:"source"`
	// GoogleCloudStorageInfo is a Cloud Storage object holding the configs.
	GoogleCloudStorageInfo *GoogleCloudStorageInfo `yaml:"googleCloudStorage,omitempty" oneof:"source"`
	// ActiveProfiles are profiles to activate in the required configs.
	ActiveProfiles []ProfileDependency `yaml:"activeProfiles,omitempty"`
}

// ProfileDependency activates a profile of a required config.
type ProfileDependency struct {
	// Name is the profile to activate.
	Name string `yaml:"name,omitempty"`
	// ActivatedBy are this config's profiles that trigger it; empty means always.
	ActivatedBy []string `yaml:"activatedBy,omitempty"`
}

// GitInfo is a git repository (stub).
type GitInfo struct {
	// Repo is the repository URL.
	Repo string `yaml:"repo,omitempty"`
	// Path is the path inside the repository.
	Path string `yaml:"path,omitempty"`
	// Ref is the branch, tag or commit.
	Ref string `yaml:"ref,omitempty"`
	// Sync says whether to pull the repository again.
	Sync *bool `yaml:"sync,omitempty"`
}

// GoogleCloudStorageInfo is a Cloud Storage location (stub).
type GoogleCloudStorageInfo struct {
	// Source is the gs:// URL.
	Source string `yaml:"source,omitempty"`
	// Path is the path inside the downloaded source.
	Path string `yaml:"path,omitempty"`
	// Sync says whether to download again.
	Sync *bool `yaml:"sync,omitempty"`
}

// BuildConfig says how images are built.
type BuildConfig struct {
	// Artifacts are the images to build.
	Artifacts []*Artifact `yaml:"artifacts,omitempty"`
	// InsecureRegistries are registries reached over plain HTTP.
	InsecureRegistries []string `yaml:"insecureRegistries,omitempty"`
	// TagPolicy says how images are tagged.
	TagPolicy TagPolicy `yaml:"tagPolicy,omitempty"`
	// Platforms are the target platforms.
	Platforms []string `yaml:"platforms,omitempty"`
	// BuildType says where images are built.
	BuildType `yaml:",inline"`
}

// TagPolicy chooses one tagger.
type TagPolicy struct {
	// GitTagger tags with the git commit.
	GitTagger *GitTagger `yaml:"gitCommit,omitempty" oneof:"tagger"`
	// ShaTagger tags with the digest.
	ShaTagger *ShaTagger `yaml:"sha256,omitempty" oneof:"tagger"`
}

// GitTagger tags with git information (stub).
type GitTagger struct {
	// Variant chooses the git information used.
	Variant string `yaml:"variant,omitempty"`
}

// ShaTagger tags with "latest" and relies on the digest.
type ShaTagger struct{}

// BuildType chooses where images are built.
type BuildType struct {
	// LocalBuild builds on this machine.
	LocalBuild *LocalBuild `yaml:"local,omitempty" oneof:"buildType"`
	// GoogleCloudBuild builds on Google Cloud Build.
	GoogleCloudBuild *GoogleCloudBuild `yaml:"googleCloudBuild,omitempty" oneof:"buildType"`
	// Cluster builds in the Kubernetes cluster.
	Cluster *ClusterDetails `yaml:"cluster,omitempty" oneof:"buildType"`
}

// LocalBuild configures local builds.
type LocalBuild struct {
	// Push says whether to push images.
	Push *bool `yaml:"push,omitempty"`
	// TryImportMissing imports missing images from the registry.
	TryImportMissing bool `yaml:"tryImportMissing,omitempty"`
	// UseDockerCLI shells out to docker.
	UseDockerCLI bool `yaml:"useDockerCLI,omitempty"`
	// UseBuildkit turns BuildKit on or off.
	UseBuildkit *bool `yaml:"useBuildkit,omitempty"`
	// Concurrency is how many builds run at once; 0 means no limit.
	Concurrency *int `yaml:"concurrency,omitempty"`
}

// GoogleCloudBuild configures Cloud Build (stub).
type GoogleCloudBuild struct {
	// ProjectID is the GCP project.
	ProjectID string `yaml:"projectId,omitempty"`
}

// ClusterDetails configures in-cluster builds (stub).
type ClusterDetails struct {
	// Namespace is where build pods run.
	Namespace string `yaml:"namespace,omitempty"`
}

// Artifact is one image to build.
type Artifact struct {
	// ImageName is the image name.
	ImageName string `yaml:"image,omitempty"`
	// Workspace is the build context directory.
	Workspace string `yaml:"context,omitempty" skiff:"path"`
	// Sync lists files synced into running containers.
	Sync *Sync `yaml:"sync,omitempty"`
	// ArtifactType chooses the builder.
	ArtifactType `yaml:",inline"`
	// Dependencies are other artifacts this one requires.
	Dependencies []*ArtifactDependency `yaml:"requires,omitempty"`
	// LifecycleHooks run before and after the build.
	LifecycleHooks BuildHooks `yaml:"hooks,omitempty"`
	// Platforms override build.platforms for this artifact.
	Platforms []string `yaml:"platforms,omitempty"`
	// RuntimeType is the runtime for debug.
	RuntimeType string `yaml:"runtimeType,omitempty"`
}

// ArtifactType chooses one builder.
type ArtifactType struct {
	// DockerArtifact builds with a Dockerfile.
	DockerArtifact *DockerArtifact `yaml:"docker,omitempty" oneof:"builder"`
	// BazelArtifact builds with Bazel.
	BazelArtifact *BazelArtifact `yaml:"bazel,omitempty" oneof:"builder"`
	// KoArtifact builds Go apps with ko.
	KoArtifact *KoArtifact `yaml:"ko,omitempty" oneof:"builder"`
	// JibArtifact builds Java apps with Jib.
	JibArtifact *JibArtifact `yaml:"jib,omitempty" oneof:"builder"`
	// KanikoArtifact builds with kaniko in the cluster.
	KanikoArtifact *KanikoArtifact `yaml:"kaniko,omitempty" oneof:"builder"`
	// BuildpackArtifact builds with Cloud Native Buildpacks.
	BuildpackArtifact *BuildpackArtifact `yaml:"buildpacks,omitempty" oneof:"builder"`
	// CustomArtifact builds with a user script.
	CustomArtifact *CustomArtifact `yaml:"custom,omitempty" oneof:"builder"`
}

// BuilderType names the artifact's builder, or "" when none is set.
func (a *Artifact) BuilderType() string {
	switch {
	case a.DockerArtifact != nil:
		return "docker"
	case a.BazelArtifact != nil:
		return "bazel"
	case a.KoArtifact != nil:
		return "ko"
	case a.JibArtifact != nil:
		return "jib"
	case a.KanikoArtifact != nil:
		return "kaniko"
	case a.BuildpackArtifact != nil:
		return "buildpacks"
	case a.CustomArtifact != nil:
		return "custom"
	}
	return ""
}

// ArtifactDependency is an artifact another one requires.
type ArtifactDependency struct {
	// ImageName is the required artifact's image.
	ImageName string `yaml:"image,omitempty"`
	// Alias is the build-arg or env name that receives the image.
	Alias string `yaml:"alias,omitempty"`
}

// DockerArtifact builds with a Dockerfile (stub).
type DockerArtifact struct {
	// DockerfilePath is the Dockerfile, relative to the context.
	DockerfilePath string `yaml:"dockerfile,omitempty"`
	// BuildArgs are Dockerfile ARG values.
	BuildArgs map[string]*string `yaml:"buildArgs,omitempty" skiff:"template"`
}

// BazelArtifact builds with Bazel (stub).
type BazelArtifact struct {
	// BuildTarget is the Bazel target.
	BuildTarget string `yaml:"target,omitempty"`
}

// KoArtifact builds with ko (stub).
type KoArtifact struct {
	// BaseImage is the base image.
	BaseImage string `yaml:"fromImage,omitempty"`
}

// JibArtifact builds with Jib (stub).
type JibArtifact struct {
	// Project is the module to build.
	Project string `yaml:"project,omitempty"`
}

// KanikoArtifact builds with kaniko (stub).
type KanikoArtifact struct {
	// DockerfilePath is the Dockerfile.
	DockerfilePath string `yaml:"dockerfile,omitempty"`
}

// BuildpackArtifact builds with buildpacks (stub).
type BuildpackArtifact struct {
	// Builder is the builder image.
	Builder string `yaml:"builder,omitempty"`
}

// CustomArtifact builds with a script (stub).
type CustomArtifact struct {
	// BuildCommand is the command to run.
	BuildCommand string `yaml:"buildCommand,omitempty"`
	// Dependencies say which files the build depends on.
	Dependencies *CustomDependencies `yaml:"dependencies,omitempty"`
}

// CustomDependencies says which files a custom build depends on (stub).
type CustomDependencies struct {
	// Dockerfile takes the dependencies from a Dockerfile.
	Dockerfile *DockerfileDependency `yaml:"dockerfile,omitempty"`
}

// DockerfileDependency takes dependencies from a Dockerfile (stub).
type DockerfileDependency struct {
	// Path is the Dockerfile.
	Path string `yaml:"path,omitempty"`
}

// Sync says how changed files reach running containers.
type Sync struct {
	// Manual lists explicit sync rules.
	Manual []*SyncRule `yaml:"manual,omitempty" oneof:"sync"`
	// Infer lists globs whose destinations come from the Dockerfile.
	Infer []string `yaml:"infer,omitempty" oneof:"sync"`
	// Auto lets the builder decide.
	Auto *bool `yaml:"auto,omitempty" oneof:"sync"`
}

// SyncRule maps local files to a container path.
type SyncRule struct {
	// Src is a glob of local files.
	Src string `yaml:"src,omitempty"`
	// Dest is the container directory.
	Dest string `yaml:"dest,omitempty"`
	// Strip is a prefix removed from synced paths.
	Strip string `yaml:"strip,omitempty"`
}

// BuildHooks run on the host around a build (stub).
type BuildHooks struct{}

// TestCase is a test of a built image (stub).
type TestCase struct {
	// ImageName is the image under test.
	ImageName string `yaml:"image,omitempty"`
}

// RenderConfig says how manifests are produced.
type RenderConfig struct {
	// Generate lists manifest sources.
	Generate `yaml:",inline"`
	// Output is where rendered manifests are written.
	Output string `yaml:"output,omitempty"`
}

// Generate lists manifest sources.
type Generate struct {
	// RawK8s are globs of plain manifests.
	RawK8s []string `yaml:"rawYaml,omitempty" skiff:"path"`
	// RemoteManifests are manifests read from the cluster.
	RemoteManifests []RemoteManifest `yaml:"remoteManifests,omitempty"`
	// Kustomize renders kustomizations.
	Kustomize *Kustomize `yaml:"kustomize,omitempty"`
	// Helm renders Helm charts.
	Helm *Helm `yaml:"helm,omitempty"`
	// Kpt renders kpt packages.
	Kpt []string `yaml:"kpt,omitempty" skiff:"path"`
}

// RemoteManifest is a manifest read from the cluster (stub).
type RemoteManifest struct {
	// Manifest is the resource reference.
	Manifest string `yaml:"manifest,omitempty"`
}

// Kustomize renders kustomizations (stub).
type Kustomize struct {
	// Paths are kustomization directories.
	Paths []string `yaml:"paths,omitempty" skiff:"template,path"`
}

// Helm renders Helm charts (stub).
type Helm struct{}

// DeployConfig says how manifests are applied.
type DeployConfig struct {
	// DeployType lists the deployers.
	DeployType `yaml:",inline"`
	// StatusCheck turns rollout status checking on or off.
	StatusCheck *bool `yaml:"statusCheck,omitempty"`
	// StatusCheckDeadlineSeconds bounds the status check.
	StatusCheckDeadlineSeconds int `yaml:"statusCheckDeadlineSeconds,omitempty"`
	// TolerateFailuresUntilDeadline keeps checking after failures until the deadline.
	TolerateFailuresUntilDeadline bool `yaml:"tolerateFailuresUntilDeadline,omitempty"`
	// KubeContext is the kube context deployed to.
	KubeContext string `yaml:"kubeContext,omitempty"`
	// Logs configures log streaming.
	Logs LogsConfig `yaml:"logs,omitempty"`
}

// DeployType lists the deployers.
type DeployType struct {
	// DockerDeploy runs containers on the docker daemon.
	DockerDeploy *DockerDeploy `yaml:"docker,omitempty"`
	// HelmDeploy installs Helm charts.
	HelmDeploy *HelmDeploy `yaml:"helm,omitempty"`
	// KptDeploy applies with kpt.
	KptDeploy *KptDeploy `yaml:"kpt,omitempty"`
	// KubectlDeploy applies with kubectl.
	KubectlDeploy *KubectlDeploy `yaml:"kubectl,omitempty"`
	// CloudRunDeploy deploys to Cloud Run.
	CloudRunDeploy *CloudRunDeploy `yaml:"cloudrun,omitempty"`
}

// DockerDeploy runs containers on docker (stub).
type DockerDeploy struct {
	// Images are the images to run.
	Images []string `yaml:"images,omitempty"`
}

// HelmDeploy installs Helm charts (stub).
type HelmDeploy struct{}

// KptDeploy applies with kpt (stub).
type KptDeploy struct {
	// Dir is the kpt package directory.
	Dir string `yaml:"dir,omitempty"`
}

// KubectlDeploy applies with kubectl (stub).
type KubectlDeploy struct {
	// DefaultNamespace is the namespace used when a manifest has none.
	DefaultNamespace *string `yaml:"defaultNamespace,omitempty" skiff:"template"`
}

// CloudRunDeploy deploys to Cloud Run (stub).
type CloudRunDeploy struct {
	// ProjectID is the GCP project.
	ProjectID string `yaml:"projectid,omitempty"`
}

// LogsConfig configures log streaming (stub).
type LogsConfig struct {
	// Prefix chooses the log line prefix.
	Prefix string `yaml:"prefix,omitempty"`
}

// PortForwardResource is one port to forward (stub).
type PortForwardResource struct {
	// Name is the resource name.
	Name string `yaml:"resourceName,omitempty" skiff:"template"`
	// Address is the local bind address.
	Address string `yaml:"address,omitempty"`
	// LocalPort is the local port.
	LocalPort int `yaml:"localPort,omitempty"`
}

// ResourceSelectorConfig adds and removes resources from image replacement (stub).
type ResourceSelectorConfig struct{}

// VerifyTestCase is a post-deploy test (stub).
type VerifyTestCase struct {
	// Name identifies the test.
	Name string `yaml:"name,omitempty"`
}

// Action is a custom action (stub).
type Action struct {
	// Name identifies the action.
	Name string `yaml:"name,omitempty"`
}
