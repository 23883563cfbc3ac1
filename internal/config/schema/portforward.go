package schema

// ResourceType is the kind of resource a port is forwarded from: Service,
// Pod, a pod-owning workload kind (Deployment, StatefulSet, ...), or
// Container for the docker deployer.
type ResourceType string

// PortForwardResource is one port to forward from a deployed resource.
type PortForwardResource struct {
	// Type is the resource's kind.
	Type ResourceType `yaml:"resourceType,omitempty"`
	// Name is the resource's (or local container's) name.
	Name string `yaml:"resourceName,omitempty" skiff:"template"`
	// Namespace is the resource's namespace; not used for containers.
	Namespace string `yaml:"namespace,omitempty" skiff:"template"`
	// Port is the resource's port, by number or by name.
	Port IntOrString `yaml:"port,omitempty"`
	// Address is the local address to listen on; defaults to 127.0.0.1.
	Address string `yaml:"address,omitempty"`
	// LocalPort is the local port; when taken, a free one is chosen.
	LocalPort int `yaml:"localPort,omitempty"`
}

// ResourceSelectorConfig widens or narrows which resource kinds get image
// references and labels rewritten during rendering.
type ResourceSelectorConfig struct {
	// Allow adds kinds (and where in them to look) to the defaults.
	Allow []ResourceFilter `yaml:"allow,omitempty"`
	// Deny removes kinds (or parts of them) from the defaults.
	Deny []ResourceFilter `yaml:"deny,omitempty"`
}

// ResourceFilter names a resource kind and where in it to rewrite.
type ResourceFilter struct {
	// GroupKind is the kind, as Kind.group (e.g. Deployment.apps).
	GroupKind string `yaml:"groupKind,omitempty"`
	// Image are JSON-path-like paths of image references to rewrite.
	Image []string `yaml:"image,omitempty"`
	// Labels are JSON-path-like paths where a labels block is added.
	Labels []string `yaml:"labels,omitempty"`
	// PodSpec are JSON-path-like paths of pod specs that may be changed.
	PodSpec []string `yaml:"podSpec,omitempty"`
}
