#!/usr/bin/env bash
# hack/cluster.sh up|down|env|stop|start|restart: skiff's local single-node Kubernetes cluster,
# with a plain-HTTP registry on loopback and a Docker Engine, for the demo and
# the end-to-end tests. hack/localkube/README.md explains what runs and how.
#
#   up    install what is missing (Debian packages, the localkube binary),
#         start what is not running, and return once pods can be created.
#         On a running cluster it returns at once; after a crash it restarts
#         the components that are gone.
#   down  stop everything up started and remove the pods, mounts, network
#         namespaces, links, iptables rules, routes, addresses and state it
#         made. Logs stay for debugging. Safe to run on a stopped cluster.
#   env   print `export VAR=...` lines for the cluster's kubeconfig and the
#         registry: eval "$(hack/cluster.sh env)"
#   stop|start|restart apiserver|registry
#         stop, start (and wait until it answers) or restart one component of
#         a running cluster, the processes up started and recorded in
#         $SKIFF_LOCALKUBE_STATE/pids: the fault-injection tests
#         (test/e2e/faults_test.go) take the API server or the registry away.
#
# Needs root. State and logs live in $SKIFF_LOCALKUBE_STATE
# (/var/lib/skiff-localkube); the built binary in $SKIFF_LOCALKUBE_CACHE
# (/var/cache/skiff/localkube), reused until hack/localkube changes.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LOCALKUBE_SRC=$REPO/hack/localkube
STATE=${SKIFF_LOCALKUBE_STATE:-/var/lib/skiff-localkube}
CACHE=${SKIFF_LOCALKUBE_CACHE:-/var/cache/skiff/localkube}
RUNDIR=/run/skiff-localkube
PIDS=$STATE/pids
LOGS=$STATE/logs
PKI=$STATE/pki
KUBECONFIG_FILE=$STATE/kubeconfig

# The cluster's addresses. Every server binds to loopback, but for the
# kubelet, which refuses a loopback node IP and serves on NODE_IP, a second
# address on lo that never leaves the machine.
NODE_IP=10.200.0.1
NODE_NAME=skiff-local
CONTEXT=skiff-local
SERVICE_CIDR=10.96.0.0/16
SERVICE_IP=10.96.0.1
POD_CIDR=10.88.0.0/16
POD_BRIDGE=skiff0
APISERVER_PORT=6443
ETCD_PORT=2379
ETCD_PEER_PORT=2380
CONTROLLER_MANAGER_PORT=10257
SCHEDULER_PORT=10259
KUBELET_PORT=10250
KUBELET_HEALTHZ_PORT=10248
REGISTRY=127.0.0.1:5001
# A loopback port where nothing listens: pulls from public registries are
# sent here and fail at once instead of leaving the machine.
DEAD_ENDPOINT=http://127.0.0.1:9
PAUSE_IMAGE=registry.k8s.io/pause:3.10
CONTAINERD_SOCK=$RUNDIR/containerd/containerd.sock
DOCKER_SOCK=/var/run/docker.sock
IPTABLES_COMMENT=skiff-localkube
# chromium and firefox-esr: the dashboard's browser tests (internal/ui)
# drive them headless (firefox-esr, without its recommends, on top of
# chromium: about 81 MB to download, 305 MB installed).
PACKAGES=(containerd runc containernetworking-plugins docker.io docker-registry iptables iproute2 util-linux busybox-static chromium firefox-esr)
CNI_BIN_DIR=/usr/lib/cni

export PATH=/usr/local/go/bin:/usr/local/sbin:/usr/sbin:/sbin:$PATH

log() { echo "cluster: $*" >&2; }
die() {
	echo "cluster: ERROR: $*" >&2
	exit 1
}

# ---------------------------------------------------------------- processes

pidfile() { echo "$PIDS/$1.pid"; }

