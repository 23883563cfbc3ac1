package fsutil

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadRegularSizeLimit(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, []byte("0123456789"), 0o600); err != nil {
		t.Fatal(err)
	}
	if data, err := ReadRegular(p, 10); err != nil || string(data) != "0123456789" {
		t.Fatalf("at the limit: %q, %v", data, err)
	}
	_, err := ReadRegular(p, 9)
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "10 B") || !strings.Contains(err.Error(), "9 B") {
		t.Fatalf("over the limit: got %v", err)
	}
}

func TestExcerpt(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é", 100)
	for _, c := range []struct{ in, want string }{
		{"one line", "one line"},
		{"\n  root:x:0:0  \ndaemon:x:1:1\n", "root:x:0:0..."},
		{long, strings.Repeat("é", 40) + "..."},
	} {
		if got := Excerpt(c.in); got != c.want {
			t.Errorf("Excerpt(%.20q) = %q, want %q", c.in, got, c.want)
		}
	}
}
