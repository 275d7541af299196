/* Per-operation capabilities (DESIGN §2 rule 4): a session starts with
 * root's permitted set but nothing effective; the one operation it serves
 * then keeps exactly what it needs and gives up the rest for good. */
#include <cap-ng.h>
#include <errno.h>
#include <linux/capability.h>

#include "privhelper/session/session.h"

int session_caps_idle(void)
{
	if (capng_get_caps_process() < 0)
		return -EPERM;
	/* Permitted stays so the operation can still choose; effective and
	 * inheritable go, so nothing runs privileged before it does. */
	for (int cap = 0; cap <= CAP_LAST_CAP; cap++)
		capng_update(CAPNG_DROP, CAPNG_EFFECTIVE | CAPNG_INHERITABLE, (unsigned)cap);
	return capng_apply(CAPNG_SELECT_CAPS) < 0 ? -EPERM : 0;
}

int session_keep_caps(const int *caps, size_t n)
{
	/* Dropping the bounding set needs CAP_SETPCAP effective: raise the
	 * permitted set to effective for this one step. */
	if (capng_get_caps_process() < 0)
		return -EPERM;
	for (int cap = 0; cap <= CAP_LAST_CAP; cap++)
		if (capng_have_capability(CAPNG_PERMITTED, (unsigned)cap))
			capng_update(CAPNG_ADD, CAPNG_EFFECTIVE, (unsigned)cap);
	if (capng_apply(CAPNG_SELECT_CAPS) < 0)
		return -EPERM;
	capng_clear(CAPNG_SELECT_BOTH);
	/* Kept caps stay in the bounding set too: a helper program the
	 * operation execs (the renderer) gets exactly these, no more. */
	for (size_t i = 0; i < n; i++)
		if (capng_update(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED | CAPNG_BOUNDING_SET,
				 (unsigned)caps[i]) < 0)
			return -EINVAL;
	return capng_apply(CAPNG_SELECT_BOTH) < 0 ? -EPERM : 0;
}
