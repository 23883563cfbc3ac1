package render

import (
	"context"
	"fmt"
	"strings"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"skiff.dev/skiff/internal/config"
	"skiff.dev/skiff/internal/fsutil"
)

// kustomize builds manifests.kustomize's paths (default ".") in process,
// as `kustomize build` would.
func (r *renderer) kustomize(_ context.Context, c *config.Config) error {
	k := c.Render.Kustomize
	if k == nil {
		return nil
	}
	opts, err := kustomizeOptions(k.BuildArgs)
	if err != nil {
		return fmt.Errorf("%s: manifests.kustomize.buildArgs: %w", c.File, err)
	}
	paths := k.Paths
	if len(paths) == 0 {
		paths = []string{"."}
	}
	fsys := regularFS{filesys.MakeFsOnDisk()}
	for i, raw := range paths {
		where := fmt.Sprintf("%s: manifests.kustomize.paths[%d] (%s)", c.File, i, raw)
		p, err := r.expand(raw, nil)
		if err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
		if isURL(p) {
			return fmt.Errorf("%s: remote kustomizations are not supported by skiff yet; clone the repository and point paths at the directory", where)
		}
		if p, err = abs(c, p); err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
		dir := r.display(p)
		m, err := krusty.MakeKustomizer(opts).Run(fsys, p)
		if err != nil {
			return fmt.Errorf("%s: kustomize build %s: %w", where, dir, err)
		}
		for _, res := range m.Resources() {
			text, err := res.AsYAML()
			if err != nil {
				return fmt.Errorf("kustomize build %s: %s: %w", dir, res.CurId(), err)
			}
			ms, err := parseDocs(text, func(int) Source { return Source{File: dir} })
			if err != nil {
				return fmt.Errorf("kustomize build %s: %w", dir, err)
			}
			r.add(ms, "")
		}
	}
	return nil
}

// maxKustomizeFileSize bounds each file a kustomization reads.
const maxKustomizeFileSize = 64 << 20

// regularFS is the disk as kustomize sees it, except that it reads only
// regular files of a bounded size: a kustomization naming a FIFO must not
// hang rendering.
type regularFS struct{ filesys.FileSystem }

// ReadFile reads path when it is a regular file of a sensible size.
func (fsys regularFS) ReadFile(path string) ([]byte, error) {
	return fsutil.ReadRegular(path, maxKustomizeFileSize)
}

// kustomizeOptions reads manifests.kustomize.buildArgs, the extra
// arguments of `kustomize build`; entries may hold several arguments
// separated by spaces, as Skaffold splits them. Only the flags that make
// sense in process are accepted.
func kustomizeOptions(args []string) (*krusty.Options, error) {
	opts := krusty.MakeDefaultOptions()
	// kustomize build sorts resources (legacy order) unless told otherwise.
	opts.Reorder = krusty.ReorderOptionUnspecified
	var fields []string
	for _, a := range args {
		fields = append(fields, strings.Fields(a)...)
	}
	for i := 0; i < len(fields); i++ {
		name, val, hasVal := strings.Cut(fields[i], "=")
		switch name {
		case "--load-restrictor", "--load_restrictor", "--reorder":
		case "--enable-helm":
			return nil, fmt.Errorf("%s is not supported by skiff: render Helm charts with manifests.helm instead", name)
		default:
			return nil, fmt.Errorf("kustomize flag %s is not supported by skiff (it builds kustomizations in process); it takes --load-restrictor and --reorder", fields[i])
		}
		if !hasVal {
			if i+1 == len(fields) {
				return nil, fmt.Errorf("%s needs a value", name)
			}
			i++
			val = fields[i]
		}
		switch {
		case name == "--reorder" && (val == "legacy" || val == "none"):
			opts.Reorder = krusty.ReorderOption(val)
		case name == "--reorder":
			return nil, fmt.Errorf("--reorder %s: use legacy or none", val)
		case val == "LoadRestrictionsNone" || val == "none":
			opts.LoadRestrictions = types.LoadRestrictionsNone
		case val == "LoadRestrictionsRootOnly" || val == "rootOnly":
			opts.LoadRestrictions = types.LoadRestrictionsRootOnly
		default:
			return nil, fmt.Errorf("%s %s: use LoadRestrictionsRootOnly or LoadRestrictionsNone", name, val)
		}
	}
	return opts, nil
}
