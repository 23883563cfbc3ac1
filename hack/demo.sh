#!/usr/bin/env bash
# make demo: show what skiff does today on the example in examples/hello.
# It grows as the pipeline lands; it says plainly what it runs.
set -euo pipefail
cd "$(dirname "$0")/.."
skiff=bin/skiff
step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

step "skiff version"
"$skiff" version

if [ -x hack/cluster.sh ]; then
	step "Starting the local Kubernetes cluster and registry (make cluster-up)"
	hack/cluster.sh up
	eval "$(hack/cluster.sh env)"
fi

step "skiff diagnose: the effective config of examples/hello and what each artifact is built from"
(cd examples/hello && "../../$skiff" diagnose)

step "skiff diagnose -p slow-cluster: the same with a profile's JSON patch applied"
(cd examples/hello && "../../$skiff" diagnose --yaml-only -p slow-cluster | grep -n statusCheckDeadlineSeconds)

step "skiff fix: the seed document's skaffold/v2beta12 config upgraded to the newest schema"
"$skiff" fix -f internal/config/testdata/valid-seed-kubectl-v2beta12.yaml

step "skiff build: examples/hello (ko builder), pushed to the cluster's registry it advertises"
(cd examples/hello && "../../$skiff" build)

step "skiff build again: nothing changed, so it comes from the cache"
(cd examples/hello && "../../$skiff" build)

cat <<'MSG'

What runs today: the configuration model (every skaffold.yaml from
skaffold/v2beta12 to skaffold/v4beta14, profiles, modules, templates,
validation with file:line:column), skiff build (docker, ko and custom
builders, taggers, the cache, push or load), and the local cluster.
Not yet: render, deploy, run and dev land in the next issues; then this
demo runs `skiff run` on examples/hello and shows it answering.
The cluster stays up: `make cluster-down` stops it.
MSG
