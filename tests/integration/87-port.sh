#!/bin/bash
# rkt run --port NAME:[HOSTIP:]HOSTPORT through the helper (issue 5
# "Networking", rkt-behaviour.md §8): the helper resolves NAME from the pod
# dir it wrote (appsinfo/<app>/manifest), chains CNI's portmap after the
# pod's masqueraded net, and portmap DEL removes its iptables rules when the
# pod exits. The helper runs inside a throwaway "host" network namespace, so
# the real root netns's links, ip_forward and iptables are never touched.
. "$(dirname "$0")/lib.sh"
if [ "$(id -u)" -ne 0 ]; then echo "1..0 # SKIP needs root"; exit 77; fi
ensure_groups_and_users
make_tree

HELPER=$BUILD/bin/rkt-privhelper
INIT=$BUILD/stage1/ns/init
SOCK=$T/sock
HLOG=$T/helper.log
NS=rkt-t-port-$$
if [ ! -x "$HELPER" ] || [ ! -x "$INIT" ]; then
	skip "rkt-privhelper or stage1/ns/init not built in $BUILD"
	done_testing
	exit $?
fi
for p in ptp host-local portmap; do
	if [ ! -x "/usr/lib/cni/$p" ]; then
		skip "containernetworking-plugins missing ($p)"
		done_testing
		exit $?
	fi
done
if ! command -v ip >/dev/null || ! command -v iptables-save >/dev/null || [ ! -x /bin/busybox ]; then
	skip "iproute2, iptables or busybox missing"
	done_testing
	exit $?
fi

stop_all() {
	stop_helper
	ip netns delete "$NS" 2>/dev/null
	cleanup_tree
}
trap stop_all EXIT

ip netns add "$NS"
ip netns exec "$NS" ip link set lo up
inhost() { ip netns exec "$NS" "$@"; }
mkdir -p "$T/sys/stage1/ns"
install -m 0755 "$INIT" "$T/sys/stage1/ns/init"
IMG=$T/work/imgs
mkdir -p "$IMG"
chmod 755 "$IMG"
# One answer per connection, then the pod exits.
mkaci -o "$IMG/srv.aci" --name localhost/port/srv --port http:tcp:8080 --port dns:udp:53 \
	--exec "/bin/busybox nc -l -p 8080 -e /bin/echo pod-says-hi"
