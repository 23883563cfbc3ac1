package deps

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// benchWorkspace makes a workspace of about 5,000 files: 20 services of 10
// packages of 20 sources, a node_modules tree and logs that the
// .dockerignore drops, and assets.
func benchWorkspace(b *testing.B) string {
	b.Helper()
	ws := b.TempDir()
	write := func(rel, content string) {
		p := filepath.Join(ws, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	n := 0
	for s := 0; s < 20; s++ {
		for p := 0; p < 10; p++ {
			for f := 0; f < 20; f++ {
				write(fmt.Sprintf("services/svc%02d/pkg%02d/file%02d.go", s, p, f), "package x\n")
				n++
			}
		}
		write(fmt.Sprintf("services/svc%02d/debug.log", s), "log\n")
		n++
	}
	for m := 0; m < 40; m++ {
		for f := 0; f < 20; f++ {
			write(fmt.Sprintf("node_modules/mod%02d/lib/f%02d.js", m, f), "x\n")
			n++
		}
	}
	for f := 0; f < 180; f++ {
		write(fmt.Sprintf("assets/img/%03d.png", f), "png\n")
		n++
	}
	write("go.mod", "module example.com/bench\n")
	write("go.sum", "\n")
	write("node_modules/keep/LICENSE", "keep\n")
	write(".dockerignore", "**/*.log\nnode_modules\n!node_modules/keep\n.git\n")
	write("Dockerfile", benchDockerfile)
	write("all.Dockerfile", "FROM scratch\nCOPY . /src/\n")
	if n < 4900 {
		b.Fatalf("made only %d files", n)
	}
	return ws
}

const benchDockerfile = `# syntax=docker/dockerfile:1
ARG GO_VERSION=1.22
FROM golang:${GO_VERSION} AS base
WORKDIR /src
ENV CGO_ENABLED=0
COPY go.mod go.sum ./

FROM base AS build
ARG SERVICE=svc07
COPY services/${SERVICE}/ services/${SERVICE}/
COPY services/svc0*/pkg00/ shared/
RUN --mount=type=cache,target=/root/.cache/go-build go build -o /out/app ./services/${SERVICE}

FROM node:20 AS web
WORKDIR /web
COPY node_modules/keep ./node_modules/keep
COPY assets/ ./assets/

FROM gcr.io/distroless/static
COPY --from=build /out/app /app
COPY --from=web /web/assets /assets
ENTRYPOINT ["/app"]
`

func BenchmarkDockerfile(b *testing.B) {
	ws := benchWorkspace(b)
	for _, bc := range []struct{ name, dockerfile string }{
		{"copy-all-5000-files", "all.Dockerfile"},
		{"multi-stage", "Dockerfile"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var files []string
			defer reportCPU(b)()
			for b.Loop() {
				var err error
				if files, err = Dockerfile(ws, bc.dockerfile, "", nil); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(files)), "files")
		})
	}
}

func BenchmarkParseDockerfile(b *testing.B) {
	// A 22-line, 4-stage Dockerfile, and the same stages repeated 25 times
	// (about 500 lines).
	var big strings.Builder
	big.WriteString("ARG GO_VERSION=1.22\n")
	body := strings.SplitN(benchDockerfile, "\n", 3)[2] // without the syntax line and global ARG
	for i := 0; i < 25; i++ {
		big.WriteString(strings.NewReplacer(" AS base", fmt.Sprintf(" AS base%d", i), " AS build", fmt.Sprintf(" AS build%d", i),
			" AS web", fmt.Sprintf(" AS web%d", i), "FROM base ", fmt.Sprintf("FROM base%d ", i),
			"--from=build ", fmt.Sprintf("--from=build%d ", i), "--from=web ", fmt.Sprintf("--from=web%d ", i)).Replace(body))
	}
	for _, bc := range []struct {
		name    string
		content string
	}{
		{"22-lines", benchDockerfile},
		{"500-lines", big.String()},
	} {
		b.Run(bc.name, func(b *testing.B) {
			content := []byte(bc.content)
			b.SetBytes(int64(len(content)))
			defer reportCPU(b)()
			for b.Loop() {
				if _, err := ParseDockerfile(bytes.NewReader(content), nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkPaths(b *testing.B) {
	ws := benchWorkspace(b)
	defer reportCPU(b)()
	for b.Loop() {
		if _, err := Paths(ws, []string{"**/*.go", "assets"}, []string{"node_modules", "**/*.log"}); err != nil {
			b.Fatal(err)
		}
	}
}

// reportCPU starts measuring CPU time; the function it returns reports CPU
// time per operation as cpu-ns/op. Call it just before b.Loop.
func reportCPU(b *testing.B) func() {
	start := cpuTime()
	return func() {
		if used := cpuTime() - start; used > 0 && b.N > 0 {
			b.ReportMetric(float64(used.Nanoseconds())/float64(b.N), "cpu-ns/op")
		}
	}
}
