package schema

// TestCase lists tests run against a built image.
type TestCase struct {
	// ImageName is the artifact under test.
	ImageName string `yaml:"image,omitempty"`
	// Workspace is the directory holding the test sources; defaults to ".".
	Workspace string `yaml:"context,omitempty" skiff:"path"`
	// CustomTests are commands run after the image is built.
	CustomTests []CustomTest `yaml:"custom,omitempty"`
	// StructureTests are container-structure-test files (globs).
	StructureTests []string `yaml:"structureTests,omitempty" skiff:"path"`
	// StructureTestArgs are extra arguments for container-structure-test.
	StructureTestArgs []string `yaml:"structureTestsArgs,omitempty"`
}

// CustomTest is a command that tests a built image; a non-zero exit fails it.
type CustomTest struct {
	// Command is the shell command to run.
	Command string `yaml:"command,omitempty" skiff:"template"`
	// TimeoutSeconds bounds the command; 0 means no limit.
	TimeoutSeconds int `yaml:"timeoutSeconds,omitempty"`
	// Dependencies are files whose changes re-run the test.
	Dependencies *CustomTestDependencies `yaml:"dependencies,omitempty"`
}

// CustomTestDependencies says which files a custom test depends on: at
// most one of command and paths may be set.
type CustomTestDependencies struct {
	// Command prints the dependencies as a JSON array.
	Command string `yaml:"command,omitempty" oneof:"dependencies"`
	// Paths are globs of dependencies, relative to the test context.
	Paths []string `yaml:"paths,omitempty" oneof:"dependencies"`
	// Ignore are globs excluded from Paths.
	Ignore []string `yaml:"ignore,omitempty"`
}

// VerifyTestCase is a container run after deployment to check it.
type VerifyTestCase struct {
	// Name identifies the test.
	Name string `yaml:"name,omitempty"`
	// Config holds settings common to all verify tests.
	Config VerifyConfig `yaml:",inline"`
	// Container is the container that runs the test.
	Container VerifyContainer `yaml:"container,omitempty"`
	// ExecutionMode says where the container runs; defaults to local.
	ExecutionMode VerifyExecutionModeConfig `yaml:"executionMode,omitempty"`
}

// VerifyConfig holds settings common to verify tests.
type VerifyConfig struct {
	// Timeout bounds the test, in seconds.
	Timeout *int `yaml:"timeout,omitempty"`
}

// VerifyContainer is a container run by a verify test or a custom action.
type VerifyContainer struct {
	// Name is the container's name.
	Name string `yaml:"name,omitempty"`
	// Image is the container's image; it may name a built artifact.
	Image string `yaml:"image,omitempty"`
	// Command replaces the image's entrypoint; not run in a shell.
	Command []string `yaml:"command,omitempty"`
	// Args replace the image's cmd.
	Args []string `yaml:"args,omitempty"`
	// Env are the container's environment variables.
	Env []VerifyEnvVar `yaml:"env,omitempty"`
}

// VerifyEnvVar is an environment variable of a verify container.
type VerifyEnvVar struct {
	// Name is the variable's name.
	Name string `yaml:"name,omitempty"`
	// Value is the variable's value.
	Value string `yaml:"value,omitempty"`
}

// Action is a named set of containers run on demand by `exec`.
type Action struct {
	// Name identifies the action; unique across configs.
	Name string `yaml:"name,omitempty"`
	// Config holds the action's run settings.
	Config ActionConfig `yaml:",inline"`
	// ExecutionModeConfig says where the containers run; defaults to local.
	ExecutionModeConfig ActionExecutionModeConfig `yaml:"executionMode,omitempty"`
	// Containers are the containers the action runs.
	Containers []VerifyContainer `yaml:"containers,omitempty"`
}

// ActionConfig holds a custom action's run settings.
type ActionConfig struct {
	// IsFailFast stops the other containers when one fails; unset means true.
	IsFailFast *bool `yaml:"failFast,omitempty"`
	// Timeout bounds the action, in seconds.
	Timeout *int `yaml:"timeout,omitempty"`
}

// ActionExecutionModeConfig says where a custom action's containers run.
type ActionExecutionModeConfig struct {
	// VerifyExecutionModeType chooses local docker or the cluster.
	VerifyExecutionModeType `yaml:",inline"`
}

// VerifyExecutionModeConfig says where a verify test's container runs.
type VerifyExecutionModeConfig struct {
	// VerifyExecutionModeType chooses local docker or the cluster.
	VerifyExecutionModeType `yaml:",inline"`
}

// VerifyExecutionModeType chooses where verify and action containers run:
// at most one may be set (Skaffold rejects both for custom actions).
type VerifyExecutionModeType struct {
	// LocalExecutionMode runs the containers on the local docker daemon.
	LocalExecutionMode *LocalVerifier `yaml:"local,omitempty" oneof:"executionMode"`
	// KubernetesClusterExecutionMode runs the containers as Kubernetes Jobs.
	KubernetesClusterExecutionMode *KubernetesClusterVerifier `yaml:"kubernetesCluster,omitempty" oneof:"executionMode"`
}

// LocalVerifier runs verify containers on the local docker daemon.
type LocalVerifier struct {
	// UseLocalImages uses images present in the daemon before pulling.
	UseLocalImages bool `yaml:"useLocalImages,omitempty"`
}

// KubernetesClusterVerifier runs verify containers as Kubernetes Jobs.
type KubernetesClusterVerifier struct {
	// Overrides is inline JSON merged into the generated Job, like
	// kubectl's --overrides.
	Overrides string `yaml:"overrides,omitempty"`
	// JobManifestPath is a Job manifest used instead of the generated one,
	// with its container replaced by the test's.
	JobManifestPath string `yaml:"jobManifestPath,omitempty"`
}