# running NAME: whether the process recorded for NAME is alive and still is
# ours, not a reused PID: its program or first argument is NAME and its
# command line names this cluster's state.
running() {
	local f pid argv
	f=$(pidfile "$1")
	[ -s "$f" ] || return 1
	pid=$(<"$f")
	mapfile -d "" argv 2>/dev/null <"/proc/$pid/cmdline" || return 1
	[ ${#argv[@]} -gt 1 ] || return 1
	[ "${argv[0]##*/}" = "$1" ] || [ "${argv[1]}" = "$1" ] || return 1
	[[ "${argv[*]}" == *skiff-localkube* ]]
}

# start NAME COMMAND...: run COMMAND detached in its own session, logging to
# $LOGS/NAME.log and recording its PID.
start() {
	local name=$1
	shift
	rm -f "$(pidfile "$name")"
	echo "==== $(date -u +%FT%TZ) starting $name: $*" >>"$LOGS/$name.log"
	# fd 9 holds the lock of this script; the daemon must not keep it.
	setsid "$@" >>"$LOGS/$name.log" 2>&1 </dev/null 9>&- &
	echo $! >"$(pidfile "$name")"
}

# failed NAME WHY: report that NAME did not start, with the end of its log.
failed() {
	local name=$1 why=$2
	{
		echo "cluster: ERROR: $name did not start: $why"
		echo "cluster: last lines of $LOGS/$name.log:"
		tail -n 40 "$LOGS/$name.log" 2>/dev/null | sed 's/^/    /'
		echo "cluster: fix the cause, then run 'hack/cluster.sh up' again (it keeps what runs) or 'hack/cluster.sh down' to clean up."
	} >&2
	exit 1
}

# wait_http NAME TIMEOUT ARGS...: wait until NAME's health endpoint answers.
wait_http() {
	local name=$1 timeout=$2 out
	shift 2
	if ! out=$("$LOCALKUBE" wait-http -pid "$(<"$(pidfile "$name")")" -timeout "$timeout" "$@" 2>&1); then
		failed "$name" "$out"
	fi
}

# alive PID: whether PID runs; a zombie waiting for init to reap it does not.
alive() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	[ "${stat%% *}" != Z ]
}

# stop NAME: stop NAME's process (TERM, then KILL after 30 s).
stop() {
	local name=$1 pid i
	if running "$name"; then
		pid=$(<"$(pidfile "$name")")
		log "stopping $name (pid $pid)"
		kill -TERM "$pid" 2>/dev/null || true
		for ((i = 0; i < 300; i++)); do
			alive "$pid" || break
			sleep 0.1
		done
		if alive "$pid"; then
			log "$name (pid $pid) ignored SIGTERM for 30s; killing it"
			kill -KILL "$pid" 2>/dev/null || true
			for ((i = 0; i < 50; i++)); do
				alive "$pid" || break
				sleep 0.1
			done
		fi
	fi
	rm -f "$(pidfile "$name")"
}

# ------------------------------------------------------------------ install

install_packages() {
	local missing=() p
	for p in "${PACKAGES[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	log "installing Debian packages: ${missing[*]}"
	apt-get -q -o DPkg::Lock::Timeout=300 update >"$LOGS/apt.log" 2>&1 ||
		{ tail -n 20 "$LOGS/apt.log" >&2; die "apt-get update failed (log: $LOGS/apt.log)"; }
	DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout=300 install -y --no-install-recommends "${missing[@]}" >>"$LOGS/apt.log" 2>&1 ||
		{ tail -n 20 "$LOGS/apt.log" >&2; die "apt-get install ${missing[*]} failed (log: $LOGS/apt.log)"; }
}

# localkube_paths sets K8S_VERSION, LOCALKUBE and PAUSE_BIN: where this
# version of hack/localkube's sources is (or will be) built.
localkube_paths() {
	local hash
	K8S_VERSION=$(awk '$1 == "k8s.io/kubernetes" { print $2 }' "$LOCALKUBE_SRC/go.mod")
	[ -n "$K8S_VERSION" ] || die "$LOCALKUBE_SRC/go.mod does not require k8s.io/kubernetes"
	hash=$(cd "$LOCALKUBE_SRC" && find . -name '*.go' -o -name 'go.mod' -o -name 'go.sum' | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -c1-12)
	LOCALKUBE=$CACHE/$K8S_VERSION-$hash/localkube
	PAUSE_BIN=$CACHE/$K8S_VERSION-$hash/pause
}

# build_localkube builds LOCALKUBE and PAUSE_BIN unless they were built
# before from the same sources.
build_localkube() {
	local version=$K8S_VERSION dir tmp
	dir=$(dirname "$LOCALKUBE")
	if [ -x "$LOCALKUBE" ] && [ -x "$PAUSE_BIN" ]; then
		return 0
	fi

	command -v go >/dev/null || die "go is not installed (looked in PATH=$PATH); localkube is built from source with it"
	log "building localkube (Kubernetes $version) into $dir; the first build takes about 8 minutes on 2 cores"
	tmp=$dir.tmp.$$
	rm -rf "$tmp"
	mkdir -p "$tmp"
	local ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$version"
	ldflags+=" -X k8s.io/component-base/version.gitMajor=$(echo "$version" | cut -d. -f1 | tr -d v)"
	ldflags+=" -X k8s.io/component-base/version.gitMinor=$(echo "$version" | cut -d. -f2)"
	ldflags+=" -X k8s.io/component-base/version.gitTreeState=clean"
	if ! (cd "$LOCALKUBE_SRC" && GOWORK=off GOFLAGS="-mod=readonly -buildvcs=false" CGO_ENABLED=0 \
		go build -trimpath -ldflags "$ldflags" -o "$tmp/localkube" . &&
		GOWORK=off GOFLAGS="-mod=readonly -buildvcs=false" CGO_ENABLED=0 \
			go build -trimpath -ldflags "-s -w" -o "$tmp/pause" ./pause) >"$LOGS/build.log" 2>&1; then
		tail -n 30 "$LOGS/build.log" >&2
		rm -rf "$tmp"
		die "building localkube failed (log: $LOGS/build.log)"
	fi
	# Older builds of other versions are of no more use.
	find "$CACHE" -mindepth 1 -maxdepth 1 -not -name "$(basename "$tmp")" -exec rm -rf {} +
	mv "$tmp" "$dir"
}

# -------------------------------------------------------------------- network

iptables_guard() { # iptables_guard -A|-C|-D BRIDGE
	iptables -w 5 "$1" FORWARD -i "$2" ! -o "$2" -m comment --comment "$IPTABLES_COMMENT" -j DROP 2>/dev/null
}

setup_network() {
	if ! ip -4 addr show dev lo | grep -q " $NODE_IP/32 "; then
		ip addr add "$NODE_IP/32" dev lo
	fi
	if ! ip route show type blackhole "$SERVICE_CIDR" | grep -q .; then
		ip route add blackhole "$SERVICE_CIDR"
	fi
	# Pods, and containers on Docker's bridge, reach each other and this
	# machine but are never forwarded anywhere else.
	local bridge
	for bridge in "$POD_BRIDGE" docker0; do
		if ! iptables_guard -C "$bridge"; then
			iptables -w 5 -I FORWARD 1 -i "$bridge" ! -o "$bridge" -m comment --comment "$IPTABLES_COMMENT" -j DROP
		fi
	done
	# The CNI bridge plugin turns on IP forwarding; down restores this.
	if [ ! -f "$STATE/ip_forward.orig" ]; then
		cat /proc/sys/net/ipv4/ip_forward >"$STATE/ip_forward.orig"
	fi
}

teardown_network() {
	local bridge
	if ip link show "$POD_BRIDGE" >/dev/null 2>&1; then
		ip link delete "$POD_BRIDGE"
	fi
	for bridge in "$POD_BRIDGE" docker0; do
		while iptables_guard -C "$bridge"; do iptables_guard -D "$bridge"; done
	done
	if ip route show type blackhole "$SERVICE_CIDR" | grep -q .; then
		ip route delete blackhole "$SERVICE_CIDR"
	fi
	if ip -4 addr show dev lo | grep -q " $NODE_IP/32 "; then
		ip addr delete "$NODE_IP/32" dev lo
	fi
	if [ -f "$STATE/ip_forward.orig" ]; then
		cat "$STATE/ip_forward.orig" >/proc/sys/net/ipv4/ip_forward
		rm -f "$STATE/ip_forward.orig"
	fi
}

# ------------------------------------------------------------------- configs

# write_file PATH: replace PATH with stdin, atomically and only when it
# differs: containerd watches its CNI directory and reads files as they change.
write_file() {
	cat >"$1.tmp"
	if cmp -s "$1.tmp" "$1"; then
		rm -f "$1.tmp"
	else
		mv -f "$1.tmp" "$1"
	fi
}

write_configs() {
	mkdir -p "$STATE"/{containerd,cni/net.d,cni/ipam,kubelet/root,kubelet/volume-plugins,kubelet/pod-logs,registry/data,etcd,images}
	mkdir -p "$RUNDIR/containerd"

	write_file "$STATE/containerd/config.toml" <<EOF
# containerd for skiff's local cluster, separate from Docker's.
version = 2
root = "$STATE/containerd/root"
state = "$RUNDIR/containerd/state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]

[grpc]
  address = "$CONTAINERD_SOCK"

[plugins."io.containerd.internal.v1.opt"]
  path = "$STATE/containerd/opt"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  # This machine lacks CAP_SYS_RESOURCE: without this every sandbox fails
  # with "can't get final child's PID from pipe: EOF".
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "$RUNDIR/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$CNI_BIN_DIR"
    conf_dir = "$STATE/cni/net.d"
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "$STATE/containerd/certs.d"
EOF

	# Pulls go to the local registry; every other registry is a dead
	# loopback endpoint. Each file needs a [host] table: containerd 1.6
	# ignores a file with only `server` and falls back to the real registry.
	local host server
	for host in "$REGISTRY" docker.io registry.k8s.io _default; do
		server=$DEAD_ENDPOINT
		[ "$host" = "$REGISTRY" ] && server=http://$REGISTRY
		mkdir -p "$STATE/containerd/certs.d/$host"
		write_file "$STATE/containerd/certs.d/$host/hosts.toml" <<EOF
server = "$server"

[host."$server"]
  capabilities = ["pull", "resolve"]
EOF
	done

	# No default route in pods: they reach each other and this machine only.
	write_file "$STATE/cni/net.d/10-skiff-localkube.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "skiff-localkube",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$POD_BRIDGE",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "ranges": [[{"subnet": "$POD_CIDR"}]],
        "dataDir": "$STATE/cni/ipam"
      }
    }
  ]
}
EOF

	write_file "$STATE/registry/config.yml" <<EOF
