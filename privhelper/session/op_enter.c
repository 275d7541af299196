/* ENTER_REQ {uuid, app?, argv; fds stdin, stdout, stderr}: rkt enter
 * (rkt-behaviour.md §6 enter ABI). After the owner and state checks the
 * session runs the pod's flavor's `enter` program from its OWN
 * --system-config (<system-config>/stage1/<flavor>/enter) as
 * `enter --pid=<pod PID 1> --appname=<app> -- cmd args...` with cwd = the
 * pod dir and the client's fds as stdio, forwards SIGNAL messages to it,
 * and ends the stream with RUN_RESULT {exit status}. */
#include <cap-ng.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/manifest.h"
#include "common/podstate.h"
#include "common/util.h"
#include "ipc/ipc.h"
#include "policy/policy.h"
#include "privhelper/session/podgc.h"
#include "privhelper/session/session.h"

#define ENTER_PID_WAIT_MS 5000
#define POD_MANIFEST_MAX (1024 * 1024)

/* The app to enter: the one named, else the pod's only app (rkt's rules). */
static int pick_app(int pod_fd, const char *uuid, const char *want, char **ret,
		    struct rkt_err *e)
{
	_cleanup_free_ char *text = NULL;
	size_t len;
	_cleanup_close_ int fd = openat(pod_fd, "pod", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || read_fd_bounded(fd, POD_MANIFEST_MAX, &text, &len) < 0)
		return rkt_error(e, EIO, "pod \"%s\": cannot read its pod manifest", uuid);
	struct pod_manifest *pm = NULL;
	if (pod_manifest_parse(text, len, &pm, e) < 0)
		return rkt_error_wrap(e, "pod \"%s\": pod manifest", uuid);
	int r = 0;
	if (want) {
		r = rkt_error(e, ENOENT, "pod \"%s\" has no app named \"%s\"", uuid, want);
		for (size_t i = 0; i < pm->n_apps; i++)
			if (!strcmp(pm->apps[i].name, want)) {
				*ret = xstrdup(want);
				rkt_err_clear(e);
				r = 0;
			}
	} else if (pm->n_apps == 0) {
		r = rkt_error(e, EINVAL, "pod contains zero apps");
	} else if (pm->n_apps > 1) {
		r = rkt_error(e, EINVAL, "pod has multiple apps, specify one with --app");
	} else {
		*ret = xstrdup(pm->apps[0].name);
	}
	pod_manifest_free(pm);
	return r;
}

/* rkt enter waits for a pod that is starting (its pid file not written
 * yet) while it stays locked; *ended when the pod ended meanwhile. */
static int pod_pidfd_wait(int pod_fd, const char *uuid, int *ret_pidfd, pid_t *ret_pid,
			  bool *ended, struct rkt_err *e)
{
	*ended = false;
	for (int waited = 0;; waited += 50) {
		rkt_err_clear(e);
		if (session_pod_pidfd(pod_fd, uuid, ret_pidfd, ret_pid, e) == 0)
			return 0;
		if (!session_pod_locked(pod_fd)) {
			*ended = true;
			return rkt_error(e, ESRCH, "pod %s is not running anymore", uuid);
		}
		if (waited >= ENTER_PID_WAIT_MS)
			return rkt_error(e, e->code ? e->code : ESRCH, "%s", e->msg);
		nanosleep(&(struct timespec){ 0, 50 * 1000 * 1000 }, NULL);
	}
}

/* rkt's end for a pod that stopped before enter could join it: its
 * message on stderr and exit status 1. */
static int pod_ended(struct conn *c, const char *uuid, const char *why, struct rkt_err *err)
{
	_cleanup_free_ char *text =
		xasprintf("enter: unable to determine the pid for pod \"%s\": %s", uuid, why);
	_cleanup_ipc_msg_ struct ipc_msg ev;
	ipc_msg_init(&ev, IPC_RUN_EVENT);
	ipc_msg_put_u32(&ev, IPC_TAG_EVENT, IPC_EV_MESSAGE);
	ipc_msg_put_str(&ev, IPC_TAG_TEXT, text);
	int r = session_reply(c, &ev, err);
	if (r < 0)
		return r;
	_cleanup_ipc_msg_ struct ipc_msg res;
	ipc_msg_init(&res, IPC_RUN_RESULT);
	ipc_msg_put_i32(&res, IPC_TAG_EXIT_STATUS, 1);
	return session_reply(c, &res, err);
}

