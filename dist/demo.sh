#!/bin/bash
# make demo: the image path end to end, as real users, in a scratch tree.
#   an admin (groups rkt-admin, rkt) trusts a signing key for localhost/demo;
#   a user (group rkt) fetches localhost/demo/busybox:1.0 by name through appc
#   discovery from a loopback HTTPS server, and lists the store; then
#   rkt-privhelper (root), whose policy grants group rkt the ns stage1 without
#   network, runs that signed image as a pod for the user.
# usage: dist/demo.sh [--clean]   (as root)
#   --clean removes the tree of the previous run and exits. A new run removes
#   the previous tree first. Binaries: $RKT_BUILD/bin (default build/bin).
# Nothing touches /var/lib/rkt or /etc/rkt: everything lives under /run.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${RKT_BUILD:-$top/build}
rkt=$build/bin/rkt
last=/run/rkt-demo.last
ADMIN="rkt-demo-admin"
USER_="rkt-demo-user"
NAME=localhost/demo/busybox

say() { printf '\n== %s\n' "$*"; }
die() { echo "demo: $*" >&2; exit 1; }
clean_previous() {
	[ -f "$last" ] || return 0
	local old
	old=$(cat "$last")
	case $old in /run/rkt-demo.*) [ -d "$old" ] && rm -rf "$old" && echo "demo: removed $old" ;; esac
	rm -f "$last"
}

