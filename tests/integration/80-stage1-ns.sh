#!/bin/bash
# stage1 "ns" flavor on its own: pod directories built by hand (a copy of
# busybox-static per app, manifests written here) run by $BUILD/stage1/ns/init
# as the privileged helper will run it (cwd = pod dir, rkt's stage1 ABI).
. "$(dirname "$0")/lib.sh"

INIT=$BUILD/stage1/ns/init
BUSYBOX=/bin/busybox
if [ "$(id -u)" -ne 0 ]; then echo "1..0 # SKIP needs root"; exit 77; fi
if [ ! -x "$INIT" ]; then echo "1..0 # SKIP $INIT not built"; exit 77; fi
if ! file -L "$BUSYBOX" 2>/dev/null | grep -q static && ! ldd "$BUSYBOX" 2>&1 | grep -q 'not a dynamic'; then
	echo "1..0 # SKIP no static busybox (apt-get install busybox-static)"; exit 77
fi
# The pod's apps run under seccomp: LeakSanitizer cannot (DESIGN §13).
export ASAN_OPTIONS=abort_on_error=1:detect_leaks=0

T=$(mktemp -d -p /run rkt-s1.XXXXXX)
chmod 755 "$T"
cleanup() {
	[ -n "${KEEP:-}" ] && { diag "kept $T"; return; }
	rm -rf "$T"
}
trap cleanup EXIT

# A base rootfs: busybox and its applet links, an /etc/passwd and /etc/group.
BASE=$T/base
mkdir -p "$BASE/bin" "$BASE/etc" "$BASE/root"
cp "$BUSYBOX" "$BASE/bin/busybox"
for a in $("$BUSYBOX" --list); do [ "$a" = busybox ] || ln -s busybox "$BASE/bin/$a"; done
cat >"$BASE/etc/passwd" <<'P'
root:x:0:0:root:/root:/bin/sh
user1:x:1000:1000:user one:/home/user1:/bin/sh
P
cat >"$BASE/etc/group" <<'G'
root:x:0:
group1:x:100:
users:x:1000:
G
touch "$BASE/owned-by-4242" && chown 4242:4343 "$BASE/owned-by-4242"

# mkpod DIR SPEC: SPEC is JSON {"apps":[{"name","app":{image app},
# "pod":{pod app override}, "noapp":true}]}; writes the pod manifest,
# appsinfo/<app>/manifest and a rootfs copy per app.
mkpod() {
	"$PY" - "$1" "$2" "$BASE" <<'PYEOF'
import json, os, subprocess, sys
d, spec, base = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
os.makedirs(d)
apps = []
for i, a in enumerate(spec["apps"]):
    name = a["name"]
    img = {"acKind": "ImageManifest", "acVersion": "0.8.11",
           "name": "example.com/" + name,
           "labels": [{"name": "os", "value": "linux"}, {"name": "arch", "value": "amd64"}]}
    if "app" in a:
        app = {"user": "0", "group": "0"}
        app.update(a["app"])
        img["app"] = app
    os.makedirs(f"{d}/appsinfo/{name}")
    with open(f"{d}/appsinfo/{name}/manifest", "w") as f:
        json.dump(img, f)
    os.makedirs(f"{d}/stage1/rootfs/opt/stage2/{name}")
    subprocess.run(["cp", "-a", base, f"{d}/stage1/rootfs/opt/stage2/{name}/rootfs"], check=True)
    pa = {"name": name, "image": {"name": img["name"], "id": "sha512-" + ("%064x" % (i + 1))}}
    if "pod" in a:
        pa["app"] = a["pod"]
    apps.append(pa)
with open(f"{d}/pod", "w") as f:
    json.dump({"acKind": "PodManifest", "acVersion": "0.8.11", "apps": apps}, f)
PYEOF
}

