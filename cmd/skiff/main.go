// Command skiff builds, deploys and develops applications on Kubernetes;
// it reads skaffold.yaml.
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
