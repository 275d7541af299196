#include "privhelper/session/userns.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/podstate.h"
#include "common/util.h"

#define USERNS_FILE_MAX 64
#define USERNS_LOCK ".private-users.lck"
#define USERNS_TRIES 64

int session_userns_parse(const char *text, struct session_userns *ret, struct rkt_err *err)
{
	char *end;
	errno = 0;
	unsigned long long shift = strtoull(text, &end, 10);
	bool ok = !errno && end != text && *end == ':' && text[0] >= '0' && text[0] <= '9';
	unsigned long long count = 0;
	if (ok) {
		const char *c = end + 1;
		count = strtoull(c, &end, 10);
		ok = !errno && end != c && c[0] >= '0' && c[0] <= '9' && (*end == '\0' || !strcmp(end, "\n"));
	}
	if (!ok || count != SESSION_USERNS_COUNT || shift % SESSION_USERNS_COUNT ||
	    shift < SESSION_USERNS_MIN || shift >= SESSION_USERNS_MAX)
		return rkt_error(err, EINVAL, "%s: \"%.32s\" is not a range this helper allocates",
				 SESSION_USERNS_FILE, text);
	ret->shift = (uint32_t)shift;
	ret->count = (uint32_t)count;
	return 0;
}

static int userns_read_text(int dfd, const char *name, char **ret)
{
	_cleanup_close_ int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	size_t len;
	return read_fd_bounded(fd, USERNS_FILE_MAX, ret, &len);
}

int session_userns_read(int podfd, struct session_userns *ret, struct rkt_err *err)
{
	_cleanup_free_ char *text = NULL;
	int r = userns_read_text(podfd, SESSION_USERNS_FILE, &text);
	*ret = (struct session_userns){ 0 };
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return rkt_error_errno(err, -r, "reading %s", SESSION_USERNS_FILE);
	return session_userns_parse(text, ret, err);
}

struct used {
	uint32_t *shifts;
	size_t n;
};

