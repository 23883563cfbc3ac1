#!/usr/bin/env bash
# shellcheck disable=SC2154,SC2034 # per-session results: declare -g, names made at run time
# bench/dev-vs-skaffold.sh: `skiff dev` next to Skaffold's own `skaffold dev`
# (v2.16.1) on the same project and the local cluster, in one run, and
# writes the "## skiff dev vs skaffold dev (issue 6)" section of
# bench/RESULTS.md (or of $RESULTS).
#
# The project, generated here (one fresh copy per session), two artifacts:
#   - web: a docker artifact whose Dockerfile is FROM a busybox image (the
#     host's static busybox in a scratch image, built here into the Docker
#     daemon as in test/e2e's dockerBuildBase: it has tar, which Skaffold
#     needs to sync), COPY a static Go file server (serving /srv on :8080,
#     as test/e2e/testdata/dev/server), COPY www /srv, and COPY
#     meta/version /srv/version. One sync rule, manual: src "www/**", dest
#     /srv, strip "www/"; meta/ is outside it, so a meta/version edit
#     rebuilds.
#   - go: a ko artifact (goapp/main.go, an HTTP server answering /version
#     with its `const version`), ko.fromImage the same busybox image in the
#     loopback registry: ko's default bases are on the internet (Skaffold's
#     gcr.io/distroless/static:nonroot; skiff assembles its own locally,
#     Skaffold cannot), so both tools build on the same local base. One
#     sync rule, as examples/sync's: kodata/** to /var/run/ko (skiff hot-
#     swaps only artifacts with sync rules: their development image carries
#     skiff-agent, which supervises the app).
# Rawyaml Deployments "web" and "go", 2 replicas each, readinessProbe
# httpGet every second (PROBES=0: none, so that Kubernetes counts a pod
# ready as soon as its container runs); kubectl deployer, build.local.push: true
# (useBuildkit: false), tagPolicy inputDigest, and portForwards of
# deployment/web and deployment/go port 8080 to free local ports, through
# each tool's own forward (--port-forward=user). Images go to the cluster's
# loopback registry (--default-repo $SKIFF_LOCAL_REGISTRY, i.e.
# 127.0.0.1:5001), named per session, so that no session finds another's
# image. Each session runs in its own fresh namespace, one after the other,
# never two at once; each starts with a cold image build cache (skiff: a
# fresh --cache-file; Skaffold: a fresh HOME) and the same warm Go build
# cache (GOCACHE); both with their default watcher (notify) and debounce.
#
# Sessions: skiff dev (hot swap on, the default), skiff dev
# --hot-swap=false (Go changes, start-up, exit and memory only), skaffold
# dev. Measured in each, one edit at a time (the next one starts once the
# tool has printed the end of the previous one: skiff's "Synced",
# "Hot-swapped" or "Rebuilt" line, Skaffold's "Watching for changes..."):
#   - startup: launch to "Watching for changes..." and to the first answer
#     of both deployments through the forwards;
#   - sync: EDITS times, a unique marker written into www/index.html (the
#     clock starts just before the write), polled on
#     http://127.0.0.1:PORT/index.html every 5 ms until it is served, and
#     until the tool prints its end line (both replicas synced; the
#     poller reads the tool's output at each poll);
#   - the poller (every wait for an answer): bench/poll.py, one python3
#     process per wait that opens a new TCP connection per poll (so the
#     forward may reach either replica) every 5 ms; for the sync, new-file
#     and deletion edits it makes the edit itself once running, its clock
#     starting just before the edit. (Until issue 16 it was a new curl
#     process every 5 ms, with the shell's helpers: some 8 forks per poll,
#     which on the loaded 2-core machine made a poll take 10-20 ms, added
#     that much to every figure of both tools, and loaded the machine
#     the tools ran on.)
#   - new file: DELETE_EDITS times, www/del-N.txt created, until served;
#   - deletion: then that file deleted, until the server answers 404, up to
#     10 s (after two deletions that never arrive, the rest are skipped and
#     the table says so);
#   - rebuild: REBUILD_EDITS times, meta/version changed (outside the sync
#     rule), until /version answers it: build, push, deploy, rollout,
#     readiness, and the forward moving to the new pods;
#   - Go change: GO_EDITS times, goapp/main.go's `const version` changed,
#     until /version of the go deployment answers it through the forward
#     (skiff: a hot swap, or with --hot-swap=false a ko rebuild and
#     rollout; Skaffold: its ko rebuild and redeploy); poll.py makes the
#     edit and watches for the end line, as for syncs (until issue 16 a
#     shell loop ran grep every 5 ms for the end line beside the tool: its
#     forks made the tool's go build 0.4-0.8 s slower); after
#     a rollout the next edit waits until the old pods are gone;
#   - failed requests: during the rebuild and Go change edits a request
#     loop GETs the changing deployment through the forward (every 50 ms,
#     each request up to 10 s) and counts the answers that are not 200;
#   - go build alone: GO_EDITS times, the same const change in a copy of
#     goapp, `go build -trimpath` (as ko builds it, CGO_ENABLED=0, warm
#     cache), so that "go build + X" can be judged; and once after each Go
#     change, with a poll running, under the session's load (go_build_now);
#   - peak RSS: VmHWM of the tool's own process (/proc/PID/status; not its
#     children, such as Skaffold's kubectl) just before Ctrl-C, and of its
#     RSS then, RssAnon (its own memory) and RssFile (its executable's
#     pages);
#   - Ctrl-C to exit with cleanup;
#   - `skiff version`, `skaffold version`: median of VERSION_RUNS runs;
#   - FROM scratch (SCRATCH=1, default): a second session on the same
#     project with web `FROM scratch` (no tar, no shell), one
#     www/index.html edit, and whether it is served within 15 s. skiff
#     syncs through skiff-agent; Skaffold's sync runs tar in the container,
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
# Skaffold's ko builder runs `go` (list, build): its PATH also has a `go`
# link, and GOCACHE, GOMODCACHE, GOPROXY=off, GOTOOLCHAIN=local, GOFLAGS=
# are set for it (its HOME is private, so Go's own defaults would point
# there).
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
# SKIFF_LOCAL_REGISTRY), bin/skiff and bin/skiff-agent (make build; or
# SKIFF), the Docker daemon, curl, go, python3, /bin/busybox
# (busybox-static).
# Usage: bench/dev-vs-skaffold.sh [EDITS]
#   EDITS (also from the environment) defaults to 20; DELETE_EDITS and
#   GO_EDITS to EDITS; REBUILD_EDITS to 5; VERSION_RUNS to 20; SCRATCH=0
#   skips the FROM scratch runs; TOOLS="skiff skaffold" (the order they
#   run in; skiff's --hot-swap=false session follows skiff's); PROBES=0
#   generates the Deployments without readiness probes; RESULTS
#   defaults to bench/RESULTS.md; LOGDIR=DIR keeps each session's output
#   there.
set -euo pipefail

