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
/* The same without the syncs, for a pod that is run at once: after a crash
 * it is garbage in whichever state dir it was left. */
int podgc_move_nosync(int pods_fd, const char *from, const char *to, const char *uuid,
		      struct rkt_err *err);
/* Deletes pods/<state_dir>/<uuid>, which the caller holds locked: for a
 * pod that ran (exited-garbage/), undoes its networking and runs its
 * flavor's gc entrypoint (podgc_stage1_gc); then unmounts everything
 * mounted beneath it (deepest first, MNT_DETACH), removes its contents and
 * the dir itself. A failing gc entrypoint does not stop the delete: it is
 * logged and, when warn is not NULL, described there. Needs CAP_SYS_ADMIN
 * for the unmounts, CAP_DAC_OVERRIDE/CAP_FOWNER for the contents and
 * CAP_KILL for the entrypoint (what escaped a pod's end is killed). */
int podgc_delete(const struct session_config *cfg, int pods_fd, const char *state_dir,
		 const char *uuid, struct rkt_err *warn, struct rkt_err *err);
/* The entrypoint `name` (enter, gc) of the pod's stage1 flavor, named by
 * its stage1-flavor file, from the helper's OWN --system-config:
 * <system-config>/stage1/<flavor>/<name>, an O_PATH fd opened without
 * following a link at its last component. -ENOENT when the flavor has no
 * such entrypoint (or the pod never recorded a flavor). */
int podgc_open_entrypoint(const struct session_config *cfg, int pod_fd, const char *uuid,
			  const char *name, struct rkt_err *err);
/* Runs the gc entrypoint of the pod at pod_fd (`gc <uuid>`, cwd = the pod
 * dir) with a clean environment, stdin /dev/null, its output captured,
 * and a time limit. 0 when it succeeded or the flavor has none. */
int podgc_stage1_gc(const struct session_config *cfg, int pod_fd, const char *uuid,
		    struct rkt_err *err);
/* rm -rf of dfd/name: never follows a symlink (a link is removed, its
 * target untouched) and refuses to descend into a mount point. */
int podgc_remove_tree(int dfd, const char *name, struct rkt_err *err);
