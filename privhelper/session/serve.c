/* One connection's state machine (DESIGN §5): HELLO, one operation, its
 * answer (or a stream), then the connection closes. Any violation is
 * logged with the peer's uid and pid and ends this connection only. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/podstate.h"
#include "common/util.h"
#include "ipc/ipc.h"
#include "privhelper/session/session.h"

#define PROG "rkt-privhelper-session"

static void violation(const struct conn *c, const char *what)
{
	fprintf(stderr, PROG ": uid %u pid %d: %s; closing the connection\n", (unsigned)c->peer.uid,
		(int)c->peer.pid, what);
}

static long involuntary_switches(void)
{
	struct rusage ru;
	return getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_nivcsw : -1;
}

int session_reply(struct conn *c, struct ipc_msg *m, struct rkt_err *err)
{
	enum ipc_state next;
	int r = ipc_state_check(c->state, m->type, &next, err);
	if (r < 0)
		return r;
	bool last = next == IPC_ST_CLOSED;
	long switched = last ? involuntary_switches() : 0;
	r = ipc_send(c->fd, m, err);
	if (r < 0)
		return r;
	c->state = next;
	/* The last answer is what the client waits for. A client asleep in its
	 * receive is woken by it and takes the CPU at once (the send returns
	 * after a switch). A client that our request's wake-up preempted is
	 * runnable, not asleep: the send hands it nothing, and the session's
	 * own teardown (an op's post-answer work, closing, exit) would run
	 * first on that CPU. Only then yield: yielding after a switch would
	 * only push the teardown into whatever the client does next.
	 * Measured (STATUS round trip): 20 ms between connections on two
	 * vCPUs, 0.55-0.60 ms without the yield, 0.06-0.09 ms with it; back
	 * to back on one vCPU, 73-77 us without it or with this check, 0.34-
	 * 0.37 ms with a yield every time. */
	if (last && involuntary_switches() == switched)
		sched_yield();
	return 0;
}

int session_reply_errno(struct conn *c, int errnum, const char *msg, struct rkt_err *err)
{
	_cleanup_ipc_msg_ struct ipc_msg m;
	ipc_msg_init(&m, IPC_GENERIC_ANS);
	ipc_msg_put_i32(&m, IPC_TAG_ERRNO, errnum);
	if (msg)
		ipc_msg_put_str(&m, IPC_TAG_MESSAGE, msg);
	return session_reply(c, &m, err);
}

static int handle_hello(struct conn *c, const struct ipc_msg *m, struct rkt_err *err)
{
	const char *dir = NULL;
	if (ipc_msg_get_str(m, IPC_TAG_DIR, &dir) == 0 && strcmp(dir, c->cfg->dir) != 0) {
		/* The helper's directories are its own: a client --dir is compared,
		 * never followed (DESIGN §4). */
		char msg[1024];
		snprintf(msg, sizeof msg,
			 "the client's --dir \"%s\" differs from the helper's \"%s\"; run rkt with --dir=%s or start a helper with --dir=%s",
			 dir, c->cfg->dir, c->cfg->dir, dir);
		(void)session_reply_errno(c, EXDEV, msg, err);
		return rkt_error(err, EXDEV, "client --dir \"%s\" differs from the helper's", dir);
	}
	_cleanup_ipc_msg_ struct ipc_msg ok;
	ipc_msg_init(&ok, IPC_HELLO_OK);
	ipc_msg_put_str(&ok, IPC_TAG_VERSION, RKT_VERSION);
	ipc_msg_put_i32(&ok, IPC_TAG_PID, (int32_t)getpid());
	/* Opened before the answer, so that no work is left between the
	 * client's next request and this session's read of it. Beneath the
	 * helper's own --dir; a failure here is the operation's to report
	 * (it retries and names the path). */
	_cleanup_free_ char *pods = xasprintf("%s/pods", c->cfg->dir);
	c->pods_fd = open(pods, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return session_reply(c, &ok, err);
}

int session_serve(int fd, struct session_config *cfg)
{
	static struct conn c;
	struct rkt_err err = { 0 };
	c.fd = fd;
	c.cfg = cfg;
	c.state = IPC_ST_START;
	c.pods_fd = -1;
	if (session_peer_identify(fd, &c.peer, &err) < 0) {
		fprintf(stderr, PROG ": %s\n", err.msg);
		return 1;
	}
	int rc = 0;
	while (c.state != IPC_ST_CLOSED) {
		_cleanup_ipc_msg_ struct ipc_msg m = { 0 };
		int r = ipc_recv(fd, c.buf, &m, &err);
		if (r == 0)
			break; /* the client went away */
		enum ipc_state next;
		if (r < 0 || ipc_check_sender(m.type, IPC_SIDE_CLIENT, &err) < 0 ||
		    ipc_state_check(c.state, m.type, &next, &err) < 0) {
			violation(&c, err.msg);
			rc = 1;
			break;
		}
		c.state = next;
		int q = m.type == IPC_HELLO ? handle_hello(&c, &m, &err) : session_dispatch(&c, &m, &err);
		if (q < 0) {
			violation(&c, err.msg);
			rc = 1;
			break;
		}
	}
	session_peer_done(&c.peer);
	if (c.pods_fd >= 0)
		close(c.pods_fd);
	return rc;
}
