package buildpacks

import (
	"context"
	"io"
	"log"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/moby/moby/api/types/image"
	"github.com/moby/moby/client"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	skimage "skiff.dev/skiff/internal/image"
)

func TestEnsureImage(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	reg := skimage.NewRegistry(nil)
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	ref := host + "/skiff/builder:latest"
	digest, err := reg.Push(context.Background(), ref, img)
	if err != nil {
		t.Fatal(err)
	}
	local := func(repoDigests ...string) client.ImageInspectResult {
		return client.ImageInspectResult{InspectResponse: image.InspectResponse{ID: "sha256:local", RepoDigests: repoDigests, Os: "linux", Architecture: "amd64"}}
	}
	for _, tc := range []struct {
		name     string
		ref      string
		inDaemon *client.ImageInspectResult
		platform *ocispec.Platform
		wantPull bool
	}{
		{"up to date", ref, ptr(local(host + "/skiff/builder@" + digest)), nil, false},
		{"stale", ref, ptr(local(host + "/skiff/builder@sha256:" + strings.Repeat("0", 64))), nil, true},
		{"made locally", ref, ptr(local()), nil, false},
		{"missing", ref, nil, nil, true},
		{"registry unreachable", "127.0.0.1:9/skiff/builder:latest", ptr(local("127.0.0.1:9/skiff/builder@" + digest)), nil, false},
		{"the platform asked for", ref, ptr(local()), &ocispec.Platform{OS: "linux", Architecture: "amd64"}, false},
		{"another platform", ref, ptr(local()), &ocispec.Platform{OS: "linux", Architecture: "arm64"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeDocker()
			if tc.inDaemon != nil {
				f.images[tc.ref] = *tc.inDaemon
			}
			f.pullable[tc.ref] = local(tc.ref + "@" + digest)
			b, err := New(f)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := b.ensureImage(context.Background(), reg, tc.ref, "builder", tc.platform); err != nil {
				t.Fatal(err)
			}
			if pulled := slices.Contains(f.pulls, tc.ref); pulled != tc.wantPull {
				t.Errorf("pulled = %v, want %v", pulled, tc.wantPull)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }
