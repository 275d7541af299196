/* Shared by rm and gc (op_rm.c, op_gc.c): pods in rkt's layout under the
 * helper's own <dir>/pods, moved between state dirs and deleted without
 * ever following a symlink or crossing a mount point (DESIGN §2 rule 3). */
#pragma once
#include <stdbool.h>
#include <sys/types.h>

#include "common/err.h"
#include "common/podstate.h"
#include "privhelper/session/session.h"

/* <dir>/pods of the helper's own --dir (never a client path). */
int podgc_open_pods(const struct session_config *cfg, int *ret_fd, struct rkt_err *err);
/* pods/<state_dir>/<uuid>, O_DIRECTORY|O_NOFOLLOW; negative errno. */
int podgc_open_pod(int pods_fd, const char *state_dir, const char *uuid);
/* The uid in the pod's `owner` file; a pod without one is root's. */
int podgc_owner(int pod_fd, const char *uuid, uid_t *ret, struct rkt_err *err);
/* Exclusive non-blocking flock on the pod dir: 0, -EWOULDBLOCK when
 * someone holds it (running, preparing, being deleted). */
int podgc_lock(int pod_fd);
/* Resolves arg to one pod beneath pods_fd, opens it and checks that the
 * caller (the kernel's uid) owns it; a pod whose owner cannot be read is
 * root's. Returns the pod's fd, or a negative errno with err set (rkt's
 * lookup messages, or "<op>: denied by policy: ..."). */
int podgc_open_owned(int pods_fd, const char *arg, const char *op, uid_t caller,
		     char uuid[POD_UUID_LEN + 1], enum pod_state *ret_state, struct rkt_err *err);
/* Renames pods/<from>/<uuid> to pods/<to>/<uuid>, then syncs both dirs. */
int podgc_move(int pods_fd, const char *from, const char *to, const char *uuid,
	       struct rkt_err *err);
/* Deletes pods/<state_dir>/<uuid>, which the caller holds locked:
 * unmounts everything mounted beneath it (deepest first, MNT_DETACH), then
 * removes its contents and the dir itself. Needs CAP_SYS_ADMIN for the
 * unmounts and CAP_DAC_OVERRIDE/CAP_FOWNER for the contents. */
int podgc_delete(const struct session_config *cfg, int pods_fd, const char *state_dir,
		 const char *uuid, struct rkt_err *err);
/* rm -rf of dfd/name: never follows a symlink (a link is removed, its
 * target untouched) and refuses to descend into a mount point. */
int podgc_remove_tree(int dfd, const char *name, struct rkt_err *err);
