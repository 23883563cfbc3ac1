package watch

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"
)

// BenchmarkEditToBatch measures the time from writing a file to receiving
// its batch, with the default debounce (20 ms), in a tree of 100
// directories. It reports the median as ms-median.
func BenchmarkEditToBatch(b *testing.B) {
	dir := b.TempDir()
	for i := range 100 {
		d := filepath.Join(dir, "pkg"+strconv.Itoa(i))
		if err := os.MkdirAll(d, 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "f.go"), []byte("package p"), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	w, err := New([]string{dir}, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	ctx, cancel := context.WithCancel(context.Background())
	batches := make(chan Batch)
	errc := make(chan error, 1)
	go func() { errc <- w.Run(ctx, func(bt Batch) { batches <- bt }) }()
	defer func() {
		cancel()
		if err := <-errc; err != nil {
			b.Error(err)
		}
	}()

	file := filepath.Join(dir, "pkg50", "f.go")
	var latencies []time.Duration
	for i := 0; b.Loop(); i++ {
		start := time.Now()
		if err := os.WriteFile(file, []byte("package p // "+strconv.Itoa(i)), 0o644); err != nil {
			b.Fatal(err)
		}
		select {
		case <-batches:
		case <-time.After(timeout):
			b.Fatal("no batch")
		}
		latencies = append(latencies, time.Since(start))
	}
	slices.Sort(latencies)
	b.ReportMetric(float64(latencies[len(latencies)/2].Microseconds())/1000, "ms-median")
}
