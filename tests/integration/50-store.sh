#!/bin/bash
# Store robustness (DESIGN §3, §4, §7): a SIGKILLed fetch leaves no image and
# no orphan process, and the next fetch works; concurrent fetches by two
# users of the same and different images leave a consistent store (SQLite
# integrity, one row per blob, every blob's hash equals its name, modes that
# let every member of rkt use what another wrote).
. "$(dirname "$0")/lib.sh"
ensure_groups_and_users
make_tree
aci=$(aci_arch)

# pids_of_user USER: processes still running as USER.
pids_of_user() { pgrep -u "$1" 2>/dev/null | tr '\n' ' '; }
# rkt_under PID: the rkt process below PID (the shell of `rkt_as ... &`,
# then timeout, then rkt, which may exec rkt-fetch): the first descendant
# whose executable is named rkt*.
rkt_under() {
	local p c
	for c in $(cat /proc/"$1"/task/*/children 2>/dev/null); do
		p=$(readlink "/proc/$c/exe" 2>/dev/null)
		case ${p##*/} in rkt*) echo "$c"; return 0 ;; esac
		rkt_under "$c" && return 0
	done
	return 1
}

# ---- SIGKILL mid-download ----------------------------------------------------
big=$(publish localhost/store/big 1.0 --size-mib 8)
KEY_BIG=$(sha512_key "$big")
httpd_config '{"slow": {"/images/localhost/store/big-": 1048576}}'
start_httpd || { not_ok "loopback server started"; done_testing; exit 1; }
URL=https://localhost/images/localhost/store/big-1.0-linux-$aci.aci

ni=$(image_count) nb=$(blob_count)
rkt_as "$U_MEMBER" --insecure-options=image,tls fetch "$URL" >"$T/kill.out" 2>&1 &
tpid=$!
rpid=
for _ in $(seq 50); do
	rpid=$(rkt_under "$tpid")
	[ -n "$rpid" ] && break
	sleep 0.1
done
sleep 3 # about 3 MiB of 8 are through
if [ -n "$rpid" ] && kill -0 "$rpid" 2>/dev/null; then
	exe=$(readlink "/proc/$rpid/exe")
	kill -KILL "$rpid"
	wait "$tpid" 2>/dev/null
	ok "fetch was still downloading after 3 s; SIGKILLed rkt (pid $rpid, ${exe##*/})"
	for _ in $(seq 50); do [ -z "$(pids_of_user "$U_MEMBER")" ] && break; sleep 0.1; done
	check "…no process of the fetch survives its parent" [ -z "$(pids_of_user "$U_MEMBER")" ]
	[ -n "$(pids_of_user "$U_MEMBER")" ] && diag "left: $(ps -o pid,args -u "$U_MEMBER" | tail -n +2)"
	if [ "$(image_count)" -eq "$ni" ] && [ "$(blob_count)" -eq "$nb" ]; then
		ok "…no image and no blob after the kill"
	else
		not_ok "…no image after the kill"; diag "images $ni -> $(image_count), blobs $nb -> $(blob_count)"
	fi
	diag "cas/tmp after the kill: $(ls -A "$T/data/cas/tmp" | tr '\n' ' ')"
else
	not_ok "fetch was still downloading after 3 s"
	diag "$(cat "$T/kill.out")"
	wait "$tpid" 2>/dev/null
fi
httpd_config '{}'
: >"$T/httpd.log"
expect_ok "the next fetch of the same URL succeeds" \
	rkt_as "$U_MEMBER" --insecure-options=image,tls fetch --full "$URL"
check "…with the right ID" [ "$OUT" = "$KEY_BIG" ]
check "…blob hash matches" [ "$(sha512_key "$T/data/cas/blob/sha512/${KEY_BIG:7:2}/$KEY_BIG" 2>/dev/null)" = "$KEY_BIG" ]
if grep -q ' 206 range=' "$T/httpd.log"; then diag "the second fetch resumed with Range"
else diag "the second fetch downloaded from the start"; fi
stop_httpd

