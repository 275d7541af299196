#!/bin/bash
# The listener's spare session (privhelper/listener/main.c, spare_start):
# once a session ends it keeps one session exec'd and waiting, hands it the
# next connection, and drops it after 10 s unused. Still one fresh exec per
# connection (DESIGN §2 rule 5), and the spare reads config and policy only
# once it has its connection, so a policy changed while it waited applies.
. "$(dirname "$0")/lib.sh"
pod_suite_init init
trap 'stop_helper; cleanup_tree' EXIT
IMG=$T/work/imgs
mkdir -p "$IMG"
chmod 755 "$IMG"
mkaci -o "$IMG/echo.aci" --name localhost/spare/echo --exec "/bin/echo hello from a pod"
chmod 644 "$IMG"/*
grant_run_policy none
cp "$POL/grant.json" "$POL/policy.json"
echo '{"rktKind": "privhelper-policy", "rktVersion": "v1"}' >"$POL/none.json"
chmod 644 "$POL"/*.json
check "the helper starts with a policy granting group rkt" start_helper --policy "$POL/policy.json"
I=--insecure-options=image

# spares: the pids of the listener's children waiting as spares.
spares() { pgrep -P "$HELPER_PID" -f -- '--await-fd=3'; }
# wait_spares N: up to 5 s for exactly N spares.
wait_spares() {
	local i
	for i in $(seq 100); do
		[ "$(spares | wc -l)" -eq "$1" ] && return 0
		sleep 0.05
	done
	return 1
}

check "no spare before the first connection" test -z "$(spares)"
rc_of "a member's pod runs (a session of its own)" 0 "hello from a pod" rp "$M" $I run "$IMG/echo.aci"
check "…once that session ended, one spare waits" wait_spares 1
SP=$(spares)
check "…it holds stdio and its handoff socket only" bash -c \
	'[ "$(ls /proc/$1/fd | sort -n | tr "\n" " ")" = "0 1 2 3 " ] &&
	 [ "$(readlink /proc/$1/fd/3 | cut -d: -f1)" = socket ]' _ "$SP"
# code_mapped PID: every executable mapping of the process (the session, libc
# and the other libraries; not [vsyscall]) is resident in full: the spare
# read it while it waited (common/prefault.c, prefault_code_until).
code_mapped() {
	awk '/^[0-9a-f]+-[0-9a-f]+ / { perm = $2; name = $6 }
	     /^Size:/ { size = $2 }
	     /^Rss:/ { if (perm ~ /^r.x/ && name != "[vsyscall]") { n++; if ($2 != size) bad++ } }
	     END { exit !(n >= 3 && !bad) }' "/proc/$1/smaps"
}
if ldd "$BUILD/bin/rkt-privhelper-session" | grep -q libasan; then
	skip "a spare reads its code while it waits (not under ASan: its shadow memory is the first touch)"
else
	check "…while it waited it read all of its code (the program and its libraries)" \
		bash -c 'for i in $(seq 40); do '"$(declare -f code_mapped)"'; code_mapped "$1" && exit 0; sleep 0.05; done; exit 1' _ "$SP"
fi
rc_of "the next pod runs in that spare" 0 "hello from a pod" rp "$M" $I run "$IMG/echo.aci"
check "…which is gone (one connection each), and one new spare waits" \
	bash -c '! kill -0 "$1" 2>/dev/null && [ "$(pgrep -P "$2" -f -- --await-fd=3 | wc -l)" -eq 1 ]' \
	_ "$SP" "$HELPER_PID"
for _ in 1 2 3; do rp root status --wait-ready=0 nonexistent >/dev/null 2>&1; done
check "three more connections: still exactly one spare" wait_spares 1

# The policy is read when the connection arrives, not when the spare started.
wait_spares 1
SP=$(spares)
mv "$POL/none.json" "$POL/policy.json.new" && mv "$POL/policy.json.new" "$POL/policy.json"
expect_fail "a grant revoked while the spare waited is refused" 254 \
	"denied by policy: only root may run pods" rp "$M" $I run "$IMG/echo.aci"
check "…and it was the spare that answered" bash -c '! kill -0 "$1" 2>/dev/null' _ "$SP"
cp "$POL/grant.json" "$POL/policy.json.new" && mv "$POL/policy.json.new" "$POL/policy.json"
wait_spares 1
rc_of "the grant restored: the member's pod runs again" 0 "hello from a pod" rp "$M" $I run "$IMG/echo.aci"

# A spare that died is not handed a connection.
wait_spares 1
SP=$(spares)
kill -9 "$SP"
rc_of "a killed spare: the next pod still runs" 0 "hello from a pod" rp "$M" $I run "$IMG/echo.aci"
check "…no connection was dropped" bash -c '! grep -q "connection dropped" "$1"' _ "$HLOG"
check "…and the helper's log names the killed spare" \
	grep -q "spare session pid $SP killed by signal 9 (Killed)" "$HLOG"

# A session killed while it serves cannot log; the listener says it.
if [ -x "$BUILD/tests/ipc-probe" ]; then
	wait_spares 1
	SP=$(spares)
	"$BUILD/tests/ipc-probe" --socket "$SOCK" --dir "$T/data" --local-config "$T/etc" \
		--system-config "$T/sys" hold 3 6b1e0c3a-7f0e-4a8e-9d3c-2f1b5e6a7c80 >"$T/work/hold.out" 2>&1 &
	HOLD=$!
	sleep 1
	kill -USR1 "$SP"
	wait "$HOLD"
	check "a session killed mid-connection: its client is told the helper closed it" \
		grep -q "closed the connection" "$T/work/hold.out"
	check "…and the helper's log names it and the signal" \
		grep -q "rkt-privhelper: session pid $SP killed by signal 10 (User defined signal 1)" "$HLOG"
else
	skip "a session killed mid-connection (ipc-probe not built in $BUILD)"
fi

# Unused for 10 s, the spare goes: an idle helper is the listener alone.
wait_spares 1
sleep 11
check "after 10 s unused no spare is left" wait_spares 0
check "…and none comes back by itself" bash -c 'sleep 1; [ -z "$(pgrep -P "$1" -f -- --await-fd=3)" ]' _ "$HELPER_PID"
rc_of "the helper still serves" 0 "hello from a pod" rp "$M" $I run "$IMG/echo.aci"

wait_spares 1
SP=$(spares)
stop_helper
check "stopping the helper ends its spare" bash -c 'for i in $(seq 40); do kill -0 "$1" 2>/dev/null || exit 0; sleep 0.05; done; exit 1' _ "$SP"

# A session that cannot be exec'd (the listener's vfork child reports the
# exec's error): that connection is dropped and logged, the helper goes on.
if [ -x "$BUILD/tests/ipc-probe" ]; then
	mkdir -p "$T/bin2"
	cp "$BUILD/bin/rkt-privhelper" "$BUILD/bin/rkt-privhelper-session" "$T/bin2/"
	HELPER=$T/bin2/rkt-privhelper SOCK=$T/sock2 HLOG=$T/helper2.log start_helper --policy "$POL/policy.json"
	probe2() { "$BUILD/tests/ipc-probe" --socket "$T/sock2" --dir "$T/data" --local-config "$T/etc" \
		--system-config "$T/sys" hello-status 6b1e0c3a-7f0e-4a8e-9d3c-2f1b5e6a7c80; }
	mv "$T/bin2/rkt-privhelper-session" "$T/bin2/session.moved"
	OUT=$(probe2 2>&1)
	check "no session binary: the client is told the helper closed the connection" \
		grep -q 'closed the connection' <<<"$OUT"
	check "…the helper's log names the binary and the error" \
		grep -q "cannot start $T/bin2/rkt-privhelper-session: No such file or directory; connection dropped" "$T/helper2.log"
	check "…and no child is left behind" bash -c '[ -z "$(pgrep -P "$1")" ]' _ "$HELPER_PID"
	mv "$T/bin2/session.moved" "$T/bin2/rkt-privhelper-session"
	OUT=$(probe2 2>&1)
	check "the binary back: the next connection is served" grep -q 'no matches found' <<<"$OUT"
	stop_helper
else
	skip "a session that cannot be exec'd (ipc-probe not built in $BUILD)"
fi

done_testing
