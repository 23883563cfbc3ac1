#!/usr/bin/env bash
# bench/forward.sh: what one HTTP request through skiff's port-forward
# costs skiff (issue 16). On a copy of examples/sync (2 replicas, a free
# local port), one `skiff dev` session per binary and round; once it
# watches, one python3 process sends GETs of /version through the
# forward for SECONDS seconds, one after the other, each on a new TCP
# connection (as a browser or bench/poll.py does). Measured on the
# engine's process (the skiff-engine that `skiff dev` became), from
# /proc/PID: write and read syscalls per request (syscw, syscr of
# /proc/PID/io), CPU per request (utime + stime of /proc/PID/stat), and
# garbage collections in the window (GODEBUG=gctrace=1 lines); and the
# requests answered. The rounds alternate the binaries, so that both see
# the same machine.
# Needs the cluster (hack/cluster.sh up). Usage:
#   bench/forward.sh OLD_SKIFF NEW_SKIFF [ROUNDS]
# (each with skiff-agent next to it; ROUNDS defaults to 3, SECONDS_WINDOW,
# the seconds of requests per session, to 5.)
set -euo pipefail

[ $# -ge 2 ] || {
	echo "usage: bench/forward.sh OLD_SKIFF NEW_SKIFF [ROUNDS]" >&2
	exit 2
}
old=$(realpath "$1") new=$(realpath "$2")
rounds=${3:-3}
window=${SECONDS_WINDOW:-5}
repo=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$repo/bench/lib.sh"
bench_init
app=$work/app
log=$work/skiff.err
tool=skiff
ns=skiff-bench-forward-$$

sync_example "$app"
url=http://127.0.0.1:$port/version
new_namespace "$ns"

# field NAME FILE prints the value of the "NAME: value" line of FILE.
field() { awk -v k="$1:" '$1 == k { print $2 }' "$2"; }
# cpu_ms prints the CPU time of process $1 so far, in milliseconds.
cpu_ms() {
	local l
	read -r l <"/proc/$1/stat"
	# shellcheck disable=SC2086 # the fields after the command's name
	set -- ${l##*) }
	echo $(((${12} + ${13}) * 1000 / $(getconf CLK_TCK)))
}

# session BINARY LABEL runs one skiff dev and prints LABEL and its figures.
session() {
	local w0 r0 c0 g0 n w1 r1 c1 g1
	: >"$log"
	(cd "$app" && GODEBUG=gctrace=1 exec "$1" dev -n "$ns" --port-forward=user --cache-file "$work/cache") </dev/null >/dev/null 2>"$log" &
	pid=$!
	wait_log '^Watching for changes\.\.\.$' 0 300
	python3 "$repo/bench/poll.py" --body 'v' --timeout 60 "$url" >/dev/null || fail "$url did not answer"
	sleep 1
	w0=$(field syscw "/proc/$pid/io") r0=$(field syscr "/proc/$pid/io") c0=$(cpu_ms "$pid") g0=$(grep -c '^gc ' "$log" || true)
	n=$(python3 - "$url" "$window" <<'EOF_PY'
import http.client, sys, time, urllib.parse
u = urllib.parse.urlsplit(sys.argv[1])
end, n = time.monotonic() + float(sys.argv[2]), 0
while time.monotonic() < end:
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    c.request("GET", u.path, headers={"Connection": "close"})
    r = c.getresponse()
    r.read()
    c.close()
    if r.status == 200:
        n += 1
print(n)
EOF_PY
	)
	w1=$(field syscw "/proc/$pid/io") r1=$(field syscr "/proc/$pid/io") c1=$(cpu_ms "$pid") g1=$(grep -c '^gc ' "$log" || true)
	kill -INT "$pid"
	wait "$pid" || fail "skiff dev exited $? after Ctrl-C"
	pid=
	[ "$n" -gt 0 ] || fail "no request answered through the forward"
	awk -v l="$2" -v n="$n" -v w="$((w1 - w0))" -v r="$((r1 - r0))" -v c="$((c1 - c0))" -v g="$((g1 - g0))" -v s="$window" \
		'BEGIN { printf "| %s | %d | %.1f | %.1f | %.2f | %d |\n", l, n, w / n, r / n, c / n, g }'
}

session "$old" warmup >/dev/null
echo "$(date -u '+%Y-%m-%d %H:%M') UTC, load $(cut -d' ' -f1-3 /proc/loadavg); ${window} s of sequential requests per session"
echo
echo "| binary | requests answered | write syscalls / request | read syscalls / request | CPU ms / request | GCs |"
echo "|---|---|---|---|---|---|"
for _ in $(seq "$rounds"); do
	session "$old" old
	session "$new" new
done
