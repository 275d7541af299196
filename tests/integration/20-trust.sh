#!/bin/bash
# rkt trust (rkt-behaviour.md §4.4, §10 items 16-18; interfaces.md: a user
# without the needed group is told which group): who may trust, where the
# key lands, and the refusals.
. "$(dirname "$0")/lib.sh"
ensure_groups_and_users
make_tree

K=$T/keys
mkdir -p "$K"
chmod 755 "$K"
FPR1=$(gpg_key "$K/h1" 'Trust One <one@example.test>' "$K/k1.asc")
FPR2=$(gpg_key "$K/h2" 'Trust Two <two@example.test>' "$K/k2.asc")
chmod 644 "$K"/*.asc
[ ${#FPR1} -eq 40 ] && [ ${#FPR2} -eq 40 ] || { not_ok "test keys made"; done_testing; exit 1; }
PFX=localhost/trusted

# The admin trusts a key for a prefix.
expect_ok "admin: trust --prefix $PFX --skip-fingerprint-review k1.asc" \
	rkt_as "$U_ADMIN" trust --prefix "$PFX" --skip-fingerprint-review "$K/k1.asc"
KF=$T/etc/trustedkeys/prefix.d/$PFX/$FPR1
check "key file lands at trustedkeys/prefix.d/$PFX/<fpr>" test -f "$KF"
check "the stored key is the armored public key given" \
	bash -c "grep -q 'BEGIN PGP PUBLIC KEY BLOCK' '$KF' && gpg --batch --quiet --with-colons --import-options show-only --import '$KF' 2>/dev/null | grep -qi '$FPR1'"
check "trust says: Added key for prefix \"$PFX\" at \"…/$FPR1\"" \
	like "Added key for prefix \"$PFX\" at \"$T/etc/trustedkeys/prefix.d/$PFX/$FPR1\"" "$OUT$ERR"
check "key file is readable by all (0644)" [ "$(stat -c %a "$KF" 2>/dev/null)" = 644 ]
check "nothing else appeared under prefix.d" \
	[ "$(find "$T/etc/trustedkeys/prefix.d" -type f | wc -l)" -eq 1 ]

# Trusting the same key again is harmless.
expect_ok "admin: trusting the same key again succeeds" \
	rkt_as "$U_ADMIN" trust --prefix "$PFX" --skip-fingerprint-review "$K/k1.asc"

# Root key.
expect_ok "admin: trust --root --skip-fingerprint-review k2.asc" \
	rkt_as "$U_ADMIN" trust --root --skip-fingerprint-review "$K/k2.asc"
check "root key lands at trustedkeys/root.d/<fpr>" test -f "$T/etc/trustedkeys/root.d/$FPR2"
check "trust --root says Added root key at" like 'Added root key at' "$OUT$ERR"
rm -f "$T/etc/trustedkeys/root.d/$FPR2"

# Members and outsiders cannot change trusted keys: the error names rkt-admin.
for u in "$U_MEMBER" "$U_OUTSIDER"; do
	expect_fail "$u cannot trust; the error names group rkt-admin" 254 'rkt-admin' \
		rkt_as "$u" trust --prefix localhost/other --skip-fingerprint-review "$K/k2.asc"
	check "$u: no key written" [ ! -e "$T/etc/trustedkeys/prefix.d/localhost/other/$FPR2" ]
done

# Refusals (exit 254, nothing written).
before=$(find "$T/etc/trustedkeys" -type f | wc -l)
expect_fail "no --prefix/--root: implicit unbounded trust refused" 254 \
	'aborting due to implicit unbounded trust' \
	rkt_as "$U_ADMIN" trust --skip-fingerprint-review "$K/k2.asc"
expect_fail "--prefix with a URL scheme refused" 254 '--prefix must not contain a URL scheme' \
	rkt_as "$U_ADMIN" trust --prefix https://localhost/x --skip-fingerprint-review "$K/k2.asc"
expect_fail "--root with --prefix refused" 254 '--root and --prefix usage mutually exclusive' \
	rkt_as "$U_ADMIN" trust --root --prefix localhost/x --skip-fingerprint-review "$K/k2.asc"
expect_fail "without --skip-fingerprint-review and no tty: lack of tty" 254 \
	'unable to ask user to review fingerprint due to lack of tty' \
	rkt_as "$U_ADMIN" trust --prefix localhost/notty "$K/k2.asc" </dev/null
echo "this is not a key" >"$T/keys/junk.asc"; chmod 644 "$T/keys/junk.asc"
expect_fail "a file that holds no key is refused, naming it" 254 'junk\.asc' \
	rkt_as "$U_ADMIN" trust --prefix localhost/junk --skip-fingerprint-review "$K/junk.asc"
expect_fail "a missing key file is refused, naming it" 254 'missing\.asc' \
	rkt_as "$U_ADMIN" trust --prefix localhost/junk --skip-fingerprint-review "$K/missing.asc"
check "refusals wrote no key file" [ "$(find "$T/etc/trustedkeys" -type f | wc -l)" -eq "$before" ]

# Fingerprint review on a terminal: "no" keeps the key out, "yes" adds it.
if command -v script >/dev/null; then
	tty_trust() { # tty_trust ANSWER PREFIX
		printf '%s\n' "$1" | as "$U_ADMIN" env SHELL=/bin/sh script -qec \
			"$RKT_BIN --dir=$T/data --local-config=$T/etc --system-config=$T/sys trust --prefix $2 $K/k2.asc" /dev/null
	}
	OUT=$(tty_trust no localhost/tty-no 2>&1)
	check "tty review: answering no adds nothing" \
		[ ! -e "$T/etc/trustedkeys/prefix.d/localhost/tty-no/$FPR2" ]
	OUT=$(tty_trust yes localhost/tty-yes 2>&1)
	if [ -f "$T/etc/trustedkeys/prefix.d/localhost/tty-yes/$FPR2" ] &&
		like 'Are you sure you want to trust this key' "$OUT" &&
		like "gpg key fingerprint is: $(echo "$FPR2" | tr a-f A-F | cut -c1-4) " "$OUT"; then
		ok "tty review: fingerprint and prompt shown, answering yes adds the key"
	else
		not_ok "tty review yes"; diag "$(printf '%s' "$OUT" | tail -5)"
	fi
else
	skip "tty review: no script(1) to provide a terminal"
fi

# Keys from discovery (no key argument): ac-discovery-pubkeys over https.
mkdir -p "$T/www/keys"
cp "$K/k2.asc" "$T/www/keys/disc.asc"
httpd_config '{"discovery": {"localhost/disc": {"pubkeys": "/keys/disc.asc"}}}'
if start_httpd; then
	expect_fail "discovery over https with the self-signed cert fails without tls insecure" 254 \
		'certificate|SSL|TLS|discovery' \
		rkt_as "$U_ADMIN" trust --prefix localhost/disc --skip-fingerprint-review
	check "…and adds no key" [ ! -e "$T/etc/trustedkeys/prefix.d/localhost/disc/$FPR2" ]
	expect_ok "admin: --insecure-options=tls trust --prefix localhost/disc (key from discovery)" \
		rkt_as "$U_ADMIN" --insecure-options=tls trust --prefix localhost/disc --skip-fingerprint-review
	check "discovered key lands under prefix.d/localhost/disc" \
		test -f "$T/etc/trustedkeys/prefix.d/localhost/disc/$FPR2"
	check "the server was asked for the discovery page and the key over https" \
		bash -c "grep -q '^https GET /disc?ac-discovery=1 200' '$T/httpd.log' && grep -q '^https GET /keys/disc.asc 200' '$T/httpd.log'"
	expect_fail "a prefix without ac-discovery-pubkeys: no keys" 254 'resulted in no keys|no keys' \
		rkt_as "$U_ADMIN" --insecure-options=tls trust --prefix localhost/nokeys --skip-fingerprint-review
	expect_fail "an http key URL needs --insecure-allow-http" 254 'http|insecure' \
		rkt_as "$U_ADMIN" trust --prefix localhost/plain --skip-fingerprint-review http://localhost/keys/disc.asc
	check "…and adds no key" [ ! -d "$T/etc/trustedkeys/prefix.d/localhost/plain" ]
else
	skip "discovery trust: the loopback server did not start"
fi

done_testing
