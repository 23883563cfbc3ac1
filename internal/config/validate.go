package config

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"skiff.dev/skiff/internal/config/schema"
	"skiff.dev/skiff/internal/deploy/helmflag"
)

// MaxArtifacts bounds the artifacts of one project: each costs work and
// memory in every command (diagnose parses each one's Dockerfile).
const MaxArtifacts = 1000

// validate checks what the schema cannot: image names unique across the
// project, artifact requires that name a known image and form no cycle,
// and aliases that can be used as build args.
func validate(p *Project) error {
	if n := len(p.Artifacts()); n > MaxArtifacts {
		// Point at the first artifact past the bound.
		seen := 0
		for _, c := range p.Configs {
			if i := MaxArtifacts - seen; i < len(c.Build.Artifacts) {
				return locate(c, "build", "artifacts", i).errorf("the project has %d artifacts, more than the %d skiff builds in one project; split it into modules (requires) and build them with -m", n, MaxArtifacts)
			}
			seen += len(c.Build.Artifacts)
		}
	}
	var errs Errors
	type seenAt struct {
		c *Config
		i int
	}
	images := map[string]seenAt{}
	for _, c := range p.Configs {
		for i, a := range c.Build.Artifacts {
			if a == nil {
				errs = append(errs, locate(c, "build", "artifacts", i).errorf("empty artifact; give it an image name"))
				continue
			}
			if a.ImageName == "" {
				errs = append(errs, locate(c, "build", "artifacts", i).errorf("artifact has no image name; set image"))
				continue
			}
			if prev, dup := images[a.ImageName]; dup {
				first := locate(prev.c, "build", "artifacts", prev.i, "image")
				errs = append(errs, locate(c, "build", "artifacts", i, "image").errorf("image %q is already built by the artifact at %s:%d; each image must be built by one artifact", a.ImageName, first.file, first.line))
				continue
			}
			images[a.ImageName] = seenAt{c, i}
		}
	}
	for _, c := range p.Configs {
		for i, a := range c.Build.Artifacts {
			if a == nil {
				continue
			}
			aliases := map[string]bool{}
			for j, dep := range a.Dependencies {
				if dep == nil {
					continue
				}
				w := locate(c, "build", "artifacts", i, "requires", j)
				if _, ok := images[dep.ImageName]; !ok {
					errs = append(errs, w.errorf("artifact %q requires image %q, which no artifact builds; known images: %s", a.ImageName, dep.ImageName, listOrNone(slices.Sorted(maps.Keys(images)))))
				}
				if dep.ImageName == a.ImageName {
					errs = append(errs, w.errorf("artifact %q requires itself", a.ImageName))
				}
				if dep.Alias != "" {
					if aliases[dep.Alias] {
						errs = append(errs, w.errorf("alias %q is used twice in artifact %q", dep.Alias, a.ImageName))
					}
					aliases[dep.Alias] = true
				}
			}
		}
	}
	if len(errs) == 0 {
		errs = append(errs, findCycles(p)...)
	}
	return errs.err()
}

// findCycles reports each cycle of artifact requires once.
func findCycles(p *Project) Errors {
	type node struct {
		c    *Config
		i    int
		deps []string
	}
	graph := map[string]node{}
	var order []string
	for _, c := range p.Configs {
		for i, a := range c.Build.Artifacts {
			if a == nil || a.ImageName == "" {
				continue
			}
			n := node{c: c, i: i}
			for _, d := range a.Dependencies {
				if d != nil && d.ImageName != a.ImageName {
					n.deps = append(n.deps, d.ImageName)
				}
			}
			graph[a.ImageName] = n
			order = append(order, a.ImageName)
		}
	}
	const (
		unvisited = iota
		inProgress
		done
	)
	state := map[string]int{}
	var stack []string
	var errs Errors
	var visit func(name string)
	visit = func(name string) {
		state[name] = inProgress
		stack = append(stack, name)
		for _, d := range graph[name].deps {
			switch state[d] {
			case unvisited:
				if _, ok := graph[d]; ok {
					visit(d)
				}
			case inProgress:
				cycle := append(slices.Clone(stack[slices.Index(stack, d):]), d)
				n := graph[name]
				errs = append(errs, locate(n.c, "build", "artifacts", n.i, "requires").errorf("artifact requires form a cycle: %s; an image cannot depend on itself", strings.Join(cycle, " -> ")))
			}
		}
		stack = stack[:len(stack)-1]
		state[name] = done
	}
	for _, name := range order {
		if state[name] == unvisited {
			visit(name)
		}
	}
	return errs
}

