#!/usr/bin/env bash
# bench/startexit.sh: how fast skiff starts and exits (issue 16). It
# prints a table for the "## Start, exit and the forward (issue 16)"
# section of bench/RESULTS.md, which puts two runs (before, after) side
# by side:
#   - `skiff version` and `skiff --help`: wall time of RUNS runs each
#     (a process start to its exit, output to /dev/null).
#   - `skiff dev` start to the app answering, then Ctrl-C to exit, CYCLES
#     times on a copy of examples/sync (replicas: 1, a free local port, an
#     inputDigest tag policy: as bench/dev.sh). One warm-up session first
#     builds the image, so every measured session has it cached (same
#     --cache-file). "Start" is from the process start until a GET of / through
#     skiff's own port-forward answers the example's page (curl runs 10 ms
#     apart). "Exit" is from the SIGINT until the process has exited,
#     its cleanup done. Each session starts right after the previous one
#     exited, in the same namespace: the previous pods may still be
#     terminating, and the new session must not trip over them.
# Needs the cluster (hack/cluster.sh up), curl, and SKIFF (default
# bin/skiff) with skiff-agent next to it. LOG=DIR keeps each session's
# stderr there.
# Usage: bench/startexit.sh [CYCLES]   (CYCLES, also from the environment,
# defaults to 5; RUNS to 20; LABEL names the binary in the table, default
# "skiff")
set -euo pipefail

cycles=${1:-${CYCLES:-5}}
runs=${RUNS:-20}
label=${LABEL:-skiff}
repo=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$repo/bench/lib.sh"
bench_init
app=$work/app
log=$work/skiff.err
tool=skiff
ns=skiff-bench-startexit-$$

read -r version_med version_min < <(ms_runs "$runs" "$skiff" version)
read -r help_med help_min < <(ms_runs "$runs" "$skiff" --help)
echo "bench: skiff version ${version_med} ms, --help ${help_med} ms (medians of $runs)" >&2

sync_example "$app"
grep -q '^  tagPolicy:' "$app/skaffold.yaml" || sed -i 's/^build:$/build:\n  tagPolicy:\n    inputDigest: {}/' "$app/skaffold.yaml"
sed -i "s/^  replicas: 2\$/  replicas: 1/" "$app/k8s/deployment.yaml"
grep -q "replicas: 1" "$app/k8s/deployment.yaml" ||
	fail "examples/sync changed: update bench/startexit.sh"
url=http://127.0.0.1:$port/

new_namespace "$ns"

# session runs one skiff dev: it sets started (seconds to the first
# answer) and exited (seconds from Ctrl-C to the exit).
session() {
	local t0 body end=$((SECONDS + 300))
	: >"$log"
	t0=$(now)
	(cd "$app" && exec "$skiff" dev -n "$ns" --port-forward=user --cache-file "$work/cache") </dev/null >/dev/null 2>"$log" &
	pid=$!
	while :; do
		body=$(curl -sS --max-time 5 "$url" 2>/dev/null || true)
		[[ $body == *"Hello from skiff dev"* ]] && break
		alive
		[ "$SECONDS" -lt "$end" ] || fail "$url did not answer within 300 s"
		sleep 0.01
	done
	started=$(elapsed "$t0" "$(now)")
	wait_log '^Watching for changes\.\.\.$' 0 60
	t0=$(now)
	kill -INT "$pid"
	wait "$pid" || fail "skiff dev exited $? after Ctrl-C"
	pid=
	exited=$(elapsed "$t0" "$(now)")
	grep -q '^Cleanup complete' "$log" || fail "skiff dev did not complete its cleanup"
	if [ -n "${LOG:-}" ]; then cp "$log" "$LOG/session-$1.err"; fi
}

load=$(cut -d' ' -f1-3 /proc/loadavg)
session warmup
echo "bench: warm-up session: start ${started} s, exit ${exited} s" >&2
starts=() exits=()
for i in $(seq "$cycles"); do
	session "$i"
	echo "bench: session $i: start ${started} s, exit ${exited} s" >&2
	starts+=("$started") exits+=("$exited")
done

printf '%s\n' "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores ($(uname -r)), load $load, $label; \`bench/startexit.sh $cycles\`" \
	"" \
	"| measure | median | all |" \
	"|---|---|---|" \
	"| \`skiff version\` (ms, $runs runs) | $version_med | min $version_min |" \
	"| \`skiff --help\` (ms, $runs runs) | $help_med | min $help_min |" \
	"| \`skiff dev\` start to app answering, image cached (s) | $(med "${starts[@]}") | ${starts[*]} |" \
	"| Ctrl-C to exit, objects deleted (s) | $(med "${exits[@]}") | ${exits[*]} |"
