package image

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/moby/moby/api/types/jsonstream"
	"github.com/moby/moby/api/types/registry"
	"github.com/moby/moby/client"
)

// Daemon is the part of the Docker Engine API (the moby client) this
// package uses; *client.Client implements it.
type Daemon interface {
	ImageLoad(ctx context.Context, input io.Reader, opts ...client.ImageLoadOption) (client.ImageLoadResult, error)
	ImagePush(ctx context.Context, image string, opts client.ImagePushOptions) (client.ImagePushResponse, error)
	ImageInspect(ctx context.Context, image string, opts ...client.ImageInspectOption) (client.ImageInspectResult, error)
	ImageTag(ctx context.Context, opts client.ImageTagOptions) (client.ImageTagResult, error)
	// DaemonHost names the daemon in errors (unix:///var/run/docker.sock).
	DaemonHost() string
}

var _ Daemon = (*client.Client)(nil)

// Load loads img into the local daemon as ref (repo:tag) and returns the
// image ID (sha256:...). When the daemon already has the image, under any
// name, it only tags it.
func Load(ctx context.Context, d Daemon, ref string, img v1.Image) (string, error) {
	tag, err := name.NewTag(ref)
	if err != nil {
		return "", fmt.Errorf("loading %s into the Docker daemon: %q is not a valid repository:tag: %w", ref, ref, err)
	}
	if id, ok, err := loaded(ctx, d, ref, img); err != nil || ok {
		return id, err
	}

	pr, pw := io.Pipe()
	go func() {
		pw.CloseWithError(tarball.Write(tag, img, pw))
	}()
	res, err := d.ImageLoad(ctx, pr, client.ImageLoadWithQuiet(true))
	if err != nil {
		pr.CloseWithError(err)
		return "", daemonError("loading "+ref+" into", d, err)
	}
	err = readStream(res, nil)
	pr.CloseWithError(errors.New("the Docker daemon stopped reading the image"))
	if err != nil {
		return "", daemonError("loading "+ref+" into", d, err)
	}
	id, ok, err := ImageID(ctx, d, ref)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", fmt.Errorf("loading %s into the Docker daemon: the daemon accepted the image but has no %s", ref, ref)
	}
	return id, nil
}

// loaded finds img in the daemon: under ref already (nothing to do) or
// under another name (then it tags it ref). The daemon names an image by
// its config digest, or with the containerd image store by its manifest
// digest.
func loaded(ctx context.Context, d Daemon, ref string, img v1.Image) (string, bool, error) {
	cfg, err := img.ConfigName()
	if err != nil {
		return "", false, fmt.Errorf("loading %s into the Docker daemon: %w", ref, err)
	}
	man, err := img.Digest()
	if err != nil {
		return "", false, fmt.Errorf("loading %s into the Docker daemon: %w", ref, err)
	}
	ids := []string{cfg.String(), man.String()}
	id, ok, err := ImageID(ctx, d, ref)
	if err != nil || (ok && (id == ids[0] || id == ids[1])) {
		return id, ok, err
	}
	for _, want := range ids {
		id, ok, err := ImageID(ctx, d, want)
		if err != nil {
			return "", false, err
		}
		if ok && id == want {
			return id, true, TagInDaemon(ctx, d, id, ref)
		}
	}
	return "", false, nil
}

// PushFromDaemon pushes the daemon's image ref (repo:tag) to its registry,
// with the credentials the keychain (default authn.DefaultKeychain) has
// for that registry, and returns the manifest digest the push reports.
func PushFromDaemon(ctx context.Context, d Daemon, ref string, opts ...Option) (string, error) {
	o := makeOptions(opts)
	n, err := name.ParseReference(ref)
	if err != nil {
		return "", fmt.Errorf("pushing %s: not a valid image reference: %w", ref, err)
	}
	auth, err := RegistryAuth(ctx, o.keychain, n.Context().Registry)
	if err != nil {
		return "", fmt.Errorf("pushing %s: reading the credentials for %s: %w", ref, n.Context().RegistryStr(), err)
	}
	res, err := d.ImagePush(ctx, ref, client.ImagePushOptions{RegistryAuth: auth})
	if err != nil {
		return "", pushError(ref, n, d, o.dockerConfig, err)
	}
	var digest string
	if err := readStream(res, func(m jsonstream.Message) {
		if dg := pushedDigest(m); dg != "" {
			digest = dg
		}
	}); err != nil {
		return "", pushError(ref, n, d, o.dockerConfig, err)
	}
	if digest == "" {
		return "", fmt.Errorf("pushing %s: the Docker daemon reported no digest for the push; is the daemon's API older than 1.24?", ref)
	}
	return digest, nil
}

// RegistryAuth encodes the keychain's credentials for reg as the Engine
// API's X-Registry-Auth header (base64url JSON) for pushes and pulls.
// Anonymous access is an empty object: the daemon rejects a push without
// the header.
func RegistryAuth(ctx context.Context, kc authn.Keychain, reg name.Registry) (string, error) {
	a, err := authn.Resolve(ctx, kc, reg)
	if err != nil {
		return "", err
	}
	c, err := authn.Authorization(ctx, a)
	if err != nil {
		return "", err
	}
	b, err := json.Marshal(registry.AuthConfig{
		Username:      c.Username,
		Password:      c.Password,
		Auth:          c.Auth,
		IdentityToken: c.IdentityToken,
		RegistryToken: c.RegistryToken,
		ServerAddress: reg.RegistryStr(),
	})
	if err != nil {
		return "", err
	}
	return base64.URLEncoding.EncodeToString(b), nil
}

