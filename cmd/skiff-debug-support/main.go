// Command skiff-debug-support runs inside pods that skiff debug
// configures. Its role is its name: as "skiff-debug-support install SRC
// DEST" the init container copies the support files into the /dbg volume;
// as /dbg/nodejs/bin/node it is the Node.js wrapper; as
// /dbg/python/launcher it runs a Python app under debugpy. Build it
// static: CGO_ENABLED=0.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"skiff.dev/skiff/internal/debug/support"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run() error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	var prog string
	var argv, env []string
	switch filepath.Base(os.Args[0]) {
	case "node":
		prog, argv, env, err = support.Node(self, os.Args[1:], os.Environ())
	case "launcher":
		prog, argv, env, err = support.Launcher(self, os.Args[1:], os.Environ(), support.LookPath)
	default:
		if len(os.Args) != 4 || os.Args[1] != "install" {
			return fmt.Errorf("usage: %s install SRC DEST (or run it as node or launcher)", os.Args[0])
		}
		return support.Install(os.Args[2], os.Args[3])
	}
	if err != nil {
		return err
	}
	return syscall.Exec(prog, argv, env)
}
