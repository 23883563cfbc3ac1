// Package e2e holds skiff's end-to-end tests. They run against real
// components: the local Kubernetes cluster and registry that
// hack/cluster.sh starts, and a Docker Engine. They are built only with
// the e2e tag: `make e2e` brings the cluster up, runs them and takes the
// cluster down; against a running cluster,
//
//	eval "$(hack/cluster.sh env)" && go test -tags e2e ./test/e2e/...
//
// Each test works in a namespace of its own and removes what it made.
package e2e
