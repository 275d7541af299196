#!/bin/bash
# rkt fetch (rkt-behaviour.md §4, §10 items 4-16; interfaces.md Tests):
# discovery names under localhost/ over https (self-signed: needs
# --insecure-options=tls) and http (needs --insecure-options=http), signature
# checks and their refusals (nothing left in the store after any of them),
# file fetches and compressions, pull policies, ETag and max-age reuse,
# deferred signatures, auth.d, and who may fetch.
. "$(dirname "$0")/lib.sh"
ensure_groups_and_users
make_tree

K=$T/keys
mkdir -p "$K"
chmod 755 "$K"
FPR_A=$(gpg_key "$K/ha" 'Fetch Trusted <a@example.test>' "$K/a.asc")
gpg_key "$K/hb" 'Fetch Stranger <b@example.test>' "$K/b.asc" >/dev/null
FPR_C=$(gpg_key "$K/hc" 'Fetch Elsewhere <c@example.test>' "$K/c.asc")
# Keys are installed as `rkt trust` lays them out (20-trust.sh tests trust
# itself), so these checks depend on fetch alone.
install_key() { # install_key PREFIX PUB FPR
	mkdir -p "$T/etc/trustedkeys/prefix.d/$1"
	install -m 0644 "$2" "$T/etc/trustedkeys/prefix.d/$1/$3"
}
install_key localhost/fetch "$K/a.asc" "$FPR_A"
install_key localhost/elsewhere "$K/c.asc" "$FPR_C"
# with the owner and modes `rkt trust` gives its directories (DESIGN §4)
find "$T/etc/trustedkeys" -type d -exec chgrp rkt-admin {} + -exec chmod 2775 {} +

# Images on the server, at the paths discovery gives.
signed=$(publish localhost/fetch/signed 1.0) && gpg_sign "$K/ha" "$signed"
plain=$(publish localhost/fetch/plain 1.0) && gpg_sign "$K/ha" "$plain"
publish localhost/fetch/unsigned 1.0 >/dev/null
stranger=$(publish localhost/fetch/stranger 1.0) && gpg_sign "$K/hb" "$stranger"
otherpfx=$(publish localhost/fetch/otherpfx 1.0) && gpg_sign "$K/hc" "$otherpfx"
tampered=$(publish localhost/fetch/tampered 1.0) && gpg_sign "$K/ha" "$tampered"
printf 'X' | dd of="$tampered" bs=1 seek=20000 conv=notrunc status=none
policy=$(publish localhost/fetch/policy 1.0) && gpg_sign "$K/ha" "$policy"
etag=$(publish localhost/fetch/etag 1.0) && gpg_sign "$K/ha" "$etag"
cached=$(publish localhost/fetch/cached 1.0) && gpg_sign "$K/ha" "$cached"
deferred=$(publish localhost/fetch/deferred 1.0) && gpg_sign "$K/ha" "$deferred"
auth=$(publish localhost/fetch/auth/img 1.0) && gpg_sign "$K/ha" "$auth"
# An image that says it is version 1.0, served where 2.0 is asked for, and
# one whose manifest names another image.
wrongver=$T/www/images/localhost/fetch/wrongver-2.0-linux-$(aci_arch).aci
mkaci -o "$wrongver" --name localhost/fetch/wrongver --version 1.0 && gpg_sign "$K/ha" "$wrongver"
liar=$T/www/images/localhost/fetch/liar-1.0-linux-$(aci_arch).aci
mkaci -o "$liar" --name localhost/fetch/signed --version 1.0 --exec '/bin/true' && gpg_sign "$K/ha" "$liar"

aci=$(aci_arch)
httpd_config "{
 \"discovery\": {\"localhost/fetch\": {}, \"localhost/elsewhere\": {}},
 \"max_age\": {\"/images/localhost/fetch/cached-\": 3600},
 \"defer\": [\"/images/localhost/fetch/deferred-1.0-linux-$aci.aci.asc\"],
 \"auth\": {\"/images/localhost/fetch/auth/\": {\"basic\": \"rktuser:s3cret\"}}
}"
start_httpd || { not_ok "loopback server started"; done_testing; exit 1; }