version: 0.1
log:
  level: info
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $STATE/registry/data
  delete:
    enabled: true
http:
  addr: $REGISTRY
EOF

	echo "nameserver 127.0.0.1" | write_file "$STATE/kubelet/resolv.conf"
	write_file "$STATE/kubelet/config.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $NODE_IP
port: $KUBELET_PORT
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: $KUBELET_HEALTHZ_PORT
tlsCertFile: $PKI/kubelet-serving.crt
tlsPrivateKeyFile: $PKI/kubelet-serving.key
authentication:
  anonymous:
    enabled: false
  webhook:
    enabled: true
  x509:
    clientCAFile: $PKI/ca.crt
authorization:
  mode: Webhook
containerRuntimeEndpoint: unix://$CONTAINERD_SOCK
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
resolvConf: $STATE/kubelet/resolv.conf
volumePluginDir: $STATE/kubelet/volume-plugins
podLogsDir: $STATE/kubelet/pod-logs
# No evictions and no image garbage collection on a test machine's disk.
evictionHard:
  memory.available: "0%"
  nodefs.available: "0%"
  nodefs.inodesFree: "0%"
  imagefs.available: "0%"
imageGCHighThresholdPercent: 100
serializeImagePulls: false
# Its iptables chains serve kube-proxy, which this cluster does not run.
makeIPTablesUtilChains: false
EOF
}

