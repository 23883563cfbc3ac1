#!/usr/bin/env bash
# corpus.sh DIR: run skiff diagnose, fix and render --offline on every
# skaffold*.yaml of a Skaffold checkout (examples/, integration/examples/,
# integration/testdata/), as a new user would, and print one line per
# config and the totals. DIR is a checkout of
# github.com/GoogleContainerTools/skaffold; nothing of it is copied here
# (its license is not ours) and nothing in it is changed: fix prints to
# standard output.
#
#   hack/corpus.sh ~/src/skaffold            # a summary on stdout
#   SKIFF=bin/skiff hack/corpus.sh DIR       # a prebuilt skiff
#   hack/corpus.sh --check DIR               # compare with hack/corpus.expected
#
# hack/corpus.expected holds the results at the Skaffold commit named in
# its first line (without the reasons, which docs/compat.md explains);
# --check fails on any difference, a regression or a newly passing config
# (then rewrite the file with the new output).
#
# Each line: the config's path, then diagnose, fix and render as ok or
# FAIL, then the first line of the first failure. render needs no cluster
# and no registry (--offline) and builds nothing (--digest-source=tag: the
# images are named with the tags the tag policy computes); the kubeconfig is an empty temporary one, so
# kubeContext-activated profiles stay inactive. Exit status 1 when a
# command crashed (a Go panic), 0 otherwise: configs that fail for a
# reason skiff states are reported, not fatal.
set -euo pipefail

check=false
if [[ ${1:-} == --check ]]; then
	check=true
	shift
fi
if [[ $# -ne 1 || ! -d $1 ]]; then
	echo "usage: $0 [--check] SKAFFOLD_CHECKOUT_DIR" >&2
	exit 2
fi
src=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

skiff=${SKIFF:-}
if [[ -z $skiff ]]; then
	skiff=$work/skiff
	(cd "$here" && go build -o "$skiff" ./cmd/skiff)
fi
skiff=$(cd "$(dirname "$skiff")" && pwd)/$(basename "$skiff")

# A clean environment: no kubeconfig context, no skiff or Skaffold
# settings from the caller's environment, a private HOME and cache.
mkdir -p "$work/home"
: >"$work/kubeconfig"
run() {
	env -i PATH="$PATH" HOME="$work/home" KUBECONFIG="$work/kubeconfig" \
		timeout 120 "$skiff" "$@"
}

configs=()
for d in examples integration/examples integration/testdata; do
	[[ -d $src/$d ]] || continue
	while IFS= read -r f; do
		grep -q '^apiVersion: *skaffold/' "$f" && configs+=("$f")
	done < <(find "$src/$d" -name 'skaffold*.yaml' -type f | LC_ALL=C sort)
done
if [[ ${#configs[@]} -eq 0 ]]; then
	echo "no skaffold*.yaml under $src/{examples,integration/examples,integration/testdata}: is it a Skaffold checkout?" >&2
	exit 2
fi

results=$work/results
: >"$results"
total=0 loaded=0 fixed=0 rendered=0 crashed=0
for f in "${configs[@]}"; do
	rel=${f#"$src"/}
	dir=$(dirname "$f") base=$(basename "$f")
	total=$((total + 1))
	line="$rel"
	why=""
	for cmd in diagnose fix render; do
		args=("$cmd" -f "$base")
		[[ $cmd == render ]] && args+=(--offline --digest-source=tag)
		if out=$(cd "$dir" && run "${args[@]}" 2>&1 >/dev/null); then
			line+=" $cmd=ok"
			case $cmd in
			diagnose) loaded=$((loaded + 1)) ;;
			fix) fixed=$((fixed + 1)) ;;
			render) rendered=$((rendered + 1)) ;;
			esac
		else
			line+=" $cmd=FAIL"
			if grep -q '^panic:\|^goroutine ' <<<"$out"; then
				crashed=$((crashed + 1))
				why=${why:-"CRASH: $(grep -m1 '^panic:' <<<"$out")"}
			fi
			why=${why:-$(grep -v '^\s*$' <<<"$out" | grep -v -i '^warn' | head -1)}
		fi
	done
	echo "$line" >>"$results"
	[[ -n $why ]] && line+="  # $why"
	echo "$line"
done
echo "configs: $total  diagnose ok: $loaded  fix ok: $fixed  render --offline ok: $rendered  crashes: $crashed"
[[ $crashed -eq 0 ]] || exit 1
if $check; then
	if ! diff -u <(grep -v '^#' "$here/hack/corpus.expected") "$results"; then
		echo "the results differ from hack/corpus.expected (- expected, + now): fix the regression, or rewrite the file if a config now passes" >&2
		exit 1
	fi
	echo "as expected (hack/corpus.expected)"
fi
