/* Bulk data (a pod manifest) as a sealed memfd. The receiver trusts the
 * content only because the seals make it immutable: they are checked before
 * the size is taken and before any byte is read, so the sender cannot grow,
 * shrink or rewrite the file between the check and the use. */
#include "ipc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"

#define ALL_SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

int ipc_memfd_create_sealed(const char *name, const void *data, size_t len, int *ret_fd,
			    struct rkt_err *err)
{
	_cleanup_close_ int fd = memfd_create(name, MFD_ALLOW_SEALING | MFD_CLOEXEC);
	if (fd < 0)
		return rkt_error_errno(err, errno, "memfd \"%s\"", name);
	int r = write_all(fd, data, len);
	if (r < 0)
		return rkt_error_errno(err, -r, "memfd \"%s\": write %zu bytes", name, len);
	if (fcntl(fd, F_ADD_SEALS, ALL_SEALS) < 0)
		return rkt_error_errno(err, errno, "memfd \"%s\": seal", name);
	*ret_fd = TAKE_FD(fd);
	return 0;
}

static void missing_seals(int seals, char *buf, size_t len)
{
	static const struct {
		int bit;
		const char *name;
	} names[] = {
		{ F_SEAL_SEAL, "F_SEAL_SEAL" },
		{ F_SEAL_SHRINK, "F_SEAL_SHRINK" },
		{ F_SEAL_GROW, "F_SEAL_GROW" },
		{ F_SEAL_WRITE, "F_SEAL_WRITE" },
	};
	size_t off = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		if (seals & names[i].bit)
			continue;
		int n = snprintf(buf + off, len - off, "%s%s", off ? "|" : "", names[i].name);
		if (n < 0 || (size_t)n >= len - off)
			return;
		off += (size_t)n;
	}
}

int ipc_memfd_read_sealed(int fd, size_t max, char **ret_buf, size_t *ret_len, struct rkt_err *err)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return rkt_error_errno(err, errno, "memfd: fstat");
	if (!S_ISREG(st.st_mode))
		return rkt_error(err, EBADF, "memfd: not a regular file (mode 0%o)",
				 (unsigned)st.st_mode & S_IFMT);
	int seals = fcntl(fd, F_GET_SEALS);
	if (seals < 0)
		return rkt_error_errno(err, errno, "memfd: not a sealable memfd (F_GET_SEALS)");
	if ((seals & ALL_SEALS) != ALL_SEALS) {
		char miss[96];
		missing_seals(seals, miss, sizeof miss);
		return rkt_error(err, EPERM, "memfd is not sealed: missing %s", miss);
	}
	/* The size is only meaningful now that SHRINK and GROW are set. */
	if (fstat(fd, &st) < 0)
		return rkt_error_errno(err, errno, "memfd: fstat");
	if (st.st_size < 0 || (uintmax_t)st.st_size > max)
		return rkt_error(err, EFBIG, "memfd of %jd bytes exceeds the %zu-byte bound",
				 (intmax_t)st.st_size, max);
	size_t len = (size_t)st.st_size;
	_cleanup_free_ char *buf = xmalloc(len + 1);
	size_t got = 0;
	while (got < len) {
		ssize_t n = pread(fd, buf + got, len - got, (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return rkt_error_errno(err, errno, "memfd: read");
		if (n == 0)
			return rkt_error(err, EIO, "memfd: ended after %zu of %zu bytes", got, len);
		got += (size_t)n;
	}
	buf[len] = '\0';
	*ret_buf = TAKE_PTR(buf);
	*ret_len = len;
	return 0;
}
