#!/bin/bash
# Pod networking (issue 5, DESIGN §8): the helper's CNI driver
# (privhelper/session/net.c) through $BUILD/tests/net-driver, and the ns
# stage1 joining the netns it prepares (--netns=PATH). Everything runs in a
# throwaway "host" netns so the real root netns's links, ip_forward and
# iptables are never touched (platform-recipes §4).
. "$(dirname "$0")/lib.sh"

DRIVER=$BUILD/tests/net-driver
INIT=$BUILD/stage1/ns/init
CNI=/usr/lib/cni
BUSYBOX=/bin/busybox
if [ "$(id -u)" -ne 0 ]; then echo "1..0 # SKIP needs root"; exit 77; fi
for f in "$DRIVER" "$INIT" "$CNI/ptp" "$CNI/bridge" "$CNI/host-local"; do
	[ -x "$f" ] || { echo "1..0 # SKIP $f missing (make unit-tests; apt-get install containernetworking-plugins)"; exit 77; }
done
command -v ip >/dev/null && command -v iptables >/dev/null || { echo "1..0 # SKIP needs iproute2 and iptables"; exit 77; }
[ -x "$BUSYBOX" ] || { echo "1..0 # SKIP needs busybox-static"; exit 77; }
# Pod apps run under seccomp: LeakSanitizer cannot (DESIGN §13).
export ASAN_OPTIONS=abort_on_error=1:detect_leaks=0

