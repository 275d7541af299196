/* Who is calling, from the kernel (DESIGN §2 rule 1). */
#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/util.h"
#include "privhelper/session/session.h"

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif

static int peer_groups(int fd, struct peer *p, struct rkt_err *err)
{
	socklen_t len = 64 * sizeof(gid_t);
	for (int tries = 0; tries < 4; tries++) {
		gid_t *buf = xmalloc(len);
		if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, buf, &len) == 0) {
			size_t n = len / sizeof(gid_t);
			p->gids = xcalloc(n + 1, sizeof(gid_t));
			p->gids[0] = p->gid;
			for (size_t i = 0; i < n; i++)
				p->gids[i + 1] = buf[i];
			p->n_gids = n + 1;
			free(buf);
			return 0;
		}
		free(buf);
		if (errno != ERANGE)
			return rkt_error_errno(err, errno, "SO_PEERGROUPS");
	}
	return rkt_error(err, ERANGE, "SO_PEERGROUPS: group list keeps growing");
}

int session_peer_identify(int fd, struct peer *p, struct rkt_err *err)
{
	struct ucred uc;
	socklen_t len = sizeof uc;
	*p = (struct peer){ .pidfd = -1 };
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) < 0 || len != sizeof uc)
		return rkt_error_errno(err, errno, "SO_PEERCRED");
	if (uc.pid <= 0)
		return rkt_error(err, ESRCH, "SO_PEERCRED: the peer has no pid in this namespace");
	p->uid = uc.uid;
	p->gid = uc.gid;
	p->pid = uc.pid;
	int r = peer_groups(fd, p, err);
	if (r < 0)
		return r;
	/* A pidfd pins the caller: signals and /proc reads cannot hit a
	 * recycled pid. Older kernels: pidfd_open, racy but bounded. */
	len = sizeof p->pidfd;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, &p->pidfd, &len) < 0) {
		if (errno != ENOPROTOOPT)
			return rkt_error_errno(err, errno, "SO_PEERPIDFD");
		p->pidfd = (int)syscall(SYS_pidfd_open, uc.pid, 0);
	}
	return 0;
}

void session_peer_done(struct peer *p)
{
	free(p->gids);
	p->gids = NULL;
	if (p->pidfd >= 0)
		close(p->pidfd);
	p->pidfd = -1;
}
