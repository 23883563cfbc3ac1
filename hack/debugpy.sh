#!/usr/bin/env bash
# debugpy.sh DEST: the Python debug support files that skiff debug delivers
# into Python containers: debugpy and what it needs (pydevd, bytecode) from
# Debian's packages, unpacked into DEST (a dist-packages directory the
# launcher puts on PYTHONPATH). The two compiled .so files of pydevd are
# removed: they are built for one Python version, and pydevd runs without
# them (PYDEVD_USE_CYTHON=NO). Runs on Python 3.10 to 3.13.
set -euo pipefail
dest=${1:?usage: hack/debugpy.sh DEST}
if ! command -v apt-get >/dev/null || ! command -v dpkg-deb >/dev/null; then
	# Not Debian: skiff builds, and debugs every runtime but Python.
	echo "debugpy.sh: no apt-get or dpkg-deb here, so no Python debug support files in $dest; skiff debug will name them missing for Python containers (or set debug-helpers-registry)" >&2
	exit 0
fi
packages=(python3-debugpy python3-pydevd python3-bytecode)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && apt-get download "${packages[@]}" >/dev/null 2>&1) || {
	echo "debugpy.sh: apt-get download ${packages[*]} failed; run apt-get update, or get the packages from a Debian mirror" >&2
	exit 1
}
for deb in "$work"/*.deb; do
	dpkg-deb -x "$deb" "$work/root"
done
find "$work/root" -name '*.so' -delete
rm -rf "$dest"
mkdir -p "$(dirname "$dest")"
cp -a "$work/root/usr/lib/python3/dist-packages" "$dest"
# The packages, for `make build` to tell whether they changed.
(cd "$work" && ls *.deb) >"$dest/.debian-packages"
