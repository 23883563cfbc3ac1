#!/usr/bin/env bash
# corpus.sh: run skiff diagnose, fix and render --offline on every
# skaffold*.yaml of Skaffold's examples and integration tests
# (examples/, integration/examples/, integration/testdata/), as a new user
# would, and print one line per config and the totals.
#
#   hack/corpus.sh --check        # the corpus test (make corpus, part of make test)
#   hack/corpus.sh --update       # rewrite hack/corpus.expected from this run
#   hack/corpus.sh DIR            # a summary over any Skaffold checkout
#   SKIFF=bin/skiff hack/corpus.sh ...   # a prebuilt skiff
#
# --check and --update run over Skaffold's Go module at the version pinned
# in hack/corpus.expected (its `module` line), fetched with `go mod
# download` through the Go module proxy into the module cache, where
# Skaffold's LICENSE stays next to its files; nothing of it is copied into
# this repository and nothing in it is changed (fix prints to standard
# output). A module zip leaves out the directories that have their own
# go.mod, so a few configs of a checkout are missing from it, and configs
# that require them fail there (hack/corpus.expected says which).
#
# hack/corpus.expected has one line per config: its path, diagnose, fix
# and render as ok or FAIL, and for a config that fails, after "  # ", why
# (short; a failing config without a reason fails the check). --check
# fails on any difference in the results: a regression, a newly passing
# config, a config added or gone; and when no config is found. --update
# keeps the reasons of the lines that did not change and gives a new
# failure the first line of its error, to be shortened by hand.
#
# render needs no cluster and no registry (--offline) and builds nothing
# (--digest-source=tag: the images are named with the tags the tag policy
# computes); the kubeconfig is an empty temporary one, so
# kubeContext-activated profiles stay inactive. Exit status 1 when a
# command crashed (a Go panic) or the check failed, 0 otherwise: without
# --check, configs that fail for a reason skiff states are reported, not
# fatal.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
expected=$here/hack/corpus.expected
mode=summary
case ${1:-} in
--check | --update)
	mode=${1#--}
	shift
	;;
esac
if [[ $mode == summary && ($# -ne 1 || ! -d ${1:-}) ]] || [[ $mode != summary && $# -ne 0 ]]; then
	echo "usage: $0 SKAFFOLD_CHECKOUT_DIR | --check | --update" >&2
	exit 2
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if [[ $mode == summary ]]; then
	src=$(cd "$1" && pwd)
else
	# The pinned module: `module PATH VERSION` in hack/corpus.expected.
	read -r mod ver < <(sed -n 's/^module \([^ ]*\) \([^ ]*\)$/\1 \2/p' "$expected" | head -1) || true
	if [[ -z ${mod:-} || -z ${ver:-} ]]; then
		echo "$expected has no 'module PATH VERSION' line naming the Skaffold module to test against" >&2
		exit 2
	fi
	# Outside any module, so that skiff's go.mod and go.sum stay as they are.
	if ! json=$(cd "$work" && go mod download -json "$mod@$ver"); then
		echo "go mod download $mod@$ver failed (above): the corpus test needs the Go module proxy (GOPROXY=$(go env GOPROXY)) or a module cache that holds it" >&2
		exit 1
	fi
	src=$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p' <<<"$json")
	if [[ -z $src || ! -f $src/LICENSE ]]; then
		echo "go mod download $mod@$ver gave no module directory with a LICENSE: $json" >&2
		exit 1
	fi
	echo "corpus: $mod@$ver in $src" >&2
fi

skiff=${SKIFF:-}
if [[ -z $skiff ]]; then
	skiff=$work/skiff
	(cd "$here" && go build -o "$skiff" ./cmd/skiff && go build -o "$skiff-engine" ./cmd/skiff-engine)
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

# results: one line per config, the reason of a failure after "  # ".
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
			why=${why:-$(grep -v '^\s*$' <<<"$out" | grep -v -i '^warn' | head -1 || true)}
			why=${why:-"skiff $cmd failed with no message"}
		fi
	done
	# The reason without the prefix and location and without this
	# machine's paths.
	why=$(sed -e 's/^ERROR: //' -e 's/^[^ :]*\.yaml:\([0-9]*:[0-9]*:\)\{0,1\} //' -e "s|$src/||g" <<<"$why")
	[[ -n $why ]] && line+="  # $why"
	echo "$line" >>"$results"
	echo "$line"
done
echo "configs: $total  diagnose ok: $loaded  fix ok: $fixed  render --offline ok: $rendered  crashes: $crashed"
[[ $crashed -eq 0 ]] || exit 1

status() { sed -e '/^#/d' -e '/^module /d' -e 's/  # .*//' "$1"; }
case $mode in
check)
	if missing=$(grep -n 'FAIL' "$expected" | grep -v '=FAIL.*  # [^ ]'); then
		echo "$expected: a failing config needs its reason after '  # ':" >&2
		echo "$missing" >&2
		exit 1
	fi
	if ! diff -u <(status "$expected") <(status "$results"); then
		echo "the results over $mod@$ver differ from hack/corpus.expected (- expected, + now): fix the regression; when a config now passes or the change is intended, regenerate the file with hack/corpus.sh --update and check its reasons" >&2
		exit 1
	fi
	echo "as expected: $total configs (hack/corpus.expected)"
	;;
update)
	new=$work/expected
	{
		grep '^#' "$expected"
		echo "module $mod $ver"
		# A line whose results did not change keeps its reason.
		awk -F '  # ' 'NR == FNR { if (!/^#/ && NF > 1) why[$1] = $2; next }
			{ print ($1 in why) ? $1 "  # " why[$1] : $0 }' "$expected" "$results"
	} >"$new"
	cp "$new" "$expected"
	echo "wrote $expected; shorten the reasons of new failures by hand"
	;;
esac