struct enter_child {
	int exe_fd, pod_fd;
	int stdio[3];
	char **argv;
};

__attribute__((noreturn)) static void child_exec(const struct enter_child *ch)
{
	for (int i = 0; i < 3; i++)
		if (dup2(ch->stdio[i], i) < 0)
			_exit(254);
	if (fchdir(ch->pod_fd) < 0)
		_exit(254);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	char *envp[] = { "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
			 NULL };
	/* exe_fd is O_CLOEXEC, which execveat(AT_EMPTY_PATH) allows for a
	 * binary; every other fd of the session stays out. */
	int exe = ch->exe_fd;
	if (exe != 3 && (exe = dup3(exe, 3, O_CLOEXEC)) < 0)
		_exit(254);
	close_range(4, ~0U, 0);
	syscall(SYS_execveat, exe, "", ch->argv, envp, AT_EMPTY_PATH);
	dprintf(STDERR_FILENO, "enter: cannot exec the stage1 enter entrypoint: %s\n",
		strerror(errno));
	_exit(254);
}

/* Forwards the client's SIGNAL messages until the enter program ends. A
 * client that goes away takes the entered command with it. */
static int stream(struct conn *c, pid_t pid, int pidfd, int *ret_status, struct rkt_err *err)
{
	bool client_gone = false;
	for (;;) {
		struct pollfd p[2] = { { .fd = pidfd, .events = POLLIN },
				       { .fd = client_gone ? -1 : c->fd, .events = POLLIN } };
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return rkt_error_errno(err, errno, "poll");
		}
		if (p[0].revents)
			break;
		if (!p[1].revents)
			continue;
		_cleanup_ipc_msg_ struct ipc_msg m = { 0 };
		enum ipc_state next;
		int r = ipc_recv(c->fd, c->buf, &m, err);
		if (r == 0) {
			client_gone = true;
			pidfd_send_signal(pidfd, SIGKILL, NULL, 0);
			continue;
		}
		if (r < 0 || ipc_check_sender(m.type, IPC_SIDE_CLIENT, err) < 0 ||
		    ipc_state_check(c->state, m.type, &next, err) < 0) {
			pidfd_send_signal(pidfd, SIGKILL, NULL, 0);
			waitpid(pid, NULL, 0);
			return r < 0 ? r : -EPROTO;
		}
		c->state = next;
		int32_t signo;
		/* Safe: the pidfd names our own child, the enter program. */
		if (m.type == IPC_SIGNAL && ipc_msg_get_i32(&m, IPC_TAG_SIGNO, &signo) == 0)
			pidfd_send_signal(pidfd, signo, NULL, 0);
	}
	int ws;
	if (waitpid(pid, &ws, 0) < 0)
		return rkt_error_errno(err, errno, "waitpid enter");
	*ret_status = WIFEXITED(ws) ? WEXITSTATUS(ws) : WIFSIGNALED(ws) ? 128 + WTERMSIG(ws) : 254;
	return client_gone ? -EPIPE : 0;
}

static int run_enter(struct conn *c, struct enter_child *ch, struct rkt_err *err)
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0)
		child_exec(ch);
	if (pid < 0)
		return session_reply_errno(c, errno, "enter: fork failed", err);
	_cleanup_close_ int pidfd = pidfd_open(pid, 0);
	if (pidfd < 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return session_reply_errno(c, errno, "enter: pidfd_open failed", err);
	}
	int status = 254;
	int r = stream(c, pid, pidfd, &status, err);
	if (r == -EPIPE)
		return 0; /* nobody left to tell */
	if (r < 0)
		return r;
	_cleanup_ipc_msg_ struct ipc_msg res;
	ipc_msg_init(&res, IPC_RUN_RESULT);
	ipc_msg_put_i32(&res, IPC_TAG_EXIT_STATUS, status);
	return session_reply(c, &res, err);
}

