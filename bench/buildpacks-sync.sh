#!/usr/bin/env bash
# bench/buildpacks-sync.sh: edit-to-new-output latency of `skiff dev` on a
# buildpacks image (issue 14), on the local cluster, and prints the
# "## buildpacks dev mode: edit to new output (issue 14)" section for
# bench/RESULTS.md. A copy of examples/buildpacks-sync (a Go app that logs
# its message every second) in a fresh namespace, built by skiff's offline
# builder (make builder), two sessions one after the other:
#   - sync: sync.auto (the default), so the image is built in development
#     mode and the Go buildpack's rule **/*.go -> /workspace syncs main.go;
#     skiff-watch rebuilds and restarts the app in the container. EDITS
#     times: write main.go with a unique message (the clock starts just
#     before the write) and wait until `skiff dev --tail` logs it. Next to
#     it the medians of skiff's "Synced 1 file to 1 pod in X" and of
#     skiff-watch's "rebuilt in X" (go build in the container).
#   - rebuild: sync.auto: false, so every edit is a full buildpacks
#     rebuild (production mode, as skiff build) and redeploy of the Pod;
#     the same edits, clocked the same way, and skiff's "Rebuilt ... in X,
#     redeployed in Y".
# The first build of each session is not timed (the lifecycle's cache
# volumes are warm from earlier runs, or filled by it). Logs are polled
# every 20 ms (lib.sh's wait_log).
# Needs the cluster (hack/cluster.sh up), the builder (make builder),
# bin/skiff and bin/skiff-agent (make build).
# Usage: bench/buildpacks-sync.sh [EDITS]   (EDITS defaults to 10)
set -euo pipefail

edits=${1:-${EDITS:-10}}
repo=$(cd "$(dirname "$0")/.." && pwd)
skiff=$repo/bin/skiff
eval "$("$repo/hack/cluster.sh" env)"
export KUBECONFIG
if [ ! -x "$skiff" ] || [ ! -x "$repo/bin/skiff-agent" ]; then (cd "$repo" && make build >/dev/null); fi
# shellcheck source=bench/lib.sh
. "$repo/bench/lib.sh"
kubectl=$(find_kubectl)

work=$(mktemp -d)
ns=skiff-bench-bp-$$
tool=skiff
pid=
cleanup() {
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill -INT "$pid"
		wait "$pid" || true
	fi
	"$kubectl" delete namespace "$ns" --wait=false >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT
"$kubectl" create namespace "$ns" >/dev/null

# session MODE writes the copy's skaffold.yaml (MODE sync or rebuild),
# starts skiff dev and waits for the first log line.
session() {
	local mode=$1 sync=""
	app=$work/$mode
	rm -rf "$app"
	cp -r "$repo/examples/buildpacks-sync" "$app"
	[ "$mode" = rebuild ] && sync=$'\n    sync:\n      auto: false'
	cat >"$app/skaffold.yaml" <<YAML
apiVersion: skaffold/v4beta14
kind: Config
build:
  tagPolicy: {inputDigest: {}}
  artifacts:
  - image: skiff-bench/bp-sync
    buildpacks:
      builder: $SKIFF_LOCAL_REGISTRY/skiff/builder${sync}
manifests:
  rawYaml: [k8s-pod.yaml]
deploy:
  kubectl: {}
YAML
	sed -i 's/image: example-file-sync/image: skiff-bench\/bp-sync/' "$app/k8s-pod.yaml"
	log=$work/$mode.log
	(cd "$app" && SKIFF_AGENT=$repo/bin/skiff-agent exec "$skiff" dev --tail -n "$ns" >"$log" 2>&1) &
	pid=$!
	wait_log 'Hello world!' 0 600
}

# edit N writes main.go logging "Hello moon N!" and prints the seconds
# until the logs say it.
edit() {
	local start end
	start=$(now)
	sed "s/Hello world!/Hello moon $1!/" "$repo/examples/buildpacks-sync/main.go" >"$app/main.go"
	wait_log "Hello moon $1!" 0 300
	end=$(now)
	elapsed "$start" "$end"
}

stop() {
	kill -INT "$pid"
	wait "$pid" || true
	pid=
}

session sync
sync_times=()
for i in $(seq "$edits"); do
	sync_times+=("$(edit "$i")")
	sleep 1
done
synced=$(grep -oE 'Synced 1 file to 1 pod in [0-9.]+(ms|s)' "$log" | awk '{ v = $NF; if (v ~ /ms$/) { sub(/ms/, "", v); v /= 1000 } else sub(/s/, "", v); print v }' | median)
rebuilt=$(grep -oE 'skiff-watch: rebuilt in [0-9.]+(ms|s)' "$log" | awk '{ v = $NF; if (v ~ /ms$/) { sub(/ms/, "", v); v /= 1000 } else sub(/s/, "", v); print v }' | median)
builds=$(grep -c 'Building \[' "$log" || true)
stop

session rebuild
rebuild_times=()
for i in $(seq "$edits"); do
	rebuild_times+=("$(edit "$((i + 100))")")
	sleep 1
done
rebuild_line=$(grep -oE 'Rebuilt [^ ]+ in [^,]+, redeployed in .*' "$log" | tail -n 3 | tr '\n' ';')
stop

cat <<MD
## buildpacks dev mode: edit to new output (issue 14)

\`bench/buildpacks-sync.sh $edits\`, $(date -u +%F), $(nproc) cores, the local
cluster (hack/cluster.sh) and skiff's offline builder (make builder).
examples/buildpacks-sync (a Go app logging its message every second) as a
Pod; each edit rewrites main.go with a new message, clocked from just
before the write until \`skiff dev --tail\` logs the new message.

| the same edit of main.go | median of $edits | |
| --- | ---: | --- |
| sync.auto: synced, rebuilt and restarted in the container by skiff-watch | $(med "${sync_times[@]}") s | skiff's "Synced 1 file": ${synced} s; skiff-watch's go build: ${rebuilt} s; image builds after the first: $((builds - 1)) |
| full buildpacks rebuild (production mode) and redeploy | $(med "${rebuild_times[@]}") s | last 3: ${rebuild_line} |

All times, sync: ${sync_times[*]}
All times, rebuild: ${rebuild_times[*]}
MD
