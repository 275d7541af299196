#!/bin/bash
# rkt stop and rkt enter through the helper (issue 5; rkt-behaviour.md
# §1.3, §5 "stop", §6 enter ABI, §10 items 50-51). Pods are prepared
# through a real helper, then started the way the helper's run path does:
# moved to run/, locked, and the ns flavor's init run in the pod dir.
. "$(dirname "$0")/lib.sh"
pod_suite_init init enter
# The pod's apps run under seccomp: LeakSanitizer cannot (DESIGN §13).
export ASAN_OPTIONS=abort_on_error=1:detect_leaks=0
M_UID=$(id -u "$M")
A=$U_ADMIN
A_UID=$(id -u "$A")

# Pods still running at the end are killed (their init is our child).
POD_PIDS=()
kill_pods() {
	local p
	for p in "${POD_PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
	for p in "${POD_PIDS[@]}"; do wait "$p" 2>/dev/null; done
	POD_PIDS=()
}
trap 'kill_pods; stop_helper; cleanup_tree' EXIT
pod_dir() { echo "$T/data/pods/$1/$2"; }

# start_pod UUID: what the helper's run path does for a prepared pod: to
# run/, each app's rendered tree copied under stage1/rootfs/opt/stage2 (with
# an os-release to read back), the pod dir flock'ed around stage1's init.
# Sets POD_PID (init's host-side process) and waits for the pod's pid file.
start_pod() {
	local u=$1 d a tid i
	[ -n "$u" ] || return 1
	mv "$(pod_dir prepared "$u")" "$(pod_dir run "$u")" || return 1
	d=$(pod_dir run "$u")
	for a in $(ls "$d/appsinfo"); do
		tid=$(cat "$d/appsinfo/$a/treeStoreID")
		mkdir -p "$d/stage1/rootfs/opt/stage2/$a"
		cp -a "$T/data/tree/$tid/rootfs" "$d/stage1/rootfs/opt/stage2/$a/rootfs" || return 1
		printf 'NAME="Pod OS %s"\nID=podos\n' "$a" >"$d/stage1/rootfs/opt/stage2/$a/rootfs/etc/os-release"
	done
	(cd "$d" && exec flock -x -n . "$T/sys/stage1/ns/init" --net=host "$u" \
		>"$T/pod-$u.out" 2>"$T/pod-$u.err") &
	POD_PID=$!
	POD_PIDS+=("$POD_PID")
	for i in $(seq 100); do
		[ -s "$d/pid" ] && [ -s "$d/stage1/rootfs/rkt/pids/$(ls "$d/appsinfo" | head -1)" ] && return 0
		kill -0 "$POD_PID" 2>/dev/null || break
		sleep 0.05
	done
	diag "pod $u did not start: $(cat "$T/pod-$u.err")"
	return 1
}
# pod_wait PID SECONDS: the pod's init ended within SECONDS; its status in POD_RC.
pod_wait() {
	local i
	for i in $(seq $(($2 * 20))); do
		if ! kill -0 "$1" 2>/dev/null; then
			wait "$1"
			POD_RC=$?
			return 0
		fi
		sleep 0.05
	done
	return 1
}
state_of() { rp root status "$1" 2>/dev/null | sed -n 's/^state=//p'; }

# ---- images ----------------------------------------------------------------------
IMG=$T/work/imgs
mkdir -p "$IMG"
chmod 755 "$IMG"
mkaci -o "$IMG/sleeper.aci" --name localhost/stop/sleeper --exec '/bin/sleep 100'
mkaci -o "$IMG/stubborn.aci" --name localhost/stop/stubborn \
	--exec "/bin/sh -c 'trap \"\" TERM; while :; do sleep 1; done'"