# --------------------------------------------------------------- components

ensure_dockerd() {
	if "$LOCALKUBE" wait-http -unix "$DOCKER_SOCK" -url http://docker/_ping -timeout 1s >/dev/null 2>&1; then
		return 0
	fi
	running dockerd && { wait_http dockerd 60s -unix "$DOCKER_SOCK" -url http://docker/_ping; return 0; }
	log "starting dockerd"
	# No iptables rules and no IP forwarding from Docker: builds need no
	# network, and nothing in a container may reach beyond this machine.
	start dockerd dockerd --pidfile "$RUNDIR/dockerd.pid" --iptables=false --ip-forward=false
	wait_http dockerd 60s -unix "$DOCKER_SOCK" -url http://docker/_ping
}

ensure_containerd() {
	if ! running containerd; then
		log "starting containerd"
		start containerd containerd --config "$STATE/containerd/config.toml"
	fi
	local i
	for ((i = 0; i < 300; i++)); do
		ctr --address "$CONTAINERD_SOCK" version >/dev/null 2>&1 && break
		running containerd || failed containerd "the process exited"
		sleep 0.2
	done
	ctr --address "$CONTAINERD_SOCK" version >/dev/null 2>&1 || failed containerd "its socket $CONTAINERD_SOCK did not answer within 60s"
	if ! ctr --address "$CONTAINERD_SOCK" -n k8s.io images ls -q | grep -qxF "$PAUSE_IMAGE"; then
		log "importing the pause image"
		"$LOCALKUBE" pause-image -binary "$PAUSE_BIN" -tag "$PAUSE_IMAGE" -o "$STATE/images/pause.tar"
		ctr --address "$CONTAINERD_SOCK" -n k8s.io images import "$STATE/images/pause.tar" >/dev/null ||
			die "importing $PAUSE_IMAGE into containerd failed"
	fi
}

ensure_registry() {
	running docker-registry || {
		log "starting the registry on $REGISTRY"
		start docker-registry docker-registry serve "$STATE/registry/config.yml"
	}
	wait_http docker-registry 30s -url "http://$REGISTRY/v2/"
}

ensure_etcd() {
	running etcd || {
		log "starting etcd"
		# The cluster is thrown away by down, so etcd need not fsync.
		start etcd "$LOCALKUBE" etcd --name skiff-localkube --data-dir "$STATE/etcd" \
			--listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
			--listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
			--initial-cluster "skiff-localkube=http://127.0.0.1:$ETCD_PEER_PORT" --unsafe-no-fsync
	}
	wait_http etcd 60s -url "http://127.0.0.1:$ETCD_PORT/health"
}

ensure_apiserver() {
	running kube-apiserver || {
		log "starting kube-apiserver"
		start kube-apiserver "$LOCALKUBE" kube-apiserver \
			--etcd-servers "http://127.0.0.1:$ETCD_PORT" \
			--bind-address 127.0.0.1 --secure-port "$APISERVER_PORT" --advertise-address "$NODE_IP" \
			--tls-cert-file "$PKI/apiserver.crt" --tls-private-key-file "$PKI/apiserver.key" \
			--client-ca-file "$PKI/ca.crt" \
			--authorization-mode Node,RBAC \
			--service-cluster-ip-range "$SERVICE_CIDR" \
			--service-account-issuer https://kubernetes.default.svc.cluster.local \
			--service-account-key-file "$PKI/sa.pub" --service-account-signing-key-file "$PKI/sa.key" \
			--kubelet-client-certificate "$PKI/apiserver-kubelet-client.crt" --kubelet-client-key "$PKI/apiserver-kubelet-client.key" \
			--kubelet-certificate-authority "$PKI/ca.crt" --kubelet-preferred-address-types InternalIP \
			--requestheader-client-ca-file "$PKI/front-proxy-ca.crt" --requestheader-allowed-names front-proxy-client \
			--requestheader-username-headers X-Remote-User --requestheader-group-headers X-Remote-Group \
			--requestheader-extra-headers-prefix X-Remote-Extra- \
			--proxy-client-cert-file "$PKI/front-proxy-client.crt" --proxy-client-key-file "$PKI/front-proxy-client.key" \
			--allow-privileged=true
	}
	wait_http kube-apiserver 120s -url "https://127.0.0.1:$APISERVER_PORT/readyz" -cacert "$PKI/ca.crt"
}

ensure_controller_manager() {
	running kube-controller-manager || {
		log "starting kube-controller-manager"
		local kc=$PKI/controller-manager.kubeconfig
		start kube-controller-manager "$LOCALKUBE" kube-controller-manager \
			--kubeconfig "$kc" --authentication-kubeconfig "$kc" --authorization-kubeconfig "$kc" \
			--bind-address 127.0.0.1 --secure-port "$CONTROLLER_MANAGER_PORT" \
			--tls-cert-file "$PKI/controller-manager-serving.crt" --tls-private-key-file "$PKI/controller-manager-serving.key" \
			--client-ca-file "$PKI/ca.crt" --requestheader-client-ca-file "$PKI/front-proxy-ca.crt" \
			--root-ca-file "$PKI/ca.crt" --service-account-private-key-file "$PKI/sa.key" \
			--cluster-signing-cert-file "$PKI/ca.crt" --cluster-signing-key-file "$PKI/ca.key" \
			--use-service-account-credentials=true --leader-elect=false \
			--service-cluster-ip-range "$SERVICE_CIDR" \
			--flex-volume-plugin-dir "$STATE/kubelet/volume-plugins"
	}
	wait_http kube-controller-manager 60s -url "https://127.0.0.1:$CONTROLLER_MANAGER_PORT/healthz" -cacert "$PKI/ca.crt"
}

ensure_scheduler() {
	running kube-scheduler || {
		log "starting kube-scheduler"
		local kc=$PKI/scheduler.kubeconfig
		start kube-scheduler "$LOCALKUBE" kube-scheduler \
			--kubeconfig "$kc" --authentication-kubeconfig "$kc" --authorization-kubeconfig "$kc" \
			--bind-address 127.0.0.1 --secure-port "$SCHEDULER_PORT" \
			--tls-cert-file "$PKI/scheduler-serving.crt" --tls-private-key-file "$PKI/scheduler-serving.key" \
			--client-ca-file "$PKI/ca.crt" --requestheader-client-ca-file "$PKI/front-proxy-ca.crt" \
			--leader-elect=false
	}
	wait_http kube-scheduler 60s -url "https://127.0.0.1:$SCHEDULER_PORT/healthz" -cacert "$PKI/ca.crt"
}

ensure_kubelet() {
	running kubelet || {
		log "starting kubelet"
		start kubelet "$LOCALKUBE" kubelet \
			--config "$STATE/kubelet/config.yaml" --kubeconfig "$PKI/kubelet.kubeconfig" \
			--root-dir "$STATE/kubelet/root" --hostname-override "$NODE_NAME" --node-ip "$NODE_IP"
	}
	wait_http kubelet 60s -url "http://127.0.0.1:$KUBELET_HEALTHZ_PORT/healthz"
}

# ---------------------------------------------------------------- commands

cmd_up() {
	local t0=$SECONDS
	install_packages
	build_localkube
	"$LOCALKUBE" pki -dir "$PKI" -node-ip "$NODE_IP" -node-name "$NODE_NAME" -service-ip "$SERVICE_IP" \
		-server "https://127.0.0.1:$APISERVER_PORT" -context "$CONTEXT" -admin-kubeconfig "$KUBECONFIG_FILE"
	setup_network
	write_configs
	ensure_dockerd
	ensure_containerd
	ensure_registry
	ensure_etcd
	ensure_apiserver
	"$LOCALKUBE" publish-registry -kubeconfig "$KUBECONFIG_FILE" -host "$REGISTRY" -timeout 60s ||
		die "could not publish the local-registry-hosting ConfigMap (kube-apiserver log: $LOGS/kube-apiserver.log)"
	ensure_controller_manager
	ensure_scheduler
	ensure_kubelet
	local out
	out=$("$LOCALKUBE" wait-ready -kubeconfig "$KUBECONFIG_FILE" -node "$NODE_NAME" -timeout 120s 2>&1) ||
		failed kubelet "$out (the controller-manager's log is $LOGS/kube-controller-manager.log)"
	log "up in $((SECONDS - t0))s: context $CONTEXT, registry $REGISTRY; eval \"\$(hack/cluster.sh env)\" to use it"
}

# mounts_under DIR...: mount points below the given directories, deepest first.
mounts_under() {
	local d
	for d in "$@"; do
		awk -v d="$d/" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo
	done | sort -r -u
}

cmd_down() {
	local m
	# Nothing may create pods while they are removed.
	stop kubelet
	stop kube-scheduler
	stop kube-controller-manager
	remove_pods
	stop kube-apiserver
	stop etcd
	stop docker-registry
	if running dockerd; then
		stop dockerd
		# It leaves the network namespaces of its sandboxes mounted (the
		# default one once a container ran with the host's network).
		for m in $(mounts_under /run/docker/netns); do
			umount "$m" 2>/dev/null || umount -l "$m"
		done
		if ip link show docker0 >/dev/null 2>&1; then
			ip link delete docker0
		fi
	fi

	for m in $(mounts_under "$STATE" "$RUNDIR"); do
		umount "$m" 2>/dev/null || umount -l "$m"
	done
	teardown_network
	# Empty cgroups of the kubelet's pods, deepest first.
	find /sys/fs/cgroup/*/kubepods -depth -type d -exec rmdir {} + 2>/dev/null || true
	# What the kubelet and libcni keep outside the state directory whatever
	# their settings; directories only when they are empty.
	find /var/log/containers -maxdepth 1 -type l -lname "$STATE/*" -delete 2>/dev/null || true
	rm -f /var/lib/kubelet/device-plugins/kubelet.sock /var/lib/kubelet/device-plugins/kubelet_internal_checkpoint
	rmdir /var/lib/kubelet/device-plugins /var/lib/kubelet /var/log/containers /var/lib/cni/results /var/lib/cni /run/containerd/s 2>/dev/null || true

	rm -rf "$RUNDIR"
	find "$STATE" -mindepth 1 -maxdepth 1 -not -name logs -not -name lock -exec rm -rf {} +
	log "down"
}

# remove_pods removes every pod sandbox through the CRI, which also removes
# their network namespaces, veths and mounts, and then stops containerd. It
# starts containerd for that if containerd died while pods were left.
remove_pods() {
	local before=() ns p i
	if [ -d "$RUNDIR/containerd/state" ] && [ -f "$STATE/containerd/config.toml" ]; then
		if ! running containerd; then
			start containerd containerd --config "$STATE/containerd/config.toml"
			for ((i = 0; i < 150; i++)); do
				ctr --address "$CONTAINERD_SOCK" version >/dev/null 2>&1 && break
				sleep 0.2
			done
		fi
		for ns in /run/netns/cni-*; do
			[ -e "$ns" ] && before+=("${ns##*/}")
		done
		if [ ! -x "$LOCALKUBE" ]; then
			log "warning: $LOCALKUBE is gone, so pods cannot be removed through the CRI; removing what is left by hand"
		elif ! "$LOCALKUBE" cri-cleanup -endpoint "unix://$CONTAINERD_SOCK" -timeout 90s; then
			log "warning: removing pods through the CRI failed; removing what is left by hand"
		fi
	fi
	stop containerd
	# containerd's shims outlive it by design; stop those of our containerd.
	for p in /proc/[0-9]*; do
		if tr '\0' ' ' 2>/dev/null <"$p/cmdline" | grep -q -- "-address $CONTAINERD_SOCK"; then
			kill -KILL "${p#/proc/}" 2>/dev/null || true
		fi
	done
	# Network namespaces of this cluster's pods that the CRI did not remove.
	for ns in "${before[@]}"; do
		if [ -e "/run/netns/$ns" ]; then
			log "removing leftover network namespace $ns"
			ip netns delete "$ns"
		fi
	done
}

