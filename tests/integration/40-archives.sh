#!/bin/bash
# Hostile archives (DESIGN §7 archive validation): each one, fetched from a
# file with --insecure-options=image (so only the archive check can stop
# it), is refused with a message naming the entry; nothing reaches the store,
# cas/tmp stays empty and nothing is written outside. Then the same for the
# render/extract side with an image that passed the fetch.
. "$(dirname "$0")/lib.sh"
ensure_groups_and_users
make_tree

F=$T/files
mkdir -p "$F"
chmod 755 "$F"
# kind, the entry the message must name
cases=(
	"dotdot|rootfs/\.\./x|\.\."
	"absolute|/etc/x"
	"symlink-escape|rootfs/esc"
	"hardlink-escape|rootfs/hl|\.\./outside"
	"device|rootfs/dev/sda"
	"oversize|rootfs/huge"
)
for c in gz none; do
	for e in "${cases[@]}"; do
		kind=${e%%|*} pat=${e#*|}
		f=$F/$kind-$c.aci
		if ! mkaci -o "$f" --name "localhost/hostile/$kind" --hostile "$kind" --compress "$c"; then
			not_ok "built the $kind archive"; continue
		fi
		chmod 644 "$f"
		ni=$(image_count) nb=$(blob_count)
		expect_fail "$kind ($c): refused, naming the entry" 254 "$pat" \
			rkt_as "$U_MEMBER" --insecure-options=image fetch "$f"
		if [ "$(image_count)" -eq "$ni" ] && [ "$(blob_count)" -eq "$nb" ] && tmp_empty; then
			ok "$kind ($c): store unchanged, cas/tmp empty"
		else
			not_ok "$kind ($c): store unchanged"
			diag "images $ni -> $(image_count), blobs $nb -> $(blob_count), tmp: $(ls -A "$T/data/cas/tmp" | head -3)"
		fi
	done
done
# The refusals wrote nothing outside the store.
check "no x, outside or passwd written above the tree" \
	bash -c "[ ! -e '$T/x' ] && [ ! -e '$T/data/x' ] && [ ! -e '$T/data/cas/x' ] && [ ! -e '$T/outside' ] && ! grep -q evil /etc/passwd"

# The oversize header must not make rkt read or allocate 5 GiB: it ends fast.
start=$(date +%s)
rkt_as "$U_MEMBER" --insecure-options=image fetch "$F/oversize-none.aci" >/dev/null 2>&1
check "oversize: refused within 30 s" [ $(($(date +%s) - start)) -lt 30 ]

# A valid image next to the hostile ones still imports (the checks are not
# refusing everything).
mkaci -o "$F/good.aci" --name localhost/hostile/good
chmod 644 "$F/good.aci"
expect_ok "a well-formed image with the same layout imports" \
	rkt_as "$U_MEMBER" --insecure-options=image fetch --full "$F/good.aci"
check "…with the key of its bytes" [ "$OUT" = "$(sha512_key "$F/good.aci")" ]
# A truncated valid archive (cut in the middle of busybox) is refused.
head -c 1000000 "$F/good.aci" >"$F/truncated.aci"; chmod 644 "$F/truncated.aci"
ni=$(image_count) nb=$(blob_count)
expect_fail "a truncated archive is refused" 254 'truncat|unexpected end|EOF|archive' \
	rkt_as "$U_MEMBER" --insecure-options=image fetch "$F/truncated.aci"
check "…store unchanged" bash -c "[ \$(find '$T/data/cas/blob' -type f | wc -l) -eq $nb ] && [ -z \"\$(ls -A '$T/data/cas/tmp')\" ]"
# An archive without a manifest is refused, naming the manifest.
tar -C "$F" -cf "$F/nomanifest.aci" --transform 's,^,rootfs/,' good.aci 2>/dev/null
chmod 644 "$F/nomanifest.aci"
expect_fail "an archive without a manifest is refused, naming it" 254 'manifest' \
	rkt_as "$U_MEMBER" --insecure-options=image fetch "$F/nomanifest.aci"

done_testing
