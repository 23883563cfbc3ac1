//go:build !lean

package render

import (
	"cmp"
	"context"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/strvals"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	sigsyaml "sigs.k8s.io/yaml"

	"skiff.dev/skiff/internal/artifact"
	"skiff.dev/skiff/internal/config"
	"skiff.dev/skiff/internal/config/schema"
	"skiff.dev/skiff/internal/deploy/helmflag"
	"skiff.dev/skiff/internal/fsutil"
)

// DefaultKubeVersion is the Kubernetes version Helm charts see when
// Options.KubeVersion is empty: the one `helm template` of the Helm
// release skiff links (v3.22, built with client-go v0.37) assumes.
const DefaultKubeVersion = "v1.37.0"

// helmRelease is a release to render and where the config declares it.
type helmRelease struct {
	schema.HelmRelease
	where string
}

// helmReleases lists the releases of config c: manifests.helm's, then
// those of deploy.helm that manifests.helm does not declare by name.
// Configs upgraded from skaffold/v2 declare their releases in both; as in
// Skaffold v2, the manifests section wins. skiff render renders
// deploy.helm's releases too; with installed, deploy.helm's releases (and
// manifests.helm's of the same name) are left out: they are installed as
// Helm releases (see HelmInstalls).
func helmReleases(c *config.Config, installed bool) ([]helmRelease, error) {
	var out []helmRelease
	declared := map[string]bool{}
	installs := map[string]bool{}
	if d := c.Deploy.HelmDeploy; d != nil && installed {
		for _, rel := range d.Releases {
			installs[rel.Name] = true
		}
	}
	if h := c.Render.Helm; h != nil {
		if err := checkHelmFlags(h.Flags, c.File+": manifests.helm.flags"); err != nil {
			return nil, err
		}
		for i, rel := range h.Releases {
			if installs[rel.Name] {
				continue
			}
			out = append(out, helmRelease{rel, fmt.Sprintf("%s: manifests.helm.releases[%d] (%s)", c.File, i, rel.Name)})
			declared[rel.Name] = true
		}
	}
	if d := c.Deploy.HelmDeploy; d != nil && !installed {
		if c.Render.Helm == nil {
			if err := checkHelmFlags(d.Flags, c.File+": deploy.helm.flags"); err != nil {
				return nil, err
			}
		}
		for i, rel := range d.Releases {
			if !declared[rel.Name] {
				out = append(out, helmRelease{rel, fmt.Sprintf("%s: deploy.helm.releases[%d] (%s)", c.File, i, rel.Name)})
			}
		}
	}
	return out, nil
}

// checkHelmFlags rejects helm command-line flags that would change what
// `helm template` renders: skiff renders with the Helm SDK, not the helm
// binary. Flags of helm install, upgrade and dependency build do not
// change rendering, nor do the global flags skiff honours when it
// installs (--debug).
func checkHelmFlags(f schema.HelmDeployFlags, where string) error {
	if helmflag.Parse(helmflag.Global, f.Global, new(helmflag.Settings)) == nil {
		f.Global = nil
	}
	for _, set := range []struct {
		name  string
		flags []string
	}{{"global", f.Global}, {"template", f.Template}} {
		if len(set.flags) > 0 {
			return fmt.Errorf("%s.%s (%s): helm flags are not supported by skiff, which renders charts with the Helm SDK; express them as release settings (setValues, valuesFiles, namespace, skipTests) or remove them",
				where, set.name, strings.Join(set.flags, " "))
		}
	}
	return nil
}

// helm renders config c's Helm releases as `helm template` does, with
// the chart's CRDs included (helm install would install them).
func (r *renderer) helm(ctx context.Context, c *config.Config) error {
	rels, err := helmReleases(c, r.opts.InstallHelm)
	if err != nil {
		return err
	}
	for _, rel := range rels {
		ms, ns, err := r.release(ctx, c, rel)
		if err != nil {
			return err
		}
		r.add(ms, ns)
	}
	return nil
}

