package buildpacks

import (
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	"skiff.dev/skiff/internal/build/deps"
	"skiff.dev/skiff/internal/config/schema"
)

// Dependencies lists the files a buildpacks artifact is built from,
// relative to its context, for the cache key and the watcher: the files
// dependencies.paths selects (default the whole context) less
// dependencies.ignore and less what the project descriptor's
// include/exclude leave out of the application, plus the descriptor
// itself.
func Dependencies(a *schema.Artifact) ([]string, error) {
	bp := a.BuildpackArtifact
	if bp == nil {
		return nil, fmt.Errorf("artifact %q is not a buildpacks artifact", a.ImageName)
	}
	paths, ignore := []string{"."}, []string(nil)
	if d := bp.Dependencies; d != nil {
		if len(d.Paths) > 0 {
			paths = d.Paths
		}
		ignore = d.Ignore
	}
	files, err := deps.Paths(a.Workspace, paths, ignore)
	if err != nil {
		return nil, err
	}
	proj, err := LoadProject(a)
	if err != nil {
		return nil, err
	}
	if proj == nil {
		return files, nil
	}
	out := files[:0]
	for _, f := range files {
		if proj.Selects(f, false) || f == proj.File {
			out = append(out, f)
		}
	}
	if proj.File != "" && !slices.Contains(out, proj.File) {
		out = append(out, proj.File)
		slices.Sort(out)
	}
	return out, nil
}

// Validate checks what can be checked of a buildpacks artifact without
// Docker: a builder is named, env entries are KEY=value, the buildpacks
// are well-formed, volumes have absolute targets outside the lifecycle's
// directories, the project descriptor parses, and at most one platform is
// asked for.
func Validate(a *schema.Artifact) error {
	bp := a.BuildpackArtifact
	if bp == nil {
		return fmt.Errorf("artifact %q is not a buildpacks artifact", a.ImageName)
	}
	var errs []error
	if strings.TrimSpace(bp.Builder) == "" {
		errs = append(errs, errors.New("buildpacks.builder is empty: name the builder image (make builder makes an offline one)"))
	} else if !strings.Contains(bp.Builder, "{{") {
		if _, err := name.ParseReference(bp.Builder); err != nil {
			errs = append(errs, fmt.Errorf("buildpacks.builder %q is not an image reference: %w", bp.Builder, err))
		}
	}
	if bp.RunImage != "" && !strings.Contains(bp.RunImage, "{{") {
		if _, err := name.ParseReference(bp.RunImage); err != nil {
			errs = append(errs, fmt.Errorf("buildpacks.runImage %q is not an image reference: %w", bp.RunImage, err))
		}
	}
	for _, e := range bp.Env {
		if k, _, ok := strings.Cut(e, "="); !ok || k == "" {
			errs = append(errs, fmt.Errorf("buildpacks.env entry %q is not KEY=value", e))
		}
	}
	for _, b := range bp.Buildpacks {
		if strings.TrimSpace(b) == "" {
			errs = append(errs, errors.New("buildpacks.buildpacks has an empty entry"))
		}
	}
	for _, v := range bp.Volumes {
		if err := checkVolume(v); err != nil {
			errs = append(errs, err)
		}
	}
	if len(bp.BuildArgs) > 0 {
		errs = append(errs, fmt.Errorf("buildpacks.buildArgs (%s) are pack CLI flags, which skiff does not run; express them as env, buildpacks, runImage or a project descriptor", strings.Join(bp.BuildArgs, " ")))
	}
	if len(a.Platforms) > 1 {
		errs = append(errs, fmt.Errorf("platforms %s: a buildpacks build makes one platform's image; build one platform per artifact", strings.Join(a.Platforms, ", ")))
	}
	if _, err := LoadProject(a); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("artifact %q: %w", a.ImageName, err)
	}
	return nil
}

// reservedTargets are the lifecycle's directories, which a volume must
// not cover.
var reservedTargets = []string{"/cnb", "/layers", "/workspace", "/platform", "/cache", "/launch-cache"}

func checkVolume(v *schema.BuildpackVolume) error {
	if v == nil || v.Host == "" || v.Target == "" {
		return errors.New("buildpacks.volumes entries need host and target")
	}
	if !filepath.IsAbs(v.Host) {
		return fmt.Errorf("buildpacks.volumes host %q is not an absolute path", v.Host)
	}
	if !path.IsAbs(v.Target) {
		return fmt.Errorf("buildpacks.volumes target %q is not an absolute path", v.Target)
	}
	t := path.Clean(v.Target)
	for _, r := range reservedTargets {
		if t == "/" || t == r || strings.HasPrefix(t, r+"/") {
			return fmt.Errorf("buildpacks.volumes target %s is under the lifecycle's %s; mount it elsewhere", v.Target, r)
		}
	}
	if _, err := volumeMode(v.Options); err != nil {
		return err
	}
	return nil
}

// volumeMode reads a volume's options: "ro" (default) or "rw".
func volumeMode(opts string) (readOnly bool, err error) {
	readOnly = true
	for _, o := range strings.Split(opts, ",") {
		switch strings.TrimSpace(o) {
		case "", "ro":
			readOnly = true
		case "rw":
			readOnly = false
		default:
			return false, fmt.Errorf("buildpacks.volumes option %q is not supported; use ro or rw", o)
		}
	}
	return readOnly, nil
}
