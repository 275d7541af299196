/* STOP_REQ {uuid, force?}: rkt stop of one pod (rkt-behaviour.md §5
 * "stop"). The pod's PID 1 (its `pid` file) is signalled through a pidfd,
 * so a recycled pid is never hit: SIGTERM (PID 1 stops its apps and exits)
 * or, with force, SIGKILL; a pod still running STOP_GRACE_MS after SIGTERM
 * is killed. The answer's message is the UUID stopped, or rkt's
 * `pod "<uuid>" is already stopped` for an exited pod (also errno 0). */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/pidfd.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/podstate.h"
#include "common/util.h"
#include "ipc/ipc.h"
#include "policy/policy.h"
#include "privhelper/session/podgc.h"
#include "privhelper/session/session.h"

#define STOP_GRACE_MS 10000
#define STOP_KILL_WAIT_MS 5000
#define STOP_UNLOCK_WAIT_MS 5000

bool session_pod_locked(int pod_fd)
{
	/* A new open file description: flock conflicts with stage1's lock
	 * even though this process holds pod_fd. */
	_cleanup_close_ int fd = openat(pod_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return false;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0)
		return errno == EWOULDBLOCK;
	flock(fd, LOCK_UN);
	return false;
}

/* Is pid the init of a pid namespace one level below ours (the pod's
 * PID 1 as the host sees it)? Read after pidfd_open, so the process it
 * names can no longer change under the pidfd. */
static bool is_child_ns_init(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	_cleanup_free_ char *text = NULL;
	if (fd < 0 || read_fd_bounded(fd, 16384, &text, NULL) < 0)
		return false;
	char *ns = strstr(text, "\nNSpid:");
	if (!ns)
		return false;
	char *eol = strchr(ns + 1, '\n');
	if (eol)
		*eol = '\0';
	int n = 0;
	const char *last = "";
	char *save = NULL;
	for (char *t = strtok_r(ns + 7, " \t", &save); t; t = strtok_r(NULL, " \t", &save), n++)
		last = t;
	return n >= 2 && !strcmp(last, "1");
}

int session_pod_pidfd(int pod_fd, const char *uuid, int *ret_pidfd, pid_t *ret_pid,
		      struct rkt_err *err)
{
	_cleanup_close_ int fd = openat(pod_fd, "pid", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	_cleanup_free_ char *text = NULL;
	if (fd < 0 || read_fd_bounded(fd, 32, &text, NULL) < 0)
		return rkt_error_errno(err, fd < 0 ? errno : EIO,
				       "pod \"%s\": cannot read its pid file", uuid);
	char *end;
	long v = strtol(text, &end, 10);
	if (end == text || (*end && *end != '\n') || v <= 1 || v > INT32_MAX)
		return rkt_error(err, EBADMSG, "pod \"%s\": bad pid file \"%s\"", uuid, text);
	int pidfd = pidfd_open((pid_t)v, 0);
	if (pidfd < 0)
		return rkt_error_errno(err, errno == ESRCH ? ESRCH : errno,
				       "pod \"%s\": its PID 1 (%ld) is gone", uuid, v);
	/* Still locked = still running: the pid was the pod's when the pidfd
	 * was taken, and the pidfd pins that process from here on. */
	if (!session_pod_locked(pod_fd) || !is_child_ns_init((pid_t)v)) {
		close(pidfd);
		return rkt_error(err, ESRCH, "pod \"%s\" is not running", uuid);
	}
	*ret_pidfd = pidfd;
	*ret_pid = (pid_t)v;
	return 0;
}

static bool wait_exit(int pidfd, int ms)
{
	struct pollfd p = { .fd = pidfd, .events = POLLIN };
	for (;;) {
		int r = poll(&p, 1, ms);
		if (r > 0)
			return true;
		if (r == 0 || errno != EINTR)
			return false;
	}
}

/* Until stage1's host side has cleaned up and released the pod lock, the
 * pod still reads as running; wait for that so `status` right after says
 * exited. */
static void wait_unlocked(int pod_fd)
{
	for (int waited = 0; waited < STOP_UNLOCK_WAIT_MS && session_pod_locked(pod_fd);
	     waited += 20)
		nanosleep(&(struct timespec){ 0, 20 * 1000 * 1000 }, NULL);
}

static int stop_running(int pod_fd, const char *uuid, bool force, struct rkt_err *e)
{
	_cleanup_close_ int pidfd = -1;
	pid_t pid;
	int r = session_pod_pidfd(pod_fd, uuid, &pidfd, &pid, e);
	if (r < 0)
		return r;
	/* Safe: the pidfd names exactly the pod's PID 1, checked above. */
	if (pidfd_send_signal(pidfd, force ? SIGKILL : SIGTERM, NULL, 0) < 0 && errno != ESRCH)
		return rkt_error_errno(e, errno, "pod \"%s\": cannot signal its PID 1 (%d)", uuid,
				       (int)pid);
	if (!force && !wait_exit(pidfd, STOP_GRACE_MS))
		pidfd_send_signal(pidfd, SIGKILL, NULL, 0);
	if (!wait_exit(pidfd, STOP_KILL_WAIT_MS))
		return rkt_error(e, ETIMEDOUT, "pod \"%s\": PID 1 (%d) did not exit", uuid,
				 (int)pid);
	wait_unlocked(pod_fd);
	return 0;
}

int op_stop(struct conn *c, struct ipc_msg *m, struct rkt_err *err)
{
	/* Signalling the pod's PID 1 (root, or the pod's own uid) may need
	 * CAP_KILL; reading the pod dir (root:rkt 0750) is root's anyway. */
	static const int caps[] = { CAP_KILL, CAP_DAC_READ_SEARCH };
	if (session_keep_caps(caps, sizeof caps / sizeof caps[0]) < 0)
		return session_reply_errno(c, EPERM,
					   "stop: the helper could not set its capabilities", err);
	const char *arg;
	uint32_t force = 0;
	if (ipc_msg_get_str(m, IPC_TAG_UUID, &arg) < 0)
		return rkt_error(err, EBADMSG, "STOP_REQ without a uuid");
	(void)ipc_msg_get_u32(m, IPC_TAG_FORCE, &force);
	struct rkt_err e = { 0 };
	_cleanup_close_ int pods_fd = -1;
	char uuid[POD_UUID_LEN + 1] = "";
	enum pod_state st;
	int r = podgc_open_pods(c->cfg, &pods_fd, &e);
	_cleanup_close_ int pod = r < 0 ? r : podgc_open_owned(pods_fd, arg, "stop", c->peer.uid, uuid, &st, &e);
	if (pod < 0)
		return session_reply_errno(c, e.code ? e.code : -pod, e.msg, err);
	char msg[128];
	if (st == POD_EXITED || (st == POD_RUNNING && !session_pod_locked(pod))) {
		snprintf(msg, sizeof msg, "pod \"%s\" is already stopped", uuid);
		return session_reply_errno(c, 0, msg, err);
	}
	if (st != POD_RUNNING) {
		snprintf(msg, sizeof msg, "pod \"%s\" is not running", uuid);
		return session_reply_errno(c, EINVAL, msg, err);
	}
	if ((r = stop_running(pod, uuid, force != 0, &e)) < 0) {
		if (r == -ESRCH && !session_pod_locked(pod)) {
			snprintf(msg, sizeof msg, "pod \"%s\" is already stopped", uuid);
			return session_reply_errno(c, 0, msg, err);
		}
		return session_reply_errno(c, e.code ? e.code : -r, e.msg, err);
	}
	return session_reply_errno(c, 0, uuid, err);
}
