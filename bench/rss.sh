#!/usr/bin/env bash
# bench/rss.sh: the memory of one `skiff dev` session over EDITS edits
# (default 100) of a synced file and REBUILDS (default 10) Go changes
# (issue 16), hot-swapped (skiff dev's default; HOT_SWAP=false: rebuilt
# and rolled out), on a copy of examples/sync (replicas: 1, as
# bench/startexit.sh). Edits go one at a time: the next waits for skiff's
# "Synced" (or "Hot-swapped", "Rebuilt") line; every EDITS/REBUILDS-th
# edit is a Go change. At the end it prints skiff's peak resident set
# (VmHWM) and its resident set now, split into anonymous memory (the Go
# heap, stacks, ...) and file pages (the mapped binary), from
# /proc/PID/status; the largest RssAnon and RssFile seen in each phase
# (sampled every 50 ms: start to "Watching for changes", syncs, Go
# changes); and the medians of skiff's own sync and rebuild times (its
# "Synced ... in", "Hot-swapped ... in", "Rebuilt ... in" lines), so that
# a change that saves memory can be checked not to slow the loop.
# UI=1 runs skiff dev --ui with a follower of /v2/events (bench/lib.sh).
# Needs the cluster (hack/cluster.sh up) and SKIFF (default bin/skiff)
# with skiff-agent next to it. Usage: bench/rss.sh [EDITS [REBUILDS]]
set -euo pipefail

edits=${1:-100}
rebuilds=${2:-10}
repo=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$repo/bench/lib.sh"
bench_init
app=$work/app
log=$work/skiff.err
tool=skiff
ns=skiff-bench-rss-$$
sampler=
on_cleanup() {
	stop_dashboard
	if [ -n "$sampler" ]; then kill "$sampler" 2>/dev/null || true; fi
}

cp -r "$repo/examples/sync/." "$app"
sed -i "/^portForward:/,\$d" "$app/skaffold.yaml"
sed -i "s/^  replicas: 2\$/  replicas: 1/" "$app/k8s/deployment.yaml"
grep -q "replicas: 1" "$app/k8s/deployment.yaml" && ! grep -q portForward "$app/skaffold.yaml" ||
	fail "examples/sync changed: update bench/rss.sh"
main=$(<"$app/main.go")
[[ $main == *'const version = "v1"'* ]] || fail "examples/sync/main.go has no 'const version = \"v1\"': update bench/rss.sh"

new_namespace "$ns"

(cd "$app" && exec "$skiff" dev -n "$ns" --hot-swap="${HOT_SWAP:-true}" --cache-file "$work/cache" "${ui_args[@]}") </dev/null >/dev/null 2>"$log" &
pid=$!
# The sampler appends "phase RssAnon RssFile" (KiB) every 50 ms to
# $work/samples; the loop below names the phase in $work/phase.
echo start >"$work/phase"
(
	while [ -r "/proc/$pid/status" ]; do
		awk -v p="$(<"$work/phase")" '$1 == "RssAnon:" { a = $2 } $1 == "RssFile:" { f = $2 } END { if (a != "") print p, a, f }' "/proc/$pid/status" 2>/dev/null
		sleep 0.05
	done >>"$work/samples"
) &
sampler=$!
wait_log '^Watching for changes\.\.\.$' 0 300
follow_dashboard "$log"
# kb prints a field of /proc/PID/status in KiB.
kb() { awk -v f="$1:" '$1 == f { print $2 }' "/proc/$pid/status"; }
echo "bench: started; VmRSS $(kb VmRSS) KiB" >&2
every=$((edits / rebuilds))
synced=0 rebuilt=0
for i in $(seq "$edits"); do
	if [ $((i % every)) -eq 0 ] && [ "$rebuilt" -lt "$rebuilds" ]; then
		echo rebuild >"$work/phase"
		printf '%s\n' "${main/const version = \"v1\"/const version = \"rss$i\"}" >"$app/main.go"
		wait_log '^(Hot-swapped|Rebuilt) sync ' "$rebuilt" 300
		rebuilt=$((rebuilt + 1))
	else
		echo sync >"$work/phase"
		printf '<h1>edit %s</h1>\n' "$i" >"$app/kodata/index.html"
		wait_log '^Synced 1 file to 1 pod in ' "$synced" 120
		synced=$((synced + 1))
	fi
done
sleep 2
hwm=$(kb VmHWM) rss=$(kb VmRSS) anon=$(kb RssAnon) file=$(kb RssFile)
echo "bench: $synced syncs, $rebuilt rebuilds; VmHWM $hwm KiB, VmRSS $rss KiB (RssAnon $anon, RssFile $file)" >&2
# peak PHASE prints the largest RssAnon and RssFile (MiB) sampled in PHASE.
peak() { awk -v p="$1" '$1 == p { if ($2 > a) a = $2; if ($3 > f) f = $3 } END { printf "%.1f/%.1f", a / 1024, f / 1024 }' "$work/samples"; }
# took PATTERN prints the median of the durations (s) in skiff's lines
# matching PATTERN: the last "in DURATION" of each line (a rebuild's is
# the time to redeployed).
took() {
	grep -E "$1" "$log" | sed -nE "s/.* in ([0-9.]+)(ms| seconds).*/\1 \2/p" |
		awk '{ print ($2 == "ms") ? $1 / 1000 : $1 }' | median
}
echo "bench: largest RssAnon/RssFile (MiB) while starting $(peak start), syncing $(peak sync), rebuilding $(peak rebuild)" >&2
echo "bench: skiff's medians: sync $(took '^Synced 1 file') s, rebuild $(took '^(Hot-swapped|Rebuilt) ') s" >&2
printf 'syncs %s rebuilds %s vmhwm_kib %s vmrss_kib %s rssanon_kib %s rssfile_kib %s\n' "$synced" "$rebuilt" "$hwm" "$rss" "$anon" "$file"