// Unsupported lists, located, the features c uses that skiff does not
// implement yet, artifacts of a builder other than builders among them.
// Commands report them before they would be needed, so a setting is never
// silently ignored.
func Unsupported(c *Config, builders []string) Errors {
	var errs Errors
	add := func(what string, path ...any) {
		errs = append(errs, locate(c, path...).errorf("%s is not supported by skiff yet", what))
	}
	for i, a := range c.Build.Artifacts {
		if a == nil {
			continue
		}
		if t := a.BuilderType(); t != "" && !slices.Contains(builders, t) {
			what := fmt.Sprintf("the %s builder (artifact %q)", t, a.ImageName)
			if t == "kaniko" && c.Build.Cluster != nil && !written(c, "build", "artifacts", i, "kaniko") {
				what = fmt.Sprintf("the kaniko builder (artifact %q; with build.cluster an artifact that names no builder builds with kaniko, as in Skaffold)", a.ImageName)
			}
			add(what, "build", "artifacts", i, t)
		}
	}
	if c.Build.GoogleCloudBuild != nil {
		add("Google Cloud Build", "build", "googleCloudBuild")
	}
	if c.Build.Cluster != nil {
		add("in-cluster builds", "build", "cluster")
	}
	if c.Render.Kpt != nil {
		add("rendering with kpt", "manifests", "kpt")
	}
	if c.Deploy.KptDeploy != nil {
		add("the kpt deployer", "deploy", "kpt")
	}
	if c.Deploy.CloudRunDeploy != nil {
		add("the Cloud Run deployer", "deploy", "cloudrun")
	}
	r := &c.Render
	if len(r.Transform) > 0 {
		add("kpt transformer functions", "manifests", "transform")
	}
	if len(r.Validate) > 0 {
		add("kpt validator functions", "manifests", "validate")
	}
	if len(r.RemoteManifests) > 0 {
		add("remote manifests", "manifests", "remoteManifests")
	}
	if k := c.Deploy.KubectlDeploy; k != nil {
		if len(k.RemoteManifests) > 0 {
			add("remote manifests", "deploy", "kubectl", "remoteManifests")
		}
		if len(k.Flags.Global)+len(k.Flags.Apply)+len(k.Flags.Delete) > 0 {
			add("kubectl flags (skiff applies with client-go server-side apply, not kubectl)", "deploy", "kubectl", "flags")
		}
	}
	errs = append(errs, unsupportedHelm(c)...)
	errs = append(errs, invalidJobOverrides(c)...)
	if len(c.Deploy.Logs.JSONParse.Fields) > 0 {
		add("picking fields out of JSON log lines", "deploy", "logs", "jsonParse")
	}
	if d := c.Deploy.DockerDeploy; d != nil && d.UseCompose {
		add("docker compose", "deploy", "docker", "useCompose")
	}
	return errs
}

// invalidJobOverrides lists the overrides of the kubernetesCluster
// execution mode that are not a JSON object, which the Job could not be
// made with: verify and exec refuse them before anything runs.
func invalidJobOverrides(c *Config) Errors {
	var errs Errors
	check := func(k *schema.KubernetesClusterVerifier, path ...any) {
		if k == nil || k.Overrides == "" {
			return
		}
		var v any
		what := ""
		if err := json.Unmarshal([]byte(k.Overrides), &v); err != nil {
			what = fmt.Sprintf("not JSON (%v)", err)
		} else if _, ok := v.(map[string]any); !ok {
			what = "JSON but not an object"
		}
		if what != "" {
			errs = append(errs, locate(c, append(path, "executionMode", "kubernetesCluster", "overrides")...).errorf("overrides is %s; it is merged into the Job as a JSON merge patch: write it as an object, e.g. {\"spec\": {\"activeDeadlineSeconds\": 600}}", what))
		}
	}
	for i, tc := range c.Verify {
		if tc != nil {
			check(tc.ExecutionMode.KubernetesClusterExecutionMode, "verify", i)
		}
	}
	for i, a := range c.CustomActions {
		check(a.ExecutionModeConfig.KubernetesClusterExecutionMode, "customActions", i)
	}
	return errs
}

// unsupportedHelm lists what skiff cannot do of c's Helm releases: the
// helm-secrets plugin, helm flags it cannot honour, remote charts where
// skiff only renders, charts of `helm repo add` repositories.
func unsupportedHelm(c *Config) Errors {
	var errs Errors
	installed := map[string]bool{}
	if d := c.Deploy.HelmDeploy; d != nil {
		for i, rel := range d.Releases {
			installed[rel.Name] = true
			if rel.UseHelmSecrets {
				errs = append(errs, locate(c, "deploy", "helm", "releases", i, "useHelmSecrets").errorf("useHelmSecrets (the helm-secrets plugin) is not supported by skiff: decrypt the secrets into a values file and list it in valuesFiles"))
			}
			if rel.RemoteChart != "" && rel.Repo == "" && !strings.Contains(rel.RemoteChart, "://") {
				errs = append(errs, locate(c, "deploy", "helm", "releases", i, "remoteChart").errorf("remoteChart %s names a chart of a repository added with `helm repo add`, whose list skiff does not read; set repo to the repository's URL and remoteChart to the chart's name", rel.RemoteChart))
			}
		}
		for _, set := range []struct {
			command helmflag.Command
			flags   []string
		}{{helmflag.Global, d.Flags.Global}, {helmflag.Install, d.Flags.Install}, {helmflag.Upgrade, d.Flags.Upgrade}} {
			var s helmflag.Settings
			if err := helmflag.Parse(set.command, set.flags, &s); err != nil {
				errs = append(errs, locate(c, "deploy", "helm", "flags", string(set.command)).errorf("%v", err))
			}
		}
		if len(d.Flags.DepBuild) > 0 {
			errs = append(errs, locate(c, "deploy", "helm", "flags", "depBuild").errorf("helm dependency build flags are not supported by skiff, which builds a local chart's dependencies with the Helm SDK; remove them"))
		}
	}
	if h := c.Render.Helm; h != nil {
		for i, rel := range h.Releases {
			if rel.UseHelmSecrets && !installed[rel.Name] {
				errs = append(errs, locate(c, "manifests", "helm", "releases", i, "useHelmSecrets").errorf("useHelmSecrets (the helm-secrets plugin) is not supported by skiff: decrypt the secrets into a values file and list it in valuesFiles"))
			}
			if rel.RemoteChart != "" && !installed[rel.Name] {
				errs = append(errs, locate(c, "manifests", "helm", "releases", i, "remoteChart").errorf("remote charts are not rendered by skiff (deploy.helm installs them): fetch the chart locally (helm pull --untar) and set chartPath, or move the release to deploy.helm"))
			}
		}
	}
	return errs
}
