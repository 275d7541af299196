#!/bin/bash
# make bench: performance figures against peers measured in the same run
# (DESIGN §15, interfaces.md). Each line reads
#   name: ours X, peer Y, ratio R (goal G)
# where R = ours / peer, the median of paired runs (ours, peer, ours, peer,
# ...), so machine drift cancels out; lower is better.
#   fetch-256MiB       rkt --insecure-options=image fetch FILE (fresh store each
#                      run) vs `tee DEST < FILE | sha512sum`
#   fetch-gzip-256MiB  the same from a gzip file vs `gzip -dc FILE | tee DEST | sha512sum`
#   fetch-peak-rss     largest resident set of any process of the fetch
# Knobs: PAIRS (5), SIZE_MIB (256), RKT_BUILD (build), KEEP=1 keeps the
# scratch dir, GOAL_FETCH, GOAL_GZIP (ratios), GOAL_RSS_MIB.
# Only public tools: coreutils, gzip, python3 (timing and getrusage).
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${RKT_BUILD:-$top/build}
rkt=$build/bin/rkt
[ -x "$rkt" ] || { echo "bench: $rkt not built (make programs)" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "bench: run as root (it makes scratch stores with setup-data-dir)" >&2; exit 1; }
PAIRS=${PAIRS:-5}
export SIZE_MIB=${SIZE_MIB:-256}
# The issue's budget is 1.1x the one-pass baseline; rkt v1.30 itself
# measures 0.77-0.89 (plain) and 0.53-0.61 (gzip) here (DESIGN §15).
GOAL_FETCH=${GOAL_FETCH:-1.1}
GOAL_GZIP=${GOAL_GZIP:-1.1}
GOAL_RSS_MIB=${GOAL_RSS_MIB:-16}

# The store goes on the root filesystem (ext4 here), as a host's
# /var/lib/rkt would: /run is tmpfs, where fsync costs nothing.
S=$(mktemp -d -p "${BENCH_DIR:-/var/tmp}" rkt-bench.XXXXXX)
chmod 755 "$S"
cleanup() { if [ -n "${KEEP:-}" ]; then echo "bench: kept $S" >&2; else rm -rf "$S"; fi; }
trap cleanup EXIT

echo "bench: building a ${SIZE_MIB} MiB ACI (plain and gzip) in $S" >&2
/usr/bin/python3 "$top/tests/fixtures/mkaci.py" -o "$S/img.aci" --name localhost/bench/big --size-mib "$SIZE_MIB"
gzip -1 -c "$S/img.aci" >"$S/img.aci.gz.aci"
want=sha512-$(sha512sum "$S/img.aci" | cut -c1-64)

# The timing harness: runs each case as a whole process (set-up outside the
# timed span), pairs ours with the peer, and reports medians. Peak RSS comes
# from getrusage(RUSAGE_CHILDREN).ru_maxrss, which covers every descendant
# that was waited for (GNU time is not installed here).
/usr/bin/python3 - "$S" "$rkt" "$top" "$PAIRS" "$want" "$GOAL_FETCH" "$GOAL_GZIP" "$GOAL_RSS_MIB" <<'PYEOF'
import os, resource, shutil, statistics, subprocess, sys, time

S, rkt, top, pairs, want = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
goal_fetch, goal_gzip, goal_rss = float(sys.argv[6]), float(sys.argv[7]), float(sys.argv[8])
store = os.path.join(S, "store")
dest = os.path.join(S, "dest")


def fresh_store():
    shutil.rmtree(store, ignore_errors=True)
    os.makedirs(os.path.join(store, "sys"))
    subprocess.run([os.path.join(top, "dist/setup-data-dir"), "--data", store + "/data",
                    "--config", store + "/etc"], check=True, stdout=subprocess.DEVNULL)
    os.sync()


def fresh_dest():
    if os.path.exists(dest):
        os.unlink(dest)
    os.sync()


def run(argv, shell=False):
    """Runs one case; returns (seconds, peak RSS in KiB, stdout)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.monotonic()
    p = subprocess.run(argv, shell=shell, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    dt = time.monotonic() - t0
    if p.returncode != 0:
        sys.exit("bench: %s failed (%d): %s" % (argv, p.returncode, p.stderr.decode()[-500:]))
    return dt, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, before, p.stdout.decode().strip()


def ours(f):
    fresh_store()
    dt, rss, _, out = run([rkt, "--dir=" + store + "/data", "--local-config=" + store + "/etc",
                           "--system-config=" + store + "/sys", "--insecure-options=image",
                           "fetch", "--full", f])
    if out != want:
        sys.exit("bench: rkt fetch printed %r, want %r" % (out, want))
    return dt


def peer(cmd):
    fresh_dest()
    return run(cmd, shell=True)[0]


def paired(name, f, peer_cmd, goal):
    ours(f)  # warm-up: page cache, first-run costs
    peer(peer_cmd)
    o, p, r = [], [], []
    for _ in range(pairs):
        a = ours(f)
        b = peer(peer_cmd)
        o.append(a)
        p.append(b)
        r.append(a / b)
    ratio = statistics.median(r)
    print("%s: ours %.3f s, peer %.3f s, ratio %.2f (goal <= %.2f)%s" % (
        name, statistics.median(o), statistics.median(p), ratio, goal,
        "" if ratio <= goal else "  [MISSED]"), flush=True)
    return ratio <= goal


img = os.path.join(S, "img.aci")
gz = os.path.join(S, "img.aci.gz.aci")
met = True
size = int(os.environ.get("SIZE_MIB", "256"))
met &= paired("fetch-%dMiB" % size, img, "tee %s < %s | sha512sum >/dev/null" % (dest, img), goal_fetch)
met &= paired("fetch-gzip-%dMiB" % size, gz, "gzip -dc %s | tee %s | sha512sum >/dev/null" % (gz, dest), goal_gzip)


# Peak RSS of a whole process tree. A child forked by this python inherits
# python's ~8 MiB high-water mark (Linux keeps ru_maxrss across execve), so
# the measured tree is started by a small /bin/sh in the background and
# reaped here as a subreaper: wait4 then returns its own rusage, which covers
# every descendant it waited for.
def peak(cmd):
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(36, 1, 0, 0, 0) != 0:  # PR_SET_CHILD_SUBREAPER
        sys.exit("bench: prctl(PR_SET_CHILD_SUBREAPER) failed")
    sh = subprocess.run(["/bin/sh", "-c", "( %s ) >/dev/null 2>&1 </dev/null & echo $!" % cmd],
                        stdout=subprocess.PIPE, check=True)
    pid = int(sh.stdout)
    _, status, ru = os.wait4(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit("bench: %s failed" % cmd)
    return ru.ru_maxrss / 1024.0


fresh_store()
rss_ours = peak("exec %s --dir=%s/data --local-config=%s/etc --system-config=%s/sys "
                "--insecure-options=image fetch %s" % (rkt, store, store, store, gz))
fresh_dest()
rss_peer = peak("gzip -dc %s | tee %s | sha512sum" % (gz, dest))
ok = rss_ours <= goal_rss
met &= ok
print("fetch-peak-rss: ours %.1f MiB, peer %.1f MiB, ratio %.2f (goal <= %g MiB)%s" % (
    rss_ours, rss_peer, rss_ours / rss_peer, goal_rss, "" if ok else "  [MISSED]"), flush=True)
shutil.rmtree(store, ignore_errors=True)
sys.exit(0)
PYEOF
