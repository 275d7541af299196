#!/bin/bash
# rkt prepare through the helper (issue 4 "Prepared pods through the
# helper"; rkt-behaviour.md §1.3-1.5, §2.2, §5, §10 items 19-21): the client
# builds the pod manifest, the helper re-validates it, checks its policy
# against the caller's kernel identity, renders the verified images and
# creates the pod in rkt's layout and states, recording the owner.
. "$(dirname "$0")/lib.sh"
ensure_groups_and_users
make_tree

HELPER=$BUILD/bin/rkt-privhelper
SOCK=$T/sock
HLOG=$T/helper.log
M=$U_MEMBER
M_UID=$(id -u "$M")
if [ ! -x "$HELPER" ]; then
	skip "rkt-privhelper not built in $BUILD"
	done_testing
	exit $?
fi

trap 'stop_helper; cleanup_tree' EXIT
rp() { # rp USER ARGS...: rkt against the test helper
	local u=$1
	shift
	rkt_as "$u" --privhelper-socket="$SOCK" "$@"
}
pod_dir() { echo "$T/data/pods/$1/$2"; }

# ---- images: one signed by a trusted key, one unsigned ------------------------
K=$T/keys
mkdir -p "$K"
FPR=$(gpg_key "$K/h" 'Prepare Trusted <p@example.test>' "$K/p.asc")
mkdir -p "$T/etc/trustedkeys/prefix.d/localhost/prep"
install -m 0644 "$K/p.asc" "$T/etc/trustedkeys/prefix.d/localhost/prep/$FPR"
find "$T/etc/trustedkeys" -type d -exec chgrp rkt-admin {} + -exec chmod 2775 {} +
IMG=$T/work/imgs
mkdir -p "$IMG"
chmod 755 "$IMG"
mkaci -o "$IMG/signed.aci" --name localhost/prep/signed && gpg_sign "$K/h" "$IMG/signed.aci"
mkaci -o "$IMG/unsigned.aci" --name localhost/prep/unsigned
chmod 644 "$IMG"/*
SIGNED_KEY=$(sha512_key "$IMG/signed.aci")
mkdir -p "$T/shared" "$T/elsewhere"

# ---- policies in a root-owned directory -------------------------------------------
POL=$T/pol
mkdir -p "$POL"
chmod 755 "$POL"
echo '{"rktKind": "privhelper-policy", "rktVersion": "v1"}' >"$POL/none.json"
cat >"$POL/grant.json" <<EOF
{"rktKind": "privhelper-policy", "rktVersion": "v1",
 "run": [{"groups": ["rkt"], "signedImagesOnly": true, "stage1": ["ns"],
          "hostVolumes": ["$T/shared"], "insecureOptions": ["image"]}]}
EOF
chmod 644 "$POL"/*.json

# ---- default policy: only root ----------------------------------------------------
check "the helper starts with a policy that grants nothing" start_helper --policy "$POL/none.json"

expect_ok "root prepares a fetched signed image" rp root prepare "$IMG/signed.aci"
U1=$OUT
check "…stdout is exactly one UUID" like '^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$' "$U1"
check "…the pod sits in prepared/ with rkt's files" bash -c '
	d=$1; [ -f "$d/pod" ] && [ -f "$d/pod-created" ] &&
	[ -f "$d/appsinfo/signed/manifest" ] && [ -s "$d/appsinfo/signed/treeStoreID" ] &&
	[ "$(cat "$d/owner")" = 0 ] && [ "$(cat "$d/stage1-flavor")" = ns ]' _ "$(pod_dir prepared "$U1")"
check "…pod dir root:rkt, files readable by group rkt only" bash -c '
	[ "$(stat -c "%U:%G" "$1")" = root:rkt ] && [ "$(stat -c %a "$1/pod")" = 640 ] &&
	[ "$(stat -c %G "$1/pod")" = rkt ]' _ "$(pod_dir prepared "$U1")"
check "…nothing left in embryo/ or prepare/" bash -c '[ -z "$(find "$1/embryo" "$1/prepare" -mindepth 1)" ]' _ "$T/data/pods"
expect_ok "rkt status of the prepared pod" rp "$M" status "$U1"
check "…state=prepared" bash -c 'printf "%s\n" "$1" | grep -qx state=prepared' _ "$OUT"
expect_ok "rkt list shows it" rp "$M" list --full --no-legend
check "…with the app and image name" like "$U1[[:space:]]+signed[[:space:]]+localhost/prep/signed" "$OUT"
expect_ok "rkt cat-manifest shows the app and the full image key" rp "$M" cat-manifest --pretty-print=false "$U1"
check "…app name and image id" bash -c 'printf "%s" "$1" | grep -q "\"name\":\"signed\"" &&
	printf "%s" "$1" | grep -q "\"id\":\"$2\""' _ "$OUT" "$SIGNED_KEY"

expect_fail "a member without a grant is refused by the policy" 254 \
	"^prepare: denied by policy: only root may run pods \\($POL/none.json has no run rule for uid $M_UID\\)" \
	rp "$M" prepare "$IMG/signed.aci"
check "…and no pod was made for it" bash -c '! grep -rqx "$1" "$2"/pods/*/*/owner 2>/dev/null' _ "$M_UID" "$T/data"
stop_helper