int op_enter(struct conn *c, struct ipc_msg *m, struct rkt_err *err)
{
	/* The enter program joins the pod's namespaces (CAP_SYS_ADMIN,
	 * CAP_SYS_PTRACE), takes the app's identity (CAP_SETUID/SETGID) and
	 * gives the command exactly the app's bounding set, which may hold
	 * any capability: it needs the whole set to hand down. */
	int caps[CAP_LAST_CAP + 1];
	size_t n = 0;
	/* All it holds: a kernel or container may lack some. */
	if (capng_get_caps_process() == 0)
		for (int i = 0; i <= CAP_LAST_CAP; i++)
			if (capng_have_capability(CAPNG_PERMITTED, (unsigned)i))
				caps[n++] = i;
	if (session_keep_caps(caps, n) < 0)
		return session_reply_errno(c, EPERM,
					   "enter: the helper could not set its capabilities", err);
	const char *arg, *want = NULL;
	_cleanup_strv_ char **cmd = NULL;
	if (ipc_msg_get_str(m, IPC_TAG_UUID, &arg) < 0 || ipc_msg_get_strv(m, IPC_TAG_ARGV, &cmd) < 0)
		return rkt_error(err, EBADMSG, "ENTER_REQ without a uuid or argv");
	(void)ipc_msg_get_str(m, IPC_TAG_APP, &want);
	if (!cmd || !cmd[0] || !*cmd[0])
		return session_reply_errno(c, EINVAL, "enter: empty command", err);
	struct enter_child ch = { .exe_fd = -1 };
	for (int i = 0; i < 3; i++)
		ch.stdio[i] = m->fds[i];
	struct rkt_err e = { 0 };
	if (session_check_stdio(c, ch.stdio, "enter", &e) < 0)
		return session_reply_errno(c, e.code, e.msg, err);
	_cleanup_close_ int pods_fd = -1;
	char uuid[POD_UUID_LEN + 1] = "";
	enum pod_state st;
	int r = podgc_open_pods(c->cfg, &pods_fd, &e);
	_cleanup_close_ int pod = r < 0 ? r : podgc_open_owned(pods_fd, arg, "enter", c->peer.uid, uuid, &st, &e);
	if (pod < 0)
		return session_reply_errno(c, e.code ? e.code : -pod, e.msg, err);
	char msg[128];
	if (st != POD_RUNNING) {
		snprintf(msg, sizeof msg, "pod \"%s\" isn't currently running", uuid);
		return session_reply_errno(c, EINVAL, msg, err);
	}
	_cleanup_free_ char *app = NULL;
	_cleanup_close_ int pidfd = -1;
	pid_t pid;
	if (pick_app(pod, uuid, want, &app, &e) < 0)
		return session_reply_errno(c, e.code, e.msg, err);
	bool ended;
	if ((r = pod_pidfd_wait(pod, uuid, &pidfd, &pid, &ended, &e)) < 0 && ended)
		return pod_ended(c, uuid, e.msg, err);
	if (r < 0)
		return session_reply_errno(c, e.code, e.msg, err);
	_cleanup_close_ int exe = podgc_open_entrypoint(c->cfg, pod, uuid, "enter", &e);
	if (exe < 0)
		return session_reply_errno(c, e.code, e.msg, err);
	_cleanup_strv_ char **argv = NULL;
	argv = strv_append(argv, "enter");
	_cleanup_free_ char *pid_opt = xasprintf("--pid=%d", (int)pid);
	_cleanup_free_ char *app_opt = xasprintf("--appname=%s", app);
	argv = strv_append(argv, pid_opt);
	argv = strv_append(argv, app_opt);
	argv = strv_append(argv, "--");
	for (size_t i = 0; cmd[i]; i++)
		argv = strv_append(argv, cmd[i]);
	ch.exe_fd = exe;
	ch.pod_fd = pod;
	ch.argv = argv;
	return run_enter(c, &ch, err);
}
