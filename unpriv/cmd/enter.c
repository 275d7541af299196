/* rkt enter [--app=APP] UUID [CMD...]: runs a command inside a running
 * pod's app through the helper (rkt-behaviour.md §1.3, §6). This
 * process's stdin, stdout and stderr travel with ENTER_REQ, so the command
 * reads and writes them directly; SIGINT, SIGTERM and SIGHUP are passed on
 * as SIGNAL messages; rkt exits with the command's status. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "commands.h"
#include "common/cleanup.h"
#include "common/log.h"
#include "common/util.h"
#include "unpriv/cli/privhelper_client.h"

static char *opt_app;

const struct flag_spec cmd_enter_flags[] = {
	{ "app", FLAG_STRING, &opt_app, "name of the app to enter within the specified pod", "" },
	{ .name = NULL },
};

static int forward_signal(struct ph_conn *c, int sfd, struct rkt_err *err)
{
	struct signalfd_siginfo si;
	if (read(sfd, &si, sizeof si) != sizeof si)
		return 0;
	_cleanup_ipc_msg_ struct ipc_msg m;
	ipc_msg_init(&m, IPC_SIGNAL);
	ipc_msg_put_i32(&m, IPC_TAG_SIGNO, (int32_t)si.ssi_signo);
	return ph_send(c, &m, err);
}

/* One message of the stream: 1 = more to come, else the exit code. */
static int handle(const char *prefix, struct ipc_msg *m, int *ret_code, struct rkt_err *err)
{
	const char *text;
	int32_t status;
	switch (m->type) {
	case IPC_RUN_EVENT:
		if (ipc_msg_get_str(m, IPC_TAG_TEXT, &text) == 0)
			fprintf(stderr, "%s\n", text);
		return 1;
	case IPC_RUN_RESULT:
		if (ipc_msg_get_i32(m, IPC_TAG_EXIT_STATUS, &status) < 0)
			return rkt_error(err, EBADMSG, "RUN_RESULT without an exit status");
		*ret_code = status;
		return 0;
	case IPC_GENERIC_ANS: {
		int32_t e = 0;
		const char *msg = "";
		(void)ipc_msg_get_i32(m, IPC_TAG_ERRNO, &e);
		(void)ipc_msg_get_str(m, IPC_TAG_MESSAGE, &msg);
		size_t n = strlen(prefix);
		if (!strncmp(msg, prefix, n) && msg[n] == ':')
			msg += n + 2 <= strlen(msg) ? n + 2 : strlen(msg);
		return rkt_error(err, e ? e : EIO, "%s", msg);
	}
	default:
		return rkt_error(err, EPROTO, "unexpected %s from the helper",
				 ipc_type_name(m->type));
	}
}

static int stream(const char *prefix, struct ph_conn *c, int sfd, int *ret_code,
		  struct rkt_err *err)
{
	for (;;) {
		struct pollfd p[2] = { { .fd = c->fd, .events = POLLIN },
				       { .fd = sfd, .events = POLLIN } };
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return rkt_error_errno(err, errno, "poll");
		}
		int r;
		if (p[1].revents && (r = forward_signal(c, sfd, err)) < 0)
			return r;
		if (!p[0].revents)
			continue;
		_cleanup_ipc_msg_ struct ipc_msg m = { 0 };
		r = ph_recv(c, &m, err);
		if (r == 0)
			return rkt_error(err, ECONNRESET, "the privhelper closed the connection");
		if (r < 0)
			return r;
		if ((r = handle(prefix, &m, ret_code, err)) <= 0)
			return r;
	}
}

int cmd_enter(const struct command *cmd, char **args, struct rkt_err *err)
{
	const char *prefix = cmd->log_prefix ? cmd->log_prefix : "enter";
	if (!args[0] || !*args[0])
		return rkt_error(err, EINVAL, "UUID cannot be empty (rkt enter [--app=APP] UUID [CMD...])");
	char uuid[POD_UUID_LEN + 1];
	int pods_fd = -1;
	struct rkt_err e = { 0 };
	if (pods_dir_open(&pods_fd, &e) == 0) {
		enum pod_state st;
		int r = pod_lookup(pods_fd, args[0], uuid, &st, err);
		close(pods_fd);
		if (r < 0)
			return rkt_error_wrap(err, "cannot get pod");
	} else {
		snprintf(uuid, sizeof uuid, "%s", args[0]);
	}
	_cleanup_strv_ char **argv = NULL;
	for (size_t i = 1; args[i]; i++)
		argv = strv_append(argv, args[i]);
	if (!argv) {
		log_line(prefix, "no command specified, assuming \"/bin/bash\"");
		argv = strv_append(argv, "/bin/bash");
	}
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	_cleanup_close_ int sfd = -1;
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0 ||
	    (sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK)) < 0)
		return rkt_error_errno(err, errno, "signalfd");
	_cleanup_ph_conn_ struct ph_conn *c = NULL;
	int r = ph_connect(&c, err);
	if (r < 0)
		return r;
	_cleanup_ipc_msg_ struct ipc_msg req;
	ipc_msg_init(&req, IPC_ENTER_REQ);
	ipc_msg_put_str(&req, IPC_TAG_UUID, uuid);
	if (opt_app && *opt_app)
		ipc_msg_put_str(&req, IPC_TAG_APP, opt_app);
	ipc_msg_put_strv(&req, IPC_TAG_ARGV, argv);
	for (int fd = 0; fd < 3; fd++)
		ipc_msg_add_fd(&req, fd);
	if ((r = ph_send(c, &req, err)) < 0)
		return r;
	int code = EXIT_RKT_FAILURE;
	if ((r = stream(prefix, c, sfd, &code, err)) < 0)
		return r;
	return code;
}