edits=${1:-${EDITS:-20}}
delete_edits=${DELETE_EDITS:-$edits}
go_edits=${GO_EDITS:-$edits}
rebuild_edits=${REBUILD_EDITS:-5}
version_runs=${VERSION_RUNS:-20}
scratch=${SCRATCH:-1}
probes=${PROBES:-1}
tools=${TOOLS:-skiff skaffold}
skaffold_version=v2.16.1
repo=$(cd "$(dirname "$0")/.." && pwd)
results=${RESULTS:-$repo/bench/RESULTS.md}
heading="## skiff dev vs skaffold dev (issue 6)"
if [ -z "${SKIFF:-}" ] && { [ ! -x "$repo/bin/skiff" ] || [ ! -x "$repo/bin/skiff-agent" ]; }; then
	(cd "$repo" && make build >/dev/null)
fi

# shellcheck source=bench/lib.sh
. "$repo/bench/lib.sh"
bench_init
registry=${SKIFF_LOCAL_REGISTRY:-127.0.0.1:5001}

tool=
log=
images=()
loop_pid=

# stop_tool sends the tool started here one SIGINT (Ctrl-C) and waits for
# it to clean up and exit, up to $1 seconds; then a second SIGINT. It sets
# stopped to the seconds it took.
stop_tool() {
	local t0 end
	t0=$(now)
	end=$((SECONDS + $1))
	kill -INT "$pid" 2>/dev/null || true
	while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$end" ]; do sleep 0.01; done
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
# on_cleanup (run by bench_cleanup) stops the request loop and the tool,
# and removes the images built here from the Docker daemon (the registry
# keeps its copies: it has no cheap delete).
on_cleanup() {
	local img
	if [ -n "$loop_pid" ]; then kill "$loop_pid" 2>/dev/null || true; wait "$loop_pid" 2>/dev/null || true; fi
	if [ -n "$pid" ]; then stop_tool 120; fi
	for img in "${images[@]}"; do
		docker images --format '{{.Repository}}:{{.Tag}}' | grep -F -- "$img" | xargs -r docker rmi -f >/dev/null 2>&1 || true
	done
}

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
skaffold=
if [[ " $tools " == *" skaffold "* ]]; then ensure_skaffold; fi

# Skaffold's private HOME, config, and PATH with the real kubectl.
mkdir -p "$work/home" "$work/kbin"
ln -s "$kubectl" "$work/kbin/kubectl"
# Skaffold also runs `docker context inspect` (local only) to find the
# daemon; without docker it warns and uses the default socket.
if command -v docker >/dev/null; then ln -s "$(command -v docker)" "$work/kbin/docker"; fi
ln -s "$(command -v go)" "$work/kbin/go"
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
skaffold_env=(env -u SKAFFOLD_TRACE -u OTEL_TRACES_EXPORTER HOME="$work/home" PATH="$work/kbin" SKAFFOLD_UPDATE_CHECK=false
	GOCACHE="$(go env GOCACHE)" GOMODCACHE="$(go env GOMODCACHE)" GOPROXY=off GOTOOLCHAIN=local GOFLAGS=)
skaffold_says=
[ -z "$skaffold" ] || skaffold_says=$("${skaffold_env[@]}" "$skaffold" version --update-check=false 2>/dev/null || true)

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

# The ko artifact's source: its version is the const that a Go change
# edits.
goversion='const version = "v0"'
gomain=$(
	cat <<GO
// Command goapp answers /version with its version, on port 8080.
package main

import (
	"fmt"
	"log"
	"net/http"
)

$goversion

func main() {
	http.HandleFunc("/version", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, version) })
	log.Fatal(http.ListenAndServe(":8080", nil))
}
GO
)
gomod=$(printf 'module bench.local/goapp\n\ngo 1.22\n')

