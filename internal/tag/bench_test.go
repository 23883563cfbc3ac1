package tag

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"skiff.dev/skiff/internal/config/schema"
)

// BenchmarkGitCommit tags an artifact in a 500-file repository, as every
// `skiff build` does with the default policy.
func BenchmarkGitCommit(b *testing.B) {
	r := newTestRepo(b)
	for i := range 500 {
		r.write(fmt.Sprintf("app/pkg%02d/file%03d.go", i%20, i), strings.Repeat("// source\n", 40))
	}
	r.commit("one")
	r.git("tag", "v1.0.0")
	r.write("app/pkg00/file000.go", "// changed\n")
	a := &schema.Artifact{ImageName: "app", Workspace: filepath.Join(r.dir, "app")}
	ctx := context.Background()

	for _, bc := range []struct {
		name string
		c    schema.GitTagger
	}{
		{"Tags", schema.GitTagger{}},
		{"CommitSha", schema.GitTagger{Variant: "CommitSha"}},
		{"AbbrevTreeSha", schema.GitTagger{Variant: "AbbrevTreeSha"}},
		{"Branches", schema.GitTagger{Variant: "Branches"}},
		{"Tags/ignoreChanges", schema.GitTagger{IgnoreChanges: true}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			tg := gitTagger(b, r, bc.c)
			for b.Loop() {
				if _, err := tg.GenerateTag(ctx, a); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	// The same two commands one after the other, as Skaffold runs them.
	b.Run("Tags/sequential", func(b *testing.B) {
		g, err := newGitCommit(&schema.GitTagger{}, &options{environ: append(os.Environ(), r.env...)})
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if _, err := g.ref(ctx, a.Workspace); err != nil {
				b.Fatal(err)
			}
			if _, err := g.git(ctx, a.Workspace, "status", "--porcelain", "--", "."); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkInputDigest hashes 1000 dependency files of 64 B to 16 KiB
// (5.6 MiB in all).
func BenchmarkInputDigest(b *testing.B) {
	ws := b.TempDir()
	files := map[string]string{}
	var names []string
	var total int64
	for i := range 1000 {
		name := fmt.Sprintf("src/dir%02d/file%04d.txt", i%30, i)
		size := 64 << (i % 9) // 64 B .. 16 KiB
		files[name] = strings.Repeat("x", size)
		names = append(names, name)
		total += int64(size)
	}
	writeFiles(b, ws, files)
	tg, err := New(schema.TagPolicy{InputDigest: &schema.InputDigest{}}, nil, fixedDeps(names...))
	if err != nil {
		b.Fatal(err)
	}
	a := &schema.Artifact{ImageName: "app", Workspace: ws, ArtifactType: schema.ArtifactType{DockerArtifact: &schema.DockerArtifact{}}}
	b.SetBytes(total)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tg.GenerateTag(context.Background(), a); err != nil {
			b.Fatal(err)
		}
	}
}
