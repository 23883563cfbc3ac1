# bench/lib.sh: helpers the bench scripts source.

# now prints the time in seconds, with nanoseconds.
now() { date +%s.%N; }
# elapsed prints the seconds from $1 to $2 (values of now), to 10 ms.
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
# elapsed_ms prints the seconds from $1 to $2 (values of now), to 1 ms.
elapsed_ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
# median prints the median of the numbers on standard input, one a line;
# the mean of the middle two has as many decimals as they have, at least 2.
median() {
	sort -n | awk '{ v[NR] = $1 }
		END {
			if (NR % 2) { print v[(NR + 1) / 2]; exit }
			d = index(v[NR / 2], ".") ? length(v[NR / 2]) - index(v[NR / 2], ".") : 0
			if (d < 2) d = 2
			printf "%." d "f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2
		}'
}

# med prints the median of its arguments.
med() { printf '%s\n' "$@" | median; }

# fail ends the script with a message.
fail() { echo "bench: $*" >&2; exit 1; }

# bench_init does what the `skiff dev` benches share, for a script that
# set repo (the repository) before sourcing this file: it sets skiff to
# $SKIFF (default bin/skiff) resolved, which must have skiff-agent next
# to it; exports the local cluster's environment (hack/cluster.sh env:
# KUBECONFIG, SKIFF_LOCAL_REGISTRY); sets kubectl (find_kubectl), work (a
# new temporary directory), pid (empty) and namespaces (none); and traps
# the exit to bench_cleanup.
bench_init() {
	skiff=$(realpath -- "${SKIFF:-$repo/bin/skiff}")
	[ -x "$skiff" ] && [ -x "$(dirname "$skiff")/skiff-agent" ] ||
		fail "$skiff: no executable skiff with skiff-agent next to it (make build, or set SKIFF)"
	local env
	env=$("$repo/hack/cluster.sh" env) || fail "hack/cluster.sh env failed: is the cluster up (hack/cluster.sh up)?"
	eval "$env"
	export KUBECONFIG SKIFF_LOCAL_REGISTRY
	kubectl=$(find_kubectl)
	work=$(mktemp -d)
	pid=
	namespaces=()
	trap bench_cleanup EXIT
	trap 'exit 130' INT TERM
}

# new_namespace NAME creates the namespace NAME, which bench_cleanup
# deletes, and waits until its default service account exists.
new_namespace() {
	"$kubectl" create namespace "$1" >/dev/null
	namespaces+=("$1")
	until "$kubectl" -n "$1" get serviceaccount default >/dev/null 2>&1; do sleep 0.1; done
}

# bench_cleanup, the exit trap of bench_init: it runs the script's
# on_cleanup function when there is one, stops the process in $pid (one
# SIGINT, then waits for it), prints the end of $log when the script
# failed, deletes the namespaces (not waiting) and the work directory, and
# exits with the script's status.
bench_cleanup() {
	local rc=$? ns
	trap - EXIT INT TERM
	if declare -F on_cleanup >/dev/null; then on_cleanup || true; fi
	if [ -n "${pid:-}" ]; then
		kill -INT "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	if [ "$rc" -ne 0 ] && [ -f "${log:-}" ]; then
		echo "bench: failed; the end of ${tool:-the tool}'s output:" >&2
		tail -n 30 "$log" >&2
	fi
	for ns in "${namespaces[@]}"; do
		"$kubectl" delete namespace "$ns" --wait=false >/dev/null 2>&1 || true
	done
	rm -rf "$work"
	exit "$rc"
}

# ms_runs N COMMAND... prints the median and the minimum wall time, in
# milliseconds, of N runs of COMMAND (a process start to its exit, output
# to /dev/null; each run must succeed).
ms_runs() {
	python3 - "$@" <<'EOF_PY'
import statistics, subprocess, sys, time
n, cmd = int(sys.argv[1]), sys.argv[2:]
ts = []
for _ in range(n):
    t = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    ts.append((time.perf_counter() - t) * 1000)
print("%.1f %.1f" % (statistics.median(ts), min(ts)))
EOF_PY
}

# The helpers below watch the process the script started: its PID is in
# $pid, its name (skiff, skaffold) in $tool, its output in the file $log.

