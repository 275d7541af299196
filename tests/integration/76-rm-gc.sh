#!/bin/bash
# rkt rm, rkt gc and the tree half of rkt image gc through a real helper
# (rkt-behaviour.md §1.3, §3, §5; §10 items 53-55, 62): state rules, owners,
# grace periods, and deletion that detaches leftover mounts and never
# follows a symlink out of a pod. Pods are made by hand in rkt's layout.
. "$(dirname "$0")/lib.sh"
ensure_groups_and_users
make_tree

HELPER=$BUILD/bin/rkt-privhelper
SOCK=$T/sock
HLOG=$T/helper.log
M=$U_MEMBER
A=$U_ADMIN
M_UID=$(id -u "$M")
A_UID=$(id -u "$A")
PODS=$T/data/pods
if [ ! -x "$HELPER" ]; then
	skip "rkt-privhelper not built in $BUILD"
	done_testing
	exit $?
fi

newuuid() { cat /proc/sys/kernel/random/uuid; }
# mkpod STATE OWNER_UID [TREE_ID]: a pod in rkt's layout; prints its UUID.
mkpod() {
	local u d
	u=$(newuuid)
	d=$PODS/$1/$u
	mkdir -p "$d/appsinfo/app"
	echo '{"acKind":"PodManifest","acVersion":"0.8.11","apps":[],"volumes":[],"isolators":[],"annotations":[],"ports":[]}' >"$d/pod"
	touch "$d/pod-created"
	[ "$2" = none ] || echo "$2" >"$d/owner"
	[ -z "${3:-}" ] || echo "$3" >"$d/appsinfo/app/treeStoreID"
	chown -R root:rkt "$d"
	chmod -R g+rX,o-rwx "$d"
	chmod 2750 "$d"
	echo "$u"
}
gone() { [ -z "$(find "$PODS" -mindepth 2 -maxdepth 2 -name "$1")" ]; }
present_in() { [ -d "$PODS/$1/$2" ]; }
empty_dir() { [ -z "$(ls -A "$PODS/$1")" ]; }

