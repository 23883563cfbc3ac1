#!/bin/sh
# Prints this fixture's dependencies as a custom artifact's
# dependencies.command would.
case "$1" in
ok) printf '["a.txt", "dir", "gone.txt", "%s/a.txt", "%s"]\n' "$PWD" "$EXTRA" ;;
bad-json) echo 'a.txt dir' ;;
fail) echo 'cannot reach the build server' >&2; exit 3 ;;
esac
