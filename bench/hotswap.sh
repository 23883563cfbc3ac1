#!/usr/bin/env bash
# bench/hotswap.sh: a Go change to served in `skiff dev`, with hot swap
# and without (--hot-swap=false), on a copy of examples/sync (2 replicas,
# ko, nonroot). For each mode, one session in a fresh namespace: EDITS
# times, change `const version` in main.go to a unique value (the clock
# starts just before the write) and poll /version through skiff's own
# port-forward until it answers it, then wait for skiff's line ("Hot-swapped"
# or "Rebuilt") and, after a rebuild, until the old pods are gone. With
# hot swap, the pods stay: /version is also polled on the pods' own
# addresses (directly, without the forward), at the same time. Prints the
# medians and the raw times; writes nothing.
# Needs the cluster (hack/cluster.sh up), bin/skiff and bin/skiff-agent
# (make build), curl, kubectl as bench/run.sh finds it.
# Usage: bench/hotswap.sh [EDITS]   (default 10)
set -euo pipefail
edits=${1:-${EDITS:-10}}
repo=$(cd "$(dirname "$0")/.." && pwd)
skiff=$repo/bin/skiff
eval "$("$repo/hack/cluster.sh" env)"
export KUBECONFIG
# shellcheck source=bench/lib.sh
. "$repo/bench/lib.sh"
kubectl=$(find_kubectl)
tool=skiff
work=$(mktemp -d)
pid=
ns=
cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	if [ -n "$pid" ]; then kill -INT "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
	if [ -n "$ns" ]; then "$kubectl" delete namespace "$ns" --wait=false >/dev/null 2>&1 || true; fi
	[ "$rc" -eq 0 ] || tail -n 30 "$work/skiff.err" >&2 || true
	rm -rf "$work"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# direct V T0 polls /version on the pods' addresses (in $ips) until one
# answers V, and prints the seconds since T0.
direct() {
	local ip
	while :; do
		for ip in "${ips[@]}"; do
			if [[ $(curl -sS --max-time 5 "http://$ip:8080/version" 2>/dev/null || true) == "$1 "* ]]; then
				echo "$(elapsed "$2" "$(now)")"
				return
			fi
		done
		sleep 0.01
	done
}

# session MODE runs one session with --hot-swap=MODE and prints the
# served times, one a line; with hot swap, the direct ones go to
# $work/direct.
session() {
	local app=$work/app-$1 log=$work/skiff.err port url t0 n line
	sync_example "$app"
	ns=skiff-bench-hotswap-$1-$$
	"$kubectl" create namespace "$ns" >/dev/null
	until "$kubectl" -n "$ns" get serviceaccount default >/dev/null 2>&1; do sleep 0.1; done
	: >"$log"
	(cd "$app" && exec "$skiff" dev -n "$ns" --port-forward=user --hot-swap="$1" --cache-file "$work/cache-$1") </dev/null >/dev/null 2>"$log" &
	pid=$!
	wait_log '^Watching for changes\.\.\.$' 0 300
	wait_log '^Port forwarding service/sync ' 0 30
	url=$(grep -m1 '^Port forwarding service/sync ' "$log" | sed -n 's|.* -> \(http://127\.0\.0\.1:[0-9]*\).*|\1|p')
	main=$(<"$app/main.go")
	mapfile -t ips < <("$kubectl" -n "$ns" get pods -l app=sync -o jsonpath='{range .items[*]}{.status.podIP}{"\n"}{end}')
	for i in $(seq "$edits"); do
		v="hs$1-$$-$i"
		if [ "$1" = true ]; then n=$(count '^Hot-swapped '); else n=$(count '^Rebuilt '); fi
		t0=$(now)
		if [ "$1" = true ]; then direct "$v" "$t0" >>"$work/direct" & dpid=$!; fi
		printf '%s\n' "${main/const version = \"v1\"/const version = \"$v\"}" >"$app/main.go"
		until [[ $(curl -sS --max-time 5 "$url/version" 2>/dev/null || true) == "$v "* ]]; do alive; sleep 0.01; done
		echo "$(elapsed "$t0" "$(now)")"
		if [ "$1" = true ]; then wait "$dpid"; fi
		if [ "$1" = true ]; then wait_log '^Hot-swapped ' "$n" 60; else wait_log '^Rebuilt ' "$n" 60; fi
		line=$(grep -E '^(Hot-swapped|Rebuilt) ' "$log" | tail -n1)
		echo "bench: --hot-swap=$1 edit $i: $line" >&2
		if [ "$1" = true ]; then
			# go build's part: "(go build 1.2 seconds)" or "(go build 845ms)"
			sed -n 's/.*(go build \([0-9.]*\)\(ms\| seconds\)).*/\1 \2/p' <<<"$line" |
				awk '{ printf "%.2f\n", $2 == "ms" ? $1 / 1000 : $1 }' >>"$work/gobuild"
		else
			# the build's part: "Rebuilt sync in 2.4 seconds" or "in 845ms"
			sed -n 's/^Rebuilt [^ ]* in \([0-9.]*\)\(ms\| seconds\).*/\1 \2/p' <<<"$line" |
				awk '{ printf "%.2f\n", $2 == "ms" ? $1 / 1000 : $1 }' >>"$work/kobuild"
		fi
		until [ "$("$kubectl" -n "$ns" get pods -l app=sync --no-headers 2>/dev/null | wc -l)" -eq 2 ]; do sleep 0.1; done
	done
	kill -INT "$pid"; wait "$pid" || true; pid=
	"$kubectl" delete namespace "$ns" --wait=false >/dev/null 2>&1 || true; ns=
}
load=$(cut -d' ' -f1-3 /proc/loadavg)
session true >"$work/hot"
session false >"$work/cold"
mapfile -t hot <"$work/hot"
mapfile -t cold <"$work/cold"
mapfile -t direct <"$work/direct"
mapfile -t gobuild <"$work/gobuild"
mapfile -t kobuild <"$work/kobuild"
for i in "${!cold[@]}"; do coldafter[i]=$(awk -v a="${cold[i]}" -v b="${kobuild[i]}" 'BEGIN { printf "%.2f", a - b }'); done
for i in "${!hot[@]}"; do after[i]=$(awk -v a="${hot[i]}" -v b="${gobuild[i]}" 'BEGIN { printf "%.2f", a - b }'); done
echo "load $load; $edits edits each, 2 replicas"
echo "hot swap, through the forward: median $(med "${hot[@]}") s; raw ${hot[*]}"
echo "hot swap, directly on the pods: median $(med "${direct[@]}") s; raw ${direct[*]}"
echo "hot swap, its go build: median $(med "${gobuild[@]}") s; raw ${gobuild[*]}"
echo "hot swap, through the forward minus its go build: median $(med "${after[@]}") s; raw ${after[*]}"
echo "rebuild + redeploy (--hot-swap=false): median $(med "${cold[@]}") s; raw ${cold[*]}"
echo "rebuild, its build (ko): median $(med "${kobuild[@]}") s; raw ${kobuild[*]}"
echo "rebuild, served minus its build: median $(med "${coldafter[@]}") s; raw ${coldafter[*]}"
