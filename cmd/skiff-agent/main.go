// Command skiff-agent applies file operations that skiff streams to it in
// containers that have no tar or shell; skiff runs it through exec as
// "skiff-agent apply --allow DEST...". In dev mode an init container runs
// "skiff-agent install /skiff/skiff-agent" to copy it into an emptyDir the
// app containers mount. In a development image of a ko app it is also
// the entrypoint, "skiff-agent run -- /ko-app/NAME", which supervises the
// app so that a hot swap can restart it. Build it static: CGO_ENABLED=0.
package main

import (
	"os"

	"skiff.dev/skiff/internal/sync/agent"
)

func main() {
	os.Exit(agent.Run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