# alive fails when the process has exited.
alive() { kill -0 "$pid" 2>/dev/null || fail "$tool exited"; }
# count prints how many lines of the process's output match the regexp $1.
count() {
	local c
	c=$(grep -cE -- "$1" "$log" 2>/dev/null) || true
	echo "${c:-0}"
}
# wait_log waits up to $3 seconds until more than $2 lines of the
# process's output match $1.
wait_log() {
	local end=$((SECONDS + $3))
	while [ "$(count "$1")" -le "$2" ]; do
		alive
		[ "$SECONDS" -lt "$end" ] || fail "no line matching '$1' from $tool within $3 s"
		sleep 0.02
	done
}

# sync_example DIR copies examples/sync (of the repository this file is
# in) into DIR, with its forward's local port changed to a free one, which
# it sets in port.
sync_example() {
	cp -r "$(dirname "${BASH_SOURCE[0]}")/../examples/sync/." "$1"
	port=$(free_port)
	sed -i "s/^  localPort: 8080\$/  localPort: $port/" "$1/skaffold.yaml"
	grep -q "localPort: $port" "$1/skaffold.yaml" || fail "examples/sync/skaffold.yaml changed: update sync_example in bench/lib.sh"
}

# free_port prints a loopback port where nothing listens.
free_port() {
	local p
	for _ in $(seq 100); do
		p=$((20000 + RANDOM % 30000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return
		fi
	done
	fail "no free port found"
}

# find_kubectl prints the kubectl to compare skiff with: $KUBECTL, else
# the newest of Debian's google-cloud-sdk kubectl packages (installed when
# missing).
find_kubectl() {
	local k=${KUBECTL:-}
	if [ -z "$k" ]; then
		k=$(ls /usr/lib/google-cloud-sdk/bin/kubectl.1.* 2>/dev/null | sort -V | tail -n1 || true)
		if [ -z "$k" ]; then
			apt-get install -y -qq kubectl >/dev/null
			k=$(ls /usr/lib/google-cloud-sdk/bin/kubectl.1.* | sort -V | tail -n1)
		fi
	fi
	echo "$k"
}

# write_section RESULTS HEADING SECTION replaces the section of RESULTS
# that starts at the line HEADING with SECTION (which starts with HEADING),
# keeping the other sections, or appends it when RESULTS has none.
write_section() {
	local results=$1 heading=$2 section=$3 tmp
	[ -f "$results" ] || printf '# Benchmark results\n\n' >"$results"
	tmp=$(mktemp)
	printf '%s\n' "$section" >"$tmp.section"
	awk -v heading="$heading" -v file="$tmp.section" '
		function emit(line) { while ((getline line < file) > 0) print line; print "" }
		$0 == heading { emit(); skip = 1; done = 1; next }
		skip && /^## / { skip = 0 }
		!skip { print }
		END { if (!done) { print ""; emit() } }
	' "$results" | cat -s >"$tmp"
	rm -f "$tmp.section"
	cat "$tmp" >"$results" # keeps the file's mode (mktemp's is 0600)
	rm -f "$tmp"
	echo "bench: wrote $heading in $results" >&2
}

# UI=1: the session runs with --ui, and a stream of /v2/events as the
# dashboard reads it (server-sent events) follows it, so that the
# dashboard's cost to skiff is in the figures. ui_args are skiff's extra
# arguments; follow_dashboard LOG starts the stream once skiff has printed
# the dashboard's address in LOG, stop_dashboard ends it.
ui_args=()
[ "${UI:-0}" = 1 ] && ui_args=(--ui)
dashboard_follower=
follow_dashboard() {
	[ "${UI:-0}" = 1 ] || return 0
	local dash
	dash=$(sed -n 's|^Serving the dashboard on \(http://127\.0\.0\.1:[0-9]*\)/$|\1|p' "$1" | head -n1)
	[ -n "$dash" ] || fail "UI=1 but skiff printed no 'Serving the dashboard on' line in $1"
	curl -sN -H 'Accept: text/event-stream' "$dash/v2/events" >/dev/null &
	dashboard_follower=$!
}
stop_dashboard() {
	if [ -n "$dashboard_follower" ]; then
		kill "$dashboard_follower" 2>/dev/null || true
		wait "$dashboard_follower" 2>/dev/null || true
		dashboard_follower=
	fi
}
