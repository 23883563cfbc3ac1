#!/usr/bin/env bash
# bench/dev-vs-skaffold.sh: `skiff dev` next to Skaffold's own `skaffold dev`
# (v2.16.1) on the same project and the local cluster, and writes the
# "## skiff dev vs skaffold dev (issue 6)" section of bench/RESULTS.md (or
# of $RESULTS).
#
# The project, generated here (one fresh copy per tool and run): a docker
# artifact whose Dockerfile is FROM a busybox image (the host's static
# busybox in a scratch image, built here into the Docker daemon as in
# test/e2e's dockerBuildBase: it has tar, which Skaffold needs to sync),
# COPY a static Go file server (serving /srv on :8080, as
# test/e2e/testdata/dev/server), COPY www /srv, and COPY meta/version
# /srv/version. One sync rule, manual: src "www/**", dest /srv, strip
# "www/"; meta/ is outside it, so a meta/version edit rebuilds. A rawYaml
# Deployment "web" (replicas 1, readinessProbe httpGet / every second),
# kubectl deployer, build.local.push: true (useBuildkit: false), tagPolicy
# inputDigest, and a portForward of deployment/web port 8080 to a free
# local port, through each tool's own forward (skiff dev
# --port-forward=user, skaffold dev --port-forward=user). Images go to the
# cluster's loopback registry (--default-repo $SKIFF_LOCAL_REGISTRY, i.e.
# 127.0.0.1:5001). The image name differs per tool and run
# (skiff-bench-vs-TOOL-PID), so that neither finds the other's image.
# Each tool runs in its own fresh namespace, one after the other, never
# both at once; each starts with a cold build cache (skiff: a fresh
# --cache-file; Skaffold: a fresh HOME), both with their default watcher
# (notify) and debounce.
#
# Measured for each tool, one edit at a time (the next one starts once the
# tool has printed the end of the previous one: skiff's "Synced"/"Rebuilt"
# line, Skaffold's "Watching for changes..."):
#   - startup: launch to "Watching for changes..." and to the first answer
#     through the forward;
#   - sync: EDITS times, a unique marker written into www/index.html (the
#     clock starts just before the write), polled on
#     http://127.0.0.1:PORT/index.html every 10 ms until it is served;
#   - new file: DELETE_EDITS times, www/del-N.txt created, until served;
#   - deletion: then that file deleted, until the server answers 404, up to
#     10 s (after two deletions that never arrive, the rest are skipped and
#     the table says so);
#   - rebuild: REBUILD_EDITS times, meta/version changed (outside the sync
#     rule), until /version answers it: build, push, deploy, rollout,
#     readiness, and the forward moving to the new pod;
#   - Ctrl-C to exit with cleanup;
#   - FROM scratch (SCRATCH=1, default): a second session on the same
#     project with `FROM scratch` (no tar, no shell), one www/index.html
#     edit, and whether it is served within 15 s. skiff syncs through its
#     skiff-agent init container; Skaffold's sync runs tar in the container,
#     so its error line is recorded.
#
# Skaffold and the network. Skaffold must not reach the internet. What
# v2.16.1 reads (its source in the module cache):
#   - update check: the --update-check flag (cmd/skaffold/app/cmd/cmd.go:
#     `BoolVar(&update.EnableCheck, "update-check", true, ...)`), which, as
#     every flag, can also be set through SKAFFOLD_<FLAG> ("Each flag can
#     also be set with an env variable whose name starts with
#     `SKAFFOLD_`", setFlagsFromEnvVariables), i.e. SKAFFOLD_UPDATE_CHECK;
#     and the config's `update-check` (config.IsUpdateCheckEnabled). Left
#     on, it GETs https://storage.googleapis.com/skaffold/releases/latest/VERSION
#     (pkg/skaffold/update/update.go) before it looks at its own version.
#   - metrics: no environment variable. instrumentation.ShouldExportMetrics
#     is set from the config's `collect-metrics` only
#     (pkg/skaffold/instrumentation/prompt/prompt.go); when that is unset,
#     the "collect anonymized usage data" prompt is shown and
#     `collect-metrics: true` is WRITTEN into the config
#     (DisplayMetricsPrompt -> UpdateGlobalCollectMetrics(configFile, true)),
#     and SetOnlineStatus GETs http://clients3.google.com/generate_204 when
#     it is true. There is no SKAFFOLD_DISABLE_TELEMETRY in v2.16.1.
#   - traces: only when SKAFFOLD_TRACE or OTEL_TRACES_EXPORTER is set
#     (pkg/skaffold/instrumentation/trace.go); both are unset here.
#   - survey: v2.16.1 shows no survey prompt (no command reads it); only the
#     config's `survey.disable-prompt` field, set anyway.
#   - skaffold.env in the working directory is loaded into the environment
#     (setEnvVariablesFromFile); the generated project has none.
# So Skaffold runs with HOME=$work/home (its ~/.skaffold, cache and docker
# config are private), --config FILE holding `update-check: false`,
# `collect-metrics: false` and `survey: {disable-prompt: true}` globally,
# --update-check=false and SKAFFOLD_UPDATE_CHECK=false, --interactive=false
# (no prompts at all), SKAFFOLD_TRACE and OTEL_TRACES_EXPORTER unset. The
# busybox base is tagged in the loopback registry's name
# ($SKIFF_LOCAL_REGISTRY/skiff-bench-busybox) and pushed there, so that a
# base-image lookup that misses the daemon (Skaffold looks in the daemon
# first, pkg/skaffold/docker/parse.go retrieveImage) stays on loopback.
# Skaffold runs `kubectl` from PATH (apply, port-forward, exec for sync):
# its PATH is ONLY a directory holding a `kubectl` link to the real kubectl
# (find_kubectl in lib.sh; /usr/bin/kubectl's wrapper makes DNS lookups,
# see /work/shared/localkube.md) and a `docker` link (Skaffold runs
# `docker context inspect`, which reads the private ~/.docker). This matters: with
# /usr/bin on it, Skaffold finds Debian's google-cloud-sdk
# docker-credential-gcloud and then (pkg/skaffold/gcp/auth.go
# AutoConfigureGCRCredentialHelper, docker/auth.go loadCredentials), at
# every docker build, registers the gcloud helper for the gcr.io
# registries and asks for their credentials: runs
# docker-credential-gcloud (gcloud) six times (~1 s each) and calls
# google.NewEnvAuthenticator, whose metadata.OnGCE probe
# (cloud.google.com/go/compute/metadata testOnGCE) GETs
# http://169.254.169.254 and resolves metadata.google.internal: off
# loopback. Without docker-credential-gcloud on PATH, none of it runs
# (127.0.0.1:5001 is no Google registry). Checked with strace -f -e
# connect,execve on a run: Skaffold and its children connected to
# 127.0.0.1:6443 and /var/run/docker.sock only, and ran only kubectl.
#
# Skaffold binary: $SKAFFOLD if set, else
# $SKAFFOLD_CACHE_DIR/skaffold-v2.16.1 (default /var/cache/skiff-bench),
# built there when missing from the module cache (`go install ...@v2.16.1`
# fails here: the proxy refuses the module's version list, but the module
# itself downloads): go mod download, then go build ./cmd/skaffold in the
# module's directory with GOFLAGS=-mod=mod CGO_ENABLED=0 (~5 min on 2
# cores).
#
# Needs the cluster (hack/cluster.sh up; its env gives KUBECONFIG and
# SKIFF_LOCAL_REGISTRY), bin/skiff and bin/skiff-agent (make build), the
# Docker daemon, curl, go, /bin/busybox (busybox-static).
# Usage: bench/dev-vs-skaffold.sh [EDITS]
#   EDITS (also from the environment) defaults to 20; DELETE_EDITS to
#   EDITS; REBUILD_EDITS to 5; SCRATCH=0 skips the FROM scratch runs;
#   TOOLS="skiff skaffold" (the order they run in); RESULTS defaults to
#   bench/RESULTS.md; LOGDIR=DIR keeps each session's output there.
set -euo pipefail

