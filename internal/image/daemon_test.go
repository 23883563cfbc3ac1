package image

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/validate"
	"github.com/moby/moby/api/types/image"
	"github.com/moby/moby/api/types/jsonstream"
	"github.com/moby/moby/api/types/registry"
	"github.com/moby/moby/client"
)

// fakeDaemon keeps images by name and ID, as the Docker Engine does.
type fakeDaemon struct {
	mu     sync.Mutex
	images map[string]string // normalized name or ID -> ID
	loads  int

	pushStream string // what ImagePush answers
	pushErr    error
	pushAuth   string // the X-Registry-Auth of the last push
}

func newFakeDaemon() *fakeDaemon {
	return &fakeDaemon{images: map[string]string{}}
}

// key normalizes an image name as the daemon does (app:v1 and
// docker.io/library/app:v1 are one image); IDs stay as they are.
func key(ref string) string {
	if strings.HasPrefix(ref, "sha256:") {
		return ref
	}
	if t, err := name.NewTag(ref); err == nil {
		return t.Name()
	}
	return ref
}

func (f *fakeDaemon) ImageLoad(ctx context.Context, input io.Reader, _ ...client.ImageLoadOption) (client.ImageLoadResult, error) {
	b, err := io.ReadAll(input)
	if err != nil {
		return nil, err
	}
	opener := func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	m, err := tarball.LoadManifest(opener)
	if err != nil {
		return nil, err
	}
	img, err := tarball.Image(opener, nil)
	if err != nil {
		return nil, err
	}
	if err := validate.Image(img); err != nil {
		return nil, fmt.Errorf("fake daemon: invalid image: %w", err)
	}
	id, _ := img.ConfigName()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.loads++
	f.images[id.String()] = id.String()
	var out strings.Builder
	for _, tag := range m[0].RepoTags {
		f.images[key(tag)] = id.String()
		fmt.Fprintf(&out, `{"stream":"Loaded image: %s\n"}`+"\n", tag)
	}
	return io.NopCloser(strings.NewReader(out.String())), nil
}

func (f *fakeDaemon) ImagePush(ctx context.Context, ref string, opts client.ImagePushOptions) (client.ImagePushResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pushAuth = opts.RegistryAuth
	if f.pushErr != nil {
		return nil, f.pushErr
	}
	return fakeStream{io.NopCloser(strings.NewReader(f.pushStream))}, nil
}

func (f *fakeDaemon) ImageInspect(ctx context.Context, ref string, _ ...client.ImageInspectOption) (client.ImageInspectResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id, ok := f.images[key(ref)]
	if !ok {
		return client.ImageInspectResult{}, fmt.Errorf("No such image: %s: %w", ref, cerrdefs.ErrNotFound)
	}
	return client.ImageInspectResult{InspectResponse: image.InspectResponse{ID: id}}, nil
}

func (f *fakeDaemon) ImageTag(ctx context.Context, opts client.ImageTagOptions) (client.ImageTagResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id, ok := f.images[key(opts.Source)]
	if !ok {
		return client.ImageTagResult{}, fmt.Errorf("No such image: %s: %w", opts.Source, cerrdefs.ErrNotFound)
	}
	f.images[key(opts.Target)] = id
	return client.ImageTagResult{}, nil
}

func (f *fakeDaemon) DaemonHost() string { return "unix:///fake/docker.sock" }

// fakeStream is a push response; the package reads it as a plain stream.
type fakeStream struct{ io.ReadCloser }

func (s fakeStream) JSONMessages(context.Context) iter.Seq2[jsonstream.Message, error] {
	return func(func(jsonstream.Message, error) bool) {}
}
func (s fakeStream) Wait(context.Context) error { return nil }

