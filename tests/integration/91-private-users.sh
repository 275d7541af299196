#!/bin/bash
# rkt run / prepare --private-users through the helper (issue 5, the ns
# flavor's "--private-users adds a user namespace with a fresh uid range";
# rkt-behaviour.md "private-users"): the helper picks a free 65536-id range
# (a multiple of 65536 from 1048576 on) under a lock, records it as
# private-users-prepared, shows the app tree to the pod through an idmapped
# lower layer (or a chowned copy with --no-overlay), and the pod's PID 1 gets
# a user namespace mapping 0 to the range's start.
. "$(dirname "$0")/lib.sh"
pod_suite_init init enter gc
S1=$BUILD/stage1/ns
BG=()
kill_bg() {
	local p
	for p in "${BG[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for p in "${BG[@]}"; do wait "$p" 2>/dev/null; done
	BG=()
}
trap 'kill_bg; stop_helper; cleanup_tree' EXIT
line() { sed -n "$1p" <<<"$2"; }
shift_of() { cut -d: -f1 "$T/data/pods/$1/$2/private-users-prepared" 2>/dev/null; }
wait_file() { # wait_file PATH: it exists (non-empty) within 10 s
	local i
	for i in $(seq 200); do [ -s "$1" ] && return 0; sleep 0.05; done
	return 1
}

IMG=$T/work/imgs
mkdir -p "$IMG"
chmod 755 "$IMG"
PROBE='cat /proc/self/uid_map; cat /proc/self/gid_map; id -u; stat -c %u:%g /bin/busybox; stat -c %u:%g:%a /; echo made >/made-in-pod; stat -c %u /made-in-pod'
mkaci -o "$IMG/probe.aci" --name localhost/pu/probe --exec "/bin/sh -c '$PROBE'"
mkaci -o "$IMG/sleep.aci" --name localhost/pu/sleep --exec "/bin/sh -c 'echo up >/up; sleep 100'"
chmod 644 "$IMG"/*
grant_run_policy none host
check "the helper starts with a policy granting group rkt" start_helper --policy "$POL/grant.json"
I=--insecure-options=image

# ---- run --private-users (overlay) ---------------------------------------------------
expect_ok "root: rkt run --private-users" rp root $I run --private-users --uuid-file-save="$T/work/u1" "$IMG/probe.aci"
U1=$(cat "$T/work/u1" 2>/dev/null)
S=$(shift_of run "$U1")
diag "pod $U1 range $(cat "$T/data/pods/run/$U1/private-users-prepared" 2>/dev/null); output: $(tr '\n' '|' <<<"$OUT") $(head -3 <<<"$ERR")"
check "…private-users-prepared is SHIFT:65536, SHIFT a multiple of 65536 >= 1048576" bash -c \
	'[[ "$(cat "$1")" =~ ^([0-9]+):65536$ ]] && s=${BASH_REMATCH[1]} && [ "$s" -ge 1048576 ] && [ $((s % 65536)) -eq 0 ]' \
	_ "$T/data/pods/run/$U1/private-users-prepared"
check "…private-users-prepared is 0640" test "$(stat -c %a "$T/data/pods/run/$U1/private-users-prepared" 2>/dev/null)" = 640
check "…inside, /proc/self/uid_map is \"0 SHIFT 65536\"" like "^ *0 +$S +65536$" "$(line 1 "$OUT")"
check "…and gid_map too" like "^ *0 +$S +65536$" "$(line 2 "$OUT")"
check "…id -u is 0" test "$(line 3 "$OUT")" = 0
check "…the image's /bin/busybox is owned by 0:0 inside" test "$(line 4 "$OUT")" = 0:0
check "…/ is 0:0 and 755 inside" test "$(line 5 "$OUT")" = 0:0:755
check "…a file the app makes is owned by 0 inside" test "$(line 6 "$OUT")" = 0
UP=$(ls -d "$T"/data/pods/run/"$U1"/overlay/*/upper/* 2>/dev/null | head -1)
check "…and by SHIFT on the host (overlay upper dir)" test "$(stat -c %u:%g "$UP/made-in-pod" 2>/dev/null)" = "$S:$S"
check "…the rendered tree itself stays root's" bash -c 'for f in "$1"/tree/*/rootfs/bin/busybox; do [ "$(stat -c %u "$f")" = 0 ] || exit 1; done' _ "$T/data"
check "…no mount of the pod remains" no_pod_mounts
expect_ok "…rkt status works" rp root status "$U1"
check "…status: state=exited, app-probe=0" bash -c 'grep -qx state=exited <<<"$1" && grep -qx app-probe=0 <<<"$1"' _ "$OUT"

