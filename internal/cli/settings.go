package cli

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"skiff.dev/skiff/internal/config"
	"skiff.dev/skiff/internal/runner"
)

// setting is one effective setting: its value and where the value comes
// from. A list setting (insecure-registries) has one setting per value,
// as its sources add up.
type setting struct {
	key, value, source string
}

// settings are the settings build, run, dev and deploy would use with the
// flags and environment given, and where each comes from, by Skaffold's
// precedence: flag, then environment (SKIFF_*/SKAFFOLD_*), then the
// project (skaffold.yaml), then the global config's entry for the kube
// context, then its global values, then skiff's default. A flag that
// diagnose does not take (--push, --insecure-registry) counts when its
// variable is set, as the commands with it would take it. g is the
// global config read from file ("" when there is none).
func (a *app) settings(p *config.Project, g *config.GlobalConfig, file string) []setting {
	var out []setting
	add := func(key, value, source string) { out = append(out, setting{key, value, source}) }
	kubeContext := p.User.KubeContext
	// The global config's values for the kube context alone, and its
	// global ones.
	var own, global config.ContextConfig
	if g != nil {
		own, _ = (&config.GlobalConfig{KubeContexts: g.KubeContexts}).ForContext(kubeContext)
		if kubeContext == "" {
			own = config.ContextConfig{}
		}
		if g.Global != nil {
			global = *g.Global
		}
	}
	fromContext := fmt.Sprintf("global config %s (kube-context %s)", file, kubeContext)
	fromGlobal := fmt.Sprintf("global config %s (global)", file)

	switch src, ok := a.flagSources["kube-context"]; {
	case ok:
		add("kube-context", a.global.kubeContext, src)
	case p.KubeContextFrom() != nil:
		add("kube-context", p.KubeContext(), "project "+p.KubeContextFrom().File+" (deploy.kubeContext)")
	default:
		current, err := runner.CurrentKubeContext(a.global.kubeconfig)
		switch {
		case err != nil:
			add("kube-context", "none", fmt.Sprintf("default: %v", err))
		case current == "":
			add("kube-context", "none", "default: the kubeconfig sets no current context")
		default:
			add("kube-context", current, "kubeconfig (current-context)")
		}
	}

	switch src, ok := a.flagSources["default-repo"]; {
	case ok:
		add("default-repo", a.global.defaultRepo, src)
	case own.DefaultRepo != "":
		add("default-repo", own.DefaultRepo, fromContext)
	case global.DefaultRepo != "":
		add("default-repo", global.DefaultRepo, fromGlobal)
	default:
		add("default-repo", "none", "default: images keep their names")
	}

	n := len(out)
	if v, src, ok := a.envFlag("insecure-registry"); ok {
		for _, r := range strings.Split(v, ",") {
			if r = strings.TrimSpace(r); r != "" {
				add("insecure-registries", r, src)
			}
		}
	}
	for _, c := range p.Configs {
		for _, r := range c.Build.InsecureRegistries {
			add("insecure-registries", r, "project "+c.File+" (build.insecureRegistries)")
		}
	}
	for _, r := range own.InsecureRegistries {
		add("insecure-registries", r, fromContext)
	}
	for _, r := range global.InsecureRegistries {
		add("insecure-registries", r, fromGlobal)
	}
	if len(out) == n {
		add("insecure-registries", "none", "default: plain HTTP for loopback registries only")
	}

	var local *bool
	switch {
	case own.LocalCluster != nil:
		local = own.LocalCluster
		add("local-cluster", strconv.FormatBool(*local), fromContext)
	case global.LocalCluster != nil:
		local = global.LocalCluster
		add("local-cluster", strconv.FormatBool(*local), fromGlobal)
	default:
		add("local-cluster", "not set", "default: the build asks the cluster for a local registry")
	}

	switch v, src, ok := a.envFlag("push"); {
	case ok:
		add("push", v, src)
	case p.PushFrom() != nil:
		add("push", strconv.FormatBool(*p.Push()), "project "+p.PushFrom().File+" (build.local.push)")
	case local != nil:
		add("push", strconv.FormatBool(!*local), "local-cluster")
	default:
		add("push", "not set", "default: push to the registry the cluster advertises, else push when there is a default repo, else load into the local Docker daemon")
	}

	switch {
	case own.DebugHelpersRegistry != "":
		add("debug-helpers-registry", own.DebugHelpersRegistry, fromContext)
	case global.DebugHelpersRegistry != "":
		add("debug-helpers-registry", global.DebugHelpersRegistry, fromGlobal)
	default:
		add("debug-helpers-registry", "none", "default: skiff debug makes its support images")
	}
	return out
}

// envFlag is the value SKIFF_<NAME> or SKAFFOLD_<NAME> gives the flag
// name of the commands that build, and which variable gave it.
func (a *app) envFlag(name string) (value, source string, ok bool) {
	upper := strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
	for _, prefix := range []string{"SKIFF_", "SKAFFOLD_"} {
		if v, ok := a.env[prefix+upper]; ok {
			return v, "env " + prefix + upper, true
		}
	}
	return "", "", false
}

// diagnoseSettings prints the settings in effect and where each comes
// from (see settings).
func (a *app) diagnoseSettings(out io.Writer, p *config.Project) {
	file := a.globalConfigFile()
	var g *config.GlobalConfig
	if file != "" {
		var err error
		if g, err = config.ReadGlobalConfig(file); err != nil {
			fmt.Fprintf(out, "Global config: %v\n", err)
			g = nil
		}
	}
	fmt.Fprintln(out, "Settings (flag > environment > project > global config for the kube context > global config > default):")
	for _, s := range a.settings(p, g, file) {
		fmt.Fprintf(out, "  %s: %s (%s)\n", s.key, s.value, s.source)
	}
}
