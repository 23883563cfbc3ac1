#!/usr/bin/env bash
# make demo: show what skiff does today on the examples (hello, buildpacks, sync,
# buildpacks-node under skiff debug).
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

	step "make builder: skiff's offline buildpacks builder in the local registry (seconds when it is up to date)"
	hack/builder.sh
fi

step "skiff diagnose: the effective config of examples/hello and what each artifact is built from"
(cd examples/hello && "../../$skiff" diagnose)

step "skiff diagnose -p slow-cluster: the same with a profile's JSON patch applied"
(cd examples/hello && "../../$skiff" diagnose --yaml-only -p slow-cluster | grep -n statusCheckDeadlineSeconds)

step "skiff fix: the seed document's skaffold/v2beta12 config upgraded to the newest schema"
"$skiff" fix -f internal/config/testdata/valid-seed-kubectl-v2beta12.yaml

step "skiff build: examples/hello (ko builder), pushed to the cluster's registry it advertises"
(cd examples/hello && "../../$skiff" build)

step "skiff render: the manifests skiff applies, with the built image substituted"
(cd examples/hello && "../../$skiff" render --digest-source=tag)

step "skiff run --port-forward: build (cached), deploy, wait for both replicas, forward port 8080"
log=$(mktemp)
(cd examples/hello && exec "../../$skiff" run --port-forward) 2> >(tee "$log" >&2) &
run=$!
stop_run() { kill -INT "$run" 2>/dev/null || true; wait "$run" 2>/dev/null || true; }
trap stop_run EXIT
url=""
for _ in $(seq 600); do
	url=$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$log" | head -n1 || true)
	[ -n "$url" ] && break
	kill -0 "$run" 2>/dev/null || { echo "skiff run ended before forwarding a port" >&2; exit 1; }
	sleep 0.5
done
[ -n "$url" ] || { echo "skiff run did not forward a port within 5 minutes" >&2; exit 1; }

step "The app answers through skiff's port-forward ($url)"
for _ in 1 2 3; do curl -fsS "$url/"; done

step "Ctrl-C: skiff stops forwarding; the app keeps running until skiff delete"
stop_run
trap - EXIT
rm -f "$log"

step "skiff run: examples/buildpacks, the seed's Go app built with Cloud Native Buildpacks (skiff's own CNB platform, the offline builder)"
(cd examples/buildpacks && "../../$skiff" run)

step "skiff delete: remove examples/buildpacks' pod"
(cd examples/buildpacks && "../../$skiff" delete)

step "skiff dev on a copy of examples/sync: sync a file into a FROM scratch image, hot-swap a Go change"
devdir=$(mktemp -d)
cp -r examples/sync/. "$devdir"
devlog=$(mktemp)
(cd "$devdir" && exec "$OLDPWD/$skiff" dev --port-forward) 2> >(tee "$devlog" >&2) &
dev=$!
stop_dev() { kill -INT "$dev" 2>/dev/null || true; wait "$dev" 2>/dev/null || true; }
trap stop_dev EXIT
# wait_log PATTERN: wait until skiff dev (or debug) prints PATTERN (a grep -E
# regexp) in $devlog.
wait_log() {
	for _ in $(seq 600); do
		grep -Eq "$1" "$devlog" && return 0
		kill -0 "$dev" 2>/dev/null || { echo "skiff dev ended before printing '$1'" >&2; exit 1; }
		sleep 0.5
	done
	echo "skiff dev did not print '$1' within 5 minutes" >&2
	exit 1
}
wait_log 'Watching for changes'
url=$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$devlog" | head -n1)
curl -fsS "$url/" | grep h1
curl -fsS "$url/version"

step "Edit kodata/index.html: skiff dev syncs it into both replicas (no tar in the image: skiff-agent)"
sed -i 's#<h1>.*</h1>#<h1>Edited while skiff dev runs</h1>#' "$devdir/kodata/index.html"
wait_log '^Synced '
curl -fsS "$url/" | grep h1

step "Edit main.go: skiff dev builds the executable and swaps it into the running pods (the same pods, no new image)"
sed -i 's/const version = "v1"/const version = "v2"/' "$devdir/main.go"
wait_log '^Hot-swapped '
curl -fsS "$url/version"

step "Ctrl-C: skiff dev deletes what it deployed"
stop_dev
rm -rf "$devdir" "$devlog"

step "skiff debug on examples/buildpacks-node (the seed's Node app): the app under the inspector, its port forwarded, how to attach"
devlog=$(mktemp)
(cd examples/buildpacks-node && exec "../../$skiff" debug) 2> >(tee "$devlog" >&2) &
dev=$!
wait_log 'chrome://inspect'
inspector=$(grep -o 'add 127\.0\.0\.1:[0-9]*' "$devlog" | head -n1 | cut -d' ' -f2)
step "The inspector answers through skiff's forward ($inspector): what chrome://inspect reads"
curl -fsS "http://$inspector/json/version"; echo

step "Ctrl-C: skiff debug deletes what it deployed"
stop_dev
trap - EXIT
rm -f "$devlog"

cat <<'MSG'

examples/hello is running on the local cluster (kube context skiff-local):
  KUBECONFIG=/var/lib/skiff-localkube/kubeconfig kubectl get pods -l app=hello
  (cd examples/hello && ../../bin/skiff run --tail --port-forward)   # logs + forward
  (cd examples/hello && ../../bin/skiff delete)                        # remove it
The cluster stays up: `make cluster-down` stops it.
MSG
