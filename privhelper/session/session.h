/* rkt-privhelper-session: one per connection, exec'd by the listener with the
 * connection on fd 3 (DESIGN §2 rule 5). Its directories come from its own
 * command line (the listener passes the admin's flags through), never from
 * the client. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/err.h"
#include "policy/policy.h"

struct session_config {
	const char *dir;           /* default /var/lib/rkt */
	const char *local_config;  /* default /etc/rkt */
	const char *system_config; /* default RKT_LIBDIR/rkt */
	const char *policy_path;   /* default POLICY_DEFAULT_PATH */
	bool policy_given;         /* --policy: the file must exist */
	const char *cni_path;      /* default /usr/lib/cni */
	const char *tcti;
	const char *kvm_kernel;
	struct policy *policy;
};

/* The caller, as the kernel reports it (never as a message says). */
struct peer {
	uid_t uid;
	gid_t gid;
	pid_t pid;
	gid_t *gids; /* primary + supplementary (SO_PEERGROUPS) */
	size_t n_gids;
	int pidfd; /* SO_PEERPIDFD, or pidfd_open fallback; -1 if gone */
};

struct ipc_msg;

/* One connection being served. */
struct conn {
	int fd;
	int state; /* enum ipc_state */
	struct peer peer;
	struct session_config *cfg;
	/* <dir>/pods, opened at HELLO so a request's own round trip does not
	 * pay for it (DESIGN §15); -1 until then. */
	int pods_fd;
	unsigned char buf[65536 + 16];
};

/* Sends m after checking the state machine allows it. */
int session_reply(struct conn *c, struct ipc_msg *m, struct rkt_err *err);
/* A GENERIC_ANS: errno (0 = done) and one line for the user. */
int session_reply_errno(struct conn *c, int errnum, const char *msg, struct rkt_err *err);

/* stdio.c: whether fds (0-2 to be) may become stdio of a pod or an enter
 * command: from a caller that is not root, no O_PATH fd, directory,
 * foreign file or device, since a root process in the pod can reopen them
 * through /proc/self/fd with root's rights. 0, or -EPERM and refusal
 * naming op, the stream and the uid. */
int session_check_stdio(const struct conn *c, const int fds[3], const char *op,
			struct rkt_err *refusal);
/* Runs the operation of one request (after HELLO): answers it, or returns
 * a negative errno for a protocol violation that ends the connection. */
int session_dispatch(struct conn *c, struct ipc_msg *m, struct rkt_err *err);

/* Operation handlers, one file each (ops.c routes to them). */
int op_status(struct conn *c, struct ipc_msg *m, struct rkt_err *err);
int op_prepare(struct conn *c, struct ipc_msg *m, struct rkt_err *err);
int op_rm(struct conn *c, struct ipc_msg *m, struct rkt_err *err);
int op_gc(struct conn *c, struct ipc_msg *m, struct rkt_err *err);
int op_render(struct conn *c, struct ipc_msg *m, struct rkt_err *err);
int op_stop(struct conn *c, struct ipc_msg *m, struct rkt_err *err);
int op_enter(struct conn *c, struct ipc_msg *m, struct rkt_err *err);
/* op_stop.c: is the pod dir flock'ed by someone (stage1: running)? And a
 * pidfd on the pod's PID 1 from its `pid` file, taken only while the pod
 * is still locked and the process is a pid namespace's init (-ESRCH when
 * the pod is not running). */
bool session_pod_locked(int pod_fd);
int session_pod_pidfd(int pod_fd, const char *uuid, int *ret_pidfd, pid_t *ret_pid,
		      struct rkt_err *err);
int op_run(struct conn *c, struct ipc_msg *m, struct rkt_err *err);
int op_run_prepared(struct conn *c, struct ipc_msg *m, struct rkt_err *err);

/* What prepare needs (op_prepare.c explains each); run keeps these too. */
#define SESSION_PREPARE_CAPS                                                                    \
	CAP_DAC_READ_SEARCH, CAP_DAC_OVERRIDE, CAP_CHOWN, CAP_FOWNER, CAP_FSETID, CAP_MKNOD, \
		CAP_SETPCAP
/* op_prepare.c: validates the request and creates the prepared pod
 * (uuid filled). 0 done; 1 refused with *refusal filled (answer it);
 * negative: protocol violation in err. The caller set the capabilities. */
int session_prepare_pod(struct conn *c, struct ipc_msg *m, char *uuid, struct rkt_err *refusal,
			struct rkt_err *err);

/* render.c: runs rkt-privhelper-render (beside this binary, else
 * RKT_LIBEXECDIR/rkt) on key ("sha512-" + 64 hex) with the helper's own
 * --dir/--local-config/--system-config; ret_tree_id (>= 200 bytes) gets the
 * tree ID under <dir>/tree. allow_unsigned only when the caller asked for
 * --insecure-options=image AND the policy allows it. The renderer keeps
 * CAP_CHOWN, CAP_FOWNER, CAP_FSETID and CAP_DAC_OVERRIDE from the bounding
 * set: call it before session_keep_caps drops them. Errors: -EPERM unsigned
 * or signature refused, -EBADMSG store modified after fetch, -ENOENT not in
 * the store, with the renderer's message.
 * With ret_hold_fd, it also gets the tree's lock (tree/.lock-<id>), held
 * shared, taken once the tree is rendered: `rkt image gc` locks a tree
 * exclusively before it reads what pods reference, so a tree held from
 * its render until the pod records it (appsinfo/<app>/treeStoreID) is
 * never collected in between; a tree collected before the lock was taken
 * is rendered again. */
int session_render_image(struct conn *c, const char *key, bool allow_unsigned,
			 char *ret_tree_id, bool *ret_signed, int *ret_hold_fd,
			 struct rkt_err *err);
/* A tree ID as the renderer makes them: "deps-sha512-" + 64 hex. */
bool session_tree_id_valid(const char *s);

/* caps.c: before serving, nothing effective (permitted kept); an operation
 * then keeps exactly caps (CAP_* numbers) and loses the rest for good,
 * bounding set included. 0 or -EPERM. */
int session_caps_idle(void);
int session_keep_caps(const int *caps, size_t n);

/* Checks the helper's own paths (interfaces.md "Path checks") and loads the
 * policy; one line naming the offending path on error. */
int session_check_config(struct session_config *c, struct rkt_err *err);
int session_peer_identify(int fd, struct peer *ret, struct rkt_err *err);
void session_peer_done(struct peer *p);
/* Serves one connection to its end. Returns the process exit code. */
int session_serve(int fd, struct session_config *c);
