#!/usr/bin/env bash
# bench/engine.sh: the engine refactor (issue 12), before and after, side by
# side: runs bench/build.sh, bench/run.sh and bench/dev.sh (unchanged in
# what they measure) for two skiff binaries, BEFORE and AFTER, and writes
# the "## Engine refactor: before and after (issue 12)" section of
# bench/RESULTS.md (or of $RESULTS).
#
# The two are interleaved in one run, so that other load on the machine
# falls on both alike: RUNS rounds, and in each round every scenario runs
# once for each binary, one right after the other, the order alternating
# (odd rounds BEFORE first, even rounds AFTER first):
#   - build: bench/build.sh with RUNS=BUILD_RUNS (a fresh three-artifact
#     project: a cold build, then BUILD_RUNS fully cached builds and
#     BUILD_RUNS one-line Go changes, pushed to the cluster's registry);
#   - run: bench/run.sh 1 (`skiff run` into a fresh namespace, then again
#     with nothing changed, and kubectl's apply + rollout status of the
#     same manifests, which is the same for both binaries: the noise);
#   - dev: bench/dev.sh with EDITS kodata edits synced and DEV_REBUILDS
#     main.go rebuilds, in a fresh `skiff dev` session. The first sync of
#     a session is slower: the example's image has no tar, which a session
#     learns at its first sync (a tar exec that fails, then skiff-agent);
#     it is also shown apart, and with EDITS=20 it is 5 % of the syncs, as
#     in a bench/dev.sh run.
# Medians are over all the samples of a binary (RUNS x BUILD_RUNS cached
# builds, RUNS runs, RUNS x EDITS syncs, RUNS x DEV_REBUILDS rebuilds:
# edit-to-served of a rebuild moves in steps of about 1 s, the kubelet's
# relist and the readiness probe's period); the ratio is after /
# before; "after slower" counts the rounds whose median for AFTER was
# above BEFORE's (about half the rounds when the two do not differ), and
# the sign test's p says how unlikely that count is if they do not.
#
# Usage: BEFORE=/path/to/old/skiff [AFTER=/path/to/new/skiff] bench/engine.sh [RUNS]
#   AFTER defaults to bin/skiff; each binary needs its skiff-agent next to
#   it (make build puts both in bin/). To build the "before" of issue 12:
#     git worktree add /tmp/skiff-before 9b1aa91 && make -C /tmp/skiff-before build
#   RUNS (also from the environment) defaults to 7, BUILD_RUNS to 5, EDITS
#   to 20, DEV_REBUILDS to 3. Needs the cluster (hack/cluster.sh up), as
#   bench/run.sh and bench/dev.sh do. The scripts' own output goes to a
#   log per call, shown when a call fails.
set -euo pipefail

runs=${1:-${RUNS:-7}}
build_runs=${BUILD_RUNS:-5}
edits=${EDITS:-20}
dev_rebuilds=${DEV_REBUILDS:-3}
repo=$(cd "$(dirname "$0")/.." && pwd)
results=${RESULTS:-$repo/bench/RESULTS.md}
heading="## Engine refactor: before and after (issue 12)"

# shellcheck source=bench/lib.sh
. "$repo/bench/lib.sh"

[ -n "${BEFORE:-}" ] || fail "set BEFORE to the skiff binary to compare with (e.g. git worktree add /tmp/skiff-before 9b1aa91 && make -C /tmp/skiff-before build; BEFORE=/tmp/skiff-before/bin/skiff)"
declare -A bin
bin[before]=$(realpath -- "$BEFORE")
bin[after]=$(realpath -- "${AFTER:-$repo/bin/skiff}")
for side in before after; do
	if [ ! -x "${bin[$side]}" ] || [ ! -x "$(dirname "${bin[$side]}")/skiff-agent" ]; then
		fail "${side^^}=${bin[$side]}: no executable skiff with skiff-agent next to it; build both with make build"
	fi
done
[ "${bin[before]}" != "${bin[after]}" ] || fail "BEFORE and AFTER are the same binary (${bin[before]})"
eval "$("$repo/hack/cluster.sh" env)"
export KUBECONFIG SKIFF_LOCAL_REGISTRY

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# samples["SIDE NAME"]: every value of the measurement NAME (as the
# scripts' RAW files name them) for the binary SIDE; rounds["SIDE NAME"]:
# the median of each round's values.
declare -A samples rounds
# call SIDE SCENARIO ROUND runs the scenario's script for the binary SIDE
# and adds what it measured to samples and rounds.
call() {
	local side=$1 scenario=$2 round=$3 out=$work/$2-$1-$3.log name values
	local env=(SKIFF="${bin[$side]}" RAW="$work/raw" RESULTS="$work/scratch.md")
	rm -f "$work/raw"
	echo "bench: round $round of $runs: $scenario, $side" >&2
	case $scenario in
	build) env+=(RUNS="$build_runs") && set -- "$repo/bench/build.sh" ;;
	run) set -- "$repo/bench/run.sh" 1 ;;
	dev) env+=(EDITS="$edits" REBUILD_EDITS="$dev_rebuilds" GOBUILD_RUNS=1) && set -- "$repo/bench/dev.sh" ;;
	esac
	if ! env "${env[@]}" "$@" >"$out" 2>&1; then
		tail -n 40 "$out" >&2
		fail "$* failed for $side (${bin[$side]}) in round $round; its output is above"
	fi
	[ -s "$work/raw" ] || fail "$1 wrote no measurements (RAW) for $side in round $round"
	while read -r name values; do
		[ -n "$values" ] || continue
		samples["$side $name"]+="$values "
		# shellcheck disable=SC2086 # one value a word
		rounds["$side $name"]+="$(med $values) "
		if [ "$name" = sync_served ]; then
			samples["$side sync_first"]+="${values%% *} "
			rounds["$side sync_first"]+="${values%% *} "
		fi
	done <"$work/raw"
}