# refused DESC PATTERN USER ARGS...: the fetch exits 254 naming the problem,
# and the store has no new image, no new blob and nothing in cas/tmp.
refused() {
	local d=$1 pat=$2 u=$3
	shift 3
	local ni nb nt
	ni=$(image_count) nb=$(blob_count) nt=$(ls -A "$T/data/cas/tmp")
	expect_fail "$d" 254 "$pat" rkt_as "$u" "$@"
	# Only what this fetch left counts here; the final check wants cas/tmp empty.
	if [ "$(image_count)" -eq "$ni" ] && [ "$(blob_count)" -eq "$nb" ] &&
		[ "$(ls -A "$T/data/cas/tmp")" = "$nt" ]; then
		ok "…store unchanged (images $ni, blobs $nb, nothing new in cas/tmp)"
	else
		not_ok "…store unchanged"
		diag "images $ni -> $(image_count), blobs $nb -> $(blob_count), cas/tmp: $(ls -A "$T/data/cas/tmp" | head -3)"
	fi
}
# fetch_id DESC WANTKEY USER ARGS...: the fetch succeeds and prints exactly
# one line, sha512- + the first 32 hex of WANTKEY's digest.
fetch_id() {
	local d=$1 want=$2 u=$3
	shift 3
	FETCH_OK=false
	if expect_ok "$d" rkt_as "$u" "$@"; then
		FETCH_OK=true
		if [ "$OUT" = "${want:0:39}" ]; then
			ok "…prints the short ID ${want:0:39}"
		else
			not_ok "…prints the short ID"; diag "want ${want:0:39}, stdout: $(printf '%s' "$OUT" | head -3)"
		fi
	else
		skip "…short ID (the fetch failed)"
	fi
}
log_has() { grep -qE -- "$1" "$T/httpd.log"; }
log_count() { grep -cE -- "$1" "$T/httpd.log"; }

# ---- discovery over https and http ----------------------------------------
KEY_SIGNED=$(sha512_key "$signed")
refused "https discovery with the self-signed cert fails without tls insecure" \
	'certificate|SSL|TLS|x509|discovery' "$U_MEMBER" fetch localhost/fetch/signed:1.0
fetch_id "member: --insecure-options=tls fetch localhost/fetch/signed:1.0 (https, port 443)" \
	"$KEY_SIGNED" "$U_MEMBER" --insecure-options=tls fetch localhost/fetch/signed:1.0
check "…stdout is one line" [ "$(printf '%s\n' "$OUT" | wc -l)" -eq 1 ]
check "…'signature verified:' with the signer on stderr" \
	like 'signature verified:' "$ERR"
check "…stderr says TLS verification is disabled" like 'TLS verification has been disabled' "$ERR"
check "…discovery and image went over https" \
	bash -c "grep -q '^https GET /fetch/signed?ac-discovery=1 200' '$T/httpd.log' && grep -q '^https GET /images/localhost/fetch/signed-1.0-linux-$aci.aci 200' '$T/httpd.log'"
check "…blob stored under its full key" test -f "$T/data/cas/blob/sha512/${KEY_SIGNED:7:2}/$KEY_SIGNED"
check "…cas/tmp is empty" tmp_empty
OUT=$(rkt_as "$U_MEMBER" image list --no-legend --full 2>&1)
check "image list (member) shows the key and name localhost/fetch/signed" \
	like "$KEY_SIGNED.*localhost/fetch/signed" "$OUT"

expect_ok "--full prints sha512- + 64 hex" \
	rkt_as "$U_MEMBER" --insecure-options=tls fetch --full localhost/fetch/signed:1.0
check "…equal to the SHA-512 of the served ACI" [ "$OUT" = "$KEY_SIGNED" ]

: >"$T/httpd.log"
fetch_id "member: --insecure-options=http fetch localhost/fetch/plain:1.0 (http, port 80)" \
	"$(sha512_key "$plain")" "$U_MEMBER" --insecure-options=http fetch localhost/fetch/plain:1.0
check "…image and signature came over plain http" \
	bash -c "grep -q '^http GET /images/localhost/fetch/plain-1.0-linux-$aci.aci 20[06]' '$T/httpd.log' && grep -q '^http GET /images/localhost/fetch/plain-1.0-linux-$aci.aci.asc 200' '$T/httpd.log'"
