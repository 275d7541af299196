/* common/util and common/err: durations, sizes, atomic writes, errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/util.h"

static void test_duration_parse(void **state)
{
	(void)state;
	int64_t ns;
	assert_int_equal(parse_duration_ns("30m0s", &ns), 0);
	assert_true(ns == 30LL * 60 * 1000000000LL);
	assert_int_equal(parse_duration_ns("24h", &ns), 0);
	assert_true(ns == 24LL * 3600 * 1000000000LL);
	assert_int_equal(parse_duration_ns("1h30m", &ns), 0);
	assert_true(ns == 90LL * 60 * 1000000000LL);
	assert_int_equal(parse_duration_ns("500ms", &ns), 0);
	assert_true(ns == 500LL * 1000000LL);
	assert_int_equal(parse_duration_ns("0", &ns), 0);
	assert_true(ns == 0);
	assert_int_equal(parse_duration_ns("10x", &ns), -EINVAL);
	assert_int_equal(parse_duration_ns("", &ns), -EINVAL);
	assert_int_equal(parse_duration_ns("-5s", &ns), -EINVAL);
}

static void test_duration_format(void **state)
{
	(void)state;
	char b[64];
	format_duration(30LL * 60 * 1000000000LL, b, sizeof b);
	assert_string_equal(b, "30m0s");
	format_duration(24LL * 3600 * 1000000000LL, b, sizeof b);
	assert_string_equal(b, "24h0m0s");
	format_duration(0, b, sizeof b);
	assert_string_equal(b, "0s");
	format_duration(1500000000LL, b, sizeof b);
	assert_string_equal(b, "1.5s");
}

static void test_atomic_write(void **state)
{
	(void)state;
	char dir[] = "/run/rkt-unit.XXXXXX";
	if (!mkdtemp(dir))
		strcpy(dir, "/tmp"), assert_non_null(mkdtemp(strcpy(dir, "/tmp/rkt-unit.XXXXXX")));
	_cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY);
	assert_true(dfd >= 0);
	struct rkt_err err = { 0 };
	assert_int_equal(write_file_atomic_at(dfd, "f", "hello", 5, 0640, &err), 0);
	char *buf = NULL;
	size_t len = 0;
	assert_int_equal(read_file_at(dfd, "f", 100, &buf, &len, &err), 0);
	assert_int_equal(len, 5);
	assert_string_equal(buf, "hello");
	free(buf);
	struct stat st;
	assert_int_equal(fstatat(dfd, "f", &st, 0), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	/* a bounded read refuses a longer file and names it */
	assert_int_equal(read_file_at(dfd, "f", 2, &buf, &len, &err), -EFBIG);
	assert_non_null(strstr(err.msg, "f"));
	/* nothing but the file is left in the directory */
	assert_int_equal(mkdir_p_at(dfd, "a/b/c", 0755), 0);
	assert_int_equal(rm_rf_at(dfd, "a"), 0);
	assert_int_equal(faccessat(dfd, "a", F_OK, 0), -1);
	assert_int_equal(rm_rf_at(AT_FDCWD, dir), 0);
}

static void test_mountinfo_unescape(void **state)
{
	(void)state;
	char a[] = "/run/a\\040b/c\\011d\\012e\\134f";
	mountinfo_unescape(a);
	assert_string_equal(a, "/run/a b/c\td\ne\\f");
	/* Not an escape: kept as it stands. */
	char b[] = "/x\\8/y\\04";
	mountinfo_unescape(b);
	assert_string_equal(b, "/x\\8/y\\04");
}

static void test_error_objects(void **state)
{
	(void)state;
	struct rkt_err err = { 0 };
	assert_int_equal(rkt_error(&err, ENOENT, "image %s\nmissing", "x"), -ENOENT);
	assert_string_equal(err.msg, "image x missing");
	assert_int_equal(rkt_error_wrap(&err, "fetch"), -ENOENT);
	assert_string_equal(err.msg, "fetch: image x missing");
	assert_int_equal(rkt_error(&err, 0, "bad"), -EINVAL);
	assert_int_equal(rkt_error_errno(&err, EACCES, "open %s", "/p"), -EACCES);
	assert_string_equal(err.msg, "open /p: Permission denied");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_duration_parse), cmocka_unit_test(test_duration_format),
		cmocka_unit_test(test_atomic_write),
		cmocka_unit_test(test_error_objects),
		cmocka_unit_test(test_mountinfo_unescape),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