# gen_project DIR NAME FROM writes the project into DIR: its images are
# NAME-web and NAME-go, web's Dockerfile is FROM FROM.
gen_project() {
	local dir=$1 name=$2 from=$3
	mkdir -p "$dir/app/www" "$dir/app/meta" "$dir/goapp/kodata" "$dir/k8s"
	cp "$work/server.bin" "$dir/app/server"
	printf '<h1>bench v0</h1>\n' >"$dir/app/www/index.html"
	printf 'v0\n' >"$dir/app/meta/version"
	printf '%s\n' "FROM $from" 'COPY server /server' 'COPY www /srv' 'COPY meta/version /srv/version' 'CMD ["/server"]' >"$dir/app/Dockerfile"
	printf '%s\n' "$gomain" >"$dir/goapp/main.go"
	printf '%s\n' "$gomod" >"$dir/goapp/go.mod"
	printf 'go v0\n' >"$dir/goapp/kodata/index.html"
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
  - image: $name-web
    context: app
    docker: {}
    sync:
      manual:
      - src: "www/**"
        dest: /srv
        strip: www/
  - image: $name-go
    context: goapp
    ko:
      fromImage: $base
      main: .
    sync:
      manual:
      - src: "kodata/**"
        dest: /var/run/ko
        strip: kodata/
manifests:
  rawYaml:
  - k8s/web.yaml
  - k8s/go.yaml
deploy:
  kubectl: {}
portForward:
- resourceType: deployment
  resourceName: web
  port: 8080
  localPort: $(free_port)
- resourceType: deployment
  resourceName: go
  port: 8080
  localPort: $(free_port)
YAML
	local app probe
	for app in web go; do
		probe=/
		[ "$app" = go ] && probe=/version
		cat >"$dir/k8s/$app.yaml" <<YAML
apiVersion: apps/v1
kind: Deployment
metadata:
  name: $app
spec:
  replicas: 2
  selector:
    matchLabels: {app: $app}
  template:
    metadata:
      labels: {app: $app}
    spec:
      containers:
      - name: $app
        image: $name-$app
        ports: [{containerPort: 8080}]
YAML
		if [ "$probes" != 0 ]; then
			cat >>"$dir/k8s/$app.yaml" <<YAML
        readinessProbe:
          httpGet: {path: $probe, port: 8080}
          periodSeconds: 1
YAML
		fi
	done
}

# resolve prints the URL $1, in which fwd:APP stands for the tool's
# current forward of deployment APP: the last "Port forwarding
# deployment/APP" line's (Skaffold moves its forward to another local port
# when the configured one is still taken after a redeploy).
resolve() {
	case $1 in
	fwd:*)
		local app=${1#fwd:} rest u
		rest=/${app#*/} app=${app%%/*}
		u=$(grep "^Port forwarding deployment/$app " "$log" | tail -n1 | sed -n 's|.* -> \(http://127\.0\.0\.1:[0-9]*\).*|\1|p')
		echo "$u$rest"
		;;
	*) echo "$1" ;;
	esac
}
# moves prints how many times the forward of deployment $1 moved to
# another local port.
moves() {
	local n
	n=$(grep "^Port forwarding deployment/$1 " "$log" | sed -n 's|.* -> http://127\.0\.0\.1:\([0-9]*\).*|\1|p' | sort -u | wc -l)
	echo $((n > 0 ? n - 1 : 0))
}

# poll_http ARGS... runs bench/poll.py (see its header) with the tool's
# log (for fwd: URLs) and pid: one python3 process that polls the URL
# every 5 ms, a new TCP connection each, until it answers what ARGS want.
# It sets out to what poll.py printed; on timeout it sets last to the
# last answer and returns 1; it fails the bench when the tool exited.
poll_http() {
	local rc=0
	out=$(python3 "$repo/bench/poll.py" --log "$log" --pid "$pid" "$@") || rc=$?
	case $rc in
	0) return 0 ;;
	1) last=$out && return 1 ;;
	2) fail "$tool exited" ;;
	*) fail "bench/poll.py failed (exit status $rc): $out" ;;
	esac
}
# poll_body polls the URL $1 (fwd:APP/PATH: the tool's current forward of
# deployment APP, see poll.py) up to $3 seconds, until its body contains
# $2; it returns 1 on timeout.
poll_body() { poll_http --body "$2" --timeout "$3" "$1"; }
# poll_code polls the URL $1 up to $3 seconds, until it answers the HTTP
# status $2; it returns 1 on timeout.
poll_code() { poll_http --code "$2" --timeout "$3" "$1"; }
# edit_poll ARGS...: poll.py makes the edit (--write FILE --content TEXT,
# or --remove FILE) itself once it runs, so that its start-up is not
# timed, polls until the answer ARGS want, and watches the tool's output
# for its end line of a sync (more lines matching done_sync than before
# the edit, up to 20 s after the answer); it sets t0 (a value of now:
# just before the edit), took (seconds from t0 to the answer) and
# ended (seconds from t0 to the end line, "-" if none came), to 1 ms.
edit_poll() {
	poll_http --done-re "$(done_sync)" --done-after "$(count "$(done_sync)")" "$@" || return 1
	read -r t0 took ended <<<"$out"
}
wait_body() { poll_body "$@" || fail "$1 did not answer '$2' within $3 s (last answer: $last)"; }

# start_loop URL starts the request loop on URL (resolved at each
# request, so that it follows a forward that moved): a GET every 50 ms (each
# up to 10 s); stop_loop stops it and sets loop_ok and loop_failed (and
# loop_codes, the failed answers' statuses and counts, 000: no answer).
start_loop() {
	rm -f "$work/loop.stop" "$work/loop.out"
	(
		while [ ! -f "$work/loop.stop" ]; do
			curl -s -o /dev/null -w '%{http_code}\n' --max-time 10 "$(resolve "$1")" 2>/dev/null >>"$work/loop.out" || true
			sleep 0.05
		done
	) &
	loop_pid=$!
}
stop_loop() {
	touch "$work/loop.stop"
	wait "$loop_pid" 2>/dev/null || true
	loop_pid=
	loop_ok=$(grep -c '^200$' "$work/loop.out" || true)
	loop_failed=$(grep -vc '^200$' "$work/loop.out" || true)
	loop_codes=$({ grep -v '^200$' "$work/loop.out" || true; } | sort | uniq -c | awk '{ printf "%s%s x%s", (NR > 1 ? ", " : ""), $2, $1 }')
}