edits=${1:-${EDITS:-20}}
delete_edits=${DELETE_EDITS:-$edits}
rebuild_edits=${REBUILD_EDITS:-5}
scratch=${SCRATCH:-1}
tools=${TOOLS:-skiff skaffold}
skaffold_version=v2.16.1
repo=$(cd "$(dirname "$0")/.." && pwd)
results=${RESULTS:-$repo/bench/RESULTS.md}
heading="## skiff dev vs skaffold dev (issue 6)"
skiff=$repo/bin/skiff
eval "$("$repo/hack/cluster.sh" env)"
export KUBECONFIG
registry=${SKIFF_LOCAL_REGISTRY:-127.0.0.1:5001}

if [ ! -x "$skiff" ] || [ ! -x "$repo/bin/skiff-agent" ]; then (cd "$repo" && make build >/dev/null); fi

# shellcheck source=bench/lib.sh
. "$repo/bench/lib.sh"
kubectl=$(find_kubectl)

work=$(mktemp -d)
pid=
tool=
log=
namespaces=()
images=()

# stop_tool sends the tool started here one SIGINT (Ctrl-C) and waits for
# it to clean up and exit, up to $1 seconds; then a second SIGINT. It sets
# stopped to the seconds it took.
stop_tool() {
	local t0 end
	t0=$(now)
	end=$((SECONDS + $1))
	kill -INT "$pid" 2>/dev/null || true
	while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$end" ]; do sleep 0.05; done
	if kill -0 "$pid" 2>/dev/null; then
		echo "bench: $tool did not exit within $1 s of Ctrl-C; a second Ctrl-C" >&2
		kill -INT "$pid" 2>/dev/null || true
		end=$((SECONDS + 20))
		while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$end" ]; do sleep 0.05; done
	fi
	wait "$pid" 2>/dev/null || true
	pid=
	stopped=$(elapsed "$t0" "$(now)")
}
cleanup() {
	local rc=$? ns img
	trap - EXIT INT TERM
	if [ -n "$pid" ]; then
		stop_tool 120
	fi
	if [ "$rc" -ne 0 ] && [ -f "$log" ]; then
		echo "bench: failed; the end of $tool's output:" >&2
		tail -n 30 "$log" >&2
	fi
	for ns in "${namespaces[@]}"; do
		"$kubectl" delete namespace "$ns" --wait=false >/dev/null 2>&1 || true
	done
	# The images built here, in the Docker daemon (the registry keeps its
	# copies: it has no cheap delete).
	for img in "${images[@]}"; do
		docker images --format '{{.Repository}}:{{.Tag}}' | grep -F -- "$img" | xargs -r docker rmi -f >/dev/null 2>&1 || true
	done
	rm -rf "$work"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ensure_skaffold sets skaffold to the Skaffold binary, building it when
# missing.
ensure_skaffold() {
	if [ -n "${SKAFFOLD:-}" ]; then
		skaffold=$SKAFFOLD
		[ -x "$skaffold" ] || fail "SKAFFOLD=$SKAFFOLD is not an executable"
		return
	fi
	skaffold=${SKAFFOLD_CACHE_DIR:-/var/cache/skiff-bench}/skaffold-$skaffold_version
	[ -x "$skaffold" ] && return
	echo "bench: building Skaffold $skaffold_version into $skaffold (~5 min)" >&2
	local mod=github.com/GoogleContainerTools/skaffold/v2 dir
	(cd "$work" && GOFLAGS='' go mod download "$mod@$skaffold_version")
	dir=$(go env GOMODCACHE)/github.com/\!google\!container\!tools/skaffold/v2@$skaffold_version
	mkdir -p "$(dirname "$skaffold")"
	(cd "$dir" && GOFLAGS=-mod=mod CGO_ENABLED=0 go build \
		-ldflags "-X $mod/pkg/skaffold/version.version=$skaffold_version" \
		-o "$skaffold.tmp" ./cmd/skaffold)
	mv "$skaffold.tmp" "$skaffold"
}
ensure_skaffold

# Skaffold's private HOME, config, and PATH with the real kubectl.
mkdir -p "$work/home" "$work/kbin"
ln -s "$kubectl" "$work/kbin/kubectl"
# Skaffold also runs `docker context inspect` (local only) to find the
# daemon; without docker it warns and uses the default socket.
if command -v docker >/dev/null; then ln -s "$(command -v docker)" "$work/kbin/docker"; fi
skconfig=$work/skaffold-config.yaml
cat >"$skconfig" <<'YAML'
global:
  update-check: false
  collect-metrics: false
  survey:
    disable-prompt: true
kubeContexts: []
YAML
# skaffold_env is the environment every Skaffold run here gets.
skaffold_env=(env -u SKAFFOLD_TRACE -u OTEL_TRACES_EXPORTER HOME="$work/home" PATH="$work/kbin" SKAFFOLD_UPDATE_CHECK=false)
skaffold_says=$("${skaffold_env[@]}" "$skaffold" version --update-check=false 2>/dev/null || true)

# The busybox base, from the host's static busybox.
busybox=
for b in /bin/busybox /usr/bin/busybox; do [ -x "$b" ] && busybox=$b && break; done
if [ -z "$busybox" ]; then
	apt-get install -y -qq busybox-static >/dev/null
	busybox=/bin/busybox
fi
mkdir -p "$work/base"
cp "$busybox" "$work/base/busybox"
printf '%s\n' 'FROM scratch' 'COPY busybox /bin/busybox' 'RUN ["/bin/busybox", "--install", "-s", "/bin"]' 'ENV PATH=/bin' >"$work/base/Dockerfile"
base=$registry/skiff-bench-busybox:$(sha256sum "$work/base/busybox" | cut -c1-12)
images+=("$base")
docker build -q -t "$base" "$work/base" >/dev/null
docker push -q "$base" >/dev/null

# The static file server.
mkdir -p "$work/server"
cat >"$work/server/main.go" <<'GO'
// Command server serves the files under /srv on port 8080, as they are at
// each request, so that a synced file is served at once.
package main

import (
	"log"
	"net/http"
)

func main() {
	log.Fatal(http.ListenAndServe(":8080", http.FileServer(http.Dir("/srv"))))
}
GO
(cd "$work/server" && GOWORK=off GOFLAGS='' CGO_ENABLED=0 GOOS=linux go build -trimpath -o "$work/server.bin" main.go)

# gen_project DIR IMAGE FROM writes the project into DIR.
gen_project() {
	local dir=$1 image=$2 from=$3
	mkdir -p "$dir/app/www" "$dir/app/meta" "$dir/k8s"
	cp "$work/server.bin" "$dir/app/server"
	printf '<h1>bench v0</h1>\n' >"$dir/app/www/index.html"
	printf 'v0\n' >"$dir/app/meta/version"
	printf '%s\n' "FROM $from" 'COPY server /server' 'COPY www /srv' 'COPY meta/version /srv/version' 'CMD ["/server"]' >"$dir/app/Dockerfile"
	cat >"$dir/skaffold.yaml" <<YAML
apiVersion: skaffold/v4beta13
kind: Config
metadata:
  name: bench
build:
  tagPolicy:
    inputDigest: {}
  local:
    push: true
    useBuildkit: false
  artifacts:
  - image: $image
    context: app
    docker: {}
    sync:
      manual:
      - src: "www/**"
        dest: /srv
        strip: www/
manifests:
  rawYaml:
  - k8s/deployment.yaml
deploy:
  kubectl: {}
portForward:
- resourceType: deployment
  resourceName: web
  port: 8080
  localPort: $(free_port)
YAML
	cat >"$dir/k8s/deployment.yaml" <<YAML
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: $image
        ports: [{containerPort: 8080}]
        readinessProbe:
          httpGet: {path: /, port: 8080}
          periodSeconds: 1
YAML
}

# poll_body polls the URL $1 every 10 ms, up to $3 seconds, until its body
# contains $2; it returns 1 on timeout.
poll_body() {
	local body end
	end=$(awk -v s="$(now)" -v t="$3" 'BEGIN { printf "%.3f", s + t }')
	while :; do
		body=$(curl -sS --max-time 5 "$1" 2>/dev/null || true)
		[[ $body == *"$2"* ]] && return 0
		alive
		awk -v n="$(now)" -v e="$end" 'BEGIN { exit !(n > e) }' && { last=${body:0:200}; return 1; }
		sleep 0.01
	done
}
# poll_mark is poll_body that also notes, in marked, the time (from $4)
# when more than $6 lines of the tool's output match $5 (empty when that
# did not happen before the body was served).
poll_mark() {
	local body end
	marked=
	end=$(awk -v s="$(now)" -v t="$3" 'BEGIN { printf "%.3f", s + t }')
	while :; do
		body=$(curl -sS --max-time 5 "$1" 2>/dev/null || true)
		[[ $body == *"$2"* ]] && return 0
		if [ -z "$marked" ] && [ "$(count "$5")" -gt "$6" ]; then marked=$(elapsed "$4" "$(now)"); fi
		alive
		awk -v n="$(now)" -v e="$end" 'BEGIN { exit !(n > e) }' && { last=${body:0:200}; return 1; }
		sleep 0.01
	done
}
# poll_code polls the URL $1 every 10 ms, up to $3 seconds, until it
# answers the HTTP status $2; it returns 1 on timeout.
poll_code() {
	local code end
	end=$(awk -v s="$(now)" -v t="$3" 'BEGIN { printf "%.3f", s + t }')
	while :; do
		code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$1" 2>/dev/null || true)
		[ "$code" = "$2" ] && return 0
		alive
		awk -v n="$(now)" -v e="$end" 'BEGIN { exit !(n > e) }' && { last=$code; return 1; }
		sleep 0.01
	done
}
wait_body() { poll_body "$@" || fail "$1 did not answer '$2' within $3 s (last answer: $last)"; }

# start_tool NAME DIR starts `NAME dev` in DIR, in a fresh namespace, and
# waits until it watches and the forward serves the first page. It sets
# url, startup_watch, startup_served.
start_tool() {
	local dir=$2 t0 ns
	tool=$1
	ns=skiff-bench-vs-$tool-$$-${#namespaces[@]}
	"$kubectl" create namespace "$ns" >/dev/null
	namespaces+=("$ns")
	until "$kubectl" -n "$ns" get serviceaccount default >/dev/null 2>&1; do sleep 0.1; done
	log=$work/$tool-${#namespaces[@]}.log
	: >"$log"
	echo "bench: $tool dev -n $ns in $dir" >&2
	t0=$(now)
	case $tool in
	skiff)
		(cd "$dir" && exec "$skiff" dev -n "$ns" -d "$registry" --port-forward=user --cache-file "$work/skiff-cache-${#namespaces[@]}") </dev/null >"$log" 2>&1 &
		;;
	skaffold)
		(cd "$dir" && exec "${skaffold_env[@]}" "$skaffold" dev -n "$ns" --default-repo "$registry" --insecure-registry "$registry" \
			--port-forward=user --config "$skconfig" --update-check=false --interactive=false) </dev/null >"$log" 2>&1 &
		;;
	*) fail "unknown tool $tool" ;;
	esac
	pid=$!
	wait_log '^Watching for changes\.\.\.' 0 300
	startup_watch=$(elapsed "$t0" "$(now)")
	wait_log '^Port forwarding deployment/web ' 0 60
	url=$(grep -m1 '^Port forwarding deployment/web ' "$log" | sed -n 's|.* -> \(http://127\.0\.0\.1:[0-9]*\).*|\1|p')
	[ -n "$url" ] || fail "no http://127.0.0.1:PORT in $tool's port-forward line: $(grep -m1 '^Port forwarding' "$log")"
	wait_body "$url/" "bench v0" 60
	startup_served=$(elapsed "$t0" "$(now)")
	echo "bench: $tool serving at $url; watching after $startup_watch s, served after $startup_served s" >&2
}

