#!/bin/bash
# The verified tree store (issue 4 "Verified tree store"; DESIGN §2 rules 2
# and 5, §7): rkt-privhelper-render, run as root as the session runs it,
# renders images a rkt member fetched into the root-owned tree store. It
# re-hashes what it renders, re-verifies signatures with the helper's own
# trusted keys, keeps owners and modes, applies dependencies in order, and
# reuses a rendered tree without re-hashing it.
. "$(dirname "$0")/lib.sh"
ensure_groups_and_users
make_tree

RENDER=$BUILD/bin/rkt-privhelper-render
M=$U_MEMBER
if [ ! -x "$RENDER" ]; then
	skip "rkt-privhelper-render not built in $BUILD"
	done_testing
	exit $?
fi

# ---- keys: A trusted by the helper's config, B only by a client's -----------
K=$T/keys
mkdir -p "$K"
FPR_A=$(gpg_key "$K/ha" 'Render Trusted <a@example.test>' "$K/a.asc")
FPR_B=$(gpg_key "$K/hb" 'Render Stranger <b@example.test>' "$K/b.asc")
mkdir -p "$T/etc/trustedkeys/prefix.d/localhost/render"
install -m 0644 "$K/a.asc" "$T/etc/trustedkeys/prefix.d/localhost/render/$FPR_A"
find "$T/etc/trustedkeys" -type d -exec chgrp rkt-admin {} + -exec chmod 2775 {} +
# A client's own --local-config that trusts both keys.
CL=$T/client-etc
mkdir -p "$CL/trustedkeys/prefix.d/localhost/render"
install -m 0644 "$K/a.asc" "$CL/trustedkeys/prefix.d/localhost/render/$FPR_A"
install -m 0644 "$K/b.asc" "$CL/trustedkeys/prefix.d/localhost/render/$FPR_B"
chmod -R a+rX "$CL"

# ---- images: owners, modes, setuid and dependencies mkaci.py does not make --
cat >"$T/mkimg.py" <<'EOF'
import io, json, sys, tarfile
# mkimg.py OUT NAME VERSION SHARED [DEP_NAME:DEP_VERSION[:DEP_ID]]...
out, name, version, shared = sys.argv[1:5]
deps = []
for d in sys.argv[5:]:
    parts = d.split(":")
    dep = {"imageName": parts[0], "labels": [{"name": "version", "value": parts[1]}]}
    if len(parts) > 2 and parts[2]:
        dep["imageID"] = parts[2]
    deps.append(dep)
m = {"acKind": "ImageManifest", "acVersion": "0.8.11", "name": name,
     "labels": [{"name": "version", "value": version}, {"name": "os", "value": "linux"}],
     "app": {"exec": ["/bin/busybox", "true"], "user": "0", "group": "0"}}
if deps:
    m["dependencies"] = deps
def ti(n, kind=tarfile.REGTYPE, mode=0o644, size=0, uid=0, gid=0, link=""):
    t = tarfile.TarInfo(n); t.type = kind; t.mode = mode; t.size = size
    t.uid, t.gid = uid, gid; t.mtime = 1500000000; t.linkname = link
    return t
with tarfile.open(out, "w", format=tarfile.GNU_FORMAT) as tar:
    data = json.dumps(m).encode()
    tar.addfile(ti("manifest", size=len(data)), io.BytesIO(data))
    for d in ["rootfs", "rootfs/bin", "rootfs/opt"]:
        tar.addfile(ti(d, tarfile.DIRTYPE, 0o755))
    with open("/bin/busybox", "rb") as bb:
        bb.seek(0, 2); n = bb.tell(); bb.seek(0)
        tar.addfile(ti("rootfs/bin/busybox", mode=0o755, size=n), bb)
        bb.seek(0)
        tar.addfile(ti("rootfs/bin/suid", mode=0o4755, size=n), bb)
    tar.addfile(ti("rootfs/opt/owned", mode=0o640, size=3, uid=1234, gid=5678), io.BytesIO(b"own"))
    tar.addfile(ti("rootfs/opt/" + name.replace("/", "_"), size=1), io.BytesIO(b"x"))
    s = shared.encode()
    tar.addfile(ti("rootfs/opt/shared", size=len(s)), io.BytesIO(s))
