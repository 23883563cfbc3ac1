package config

import (
	"time"

	"skiff.dev/skiff/internal/config/schema"
)

// Project-wide settings. A project of several configs (the root file's
// documents and the modules they require) has one value for each of these;
// they are resolved here, once, and every stage asks the Project instead of
// looking through its configs. As in Skaffold, a single value comes from the
// first config, in load order (required configs before the configs that
// require them), that sets it; the exceptions (lists and the status check)
// say how they combine. A command-line flag, where there is one, wins over
// all of them; applying it is the caller's part.

// Push is build.local.push of the first config that sets it; nil means no
// config does (the build then decides from the cluster and default repo).
func (p *Project) Push() *bool {
	return firstSet(p, func(c *Config) (*bool, bool) {
		l := localBuild(c)
		return l.Push, l.Push != nil
	})
}

// PushFrom is the config whose build.local.push Push returns; nil when
// no config sets it.
func (p *Project) PushFrom() *Config {
	_, c := firstSetBy(p, func(c *Config) (*bool, bool) {
		l := localBuild(c)
		return l.Push, l.Push != nil
	})
	return c
}

// Concurrency is build.local.concurrency of the first config that sets it
// (after defaults, the first that builds locally); 0 means no limit, and
// DefaultLocalConcurrency applies when no config sets it.
func (p *Project) Concurrency() int {
	n := firstSet(p, func(c *Config) (*int, bool) {
		l := localBuild(c)
		return l.Concurrency, l.Concurrency != nil
	})
	if n == nil {
		return DefaultLocalConcurrency
	}
	return *n
}

// UseBuildkit is build.local.useBuildkit of the first config that sets it;
// nil keeps the docker daemon's default.
func (p *Project) UseBuildkit() *bool {
	return firstSet(p, func(c *Config) (*bool, bool) {
		l := localBuild(c)
		return l.UseBuildkit, l.UseBuildkit != nil
	})
}

// InsecureRegistries are the registries reachable over plain HTTP: the
// build.insecureRegistries of every config, in config order, then the
// global config's insecure-registries.
func (p *Project) InsecureRegistries() []string {
	var out []string
	for _, c := range p.Configs {
		out = append(out, c.Build.InsecureRegistries...)
	}
	return append(out, p.User.InsecureRegistries...)
}

// DefaultRepo is the global config's default-repo; --default-repo (or
// SKAFFOLD_DEFAULT_REPO), applied by the caller, wins over it.
func (p *Project) DefaultRepo() string { return p.User.DefaultRepo }

// LocalCluster is the global config's local-cluster: true when the
// cluster runs images from the local Docker daemon (nothing is pushed),
// false when it pulls them from a registry (images are pushed); nil when
// the global config does not say. build.local.push wins over it.
func (p *Project) LocalCluster() *bool { return p.User.LocalCluster }

// DebugHelpersRegistry is the global config's debug-helpers-registry:
// where skiff debug finds prebuilt support images; empty means skiff
// builds its own.
func (p *Project) DebugHelpersRegistry() string { return p.User.DebugHelpersRegistry }

// RenderOutput is the first non-empty manifests.output: the file the
// rendered manifests are written to; empty means stdout.
func (p *Project) RenderOutput() string {
	return firstSet(p, func(c *Config) (string, bool) {
		return c.Render.Output, c.Render.Output != ""
	})
}

// KubeContext is the first non-empty deploy.kubeContext; empty means the
// kubeconfig's current context.
func (p *Project) KubeContext() string {
	return firstSet(p, func(c *Config) (string, bool) {
		return c.Deploy.KubeContext, c.Deploy.KubeContext != ""
	})
}

// KubeContextFrom is the config whose deploy.kubeContext KubeContext
// returns; nil when no config sets it.
func (p *Project) KubeContextFrom() *Config {
	_, c := firstSetBy(p, func(c *Config) (string, bool) {
		return c.Deploy.KubeContext, c.Deploy.KubeContext != ""
	})
	return c
}

// DefaultNamespace is the first non-empty deploy.kubectl.defaultNamespace;
// empty means the kube context's namespace.
func (p *Project) DefaultNamespace() string {
	return firstSet(p, func(c *Config) (string, bool) {
		k := c.Deploy.KubectlDeploy
		if k == nil || k.DefaultNamespace == nil {
			return "", false
		}
		return *k.DefaultNamespace, *k.DefaultNamespace != ""
	})
}

// LogPrefix is the first non-empty deploy.logs.prefix; empty means auto.
func (p *Project) LogPrefix() string {
	return firstSet(p, func(c *Config) (string, bool) {
		return c.Deploy.Logs.Prefix, c.Deploy.Logs.Prefix != ""
	})
}

// StatusCheck is how the rollout is watched after a deploy, gathered from
// every config.
type StatusCheck struct {
	// Enabled is false when any config sets deploy.statusCheck: false.
	Enabled bool
	// Deadline is the longest deploy.statusCheckDeadlineSeconds; 0 when no
	// config sets one (the status package's default then applies).
	Deadline time.Duration
	// TolerateFailures is true when any config sets
	// deploy.tolerateFailuresUntilDeadline: failures are then tolerated
	// for the whole check.
	TolerateFailures bool
}

// StatusCheck combines the status check settings of every config.
func (p *Project) StatusCheck() StatusCheck {
	s := StatusCheck{Enabled: true}
	for _, c := range p.Configs {
		d := &c.Deploy
		if d.StatusCheck != nil && !*d.StatusCheck {
			s.Enabled = false
		}
		s.Deadline = max(s.Deadline, time.Duration(d.StatusCheckDeadlineSeconds)*time.Second)
		s.TolerateFailures = s.TolerateFailures || d.TolerateFailuresUntilDeadline
	}
	return s
}

// firstSet returns the value of the first config, in load order, for which
// get reports the setting set, or the zero value when none sets it.
func firstSet[T any](p *Project, get func(*Config) (T, bool)) T {
	v, _ := firstSetBy(p, get)
	return v
}

// firstSetBy is firstSet with the config the value comes from; nil when
// no config sets it.
func firstSetBy[T any](p *Project, get func(*Config) (T, bool)) (T, *Config) {
	for _, c := range p.Configs {
		if v, ok := get(c); ok {
			return v, c
		}
	}
	var zero T
	return zero, nil
}

// localBuild is c's build.local, empty when c does not build locally.
func localBuild(c *Config) schema.LocalBuild {
	if c.Build.LocalBuild == nil {
		return schema.LocalBuild{}
	}
	return *c.Build.LocalBuild
}

// BuildEnvOf names where t builds, as Skaffold's inspect does: cluster,
// googleCloudBuild or local.
func BuildEnvOf(t *schema.BuildType) string {
	switch {
	case t.Cluster != nil:
		return "cluster"
	case t.GoogleCloudBuild != nil:
		return "googleCloudBuild"
	}
	return "local"
}
