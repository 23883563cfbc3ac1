package schema

// BuildHooks are host commands run before and after a build.
type BuildHooks struct {
	// PreHooks run before the build.
	PreHooks []HostHook `yaml:"before,omitempty"`
	// PostHooks run after the build.
	PostHooks []HostHook `yaml:"after,omitempty"`
}

// SyncHooks are commands run before and after each file sync.
type SyncHooks struct {
	// PreHooks run before the files are copied.
	PreHooks []SyncHookItem `yaml:"before,omitempty"`
	// PostHooks run after the files are copied.
	PostHooks []SyncHookItem `yaml:"after,omitempty"`
}

// SyncHookItem is one sync hook, on the host or in the synced container.
type SyncHookItem struct {
	// HostHook runs on the host.
	HostHook *HostHook `yaml:"host,omitempty" oneof:"hook"`
	// ContainerHook runs in each container the files were synced to.
	ContainerHook *ContainerHook `yaml:"container,omitempty" oneof:"hook"`
}

// RenderHooks are host commands run before and after rendering.
type RenderHooks struct {
	// PreHooks run before manifests are rendered.
	PreHooks []RenderHookItem `yaml:"before,omitempty"`
	// PostHooks run after manifests are rendered and may rewrite them.
	PostHooks []PostRenderHookItem `yaml:"after,omitempty"`
}

// RenderHookItem is one pre-render hook; only host hooks exist.
type RenderHookItem struct {
	// HostHook runs on the host.
	HostHook *HostHook `yaml:"host,omitempty"`
}

// PostRenderHookItem is one post-render hook; only host hooks exist.
type PostRenderHookItem struct {
	// HostHook runs on the host with the rendered manifests on stdin.
	HostHook *PostRenderHostHook `yaml:"host,omitempty"`
}

// PostRenderHostHook is a host command run after rendering.
type PostRenderHostHook struct {
	// Command is the program and its arguments.
	Command []string `yaml:"command,omitempty"`
	// OS lists the operating systems (GOOS names) the hook runs on; empty
	// means all.
	OS []string `yaml:"os,omitempty"`
	// Dir is the working directory; empty means the current directory.
	Dir string `yaml:"dir,omitempty" skiff:"path"`
	// WithChange replaces the rendered manifests with the command's output.
	WithChange bool `yaml:"withChange,omitempty"`
}

// DeployHooks are commands run before and after a deployer.
type DeployHooks struct {
	// PreHooks run before deploying; container hooks only run when the
	// container exists from an earlier deployment.
	PreHooks []DeployHookItem `yaml:"before,omitempty"`
	// PostHooks run after deploying.
	PostHooks []DeployHookItem `yaml:"after,omitempty"`
}

// DeployHookItem is one deploy hook, on the host or in a named container.
type DeployHookItem struct {
	// HostHook runs on the host.
	HostHook *HostHook `yaml:"host,omitempty" oneof:"hook"`
	// ContainerHook runs in a named pod's container.
	ContainerHook *NamedContainerHook `yaml:"container,omitempty" oneof:"hook"`
}

// CloudRunDeployHooks are host commands run before and after the Cloud Run
// deployer.
type CloudRunDeployHooks struct {
	// PreHooks run before deploying.
	PreHooks []HostHook `yaml:"before,omitempty"`
	// PostHooks run after deploying.
	PostHooks []HostHook `yaml:"after,omitempty"`
}

// HostHook is a command run on the host.
type HostHook struct {
	// Command is the program and its arguments.
	Command []string `yaml:"command,omitempty"`
	// OS lists the operating systems (GOOS names) the hook runs on; empty
	// means all.
	OS []string `yaml:"os,omitempty"`
	// Dir is the working directory; empty means the current directory.
	Dir string `yaml:"dir,omitempty" skiff:"path"`
}

// ContainerHook is a command run in the container the enclosing section
// is about.
type ContainerHook struct {
	// Command is the program and its arguments.
	Command []string `yaml:"command,omitempty"`
}

// NamedContainerHook is a command run in a container picked by name.
type NamedContainerHook struct {
	// ContainerHook is the command.
	ContainerHook `yaml:",inline"`
	// PodName is the pod to run in; a glob.
	PodName string `yaml:"podName,omitempty"`
	// ContainerName is the container to run in; a glob, empty means all.
	ContainerName string `yaml:"containerName,omitempty"`
}
