//go:build !lean

package render

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"helm.sh/helm/v3/pkg/chart"

	"skiff.dev/skiff/internal/config"
	"skiff.dev/skiff/internal/config/schema"
)

// HelmInstall is a deploy.helm release made ready to install or upgrade
// with the Helm SDK: its name, namespace, chart and values as `skiff
// render` would render them, and the helm settings of its deploy.helm.
type HelmInstall struct {
	// Name and Namespace are the release's, templates expanded; the
	// namespace is -n's, else the release's, else Options.DefaultNamespace,
	// else "default".
	Name, Namespace string
	// Chart is the local chart (chartPath), loaded with its file://
	// dependencies and packaged's versions stamped; nil for a remote
	// chart.
	Chart *chart.Chart
	// RemoteChart, Repo and Version locate a remote chart: a chart of the
	// HTTP chart repository Repo, or an oci:// reference.
	RemoteChart, Repo, Version string
	// Values are the release's values (valuesFiles, overrides, setValues,
	// setValueTemplates with the built images, setFiles).
	Values map[string]any
	// CreateNamespace is the release's createNamespace.
	CreateNamespace bool
	// RecreatePods is the release's recreatePods: an upgrade restarts the
	// release's pods.
	RecreatePods bool
	// UpgradeOnChange says whether an installed release is upgraded:
	// upgradeOnChange, by default true for a local chart and false for a
	// remote one, as in Skaffold.
	UpgradeOnChange bool
	// Flags are the helm command-line flags of the release's deploy.helm.
	Flags schema.HelmDeployFlags
	// Dir is the directory of the release's config, which relative paths
	// in its flags (--post-renderer) are relative to.
	Dir string
	// Where locates the release in the config, for messages:
	// "skaffold.yaml: deploy.helm.releases[0] (web)".
	Where string
}

// HelmInstalls prepares the releases of every config's deploy.helm, in
// order, for installing: local charts are loaded and values computed
// with opts.Images, as Render would. It contacts no cluster; remote
// charts are only named. When a local chart lacks dependencies from chart
// repositories in its charts/ directory and its release does not set
// skipBuildDependencies, buildDependencies (nil: none) is called with the
// chart's directory to fetch them, as `helm dependency build` does, and
// the chart is loaded again.
func HelmInstalls(configs []*config.Config, opts Options, buildDependencies func(chartDir string) error) ([]HelmInstall, error) {
	return helmInstalls(configs, opts, true, buildDependencies)
}

// HelmReleaseNames is HelmInstalls with only Name, Namespace and Where
// set: what `skiff delete` needs to uninstall the releases, which reads no
// chart.
func HelmReleaseNames(configs []*config.Config, opts Options) ([]HelmInstall, error) {
	return helmInstalls(configs, opts, false, nil)
}

func helmInstalls(configs []*config.Config, opts Options, load bool, buildDependencies func(string) error) ([]HelmInstall, error) {
	r := &renderer{opts: opts}
	if r.opts.WorkDir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return nil, fmt.Errorf("finding the working directory: %w", err)
		}
		r.opts.WorkDir = wd
	}
	var out []HelmInstall
	for _, c := range configs {
		d := c.Deploy.HelmDeploy
		if d == nil {
			continue
		}
		order, err := dependencyOrder(d.Releases)
		if err != nil {
			return nil, fmt.Errorf("%s: deploy.helm.releases: %w", c.File, err)
		}
		for _, i := range order {
			rel := d.Releases[i]
			where := fmt.Sprintf("%s: deploy.helm.releases[%d] (%s)", c.File, i, rel.Name)
			in, err := r.install(c, rel, load, buildDependencies)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", where, err)
			}
			in.Flags, in.Dir, in.Where = d.Flags, c.Dir, where
			out = append(out, in)
		}
	}
	return out, nil
}

