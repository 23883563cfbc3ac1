#!/usr/bin/env bash
# bench/build.sh: skiff build timings for bench/RESULTS.md.
#   1. a three-artifact project (custom, docker requiring it, ko) with
#      everything cached: `skiff build` end to end, process start included;
#   2. a one-line Go change to the ko artifact: `skiff build` against
#      `go build` of the same change alone.
# Images go to the registry named by SKIFF_LOCAL_REGISTRY (make cluster-env)
# or, without it, into the local Docker daemon. RUNS (default 7) runs each;
# prints the median. SKIFF=/path/to/skiff times that binary instead of
# bin/skiff (which is built first, with make, only when SKIFF is unset).
# RAW=FILE also writes the runs there, one scenario a line ("cached_ms",
# "rebuild_ms", "gobuild_ms", then the runs), for bench/engine.sh.
set -euo pipefail
[ -z "${SKIFF:-}" ] || SKIFF=$(realpath -- "$SKIFF")
[ -z "${RAW:-}" ] || RAW=$(realpath -m -- "$RAW")
cd "$(dirname "$0")/.."
RUNS=${RUNS:-7}
if [ -z "${SKIFF:-}" ]; then
	make -s build
	SKIFF=$PWD/bin/skiff
fi
[ -x "$SKIFF" ] || { echo "bench: SKIFF=$SKIFF is not an executable; build it (make build) or point SKIFF at one" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

mkdir -p "$work"/{base,web,api/kodata}
cat > "$work/skaffold.yaml" <<'YAML'
apiVersion: skaffold/v4beta14
kind: Config
build:
  tagPolicy:
    inputDigest: {}
  local:
    concurrency: 0
  artifacts:
  - image: bench-base
    context: base
    custom:
      buildCommand: ./build.sh
      dependencies:
        paths: ["**"]
  - image: bench-web
    context: web
    requires:
    - image: bench-base
      alias: BASE
  - image: bench-api
    context: api
    ko:
      main: .
YAML
printf '#!/bin/sh\nset -e\ndocker build -q -t "$IMAGE" . >/dev/null\nif [ "$PUSH_IMAGE" = true ]; then docker push "$IMAGE" >/dev/null; fi\n' > "$work/base/build.sh"
chmod +x "$work/base/build.sh"
printf 'FROM scratch\nCOPY base.txt /base.txt\n' > "$work/base/Dockerfile"
echo base > "$work/base/base.txt"
printf 'ARG BASE\nFROM $BASE\nCOPY index.html /www/index.html\n' > "$work/web/Dockerfile"
echo '<h1>web</h1>' > "$work/web/index.html"
printf 'module example.com/api\n\ngo 1.25\n' > "$work/api/go.mod"
echo static > "$work/api/kodata/a.txt"
write_main() { printf 'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("api %s") }\n' "$1" > "$work/api/main.go"; }
write_main 0

args=(build -q -f "$work/skaffold.yaml" --cache-file "$work/cache")
if [ -n "${SKIFF_LOCAL_REGISTRY:-}" ]; then
	args+=(--push --default-repo "$SKIFF_LOCAL_REGISTRY")
	where="pushed to $SKIFF_LOCAL_REGISTRY"
else
	args+=(--push=false)
	where="loaded into the Docker daemon"
fi

ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

"$SKIFF" "${args[@]}" >/dev/null # cold build fills the cache

cached=()
for _ in $(seq "$RUNS"); do
	t=$(date +%s%N); "$SKIFF" "${args[@]}" >/dev/null; cached+=("$(ms "$t")")
done

rebuild=(); gobuild=()
for i in $(seq "$RUNS"); do
	write_main "$i"
	t=$(date +%s%N); "$SKIFF" "${args[@]}" >/dev/null; rebuild+=("$(ms "$t")")
	write_main "$i-go"
	t=$(date +%s%N); (cd "$work/api" && CGO_ENABLED=0 go build -trimpath -o "$work/app" .); gobuild+=("$(ms "$t")")
done

echo "images $where; $RUNS runs each, median ms"
echo "skiff build, 3 artifacts, all cached:        $(printf '%s\n' "${cached[@]}" | median)  (runs: ${cached[*]})"
echo "skiff build after a one-line Go change (ko): $(printf '%s\n' "${rebuild[@]}" | median)  (runs: ${rebuild[*]})"
echo "go build of the same change alone:           $(printf '%s\n' "${gobuild[@]}" | median)  (runs: ${gobuild[*]})"
if [ -n "${RAW:-}" ]; then
	printf 'cached_ms %s\nrebuild_ms %s\ngobuild_ms %s\n' "${cached[*]}" "${rebuild[*]}" "${gobuild[*]}" >"$RAW"
fi
