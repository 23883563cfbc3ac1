// Package debug rewrites rendered manifests so that the containers of the
// images skiff built run under their runtime's debugger, as `skaffold
// debug` does: Go under Delve, Node.js with the inspector, Python under
// debugpy and the JVM with JDWP. Transform is the manifest transform: it
// tells each container's runtime (the artifact's runtimeType, else the
// image's environment, command line and buildpacks metadata), rewrites its
// command line or environment, exposes the debugger's port, adds the
// debug.cloud.google.com/config annotation that IDEs read, sets replicas
// to 1, relaxes probes, and adds the /dbg emptyDir filled by one init
// container per runtime from a support image. SupportImage packs those
// support images from the files `make build` writes next to skiff.
// Beyond Skaffold, a pod can wait for its debugger before the app starts
// (Options.Suspend or the annotation debug.skiff.dev/suspend: "true").
package debug
