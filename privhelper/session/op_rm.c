/* RM_REQ {uuid}: rkt rm of one pod (rkt-behaviour.md §5). The owner check
 * uses the kernel's uid; the pod is locked before it changes state, so a
 * pod that starts running or is being deleted meanwhile is refused, not
 * broken. The answer's message is the full UUID removed. */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/podstate.h"
#include "ipc/ipc.h"
#include "policy/policy.h"
#include "privhelper/session/podgc.h"
#include "privhelper/session/session.h"

#define LOOKUP_TRIES 4

/* The refusal for a pod someone holds locked, by where it sits. */
static int busy(const char *dir, const char *uuid, struct rkt_err *e)
{
	if (!strcmp(dir, "embryo") || !strcmp(dir, "prepare"))
		return rkt_error(e, EBUSY, "pod \"%s\" is currently being prepared", uuid);
	if (!strcmp(dir, "exited-garbage") || !strcmp(dir, "garbage"))
		return rkt_error(e, EBUSY, "pod \"%s\" is currently being deleted", uuid);
	/* run/, or prepared/ locked by a run-prepared starting it */
	return rkt_error(e, EBUSY, "pod \"%s\" is currently running", uuid);
}

/* Where rm sends a pod before deleting it: rkt's garbage state dirs. */
static const char *garbage_dir(const char *dir)
{
	if (!strcmp(dir, "run") || !strcmp(dir, "exited-garbage"))
		return "exited-garbage";
	return "garbage";
}

/* Still the same inode under pods/<dir>/<uuid> now that it is locked? */
static bool still_there(int pods_fd, const char *dir, const char *uuid, int pod_fd)
{
	char rel[64];
	struct stat a, b;
	snprintf(rel, sizeof rel, "%s/%s", dir, uuid);
	return fstat(pod_fd, &a) == 0 && fstatat(pods_fd, rel, &b, AT_SYMLINK_NOFOLLOW) == 0 &&
	       a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* One attempt; -EAGAIN when the pod moved under us (try again). */
static int rm_once(struct conn *c, int pods_fd, const char *arg, char uuid[POD_UUID_LEN + 1],
		   struct rkt_err *e)
{
	enum pod_state st;
	int r = pod_lookup(pods_fd, arg, uuid, &st, e);
	if (r < 0)
		return r;
	const char *dir = pod_state_dir(st);
	_cleanup_close_ int pod = podgc_open_pod(pods_fd, dir, uuid);
	if (pod == -ENOENT)
		return -EAGAIN;
	if (pod < 0)
		return rkt_error_errno(e, -pod, "cannot open pod %s", uuid);
	uid_t owner;
	struct rkt_err oe = { 0 };
	if (podgc_owner(pod, uuid, &owner, &oe) < 0) {
		/* An unreadable owner makes the pod root's: only root may rm it. */
		if (c->peer.uid != 0)
			return rkt_error(e, oe.code, "rm: %s", oe.msg);
		owner = 0;
	}
	if ((r = policy_check_owner(owner, c->peer.uid, "rm", uuid, e)) < 0)
		return r;
	if (st == POD_EMBRYO)
		return busy(dir, uuid, e);
	if ((r = podgc_lock(pod)) == -EWOULDBLOCK)
		return busy(dir, uuid, e);
	if (r < 0)
		return rkt_error_errno(e, -r, "cannot lock pod %s", uuid);
	if (!still_there(pods_fd, dir, uuid, pod))
		return -EAGAIN;
	/* Locked: no stage1, prepare or other gc can take it from here on. */
	const char *to = garbage_dir(dir);
	if (strcmp(dir, to) != 0 && (r = podgc_move(pods_fd, dir, to, uuid, e)) < 0)
		return r;
	/* rm answers with the UUID alone: a failed gc entrypoint is in the
	 * helper's log only. */
	return podgc_delete(c->cfg, pods_fd, to, uuid, NULL, e);
}

int op_rm(struct conn *c, struct ipc_msg *m, struct rkt_err *err)
{
	/* Detaching what a pod left mounted needs CAP_SYS_ADMIN; its files
	 * belong to any uid and mode, hence CAP_DAC_OVERRIDE and CAP_FOWNER;
	 * the flavor's gc entrypoint kills what escaped a pod (CAP_KILL); the
	 * CNI plugins undo the networking of a pod whose session died (its
	 * veth, routes and port-forwarding rules: CAP_NET_ADMIN, CAP_NET_RAW,
	 * which they get only if the session keeps them). */
	static const int caps[] = { CAP_SYS_ADMIN, CAP_DAC_OVERRIDE, CAP_FOWNER, CAP_KILL,
				    CAP_NET_ADMIN, CAP_NET_RAW };
	if (session_keep_caps(caps, sizeof caps / sizeof caps[0]) < 0)
		return session_reply_errno(c, EPERM, "rm: the helper could not set its capabilities",
					   err);
	const char *arg;
	if (ipc_msg_get_str(m, IPC_TAG_UUID, &arg) < 0)
		return rkt_error(err, EBADMSG, "RM_REQ without a uuid");
	struct rkt_err e = { 0 };
	_cleanup_close_ int pods_fd = -1;
	int r = podgc_open_pods(c->cfg, &pods_fd, &e);
	char uuid[POD_UUID_LEN + 1] = "";
	for (int i = 0; r == 0 || r == -EAGAIN; i++) {
		if (i == LOOKUP_TRIES) {
			r = rkt_error(&e, EAGAIN, "pod \"%s\" keeps changing state; try again", arg);
			break;
		}
		if ((r = rm_once(c, pods_fd, arg, uuid, &e)) == 0)
			break;
	}
	if (r < 0)
		return session_reply_errno(c, e.code ? e.code : -r, e.msg, err);
	return session_reply_errno(c, 0, uuid, err);
}
