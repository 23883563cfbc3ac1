// Command pause is the cluster's pod sandbox image: it holds a pod's
// namespaces open, reaps orphaned children when it is the pod's PID 1, and
// exits on SIGTERM or SIGINT. The cluster builds it locally because no
// image can be pulled on these machines.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	signals := make(chan os.Signal, 8)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT, syscall.SIGCHLD)
	for sig := range signals {
		if sig != syscall.SIGCHLD {
			return
		}
		for {
			pid, err := syscall.Wait4(-1, nil, syscall.WNOHANG, nil)
			if pid <= 0 || err != nil {
				break
			}
		}
	}
}