refused "a plain http URL is refused without --insecure-options=http" \
	'http' "$U_MEMBER" --insecure-options=image fetch http://localhost/images/localhost/fetch/plain-1.0-linux-$aci.aci

# ---- signature refusals -------------------------------------------------------
refused "unsigned image (the .asc is 404) is refused" \
	'signature' "$U_MEMBER" --insecure-options=tls fetch localhost/fetch/unsigned:1.0
refused "image signed by an untrusted key: signature made by unknown entity" \
	'signature made by unknown entity' "$U_MEMBER" --insecure-options=tls fetch localhost/fetch/stranger:1.0
refused "key trusted only for localhost/elsewhere does not cover localhost/fetch/…" \
	'signature made by unknown entity' "$U_MEMBER" --insecure-options=tls fetch localhost/fetch/otherpfx:1.0
refused "tampered image (byte changed after signing) is refused" \
	'signature' "$U_MEMBER" --insecure-options=tls fetch localhost/fetch/tampered:1.0
refused "served version differs from the requested one" \
	'requested value for label "version": "2\.0" differs from fetched aci label value: "1\.0"' \
	"$U_MEMBER" --insecure-options=tls fetch localhost/fetch/wrongver:2.0
refused "manifest name differs from the requested name" \
	'localhost/fetch/liar|name' "$U_MEMBER" --insecure-options=tls fetch localhost/fetch/liar:1.0
refused "a requested label the image lacks" \
	'requested label "flavour" not provided by the image manifest' \
	"$U_MEMBER" --insecure-options=tls fetch localhost/fetch/signed:1.0,flavour=mint

# ---- files ------------------------------------------------------------------------
F=$T/files
mkdir -p "$F"
chmod 755 "$F"
mkaci -o "$F/local.aci" --name localhost/file/local --version 1.0
chmod 644 "$F/local.aci"
KEY_LOCAL=$(sha512_key "$F/local.aci")
refused "file without a signature next to it: error opening signature file" \
	'error opening signature file' "$U_MEMBER" fetch "$F/local.aci"
fetch_id "file fetch with --insecure-options=image" "$KEY_LOCAL" \
	"$U_MEMBER" --insecure-options=image fetch "$F/local.aci"
check "…warns that signature verification is disabled" \
	like 'image signature verification has been disabled' "$ERR"
expect_ok "--debug file fetch says 'using image from file'" \
	rkt_as "$U_MEMBER" --insecure-options=image --debug fetch "$F/local.aci"
check "…'using image from file $F/local.aci'" like "using image from file $F/local.aci" "$ERR"
fetch_id "file:// URL fetch" "$KEY_LOCAL" \
	"$U_MEMBER" --insecure-options=image fetch "file://$F/local.aci"