// release renders one release and returns its manifests and namespace.
func (r *renderer) release(ctx context.Context, c *config.Config, rel helmRelease) ([]Manifest, string, error) {
	fail := func(format string, args ...any) ([]Manifest, string, error) {
		return nil, "", fmt.Errorf("%s: %s", rel.where, fmt.Sprintf(format, args...))
	}
	switch {
	case rel.RemoteChart != "":
		return fail("remoteChart %s is not supported when rendering (skiff fetches remote charts only to install deploy.helm's releases): fetch the chart locally (helm pull %s --untar) and set chartPath to its directory", rel.RemoteChart, rel.RemoteChart)
	case rel.Repo != "":
		return fail("repo %s is not supported when rendering (skiff fetches remote charts only to install deploy.helm's releases): fetch the chart locally (helm pull --repo %s --untar) and set chartPath to its directory", rel.Repo, rel.Repo)
	case rel.UseHelmSecrets:
		return fail("useHelmSecrets is not supported by skiff: decrypt the secrets into a values file (helm secrets decrypt) and list it in valuesFiles")
	case rel.ChartPath == "":
		return fail("the release has no chartPath; set it to the chart's directory")
	}
	name, err := r.expand(rel.Name, nil)
	if err != nil {
		return fail("name: %v", err)
	}
	if name == "" {
		return fail("the release has no name; set name")
	}
	chartPath, err := r.path(c, rel.ChartPath, nil)
	if err != nil {
		return fail("chartPath: %v", err)
	}
	ns := r.opts.Namespace
	if ns == "" {
		if ns, err = r.expand(rel.Namespace, nil); err != nil {
			return fail("namespace: %v", err)
		}
	}
	ch, err := r.loadChart(chartPath, rel.HelmRelease)
	if err != nil {
		return fail("%v", err)
	}
	vals, err := r.helmValues(c, rel.HelmRelease)
	if err != nil {
		return fail("%v", err)
	}
	kv, err := chartutil.ParseKubeVersion(cmp.Or(r.opts.KubeVersion, DefaultKubeVersion))
	if err != nil {
		return fail("Kubernetes version %q: %v", r.opts.KubeVersion, err)
	}

	install := action.NewInstall(&action.Configuration{Log: func(string, ...any) {}})
	install.DryRun = true
	install.DryRunOption = "client"
	install.ClientOnly = true
	install.Replace = true
	install.IncludeCRDs = true
	install.ReleaseName = name
	install.Namespace = cmp.Or(ns, r.opts.DefaultNamespace, "default")
	install.KubeVersion = kv
	out, err := install.RunWithContext(ctx, ch, vals)
	if err != nil {
		return fail("rendering chart %s: %v", r.display(chartPath), err)
	}

	var ms []Manifest
	if rel.CreateNamespace != nil && *rel.CreateNamespace && ns != "" {
		ms = append(ms, namespaceManifest(ns, c.File))
	}
	for _, b := range splitRendered(out.Manifest) {
		parsed, err := parseDocs([]byte(b.text), r.chartSource(chartPath, ch.Name(), b.source))
		if err != nil {
			return fail("%v", err)
		}
		ms = append(ms, parsed...)
	}
	for _, h := range out.Hooks {
		if rel.SkipTests && slices.Contains(h.Events, release.HookTest) {
			continue
		}
		parsed, err := parseDocs([]byte(h.Manifest), r.chartSource(chartPath, ch.Name(), h.Path))
		if err != nil {
			return fail("%v", err)
		}
		ms = append(ms, parsed...)
	}
	return ms, ns, nil
}

// namespaceManifest is the Namespace helm --create-namespace creates.
func namespaceManifest(ns, file string) Manifest {
	obj := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1",
		"kind":       "Namespace",
		"metadata": map[string]any{
			"name":   ns,
			"labels": map[string]any{"name": ns},
		},
	}}
	return Manifest{Object: obj, Source: Source{File: file}}
}

