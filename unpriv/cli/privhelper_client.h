/* The client side of the sealed channel to rkt-privhelper (DESIGN §5,
 * interfaces.md "rkt-privhelper"): one connection per command, HELLO, then
 * exactly one operation. Every message sent or received goes through the
 * same state machine the helper runs, so this side never emits or accepts
 * anything out of order.
 *
 * The socket is g_opts.privhelper_socket. When nothing listens there and
 * the caller is root, rkt keeps its daemon-free behaviour: it starts
 * rkt-privhelper-session for this one command on a socketpair, with its own
 * --dir/--local-config/--system-config. */
#pragma once
#include <stdbool.h>
#include <sys/types.h>

#include "common/err.h"
#include "ipc/ipc.h"

struct ph_conn {
	int fd;
	enum ipc_state state;
	pid_t session_pid; /* auto-started session, or 0 */
	char helper_version[65];
	bool hello_pending; /* ph_connect_begin sent HELLO; its answer is unread */
	uint8_t *buf;	   /* IPC_MSG_MAX bytes of receive scratch */
};

/* Connects (or starts a session when root and nothing listens), sends
 * HELLO with this rkt's version and --dir, and waits for HELLO_OK. A
 * GENERIC_ANS refusal becomes the error, with the helper's message. */
int ph_connect(struct ph_conn **ret, struct rkt_err *err);
/* ph_connect in two halves, so that a command can resolve its images while
 * the helper starts the session for it: _begin connects to a listening
 * helper and sends HELLO (and fails, changing nothing, when none listens:
 * use ph_connect then), _end reads HELLO's answer (ph_close does too). */
int ph_connect_begin(struct ph_conn **ret, struct rkt_err *err);
int ph_connect_end(struct ph_conn *c, struct rkt_err *err);
/* Sends req (which must be a request the state allows) and receives its
 * one answer into *ret_answer. A GENERIC_ANS with a non-zero errno is
 * returned as that error with the helper's message; one with errno 0 is a
 * success and stays in *ret_answer. */
int ph_request(struct ph_conn *c, const struct ipc_msg *req, struct ipc_msg *ret_answer,
	       struct rkt_err *err);
/* For streaming operations (run, enter): one message each way, checked
 * against the state machine. ph_recv returns 0 when the helper closed. */
int ph_send(struct ph_conn *c, const struct ipc_msg *m, struct rkt_err *err);
int ph_recv(struct ph_conn *c, struct ipc_msg *ret, struct rkt_err *err);
/* Closes the connection and reaps an auto-started session. NULL is fine. */
void ph_close(struct ph_conn *c);
static inline void ph_closep(struct ph_conn **c) { ph_close(*c); }
#define _cleanup_ph_conn_ __attribute__((cleanup(ph_closep)))
