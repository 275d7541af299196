#!/bin/bash
# make fuzz: runs every libFuzzer target for FUZZ_SECONDS on its corpus.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
rc=0
for f in "${RKT_FUZZ_DIR:-$top/build/fuzz}"/*; do
	[ -x "$f" ] && [ -f "$f" ] || continue
	name=$(basename "$f")
	mkdir -p "$top/tests/fuzz/$name/corpus"
	echo "== fuzz $name for ${FUZZ_SECONDS:-60} s"
	"$f" -max_total_time="${FUZZ_SECONDS:-60}" -timeout=10 "$top/tests/fuzz/$name/corpus" || rc=1
done
exit $rc
