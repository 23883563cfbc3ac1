package ko

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"skiff.dev/skiff/internal/build"
	"skiff.dev/skiff/internal/config"
	"skiff.dev/skiff/internal/config/schema"
)

// StrictScheme is the prefix of an image name that is a Go import path,
// as ko writes image references in manifests: such an artifact builds
// that package, and its ko.main is ignored.
const StrictScheme = "ko://"

// spec is an artifact's ko section resolved for one build: templates
// expanded, the main package found.
type spec struct {
	// image is the artifact's image name, for messages.
	image string
	// workdir is where `go build` runs: the context joined with ko.dir.
	workdir string
	// main is the package argument of `go build`.
	main string
	// pkgDir is the main package's directory, which may hold kodata/.
	pkgDir string
	// flags are the `go build` flags before -o.
	flags []string
	// env are the artifact's KEY=value entries.
	env    []string
	labels map[string]string
	// baseRef is the base image's reference; "" is skiff's default base.
	baseRef string
	// created is the image's creation time; zero keeps the base's.
	created time.Time
	// kodataTime is the time of the files of the kodata layer.
	kodataTime time.Time
	// gzip says the new layers are compressed: only for a registry that
	// is not on this machine. The Docker daemon loads plain tar layers
	// (docker save writes them), and a loopback registry gains nothing
	// from compression but its cost.
	gzip bool
}

// resolve reads artifact a for a build for platform p (the first of the
// build's platforms: it decides which files `go list` sees).
func (b *Builder) resolve(ctx context.Context, a *schema.Artifact, req build.Request, p v1.Platform) (*spec, error) {
	k := a.KoArtifact
	if k == nil {
		return nil, fmt.Errorf("artifact %q is not a ko artifact", a.ImageName)
	}
	ws := a.Workspace
	if ws == "" {
		ws = "."
	}
	workdir, err := filepath.Abs(filepath.Join(ws, k.Dir))
	if err != nil {
		return nil, fmt.Errorf("artifact %q: %w", a.ImageName, err)
	}
	if fi, err := os.Stat(workdir); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("artifact %q: %s is not a directory; fix build.artifacts[].context or ko.dir", a.ImageName, workdir)
	}
	s := &spec{image: a.ImageName, workdir: workdir, baseRef: k.BaseImage, gzip: req.Push && !onThisMachine(req.Tag)}

	if s.env, err = expandEnv(k.Env, req.Env); err != nil {
		return nil, fmt.Errorf("artifact %q: ko.env: %w", a.ImageName, err)
	}
	if s.flags, err = flags(k, req.Env, req.Debug); err != nil {
		return nil, fmt.Errorf("artifact %q: %w", a.ImageName, err)
	}
	if len(k.Labels) > 0 {
		s.labels = make(map[string]string, len(k.Labels))
		for key, v := range k.Labels {
			if s.labels[key], err = config.Expand(v, req.Env); err != nil {
				return nil, fmt.Errorf("artifact %q: ko.labels.%s: %w", a.ImageName, key, err)
			}
		}
	}
	for _, r := range req.Requires {
		alias := r.Alias
		if alias == "" {
			alias = r.ImageName
		}
		if k.BaseImage != "" && k.BaseImage == alias {
			s.baseRef = r.Ref
		}
	}
	if s.created, err = epochVar(req.Env, "SOURCE_DATE_EPOCH"); err != nil {
		return nil, fmt.Errorf("artifact %q: %w", a.ImageName, err)
	}
	if s.kodataTime, err = epochVar(req.Env, "KO_DATA_DATE_EPOCH"); err != nil {
		return nil, fmt.Errorf("artifact %q: %w", a.ImageName, err)
	}
	if s.kodataTime.IsZero() {
		s.kodataTime = epoch
	}

	main := k.Main
	if rest, ok := strings.CutPrefix(a.ImageName, StrictScheme); ok {
		main = rest
	}
	if main == "" {
		main = "."
	}
	if local, ok := localPackage(workdir, main); ok {
		s.main = local
		s.pkgDir = filepath.Join(workdir, local)
		if filepath.IsAbs(local) {
			s.pkgDir = local
		}
		if fi, err := os.Stat(s.pkgDir); err != nil || !fi.IsDir() {
			return nil, fmt.Errorf("artifact %q: the main package %s is not a directory in %s; fix build.artifacts[].ko.main", a.ImageName, main, workdir)
		}
		return s, nil
	}
	if err := b.findMain(ctx, s, main, p); err != nil {
		return nil, err
	}
	return s, nil
}