# component NAME: the process that hack/cluster.sh stop|start|restart NAME
# acts on.
component() {
	case "${1:-}" in
	apiserver) echo kube-apiserver ;;
	registry) echo docker-registry ;;
	*) die "unknown component '${1:-}': stop, start and restart take apiserver or registry" ;;
	esac
}

cmd_stop() {
	stop "$(component "${1:-}")"
}

cmd_start() {
	component "${1:-}" >/dev/null
	case "$1" in
	apiserver) ensure_apiserver ;;
	registry) ensure_registry ;;
	esac
}

cmd_restart() {
	cmd_stop "${1:-}"
	cmd_start "$1"
}

cmd_env() {
	echo "export KUBECONFIG=$KUBECONFIG_FILE"
	echo "export SKIFF_LOCAL_REGISTRY=$REGISTRY"
}

main() {
	case "${1:-}" in
	env)
		cmd_env
		return
		;;
	up | down) ;;
	stop | start | restart)
		component "${2:-}" >/dev/null
		[ -s "$KUBECONFIG_FILE" ] || die "hack/cluster.sh $1 $2: the cluster is not up ($KUBECONFIG_FILE is missing): run hack/cluster.sh up first"
		;;
	*)
		echo "usage: hack/cluster.sh up|down|env|stop|start|restart [apiserver|registry]" >&2
		exit 2
		;;
	esac
	localkube_paths
	[ "$(id -u)" -eq 0 ] || die "hack/cluster.sh $1 needs root: it installs packages, adds an address to lo and starts containerd and the kubelet"
	mkdir -p "$STATE" "$PIDS" "$LOGS"
	# One up or down at a time.
	exec 9>"$STATE/lock"
	flock -w 900 9 || die "another hack/cluster.sh has held $STATE/lock for 15 minutes"
	"cmd_$1" "${@:2}"
}

main "$@"
