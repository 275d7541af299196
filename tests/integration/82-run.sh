#!/bin/bash
# rkt run / run-prepared through the helper (issue 5 "Flow"): the helper
# prepares (or takes a prepared) pod, mounts its apps, runs the ns stage1
# with the client's stdio and streams the pod's result back; signals and a
# vanished client stop the pod; the pod ends in run/ unlocked (exited).
. "$(dirname "$0")/lib.sh"
pod_suite_init init
trap 'stop_helper; cleanup_tree' EXIT
IMG=$T/work/imgs
mkdir -p "$IMG"
chmod 755 "$IMG"
mkaci -o "$IMG/echo.aci" --name localhost/run/echo --exec "/bin/echo hello from a pod"
mkaci -o "$IMG/three.aci" --name localhost/run/three --exec "/bin/sh -c 'sleep 1; echo three; exit 3'"
mkaci -o "$IMG/sleep.aci" --name localhost/run/sleep --exec "/bin/sleep 100"
mkaci -o "$IMG/rootfs.aci" --name localhost/run/rootfs \
	--exec '/bin/sh -c "echo $(/bin/busybox grep -c \" - overlay \" /proc/self/mountinfo):$(stat -c %a /)"'
mkaci -o "$IMG/seccomp.aci" --name localhost/run/seccomp --exec "/bin/busybox grep ^Seccomp_filters: /proc/self/status"
chmod 644 "$IMG"/*
grant_run_policy none
check "the helper starts with a policy granting group rkt" start_helper --policy "$POL/grant.json"
I=--insecure-options=image

rc_of "rkt run: one app, its output on stdout, exit 0" 0 "hello from a pod" \
	rp root $I run --uuid-file-save="$T/work/u1" "$IMG/echo.aci"
U1=$(cat "$T/work/u1" 2>/dev/null)
check "…--uuid-file-save written with the pod's UUID" like "^[0-9a-f-]{36}$" "$U1"
check "…the pod sits in run/ unlocked (exited)" test -d "$T/data/pods/run/$U1"
expect_ok "…rkt status works" rp root status "$U1"
check "…status: state=exited, app-echo=0" bash -c 'grep -qx state=exited <<<"$1" && grep -qx app-echo=0 <<<"$1"' _ "$OUT"
check "…no mount of the pod remains" no_pod_mounts

rc_of "rkt run: an app exiting 3 makes rkt exit 3" 3 "three" rp root $I run "$IMG/three.aci"
OUT2=$(rp root $I run --uuid-file-save="$T/work/u2" "$IMG/echo.aci" "$IMG/three.aci" 2>"$T/err"); RC2=$?
diag "two-app pod: exit $RC2, stderr: $(head -3 "$T/err")"
check "two apps: both outputs, the failing app's status wins (3)" bash -c \
	'[ "$1" = 3 ] && grep -qx "hello from a pod" <<<"$2" && grep -qx three <<<"$2"' _ "$RC2" "$OUT2"
expect_ok "…status of the two-app pod" rp root status "$(cat "$T/work/u2")"
check "…app-echo=0 and app-three=3" bash -c 'grep -qx app-echo=0 <<<"$1" && grep -qx app-three=3 <<<"$1"' _ "$OUT"

OUT=$(printf 'echo read from stdin\n' | rp root $I run --interactive "$IMG/echo.aci" --exec /bin/sh 2>"$T/err"); RC=$?
check "--interactive: the app reads rkt's stdin" test "$RC:$OUT" = "0:read from stdin" || diag "exit $RC: $OUT $(head -3 "$T/err")"

# Root without a listening helper: rkt starts a session for this one command
# (the stage1 gets the session's sanitizer settings: no LeakSanitizer).
OUT=$(ASAN_OPTIONS=abort_on_error=1:detect_leaks=0 rkt_as root $I --privhelper-socket="$T/nosock" \
	run "$IMG/echo.aci" 2>"$T/err"); RC=$?
check "root runs a pod without a helper daemon" test "$RC:$OUT" = "0:hello from a pod" || diag "exit $RC: $OUT $(head -3 "$T/err")"

# ---- prepare + run-prepared ---------------------------------------------------
expect_ok "prepare a pod" rp root $I prepare --quiet "$IMG/echo.aci"
UP=$OUT
rc_of "run-prepared runs it: output and exit 0" 0 "hello from a pod" rp root run-prepared "$UP"
expect_ok "…status after run-prepared" rp root status "$UP"
check "…state=exited, app-echo=0" bash -c 'grep -qx state=exited <<<"$1" && grep -qx app-echo=0 <<<"$1"' _ "$OUT"
expect_ok "prepare a pod that prints its seccomp mode" rp root $I prepare --quiet "$IMG/seccomp.aci"
rc_of "run-prepared --insecure-options=seccomp: only the helper's floor filter, not the pod's" 0 "Seccomp_filters:	1" \
	rp root --insecure-options=seccomp run-prepared "$OUT"
expect_ok "a member prepares the same" rp "$M" $I prepare --quiet "$IMG/seccomp.aci"
UMS=$OUT
expect_fail "…but may not run it with --insecure-options=seccomp" 254 'denied by policy: .*seccomp' \
	rp "$M" --insecure-options=seccomp run-prepared "$UMS"
rc_of "…and without it the pod's filter is there too" 0 "Seccomp_filters:	2" rp "$M" run-prepared "$UMS"
rc_of "rkt run: the app's / is an overlay with the image's mode" 0 "1:755" rp root $I run "$IMG/rootfs.aci"
OUT=$(rp root $I run --no-overlay "$IMG/rootfs.aci" 2>"$T/err")
check "…and a copy with the image's mode with --no-overlay" bash -c \
	'[ "$1" = 0:755 ]' _ "$OUT" || diag "got '$OUT' $(head -2 "$T/err")"
expect_ok "prepare --no-overlay" rp root $I prepare --quiet --no-overlay "$IMG/rootfs.aci"
UNO=$OUT
check "…marks the pod as a copy (no overlay-prepared)" test ! -e "$T/data/pods/prepared/$UNO/overlay-prepared"
OUT=$(rp root run-prepared "$UNO" 2>"$T/err")
check "…and run-prepared keeps it a copy" test "$OUT" = 0:755 || diag "got '$OUT' $(head -2 "$T/err")"
expect_fail "run-prepared on a pod that is not prepared" 254 "pod \"$UP\" is not prepared" \
	rp root run-prepared "$UP"

# ---- members ------------------------------------------------------------------
rc_of "a member granted by the policy runs a pod" 0 "hello from a pod" rp "$M" $I run "$IMG/echo.aci"
# The pod's root could reopen its stdio through /proc/self/fd with root's
# rights: a member hands over only stdio it may use anyway.
run_stdout_to() { local f=$1; shift; "$@" >"$f"; }
# (a directory can only be opened for reading: 1< makes it stdout)
run_stdout_dir() { local d=$1; shift; "$@" 1<"$d"; }
run_stdin_from() { local f=$1; shift; "$@" <"$f"; }
expect_fail "a member's pod with a directory as stdout is refused, naming it" 254 \
	"run: the stdout handed to the helper is a directory; a pod's stdio from uid $(id -u "$M") must be" \
	run_stdout_dir / rp "$M" $I run "$IMG/echo.aci"
expect_fail "…and with a root-owned file as stdin" 254 "the stdin handed to the helper is a file the caller does not own" \
	run_stdin_from /etc/hostname rp "$M" $I run "$IMG/echo.aci"
touch "$T/member-out" && chown "$M" "$T/member-out"
expect_ok "…a file the member owns is fine" run_stdout_to "$T/member-out" rp "$M" $I run "$IMG/echo.aci"
check "…and gets the app's output" [ "$(cat "$T/member-out")" = "hello from a pod" ]
rc_of "root may hand over any file" 0 "" run_stdout_to "$T/root-out" rp root $I run "$IMG/echo.aci"
check "…and its pod writes to it" [ "$(cat "$T/root-out")" = "hello from a pod" ]
expect_ok "root prepares a pod" rp root $I prepare --quiet "$IMG/echo.aci"
UR=$OUT
expect_fail "a member cannot run-prepared root's prepared pod" 254 "denied|not the owner|owner" \
	rp "$M" run-prepared "$UR"
check "…the pod stays prepared" test -d "$T/data/pods/prepared/$UR"
expect_fail "--net=none with another net is refused clearly" 254 "--net=none cannot be combined" \
	rp root $I run --net=none,default "$IMG/echo.aci"
NPREP=$(ls "$T/data/pods/prepared" | wc -l)
expect_fail "a stage1 flavor the helper lacks is refused, naming it" 254 'stage1 flavor "nosuch" is not installed' \
	rp root $I run --stage1-name=nosuch "$IMG/echo.aci"
check "…and no pod was prepared for it" test "$(ls "$T/data/pods/prepared" | wc -l)" -eq "$NPREP"
NRUN=$(ls "$T/data/pods/run" | wc -l)
expect_fail "a member cannot turn the pod's isolation off with --insecure-options" 254 \
	'denied by policy: .*(seccomp|capabilities)' rp "$M" --insecure-options=image,seccomp,capabilities run "$IMG/echo.aci"
check "…and no pod ran for it" test "$(ls "$T/data/pods/run" | wc -l)" -eq "$NRUN"
expect_fail "a net the policy does not grant is refused for a member" 254 'denied by policy: .*net "host"' \
	rp "$M" $I run --net=host "$IMG/echo.aci"
# rkt's bare --net is --net=default (pflag NoOptDefVal): it never takes the
# next argument, so the image stays the image (and "default" is refused here).
expect_fail "bare --net means --net=default, not the next argument" 254 'denied by policy: .*net "default"' \
	rp "$M" $I run --net "$IMG/echo.aci"
expect_ok "a member prepares a pod for run-prepared --net" rp "$M" $I prepare --quiet "$IMG/echo.aci"
UMN=$OUT
expect_fail "…bare --net before the UUID is --net=default too" 254 'denied by policy: .*net "default"' \
	rp "$M" run-prepared --net "$UMN"
expect_fail "a --dns that is not an IP is refused clearly" 254 "--dns=bogus: not an IP address" \
	rp root $I run --dns=bogus "$IMG/echo.aci"

# ---- stopping -----------------------------------------------------------------
wait_file() { local i; for i in $(seq 100); do [ -s "$1" ] && return 0; sleep 0.1; done; return 1; }
pod_running() { rp root status "$1" 2>/dev/null | grep -qx state=running; }
wait_running() { local i; for i in $(seq 100); do pod_running "$1" && return 0; sleep 0.1; done; return 1; }
rm -f "$T/work/us"
rp root $I run --uuid-file-save="$T/work/us" "$IMG/sleep.aci" >/dev/null 2>&1 &
RUNPID=$!
wait_file "$T/work/us"
US=$(cat "$T/work/us")
check "a sleep 100 pod is running" wait_running "$US"
# rkt_as wraps rkt in timeout/setpriv: signal rkt itself.
kill -TERM "$(pgrep -f -n -- "uuid-file-save=$T/work/us")"
SECONDS=0
wait "$RUNPID"
RCS=$?
check "SIGTERM to rkt run stops the pod quickly (rkt exited $RCS after ${SECONDS}s)" test "$SECONDS" -lt 30
expect_ok "…status" rp root status "$US"
check "…the pod is exited" like "state=exited" "$OUT"
check "…no mount of the pod remains" no_pod_mounts

rm -f "$T/work/uk"
rp root $I run --uuid-file-save="$T/work/uk" "$IMG/sleep.aci" >/dev/null 2>&1 &
RUNPID=$!
wait_file "$T/work/uk"
UK=$(cat "$T/work/uk")
check "another sleep 100 pod is running" wait_running "$UK"
kill -KILL "$(pgrep -f -n -- "uuid-file-save=$T/work/uk")"
wait "$RUNPID" 2>/dev/null
stopped() { local i; for i in $(seq 150); do pod_running "$1" || return 0; sleep 0.1; done; return 1; }
check "killing the client (SIGKILL) stops the pod" stopped "$UK"
expect_ok "…status" rp root status "$UK"
check "…the pod is exited" like "state=exited" "$OUT"
check "no mount of any pod remains" no_pod_mounts

expect_ok "rkt gc --grace-period=0" rp root gc --grace-period=0
# gc marks exited pods (exited-garbage) and sweeps in one run; a pod marked
# in the same clock tick as the sweep starts is left for the next run.
rp root gc --grace-period=0 >/dev/null 2>&1
check "…removes the exited pods" bash -c '[ ! -e "$1/run/$2" ] && [ ! -e "$1/exited-garbage/$2" ] && [ ! -e "$1/run/$3" ]' _ "$T/data/pods" "$U1" "$UK"
stop_helper
check "the helper logged no protocol violation" bash -c '! grep -q "closing the connection" "$1"' _ "$HLOG" || diag "$(grep "closing" "$HLOG" | head -3)"
done_testing
