package image

import (
	"context"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

// countingRegistry is an in-process registry that records the requests
// it serves.
type countingRegistry struct {
	*httptest.Server
	host string

	mu   sync.Mutex
	reqs []string // "METHOD path"
}

func newCountingRegistry(t *testing.T) *countingRegistry {
	t.Helper()
	c := &countingRegistry{}
	h := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	c.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.mu.Lock()
		c.reqs = append(c.reqs, r.Method+" "+r.URL.Path)
		c.mu.Unlock()
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(c.Close)
	u, _ := url.Parse(c.URL)
	c.host = u.Host
	return c
}

// reset forgets the requests served so far.
func (c *countingRegistry) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reqs = nil
}

// count returns how many requests matched method and a path containing part.
func (c *countingRegistry) count(method, part string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, r := range c.reqs {
		m, p, _ := strings.Cut(r, " ")
		if m == method && strings.Contains(p, part) {
			n++
		}
	}
	return n
}

// uploads counts blob upload requests (POST/PATCH/PUT under /blobs/uploads).
func (c *countingRegistry) uploads() int {
	return c.count(http.MethodPost, "/blobs/uploads") + c.count(http.MethodPatch, "/blobs/uploads") + c.count(http.MethodPut, "/blobs/uploads")
}

func randomImage(t *testing.T, layers int64) v1.Image {
	t.Helper()
	img, err := random.Image(1024, layers)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func TestPush(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		second string // the ref of the second push, relative to the registry
	}{
		{name: "same tag again", second: "app:v1"},
		{name: "new tag", second: "app:v2"},
		// The in-process registry keeps blobs per registry, not per
		// repository, so they are found there too.
		{name: "other repository", second: "other:v1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			reg := newCountingRegistry(t)
			r := NewRegistry(nil)
			img := randomImage(t, 3)
			want, _ := img.Digest()

			got, err := r.Push(ctx, reg.host+"/app:v1", img)
			if err != nil {
				t.Fatal(err)
			}
			if got != want.String() {
				t.Errorf("Push returned %s, want %s", got, want)
			}
			if n := reg.uploads(); n == 0 {
				t.Errorf("first push uploaded nothing")
			}

			reg.reset()
			if _, err := r.Push(ctx, reg.host+"/"+tt.second, img); err != nil {
				t.Fatal(err)
			}
			if n := reg.uploads(); n != 0 {
				t.Errorf("second push made %d blob upload requests, want none", n)
			}

			pulled, err := r.Image(ctx, reg.host+"/"+tt.second, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := validate.Image(pulled); err != nil {
				t.Errorf("pushed image is not valid: %v", err)
			}
			if d, _ := pulled.Digest(); d != want {
				t.Errorf("pulled digest %s, want %s", d, want)
			}
		})
	}
}

func TestPushOnlyChangedLayer(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	reg := newCountingRegistry(t)
	r := NewRegistry(nil)
	base := randomImage(t, 3)
	if _, err := r.Push(ctx, reg.host+"/app:v1", base); err != nil {
		t.Fatal(err)
	}
	layer, err := random.Layer(512, "application/vnd.oci.image.layer.v1.tar+gzip")
	if err != nil {
		t.Fatal(err)
	}
	next, err := mutate.AppendLayers(base, layer)
	if err != nil {
		t.Fatal(err)
	}
	reg.reset()
	if _, err := r.Push(ctx, reg.host+"/app:v2", next); err != nil {
		t.Fatal(err)
	}
	// One new layer and one new config: two blob uploads (POST + PUT each,
	// or a single monolithic PUT); the three old layers are not sent.
	if n := reg.count(http.MethodPost, "/blobs/uploads"); n != 2 {
		t.Errorf("push of one changed layer started %d uploads, want 2 (layer and config)", n)
	}
}

