package schema

// Artifact is one image to build, with its sources and its builder.
type Artifact struct {
	// ImageName is the name of the image, e.g. gcr.io/project/app; manifests
	// refer to it by this name.
	ImageName string `yaml:"image,omitempty"`
	// Workspace is the directory holding the artifact's sources; defaults
	// to ".".
	Workspace string `yaml:"context,omitempty" skiff:"path"`
	// Sync lists files copied into running containers instead of
	// rebuilding when they change.
	Sync *Sync `yaml:"sync,omitempty"`
	// ArtifactType chooses the builder; none means docker.
	ArtifactType `yaml:",inline"`
	// Dependencies are other artifacts this one is built from.
	Dependencies []*ArtifactDependency `yaml:"requires,omitempty"`
	// LifecycleHooks run before and after each build of this artifact.
	LifecycleHooks BuildHooks `yaml:"hooks,omitempty"`
	// Platforms are the os[/arch[/variant]] targets of this artifact,
	// overriding build.platforms.
	Platforms []string `yaml:"platforms,omitempty"`
	// RuntimeType is the language runtime debug configures (go, nodejs,
	// jvm, python or netcore); empty means inferred.
	RuntimeType string `yaml:"runtimeType,omitempty"`
}

// ArtifactType chooses how an artifact is built: at most one may be set.
type ArtifactType struct {
	// DockerArtifact builds from a Dockerfile.
	DockerArtifact *DockerArtifact `yaml:"docker,omitempty" oneof:"builder"`
	// BazelArtifact builds a Bazel image target.
	BazelArtifact *BazelArtifact `yaml:"bazel,omitempty" oneof:"builder"`
	// KoArtifact builds a Go program into an image without a Dockerfile.
	KoArtifact *KoArtifact `yaml:"ko,omitempty" oneof:"builder"`
	// JibArtifact builds a Java project with the Jib Maven or Gradle plugin.
	JibArtifact *JibArtifact `yaml:"jib,omitempty" oneof:"builder"`
	// KanikoArtifact builds from a Dockerfile with kaniko in the cluster.
	KanikoArtifact *KanikoArtifact `yaml:"kaniko,omitempty" oneof:"builder"`
	// BuildpackArtifact builds from source with Cloud Native Buildpacks.
	BuildpackArtifact *BuildpackArtifact `yaml:"buildpacks,omitempty" oneof:"builder"`
	// CustomArtifact builds by running a user's command.
	CustomArtifact *CustomArtifact `yaml:"custom,omitempty" oneof:"builder"`
}

// BuilderType names the artifact's builder by its YAML key ("docker",
// "bazel", "ko", "jib", "kaniko", "buildpacks" or "custom"), or returns ""
// when none is set.
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

// ArtifactDependency is another artifact that an artifact is built from.
type ArtifactDependency struct {
	// ImageName is the required artifact's image.
	ImageName string `yaml:"image,omitempty"`
	// Alias is the name under which the builder receives the required
	// image's reference (a build arg for docker); defaults to ImageName.
	Alias string `yaml:"alias,omitempty"`
}

// Sync says how changed files reach running containers without a rebuild:
// at most one of manual, infer and auto may be set.
type Sync struct {
	// Manual lists explicit rules from local globs to container paths.
	Manual []*SyncRule `yaml:"manual,omitempty" oneof:"sync"`
	// Infer lists globs whose container destinations are inferred from
	// the Dockerfile's COPY/ADD (docker, kaniko, custom with a Dockerfile).
	Infer []string `yaml:"infer,omitempty" oneof:"sync"`
	// Auto lets the builder provide the rules (jib, buildpacks).
	Auto *bool `yaml:"auto,omitempty" oneof:"sync"`
	// LifecycleHooks run before and after each sync.
	LifecycleHooks SyncHooks `yaml:"hooks,omitempty"`
}

// SyncRule copies local files matching a glob into a container directory.
type SyncRule struct {
	// Src is a glob of local paths relative to the context, with "/" as
	// separator, e.g. "css/**/*.css".
	Src string `yaml:"src,omitempty"`
	// Dest is the container directory the files are copied to.
	Dest string `yaml:"dest,omitempty"`
	// Strip is a prefix removed from each source path before it is joined
	// to Dest.
	Strip string `yaml:"strip,omitempty"`
}
