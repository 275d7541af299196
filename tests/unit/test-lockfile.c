/* common/lockfile: lock files that may be removed while others wait on them. */
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
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/lockfile.h"
#include "common/util.h"

struct dir {
	char path[64];
	int fd;
};

static int setup(void **state)
{
	struct dir *d = xcalloc(1, sizeof *d);
	strcpy(d->path, "/tmp/rkt-lockfile.XXXXXX");
	if (!mkdtemp(d->path))
		return -1;
	d->fd = open(d->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	*state = d;
	return d->fd < 0 ? -1 : 0;
}

static int teardown(void **state)
{
	struct dir *d = *state;
	char *cmd = xasprintf("rm -rf '%s'", d->path);
	int r = system(cmd);
	free(cmd);
	close(d->fd);
	free(d);
	return r == 0 ? 0 : -1;
}

static void test_lock_creates_and_excludes(void **state)
{
	struct dir *d = *state;
	int a = lockfile_lock(d->fd, "k", LOCK_EX, 0600);
	assert_true(a >= 0);
	struct stat st;
	assert_int_equal(fstatat(d->fd, "k", &st, 0), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* Another open file description: the lock is held. */
	assert_int_equal(lockfile_lock(d->fd, "k", LOCK_SH | LOCK_NB, 0600), -EWOULDBLOCK);
	close(a);
	int b = lockfile_lock(d->fd, "k", LOCK_SH | LOCK_NB, 0600);
	assert_true(b >= 0);
	int c = lockfile_lock(d->fd, "k", LOCK_SH | LOCK_NB, 0600);
	assert_true(c >= 0);
	close(b);
	close(c);
}

static void test_remove(void **state)
{
	struct dir *d = *state;
	int a = lockfile_lock(d->fd, "gone", LOCK_EX, 0600);
	assert_true(a >= 0);
	assert_int_equal(lockfile_remove(d->fd, "gone"), 0);
	assert_int_equal(faccessat(d->fd, "gone", F_OK, 0), -1);
	assert_int_equal(lockfile_remove(d->fd, "gone"), 0); /* already gone */
	close(a);
}

/* Whether pid waits for a flock (a "->" line of /proc/locks). */
static bool waits_for_flock(pid_t pid)
{
	FILE *f = fopen("/proc/locks", "re");
	if (!f)
		return false;
	char line[256], want[32];
	snprintf(want, sizeof want, " %d ", (int)pid);
	bool found = false;
	while (!found && fgets(line, sizeof line, f))
		found = strstr(line, "-> FLOCK") && strstr(line, want);
	fclose(f);
	return found;
}

/* The race the protocol is for: a locker opened the file and waits; the
 * holder removes it and lets go. The waiter must end up holding the file
 * the name now leads to, not the unlinked one nobody else will lock. */
static void test_waiter_follows_a_removed_file(void **state)
{
	struct dir *d = *state;
	int held = lockfile_lock(d->fd, "race", LOCK_EX, 0600);
	assert_true(held >= 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(held);
		int fd = lockfile_lock(d->fd, "race", LOCK_SH, 0600);
		struct stat mine, named;
		_exit(fd >= 0 && fstat(fd, &mine) == 0 && fstatat(d->fd, "race", &named, 0) == 0 &&
				      mine.st_ino == named.st_ino && mine.st_nlink == 1
			      ? 0
			      : 1);
	}
	/* Up to 5 s for the child to open the file and block on it. */
	bool waiting = false;
	for (int i = 0; i < 500 && !(waiting = waits_for_flock(pid)); i++)
		nanosleep(&(struct timespec){ 0, 10 * 1000 * 1000 }, NULL);
	assert_true(waiting);
	assert_int_equal(lockfile_remove(d->fd, "race"), 0);
	close(held);
	int st = 0;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

static void test_refuses_a_symlink(void **state)
{
	struct dir *d = *state;
	assert_int_equal(symlinkat("/etc/passwd", d->fd, "link"), 0);
	assert_int_equal(lockfile_lock(d->fd, "link", LOCK_EX, 0600), -ELOOP);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_lock_creates_and_excludes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remove, setup, teardown),
		cmocka_unit_test_setup_teardown(test_waiter_follows_a_removed_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuses_a_symlink, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