// flags are ko's `go build` flags: the artifact's flags, -trimpath (or,
// for a debugger, optimizations and inlining off and no -trimpath, so the
// file names in the binary are those of the workspace, as `skaffold
// debug` builds), then its ldflags as one -ldflags.
func flags(k *schema.KoArtifact, env config.Env, debug bool) ([]string, error) {
	var flags []string
	for _, f := range k.Flags {
		v, err := config.Expand(f, env)
		if err != nil {
			return nil, fmt.Errorf("ko.flags: %w", err)
		}
		name, _, _ := strings.Cut(strings.TrimLeft(v, "-"), "=")
		if strings.HasPrefix(v, "-") && name == "toolexec" {
			return nil, fmt.Errorf("ko.flags: %s is not allowed, as in ko: it would run an arbitrary program on every compile", v)
		}
		flags = append(flags, v)
	}
	if debug {
		flags = append(flags, "-gcflags=all=-N -l")
	} else {
		flags = append(flags, "-trimpath")
	}
	if len(k.Ldflags) > 0 {
		ld := make([]string, len(k.Ldflags))
		for i, f := range k.Ldflags {
			v, err := config.Expand(f, env)
			if err != nil {
				return nil, fmt.Errorf("ko.ldflags: %w", err)
			}
			ld[i] = v
		}
		flags = append(flags, "-ldflags="+strings.Join(ld, " "))
	}
	return flags, nil
}

func expandEnv(entries []string, env config.Env) ([]string, error) {
	out := make([]string, 0, len(entries))
	for _, e := range entries {
		v, err := config.Expand(e, env)
		if err != nil {
			return nil, err
		}
		if k, _, ok := strings.Cut(v, "="); !ok || k == "" {
			return nil, fmt.Errorf("%q is not KEY=value", v)
		}
		out = append(out, v)
	}
	return out, nil
}

// epochVar reads a time in seconds since 1970 from env[name], as
// SOURCE_DATE_EPOCH is written; unset gives the zero time.
func epochVar(env config.Env, name string) (time.Time, error) {
	v, ok := env.Lookup(name)
	if !ok || v == "" {
		return time.Time{}, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s=%q is not a number of seconds since 1970-01-01 UTC", name, v)
	}
	return time.Unix(n, 0).UTC(), nil
}

// localPackage says whether main names a directory rather than an import
// path or a pattern, and returns it as `go build` reads a directory. A
// plain relative directory such as "cmd/app" that exists is taken as
// "./cmd/app", as the deps package does.
func localPackage(workdir, main string) (string, bool) {
	if strings.Contains(main, "...") {
		return "", false
	}
	if filepath.IsAbs(main) || main == "." || main == ".." ||
		strings.HasPrefix(main, "./") || strings.HasPrefix(main, "../") {
		return main, true
	}
	if fi, err := os.Stat(filepath.Join(workdir, main)); err == nil && fi.IsDir() {
		return "./" + filepath.ToSlash(main), true
	}
	return "", false
}

// findMain resolves main, an import path or a pattern such as ./..., to
// the one main package it names, with `go list`.
func (b *Builder) findMain(ctx context.Context, s *spec, main string, p v1.Platform) error {
	penv, err := platformEnv(p)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "skiff-ko-")
	if err != nil {
		return fmt.Errorf("making a temporary directory for go list: %w", err)
	}
	defer os.RemoveAll(tmp)
	var stdout, stderr bytes.Buffer
	if err := b.runGo(ctx, s, penv, tmp, &stdout, &stderr, "list", "-f", "{{.Name}}\t{{.ImportPath}}\t{{.Dir}}", main); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("artifact %q: finding the main package %s in %s with go list: %w\n%s", s.image, main, s.workdir, err, strings.TrimSpace(stderr.String()))
	}
	type pkg struct{ importPath, dir string }
	var mains []pkg
	sc := bufio.NewScanner(&stdout)
	for sc.Scan() {
		f := strings.SplitN(sc.Text(), "\t", 3)
		if len(f) == 3 && f[0] == "main" {
			mains = append(mains, pkg{f[1], f[2]})
		}
	}
	switch len(mains) {
	case 1:
		s.main, s.pkgDir = mains[0].importPath, mains[0].dir
		return nil
	case 0:
		return fmt.Errorf("artifact %q: %s names no main package in %s; point build.artifacts[].ko.main (or the ko:// image name) at a `package main`", s.image, main, s.workdir)
	default:
		names := make([]string, len(mains))
		for i, m := range mains {
			names[i] = m.importPath
		}
		return fmt.Errorf("artifact %q: %s names %d main packages (%s); set build.artifacts[].ko.main to one of them", s.image, main, len(mains), strings.Join(names, ", "))
	}
}

// onThisMachine says whether the registry of ref is on a loopback address.
func onThisMachine(ref string) bool {
	r, err := name.ParseReference(ref)
	if err != nil {
		return false
	}
	host := r.Context().RegistryStr()
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}
