/* rkt help [COMMAND]: without a topic, the program's usage (exit 0). Topics
 * are handled by cli_main before flags are parsed. */
#include <errno.h>
#include <stdio.h>

#include "commands.h"

int cmd_help(const struct command *cmd, char **args, struct rkt_err *err)
{
	(void)cmd;
	if (args[0])
		return rkt_error(err, EINVAL, "unknown help topic \"%s\"", args[0]);
	cli_print_usage(cli_current_table(), stdout);
	return 0;
}
