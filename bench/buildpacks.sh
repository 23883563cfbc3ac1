#!/usr/bin/env bash
# bench/buildpacks.sh: skiff's buildpacks builder next to pack v0.40.6 (the
# Cloud Native Buildpacks CLI) on the same builder and app, same machine,
# one run, and writes the "## Buildpacks: skiff next to pack (issue 13)"
# section of bench/RESULTS.md (or of $RESULTS).
#
# The app: the seed's Go app (examples/buildpacks: go.mod and main.go),
# one copy per tool. The builder: skiff's offline builder
# 127.0.0.1:5001/skiff/builder:latest (make builder), its lifecycle
# v0.21.14 and its skiff/go buildpack. Except in the untrusted rows, both
# tools run the lifecycle's creator in one container (the trusted flow:
# skiff trusts its offline builder by default; pack gets
# --trust-builder). Each tool builds its own
# images (repositories $SKIFF_LOCAL_REGISTRY/skiff-bench-bp-PID/TOOL-...),
# so neither reuses the other's image or cache. Timed from the shell,
# process start to exit:
#   - cold: COLD_RUNS times, a new image repository (no previous image, an
#     empty build cache), exported to the registry;
#   - one-line change, registry: RUNS times, the greeting line of main.go
#     changed, then `skiff build --push` / `pack build --publish`;
#   - one-line change, daemon: RUNS times, the same into the Docker
#     daemon: `skiff build --push=false` / `pack build`;
#   - one-line change, untrusted, registry: RUNS times, the same builder
#     under a reference neither tool trusts (copied in the registry to
#     .../untrusted-builder), so both run the five phases in five
#     containers, analyzer, restorer and exporter from a lifecycle image:
#     skiff's own (made from the builder's /cnb/lifecycle), which pack
#     gets too (--lifecycle-image, pushed to the loopback registry: pack
#     resolves it there; its default, buildpacksio/lifecycle, is on
#     Docker Hub);
#   - go build alone: RUNS times, the same one-line change built on the
#     host by `go build` with the buildpack's flags (CGO_ENABLED=0
#     -trimpath -ldflags "-s -w", the host's warm build cache): the floor
#     of a rebuild on this machine at the moment;
#   - skiff version: RUNS times, skiff's process start (the floor of a
#     cache hit at the moment);
#   - unchanged, registry: RUNS times, nothing changed since the tool's
#     last registry build: skiff's artifact cache answers (a cache hit,
#     the default); skiff with --cache-artifacts=false and pack run the
#     whole lifecycle again (pack has no artifact cache).
# In each round the two tools take turns, the first one alternating, so
# that a change of the machine's load falls on both. Before the timed
# rounds each tool builds once to each target (previous image and cache in
# place). skiff keeps its build cache in its own volumes; pack in
# volumes named from PACK_VOLUME_KEY (set here: without it, pack in a
# container makes a new cache volume for every build).
#
# pack and the network. pack reads PACK_HOME (a fresh directory here, so
# no ~/.pack config applies) and is given the builder (-B), so it looks
# up no suggested or default builder; --pull-policy if-not-present (the
# builder and run image are in the daemon or the loopback registry);
# --trust-builder, so it needs no lifecycle image, or in the untrusted
# rows --lifecycle-image on the loopback registry; --network host, so
# that the creator reaches the loopback registry. It prints a warning
# that it runs in a container with if-not-present; that is expected.
#
# pack binary: $PACK if set, else bin/bench/pack-v0.40.6, built when
# missing or older than bench/pack/go.mod from the module bench/pack (a
# `tool` directive pinning github.com/buildpacks/pack v0.40.6; a module of
# its own, never a dependency of skiff): CGO_ENABLED=0 go build, from the
# Go module proxy (~5 min and 1.7 GB of module and build cache on 2 cores
# when cold).
#
# Needs the cluster's registry (hack/cluster.sh up; its env gives
# SKIFF_LOCAL_REGISTRY), the offline builder in it (make builder), the
# Docker daemon, bin/skiff (made when missing), go.
# Usage: bench/buildpacks.sh [RUNS]
#   RUNS (also from the environment) defaults to 7; COLD_RUNS to 3;
#   RESULTS defaults to bench/RESULTS.md; LOGDIR=DIR keeps every build's
#   output there.
set -euo pipefail
runs=${1:-${RUNS:-7}}
cold_runs=${COLD_RUNS:-3}
pack_version=v0.40.6
repo=$(cd "$(dirname "$0")/.." && pwd)
results=${RESULTS:-$repo/bench/RESULTS.md}
heading="## Buildpacks: skiff next to pack (issue 13)"
skiff=$repo/bin/skiff
eval "$("$repo/hack/cluster.sh" env)"
registry=${SKIFF_LOCAL_REGISTRY:-127.0.0.1:5001}
builder=127.0.0.1:5001/skiff/builder:latest
# shellcheck source=bench/lib.sh
. "$repo/bench/lib.sh"
[ -x "$skiff" ] || (cd "$repo" && make build >/dev/null)
curl -sf -o /dev/null -H 'Accept: application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json' \
	"http://127.0.0.1:5001/v2/skiff/builder/manifests/latest" ||
	fail "the offline builder $builder is not in the registry: run make builder"

