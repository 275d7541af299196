# shellcheck shell=bash
# Shared by the integration tests: TAP output, the three real users, a temp
# store/config under /run, and running rkt as a given user.
# Source it from a test: `. "$(dirname "$0")/lib.sh"`. Tests run as root.
set -u
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${RKT_BUILD:-$TOP/build/asan}
[ -x "$BUILD/bin/rkt" ] || BUILD=$TOP/build
RKT_BIN=$BUILD/bin/rkt
# Sanitizer runtime settings survive the switch to another user through env.
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# Test users: a member of rkt, a member of rkt-admin (and rkt), an outsider.
U_MEMBER=rkt-t-member
U_ADMIN=rkt-t-admin
U_OUTSIDER=rkt-t-outsider

_tap_n=0
_tap_fail=0
ok() { _tap_n=$((_tap_n + 1)); echo "ok $_tap_n - $*"; }
not_ok() { _tap_n=$((_tap_n + 1)); _tap_fail=$((_tap_fail + 1)); echo "not ok $_tap_n - $*"; }
skip() { _tap_n=$((_tap_n + 1)); echo "ok $_tap_n # SKIP $*"; }
diag() { echo "# $*"; }
done_testing() { echo "1..$_tap_n"; [ "$_tap_fail" -eq 0 ]; }

# check DESCRIPTION CMD...: ok when CMD succeeds; else not ok, and status 1
# so that `check ... || diag ...` explains a failure.
check() { local d=$1; shift; if "$@"; then ok "$d"; else not_ok "$d"; return 1; fi; }

# expect_fail DESCRIPTION EXIT PATTERN CMD...: CMD must exit with EXIT and its
# stderr+stdout must match PATTERN (grep -E). Output is kept in $OUT.
expect_fail() {
	local d=$1 want=$2 pat=$3 rc
	shift 3
	OUT=$("$@" 2>&1); rc=$?
	if [ "$rc" -eq "$want" ] && printf '%s' "$OUT" | grep -qE -- "$pat"; then
		ok "$d"
	else
		not_ok "$d"
		diag "exit $rc (want $want), output: $(printf '%s' "$OUT" | head -5)"
	fi
}

ensure_groups_and_users() {
	getent group rkt >/dev/null || groupadd --system rkt
	getent group rkt-admin >/dev/null || groupadd --system rkt-admin
	id "$U_MEMBER" >/dev/null 2>&1 || useradd --no-create-home --shell /usr/sbin/nologin --groups rkt "$U_MEMBER"
	id "$U_ADMIN" >/dev/null 2>&1 || useradd --no-create-home --shell /usr/sbin/nologin --groups rkt-admin,rkt "$U_ADMIN"
	id "$U_OUTSIDER" >/dev/null 2>&1 || useradd --no-create-home --shell /usr/sbin/nologin "$U_OUTSIDER"
}

# make_tree: a scratch tree under /run with DESIGN §4's modes:
#   $T/data (root:rkt 2750, cas 2770), $T/etc (root:rkt-admin 2775), $T/sys (0755)
make_tree() {
	T=$(mktemp -d -p /run rkt-it.XXXXXX)
	chmod 755 "$T"
	"$TOP/dist/setup-data-dir" --data "$T/data" --config "$T/etc" >/dev/null
	mkdir -p "$T/sys" "$T/work"
	chmod 755 "$T/sys"
	chmod 1777 "$T/work"
	trap 'cleanup_tree' EXIT
}
cleanup_tree() {
	stop_httpd
	[ -n "${KEEP:-}" ] && { diag "kept $T"; return; }
	[ -n "${T:-}" ] && rm -rf "$T"
}

# as USER CMD...: runs CMD as USER with its groups (setpriv --init-groups).
as() {
	local u=$1
	shift
	if [ "$u" = root ]; then "$@"; return; fi
	setpriv --reuid "$u" --regid "$u" --init-groups --reset-env -- \
		env PATH=/usr/sbin:/usr/bin:/sbin:/bin ASAN_OPTIONS="$ASAN_OPTIONS" \
		UBSAN_OPTIONS="$UBSAN_OPTIONS" "$@"
}

# rkt_as USER ARGS...: rkt with the scratch tree's directories; killed after
# $RKT_TIMEOUT seconds (default 300, exit 124) so a hang fails one check only.
rkt_as() {
	local u=$1
	shift
	as "$u" timeout -k 5 "${RKT_TIMEOUT:-300}" \
		"$RKT_BIN" --dir="$T/data" --local-config="$T/etc" --system-config="$T/sys" "$@"
}

