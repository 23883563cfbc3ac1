#!/usr/bin/env bash
# bench/dev.sh: edit-to-served latency of `skiff dev` on the local cluster,
# and writes the "## skiff dev edit-to-served (issue 6)" section of
# bench/RESULTS.md (or of $RESULTS). One `skiff dev --port-forward=user`
# session on a copy of examples/sync in a fresh namespace, then:
#   - sync: EDITS times, write a unique marker into kodata/index.html (the
#     clock starts just before the write) and poll http://127.0.0.1:PORT/
#     through skiff's own port-forward until the answer has the marker.
#     Next to it, the median of skiff's "Synced 1 file to 1 pod in X" for
#     the same edits (watch batch to files written into the container).
#   - rebuild: REBUILD_EDITS times, change `const version = "v1"` in
#     main.go to a unique value and poll /version until it answers it:
#     watch, ko build + push, apply, rollout of the new pod, readiness, and
#     the forward moving to the new pod. Next to it skiff's own "Rebuilt
#     sync in X, redeployed in Y", and `go build` of the same one-line
#     change alone (ko's flags: CGO_ENABLED=0 GOOS=linux -trimpath, warm
#     cache, median of GOBUILD_RUNS), so that it reads "go build + X".
# The copy differs from examples/sync in three ways:
#   - replicas: 1 (REPLICAS overrides), so that "served" is served by
#     every replica: through the forward one sees one pod at a time. With
#     more, the served time is that of the pod the forward talks to (the
#     newest revision's), while skiff's Synced line covers them all.
#   - portForward localPort: a free port instead of 8080; the URL polled is
#     the one skiff prints ("Port forwarding ... -> http://127.0.0.1:PORT").
#   - build.tagPolicy: inputDigest, unless the example sets it already (the
#     copy is not in git: the default gitCommit policy would tag "latest").
# The build cache is a fresh file (--cache-file), so the first build is a
# real one; the Go build cache is warm. Edits are written in place (as
# `printf > file`), one at a time: the next edit waits until the previous
# one is served, skiff has printed its line, and (rebuild) the old pod is
# gone. Polls are curl runs 10 ms apart, each timing to 10 ms (lib.sh).
# The example probes readiness every second; with the default 10 s, a new
# pod whose first probe comes before the app listens is ready 10 s later.
# Ctrl-C (SIGINT to the skiff started here) ends the session; skiff's
# cleanup deletes what it deployed, then the namespace is deleted. On
# failure the same happens from the EXIT trap.
# Needs the cluster (hack/cluster.sh up), bin/skiff and bin/skiff-agent
# (make build), curl. kubectl is as in bench/run.sh ($KUBECTL, else the
# newest /usr/lib/google-cloud-sdk/bin/kubectl.1.*). SKIFF=/path/to/skiff
# times that binary instead of bin/skiff (built with make when missing,
# only when SKIFF is unset); its skiff-agent must be next to it, as make
# build puts it. RAW=FILE also writes the measurements there, one a line
# (a name, then the values: "sync_served" and "rebuild_served" in seconds,
# "sync_skiff_ms", "rebuild_skiff_ms", "redeploy_skiff_ms", "gobuild"), for
# bench/engine.sh.
# With SYNC_RULES=0 the copy has no sync rules, so its pods get no
# skiff-agent init container; only the rebuild is measured then, into the
# section "## skiff dev rebuild without sync rules (issue 6)".
# Usage: bench/dev.sh [EDITS]   (EDITS, also from the environment, defaults
# to 20; REBUILD_EDITS defaults to EDITS; GOBUILD_RUNS to 5; RESULTS to
# bench/RESULTS.md; LOG=FILE keeps skiff's stderr there; UI=1 runs skiff dev
# --ui with a follower of /v2/events, see bench/lib.sh)
set -euo pipefail

edits=${1:-${EDITS:-20}}
rebuild_edits=${REBUILD_EDITS:-$edits}
gobuild_runs=${GOBUILD_RUNS:-5}
replicas=${REPLICAS:-1}
sync_rules=${SYNC_RULES:-1}
repo=$(cd "$(dirname "$0")/.." && pwd)
results=${RESULTS:-$repo/bench/RESULTS.md}
heading="## skiff dev edit-to-served (issue 6)"
if [ "$sync_rules" = 0 ]; then
	heading="## skiff dev rebuild without sync rules (issue 6)"
	edits=0
fi
skiff=${SKIFF:-$repo/bin/skiff}
example=$repo/examples/sync
eval "$("$repo/hack/cluster.sh" env)"
export KUBECONFIG

if [ -n "${SKIFF:-}" ]; then
	skiff=$(realpath -- "$skiff")
	if [ ! -x "$skiff" ] || [ ! -x "$(dirname "$skiff")/skiff-agent" ]; then
		echo "bench: SKIFF=$SKIFF: no executable skiff with skiff-agent next to it; build both (make build) or point SKIFF at such a skiff" >&2
		exit 1
	fi
