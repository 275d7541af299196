#!/bin/bash
# Pod lifecycle through a real helper (issue 5 "Tests"; rkt-behaviour.md §5
# gc, §6 gc/enter ABI, §10 item 51): a memory limit that OOM-kills, 20 pods
# started at once by two users, gc leaving no mount, netns or cgroup (also
# for a pod whose stage1 init was killed, so only the flavor's gc
# entrypoint can remove its cgroups), a failing gc entrypoint that does not
# keep a pod, and rkt enter when the pod ends under it.
. "$(dirname "$0")/lib.sh"
pod_suite_init init enter gc
S1=$BUILD/stage1/ns
# The pod's apps run under seccomp: LeakSanitizer cannot (DESIGN §13).
export ASAN_OPTIONS=abort_on_error=1:detect_leaks=0
BG=()
trap 'for p in "${BG[@]}"; do kill -KILL "$p" 2>/dev/null; done; stop_helper; cleanup_tree' EXIT
I=--insecure-options=image

IMG=$T/work/imgs
mkdir -p "$IMG"
chmod 755 "$IMG"
# 100 MB held in a shell variable: far past a 32M limit.
mkaci -o "$IMG/hog.aci" --name localhost/life/hog \
	--exec "/bin/sh -c 'x=\$(head -c 100000000 /dev/zero | tr \"\\000\" a); echo survived \${#x}'"
mkaci -o "$IMG/sh.aci" --name localhost/life/sh --exec "/bin/sh -c 'exit 0'"
mkaci -o "$IMG/sleep.aci" --name localhost/life/sleep --exec "/bin/sleep 100"
mkaci -o "$IMG/short.aci" --name localhost/life/short --exec "/bin/sleep 3"
chmod 644 "$IMG"/*
grant_run_policy none
check "the helper starts with a policy granting group rkt" start_helper --policy "$POL/grant.json"

state_of() { rp root status "$1" 2>/dev/null | sed -n 's/^state=//p'; }
wait_file() { local i; for i in $(seq 100); do [ -s "$1" ] && return 0; sleep 0.1; done; return 1; }
wait_running() { local i; for i in $(seq 100); do [ "$(state_of "$1")" = running ] && [ -s "$T/data/pods/run/$1/pid" ] && return 0; sleep 0.1; done; return 1; }
# cgroups_of UUID: every cgroup dir (v1 hierarchies and the v2 mount) named after the pod.
cgroups_of() { find /sys/fs/cgroup -maxdepth 8 -type d -name "*$1*" 2>/dev/null; }
no_cgroups() { local u; for u in "$@"; do [ -z "$(cgroups_of "$u")" ] || { diag "left: $(cgroups_of "$u")"; return 1; }; done; }
# (these pods run --net=none: a pinned netns would be a leak of its own)
no_netns() { local u; for u in "$@"; do [ -z "$(find /run/netns -maxdepth 1 -name "*$u*" 2>/dev/null)" ] || return 1; done; }
no_data_mounts() { ! grep -q " $T/data/" /proc/self/mountinfo; }
gone() { local u; for u in "$@"; do [ -z "$(ls -d "$T"/data/pods/*/"$u" 2>/dev/null)" ] || return 1; done; }

# ---- (a) a memory limit that OOM-kills ------------------------------------------
OUT=$(rp root $I run --net=none --uuid-file-save="$T/work/uoom" "$IMG/hog.aci" --memory=32M 2>"$T/err"); RC=$?
UOOM=$(cat "$T/work/uoom" 2>/dev/null)
check "an app allocating 100 MB under --memory=32M is OOM-killed: rkt run exits 137" [ "$RC" = 137 ] ||
	diag "exit $RC, stdout: $OUT, stderr: $(head -3 "$T/err")"
