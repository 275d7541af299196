#!/bin/bash
# make bench (after bench.sh): pod figures against peers measured in the same
# run (issue 5 "Performance"). Each line reads
#   name: ours X, peer Y, ratio R (goal G)
# where R = ours / peer, the median of paired runs (ours, peer, ours, peer,
# ...), so machine drift cancels out; lower is better.
#   run-true-vs-crun   rkt run --net=none of /bin/true from a cached busybox
#                      image, command start to exit, vs `crun run` of an OCI
#                      bundle over the same rootfs (terminal false, unique id)
#   run-true-vs-bwrap  the same vs `bwrap --bind ROOTFS / --proc /proc --dev
#                      /dev --unshare-all /bin/true`
#   run-true-vs-unshare  the same vs `unshare --mount --pid --fork --uts --ipc
#                      --net chroot ROOTFS /bin/true`, the baseline of
#                      reference/perf-anchors.md (figure only: crun is 2.6x and
#                      bwrap 1.18x of it there, so it reads the goals when a peer
#                      is not installed)
#   list-100-pods      rkt list with 100 pods in the pods dir vs `ls -R` of it
#   helper-session-rss, stage1-init-rss
#                      peak resident set (VmHWM) of the helper session and of
#                      the largest stage1 init process while a `sleep` pod runs
# The peers are Debian's crun and bubblewrap: installed with apt-get when
# missing (as ../shared/bench/peers.sh does); a peer still missing prints
# "NAME: skipped: crun not installed". crun 1.8 refuses this hybrid-cgroup host while the v2
# mount is visible (perf-anchors.md), so the whole measurement, the helper
# and our pods included, runs in one private mount namespace in which
# /sys/fs/cgroup/unified is unmounted: both sides of every pair see the same
# cgroup layout.
# Knobs: PAIRS (20), RKT_BUILD (build), KEEP=1 keeps the scratch dir,
# GOAL_CRUN (1.0), GOAL_BWRAP (2.0), GOAL_LIST (2.0).
# Only public tools: bash, coreutils, util-linux, python3; crun and bwrap when
# installed.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${RKT_BUILD:-$top/build}
[ "$(id -u)" -eq 0 ] || { echo "pods-bench: run as root" >&2; exit 1; }
for f in bin/rkt bin/rkt-privhelper stage1/ns/init; do
	[ -x "$build/$f" ] || { echo "pods-bench: $build/$f not built (make programs)" >&2; exit 1; }
done

missing=()
command -v crun >/dev/null 2>&1 || missing+=(crun)
command -v bwrap >/dev/null 2>&1 || missing+=(bubblewrap)
if [ ${#missing[@]} -gt 0 ] && [ -z "${RKT_PODS_BENCH_NS:-}" ] && command -v apt-get >/dev/null; then
	echo "pods-bench: installing the peers: ${missing[*]}" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null 2>&1 ||
		echo "pods-bench: could not install ${missing[*]}; those lines are skipped" >&2
fi
if [ -z "${RKT_PODS_BENCH_NS:-}" ]; then
	RKT_PODS_BENCH_NS=1 exec unshare --mount --propagation private -- "$0" "$@"
fi
if mountpoint -q /sys/fs/cgroup/unified 2>/dev/null; then
	umount /sys/fs/cgroup/unified ||
		echo "pods-bench: cannot hide /sys/fs/cgroup/unified; crun may refuse this host" >&2
fi

PAIRS=${PAIRS:-20}
GOAL_CRUN=${GOAL_CRUN:-1.0}
GOAL_BWRAP=${GOAL_BWRAP:-2.0}
GOAL_LIST=${GOAL_LIST:-2.0}

# Under /var/lib: on the root filesystem like the real store, and beneath
# root-owned, non-world-writable parents as the helper's path checks want.
H=$(mktemp -d -p /var/lib rkt-bench-pods.XXXXXX)
chmod 755 "$H"
hpid=
cleanup() {
	set +e
	[ -n "$hpid" ] && kill "$hpid" 2>/dev/null && wait "$hpid" 2>/dev/null
	# our pods' mounts live in this namespace only and vanish with it, but
	# rm must not walk into a live one
	grep -o " $H/[^ ]*" /proc/self/mountinfo | sort -r | while read -r m; do umount -l "$m"; done
	if [ -n "${KEEP:-}" ]; then echo "pods-bench: kept $H" >&2; else rm -rf "$H"; fi
}
trap cleanup EXIT

"$top/dist/setup-data-dir" --data "$H/data" --config "$H/etc" >/dev/null
mkdir -p "$H/sys/stage1/ns" "$H/img"
chmod 755 "$H/sys" "$H/sys/stage1" "$H/sys/stage1/ns"
install -m 0755 "$build/stage1/ns/init" "$H/sys/stage1/ns/init"
[ -x "$build/stage1/ns/enter" ] && install -m 0755 "$build/stage1/ns/enter" "$H/sys/stage1/ns/enter"
/usr/bin/python3 "$top/tests/fixtures/mkaci.py" -o "$H/img/true.aci" --name localhost/bench/true --exec /bin/true
/usr/bin/python3 "$top/tests/fixtures/mkaci.py" -o "$H/img/sleep.aci" --name localhost/bench/sleep --exec "/bin/sleep 600"

"$build/bin/rkt-privhelper" --listen "$H/sock" --dir "$H/data" --local-config "$H/etc" \
	--system-config "$H/sys" 2>"$H/helper.log" &
hpid=$!
echo "$hpid" >"$H/hpid"
for _ in $(seq 100); do [ -S "$H/sock" ] && break; sleep 0.05; done
[ -S "$H/sock" ] || { echo "pods-bench: helper did not start: $(cat "$H/helper.log")" >&2; exit 1; }
R=("$build/bin/rkt" --dir="$H/data" --local-config="$H/etc" --system-config="$H/sys"
	--privhelper-socket="$H/sock" --insecure-options=image)
key=$("${R[@]}" fetch --full "$H/img/true.aci" 2>/dev/null)
skey=$("${R[@]}" fetch --full "$H/img/sleep.aci" 2>/dev/null)
# fetched, rendered and run once before timing: the image is cached
"${R[@]}" run --net=none "$key" >/dev/null 2>"$H/run.err" ||
	{ echo "pods-bench: rkt run failed: $(tail -1 "$H/run.err")" >&2; exit 1; }
tree=$(ls -d "$H"/data/tree/deps-* | head -1)

# The peers get a copy of the same rootfs: they create mount points in it,
# and the store's verified tree is not theirs to write.
cp -a "$tree/rootfs" "$H/rootfs"
mkdir -p "$H/rootfs/proc" "$H/rootfs/sys" "$H/rootfs/dev" "$H/rootfs/tmp"
if command -v crun >/dev/null 2>&1; then
	mkdir -p "$H/bundle"
	(cd "$H/bundle" && crun spec)
	/usr/bin/python3 - "$H/bundle/config.json" "$H/rootfs" <<'PY'
import json, sys
p, root = sys.argv[1], sys.argv[2]
c = json.load(open(p))
c["process"]["terminal"] = False
c["process"]["args"] = ["/bin/true"]
c["root"]["path"] = root
json.dump(c, open(p, "w"))
PY
fi

/usr/bin/python3 - "$H" "$PAIRS" "$GOAL_CRUN" "$GOAL_BWRAP" "$GOAL_LIST" "$key" "$skey" "${R[@]}" <<'PYEOF'
import os, shutil, statistics, subprocess, sys, time

H, pairs = sys.argv[1], int(sys.argv[2])
goal_crun, goal_bwrap, goal_list = map(float, sys.argv[3:6])
key, skey, rkt = sys.argv[6], sys.argv[7], sys.argv[8:]
rootfs = os.path.join(H, "rootfs")
pods = os.path.join(H, "data", "pods")
devnull = os.open(os.devnull, os.O_RDWR)


def run(argv):
    """Whole-process wall time of argv (posix_spawn .. wait4), stdio on /dev/null."""
    t0 = time.monotonic()
    pid = os.posix_spawnp(argv[0], argv, os.environ, setpgroup=0,
                          file_actions=[(os.POSIX_SPAWN_DUP2, devnull, 0),
                                        (os.POSIX_SPAWN_DUP2, devnull, 1),
                                        (os.POSIX_SPAWN_DUP2, devnull, 2)])
    _, st, _ = os.wait4(pid, 0)
    dt = time.monotonic() - t0
    try:  # bwrap leaves its pid-namespace init behind in the group
        os.killpg(pid, 9)
    except ProcessLookupError:
        pass
    if os.waitstatus_to_exitcode(st) != 0:
        err = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE).stderr
        sys.exit("pods-bench: %s failed (%d): %s" % (argv[0], os.waitstatus_to_exitcode(st),
                                                      err.decode()[-300:]))
    return dt


def report(name, o, p, r, goal):
    ratio = statistics.median(r)
    g = "" if goal is None else " (goal <= %.1f)%s" % (goal, "" if ratio <= goal else "  [MISSED]")
    print("%s: ours %.1f ms, peer %.1f ms, ratio %.2f%s" % (
        name, statistics.median(o) * 1e3, statistics.median(p) * 1e3, ratio,
        g if goal is not None else " (no goal)"), flush=True)


def paired(name, ours, peer, goal, n=pairs):
    for _ in range(2):  # warm-up: page cache, first-run costs
        run(ours()); run(peer())
    o, p, r = [], [], []
    for _ in range(n):
        a, b = run(ours()), run(peer())
        o.append(a); p.append(b); r.append(a / b)
    report(name, o, p, r, goal)


ours_run = lambda: rkt + ["run", "--net=none", key]
seq = [0]


def crun():
    seq[0] += 1
    return ["crun", "run", "-b", os.path.join(H, "bundle"), "pb%d-%d" % (os.getpid(), seq[0])]


# (b) first, on exactly 100 exited pods: the timed runs of (a) add more.
have = sum(len(os.listdir(os.path.join(pods, d))) for d in os.listdir(pods))
for _ in range(max(0, 100 - have)):
    run(ours_run())
paired("list-100-pods", lambda: rkt + ["list"], lambda: ["ls", "-R", pods], goal_list)

def peer_case(name, tool, argv, goal):
    """A peer that is missing or fails here is reported, not timed."""
    if not shutil.which(tool):
        print("%s: skipped: %s not installed" % (name, tool), flush=True)
        return
    p = subprocess.run(argv(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if p.returncode != 0:
        last = (p.stderr.decode(errors="replace").strip().splitlines() or ["exit %d" % p.returncode])[-1]
        print("%s: skipped: %s failed: %s" % (name, tool, last), flush=True)
        return
    paired(name, ours_run, argv, goal)


peer_case("run-true-vs-crun", "crun", crun, goal_crun)
peer_case("run-true-vs-bwrap", "bwrap", lambda: ["bwrap", "--bind", rootfs, "/", "--proc", "/proc",
                                                  "--dev", "/dev", "--unshare-all", "/bin/true"],
          goal_bwrap)
paired("run-true-vs-unshare", ours_run, lambda: ["unshare", "--mount", "--pid", "--fork", "--uts",
                                                "--ipc", "--net", "chroot", rootfs, "/bin/true"], None)


# (c) a sleep pod: VmHWM of the session serving it and of stage1's processes.
def hwm(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def children(pid):
    out = []
    try:
        for t in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/children" % (pid, t)) as f:
                out += [int(c) for c in f.read().split()]
    except OSError:
        pass
    return out


def exe(pid):
    try:
        return os.readlink("/proc/%d/exe" % pid)
    except OSError:
        return ""


with open(os.path.join(H, "hpid")) as f:
    listener = int(f.read())
p = subprocess.Popen(rkt + ["run", "--net=none", skey], stdin=subprocess.DEVNULL,
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
sess, init = 0, 0
deadline = time.monotonic() + 20
while time.monotonic() < deadline:
    time.sleep(0.05)
    sessions = [c for c in children(listener) if exe(c).endswith("rkt-privhelper-session")]
    inits, todo = [], list(sessions)
    while todo:
        c = todo.pop()
        if exe(c).endswith("/stage1/ns/init"):
            inits.append(c)
        todo += children(c)
    if any(exe(g).endswith("/sleep") or exe(g).endswith("/busybox")
           for i in inits for g in children(i)):
        time.sleep(0.2)  # settled
        sess = max(hwm(s) for s in sessions)
        init = max(hwm(i) for i in inits)
        break
p.terminate()
p.wait(timeout=30)
if not sess or not init:
    sys.exit("pods-bench: the sleep pod did not come up")
print("helper-session-rss: ours %.2f MiB, peer -, ratio - (no goal)" % (sess / 1024.0), flush=True)
print("stage1-init-rss: ours %.2f MiB, peer -, ratio - (no goal)" % (init / 1024.0), flush=True)
PYEOF