# ---- concurrent fetches ------------------------------------------------------------
F=$T/files
mkdir -p "$F"
chmod 755 "$F"
for i in 1 2 3; do
	mkaci -o "$F/c$i.aci" --name "localhost/store/c$i" --size-mib 4 --compress gz
done
chmod 644 "$F"/*.aci
pids=() outs=()
for n in $(seq 0 7); do
	u=$U_MEMBER; [ $((n % 2)) -eq 1 ] && u=$U_ADMIN
	i=$((n % 3 + 1))
	rkt_as "$u" --insecure-options=image fetch --full "$F/c$i.aci" >"$T/conc.$n.out" 2>"$T/conc.$n.err" &
	pids+=($!) outs+=("$i")
done
fails=0
for n in $(seq 0 7); do
	wait "${pids[$n]}" || { fails=$((fails + 1)); diag "fetch $n failed: $(head -3 "$T/conc.$n.err")"; }
done
check "8 concurrent fetches (member + admin, 3 images) all succeed" [ "$fails" -eq 0 ]
# Each printed the key of its image's decompressed bytes.
declare -A want
for i in 1 2 3; do want[$i]=sha512-$(gzip -dc "$F/c$i.aci" | sha512sum | cut -c1-64); done
bad=0
for n in $(seq 0 7); do
	[ "$(cat "$T/conc.$n.out")" = "${want[${outs[$n]}]}" ] || bad=$((bad + 1))
done
check "…each printed the key of the image it fetched" [ "$bad" -eq 0 ]

DB=$(find "$T/data/cas/db" -maxdepth 1 -type f ! -name '*-wal' ! -name '*-shm' ! -name '*-journal' | head -1)
if [ -n "$DB" ]; then
	check "sqlite3 PRAGMA integrity_check is ok ($(basename "$DB"))" \
		[ "$(sqlite3 "$DB" 'PRAGMA integrity_check;' 2>&1)" = ok ]
else
	not_ok "a database file under cas/db"
fi
check "image list shows 4 images (big + 3)" [ "$(image_count)" -eq 4 ]
# SQLITE_FCNTL_PERSIST_WAL (unpriv/store/store.c, keep_wal): without it the
# last connection of every command would delete both, and the next one
# create and chown them again.
check "…and the database kept its -wal and -shm files after the command ended" \
	bash -c '[ -f "$1-wal" ] && [ -f "$1-shm" ]' _ "$DB"
check "4 blobs on disk" [ "$(blob_count)" -eq 4 ]
bad=0
while IFS= read -r b; do
	[ "$(sha512_key "$b")" = "$(basename "$b")" ] || { bad=$((bad + 1)); diag "blob $b does not hash to its name"; }
done < <(find "$T/data/cas/blob" -type f)
check "every blob's SHA-512 equals its name" [ "$bad" -eq 0 ]
check "cas/tmp is empty" tmp_empty
bad=$(find "$T/data/cas" -type f ! -group rkt | head -3)
check "every store file belongs to group rkt" [ -z "$bad" ]
bad=$(find "$T/data/cas/blob" "$T/data/cas/db" -type f ! -perm -g=rw | head -3)
check "blobs and DB files are group read-write (umask 0007)" [ -z "$bad" ]
[ -n "$bad" ] && diag "$(ls -l $bad)"
bad=$(find "$T/data/cas" -perm -o=r | head -3)
check "nothing in the store is readable by others" [ -z "$bad" ]

# What the admin fetched, the member can remove (shared group store).
expect_ok "member removes an image the admin also fetched" \
	rkt_as "$U_MEMBER" image rm "${want[2]}"
check "…3 images and 3 blobs left" bash -c "[ \$(find '$T/data/cas/blob' -type f | wc -l) -eq 3 ]"
check "…image list agrees" [ "$(image_count)" -eq 3 ]

done_testing