# ensure_pack sets pack to the pack binary, building it when missing.
ensure_pack() {
	if [ -n "${PACK:-}" ]; then
		pack=$PACK
		[ -x "$pack" ] || fail "PACK=$PACK is not an executable"
		return
	fi
	grep -q "github.com/buildpacks/pack $pack_version" "$repo/bench/pack/go.mod" ||
		fail "bench/pack/go.mod does not pin github.com/buildpacks/pack $pack_version"
	pack=$repo/bin/bench/pack-$pack_version
	if [ ! -x "$pack" ] || [ "$repo/bench/pack/go.mod" -nt "$pack" ]; then
		echo "bench: building pack $pack_version from the module proxy (bench/pack)" >&2
		mkdir -p "$(dirname "$pack")"
		(cd "$repo/bench/pack" && CGO_ENABLED=0 go build -trimpath \
			-ldflags "-s -w -X github.com/buildpacks/pack/pkg/client.Version=${pack_version#v}" \
			-o "$pack" github.com/buildpacks/pack)
	fi
}
ensure_pack

id=skiff-bench-bp-$$
work=$(mktemp -d)
logdir=${LOGDIR:-$work/logs}
mkdir -p "$logdir"
export PACK_HOME=$work/pack-home PACK_VOLUME_KEY=skiff-bench
cleanup() {
	local rc=$? v key
	trap - EXIT INT TERM
	if [ "$rc" -ne 0 ] && [ -n "${last_log:-}" ] && [ -f "$last_log" ]; then
		echo "bench: failed; the end of $last_log:" >&2
		tail -n 30 "$last_log" >&2
	fi
	# The build caches (skiff's are named from a hash of the repository,
	# as internal/build/buildpacks' appKey; pack's from the image name)
	# and the images in the daemon; the registry keeps its copies.
	for r in "${repos[@]}"; do
		key=$(printf '%s' "$r" | sha256sum | cut -c1-16)
		docker volume rm -f "skiff-cnb-cache-$key" "skiff-cnb-launch-$key" "skiff-cnb-gocache-$key" >/dev/null 2>&1 || true
	done
	for v in $(docker volume ls -q | grep -F -- "$id" || true); do
		docker volume rm -f "$v" >/dev/null 2>&1 || true
	done
	docker images --format '{{.Repository}}:{{.Tag}}' | grep -F -- "$id" | xargs -r docker rmi -f >/dev/null 2>&1 || true
	rm -rf "$work"
	exit "$rc"
}
repos=()
trap cleanup EXIT
trap 'exit 130' INT TERM

