package deliver

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"skiff.dev/skiff/internal/image"
)

// imageUser is the agent image's user, distroless's nonroot: the init
// container copies the agent as it into the emptyDir (mode 0777).
var imageUser = fmt.Sprintf("%d:%d", agentUID, agentUID)

// epoch is the time of the layer's file and of the image config, fixed so
// that the digest changes only when the binary does.
var epoch = time.Unix(0, 0).UTC()

// Image packs the skiff-agent binary into an image with one layer holding
// /skiff-agent (mode 0755) on an empty base, for linux on the binary's
// architecture (read from its ELF header: the architecture it was built
// for, the host's with `make build`). The image is deterministic: the
// same binary gives the same digest.
func Image(binary string) (v1.Image, error) {
	b, err := os.ReadFile(binary)
	if err != nil {
		return nil, fmt.Errorf("reading skiff-agent: %w", err)
	}
	arch, err := image.StaticBinaryArch(binary, bytes.NewReader(b), "./cmd/skiff-agent")
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{
		Typeflag: tar.TypeReg,
		Name:     strings.TrimPrefix(imagePath, "/"),
		Mode:     0o755,
		Size:     int64(len(b)),
		ModTime:  epoch,
		Format:   tar.FormatPAX,
	}); err != nil {
		return nil, fmt.Errorf("packing skiff-agent: %w", err)
	}
	if _, err := tw.Write(b); err != nil {
		return nil, fmt.Errorf("packing skiff-agent: %w", err)
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("packing skiff-agent: %w", err)
	}
	img, err := image.SingleLayer(buf.Bytes(), v1.History{Created: v1.Time{Time: epoch}, CreatedBy: "skiff: skiff-agent"}, func(cf *v1.ConfigFile) {
		cf.OS = "linux"
		cf.Architecture = arch
		cf.Config.Entrypoint = []string{imagePath}
		cf.Config.User = imageUser
	})
	if err != nil {
		return nil, fmt.Errorf("packing skiff-agent: %w", err)
	}
	return img, nil
}

// Push pushes the agent image img to the repository repo (e.g. the
// cluster's local registry, "127.0.0.1:5001/skiff-agent") with the tag
// "sha256-<hex>" of its digest, unless the registry has that tag with that
// digest already, and returns the reference pods pull it by,
// "repo@sha256:<hex>", and whether it pushed.
func Push(ctx context.Context, reg *image.Registry, repo string, img v1.Image) (ref string, pushed bool, err error) {
	d, err := img.Digest()
	if err != nil {
		return "", false, fmt.Errorf("pushing skiff-agent: %w", err)
	}
	tagged := repo + ":" + d.Algorithm + "-" + d.Hex
	have, ok, err := reg.Digest(ctx, tagged)
	if err != nil {
		return "", false, fmt.Errorf("pushing skiff-agent: %w", err)
	}
	if !ok || have != d.String() {
		if _, err := reg.Push(ctx, tagged, img); err != nil {
			return "", false, fmt.Errorf("pushing skiff-agent: %w", err)
		}
		pushed = true
	}
	return repo + "@" + d.String(), pushed, nil
}
