package buildpacks

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"skiff.dev/skiff/internal/fsutil"
)

// A buildpack reference in buildpacks.buildpacks or a project descriptor
// is one of:
//
//	urn:cnb:builder:<id>[@<version>]  a buildpack of the builder
//	docker://<image>                  a buildpackage image
//	<directory>                       a buildpack on disk, relative to the context
//	<id>[@<version>]                  a buildpack of the builder
//	<image>                           a buildpackage image, when the builder has no such id
const (
	builderURN   = "urn:cnb:builder:"
	dockerScheme = "docker://"
)

// maxBuildpackTOML bounds a buildpack.toml read.
const maxBuildpackTOML = 1 << 20

// extraBuildpack is a buildpack that is not in the builder: its files go
// into /cnb/buildpacks/<escaped id>/<version>/ of the containers that detect and
// build.
type extraBuildpack struct {
	entry GroupEntry
	// dir is a local buildpack's directory.
	dir string
	// image is a buildpackage image, whose layers hold its files.
	image v1.Image
}

// imageReader reads a buildpackage image from its registry.
type imageReader func(ctx context.Context, ref string) (v1.Image, error)

// resolvedOrder is the order to detect with and the buildpacks to add.
type resolvedOrder struct {
	// Order is nil when the builder's own order applies.
	Order Order
	Extra []extraBuildpack
}

// resolveOrder turns the artifact's buildpacks (else the descriptor's)
// into an order of one group, and adds the descriptor's pre and post
// buildpacks to every group of the order.
func resolveOrder(ctx context.Context, workspace string, md *BuilderMetadata, artifact []string, proj *Project, read imageReader) (resolvedOrder, error) {
	var r resolvedOrder
	refs := artifact
	var pre, post []string
	if proj != nil {
		if len(refs) == 0 {
			refs = proj.Buildpacks
		}
		pre, post = proj.Pre, proj.Post
	}
	resolve := func(refs []string) ([]GroupEntry, error) {
		var out []GroupEntry
		for _, ref := range refs {
			e, extra, err := resolveBuildpack(ctx, workspace, md, ref, read)
			if err != nil {
				return nil, err
			}
			out = append(out, e)
			if extra != nil && !slices.ContainsFunc(r.Extra, func(x extraBuildpack) bool { return x.entry == extra.entry }) {
				r.Extra = append(r.Extra, *extra)
			}
		}
		return out, nil
	}
	group, err := resolve(refs)
	if err != nil {
		return r, err
	}
	preE, err := resolve(pre)
	if err != nil {
		return r, err
	}
	postE, err := resolve(post)
	if err != nil {
		return r, err
	}
	if len(group) == 0 && len(preE) == 0 && len(postE) == 0 {
		return r, nil
	}
	base := md.Order
	if len(group) > 0 {
		base = Order{{Buildpacks: group}}
	}
	for _, g := range base {
		var bps []GroupEntry
		bps = append(bps, preE...)
		bps = append(bps, g.Buildpacks...)
		bps = append(bps, postE...)
		r.Order = append(r.Order, Group{Buildpacks: bps})
	}
	return r, nil
}

// resolveBuildpack resolves one reference; extra is set for buildpacks
// that are not the builder's.
func resolveBuildpack(ctx context.Context, workspace string, md *BuilderMetadata, ref string, read imageReader) (GroupEntry, *extraBuildpack, error) {
	ref = strings.TrimSpace(ref)
	if id, ok := strings.CutPrefix(ref, builderURN); ok {
		e, err := builderBuildpack(md, id)
		return e, nil, err
	}
	if img, ok := strings.CutPrefix(ref, dockerScheme); ok {
		return imageBuildpack(ctx, img, read)
	}
	dir := strings.TrimPrefix(ref, "file://")
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(workspace, dir)
	}
	if fi, err := os.Stat(dir); err == nil && fi.IsDir() {
		return dirBuildpack(dir)
	}
	id, _, _ := strings.Cut(ref, "@")
	if _, ok := md.Buildpacks[id]; ok {
		e, err := builderBuildpack(md, ref)
		return e, nil, err
	}
	if _, err := name.ParseReference(ref); err == nil && strings.ContainsAny(ref, ".:") {
		return imageBuildpack(ctx, ref, read)
	}
	return GroupEntry{}, nil, fmt.Errorf("buildpack %q is not in the builder (which has %s), nor a directory in the context, nor an image reference; fix buildpacks.buildpacks or the project descriptor", ref, strings.Join(md.BuildpackIDs(), ", "))
}

// builderBuildpack picks a builder's buildpack by id[@version]; without a
// version the builder must hold exactly one.
func builderBuildpack(md *BuilderMetadata, ref string) (GroupEntry, error) {
	id, version, _ := strings.Cut(ref, "@")
	versions, ok := md.Buildpacks[id]
	switch {
	case !ok:
		return GroupEntry{}, fmt.Errorf("buildpack %s is not in the builder, which has %s", id, strings.Join(md.BuildpackIDs(), ", "))
	case version != "" && !slices.Contains(versions, version):
		return GroupEntry{}, fmt.Errorf("the builder has buildpack %s in version %s, not %s", id, strings.Join(versions, ", "), version)
	case version == "" && len(versions) > 1:
		return GroupEntry{}, fmt.Errorf("the builder has buildpack %s in versions %s; name one (%s@<version>)", id, strings.Join(versions, ", "), id)
	case version == "" && len(versions) == 1:
		version = versions[0]
	}
	return GroupEntry{ID: id, Version: version}, nil
}

