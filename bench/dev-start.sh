#!/usr/bin/env bash
# bench/dev-start.sh: `skiff dev` start to the app answering, images cached.
# RUNS+1 `skiff dev --port-forward=user` sessions, one after the other, on
# one copy of examples/sync (2 replicas, sync rules into the nonroot ko
# image's kodata) in a fresh namespace, with one build cache file: the
# first session builds and warms the caches and is not counted; each other
# one is timed from the start of skiff to the first answer of /version
# through skiff's port-forward (curl polls 10 ms apart) from a pod of that
# session (not one of an earlier session that is still stopping), then
# ended with Ctrl-C. Prints each time and the median.
# Usage: bench/dev-start.sh SKIFF [RUNS]   (SKIFF is a skiff binary with
# skiff-agent next to it; RUNS defaults to 5). Needs the cluster
# (hack/cluster.sh up) and curl; kubectl as in bench/run.sh.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/bench/lib.sh"
skiff=$(realpath "${1:?usage: bench/dev-start.sh SKIFF [RUNS]}")
runs=${2:-5}
kubectl=$(find_kubectl)
work=$(mktemp -d)
app=$work/app log=$work/log tool=skiff pid= ns=bench-start-$$ nscreated=
stop() {
	grep -q '^Cleaning up' "$log" 2>/dev/null || kill -INT "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	pid=
}
cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	[ -z "$pid" ] || stop
	[ "$rc" -eq 0 ] || tail -n 30 "$log" >&2 || true
	[ -z "$nscreated" ] || "$kubectl" delete namespace "$ns" --wait=false >/dev/null 2>&1 || true
	rm -rf "$work"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

sync_example "$app"
"$kubectl" create namespace "$ns" >/dev/null
nscreated=1
until "$kubectl" -n "$ns" get serviceaccount default >/dev/null 2>&1; do sleep 0.1; done

times=()
for i in $(seq 0 "$runs"); do
	: >"$log"
	# The pods of earlier sessions may still be stopping (or, for a moment,
	# not yet marked for deletion): an answer from one of them does not count.
	old=" $("$kubectl" -n "$ns" get pods -o 'jsonpath={.items[*].metadata.name}') "
	t0=$(now)
	(cd "$app" && exec "$skiff" dev -n "$ns" --port-forward=user --cache-file "$work/cache") </dev/null >/dev/null 2>"$log" &
	pid=$!
	end=$((SECONDS + 300))
	while :; do
		body=$(curl -sS --max-time 2 "http://127.0.0.1:$port/version" 2>/dev/null || true)
		# The example answers "v1 (pod NAME)".
		if [[ $body == v1* ]]; then
			served=${body#*(pod }
			served=${served%%)*}
			[[ $old == *" $served "* ]] || break
			echo "bench: session $i: answered by $served, a pod of an earlier session; waiting for its own" >&2
		fi
		alive
		[ "$SECONDS" -lt "$end" ] || fail "no answer from http://127.0.0.1:$port/version within 300 s"
		sleep 0.01
	done
	took=$(elapsed "$t0" "$(now)")
	stop
	if [ "$i" -eq 0 ]; then
		echo "bench: first session (builds, not counted): $took s" >&2
	else
		times+=("$took")
		echo "bench: session $i: $took s" >&2
	fi
done
echo "start to answering (s): ${times[*]}; median $(med "${times[@]}")"
