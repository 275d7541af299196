#include "common/lockfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* A remover that keeps winning could make a locker start over forever; a
 * few rounds mean something else is wrong. */
#define LOCKFILE_ROUNDS 64

static int open_lockfile(int dfd, const char *name, mode_t mode)
{
	int fd = openat(dfd, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0 && (errno == EACCES || errno == EROFS))
		fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

static bool still_linked(int dfd, const char *name, int fd)
{
	struct stat held, now;
	return fstat(fd, &held) == 0 && fstatat(dfd, name, &now, AT_SYMLINK_NOFOLLOW) == 0 &&
	       held.st_dev == now.st_dev && held.st_ino == now.st_ino;
}

int lockfile_lock(int dfd, const char *name, int op, mode_t mode)
{
	for (int round = 0; round < LOCKFILE_ROUNDS; round++) {
		int fd = open_lockfile(dfd, name, mode);
		if (fd < 0)
			return fd;
		int r;
		while ((r = flock(fd, op)) < 0 && errno == EINTR)
			;
		if (r < 0) {
			r = -errno;
			close(fd);
			return r;
		}
		if (still_linked(dfd, name, fd))
			return fd;
		close(fd);
	}
	return -EAGAIN;
}

int lockfile_remove(int dfd, const char *name)
{
	return unlinkat(dfd, name, 0) == 0 || errno == ENOENT ? 0 : -errno;
}
