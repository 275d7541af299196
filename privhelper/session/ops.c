/* The operations a session serves, one handler per request type. The state
 * machine (ipc/state.c) has already checked the request is well-formed and
 * in order; each handler re-checks everything it uses. */
#include <errno.h>
#include <stdio.h>

#include "ipc/ipc.h"
#include "privhelper/session/session.h"

struct op {
	uint16_t type;
	int (*handle)(struct conn *c, struct ipc_msg *m, struct rkt_err *err);
};

static const struct op ops[] = {
	{ IPC_STATUS_REQ, op_status },
	{ IPC_PREPARE_REQ, op_prepare },
	{ IPC_RM_REQ, op_rm },
	{ IPC_GC_REQ, op_gc },
	{ IPC_RENDER_REQ, op_render },
	{ IPC_STOP_REQ, op_stop },
	{ IPC_ENTER_REQ, op_enter },
	{ IPC_RUN_REQ, op_run },
	{ IPC_RUN_PREPARED_REQ, op_run_prepared },
};

int session_dispatch(struct conn *c, struct ipc_msg *m, struct rkt_err *err)
{
	for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
		if (ops[i].type == m->type)
			return ops[i].handle(c, m, err);
	char msg[256];
	snprintf(msg, sizeof msg, "this rkt-privhelper (%s) does not serve %s requests", RKT_VERSION,
		 ipc_type_name(m->type));
	return session_reply_errno(c, EOPNOTSUPP, msg, err);
}
