//go:build e2e

package e2e

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/build"
	"github.com/moby/moby/api/types/jsonstream"
	"github.com/moby/moby/client"
)

// newDocker connects to the Docker Engine of DOCKER_HOST, or of the default
// socket, negotiating the API version (Debian's Engine 20.10 speaks 1.41).
func newDocker(t testing.TB) *client.Client {
	t.Helper()
	docker, err := client.New(client.FromEnv)
	if err != nil {
		t.Fatalf("connecting to the Docker Engine: %v", err)
	}
	t.Cleanup(func() { docker.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := docker.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		t.Fatalf("the Docker Engine does not answer (hack/cluster.sh up starts one): %v", err)
	}
	return docker
}

// goImage builds the Go main package in dir into a static binary, puts it
// in a FROM scratch image tagged ref (REGISTRY/NAME:TAG) with the Docker
// Engine and pushes it. It returns the pushed image as NAME@DIGEST, which
// names exactly these bytes, and removes the local image when the test
// ends. ldflags are added to the go build.
func goImage(t testing.TB, docker *client.Client, dir, ref, ldflags string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	binary := filepath.Join(t.TempDir(), "app")
	gobuild := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", "-s -w "+ldflags, "-o", binary, ".")
	gobuild.Dir = dir
	gobuild.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if out, err := gobuild.CombinedOutput(); err != nil {
		t.Fatalf("go build in %s: %v\n%s", dir, err, out)
	}
	program, err := os.ReadFile(binary)
	if err != nil {
		t.Fatal(err)
	}
	buildContext, err := tarball(map[string]tarEntry{
		"Dockerfile": {mode: 0o644, data: []byte("FROM scratch\nCOPY app /app\nENTRYPOINT [\"/app\"]\n")},
		"app":        {mode: 0o755, data: program},
	})
	if err != nil {
		t.Fatal(err)
	}

	built, err := docker.ImageBuild(ctx, bytes.NewReader(buildContext), client.ImageBuildOptions{
		Tags:        []string{ref},
		Remove:      true,
		ForceRemove: true,
		Version:     build.BuilderV1,
	})
	if err != nil {
		t.Fatalf("docker build %s: %v", ref, err)
	}
	err = readMessages(built.Body, nil)
	built.Body.Close()
	if err != nil {
		t.Fatalf("docker build %s: %v", ref, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := docker.ImageRemove(ctx, ref, client.ImageRemoveOptions{Force: true, PruneChildren: true}); err != nil {
			t.Errorf("removing image %s: %v", ref, err)
		}
	})

	// The registry is on loopback, which the Engine pushes to over plain
	// HTTP; it needs an X-Registry-Auth header, even an empty one.
	pushed, err := docker.ImagePush(ctx, ref, client.ImagePushOptions{RegistryAuth: base64.URLEncoding.EncodeToString([]byte("{}"))})
	if err != nil {
		t.Fatalf("docker push %s: %v", ref, err)
	}
	var digest string
	err = readMessages(pushed, func(m jsonstream.Message) {
		var result struct{ Digest string }
		if m.Aux != nil && json.Unmarshal(*m.Aux, &result) == nil && result.Digest != "" {
			digest = result.Digest
		}
	})
	pushed.Close()
	if err != nil {
		t.Fatalf("docker push %s: %v", ref, err)
	}
	if digest == "" {
		t.Fatalf("docker push %s reported no digest", ref)
	}
	name, _, _ := strings.Cut(ref[strings.LastIndex(ref, "/")+1:], ":")
	repo := ref[:strings.LastIndex(ref, "/")+1] + name
	return repo + "@" + digest
}

// readMessages reads a Docker Engine JSON message stream to its end and
// returns the first error it reports, with the output before it.
func readMessages(r io.Reader, each func(jsonstream.Message)) error {
	var output strings.Builder
	dec := json.NewDecoder(r)
	for {
		var m jsonstream.Message
		if err := dec.Decode(&m); err == io.EOF {
			return nil
		} else if err != nil {
			return fmt.Errorf("reading the Engine's answer: %w", err)
		}
		if m.Error != nil {
			return fmt.Errorf("%s (output before it: %s)", m.Error.Message, strings.TrimSpace(output.String()))
		}
		output.WriteString(m.Stream)
		if each != nil {
			each(m)
		}
	}
}

// registryHasManifest tells whether the registry at host (plain HTTP on
// loopback) holds the manifest that ref (HOST/NAME[:TAG]@DIGEST) names.
func registryHasManifest(ctx context.Context, host, ref string) (bool, error) {
	repo, digest, ok := strings.Cut(ref, "@")
	if !ok || !strings.HasPrefix(repo, host+"/") {
		return false, fmt.Errorf("%s is not a reference by digest in %s", ref, host)
	}
	repo = strings.TrimPrefix(repo, host+"/")
	if i := strings.LastIndex(repo, ":"); i > strings.LastIndex(repo, "/") {
		repo = repo[:i] // the tag; the digest names the manifest
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, "http://"+host+"/v2/"+repo+"/manifests/"+digest, nil)
	if err != nil {
		return false, err
	}
	req.Header.Set("Accept", "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false, err
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK, nil
}

// tarEntry is a regular file of a tar archive.
type tarEntry struct {
	mode int64
	data []byte
}

// tarball returns an uncompressed tar archive of regular files.
func tarball(files map[string]tarEntry) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for name, f := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: f.mode, Size: int64(len(f.data)), Typeflag: tar.TypeReg}); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