static void used_add_dir(int pods_fd, const char *state, struct used *u)
{
	_cleanup_close_ int dfd = openat(pods_fd, state, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return;
	int dup = fcntl(dfd, F_DUPFD_CLOEXEC, 3);
	_cleanup_closedir_ DIR *d = dup < 0 ? NULL : fdopendir(dup);
	if (!d) {
		if (dup >= 0)
			close(dup);
		return;
	}
	for (struct dirent *e; (e = readdir(d));) {
		if (!pod_uuid_valid(e->d_name))
			continue;
		_cleanup_close_ int pfd =
			openat(dfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		struct session_userns r;
		struct rkt_err ignore = { 0 };
		if (pfd < 0 || session_userns_read(pfd, &r, &ignore) < 0 || r.count == 0)
			continue;
		u->shifts = xrealloc(u->shifts, (u->n + 1) * sizeof *u->shifts);
		u->shifts[u->n++] = r.shift;
	}
}

static bool used_has(const struct used *u, uint32_t shift)
{
	for (size_t i = 0; i < u->n; i++)
		if (u->shifts[i] == shift)
			return true;
	return false;
}

static int pick_shift(const struct used *u, uint32_t *ret)
{
	const uint32_t lo = SESSION_USERNS_MIN / SESSION_USERNS_COUNT;
	const uint32_t span = SESSION_USERNS_MAX / SESSION_USERNS_COUNT - lo;
	for (int i = 0; i < USERNS_TRIES; i++) {
		uint32_t rnd;
		if (getrandom(&rnd, sizeof rnd, 0) != sizeof rnd)
			return -EIO;
		uint32_t shift = (lo + rnd % span) * SESSION_USERNS_COUNT;
		if (!used_has(u, shift)) {
			*ret = shift;
			return 0;
		}
	}
	for (uint32_t k = 0; k < span; k++)
		if (!used_has(u, (lo + k) * SESSION_USERNS_COUNT)) {
			*ret = (lo + k) * SESSION_USERNS_COUNT;
			return 0;
		}
	return -ENOSPC;
}

/* Safe: beneath the helper's own pods dir (fds it opened), a name of its
 * own; the lock serialises helpers choosing ranges at the same time (rkt
 * had none, so two pods could share one). */
int session_userns_allocate(int pods_fd, int podfd, bool durable, struct session_userns *ret,
			    struct rkt_err *err)
{
	_cleanup_close_ int lock =
		openat(pods_fd, USERNS_LOCK, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (lock < 0)
		return rkt_error_errno(err, errno, "opening pods/%s", USERNS_LOCK);
	while (flock(lock, LOCK_EX) < 0)
		if (errno != EINTR)
			return rkt_error_errno(err, errno, "locking pods/%s", USERNS_LOCK);
	/* In the order pods move, so a pod moving meanwhile is still seen;
	 * prepared/ once more for a failed start going back from run/. */
	static const char *const states[] = { "embryo", "prepare", "prepared", "run", "prepared" };
	struct used u = { 0 };
	for (size_t i = 0; i < sizeof states / sizeof states[0]; i++)
		used_add_dir(pods_fd, states[i], &u);
	uint32_t shift = 0;
	int r = pick_shift(&u, &shift);
	free(u.shifts);
	if (r < 0)
		return rkt_error_errno(err, -r, "no free --private-users range among %u",
				       (SESSION_USERNS_MAX - SESSION_USERNS_MIN) / SESSION_USERNS_COUNT);
	char text[32];
	int n = snprintf(text, sizeof text, "%u:%u", (unsigned)shift, SESSION_USERNS_COUNT);
	r = durable ? write_file_atomic_at(podfd, SESSION_USERNS_FILE, text, (size_t)n, 0640, err)
		    : write_file_atomic_nosync_at(podfd, SESSION_USERNS_FILE, text, (size_t)n, 0640, err);
	if (r < 0)
		return r;
	ret->shift = shift;
	ret->count = SESSION_USERNS_COUNT;
	return 0;
}

static int write_map(pid_t pid, const char *file, const char *line)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, file);
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	return write(fd, line, strlen(line)) == (ssize_t)strlen(line) ? 0 : -errno;
}

/* A child unshares a user namespace and waits; we write its maps (as root
 * in the parent namespace: no newuidmap), keep a reference to the
 * namespace and let the child go. Safe: the namespace only describes a
 * mapping, no process runs in it after this. */
int session_userns_fd(const struct session_userns *u, int *ret_fd, struct rkt_err *err)
{
	int ready[2], go[2];
	if (pipe2(ready, O_CLOEXEC) < 0)
		return rkt_error_errno(err, errno, "pipe");
	if (pipe2(go, O_CLOEXEC) < 0) {
		close(ready[0]);
		close(ready[1]);
		return rkt_error_errno(err, errno, "pipe");
	}
	pid_t pid = fork();
	if (pid == 0) {
		close(ready[0]);
		close(go[1]);
		/* The session is not dumpable, which would keep even root from
		 * opening this child's ns/user; only root can trace a root
		 * process anyway, and this one holds nothing and exits soon. */
		char c = prctl(PR_SET_DUMPABLE, 1) == 0 && unshare(CLONE_NEWUSER) == 0 ? 'u' : 'x';
		if (write(ready[1], &c, 1) != 1)
			_exit(1);
		(void)!read(go[0], &c, 1);
		_exit(0);
	}
	close(ready[1]);
	close(go[0]);
	int r = pid < 0 ? -errno : 0;
	char c = 0;
	if (r == 0 && read(ready[0], &c, 1) != 1)
		r = -EIO;
	if (r == 0 && c != 'u')
		r = -EPERM;
	char line[64], ns[64];
	snprintf(line, sizeof line, "0 %u %u\n", (unsigned)u->shift, (unsigned)u->count);
	snprintf(ns, sizeof ns, "/proc/%d/ns/user", (int)pid);
	const char *step = "unshare";
	if (r == 0 && (r = write_map(pid, "uid_map", line)) < 0)
		step = "uid_map";
	if (r == 0 && (r = write_map(pid, "gid_map", line)) < 0)
		step = "gid_map";
	int fd = -1;
	if (r == 0 && (fd = open(ns, O_RDONLY | O_CLOEXEC)) < 0) {
		r = -errno;
		step = "ns/user";
	}
	close(go[1]);
	close(ready[0]);
	if (pid > 0)
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
	if (r < 0)
		return rkt_error_errno(err, -r, "cannot create a user namespace for the range %u:%u (%s)",
				       (unsigned)u->shift, (unsigned)u->count, step);
	*ret_fd = fd;
	return 0;
}

/* Safe: src and dst are the helper's own paths, the clone is read-only and
 * lives in the session's private mount namespace. */
int session_userns_idmap_mount(const char *src, const char *dst, int userns_fd,
			       struct rkt_err *err)
{
	_cleanup_close_ int tree = open_tree(AT_FDCWD, src, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	if (tree < 0)
		return rkt_error_errno(err, errno, "open_tree %s", src);
	struct mount_attr attr = {
		.attr_set = MOUNT_ATTR_IDMAP | MOUNT_ATTR_RDONLY | MOUNT_ATTR_NODEV,
		.userns_fd = (uint64_t)userns_fd,
	};
	if (mount_setattr(tree, "", AT_EMPTY_PATH, &attr, sizeof attr) < 0)
		return rkt_error_errno(err, errno, "idmapping %s", src);
	if (move_mount(tree, "", AT_FDCWD, dst, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return rkt_error_errno(err, errno, "attaching the idmapped %s at %s", src, dst);
	return 0;
}

static uint32_t walk_shift;
static char walk_bad[256];

static int shift_one(const char *path, const struct stat *st, int type, struct FTW *f)
{
	(void)type;
	(void)f;
	if (st->st_uid >= SESSION_USERNS_COUNT || st->st_gid >= SESSION_USERNS_COUNT) {
		snprintf(walk_bad, sizeof walk_bad, "%s: owner %u:%u is outside the pod's %u ids", path,
			 (unsigned)st->st_uid, (unsigned)st->st_gid, SESSION_USERNS_COUNT);
		return 1;
	}
	if (lchown(path, walk_shift + st->st_uid, walk_shift + st->st_gid) < 0 ||
	    (!S_ISLNK(st->st_mode) && chmod(path, st->st_mode & 07777) < 0)) {
		snprintf(walk_bad, sizeof walk_bad, "%s: %s", path, strerror(errno));
		return 1;
	}
	return 0;
}

/* Safe: path is the pod's own copy of a verified tree; no symlink is
 * followed (lchown, FTW_PHYS) and no other filesystem entered. */
int session_userns_shift_tree(const char *path, const struct session_userns *u,
			      struct rkt_err *err)
{
	walk_shift = u->shift;
	walk_bad[0] = '\0';
	int r = nftw(path, shift_one, 32, FTW_PHYS | FTW_MOUNT);
	if (r != 0)
		return rkt_error(err, EIO, "--private-users: shifting %s: %s", path,
				 walk_bad[0] ? walk_bad : strerror(errno));
	return 0;
}
