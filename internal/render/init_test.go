package render

import (
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"testing"
)

// The package's init allocates little: every skiff command pays for it,
// `skiff version` included, so what is costly to build (the case-insensitive
// image reference regexp) is built on first use (issue 16). The test runs
// its own binary again, running no test, with GODEBUG=inittrace=1, which
// reports the bytes each package's init allocated.
func TestPackageInitIsCheap(t *testing.T) {
	t.Parallel()
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "GODEBUG=inittrace=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("running %s with GODEBUG=inittrace=1: %v\n%s", os.Args[0], err, out)
	}
	m := regexp.MustCompile(`(?m)^init skiff\.dev/skiff/internal/render @\S+ ms, \S+ ms clock, (\d+) bytes`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("GODEBUG=inittrace=1 printed no init line for skiff.dev/skiff/internal/render:\n%s", out)
	}
	const limit = 64 << 10
	if n, _ := strconv.Atoi(string(m[1])); n > limit {
		t.Errorf("the package's init allocated %d bytes, want at most %d: build what is costly on first use", n, limit)
	}
}