UUID=0f4ce6d2-7c3b-4a8e-9d51-6a3b2f1e0c77
N=0
# runpod SPEC [ARGS...]: builds a fresh pod and runs init in it; stdout and
# stderr land in $OUT, the exit status in $RC, the pod dir is $POD.
runpod() {
	local spec=$1
	shift
	N=$((N + 1))
	POD=$T/pod$N
	mkpod "$POD" "$spec" || { RC=255; OUT="mkpod failed"; return; }
	OUT=$(cd "$POD" && timeout -k 5 120 "$INIT" "$@" "$UUID" 2>&1); RC=$?
}
# one_app EXEC_JSON [ISOLATORS_JSON [EXTRA_APP_JSON]]: spec of a one-app pod.
one_app() {
	printf '{"apps":[{"name":"app","app":{"exec":%s,"isolators":%s%s}}]}' "$1" "${2:-[]}" "${3:+,$3}"
}
sh_app() { one_app "[\"/bin/sh\",\"-c\",$(printf '%s' "$1" | "$PY" -c 'import json,sys;print(json.dumps(sys.stdin.read()))')]" "${2:-[]}" "${3:-}"; }
has() { [ -z "$1" ] || printf '%s' "$OUT" | grep -qE -- "$1"; }
want() { # want DESCRIPTION RC PATTERN
	if [ "$RC" -eq "$2" ] && has "$3"; then ok "$1"; else not_ok "$1"; diag "exit $RC (want $2): $(printf '%s' "$OUT" | head -8)"; fi
}

# ---- pod runs, exit codes --------------------------------------------------
runpod "$(one_app '["/bin/echo","hello from the pod"]')" --net=none
want "one app: output reaches stdout, exit 0" 0 '^hello from the pod$'
check "status file records 0" [ "$(cat "$POD/stage1/rootfs/rkt/status/app" 2>/dev/null)" = 0 ]
check "pid file names the pod's PID 1" grep -qE '^[0-9]+$' "$POD/pid"

runpod "$(sh_app 'exit 3')" --net=none
want "one app exiting 3: init exits 3" 3 ''
check "status file records 3" [ "$(cat "$POD/stage1/rootfs/rkt/status/app" 2>/dev/null)" = 3 ]

runpod '{"apps":[{"name":"a0","app":{"exec":["/bin/sh","-c","sleep 0.3; exit 0"]}},
 {"name":"a1","app":{"exec":["/bin/sh","-c","sleep 0.6; exit 5"]}},
 {"name":"a2","app":{"exec":["/bin/sh","-c","sleep 30; exit 6"]}}]}' --net=none
want "three apps 0/5/6: the first failure (5) wins" 5 ''
st=$(for a in a0 a1 a2; do printf '%s=%s ' $a "$(cat "$POD/stage1/rootfs/rkt/status/$a" 2>/dev/null)"; done)
check "statuses a0=0 a1=5 a2=0 (stopped) [$st]" [ "$st" = "a0=0 a1=5 a2=0 " ]

runpod "$(one_app '["/foo-not-there"]')" --net=none
want "missing exec: rkt's error, non-zero" 254 'Error: Unable to open "/foo-not-there": No such file or directory'

runpod "$(one_app '["echo","via PATH"]')" --net=none
want "relative exec resolved through PATH" 0 '^via PATH$'

# ---- namespaces --------------------------------------------------------------
runpod "$(sh_app 'hostname; echo pid=$$')" --net=none
want "default hostname rkt-<uuid>" 0 "^rkt-$UUID\$"
want "the app is not PID 1 but lives in the pod's pid namespace" 0 '^pid=[2-9]$'
runpod "$(sh_app 'hostname; cat /etc/hostname; grep -c "127.0.0.1 localhost.* test-host" /etc/hosts')" --net=none --hostname=test-host
want "--hostname sets hostname, /etc/hostname and the /etc/hosts fallback" 0 '^test-host
test-host
1$'
runpod "$(sh_app 'sed -n "3,\$p" /proc/net/dev | cut -d: -f1 | tr -d " "; ip link show lo | head -1')" --net=none
want "--net=none: only lo, and it is up" 0 '^lo
1: lo: <LOOPBACK,UP'
runpod "$(sh_app 'sed -n "3,\$p" /proc/net/dev | wc -l')" --net=host
hostifs=$(sed -n '3,$p' /proc/net/dev | wc -l)
want "--net=host: the host's $hostifs interfaces" 0 "^$hostifs\$"

