#!/bin/bash
# make fuzz: runs every libFuzzer target for FUZZ_SECONDS, starting from its
# seed corpus (tests/fuzz/<target>/corpus/). New inputs go to a working
# corpus under build/, so the repository's seeds stay as committed.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
fuzzdir=${RKT_FUZZ_DIR:-$top/build/fuzz}
rc=0
for f in "$fuzzdir"/*; do
	[ -x "$f" ] && [ -f "$f" ] || continue
	name=$(basename "$f")
	work=$fuzzdir/corpus-$name
	mkdir -p "$work" "$fuzzdir/artifacts"
	echo "== fuzz $name for ${FUZZ_SECONDS:-60} s"
	"$f" -max_total_time="${FUZZ_SECONDS:-60}" -timeout=10 -rss_limit_mb=2048 \
		-artifact_prefix="$fuzzdir/artifacts/$name-" "$work" "$top/tests/fuzz/$name/corpus" || rc=1
done
exit $rc
