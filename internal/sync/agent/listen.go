package agent

import (
	"bufio"
	"bytes"
	"os"
	"time"
)

// listenWait bounds how long a restart waits for the new process to
// listen where the old one did.
const listenWait = 5 * time.Second

// listenPoll is how often a restart looks whether the new process
// listens.
const listenPoll = 2 * time.Millisecond

// procNetFiles are the kernel's tables of the network namespace's TCP
// sockets.
var procNetFiles = []string{"/proc/net/tcp", "/proc/net/tcp6"}

// listeningSockets returns the local addresses (as the kernel's tables
// write them, e.g. "00000000:1F90") of the TCP sockets that listen in the
// network namespace, which a pod's containers share. It returns nil where
// there are no such tables (not Linux, or no /proc).
func listeningSockets() map[string]bool {
	var out map[string]bool
	for _, name := range procNetFiles {
		b, err := os.ReadFile(name)
		if err != nil {
			continue
		}
		if out == nil {
			out = map[string]bool{}
		}
		parseListening(b, out)
	}
	return out
}

// tcpListen is the state of a listening socket in /proc/net/tcp.
const tcpListen = "0A"

// parseListening adds to out the local address of each listening socket
// of table, a /proc/net/tcp or tcp6 file: a header line, then one line
// per socket, "sl local_address rem_address st ...".
func parseListening(table []byte, out map[string]bool) {
	sc := bufio.NewScanner(bytes.NewReader(table))
	sc.Scan() // the header
	for sc.Scan() {
		f := bytes.Fields(sc.Bytes())
		if len(f) > 3 && string(f[3]) == tcpListen {
			out[string(f[1])] = true
		}
	}
}

// gone returns the sockets of before that are not in after.
func gone(before, after map[string]bool) []string {
	var out []string
	for s := range before {
		if !after[s] {
			out = append(out, s)
		}
	}
	return out
}

// allIn says whether every socket of want is in have.
func allIn(want []string, have map[string]bool) bool {
	for _, s := range want {
		if !have[s] {
			return false
		}
	}
	return true
}
