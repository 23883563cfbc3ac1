# bench/lib.sh: helpers the bench scripts source.

# now prints the time in seconds, with nanoseconds.
now() { date +%s.%N; }
# elapsed prints the seconds from $1 to $2 (values of now), to 10 ms.
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
# median prints the median of the numbers on standard input, one a line.
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# med prints the median of its arguments.
med() { printf '%s\n' "$@" | median; }

# fail ends the script with a message.
fail() { echo "bench: $*" >&2; exit 1; }

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
