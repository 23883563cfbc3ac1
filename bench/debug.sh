#!/usr/bin/env bash
# bench/debug.sh: how long `skiff debug` takes to make the Go example
# debuggable, next to how long `skiff dev` takes to start on the same app,
# and writes the "## skiff debug start (issue 15)" section of
# bench/RESULTS.md (or of $RESULTS). On a copy of examples/hello (ko Go
# app, a Deployment of 2 replicas, which debug runs as 1), with a free
# localPort and inputDigest tags, RUNS rounds, each one `skiff dev` and
# one `skiff debug` session, in that order, each in a fresh namespace:
#   - dev: from the start of the process until it prints "Watching for
#     changes...";
#   - debug: from the start until it prints "... dlv connect
#     127.0.0.1:PORT" (the debug port forwarded), until a JSON-RPC
#     RPCServer.State call to that address answers (Delve reachable
#     through skiff's forward: "debugger reachable"), and until "Watching
#     for changes...".
# Each session ends with Ctrl-C (SIGINT to the skiff started here), whose
# cleanup deletes what it deployed; the namespace is deleted after. A
# round of both runs first, uncounted, so that every counted run finds its
# images built (dev and debug each keep their own --cache-file: debug
# builds with -gcflags=all=-N -l) and the debug support images in the
# registry: the figures are the start of a session, not a first build.
# Needs the cluster (hack/cluster.sh up), bin/skiff and bin/debug (make
# build). kubectl is as in bench/run.sh ($KUBECTL, else the newest
# /usr/lib/google-cloud-sdk/bin/kubectl.1.*).
# Usage: bench/debug.sh [RUNS]   (RUNS, also from the environment, defaults
# to 5; RESULTS to bench/RESULTS.md)
set -euo pipefail

runs=${1:-${RUNS:-5}}
repo=$(cd "$(dirname "$0")/.." && pwd)
results=${RESULTS:-$repo/bench/RESULTS.md}
heading="## skiff debug start (issue 15)"
skiff=$repo/bin/skiff
example=$repo/examples/hello
eval "$("$repo/hack/cluster.sh" env)"
export KUBECONFIG

if [ ! -x "$skiff" ] || [ ! -x "$repo/bin/debug/skiff-debug-support" ]; then (cd "$repo" && make build >/dev/null); fi

# shellcheck source=bench/lib.sh
. "$repo/bench/lib.sh"
kubectl=$(find_kubectl)

work=$(mktemp -d)
app=$work/app
tool=skiff
log=
pid=
namespaces=()
# stop_skiff sends the skiff started here one SIGINT (Ctrl-C) and waits
# for it to clean up and exit, up to $1 seconds; then a second SIGINT.
stop_skiff() {
	local end=$((SECONDS + $1))
	kill -INT "$pid" 2>/dev/null || true
	while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$end" ]; do sleep 0.05; done
	if kill -0 "$pid" 2>/dev/null; then
		echo "bench: skiff did not exit within $1 s of Ctrl-C; a second Ctrl-C" >&2
		kill -INT "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || true
	pid=
}
cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	if [ -n "$pid" ]; then
		stop_skiff 120
	fi
	if [ "$rc" -ne 0 ] && [ -n "$log" ] && [ -f "$log" ]; then
		echo "bench: failed; the end of skiff's output:" >&2
		tail -n 30 "$log" >&2
	fi
	for ns in "${namespaces[@]}"; do
		"$kubectl" delete namespace "$ns" --wait=false >/dev/null 2>&1 || true
	done
	rm -rf "$work"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# dlv_state succeeds when Delve at $1 (127.0.0.1:PORT) answers a JSON-RPC
