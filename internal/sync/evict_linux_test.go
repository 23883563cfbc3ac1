package sync

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"skiff.dev/skiff/internal/sync/agentproto"
)

// mapTemp writes content to a file and maps it.
func mapTemp(t *testing.T, content []byte) mapping {
	t.Helper()
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, content, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := mapFile(f, int64(len(content)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.release)
	return m
}

// residentKiB is how much of the mapping m the process has resident, from
// /proc/self/smaps.
func residentKiB(t *testing.T, m mapping) int {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	start := fmt.Sprintf("%x-", uintptr(unsafe.Pointer(unsafe.SliceData(m.data))))
	in := false
	s := bufio.NewScanner(f)
	for s.Scan() {
		line := s.Text()
		if fields := strings.Fields(line); len(fields) > 0 && strings.Contains(fields[0], "-") && !strings.HasSuffix(fields[0], ":") {
			in = strings.HasPrefix(line, start)
			continue
		}
		if in && strings.HasPrefix(line, "Rss:") {
			kib, err := strconv.Atoi(strings.Fields(line)[1])
			if err != nil {
				t.Fatal(err)
			}
			return kib
		}
	}
	t.Fatalf("no mapping at %s in /proc/self/smaps", start)
	return 0
}

// peakKiB runs f and returns how far the process's resident set grew
// while it ran, from VmHWM, which it resets first (/proc/self/clear_refs).
func peakKiB(t *testing.T, f func()) int {
	t.Helper()
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		t.Skipf("cannot reset the peak resident set: %v", err)
	}
	before := statusKiB(t, "VmRSS")
	f()
	return statusKiB(t, "VmHWM") - before
}

// statusKiB reads a field of /proc/self/status, in KiB.
func statusKiB(t *testing.T, field string) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(b)) {
		if f := strings.Fields(line); len(f) > 1 && f[0] == field+":" {
			kib, err := strconv.Atoi(f[1])
			if err != nil {
				t.Fatal(err)
			}
			return kib
		}
	}
	t.Fatalf("no %s in /proc/self/status", field)
	return 0
}

// TestDiffEvictsAsItGoes checks that the diff of mapped files makes the
// patch it makes of the same bytes in memory, and holds a few folios of
// the files resident at a time, not the files: a hot swap must not hold
// both executables in the process's resident set. Not parallel: it
// measures the process's peak.
func TestDiffEvictsAsItGoes(t *testing.T) {
	const size = 16 << 20
	v1 := randomBytes(1, size)
	v2 := slices.Concat(v1[:1<<20], []byte("new code"), v1[1<<20:12<<20], randomBytes(2, 300<<10), v1[12<<20:])
	x := indexOf(t, v1)
	want, _ := appendDelta(agentproto.AppendPatchHeader(nil, agentproto.PatchHeader{Size: int64(len(v2))}), mapping{data: v1}, x, mapping{data: v2})
	base, nw := mapTemp(t, v1), mapTemp(t, v2)
	payload := agentproto.AppendPatchHeader(make([]byte, 0, 2*len(want)), agentproto.PatchHeader{Size: int64(len(v2))})
	clear(payload[len(payload):cap(payload)]) // resident before the peak is reset
	// Pages are mapped a folio at a time, up to 2 MB on Linux 6.18's ext4:
	// the diff holds about 5 (10 MiB) at its peak, whatever the files'
	// size; without evicting, it holds both files.
	const most = 6 * 2 << 10 // KiB
	if grew := peakKiB(t, func() { payload, _ = appendDelta(payload, base, x, nw) }); grew > most {
		t.Errorf("the resident set grew by %d KiB during the diff of two %d MiB files, want at most %d", grew, size>>20, most)
	}
	for _, m := range []mapping{base, nw} {
		if kib := residentKiB(t, m); kib > 8 {
			t.Errorf("after the diff, %d KiB of a file are resident", kib)
		}
	}
	if !bytes.Equal(payload, want) {
		t.Error("the patch of the mapped files differs from the patch of the same bytes in memory")
	}
}
