#!/bin/bash
# The sealed channel to rkt-privhelper (DESIGN §2, §5; interfaces.md
# "rkt-privhelper"): who may connect, HELLO, a status through the helper,
# protocol violations that end only their own connection, concurrency, the
# helper's start-up checks, and root's auto-started session. Also rkt's
# pod readers (status, list, cat-manifest; rkt-behaviour.md §1.6, §10 items
# 19, 46-49) on hand-made pods in rkt's layout.
. "$(dirname "$0")/lib.sh"
ensure_groups_and_users
make_tree

PROBE=$BUILD/tests/ipc-probe
HELPER=$BUILD/bin/rkt-privhelper
SOCK=$T/sock
HLOG=$T/helper.log
M=$U_MEMBER
O=$U_OUTSIDER
if [ ! -x "$PROBE" ] || [ ! -x "$HELPER" ]; then
	skip "ipc-probe or rkt-privhelper not built in $BUILD"
	done_testing
	exit $?
fi

# ---- a hand-made prepared pod in rkt's layout (rkt-behaviour.md §2.2) -------
UUID=6e1f3a52-9c4b-4d3e-8a7f-0123456789ab
P=$T/data/pods/prepared/$UUID
mkdir -p "$T/data/pods" "$P"
for s in embryo prepare prepared run exited-garbage garbage; do mkdir -p "$T/data/pods/$s"; done
IMGID=sha512-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
cat >"$P/pod" <<EOF
{"acKind":"PodManifest","acVersion":"0.8.11","apps":[{"name":"web","image":{"name":"localhost/img/web","id":"$IMGID","labels":[{"name":"version","value":"1.0"},{"name":"os","value":"linux"}]}},{"name":"side","image":{"name":"localhost/img/side","id":"$IMGID"}}],"volumes":[],"isolators":[],"annotations":[],"ports":[]}
EOF
touch -d '2021-03-04 05:06:07' "$P/pod-created"
echo 0 >"$P/owner"
chown -R root:rkt "$T/data/pods"
chmod -R g+rX,o-rwx "$T/data/pods"
chmod 2750 "$T/data/pods" "$T/data/pods"/*

# An exited pod with app statuses and the project's own records.
UUID2=0b7d2c11-5e3f-4a6b-9c8d-fedcba987654
E=$T/data/pods/run/$UUID2
mkdir -p "$E/stage1/rootfs/rkt/status"
cp "$P/pod" "$E/pod"
touch -d '2021-03-04 05:06:07' "$E/pod-created"
echo 4242 >"$E/pid"
touch -d '2021-03-04 05:07:08' "$E/pid"
echo 0 >"$E/stage1/rootfs/rkt/status/web"
echo 3 >"$E/stage1/rootfs/rkt/status/side"
echo '[{"netName":"default","ip":"172.16.28.2"}]' >"$E/net-info.json"
echo on >"$E/tpm"
chown -R root:rkt "$E"
chmod -R g+rX,o-rwx "$E"

# ---- pod readers, directly from the pods dir (no helper needed) ----------------
expect_ok "status of a prepared pod as a member" rkt_as "$M" status "$UUID"
check "…state=prepared, created= in Go's layout, no started/pid" \
	bash -c 'printf "%s\n" "$1" | grep -qx "state=prepared" &&
		printf "%s\n" "$1" | grep -qE "^created=2021-03-04 05:06:07 [+-][0-9]{4} [A-Z]+$" &&
		! printf "%s\n" "$1" | grep -qE "^(started|pid)="' _ "$OUT"
check "…tpm=off and selinux=disabled after rkt's keys" \
	bash -c '[ "$(printf "%s\n" "$1" | tail -2 | tr "\n" " ")" = "tpm=off selinux=disabled " ]' _ "$OUT"
expect_ok "status by unique prefix" rkt_as "$M" status "${UUID:0:8}"
check "…same pod" like '^state=prepared' "$OUT"
expect_ok "status of an exited pod" rkt_as "$M" status "$UUID2"
check "…state=exited, started, networks, pid, exited=true, app codes, tpm from the pod" \
	bash -c 'for l in state=exited "networks=default:ip4=172.16.28.2" pid=4242 exited=true app-web=0 app-side=3 tpm=on selinux=disabled; do
		printf "%s\n" "$1" | grep -qx "$l" || { echo "missing $l"; exit 1; }; done
		printf "%s\n" "$1" | grep -qE "^started=2021-03-04 05:07:08 "' _ "$OUT"
echo "$UUID" >"$T/work/uuid"
chmod 644 "$T/work/uuid"
expect_ok "status --uuid-file" rkt_as "$M" status --uuid-file="$T/work/uuid"
check "…resolves the saved UUID" like '^state=prepared' "$OUT"
expect_fail "status --uuid-file of a missing file exits 1" 1 'unable to resolve UUID from file' \
	rkt_as "$M" status --uuid-file="$T/work/nope"
expect_fail "status of an unknown pod" 254 'no matches found for "1234567890abcdef"' \
	rkt_as "$M" status 1234567890abcdef
expect_ok "status --format=json" rkt_as "$M" status --format=json "$UUID2"
check "…one object with rkt's keys" bash -c "printf '%s' \"\$1\" | '$PY' -c '
import json, sys
o = json.load(sys.stdin)
assert o[\"name\"] == \"$UUID2\" and o[\"state\"] == \"exited\", o
assert o[\"app_names\"] == [\"web\", \"side\"], o
assert o[\"apps\"][1][\"exit_code\"] == 3 and o[\"networks\"][0][\"ip\"] == \"172.16.28.2\", o
assert o[\"created_at\"] > 0 and o[\"started_at\"] > o[\"created_at\"], o
'" _ "$OUT"
expect_ok "status --wait=2s of an exited pod returns at once" rkt_as "$M" status --wait=2s "$UUID2"
expect_fail "status --wait=1s of a prepared pod times out" 254 'timed out after 1s' \
	rkt_as "$M" status --wait=1s "$UUID"

expect_ok "list as a member" rkt_as "$M" list
hdr=$(printf '%s\n' "$OUT" | head -1 | tr -s ' \t' ' ' | sed 's/ $//')
check "…header UUID APP IMAGE NAME STATE CREATED STARTED NETWORKS" \
	[ "$hdr" = "UUID APP IMAGE NAME STATE CREATED STARTED NETWORKS" ]
check "…short UUID, first app, name:version, state" \
	bash -c 'printf "%s\n" "$1" | grep -qE "^${2:0:8}[[:space:]]+web[[:space:]]+localhost/img/web:1.0[[:space:]]+prepared[[:space:]]+[0-9]+ years? ago"' _ "$OUT" "$UUID"
check "…second app on its own row without pod columns" \
	bash -c 'printf "%s\n" "$1" | grep -qE "^[[:space:]]+side[[:space:]]+localhost/img/side"' _ "$OUT"
expect_ok "list --full --no-legend" rkt_as "$M" list --full --no-legend
check "…full UUID, sha512-+12 hex, Go time layout, no header" \
	bash -c '! printf "%s" "$1" | grep -q "^UUID" &&
		printf "%s\n" "$1" | grep -qE "^$2[[:space:]]+web[[:space:]]+localhost/img/web:1.0[[:space:]]+sha512-0123456789ab[[:space:]]+prepared[[:space:]]+2021-03-04 05:06:07 "' _ "$OUT" "$UUID"
check "…the exited pod shows its network" like "$UUID2.*exited.*default:ip4=172.16.28.2" "$OUT"
expect_ok "list --format=json" rkt_as "$M" list --format=json
check "…an array with both pods" bash -c "printf '%s' \"\$1\" | '$PY' -c '
import json, sys
a = json.load(sys.stdin)
assert sorted(o[\"name\"] for o in a) == sorted([\"$UUID\", \"$UUID2\"]), a
'" _ "$OUT"
expect_fail "list as an outsider names the group" 254 'members of group rkt' rkt_as "$O" list

expect_ok "cat-manifest --pretty-print=false" rkt_as "$M" cat-manifest --pretty-print=false "$UUID"
check "…compact JSON with the app name and image hash" \
	bash -c 'printf "%s" "$1" | grep -q "\"name\":\"web\"" && printf "%s" "$1" | grep -q "$2"' _ "$OUT" "$IMGID"
expect_ok "cat-manifest (pretty, tab-indented)" rkt_as "$M" cat-manifest --uuid-file="$T/work/uuid"
check "…indented with tabs" like $'\n\t"acKind": "PodManifest"' "$OUT"
expect_fail "cat-manifest of an unknown pod" 254 'no matches found for' \
	rkt_as "$M" cat-manifest 1234567890abcdef

# ---- the helper -----------------------------------------------------------------
check "rkt-privhelper --help lists its options" bash -c "'$HELPER' --help | grep -q -- '--listen PATH'"
check "rkt-privhelper --version prints the version" bash -c "'$HELPER' --version | grep -qE 'version [0-9]'"

trap 'stop_helper; cleanup_tree' EXIT

probe() { # probe USER ARGS...
	local u=$1
	shift
	as "$u" timeout -k 5 60 "$PROBE" --socket "$SOCK" --dir "$T/data" \
		--local-config "$T/etc" --system-config "$T/sys" "$@"
}

check "the helper starts on a scratch tree" start_helper
check "…its socket is root:rkt 0660" [ "$(stat -c '%U:%G %a' "$SOCK")" = "root:rkt 660" ]

OUT=$(probe "$O" hello-status "$UUID" 2>&1)
check "an outsider cannot connect (EACCES from the socket mode)" \
	like '^refused: permission denied connecting to .*: only members of group rkt may use the helper' "$OUT"
expect_fail "…and rkt tells an outsider which group the helper wants" 254 \
	"permission denied connecting to $SOCK: only members of group rkt may use the helper" \
	rkt_as "$O" --privhelper-socket="$SOCK" status "$UUID"

OUT=$(probe "$M" hello-status "$UUID" 2>&1)
check "a member gets HELLO_OK and the status of a prepared pod through the helper" \
	[ "$OUT" = "state=prepared" ]
OUT=$(probe "$M" hello-status "$UUID2" 2>&1)
check "…and of an exited pod" [ "$OUT" = "state=exited" ]
OUT=$(probe "$M" hello-status 00000000-0000-4000-8000-000000000000 2>&1)
check "…an unknown pod is refused with rkt's words" like '^refused: no matches found for' "$OUT"

mkdir -p "$T/other"
OUT=$(probe "$M" dir "$T/other" 2>&1)
check "a client --dir that differs is refused with the helper's message" \
	like "^refused: the client's --dir \"$T/other\" differs from the helper's \"$T/data\"" "$OUT"

# Violations: each ends its own connection; a well-formed client that
# started before and finishes after still gets its answer.
MEMBER_UID=$(id -u "$M")
probe "$M" hold 4 "$UUID" >"$T/work/hold.out" 2>&1 &
HOLD=$!
sleep 0.5
for mode in garbage huge-length bad-magic bad-version too-many-fds out-of-state unsealed-memfd writable-memfd; do
	: >"$HLOG.mark"
	before=$(wc -l <"$HLOG")
	OUT=$(probe "$M" "$mode" 2>&1)
	sleep 0.1
	logged=$(tail -n +"$((before + 1))" "$HLOG")
	if [ "$OUT" = closed ] && like "uid $MEMBER_UID pid [0-9]+: .*closing the connection" "$logged"; then
		ok "$mode: the helper closes that connection and logs the uid/pid"
	elif like 'does not serve PREPARE_REQ' "$OUT"; then
		skip "$mode: this helper refuses PREPARE_REQ before reading its memfd ($OUT)"
	else
		not_ok "$mode: the helper closes that connection and logs the uid/pid"
		diag "probe: $OUT; log: $(printf '%s' "$logged" | tail -2)"
	fi
done
wait "$HOLD"
check "…the concurrent well-formed client still succeeded" [ "$(cat "$T/work/hold.out")" = "state=prepared" ]
check "…and the helper still listens" kill -0 "$HELPER_PID"

# 200 concurrent clients, all served.
for i in $(seq 200); do
	probe "$M" hello-status "$UUID" >"$T/work/c.$i" 2>&1 &
	CPIDS[$i]=$!
done
for i in $(seq 200); do wait "${CPIDS[$i]}"; done
served=$(cat "$T/work"/c.* | grep -cx 'state=prepared')
check "200 concurrent clients are all served ($served)" [ "$served" -eq 200 ]
rm -f "$T/work"/c.*

OUT=$(probe "$M" bench-status 50 "$UUID" 2>&1)
check "bench-status prints the median round trip" like '^median_us=[0-9]+$' "$OUT"
diag "connect+HELLO+STATUS median: $OUT"

stop_helper
check "the socket is removed when the helper stops" [ ! -e "$SOCK" ]

# The helper refuses a group-writable policy, naming it, and binds nothing.
mkdir -p "$T/pol"
chmod 755 "$T/pol"
echo '{}' >"$T/pol/policy.json"
chmod 664 "$T/pol/policy.json"
OUT=$(timeout 20 "$HELPER" --listen "$SOCK" --dir "$T/data" --local-config "$T/etc" \
	--system-config "$T/sys" --policy "$T/pol/policy.json" 2>&1); rc=$?
check "the helper refuses a group-writable policy, naming the path" \
	bash -c '[ "$1" -ne 0 ] && printf "%s" "$2" | grep -q "$3"' _ "$rc" "$OUT" "$T/pol/policy.json"
check "…and no socket appears" [ ! -e "$SOCK" ]

# Root without any helper: rkt's client starts a session on a socketpair.
# Programs are found beside the running binary, so the probe runs from a
# copy next to a copy of the session.
mkdir -p "$T/bin"
cp "$PROBE" "$BUILD/bin/rkt-privhelper-session" "$T/bin/"
PROBE=$T/bin/ipc-probe
OUT=$(probe root hello-status "$UUID" 2>&1)
check "root without a helper: the auto-started session answers" [ "$OUT" = "state=prepared" ]
OUT=$(probe root dir "$T/other" 2>&1)
check "…it checks the client's directories as the listener's sessions do, naming the path" \
	bash -c 'printf "%s" "$1" | grep -q "$2/other/cas" && printf "%s" "$1" | grep -q "^refused: rkt-privhelper-session exited with status 254"' _ "$OUT" "$T"
expect_ok "root rkt status without any helper" rkt_as root --privhelper-socket="$SOCK" status "$UUID"
check "…prints the pod's state" like '^state=prepared' "$OUT"
OUT=$(probe "$M" hello-status "$UUID" 2>&1)
check "a member without a helper gets one clear line on how to start it" \
	like "^refused: the rkt privileged helper is not running \(no socket at $SOCK\); start it with \"systemctl start rkt-privhelper.socket\" or \"rkt-privhelper --listen $SOCK\"" "$OUT"

done_testing