// buildpackDescriptor is the part of buildpack.toml the platform reads.
type buildpackDescriptor struct {
	API       string `toml:"api"`
	Buildpack struct {
		ID      string `toml:"id"`
		Version string `toml:"version"`
	} `toml:"buildpack"`
}

func dirBuildpack(dir string) (GroupEntry, *extraBuildpack, error) {
	file := filepath.Join(dir, "buildpack.toml")
	data, err := fsutil.ReadRegular(file, maxBuildpackTOML)
	if err != nil {
		return GroupEntry{}, nil, fmt.Errorf("buildpack directory %s: %w; a buildpack directory holds buildpack.toml and bin/", dir, err)
	}
	var d buildpackDescriptor
	if _, err := toml.Decode(string(data), &d); err != nil {
		return GroupEntry{}, nil, fmt.Errorf("reading %s: %w", file, err)
	}
	if d.Buildpack.ID == "" || d.Buildpack.Version == "" {
		return GroupEntry{}, nil, fmt.Errorf("%s names no buildpack id and version", file)
	}
	e := GroupEntry{ID: d.Buildpack.ID, Version: d.Buildpack.Version}
	return e, &extraBuildpack{entry: e, dir: dir}, nil
}

func imageBuildpack(ctx context.Context, ref string, read imageReader) (GroupEntry, *extraBuildpack, error) {
	img, err := read(ctx, ref)
	if err != nil {
		return GroupEntry{}, nil, &PullError{What: "buildpack", Ref: ref, Err: err}
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return GroupEntry{}, nil, fmt.Errorf("reading the config of buildpack image %s: %w", ref, err)
	}
	var md struct {
		ID      string `json:"id"`
		Version string `json:"version"`
	}
	raw := cf.Config.Labels[labelPackageMetadata]
	if raw == "" {
		return GroupEntry{}, nil, fmt.Errorf("image %s is not a buildpackage: it has no %s label", ref, labelPackageMetadata)
	}
	if err := json.Unmarshal([]byte(raw), &md); err != nil || md.ID == "" {
		return GroupEntry{}, nil, fmt.Errorf("image %s: its %s label names no buildpack id", ref, labelPackageMetadata)
	}
	e := GroupEntry{ID: md.ID, Version: md.Version}
	return e, &extraBuildpack{entry: e, image: img}, nil
}

// buildpackPath is where a buildpack lives in a container:
// /cnb/buildpacks/<id with / as _>/<version>.
func buildpackPath(e GroupEntry) string {
	return path.Join("cnb/buildpacks", strings.ReplaceAll(e.ID, "/", "_"), e.Version)
}

// writeTo adds a local buildpack's files to tw under its buildpackPath,
// or copies a buildpackage's layers.
func (x extraBuildpack) writeTo(tw *tar.Writer) error {
	if x.image != nil {
		layers, err := x.image.Layers()
		if err != nil {
			return err
		}
		for _, l := range layers {
			rc, err := l.Uncompressed()
			if err != nil {
				return err
			}
			err = copyUnder(tw, rc, "")
			rc.Close()
			if err != nil {
				return fmt.Errorf("copying buildpack %s: %w", x.entry, err)
			}
		}
		return nil
	}
	root := buildpackPath(x.entry)
	if err := addParents(tw, root); err != nil {
		return err
	}
	return filepath.WalkDir(x.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(x.dir, p)
		if err != nil {
			return err
		}
		target := root
		if rel != "." {
			target = path.Join(root, filepath.ToSlash(rel))
		}
		return addFile(tw, p, target, d, 0, 0)
	})
}

// addParents writes directory entries for every parent of p (and p).
func addParents(tw *tar.Writer, p string) error {
	var dirs []string
	for d := p; d != "." && d != "/" && d != ""; d = path.Dir(d) {
		dirs = append(dirs, d)
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: dirs[i] + "/", Mode: 0o755, ModTime: fixedTime}); err != nil {
			return err
		}
	}
	return nil
}

// orderTar writes order.toml as /cnb/order.toml, over the builder's.
func orderTar(tw *tar.Writer, o Order) error {
	data, err := EncodeOrder(o)
	if err != nil {
		return err
	}
	return addBytes(tw, "cnb/order.toml", data, 0o644, 0, 0)
}

func addBytes(tw *tar.Writer, name string, data []byte, mode int64, uid, gid int) error {
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Size: int64(len(data)), Mode: mode, Uid: uid, Gid: gid, ModTime: fixedTime}); err != nil {
		return err
	}
	_, err := io.Copy(tw, bytes.NewReader(data))
	return err
}
