/* STATUS_REQ: the state of one pod, from the helper's own pods directory. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/podstate.h"
#include "common/util.h"
#include "ipc/ipc.h"
#include "privhelper/session/session.h"

static uint64_t mtime_ns(const struct stat *st)
{
	return (uint64_t)st->st_mtim.tv_sec * 1000000000ull + (uint64_t)st->st_mtim.tv_nsec;
}

/* Only stage1 writes `pid`, so a pod that never ran has none to look for. */
static bool may_have_run(enum pod_state st)
{
	return st == POD_RUNNING || st == POD_EXITED || st == POD_EXITED_DELETING ||
	       st == POD_EXITED_GARBAGE || st == POD_DELETING || st == POD_GARBAGE;
}

/* created= is pod-created's mtime, started= and pid= come from the pid file
 * (rkt's layout). Each is one lookup beneath the pods dir that follows no
 * link: a STATUS round trip is timed in system calls (DESIGN §15). */
static void put_times(struct ipc_msg *a, int pfd, enum pod_state st, const char *uuid)
{
	char rel[POD_UUID_LEN + 64];
	struct stat sb;
	snprintf(rel, sizeof rel, "%s/%s/pod-created", pod_state_dir(st), uuid);
	if (fstatat(pfd, rel, &sb, AT_SYMLINK_NOFOLLOW) == 0)
		ipc_msg_put_u64(a, IPC_TAG_CREATED_NS, mtime_ns(&sb));
	if (!may_have_run(st))
		return;
	snprintf(rel, sizeof rel, "%s/%s/pid", pod_state_dir(st), uuid);
	_cleanup_close_ int fd = openat(pfd, rel, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode))
		return;
	ipc_msg_put_u64(a, IPC_TAG_STARTED_NS, mtime_ns(&sb));
	char buf[32];
	ssize_t n = read(fd, buf, sizeof buf - 1);
	if (n <= 0)
		return;
	buf[n] = '\0';
	char *end;
	long v = strtol(buf, &end, 10);
	if (end != buf && v > 0 && v <= INT32_MAX)
		ipc_msg_put_i32(a, IPC_TAG_PID, (int32_t)v);
}

int op_status(struct conn *c, struct ipc_msg *m, struct rkt_err *err)
{
	const char *uuid;
	int r = ipc_msg_get_str(m, IPC_TAG_UUID, &uuid);
	if (r < 0)
		return rkt_error(err, -r, "STATUS_REQ without a uuid");
	if (c->pods_fd < 0) {
		_cleanup_free_ char *pods = xasprintf("%s/pods", c->cfg->dir);
		c->pods_fd = open(pods, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (c->pods_fd < 0)
			return session_reply_errno(c, errno, "cannot open the pods directory", err);
	}
	char found[POD_UUID_LEN + 1];
	enum pod_state st;
	struct rkt_err lerr = { 0 };
	if (pod_lookup(c->pods_fd, uuid, found, &st, &lerr) < 0)
		return session_reply_errno(c, lerr.code, lerr.msg, err);
	_cleanup_ipc_msg_ struct ipc_msg a;
	ipc_msg_init(&a, IPC_STATUS_ANS);
	ipc_msg_put_str(&a, IPC_TAG_UUID, found);
	ipc_msg_put_str(&a, IPC_TAG_STATE, pod_state_name(st));
	put_times(&a, c->pods_fd, st, found);
	return session_reply(c, &a, err);
}