check "…it never got to print" bash -c '! grep -q survived <<<"$1"' _ "$OUT"
expect_ok "…rkt status of the pod" rp root status "$UOOM"
check "…state=exited, app-hog=137" bash -c 'grep -qx state=exited <<<"$1" && grep -qx app-hog=137 <<<"$1"' _ "$OUT"
OUT=$(rp root $I run --net=none "$IMG/hog.aci" --memory=256M 2>"$T/err"); RC=$?
check "…the same app under --memory=256M survives" bash -c '[ "$1" = 0 ] && grep -q "survived 100000000" <<<"$2"' _ "$RC" "$OUT" ||
	diag "exit $RC, stdout: $OUT, stderr: $(head -3 "$T/err")"

# ---- (b) 20 pods at once, 10 by root and 10 by a member ---------------------------
T0=$(date +%s)
PIDS=()
for n in $(seq 1 20); do
	u=root
	[ "$n" -gt 10 ] && u=$M
	user_files "$u" "$T/work/c$n.out" "$T/work/c$n.err"
	rp "$u" $I run --net=none --uuid-file-save="$T/work/c$n" "$IMG/sh.aci" --exec /bin/sh -- -c "exit $n" \
		>"$T/work/c$n.out" 2>"$T/work/c$n.err" &
	PIDS[n]=$!
done
BAD=
for n in $(seq 1 20); do
	wait "${PIDS[n]}"
	rc=$?
	[ "$rc" = "$n" ] || BAD="$BAD pod$n:exit$rc($(head -c 200 "$T/work/c$n.err"))"
done
check "20 concurrent pods all exit with their own status 1..20" [ -z "$BAD" ] || diag "$BAD"
diag "20 concurrent pods took $(($(date +%s) - T0)) s"
CU=()
for n in $(seq 1 20); do CU+=("$(cat "$T/work/c$n" 2>/dev/null)"); done
LIST=$(rp root list --full --no-legend 2>/dev/null)
all_exited() {
	local u
	for u in "${CU[@]}"; do
		[ -n "$u" ] && grep "^$u" <<<"$LIST" | grep -qw exited || { diag "$u not exited in list"; return 1; }
	done
}
check "…rkt list shows all 20 as exited" all_exited
member_status() { [ "$(rp "$M" status "${CU[12]}" | sed -n 's/^app-sh=//p')" = 13 ]; }
check "…the member's rkt status shows its pod's app status (13)" member_status

# ---- a pod whose stage1 init is killed leaves its cgroups -----------------------
wait_exited() { local _; for _ in $(seq 50); do [ "$(state_of "$1")" = exited ] && return 0; sleep 0.1; done; return 1; }
# killed_pod FILE: runs a sleep pod with a memory limit (so an app cgroup
# too), SIGKILLs its stage1 init and leaves the UUID in FILE.
killed_pod() {
	local run p1 init
	rp root $I run --net=none --uuid-file-save="$1" "$IMG/sleep.aci" --memory=64M >/dev/null 2>&1 &
	run=$!
	BG+=("$run")
	wait_file "$1"
	KU=$(cat "$1" 2>/dev/null)
	check "a sleep pod with a memory limit runs" wait_running "$KU"
	check "…its cgroups exist (v1 memory among them)" bash -c 'grep -q /memory/ <<<"$1"' _ "$(cgroups_of "$KU")"
	p1=$(cat "$T/data/pods/run/$KU/pid" 2>/dev/null)
	init=$(ps -o ppid= -p "$p1" 2>/dev/null | tr -d ' ')
	check "…its stage1 init is found" test -n "$init"
	[ -n "$init" ] && kill -KILL "$init"
	wait "$run"
	check "…after SIGKILL to the init the pod is exited" wait_exited "$KU"
	check "…and its cgroups are left behind" test -n "$(cgroups_of "$KU")"
}
killed_pod "$T/work/ukill2"
UK2=$KU
expect_ok "rkt rm of such a pod" rp root rm "$UK2"
check "…removes it and its cgroups (the flavor's gc ran)" bash -c '[ -z "$(find /sys/fs/cgroup -maxdepth 8 -type d -name "*$1*")" ] && [ -z "$(ls -d "$2"/*/"$1" 2>/dev/null)" ]' _ "$UK2" "$T/data/pods"
killed_pod "$T/work/ukill"
UK=$KU