# ---- /dev, /proc, /sys ---------------------------------------------------------
runpod "$(sh_app 'for f in null zero full random urandom tty console; do [ -c /dev/$f ] || echo missing $f; done
echo x >/dev/null && echo devnull-ok; stat -L -c "%A %U:%G" /dev/ptmx; readlink /dev/ptmx; mount | grep -c " /dev/shm "')" --net=none
want "/dev: nodes, ptmx -> pts/ptmx crw-rw-rw- root:root, shm" 0 '^devnull-ok
crw-rw-rw- root:root
pts/ptmx
1$'
# This kernel has no /proc/kcore or /proc/sysrq-trigger; kallsyms and
# timer_list stand in for the masked files.
runpod "$(sh_app 'stat -c %A /proc/kallsyms /proc/timer_list; stat -c %A /sys/firmware; touch /sys/x 2>&1
grep -cE " /proc/(bus|sys) proc ro," /proc/mounts; echo 1 > /proc/sys/kernel/core_pattern')" --net=none
want "/proc/kallsyms and /proc/timer_list masked ----------" 1 '^----------
----------$'
want "/sys/firmware masked d---------" 1 '^d---------$'
want "/sys read-only" 1 "/sys/x: Read-only file system"
want "/proc/bus and /proc/sys are read-only mounts" 1 '^2$'
want "/proc/sys/kernel/core_pattern read-only" 1 'core_pattern: Read-only file system'
if [ -e /proc/sysrq-trigger ]; then
	runpod "$(sh_app 'echo b > /proc/sysrq-trigger')" --net=none
	want "/proc/sysrq-trigger read-only" 1 'sysrq-trigger: Read-only file system'
else
	skip "this kernel has no /proc/sysrq-trigger"
fi
runpod "$(sh_app 'stat -c %A /proc/kallsyms /sys/firmware; grep -cE " /proc/sys proc ro," /proc/mounts')" --net=none --disable-paths
want "--disable-paths: nothing masked in /proc or /sys" 1 '^-r--r--r--
dr-xr-xr-x
0$'

# ---- users and environment ------------------------------------------------------
runpod "$(sh_app 'id -u; id -g; id -G' '[]' '"user":"user1","group":"group1","supplementaryGIDs":[7,8]')" --net=none
want "user/group by name from the image's /etc/passwd and /etc/group" 0 '^1000
100
100 7 8$'
runpod "$(sh_app 'id -u; id -g' '[]' '"user":"/owned-by-4242","group":"/owned-by-4242"')" --net=none
want "user/group from an absolute path's owner" 0 '^4242
4343$'
runpod "$(sh_app 'id -u' '[]' '"user":"nosuchuser"')" --net=none
want "unknown user name: one line naming it" 254 'user nosuchuser: no such entry in /etc/passwd'
runpod '{"apps":[{"name":"app","app":{"exec":["/bin/sh","-c","echo $A-$B-$AC_APP_NAME-$HOME; echo $PATH"],
 "environment":[{"name":"A","value":"img"},{"name":"B","value":"img"}]},
 "pod":{"user":"0","group":"0","environment":[{"name":"B","value":"pod"}]}}]}' --net=none
want "env: image value, pod app value wins, AC_APP_NAME, HOME, PATH" 0 '^img-pod-app-/root
/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin$'
runpod "$(sh_app 'pwd' '[]' '"workingDirectory":"/etc"')" --net=none
want "working directory" 0 '^/etc$'

# ---- capabilities -----------------------------------------------------------------
capbnd() { printf '%s' "$OUT" | sed -n 's/^CapBnd:[[:space:]]*//p'; }
runpod "$(sh_app 'grep -E "^Cap(Bnd|Eff)" /proc/self/status')" --net=none
check "default bounding set = rkt's 14 caps ($(capbnd))" [ "$(capbnd)" = 00000000a80425fb ]
runpod "$(sh_app 'grep ^CapBnd /proc/self/status' '[{"name":"os/linux/capabilities-retain-set","value":{"set":["CAP_NET_ADMIN"]}}]')" --net=none
check "retain-set CAP_NET_ADMIN -> only net_admin ($(capbnd))" [ "$(capbnd)" = 0000000000001000 ]
runpod "$(sh_app 'grep ^CapBnd /proc/self/status' '[{"name":"os/linux/capabilities-retain-set","value":{"set":["CAP_SYS_ADMIN","CAP_CHOWN"]}}]')" --net=none
check "retain-set may exceed the default (sys_admin) ($(capbnd))" [ "$(capbnd)" = 0000000000200001 ]
runpod "$(sh_app 'grep ^CapBnd /proc/self/status' '[{"name":"os/linux/capabilities-remove-set","value":{"set":["CAP_CHOWN","CAP_KILL"]}}]')" --net=none
check "remove-set subtracts chown and kill ($(capbnd))" [ "$(capbnd)" = 00000000a80425da ]
runpod "$(sh_app 'grep ^CapBnd /proc/self/status')" --net=none --disable-capabilities-restriction
check "--disable-capabilities-restriction keeps the whole set ($(capbnd))" [ "$(capbnd)" = "$(sed -n 's/^CapBnd:[[:space:]]*//p' /proc/self/status)" ]