# ---- a policy that grants group rkt -------------------------------------------------
check "the helper starts with a grant for group rkt" start_helper --policy "$POL/grant.json"
expect_ok "a granted member prepares a signed image" rp "$M" prepare "$IMG/signed.aci"
U2=$OUT
check "…the pod records the member as its owner" \
	bash -c '[ "$(cat "$1/owner")" = "$2" ]' _ "$(pod_dir prepared "$U2")" "$M_UID"
expect_fail "an unsigned image under signedImagesOnly is refused" 254 \
	'denied by policy: .*unsigned image not allowed \(signedImagesOnly\)' \
	rp "$M" --insecure-options=image prepare "$IMG/unsigned.aci"
expect_fail "a host volume outside the rule's hostVolumes is refused, naming it" 254 \
	"denied by policy: .*host volume \"$T/elsewhere\" not allowed" \
	rp "$M" prepare --volume=data,kind=host,source="$T/elsewhere" "$IMG/signed.aci"
expect_ok "a host volume the rule allows is accepted" \
	rp "$M" prepare --volume=data,kind=host,source="$T/shared",readOnly=true "$IMG/signed.aci" \
	--mount volume=data,target=/data
check "…its source is recorded resolved" bash -c 'grep -q "\"source\":\"$2\"" "$1/pod"' _ \
	"$(pod_dir prepared "$OUT")" "$T/shared"
expect_fail "a stage1 flavor outside the rule is refused" 254 'denied by policy: .*stage1.*kvm' \
	rp "$M" prepare --stage1-name=kvm "$IMG/signed.aci"

# ---- rkt's argument rules -------------------------------------------------------------
expect_fail "two apps with the same name exit 254" 254 'multiple apps with name signed' \
	rp root prepare "$IMG/signed.aci" "$IMG/signed.aci"
expect_ok "…unless --name tells them apart" rp root prepare "$IMG/signed.aci" "$IMG/signed.aci" --name=two
check "…both apps are in the pod" bash -c '[ -d "$1/appsinfo/signed" ] && [ -d "$1/appsinfo/two" ]' _ \
	"$(pod_dir prepared "$OUT")"
echo '{"acKind":"PodManifest","acVersion":"0.8.11","apps":[]}' >"$T/work/pm.json"
for f in --set-env=foo=bar --inherit-env --port=foo:80 --volume=v,kind=empty --mount=volume=v,target=/v \
	--store-only --no-store; do
	expect_fail "--pod-manifest with $f conflicts" 254 \
		'conflicting flags set with --pod-manifest \(see --help\)' \
		rp root prepare --pod-manifest="$T/work/pm.json" "$f"
done
expect_fail "--pod-manifest with an image conflicts" 254 'conflicting flags set with --pod-manifest' \
	rp root prepare --pod-manifest="$T/work/pm.json" "$IMG/signed.aci" --exec=/bin/true
expect_fail "a per-app flag before any image is refused" 254 '\-\-exec must follow an image' \
	rp root prepare --exec=/bin/true "$IMG/signed.aci"
expect_ok "a trailing --- may end the last image's arguments" \
	rp root prepare --quiet "$IMG/signed.aci" -- one-arg ---
check "…the argument is in the pod, the --- is not" bash -c \
	'grep -q "\"one-arg\"" "$1/pod" && ! grep -q "\"---\"" "$1/pod"' _ "$(pod_dir prepared "$OUT")"
