#include "unpriv/cli/privhelper_client.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/util.h"
#include "unpriv/cli/cli.h"

#define SESSION_PROGRAM "rkt-privhelper-session"

static struct ph_conn *conn_new(int fd, pid_t session_pid)
{
	struct ph_conn *c = xcalloc(1, sizeof *c);
	c->fd = fd;
	c->state = IPC_ST_START;
	c->session_pid = session_pid;
	c->buf = xmalloc(IPC_MSG_MAX);
	return c;
}

void ph_close(struct ph_conn *c)
{
	if (!c)
		return;
	/* HELLO unanswered: take the answer first, so that the session's
	 * reply does not meet a closed socket (it would log a violation). */
	struct rkt_err ignore = { 0 };
	if (c->hello_pending && c->fd >= 0)
		(void)ph_connect_end(c, &ignore);
	if (c->fd >= 0)
		close(c->fd);
	/* The session sees the close and exits; reap it so no zombie is left
	 * for the rest of the command. */
	if (c->session_pid > 0)
		while (waitpid(c->session_pid, NULL, 0) < 0 && errno == EINTR)
			;
	free(c->buf);
	free(c);
}

/* rkt-privhelper-session refuses relative paths; the user's may be. */
static char *absolute(const char *p)
{
	if (p[0] == '/')
		return xstrdup(p);
	char cwd[PATH_MAX];
	if (!getcwd(cwd, sizeof cwd))
		return xstrdup(p);
	return xasprintf("%s/%s", cwd, p);
}

/* Root without a listening helper: one session for this command, on a
 * socketpair, with rkt's own directories (interfaces.md). The session
 * checks those directories exactly as under the listener. */
static int start_session(int *ret_fd, pid_t *ret_pid, struct rkt_err *err)
{
	_cleanup_free_ char *prog = cli_find_program(SESSION_PROGRAM);
	if (!prog)
		return rkt_error(err, ENOENT,
				 "no rkt privileged helper is listening on %s and %s was not found beside rkt or in %s/rkt",
				 g_opts.privhelper_socket, SESSION_PROGRAM, RKT_LIBEXECDIR);
	_cleanup_free_ char *local = absolute(g_opts.local_config);
	_cleanup_free_ char *sys = absolute(g_opts.system_config);
	char *argv[] = { (char *)SESSION_PROGRAM, (char *)"--serve-fd=3", (char *)"--dir", g_opts.dir,
			 (char *)"--local-config", local, (char *)"--system-config", sys, NULL };
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return rkt_error_errno(err, errno, "socketpair for %s", SESSION_PROGRAM);
	log_debug("privhelper", "no helper on %s; starting %s", g_opts.privhelper_socket, prog);
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(sv[0]);
		close(sv[1]);
		return rkt_error_errno(err, e, "fork for %s", SESSION_PROGRAM);
	}
	if (pid == 0) {
		/* dup2 clears CLOEXEC on fd 3 only: the session inherits exactly
		 * the connection, as under the listener. */
		if (sv[1] == 3) {
			if (fcntl(3, F_SETFD, 0) < 0)
				_exit(127);
		} else if (dup2(sv[1], 3) < 0)
			_exit(127);
		execv(prog, argv);
		dprintf(2, "rkt: exec %s: %s\n", prog, strerror(errno));
		_exit(127);
	}
	close(sv[1]);
	*ret_fd = sv[0];
	*ret_pid = pid;
	return 0;
}

static int connect_socket(int *ret_fd, struct rkt_err *err)
{
	const char *path = g_opts.privhelper_socket;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof sa.sun_path)
		return rkt_error(err, ENAMETOOLONG, "privhelper socket path %s is too long", path);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return rkt_error_errno(err, errno, "socket");
	int r;
	do
		r = connect(fd, (struct sockaddr *)&sa, sizeof sa);
	while (r < 0 && errno == EINTR);
	if (r < 0) {
		int e = errno;
		if (e == EACCES || e == EPERM)
			return rkt_error(err, EACCES,
					 "permission denied connecting to %s: only members of group rkt may use the helper",
					 path);
		if (e == ENOENT || e == ECONNREFUSED || e == ENOTDIR)
			return -ENOENT; /* the caller decides: auto-start or explain */
		return rkt_error_errno(err, e, "connecting to %s", path);
	}
	*ret_fd = TAKE_FD(fd);
	return 0;
}

/* A GENERIC_ANS refusal becomes the error, with the helper's own words. */
static int refusal(const struct ipc_msg *m, struct rkt_err *err)
{
	int32_t e = 0;
	const char *msg = NULL;
	(void)ipc_msg_get_i32(m, IPC_TAG_ERRNO, &e);
	(void)ipc_msg_get_str(m, IPC_TAG_MESSAGE, &msg);
	if (e == 0)
		return 0;
	return rkt_error(err, e, "%s", msg && *msg ? msg : strerror(e));
}

int ph_send(struct ph_conn *c, const struct ipc_msg *m, struct rkt_err *err)
{
	enum ipc_state next;
	int r = ipc_check_sender(m->type, IPC_SIDE_CLIENT, err);
	if (r == 0)
		r = ipc_state_check(c->state, m->type, &next, err);
	if (r < 0)
		return rkt_error_wrap(err, "privhelper protocol (client side)");
	r = ipc_send(c->fd, m, err);
	if (r < 0)
		return rkt_error_wrap(err, "privhelper");
	c->state = next;
	return 0;
}