// chartSource locates documents rendered from template src (as Helm
// names it: chart name, then the path in the chart) in the chart at
// chartPath. Rendered lines do not match template lines, so none is given.
func (r *renderer) chartSource(chartPath, chartName, src string) func(int) Source {
	file := src
	if rest, ok := strings.CutPrefix(src, chartName+"/"); ok {
		file = r.display(filepath.Join(chartPath, filepath.FromSlash(rest)))
	}
	return func(int) Source { return Source{File: file} }
}

// renderedBlock is one document of Helm's rendered manifest and the
// template it came from.
type renderedBlock struct {
	source, text string
}

var (
	docSeparator = regexp.MustCompile(`(?m)^---[ \t]*$`)
	sourceLine   = regexp.MustCompile(`(?m)\A\s*# Source: (.+)$`)
)

// splitRendered splits a release's manifest, which Helm writes as
// "---\n# Source: <template>\n<document>" blocks.
func splitRendered(manifest string) []renderedBlock {
	var out []renderedBlock
	for _, text := range docSeparator.Split(manifest, -1) {
		if strings.TrimSpace(text) == "" {
			continue
		}
		b := renderedBlock{text: text}
		if m := sourceLine.FindStringSubmatch(text); m != nil {
			b.source = strings.TrimSpace(m[1])
		}
		out = append(out, b)
	}
	return out
}

// loadChart loads a local chart (a directory or a packaged .tgz) and
// checks it can be installed with its dependencies.
func (r *renderer) loadChart(path string, rel schema.HelmRelease) (*chart.Chart, error) {
	shown := r.display(path)
	if err := checkChartFiles(path); err != nil {
		return nil, fmt.Errorf("chart %s: %w", shown, err)
	}
	ch, err := loader.Load(path)
	if err != nil {
		return nil, fmt.Errorf("loading chart %s: %w; check chartPath", shown, err)
	}
	if t := ch.Metadata.Type; t != "" && t != "application" {
		return nil, fmt.Errorf("chart %s is a %s chart, which cannot be installed; point chartPath at an application chart", shown, t)
	}
	if p := rel.Packaged; p != nil {
		// helm package --version/--app-version stamp the chart's metadata.
		v, err := r.expand(p.Version, nil)
		if err != nil {
			return nil, fmt.Errorf("packaged.version: %w", err)
		}
		av, err := r.expand(p.AppVersion, nil)
		if err != nil {
			return nil, fmt.Errorf("packaged.appVersion: %w", err)
		}
		ch.Metadata.Version = cmp.Or(v, ch.Metadata.Version)
		ch.Metadata.AppVersion = cmp.Or(av, ch.Metadata.AppVersion)
	}
	reqs := ch.Metadata.Dependencies
	if len(reqs) == 0 {
		return ch, nil
	}
	if !rel.SkipBuildDependencies {
		if err := addLocalDependencies(ch, path); err != nil {
			return nil, fmt.Errorf("chart %s: %w", shown, err)
		}
	}
	if err := action.CheckDependencies(ch, reqs); err != nil {
		if rel.SkipBuildDependencies {
			return nil, fmt.Errorf("chart %s: %w; run helm dependency build %s, or unset skipBuildDependencies", shown, err, shown)
		}
		return nil, &missingDependenciesError{fmt.Errorf("chart %s: %w; skiff builds file:// dependencies itself, but others must be fetched first: run helm dependency build %s", shown, err, shown)}
	}
	return ch, nil
}

// missingDependenciesError is loadChart's error for a chart whose
// dependencies from chart repositories are not in its charts/ directory.
type missingDependenciesError struct{ error }

func (e *missingDependenciesError) Unwrap() error { return e.error }

// maxChartFiles bounds the files of a chart directory.
const maxChartFiles = 10_000