func TestLoad(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := newFakeDaemon()
	img := randomImage(t, 2)
	cfg, _ := img.ConfigName()

	id, err := Load(ctx, d, "127.0.0.1:5000/app:v1", img)
	if err != nil {
		t.Fatal(err)
	}
	if id != cfg.String() {
		t.Errorf("Load returned %s, want the config digest %s", id, cfg)
	}
	if got, ok, err := ImageID(ctx, d, "127.0.0.1:5000/app:v1"); err != nil || !ok || got != id {
		t.Errorf("ImageID after Load = %s, %v, %v; want %s", got, ok, err, id)
	}

	tests := []struct {
		name string
		ref  string
	}{
		{name: "same name again", ref: "127.0.0.1:5000/app:v1"},
		{name: "new tag", ref: "127.0.0.1:5000/app:v2"},
		{name: "Docker Hub name", ref: "app:latest"},
	}
	for _, tt := range tests {
		id2, err := Load(ctx, d, tt.ref, img)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if id2 != id {
			t.Errorf("%s: Load returned %s, want %s", tt.name, id2, id)
		}
		if got, ok, _ := ImageID(ctx, d, tt.ref); !ok || got != id {
			t.Errorf("%s: the daemon has %s as %q, %v; want %s", tt.name, tt.ref, got, ok, id)
		}
	}
	if d.loads != 1 {
		t.Errorf("the image was sent to the daemon %d times, want once (then only tagged)", d.loads)
	}

	if _, err := Load(ctx, d, "not a ref", img); err == nil {
		t.Error("Load with an invalid reference succeeded")
	}
}

