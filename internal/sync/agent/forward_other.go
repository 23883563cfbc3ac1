//go:build !unix

package agent

import (
	"os"
	"syscall"
)

// forwarded are the signals skiff-agent run passes on to its child.
var forwarded = []os.Signal{syscall.SIGTERM, syscall.SIGINT}
