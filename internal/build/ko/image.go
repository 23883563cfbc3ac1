package ko

import (
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// image builds the image of s for platform p. The base image and the
// kodata layer are made while `go build` runs.
func (b *Builder) image(ctx context.Context, s *spec, p v1.Platform, w io.Writer) (v1.Image, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	type baseResult struct {
		img v1.Image
		err error
	}
	baseCh := make(chan baseResult, 1)
	go func() {
		img, err := b.base(ctx, s.baseRef, p)
		baseCh <- baseResult{img, err}
	}()
	type dataResult struct {
		l   *layer
		err error
	}
	slot := s.image + "\x00" + p.String()
	dataCh := make(chan dataResult, 1)
	go func() {
		l, err := b.kodataLayer(slot, s)
		dataCh <- dataResult{l, err}
	}()

	dir, err := os.MkdirTemp("", "skiff-ko-bin-")
	if err != nil {
		return nil, fmt.Errorf("making a directory for the go build output: %w", err)
	}
	defer os.RemoveAll(dir)
	c, err := b.compile(ctx, s, p, w, filepath.Join(dir, "out"))
	if err != nil {
		return nil, err
	}
	bin, err := b.binaryLayer(slot, s, c)
	if err != nil {
		return nil, fmt.Errorf("artifact %q: %w", s.image, err)
	}
	data := <-dataCh
	if data.err != nil {
		return nil, fmt.Errorf("artifact %q: %w", s.image, data.err)
	}
	base := <-baseCh
	if base.err != nil {
		what := "skiff's default base image"
		if s.baseRef != "" {
			what = "the base image " + s.baseRef
		}
		return nil, fmt.Errorf("artifact %q: getting %s for %s: %w", s.image, what, p, base.err)
	}
	return assemble(base.img, s, p, c.name, data.l, bin)
}

func (b *Builder) binaryLayer(slot string, s *spec, c *compiled) (*layer, error) {
	l, err := b.layers.get(slot+"\x00bin\x00"+c.name, s.gzip, func(w io.Writer) error {
		return binaryTar(w, c.name, c.file)
	})
	if err != nil {
		return nil, fmt.Errorf("making the binary layer: %w", err)
	}
	return l, nil
}

func (b *Builder) kodataLayer(slot string, s *spec) (*layer, error) {
	return b.layers.get(slot+"\x00kodata", s.gzip, func(w io.Writer) error {
		return kodataTar(w, filepath.Join(s.pkgDir, "kodata"), s.kodataTime)
	})
}

// defaultUser is the user of an image built on skiff's default base when
// the base sets none: ko's default bases (distroless and Chainguard
// static) run as nonroot, 65532, and skiff's static base has that user.
const defaultUser = "65532"

// Annotations ko puts on an image built on a named base (OCI image spec).
const (
	annotationBaseName   = "org.opencontainers.image.base.name"
	annotationBaseDigest = "org.opencontainers.image.base.digest"
)

// assemble puts the kodata and binary layers on base and sets the config
// as ko does: the binary as the entrypoint and no command, /ko-app on
// PATH, KO_DATA_PATH, the labels; the user, working directory and the
// rest come from the base, except that on skiff's default base the image
// runs as nonroot, as on ko's.
func assemble(base v1.Image, s *spec, p v1.Platform, name string, data, bin *layer) (v1.Image, error) {
	mt, err := base.MediaType()
	if err != nil {
		return nil, fmt.Errorf("artifact %q: reading the base image: %w", s.image, err)
	}
	oci := mt == types.OCIManifestSchema1
	cf, err := base.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("artifact %q: reading the base image's config: %w", s.image, err)
	}
	if (cf.OS != "" && cf.OS != p.OS) || (cf.Architecture != "" && cf.Architecture != p.Architecture) {
		return nil, fmt.Errorf("artifact %q: the base image %s is for %s/%s, not %s; choose a ko.fromImage that has %s",
			s.image, baseName(s), cf.OS, cf.Architecture, p, p)
	}

	created := v1.Time{Time: epoch}
	if !s.created.IsZero() {
		created = v1.Time{Time: s.created}
	}
	appPath := path.Join(appDir, name)
	img, err := mutate.Append(base,
		mutate.Addendum{
			Layer: data.withMediaType(oci),
			History: v1.History{
				Author:    "skiff",
				Created:   v1.Time{Time: s.kodataTime},
				CreatedBy: "skiff build (ko) " + s.main,
				Comment:   "kodata/ of the main package, at $KO_DATA_PATH",
			},
		},
		mutate.Addendum{
			Layer: bin.withMediaType(oci),
			History: v1.History{
				Author:    "skiff",
				Created:   created,
				CreatedBy: "skiff build (ko) " + s.main,
				Comment:   "go build output, at " + appPath,
			},
		})
	if err != nil {
		return nil, err
	}
	cf, err = img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	if cf.OS == "" {
		cf.OS = p.OS
	}
	if cf.Architecture == "" {
		cf.Architecture = p.Architecture
	}
	if cf.Variant == "" {
		cf.Variant = p.Variant
	}
	if s.baseRef == "" && cf.Config.User == "" {
		cf.Config.User = defaultUser
	}
	cf.Config.Entrypoint = []string{appPath}
	cf.Config.Cmd = nil
	appendPath(cf, appDir)
	setEnv(cf, "KO_DATA_PATH", kodataRoot)
	if len(s.labels) > 0 && cf.Config.Labels == nil {
		cf.Config.Labels = make(map[string]string, len(s.labels))
	}
	for k, v := range s.labels {
		cf.Config.Labels[k] = v
	}
	if !s.created.IsZero() {
		cf.Created = created
	}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, err
	}
	if s.baseRef != "" {
		d, err := base.Digest()
		if err != nil {
			return nil, fmt.Errorf("artifact %q: reading the digest of the base image %s: %w", s.image, s.baseRef, err)
		}
		img = mutate.Annotations(img, map[string]string{
			annotationBaseName:   s.baseRef,
			annotationBaseDigest: d.String(),
		}).(v1.Image)
	}
	return img, nil
}

func baseName(s *spec) string {
	if s.baseRef == "" {
		return "(skiff's default)"
	}
	return s.baseRef
}

// appendPath adds dir at the end of PATH, or sets PATH to dir, as ko does.
func appendPath(cf *v1.ConfigFile, dir string) {
	for i, e := range cf.Config.Env {
		if v, ok := strings.CutPrefix(e, "PATH="); ok {
			cf.Config.Env[i] = "PATH=" + v + ":" + dir
			return
		}
	}
	cf.Config.Env = append(cf.Config.Env, "PATH="+dir)
}

// setEnv sets key in the config's environment, replacing a value the base
// had.
func setEnv(cf *v1.ConfigFile, key, value string) {
	for i, e := range cf.Config.Env {
		if strings.HasPrefix(e, key+"=") {
			cf.Config.Env[i] = key + "=" + value
			return
		}
	}
	cf.Config.Env = append(cf.Config.Env, key+"="+value)
}
