package config

import "skiff.dev/skiff/internal/config/schema"

// Defaults Skaffold applies to a config that leaves them out.
const (
	DefaultDockerfile       = "Dockerfile"
	DefaultManifests        = "k8s/*.yaml"
	DefaultForwardAddress   = "127.0.0.1"
	DefaultLocalConcurrency = 1
	// DefaultBuildpacksBuilder is the builder of a buildpacks artifact
	// that names neither a builder nor buildpacks; Skaffold trusts it.
	DefaultBuildpacksBuilder = "gcr.io/buildpacks/builder:v1"
)

// setDefaults fills in what the config leaves out, as Skaffold does: the
// gitCommit tagger, a local build, the docker builder with ./Dockerfile and
// context "." (kaniko with ./Dockerfile when the build runs in a cluster),
// Skaffold's buildpacks builder, k8s/*.yaml with the kubectl deployer, and
// forwards on 127.0.0.1.
func setDefaults(c *Config) {
	b := &c.Build
	if b.TagPolicy == (schema.TagPolicy{}) {
		b.TagPolicy.GitTagger = &schema.GitTagger{}
	}
	if b.LocalBuild == nil && b.GoogleCloudBuild == nil && b.Cluster == nil {
		b.LocalBuild = &schema.LocalBuild{}
	}
	if b.LocalBuild != nil && b.LocalBuild.Concurrency == nil {
		n := DefaultLocalConcurrency
		b.LocalBuild.Concurrency = &n
	}
	for _, a := range b.Artifacts {
		setArtifactDefaults(a, b.Cluster != nil)
	}

	r := &c.Render
	hasRenderer := len(r.RawK8s) > 0 || r.Kustomize != nil || r.Helm != nil || r.Kpt != nil || len(r.RemoteManifests) > 0
	d := &c.Deploy
	hasDeployer := d.KubectlDeploy != nil || d.HelmDeploy != nil || d.KptDeploy != nil || d.DockerDeploy != nil || d.CloudRunDeploy != nil
	if !hasDeployer {
		d.KubectlDeploy = &schema.KubectlDeploy{}
	}
	if !hasRenderer && d.KubectlDeploy != nil && d.HelmDeploy == nil {
		r.RawK8s = []string{DefaultManifests}
	}

	for _, pf := range c.PortForward {
		if pf != nil && pf.Address == "" {
			pf.Address = DefaultForwardAddress
		}
	}
}

// setArtifactDefaults fills in an artifact's defaults; inCluster is true
// when the build runs in a cluster (build.cluster), where Skaffold builds
// an artifact that names no builder with kaniko.
func setArtifactDefaults(a *schema.Artifact, inCluster bool) {
	if a == nil {
		return
	}
	if a.Workspace == "" {
		a.Workspace = "."
	}
	if a.BuilderType() == "" {
		if inCluster {
			a.KanikoArtifact = &schema.KanikoArtifact{}
		} else {
			a.DockerArtifact = &schema.DockerArtifact{}
		}
	}
	if a.DockerArtifact != nil && a.DockerArtifact.DockerfilePath == "" {
		a.DockerArtifact.DockerfilePath = DefaultDockerfile
	}
	if a.KanikoArtifact != nil && a.KanikoArtifact.DockerfilePath == "" {
		a.KanikoArtifact.DockerfilePath = DefaultDockerfile
	}
	if bp := a.BuildpackArtifact; bp != nil && bp.Builder == "" && len(bp.Buildpacks) == 0 {
		bp.Builder = DefaultBuildpacksBuilder
		bp.TrustBuilder = true
	}
	if a.CustomArtifact != nil && a.CustomArtifact.Dependencies != nil && a.CustomArtifact.Dependencies.Dockerfile != nil &&
		a.CustomArtifact.Dependencies.Dockerfile.Path == "" {
		a.CustomArtifact.Dependencies.Dockerfile.Path = DefaultDockerfile
	}
	switch {
	case a.Sync != nil && len(a.Sync.Manual) == 0 && len(a.Sync.Infer) == 0 && a.Sync.Auto == nil:
		// An empty sync section means "sync what can be synced".
		if a.BuildpackArtifact != nil || a.JibArtifact != nil {
			a.Sync.Auto = ptr(true)
		} else {
			a.Sync.Infer = []string{"**/*"}
		}
	case a.Sync == nil && a.BuildpackArtifact != nil:
		a.Sync = &schema.Sync{Auto: ptr(true)}
	}
}

func ptr[T any](v T) *T { return &v }
