package render

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"skiff.dev/skiff/internal/artifact"
	"skiff.dev/skiff/internal/config"
	"skiff.dev/skiff/internal/fsutil"
	"skiff.dev/skiff/internal/log"
)

// Options says what Render substitutes and adds.
type Options struct {
	// Images are the built images; manifests naming an artifact's image get
	// its Ref.
	Images []artifact.Image
	// Namespace is the -n flag. Helm releases are rendered into it, and,
	// unless Offline, objects of namespaced kinds that name no namespace
	// get it, as skaffold render --namespace does; an object naming another
	// namespace keeps it (with a warning).
	Namespace string
	// DefaultNamespace is where objects naming no namespace end up when
	// deployed (the kube context's namespace). Helm charts see it as
	// .Release.Namespace when neither Namespace nor the release names one;
	// empty means "default".
	DefaultNamespace string
	// Labels are added to every object's metadata.labels, replacing values
	// the manifests set: skiff finds what it deployed by them.
	Labels map[string]string
	// PodLabels are also added to the pods objects make: pod templates of
	// workloads, a Pod's own labels. They must not change from run to run,
	// or every deploy restarts every pod.
	PodLabels map[string]string
	// Offline renders for a cluster not at hand: as in skaffold render
	// --offline, Namespace then only names Helm releases' namespace.
	Offline bool
	// Env is what templated fields (manifest paths, release names,
	// setValueTemplates, ...) see, usually config.Project.Env.
	Env config.Env
	// KubeVersion is the Kubernetes version Helm charts see in
	// .Capabilities; empty means DefaultKubeVersion.
	KubeVersion string
	// WorkDir is the directory manifest sources are shown relative to;
	// empty means the working directory.
	WorkDir string
	// InstallHelm leaves deploy.helm's releases out of what Render
	// returns: skiff installs them as Helm releases, which HelmInstalls
	// prepares. skiff render leaves it false and renders them.
	InstallHelm bool
	// Log receives warnings, such as a rawYaml glob that matches no file;
	// nil discards them.
	Log *log.Logger
}

// Render renders every config's manifests, configs in order and within a
// config raw YAML, then kustomize, then Helm releases (as Skaffold does),
// and then substitutes the images, adds the labels and sets namespaces.
// It never contacts a cluster or a registry.
func Render(ctx context.Context, configs []*config.Config, opts Options) ([]Manifest, error) {
	sel, err := newSelector(configs)
	if err != nil {
		return nil, err
	}
	r := &renderer{opts: opts}
	if r.opts.WorkDir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return nil, fmt.Errorf("finding the working directory: %w", err)
		}
		r.opts.WorkDir = wd
	}
	for _, c := range configs {
		for _, step := range []func(context.Context, *config.Config) error{r.rawYAML, r.kustomize, r.helm} {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			if err := step(ctx, c); err != nil {
				return nil, err
			}
		}
	}
	ms := make([]Manifest, len(r.items))
	for i, it := range r.items {
		ms[i] = it.Manifest
	}
	sc := newScopes(ms)
	for _, it := range r.items {
		if it.releaseNS != "" && it.Object.GetNamespace() == "" && sc.namespaced(it.Object.GroupVersionKind().GroupKind()) {
			it.Object.SetNamespace(it.releaseNS)
		}
	}
	transform(ms, sel, opts, sc)
	return dedupe(ms, opts.Log), nil
}

// dedupe drops objects rendered again identically (two releases of a
// chart that has CRDs render them twice) and warns about an object
// rendered twice differently: the later one wins when applied.
func dedupe(ms []Manifest, lg *log.Logger) []Manifest {
	type id struct {
		gk              schema.GroupKind
		namespace, name string
	}
	seen := map[id]Manifest{}
	out := ms[:0]
	for _, m := range ms {
		k := id{m.Object.GroupVersionKind().GroupKind(), m.Object.GetNamespace(), m.Object.GetName()}
		if prev, ok := seen[k]; ok {
			if reflect.DeepEqual(prev.Object.Object, m.Object.Object) {
				continue
			}
			lg.Warnf("%s is rendered twice, from %s and from %s; the second one wins", m.Ref(), prev.Source, m.Source)
		}
		seen[k] = m
		out = append(out, m)
	}
	return out
}

