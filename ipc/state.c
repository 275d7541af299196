/* Per-connection state machine, OpenSSH monitor style: each state has a
 * table of the message types it accepts and where each one leads. Both
 * sides run it over every message they send or receive, so a reordered,
 * repeated or second operation is a protocol violation wherever it shows
 * up. A connection carries exactly one operation; streaming exists only for
 * the run family (run, run-prepared, enter); a result or refusal closes it. */
#include "ipc.h"

#include <errno.h>

struct transition {
	uint16_t type;
	enum ipc_state next;
};

#define T(type, next) { IPC_##type, IPC_ST_##next }
#define END { 0, IPC_ST_CLOSED }

/* GENERIC_ANS is how the helper refuses anything, so every waiting state
 * accepts it and closes. */
static const struct transition t_start[] = { T(HELLO, HELLO_SENT), END };
static const struct transition t_hello_sent[] = { T(HELLO_OK, READY), T(GENERIC_ANS, CLOSED),
						   END };
static const struct transition t_ready[] = {
	T(STATUS_REQ, WAIT_STATUS),   T(PREPARE_REQ, WAIT_PREPARE), T(RUN_REQ, STREAM),
	T(RUN_PREPARED_REQ, STREAM), T(ENTER_REQ, STREAM),	   T(STOP_REQ, WAIT_GENERIC),
	T(RM_REQ, WAIT_GENERIC),     T(GC_REQ, WAIT_GENERIC),	   T(RENDER_REQ, WAIT_GENERIC),
	END
};
static const struct transition t_wait_status[] = { T(STATUS_ANS, CLOSED), T(GENERIC_ANS, CLOSED),
						    END };
static const struct transition t_wait_prepare[] = { T(PREPARE_ANS, CLOSED),
						     T(GENERIC_ANS, CLOSED), END };
static const struct transition t_wait_generic[] = { T(GENERIC_ANS, CLOSED), END };
static const struct transition t_stream[] = { T(RUN_EVENT, STREAM), T(SIGNAL, STREAM),
					       T(RUN_RESULT, CLOSED), T(GENERIC_ANS, CLOSED), END };
static const struct transition t_closed[] = { END };

static const struct {
	const char *name;
	const struct transition *allowed;
} states[IPC_ST_MAX + 1] = {
	[IPC_ST_START] = { "START", t_start },
	[IPC_ST_HELLO_SENT] = { "HELLO_SENT", t_hello_sent },
	[IPC_ST_READY] = { "READY", t_ready },
	[IPC_ST_WAIT_STATUS] = { "WAIT_STATUS", t_wait_status },
	[IPC_ST_WAIT_PREPARE] = { "WAIT_PREPARE", t_wait_prepare },
	[IPC_ST_WAIT_GENERIC] = { "WAIT_GENERIC", t_wait_generic },
	[IPC_ST_STREAM] = { "STREAM", t_stream },
	[IPC_ST_CLOSED] = { "CLOSED", t_closed },
};

const char *ipc_state_name(enum ipc_state st)
{
	if ((unsigned)st > IPC_ST_MAX)
		return "INVALID";
	return states[st].name;
}

int ipc_state_check(enum ipc_state st, uint16_t type, enum ipc_state *ret_next,
		    struct rkt_err *err)
{
	const char *tname = ipc_type_name(type);
	if ((unsigned)st > IPC_ST_MAX)
		return rkt_error(err, EPROTO, "connection in invalid state %d", (int)st);
	if (!tname)
		return rkt_error(err, EPROTO, "unknown message type %u in state %s", type,
				 states[st].name);
	for (const struct transition *t = states[st].allowed; t->type; t++) {
		if (t->type == type) {
			*ret_next = t->next;
			return 0;
		}
	}
	if (st == IPC_ST_CLOSED)
		return rkt_error(err, EPROTO, "%s after the connection's result", tname);
	return rkt_error(err, EPROTO, "%s not allowed in state %s", tname, states[st].name);
}

int ipc_check_sender(uint16_t type, enum ipc_side sender, struct rkt_err *err)
{
	const char *tname = ipc_type_name(type);
	if (!tname)
		return rkt_error(err, EPROTO, "unknown message type %u", type);
	bool from_client = ipc_type_is_request(type);
	if (from_client != (sender == IPC_SIDE_CLIENT))
		return rkt_error(err, EPROTO, "%s may only be sent by the %s", tname,
				 from_client ? "client" : "helper");
	return 0;
}