# start_tool NAME DIR [FLAG...] starts `NAME dev` in DIR, in a fresh
# namespace, with FLAGs, and waits until it watches and both forwards serve
# their first page. It sets ns, url_web, url_go, startup_watch,
# startup_served.
start_tool() {
	local dir=$2 t0 line
	tool=$1
	ns=skiff-bench-vs-$tool-$$-${#namespaces[@]}
	new_namespace "$ns"
	log=$work/$tool-${#namespaces[@]}.log
	: >"$log"
	echo "bench: $tool dev -n $ns ${*:3} in $dir" >&2
	t0=$(now)
	case $tool in
	skiff)
		(cd "$dir" && exec "$skiff" dev -n "$ns" -d "$registry" --port-forward=user --cache-file "$work/skiff-cache-${#namespaces[@]}" "${@:3}") </dev/null >"$log" 2>&1 &
		;;
	skaffold)
		(cd "$dir" && exec "${skaffold_env[@]}" "$skaffold" dev -n "$ns" --default-repo "$registry" --insecure-registry "$registry" \
			--port-forward=user --config "$skconfig" --update-check=false --interactive=false "${@:3}") </dev/null >"$log" 2>&1 &
		;;
	*) fail "unknown tool $tool" ;;
	esac
	pid=$!
	wait_log '^Watching for changes\.\.\.' 0 600
	startup_watch=$(elapsed "$t0" "$(now)")
	wait_log '^Port forwarding deployment/web ' 0 60
	wait_log '^Port forwarding deployment/go ' 0 60
	for line in web go; do
		local u
		u=$(grep -m1 "^Port forwarding deployment/$line " "$log" | sed -n 's|.* -> \(http://127\.0\.0\.1:[0-9]*\).*|\1|p')
		[ -n "$u" ] || fail "no http://127.0.0.1:PORT in $tool's port-forward line: $(grep -m1 "^Port forwarding deployment/$line" "$log")"
		declare -g "url_$line=$u"
	done
	wait_body "$url_web/" "bench v0" 60
	wait_body "$url_go/version" "v0" 60
	startup_served=$(elapsed "$t0" "$(now)")
	echo "bench: $tool serving at $url_web and $url_go; watching after $startup_watch s, served after $startup_served s" >&2
}

# The line each tool prints when it is done with a sync, a rebuild, or a
# Go change.
done_sync() { case $tool in skiff) echo '^Synced ' ;; skaffold) echo '^Watching for changes\.\.\.' ;; esac; }
done_rebuild() { case $tool in skiff) echo '^(Rebuilt |Build of |Hot-swapped |Hot swap of )' ;; skaffold) echo '^Watching for changes\.\.\.' ;; esac; }
rebuilt_re() { case $tool in skiff) echo '^(Rebuilt |Hot-swapped )' ;; skaffold) echo '^Starting deploy' ;; esac; }

# wait_pods APP waits until the deployment APP has 2 pods again (the old
# ones gone after a rollout), up to 120 s.
wait_pods() {
	local end=$((SECONDS + 120))
	while [ "$("$kubectl" -n "$ns" get pods -l "app=$1" --no-headers 2>/dev/null | wc -l)" -ne 2 ]; do
		[ "$SECONDS" -lt "$end" ] || fail "the old $1 pods did not go away within 120 s"
		sleep 0.2
	done
}

# seconds prints skiff's duration $1 (output.Duration: "250ms", "1.25
# seconds") in seconds.
seconds() {
	case $1 in
	*ms) awk -v v="${1%ms}" 'BEGIN { printf "%.3f", v / 1000 }' ;;
	*" seconds") echo "${1% seconds}" ;;
	*) echo "$1" ;;
	esac
}

