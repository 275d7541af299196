#!/bin/bash
# stage1 "ns" flavor: pod volumes and app mounts, readOnlyRootFS, and the
# /etc/resolv.conf and /etc/hosts stage0 hands over (--dns-conf-mode), on
# pod directories built by hand as in 80-stage1-ns.sh.
. "$(dirname "$0")/lib.sh"

INIT=${RKT_STAGE1_INIT:-$BUILD/stage1/ns/init}
BUSYBOX=/bin/busybox
if [ "$(id -u)" -ne 0 ]; then echo "1..0 # SKIP needs root"; exit 77; fi
if [ ! -x "$INIT" ]; then echo "1..0 # SKIP $INIT not built"; exit 77; fi
if ! file -L "$BUSYBOX" 2>/dev/null | grep -q static && ! ldd "$BUSYBOX" 2>&1 | grep -q 'not a dynamic'; then
	echo "1..0 # SKIP no static busybox (apt-get install busybox-static)"; exit 77
fi
export ASAN_OPTIONS=abort_on_error=1:detect_leaks=0

T=$(mktemp -d -p /run rkt-s1v.XXXXXX)
chmod 755 "$T"
cleanup() {
	umount -R "$T/hostdata/sub" 2>/dev/null
	[ -n "${KEEP:-}" ] && { diag "kept $T"; return; }
	rm -rf "$T"
}
trap cleanup EXIT

BASE=$T/base
mkdir -p "$BASE/bin" "$BASE/etc" "$BASE/root"
cp "$BUSYBOX" "$BASE/bin/busybox"
for a in $("$BUSYBOX" --list); do [ "$a" = busybox ] || ln -s busybox "$BASE/bin/$a"; done
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$BASE/etc/passwd"
printf 'root:x:0:\n' >"$BASE/etc/group"

# mkpod DIR SPEC: SPEC is JSON {"volumes":[pod volumes], "apps":[{"name",
# "app":{image app}, "mounts":[...], "readOnlyRootFS":B}]}.
mkpod() {
	"$PY" - "$1" "$2" "$BASE" <<'PYEOF'
import json, os, subprocess, sys
d, spec, base = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
os.makedirs(d)
apps = []
for i, a in enumerate(spec["apps"]):
    name = a["name"]
    app = {"user": "0", "group": "0"}
    app.update(a["app"])
    img = {"acKind": "ImageManifest", "acVersion": "0.8.11", "name": "example.com/" + name,
           "labels": [{"name": "os", "value": "linux"}, {"name": "arch", "value": "amd64"}],
           "app": app}
    os.makedirs(f"{d}/appsinfo/{name}")
    with open(f"{d}/appsinfo/{name}/manifest", "w") as f:
        json.dump(img, f)
    os.makedirs(f"{d}/stage1/rootfs/opt/stage2/{name}")
    subprocess.run(["cp", "-a", base, f"{d}/stage1/rootfs/opt/stage2/{name}/rootfs"], check=True)
    pa = {"name": name, "image": {"name": img["name"], "id": "sha512-" + ("%064x" % (i + 1))}}
    for k in ("mounts", "readOnlyRootFS"):
        if k in a:
            pa[k] = a[k]
    apps.append(pa)
with open(f"{d}/pod", "w") as f:
    json.dump({"acKind": "PodManifest", "acVersion": "0.8.11", "apps": apps,
               "volumes": spec.get("volumes", [])}, f)
PYEOF
}