/* What the session said when it ended before answering. */
static int closed_error(struct ph_conn *c, struct rkt_err *err)
{
	if (c->session_pid > 0) {
		int st;
		pid_t p;
		while ((p = waitpid(c->session_pid, &st, 0)) < 0 && errno == EINTR)
			;
		if (p == c->session_pid) {
			c->session_pid = 0;
			if (WIFEXITED(st))
				return rkt_error(err, ECONNRESET,
						 "%s exited with status %d before answering (its message is above)",
						 SESSION_PROGRAM, WEXITSTATUS(st));
			return rkt_error(err, ECONNRESET, "%s was killed by signal %d before answering",
					 SESSION_PROGRAM, WIFSIGNALED(st) ? WTERMSIG(st) : 0);
		}
	}
	return rkt_error(err, ECONNRESET,
			 "the rkt privileged helper closed the connection in state %s (see its log)",
			 ipc_state_name(c->state));
}

int ph_recv(struct ph_conn *c, struct ipc_msg *ret, struct rkt_err *err)
{
	int r = ipc_recv(c->fd, c->buf, ret, err);
	if (r == 0)
		return 0;
	if (r < 0)
		return rkt_error_wrap(err, "privhelper");
	enum ipc_state next;
	r = ipc_check_sender(ret->type, IPC_SIDE_HELPER, err);
	if (r == 0)
		r = ipc_state_check(c->state, ret->type, &next, err);
	if (r < 0) {
		ipc_msg_free(ret);
		return rkt_error_wrap(err, "privhelper protocol (helper side)");
	}
	c->state = next;
	return 1;
}

int ph_request(struct ph_conn *c, const struct ipc_msg *req, struct ipc_msg *ret_answer,
	       struct rkt_err *err)
{
	*ret_answer = (struct ipc_msg){ 0 };
	int r = ph_send(c, req, err);
	if (r == -EPIPE || r == -ECONNRESET)
		return closed_error(c, err);
	if (r < 0)
		return r;
	r = ph_recv(c, ret_answer, err);
	if (r == 0 || r == -ECONNRESET)
		return closed_error(c, err);
	if (r < 0)
		return r;
	if (ret_answer->type == IPC_GENERIC_ANS) {
		r = refusal(ret_answer, err);
		if (r < 0)
			ipc_msg_free(ret_answer);
		return r;
	}
	return 0;
}

static int hello_send(struct ph_conn *c, struct rkt_err *err)
{
	_cleanup_ipc_msg_ struct ipc_msg m;
	ipc_msg_init(&m, IPC_HELLO);
	ipc_msg_put_str(&m, IPC_TAG_VERSION, RKT_VERSION);
	ipc_msg_put_str(&m, IPC_TAG_DIR, g_opts.dir);
	int r = ph_send(c, &m, err);
	return r == -EPIPE || r == -ECONNRESET ? closed_error(c, err) : r;
}

/* HELLO's answer, as ph_request takes one. */
static int hello_answer(struct ph_conn *c, struct rkt_err *err)
{
	_cleanup_ipc_msg_ struct ipc_msg ans = { 0 };
	int r = ph_recv(c, &ans, err);
	if (r == 0 || r == -ECONNRESET)
		return closed_error(c, err);
	if (r < 0)
		return r;
	if (ans.type == IPC_GENERIC_ANS && (r = refusal(&ans, err)) < 0)
		return r;
	if (ans.type != IPC_HELLO_OK)
		return rkt_error(err, EPROTO, "privhelper answered HELLO with %s",
				 ipc_type_name(ans.type));
	const char *v = NULL;
	if (ipc_msg_get_str(&ans, IPC_TAG_VERSION, &v) == 0)
		snprintf(c->helper_version, sizeof c->helper_version, "%s", v);
	log_debug("privhelper", "connected to rkt-privhelper %s", c->helper_version);
	return 0;
}

static int hello(struct ph_conn *c, struct rkt_err *err)
{
	int r = hello_send(c, err);
	return r < 0 ? r : hello_answer(c, err);
}

int ph_connect_begin(struct ph_conn **ret, struct rkt_err *err)
{
	int fd = -1;
	int r = connect_socket(&fd, err);
	if (r < 0)
		return r;
	struct ph_conn *c = conn_new(fd, 0);
	if ((r = hello_send(c, err)) < 0) {
		ph_close(c);
		return r;
	}
	c->hello_pending = true;
	*ret = c;
	return 0;
}

int ph_connect_end(struct ph_conn *c, struct rkt_err *err)
{
	if (!c->hello_pending)
		return 0;
	c->hello_pending = false;
	return hello_answer(c, err);
}

int ph_connect(struct ph_conn **ret, struct rkt_err *err)
{
	int fd = -1;
	pid_t pid = 0;
	int r = connect_socket(&fd, err);
	if (r == -ENOENT) {
		if (geteuid() != 0)
			return rkt_error(err, ENOENT,
					 "the rkt privileged helper is not running (no socket at %s); start it with \"systemctl start rkt-privhelper.socket\" or \"rkt-privhelper --listen %s\"",
					 g_opts.privhelper_socket, g_opts.privhelper_socket);
		r = start_session(&fd, &pid, err);
	}
	if (r < 0)
		return r;
	struct ph_conn *c = conn_new(fd, pid);
	r = hello(c, err);
	if (r < 0) {
		ph_close(c);
		return r;
	}
	*ret = c;
	return 0;
}