# bench_session KEY runs one session: KEY skiff (hot swap on), skiffnohs
# (skiff --hot-swap=false: Go changes only) or skaffold. It sets the
# arrays <what>_KEY and the scalars <what>_KEY through declare -g.
bench_session() {
	local k=$1 t=$1 flags=() dir=$work/$1 i n marker t0 misses=0 reached=0 tried=0 rb0 d line
	local sync=() syncdone=() created=() deleted=() rebuild=() served=() godone=() gobuilt=() swapcost=() gonow=() swapped=0 hung=0 took
	[ "$k" = skiffnohs ] && t=skiff flags=(--hot-swap=false)
	images+=("$registry/skiff-bench-vs-$k-$$")
	gen_project "$dir" "skiff-bench-vs-$k-$$" "$base"
	start_tool "$t" "$dir" "${flags[@]}"
	declare -g "startw_$k=$startup_watch" "starts_$k=$startup_served"
	rb0=$(count "$(rebuilt_re)")

	if [ "$k" != skiffnohs ]; then
		for i in $(seq "$edits"); do
			marker="bench-$k-$$-$i"
			edit_poll --write "$dir/app/www/index.html" --content $'<h1>bench v0</h1>\n<p>'"$marker"$'</p>\n' \
				--body "$marker" --timeout 60 "$url_web/" || fail "$url_web/ did not answer '$marker' within 60 s (last answer: $last)"
			sync+=("$took")
			d=${ended#-}
			[ -z "$d" ] || syncdone+=("$d")
			sleep 0.3
			echo "bench: $k sync $i of $edits: served in ${sync[-1]} s, its end line after ${d:-(none)} s" >&2
		done

		for i in $(seq "$delete_edits"); do
			marker="bench-del-$k-$$-$i"
			edit_poll --write "$dir/app/www/del-$i.txt" --content "$marker"$'\n' \
				--body "$marker" --timeout 60 "$url_web/del-$i.txt" || fail "$url_web/del-$i.txt did not answer '$marker' within 60 s (last answer: $last)"
			created+=("$took")
			sleep 0.3
			if [ "$misses" -ge 2 ]; then
				# Deletions do not arrive: keep timing the new files only.
				rm -f "$dir/app/www/del-$i.txt"
				sleep 1.5
				echo "bench: $k new file $i of $delete_edits: served in ${created[-1]} s (deletion not timed)" >&2
				continue
			fi
			tried=$((tried + 1))
			if edit_poll --remove "$dir/app/www/del-$i.txt" --code 404 --timeout 10 "$url_web/del-$i.txt"; then
				deleted+=("$took")
				reached=$((reached + 1))
				misses=0
				sleep 0.3
				echo "bench: $k new file $i of $delete_edits: served in ${created[-1]} s; deleted, 404 in ${deleted[-1]} s" >&2
			else
				misses=$((misses + 1))
				echo "bench: $k new file $i of $delete_edits: served in ${created[-1]} s; deletion NOT served within 10 s (last status $last)" >&2
			fi
		done
		[ "$(count "$(rebuilt_re)")" -eq "$rb0" ] || echo "bench: WARNING: $k rebuilt during the www edits" >&2
		declare -g "syncrebuilds_$k=$(($(count "$(rebuilt_re)") - rb0))"

		start_loop fwd:web/
		for i in $(seq "$rebuild_edits"); do
			marker="bench-ver-$k-$$-$i"
			n=$(count "$(done_rebuild)")
			t0=$(now)
			printf '%s\n' "$marker" >"$dir/app/meta/version"
			poll_body fwd:web/version "$marker" 180 || fail "$(resolve fwd:web/version) did not answer '$marker' within 180 s (last answer: $last)"
			rebuild+=("$(elapsed "$t0" "$(now)")")
			wait_log "$(done_rebuild)" "$n" 120
			echo "bench: $k rebuild $i of $rebuild_edits: served in ${rebuild[-1]} s" >&2
			# The next edit starts once the old pods are gone.
			wait_pods web
		done
		stop_loop
		declare -g "rbok_$k=$loop_ok" "rbfailed_$k=$loop_failed" "rbcodes_$k=$loop_codes"
		declare -g "delreached_$k=$reached" "deltried_$k=$tried"
	fi

	start_loop fwd:go/version
	for i in $(seq "$go_edits"); do
		marker="gov-$k-$$-$i"
		n=$(count "$(done_rebuild)")
		poll_http --body "$marker" --timeout 180 --write "$dir/goapp/main.go" --content "${gomain/"$goversion"/const version = \"$marker\"}" \
			--done-re "$(done_rebuild)" --done-after "$n" --done-timeout 120 fwd:go/version ||
			fail "$(resolve fwd:go/version) did not answer '$marker' within 180 s (last answer: $last)"
		read -r _ took d <<<"$out"
		served+=("$took")
		wait_log "$(done_rebuild)" "$n" 120
		if [ "$d" != - ]; then
			godone+=("$d")
			if awk -v s="${served[-1]}" -v d="$d" 'BEGIN { exit !(s > d + 1) }'; then hung=$((hung + 1)); fi
		fi
		line=$(grep -E "$(done_rebuild)" "$log" | tail -n1)
		if [[ $line == Hot-swapped* ]]; then
			swapped=$((swapped + 1))
			gobuilt+=("$(seconds "$(sed -n 's/.*(go build \([^)]*\)).*/\1/p' <<<"$line")")")
			took=$(seconds "$(sed -n 's/.* in \(.*\) (go build .*/\1/p' <<<"$line")")
			swapcost+=("$(awk -v a="$took" -v b="${gobuilt[-1]}" 'BEGIN { printf "%.3f", a - b }')")
		fi
		echo "bench: $k Go change $i of $go_edits: served in ${served[-1]} s, its end line after ${d:-(none)} s; ${line:0:120}" >&2
		wait_pods go
		gonow+=("$(go_build_now "now-$k-$$-$i")")
	done
	stop_loop
	declare -g "gook_$k=$loop_ok" "gofailed_$k=$loop_failed" "gocodes_$k=$loop_codes" "swapped_$k=$swapped" "hung_$k=$hung"
	declare -g "moves_$k=$(($(moves web) + $(moves go)))"

	declare -g "hwm_$k=$(awk '$1 == "VmHWM:" { printf "%.0f", $2 / 1024 }' "/proc/$pid/status")"
	# What of the resident memory is the process's own (heap, stacks) and
	# what the executable's pages, shared with the page cache, at the end.
	declare -g "anon_$k=$(awk '$1 == "RssAnon:" { printf "%.0f", $2 / 1024 }' "/proc/$pid/status")"
	declare -g "file_$k=$(awk '$1 == "RssFile:" { printf "%.0f", $2 / 1024 }' "/proc/$pid/status")"
	declare -g "warns_$k=$(grep -ciE '^(WARN|.*level=warn)' "$log" || true)"
	stop_tool 120
	declare -g "stop_$k=$stopped"
	[ -z "${LOGDIR:-}" ] || { mkdir -p "$LOGDIR" && cp "$log" "$LOGDIR/$k.log"; }
	declare -ga "sync_$k=(${sync[*]})" "syncdone_$k=(${syncdone[*]})" "created_$k=(${created[*]})" "deleted_$k=(${deleted[*]})" \
		"rebuild_$k=(${rebuild[*]})" "goserved_$k=(${served[*]})" "godone_$k=(${godone[*]})" "gobuilt_$k=(${gobuilt[*]})" "swapcost_$k=(${swapcost[*]})" "gonow_$k=(${gonow[*]})"
}

# scratch_tool NAME: web FROM scratch, one www/index.html edit, served
# within 15 s or not; sets scratch_<NAME> to what happened.
scratch_tool() {
	local t=$1 dir=$work/$1-scratch name=skiff-bench-vs-$1-scratch-$$ t0 marker=bench-scratch-$1-$$ what line
	images+=("$registry/$name")
	gen_project "$dir" "$name" scratch
	start_tool "$t" "$dir"
	sleep 1
	t0=$(now)
	printf '<h1>bench v0</h1>\n<p>%s</p>\n' "$marker" >"$dir/app/www/index.html"
	if poll_body "$url_web/" "$marker" 15; then
		what="served in $(elapsed_ms "$t0" "$(now)") s"
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

# go_build_alone times GO_EDITS `go build`s of goapp after the same const
# change, as ko builds it; sets gobuild (an array).
go_build_alone() {
	local dir=$work/gobuild i t0
	gobuild=()
	mkdir -p "$dir"
	printf '%s\n' "$gomod" >"$dir/go.mod"
	printf '%s\n' "$gomain" >"$dir/main.go"
	(cd "$dir" && GOWORK=off GOFLAGS='' CGO_ENABLED=0 GOOS=linux go build -trimpath -o "$dir/app" .)
	for i in $(seq "$go_edits"); do
		printf '%s\n' "${gomain/"$goversion"/const version = \"alone-$$-$i\"}" >"$dir/main.go"
		t0=$(now)
		(cd "$dir" && GOWORK=off GOFLAGS='' CGO_ENABLED=0 GOOS=linux go build -trimpath -o "$dir/app" .)
		gobuild+=("$(elapsed_ms "$t0" "$(now)")")
	done
}

# go_build_now TAG times one `go build` as go_build_alone does, after a
# const change to TAG, during a session: after each Go change, with the
# request loop running and a poll of the go deployment running too (for an
# answer that never comes, for 3 s), the load skiff's own go build has.
# On this shared 2-core machine the load of go_build_alone's moment is
# another. It prints the seconds.
go_build_now() {
	local dir=$work/gobuild t0 poll
	printf '%s\n' "${gomain/"$goversion"/const version = \"$1\"}" >"$dir/main.go"
	poll_body fwd:go/version "never-$1" 3 >/dev/null &
	poll=$!
	t0=$(now)
	(cd "$dir" && GOWORK=off GOFLAGS='' CGO_ENABLED=0 GOOS=linux go build -trimpath -o "$dir/app" .)
	elapsed_ms "$t0" "$(now)"
	wait "$poll" 2>/dev/null || true
}

keys=()
for t in $tools; do
	case $t in
	skiff) keys+=(skiff skiffnohs) ;;
	skaffold) keys+=(skaffold) ;;
	*) fail "unknown tool $t in TOOLS" ;;
	esac