# The line each tool prints when it is done with a sync, or a rebuild.
done_sync() { case $tool in skiff) echo '^Synced ' ;; skaffold) echo '^Watching for changes\.\.\.' ;; esac; }
done_rebuild() { case $tool in skiff) echo '^(Rebuilt |Build of )' ;; skaffold) echo '^Watching for changes\.\.\.' ;; esac; }
rebuilt_re() { case $tool in skiff) echo '^Rebuilt ' ;; skaffold) echo '^Starting deploy' ;; esac; }
# settle waits until the tool printed more than $2 lines matching $1 (up to
# 20 s, not failing: a deletion may print nothing), then 0.3 s more.
settle() {
	local end=$((SECONDS + 20))
	while [ "$(count "$1")" -le "$2" ] && [ "$SECONDS" -lt "$end" ]; do alive; sleep 0.02; done
	sleep 0.3
}

# bench_tool NAME measures one tool on the busybox project; it sets the
# arrays r_<what>_<NAME> and scalars through declare -g.
bench_tool() {
	local t=$1 dir=$work/$1-busybox image=skiff-bench-vs-$1-$$ i n marker t0 rb0 misses=0 reached=0 tried=0
	local sync=() created=() deleted=() rebuild=() rdone=()
	images+=("$registry/$image")
	gen_project "$dir" "$image" "$base"
	start_tool "$t" "$dir"
	declare -g "startw_$t=$startup_watch" "starts_$t=$startup_served"
	rb0=$(count "$(rebuilt_re)")

	for i in $(seq "$edits"); do
		marker="bench-$t-$$-$i"
		n=$(count "$(done_sync)")
		t0=$(now)
		printf '<h1>bench v0</h1>\n<p>%s</p>\n' "$marker" >"$dir/app/www/index.html"
		wait_body "$url/" "$marker" 60
		sync+=("$(elapsed "$t0" "$(now)")")
		settle "$(done_sync)" "$n"
		echo "bench: $t sync $i of $edits: served in ${sync[-1]} s" >&2
	done

	for i in $(seq "$delete_edits"); do
		marker="bench-del-$t-$$-$i"
		n=$(count "$(done_sync)")
		t0=$(now)
		printf '%s\n' "$marker" >"$dir/app/www/del-$i.txt"
		wait_body "$url/del-$i.txt" "$marker" 60
		created+=("$(elapsed "$t0" "$(now)")")
		settle "$(done_sync)" "$n"
		if [ "$misses" -ge 2 ]; then
			# Deletions do not arrive: keep timing the new files only.
			rm -f "$dir/app/www/del-$i.txt"
			sleep 1.5
			echo "bench: $t new file $i of $delete_edits: served in ${created[-1]} s (deletion not timed)" >&2
			continue
		fi
		n=$(count "$(done_sync)")
		tried=$((tried + 1))
		t0=$(now)
		rm "$dir/app/www/del-$i.txt"
		if poll_code "$url/del-$i.txt" 404 10; then
			deleted+=("$(elapsed "$t0" "$(now)")")
			reached=$((reached + 1))
			misses=0
			settle "$(done_sync)" "$n"
			echo "bench: $t new file $i of $delete_edits: served in ${created[-1]} s; deleted, 404 in ${deleted[-1]} s" >&2
		else
			misses=$((misses + 1))
			echo "bench: $t new file $i of $delete_edits: served in ${created[-1]} s; deletion NOT served within 10 s (last status $last)" >&2
		fi
	done
	declare -g "delreached_$t=$reached" "deltried_$t=$tried"
	[ "$(count "$(rebuilt_re)")" -eq "$rb0" ] || echo "bench: WARNING: $t rebuilt during the www edits" >&2
	declare -g "syncrebuilds_$t=$(($(count "$(rebuilt_re)") - rb0))"

	for i in $(seq "$rebuild_edits"); do
		marker="bench-ver-$t-$$-$i"
		n=$(count "$(done_rebuild)")
		t0=$(now)
		printf '%s\n' "$marker" >"$dir/app/meta/version"
		poll_mark "$url/version" "$marker" 180 "$t0" "$(done_rebuild)" "$n" || fail "$url/version did not answer '$marker' within 180 s (last answer: $last)"
		rebuild+=("$(elapsed "$t0" "$(now)")")
		wait_log "$(done_rebuild)" "$n" 120
		rdone+=("${marked:-$(elapsed "$t0" "$(now)")}")
		echo "bench: $t rebuild $i of $rebuild_edits: served in ${rebuild[-1]} s; its done line after ${rdone[-1]} s" >&2
		# The next edit starts once the old pod is gone.
		local end=$((SECONDS + 120))
		while [ "$("$kubectl" -n "${namespaces[-1]}" get pods --no-headers 2>/dev/null | wc -l)" -gt 1 ]; do
			[ "$SECONDS" -lt "$end" ] || fail "the old pod did not go away within 120 s"
			sleep 0.2
		done
	done
	declare -g "warns_$t=$(grep -ciE '^(WARN|.*level=warn)' "$log" || true)"
	stop_tool 120
	declare -g "stop_$t=$stopped"
	[ -z "${LOGDIR:-}" ] || { mkdir -p "$LOGDIR" && cp "$log" "$LOGDIR/$t-busybox.log"; }
	declare -ga "sync_$t=(${sync[*]})" "created_$t=(${created[*]})" "deleted_$t=(${deleted[*]})" "rebuild_$t=(${rebuild[*]})" "rdone_$t=(${rdone[*]})"
}