EOF
I=$T/img
mkdir -p "$I"
mkimg() { "$PY" "$T/mkimg.py" "$@"; }
sign_a() { gpg_sign "$K/ha" "$1"; }
sign_b() { gpg_sign "$K/hb" "$1" "${2:-$1.asc}"; }
chmod -R a+rX "$I"

# key_of TAR: the store key of an uncompressed ACI.
key_of() { echo "sha512-$(sha512sum <"$1" | cut -c1-64)"; }
# fetch_as_member FILE TAR [rkt options...]: fetches FILE, prints TAR's key
# when the fetch succeeded.
fetch_as_member() {
	local f=$1 tar=$2
	shift 2
	as "$M" timeout -k 5 300 "$RKT_BIN" --dir="$T/data" --local-config="$T/etc" \
		--system-config="$T/sys" "$@" fetch "$f" >/dev/null 2>"$T/fetch.err" &&
		key_of "$tar"
}
render() { "$RENDER" --dir "$T/data" --local-config "$T/etc" --system-config "$T/sys" "$@"; }
blob_of() { echo "$T/data/cas/blob/sha512/${1:7:2}/$1"; }
field() { sed -n "1s/.* $1=\([^ ]*\).*/\1/p; 1s/^$1=\([^ ]*\) .*/\1/p" | head -n 1; }

