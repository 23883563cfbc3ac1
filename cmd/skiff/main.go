// Command skiff builds, deploys and develops applications on Kubernetes;
// it reads skaffold.yaml. This executable answers `skiff version` and the
// top-level help itself, at once (internal/front), and runs every other
// command line in skiff-engine, installed next to it, with the same
// arguments, environment and process.
package main

import (
	"fmt"
	"os"
	"syscall"

	"skiff.dev/skiff/internal/front"
)

func main() {
	args := os.Args[1:]
	answered, err := front.Answer(args, os.Environ(), os.Stdout)
	if answered {
		if err != nil {
			fmt.Fprintf(os.Stderr, "ERROR: %v\n", err)
			os.Exit(1)
		}
		return
	}
	engine, err := front.Engine()
	if err == nil {
		err = syscall.Exec(engine, append([]string{os.Args[0]}, args...), os.Environ())
		err = fmt.Errorf("running %s: %w", engine, err)
	}
	fmt.Fprintf(os.Stderr, "ERROR: %v\n", err)
	os.Exit(1)
}
