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

# ---- the helper's channel (issue 4, DESIGN §15) ---------------------------
# A real rkt-privhelper on a scratch tree under /run (its path checks refuse
# world-writable /tmp), a hand-made prepared pod to ask about, and ipc-probe
# (tests/fixtures) for the timed clients and the two baselines:
#   helper-request     STATUS round trip inside a live session vs a raw
#                      64-byte SOCK_SEQPACKET round trip        (goal <= 2)
#   helper-request-spaced  the same with 20 ms between sessions and between
#                      raw round trips: CPUs idle between samples, as
#                      between one person's commands             (goal <= 2)
#   helper-request-floor   a freshly exec'd process that only echoes: its
#                      round trip after a greeting, vs the raw one; what
#                      one exec per session costs before any work (no goal)
#   helper-connection  connect + HELLO + STATUS + close vs
#                      fork + execve(/bin/true) + waitpid         (goal <= 2)
#   helper-idle-rss    the helper's resident set once idle: the listener
#                      and any child, after its spare session left (goal <= 2 MiB)
probe=$build/tests/ipc-probe
listener=$build/bin/rkt-privhelper
if [ ! -x "$probe" ] || [ ! -x "$listener" ]; then
	echo "bench: $probe or $listener not built (make programs unit-tests); helper figures skipped" >&2
	exit 0
fi
# Under /var/lib: on the root filesystem like the real store, and beneath
# root-owned, non-world-writable parents as the helper's path checks want.
H=$(mktemp -d -p /var/lib rkt-bench-helper.XXXXXX)
chmod 755 "$H"
"$top/dist/setup-data-dir" --data "$H/data" --config "$H/etc" >/dev/null
mkdir -p "$H/sys"
uuid=6b1e0c3a-7f0e-4a8e-9d3c-2f1b5e6a7c80
mkdir -p "$H/data/pods/prepared/$uuid"
: >"$H/data/pods/prepared/$uuid/pod-created"
"$listener" --listen "$H/sock" --dir "$H/data" --local-config "$H/etc" --system-config "$H/sys" \
	2>"$H/helper.log" &
hpid=$!
trap 'kill $hpid 2>/dev/null; wait $hpid 2>/dev/null; rm -rf "$H"; cleanup' EXIT
for _ in $(seq 100); do [ -S "$H/sock" ] && break; sleep 0.05; done
P=("$probe" --socket "$H/sock" --dir "$H/data" --local-config "$H/etc" --system-config "$H/sys")
median() { "$@" | sed -n 's/^median_us=//p'; }
# ratio NAME GOAL OURS_CMD -- PEER_CMD: three pairs, median of the ratios.
ratio() {
	local name=$1 goal=$2 ours=() peer=() rs=() o p i
	shift 2
	while [ "$1" != -- ]; do ours+=("$1"); shift; done
	shift
	peer=("$@")
	for i in 1 2 3; do
		o=$(median "${ours[@]}") p=$(median "${peer[@]}")
		[ -n "$o" ] && [ -n "$p" ] || { echo "$name: a run failed" >&2; return 1; }
		rs+=("$o $p")
	done
	printf '%s\n' "${rs[@]}" | awk -v name="$name" -v goal="$goal" '
		{ o[NR] = $1; p[NR] = $2; r[NR] = $1 / $2 }
		END {
			# median of three ratios, with the run it came from
			for (i = 1; i <= 3; i++) { lo = 0; for (j = 1; j <= 3; j++) if (r[j] < r[i] || (r[j] == r[i] && j < i)) lo++; if (lo == 1) m = i }
			if (goal == "-") printf "%s: ours %d us, peer %d us, ratio %.2f (no goal)\n", name, o[m], p[m], r[m]
			else printf "%s: ours %d us, peer %d us, ratio %.2f (goal <= %g)%s\n", name, o[m], p[m], r[m], goal, r[m] <= goal ? "" : "  [MISSED]"
		}'
}
ratio helper-request 2 "${P[@]}" bench-request 300 "$uuid" -- "${P[@]}" bench-seqpacket 20000
ratio helper-request-spaced 2 "${P[@]}" bench-request 100 "$uuid" 20 -- "${P[@]}" bench-seqpacket 100 20
ratio helper-request-floor - "$probe" bench-fresh-echo 300 -- "$probe" bench-seqpacket 20000
ratio helper-connection 2 "${P[@]}" bench-status 300 "$uuid" -- "${P[@]}" bench-spawn 300
# Idle: the listener alone once its spare session (kept for 10 s after the
# last connection) is gone; the sum over the listener and any child left.
for _ in $(seq 130); do [ -z "$(pgrep -P "$hpid")" ] && break; sleep 0.1; done
rss=0
for p in $hpid $(pgrep -P "$hpid"); do
	rss=$((rss + $(awk '/^VmRSS:/ { print $2 }' "/proc/$p/status" 2>/dev/null || echo 0)))
done
awk -v k="$rss" 'BEGIN { m = k / 1024; printf "helper-idle-rss: ours %.2f MiB, peer -, ratio - (goal <= 2 MiB)%s\n", m, m <= 2 ? "" : "  [MISSED]" }'

# prepare of an image whose tree is already rendered, vs `cp -a` of that
# tree's rootfs (issue 4: the tree is root-owned and keyed by ID, so a
# prepare neither re-hashes nor copies; goal <= 0.2).
R=("$rkt" --dir="$H/data" --local-config="$H/etc" --system-config="$H/sys" --privhelper-socket="$H/sock")
# A rootfs-like image (perf-anchors.md §2: 16,384 small files and six large
# ones), since `cp -a` of one big file is just a copy_file_range.
/usr/bin/python3 "$top/tests/fixtures/mkaci.py" -o "$S/tree.aci" --name localhost/bench/tree \
	--size-mib "$SIZE_MIB" --files 16384
key=$("${R[@]}" --insecure-options=image fetch --full "$S/tree.aci" 2>/dev/null) ||
	{ echo "bench: fetch into the helper's store failed" >&2; exit 1; }
"${R[@]}" --insecure-options=image prepare "$key" >/dev/null 2>"$H/prepare.err" ||
	{ echo "bench: first prepare failed: $(tail -1 "$H/prepare.err")" >&2; exit 1; }
tree=$(ls -d "$H"/data/tree/deps-* | head -1)
/usr/bin/python3 - "$tree/rootfs" "$H/cp" "$key" "${R[@]}" <<'PY'
import os, shutil, statistics, subprocess, sys, time
rootfs, cpdest, img, rkt = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
def t(argv):
    t0 = time.monotonic()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.monotonic() - t0
rs, os_, ps = [], [], []
for _ in range(5):
    o = t(rkt + ["--insecure-options=image", "prepare", img])
    shutil.rmtree(cpdest, ignore_errors=True)
    os.sync()
    p = t(["cp", "-a", rootfs, cpdest])
    os_.append(o); ps.append(p); rs.append(o / p)
m = sorted(range(5), key=lambda i: rs[i])[2]
print("prepare-rendered: ours %.3f s, peer %.3f s, ratio %.2f (goal <= 0.2)%s" % (
    os_[m], ps[m], rs[m], "" if rs[m] <= 0.2 else "  [MISSED]"), flush=True)
PY