// pushDigestLine is the digest line of a push's progress in daemons that
// send no aux message: "<tag>: digest: sha256:<hex> size: <n>".
var pushDigestLine = regexp.MustCompile(`digest: (sha256:[0-9a-f]{64})`)

func pushedDigest(m jsonstream.Message) string {
	if m.Aux != nil {
		var aux struct{ Digest string }
		if json.Unmarshal(*m.Aux, &aux) == nil && aux.Digest != "" {
			return aux.Digest
		}
	}
	if s := pushDigestLine.FindStringSubmatch(m.Status); s != nil {
		return s[1]
	}
	return ""
}

// readStream reads a JSON message stream to its end, handing each message
// to each (if not nil), and returns the first error a message reports.
func readStream(rc io.ReadCloser, each func(jsonstream.Message)) error {
	defer rc.Close()
	dec := json.NewDecoder(rc)
	for {
		var m jsonstream.Message
		if err := dec.Decode(&m); err == io.EOF {
			return nil
		} else if err != nil {
			return fmt.Errorf("reading the daemon's answer: %w", err)
		}
		if m.Error != nil {
			return &streamError{code: m.Error.Code, msg: m.Error.Message}
		}
		if each != nil {
			each(m)
		}
	}
}

// streamError is an error the daemon reported inside a progress stream.
type streamError struct {
	code int
	msg  string
}

func (e *streamError) Error() string { return e.msg }

// ImageID returns the ID (sha256:...) of ref in the daemon, or ok=false
// when the daemon has no such image.
func ImageID(ctx context.Context, d Daemon, ref string) (id string, ok bool, err error) {
	res, err := d.ImageInspect(ctx, ref)
	if err != nil {
		if cerrdefs.IsNotFound(err) {
			return "", false, nil
		}
		return "", false, daemonError("looking up "+ref+" in", d, err)
	}
	return res.ID, true, nil
}

// TagInDaemon tags the daemon's image source (a name or ID) as target.
func TagInDaemon(ctx context.Context, d Daemon, source, target string) error {
	if _, err := d.ImageTag(ctx, client.ImageTagOptions{Source: source, Target: target}); err != nil {
		if cerrdefs.IsNotFound(err) {
			return fmt.Errorf("tagging %s as %s: the Docker daemon has no image %s (%w); build or load it first", source, target, source, join(ErrNotFound, err))
		}
		return daemonError("tagging "+source+" as "+target+" in", d, err)
	}
	return nil
}

// daemonError explains a failed call to the daemon; what reads "loading
// x into" or "looking up x in".
func daemonError(what string, d Daemon, err error) error {
	if client.IsErrConnectionFailed(err) {
		return fmt.Errorf("%s the Docker daemon: the Docker Engine at %s does not answer (%w); start dockerd (`make cluster-up` starts one) or set DOCKER_HOST",
			what, d.DaemonHost(), join(ErrUnreachable, err))
	}
	return fmt.Errorf("%s the Docker daemon: %w", what, err)
}

// pushError explains a failed push from the daemon: the daemon itself, the
// image, or the registry behind it (whose credentials come from the
// docker config file dockerConfig).
func pushError(ref string, n name.Reference, d Daemon, dockerConfig string, err error) error {
	host := n.Context().RegistryStr()
	msg := err.Error()
	var serr *streamError
	isStream := errors.As(err, &serr)
	switch {
	case client.IsErrConnectionFailed(err):
		return daemonError("pushing "+ref+" from", d, err)
	case cerrdefs.IsNotFound(err) || strings.Contains(msg, "does not exist locally") || strings.Contains(msg, "No such image"):
		return fmt.Errorf("pushing %s: the Docker daemon has no image %s (%w); build it first", ref, ref, join(ErrNotFound, err))
	case cerrdefs.IsUnauthorized(err) || cerrdefs.IsPermissionDenied(err) ||
		(isStream && (serr.code == 401 || serr.code == 403 || containsAny(msg, "unauthorized", "denied", "authentication required"))):
		return fmt.Errorf("pushing %s from the Docker daemon: registry %s rejected the credentials (%w): %s", ref, host, join(ErrUnauthorized, err), loginHint(host, dockerConfig))
	case containsAny(msg, "connection refused", "no such host", "i/o timeout", "dial tcp"):
		hint := "check its name and your network"
		if isLoopback(host) {
			hint = "is it running? `make cluster-up` starts one"
		}
		return fmt.Errorf("pushing %s from the Docker daemon: registry %s does not answer (%w); %s", ref, host, join(ErrUnreachable, err), hint)
	case strings.Contains(msg, "server gave HTTP response to HTTPS client"):
		return fmt.Errorf("pushing %s from the Docker daemon: registry %s is not served over HTTPS (%w); list it in the daemon's insecure-registries (/etc/docker/daemon.json) or push with the registry client (skiff builds without the daemon)", ref, host, err)
	}
	return fmt.Errorf("pushing %s from the Docker daemon: %w", ref, err)
}

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