# ---- seccomp and no_new_privs --------------------------------------------------------
runpod "$(sh_app 'stat -c "/: mode: %A" /; grep -E "^(Seccomp|NoNewPrivs):" /proc/self/status | tr -d "\t"')" --net=none
want "default filter: ordinary work runs, filter on, no_new_privs 0 for root" 0 '^/: mode: d.*
NoNewPrivs:0
Seccomp:2$'
# A user namespace needs no capability, so only the filter can refuse it.
runpod "$(sh_app 'unshare -U true 2>&1; echo rc=$?')" --net=none
want "default filter denies unshare (user namespace)" 0 'rc=1'
runpod "$(sh_app 'unshare -U true 2>&1; echo rc=$?')" --net=none --disable-seccomp
want "without the filter the same unshare works" 0 'rc=0'
SECRM='[{"name":"os/linux/seccomp-remove-set","value":{"set":["stat","statx","newfstatat","fstatat64","lstat"],"errno":"EXFULL"}}]'
runpod "$(sh_app 'stat /' "$SECRM")" --net=none
want "remove-set stat with errno EXFULL -> Exchange full" 1 '[Ee]xchange full'
runpod "$(sh_app 'stat -c ok / && grep NoNewPrivs /proc/self/status | tr -d "\t"' "$SECRM" '"user":"1000"')" --net=none
want "remove-set as uid 1000 forces no_new_privs" 1 'xchange full'
runpod "$(sh_app 'grep NoNewPrivs /proc/self/status | tr -d "\t"' '[]' '"user":"1000"')" --net=none
want "uid 1000 under the default filter: no_new_privs forced" 0 '^NoNewPrivs:1$'
runpod "$(sh_app 'grep -E "^(Seccomp|NoNewPrivs):" /proc/self/status | tr -d "\t"' '[{"name":"os/linux/seccomp-retain-set","value":{"set":["@appc.io/all"]}}]' '"user":"1000"')" --net=none
want "retain @appc.io/all: no filter, uid 1000 keeps no_new_privs 0" 0 '^NoNewPrivs:0
Seccomp:0$'
runpod "$(sh_app 'grep NoNewPrivs /proc/self/status | tr -d "\t"' '[{"name":"os/linux/no-new-privileges","value":true}]')" --net=none
want "no-new-privileges isolator true" 0 '^NoNewPrivs:1$'
runpod "$(sh_app 'grep Seccomp: /proc/self/status | tr -d "\t"')" --net=none --disable-seccomp
want "--disable-seccomp: no filter" 0 '^Seccomp:0$'
runpod "$(sh_app 'echo x' '[{"name":"os/linux/seccomp-retain-set","value":{"set":["@rkt/default-whitelist"]}},{"name":"os/linux/seccomp-remove-set","value":{"set":["stat"]}}]')" --net=none
want "two seccomp isolators refused before anything runs" 254 'too many seccomp isolators|conflicts with'