# ---- a signed image (served compressed) fetched by a member -----------------
mkimg "$I/app.aci" localhost/render/app 1.0 app
gzip -n -c "$I/app.aci" >"$I/app.aci.gz"
sign_a "$I/app.aci.gz"
chmod a+r "$I"/*
APP=$(fetch_as_member "$I/app.aci.gz" "$I/app.aci")
check "member fetched the signed, compressed image" like '^sha512-[0-9a-f]{64}$' "$APP"
check "…its signature and the served bytes are kept beside the blob" \
	test -s "$(blob_of "$APP").asc" -a -s "$(blob_of "$APP").orig"

OUT=$(render "$APP" 2>&1); rc=$?
TREE=$(printf '%s\n' "$OUT" | field tree)
if [ "$rc" -eq 0 ] && like "^tree=deps-sha512-[0-9a-f]{64} signed=1 image=$APP name=localhost/render/app$" "$OUT"; then
	ok "signed image renders: $OUT"
else
	not_ok "signed image renders"; diag "exit $rc: $OUT"
fi
R=$T/data/tree/$TREE
want_id="deps-sha512-$(printf '%s' "$APP" | sha512sum | cut -c1-64)"
check "tree ID is rkt's (sha512 of the dependency keys)" [ "$TREE" = "$want_id" ]
check "tree store and tree are root:root 0700" \
	test "$(stat -c '%U:%G %a' "$T/data/tree" "$R" | sort -u)" = "root:root 700"
check "rendered marker present" test -f "$R/rendered"
check "rootfs busybox is byte-identical" cmp -s /bin/busybox "$R/rootfs/bin/busybox"
check "owners and modes kept (1234:5678 0640)" \
	test "$(stat -c '%u:%g %a' "$R/rootfs/opt/owned")" = "1234:5678 640"
check "setuid bit kept for a signed image" test "$(stat -c '%a' "$R/rootfs/bin/suid")" = 4755
check "manifest at the tree's top" grep -q '"localhost/render/app"' "$R/manifest"

ino=$(stat -c '%i %Y' "$R/rendered")
start=$(date +%s%N)
OUT2=$(render "$APP" 2>&1); rc=$?
ms=$(( ($(date +%s%N) - start) / 1000000 ))
check "re-render answers the same tree" [ "$rc" -eq 0 -a "$OUT2" = "$OUT" ]
check "…without rendering again (marker untouched), in ${ms} ms" \
	[ "$(stat -c '%i %Y' "$R/rendered")" = "$ino" -a "$ms" -lt 1000 ]

# ---- a signed plain image: a blob changed after fetch is refused by hash -----
mkimg "$I/plain.aci" localhost/render/plain 1.0 plain
sign_a "$I/plain.aci"
chmod a+r "$I"/*
PLAIN=$(fetch_as_member "$I/plain.aci" "$I/plain.aci")
check "signed plain image: .asc kept, no .orig (the blob is what was signed)" \
	test -s "$(blob_of "$PLAIN").asc" -a ! -e "$(blob_of "$PLAIN").orig"
# The member flips one byte of busybox inside the blob (group rkt may write it).
as "$M" "$PY" -c '
import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(200000); b = f.read(1); f.seek(200000); f.write(bytes([b[0] ^ 0xff]))
' "$(blob_of "$PLAIN")"
expect_fail "blob modified after fetch is refused by hash" 254 \
	"image $PLAIN does not match its ID \(the store was modified after fetch\)" render "$PLAIN"
check "…and no tree was left for it" \
	test -z "$(find "$T/data/tree" -maxdepth 1 -name '.tmp-*')"

mkimg "$I/plain2.aci" localhost/render/plain2 1.0 plain2
sign_a "$I/plain2.aci"
chmod a+r "$I"/*
PLAIN2=$(fetch_as_member "$I/plain2.aci" "$I/plain2.aci")

# ---- the .orig of a compressed image replaced by other bytes ------------------
mkimg "$I/other.aci" localhost/render/app 1.0 other
gzip -n -c "$I/other.aci" >"$I/other.aci.gz"
rm -rf "$R"
cp "$(blob_of "$APP").orig" "$T/app.orig.saved"
as "$M" cp "$I/other.aci.gz" "$(blob_of "$APP").orig"
expect_fail "served bytes (.orig) replaced after fetch are refused by hash" 254 \
	"does not match its ID" render "$APP"
cat "$T/app.orig.saved" >"$(blob_of "$APP").orig"

# ---- .asc replaced by a signature of an untrusted key -------------------------
sign_b "$I/app.aci.gz" "$T/app-by-b.asc"
cp "$(blob_of "$APP").asc" "$T/app.asc.saved"
as "$M" cp "$T/app-by-b.asc" "$(blob_of "$APP").asc"
expect_fail ".asc replaced by an untrusted key's signature is refused" 254 \
	"image $APP: openpgp: signature made by unknown entity" render "$APP"
cat "$T/app.asc.saved" >"$(blob_of "$APP").asc"
OUT=$(render "$APP" 2>&1)
check "…and with its own signature back it renders again" like "^tree=.* signed=1 " "$OUT"

# ---- a key trusted only in the client's --local-config -----------------------
mkimg "$I/byb.aci" localhost/render/byb 1.0 byb
sign_b "$I/byb.aci"
chmod a+r "$I"/*
BYB=$(as "$M" "$RKT_BIN" --dir="$T/data" --local-config="$CL" --system-config="$T/sys" \
	fetch "$I/byb.aci" >/dev/null 2>"$T/fetch.err" && key_of "$I/byb.aci")
check "member fetched an image signed by a key its own config trusts" \
	like '^sha512-[0-9a-f]{64}$' "$BYB"
expect_fail "…the helper's keys do not trust it: refused" 254 \
	"image $BYB: openpgp: signature made by unknown entity" render "$BYB"

# ---- unsigned --------------------------------------------------------------------
mkimg "$I/unsigned.aci" localhost/render/unsigned 1.0 unsigned
chmod a+r "$I"/*
UNS=$(fetch_as_member "$I/unsigned.aci" "$I/unsigned.aci" --insecure-options=image)
check "member fetched an unsigned image (insecure)" like '^sha512-[0-9a-f]{64}$' "$UNS"
expect_fail "unsigned image refused without --allow-unsigned" 254 \
	"image $UNS is not signed \(run with --insecure-options=image, if the policy allows it\)" \
	render "$UNS"
OUT=$(render --allow-unsigned "$UNS" 2>&1); rc=$?
check "…rendered with --allow-unsigned (signed=0)" \
	like "^tree=deps-sha512-[0-9a-f]{64} signed=0 image=$UNS " "$OUT"
UT=$T/data/tree/$(printf '%s\n' "$OUT" | field tree)
check "…setuid bit dropped for an unsigned image" \
	test "$(stat -c '%a' "$UT/rootfs/bin/suid" 2>/dev/null)" = 755
expect_fail "…and its rendered tree is still refused without --allow-unsigned" 254 \
	"is not signed" render "$UNS"

# ---- a dependency chain: top -> mid (by imageID) -> base (by name+version) ----
mkimg "$I/base.aci" localhost/render/base 1.0 base
sign_a "$I/base.aci"
chmod a+r "$I"/*
BASE=$(fetch_as_member "$I/base.aci" "$I/base.aci")
mkimg "$I/mid.aci" localhost/render/mid 2.0 mid localhost/render/base:1.0
sign_a "$I/mid.aci"
chmod a+r "$I"/*
MID=$(fetch_as_member "$I/mid.aci" "$I/mid.aci")
mkimg "$I/top.aci" localhost/render/top 3.0 top "localhost/render/mid:2.0:$MID"
sign_a "$I/top.aci"
chmod a+r "$I"/*
TOPI=$(fetch_as_member "$I/top.aci" "$I/top.aci")
check "member fetched base, mid and top" \
	like '^sha512-.{64} sha512-.{64} sha512-.{64}$' "$BASE $MID $TOPI"
OUT=$(render "$TOPI" 2>&1); rc=$?
want_id="deps-sha512-$(printf '%s' "$TOPI,$MID,$BASE" | sha512sum | cut -c1-64)"
want=$(printf 'tree=%s signed=1 image=%s name=localhost/render/top\ndep=%s\ndep=%s' \
	"$want_id" "$TOPI" "$BASE" "$MID")
if [ "$rc" -eq 0 ] && [ "$OUT" = "$want" ]; then
	ok "dependency chain renders, deps listed in the order applied"
else
	not_ok "dependency chain renders"; diag "exit $rc: $OUT"
fi
DT=$T/data/tree/$want_id/rootfs
check "…every layer's files are there" \
	test -f "$DT/opt/localhost_render_base" -a -f "$DT/opt/localhost_render_mid" \
	-a -f "$DT/opt/localhost_render_top"
check "…applied in order (top last)" test "$(cat "$DT/opt/shared" 2>/dev/null)" = top
check "…the top image's manifest wins" grep -q '"localhost/render/top"' "$DT/../manifest"

# A dependency whose blob was changed after fetch fails the whole render.
mkimg "$I/top2.aci" localhost/render/top2 3.0 top2 localhost/render/plain:1.0
sign_a "$I/top2.aci"
chmod a+r "$I"/*
TOP2=$(fetch_as_member "$I/top2.aci" "$I/top2.aci")
expect_fail "a dependency modified after fetch is refused by hash" 254 \
	"image $PLAIN does not match its ID" render "$TOP2"

# ---- concurrent renders of one image ------------------------------------------
rm -rf "$T/data/tree/$want_id"
for n in 1 2 3 4; do render "$TOPI" >"$T/conc.$n" 2>&1 & done
wait
same=yes
for n in 2 3 4; do cmp -s "$T/conc.1" "$T/conc.$n" || same=no; done
check "four concurrent renders of one image agree" [ "$same" = yes -a "$(head -c 5 "$T/conc.1")" = tree= ]
check "…one tree, no temp dirs left" \
	test -f "$T/data/tree/$want_id/rendered" -a -z "$(find "$T/data/tree" -maxdepth 1 -name '.tmp-*')"

# ---- refusals of the interface ---------------------------------------------------
expect_fail "an invalid image key is refused" 254 "invalid image ID" render "sha512-../../etc"
expect_fail "a key not in the store is refused" 254 "is not in the store" \
	render "sha512-$(printf '0%.0s' $(seq 64))"

# ---- RENDER_REQ through a real helper on $T/sock ---------------------------------
HELPER=$BUILD/bin/rkt-privhelper
SOCK=$T/sock
cat >"$T/client.py" <<'PYEOF'
import socket, struct, sys
# client.py SOCK DIR IMAGE_ID: HELLO, RENDER_REQ; prints "errno=<n> <message>".
def msg(t, fields):
    body = b"".join(struct.pack("<HHI", tag, 0, len(v)) + v for tag, v in fields)
    return struct.pack("<IHHII", 0x31544b52, 1, t, len(body), 0) + body
def fields(d):
    out, p = {}, 16
    while p < len(d):
        tag, _, n = struct.unpack_from("<HHI", d, p)
        out[tag] = d[p + 8:p + 8 + n]; p += 8 + n
    return struct.unpack_from("<H", d, 6)[0], out
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect(sys.argv[1])
s.send(msg(2, [(1, b"1.30.0+split.1"), (2, sys.argv[2].encode())]))
t, f = fields(s.recv(70000))
if t != 3:
    print("hello refused:", f.get(23, b"").decode()); sys.exit(0)
s.send(msg(18, [(4, sys.argv[3].encode())]))
t, f = fields(s.recv(70000))
print("errno=%d %s" % (struct.unpack("<i", f[22])[0], f.get(23, b"").decode()))
PYEOF
trap 'stop_helper; cleanup_tree' EXIT
client() { as "$1" timeout -k 5 120 "$PY" "$T/client.py" "$SOCK" "$T/data" "$2"; }
mkdir -p "$T/pol"
echo '{"rktKind":"privhelper-policy","rktVersion":"v1"}' >"$T/pol/none.json"
echo '{"rktKind":"privhelper-policy","rktVersion":"v1","run":[{"groups":["rkt"],"stage1":["ns"]}]}' \
	>"$T/pol/grant.json"
chmod 644 "$T/pol"/*.json
if [ -x "$HELPER" ] && start_helper --policy "$T/pol/none.json"; then
	rm -rf "$T/data/tree/deps-"*
	OUT=$(client "$M" "$PLAIN2")
	check "RENDER_REQ from a member without a run grant: denied by policy" \
		like "^errno=1 denied by policy: only root may run pods" "$OUT"
	OUT=$(client root "$PLAIN2")
	check "RENDER_REQ from root renders through the session and its renderer" \
		like "^errno=0 tree=deps-sha512-[0-9a-f]{64}$" "$OUT"
	check "…the tree is in the helper's tree store" \
		test -f "$T/data/tree/${OUT#errno=0 tree=}/rendered"
	OUT=$(client root "$UNS")
	check "RENDER_REQ of an unsigned image is refused (no insecure options on it)" \
		like "^errno=1 image $UNS is not signed" "$OUT"
	stop_helper
	if start_helper --policy "$T/pol/grant.json"; then
		OUT=$(client "$M" "$BASE")
		check "RENDER_REQ from a member the policy lets run pods renders" \
			like "^errno=0 tree=deps-sha512-[0-9a-f]{64}$" "$OUT"
		OUT=$(client "$M" "$PLAIN")
		check "…and a blob modified after fetch is refused by hash through the helper" \
			like "^errno=74 image $PLAIN does not match its ID" "$OUT"
		stop_helper
	else
		not_ok "helper starts with a granting policy"
	fi
else
	skip "RENDER_REQ through the helper (rkt-privhelper did not start)"
fi

# ---- rkt image rm removes the kept signature files -------------------------------
rkt_as "$M" image rm "$APP" >/dev/null 2>&1
check "image rm removes the blob's .asc and .orig" \
	test ! -e "$(blob_of "$APP")" -a ! -e "$(blob_of "$APP").asc" -a ! -e "$(blob_of "$APP").orig"

done_testing