# ---- fixtures ------------------------------------------------------------
FIXTURES=$TOP/tests/fixtures
PY=/usr/bin/python3
mkaci() { "$PY" "$FIXTURES/mkaci.py" "$@"; }
# gpg_key HOME UID PUB: new signing key; prints its fingerprint.
gpg_key() { bash "$FIXTURES/gpg.sh" key "$@"; }
# gpg_sign HOME FILE [SIG]: armored detached signature (FILE.asc).
gpg_sign() { bash "$FIXTURES/gpg.sh" sign "$@"; }

# start_httpd: the loopback server (127.0.0.1 and ::1, ports 80 and 443) on
# $T/www, config $T/httpd.json (re-read per request), request log
# $T/httpd.log. Stopped by stop_httpd or at exit (cleanup_tree).
HTTPD_PID=
start_httpd() {
	mkdir -p "$T/www" "$T/httpd"
	[ -f "$T/httpd.json" ] || echo '{}' >"$T/httpd.json"
	rm -f "$T/httpd/ready"
	: >"$T/httpd.log"
	"$PY" "$FIXTURES/httpd.py" --root "$T/www" --config "$T/httpd.json" \
		--ready "$T/httpd/ready" --log "$T/httpd.log" --cert-dir "$T/httpd" \
		2>"$T/httpd/stderr" &
	HTTPD_PID=$!
	for _ in $(seq 100); do
		[ -f "$T/httpd/ready" ] && return 0
		kill -0 "$HTTPD_PID" 2>/dev/null || break
		sleep 0.1
	done
	diag "httpd did not start: $(cat "$T/httpd/stderr")"
	HTTPD_PID=
	return 1
}
stop_httpd() {
	[ -n "${HTTPD_PID:-}" ] || return 0
	kill "$HTTPD_PID" 2>/dev/null
	wait "$HTTPD_PID" 2>/dev/null
	HTTPD_PID=
}
# httpd_config JSON: replaces the server's config (read on each request).
httpd_config() { printf '%s\n' "$1" >"$T/httpd.json.tmp" && mv "$T/httpd.json.tmp" "$T/httpd.json"; }

# publish NAME VERSION [mkaci options...]: builds an ACI named NAME under
# $T/www/images/ at the path discovery gives it; prints that path.
publish() {
	local name=$1 ver=$2
	shift 2
	local f
	f=$T/www/images/$name-$ver-linux-$(aci_arch).aci
	mkdir -p "$(dirname "$f")"
	mkaci -o "$f" --name "$name" --version "$ver" "$@" && echo "$f"
}
aci_arch() { case $(uname -m) in x86_64) echo amd64 ;; *) uname -m ;; esac; }

# ---- store inspection ------------------------------------------------------
# image_count: images in the scratch store as root's `image list` sees them.
image_count() { rkt_as root image list --no-legend 2>/dev/null | grep -c . ; }
# blob_count: blob files on disk (independent of rkt's own listing).
blob_count() { find "$T/data/cas/blob" -type f ! -name '*.asc' ! -name '*.orig' 2>/dev/null | wc -l; }
# tmp_empty: nothing left in cas/tmp.
tmp_empty() { [ -z "$(ls -A "$T/data/cas/tmp" 2>/dev/null)" ]; }
# sha512_key FILE: the store key of an uncompressed ACI (sha512- + 64 hex).
sha512_key() { echo "sha512-$(sha512sum "$1" | cut -c1-64)"; }
# like PATTERN TEXT: grep -E on a string.
like() { printf '%s' "$2" | grep -qE -- "$1"; }
# expect_ok DESCRIPTION CMD...: CMD exits 0; its stdout is in $OUT, stderr in $ERR.
# user_files USER FILE...: empty files USER owns, to be a member's pod's
# stdio (the helper takes only stdio the member may use anyway).
user_files() {
	local u=$1 f
	shift
	for f; do : >"$f"; [ "$u" = root ] || chown "$u" "$f"; done
}
# stderr_to FILE CMD...: CMD's stderr through a pipe into FILE (written by
# this shell), its stdout and exit status as CMD's.
stderr_to() {
	local f=$1
	shift
	{ "$@" 2>&1 1>&3 3>&- | cat >"$f"; return "${PIPESTATUS[0]}"; } 3>&1
}
expect_ok() {
	local d=$1 rc ef
	shift
	ef=$(mktemp -p /run)
	# stderr through a pipe: the helper gives a member's pod only stdio the
	# member may use anyway, and a file root made here is not one.
	OUT=$(stderr_to "$ef" "$@"); rc=$?
	ERR=$(cat "$ef"); rm -f "$ef"
	if [ "$rc" -eq 0 ]; then ok "$d"; else not_ok "$d"; diag "exit $rc: $(printf '%s' "$ERR" | head -5)"; fi
	return $rc
}

