package ko

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"skiff.dev/skiff/internal/build"
	"skiff.dev/skiff/internal/config/schema"
)

// BenchmarkOneLineChange is the inner loop of `skiff dev` on a Go app:
// edit one line, then
//   - gobuild: `go build` alone, as the builder runs it;
//   - build: Build for the Docker daemon (plain tar layers), which is go
//     build plus layering;
//   - push: Build and a push to a registry on loopback (plain tar layers)
//     that has the previous image, so only the binary layer, config and
//     manifest go;
//   - push-gzip: the same with the layers gzipped, as for a registry on
//     another machine (the push still goes to loopback).
//
// The goal is the time of go build plus under 300 ms.
func BenchmarkOneLineChange(b *testing.B) {
	for _, mode := range []string{"gobuild", "build", "push", "push-gzip"} {
		b.Run(mode, func(b *testing.B) {
			app := copyApp(b)
			kb := newBuilder(b, (&baseRecorder{img: testBase(b)}).base)
			a := koArtifact(app, schema.KoArtifact{})
			p := v1.Platform{OS: "linux", Architecture: "amd64"}
			req := build.Request{Platforms: []string{p.String()}}
			var ref name.Reference
			if strings.HasPrefix(mode, "push") {
				srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
				b.Cleanup(srv.Close)
				var err error
				if ref, err = name.ParseReference(strings.TrimPrefix(srv.URL, "http://") + "/app:dev"); err != nil {
					b.Fatal(err)
				}
				req.Push, req.Tag = true, ref.String()
				if mode == "push-gzip" {
					req.Tag = "registry.example.com/app:dev"
				}
			}
			s, err := kb.resolve(context.Background(), a, req, p)
			if err != nil {
				b.Fatal(err)
			}
			step := func(i int) {
				editGreeting(b, app, fmt.Sprintf("hello %d", i))
				if mode == "gobuild" {
					if _, err := kb.compile(context.Background(), s, p, io.Discard, filepath.Join(b.TempDir(), "out")); err != nil {
						b.Fatal(err)
					}
					return
				}
				built, err := kb.Build(context.Background(), a, req)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := built.Image.Digest(); err != nil {
					b.Fatal(err)
				}
				if ref != nil {
					if err := remote.Write(ref, built.Image); err != nil {
						b.Fatal(err)
					}
				}
			}
			step(-1) // warm the Go build cache and the registry
			cpu := cpuTime()
			for i := 0; b.Loop(); i++ {
				step(i)
			}
			reportCPU(b, cpu)
		})
	}
}

// BenchmarkLayering is what the builder adds to `go build`: tar and hash
// (and, for gzip, compress) the changed binary, check the kodata layer,
// put both on the base and compute the manifest. The binary changes in
// every iteration, as after an edit. "hello" is the test app; "large" is
// this test binary, the size of a real service.
func BenchmarkLayering(b *testing.B) {
	app := copyApp(b)
	kb := newBuilder(b, (&baseRecorder{img: testBase(b)}).base)
	p := v1.Platform{OS: "linux", Architecture: "amd64"}
	s, err := kb.resolve(context.Background(), koArtifact(app, schema.KoArtifact{}), build.Request{}, p)
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	hello, err := kb.compile(context.Background(), s, p, io.Discard, filepath.Join(dir, "hello"))
	if err != nil {
		b.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	base := testBase(b)
	for _, tc := range []struct {
		name string
		bin  string
		gzip bool
	}{{"hello", hello.file, false}, {"hello", hello.file, true}, {"large", self, false}, {"large", self, true}} {
		layers := "plain"
		if tc.gzip {
			layers = "gzip"
		}
		content, err := os.ReadFile(tc.bin)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("%s-%.1fMB/%s", tc.name, float64(len(content))/1e6, layers), func(b *testing.B) {
			slot := tc.name + "\x00" + p.String()
			s := *s
			s.gzip = tc.gzip
			b.SetBytes(int64(len(content)))
			file := filepath.Join(dir, "bin")
			cpu := cpuTime()
			for i := 0; b.Loop(); i++ {
				// A new binary every time, as go build writes it.
				content[len(content)/2] = byte(i)
				if err := os.WriteFile(file, content, 0o755); err != nil {
					b.Fatal(err)
				}
				c := &compiled{file: file, name: tc.name}
				bin, err := kb.binaryLayer(slot, &s, c)
				if err != nil {
					b.Fatal(err)
				}
				data, err := kb.kodataLayer(slot, &s)
				if err != nil {
					b.Fatal(err)
				}
				img, err := assemble(base, &s, p, c.name, data, bin)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := img.Digest(); err != nil {
					b.Fatal(err)
				}
			}
			reportCPU(b, cpu)
		})
	}
}

// reportCPU reports the CPU time per iteration since start, the figure to
// compare on a busy machine.
func reportCPU(b *testing.B, start time.Duration) {
	if used := cpuTime() - start; used > 0 {
		b.ReportMetric(float64(used.Microseconds())/1000/float64(b.N), "cpu-ms/op")
	}
}
