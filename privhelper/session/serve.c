/* One connection's state machine (DESIGN §5): HELLO, one operation, its
 * answer (or a stream), then the connection closes. Any violation is
 * logged with the peer's uid and pid and ends this connection only. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/podstate.h"
#include "common/util.h"
#include "ipc/ipc.h"
#include "privhelper/session/session.h"

#define PROG "rkt-privhelper-session"

struct conn {
	int fd;
	enum ipc_state state;
	struct peer peer;
	struct session_config *cfg;
	uint8_t buf[IPC_MSG_MAX];
};

static void violation(const struct conn *c, const char *what)
{
	fprintf(stderr, PROG ": uid %u pid %d: %s; closing the connection\n", (unsigned)c->peer.uid,
		(int)c->peer.pid, what);
}

/* Sends m after checking the state machine allows it. */
static int reply(struct conn *c, struct ipc_msg *m, struct rkt_err *err)
{
	enum ipc_state next;
	int r = ipc_state_check(c->state, m->type, &next, err);
	if (r < 0)
		return r;
	r = ipc_send(c->fd, m, err);
	if (r < 0)
		return r;
	c->state = next;
	return 0;
}

static int reply_errno(struct conn *c, int errnum, const char *msg, struct rkt_err *err)
{
	_cleanup_ipc_msg_ struct ipc_msg m;
	ipc_msg_init(&m, IPC_GENERIC_ANS);
	ipc_msg_put_i32(&m, IPC_TAG_ERRNO, errnum);
	if (msg)
		ipc_msg_put_str(&m, IPC_TAG_MESSAGE, msg);
	return reply(c, &m, err);
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
		(void)reply_errno(c, EXDEV, msg, err);
		return rkt_error(err, EXDEV, "client --dir \"%s\" differs from the helper's", dir);
	}
	_cleanup_ipc_msg_ struct ipc_msg ok;
	ipc_msg_init(&ok, IPC_HELLO_OK);
	ipc_msg_put_str(&ok, IPC_TAG_VERSION, RKT_VERSION);
	ipc_msg_put_i32(&ok, IPC_TAG_PID, (int32_t)getpid());
	return reply(c, &ok, err);
}

static int handle_status(struct conn *c, const struct ipc_msg *m, struct rkt_err *err)
{
	const char *uuid;
	int r = ipc_msg_get_str(m, IPC_TAG_UUID, &uuid);
	if (r < 0)
		return rkt_error(err, -r, "STATUS_REQ without a uuid");
	_cleanup_free_ char *pods = xasprintf("%s/pods", c->cfg->dir);
	_cleanup_close_ int pfd = open(pods, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (pfd < 0)
		return reply_errno(c, errno, "cannot open the pods directory", err);
	char found[POD_UUID_LEN + 1];
	enum pod_state st;
	struct rkt_err lerr = { 0 };
	if (pod_lookup(pfd, uuid, found, &st, &lerr) < 0)
		return reply_errno(c, lerr.code, lerr.msg, err);
	_cleanup_ipc_msg_ struct ipc_msg a;
	ipc_msg_init(&a, IPC_STATUS_ANS);
	ipc_msg_put_str(&a, IPC_TAG_UUID, found);
	ipc_msg_put_str(&a, IPC_TAG_STATE, pod_state_name(st));
	return reply(c, &a, err);
}

/* Requests this helper has no handler for get a clear refusal; the state
 * machine already guaranteed they are well-formed and in order. */
static int handle_unserved(struct conn *c, const struct ipc_msg *m, struct rkt_err *err)
{
	char msg[256];
	snprintf(msg, sizeof msg, "this rkt-privhelper (%s) does not serve %s requests", RKT_VERSION,
		 ipc_type_name(m->type));
	return reply_errno(c, EOPNOTSUPP, msg, err);
}

static int dispatch(struct conn *c, struct ipc_msg *m, struct rkt_err *err)
{
	switch (m->type) {
	case IPC_HELLO:
		return handle_hello(c, m, err);
	case IPC_STATUS_REQ:
		return handle_status(c, m, err);
	default:
		return handle_unserved(c, m, err);
	}
}

int session_serve(int fd, struct session_config *cfg)
{
	static struct conn c;
	struct rkt_err err = { 0 };
	c.fd = fd;
	c.cfg = cfg;
	c.state = IPC_ST_START;
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
		if (dispatch(&c, &m, &err) < 0) {
			violation(&c, err.msg);
			rc = 1;
			break;
		}
	}
	session_peer_done(&c.peer);
	return rc;
}