# ---- the helper --------------------------------------------------------------
# start_helper [ARGS...]: a real rkt-privhelper on the scratch tree, listening on
# $SOCK (default $T/sock), logging to $HLOG (default $T/helper.log); ARGS go to
# it (--policy FILE, ...). HELPER_ASAN_OPTIONS replaces ASAN_OPTIONS for it: the
# helper hands its sanitizer settings to stage1, whose apps run under seccomp
# where LeakSanitizer cannot (DESIGN §13). stop_helper ends it.
HELPER_PID=
start_helper() {
	: "${SOCK:=$T/sock}" "${HLOG:=$T/helper.log}" "${HELPER:=$BUILD/bin/rkt-privhelper}"
	: >"$HLOG"
	ASAN_OPTIONS=${HELPER_ASAN_OPTIONS:-$ASAN_OPTIONS} "$HELPER" --listen "$SOCK" --dir "$T/data" \
		--local-config "$T/etc" --system-config "$T/sys" "$@" 2>"$HLOG" &
	HELPER_PID=$!
	local i
	for i in $(seq 100); do
		[ -S "$SOCK" ] && grep -q listening "$HLOG" && return 0
		kill -0 "$HELPER_PID" 2>/dev/null || break
		sleep 0.05
	done
	diag "helper did not start: $(cat "$HLOG")"
	return 1
}
stop_helper() {
	[ -n "$HELPER_PID" ] || return 0
	kill "$HELPER_PID" 2>/dev/null
	wait "$HELPER_PID" 2>/dev/null
	rm -f "$SOCK"
	HELPER_PID=
}

# ---- pod suites ------------------------------------------------------------------
# pod_suite_init ENTRYPOINT...: the head every suite that runs pods through a
# helper shares: root, the test users, a scratch tree, HELPER, SOCK, HLOG and M
# (the rkt member), the helper's sanitizer settings, and the named stage1 ns
# entrypoints (init, enter, gc) installed as the scratch system config's ns
# flavor. Skips the whole suite when one of them is not built.
pod_suite_init() {
	if [ "$(id -u)" -ne 0 ]; then echo "1..0 # SKIP needs root"; exit 77; fi
	ensure_groups_and_users
	make_tree
	HELPER=$BUILD/bin/rkt-privhelper
	SOCK=$T/sock
	HLOG=$T/helper.log
	M=$U_MEMBER
	HELPER_ASAN_OPTIONS=abort_on_error=1:detect_leaks=0
	local e missing=
	[ -x "$HELPER" ] || missing=" rkt-privhelper"
	for e in "$@"; do [ -x "$BUILD/stage1/ns/$e" ] || missing="$missing stage1/ns/$e"; done
	if [ -n "$missing" ]; then
		skip "not built in $BUILD:$missing"
		cleanup_tree
		done_testing
		exit $?
	fi
	mkdir -p "$T/sys/stage1/ns"
	for e in "$@"; do install -m 0755 "$BUILD/stage1/ns/$e" "$T/sys/stage1/ns/$e"; done
}
# rp USER ARGS...: rkt as USER against the suite's helper.
rp() {
	local u=$1
	shift
	rkt_as "$u" --privhelper-socket="$SOCK" "$@"
}
# rc_of DESC WANT_RC WANT_OUT CMD...: CMD's exit status and exact stdout.
rc_of() {
	local d=$1 want=$2 wout=$3 rc
	shift 3
	OUT=$(stderr_to "$T/err" "$@"); rc=$?
	if [ "$rc" -eq "$want" ] && [ "$OUT" = "$wout" ]; then ok "$d"; else
		not_ok "$d"
		diag "exit $rc (want $want), stdout: $(printf '%s' "$OUT" | head -3), stderr: $(head -3 "$T/err")"
	fi
}
no_pod_mounts() { ! grep -q "$T/data/pods" /proc/self/mountinfo; }
# grant_run_policy NETS...: $POL/grant.json, a policy letting group rkt run
# unsigned (--insecure-options=image) pods with the ns stage1 on NETS; POL is
# set, root-owned and not group/other-writable as the helper wants.
grant_run_policy() {
	local nets
	nets=$(printf '"%s", ' "$@")
	POL=$T/pol
	mkdir -p "$POL"
	chmod 755 "$POL"
	cat >"$POL/grant.json" <<JSON
{"rktKind": "privhelper-policy", "rktVersion": "v1",
 "run": [{"groups": ["rkt"], "signedImagesOnly": false, "stage1": ["ns"], "net": [${nets%, }], "insecureOptions": ["image"]}]}
JSON
	chmod 644 "$POL/grant.json"
}
