/* The stdio a client hands over for its pod (run, run-prepared) or its
 * enter command. Those fds end up as fds 0-2 of processes that are root
 * on the host unless the pod has --private-users, and such a process can
 * reopen any of them through /proc/self/fd/N with root's rights: an
 * O_PATH or directory fd would give it the host's file system, a root-
 * owned file the client could only read would become writable. So, from
 * a caller that is not root, only what the caller may already do anything
 * with is taken: a terminal, pipe or socket, one of the harmless
 * character devices, or a regular file the caller owns. */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>

#include "privhelper/session/session.h"

#ifndef PIDFS_MAGIC
#define PIDFS_MAGIC 0x50494446
#endif
#ifndef NSFS_MAGIC
#define NSFS_MAGIC 0x6e736673
#endif
#ifndef ANON_INODE_FS_MAGIC
#define ANON_INODE_FS_MAGIC 0x09041934
#endif

static const char *const stream_names[3] = { "stdin", "stdout", "stderr" };

/* By device number, not by an ioctl: the helper, as root, asks nothing of
 * a device the caller picked. Virtual consoles and serial lines (4),
 * /dev/tty, /dev/console, /dev/ptmx (5), pseudo-terminals (136-143). */
static bool is_tty_device(dev_t rdev)
{
	unsigned ma = major(rdev);
	return ma == 4 || ma == 5 || (ma >= 136 && ma <= 143);
}

/* /dev/null, /dev/zero, /dev/full, /dev/random, /dev/urandom. */
static bool is_harmless_mem_device(dev_t rdev)
{
	unsigned mi = minor(rdev);
	return major(rdev) == 1 && (mi == 3 || mi == 5 || mi == 7 || mi == 8 || mi == 9);
}

/* NULL when the fd may be a pod's stdio, else what it is. */
static const char *refused_kind(int fd, uid_t peer)
{
	int fl = fcntl(fd, F_GETFL);
	struct stat st;
	struct statfs sfs;
	if (fl < 0 || fstat(fd, &st) < 0 || fstatfs(fd, &sfs) < 0)
		return "not an open file";
	if (fl & O_PATH)
		return "an O_PATH descriptor";
	switch (st.st_mode & S_IFMT) {
	case S_IFIFO:
	case S_IFSOCK:
		return NULL;
	case S_IFCHR:
		return is_tty_device(st.st_rdev) || st.st_uid == peer ||
				       is_harmless_mem_device(st.st_rdev)
			       ? NULL
			       : "a device the caller does not own";
	case S_IFREG:
		/* pidfds, namespace and anon-inode fds look like files. */
		if (sfs.f_type == PROC_SUPER_MAGIC || sfs.f_type == PIDFS_MAGIC ||
		    sfs.f_type == NSFS_MAGIC || sfs.f_type == ANON_INODE_FS_MAGIC)
			return "a /proc, pidfd, namespace or anonymous-inode file";
		return st.st_uid == peer ? NULL : "a file the caller does not own";
	case S_IFDIR:
		return "a directory";
	default:
		return "neither a terminal, pipe, socket nor regular file";
	}
}

int session_check_stdio(const struct conn *c, const int fds[3], const char *op,
			struct rkt_err *refusal)
{
	if (c->peer.uid == 0)
		return 0;
	for (int i = 0; i < 3; i++) {
		const char *why = refused_kind(fds[i], c->peer.uid);
		if (why)
			return rkt_error(refusal, EPERM,
					 "%s: the %s handed to the helper is %s; a pod's stdio from uid %u must be a terminal, pipe, socket or a file it owns (pipe it: cat FILE | rkt ...)",
					 op, stream_names[i], why, (unsigned)c->peer.uid);
	}
	return 0;
}
