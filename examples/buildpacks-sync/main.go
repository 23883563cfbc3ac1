// Command example-file-sync is the Go app of the seed document's
// examples/file-sync: it logs "Hello world!" every second. Under skiff dev
// an edit of this file is synced into the running container, where the
// skiff/go buildpack's development-mode watcher rebuilds and restarts it.
package main

import (
	"fmt"
	"time"
)

func main() {
	for {
		fmt.Println("Hello world!")
		time.Sleep(time.Second)
	}
}