done
load=$(cut -d' ' -f1-3 /proc/loadavg)
for t in $tools; do
	case $t in
	skiff) read -r vms_skiff _ < <(ms_runs "$version_runs" "$skiff" version) ;;
	skaffold) read -r vms_skaffold _ < <(ms_runs "$version_runs" "${skaffold_env[@]}" "$skaffold" version --update-check=false) ;;
	esac
done
go_build_alone
echo "bench: go build alone: median $(med "${gobuild[@]}") s" >&2
for k in "${keys[@]}"; do
	bench_session "$k"
done
if [ "$scratch" = 1 ]; then
	for t in $tools; do
		scratch_tool "$t"
	done
fi
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

# The table: one column per session, then Skaffold's figure over skiff's
# (hot swap on) where both have one.
label() { case $1 in skiff) echo "skiff dev" ;; skiffnohs) echo "skiff dev --hot-swap=false" ;; skaffold) echo "skaffold dev" ;; esac; }
# medcell prints the median of the array $1 with " s", or "-".
medcell() {
	local -n a=$1
	if [ "${#a[@]}" -eq 0 ]; then echo "-"; else echo "$(med "${a[@]}") s"; fi
}
# ratio prints $2 / $1 (two cells) as "N.Nx", or "" when either is not a
# number.
ratio() {
	local a=${1%% *} b=${2%% *}
	[[ $a =~ ^[0-9.]+$ && $b =~ ^[0-9.]+$ ]] && awk -v a="$a" -v b="$b" 'BEGIN { if (a > 0) printf "%.1fx", b / a }'
}
# line LABEL COUNT CELL... prints a table line, with the ratio of the
# skaffold cell to the skiff one (none when the caller set noratio).
line() {
	local l="| $1 |" n=$2 i c s='' sk=''
	shift 2
	i=0
	for c in "$@"; do
		l="$l $c |"
		case ${keys[$i]} in skiff) s=$c ;; skaffold) sk=$c ;; esac
		i=$((i + 1))
	done
	if [ -n "${noratio:-}" ]; then s=; fi
	echo "$l $(ratio "$s" "$sk") | $n |"
}
# row LABEL COUNT ARRAYPREFIX: medians; srow LABEL COUNT VARPREFIX UNIT:
# scalars.
row() {
	local cells=() k
	for k in "${keys[@]}"; do cells+=("$(medcell "$3_$k")"); done
	line "$1" "$2" "${cells[@]}"
}
srow() {
	local cells=() k v
	for k in "${keys[@]}"; do
		v=$3_$k
		if [ -n "${!v:-}" ]; then cells+=("${!v}$4"); else cells+=("-"); fi
	done
	line "$1" "$2" "${cells[@]}"
}
delrow() {
	local cells=() k r n
	for k in "${keys[@]}"; do
		r=delreached_$k n=deltried_$k
		if [ -z "${!r:-}" ]; then
			cells+=("-")
		elif [ "${!r}" -eq 0 ]; then
			cells+=("never (0 of ${!n})")
		else
			local -n d=deleted_$k
			cells+=("$(med "${d[@]}") s (${!r} of ${!n})")
			unset -n d
		fi
	done
	line "www/del-N.txt deleted, 404 served (deletion synced), within 10 s" "$delete_edits" "${cells[@]}"
}
failrow() { # failrow LABEL COUNT PREFIX (ok_, failed_ , codes_ as PREFIXok_ ...)
	local cells=() k ok bad codes noratio=1
	for k in "${keys[@]}"; do
		ok=$3ok_$k bad=$3failed_$k codes=$3codes_$k
		if [ -z "${!ok:-}" ]; then cells+=("-"); continue; fi
		if [ "${!bad}" -eq 0 ]; then
			cells+=("0 of $((${!ok} + ${!bad}))")
		else
			cells+=("${!bad} of $((${!ok} + ${!bad})) (${!codes})")
		fi
	done
	line "$1" "$2" "${cells[@]}"
}
hdr="| what |" sep="|---|"
for k in "${keys[@]}"; do hdr="$hdr $(label "$k") |" sep="$sep---|"; done
hdr="$hdr skaffold / skiff | edits |" sep="$sep---|---|"

