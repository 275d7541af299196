/* rkt stop [--force] [--uuid-file=F] UUID...: stops running pods through
 * the helper, one connection per pod (interfaces.md: one operation per
 * connection). The helper resolves the UUID on its own pods dir and checks
 * owner and state. Prints "<uuid>" per stopped pod; an exited pod is
 * `pod "<uuid>" is already stopped` and no failure (rkt-behaviour.md §5). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "common/cleanup.h"
#include "common/log.h"
#include "common/util.h"
#include "unpriv/cli/privhelper_client.h"

static bool opt_force;
static char *opt_uuid_file;

const struct flag_spec cmd_stop_flags[] = {
	{ "force", FLAG_BOOL, &opt_force, "forced stopping", "false" },
	{ "uuid-file", FLAG_STRING, &opt_uuid_file, "read pod UUID from file instead of argument",
	  "" },
	{ .name = NULL },
};

/* The full UUID for arg when this user may read the pods dir (rkt's
 * messages); otherwise the helper resolves it. */
static int resolve(int pods_fd, const char *arg, char uuid[POD_UUID_LEN + 1], struct rkt_err *err)
{
	enum pod_state st;
	if (!*arg)
		return rkt_error(err, EINVAL, "cannot get pod: UUID cannot be empty");
	if (pods_fd >= 0) {
		int r = pod_lookup(pods_fd, arg, uuid, &st, err);
		return r < 0 ? rkt_error_wrap(err, "cannot get pod") : 0;
	}
	snprintf(uuid, POD_UUID_LEN + 1, "%s", arg);
	return 0;
}

/* *ret_no_helper is set when no helper could be reached at all. The
 * answer's message is the UUID stopped or the helper's note. */
static int stop_one(const char *uuid, bool *ret_no_helper, char **ret_msg, struct rkt_err *err)
{
	_cleanup_ph_conn_ struct ph_conn *c = NULL;
	int r = ph_connect(&c, err);
	if (r < 0) {
		*ret_no_helper = true;
		return r;
	}
	_cleanup_ipc_msg_ struct ipc_msg req;
	ipc_msg_init(&req, IPC_STOP_REQ);
	ipc_msg_put_str(&req, IPC_TAG_UUID, uuid);
	if (opt_force)
		ipc_msg_put_u32(&req, IPC_TAG_FORCE, 1);
	_cleanup_ipc_msg_ struct ipc_msg ans = { 0 };
	if ((r = ph_request(c, &req, &ans, err)) < 0)
		return r;
	const char *msg = "";
	(void)ipc_msg_get_str(&ans, IPC_TAG_MESSAGE, &msg);
	*ret_msg = xstrdup(msg);
	return 0;
}

int cmd_stop(const struct command *cmd, char **args, struct rkt_err *err)
{
	const char *prefix = cmd->log_prefix ? cmd->log_prefix : "stop";
	_cleanup_strv_ char **uuids = NULL;
	for (size_t i = 0; args[i]; i++)
		uuids = strv_append(uuids, args[i]);
	if (opt_uuid_file) {
		_cleanup_free_ char *u = NULL;
		struct rkt_err ue = { 0 };
		if (pod_read_uuid_file(opt_uuid_file, &u, &ue) < 0) {
			/* rkt: one line and exit 1 when the file cannot be read */
			log_line(prefix, "%s", ue.msg);
			return 1;
		}
		uuids = strv_append(uuids, u);
	}
	if (!uuids)
		return rkt_error(err, EINVAL,
				 "no pod UUID given (rkt stop [--force] [--uuid-file=FILE] UUID...)");
	int pods_fd = -1;
	struct rkt_err e = { 0 };
	int r = pods_dir_open(&pods_fd, &e);
	if (r < 0 && r != -EACCES)
		return rkt_error(err, e.code, "%s", e.msg);
	size_t failed = 0;
	for (size_t i = 0; uuids[i]; i++) {
		char uuid[POD_UUID_LEN + 1];
		_cleanup_free_ char *msg = NULL;
		rkt_err_clear(&e);
		bool no_helper = false;
		if (resolve(pods_fd, uuids[i], uuid, &e) < 0 ||
		    stop_one(uuid, &no_helper, &msg, &e) < 0) {
			log_line_once(prefix, e.msg);
			failed++;
			if (no_helper)
				break; /* the same answer for every other pod */
			continue;
		}
		if (pod_uuid_valid(msg))
			printf("\"%s\"\n", msg);
		else
			log_line(prefix, "%s", msg);
		fflush(stdout);
	}
	if (pods_fd >= 0)
		close(pods_fd);
	if (failed) {
		log_line(prefix, "failed to stop %zu pod(s)", failed);
		return EXIT_RKT_FAILURE;
	}
	return 0;
}