for t in skiff pack go; do
	mkdir -p "$work/$t/app"
	cp "$repo/examples/buildpacks/go.mod" "$repo/examples/buildpacks/main.go" "$work/$t/app/"
	grep -q '"Hello, World!"' "$work/$t/app/main.go" || fail "examples/buildpacks/main.go has no \"Hello, World!\" line to change"
done
# The same builder under a reference neither tool trusts.
untrusted=$registry/$id/untrusted-builder:latest
docker pull -q "$builder" >/dev/null
docker tag "$builder" "$untrusted"
docker push -q "$untrusted" >/dev/null
for b in "$builder" "$untrusted"; do
	config=$work/skiff/skaffold.yaml
	[ "$b" = "$builder" ] || config=$work/skiff/skaffold-untrusted.yaml
	cat >"$config" <<YAML
apiVersion: skaffold/v4beta14
kind: Config
build:
  tagPolicy: {inputDigest: {}}
  artifacts:
  - image: app
    context: app
    buildpacks:
      builder: $b
YAML
done

edits=0
# edit makes a one-line change to tool $1's app: a new greeting.
edit() {
	edits=$((edits + 1))
	sed -i -E "s/fmt\.Fprintln\(w, \"[^\"]*\"\)/fmt.Fprintln(w, \"Hello, edit $edits!\")/" "$work/$1/app/main.go"
}

# build TOOL TARGET REPO [skiff flags] runs one build of TOOL's app into
# TARGET (registry, daemon, or untrusted: the untrusted builder, to the
# registry) as REPO and sets took to its seconds.
build() {
	local tool=$1 target=$2 r=$3 t0
	shift 3
	last_log=$logdir/$(printf '%03d' "${#repos[@]}")-$tool-$target-$(date +%s%N).log
	case " ${repos[*]} " in *" $r "*) ;; *) repos+=("$r") ;; esac
	local cmd
	if [ "$tool" = skiff ]; then
		local config=$work/skiff/skaffold.yaml
		[ "$target" != untrusted ] || config=$work/skiff/skaffold-untrusted.yaml
		cmd=("$skiff" build -q -f "$config" --default-repo "${r%/app}" --cache-file "$work/skiff/cache" "$@")
		if [ "$target" = daemon ]; then cmd+=(--push=false); else cmd+=(--push); fi
	elif [ "$target" = untrusted ]; then
		cmd=("$pack" build "$r:latest" -p "$work/pack/app" -B "$untrusted" --lifecycle-image "$lifecycle"
			--pull-policy if-not-present --network host --publish)
	else
		cmd=("$pack" build "$r:latest" -p "$work/pack/app" -B "$builder" --trust-builder
			--pull-policy if-not-present --network host)
		[ "$target" = registry ] && cmd+=(--publish)
	fi
	t0=$(now)
	"${cmd[@]}" >"$last_log" 2>&1 || fail "${cmd[*]} failed"
	took=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }')
}

load() { cut -d' ' -f1-3 /proc/loadavg; }
load_start=$(load)
echo "bench: skiff $("$skiff" version 2>/dev/null | head -n1), pack $("$pack" version); $runs rounds, $cold_runs cold" >&2

# order prints the two tools, the first one alternating with $1.
order() { if [ $(($1 % 2)) -eq 1 ]; then echo skiff pack; else echo pack skiff; fi; }

declare -a cold_skiff=() cold_pack=()
for i in $(seq "$cold_runs"); do
	for t in $(order "$i"); do
		edit "$t"
		build "$t" registry "$registry/$id/$t-cold$i/app"
		declare -n c=cold_$t
		c+=("$took")
		unset -n c
	done
	echo "bench: cold $i: skiff ${cold_skiff[-1]} s, pack ${cold_pack[-1]} s" >&2
done

