package agent

import (
	"fmt"
	"maps"
	"net"
	"os"
	"slices"
	"testing"
)

func TestParseListening(t *testing.T) {
	table := []byte(`  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000 65532        0 1234 1 0000000000000000 100 0 0 10 0
   1: 0100007F:A1B2 0100007F:1F90 01 00000000:00000000 00:00000000 00000000 65532        0 1235 1 0000000000000000 20 4 30 10 -1
   2: 0100007F:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1236 1 0000000000000000 100 0 0 10 0
`)
	all := sockets{}
	parseListening(table, nil, all)
	if want := (sockets{"00000000:1F90": "1234", "0100007F:0050": "1236"}); !maps.Equal(all, want) {
		t.Errorf("listening sockets %v, want %v (state 0A only)", all, want)
	}
	mine := sockets{}
	parseListening(table, map[string]bool{"1236": true, "1235": true}, mine)
	if want := (sockets{"0100007F:0050": "1236"}); !maps.Equal(mine, want) {
		t.Errorf("listening sockets of inodes 1235 and 1236: %v, want %v", mine, want)
	}
	// 1F90 closed; 0050 listens on from the same socket, which another
	// process holds, so it is not free.
	if g := closedBy(all, sockets{"0100007F:0050": "1236"}); !slices.Equal(g, []string{"00000000:1F90"}) {
		t.Errorf("closedBy: %v, want the closed 00000000:1F90", g)
	}
	// Reopened by a new socket: free, then taken again.
	if g := closedBy(all, sockets{"0100007F:0050": "1236", "00000000:1F90": "9"}); !slices.Equal(g, []string{"00000000:1F90"}) {
		t.Errorf("closedBy: %v, want 00000000:1F90, closed and opened again", g)
	}
}

// A process's own listening socket is found through its descriptors; a
// process whose descriptors cannot be read (here: none such) gets the
// whole namespace's, as before sockets were told apart by process.
func TestTreeListening(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	addr := fmt.Sprintf("0100007F:%04X", port)
	if _, err := os.Stat("/proc/net/tcp"); err != nil {
		t.Skipf("no /proc/net/tcp: %v", err)
	}
	mine, scoped := treeListening(os.Getpid())
	if _, ok := mine[addr]; !ok || !scoped {
		t.Errorf("the test's own sockets: %v (scoped %v), want %s among them, scoped", mine, scoped, addr)
	}
	const noSuchPID = 1 << 30 // above the kernel's pid_max limit
	all, scoped := treeListening(noSuchPID)
	if _, ok := all[addr]; !ok || scoped {
		t.Errorf("sockets of a process that cannot be read: %v (scoped %v), want every listening one, %s too", all, scoped, addr)
	}
}