elif [ ! -x "$skiff" ] || [ ! -x "$repo/bin/skiff-agent" ]; then
	(cd "$repo" && make build >/dev/null)
fi

# shellcheck source=bench/lib.sh
. "$repo/bench/lib.sh"
kubectl=$(find_kubectl)
# medms is med of milliseconds, to the millisecond.
medms() { med "$@" | awk '{ printf "%.0f", $1 }'; }

work=$(mktemp -d)
app=$work/app
log=$work/skiff.err
tool=skiff
outlog=$work/skiff.out
ns=skiff-bench-dev-$$
pid=
nscreated=
# stop_skiff sends the skiff started here one SIGINT (Ctrl-C), unless it
# is cleaning up already (a Ctrl-C in the terminal reaches it too), and
# waits for it to clean up and exit, up to $1 seconds; then a second SIGINT
# (exit at once). It sets stopped to the seconds it took.
stop_skiff() {
	local t0 end
	t0=$(now)
	end=$((SECONDS + $1))
	grep -q '^Cleaning up' "$log" 2>/dev/null || kill -INT "$pid" 2>/dev/null || true
	while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$end" ]; do sleep 0.05; done
	if kill -0 "$pid" 2>/dev/null; then
		echo "bench: skiff did not exit within $1 s of Ctrl-C; a second Ctrl-C" >&2
		kill -INT "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || true
	pid=
	stopped=$(elapsed "$t0" "$(now)")
}
cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	stop_dashboard
	if [ -n "$pid" ]; then
		stop_skiff 150
	fi
	if [ "$rc" -ne 0 ] && [ -f "$log" ]; then
		echo "bench: failed; the end of skiff's output:" >&2
		tail -n 30 "$log" >&2
	fi
	if [ -n "${LOG:-}" ] && [ -f "$log" ]; then
		cp "$log" "$LOG"
	fi
	if [ -n "$nscreated" ]; then
		"$kubectl" delete namespace "$ns" --wait=false >/dev/null 2>&1 || true
	fi
	rm -rf "$work"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# wait_http polls the URL $1 up to $3 seconds until its body contains $2.
wait_http() {
	local body end=$((SECONDS + $3))
	while :; do
		body=$(curl -sS --max-time 5 "$1" 2>/dev/null || true)
		[[ $body == *"$2"* ]] && return 0
		[ "$SECONDS" -lt "$end" ] || fail "$1 did not answer '$2' within $3 s (last answer: ${body:0:200})"
		alive
		sleep 0.01
	done
}
# ms prints a duration as skiff prints them (output.Duration: "45ms",
# "1.23 seconds") in milliseconds.
ms() {
	case $1 in
	*ms) echo "${1%ms}" ;;
	*" seconds") awk -v s="${1% seconds}" 'BEGIN { printf "%.0f", s * 1000 }' ;;
	*s) awk -v s="${1%s}" 'BEGIN { printf "%.0f", s * 1000 }' ;; # 0s
	*) fail "unexpected duration '$1' from skiff" ;;
	esac
}
# The copy of the example.
cp -r "$example/." "$app"
port=$(free_port)
sed -i "s/^  localPort: 8080\$/  localPort: $port/" "$app/skaffold.yaml"
grep -q '^  tagPolicy:' "$app/skaffold.yaml" || sed -i 's/^build:$/build:\n  tagPolicy:\n    inputDigest: {}/' "$app/skaffold.yaml"
sed -i "s/^  replicas: 2\$/  replicas: $replicas/" "$app/k8s/deployment.yaml"
if ! grep -q "localPort: $port" "$app/skaffold.yaml" || ! grep -q "inputDigest" "$app/skaffold.yaml"; then
	fail "examples/sync/skaffold.yaml changed: update bench/dev.sh"
fi
grep -q "replicas: $replicas" "$app/k8s/deployment.yaml" || fail "examples/sync/k8s/deployment.yaml changed: update bench/dev.sh"
if [ "$sync_rules" = 0 ]; then
	sed -i '/^    # Files under kodata/,/^        strip: kodata\/$/d' "$app/skaffold.yaml"
	! grep -q 'sync:' "$app/skaffold.yaml" || fail "could not remove the sync rules from examples/sync/skaffold.yaml: update bench/dev.sh"
fi
index=$(<"$app/kodata/index.html")
main=$(<"$app/main.go")
[[ $main == *'const version = "v1"'* ]] || fail "examples/sync/main.go has no 'const version = \"v1\"': update bench/dev.sh"