UUID=5b1d7c2e-3f4a-4b8e-9c0d-1e2f3a4b5c6d
N=0
ROOTFS=
# newpod SPEC: builds $POD (app rootfs $ROOTFS); runinit ARGS: runs it.
newpod() {
	N=$((N + 1)); POD=$T/pod$N; ROOTFS=$POD/stage1/rootfs/opt/stage2/app/rootfs
	mkpod "$POD" "$1"
}
runinit() { OUT=$(cd "$POD" && timeout -k 5 60 "$INIT" --net=none "$@" "$UUID" 2>&1); RC=$?; }
runpod() { local spec=$1; shift; if newpod "$spec"; then runinit "$@"; else RC=255; OUT="mkpod failed"; fi; }
json_str() { printf '%s' "$1" | "$PY" -c 'import json,sys;print(json.dumps(sys.stdin.read()))'; }
# app SH_CMD VOLUMES_JSON MOUNTS_JSON [EXTRA_POD_APP_JSON [EXTRA_IMAGE_APP_JSON]]
app() {
	printf '{"volumes":%s,"apps":[{"name":"app","app":{"exec":["/bin/sh","-c",%s]%s},"mounts":%s%s}]}' \
		"$2" "$(json_str "$1")" "${5:+,$5}" "$3" "${4:+,$4}"
}
has() { [ -z "$1" ] || printf '%s' "$OUT" | grep -qE -- "$1"; }
want() { # want DESCRIPTION RC PATTERN
	if [ "$RC" -eq "$2" ] && has "$3"; then ok "$1"; else not_ok "$1"; diag "exit $RC (want $2): $(printf '%s' "$OUT" | head -8)"; fi
}

mkdir -p "$T/hostdata"
printf '10.9.9.9 from-volume\n' >"$T/hosts-vol"
echo from-host >"$T/hostdata/hello"
HOSTVOL="[{\"name\":\"data\",\"kind\":\"host\",\"source\":\"$T/hostdata\"}]"
ROVOL="[{\"name\":\"data\",\"kind\":\"host\",\"source\":\"$T/hostdata\",\"readOnly\":true}]"
MNT='[{"volume":"data","path":"/data"}]'

# ---- host volumes ----------------------------------------------------------
runpod "$(app 'cat /data/hello; echo from-app >/data/written' "$HOSTVOL" "$MNT")"
want "host volume: the host's file is visible" 0 '^from-host$'
check "host volume rw: the app's write is on the host" [ "$(cat "$T/hostdata/written" 2>/dev/null)" = from-app ]

runpod "$(app 'cat /data/hello; echo x >/data/ro-write' "$ROVOL" "$MNT")"
want "readOnly host volume: write fails with Read-only file system" 1 'Read-only file system'
check "readOnly: nothing written on the host" [ ! -e "$T/hostdata/ro-write" ]

mkdir -p "$T/hostdata/sub"
mount -t tmpfs -o size=1m tmpfs "$T/hostdata/sub" && echo in-sub >"$T/hostdata/sub/f"
runpod "$(app 'cat /data/sub/f; echo x >/data/sub/w' "$ROVOL" "$MNT")"
want "readOnly recursive: a submount is seen and read-only too" 1 '^in-sub
.*Read-only file system'
RECF="[{\"name\":\"data\",\"kind\":\"host\",\"source\":\"$T/hostdata\",\"recursive\":false}]"
runpod "$(app 'ls -A /data/sub | wc -l' "$RECF" "$MNT")"
want "recursive=false: the submount is not carried" 0 '^0$'
umount "$T/hostdata/sub"

