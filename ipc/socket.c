/* One message per SOCK_SEQPACKET datagram, fds as SCM_RIGHTS.
 * The receive side takes the imsg/systemd line rather than crun's: it asks
 * for MSG_CMSG_CLOEXEC, refuses truncation, looks at the level and type of
 * every control message, and closes every fd it got when anything is off,
 * so a hostile peer cannot leave descriptors behind in the helper. */
#include "ipc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"

/* The kernel passes at most SCM_MAX_FD (253) fds per message. A control
 * buffer that holds them all lets an oversized count be reported as such
 * instead of as a truncation, and every one of them be closed. */
#define RECV_FDS_CAP 253

int ipc_send(int fd, const struct ipc_msg *m, struct rkt_err *err)
{
	_cleanup_free_ uint8_t *buf = xmalloc(IPC_MSG_MAX);
	size_t len;
	int r = ipc_msg_encode(m, buf, IPC_MSG_MAX, &len, err);
	if (r < 0)
		return r;

	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * IPC_FDS_MAX)];
	} control;
	memset(&control, 0, sizeof control);
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	if (m->nfds > 0) {
		mh.msg_control = control.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * m->nfds);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * m->nfds);
		memcpy(CMSG_DATA(c), m->fds, sizeof(int) * m->nfds);
	}
	ssize_t n;
	do
		n = sendmsg(fd, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return rkt_error_errno(err, errno, "send %s", ipc_type_name(m->type));
	if ((size_t)n != len)
		return rkt_error(err, EIO, "send %s: %zd of %zu bytes sent", ipc_type_name(m->type), n,
				 len);
	return 0;
}

static void close_all(int *fds, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

/* Collects the fds of every SCM_RIGHTS message so they can all be closed;
 * returns a negative errno for any other control message. */
static int collect_fds(struct msghdr *mh, int *fds, unsigned *nfds, struct rkt_err *err)
{
	int r = 0;
	*nfds = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) {
			if (r == 0)
				r = rkt_error(err, EBADMSG,
					      "unexpected control message (level %d, type %d)",
					      c->cmsg_level, c->cmsg_type);
			continue;
		}
		size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int fd;
			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
			if (*nfds < RECV_FDS_CAP)
				fds[(*nfds)++] = fd;
			else
				close(fd);
		}
	}
	return r;
}

int ipc_recv(int fd, void *buf, struct ipc_msg *ret, struct rkt_err *err)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * RECV_FDS_CAP)];
	} control;
	struct iovec iov = { .iov_base = buf, .iov_len = IPC_MSG_MAX };
	struct msghdr mh = { .msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = control.buf,
			     .msg_controllen = sizeof control.buf };
	*ret = (struct ipc_msg){ 0 };
	ssize_t n;
	do
		n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return rkt_error_errno(err, errno, "receive");

	int fds[RECV_FDS_CAP];
	unsigned nfds;
	int r = collect_fds(&mh, fds, &nfds, err);
	if (r >= 0 && (mh.msg_flags & MSG_CTRUNC))
		r = rkt_error(err, EBADMSG, "control data truncated (more than %d fds sent)",
			      RECV_FDS_CAP);
	if (r >= 0 && (mh.msg_flags & MSG_TRUNC))
		r = rkt_error(err, EMSGSIZE, "message longer than %d bytes", IPC_MSG_MAX);
	if (r >= 0 && nfds > IPC_FDS_MAX)
		r = rkt_error(err, EBADMSG, "%u fds received, at most %d", nfds, IPC_FDS_MAX);
	if (r >= 0 && n == 0 && nfds == 0)
		return 0; /* orderly close: SEQPACKET never sends empty messages of ours */
	if (r >= 0)
		r = ipc_decode(buf, (size_t)n, fds, nfds, ret, err);
	if (r < 0) {
		close_all(fds, nfds);
		return r;
	}
	return 1;
}
