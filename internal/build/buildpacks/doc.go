// Package buildpacks builds the buildpacks artifacts of skaffold.yaml with
// skiff's own implementation of the Cloud Native Buildpacks Platform API:
// it reads the builder image's metadata, negotiates the Platform API with
// the builder's lifecycle, and runs the lifecycle from the builder image in
// containers on the Docker Engine, either as one creator (a trusted
// builder) or as five phases (analyzer, detector, restorer, builder,
// exporter) where only the analyzer, restorer and exporter, run from a
// lifecycle image made from the builder's /cnb/lifecycle, see registry
// credentials. The lifecycle exports the image itself, to a registry or
// into the Docker daemon, and keeps its cache in a volume per application.
//
// No pack binary or library is involved.
package buildpacks