# ---- isolators on cgroups and oom ----------------------------------------------------
runpod "$(sh_app 'cat /proc/self/oom_score_adj' '[{"name":"os/linux/oom-score-adj","value":99}]')" --net=none
want "oom-score-adj 99" 0 '^99$'
runpod "$(sh_app 'cat /proc/self/oom_score_adj')" --net=none
want "oom-score-adj default 0" 0 '^0$'
own_mem=/sys/fs/cgroup/memory$(awk -F: '$2=="memory"{print $3}' /proc/self/cgroup)
own_cpu=/sys/fs/cgroup/cpu$(awk -F: '$2=="cpu" || $2 ~ /(^|,)cpu(,|$)/{print $3; exit}' /proc/self/cgroup)
if [ -d "$own_mem" ]; then
	# the app cannot see cgroupfs; read the limit from the host while it runs
	N=$((N + 1)); POD=$T/pod$N
	mkpod "$POD" "$(sh_app 'sleep 2' '[{"name":"resource/memory","value":{"limit":"42Mi"}},{"name":"resource/cpu","value":{"limit":"900m"}},{"name":"os/linux/cpu-shares","value":12345}]')"
	(cd "$POD" && "$INIT" --net=none "$UUID") & ipid=$!
	sleep 1
	lim=$(cat "$own_mem/rkt-$UUID/app/memory.limit_in_bytes" 2>&1)
	quota=$(cat "$own_cpu/rkt-$UUID/app/cpu.cfs_quota_us" 2>&1)
	shares=$(cat "$own_cpu/rkt-$UUID/app/cpu.shares" 2>&1)
	wait $ipid
	check "memory limit 42Mi -> 44040192 bytes ($lim)" [ "$lim" = 44040192 ]
	check "cpu limit 900m -> cfs quota 90000 of 100000 ($quota)" [ "$quota" = 90000 ]
	check "cpu-shares 12345 ($shares)" [ "$shares" = 12345 ]
	check "no pod cgroup left after exit" [ ! -e "$own_mem/rkt-$UUID" ] && [ ! -e "$own_cpu/rkt-$UUID" ]
	# A memory hog: busybox tail -c N keeps N bytes in memory.
	runpod "$(sh_app 'head -c 200m /dev/zero | tail -c 150m >/dev/null && echo survived' '[{"name":"resource/memory","value":{"limit":"32Mi"}}]')" --net=none
	if [ "$RC" -ne 0 ] && ! has survived; then ok "memory limit OOM-kills a hog (exit $RC)"; else not_ok "memory limit OOM-kills a hog"; diag "exit $RC: $OUT"; fi
	leftover=$(find /sys/fs/cgroup -maxdepth 6 -name "rkt-$UUID" 2>/dev/null)
	check "no cgroup left in any hierarchy [$leftover]" [ -z "$leftover" ]
else
	skip "no v1 memory cgroup hierarchy"
fi

# An image whose /proc is a symlink must not redirect stage1's mounts.
N=$((N + 1)); POD=$T/pod$N
mkpod "$POD" "$(one_app '["/bin/true"]')"
mkdir -p "$T/elsewhere"
rm -rf "$POD/stage1/rootfs/opt/stage2/app/rootfs/proc"
ln -s "$T/elsewhere" "$POD/stage1/rootfs/opt/stage2/app/rootfs/proc"
OUT=$(cd "$POD" && timeout -k 5 120 "$INIT" --net=none "$UUID" 2>&1); RC=$?
want "an image's /proc symlink is refused, naming it" 254 'rootfs: /proc is not a directory'
check "nothing was mounted through the symlink" [ -z "$(ls -A "$T/elsewhere")" ]

# ---- mounts and signals ------------------------------------------------------------
runpod "$(sh_app 'echo ok')" --net=none
left=$(grep -c "$T" /proc/self/mountinfo)
check "no mount left on the host after the pods ($left)" [ "$left" -eq 0 ]

N=$((N + 1)); POD=$T/pod$N
mkpod "$POD" "$(sh_app 'trap "echo got-term; exit 0" TERM; echo ready; while :; do sleep 0.1; done')"
(cd "$POD" && exec "$INIT" --net=none "$UUID") >"$T/sig.out" 2>&1 & ipid=$!
for i in $(seq 50); do grep -q ready "$T/sig.out" && break; sleep 0.1; done
kill -TERM "$ipid"
wait "$ipid"; RC=$?
OUT=$(cat "$T/sig.out")
want "SIGTERM to init reaches the app; the pod exits 0" 0 'got-term'

runpod "$(one_app '["/bin/true"]')" --net=bogus
want "unknown --net value" 254 'failed to setup network'
runpod "$(one_app '["/bin/true"]')"
want "no --net means none (runs)" 0 ''

done_testing
