/* rkt config [--pretty-print]: the merged auth.d, paths.d and stage1.d of
 * the three layers as {"stage0":[...]} on stdout. Credentials are printed,
 * as rkt does: only who can read the files can read them here. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "commands.h"
#include "common/cleanup.h"
#include "unpriv/config/auth.h"

static bool opt_pretty = true;

const struct flag_spec cmd_config_flags[] = {
	{ "pretty-print", FLAG_BOOL, &opt_pretty, "apply indent to format the output", "true" },
	{ .name = NULL },
};

int cmd_config(const struct command *cmd, char **args, struct rkt_err *err)
{
	(void)cmd;
	if (args[0])
		return rkt_error(err, EINVAL, "unexpected argument \"%s\"", args[0]);
	_cleanup_free_ char *json = NULL;
	int r = config_merged_json(&json, opt_pretty, err);
	if (r < 0)
		return r;
	puts(json);
	return fflush(stdout) == 0 ? 0 : rkt_error_errno(err, errno, "writing to stdout");
}
