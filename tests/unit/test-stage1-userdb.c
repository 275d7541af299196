/* stage1/userdb: user and group resolution from an app's /etc files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "stage1/userdb.h"

static const char passwd[] = "root:x:0:0:root:/root:/bin/sh\n"
			     "user1:x:1000:1001::/home/user1:/bin/sh\n"
			     "user10:x:1010:1010:prefix of nothing:/:/bin/false\n"
			     "broken:x:notanumber:1:::\n"
			     "last:x:7:8:::";
static const char group[] = "root:x:0:\ngroup1:x:100:user1\nwheel:x:10:a,b\n";

static void test_passwd(void **state)
{
	(void)state;
	uid_t u;
	gid_t g;
	assert_int_equal(userdb_passwd_lookup(passwd, "user1", &u, &g), 0);
	assert_int_equal(u, 1000);
	assert_int_equal(g, 1001);
	assert_int_equal(userdb_passwd_lookup(passwd, "user10", &u, NULL), 0);
	assert_int_equal(u, 1010);
	/* a name that is a prefix of another entry's name does not match it */
	assert_int_equal(userdb_passwd_lookup(passwd, "user", &u, NULL), -ENOENT);
	assert_int_equal(userdb_passwd_lookup(passwd, "broken", &u, NULL), -EINVAL);
	/* the last line has no newline */
	assert_int_equal(userdb_passwd_lookup(passwd, "last", &u, &g), 0);
	assert_int_equal(u, 7);
	assert_int_equal(g, 8);
	assert_int_equal(userdb_passwd_lookup("", "root", &u, NULL), -ENOENT);
}

static void test_group(void **state)
{
	(void)state;
	gid_t g;
	assert_int_equal(userdb_group_lookup(group, "group1", &g), 0);
	assert_int_equal(g, 100);
	assert_int_equal(userdb_group_lookup(group, "wheel", &g), 0);
	assert_int_equal(g, 10);
	assert_int_equal(userdb_group_lookup(group, "user1", &g), -ENOENT);
}

static void test_parse_id(void **state)
{
	(void)state;
	uint32_t v;
	assert_true(userdb_parse_id("0", &v) && v == 0);
	assert_true(userdb_parse_id("4294967294", &v) && v == 4294967294u);
	assert_false(userdb_parse_id("4294967295", &v));
	assert_false(userdb_parse_id("-1", &v));
	assert_false(userdb_parse_id("12a", &v));
	assert_false(userdb_parse_id("", &v));
}

static void test_resolve_in_root(void **state)
{
	(void)state;
	char dir[] = "/tmp/test-stage1-userdb.XXXXXX";
	assert_non_null(mkdtemp(dir));
	_cleanup_close_ int root = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	assert_true(root >= 0);
	assert_int_equal(mkdirat(root, "etc", 0755), 0);
	struct rkt_err err = { 0 };
	_cleanup_free_ char *pw = xasprintf("%s/etc/passwd", dir);
	assert_int_equal(write_file_atomic_at(AT_FDCWD, pw, passwd, strlen(passwd), 0644, &err), 0);
	uid_t u;
	gid_t g;
	assert_int_equal(userdb_resolve_user(root, "user1", &u, &err), 0);
	assert_int_equal(u, 1000);
	assert_int_equal(userdb_resolve_user(root, "300", &u, &err), 0);
	assert_int_equal(u, 300);
	assert_int_equal(userdb_resolve_user(root, "", &u, &err), 0);
	assert_int_equal(u, 0);
	assert_int_equal(userdb_resolve_user(root, "nobody-here", &u, &err), -ENOENT);
	assert_string_equal(err.msg, "user nobody-here: no such entry in /etc/passwd");
	/* no /etc/group at all: the error names the group and the file */
	assert_true(userdb_resolve_group(root, "group1", &g, &err) < 0);
	assert_non_null(strstr(err.msg, "group group1"));
	assert_non_null(strstr(err.msg, "etc/group"));
	/* an absolute path gives its owner */
	assert_int_equal(userdb_resolve_user(root, "/etc/passwd", &u, &err), 0);
	assert_int_equal(u, getuid());
	assert_int_equal(userdb_resolve_group(root, "/etc", &g, &err), 0);
	assert_int_equal(g, getgid());
	assert_int_equal(rm_rf_at(AT_FDCWD, dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_passwd),
		cmocka_unit_test(test_group),
		cmocka_unit_test(test_parse_id),
		cmocka_unit_test(test_resolve_in_root),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