chmod 644 "$IMG"/*
grant_run_policy none default

# stage1's apps run under seccomp: no LeakSanitizer (DESIGN §13).
ASAN_OPTIONS=abort_on_error=1:detect_leaks=0 nsenter --net="/run/netns/$NS" -- "$HELPER" \
	--listen "$SOCK" --dir "$T/data" --local-config "$T/etc" --system-config "$T/sys" \
	--policy "$POL/grant.json" 2>"$HLOG" &
HELPER_PID=$!
for _ in $(seq 100); do [ -S "$SOCK" ] && grep -q listening "$HLOG" && break; sleep 0.05; done
check "the helper listens from the throwaway host netns" test -S "$SOCK"
rp() { local u=$1; shift; ASAN_OPTIONS=abort_on_error=1:detect_leaks=0 rkt_as "$u" --privhelper-socket="$SOCK" "$@"; }
I=--insecure-options=image
pod_dirs() { find "$T/data/pods" -mindepth 2 -maxdepth 2 -type d 2>/dev/null | wc -l; }
UUIDS=
rules_of() { inhost iptables-save -t nat | grep -c -- "$1"; }

# serve USER HOSTIP HOSTPORT [CONNECT_IP]: runs the srv pod with --port, fetches
# its answer through HOSTIP:HOSTPORT from the host netns into $GOT, its UUID in
# $U, the rules seen while it ran in $RULES; waits for the pod's exit ($RC).
serve() {
	local u=$1 hip=$2 hport=$3 cip=${4:-$2} spec
	spec=http:$hport
	[ -n "$hip" ] && spec=http:$hip:$hport
	rm -f "$T/work/u"
	user_files "$u" "$T/work/pod.out" "$T/work/pod.err"
	rp "$u" $I run --uuid-file-save="$T/work/u" --net=default --port="$spec" "$IMG/srv.aci" \
		>"$T/work/pod.out" 2>"$T/work/pod.err" &
	local pid=$! i
	GOT= RULES= U=
	for i in $(seq 200); do
		[ -s "$T/work/u" ] && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	U=$(cat "$T/work/u" 2>/dev/null)
	UUIDS="$UUIDS $U"
	if [ -n "$U" ]; then # the pod's rules and its CNI-DN chain (named by hash)
		local all dn
		all=$(inhost iptables-save -t nat)
		dn=$(grep -- "$U" <<<"$all" | grep -o -- '-j CNI-DN-[0-9a-f]*' | head -1 | cut -c4-)
		RULES=$(grep -- "$U" <<<"$all"; [ -n "$dn" ] && grep -- "-A $dn " <<<"$all")
	fi
	for i in $(seq 50); do
		GOT=$(inhost timeout 5 busybox nc -w 2 "$cip" "$hport" </dev/null 2>/dev/null)
		[ -n "$GOT" ] && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.2
	done
	[ -n "$GOT" ] || kill "$pid" 2>/dev/null
	wait "$pid"; RC=$?
}

# ---- a served port, HOSTIP carried -------------------------------------------
serve root 127.0.0.1 8081
check "root: the pod's declared port answers on 127.0.0.1:8081 in the host netns" test "$GOT" = pod-says-hi ||
	diag "got '$GOT'; pod: $(head -3 "$T/work/pod.err"); helper: $(tail -3 "$HLOG")"
check "…the pod exits 0 after serving" test "$RC" -eq 0 || diag "exit $RC: $(head -3 "$T/work/pod.err")"
check "…portmap's DNAT rule for the pod named its UUID, host ip and port while it ran" \
	bash -c 'grep -q -- "-d 127.0.0.1/32" <<<"$1" && grep -q -- "--dports 8081" <<<"$1"' _ "$RULES" ||
	diag "rules: $RULES"
check "…the pod dir's portmap config is gone after exit" test ! -e "$T/data/pods/run/$U/net"
check "…no iptables rule of the pod is left after it exited" test "$(rules_of "$U")" = 0
OUT=$(rp root status "$U" 2>&1)
check "status of the exited pod still lists its network with the IP" \
	like '^networks=default:ip4=172\.16\.28\.[0-9]+$' "$(grep '^networks=' <<<"$OUT")" || diag "$OUT"
check "…and says exited=true" grep -qx 'exited=true' <<<"$OUT"
OUT=$(rp root list --no-legend 2>&1)
check "rkt list shows the exited pod's network" like "default:ip4=172\.16\.28\." "$(grep "^${U:0:8}" <<<"$OUT")" ||
	diag "$OUT"
NI=$T/data/pods/run/$U/net-info.json
check "net-info.json kept 0640 root:rkt" test "$(stat -c '%a %U %G' "$NI" 2>/dev/null)" = "640 root rkt" ||
	diag "$(stat -c '%a %U %G' "$NI" 2>&1)"
check "the pod's netns is gone" test ! -e "/run/netns/rkt-$U"
expect_ok "gc removes the exited pod" rp root gc --grace-period=0s
check "…and no iptables rule names it (iptables-save)" test "$(rules_of "$U")" = 0
check "…no CNI-DN chain is left" test "$(rules_of ':CNI-DN-')" = 0

# A member forwards an unprivileged port on every address.
serve "$U_MEMBER" "" 8090 127.0.0.1
check "member: --port http:8090 answers on 127.0.0.1:8090" test "$GOT" = pod-says-hi ||
	diag "got '$GOT'; pod: $(head -3 "$T/work/pod.err")"
check "…no iptables rule of the member's pod left after exit" test "$(rules_of "$U")" = 0

# ---- a pod whose session died ------------------------------------------------
# Its netns and port rules stay until rm/gc undo them, which needs the CNI
# plugins to get the helper's network capabilities.
rm -f "$T/work/u"
rp root $I run --uuid-file-save="$T/work/u" --net=default --port=http:8087 "$IMG/srv.aci" >/dev/null 2>&1 &
RUNPID=$!
U= S1=
for _ in $(seq 200); do
	U=$(cat "$T/work/u" 2>/dev/null)
	[ -n "$U" ] && S1=$(cat "$T/data/pods/run/$U/pid" 2>/dev/null)
	[ -n "$S1" ] && [ "$(rules_of "$U")" -gt 0 ] && break
	sleep 0.05
done
UUIDS="$UUIDS $U"
# The session is the nearest ancestor of the pod's pid named so.
SESS=$S1 CHAIN=()
while [ -n "$SESS" ] && [ "$SESS" -gt 1 ] && [ "$(cat "/proc/$SESS/comm" 2>/dev/null)" != rkt-privhelper- ]; do
	CHAIN+=("$SESS")
	SESS=$(awk '/^PPid:/ {print $2}' "/proc/$SESS/status" 2>/dev/null)
done
check "a running pod with a forwarded port, its session found" \
	test "$(cat "/proc/$SESS/comm" 2>/dev/null)" = rkt-privhelper-
kill -9 "$SESS" 2>/dev/null
wait "$RUNPID" 2>/dev/null
kill -9 "${CHAIN[@]}" 2>/dev/null
for _ in $(seq 100); do kill -0 "${CHAIN[0]}" 2>/dev/null || break; sleep 0.05; done
check "…its session and pod killed, its rules are still there" test "$(rules_of "$U")" -gt 0
expect_ok "gc collects the pod" rp root gc --grace-period=0s
check "…without a problem tearing down its network" bash -c '! grep -q "problem" <<<"$1"' _ "$ERR$OUT"
check "…and its rules are gone" test "$(rules_of "$U")" = 0
check "…and its netns" test ! -e "/run/netns/rkt-$U"

# ---- refusals, nothing left behind -------------------------------------------
N0=$(pod_dirs)
expect_fail "--port with --net=none is refused with rkt's message" 254 \
	"--port flag does not work with 'none' networking" rp root $I run --net=none --port=http:8082 "$IMG/srv.aci"
expect_fail "--port with --net=host is refused with rkt's message" 254 \
	"--port flag does not work with 'host' networking" rp root $I run --net=host --port=http:8082 "$IMG/srv.aci"
expect_fail "an undeclared port name is refused, naming it" 254 \
	'port name "nope" could not be found in any apps' rp root $I run --net=default --port=nope:8082 "$IMG/srv.aci"
expect_fail "…also by prepare" 254 'port name "nope" could not be found in any apps' \
	rp root $I prepare --port=nope:8082 "$IMG/srv.aci"
expect_fail "a member asking for host port 80 is refused by the helper's rule" 254 \
	'denied by policy: --port http:80: host ports below 1024' rp "$U_MEMBER" $I run --net=default --port=http:80 "$IMG/srv.aci"
expect_fail "…also by prepare" 254 'denied by policy: --port http:80' \
	rp "$U_MEMBER" $I prepare --port=http:80 "$IMG/srv.aci"
# The helper checks what it stored, not what rkt checked: a pod manifest
# with ports (no --port) passes the client unchecked.
KEY=$(rp root image list --no-legend --full 2>/dev/null | awk '/port\/srv/ {print $1; exit}')
pm() {
	printf '{"acKind":"PodManifest","acVersion":"0.8.11","apps":[{"name":"srv","image":{"name":"localhost/port/srv","id":"%s"}}],"ports":[{"name":"%s","hostPort":%s}]}' \
		"$KEY" "$1" "$2" >"$T/work/pm.json"
	chmod 644 "$T/work/pm.json"
}
pm nope 8083
expect_fail "helper: an undeclared port in a --pod-manifest is refused" 254 \
	'port name "nope" could not be found in any apps' rp root $I prepare --pod-manifest="$T/work/pm.json"
pm http 81
expect_fail "helper: a member's --pod-manifest with host port 81 is refused" 254 \
	'denied by policy: --port http:81' rp "$U_MEMBER" $I prepare --pod-manifest="$T/work/pm.json"
# A host service's port is not taken over by DNAT: the helper holds each
# forwarded port bound while the pod runs, and refuses one in use.
inhost busybox nc -l -p 8084 -e /bin/true </dev/null >/dev/null 2>&1 &
HOSTSRV=$!
for _ in $(seq 50); do inhost grep -qi ':1F94 ' /proc/net/tcp && break; sleep 0.05; done
expect_fail "a host port a host service listens on is refused, naming it" 254 \
	'--port http: host port 0.0.0.0:8084/tcp is not free on the host' \
	rp root $I run --net=default --port=http:8084 "$IMG/srv.aci"
kill "$HOSTSRV" 2>/dev/null; wait "$HOSTSRV" 2>/dev/null
check "refused requests leave no pod dir ($N0 before, $(pod_dirs) after)" test "$(pod_dirs)" = "$N0"
expect_ok "a pod prepared with --port" rp root $I prepare --quiet --port=http:8086 "$IMG/srv.aci"
UPP=$OUT
expect_fail "…is refused by run-prepared without a CNI network, with rkt's message" 254 \
	"--port flag does not work with 'none' networking" rp root run-prepared "$UPP"
check "…and stays prepared" test -d "$T/data/pods/prepared/$UPP"
expect_ok "…rm removes it" rp root rm "$UPP"
left=
for u in $UUIDS; do
	[ -e "/run/netns/rkt-$u" ] && left="$left netns:$u"
	iptables-save -t nat 2>/dev/null | grep -q -- "$u" && left="$left root-rule:$u"
done
check "none of our pods left a netns, nor a rule in the root netns" test -z "$left" || diag "$left"

done_testing
