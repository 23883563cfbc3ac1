// Command skiff-engine runs skiff's commands: it builds, deploys and
// develops applications on Kubernetes, reading skaffold.yaml. The skiff
// executable (cmd/skiff) answers `skiff version` and the top-level help
// itself and hands every other command line to it, unchanged; run
// directly, it is the whole of skiff.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"skiff.dev/skiff/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// The first Ctrl-C asks the command to stop and clean up; from
		// then on the signals' default action applies, so a second
		// Ctrl-C ends the process at once.
		<-ctx.Done()
		stop()
	}()
	code := cli.Main(ctx, cli.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}, os.Args[1:])
	stop()
	os.Exit(code)
}
