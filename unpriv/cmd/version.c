/* rkt version: the same five lines rkt prints, which scripts grep. */
#include <stdio.h>

#include "commands.h"

int cmd_version(const struct command *cmd, char **args, struct rkt_err *err)
{
	(void)cmd;
	(void)err;
	(void)args;
	printf("rkt Version: %s\n", RKT_VERSION);
	printf("appc Version: 0.8.11\n");
	printf("Go Version: none (C11 rebuild, built with gcc %s)\n", __VERSION__);
	printf("Go OS/Arch: linux/amd64\n");
	printf("Features: +TPM -SDJOURNAL +SPLIT-PRIVILEGE\n");
	return 0;
}