# go build of a one-line change alone, as ko builds it, before skiff runs.
cp -r "$example/." "$work/gobuild"
gobuild=()
for i in $(seq 0 "$gobuild_runs"); do
	printf '%s\n' "${main/const version = \"v1\"/const version = \"go$$-$i\"}" >"$work/gobuild/main.go"
	t0=$(now)
	(cd "$work/gobuild" && CGO_ENABLED=0 GOOS=linux go build -trimpath -o "$work/gobuild.bin" .)
	[ "$i" -eq 0 ] || gobuild+=("$(elapsed "$t0" "$(now)")") # the first warms the cache
done
echo "bench: go build of a one-line change: ${gobuild[*]}" >&2

"$kubectl" create namespace "$ns" >/dev/null
nscreated=1
until "$kubectl" -n "$ns" get serviceaccount default >/dev/null 2>&1; do sleep 0.1; done

load=$(cut -d' ' -f1-3 /proc/loadavg)
echo "bench: skiff dev -n $ns in $app" >&2
: >"$log"
t0=$(now)
(cd "$app" && exec "$skiff" dev -n "$ns" --port-forward=user --cache-file "$work/cache" "${ui_args[@]}") </dev/null >"$outlog" 2>"$log" &
pid=$!
wait_log '^Watching for changes\.\.\.$' 0 300
startup=$(elapsed "$t0" "$(now)")
follow_dashboard "$log"
wait_log '^Port forwarding service/sync ' 0 30
url=$(grep -m1 '^Port forwarding service/sync ' "$log" | sed -n 's|.* -> \(http://127\.0\.0\.1:[0-9]*\).*|\1|p')
[ -n "$url" ] || fail "no http://127.0.0.1:PORT in skiff's port-forward line: $(grep -m1 '^Port forwarding' "$log")"
wait_http "$url/" "Hello from skiff dev" 60
echo "bench: serving at $url after $startup s" >&2

# Sync.
served_sync=() skiff_sync=() sync_lines=()
rebuilt0=$(count '^Rebuilt ')
for i in $(seq "$edits"); do
	marker="bench-sync-$$-$i"
	n=$(count '^Synced [0-9]')
	t0=$(now)
	printf '%s\n<p id="bench">%s</p>\n' "$index" "$marker" >"$app/kodata/index.html"
	wait_http "$url/" "$marker" 60
	served_sync+=("$(elapsed "$t0" "$(now)")")
	wait_log '^Synced [0-9]' "$n" 30
	# Let a second sync of the same edit show itself before the next edit.
	sleep 0.3
	while read -r line; do
		sync_lines+=("$line")
		skiff_sync+=("$(ms "$(sed -n 's/^Synced .* in \(.*\)$/\1/p' <<<"$line")")")
	done < <(grep -E '^Synced [0-9]' "$log" | tail -n +"$((n + 1))")
	echo "bench: sync $i of $edits: served in ${served_sync[-1]} s; skiff: ${sync_lines[-1]}" >&2
