/* unpriv/cli/humanize: rkt's (go-humanize's) sizes and times. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "unpriv/cli/humanize.h"

static void test_ibytes(void **state)
{
	(void)state;
	char b[32];
	humanize_ibytes(0, b, sizeof b);
	assert_string_equal(b, "0 B");
	humanize_ibytes(512, b, sizeof b);
	assert_string_equal(b, "512 B");
	humanize_ibytes(1536, b, sizeof b);
	assert_string_equal(b, "1.5 KiB");
	humanize_ibytes(15u << 20, b, sizeof b);
	assert_string_equal(b, "15 MiB");
	humanize_ibytes(10 * 1024, b, sizeof b);
	assert_string_equal(b, "10 KiB");
}

static void test_reltime(void **state)
{
	(void)state;
	const int64_t S = 1000000000LL, now = 1700000000LL * S;
	char b[64];
	humanize_reltime(now, now, b, sizeof b);
	assert_string_equal(b, "now");
	humanize_reltime(now - S, now, b, sizeof b);
	assert_string_equal(b, "1 second ago");
	humanize_reltime(now - 14 * S, now, b, sizeof b);
	assert_string_equal(b, "14 seconds ago");
	humanize_reltime(now - 3 * 60 * S, now, b, sizeof b);
	assert_string_equal(b, "3 minutes ago");
	humanize_reltime(now + 15 * 24 * 3600 * S, now, b, sizeof b);
	assert_string_equal(b, "2 weeks from now");
}

static void test_go_time(void **state)
{
	(void)state;
	setenv("TZ", "UTC", 1);
	char b[64];
	format_go_time(0, b, sizeof b);
	assert_string_equal(b, "0001-01-01 00:00:00 +0000 UTC");
	format_go_time(1700000000LL * 1000000000LL + 120000000LL, b, sizeof b);
	assert_string_equal(b, "2023-11-14 22:13:20.12 +0000 UTC");
	format_go_time(1700000000LL * 1000000000LL, b, sizeof b);
	assert_string_equal(b, "2023-11-14 22:13:20 +0000 UTC");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ibytes),
		cmocka_unit_test(test_reltime),
		cmocka_unit_test(test_go_time),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
