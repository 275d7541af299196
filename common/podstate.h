/* rkt's pod states (rkt-behaviour.md §5): the directory a pod sits in plus
 * whether its directory is flock'ed. Read by `rkt list/status` (group rkt)
 * and by the helper; written only by the helper. */
#pragma once
#include <stdbool.h>

#include "common/err.h"

enum pod_state {
	POD_EMBRYO,
	POD_PREPARING,
	POD_ABORTED_PREPARE,
	POD_PREPARED,
	POD_RUNNING,
	POD_EXITED,
	POD_EXITED_DELETING,
	POD_EXITED_GARBAGE,
	POD_DELETING,
	POD_GARBAGE,
};

#define POD_UUID_LEN 36

/* The state as rkt prints it ("prepared", "running", "exited garbage"...). */
const char *pod_state_name(enum pod_state s);
/* The pods/ subdirectory of a state ("run", "exited-garbage"...). */
const char *pod_state_dir(enum pod_state s);
bool pod_uuid_valid(const char *s);
/* Resolves a UUID or unique prefix under pods_dirfd (<dir>/pods) across every
 * state dir. rkt's errors: `UUID cannot be empty`, `no matches found for
 * "<x>"`, `ambiguous uuid, N matches`. */
int pod_lookup(int pods_dirfd, const char *arg, char ret_uuid[POD_UUID_LEN + 1],
	       enum pod_state *ret_state, struct rkt_err *err);
