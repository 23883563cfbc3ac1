package schema

// SkaffoldConfig is one skaffold.yaml document.
type SkaffoldConfig struct {
	// APIVersion is the schema version the document is written in.
	APIVersion string `yaml:"apiVersion"`
	// Kind is the document kind, always "Config".
	Kind string `yaml:"kind"`
	// Metadata names the config so that requires and -m can refer to it.
	Metadata Metadata `yaml:"metadata,omitempty"`
	// Dependencies are other configs that are loaded and run with this one.
	Dependencies []ConfigDependency `yaml:"requires,omitempty"`
	// Pipeline is what to build, test, render, deploy and verify.
	Pipeline `yaml:",inline"`
	// Profiles are named variations of the pipeline, selected with -p or
	// activated by the environment.
	Profiles []Profile `yaml:"profiles,omitempty"`
}

// Metadata identifies a config within a project of several.
type Metadata struct {
	// Name is the config's name, used by requires[].configs and -m.
	Name string `yaml:"name,omitempty"`
	// Labels are free-form labels describing the config.
	Labels map[string]string `yaml:"labels,omitempty"`
	// Annotations are free-form annotations describing the config.
	Annotations map[string]string `yaml:"annotations,omitempty"`
}

// Pipeline describes what to build, test, render, deploy and verify. A
// profile carries one too, whose sections replace the base ones.
type Pipeline struct {
	// Build says which images to build, how, and how to tag them.
	Build BuildConfig `yaml:"build,omitempty"`
	// Test lists tests run against built images.
	Test []*TestCase `yaml:"test,omitempty"`
	// Render says where manifests come from and how they are hydrated.
	Render RenderConfig `yaml:"manifests,omitempty"`
	// Deploy says how rendered manifests reach the cluster and how the
	// rollout is watched.
	Deploy DeployConfig `yaml:"deploy,omitempty"`
	// PortForward lists ports to forward from deployed resources.
	PortForward []*PortForwardResource `yaml:"portForward,omitempty"`
	// ResourceSelector widens or narrows which resource kinds get their
	// image references and labels rewritten.
	ResourceSelector ResourceSelectorConfig `yaml:"resourceSelector,omitempty"`
	// Verify lists test containers run after a deployment.
	Verify []*VerifyTestCase `yaml:"verify,omitempty"`
	// CustomActions lists named container runs started with `exec`.
	CustomActions []Action `yaml:"customActions,omitempty"`
}

// Profile is a named set of overrides applied on top of the pipeline.
type Profile struct {
	// Name identifies the profile for -p and activeProfiles.
	Name string `yaml:"name,omitempty"`
	// Activation lists conditions that turn the profile on automatically;
	// by default any one of them suffices.
	Activation []Activation `yaml:"activation,omitempty"`
	// RequiresAllActivations turns the profile on only when every
	// activation holds, instead of any one.
	RequiresAllActivations bool `yaml:"requiresAllActivations,omitempty"`
	// Patches are JSON-patch operations applied to the pipeline after its
	// sections have been replaced.
	Patches []JSONPatch `yaml:"patches,omitempty"`
	// Pipeline holds the sections that replace the base pipeline's.
	Pipeline `yaml:",inline"`
}

// Activation is one condition under which a profile turns on; every
// criterion it sets must hold.
type Activation struct {
	// Env is "KEY=pattern": the variable must equal the pattern or match
	// it as a regular expression; a leading "!" negates, and an empty
	// pattern matches an unset or empty variable.
	Env string `yaml:"env,omitempty"`
	// KubeContext is the kube context (or a regular expression for it)
	// the profile applies to.
	KubeContext string `yaml:"kubeContext,omitempty"`
	// Command is the command (dev, run, build, ...) the profile applies to.
	Command string `yaml:"command,omitempty"`
}