# RPCServer.State call (Delve's API v2, as `dlv connect` and IDEs use it).
dlv_state() {
	local reply
	reply=$(timeout 5 bash -c '
		exec 3<>"/dev/tcp/${1%:*}/${1##*:}" || exit 1
		printf "%s" "{\"method\":\"RPCServer.State\",\"params\":[{\"NonBlocking\":true}],\"id\":1}" >&3
		IFS= read -r line <&3
		printf "%s" "$line"' _ "$1" 2>/dev/null) || return 1
	[[ $reply == *'"result":{'* && $reply == *'"error":null'* ]]
}

cp -r "$example/." "$app"
port=$(free_port)
sed -i "s/^  localPort: 8080\$/  localPort: $port/" "$app/skaffold.yaml"
sed -i 's/^build:$/build:\n  tagPolicy:\n    inputDigest: {}/' "$app/skaffold.yaml"
if ! grep -q "localPort: $port" "$app/skaffold.yaml" || ! grep -q "inputDigest" "$app/skaffold.yaml"; then
	fail "examples/hello/skaffold.yaml changed: update bench/debug.sh"
fi

# session MODE ROUND runs one `skiff MODE` session and sets t_watch (and,
# for debug, t_line and t_reach) to its seconds from the start.
session() {
	local mode=$1 ns="skiff-bench-debug-$$-$1-$2" t0 addr= end
	"$kubectl" create namespace "$ns" >/dev/null
	namespaces+=("$ns")
	until "$kubectl" -n "$ns" get serviceaccount default >/dev/null 2>&1; do sleep 0.1; done
	log=$work/$mode-$2.err
	: >"$log"
	t_watch= t_line= t_reach=
	t0=$(now)
	(cd "$app" && exec "$skiff" "$mode" -n "$ns" --cache-file "$work/cache-$mode") </dev/null >"$work/$mode-$2.out" 2>"$log" &
	pid=$!
	end=$((SECONDS + 300))
	while :; do
		alive
		if [ -z "$t_watch" ] && [ "$(count '^Watching for changes')" -gt 0 ]; then
			t_watch=$(elapsed "$t0" "$(now)")
		fi
		if [ "$mode" = debug ]; then
			if [ -z "$addr" ]; then
				addr=$(grep -m1 -oE 'dlv connect 127\.0\.0\.1:[0-9]+' "$log" | sed 's/^dlv connect //' || true)
				[ -z "$addr" ] || t_line=$(elapsed "$t0" "$(now)")
			fi
			if [ -n "$addr" ] && [ -z "$t_reach" ] && dlv_state "$addr"; then
				t_reach=$(elapsed "$t0" "$(now)")
			fi
			[ -z "$t_watch" ] || [ -z "$t_reach" ] || break
		else
			[ -z "$t_watch" ] || break
		fi
		[ "$SECONDS" -lt "$end" ] || fail "skiff $mode did not get there within 300 s"
		sleep 0.02
	done
	stop_skiff 120
	grep -q '^Cleanup complete$' "$log" || fail "skiff $mode did not print 'Cleanup complete' after Ctrl-C"
	! grep -q '^WARN' "$log" || echo "bench: skiff $mode warned: $(grep -m1 '^WARN' "$log")" >&2
}

load=$(cut -d' ' -f1-3 /proc/loadavg)
session dev 0
session debug 0
echo "bench: warm-up done (dev $t_watch s to Watching; debug $t_reach s to reachable)" >&2
dev_watch=() dbg_line=() dbg_reach=() dbg_watch=()
for i in $(seq "$runs"); do
	session dev "$i"
	dev_watch+=("$t_watch")
	session debug "$i"
	dbg_line+=("$t_line") dbg_reach+=("$t_reach") dbg_watch+=("$t_watch")
	echo "bench: round $i of $runs: dev ${dev_watch[-1]} s; debug: dlv line ${dbg_line[-1]} s, reachable ${dbg_reach[-1]} s, watching ${dbg_watch[-1]} s" >&2
done

cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
mem=$(awk '/^MemTotal:/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)
dev_med=$(med "${dev_watch[@]}")
reach_med=$(med "${dbg_reach[@]}")
over=$(awk -v a="$reach_med" -v b="$dev_med" 'BEGIN { printf "%.2f", a - b }')
section=$(
	cat <<MD
$heading

$(date -u +%Y-%m-%d), $(nproc) cores ($cpu), $mem, $(go version | cut -d' ' -f3);
the local cluster (hack/cluster.sh); load average $load at the start.
\`bench/debug.sh\` (RUNS=$runs): examples/hello (ko Go app; 2 replicas under
dev, 1 under debug) with a free localPort and inputDigest tags; each run a
fresh namespace and a new skiff process, its images already built (a
warm-up round, uncounted); dev and debug alternate. Times from the start of
the process.

| what | median | runs |
|---|---|---|
| \`skiff dev\` to "Watching for changes..." | $dev_med s | $runs |
| \`skiff debug\` to its "dlv connect 127.0.0.1:PORT" line | $(med "${dbg_line[@]}") s | $runs |
| \`skiff debug\` to debugger reachable (RPCServer.State answered through the forward) | $reach_med s | $runs |
| \`skiff debug\` to "Watching for changes..." | $(med "${dbg_watch[@]}") s | $runs |

Debugger reachable comes $over s after dev's "Watching for changes...";
what debug does besides dev's start, all inside that: the Go support
image packed from bin/debug and delivered next to the built image, the
rewritten pod's init container copying Delve into /dbg, dlv starting the
app, the debug port forwarded. The load average is that of a machine
shared with other jobs.

Raw, in seconds: dev ${dev_watch[*]}; debug dlv line ${dbg_line[*]};
reachable ${dbg_reach[*]}; watching ${dbg_watch[*]}.
MD
)

printf '%s\n' "$section"
write_section "$results" "$heading" "$section"