load_start=$(cut -d' ' -f1-3 /proc/loadavg)
start=$(now)
for round in $(seq "$runs"); do
	order=(before after)
	[ $((round % 2)) -eq 1 ] || order=(after before)
	for scenario in build run dev; do
		for side in "${order[@]}"; do
			call "$side" "$scenario" "$round"
		done
	done
done
minutes=$(awk -v s="$(elapsed "$start" "$(now)")" 'BEGIN { printf "%.0f", s / 60 }')
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

# ms prints the median of the samples of "SIDE NAME" in milliseconds
# (names without _ms are in seconds).
ms() {
	# shellcheck disable=SC2086 # one value a word
	med ${samples["$1 $2"]} | awk -v scale="$([[ $2 == *_ms ]] && echo 1 || echo 1000)" '{ printf "%.0f", $1 * scale }'
}
# row NAME TEXT prints the table row of the measurement NAME: the medians,
# their ratio, the samples, the rounds where AFTER was slower, and the
# two-sided sign test's p of that count (under "no difference", each round
# is slower after with probability 1/2; ties count for neither side).
row() {
	local b a n slower
	b=$(ms before "$1") a=$(ms after "$1")
	n=$(wc -w <<<"${samples["after $1"]}")
	slower=$(paste -d' ' <(tr ' ' '\n' <<<"${rounds["before $1"]}") <(tr ' ' '\n' <<<"${rounds["after $1"]}") |
		awk 'NF == 2 && $1 != "" {
			n++; if ($2 > $1) s++; else if ($2 < $1) f++
		}
		END {
			m = s + f; k = s > f ? s : f; p = 0
			for (i = k; i <= m; i++) { c = 1; for (j = 1; j <= i; j++) c *= (m - j + 1) / j; p += c / 2 ^ m }
			p = m ? 2 * p : 1; if (p > 1) p = 1
			printf "%d of %d | %.2f", s, n, p
		}')
	printf '| %s | %s | %s | %s | %s | %s |\n' "$2" "$b" "$a" \
		"$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", a / b }')" "$n" "$slower"
}
# raw NAME prints the samples of NAME for both binaries.
raw() { printf -- '- %s: before %s; after %s\n' "$1" "${samples["before $1"]% }" "${samples["after $1"]% }"; }

version() { "$1" version | head -n1; }
cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
mem=$(awk '/^MemTotal:/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)
names=(cached_ms rebuild_ms gobuild_ms skiff_unchanged skiff_fresh kubectl_unchanged kubectl_fresh sync_served sync_first sync_skiff_ms rebuild_served rebuild_skiff_ms)
section=$(
	cat <<MD
$heading

$(date -u +%Y-%m-%d), $(nproc) cores ($cpu), $mem, $(go version | cut -d' ' -f3);
the local cluster (hack/cluster.sh), images pushed to its registry
($SKIFF_LOCAL_REGISTRY). Before: \`$(version "${bin[before]}")\` (the last commit before the
refactor); after: \`$(version "${bin[after]}")\`. Command (from the repository, "before" built
in a worktree of its own):

    git worktree add /tmp/skiff-before 9b1aa91 && make -C /tmp/skiff-before build && make build
    RUNS=$runs BUILD_RUNS=$build_runs EDITS=$edits DEV_REBUILDS=$dev_rebuilds BEFORE=/tmp/skiff-before/bin/skiff bench/engine.sh

The existing scripts, each given the binary to time (SKIFF): $runs rounds,
every scenario once per binary in each round, before and after right after
each other, the order alternating per round. Build: \`bench/build.sh\` with
RUNS=$build_runs. Run: \`bench/run.sh 1\`. Dev: \`bench/dev.sh\` with
EDITS=$edits REBUILD_EDITS=$dev_rebuilds, a new \`skiff dev\` session each time (its first sync,
a tar exec that fails and then skiff-agent, is also shown apart). Other
sessions shared the machine: load average $load_start at the start,
$load_end at the end, $minutes minutes. Medians in ms over all samples;
ratio after / before; "after slower": rounds whose median was higher after;
"sign test p": how likely so lopsided a count is when the two binaries do
not differ (below 0.05: a difference beyond the noise). The kubectl and
\`go build\` rows run no skiff code: they show the noise.

| scenario | before | after | ratio | samples | after slower | sign test p |
|---|---:|---:|---:|---:|---|---:|
$(row cached_ms "\`skiff build\`, 3 artifacts, all cached")
$(row rebuild_ms "\`skiff build\` after a one-line Go change (ko)")
$(row gobuild_ms "(noise) \`go build\` of that change alone")
$(row skiff_unchanged "\`skiff run\`, nothing changed")
$(row skiff_fresh "\`skiff run\`, fresh namespace, until 2 replicas ready")
$(row kubectl_unchanged "(noise) kubectl apply + rollout status, nothing changed")
$(row kubectl_fresh "(noise) kubectl apply + rollout status, fresh namespace")
$(row sync_served "dev sync: kodata/index.html edit, served")
$(row sync_first "dev sync: the first edit of a session, served")
$(row sync_skiff_ms "dev sync: skiff's own \"Synced 1 file to 1 pod in X\"")
$(row rebuild_served "dev rebuild: main.go edit, /version served")
$(row rebuild_skiff_ms "dev rebuild: skiff's own \"Rebuilt sync in X\"")

Raw (build and skiff's own lines in ms, the rest in seconds):

$(for n in "${names[@]}"; do raw "$n"; done)
MD
)

printf '%s\n' "$section"
write_section "$results" "$heading" "$section"
