/* Run functions of the commands rkt implements itself (one file each). */
#pragma once
#include "unpriv/cli/cli.h"

extern const struct command rkt_commands[];

int cmd_version(const struct command *cmd, char **args, struct rkt_err *err);
int cmd_help(const struct command *cmd, char **args, struct rkt_err *err);
