#!/bin/sh
# Installs rkt (DESIGN §12). Called by `make install`:
#   dist/install.sh DESTDIR BINDIR LIBDIR LIBEXECDIR DATADIR SYSCONFDIR PREFIX
# The programs are taken from $RKT_BUILD_BIN (default build/bin); a program
# that was not built is skipped. Prints every file it installed and every
# directory it created, one per line with DESTDIR, parents before children,
# so `make uninstall` can remove them in reverse order.
# Modes are 0755 and 0644 only: no setuid or setgid file is ever installed
# (the one privileged program is a socket-activated daemon, DESIGN §1).
set -eu

if [ $# -ne 7 ]; then
	echo "usage: $0 DESTDIR BINDIR LIBDIR LIBEXECDIR DATADIR SYSCONFDIR PREFIX" >&2
	exit 2
fi
destdir=$1 bindir=$2 libdir=$3 libexecdir=$4 datadir=$5 sysconfdir=$6 prefix=$7
top=$(cd "$(dirname "$0")/.." && pwd)
bin=${RKT_BUILD_BIN:-build/bin}
case $bin in /*) ;; *) bin=$top/$bin ;; esac

for p in "$bindir" "$libdir" "$libexecdir" "$datadir" "$sysconfdir" "$prefix"; do
	case $p in
	/*) ;;
	*) echo "install.sh: \"$p\" is not an absolute path" >&2; exit 254 ;;
	esac
	# the unit files get these paths through sed
	case $p in *'|'* | *'&'* | *'\'*)
		echo "install.sh: \"$p\" contains a character unit files cannot hold" >&2; exit 254 ;;
	esac
done
if [ ! -x "$bin/rkt" ]; then
	echo "install.sh: $bin/rkt is missing: build first (make)" >&2
	exit 254
fi

# systemd looks in <prefix>/lib for units, sysusers.d and tmpfiles.d, also
# when LIBDIR is a multiarch directory.
sdlib=$prefix/lib

# mkdirs DIR: creates DIR under DESTDIR and prints each component it made.
mkdirs() {
	[ -d "$destdir$1" ] && return 0
	if [ "$1" = / ]; then
		install -d -m 0755 "$destdir"
		return 0
	fi
	mkdirs "$(dirname "$1")"
	install -d -m 0755 "$destdir$1"
	printf '%s\n' "$destdir$1"
}

# put MODE SRC DIR [NAME]
put() {
	mkdirs "$3"
	dest=$destdir$3/${4:-$(basename "$2")}
	install -m "$1" "$2" "$dest"
	printf '%s\n' "$dest"
}

# put_unit SRC DIR: a unit with @BINDIR@/@LIBEXECDIR@/@DATADIR@ filled in.
put_unit() {
	tmp=$(mktemp)
	sed -e "s|@BINDIR@|$bindir|g" -e "s|@LIBEXECDIR@|$libexecdir|g" \
		-e "s|@DATADIR@|$datadir|g" "$1" >"$tmp"
	put 0644 "$tmp" "$2" "$(basename "$1")"
	rm -f "$tmp"
}

# Programs: rkt and the listener on PATH (rkt starts the listener found
# beside itself when root calls with no helper running); every other
# program is a helper that rkt and the listener look up in LIBEXECDIR/rkt.
for f in "$bin"/*; do
	[ -f "$f" ] && [ -x "$f" ] || continue
	case $(basename "$f") in
	rkt | rkt-privhelper) put 0755 "$f" "$bindir" ;;
	*) put 0755 "$f" "$libexecdir/rkt" ;;
	esac
done
put 0755 "$top/dist/setup-data-dir" "$libexecdir/rkt"

# The default --system-config (vendor config, stage1 flavors), root's 0755.
mkdirs "$libdir/rkt"
# The ns flavor's entrypoints, built beside the programs.
for e in init enter gc; do
	if [ -x "$bin/../stage1/ns/$e" ]; then put 0755 "$bin/../stage1/ns/$e" "$libdir/rkt/stage1/ns"; fi
done

put 0644 "$top/dist/sysusers.d-rkt.conf" "$sdlib/sysusers.d" rkt.conf
put 0644 "$top/dist/tmpfiles.d-rkt.conf" "$sdlib/tmpfiles.d" rkt.conf
for u in "$top"/dist/*.service "$top"/dist/*.socket "$top"/dist/*.timer; do
	[ -f "$u" ] && put_unit "$u" "$sdlib/systemd/system"
done

put 0644 "$top/dist/bash-completion/rkt" "$datadir/bash-completion/completions"
put 0644 "$top/dist/policy.json.example" "$datadir/doc/rkt"
[ -f "$top/SECURITY.md" ] && put 0644 "$top/SECURITY.md" "$datadir/doc/rkt"
[ -f "$top/README.md" ] && put 0644 "$top/README.md" "$datadir/doc/rkt"
exit 0
