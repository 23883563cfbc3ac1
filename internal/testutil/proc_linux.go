package testutil

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"testing"
)

// Process is a live process as /proc shows it.
type Process struct {
	Pid, Pgid int
	// Cmdline are its arguments.
	Cmdline []string
	// Environ is its environment (empty when it may not be read).
	Environ []string
}

// Processes returns the live processes (zombies left out) that match
// keeps, read from /proc.
func Processes(t testing.TB, keep func(Process) bool) []Process {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var out []Process
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue // gone meanwhile
		}
		// pid (comm) state ppid pgrp ...; comm may hold spaces and parentheses.
		f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		if len(f) < 3 || f[0] == "Z" || f[0] == "X" {
			continue
		}
		p := Process{Pid: pid}
		p.Pgid, _ = strconv.Atoi(f[2])
		p.Cmdline = nulSplit("/proc/" + e.Name() + "/cmdline")
		p.Environ = nulSplit("/proc/" + e.Name() + "/environ")
		if keep(p) {
			out = append(out, p)
		}
	}
	return out
}

// GroupMembers returns the live processes of process group pgid.
func GroupMembers(t testing.TB, pgid int) []Process {
	t.Helper()
	return Processes(t, func(p Process) bool { return p.Pgid == pgid })
}

func nulSplit(file string) []string {
	b, err := os.ReadFile(file)
	if err != nil || len(b) == 0 {
		return nil
	}
	return strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
}
