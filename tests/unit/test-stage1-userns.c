/* stage1/userns: the --private-users=SHIFT:COUNT argument the helper hands
 * the ns flavor, and the maps it turns into. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "stage1/userns.h"

static void test_parse_ok(void **state)
{
	(void)state;
	struct s1_userns u = { 0 };
	struct rkt_err err = { 0 };
	assert_int_equal(s1_userns_parse("1048576:65536", &u, &err), 0);
	assert_int_equal(u.shift, 1048576);
	assert_int_equal(u.count, 65536);
	assert_int_equal(s1_userns_parse("4294901759:65536", &u, &err), 0);
	assert_int_equal(u.shift, 4294901759u);
}

static void test_parse_bad(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"",	     "1048576",	      "1048576:",	  ":65536",	    "0:65536",
		"1048576:0", "1048576:65537", "-1:65536",	  "1048576:-1",	    "1048576:65536x",
		"x:65536",   "4294901761:65536", "99999999999:1", "1048576::65536",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct s1_userns u = { 0 };
		struct rkt_err err = { 0 };
		assert_int_equal(s1_userns_parse(bad[i], &u, &err), -EINVAL);
		assert_non_null(strstr(err.msg, "--private-users="));
		assert_int_equal(u.count, 0);
	}
}

/* Root only: a child in a new user namespace gets "0 SHIFT COUNT" and is
 * uid 0 in it after s1_userns_become_root. */
static void test_maps_in_child(void **state)
{
	(void)state;
	if (geteuid() != 0) {
		skip();
		return;
	}
	int go[2], out[2];
	assert_int_equal(pipe(go), 0);
	assert_int_equal(pipe(out), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char c;
		close(go[1]);
		close(out[0]);
		if (unshare(CLONE_NEWUSER) < 0)
			_exit(2);
		if (read(go[0], &c, 1) != 1 || s1_userns_become_root() < 0)
			_exit(3);
		char buf[128];
		int fd = open("/proc/self/uid_map", O_RDONLY | O_CLOEXEC);
		ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
		if (n <= 0)
			_exit(4);
		buf[n] = '\0';
		dprintf(out[1], "%u %s", (unsigned)getuid(), buf);
		_exit(0);
	}
	close(go[0]);
	close(out[1]);
	/* The child unshares before it reads: wait for its map file to be
	 * the new namespace's (empty) one. */
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/uid_map", (int)pid);
	for (int i = 0; i < 200; i++) {
		_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
		char b[8];
		if (fd >= 0 && read(fd, b, sizeof b) == 0)
			break;
		usleep(10000);
	}
	struct s1_userns u = { .shift = 1048576, .count = 65536 };
	struct rkt_err err = { 0 };
	assert_int_equal(s1_userns_write_maps(pid, &u, &err), 0);
	assert_int_equal(write(go[1], "g", 1), 1);
	char buf[256] = { 0 };
	ssize_t n = read(out[0], buf, sizeof buf - 1);
	int ws;
	assert_int_equal(waitpid(pid, &ws, 0), pid);
	assert_true(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
	assert_true(n > 0);
	unsigned uid, a, b, c;
	assert_int_equal(sscanf(buf, "%u %u %u %u", &uid, &a, &b, &c), 4);
	assert_int_equal(uid, 0);
	assert_int_equal(a, 0);
	assert_int_equal(b, 1048576);
	assert_int_equal(c, 65536);
	close(go[1]);
	close(out[0]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_ok),
		cmocka_unit_test(test_parse_bad),
		cmocka_unit_test(test_maps_in_child),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