# Warm: the previous image and the cache of each target in place. skiff's
# first untrusted build makes its lifecycle image (named after the
# builder's image ID, internal/build/buildpacks lifecycleImage), which
# pack then gets from the loopback registry.
for t in skiff pack; do
	for target in registry daemon untrusted; do
		if [ "$t/$target" = pack/untrusted ]; then
			builder_id=$(docker image inspect -f '{{.Id}}' "$untrusted")
			builder_id=${builder_id#sha256:}
			lifecycle=$registry/$id/lifecycle:latest
			docker tag "skiff-cnb-lifecycle:${builder_id:0:16}" "$lifecycle" ||
				fail "skiff made no lifecycle image skiff-cnb-lifecycle:${builder_id:0:16} for the untrusted builder"
			docker push -q "$lifecycle" >/dev/null
		fi
		edit "$t"
		build "$t" "$target" "$registry/$id/$t-$target/app"
	done
done

# gobuild times go build of the app in $work/go after a one-line change.
gobuild() {
	local t0
	edit go
	t0=$(now)
	(cd "$work/go/app" && CGO_ENABLED=0 GOPROXY=off GOTOOLCHAIN=local go build -trimpath -ldflags "-s -w" -o "$work/go/app.bin" .) ||
		fail "go build of the app failed"
	took=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }')
}
gobuild # warm

declare -a reg_skiff=() reg_pack=() dmn_skiff=() dmn_pack=() unt_skiff=() unt_pack=() hit_skiff=() same_skiff=() same_pack=() gob=() ver=()
for i in $(seq "$runs"); do
	gobuild
	gob+=("$took")
	t0=$(now)
	"$skiff" version >/dev/null
	ver+=("$(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }')")
	for t in $(order "$i"); do
		declare -n r=reg_$t d=dmn_$t s=same_$t u=unt_$t
		edit "$t"
		build "$t" untrusted "$registry/$id/$t-untrusted/app"
		u+=("$took")
		edit "$t"
		build "$t" registry "$registry/$id/$t-registry/app"
		r+=("$took")
		edit "$t"
		build "$t" daemon "$registry/$id/$t-daemon/app"
		d+=("$took")
		# Unchanged since the last registry build: put the sources back.
		sed -i -E "s/Hello, edit $edits!/Hello, edit $((edits - 1))!/" "$work/$t/app/main.go"
		if [ "$t" = skiff ]; then
			build skiff registry "$registry/$id/skiff-registry/app"
			hit_skiff+=("$took")
			build skiff registry "$registry/$id/skiff-registry/app" --cache-artifacts=false
			s+=("$took")
		else
			build pack registry "$registry/$id/pack-registry/app"
			s+=("$took")
		fi
		unset -n r d s u
	done
	echo "bench: round $i: registry skiff ${reg_skiff[-1]} pack ${reg_pack[-1]}; daemon skiff ${dmn_skiff[-1]} pack ${dmn_pack[-1]}; untrusted skiff ${unt_skiff[-1]} pack ${unt_pack[-1]}; unchanged skiff ${hit_skiff[-1]} (cache hit) ${same_skiff[-1]} (lifecycle) pack ${same_pack[-1]}; go build ${gob[-1]}; skiff version ${ver[-1]}" >&2