# Goals (issue 16), judged on the skiff (hot swap) session, and on the
# --hot-swap=false one for rebuilds. "go build + X" is judged against the
# go build of the same change under the same load: skiff's own (the time
# its Hot-swapped line gives), and for --hot-swap=false, whose lines give
# none, the bench's own go build during the session. The session's polls
# (a connection through the forward every 5 ms, to the API server, the
# kubelet and containerd) about double a go build on this 2-core machine,
# so the go build alone before the sessions, on an idle machine, is shown
# but does not judge.
gobuild_med=$(med "${gobuild[@]}")
goal() { # goal TEXT VALUE LIMIT: "met"/"not met"
	if awk -v v="$2" -v l="$3" 'BEGIN { exit !(v < l) }'; then echo "- $1: met"; else echo "- $1: NOT met"; fi
}
goals=
if [[ " ${keys[*]} " == *" skiff "* ]]; then
	hot_over=$(awk -v a="$(med "${goserved_skiff[@]}")" -v b="$gobuild_med" 'BEGIN { printf "%.3f", a - b }')
	now_over=$(awk -v a="$(med "${goserved_skiff[@]}")" -v b="$(med "${gonow_skiff[@]}")" 'BEGIN { printf "%.3f", a - b }')
	own=()
	for i in "${!gobuilt_skiff[@]}"; do own+=("$(awk -v a="${goserved_skiff[$i]}" -v b="${gobuilt_skiff[$i]}" 'BEGIN { printf "%.3f", a - b }')"); done
	# No hot swap at all is judged not met.
	own_med="none (no edit was hot-swapped)" own_judged=99
	[ "${#own[@]}" -eq 0 ] || { own_judged=$(med "${own[@]}") && own_med="$own_judged s"; }
	del_med=99
	[ "${#deleted_skiff[@]}" -eq 0 ] || del_med=$(med "${deleted_skiff[@]}")
	goals="$(goal "sync edit-to-served under 40 ms (1 file, 2 replicas): $(med "${sync_skiff[@]}") s served, $(med "${syncdone_skiff[@]}") s until both replicas are synced" "$(med "${syncdone_skiff[@]}")" 0.040)
$(goal "deletion to 404 under 40 ms: $del_med s" "$del_med" 0.040)
$(goal "Go change served with hot swap in go build + under 0.3 s: $(med "${goserved_skiff[@]}") s served ($(med "${godone_skiff[@]:-0}") s until skiff's end line); served minus skiff's own go build of that change, median over the edits: $own_med (skiff's own figures, its Hot-swapped line's time minus its go build: $(med "${swapcost_skiff[@]:-0}") s); served minus the go build timed during the session: $now_over s; minus the go build alone before the sessions, on an idle machine: $hot_over s; $swapped_skiff of $go_edits edits hot-swapped" "$own_judged" 0.3)
$(goal "0 failed requests through skiff's forward during the rebuilds and Go changes: ${rbfailed_skiff:-?} + ${gofailed_skiff:-?}" "$((${rbfailed_skiff:-1} + ${gofailed_skiff:-1}))" 0.5)
$(goal "Ctrl-C to exit under 1 s: $stop_skiff s" "$stop_skiff" 1)
$(goal "skiff version under 15 ms: $vms_skiff ms" "$vms_skiff" 15)
$(goal "peak RSS under 60 MiB (this session: $((edits + delete_edits * 2)) syncs, $((rebuild_edits + go_edits)) rebuilds and swaps; bench/rss.sh does the 100 edits and 10 rebuilds): $hwm_skiff MiB" "$hwm_skiff" 60)
- start-up under 1.5 s with images cached: not judged here (each session starts with a cold image cache: its start-up builds and pushes both images); see \"Start, exit and the forward (issue 16)\"."
fi
if [[ " ${keys[*]} " == *" skiffnohs "* ]]; then
	cold_over=$(awk -v a="$(med "${goserved_skiffnohs[@]}")" -v b="$gobuild_med" 'BEGIN { printf "%.3f", a - b }')
	cold_now=$(awk -v a="$(med "${goserved_skiffnohs[@]}")" -v b="$(med "${gonow_skiffnohs[@]}")" 'BEGIN { printf "%.3f", a - b }')
	goals="$goals
$(goal "Go change served without hot swap (--hot-swap=false) in go build + under 1.4 s: $(med "${goserved_skiffnohs[@]}") s served ($(med "${godone_skiffnohs[@]:-0}") s until skiff's end line); served minus the go build timed during the session: $cold_now s (minus the go build alone before the sessions: $cold_over s)" "$cold_now" 1.4)
$(goal "0 failed requests through skiff's forward during the --hot-swap=false rollouts: ${gofailed_skiffnohs}" "$gofailed_skiffnohs" 0.5)"
fi

raw=
for k in "${keys[@]}"; do
	declare -n s=sync_$k sd=syncdone_$k c=created_$k d=deleted_$k r=rebuild_$k g=goserved_$k gd=godone_$k b=gobuilt_$k
	bline=
	[ "${#b[@]}" -eq 0 ] || bline="; skiff's go build ${b[*]}"
	raw="$raw
- $(label "$k"): sync ${s[*]:-none}; sync until the end line ${sd[*]:-none}; new file ${c[*]:-none}; deletion ${d[*]:-none}; rebuild ${r[*]:-none}; Go change ${g[*]}; Go change until the end line ${gd[*]:-none}$bline."
	unset -n s sd c d r g gd b
done
raw="$raw
- go build alone: ${gobuild[*]}."
behaviors=
for k in "${keys[@]}"; do
	r=delreached_$k n=deltried_$k w=warns_$k sr=syncrebuilds_$k sw=swapped_$k hg=hung_$k mv=moves_$k
	b="- $(label "$k"):"
	if [ -n "${!r:-}" ]; then
		b="$b deletions reached the container (404 within 10 s) ${!r} of ${!n} times; rebuilds during the www edits: ${!sr};"
	fi
	behaviors="$behaviors
