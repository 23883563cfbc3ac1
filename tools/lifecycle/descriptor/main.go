// Command descriptor prints, as JSON, the version of the lifecycle this
// module pins and the Buildpack and Platform APIs it supports, read from
// the lifecycle's own api package, so that hack/mkbuilder writes a builder
// label that matches the binaries it installs.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime/debug"

	"github.com/buildpacks/lifecycle/api"
)

type versions struct {
	Deprecated []string `json:"deprecated"`
	Supported  []string `json:"supported"`
}

func list(apis api.APIs) versions {
	v := versions{Deprecated: []string{}, Supported: []string{}}
	for _, a := range apis.Supported {
		v.Supported = append(v.Supported, a.String())
	}
	for _, a := range apis.Deprecated {
		v.Deprecated = append(v.Deprecated, a.String())
	}
	return v
}

func main() {
	version := ""
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range info.Deps {
			if dep.Path == "github.com/buildpacks/lifecycle" {
				version = dep.Version
			}
		}
	}
	if version == "" {
		fmt.Fprintln(os.Stderr, "descriptor: the build information names no github.com/buildpacks/lifecycle module: build it with go build in tools/lifecycle")
		os.Exit(1)
	}
	out := map[string]any{
		"version": version,
		"apis":    map[string]versions{"buildpack": list(api.Buildpack), "platform": list(api.Platform)},
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		fmt.Fprintln(os.Stderr, "descriptor:", err)
		os.Exit(1)
	}
}