// checkChartFiles refuses a chart directory holding a FIFO, socket or
// device (directly or through a symlink), which Helm's loader would open
// and hang on, or more files than a chart has.
func checkChartFiles(dir string) error {
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return nil // a packaged chart, or an error loader.Load reports
	}
	n := 0
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if n++; n > maxChartFiles {
			return fmt.Errorf("more than %d files under %s; is chartPath the chart's directory?", maxChartFiles, dir)
		}
		mode := d.Type()
		if mode&fs.ModeSymlink != 0 {
			st, err := os.Stat(p)
			if err != nil {
				return nil // a dangling link; Helm says what it makes of it
			}
			mode = st.Mode().Type()
		}
		if mode&(fs.ModeNamedPipe|fs.ModeSocket|fs.ModeDevice|fs.ModeCharDevice) != 0 {
			return fmt.Errorf("%s is %s, not a regular file; remove it from the chart", p, fsutil.TypeName(mode))
		}
		return nil
	})
}

// addLocalDependencies adds to ch, loaded from dir, the file://
// dependencies missing from its charts/ directory, as helm dependency
// build would, but in memory.
func addLocalDependencies(ch *chart.Chart, dir string) error {
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return nil // a packaged chart carries its dependencies
	}
	have := map[string]bool{}
	for _, d := range ch.Dependencies() {
		have[d.Name()] = true
	}
	for _, dep := range ch.Metadata.Dependencies {
		rel, ok := strings.CutPrefix(dep.Repository, "file://")
		if have[dep.Name] || !ok {
			continue
		}
		if !filepath.IsAbs(rel) {
			rel = filepath.Join(dir, rel)
		}
		sub, err := loader.Load(rel)
		if err != nil {
			return fmt.Errorf("dependency %s (%s): %w", dep.Name, dep.Repository, err)
		}
		if err := addLocalDependencies(sub, rel); err != nil {
			return err
		}
		ch.AddDependency(sub)
		have[dep.Name] = true
	}
	return nil
}

// maxValuesSize bounds a values file and a setFiles file.
const maxValuesSize = 16 << 20

