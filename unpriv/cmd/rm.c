/* rkt rm [--uuid-file=F] UUID...: removes pods through the helper, one
 * connection per pod (interfaces.md: one operation per connection). The
 * UUID or prefix is resolved here from <dir>/pods, as rkt does, so its
 * messages are rkt's; the helper resolves it again on its own pods dir and
 * decides (owner, state). Prints "<uuid>" per removed pod; each failure is
 * one line on stderr and the command exits 254. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "common/cleanup.h"
#include "common/log.h"
#include "common/util.h"
#include "unpriv/cli/privhelper_client.h"

static char *opt_uuid_file;

const struct flag_spec cmd_rm_flags[] = {
	{ "uuid-file", FLAG_STRING, &opt_uuid_file, "read pod UUID from file instead of argument",
	  "" },
	{ .name = NULL },
};

/* The full UUID for arg: resolved from the pods dir when this user may
 * read it, else taken as given when it is a full UUID. */
static int resolve(int pods_fd, const char *arg, char uuid[POD_UUID_LEN + 1], struct rkt_err *err)
{
	enum pod_state st;
	if (pods_fd >= 0 || !*arg) {
		if (pods_fd < 0)
			return rkt_error(err, EINVAL, "cannot get pod: UUID cannot be empty");
		int r = pod_lookup(pods_fd, arg, uuid, &st, err);
		return r < 0 ? rkt_error_wrap(err, "cannot get pod") : 0;
	}
	if (!pod_uuid_valid(arg))
		return rkt_error(err, EACCES,
				 "cannot read %s/pods to resolve \"%s\"; give the full UUID", g_opts.dir,
				 arg);
	memcpy(uuid, arg, POD_UUID_LEN + 1);
	return 0;
}

/* *ret_no_helper is set when no helper could be reached at all. */
static int rm_one(const char *uuid, bool *ret_no_helper, struct rkt_err *err)
{
	_cleanup_ph_conn_ struct ph_conn *c = NULL;
	int r = ph_connect(&c, err);
	if (r < 0) {
		*ret_no_helper = true;
		return r;
	}
	_cleanup_ipc_msg_ struct ipc_msg req;
	ipc_msg_init(&req, IPC_RM_REQ);
	ipc_msg_put_str(&req, IPC_TAG_UUID, uuid);
	_cleanup_ipc_msg_ struct ipc_msg ans = { 0 };
	return ph_request(c, &req, &ans, err);
}

int cmd_rm(const struct command *cmd, char **args, struct rkt_err *err)
{
	const char *prefix = cmd->log_prefix ? cmd->log_prefix : "rm";
	_cleanup_strv_ char **uuids = NULL;
	for (size_t i = 0; args[i]; i++)
		uuids = strv_append(uuids, args[i]);
	if (opt_uuid_file) {
		_cleanup_free_ char *u = NULL;
		int r = pod_read_uuid_file(opt_uuid_file, &u, err);
		if (r < 0)
			return r;
		uuids = strv_append(uuids, u);
	}
	if (!uuids)
		return rkt_error(err, EINVAL, "no pod UUID given (rkt rm [--uuid-file=FILE] UUID...)");
	int pods_fd = -1;
	struct rkt_err e = { 0 };
	int r = pods_dir_open(&pods_fd, &e);
	if (r < 0 && r != -EACCES)
		return rkt_error(err, e.code, "%s", e.msg);
	bool failed = false;
	for (size_t i = 0; uuids[i]; i++) {
		char uuid[POD_UUID_LEN + 1];
		rkt_err_clear(&e);
		bool no_helper = false;
		if (resolve(pods_fd, uuids[i], uuid, &e) < 0 || rm_one(uuid, &no_helper, &e) < 0) {
			log_line_once(prefix, e.msg);
			failed = true;
			if (no_helper)
				break; /* the same answer for every other pod */
			continue;
		}
		printf("\"%s\"\n", uuid);
		fflush(stdout);
	}
	if (pods_fd >= 0)
		close(pods_fd);
	if (failed) {
		log_line(prefix, "failed to remove one or more pods");
		return EXIT_RKT_FAILURE;
	}
	return 0;
}