$b Go changes hot-swapped: ${!sw} of $go_edits; Go changes served more than 1 s after the tool's end line (the poll's request hung in the forward, up to its 5 s timeout): ${!hg} of $go_edits; its forwards moved to another local port ${!mv} times; warning lines: ${!w}."
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
skaffold_line="Skaffold: not run (TOOLS=$tools)"
[ -z "$skaffold" ] || skaffold_line="Skaffold $skaffold_version, built from the module source ($(basename "$skaffold"); \`skaffold version\` says \"${skaffold_says:-}\")"
section=$(
	cat <<MD
$heading

$(date -u +%Y-%m-%d), $(nproc) cores ($cpu), $mem, $(go version | cut -d' ' -f3);
the local cluster (hack/cluster.sh), shared with other work: load average
$load at the start, $load_end at the end. $skaffold_line; $("$skiff" version 2>/dev/null | head -n1).
\`bench/dev-vs-skaffold.sh\` (EDITS=$edits DELETE_EDITS=$delete_edits GO_EDITS=$go_edits REBUILD_EDITS=$rebuild_edits):
the same generated project for every session, one after the other, each
in a fresh namespace with a cold image cache: a docker artifact (web)
FROM a busybox image (has tar) with a static Go file server, COPY www
/srv, manual sync rule www/** -> /srv; a ko artifact (go) answering
/version, ko.fromImage the same busybox image (ko's default bases are on
the internet); 2 replicas each $([ "$probes" != 0 ] && echo "with a 1 s readiness probe" || echo "without readiness probes (PROBES=0)"), inputDigest
tags, pushed to the loopback registry, both ports forwarded by the tool
itself (--port-forward=user). Each tool with its default watcher (skiff:
notify, 5 ms debounce (20 ms for batches of more than 8 paths);
Skaffold: notify, whose quiet time is --watch-poll-interval, 1000 ms).
Edit-to-served: from just before the edit until an HTTP poll (every 5 ms,
a new TCP connection each from one python3 process, bench/poll.py, which
makes the edit itself; 127.0.0.1 through the tool's forward, which
reaches one of the two pods) answers the change; "until the end line":
until the tool has printed that it is done (skiff "Synced 1 file to 2
pods", Skaffold "Watching for changes..."), as the same poller sees its
output. Until issue 16 the poll was a new curl process every 5 ms, whose
forks made a poll take 10-20 ms on this 2-core machine.
One edit at a time. Failed requests: a GET every 50 ms through the
forward during the edits, any answer but 200 (000: none) counted.

$hdr
$sep
$(srow 'startup: launch to "Watching for changes..." (cold image cache)' 1 startw " s")
$(srow "startup: launch to both deployments answering through the forwards" 1 starts " s")
$(row "www/index.html edit, served (sync)" "$edits" sync)
$(row "www/index.html edit, until the tool's end line (both replicas synced)" "$edits" syncdone)
$(row "new www/del-N.txt, served (sync)" "$delete_edits" created)
$(delrow)
$(row "meta/version edit (web, docker, outside the sync rule), /version served (rebuild, push, deploy, rollout)" "$rebuild_edits" rebuild)
$(failrow "failed requests to web through the forward during those rebuilds" "$rebuild_edits" rb)
$(row "Go change (goapp/main.go), served" "$go_edits" goserved)
$(row "Go change, until the tool's end line (skiff \"Hot-swapped\"/\"Rebuilt\", Skaffold \"Watching for changes...\")" "$go_edits" godone)
$(row "Go change: skiff's own go build time (its Hot-swapped line)" "$go_edits" gobuilt)
$(row "go build alone during the session (after each Go change, polled)" "$go_edits" gonow)
$(failrow "failed requests to go through the forward during the Go changes" "$go_edits" go)
$(srow "peak RSS of the tool's process (VmHWM)" 1 hwm " MiB")
$(srow "of its RSS at the end: anonymous (RssAnon: heap, stacks)" 1 anon " MiB")
$(srow "of its RSS at the end: file pages (RssFile: the executable, shared with the page cache)" 1 file " MiB")
$(srow "Ctrl-C to exit with cleanup" 1 stop " s")
$(srow "\`skiff version\` / \`skaffold version\`, median of $version_runs runs" "$version_runs" vms " ms")

\`go build -trimpath\` of goapp alone after the same const change (warm
cache, CGO_ENABLED=0): median $gobuild_med s of $go_edits before the
sessions; the row "go build alone during the session" times it once
after each Go change, with a poll running, under the session's load.

Goals (issue 16):
$goals

Skaffold's sync goes through its 1 s watch quiet time, then \`kubectl exec
... tar\` in each pod (a deletion: \`kubectl exec ... rm -rf\`); skiff's
through its 5 ms debounce and its skiff-agent session per container,
both replicas at once. A Go change with hot swap: skiff builds the
executable and swaps it into the running containers under skiff-agent,
no new pod; without, and in Skaffold, a ko build, push, and rollout. On a
rebuild Skaffold stops its \`kubectl port-forward\` when the build ends and
starts a new one after the deploy, so requests in between fail. Ctrl-C:
Skaffold's cleanup runs \`kubectl delete\` and exits without waiting for
the pods to go. Skaffold ran with only kubectl, docker and go on PATH:
with /usr/bin on it, it finds Debian's google-cloud-sdk
docker-credential-gcloud and, at every build, asks gcloud for six gcr.io
registries' credentials (6-7 s a build here, and a GCE metadata probe off
loopback), see the script's header. The previous table (2026-11-21, issue
6: one replica, no ko artifact) had sync 0.08 s against 1.13 s, deletion
0.07 s against 1.14 s, docker rebuild 1.92 s against 2.90 s, start-up 3.13
s against 3.64 s, Ctrl-C 3.10 s against 0.11 s.

Observed:
$behaviors

Raw, in seconds:
$raw
MD
)

printf '%s\n' "$section"
write_section "$results" "$heading" "$section"