# ---- a member, --no-overlay --------------------------------------------------------
expect_ok "member: rkt run --private-users --no-overlay" rp "$M" $I run --private-users --no-overlay --uuid-file-save="$T/work/u2" "$IMG/probe.aci"
U2=$(cat "$T/work/u2" 2>/dev/null)
S2=$(shift_of run "$U2")
diag "pod $U2 range $S2; output: $(tr '\n' '|' <<<"$OUT") $(head -3 <<<"$ERR")"
check "…uid_map \"0 SHIFT 65536\", id 0, busybox 0:0, / 0:0 755" bash -c \
	'[[ "$1" =~ ^\ *0\ +$2\ +65536 ]] && [ "$(sed -n 3p <<<"$1")" = 0 ] && [ "$(sed -n 4p <<<"$1")" = 0:0 ] && [ "$(sed -n 5p <<<"$1")" = 0:0:755 ]' _ "$OUT" "$S2"
R2=$T/data/pods/run/$U2/stage1/rootfs/opt/stage2/probe/rootfs
check "…the copy is owned by SHIFT on the host, the made file too" bash -c \
	'[ "$(stat -c %u:%g "$1/bin/busybox")" = "$2:$2" ] && [ "$(stat -c %u "$1/made-in-pod")" = "$2" ] && [ "$(stat -c %a "$1/bin/busybox")" = 755 ]' _ "$R2" "$S2"

# ---- prepare + run-prepared, concurrent pods, enter ---------------------------------
expect_ok "member: rkt prepare --private-users" rp "$M" $I prepare --private-users "$IMG/sleep.aci"
U3=$OUT
check "…the prepared pod has its range" test -n "$(shift_of prepared "$U3")"
expect_ok "member: another prepare --private-users" rp "$M" $I prepare --private-users "$IMG/sleep.aci"
U4=$OUT
S3=$(shift_of prepared "$U3")
S4=$(shift_of prepared "$U4")
check "…two pods get different shifts ($S3, $S4)" bash -c '[ -n "$1" ] && [ -n "$2" ] && [ "$1" != "$2" ]' _ "$S3" "$S4"
user_files "$M" "$T/p3.out" "$T/p3.err" "$T/p4.out" "$T/p4.err"
rp "$M" run-prepared "$U3" >"$T/p3.out" 2>"$T/p3.err" &
BG+=($!)
rp "$M" run-prepared "$U4" >"$T/p4.out" 2>"$T/p4.err" &
BG+=($!)
check "…both run at once" bash -c 'for u in "$@"; do f=$(ls -d "'"$T"'"/data/pods/run/$u/overlay/*/upper/sleep/up 2>/dev/null); for i in $(seq 200); do [ -n "$f" ] && [ -e "$f" ] && break; sleep 0.05; f=$(ls -d "'"$T"'"/data/pods/run/$u/overlay/*/upper/sleep/up 2>/dev/null); done; [ -e "$f" ] || exit 1; done' _ "$U3" "$U4" ||
	diag "$(cat "$T/p3.err" "$T/p4.err" | head -5)"