HOLDERS=()
stop_all() {
	release
	stop_helper
	for m in $(awk -v t="$T" 'index($5, t) == 1 { print $5 }' /proc/self/mountinfo | sort -r); do
		umount -l "$m" 2>/dev/null
	done
}
trap 'stop_all; cleanup_tree' EXIT
# hold PATH [-x]: a background process holds a flock on PATH, shared (rkt's
# running pod, a prepare keeping its tree) or with -x exclusive (a render).
hold() {
	local mode=${2:--s} test=-x
	[ "$mode" = -x ] && test=-s
	(exec 9<"$1" && flock "$mode" 9 && exec sleep 600) &
	HOLDER=$!
	HOLDERS+=($!)
	local i
	for i in $(seq 50); do
		flock -n "$test" "$1" true 2>/dev/null || return 0
		sleep 0.05
	done
	return 1
}
# release [PID...]: those holders (default: all) let go.
release() {
	local p left=() all=("$@")
	[ $# -eq 0 ] && all=("${HOLDERS[@]}")
	for p in "${all[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	for p in "${HOLDERS[@]}"; do [[ " ${all[*]} " == *" $p "* ]] || left+=("$p"); done
	HOLDERS=("${left[@]}")
}
R() { rkt_as root --privhelper-socket="$SOCK" "$@"; }
MR() { rkt_as "$M" --privhelper-socket="$SOCK" "$@"; }

check "the helper starts on a scratch tree" start_helper

# ---- rm ---------------------------------------------------------------------------
P1=$(mkpod prepared 0)
E1=$(mkpod run 0)
expect_ok "root rm of a prepared and an exited pod" R rm "$P1" "$E1"
check "…prints each UUID quoted, in order" [ "$OUT" = "$(printf '"%s"\n"%s"' "$P1" "$E1")" ]
check "…both are gone; prepared/, run/, exited-garbage/, garbage/ empty" \
	bash -c 'for s in prepared run exited-garbage garbage; do [ -z "$(ls -A "$1/$s")" ] || exit 1; done' _ "$PODS"

expect_fail "rm of an unknown UUID" 254 'no matches found for "0123abcd"' R rm 0123abcd
check "…and says one or more pods failed" like 'failed to remove one or more pods' "$OUT"
expect_fail "rm \"\"" 254 'UUID cannot be empty' R rm ""
U=$(newuuid)
echo "$U" >"$T/work/uuid"
chmod 644 "$T/work/uuid"
expect_fail "rm --uuid-file of an unknown pod" 254 "no matches found for \"$U\"" \
	R rm --uuid-file="$T/work/uuid"
P2=$(mkpod prepared 0)
expect_ok "rm by unique prefix" R rm "${P2:0:8}"
check "…prints the full UUID and removes it" bash -c '[ "$1" = "\"$2\"" ]' _ "$OUT" "$P2"
check "…gone" gone "$P2"

AP=$(mkpod prepared "$A_UID")
expect_fail "a member cannot rm another user's pod; the message names both uids" 254 \
	"^rm: denied by policy: pod $AP belongs to uid $A_UID, not uid $M_UID" MR rm "$AP"
check "…the pod is still there" present_in prepared "$AP"
RP=$(mkpod prepared none)
expect_fail "…nor a pod without an owner file (root's)" 254 \
	"denied by policy: pod $RP belongs to uid 0, not uid $M_UID" MR rm "$RP"
MP=$(mkpod run "$M_UID")
expect_ok "a member can rm its own exited pod" MR rm "$MP"
check "…prints it and it is gone" bash -c '[ "$1" = "\"$2\"" ] && [ -z "$(find "$3" -name "$2")" ]' _ "$OUT" "$MP" "$PODS"

RUN=$(mkpod run 0)
check "a running pod: its dir is flock'ed by a background process" hold "$PODS/run/$RUN"
expect_fail "rm of a running pod" 254 "pod \"$RUN\" is currently running" R rm "$RUN"
check "…it stays in run/" present_in run "$RUN"
EMB=$(mkpod embryo 0)
expect_fail "rm of an embryo pod" 254 "pod \"$EMB\" is currently being prepared" R rm "$EMB"
PREP=$(mkpod prepare 0)
hold "$PODS/prepare/$PREP"
expect_fail "rm of a pod being prepared" 254 "pod \"$PREP\" is currently being prepared" R rm "$PREP"

# A leftover bind mount (host dir) and a symlink to a host file inside pods.
mkdir -p "$T/host/dir"
echo keep >"$T/host/dir/file"
echo keep >"$T/host/target"
BM=$(mkpod run 0)
mkdir -p "$PODS/run/$BM/stage1/rootfs/opt/vol" "$PODS/run/$BM/stage1/rootfs/opt/t"
mount --bind "$T/host/dir" "$PODS/run/$BM/stage1/rootfs/opt/vol"
mount -t tmpfs tmpfs "$PODS/run/$BM/stage1/rootfs/opt/t"
mkdir "$PODS/run/$BM/stage1/rootfs/opt/t/inner"
mount --bind "$T/host/dir" "$PODS/run/$BM/stage1/rootfs/opt/t/inner"
ln -s "$T/host/target" "$PODS/run/$BM/link"
ln -s "$T/host/dir" "$PODS/run/$BM/dirlink"
check "a pod with three mounts beneath it (one nested)" \
	[ "$(grep -c "$BM" /proc/self/mountinfo)" -eq 3 ]
expect_ok "rm of that pod" R rm "$BM"
check "…it is gone" gone "$BM"
check "…no mount of it is left in /proc/self/mountinfo" bash -c '! grep -q "$1" /proc/self/mountinfo' _ "$BM"
check "…the bind-mounted host dir and its file are untouched" \
	[ "$(cat "$T/host/dir/file" 2>/dev/null)" = keep ]
check "…the symlinks' targets are untouched" \
	bash -c '[ "$(cat "$1/target")" = keep ] && [ -f "$1/dir/file" ]' _ "$T/host"

# A symlink put where a pod dir should be is never followed.
mkdir -p "$T/host/victim"
echo keep >"$T/host/victim/file"
LU=$(newuuid)
ln -s "$T/host/victim" "$PODS/garbage/$LU"

# ---- gc ---------------------------------------------------------------------------
G_EX=$(mkpod run 0)        # exited: marked
G_AB=$(mkpod prepare 0)    # aborted prepare: marked
G_PR=$(mkpod prepared 0)   # prepared, young
G_EG=$(mkpod exited-garbage 0)
G_GA=$(mkpod garbage 0)
expect_ok "gc --mark-only --grace-period=0 --expire-prepared=0" \
	R gc --mark-only --grace-period=0 --expire-prepared=0
check "…moves the exited pod to exited-garbage/, saying so" \
	bash -c '[ -d "$1/exited-garbage/$2" ] && printf "%s" "$3" | grep -q "moving pod \"$2\" to garbage"' _ "$PODS" "$G_EX" "$ERR"
check "…moves the failed prepare to garbage/, saying so" \
	bash -c '[ -d "$1/garbage/$2" ] && printf "%s" "$3" | grep -q "moving failed prepare \"$2\" to garbage"' _ "$PODS" "$G_AB" "$ERR"
check "…keeps every pod (prepared, exited-garbage, garbage)" \
	bash -c '[ -d "$1/prepared/$2" ] && [ -d "$1/exited-garbage/$3" ] && [ -d "$1/garbage/$4" ]' _ "$PODS" "$G_PR" "$G_EG" "$G_GA"
check "…leaves the running pod and the one being prepared alone" \
	bash -c '[ -d "$1/run/$2" ] && [ -d "$1/prepare/$3" ]' _ "$PODS" "$RUN" "$PREP"

expect_ok "gc within the grace period" R gc
check "…keeps the exited-garbage pods with rkt's message" \
	bash -c '[ -d "$1/exited-garbage/$2" ] && printf "%s" "$3" | grep -q "^gc: pod \"$2\" not removed: still within grace period (30m0s)$"' _ "$PODS" "$G_EG" "$ERR"
check "…empties garbage/, printing Garbage collecting pod on stdout" \
	bash -c '[ ! -e "$1/garbage/$2" ] && printf "%s" "$3" | grep -qx "Garbage collecting pod \"$2\""' _ "$PODS" "$G_AB" "$OUT"
check "…keeps the young prepared pod" present_in prepared "$G_PR"
check "…never follows a symlink in garbage/" [ "$(cat "$T/host/victim/file" 2>/dev/null)" = keep ]

# A member's gc acts on the member's pods only.
M_PR=$(mkpod prepared "$M_UID")
expect_ok "a member's gc --grace-period=0 --expire-prepared=0" MR gc --grace-period=0 --expire-prepared=0
check "…removes the member's prepared pod" gone "$M_PR"
check "…and no one else's" bash -c '[ -d "$1/prepared/$2" ] && [ -d "$1/exited-garbage/$3" ]' _ "$PODS" "$G_PR" "$G_EG"

kill "${HOLDERS[@]}" 2>/dev/null
wait "${HOLDERS[@]}" 2>/dev/null
HOLDERS=()
rm -f "$PODS/garbage/$LU"
expect_ok "gc --grace-period=0 --expire-prepared=0" R gc --grace-period=0 --expire-prepared=0
check "…prepared/, run/, exited-garbage/ and garbage/ are empty" \
	bash -c 'for s in prepare prepared run exited-garbage garbage; do [ -z "$(ls -A "$1/$s")" ] || { ls -A "$1/$s"; exit 1; }; done' _ "$PODS"
check "…rkt's lines: moved, expired, collected" \
	bash -c 'printf "%s" "$1" | grep -q "moving pod \"$3\" to garbage" &&
		printf "%s" "$1" | grep -q "moving expired prepared pod \"$4\" to garbage" &&
		printf "%s" "$2" | grep -qx "Garbage collecting pod \"$5\""' _ "$ERR" "$OUT" "$RUN" "$G_PR" "$G_EG"

# More lines than one answer holds: the rest go to the helper's log.
for i in $(seq 60); do mkpod exited-garbage 0 >/dev/null; done
expect_ok "gc with 60 pods within the grace period" R gc
check "…prints what fits, then how many lines are in the helper's log" \
	bash -c 'n=$(printf "%s\n" "$1" | grep -c "still within grace period"); [ "$n" -ge 30 ] &&
		printf "%s" "$1" | grep -qE "^gc: $((60 - n)) more line\(s\) are in the rkt-privhelper log$"' _ "$ERR"
expect_ok "gc --grace-period=0 collects them all" R gc --grace-period=0
check "…exited-garbage/ is empty" empty_dir exited-garbage

# ---- image gc: the tree store ------------------------------------------------------
TREE=$T/data/tree
T_OLD=deps-sha512-$(printf 'a%.0s' $(seq 64))
T_USED=deps-sha512-$(printf 'b%.0s' $(seq 64))
T_BUSY=deps-sha512-$(printf 'c%.0s' $(seq 64))
for t in "$T_OLD" "$T_USED" "$T_BUSY"; do
	mkdir -p "$TREE/$t/rootfs/bin"
	echo x >"$TREE/$t/rootfs/bin/sh"
	ln -s /etc/passwd "$TREE/$t/rootfs/passwd"
	: >"$TREE/$t/rendered"
done
chmod 0 "$TREE/$T_OLD/rootfs/bin"
USER_POD=$(mkpod prepared 0 "$T_USED")
touch "$TREE/.lock-$T_BUSY"
hold "$TREE/.lock-$T_BUSY"
# What renders left in the renderer's temp dirs (.tmp-<tree ID>-<random>):
# one killed (its tree's lock is free), one still running (it holds it).
T_KILLED=deps-sha512-$(printf 'd%.0s' $(seq 64))
mkdir -p "$TREE/.tmp-$T_KILLED-0123456789abcdef/rootfs/bin" "$TREE/.tmp-$T_BUSY-fedcba9876543210/rootfs"
echo x >"$TREE/.tmp-$T_KILLED-0123456789abcdef/rootfs/bin/sh"
# Lock files (tree/.lock-<id>) go with their trees, and so does the lock of
# a tree that is long gone; the renderer's fast path (tree/by-image/<image>:
# "<tree> <signed>") loses entries whose tree is gone, and is no tree itself.
T_GONE=deps-sha512-$(printf 'e%.0s' $(seq 64))
touch "$TREE/.lock-$T_OLD" "$TREE/.lock-$T_GONE"
mkdir -p "$TREE/by-image"
IMG_A=sha512-$(printf '1%.0s' $(seq 64)) IMG_B=sha512-$(printf '2%.0s' $(seq 64))
IMG_C=sha512-$(printf '3%.0s' $(seq 64))
echo "$T_OLD 1" >"$TREE/by-image/$IMG_A"
echo "$T_USED 1" >"$TREE/by-image/$IMG_B"
echo "not a tree" >"$TREE/by-image/$IMG_C"

expect_ok "image gc as a member (not granted trees by the policy)" rkt_as "$M" --privhelper-socket="$SOCK" image gc
check "…warns that trees were not collected, and keeps them" \
	bash -c 'printf "%s" "$1" | grep -q "rendered trees were not collected: image gc: denied by policy" && [ -d "$2/$3" ]' _ "$ERR" "$TREE" "$T_OLD"

expect_ok "image gc as root" R image gc
check "…removes the unreferenced tree, saying so on stderr" \
	bash -c '[ ! -e "$1/$2" ] && printf "%s" "$3" | grep -q "removed treestore \"$2\""' _ "$TREE" "$T_OLD" "$ERR"
check "…keeps the tree a pod references" [ -f "$TREE/$T_USED/rendered" ]
check "…keeps a tree whose lock a render holds" [ -f "$TREE/$T_BUSY/rendered" ]
check "…removes what a killed render left, saying so" \
	bash -c '[ ! -e "$1/.tmp-$2-0123456789abcdef" ] &&
		printf "%s" "$3" | grep -q "removed the unfinished render \".tmp-$2-0123456789abcdef\""' \
	_ "$TREE" "$T_KILLED" "$ERR"
check "…keeps the temp dir of a render that holds its lock" [ -d "$TREE/.tmp-$T_BUSY-fedcba9876543210/rootfs" ]
check "…removes the lock files of the trees it removed and of a tree long gone" \
	bash -c '! ls -A "$1" | grep -qE "^\.lock-($2|$3|$4)\$"' _ "$TREE" "$T_OLD" "$T_KILLED" "$T_GONE"
check "…keeps the lock a render holds" [ -e "$TREE/.lock-$T_BUSY" ]
check "…removes the fast-path entries of a removed tree and a bad one" \
	bash -c '[ ! -e "$1/by-image/$2" ] && [ ! -e "$1/by-image/$3" ]' _ "$TREE" "$IMG_A" "$IMG_C"
check "…keeps the entry of a kept tree, and by-image/ is no tree" \
	bash -c '[ -f "$1/by-image/$2" ] && ! printf "%s" "$3" | grep -q by-image' _ "$TREE" "$IMG_B" "$ERR"
check "…the symlinks' target is untouched" [ -s /etc/passwd ]

# End to end with rkt prepare (when this build's prepare works): the pod's
# tree survives image gc until the pod is removed.
mkdir -p "$T/work/img"
chmod 755 "$T/work/img"
mkaci -o "$T/work/img/e2e.aci" --name localhost/gc/e2e && chmod 644 "$T/work/img/e2e.aci"
E2E=$(R --insecure-options=image prepare "$T/work/img/e2e.aci" 2>"$T/work/prep.err")
if [ -n "$E2E" ] && [ -d "$PODS/prepared/$E2E" ]; then
	TID=$(cat "$PODS/prepared/$E2E"/appsinfo/*/treeStoreID)
	expect_ok "image gc with a prepared pod (rkt prepare)" R image gc
	check "…keeps the tree the pod records" bash -c '[ -n "$2" ] && [ -f "$1/$2/rendered" ]' _ "$TREE" "$TID"
	# A prepare holds its tree's lock (shared) until its pod records the
	# tree, so image gc cannot take the tree in between; while a render
	# holds it (exclusive), a prepare of the same image waits.
	hold "$TREE/.lock-$TID" -x
	R --insecure-options=image prepare "$T/work/img/e2e.aci" >"$T/work/prep2.out" 2>&1 &
	PREP2=$!
	sleep 1
	check "…a prepare of the image waits while its tree's lock is held" kill -0 "$PREP2"
	release "$HOLDER"
	check "…and goes on once it is released" wait "$PREP2"
	E2E2=$(tail -1 "$T/work/prep2.out")
	check "…its pod records the same tree" \
		bash -c '[ "$(cat "$1/prepared/$2"/appsinfo/*/treeStoreID)" = "$3" ]' _ "$PODS" "$E2E2" "$TID"
	expect_ok "rm of the prepared pods" R rm "$E2E" "$E2E2"
	expect_ok "image gc after rm" R image gc
	check "…removes the pod's tree" bash -c '[ ! -e "$1/$2" ] && printf "%s" "$3" | grep -q "removed treestore \"$2\""' _ "$TREE" "$TID" "$ERR"
else
	skip "rkt prepare does not work in this build: $(head -1 "$T/work/prep.err")"
fi

stop_all
expect_ok "root image gc without a helper auto-starts a session" \
	bash -c 'mkdir -p "$1/bin" && cp "$2/rkt" "$2/rkt-privhelper-session" "$1/bin/" &&
		"$1/bin/rkt" --dir="$1/data" --local-config="$1/etc" --system-config="$1/sys" \
		--privhelper-socket="$1/nosock" image gc' _ "$T" "$BUILD/bin"
check "…and collects the tree the lock no longer protects" \
	bash -c '[ ! -e "$1/$2" ] && printf "%s" "$3" | grep -q "removed treestore \"$2\""' _ "$TREE" "$T_BUSY" "$ERR"
expect_ok "a member's image gc without a helper only warns" \
	rkt_as "$M" --privhelper-socket="$T/nosock" image gc
check "…naming the helper" like 'warning: rendered trees were not collected: the rkt privileged helper is not running' "$ERR"

done_testing