// helmValues computes a release's values the way helm combines its flags:
// values files in order (valuesFiles, then overrides), then --set
// (setValues, then setValueTemplates, each sorted by key), then
// --set-file (setFiles).
func (r *renderer) helmValues(c *config.Config, rel schema.HelmRelease) (map[string]any, error) {
	vars := imageVars(r.opts.Images)
	vals := map[string]any{}
	for i, f := range rel.ValuesFiles {
		p, err := r.expand(f, vars)
		if err != nil {
			return nil, fmt.Errorf("valuesFiles[%d]: %w", i, err)
		}
		if isURL(p) || strings.HasPrefix(p, "gs://") {
			return nil, fmt.Errorf("valuesFiles[%d] %s: remote values files are not supported by skiff yet; copy the file into the project", i, p)
		}
		if p, err = abs(c, p); err != nil {
			return nil, fmt.Errorf("valuesFiles[%d]: %w", i, err)
		}
		data, err := fsutil.ReadRegular(p, maxValuesSize)
		if err != nil {
			return nil, fmt.Errorf("valuesFiles[%d]: %w", i, err)
		}
		m := map[string]any{}
		if err := sigsyaml.Unmarshal(data, &m); err != nil {
			return nil, fmt.Errorf("values file %s: invalid YAML: %w", r.display(p), err)
		}
		vals = mergeValues(vals, m)
	}
	if len(rel.Overrides) > 0 {
		// Skaffold writes overrides to a values file helm reads; read them
		// the same way so numbers and strings come out alike.
		text, err := yaml.Marshal(rel.Overrides)
		if err != nil {
			return nil, fmt.Errorf("overrides: %w", err)
		}
		m := map[string]any{}
		if err := sigsyaml.Unmarshal(text, &m); err != nil {
			return nil, fmt.Errorf("overrides: %w", err)
		}
		vals = mergeValues(vals, m)
	}
	for _, k := range slices.Sorted(maps.Keys(rel.SetValues)) {
		if err := strvals.ParseInto(k+"="+rel.SetValues[k], vals); err != nil {
			return nil, fmt.Errorf("setValues %s: %w", k, err)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(rel.SetValueTemplates)) {
		key, err := r.expand(k, vars)
		if err != nil {
			return nil, fmt.Errorf("setValueTemplates key %s: %w", k, err)
		}
		v, err := r.expand(rel.SetValueTemplates[k], vars)
		if err != nil {
			return nil, fmt.Errorf("setValueTemplates %s: %w", k, err)
		}
		// Upgraded configs write tags as {{.IMAGE_TAG_x}}@{{.IMAGE_DIGEST_x}}:
		// without a digest, drop the dangling @ (as Skaffold does).
		v = strings.TrimSuffix(v, "@")
		if err := strvals.ParseInto(key+"="+v, vals); err != nil {
			return nil, fmt.Errorf("setValueTemplates %s: %w", k, err)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(rel.SetFiles)) {
		p, err := abs(c, rel.SetFiles[k])
		if err != nil {
			return nil, fmt.Errorf("setFiles %s: %w", k, err)
		}
		read := func(rs []rune) (any, error) {
			data, err := fsutil.ReadRegular(string(rs), maxValuesSize)
			return string(data), err
		}
		if err := strvals.ParseIntoFile(k+"="+p, vals, read); err != nil {
			return nil, fmt.Errorf("setFiles %s: %w", k, err)
		}
	}
	return vals, nil
}

// mergeValues merges b into a copy of a, maps recursively, as helm merges
// values files.
func mergeValues(a, b map[string]any) map[string]any {
	out := maps.Clone(a)
	for k, v := range b {
		if vm, ok := v.(map[string]any); ok {
			if am, ok := out[k].(map[string]any); ok {
				out[k] = mergeValues(am, vm)
				continue
			}
		}
		out[k] = v
	}
	return out
}

// imageVars are the values Skaffold gives setValueTemplates and
// valuesFiles for the built images: for each image, IMAGE_REPO_<name>,
// IMAGE_TAG_<name>, IMAGE_DIGEST_<name>, IMAGE_DOMAIN_<name>,
// IMAGE_REPO_NO_DOMAIN_<name>, IMAGE_FULLY_QUALIFIED_<name>,
// IMAGE_NAME_<name>, DIGEST_<name> (the whole reference) and the
// deprecated DIGEST_ALGO_<name> and DIGEST_HEX_<name>, where <name> is the
// image name with '.', '-', '/' and ':' turned into '_'; the first image's
// values are also there without a suffix, the second's with suffix 2, and
// so on.
func imageVars(images []artifact.Image) map[string]string {
	out := map[string]string{}
	sanitize := strings.NewReplacer(".", "_", "-", "_", "/", "_", ":", "_")
	for i, im := range images {
		index := ""
		if i > 0 {
			index = fmt.Sprint(i + 1)
		}
		name := sanitize.Replace(im.Name)
		for k, v := range varsForImage(im) {
			out[k+index] = v
			out[k+"_"+name] = v
		}
	}
	return out
}

func varsForImage(im artifact.Image) map[string]string {
	vars := map[string]string{"IMAGE_NAME": im.Name, "DIGEST": im.Ref}
	if im.Ref == "" {
		return vars
	}
	ref, ok := parseImage(im.Ref)
	if !ok {
		return vars
	}
	vars["IMAGE_REPO"] = ref.base
	vars["IMAGE_TAG"] = ref.tag
	vars["IMAGE_DIGEST"] = ref.digest
	vars["IMAGE_DOMAIN"] = ref.domain
	vars["IMAGE_REPO_NO_DOMAIN"] = strings.TrimPrefix(ref.base, ref.domain+"/")
	vars["IMAGE_FULLY_QUALIFIED"] = im.Ref
	if algo, hex, ok := strings.Cut(im.Ref, ":"); ok {
		vars["DIGEST_ALGO"], vars["DIGEST_HEX"] = algo, hex
	} else {
		vars["DIGEST_HEX"] = im.Ref
	}
	return vars
}
