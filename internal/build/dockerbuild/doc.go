// Package dockerbuild builds the docker artifacts of skaffold.yaml through
// the Docker Engine API, never the docker CLI.
//
// The build context is streamed to the daemon as a tar that honours the
// .dockerignore (or <Dockerfile>.dockerignore) as `docker build` does. The
// daemon's classic builder is used, or BuildKit when build.local.useBuildkit
// says so, when the daemon's default is BuildKit, or when the artifact uses
// secrets or ssh, which only BuildKit supports. A BuildKit build runs a
// BuildKit session over the API's /session endpoint that serves registry
// credentials, secrets and ssh agents; a classic build sends the
// credentials with the request. Build output reaches the caller line by
// line; a failed step comes back as a *StepError naming the step, its
// Dockerfile line and its last output.
package dockerbuild