runpod "$(app 'echo should-not-run' "[{\"name\":\"data\",\"kind\":\"host\",\"source\":\"$T/no-such-dir\"}]" "$MNT")"
want "missing host source: rkt's message, status 1" 1 "Failed to stat $T/no-such-dir: No such file or directory"
! has should-not-run && ok "missing host source: the app did not run" || not_ok "missing host source: the app did not run"

ln -s "$T" "$T/link"
runpod "$(app 'echo should-not-run' "[{\"name\":\"data\",\"kind\":\"host\",\"source\":\"$T/link/hostdata\"}]" "$MNT")"
want "host source through a symlink: refused, the app does not run" 254 'goes through a symlink'
! has should-not-run && ok "symlinked source: the app did not run" || not_ok "symlinked source: the app did not run"

echo file-vol >"$T/hostfile"
runpod "$(app 'cat /etc/conf/app.conf; stat -c %A /etc/conf' "[{\"name\":\"f\",\"kind\":\"host\",\"source\":\"$T/hostfile\"}]" '[{"volume":"f","path":"/etc/conf/app.conf"}]')"
want "file source: file target created, parents drwxr-xr-x" 0 '^file-vol
drwxr-xr-x$'

# ---- empty volumes ----------------------------------------------------------
runpod "$(app 'stat -c "%a %u %g" /e; echo hi >/e/x' '[{"name":"ev","kind":"empty","mode":"0750","uid":1000,"gid":100}]' '[{"volume":"ev","path":"/e"}]')"
want "empty volume with mode 0750 uid 1000 gid 100" 0 '^750 1000 100$'
check "empty volume lives in sharedVolumes/ev" [ "$(cat "$POD/sharedVolumes/ev/x" 2>/dev/null)" = hi ]
runpod "$(app 'stat -c "%a %u %g" /e' '[{"name":"ev","kind":"empty"}]' '[{"volume":"ev","path":"/e"}]')"
want "empty volume defaults 0755 0:0" 0 '^755 0 0$'

# ---- mount targets ------------------------------------------------------------
runpod "$(app 'cat /a/b/c/hello; stat -c %A /a/b' "$HOSTVOL" '[{"volume":"data","path":"/a/b/c"}]')"
want "--mount target /a/b/c: created, /a/b drwxr-xr-x" 0 '^from-host
drwxr-xr-x$'

mkdir -p "$T/escape"
newpod "$(app 'cat /etc/rel/y/hello' "$HOSTVOL" '[{"volume":"data","path":"/etc/rel/y"}]')"
ln -s ../../../../../../../escape "$ROOTFS/etc/rel"
runinit
want "relative .. symlink in the target: clamped to the rootfs" 0 '^from-host$'
check "relative symlink: made at the rootfs' /escape" [ -d "$ROOTFS/escape/y" ] && [ -z "$(ls -A "$T/escape")" ]

newpod "$(app 'cat /etc/evil/x/hello' "$HOSTVOL" '[{"volume":"data","path":"/etc/evil/x"}]')"
ln -s "$T/escape" "$ROOTFS/etc/evil"
runinit
want "target through a symlink to a host path: still bound inside the rootfs" 0 '^from-host$'
check "nothing appeared on the host path the symlink names" [ -z "$(ls -A "$T/escape")" ]
check "the target was made inside the app rootfs" [ -d "$ROOTFS$T/escape/x" ]

echo host-original >"$T/victim"
newpod "$(app 'cat /etc/evilfile' "[{\"name\":\"f\",\"kind\":\"host\",\"source\":\"$T/hostfile\"}]" '[{"volume":"f","path":"/etc/evilfile"}]')"
ln -s "$T/victim" "$ROOTFS/etc/evilfile"
runinit
want "file target that is a symlink to a host file: bound inside the rootfs" 0 '^file-vol$'
check "the host file untouched, the target made inside the rootfs" [ "$(cat "$T/victim")" = host-original ] && [ -f "$ROOTFS$T/victim" ]

newpod "$(app 'cat /up/hello' "$HOSTVOL" '[{"volume":"data","path":"/../../../../up"}]')"
runinit
want "target with .. stays in the rootfs" 0 '^from-host$'
check "nothing made above the rootfs" [ ! -e "$POD/stage1/rootfs/opt/stage2/up" ] && [ ! -e /up ]

# ---- image mountPoints ----------------------------------------------------------
runpod "$(app 'cat /mp/hello; echo x >/mp/w' "$HOSTVOL" '[]' '' '"mountPoints":[{"name":"data","path":"/mp","readOnly":true}]')"
want "mountPoint satisfied by the same-named volume, readOnly from the mountPoint" 1 '^from-host
.*Read-only file system'
runpod "$(app 'ls -A /scratch | wc -l; echo x >/scratch/w && echo wrote' '[]' '[]' '' '"mountPoints":[{"name":"scratch","path":"/scratch"}]')"
want "mountPoint with no volume: implicit empty volume, with a warning" 0 'implicitly creating an "empty" volume'
want "implicit volume is empty and writable" 0 '^0
wrote$'
check "implicit volume is sharedVolumes/app-scratch" [ -f "$POD/sharedVolumes/app-scratch/w" ]

# ---- readOnlyRootFS ----------------------------------------------------------------
runpod "$(app 'echo x >/data/rofs-ok && echo vol-ok; touch /newfile' "$HOSTVOL" "$MNT" '"readOnlyRootFS":true')"
want "readOnlyRootFS: a rw volume is still writable" 1 '^vol-ok'
want "readOnlyRootFS: writing / fails with Read-only file system" 1 'newfile: Read-only file system'
check "readOnlyRootFS: nothing written in the rootfs" [ ! -e "$ROOTFS/newfile" ]

# ---- /etc/resolv.conf and /etc/hosts ---------------------------------------------------
runpod "$(app 'cat /etc/resolv.conf' '[]' '[]')"
want "no DNS flag: /etc/resolv.conf unreadable" 1 "resolv.conf'?: No such file or directory"

RESOLV='# Generated by rkt run
search foo.com bar.com
nameserver 8.8.4.4
options debug use-vc rotate
domain example.net'
newpod "$(app 'cat /etc/resolv.conf; echo x >>/etc/resolv.conf' '[]' '[]')"
mkdir -p "$POD/stage1/rootfs/etc" && printf '%s\n' "$RESOLV" >"$POD/stage1/rootfs/etc/rkt-resolv.conf"
runinit --dns-conf-mode=resolv=stage0,hosts=default
want "resolv=stage0: etc/rkt-resolv.conf with search/nameserver/options/domain" 1 "^$RESOLV
.*Read-only file system"

newpod "$(app 'cat /etc/hosts' '[]' '[]')"
mkdir -p "$POD/stage1/rootfs/etc"
printf '127.0.0.1 localhost\n# Added by rkt run --hosts-entry\n128.66.0.99 host1 host2\n' >"$POD/stage1/rootfs/etc/rkt-hosts"
runinit --dns-conf-mode=resolv=none,hosts=stage0
want "hosts=stage0: --hosts-entry lines from etc/rkt-hosts" 0 '^128.66.0.99 host1 host2$'

runpod "$(app 'grep -c "127.0.0.1 localhost.* rkt-'"$UUID"'" /etc/hosts' '[]' '[]')"
want "no hosts flag: stub line with rkt-<uuid>" 0 '^1$'
newpod "$(app 'cat /etc/hosts' '[]' '[]')"
printf '10.1.2.3 from-image\n' >"$ROOTFS/etc/hosts"
runinit
want "no hosts flag: the image's own /etc/hosts is kept" 0 '^10.1.2.3 from-image$'
runpod "$(app 'cat /etc/hosts' "[{\"name\":\"h\",\"kind\":\"host\",\"source\":\"$T/hosts-vol\"}]" '[{"volume":"h","path":"/etc/hosts"}]')"
want "no hosts flag: a volume on /etc/hosts wins" 0 '^10.9.9.9 from-volume$'

runpod "$(app 'sha1sum /etc/hosts /etc/resolv.conf | cut -d" " -f1' '[]' '[]')" --dns-conf-mode=resolv=host,hosts=host
want "hosts=host, resolv=host: same sha1 as the host's files" 0 "^$(sha1sum /etc/hosts | cut -d' ' -f1)
$(sha1sum -L /etc/resolv.conf 2>/dev/null | cut -d' ' -f1 || sha1sum "$(readlink -f /etc/resolv.conf)" | cut -d' ' -f1)$"

runpod "$(app 'true' '[]' '[]')" --dns-conf-mode=resolv=stage0
want "resolv=stage0 without etc/rkt-resolv.conf: refused" 254 'stage0 did not write stage1/rootfs/etc/rkt-resolv.conf'
runpod "$(app 'true' '[]' '[]')" --dns-conf-mode=hosts=none
want "bad --dns-conf-mode value refused" 254 'dns-conf-mode'

runpod "$(app 'true' "$HOSTVOL" "$MNT")"
left=$(grep -c "$T" /proc/self/mountinfo)
check "no mount left on the host after the pods ($left)" [ "$left" -eq 0 ]

done_testing
