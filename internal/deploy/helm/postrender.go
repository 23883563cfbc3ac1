package helm

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"

	"helm.sh/helm/v3/pkg/postrender"

	"skiff.dev/skiff/internal/deploy/helmflag"
)

// postRenderer is the chain a release's manifests go through: the
// --post-renderer executable of its flags (a path relative to dir, the
// config's directory, or a name on PATH), then skiff's Options.PostRender.
func (d *Deployer) postRenderer(dir string, s helmflag.Settings) (postrender.PostRenderer, error) {
	var chain chain
	if s.PostRenderer != "" {
		path := s.PostRenderer
		if strings.ContainsRune(path, filepath.Separator) && !filepath.IsAbs(path) {
			path = filepath.Join(dir, path)
		}
		pr, err := postrender.NewExec(path, s.PostRendererArgs...)
		if err != nil {
			return nil, fmt.Errorf("--post-renderer %s: %w; give the path of an executable (relative to %s) or the name of one on PATH", s.PostRenderer, err, dir)
		}
		chain = append(chain, named{pr, "post-renderer " + s.PostRenderer})
	} else if len(s.PostRendererArgs) > 0 {
		return nil, fmt.Errorf("--post-renderer-args %s without --post-renderer: add the post-renderer, or remove the arguments", strings.Join(s.PostRendererArgs, " "))
	}
	if d.opts.PostRender != nil {
		chain = append(chain, named{funcRenderer(d.opts.PostRender), "skiff's post-render (images, labels)"})
	}
	if len(chain) == 0 {
		return nil, nil
	}
	return chain, nil
}

// chain runs post-renderers one after the other.
type chain []named

// Run passes the manifests through each post-renderer in turn.
func (c chain) Run(in *bytes.Buffer) (*bytes.Buffer, error) {
	for _, pr := range c {
		out, err := pr.Run(in)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", pr.name, err)
		}
		in = out
	}
	return in, nil
}

// named is a post-renderer and its name, for errors.
type named struct {
	postrender.PostRenderer
	name string
}

// funcRenderer is a post-renderer made of a function.
type funcRenderer func([]byte) ([]byte, error)

// Run calls the function.
func (f funcRenderer) Run(in *bytes.Buffer) (*bytes.Buffer, error) {
	out, err := f(in.Bytes())
	if err != nil {
		return nil, err
	}
	return bytes.NewBuffer(out), nil
}
