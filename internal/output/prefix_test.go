package output

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
)

func TestPrefixedLinesDoNotInterleave(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	lines := NewLines(&buf)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pw := lines.Prefixed(fmt.Sprintf("[w%d] ", w))
			for i := range 100 {
				// Lines arrive split across writes.
				fmt.Fprintf(pw, "line %d ", i)
				fmt.Fprintf(pw, "of w%d\n", w)
			}
			fmt.Fprint(pw, "partial")
			pw.Flush()
		}()
	}
	wg.Wait()
	got := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(got) != 4*101 {
		t.Fatalf("got %d lines, want %d", len(got), 4*101)
	}
	for _, l := range got {
		var w, i int
		if _, err := fmt.Sscanf(l, "[w%d] line %d of w", &w, &i); err == nil {
			if !strings.HasSuffix(l, fmt.Sprintf("of w%d", w)) {
				t.Errorf("interleaved line %q", l)
			}
			continue
		}
		if !strings.HasSuffix(l, "] partial") {
			t.Errorf("unexpected line %q", l)
		}
	}
}
