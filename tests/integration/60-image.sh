#!/bin/bash
# rkt image list/cat-manifest/export/extract/render/rm/gc (rkt-behaviour.md
# §1.3, §1.6, §10 items 57-64), as a member of rkt.
. "$(dirname "$0")/lib.sh"
ensure_groups_and_users
make_tree

F=$T/files
mkdir -p "$F"
chmod 755 "$F"
mkaci -o "$F/one.aci" --name localhost/img/one --version 1.0 --compress gz
mkaci -o "$F/one.tar" --name localhost/img/one --version 1.0
mkaci -o "$F/two.aci" --name localhost/img/two --version 2.0 --exec '/bin/echo two'
chmod 644 "$F"/*
KEY1=$(sha512_key "$F/one.tar")
KEY2=$(sha512_key "$F/two.aci")
M=$U_MEMBER

expect_ok "fetch one.aci (gzip)" rkt_as "$M" --insecure-options=image fetch --full "$F/one.aci"
check "…key is the SHA-512 of the decompressed archive" [ "$OUT" = "$KEY1" ]
sleep 1 # distinct import times for --sort
expect_ok "fetch two.aci" rkt_as "$M" --insecure-options=image fetch --full "$F/two.aci"
check "…key" [ "$OUT" = "$KEY2" ]

# ---- image list ----------------------------------------------------------------
OUT=$(rkt_as "$M" image list 2>&1); rc=$?
hdr=$(printf '%s\n' "$OUT" | head -1 | tr -s ' \t' ' ' | sed 's/ $//')
if [ "$rc" -eq 0 ] && [ "$hdr" = "ID NAME SIZE IMPORT TIME LAST USED" ]; then
	ok "image list header is ID NAME SIZE IMPORT TIME LAST USED"
else
	not_ok "image list header"; diag "exit $rc, header '$hdr'"
fi
check "…a row per image with the 12-hex short ID and the name" \
	bash -c "printf '%s\n' \"\$1\" | grep -qE '^${KEY1:0:19}[[:space:]]+localhost/img/one' && printf '%s\n' \"\$1\" | grep -qE '^${KEY2:0:19}[[:space:]]+localhost/img/two'" _ "$OUT"
check "…sizes are humanized (IEC)" like '[0-9.]+ ?(B|KiB|MiB)' "$OUT"
OUT=$(rkt_as "$M" image list --no-legend 2>&1)
check "--no-legend: no header, 2 rows" bash -c "! printf '%s' \"\$1\" | grep -q '^ID' && [ \$(printf '%s\n' \"\$1\" | grep -c .) -eq 2 ]" _ "$OUT"
OUT=$(rkt_as "$M" image list --no-legend --fields=id 2>&1)
check "--fields=id: only sha512- + 12 hex IDs" \
	[ "$(printf '%s\n' "$OUT" | sort | tr '\n' ' ')" = "$(printf '%s\n%s\n' "${KEY1:0:19}" "${KEY2:0:19}" | sort | tr '\n' ' ')" ]
OUT=$(rkt_as "$M" image list --no-legend --fields=id --full 2>&1)
check "--fields=id --full: the full keys" \
	[ "$(printf '%s\n' "$OUT" | sort | tr '\n' ' ')" = "$(printf '%s\n%s\n' "$KEY1" "$KEY2" | sort | tr '\n' ' ')" ]
OUT=$(rkt_as "$M" image list --no-legend --fields=name 2>&1)
check "--no-legend --fields=name: names only, no sha" \
	bash -c "! printf '%s' \"\$1\" | grep -q sha && printf '%s' \"\$1\" | grep -q localhost/img/one" _ "$OUT"
OUT=$(rkt_as "$M" image list --no-legend --fields=name --sort=name --order=desc 2>&1)
check "--sort=name --order=desc puts two before one" \
	like '^localhost/img/two.*
localhost/img/one' "$OUT"
OUT=$(rkt_as "$M" image list --format=json 2>&1)
check "--format=json: one array, keys id,name,import_time,last_used_time,size" \
	bash -c "printf '%s' \"\$1\" | '$PY' -c '
import json, sys
a = json.load(sys.stdin)
assert isinstance(a, list) and len(a) == 2, a
for o in a:
    assert {\"id\", \"name\", \"import_time\", \"last_used_time\", \"size\"} <= set(o), o
ids = sorted(o[\"id\"] for o in a)
assert ids == sorted([\"$KEY1\", \"$KEY2\"]) or ids == sorted([\"${KEY1:0:19}\", \"${KEY2:0:19}\"]), ids
' >/dev/null 2>&1" _ "$OUT"
check "…starts with [{" like '^\[\{' "$OUT"
OUT=$(rkt_as "$M" image list --format=json-pretty 2>&1)
check "--format=json-pretty has \"id\": \"" like '"id": "' "$OUT"

# ---- cat-manifest ------------------------------------------------------------------
WANT=$(tar -xOf "$F/one.tar" manifest)
same_json() { "$PY" -c 'import json,sys; sys.exit(json.loads(sys.argv[1]) != json.loads(sys.argv[2]))' "$1" "$2" 2>/dev/null; }
for arg in localhost/img/one localhost/img/one:1.0 "${KEY1:0:20}"; do
	expect_ok "cat-manifest --pretty-print=false $arg" rkt_as "$M" image cat-manifest --pretty-print=false "$arg"
	check "…is the image's manifest, byte for byte" [ "$OUT" = "$WANT" ]
	[ "$OUT" = "$WANT" ] || diag "got: $(printf '%s' "$OUT" | head -c 300)"
done
expect_ok "cat-manifest (pretty) $KEY2" rkt_as "$M" image cat-manifest "$KEY2"
check "…is two's manifest, indented" bash -c "[ \$(printf '%s\n' \"\$1\" | wc -l) -gt 3 ]" _ "$OUT"
check "…same content" same_json "$OUT" "$(tar -xOf "$F/two.aci" manifest)"
expect_fail "cat-manifest sha512-not-existed fails" 254 '.' rkt_as "$M" image cat-manifest sha512-not-existed
expect_fail "cat-manifest some~random~aci~name fails" 254 '.' rkt_as "$M" image cat-manifest 'some~random~aci~name'
expect_fail "cat-manifest of an ambiguous or unknown ID names it" 254 'sha512-0000|no image' \
	rkt_as "$M" image cat-manifest sha512-0000

# ---- export ---------------------------------------------------------------------------
W=$T/work/$M
mkdir -p "$W"; chown "$M" "$W"
expect_ok "export localhost/img/one out.aci" rkt_as "$M" image export localhost/img/one "$W/one.aci"
check "…uncompressed and hashes to the key" [ "$(sha512_key "$W/one.aci" 2>/dev/null)" = "$KEY1" ]
expect_fail "export onto an existing file without --overwrite fails" 254 'one\.aci|exist' \
	rkt_as "$M" image export "$KEY1" "$W/one.aci"
expect_ok "export --overwrite by ID" rkt_as "$M" image export --overwrite "${KEY2:0:25}" "$W/one.aci"
check "…now holds two" [ "$(sha512_key "$W/one.aci")" = "$KEY2" ]
expect_fail "export of an unknown image exits 254" 254 '.' rkt_as "$M" image export localhost/img/none "$W/x.aci"
check "…and writes nothing" [ ! -e "$W/x.aci" ]

# ---- extract / render ------------------------------------------------------------------
for verb in extract render; do
	expect_ok "image $verb --rootfs-only (member)" rkt_as "$M" image "$verb" --rootfs-only localhost/img/one "$W/$verb-r"
	check "…bin/busybox byte-identical to /bin/busybox" cmp -s "$W/$verb-r/bin/busybox" /bin/busybox
	check "…bin/sh is the symlink to busybox" [ "$(readlink "$W/$verb-r/bin/sh")" = busybox ]
	check "…no manifest at the top" [ ! -e "$W/$verb-r/manifest" ]
	expect_ok "image $verb (with manifest)" rkt_as "$M" image "$verb" "$KEY2" "$W/$verb-f"
	check "…rootfs/bin/busybox byte-identical" cmp -s "$W/$verb-f/rootfs/bin/busybox" /bin/busybox
	check "…manifest is two's" same_json "$(cat "$W/$verb-f/manifest" 2>/dev/null)" "$(tar -xOf "$F/two.aci" manifest)"
	expect_fail "image $verb into a non-empty dir without --overwrite fails" 254 '.' \
		rkt_as "$M" image "$verb" --rootfs-only localhost/img/one "$W/$verb-r"
	expect_ok "image $verb --overwrite into it works" \
		rkt_as "$M" image "$verb" --overwrite --rootfs-only localhost/img/one "$W/$verb-r"
done
check "extracted files belong to the member, not root" \
	[ "$(stat -c %U "$W/extract-r/bin/busybox" 2>/dev/null)" = "$M" ]

# ---- rm -----------------------------------------------------------------------------------
expect_ok "image rm by name localhost/img/one" rkt_as "$M" image rm localhost/img/one
check "…says successfully removed" like 'successfully removed' "$OUT$ERR"
check "…one image left" [ "$(image_count)" -eq 1 ]
check "…its blob is gone" [ ! -e "$T/data/cas/blob/sha512/${KEY1:7:2}/$KEY1" ]
check "…and its lock file (cas/locks/<key>)" [ ! -e "$T/data/cas/locks/$KEY1" ]
expect_ok "image rm by ID prefix" rkt_as "$M" image rm "${KEY2:0:20}"
check "…store empty (list and blobs)" bash -c "[ \$(find '$T/data/cas/blob' -type f | wc -l) -eq 0 ]"
check "…image list empty" [ "$(image_count)" -eq 0 ]
check "…no lock file left in cas/locks" [ -z "$(ls -A "$T/data/cas/locks")" ]
OUT=$(rkt_as "$M" image rm localhost/img/none 2>&1)
check "image rm of an unknown name names it" like 'localhost/img/none' "$OUT"
expect_fail "image rm of an unknown full ID fails" 254 'sha512-0+' rkt_as "$M" image rm "sha512-$(printf '0%.0s' $(seq 64))"
check "…and leaves no lock file for it" [ -z "$(ls -A "$T/data/cas/locks")" ]

# Removing an image the member did not fetch (root did).
expect_ok "root fetches one.aci" rkt_as root --insecure-options=image fetch "$F/one.aci"
expect_ok "member removes the root-fetched image" rkt_as "$M" image rm "$KEY1"
check "…store empty" [ "$(image_count)" -eq 0 ]
expect_fail "outsider cannot list images: names the group or the permission" 254 'group rkt|[Pp]ermission denied' \
	rkt_as "$U_OUTSIDER" image list

# ---- gc ---------------------------------------------------------------------------------------
rkt_as "$M" --insecure-options=image fetch "$F/one.aci" >/dev/null 2>&1
rkt_as "$M" --insecure-options=image fetch "$F/two.aci" >/dev/null 2>&1
expect_ok "image gc (default grace 24h) as root" rkt_as root image gc
check "…keeps both fresh images" [ "$(image_count)" -eq 2 ]
expect_ok "image gc --grace-period=0s as root" rkt_as root image gc --grace-period=0s
check "…removes both (no pod uses them)" [ "$(image_count)" -eq 0 ]
check "…and their blobs" [ "$(blob_count)" -eq 0 ]
OUT=$(rkt_as "$M" image gc 2>&1); rc=$?
diag "image gc as a member: exit $rc: $(printf '%s' "$OUT" | head -2)"

done_testing
