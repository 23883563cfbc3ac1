// Package build is the build stage of the pipeline: it turns the artifacts
// of skaffold.yaml into images and says where each one is.
//
// Run is the scheduler: it builds artifacts in dependency order, several at
// once, tags each with a Tagger (or the -t tag) under the default repo, and
// asks a Builder for the image. A Cache keyed by an artifact's dependency
// files and build settings lets an unchanged artifact reuse its last image
// instead of building again. Builders only build; a Publisher (the
// ImagePublisher) pushes what they produced to a registry or loads it into
// the local Docker daemon, so every builder publishes the same way.
//
// The builders live in the packages under this one: dockerbuild (Docker
// and BuildKit), ko (Go programs, without Docker) and custom (a user's
// script); deps lists the source files an artifact depends on, for the
// cache key and the file watcher alike.
package build
