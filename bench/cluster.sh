#!/usr/bin/env bash
# bench/cluster.sh: measures the local cluster (hack/cluster.sh) and writes
# the "## Local cluster (issue 3)" section of bench/RESULTS.md:
#   - cold build time of the localkube binary (empty Go build cache; the
#     module cache is kept, so downloads are not counted),
#   - `hack/cluster.sh up` time with the binary built, from a stopped cluster
#     (median of RUNS runs), and on a running cluster,
#   - resident memory of the running, idle cluster per process.
# It takes the cluster down at the start and at the end. Needs root.
# Usage: bench/cluster.sh [RUNS]   (RUNS defaults to 5; set SKIP_COLD_BUILD=1
# to reuse the last cold build figure instead of building again)
set -euo pipefail

runs=${1:-5}
repo=$(cd "$(dirname "$0")/.." && pwd)
results=$repo/bench/RESULTS.md
heading="## Local cluster (issue 3)"
cluster=$repo/hack/cluster.sh
state=${SKIFF_LOCALKUBE_STATE:-/var/lib/skiff-localkube}
export PATH=/usr/local/go/bin:$PATH

# shellcheck source=bench/lib.sh
. "$repo/bench/lib.sh"

load() { cut -d' ' -f1-3 /proc/loadavg; }
load_start=$(load)
"$cluster" down >/dev/null 2>&1

cold=""
if [ "${SKIP_COLD_BUILD:-}" != 1 ]; then
	echo "bench: cold build of localkube (empty build cache)" >&2
	cache=$(mktemp -d)
	out=$(mktemp -d)
	t0=$(now)
	(cd "$repo/hack/localkube" && GOCACHE=$cache GOWORK=off CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$out/localkube" .)
	cold=$(printf '%.0f' "$(elapsed "$t0" "$(now)")")
	size=$(du -m "$out/localkube" | cut -f1)
	cachesize=$(du -sm "$cache" | cut -f1)
	rm -rf "$cache" "$out"
fi

# The first up builds the binary into the cache if needed; it is not timed.
"$cluster" up >/dev/null 2>&1
"$cluster" down >/dev/null 2>&1

times=()
for ((i = 1; i <= runs; i++)); do
	t0=$(now)
	"$cluster" up >/dev/null 2>&1
	times+=("$(elapsed "$t0" "$(now)")")
	echo "bench: up #$i: ${times[-1]}s" >&2
	[ "$i" -lt "$runs" ] && "$cluster" down >/dev/null 2>&1
done
up_median=$(printf '%s\n' "${times[@]}" | median)
t0=$(now)
"$cluster" up >/dev/null 2>&1
up_again=$(elapsed "$t0" "$(now)")

# Let the idle cluster settle before reading its memory.
sleep 20
rss_table=""
total=0
for name in etcd kube-apiserver kube-controller-manager kube-scheduler kubelet containerd docker-registry dockerd; do
	f=$state/pids/$name.pid
	[ -s "$f" ] || continue
	kb=$(awk '/^VmRSS:/ { print $2 }' "/proc/$(<"$f")/status" 2>/dev/null || echo 0)
	rss_table+="| $name | $((kb / 1024)) |"$'\n'
	[ "$name" = dockerd ] || total=$((total + kb))
done
"$cluster" down >/dev/null 2>&1

cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
mem=$(awk '/^MemTotal:/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)
section=$(
	cat <<MD
$heading

Measured by \`bench/cluster.sh $runs\` on $(date -u +%F): $(nproc) cores ($cpu), $mem,
$(sed -n 's/^PRETTY_NAME="\(.*\)"$/\1/p' /etc/os-release), kernel $(uname -r), $(go version | cut -d' ' -f3).
Load average at the start $load_start, at the end $(load) (other work shares the machine; figures are wall-clock).
Kubernetes $(awk '$1 == "k8s.io/kubernetes" { print $2 }' "$repo/hack/localkube/go.mod") in one localkube binary; containerd $(dpkg-query -W -f='${Version}' containerd), Docker $(dpkg-query -W -f='${Version}' docker.io).

| what | figure |
| --- | --- |
| cold build of the localkube binary (empty build cache, modules downloaded) | ${cold:-not measured this run} s${size:+, ${size} MB binary, ${cachesize} MB build cache} |
| \`hack/cluster.sh up\` from stopped, binary built: median of $runs | $(printf '%.1f' "$up_median") s (runs: $(printf '%.1f ' "${times[@]}")s) |
| \`hack/cluster.sh up\` on a running cluster | $(printf '%.2f' "$up_again") s |
| RSS of the idle cluster (all but dockerd) | $((total / 1024)) MiB |

RSS per process of the idle cluster, MiB (dockerd only when up started it):

| process | RSS |
| --- | --- |
$rss_table
MD
)

write_section "$results" "$heading" "$section"
