//go:build e2e

package buildpacks

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"skiff.dev/skiff/internal/build"
)

type stampWriter struct {
	mu    sync.Mutex
	start time.Time
	b     strings.Builder
}

func (w *stampWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, l := range strings.SplitAfter(string(p), "\n") {
		if l != "" {
			fmt.Fprintf(&w.b, "%6dms %s", time.Since(w.start).Milliseconds(), l)
		}
	}
	return len(p), nil
}

func TestZZAdhocChange(t *testing.T) {
	b, _ := e2eBuilder(t)
	ws := goApp(t, "hello 0")
	for _, trusted := range []bool{false, true} {
		a := e2eArtifact(ws, trusted)
		repo := fmt.Sprintf("%s/skiff-e2e/adhoc-%v", e2eRegistry(), trusted)
		for i := 0; i < 3; i++ {
			os.WriteFile(filepath.Join(ws, "main.go"), []byte(strings.Replace(goMain, "GREETING", fmt.Sprintf("hello %d", i+1), 1)), 0o644)
			w := &stampWriter{start: time.Now()}
			_, err := b.BuildWith(context.Background(), a, build.Request{Tag: fmt.Sprintf("%s:c%d", repo, i), Push: true, Out: w}, RunOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if i == 2 {
				t.Logf("trusted=%v total %dms\n%s", trusted, time.Since(w.start).Milliseconds(), w.b.String())
			}
		}
	}
}
