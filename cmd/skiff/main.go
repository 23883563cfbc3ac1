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
	code := cli.Main(ctx, cli.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}, os.Args[1:])
	stop()
	os.Exit(code)
}