# scratch_tool NAME: FROM scratch, one www/index.html edit, served within
# 15 s or not; sets scratch_<NAME> to what happened.
scratch_tool() {
	local t=$1 dir=$work/$1-scratch image=skiff-bench-vs-$1-scratch-$$ t0 marker=bench-scratch-$1-$$ what line
	images+=("$registry/$image")
	gen_project "$dir" "$image" scratch
	start_tool "$t" "$dir"
	sleep 1
	t0=$(now)
	printf '<h1>bench v0</h1>\n<p>%s</p>\n' "$marker" >"$dir/app/www/index.html"
	if poll_body "$url/" "$marker" 15; then
		what="served in $(elapsed "$t0" "$(now)") s"
	else
		what="not served within 15 s"
	fi
	sleep 1
	# The first error line, shortened: Skaffold's is a logrus line holding
	# the kubectl command and its stderr.
	line=$(grep -iE 'sync error|sync.*failed|failed.*sync|error' "$log" | head -n1 || true)
	if [ -n "$line" ]; then
		local short
		short=$(grep -o 'Skipping deploy due to sync error:[^]]*]' <<<"$line" | head -n1 || true)
		if [ -n "$short" ]; then
			# shellcheck disable=SC2016,SC1003 # a literal $PATH; tr deletes backslashes
			short="$short: $(grep -o 'exec: [^:]*: executable file not found in \$PATH' <<<"$line" | head -n1 | tr -d '\\')"
			line=$short
		fi
		what="$what; its error line: \`${line:0:400}\`"
	fi
	what="$what; sync lines: $(count '^(Synced |Syncing )')"
	local synced
	synced=$(grep -E '^(Synced |Syncing )' "$log" | tail -n1 | sed -E 's/(@sha256:[0-9a-f]{12})[0-9a-f]*/\1.../; s/(:[0-9a-f]{12})[0-9a-f]{52}/\1.../' || true)
	[ -z "$synced" ] || what="$what, the last: \`$synced\`"
	echo "bench: $t FROM scratch: $what" >&2
	stop_tool 120
	[ -z "${LOGDIR:-}" ] || { mkdir -p "$LOGDIR" && cp "$log" "$LOGDIR/$t-scratch.log"; }
	declare -g "scratch_$t=$what"
}