expect_ok "enter into a running --private-users pod" rp "$M" enter "$U3" /bin/cat /proc/self/uid_map
check "…sees the pod's uid_map" like "^ *0 +$S3 +65536$" "$OUT"
expect_ok "…and is root in it" rp "$M" enter "$U4" /bin/id -u
check "…id -u = 0" test "$OUT" = 0
expect_ok "rkt stop of both" rp "$M" stop "$U3" "$U4"
kill_bg
check "…no mount of any pod remains" no_pod_mounts

# ---- net=host: /sys is the host's, read-only ----------------------------------------
expect_ok "--private-users --net=host runs (sysfs bound from the host)" rp root $I run --private-users --net=host "$IMG/probe.aci" --exec /bin/sh -- -c 'ls /sys/kernel >/dev/null && ! touch /sys/x 2>/dev/null && cat /proc/self/uid_map'
check "…with its uid_map" like "^ *0 +[0-9]+ +65536$" "$OUT"

# ---- gc --------------------------------------------------------------------------------
expect_ok "rkt gc --grace-period=0s" rp root gc --grace-period=0s
expect_ok "…a second gc collects the garbage" rp root gc --grace-period=0s
check "…leaves no pod, mount or cgroup behind" bash -c '[ -z "$(find "$1"/pods -mindepth 2 -maxdepth 2 2>/dev/null)" ] && ! grep -q "$1/pods" /proc/self/mountinfo && [ -z "$(find /sys/fs/cgroup -maxdepth 8 -type d -name "*$2*" 2>/dev/null)" ]' _ "$T/data" "$U1"

# ---- a CNI netns made outside the pod's user namespace ------------------------------------
# As 83-run-net.sh: the helper runs in a throwaway host netns, so the pod's
# ptp link and routes never touch the real host's.
NS=rkt-t-pu-$$
if [ -x /usr/lib/cni/ptp ] && [ -x /usr/lib/cni/host-local ] && command -v ip >/dev/null &&
	ip netns add "$NS"; then
	trap 'kill_bg; stop_helper; ip netns delete "$NS" 2>/dev/null; cleanup_tree' EXIT
	ip netns exec "$NS" ip link set lo up
	stop_helper
	cat >"$POL/net.json" <<EOF
{"rktKind": "privhelper-policy", "rktVersion": "v1",
 "run": [{"groups": ["rkt"], "signedImagesOnly": false, "stage1": ["ns"], "net": ["none", "default"], "insecureOptions": ["image"]}]}
EOF
	chmod 644 "$POL/net.json"
	ASAN_OPTIONS=$HELPER_ASAN_OPTIONS nsenter --net="/run/netns/$NS" -- "$HELPER" --listen "$SOCK" \
		--dir "$T/data" --local-config "$T/etc" --system-config "$T/sys" --policy "$POL/net.json" 2>"$HLOG" &
	HELPER_PID=$!
	for _ in $(seq 100); do [ -S "$SOCK" ] && grep -q listening "$HLOG" && break; sleep 0.05; done
	expect_ok "--private-users --net=default runs" rp root $I run --private-users --net=default "$IMG/probe.aci" \
		--exec /bin/sh -- -c 'cat /proc/self/uid_map; cat /proc/net/fib_trie'
	check "…in its user namespace" like "^ *0 +[0-9]+ +65536" "$(line 1 "$OUT")"
	check "…with an address in 172.16.28.0/24" grep -q '172\.16\.28\.' <<<"$OUT"
	expect_ok "…gc cleans it up" rp root gc --grace-period=0s
else
	skip "containernetworking-plugins or iproute2 missing: no CNI check"
fi

# ---- refusals unchanged elsewhere --------------------------------------------------------
expect_fail "a stage1 --private-users value that is not SHIFT:COUNT is refused" 254 "private-users" \
	"$S1/init" --net=none --private-users=0:65536 00000000-0000-4000-8000-000000000000
done_testing
