/* STATUS_REQ: the state of one pod, from the helper's own pods directory. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/podstate.h"
#include "common/util.h"
#include "ipc/ipc.h"
#include "privhelper/session/session.h"

static uint64_t mtime_ns(int dirfd, const char *name)
{
	struct stat st;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return 0;
	return (uint64_t)st.st_mtim.tv_sec * 1000000000ull + (uint64_t)st.st_mtim.tv_nsec;
}

/* created= is pod-created's mtime, started= and pid= come from the pid file
 * (rkt's layout); both are read beneath the pod dir without following links. */
static void put_times(struct ipc_msg *a, int pfd, enum pod_state st, const char *uuid)
{
	_cleanup_free_ char *rel = xasprintf("%s/%s", pod_state_dir(st), uuid);
	_cleanup_close_ int dfd = openat(pfd, rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return;
	uint64_t created = mtime_ns(dfd, "pod-created"), started = mtime_ns(dfd, "pid");
	if (created)
		ipc_msg_put_u64(a, IPC_TAG_CREATED_NS, created);
	if (started)
		ipc_msg_put_u64(a, IPC_TAG_STARTED_NS, started);
	_cleanup_free_ char *pid = NULL;
	if (read_file_at(dfd, "pid", 32, &pid, NULL, NULL) == 0) {
		char *end;
		long v = strtol(pid, &end, 10);
		if (end != pid && v > 0 && v <= INT32_MAX)
			ipc_msg_put_i32(a, IPC_TAG_PID, (int32_t)v);
	}
}

int op_status(struct conn *c, struct ipc_msg *m, struct rkt_err *err)
{
	const char *uuid;
	int r = ipc_msg_get_str(m, IPC_TAG_UUID, &uuid);
	if (r < 0)
		return rkt_error(err, -r, "STATUS_REQ without a uuid");
	_cleanup_free_ char *pods = xasprintf("%s/pods", c->cfg->dir);
	_cleanup_close_ int pfd = open(pods, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (pfd < 0)
		return session_reply_errno(c, errno, "cannot open the pods directory", err);
	char found[POD_UUID_LEN + 1];
	enum pod_state st;
	struct rkt_err lerr = { 0 };
	if (pod_lookup(pfd, uuid, found, &st, &lerr) < 0)
		return session_reply_errno(c, lerr.code, lerr.msg, err);
	_cleanup_ipc_msg_ struct ipc_msg a;
	ipc_msg_init(&a, IPC_STATUS_ANS);
	ipc_msg_put_str(&a, IPC_TAG_UUID, found);
	ipc_msg_put_str(&a, IPC_TAG_STATE, pod_state_name(st));
	put_times(&a, pfd, st, found);
	return session_reply(c, &a, err);
}
