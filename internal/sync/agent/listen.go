package agent

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
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

// sockets maps the local address of listening TCP sockets, as the
// kernel's tables write it (e.g. "00000000:1F90"), to the socket's inode.
type sockets map[string]string

// treeListening returns the TCP sockets that process pid and its
// descendants listen on: the network namespace's listening sockets whose
// inodes are among their descriptors. The namespace is the pod's, shared
// with its other containers, whose sockets are left out. When pid's
// descriptors cannot be read (no /proc, or a process the supervisor may
// not inspect), scoped is false and the result is every listening socket
// of the namespace, or nil where there are no tables (not Linux).
func treeListening(pid int) (out sockets, scoped bool) {
	inodes, err := treeSocketInodes(pid)
	if err != nil {
		return listeningSockets(nil), false
	}
	return listeningSockets(inodes), true
}

// listeningSockets returns the listening sockets of the network
// namespace whose inodes are in inodes, or all of them when inodes is
// nil. It returns nil where there are no tables.
func listeningSockets(inodes map[string]bool) sockets {
	var out sockets
	for _, name := range procNetFiles {
		b, err := os.ReadFile(name)
		if err != nil {
			continue
		}
		if out == nil {
			out = sockets{}
		}
		parseListening(b, inodes, out)
	}
	return out
}

// tcpListen is the state of a listening socket in /proc/net/tcp.
const tcpListen = "0A"

// parseListening adds to out each listening socket of table, a
// /proc/net/tcp or tcp6 file (a header line, then one line per socket,
// "sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout
// inode ..."), whose inode is in inodes, or every one when inodes is nil.
func parseListening(table []byte, inodes map[string]bool, out sockets) {
	sc := bufio.NewScanner(bytes.NewReader(table))
	sc.Scan() // the header
	for sc.Scan() {
		f := bytes.Fields(sc.Bytes())
		if len(f) < 10 || string(f[3]) != tcpListen {
			continue
		}
		if inode := string(f[9]); inodes == nil || inodes[inode] {
			out[string(f[1])] = inode
		}
	}
}

// treeSocketInodes returns the inodes of the sockets that process pid
// and its descendants have open, from /proc/PID/fd. It fails when pid's
// descriptors cannot be read; a descendant's that cannot (it ended
// meanwhile) are skipped.
func treeSocketInodes(pid int) (map[string]bool, error) {
	out := map[string]bool{}
	for i, p := range append([]int{pid}, descendants(pid)...) {
		dir := fmt.Sprintf("/proc/%d/fd", p)
		names, err := readDirNames(dir)
		if err != nil {
			if i == 0 {
				return nil, err
			}
			continue
		}
		for _, n := range names {
			link, err := os.Readlink(dir + "/" + n)
			if err != nil {
				continue
			}
			if inode, ok := strings.CutPrefix(link, "socket:["); ok {
				out[strings.TrimSuffix(inode, "]")] = true
			}
		}
	}
	return out, nil
}

// descendants returns the processes below pid, from each process's
// parent in /proc/PID/stat; none when /proc cannot be read.
func descendants(pid int) []int {
	names, err := readDirNames("/proc")
	if err != nil {
		return nil
	}
	children := map[int][]int{}
	for _, n := range names {
		p, err := strconv.Atoi(n)
		if err != nil {
			continue
		}
		if ppid, ok := parentOf(p); ok {
			children[ppid] = append(children[ppid], p)
		}
	}
	var out []int
	for next := []int{pid}; len(next) > 0; {
		p := next[0]
		next = append(next[1:], children[p]...)
		out = append(out, children[p]...)
	}
	return out
}

// parentOf returns the parent of process p from /proc/P/stat: "PID
// (COMM) STATE PPID ...", where COMM may hold spaces and parentheses.
func parentOf(p int) (int, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p))
	if err != nil {
		return 0, false
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, false
	}
	f := bytes.Fields(b[i+1:])
	if len(f) < 2 {
		return 0, false
	}
	ppid, err := strconv.Atoi(string(f[1]))
	return ppid, err == nil
}

// readDirNames returns the names in directory dir.
func readDirNames(dir string) ([]string, error) {
	d, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	return d.Readdirnames(-1)
}

// closedBy returns the addresses of the sockets of before that are no
// longer listening in now, the namespace's listening sockets: those that
// a process's end closed. A socket that listens on (the same inode, held
// by a process that lives on) is left out, since no new process can take
// its address.
func closedBy(before, now sockets) []string {
	var out []string
	for addr, inode := range before {
		if now[addr] != inode {
			out = append(out, addr)
		}
	}
	return out
}

// allIn says whether every address of want is in have.
func allIn(want []string, have sockets) bool {
	for _, a := range want {
		if _, ok := have[a]; !ok {
			return false
		}
	}
	return true
}