# ---- (c) gc of all of them ------------------------------------------------------
expect_ok "rkt gc --grace-period=0s" rp root gc --grace-period=0s
check "…it collected the killed pod" like "Garbage collecting pod \"$UK\"" "$OUT"
check "…with no stage1 GC problem reported" bash -c '! grep -q "problem performing stage1 GC" <<<"$1"' _ "$ERR" || diag "$ERR"
check "…the 20 pods, the OOM pod and the killed pod are gone" gone "${CU[@]}" "$UOOM" "$UK"
check "…no mount under the data dir remains" no_data_mounts
check "…no netns entry for them" no_netns "${CU[@]}" "$UK"
check "…no cgroup dir for any of them (v1 and the v2 mount)" no_cgroups "${CU[@]}" "$UOOM" "$UK"

# A gc entrypoint that fails does not keep the pod.
rp root $I run --net=none --uuid-file-save="$T/work/ufail" "$IMG/sh.aci" >/dev/null 2>&1
UF=$(cat "$T/work/ufail" 2>/dev/null)
install -m 0755 /bin/false "$T/sys/stage1/ns/gc"
expect_ok "gc with a failing gc entrypoint" rp root gc --grace-period=0s
check "…reports rkt's stage1 GC problem" like "problem performing stage1 GC on \"$UF\"" "$ERR" || diag "$ERR"
check "…and deletes the pod all the same" gone "$UF"
check "…the helper logged it" grep -q "problem performing stage1 GC on \"$UF\"" "$HLOG"
install -m 0755 "$S1/gc" "$T/sys/stage1/ns/gc"

# ---- (d) enter and the end of the pod ---------------------------------------------
rp root $I run --net=none --uuid-file-save="$T/work/ushort" "$IMG/short.aci" >/dev/null 2>&1 &
SRUN=$!
BG+=("$SRUN")
wait_file "$T/work/ushort"
US=$(cat "$T/work/ushort" 2>/dev/null)
check "a pod whose app exits after 3 s runs" wait_running "$US"
# The moment the pod's PID 1 goes, seen from outside.
PP1=$(cat "$T/data/pods/run/$US/pid" 2>/dev/null)
(while kill -0 "$PP1" 2>/dev/null; do sleep 0.05; done; date +%s%N >"$T/work/pod-end") &
rp root enter "$US" /bin/sleep 60 >/dev/null 2>"$T/err"; RC=$?
TE=$(date +%s%N)
wait_file "$T/work/pod-end"
EL=$(((TE - $(cat "$T/work/pod-end" 2>/dev/null || echo 0)) / 1000000))
diag "enter: exit $RC, stderr: $(head -3 "$T/err")"
check "rkt enter into it exits 1 when the app (and pod) ends" [ "$RC" = 1 ]
check "…within 2 s of the pod's end (${EL} ms after it)" [ "$EL" -lt 2000 ]
wait "$SRUN"
expect_fail "rkt enter of an exited pod: rkt's message, exit 254" 254 "pod \"$US\" isn't currently running" \
	rp root enter "$US" /bin/true

# A pod that is running (locked) but has not written its pid file yet:
# enter waits for it, and gives up with exit 1 when the pod ends first.
expect_ok "root prepares a pod" rp root $I prepare --quiet "$IMG/sleep.aci"
UW=$OUT
mv "$T/data/pods/prepared/$UW" "$T/data/pods/run/$UW"
(cd "$T/data/pods/run/$UW" && exec flock -x -n . sleep 2) &
BG+=("$!")
sleep 0.3
T0=$(date +%s)
rp root enter "$UW" /bin/true >/dev/null 2>"$T/err"; RC=$?
EL=$(($(date +%s) - T0))
diag "enter: exit $RC, stderr: $(head -3 "$T/err")"
check "enter on a pod without a pid file that ends: exit 1 (${EL} s)" [ "$RC" = 1 ]
check "…soon after the pod's end" [ "$EL" -le 4 ]
check "…with rkt's message" grep -q "unable to determine the pid for pod \"$UW\"" "$T/err"

check "the helper still serves after all of it" kill -0 "$HELPER_PID"
stop_helper
done_testing
