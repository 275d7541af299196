/* rkt gc [--grace-period=30m0s] [--expire-prepared=24h0m0s] [--mark-only]:
 * pod garbage collection, done by the helper (rkt-behaviour.md §5). A
 * non-root caller's gc acts on its own pods only. The helper answers with
 * rkt's per-pod lines, each marked with the stream it belongs to (ipc.h
 * IPC_LINE_*); this file prints them, and holds that printer for image gc. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "common/cleanup.h"
#include "common/log.h"
#include "common/util.h"
#include "unpriv/cli/privhelper_client.h"

#define DEFAULT_GRACE_NS (30LL * 60 * 1000000000LL)
#define DEFAULT_EXPIRE_NS (24LL * 3600 * 1000000000LL)

static int64_t opt_grace = DEFAULT_GRACE_NS, opt_expire = DEFAULT_EXPIRE_NS;
static bool opt_mark_only;

const struct flag_spec cmd_gc_flags[] = {
	{ "grace-period", FLAG_DURATION, &opt_grace,
	  "duration to wait before discarding inactive pods from garbage", "30m0s" },
	{ "expire-prepared", FLAG_DURATION, &opt_expire,
	  "duration to wait before expiring prepared pods", "24h0m0s" },
	{ "mark-only", FLAG_BOOL, &opt_mark_only,
	  "if set to true, only mark abandoned pods as garbage, don't actually delete them",
	  "false" },
	{ .name = NULL },
};

size_t gc_print_lines(const char *prefix, const char *text)
{
	size_t failures = 0;
	while (text && *text) {
		size_t n = strcspn(text, "\n");
		if (n > 1) {
			const char *line = text + 1;
			int len = (int)(n - 1);
			if (text[0] == IPC_LINE_STDOUT) {
				printf("%.*s\n", len, line);
			} else {
				fflush(stdout);
				fprintf(stderr, "%s: %.*s\n", prefix, len, line);
				failures += text[0] == IPC_LINE_FAILED;
			}
		}
		text += n;
		if (*text == '\n')
			text++;
	}
	fflush(stdout);
	return failures;
}

int gc_request(const char *prefix, uint32_t flags, int64_t grace_ns, int64_t expire_ns,
	       size_t *ret_failures, struct rkt_err *err)
{
	_cleanup_ph_conn_ struct ph_conn *c = NULL;
	int r = ph_connect(&c, err);
	if (r < 0)
		return r;
	_cleanup_ipc_msg_ struct ipc_msg req;
	ipc_msg_init(&req, IPC_GC_REQ);
	if (!(flags & IPC_GC_TREES)) {
		ipc_msg_put_u64(&req, IPC_TAG_GRACE_NS, (uint64_t)grace_ns);
		ipc_msg_put_u64(&req, IPC_TAG_PREPARED_EXPIRE_NS, (uint64_t)expire_ns);
	}
	ipc_msg_put_u32(&req, IPC_TAG_GC_FLAGS, flags);
	_cleanup_ipc_msg_ struct ipc_msg ans = { 0 };
	r = ph_request(c, &req, &ans, err);
	if (r < 0)
		return r;
	const char *text = NULL;
	(void)ipc_msg_get_str(&ans, IPC_TAG_MESSAGE, &text);
	*ret_failures = gc_print_lines(prefix, text);
	return 0;
}

int cmd_gc(const struct command *cmd, char **args, struct rkt_err *err)
{
	const char *prefix = cmd->log_prefix ? cmd->log_prefix : "gc";
	if (args[0])
		return rkt_error(err, EINVAL, "unexpected argument \"%s\"", args[0]);
	if (opt_grace < 0 || opt_expire < 0)
		return rkt_error(err, EINVAL, "--%s must not be negative",
				 opt_grace < 0 ? "grace-period" : "expire-prepared");
	size_t failures = 0;
	int r = gc_request(prefix, opt_mark_only ? IPC_GC_MARK_ONLY : 0, opt_grace, opt_expire, &failures,
			   err);
	if (r < 0)
		return r;
	return failures ? EXIT_RKT_FAILURE : 0;
}
