#!/bin/bash
# The CLI surface (rkt-behaviour.md §1, §10 items 1, 3, 65; interfaces.md
# "Output of rkt that scripts parse"): version lines, bare rkt, help, unknown
# flags and commands, --insecure-options values, rkt config layering.
. "$(dirname "$0")/lib.sh"
ensure_groups_and_users
make_tree

# version: rkt's five lines, in order, as a group member.
OUT=$(rkt_as "$U_MEMBER" version 2>&1); rc=$?
if [ $rc -eq 0 ] && [ "$(printf '%s\n' "$OUT" | cut -d: -f1 | head -5 | tr '\n' '|')" = \
	"rkt Version|appc Version|Go Version|Go OS/Arch|Features|" ]; then
	ok "version prints rkt Version, appc Version, Go Version, Go OS/Arch, Features"
else
	not_ok "version lines"; diag "exit $rc: $OUT"
fi
check "version says appc Version: 0.8.11" like '^appc Version: 0\.8\.11$' "$(printf '%s' "$OUT" | sed -n 2p)"
check "version works for the outsider too" bash -c "'$RKT_BIN' version >/dev/null"

# bare rkt: usage on stderr, exit 2; --help: usage on stdout, exit 0.
expect_fail "bare rkt exits 2 with 'missing command'" 2 'missing command' "$RKT_BIN"
OUT=$("$RKT_BIN" --help 2>/dev/null); rc=$?
if [ $rc -eq 0 ] && like 'fetch' "$OUT" && like 'trust' "$OUT" && like 'version' "$OUT"; then
	ok "--help exits 0 and lists fetch, trust, version on stdout"
else
	not_ok "--help"; diag "exit $rc: $(printf '%s' "$OUT" | head -3)"
fi
OUT=$("$RKT_BIN" help fetch 2>/dev/null); rc=$?
if [ $rc -eq 0 ] && like 'rkt fetch' "$OUT"; then ok "help fetch prints fetch's usage"
else not_ok "help fetch"; diag "exit $rc: $(printf '%s' "$OUT" | head -3)"; fi
OUT=$("$RKT_BIN" image --help 2>&1); rc=$?
diag "rkt image --help: exit $rc"

# Unknown things exit 254 and name what was unknown.
expect_fail "unknown global flag exits 254 naming the flag" 254 'unknown flag.*--bogus' "$RKT_BIN" --bogus version
expect_fail "unknown command exits 254 naming it" 254 'unknown command "frobnicate"' "$RKT_BIN" frobnicate
expect_fail "unknown flag of a command exits 254" 254 'no-such-flag' "$RKT_BIN" fetch --no-such-flag x
expect_fail "bad --insecure-options value exits 254 naming it" 254 'bogus' \
	"$RKT_BIN" --insecure-options=bogus version
expect_fail "bad --pull-policy exits 254" 254 'pull-policy|sometimes' \
	rkt_as "$U_MEMBER" fetch --pull-policy=sometimes "$T/none.aci"
# An empty --dir would make the current directory the store (and an empty
# config dir "/"): refused, naming the flag (the last --dir given wins).
in_dir() { local d=$1; shift; (cd "$d" && "$@"); }
mkdir -p "$T/cwd"
for f in dir local-config system-config; do
	expect_fail "an empty --$f is refused, naming it" 254 "^list: .*\"--$f\" flag: must not be empty" \
		in_dir "$T/cwd" rkt_as root --$f= image list
done
mkaci -o "$T/emptydir.aci" --name localhost/cli/emptydir && chmod 644 "$T/emptydir.aci"
expect_fail "rkt fetch refuses an empty --dir too" 254 '^fetch: .*"--dir" flag: must not be empty' \
	in_dir "$T/cwd" rkt_as root --insecure-options=image --dir= fetch "$T/emptydir.aci"
check "…and no store was made in the current directory" test -z "$(ls -A "$T/cwd")"
OUT=$("$RKT_BIN" ver 2>&1); rc=$?
if [ $rc -eq 0 ] && like '^rkt Version' "$OUT"; then ok "unique prefix 'ver' runs version"
else not_ok "prefix 'ver'"; diag "exit $rc: $OUT"; fi

# rkt config: merged auth.d, local overriding system per domain.
mkdir -p "$T/sys/auth.d"
cat >"$T/sys/auth.d/a.json" <<'EOF'
{"rktKind": "auth", "rktVersion": "v1", "domains": ["sys.example", "both.example"],
 "type": "basic", "credentials": {"user": "sysuser", "password": "syspass"}}
EOF
cat >"$T/etc/auth.d/b.json" <<'EOF'
{"rktKind": "auth", "rktVersion": "v1", "domains": ["both.example"],
 "type": "oauth", "credentials": {"token": "localtoken"}}
EOF
chmod 644 "$T/sys/auth.d/a.json" "$T/etc/auth.d/b.json"
OUT=$(rkt_as "$U_MEMBER" config 2>&1); rc=$?
summary=$(printf '%s' "$OUT" | "$PY" -c '
import json, sys
d = json.load(sys.stdin)
out = []
for e in d["stage0"]:
    if e.get("rktKind") == "auth":
        for dom in e.get("domains", []):
            out.append("%s=%s" % (dom, e.get("type")))
print(",".join(sorted(out)))' 2>/dev/null)
if [ $rc -eq 0 ] && [ "$summary" = "both.example=oauth,sys.example=basic" ]; then
	ok "config merges auth.d: local oauth overrides system basic for both.example"
else
	not_ok "config auth.d merge"; diag "exit $rc, summary '$summary', output: $(printf '%s' "$OUT" | head -5)"
fi
OUT=$(rkt_as "$U_MEMBER" config --pretty-print=false 2>&1)
if like '^\{"stage0":\[' "$OUT" && [ "$(printf '%s\n' "$OUT" | wc -l)" -eq 1 ]; then
	ok "config --pretty-print=false prints one line starting {\"stage0\":["
else
	not_ok "config --pretty-print=false"; diag "$(printf '%s' "$OUT" | head -3)"
fi
# Same domain twice in one layer is an error naming both files.
cp "$T/etc/auth.d/b.json" "$T/etc/auth.d/c.json"; chmod 644 "$T/etc/auth.d/c.json"
expect_fail "config refuses a domain defined twice in one layer, naming the files" 254 \
	'both\.example|[bc]\.json' rkt_as "$U_MEMBER" config
rm -f "$T/etc/auth.d/c.json"
# A malformed file is named.
echo '{"rktKind": "auth", ' >"$T/etc/auth.d/broken.json"; chmod 644 "$T/etc/auth.d/broken.json"
expect_fail "config names a malformed auth.d file" 254 'broken\.json' rkt_as "$U_MEMBER" config
rm -f "$T/etc/auth.d/broken.json"

done_testing