done
load_end=$(load)

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f×", b / a }'; }
# secs prints seconds to 10 ms, or under a second in milliseconds.
secs() { awk -v s="$1" 'BEGIN { if (s < 1) printf "%.0f ms", s * 1000; else printf "%.2f s", s }'; }
# goal prints "GOAL: met" or "GOAL: not met" for skiff's median $1 and
# the limit $2 in seconds.
goal() { awk -v m="$1" -v g="$2" -v t="$3" 'BEGIN { printf "%s: %s", t, (m < g ? "met" : "not met") }'; }
row() { # row LABEL SKIFF-VAR PACK-VAR [LIMIT GOAL-TEXT]
	local -n a=$2 b=$3
	local ms mp g=
	ms=$(med "${a[@]}") mp=$(med "${b[@]}")
	[ -z "${4:-}" ] || g=$(goal "$ms" "$4" "$5")
	echo "| $1 | $(secs "$ms") | $(secs "$mp") | $(ratio "$ms" "$mp") | $g |"
}
declare -n hit=hit_skiff
hit_ms=$(awk -v s="$(med "${hit[@]}")" 'BEGIN { printf "%.0f", s * 1000 }')
unset -n hit
cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
mem=$(awk '/^MemTotal:/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)
section=$(
	cat <<MD
$heading

$(date -u +%Y-%m-%d), $(nproc) cores ($cpu), $mem, $(go version | cut -d' ' -f3),
Docker Engine $(docker version --format '{{.Server.Version}}'); load average
$load_start at the start, $load_end at the end (the machine is shared).
pack $("$pack" version) built from the Go module proxy (bench/pack, a
module of its own). \`bench/buildpacks.sh\` (RUNS=$runs COLD_RUNS=$cold_runs):
the seed's Go app (examples/buildpacks), skiff's offline builder
(127.0.0.1:5001/skiff/builder, lifecycle v0.21.14, the skiff/go
buildpack), the trusted flow for both (one creator container) except
in the untrusted row (the builder copied to another repository, five
containers, pack given skiff's lifecycle image), the loopback
registry; process start to exit, from the shell; the two tools take
turns in every round. Medians; pack / skiff is how many times
longer pack takes.

| scenario | skiff | pack | pack / skiff | goal |
| --- | ---: | ---: | ---: | --- |
$(row "cold build (new repository, empty cache), to the registry" cold_skiff cold_pack)
$(row "one-line change, to the registry (\`skiff build --push\`, \`pack build --publish --trust-builder\`)" reg_skiff reg_pack 1.2 "skiff < 1.2 s")
| the same one-line change, \`go build\` alone on the host (the floor) | $(secs "$(med "${gob[@]}")") | | | |
$(row "one-line change, into the Docker daemon (\`skiff build --push=false\`, \`pack build --trust-builder\`)" dmn_skiff dmn_pack)
$(row "one-line change, untrusted builder (five containers), to the registry (\`pack build --publish --lifecycle-image ...\`)" unt_skiff unt_pack)
$(row "unchanged, to the registry: skiff's artifact cache (a hit), pack's whole lifecycle" hit_skiff same_pack 0.060 "skiff < 60 ms")
| \`skiff version\` (process start: the floor of a cache hit) | $(secs "$(med "${ver[@]}")") | | | |
$(row "unchanged, to the registry, the whole lifecycle (\`skiff build --cache-artifacts=false\`)" same_skiff same_pack)

skiff's cache hit: $hit_ms ms median (process start, config, the
artifact's files hashed, one registry HEAD).

Both tools run the same lifecycle and buildpack in one creator container,
so a one-line rebuild is the buildpack's \`go build\` (compare the \`go
build\` row, taken in the same rounds) plus the lifecycle's fixed costs:
the container and the copy of the app in, analysis against the previous
image, the export of the changed layer. The goals are for skiff on this
machine; under the load the other work puts on its two cores (see the
load averages) the \`go build\` floor alone can exceed them, and then only
the ratio to pack and the distance above the floor say something.

Raw, in seconds (in run order):

- cold: skiff ${cold_skiff[*]}; pack ${cold_pack[*]}.
- one-line change, registry: skiff ${reg_skiff[*]}; pack ${reg_pack[*]}.
- go build alone: ${gob[*]}.
- skiff version: ${ver[*]}.
- one-line change, daemon: skiff ${dmn_skiff[*]}; pack ${dmn_pack[*]}.
- one-line change, untrusted, registry: skiff ${unt_skiff[*]}; pack ${unt_pack[*]}.
- unchanged, registry: skiff cache hit ${hit_skiff[*]}; skiff lifecycle ${same_skiff[*]}; pack ${same_pack[*]}.
MD
)

printf '%s\n' "$section"
write_section "$results" "$heading" "$section"