load=$(cut -d' ' -f1-3 /proc/loadavg)
for t in $tools; do
	bench_tool "$t"
done
if [ "$scratch" = 1 ]; then
	for t in $tools; do
		scratch_tool "$t"
	done
fi
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

# cell prints the median of array $1 with " s", or what is known.
cell() {
	local -n a=$1
	if [ "${#a[@]}" -eq 0 ]; then echo "-"; else echo "$(med "${a[@]}") s"; fi
}
row() { # row LABEL ARRAYPREFIX COUNT
	local line="| $1 |" t
	for t in $tools; do line="$line $(cell "$2_$t") |"; done
	echo "$line $3 |"
}
delrow() {
	local line="| www/del-N.txt deleted, 404 served (deletion synced), within 10 s |" t r n
	for t in $tools; do
		r=delreached_$t n=deltried_$t
		local -n d=deleted_$t
		if [ "${!r}" -eq 0 ]; then
			line="$line never (0 of ${!n}) |"
		else
			line="$line $(med "${d[@]}") s (${!r} of ${!n}) |"
		fi
	done
	echo "$line $delete_edits |"
}
srow() { # srow LABEL VARPREFIX
	local line="| $1 |" t v
	for t in $tools; do v=$2_$t; line="$line ${!v} s |"; done
	echo "$line 1 |"
}
hdr="| what |" sep="|---|"
for t in $tools; do hdr="$hdr $t dev |" sep="$sep---|"; done
hdr="$hdr edits |" sep="$sep---|"
raw=
for t in $tools; do
	declare -n s=sync_$t c=created_$t d=deleted_$t r=rebuild_$t e=rdone_$t
	raw="$raw
