// Package image moves OCI images between skiff and the places they live:
// registries (push, digest, tag, pull through go-containerregistry), the
// local Docker daemon (load, push, tag through the Engine API), and the
// cluster's advertised local registry (KEP-1755). It also assembles
// skiff's own static base image and rewrites image names for
// --default-repo with Skaffold's rules.
package image
