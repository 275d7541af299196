#!/bin/bash
# rkt run --net=default through the helper (issue 5 "Networking"): the
# helper makes the pod's netns, runs CNI (ptp + host-local 172.16.28.0/24),
# hands the netns to stage1, and tears it down when the pod exits. The
# helper runs inside a throwaway "host" network namespace (nsenter --net
# only: the mount namespace stays the host's), so the real root netns's
# links, ip_forward and iptables are never touched.
. "$(dirname "$0")/lib.sh"
if [ "$(id -u)" -ne 0 ]; then echo "1..0 # SKIP needs root"; exit 77; fi
ensure_groups_and_users
make_tree

HELPER=$BUILD/bin/rkt-privhelper
INIT=$BUILD/stage1/ns/init
SOCK=$T/sock
HLOG=$T/helper.log
NS=rkt-t-host-$$
if [ ! -x "$HELPER" ] || [ ! -x "$INIT" ]; then
	skip "rkt-privhelper or stage1/ns/init not built in $BUILD"
	done_testing
	exit $?
fi
if [ ! -x /usr/lib/cni/ptp ] || [ ! -x /usr/lib/cni/host-local ] || ! command -v ip >/dev/null; then
	skip "containernetworking-plugins or iproute2 missing"
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
mkdir -p "$T/sys/stage1/ns"
install -m 0755 "$INIT" "$T/sys/stage1/ns/init"
IMG=$T/work/imgs
mkdir -p "$IMG"
chmod 755 "$IMG"
mkaci -o "$IMG/net.aci" --name localhost/net/probe --exec "/bin/sh -c 'cat /proc/net/fib_trie'"
chmod 644 "$IMG"/*
POL=$T/pol
mkdir -p "$POL"
chmod 755 "$POL"
cat >"$POL/none-only.json" <<'JSON'
{"rktKind": "privhelper-policy", "rktVersion": "v1",
 "run": [{"groups": ["rkt"], "signedImagesOnly": false, "stage1": ["ns"], "net": ["none"], "insecureOptions": ["image"]}]}
JSON
chmod 644 "$POL"/*.json

# stage1's apps run under seccomp: no LeakSanitizer (DESIGN §13).
ASAN_OPTIONS=abort_on_error=1:detect_leaks=0 nsenter --net="/run/netns/$NS" -- "$HELPER" \
	--listen "$SOCK" --dir "$T/data" --local-config "$T/etc" --system-config "$T/sys" \
	--policy "$POL/none-only.json" 2>"$HLOG" &
HELPER_PID=$!
for _ in $(seq 100); do [ -S "$SOCK" ] && grep -q listening "$HLOG" && break; sleep 0.05; done
check "the helper listens from the throwaway host netns" test -S "$SOCK"
rp() { local u=$1; shift; ASAN_OPTIONS=abort_on_error=1:detect_leaks=0 rkt_as "$u" --privhelper-socket="$SOCK" "$@"; }
I=--insecure-options=image

OUT=$(rp root $I run --uuid-file-save="$T/work/u" --net=default "$IMG/net.aci" 2>"$T/err"); RC=$?
U=$(cat "$T/work/u" 2>/dev/null)
check "--net=default: the pod runs (exit 0)" test "$RC" -eq 0 || diag "exit $RC: $(head -5 "$T/err")"
check "…and sees an address in 172.16.28.0/24" grep -q '172\.16\.28\.' <<<"$OUT" ||
	diag "fib_trie: $(head -20 <<<"$OUT")"
check "…the pod's netns is gone after it exited" test ! -e "/run/netns/rkt-$U"
check "…its netns file and saved CNI configs are gone from the pod dir" \
	bash -c "[ ! -e '$T/data/pods/run/$U/netns' ] && [ ! -e '$T/data/pods/run/$U/net' ]"
check "…net-info.json is kept for rkt list/status of the exited pod" \
	grep -q '"netName":"default"' "$T/data/pods/run/$U/net-info.json"
check "…host-local released the lease" \
	bash -c "! grep -rqs '$U' '$T/data/cni/networks'"

OUT=$(rp root $I run --net=default "$IMG/net.aci" --exec /bin/busybox -- ping -c 1 -W 3 172.16.28.1 2>&1); RC=$?
check "the pod reaches the host side of its link (ping 172.16.28.1)" test "$RC" -eq 0 || diag "exit $RC: $(tail -3 <<<"$OUT")"

expect_fail "a member whose rule lists only net none is refused --net=default" 254 \
	'denied by policy: net "default" not allowed' rp "$U_MEMBER" $I run --net=default "$IMG/net.aci"
expect_fail "a net that net.d does not define is refused, naming it" 254 'nosuchnet' \
	rp root $I run --net=nosuchnet "$IMG/net.aci"
check "no pod netns is left behind" bash -c "! ls /run/netns | grep -Eq '^rkt-[0-9a-f]{8}-'"
check "the root netns has no ptp veth of ours" bash -c "! ip -4 addr | grep -q 'inet 172\.16\.28\.'"

done_testing