// JSONPatch is one RFC 6902 operation applied to the config by a profile.
type JSONPatch struct {
	// Op is add, remove, replace, move, copy or test; empty means replace.
	Op string `yaml:"op,omitempty"`
	// Path is the JSON pointer the operation targets, e.g.
	// /build/artifacts/0/docker/dockerfile.
	Path string `yaml:"path,omitempty"`
	// From is the source pointer of move and copy.
	From string `yaml:"from,omitempty"`
	// Value is the YAML value of add, replace and test; any shape.
	Value any `yaml:"value,omitempty"`
}

// ConfigDependency names configs this one requires and where they live.
type ConfigDependency struct {
	// Names selects configs by metadata.name; empty means all configs of
	// the source.
	Names []string `yaml:"configs,omitempty"`
	// Path is a local file, or a directory holding skaffold.yaml.
	Path string `yaml:"path,omitempty" oneof:"source" skiff:"path"`
	// GitRepo is a git repository holding the configs.
	GitRepo *GitInfo `yaml:"git,omitempty" oneof:"source"`
	// GoogleCloudStorageInfo is a Cloud Storage location holding the configs.
	GoogleCloudStorageInfo *GoogleCloudStorageInfo `yaml:"googleCloudStorage,omitempty" oneof:"source"`
	// GoogleCloudBuildRepoV2 is a Cloud Build (2nd gen) repository holding
	// the configs.
	GoogleCloudBuildRepoV2 *GoogleCloudBuildRepoV2Info `yaml:"googleCloudBuildRepoV2,omitempty" oneof:"source"`
	// ActiveProfiles are profiles to turn on in the required configs.
	ActiveProfiles []ProfileDependency `yaml:"activeProfiles,omitempty"`
}

// ProfileDependency turns on a profile of a required config.
type ProfileDependency struct {
	// Name is the profile of the required config to turn on.
	Name string `yaml:"name,omitempty"`
	// ActivatedBy lists this config's profiles that trigger it; empty
	// means it is always on.
	ActivatedBy []string `yaml:"activatedBy,omitempty"`
}

// GitInfo locates configs in a git repository, which is cloned and cached.
type GitInfo struct {
	// Repo is the repository URL.
	Repo string `yaml:"repo,omitempty"`
	// Path is the config file's path inside the repository.
	Path string `yaml:"path,omitempty"`
	// Ref is the branch, tag or commit to check out.
	Ref string `yaml:"ref,omitempty"`
	// Sync says whether the cached clone is reset to the remote on every
	// run; false keeps local edits in the cache.
	Sync *bool `yaml:"sync,omitempty"`
}

// GoogleCloudStorageInfo locates configs in Cloud Storage objects, which
// are downloaded and cached.
type GoogleCloudStorageInfo struct {
	// Source is the gs:// URL of the objects, wildcards allowed.
	Source string `yaml:"source,omitempty"`
	// Path is the config file's path inside the downloaded objects.
	Path string `yaml:"path,omitempty"`
	// Sync says whether the cached copy is refreshed on every run.
	Sync *bool `yaml:"sync,omitempty"`
}

// GoogleCloudBuildRepoV2Info locates configs in a repository connected to
// Google Cloud Build (2nd gen).
type GoogleCloudBuildRepoV2Info struct {
	// ProjectID is the GCP project the connection belongs to.
	ProjectID string `yaml:"projectID,omitempty"`
	// Region is the GCP region of the connection.
	Region string `yaml:"region,omitempty"`
	// Connection is the Cloud Build repository connection.
	Connection string `yaml:"connection,omitempty"`
	// Repo is the repository name under the connection.
	Repo string `yaml:"repo,omitempty"`
	// Path is the config file's path inside the repository.
	Path string `yaml:"path,omitempty"`
	// Ref is the branch, tag or commit to check out.
	Ref string `yaml:"ref,omitempty"`
	// Sync says whether the cached clone is reset to the remote on every run.
	Sync *bool `yaml:"sync,omitempty"`
}