func TestPushIndex(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	reg := newCountingRegistry(t)
	r := NewRegistry(nil)
	idx, err := random.Index(256, 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	got, err := r.PushIndex(ctx, reg.host+"/multi:v1", idx)
	if err != nil {
		t.Fatal(err)
	}
	if want, _ := idx.Digest(); got != want.String() {
		t.Errorf("PushIndex returned %s, want %s", got, want)
	}
	d, ok, err := r.Digest(ctx, reg.host+"/multi:v1")
	if err != nil || !ok || d != got {
		t.Errorf("Digest = %s, %v, %v; want %s", d, ok, err, got)
	}
}

func TestDigest(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	reg := newCountingRegistry(t)
	r := NewRegistry(nil)
	img := randomImage(t, 1)
	want, err := r.Push(ctx, reg.host+"/app:v1", img)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		ref    string
		wantOK bool
	}{
		{name: "tag", ref: reg.host + "/app:v1", wantOK: true},
		{name: "digest", ref: reg.host + "/app@" + want, wantOK: true},
		{name: "unknown tag", ref: reg.host + "/app:nope"},
		{name: "unknown repository", ref: reg.host + "/nothing:v1"},
		{name: "unknown digest", ref: reg.host + "/app@sha256:" + strings.Repeat("0", 64)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok, err := r.Digest(ctx, tt.ref)
			if err != nil {
				t.Fatal(err)
			}
			if ok != tt.wantOK {
				t.Fatalf("Digest(%s) ok = %v, want %v", tt.ref, ok, tt.wantOK)
			}
			if ok && got != want {
				t.Errorf("Digest(%s) = %s, want %s", tt.ref, got, want)
			}
		})
	}
}

func TestTag(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		target string
	}{
		{name: "same repository", target: "app:cached"},
		{name: "other repository", target: "copy:cached"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			reg := newCountingRegistry(t)
			r := NewRegistry(nil)
			img := randomImage(t, 2)
			d, err := r.Push(ctx, reg.host+"/app:v1", img)
			if err != nil {
				t.Fatal(err)
			}
			reg.reset()
			if err := r.Tag(ctx, reg.host+"/app@"+d, reg.host+"/"+tt.target); err != nil {
				t.Fatal(err)
			}
			if n := reg.count(http.MethodGet, "/blobs/"); n != 0 {
				t.Errorf("Tag pulled %d blobs, want none", n)
			}
			if n := reg.count(http.MethodPatch, "/blobs/uploads"); n != 0 {
				t.Errorf("Tag uploaded %d blobs, want none (mounts only)", n)
			}
			got, ok, err := r.Digest(ctx, reg.host+"/"+tt.target)
			if err != nil || !ok || got != d {
				t.Errorf("after Tag, Digest = %s, %v, %v; want %s", got, ok, err, d)
			}
		})
	}
}

func TestTagErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	reg := newCountingRegistry(t)
	r := NewRegistry(nil)
	missing := reg.host + "/app@sha256:" + strings.Repeat("1", 64)
	err := r.Tag(ctx, missing, reg.host+"/app:x")
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("Tag of a missing image: %v, want ErrNotFound", err)
	}
	if err := r.Tag(ctx, missing, reg.host+"/app@sha256:"+strings.Repeat("2", 64)); err == nil || !strings.Contains(err.Error(), "not a repository:tag") {
		t.Errorf("Tag to a digest: %v, want a repository:tag error", err)
	}
}

func TestImagePlatform(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	reg := newCountingRegistry(t)
	r := NewRegistry(nil)
	amd, arm := platformImage(t, "amd64", ""), platformImage(t, "arm", "v7")
	idx := mutate.AppendManifests(emptyIndex(),
		mutate.IndexAddendum{Add: amd, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
		mutate.IndexAddendum{Add: arm, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm", Variant: "v7"}}},
	)
	if _, err := r.PushIndex(ctx, reg.host+"/base:latest", idx); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		platform *v1.Platform
		want     v1.Image
	}{
		{name: "amd64", platform: &v1.Platform{OS: "linux", Architecture: "amd64"}, want: amd},
		{name: "arm/v7", platform: &v1.Platform{OS: "linux", Architecture: "arm", Variant: "v7"}, want: arm},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			img, err := r.Image(ctx, reg.host+"/base:latest", tt.platform)
			if err != nil {
				t.Fatal(err)
			}
			if err := validate.Image(img); err != nil {
				t.Error(err)
			}
			got, _ := img.Digest()
			want, _ := tt.want.Digest()
			if got != want {
				t.Errorf("Image for %s = %s, want %s", tt.name, got, want)
			}
		})
	}
	if _, err := r.Image(ctx, reg.host+"/base:latest", &v1.Platform{OS: "linux", Architecture: "s390x"}); err == nil {
		t.Errorf("Image for a platform the index lacks: no error")
	}
	if _, err := r.Image(ctx, reg.host+"/nothing:latest", nil); !errors.Is(err, ErrNotFound) {
		t.Errorf("Image of a missing repository: %v, want ErrNotFound", err)
	}
}

func TestRegistryErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	// A port nothing listens on.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()

	// A registry that rejects everyone.
	deny := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
		w.WriteHeader(http.StatusUnauthorized)
	}))
	t.Cleanup(deny.Close)
	denyHost := strings.TrimPrefix(deny.URL, "http://")

	img := randomImage(t, 1)
	secret := authn.FromConfig(authn.AuthConfig{Username: "me", Password: "s3cr3t-pa55"})
	tests := []struct {
		name     string
		ref      string
		opts     []Option
		insecure []string
		sentinel error
		want     []string
	}{
		{
			name:     "unreachable loopback registry",
			ref:      closed + "/app:v1",
			sentinel: ErrUnreachable,
			want:     []string{"registry " + closed + " does not answer", "make cluster-up"},
		},
		{
			name:     "rejected credentials",
			ref:      denyHost + "/app:v1",
			opts:     []Option{WithKeychain(staticKeychain{secret})},
			sentinel: ErrUnauthorized,
			want:     []string{"registry " + denyHost + " rejected the credentials", "docker login " + denyHost, "in ~/.docker/config.json"},
		},
		{
			// The hint names the config file the credentials came from
			// (issue 11 item 15).
			name:     "rejected credentials from another docker config",
			ref:      denyHost + "/app:v1",
			opts:     []Option{WithKeychain(staticKeychain{secret}), WithDockerConfig("/work/creds/config.json")},
			sentinel: ErrUnauthorized,
			want:     []string{"rejected the credentials", "credential helper for it in /work/creds/config.json"},
		},
		{
			name: "plain HTTP to a private address not listed as insecure",
			ref:  "10.1.2.3:5000/app:v1",
			opts: []Option{WithTransport(failTLS{})},
			want: []string{"10.1.2.3:5000 is not served over HTTPS", "build.insecureRegistries"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := NewRegistry(tt.insecure, tt.opts...)
			_, err := r.Push(ctx, tt.ref, img)
			if err == nil {
				t.Fatal("Push succeeded, want an error")
			}
			if tt.sentinel != nil && !errors.Is(err, tt.sentinel) {
				t.Errorf("error %q is not %v", err, tt.sentinel)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("error %q shows the password", err)
			}
		})
	}
}

// TestInsecureRegistry reaches a non-loopback registry name over plain
// HTTP because it is listed as insecure; a transport routes it to the
// in-process registry, so nothing leaves the machine.
func TestInsecureRegistry(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	reg := newCountingRegistry(t)
	route := routeTo{host: reg.host}
	for _, insecure := range [][]string{{"registry.test:5000"}, {"http://registry.test:5000/"}} {
		r := NewRegistry(insecure, WithTransport(route))
		img := randomImage(t, 1)
		d, err := r.Push(ctx, "registry.test:5000/app:v1", img)
		if err != nil {
			t.Fatalf("insecure %v: %v", insecure, err)
		}
		if got, ok, err := r.Digest(ctx, "registry.test:5000/app:v1"); err != nil || !ok || got != d {
			t.Errorf("insecure %v: Digest = %s, %v, %v", insecure, got, ok, err)
		}
	}
	// Not listed: refused over plain HTTP.
	r := NewRegistry(nil, WithTransport(route))
	if _, err := r.Push(ctx, "registry.test:5000/app:v1", randomImage(t, 1)); err == nil {
		t.Errorf("push to an HTTP registry not listed as insecure succeeded")
	}
}

func TestIsLoopback(t *testing.T) {
	t.Parallel()
	tests := map[string]bool{
		"localhost:5000": true, "LOCALHOST": true, "127.0.0.1:5000": true, "127.1.2.3": true,
		"[::1]:5000": true, "::1": true, "10.0.0.1:5000": false, "registry.local:5000": false,
		"gcr.io": false, "localhost.example.com": false,
	}
	for host, want := range tests {
		if got := isLoopback(host); got != want {
			t.Errorf("isLoopback(%q) = %v, want %v", host, got, want)
		}
	}
}

type staticKeychain struct{ a authn.Authenticator }

func (k staticKeychain) Resolve(authn.Resource) (authn.Authenticator, error) { return k.a, nil }

// failTLS fails every HTTPS request as a registry without TLS would, and
// would serve plain HTTP (it must never be asked to).
type failTLS struct{}

func (failTLS) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme == "https" {
		return nil, errors.New("http: server gave HTTP response to HTTPS client")
	}
	return nil, errors.New("failTLS: a plain HTTP request went through")
}

// routeTo sends every plain HTTP request to the in-process registry at
// host and fails HTTPS, like a registry that only speaks HTTP.
type routeTo struct{ host string }

func (r routeTo) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme == "https" {
		return nil, errors.New("http: server gave HTTP response to HTTPS client")
	}
	req = req.Clone(req.Context())
	req.URL.Host = r.host
	req.Host = r.host
	return http.DefaultTransport.RoundTrip(req)
}