# One stream, in order: rkt's progress lines (stderr) between the commands.
exec 2>&1
[ "$(id -u)" -eq 0 ] || die "run as root (it creates the demo users and starts a server on ports 80 and 443)"
if [ "${1:-}" = --clean ]; then clean_previous; exit 0; fi
[ $# -eq 0 ] || die "usage: dist/demo.sh [--clean]"
[ -x "$rkt" ] || die "$rkt is not built: run make"
[ -x /bin/busybox ] || die "/bin/busybox missing: apt-get install busybox-static"
command -v gpg >/dev/null || die "gpg missing: apt-get install gnupg"
clean_previous

say "groups and demo users"
getent group rkt >/dev/null || groupadd --system rkt
getent group rkt-admin >/dev/null || groupadd --system rkt-admin
if ! id "$ADMIN" >/dev/null 2>&1; then
	useradd --no-create-home --shell /usr/sbin/nologin --groups rkt-admin,rkt "$ADMIN"
	echo "created $ADMIN (rkt-admin, rkt)"
else
	usermod -a -G rkt-admin,rkt "$ADMIN"; echo "reusing $ADMIN: $(id -nG "$ADMIN")"
fi
if ! id "$USER_" >/dev/null 2>&1; then
	useradd --no-create-home --shell /usr/sbin/nologin --groups rkt "$USER_"
	echo "created $USER_ (rkt)"
else
	usermod -a -G rkt "$USER_"; echo "reusing $USER_: $(id -nG "$USER_")"
fi

T=$(mktemp -d -p /run rkt-demo.XXXXXX)
chmod 755 "$T"
echo "$T" >"$last"
HTTPD_PID=
HELPER_PID=
stop_server() {
	if [ -n "$HTTPD_PID" ]; then kill "$HTTPD_PID" 2>/dev/null; wait "$HTTPD_PID" 2>/dev/null || true; fi
	HTTPD_PID=
}
stop_helper() {
	if [ -n "$HELPER_PID" ]; then kill "$HELPER_PID" 2>/dev/null; wait "$HELPER_PID" 2>/dev/null || true; fi
	HELPER_PID=
}
trap 'stop_server; stop_helper' EXIT

say "scratch tree $T"
echo "\$ dist/setup-data-dir --data $T/data --config $T/etc"
"$top/dist/setup-data-dir" --data "$T/data" --config "$T/etc"
mkdir -p "$T/sys" "$T/www/images/localhost/demo" "$T/www/keys" "$T/server"

aci=$T/www/images/$NAME-1.0-linux-$(uname -m | sed 's/x86_64/amd64/').aci
say "sample image from busybox-static"
echo "\$ tests/fixtures/mkaci.py -o $aci --name $NAME --version 1.0"
/usr/bin/python3 "$top/tests/fixtures/mkaci.py" -o "$aci" --name "$NAME" --version 1.0
tar -tvf "$aci" | head -4

say "demo signing key, detached signature"
echo "\$ tests/fixtures/gpg.sh key $T/gnupg 'rkt demo <demo@localhost>' $T/www/keys/demo.asc"
fpr=$(bash "$top/tests/fixtures/gpg.sh" key "$T/gnupg" 'rkt demo <demo@localhost>' "$T/www/keys/demo.asc")
echo "key fingerprint $fpr"
echo "\$ tests/fixtures/gpg.sh sign $T/gnupg $aci"
bash "$top/tests/fixtures/gpg.sh" sign "$T/gnupg" "$aci"
chmod -R a+rX "$T/www"

say "loopback server (127.0.0.1 and ::1, http :80, https :443 with a self-signed certificate)"
printf '{"discovery": {"localhost/demo": {"pubkeys": "/keys/demo.asc"}}}\n' >"$T/server/config.json"
echo "\$ tests/fixtures/httpd.py --root $T/www --config $T/server/config.json &"
/usr/bin/python3 "$top/tests/fixtures/httpd.py" --root "$T/www" --config "$T/server/config.json" \
	--ready "$T/server/ready" --log "$T/server/access.log" --cert-dir "$T/server" \
	2>"$T/server/stderr" &
HTTPD_PID=$!
for _ in $(seq 100); do
	[ -f "$T/server/ready" ] && break
	kill -0 "$HTTPD_PID" 2>/dev/null || die "server failed: $(cat "$T/server/stderr")"
	sleep 0.1
done
[ -f "$T/server/ready" ] || die "server did not start"
echo "discovery page for $NAME:"
curl -sk "https://localhost/demo/busybox?ac-discovery=1" | grep meta

flags="--dir=$T/data --local-config=$T/etc --system-config=$T/sys"
# as USER ARGS...: rkt as that user, with its groups, printing the command.
as() {
	local u=$1
	shift
	echo "[$u]\$ rkt $flags $*" >&2
	# shellcheck disable=SC2086
	setpriv --reuid "$u" --regid "$u" --init-groups --reset-env -- \
		env PATH=/usr/sbin:/usr/bin:/sbin:/bin "$rkt" $flags "$@"
}

say "the admin trusts the key for prefix localhost/demo"
as "$ADMIN" trust --prefix localhost/demo --skip-fingerprint-review "$T/www/keys/demo.asc" ||
	die "trust failed"
ls -l "$T/etc/trustedkeys/prefix.d/localhost/demo/"

say "the user fetches $NAME:1.0 by name (discovery over https)"
echo "note: the server's certificate is self-signed, so TLS verification must be turned off"
echo "      with --insecure-options=tls; the image signature is still verified."
as "$USER_" --insecure-options=tls fetch "$NAME:1.0" >"$T/fetch.id" || die "fetch failed"
id=$(cat "$T/fetch.id")
echo "$id"

say "the user lists the store"
as "$USER_" image list || die "image list failed"

stop_server

say "rkt-privhelper (root) with a policy granting group rkt the ns stage1, no network"
helper=$build/bin/rkt-privhelper
[ -x "$helper" ] || die "$helper is not built: run make"
[ -x "$build/stage1/ns/init" ] || die "$build/stage1/ns/init is not built: run make"
# The helper runs the flavors of its own --system-config only.
install -d -m 0755 "$T/sys/stage1/ns"
install -m 0755 "$build/stage1/ns/init" "$T/sys/stage1/ns/init"
# The policy and every directory above it: root's, not group/other-writable.
install -d -m 0755 "$T/policy"
printf '%s\n' '{"rktKind":"privhelper-policy","rktVersion":"v1","run":[{"groups":["rkt"],"stage1":["ns"],"net":["none"]}]}' \
	>"$T/policy/policy.json"
chmod 0644 "$T/policy/policy.json"
cat "$T/policy/policy.json"
install -d -m 1777 "$T/work"
echo "\$ rkt-privhelper --listen $T/sock --dir $T/data --local-config $T/etc --system-config $T/sys --policy $T/policy/policy.json &"
"$helper" --listen "$T/sock" --dir "$T/data" --local-config "$T/etc" --system-config "$T/sys" \
	--policy "$T/policy/policy.json" 2>"$T/helper.log" &
HELPER_PID=$!
for _ in $(seq 100); do
	[ -S "$T/sock" ] && grep -q listening "$T/helper.log" && break
	kill -0 "$HELPER_PID" 2>/dev/null || die "helper failed: $(cat "$T/helper.log")"
	sleep 0.1
done
[ -S "$T/sock" ] || die "helper did not start: $(cat "$T/helper.log")"

say "the user runs $NAME:1.0 as a pod through the helper (the app's output comes straight from it)"
# Through a pipe: the helper gives a user's pod only stdio the user may use
# anyway (SECURITY.md), and this script's output may be a file of root's.
set -o pipefail
as "$USER_" --privhelper-socket="$T/sock" run --uuid-file-save="$T/work/pod.uuid" "$NAME:1.0" \
	--exec /bin/echo -- "hello from a pod" 2>&1 | cat || die "run failed"
pod=$(cat "$T/work/pod.uuid")

say "the user lists the pods and looks at the one that ran"
as "$USER_" list || die "list failed"
as "$USER_" status "$pod" || die "status failed"
stop_helper

say "done"
echo "image ID $id; pod $pod; tree kept at $T"
echo "remove it with: dist/demo.sh --clean (a new run also removes it)"
