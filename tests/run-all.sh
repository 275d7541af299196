#!/bin/bash
# Runs every suite against one build (default build/asan): unit tests
# (cmocka, TAP), integration tests (tests/integration/*.sh, TAP, as root with
# real users and a real helper), and a fuzz smoke run of each libFuzzer target.
# The last line is "N passed, N failed, N skipped"; exit 1 when any failed.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build/asan}
case $build in /*) ;; *) build=$top/$build ;; esac
export RKT_BUILD=$build
export CMOCKA_MESSAGE_OUTPUT=TAP
# LeakSanitizer cannot run under seccomp; processes that install filters set
# this themselves (DESIGN §13). Elsewhere leaks are errors.
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
logdir=$top/build/test-logs
rm -rf "$logdir"; mkdir -p "$logdir"
pass=0 fail=0 skip=0
failed_names=()

# count_tap NAME LOGFILE EXITCODE: add a suite's TAP results to the totals.
count_tap() {
	local name=$1 log=$2 rc=$3 p f s
	p=$(grep -cE '^ok ' "$log" | tr -d ' ')
	s=$(grep -ciE '^ok .*# *skip' "$log" | tr -d ' ')
	f=$(grep -cE '^not ok ' "$log" | tr -d ' ')
	p=$((p - s))
	if [ "$rc" -eq 77 ] && [ $((p + f)) -eq 0 ]; then
		s=$((s == 0 ? 1 : s))
	elif [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		# crashed or exited non-zero without reporting a failure: count it
		f=1
		echo "not ok - $name exited with status $rc" >>"$log"
	fi
	pass=$((pass + p)); fail=$((fail + f)); skip=$((skip + s))
	[ "$f" -gt 0 ] && failed_names+=("$name")
	printf '%-48s %3d passed, %d failed, %d skipped\n' "$name" "$p" "$f" "$s"
}

echo "== unit tests"
for t in "$build"/tests/test-*; do
	[ -x "$t" ] || continue
	n=unit/$(basename "$t")
	log=$logdir/$(basename "$t").log
	(cd "$top" && timeout 300 "$t") >"$log" 2>&1
	count_tap "$n" "$log" $?
done

echo "== integration tests"
if [ "$(id -u)" -ne 0 ]; then
	echo "integration tests need root (they create users and start the helper); skipped"
	skip=$((skip + 1))
else
	for t in "$top"/tests/integration/[0-9]*.sh; do
		[ -f "$t" ] || continue
		n=integration/$(basename "$t" .sh)
		log=$logdir/$(basename "$t" .sh).log
		(cd "$top" && timeout 1200 bash "$t") >"$log" 2>&1
		count_tap "$n" "$log" $?
	done
fi

# The release build (static stage1, prefaulting, no sanitizers) is what
# users run: the suites that start pods and spares run once against it too.
if [ -n "${RKT_RELEASE_BUILD:-}" ] && [ -x "$RKT_RELEASE_BUILD/bin/rkt" ] && [ "$(id -u)" -eq 0 ]; then
	echo "== release build"
	for s in 71-helper-spare 82-run; do
		n=release/$s
		log=$logdir/release-$s.log
		(cd "$top" && RKT_BUILD=$RKT_RELEASE_BUILD timeout 1200 bash "tests/integration/$s.sh") >"$log" 2>&1
		count_tap "$n" "$log" $?
	done
fi

echo "== fuzz smoke (${FUZZ_SECONDS:-10} s each)"
for f in "${RKT_FUZZ_DIR:-$top/build/fuzz}"/*; do
	[ -x "$f" ] && [ -f "$f" ] || continue
	name=$(basename "$f")
	log=$logdir/fuzz-$name.log
	corpus=$top/tests/fuzz/$name/corpus
	work=$(mktemp -d -p /run "fuzz-$name.XXXXXX" 2>/dev/null || mktemp -d)
	[ -d "$corpus" ] && cp -r "$corpus/." "$work/" 2>/dev/null
	if "$f" -max_total_time="${FUZZ_SECONDS:-10}" -timeout=10 -rss_limit_mb=2048 \
		-artifact_prefix="$logdir/fuzz-$name-" "$work" >"$log" 2>&1; then
		echo "ok - fuzz/$name" >>"$log"; rc=0
	else
		echo "not ok - fuzz/$name (see $log)" >>"$log"; rc=1
	fi
	rm -rf "$work"
	count_tap "fuzz/$name" "$log" $rc
done

if [ ${#failed_names[@]} -gt 0 ]; then
	echo "failed suites (logs in build/test-logs/):"
	for n in "${failed_names[@]}"; do echo "  $n"; done
	for n in "${failed_names[@]}"; do
		b=${n#*/}; l=$logdir/$b.log; [ -f "$l" ] || l=$logdir/fuzz-$b.log
		[ "${n%%/*}" = release ] && l=$logdir/release-$b.log
		echo "---- $n (tail)"; grep -E '^not ok|FAIL|ERROR|error' "$l" | tail -15
	done
fi
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