// Transform substitutes the images in ms, adds the labels and sets
// namespaces as Render does, for manifests that were rendered earlier and
// read with Parse. configs provide the resource selectors; opts.Env,
// KubeVersion and DefaultNamespace are not used.
func Transform(ms []Manifest, configs []*config.Config, opts Options) error {
	sel, err := newSelector(configs)
	if err != nil {
		return err
	}
	transform(ms, sel, opts, newScopes(ms))
	return nil
}

// transform replaces images, sets labels and applies -n to ms.
func transform(ms []Manifest, sel *selector, opts Options, sc scopes) {
	images := newImageReplacer(opts.Images)
	for _, m := range ms {
		gk := m.Object.GroupVersionKind().GroupKind()
		images.replaceImages(m.Object.Object, gk, sel)
		setLabels(m.Object.Object, gk, sel, opts.Labels, opts.PodLabels)
		if opts.Namespace == "" || opts.Offline || !sc.namespaced(gk) {
			continue
		}
		switch ns := m.Object.GetNamespace(); ns {
		case "":
			m.Object.SetNamespace(opts.Namespace)
		case opts.Namespace:
		default:
			opts.Log.Warnf("%s (%s) names namespace %q, not %q as -n asks; it stays in %s", m.Ref(), m.Source, ns, opts.Namespace, ns)
		}
	}
}

// renderer collects the manifests of one Render.
type renderer struct {
	opts  Options
	items []item
	// expanded is how many bytes templated fields have expanded to so
	// far; each is bounded, and so is their sum.
	expanded int64
}

// maxExpanded bounds what all templated fields of a render expand to
// together: each may make 1 MiB, and a release may have a thousand.
const maxExpanded = 16 << 20

// item is a rendered manifest and the namespace of the Helm release that
// made it, which it goes into when it names none.
type item struct {
	Manifest
	releaseNS string
}

func (r *renderer) add(ms []Manifest, releaseNS string) {
	for _, m := range ms {
		r.items = append(r.items, item{Manifest: m, releaseNS: releaseNS})
	}
}

// expand evaluates a templated config field against the environment and
// extra values.
func (r *renderer) expand(text string, extra map[string]string) (string, error) {
	env := r.opts.Env
	if len(extra) > 0 {
		env = env.With(extra)
	}
	out, err := config.Expand(text, env)
	if err != nil {
		return "", err
	}
	if r.expanded += int64(len(out)); r.expanded > maxExpanded {
		return "", fmt.Errorf("the templated fields expand to more than %s together; make the templates produce less", fsutil.Size(maxExpanded))
	}
	return out, nil
}

// path expands a templated path of config c and makes it absolute.
func (r *renderer) path(c *config.Config, p string, extra map[string]string) (string, error) {
	p, err := r.expand(p, extra)
	if err != nil {
		return "", err
	}
	return abs(c, p)
}

// abs resolves a path of config c, which may start with ~/, against the
// config's directory.
func abs(c *config.Config, p string) (string, error) {
	if rest, ok := strings.CutPrefix(p, "~/"); ok {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("expanding ~ in %s: %w", p, err)
		}
		p = filepath.Join(home, rest)
	}
	if !filepath.IsAbs(p) {
		p = filepath.Join(c.Dir, p)
	}
	return filepath.Clean(p), nil
}

// display shows a path relative to the working directory when it is
// under it.
func (r *renderer) display(p string) string {
	if rel, err := filepath.Rel(r.opts.WorkDir, p); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return rel
	}
	return p
}

// isURL reports whether a manifest source is a remote URL.
func isURL(s string) bool {
	return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://")
}
