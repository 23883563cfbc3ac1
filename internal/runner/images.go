package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"skiff.dev/skiff/internal/docker"
)

// builtImage is an image the engine built, read back: its configuration,
// and its layers on demand (by diff ID); done releases what reading it
// took (a Docker client, a saved copy).
type builtImage struct {
	Config v1.Config
	Layer  func(diffID string) (io.ReadCloser, error)
	done   func()
}

// readImage reads the built image ref: from the registry images were
// pushed to, else from the Docker daemon they were loaded into (saved to a
// temporary file the first time a layer is asked for). The caller calls
// done.
func (r *Runner) readImage(ctx context.Context, ref string) (builtImage, error) {
	img, regErr := r.registry(r.insecureRegistries(r.lastBuild)).Image(ctx, ref, nil)
	if regErr == nil {
		cf, err := img.ConfigFile()
		if err != nil {
			return builtImage{}, fmt.Errorf("reading the configuration of %s: %w", ref, err)
		}
		return builtImage{
			Config: cf.Config,
			Layer:  func(diffID string) (io.ReadCloser, error) { return uncompressedLayer(img, diffID) },
			done:   func() {},
		}, nil
	}
	cli, err := docker.NewClient()
	if err != nil {
		return builtImage{}, errors.Join(regErr, err)
	}
	res, err := cli.ImageInspect(ctx, ref)
	if err != nil {
		cli.Close()
		return builtImage{}, fmt.Errorf("not in its registry (%v) nor in the Docker daemon (%v)", regErr, err)
	}
	var bi builtImage
	if c := res.Config; c != nil {
		bi.Config = v1.Config{Env: c.Env, Entrypoint: c.Entrypoint, Cmd: c.Cmd, WorkingDir: c.WorkingDir, Labels: c.Labels}
	}
	var saved string
	bi.Layer = func(diffID string) (io.ReadCloser, error) {
		if saved == "" {
			f, err := os.CreateTemp("", "skiff-image-*.tar")
			if err != nil {
				return nil, err
			}
			saved = f.Name()
			rc, err := cli.ImageSave(ctx, []string{ref})
			if err == nil {
				_, err = io.Copy(f, rc)
				rc.Close()
			}
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return nil, fmt.Errorf("saving %s from the Docker daemon: %w", ref, err)
			}
		}
		img, err := tarball.ImageFromPath(saved, nil)
		if err != nil {
			return nil, err
		}
		return uncompressedLayer(img, diffID)
	}
	bi.done = func() {
		cli.Close()
		if saved != "" {
			os.Remove(saved)
		}
	}
	return bi, nil
}

// uncompressedLayer opens the layer of img whose diff ID is diffID.
func uncompressedLayer(img v1.Image, diffID string) (io.ReadCloser, error) {
	h, err := v1.NewHash(diffID)
	if err != nil {
		return nil, err
	}
	l, err := img.LayerByDiffID(h)
	if err != nil {
		return nil, err
	}
	return l.Uncompressed()
}
