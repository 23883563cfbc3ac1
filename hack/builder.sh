#!/usr/bin/env bash
# hack/builder.sh (make builder): make skiff's offline Cloud Native
# Buildpacks builder and push it, with its run and build images, to the
# local registry:
#   $SKIFF_LOCAL_REGISTRY/skiff/builder:latest   the builder
#   $SKIFF_LOCAL_REGISTRY/skiff/run:latest       the run image it names
#   $SKIFF_LOCAL_REGISTRY/skiff/build:latest     the build image under it
# hack/mkbuilder does the work (docs/buildpacks.md explains what goes in).
# It installs the Debian packages it reads from this machine when they are
# missing, and starts the local cluster (hack/cluster.sh up) when the
# registry does not answer. Downloads, the lifecycle binaries and compressed
# layers are kept in $SKIFF_BUILDER_CACHE (/var/cache/skiff/builder): a run
# with nothing changed pushes nothing and takes a few seconds.
#
# SKIFF_BUILDER_PREFIX=p pushes p/builder, p/run and p/build instead (to try
# buildpack changes without replacing the builder others use).
#
# Needs root (apt-get, and hack/cluster.sh up).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${SKIFF_BUILDER_CACHE:-/var/cache/skiff/builder}
# What hack/mkbuilder takes from this machine: apt-get and dpkg-deb to
# fetch and unpack the images' packages (and curl, to ask the registry).
# node and npm for the build image are the machine's own (see check_node);
# the Go toolchain is /usr/local/go, which builds skiff itself.
PACKAGES=(apt dpkg curl)
NODE=/usr/bin/node
NPM_DIR=/usr/lib/node_modules/npm
export PATH=/usr/local/go/bin:$PATH

log() { echo "builder: $*" >&2; }
die() {
	echo "builder: ERROR: $*" >&2
	exit 1
}

install_packages() {
	local missing=() p
	for p in "${PACKAGES[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	[ "$(id -u)" -eq 0 ] || die "Debian packages ${missing[*]} are missing and installing them needs root"
	log "installing Debian packages: ${missing[*]}"
	mkdir -p "$CACHE"
	apt-get -q -o DPkg::Lock::Timeout=300 update >"$CACHE/apt.log" 2>&1 ||
		{ tail -n 20 "$CACHE/apt.log" >&2; die "apt-get update failed (log: $CACHE/apt.log)"; }
	DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout=300 install -y --no-install-recommends "${missing[@]}" >>"$CACHE/apt.log" 2>&1 ||
		{ tail -n 20 "$CACHE/apt.log" >&2; die "apt-get install ${missing[*]} failed (log: $CACHE/apt.log)"; }
}

# check_node: the build image gets this machine's node and the npm that
# ships with it. Debian's own nodejs package has no npm beside it (its npm
# package spreads over /usr/share/nodejs), so it is not installed here.
check_node() {
	[ -x "$NODE" ] && [ -f "$NPM_DIR/package.json" ] ||
		die "the build image takes node ($NODE) and its bundled npm ($NPM_DIR) from this machine, and they are missing: install a nodejs package that bundles npm (NodeSource's does)"
}

main() {
	install_packages
	check_node
	eval "$("$REPO/hack/cluster.sh" env)"
	if ! curl -fsS -o /dev/null --max-time 5 "http://$SKIFF_LOCAL_REGISTRY/v2/" 2>/dev/null; then
		log "the registry $SKIFF_LOCAL_REGISTRY does not answer: starting the local cluster (hack/cluster.sh up)"
		"$REPO/hack/cluster.sh" up
	fi
	mkdir -p "$CACHE"
	(cd "$REPO" && go build -o "$CACHE/mkbuilder" ./hack/mkbuilder) || die "building hack/mkbuilder failed"
	"$CACHE/mkbuilder" -repo "$REPO" -cache "$CACHE" -registry "$SKIFF_LOCAL_REGISTRY" -prefix "${SKIFF_BUILDER_PREFIX:-skiff}" -node "$NODE" -node-modules "$(dirname "$NPM_DIR")"
}

main "$@"