done
[ "$(count '^Rebuilt ')" -eq "$rebuilt0" ] || fail "a kodata edit rebuilt instead of syncing"
extra_syncs=$((${#skiff_sync[@]} - edits))
sync_line=$(printf '%s\n' "${sync_lines[@]}" | sed 's/ in .*//' | sort | uniq -c | sort -rn | head -n1 | sed 's/^ *[0-9]* //')

# Rebuild.
served_rebuild=() skiff_build=() skiff_deploy=() skiff_apply=() skiff_stable=()
for i in $(seq "$rebuild_edits"); do
	version="bench$$-$i"
	n=$(count '^Rebuilt ')
	t0=$(now)
	printf '%s\n' "${main/const version = \"v1\"/const version = \"$version\"}" >"$app/main.go"
	wait_http "$url/version" "$version (pod" 180
	served_rebuild+=("$(elapsed "$t0" "$(now)")")
	wait_log '^Rebuilt ' "$n" 60
	line=$(grep -E '^Rebuilt ' "$log" | tail -n1)
	[[ $line =~ ^Rebuilt\ .*\ in\ (.*),\ redeployed\ in\ (.*)$ ]] || fail "unexpected line from skiff: $line"
	skiff_build+=("$(ms "${BASH_REMATCH[1]}")")
	skiff_deploy+=("$(ms "${BASH_REMATCH[2]}")")
	# Its parts: "Deploy complete in X" (apply, prune) and "Deployments
	# stabilized in Y" (the status check: rollout until ready).
	part=$(grep -E '^Deploy complete in ' "$log" | tail -n1)
	skiff_apply+=("$(ms "${part#Deploy complete in }")")
	part=$(grep -E '^Deployments stabilized in ' "$log" | tail -n1)
	skiff_stable+=("$(ms "${part#Deployments stabilized in }")")
	echo "bench: rebuild $i of $rebuild_edits: served in ${served_rebuild[-1]} s; skiff: $line" >&2
	# The next edit starts once the old pod is gone.
	end=$((SECONDS + 120))
	while [ "$("$kubectl" -n "$ns" get pods --no-headers 2>/dev/null | wc -l)" -gt "$replicas" ]; do
		[ "$SECONDS" -lt "$end" ] || fail "the old pods did not go away within 120 s"
		sleep 0.2
	done
done
[ "$(count '^(Build of|Rebuilt .*deploy failed|Syncing .* failed|Deploy failed)')" -eq 0 ] ||
	fail "skiff reported a failure: $(grep -E '^(Build of|Rebuilt .*deploy failed|Syncing .* failed|Deploy failed)' "$log" | head -n1)"
warns=$(grep -c '^WARN' "$log" || true)

stop_skiff 150
grep -q '^Cleanup complete$' "$log" || fail "skiff did not print 'Cleanup complete' after Ctrl-C"

sync_rows=
if [ "$edits" -gt 0 ]; then
	sync_rows="| kodata/index.html edit, served (sync) | $(med "${served_sync[@]}") s | $edits |
| skiff's own \"$sync_line in X\" for those edits | $(medms "${skiff_sync[@]}") ms | ${#skiff_sync[@]} |
"
fi
raw_sync= raw_skiff_sync=
if [ "$edits" -gt 0 ]; then
	raw_sync="sync served ${served_sync[*]}; "
	raw_skiff_sync="skiff synced ${skiff_sync[*]}; "
fi
rules="kodata synced through skiff-agent"
[ "$sync_rules" = 1 ] || rules="its sync rules removed, so no skiff-agent init container"
rebuild_med=$(med "${served_rebuild[@]}")
gobuild_med=$(med "${gobuild[@]}")
build_med=$(medms "${skiff_build[@]}")
deploy_med=$(medms "${skiff_deploy[@]}")
apply_med=$(medms "${skiff_apply[@]}")
stable_med=$(medms "${skiff_stable[@]}")
over=$(awk -v a="$rebuild_med" -v b="$gobuild_med" 'BEGIN { printf "%.2f", a - b }')
cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
mem=$(awk '/^MemTotal:/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)
section=$(
	cat <<MD
$heading

$(date -u +%Y-%m-%d), $(nproc) cores ($cpu), $mem, $(go version | cut -d' ' -f3);
the local cluster (hack/cluster.sh); load average $load at the start.
\`${SKIFF:+SKIFF=$skiff }bench/dev.sh\` (EDITS=$edits REBUILD_EDITS=$rebuild_edits SYNC_RULES=$sync_rules): one
\`skiff dev --port-forward=user\` session on a copy of examples/sync (ko Go
app, FROM scratch, $rules) with replicas: $replicas,
a free localPort and inputDigest tags. Edit-to-served: from just before an
edit is written until an HTTP poll (every 10 ms, to 127.0.0.1 through
skiff's port-forward) answers the change. One edit at a time.

| what | median | edits |
|---|---|---|
$sync_rows| main.go one-line edit, /version served (rebuild + redeploy + rollout) | $rebuild_med s | $rebuild_edits |
| skiff's own "Rebuilt sync in X" (ko build + push) | $build_med ms | $rebuild_edits |
| skiff's own "redeployed in Y" (render, apply, status check) | $deploy_med ms | $rebuild_edits |
| of which "Deploy complete in" (server-side apply, prune) | $apply_med ms | $rebuild_edits |
| of which "Deployments stabilized in" (rollout until ready) | $stable_med ms | $rebuild_edits |
| \`go build\` of the same one-line change alone (ko's flags, warm cache) | $gobuild_med s | $gobuild_runs |

Rebuild edit-to-served is \`go build\` + $over s: watch debounce, image
layers and push, apply, then the new pod's start and readiness probe and
the forward moving to it. Startup (\`skiff dev\` to "Watching for
changes...", cold skiff build cache, warm Go cache): $startup s; Ctrl-C to
exit with cleanup: $stopped s. Extra Synced lines (an edit synced twice):
$extra_syncs; WARN lines from skiff: $warns.

Raw, in seconds: ${raw_sync}rebuild served
${served_rebuild[*]}; go build ${gobuild[*]}. In ms: ${raw_skiff_sync}skiff rebuilt ${skiff_build[*]}; redeployed
${skiff_deploy[*]}; applied ${skiff_apply[*]}; stabilized ${skiff_stable[*]}.
MD
)

printf '%s\n' "$section"
write_section "$results" "$heading" "$section"
if [ -n "${RAW:-}" ]; then
	printf '%s %s\n' \
		sync_served "${served_sync[*]}" sync_skiff_ms "${skiff_sync[*]}" \
		rebuild_served "${served_rebuild[*]}" rebuild_skiff_ms "${skiff_build[*]}" \
		redeploy_skiff_ms "${skiff_deploy[*]}" gobuild "${gobuild[*]}" >"$RAW"
fi