- $t: sync ${s[*]}; new file ${c[*]}; deletion ${d[*]:-none}; rebuild ${r[*]}; rebuild until the end line ${e[*]}."
	unset -n s c d r e
done
behaviors=
for t in $tools; do
	r=delreached_$t n=deltried_$t w=warns_$t sr=syncrebuilds_$t
	behaviors="$behaviors
- $t: deletions reached the container (404 within 10 s) ${!r} of ${!n} times; rebuilds during the www edits: ${!sr}; warning lines: ${!w}."
done
if [ "$scratch" = 1 ]; then
	for t in $tools; do
		v=scratch_$t
		behaviors="$behaviors
- $t, FROM scratch (no tar), one www/index.html edit: ${!v}."
	done
fi
cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
mem=$(awk '/^MemTotal:/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)
skaffold_line="Skaffold $skaffold_version, built from the module source ($(basename "$skaffold"); \`skaffold version\` says \"${skaffold_says:-}\")"
section=$(
	cat <<MD
$heading

$(date -u +%Y-%m-%d), $(nproc) cores ($cpu), $mem, $(go version | cut -d' ' -f3);
the local cluster (hack/cluster.sh); load average $load at the start,
$load_end at the end. $skaffold_line.
\`bench/dev-vs-skaffold.sh\` (EDITS=$edits DELETE_EDITS=$delete_edits REBUILD_EDITS=$rebuild_edits):
the same generated project for both tools, one after the other, each in a
fresh namespace with a cold build cache: a docker artifact FROM a busybox
image (has tar) with a static Go file server, COPY www /srv, manual sync
rule www/** -> /srv, one replica with a 1 s readiness probe, inputDigest
tags, pushed to the loopback registry, the port forwarded by the tool
itself (--port-forward=user, deployment/web). Each tool with its default
watcher (skiff: notify, 20 ms debounce; Skaffold: notify, whose quiet
time is --watch-poll-interval, 1000 ms). Edit-to-served: from just before the edit until an
HTTP poll (every 10 ms, 127.0.0.1 through the tool's forward) answers the
change; one edit at a time.

$hdr
$sep
$(srow 'startup: launch to "Watching for changes..."' startw)
$(srow "startup: launch to the first page served" starts)
$(row "www/index.html edit, served (sync)" sync "$edits")
$(row "new www/del-N.txt, served (sync)" created "$delete_edits")
$(delrow)
$(row "meta/version edit (outside the sync rule), /version served (rebuild, push, deploy, rollout)" rebuild "$rebuild_edits")
$(row 'meta/version edit, until the tool prints its end line (skiff "Rebuilt ...", Skaffold "Watching for changes...")' rdone "$rebuild_edits")
$(srow "Ctrl-C to exit with cleanup" stop)

Skaffold's sync goes through its 1 s watch quiet time, then \`kubectl exec
... tar\` (a deletion: \`kubectl exec ... rm -rf\`); skiff's through its
20 ms debounce and one exec (tar, or skiff-agent where the image has no
tar). On a rebuild Skaffold stops its \`kubectl port-forward\` when the
build ends and starts a new one after the deploy; its "Watching for
changes..." comes about 1 s after the new version is served. Ctrl-C: Skaffold's cleanup runs
\`kubectl delete\` and exits without waiting for the pod to go; skiff's
waits until what it deployed is gone. Skaffold ran with only kubectl and
docker on PATH: with /usr/bin on it, it finds Debian's google-cloud-sdk
docker-credential-gcloud and, at every build, asks gcloud for six gcr.io
registries' credentials (6-7 s a build here, and a GCE metadata probe off
loopback), see the script's header.

Observed:
$behaviors

Raw, in seconds:
$raw
MD
)

printf '%s\n' "$section"
write_section "$results" "$heading" "$section"