func TestImageIDAndTag(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := newFakeDaemon()
	d.images[key("app:v1")] = "sha256:" + strings.Repeat("a", 64)
	tests := []struct {
		name   string
		ref    string
		wantOK bool
	}{
		{name: "present", ref: "app:v1", wantOK: true},
		{name: "fully qualified", ref: "docker.io/library/app:v1", wantOK: true},
		{name: "absent", ref: "app:v2"},
	}
	for _, tt := range tests {
		id, ok, err := ImageID(ctx, d, tt.ref)
		if err != nil || ok != tt.wantOK || (ok && id != d.images[key("app:v1")]) {
			t.Errorf("%s: ImageID(%s) = %q, %v, %v", tt.name, tt.ref, id, ok, err)
		}
	}
	if err := TagInDaemon(ctx, d, "app:v1", "app:cached"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := ImageID(ctx, d, "app:cached"); !ok {
		t.Error("TagInDaemon did not tag")
	}
	if err := TagInDaemon(ctx, d, "app:none", "app:x"); !errors.Is(err, ErrNotFound) {
		t.Errorf("TagInDaemon of a missing image: %v, want ErrNotFound", err)
	}
}

func TestPushFromDaemon(t *testing.T) {
	t.Parallel()
	digest := "sha256:" + strings.Repeat("b", 64)
	progress := `{"status":"The push refers to repository [127.0.0.1:5000/app]"}
{"status":"Preparing","progressDetail":{},"id":"5f70bf18a086"}
{"status":"Pushed","progressDetail":{},"id":"5f70bf18a086"}
`
	tests := []struct {
		name     string
		ref      string
		stream   string
		pushErr  error
		want     string
		sentinel error
		wantMsg  []string
	}{
		{
			name:   "aux digest",
			ref:    "127.0.0.1:5000/app:v1",
			stream: progress + `{"status":"v1: digest: ` + digest + ` size: 528"}` + "\n" + `{"progressDetail":{},"aux":{"Tag":"v1","Digest":"` + digest + `","Size":528}}` + "\n",
			want:   digest,
		},
		{
			name:   "status line only",
			ref:    "127.0.0.1:5000/app:v1",
			stream: progress + `{"status":"v1: digest: ` + digest + ` size: 528"}` + "\n",
			want:   digest,
		},
		{
			name:    "no digest",
			ref:     "127.0.0.1:5000/app:v1",
			stream:  progress,
			wantMsg: []string{"reported no digest"},
		},
		{
			name:     "rejected credentials",
			ref:      "registry.example.com/team/app:v1",
			stream:   progress + `{"errorDetail":{"message":"unauthorized: authentication required"},"error":"unauthorized: authentication required"}` + "\n",
			sentinel: ErrUnauthorized,
			wantMsg:  []string{"registry registry.example.com rejected the credentials", "docker login registry.example.com"},
		},
		{
			name:     "Docker Hub denies",
			ref:      "someone/app:v1",
			stream:   `{"errorDetail":{"message":"denied: requested access to the resource is denied"},"error":"denied: requested access to the resource is denied"}` + "\n",
			sentinel: ErrUnauthorized,
			wantMsg:  []string{"registry index.docker.io rejected the credentials", "`docker login`"},
		},
		{
			name:     "registry down",
			ref:      "127.0.0.1:5000/app:v1",
			stream:   `{"errorDetail":{"message":"Get \"http://127.0.0.1:5000/v2/\": dial tcp 127.0.0.1:5000: connect: connection refused"}}` + "\n",
			sentinel: ErrUnreachable,
			wantMsg:  []string{"registry 127.0.0.1:5000 does not answer", "make cluster-up"},
		},
		{
			name:     "no such image",
			ref:      "127.0.0.1:5000/app:v9",
			pushErr:  fmt.Errorf("An image does not exist locally with the tag: 127.0.0.1:5000/app: %w", cerrdefs.ErrNotFound),
			sentinel: ErrNotFound,
			wantMsg:  []string{"the Docker daemon has no image 127.0.0.1:5000/app:v9"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := newFakeDaemon()
			d.pushStream, d.pushErr = tt.stream, tt.pushErr
			got, err := PushFromDaemon(context.Background(), d, tt.ref, WithKeychain(staticKeychain{authn.Anonymous}))
			if tt.want != "" {
				if err != nil || got != tt.want {
					t.Fatalf("PushFromDaemon = %q, %v; want %s", got, err, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("PushFromDaemon = %q, want an error", got)
			}
			if tt.sentinel != nil && !errors.Is(err, tt.sentinel) {
				t.Errorf("error %q is not %v", err, tt.sentinel)
			}
			for _, w := range tt.wantMsg {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

func TestPushFromDaemonAuth(t *testing.T) {
	t.Parallel()
	digest := "sha256:" + strings.Repeat("c", 64)
	tests := []struct {
		name string
		kc   authn.Keychain
		want registry.AuthConfig
	}{
		{
			name: "basic",
			kc:   staticKeychain{authn.FromConfig(authn.AuthConfig{Username: "me", Password: "s3cr3t"})},
			want: registry.AuthConfig{Username: "me", Password: "s3cr3t", ServerAddress: "127.0.0.1:5000"},
		},
		{
			name: "identity token",
			kc:   staticKeychain{authn.FromConfig(authn.AuthConfig{IdentityToken: "tok"})},
			want: registry.AuthConfig{IdentityToken: "tok", ServerAddress: "127.0.0.1:5000"},
		},
		{
			name: "anonymous",
			kc:   staticKeychain{authn.Anonymous},
			want: registry.AuthConfig{ServerAddress: "127.0.0.1:5000"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := newFakeDaemon()
			d.pushStream = `{"aux":{"Digest":"` + digest + `"}}`
			if _, err := PushFromDaemon(context.Background(), d, "127.0.0.1:5000/app:v1", WithKeychain(tt.kc)); err != nil {
				t.Fatal(err)
			}
			b, err := base64.URLEncoding.DecodeString(d.pushAuth)
			if err != nil {
				t.Fatalf("X-Registry-Auth %q is not base64url: %v", d.pushAuth, err)
			}
			var got registry.AuthConfig
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("X-Registry-Auth = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestDaemonNotRunning uses the real moby client against a socket nobody
// listens on.
func TestDaemonNotRunning(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c, err := client.New(client.WithHost("unix://" + filepath.Join(t.TempDir(), "docker.sock")))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	img := randomImage(t, 1)
	calls := map[string]func() error{
		"ImageID": func() error { _, _, err := ImageID(ctx, c, "app:v1"); return err },
		"Load":    func() error { _, err := Load(ctx, c, "app:v1", img); return err },
		"Tag":     func() error { return TagInDaemon(ctx, c, "app:v1", "app:v2") },
		"Push": func() error {
			_, err := PushFromDaemon(ctx, c, "127.0.0.1:5000/app:v1", WithKeychain(staticKeychain{authn.Anonymous}))
			return err
		},
	}
	for what, call := range calls {
		err := call()
		if !errors.Is(err, ErrUnreachable) {
			t.Errorf("%s: %v, want ErrUnreachable", what, err)
			continue
		}
		for _, w := range []string{"Docker Engine at unix://", "does not answer", "start dockerd"} {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not say %q", what, err, w)
			}
		}
	}
}