# A signed file next to its .asc, key trusted for its name.
mkaci -o "$F/signed.aci" --name localhost/fetch/file-signed --version 1.0
gpg_sign "$K/ha" "$F/signed.aci"; chmod 644 "$F"/*
fetch_id "signed file with its .asc and a trusted key" "$(sha512_key "$F/signed.aci")" \
	"$U_MEMBER" fetch "$F/signed.aci"
cp "$F/signed.aci" "$F/moved.aci"; chmod 644 "$F/moved.aci"
fetch_id "--signature names the signature file" "$(sha512_key "$F/signed.aci")" \
	"$U_MEMBER" fetch --signature "$F/signed.aci.asc" "$F/moved.aci"
for c in gz bz2 xz zst; do
	mkaci -o "$F/local.$c.aci" --name localhost/file/local --version 1.0 --compress "$c"
	chmod 644 "$F/local.$c.aci"
	fetch_id "$c-compressed file gets the ID of the uncompressed ACI" "$KEY_LOCAL" \
		"$U_MEMBER" --insecure-options=image fetch "$F/local.$c.aci"
done
check "compressed copies did not add images" [ "$(blob_count)" -eq "$(image_count)" ]
printf 'not an archive at all\n' >"$F/garbage.aci"; chmod 644 "$F/garbage.aci"
refused "a file that is no archive is refused, naming it" 'garbage\.aci|archive|manifest' \
	"$U_MEMBER" --insecure-options=image fetch "$F/garbage.aci"
refused "a missing file is refused, naming it" 'nosuch\.aci' \
	"$U_MEMBER" --insecure-options=image fetch "$F/nosuch.aci"

# ---- pull policies -------------------------------------------------------------
N=localhost/fetch/policy:1.0
refused "--pull-policy=never on a name not in the store: unable to fetch" \
	'unable to fetch' "$U_MEMBER" --insecure-options=tls fetch --pull-policy=never "$N"
: >"$T/httpd.log"
expect_ok "--pull-policy=new, not stored: fetched" \
	rkt_as "$U_MEMBER" --insecure-options=tls fetch --pull-policy=new "$N"
check "…says remote fetching from URL" like 'remote fetching from URL' "$ERR"
: >"$T/httpd.log"
expect_ok "--pull-policy=new, stored: from the store" \
	rkt_as "$U_MEMBER" --insecure-options=tls fetch --pull-policy=new "$N"
check "…says using image from local store" like 'using image from local store' "$ERR"
check "…and asked the server nothing" [ ! -s "$T/httpd.log" ]
expect_ok "--pull-policy=never, stored: from the store" \
	rkt_as "$U_MEMBER" --insecure-options=tls fetch --pull-policy=never "$N"
check "…says using image from local store" like 'using image from local store' "$ERR"
check "…prints its ID" [ "$OUT" = "$(sha512_key "$policy" | cut -c1-39)" ]
expect_ok "--pull-policy=update (the default), stored: asks the server again" \
	rkt_as "$U_MEMBER" --insecure-options=tls fetch --pull-policy=update "$N"
check "…says remote fetching from URL" like 'remote fetching from URL' "$ERR"
check "…the server saw the image request" log_has "GET /images/localhost/fetch/policy-1.0-linux-$aci.aci "
fetch_id "fetch by stored ID needs no server" "$(sha512_key "$policy")" \
	"$U_MEMBER" fetch "$(sha512_key "$policy" | cut -c1-30)"

# ---- ETag and max-age ----------------------------------------------------------------
KEY_ETAG=$(sha512_key "$etag")
fetch_id "ETag image: first fetch" "$KEY_ETAG" "$U_MEMBER" --insecure-options=tls fetch localhost/fetch/etag:1.0
nb=$(blob_count)
: >"$T/httpd.log"
fetch_id "ETag image: second fetch reuses the stored blob" "$KEY_ETAG" \
	"$U_MEMBER" --insecure-options=tls fetch localhost/fetch/etag:1.0
check "…request carried If-None-Match and got 304" \
	log_has "GET /images/localhost/fetch/etag-1.0-linux-$aci.aci 304 inm="
if $FETCH_OK; then check "…no new blob" [ "$(blob_count)" -eq "$nb" ]; else skip "…no new blob (the fetch failed)"; fi

KEY_CACHED=$(sha512_key "$cached")
fetch_id "max-age image: first fetch" "$KEY_CACHED" "$U_MEMBER" --insecure-options=tls fetch localhost/fetch/cached:1.0
: >"$T/httpd.log"
fetch_id "max-age image: second fetch within max-age" "$KEY_CACHED" \
	"$U_MEMBER" --insecure-options=tls fetch localhost/fetch/cached:1.0
check "…says isn't expired, not fetching" like "isn't expired, not fetching" "$ERR"
if $FETCH_OK; then
	check "…and did not download the image again" \
		[ "$(log_count "GET /images/localhost/fetch/cached-1.0-linux-$aci.aci ")" -eq 0 ]
else
	skip "…did not download again (the fetch failed)"
fi

# ---- deferred signature (202) -------------------------------------------------------
: >"$T/httpd.log"
fetch_id "signature answered 202 first, then served: verified" "$(sha512_key "$deferred")" \
	"$U_MEMBER" --insecure-options=tls fetch localhost/fetch/deferred:1.0
check "…the server answered 202 then 200 for the .asc" \
	bash -c "grep -q 'deferred-1.0-linux-$aci.aci.asc 202' '$T/httpd.log' && grep -q 'deferred-1.0-linux-$aci.aci.asc 200' '$T/httpd.log'"

# ---- auth.d ------------------------------------------------------------------------
refused "auth-protected image without auth.d: bad HTTP status code: 401" \
	'401' "$U_MEMBER" --insecure-options=tls fetch localhost/fetch/auth/img:1.0
cat >"$T/etc/auth.d/wrong.json" <<'EOF'
{"rktKind": "auth", "rktVersion": "v1", "domains": ["localhost"], "type": "basic",
 "credentials": {"user": "rktuser", "password": "wrong"}}
EOF
chmod 644 "$T/etc/auth.d/wrong.json"
refused "wrong basic credentials: 401" '401' \
	"$U_MEMBER" --insecure-options=tls fetch localhost/fetch/auth/img:1.0
rm -f "$T/etc/auth.d/wrong.json"
cat >"$T/etc/auth.d/basic.json" <<'EOF'
{"rktKind": "auth", "rktVersion": "v1", "domains": ["localhost"], "type": "basic",
 "credentials": {"user": "rktuser", "password": "s3cret"}}
EOF
chmod 644 "$T/etc/auth.d/basic.json"
fetch_id "local auth.d basic credentials: fetched" "$(sha512_key "$auth")" \
	"$U_MEMBER" --insecure-options=tls fetch localhost/fetch/auth/img:1.0
rm -f "$T/etc/auth.d/basic.json"
httpd_config "{
 \"discovery\": {\"localhost/fetch\": {}},
 \"auth\": {\"/images/localhost/fetch/auth/\": {\"bearer\": \"t0ken\"}}
}"
cat >"$T/etc/auth.d/oauth.json" <<'EOF'
{"rktKind": "auth", "rktVersion": "v1", "domains": ["localhost"], "type": "oauth",
 "credentials": {"token": "t0ken"}}
EOF
chmod 644 "$T/etc/auth.d/oauth.json"
fetch_id "local auth.d oauth token (Bearer): fetched" "$(sha512_key "$auth")" \
	"$U_MEMBER" --insecure-options=tls fetch localhost/fetch/auth/img:1.0
rm -f "$T/etc/auth.d/oauth.json"

# ---- who may fetch -----------------------------------------------------------------
fetch_id "admin (also in rkt) fetches too" "$KEY_LOCAL" \
	"$U_ADMIN" --insecure-options=image fetch "$F/local.aci"
refused "outsider cannot fetch: the error names group rkt or the permission" \
	'group rkt|[Pp]ermission denied' "$U_OUTSIDER" --insecure-options=image fetch "$F/signed.aci"

# ---- --trust-keys-from-https (rkt-behaviour.md §4.4) -------------------------------
# No key is trusted for localhost/autotrust; discovery publishes one. With the
# flag, an rkt-admin member's name fetch trusts it (https only) and succeeds;
# a plain member cannot write trusted keys, so the fetch stays refused.
FPR_D=$(gpg_key "$K/hd" 'Auto Trusted <d@example.test>' "$K/d.asc")
auto=$(publish localhost/autotrust/img 1.0) && gpg_sign "$K/hd" "$auto"
mkdir -p "$T/www/keys" && cp "$K/d.asc" "$T/www/keys/autotrust.asc"
httpd_config "{\"discovery\": {\"localhost/autotrust\": {\"pubkeys\": \"/keys/autotrust.asc\"}}}"
refused "without --trust-keys-from-https an unknown signer is refused" \
	'unknown entity' "$U_ADMIN" --insecure-options=tls fetch localhost/autotrust/img:1.0
refused "a member (not rkt-admin) cannot auto-trust: the group is named" \
	'rkt-admin' "$U_MEMBER" --insecure-options=tls --trust-keys-from-https fetch localhost/autotrust/img:1.0
fetch_id "an rkt-admin member auto-trusts the discovered key and fetches" "$(sha512_key "$auto")" \
	"$U_ADMIN" --insecure-options=tls --trust-keys-from-https fetch localhost/autotrust/img:1.0
check "…the key was stored under prefix.d/localhost/autotrust/img" \
	test -s "$T/etc/trustedkeys/prefix.d/localhost/autotrust/img/$FPR_D"

# ---- consistency at the end ------------------------------------------------------------
# signed, plain, local, file-signed, policy, etag, cached, deferred, auth/img, autotrust/img
check "10 distinct images stored: blob count and image list agree" \
	test "$(blob_count)" -eq 10 -a "$(image_count)" -eq 10
diag "images: $(rkt_as root image list --no-legend --fields=name 2>&1 | tr '\n' ' ')"
check "cas/tmp is empty at the end" tmp_empty

done_testing