T=$(mktemp -d -p /run rkt-net.XXXXXX)
chmod 755 "$T"
HOSTNS=rkt-it-host-$$
ip netns add "$HOSTNS"
HOSTNS_PATH=/run/netns/$HOSTNS
cleanup() {
	[ -n "${KEEP:-}" ] && { diag "kept $T and netns $HOSTNS"; return; }
	for p in "$T"/pod*; do [ -d "$p" ] && inhost "$DRIVER" "$T/data" "$T/etc" "$CNI" teardown "$p" >/dev/null 2>&1; done
	ip netns delete "$HOSTNS" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
inhost() { nsenter --net="$HOSTNS_PATH" "$@"; }
inhost ip link set lo up
root_fwd=$(cat /proc/sys/net/ipv4/ip_forward)
mkdir -p "$T/data" "$T/etc/net.d" "$T/etc-bad/net.d"

# A busybox rootfs for stage1 pods.
BASE=$T/base
mkdir -p "$BASE/bin" "$BASE/etc"
cp "$BUSYBOX" "$BASE/bin/busybox"
for a in $("$BUSYBOX" --list); do [ "$a" = busybox ] || ln -s busybox "$BASE/bin/$a"; done
printf 'root:x:0:0:root:/:/bin/sh\n' >"$BASE/etc/passwd"
printf 'root:x:0:\n' >"$BASE/etc/group"

N=0
newuuid() { cat /proc/sys/kernel/random/uuid; }
# mkpod: a fresh pod dir $POD (uuid $UUID) whose one app runs sh -c "$1";
# its image declares port http (tcp 8080); $2: the pod's `ports` (JSON list).
mkpod() {
	N=$((N + 1)); POD=$T/pod$N; UUID=$(newuuid)
	"$PY" - "$POD" "$1" "$BASE" "${2:-[]}" <<'PYEOF'
import json, os, subprocess, sys
d, script, base, ports = sys.argv[1:5]
img = {"acKind": "ImageManifest", "acVersion": "0.8.11", "name": "example.com/app",
       "labels": [{"name": "os", "value": "linux"}, {"name": "arch", "value": "amd64"}],
       "app": {"exec": ["/bin/sh", "-c", script], "user": "0", "group": "0",
               "ports": [{"name": "http", "protocol": "tcp", "port": 8080}]}}
os.makedirs(f"{d}/appsinfo/app")
json.dump(img, open(f"{d}/appsinfo/app/manifest", "w"))
os.makedirs(f"{d}/stage1/rootfs/opt/stage2/app")
subprocess.run(["cp", "-a", base, f"{d}/stage1/rootfs/opt/stage2/app/rootfs"], check=True)
json.dump({"acKind": "PodManifest", "acVersion": "0.8.11",
           "apps": [{"name": "app", "image": {"name": img["name"], "id": "sha512-" + "1" * 64}}],
           "ports": json.loads(ports)},
          open(f"{d}/pod", "w"))
PYEOF
}
# setup NETS...: net_setup on $POD; stdout in $OUT, exit status in $RC.
setup() { OUT=$(inhost "$DRIVER" "$T/data" "${ETC:-$T/etc}" "$CNI" setup "$UUID" "$POD" "$@" 2>&1); RC=$?; }
teardown() { OUT=$(inhost "$DRIVER" "$T/data" "${ETC:-$T/etc}" "$CNI" teardown "$POD" 2>&1); RC=$?; }
runinit() { OUT=$(cd "$POD" && timeout -k 5 60 nsenter --net="$HOSTNS_PATH" "$INIT" "$@" "$UUID" 2>&1); RC=$?; }
info() { "$PY" -c 'import json,sys; e=json.load(open(sys.argv[1]))[int(sys.argv[2])]; print(e[sys.argv[3]])' "$POD/net-info.json" "$@" 2>/dev/null; }
want() { # want DESCRIPTION RC PATTERN
	if [ "$RC" -eq "$2" ] && { [ -z "$3" ] || printf '%s' "$OUT" | grep -qE -- "$3"; }; then ok "$1"; else not_ok "$1"; diag "exit $RC (want $2): $(printf '%s' "$OUT" | head -8)"; fi
}
nat_rules() { inhost iptables -t nat -S POSTROUTING | grep -c -- "$1"; }

# ---- default: ptp, masquerade, host-local in <dir>/cni ----------------------
mkpod 'ip -4 addr show eth0 | grep -o "inet [0-9.]*/24"; ping -c 1 -W 2 172.16.28.1 >/dev/null && echo ping-ok; cat /proc/net/dev | sed -n "3,\$p" | cut -d: -f1 | tr -d " " | sort | tr "\n" " "'
setup default
want "--net=default: net_setup succeeds and prints the netns path" 0 "^/run/netns/rkt-$UUID\$"
NS=/run/netns/rkt-$UUID
check "pod netns file records the path" [ "$(cat "$POD/netns" 2>/dev/null)" = "$NS" ]
IP=$(info 0 ip)
check "net-info.json: default on eth0 via ptp, ip $IP in 172.16.28.0/24" \
	[ "$(info 0 netName)/$(info 0 ifName)/$(info 0 pluginPath)/$(info 0 mask)" = "default/eth0/$CNI/ptp/255.255.255.0" ]
check "ip is 172.16.28.x" like '^172\.16\.28\.[0-9]+$' "$IP"
check "host-local lease under <dir>/cni/networks/default" [ -f "$T/data/cni/networks/default/$IP" ]
check "ipMasq: a CNI MASQUERADE chain for the pod in the host netns" [ "$(nat_rules "$UUID")" -ge 1 ]
check "ip_forward set in the (throwaway) host netns, root's untouched" \
	[ "$(inhost cat /proc/sys/net/ipv4/ip_forward)" = 1 -a "$(cat /proc/sys/net/ipv4/ip_forward)" = "$root_fwd" ]
runinit --net=default --netns="$NS"
want "stage1 --netns: the app has eth0 with $IP/24" 0 "^inet $IP/24\$"
want "stage1 --netns: the app pings the host side 172.16.28.1" 0 '^ping-ok$'
want "stage1 --netns: interfaces are eth0 and lo" 0 '^eth0 lo $'
teardown
want "teardown succeeds" 0 ''
check "teardown: netns file gone" [ ! -e "$NS" ]
check "teardown: lease released" [ ! -e "$T/data/cni/networks/default/$IP" ]
check "teardown: MASQUERADE chain removed" [ "$(nat_rules "$UUID")" = 0 ]
check "teardown: pod's netns and net/ removed" [ ! -e "$POD/netns" -a ! -e "$POD/net" ]
check "teardown: net-info.json kept (rkt list/status of an exited pod), ip $IP" [ "$(info 0 ip)" = "$IP" ]
teardown
want "teardown again: idempotent" 0 ''

# A netns deleted behind our back: DEL still cleans up the lease.
mkpod true
setup default
IP=$(info 0 ip)
umount "/run/netns/rkt-$UUID"; rm -f "/run/netns/rkt-$UUID"
teardown
want "teardown with the netns already gone succeeds" 0 ''
check "... and releases the lease" [ ! -e "$T/data/cni/networks/default/$IP" ]

# A setup cut short before net-info.json: the saved configs still get DEL.
mkpod true
setup default
IP=$(info 0 ip)
rm -f "$POD/net-info.json"
teardown
want "teardown without net-info.json succeeds" 0 ''
check "... and releases the lease from the saved config" [ ! -e "$T/data/cni/networks/default/$IP" -a ! -e "/run/netns/rkt-$UUID" ]

# The capabilities net.h documents are enough (the session keeps only them).
if command -v setpriv >/dev/null; then
	mkpod true
	OUT=$(inhost setpriv --bounding-set -all,+sys_admin,+net_admin,+net_raw --inh-caps=-all \
		"$DRIVER" "$T/data" "$T/etc" "$CNI" setup "$UUID" "$POD" default 2>&1); RC=$?
	want "setup with only CAP_SYS_ADMIN, CAP_NET_ADMIN, CAP_NET_RAW" 0 "^/run/netns/rkt-$UUID\$"
	OUT=$(inhost setpriv --bounding-set -all,+sys_admin,+net_admin,+net_raw --inh-caps=-all \
		"$DRIVER" "$T/data" "$T/etc" "$CNI" teardown "$POD" 2>&1); RC=$?
	want "teardown with the same capabilities" 0 ''
	check "... netns removed" [ ! -e "/run/netns/rkt-$UUID" ]
else
	skip "setpriv not installed"
fi

# ---- --port: portmap chained after the masqueraded net ---------------------
mkpod true '[{"name": "http", "hostPort": 18080, "hostIP": "127.0.0.1"}]'
setup default
want "--port: setup with portmap succeeds" 0 "^/run/netns/rkt-$UUID\$"
IP=$(info 0 ip)
DN=$(inhost iptables-save -t nat | grep -- "$UUID" | grep -o -- '-j CNI-DN-[0-9a-f]*' | head -1 | cut -c4-)
check "--port: a CNI-HOSTPORT-DNAT rule names the pod" [ -n "$DN" ]
check "--port: its chain forwards 127.0.0.1:18080 to $IP:8080" \
	bash -c 'inhost() { nsenter --net="$1" "${@:2}"; }; inhost "$1" iptables-save -t nat | grep -- "-A $2 " | grep -- "-d 127.0.0.1/32" | grep -q -- "--to-destination $3:8080"' _ "$HOSTNS_PATH" "$DN" "$IP"
check "--port: portmap config saved for DEL" [ -f "$POD/net/portmap-eth0.json" ]
teardown
want "--port: teardown" 0 ''
check "--port: no rule names the pod, its chain is gone" \
	[ "$(inhost iptables-save -t nat | grep -c -- "$UUID")" = 0 -a "$(inhost iptables-save -t nat | grep -c -- ":$DN ")" = 0 ]
check "--port: net/ gone, net-info.json kept" [ ! -e "$POD/net" -a "$(info 0 ip)" = "$IP" ]
setup none
want "--port with --net=none refused by the helper" 254 "--port flag does not work with 'none' networking"
check "... no netns left" [ ! -e "/run/netns/rkt-$UUID" ]
mkpod true '[{"name": "nope", "hostPort": 18081}]'
setup default
want "--port: an undeclared name is refused" 254 'port name "nope" could not be found in any apps'
check "... nothing left" [ ! -e "/run/netns/rkt-$UUID" -a ! -e "$POD/net-info.json" -a ! -e "$POD/netns" ]
mkpod true '[{"name": "http", "hostPort": 80}]'
printf '1000\n' >"$POD/owner"
setup default
want "--port: host port 80 of a pod owned by uid 1000 is refused" 254 'denied by policy: --port http:80'
printf '0\n' >"$POD/owner"
setup default
want "--port: ... and allowed for a root-owned pod" 0 "^/run/netns/rkt-$UUID\$"
teardown
want "... teardown" 0 ''

# ---- none and host ---------------------------------------------------------
mkpod true
setup none
want "--net=none: a netns" 0 "^/run/netns/rkt-$UUID\$"
NS=/run/netns/rkt-$UUID
links=$(nsenter --net="$NS" ip -o link show | awk -F': ' '{print $2}' | tr '\n' ' ')
check "--net=none: only lo [$links]" [ "$links" = "lo " ]
check "--net=none: lo is up" nsenter --net="$NS" sh -c 'ip -o link show lo | grep -q "<LOOPBACK,UP"'
check "--net=none: net-info.json is []" [ "$(cat "$POD/net-info.json" 2>/dev/null)" = "[]" ]
teardown
want "--net=none: teardown" 0 ''
check "--net=none: netns removed" [ ! -e "$NS" ]

mkpod true
setup host
check "--net=host: no netns path [$OUT]" [ "$RC" = 0 -a -z "$OUT" ]
check "--net=host: no pod netns file, no netns" [ ! -e "$POD/netns" -a ! -e "/run/netns/rkt-$UUID" ]
teardown
want "--net=host: teardown is a no-op" 0 ''

# ---- a named bridge net from net.d ----------------------------------------
cat >"$T/etc/net.d/10-itbr.conf" <<JSON
{ "name": "itbr", "type": "bridge", "bridge": "rktitbr0", "isGateway": true,
  "ipam": { "type": "host-local", "subnet": "10.88.7.0/24", "dataDir": "$T/user-leases" } }
JSON
mkpod 'ip -4 addr show eth1 | grep -o "inet [0-9.]*/24"; ping -c 1 -W 2 10.88.7.1 >/dev/null && echo ping-ok'
setup default "itbr:IgnoreUnknown=1"
want "--net=default,itbr: both added" 0 "^/run/netns/rkt-$UUID\$"
NS=/run/netns/rkt-$UUID
check "net-info.json: itbr on eth1, bridge plugin, 10.88.7.x" \
	[ "$(info 1 netName)/$(info 1 ifName)/$(info 1 pluginPath)" = "itbr/eth1/$CNI/bridge" ]
BRIP=$(info 1 ip)
check "itbr ip $BRIP in 10.88.7.0/24" like '^10\.88\.7\.[0-9]+$' "$BRIP"
check "itbr CNI args kept in net-info.json" [ "$(info 1 args)" = IgnoreUnknown=1 ]
check "net.d's dataDir ignored: lease under <dir>/cni/networks/itbr" \
	[ -f "$T/data/cni/networks/itbr/$BRIP" -a ! -e "$T/user-leases" ]
runinit --net=default,itbr --netns="$NS"
want "stage1: the app has eth1 $BRIP and pings the bridge gateway" 0 "^inet $BRIP/24
ping-ok\$"
teardown
want "itbr: teardown" 0 ''
check "itbr: lease released, netns gone" [ ! -e "$T/data/cni/networks/itbr/$BRIP" -a ! -e "$NS" ]
inhost ip link delete rktitbr0 2>/dev/null

# ---- rkt list shows what net-info.json records ------------------------------
UUID=$(newuuid); POD=$T/data/pods/prepared/$UUID
mkdir -p "$POD" "$T/sys"
printf '{"acKind":"PodManifest","acVersion":"0.8.11","apps":[]}' >"$POD/pod"
setup default "itbr"
IP=$(info 0 ip); BRIP=$(info 1 ip)
OUT=$("$RKT_BIN" --dir="$T/data" --local-config="$T/etc" --system-config="$T/sys" list --no-legend 2>&1); RC=$?
want "rkt list NETWORKS: default:ip4=$IP, itbr:ip4=$BRIP" 0 "default:ip4=$IP, itbr:ip4=$BRIP"
teardown
want "teardown of the listed pod" 0 ''
rm -rf "$T/data/pods"
inhost ip link delete rktitbr0 2>/dev/null

# ---- refused configs, nothing left behind ---------------------------------
cat >"$T/etc-bad/net.d/20-evil.conf" <<'JSON'
{ "name": "evil", "type": "../../bin/sh" }
JSON
mkpod true
ETC=$T/etc-bad setup evil
want "type ../../bin/sh refused naming the file and key" 254 "20-evil.conf: key \"type\""
check "refused: no netns, no pod files" [ ! -e "/run/netns/rkt-$UUID" -a ! -e "$POD/netns" -a ! -e "$POD/net-info.json" ]
printf '{ "name": "evil", "type": "ptp", "ipam": { "type": "/bin/sh" } }' >"$T/etc-bad/net.d/20-evil.conf"
ETC=$T/etc-bad setup evil
want "ipam.type /bin/sh refused naming the key" 254 "20-evil.conf: key \"ipam.type\""

setup nosuchnet
want "an undefined net is refused by name" 254 'network "nosuchnet": not defined'
check "undefined net: no netns left" [ ! -e "/run/netns/rkt-$UUID" ]
setup default "itbr:bad arg"
want "bad CNI args refused" 254 'bad character in CNI args'
setup none default
want "none cannot be combined" 254 'cannot be combined'
# A plugin failing mid-way: the earlier nets are undone.
printf '{ "name": "broken", "type": "bridge", "bridge": "rktitbr1", "ipam": { "type": "host-local", "subnet": "not-a-subnet" } }' >"$T/etc/net.d/30-broken.conf"
setup default broken
want "a failing ADD is reported with the plugin's message" 254 'network "broken": CNI ADD'
check "failing ADD: default's lease released, netns gone" \
	[ -z "$(find "$T/data/cni/networks/default" -name '172.*' 2>/dev/null)" -a ! -e "/run/netns/rkt-$UUID" -a ! -e "$POD/net-info.json" ]
rm -f "$T/etc/net.d/30-broken.conf"
inhost ip link delete rktitbr1 2>/dev/null

mkpod true
runinit --net=host --netns=/run/netns/whatever
want "stage1: --netns with --net=host refused" 254 'netns cannot be used with --net=host'
runinit --net=default --netns="$T/nope"
want "stage1: a missing --netns path fails the pod" 254 'failed to setup network'

done_testing