expect_fail "a --- that ends no arguments is refused" 254 '"---" must follow an image' \
	rp root prepare "$IMG/signed.aci" --- "$IMG/unsigned.aci"
# rkt's deprecated --store-only / --no-store are --pull-policy=never / update.
expect_fail "--store-only: a name not in the store is not fetched (--pull-policy=never)" 254 \
	'not in the store and --pull-policy=never' rp root prepare --store-only localhost/prep/absent
expect_fail "--no-store: a name in the store is fetched anyway (--pull-policy=update)" 254 \
	'discovery on localhost/prep/signed' rp root prepare --no-store localhost/prep/signed
check "…not taken from the store" bash -c '! grep -q "using image from local store" <<<"$1"' _ "$OUT"
expect_ok "…while without it the stored image is used" rp root prepare localhost/prep/signed
expect_fail "--store-only with --no-store is refused" 254 'both --store-only and --no-store specified' \
	rp root prepare --store-only --no-store localhost/prep/signed

expect_ok "--uuid-file-save writes the UUID" rp root prepare --uuid-file-save="$T/work/uuid" "$IMG/signed.aci"
check "…same UUID, mode 0644, no newline" bash -c '
	[ "$(cat "$1")" = "$2" ] && [ "$(stat -c %a "$1")" = 644 ] && [ "$(wc -c <"$1")" = 36 ]' _ \
	"$T/work/uuid" "$OUT"

expect_ok "--pod-manifest with a short image id is resolved to the full key" bash -c '
	printf "%s" "{\"acKind\":\"PodManifest\",\"acVersion\":\"0.8.11\",\"apps\":[{\"name\":\"pm\",\"image\":{\"id\":\"${2:0:20}\"},\"app\":{\"exec\":[\"/bin/true\"],\"user\":\"0\",\"group\":\"0\"}}]}" >"$1"' _ \
	"$T/work/pm2.json" "$SIGNED_KEY"
expect_ok "…and prepared" rp root prepare --pod-manifest="$T/work/pm2.json"
check "…with the full key in the pod" bash -c 'grep -q "\"id\":\"$2\"" "$1/pod"' _ \
	"$(pod_dir prepared "$OUT")" "$SIGNED_KEY"

mkdir -p "$T/other"
expect_fail "a client --dir that differs from the helper's is refused" 254 "differs from the helper's" \
	as root timeout -k 5 120 "$RKT_BIN" --dir="$T/other" --local-config="$T/etc" --system-config="$T/sys" \
	--privhelper-socket="$SOCK" --insecure-options=image prepare "$IMG/unsigned.aci"
check "the helper still serves after all refusals" kill -0 "$HELPER_PID"
stop_helper

# ---- maxPodsPerUser holds against prepares that race -------------------------------
cat >"$POL/cap.json" <<EOF
{"rktKind": "privhelper-policy", "rktVersion": "v1",
 "run": [{"groups": ["rkt"], "signedImagesOnly": false, "stage1": ["ns"],
          "insecureOptions": ["image"], "maxPodsPerUser": 2}]}
EOF
chmod 644 "$POL/cap.json"
check "the helper starts with maxPodsPerUser 2 for group rkt" start_helper --policy "$POL/cap.json"
mine_uuids() { grep -lx "$M_UID" "$T"/data/pods/*/*/owner 2>/dev/null | xargs -rn1 dirname | xargs -rn1 basename; }
mine() { mine_uuids | wc -l; }
[ "$(mine)" = 0 ] || rp "$M" rm $(mine_uuids) >/dev/null 2>&1
check "…the member starts with no pod" test "$(mine)" = 0
CAP_PIDS=()
for i in 1 2 3 4 5 6; do
	rp "$M" --insecure-options=image prepare --quiet "$IMG/unsigned.aci" >"$T/work/cap.$i" 2>&1 &
	CAP_PIDS+=($!)
done
wait "${CAP_PIDS[@]}"
check "six prepares at once: two pods, no more" test "$(mine)" = 2 || diag "$(mine) pods"
check "…the others refused by the rule" \
	test "$(grep -l 'denied by policy' "$T"/work/cap.* | wc -l)" = 4 || diag "$(head -qn1 "$T"/work/cap.*)"
stop_helper

done_testing