// install prepares release rel of config c; with load false, only its
// name and namespace.
func (r *renderer) install(c *config.Config, rel schema.HelmRelease, load bool, buildDependencies func(string) error) (HelmInstall, error) {
	var in HelmInstall
	var err error
	if in.Name, err = r.expand(rel.Name, nil); err != nil {
		return in, fmt.Errorf("name: %w", err)
	}
	if in.Name == "" {
		return in, fmt.Errorf("the release has no name; set name")
	}
	ns := r.opts.Namespace
	if ns == "" {
		if ns, err = r.expand(rel.Namespace, nil); err != nil {
			return in, fmt.Errorf("namespace: %w", err)
		}
	}
	in.Namespace = cmp.Or(ns, r.opts.DefaultNamespace, "default")
	if !load {
		return in, nil
	}
	switch {
	case rel.UseHelmSecrets:
		return in, fmt.Errorf("useHelmSecrets is not supported by skiff: decrypt the secrets into a values file (helm secrets decrypt) and list it in valuesFiles")
	case rel.RemoteChart != "":
		if in.RemoteChart, err = r.expand(rel.RemoteChart, nil); err != nil {
			return in, fmt.Errorf("remoteChart: %w", err)
		}
		if in.Repo, err = r.expand(rel.Repo, nil); err != nil {
			return in, fmt.Errorf("repo: %w", err)
		}
		if in.Version, err = r.expand(rel.Version, nil); err != nil {
			return in, fmt.Errorf("version: %w", err)
		}
	case rel.ChartPath == "":
		return in, fmt.Errorf("the release has neither chartPath nor remoteChart; set one")
	default:
		path, err := r.path(c, rel.ChartPath, nil)
		if err != nil {
			return in, fmt.Errorf("chartPath: %w", err)
		}
		in.Chart, err = r.loadChart(path, rel)
		var missing *missingDependenciesError
		if errors.As(err, &missing) && buildDependencies != nil {
			if err := buildDependencies(path); err != nil {
				return in, fmt.Errorf("building the dependencies of chart %s: %w; fetch them with helm dependency build %s, or set skipBuildDependencies", r.display(path), err, r.display(path))
			}
			in.Chart, err = r.loadChart(path, rel)
		}
		if err != nil {
			return in, err
		}
	}
	if in.Values, err = r.helmValues(c, rel); err != nil {
		return in, err
	}
	in.CreateNamespace = rel.CreateNamespace != nil && *rel.CreateNamespace
	in.RecreatePods = rel.RecreatePods
	in.UpgradeOnChange = in.Chart != nil
	if rel.UpgradeOnChange != nil {
		in.UpgradeOnChange = *rel.UpgradeOnChange
	}
	return in, nil
}

// dependencyOrder is the order to install rels in: each after the
// releases its dependsOn names, otherwise as listed, as Skaffold orders
// them. A name no release has, or a cycle, is an error.
func dependencyOrder(rels []schema.HelmRelease) ([]int, error) {
	index := map[string]int{}
	for i, rel := range rels {
		index[rel.Name] = i
	}
	const (
		unvisited = iota
		visiting
		done
	)
	state := make([]int, len(rels))
	var order []int
	var visit func(i int, path []string) error
	visit = func(i int, path []string) error {
		switch state[i] {
		case done:
			return nil
		case visiting:
			return fmt.Errorf("dependsOn makes a cycle: %s -> %s; remove one of them", strings.Join(path, " -> "), rels[i].Name)
		}
		state[i] = visiting
		for _, dep := range rels[i].DependsOn {
			j, ok := index[dep]
			if !ok {
				return fmt.Errorf("release %s dependsOn %s, which is not a release of this deploy.helm; fix the name", rels[i].Name, dep)
			}
			if err := visit(j, append(slices.Clip(path), rels[i].Name)); err != nil {
				return err
			}
		}
		state[i] = done
		order = append(order, i)
		return nil
	}
	for i := range rels {
		if err := visit(i, nil); err != nil {
			return nil, err
		}
	}
	return order, nil
}