chmod 644 "$IMG"/*
POL=$T/pol
mkdir -p "$POL"
chmod 755 "$POL"
cat >"$POL/grant.json" <<EOF
{"rktKind": "privhelper-policy", "rktVersion": "v1",
 "run": [{"groups": ["rkt"], "stage1": ["ns"], "signedImagesOnly": false,
          "insecureOptions": ["image"]}]}
EOF
chmod 644 "$POL"/*.json
check "the helper starts with a grant for group rkt" start_helper --policy "$POL/grant.json"

prep() { # prep USER ARGS...: prepares a pod; its UUID in OUT
	local u=$1
	shift
	OUT=$(rp "$u" --insecure-options=image prepare "$@" 2>"$T/err") || {
		diag "prepare failed: $(cat "$T/err")"
		return 1
	}
}

# ---- stop ---------------------------------------------------------------------------
check "root prepares a sleep 100 pod" prep root "$IMG/sleeper.aci"
U1=$OUT
check "…and it runs" start_pod "$U1"
P1=$POD_PID
check "…rkt status says running" [ "$(state_of "$U1")" = running ]
expect_fail "a member cannot stop root's pod" 254 \
	"stop: denied by policy: pod $U1 belongs to uid 0, not uid $M_UID" rp "$M" stop "$U1"
check "…the pod still runs" kill -0 "$P1"
T0=$(date +%s)
expect_ok "root stops it" rp root stop "$U1"
check "…printing the quoted UUID" [ "$OUT" = "\"$U1\"" ]
check "…the pod ended" pod_wait "$P1" 5
check "…well within the grace period, with status 0" bash -c '[ $(($(date +%s) - $1)) -lt 8 ] && [ "$2" = 0 ]' _ "$T0" "$POD_RC"
check "…the app's status was recorded as 0" [ "$(cat "$(pod_dir run "$U1")/stage1/rootfs/rkt/status/sleeper" 2>/dev/null)" = 0 ]
check "…rkt status says exited" [ "$(state_of "$U1")" = exited ]
expect_ok "stop of an exited pod succeeds" rp root stop "$U1"
check "…saying it is already stopped, nothing on stdout" bash -c \
	'[ -z "$1" ] && grep -q "pod \"$2\" is already stopped" <<<"$3"' _ "$OUT" "$U1" "$ERR"

check "a prepared pod" prep root "$IMG/sleeper.aci"
expect_fail "…cannot be stopped: it is not running" 254 "pod \"$OUT\" is not running" rp root stop "$OUT"

check "a member prepares a pod that ignores SIGTERM" prep "$M" "$IMG/stubborn.aci"
U2=$OUT
check "…and it runs" start_pod "$U2"
P2=$POD_PID
expect_fail "another member (rkt-admin) cannot stop it" 254 \
	"stop: denied by policy: pod $U2 belongs to uid $M_UID, not uid $A_UID" rp "$A" stop "$U2"
T0=$(date +%s)
expect_ok "its owner stops it with --force" rp "$M" stop --force "$U2"
check "…printing the quoted UUID" [ "$OUT" = "\"$U2\"" ]
check "…the pod was killed at once" pod_wait "$P2" 3
check "…rkt status says exited" [ "$(state_of "$U2")" = exited ]
check "…in well under the grace period" bash -c '[ $(($(date +%s) - $1)) -lt 5 ]' _ "$T0"

check "a pod that ignores SIGTERM, stopped without --force" prep root "$IMG/stubborn.aci"
U3=$OUT
check "…runs" start_pod "$U3"
P3=$POD_PID
printf '%s' "$U3" >"$T/work/uuid3"
T0=$(date +%s)
expect_ok "stop --uuid-file waits, then kills it" rp root stop --uuid-file="$T/work/uuid3"
check "…printing the quoted UUID" [ "$OUT" = "\"$U3\"" ]
check "…the pod ended" pod_wait "$P3" 5
check "…after about the 10 s grace period" bash -c 'e=$(($(date +%s) - $1)); [ "$e" -ge 9 ] && [ "$e" -lt 25 ]' _ "$T0"
expect_fail "stop --uuid-file of a missing file exits 1" 1 "" rp root stop --uuid-file="$T/work/nope"

# ---- enter --------------------------------------------------------------------------
check "a member prepares a pod whose app runs as uid 1000" \
	prep "$M" "$IMG/sleeper.aci" --user=1000 --group=1000
U4=$OUT
check "…and it runs" start_pod "$U4"
P4=$POD_PID
expect_ok "enter runs hostname inside the pod" rp "$M" enter "$U4" /bin/hostname
check "…the pod's hostname" [ "$OUT" = "rkt-$U4" ]
expect_ok "enter runs cat /etc/os-release inside the app's root" rp "$M" enter "$U4" /bin/cat /etc/os-release
check "…the app's file, not the host's" like '^NAME="Pod OS sleeper"' "$OUT"
expect_ok "enter runs id as the app's user" rp "$M" enter --app=sleeper "$U4" id
check "…uid=1000 gid=1000" like '^uid=1000 gid=1000' "$OUT"
expect_ok "enter sees the pod's processes from inside its pid namespace" rp "$M" enter "$U4" /bin/ps -o pid,args
check "…sleep 100 among them" like 'sleep 100' "$OUT"
check "…no host processes (no rkt-privhelper)" bash -c '! grep -q rkt-privhelper <<<"$1"' _ "$OUT"
enter_stdin() { echo from-stdin | rp "$M" enter "$U4" /bin/cat; }
expect_ok "enter passes stdin through" enter_stdin
check "…it comes back on stdout" [ "$OUT" = from-stdin ]
enter_stdin_dir() { rp "$M" enter "$U4" /bin/cat </; }
expect_fail "enter with a directory as stdin is refused, naming it" 254 "enter: the stdin handed to the helper is a directory" \
	enter_stdin_dir
rp "$M" enter "$U4" /bin/sh -c 'exit 7' >/dev/null 2>&1
check "enter exits with the command's status" [ $? -eq 7 ]
expect_fail "an unknown app name is refused" 254 "has no app named \"nope\"" \
	rp "$M" enter --app=nope "$U4" /bin/true
expect_fail "another user cannot enter it" 254 \
	"enter: denied by policy: pod $U4 belongs to uid $M_UID, not uid $A_UID" rp "$A" enter "$U4" /bin/true
expect_fail "a missing command fails inside the pod" 254 'Unable to open "/bin/nope"' \
	rp "$M" enter "$U4" /bin/nope
check "the pod is still running after all that" kill -0 "$P4"
expect_ok "its owner stops it" rp "$M" stop "$U4"
check "…and it ends" pod_wait "$P4" 5
expect_fail "enter of an exited pod is refused" 254 "pod \"$U4\" isn't currently running" \
	rp "$M" enter "$U4" /bin/true

check "root prepares a pod with two apps" prep root "$IMG/sleeper.aci" "$IMG/sleeper.aci" --name=second
U5=$OUT
check "…and it runs" start_pod "$U5"
P5=$POD_PID
expect_fail "enter without --app is refused" 254 "pod has multiple apps, specify one with --app" \
	rp root enter "$U5" /bin/true
expect_ok "enter --app=second works" rp root enter --app=second "$U5" /bin/cat /etc/os-release
check "…in that app's root" like 'NAME="Pod OS second"' "$OUT"
expect_fail "…with rkt's message" 254 'no command specified, assuming "/bin/bash"' \
	rp root enter --app=second "$U5" </dev/null
expect_ok "root stops the two-app pod" rp root stop "$U5"
check "…and it ends" pod_wait "$P5" 5

# ---- a pod started by rkt run (item 50) -------------------------------------------
wait_file() { local i; for i in $(seq 100); do [ -s "$1" ] && return 0; sleep 0.1; done; return 1; }
wait_running() { local i; for i in $(seq 100); do [ "$(state_of "$1")" = running ] && return 0; sleep 0.1; done; return 1; }
if "$RKT_BIN" help run >/dev/null 2>&1; then
	rp root --insecure-options=image run --uuid-file-save="$T/work/ur" "$IMG/sleeper.aci" \
		>/dev/null 2>"$T/run.err" &
	RUNPID=$!
	wait_file "$T/work/ur"
	UR=$(cat "$T/work/ur" 2>/dev/null)
	check "rkt run starts a sleep 100 pod" wait_running "$UR"
	expect_ok "enter works on it" rp root enter "$UR" /bin/hostname
	check "…inside the pod" [ "$OUT" = "rkt-$UR" ]
	expect_ok "stop works on it" rp root stop "$UR"
	check "…printing the quoted UUID" [ "$OUT" = "\"$UR\"" ]
	wait "$RUNPID"
	check "…and rkt run exits 0" [ $? -eq 0 ]
	check "…the pod is exited" [ "$(state_of "$UR")" = exited ]
else
	skip "rkt run is not built: no run-started pod"
fi

check "the helper still serves after all of it" kill -0 "$HELPER_PID"
stop_helper
done_testing
