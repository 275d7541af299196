#include "commands.h"

const struct command fetch_commands[] = {
	{ .name = NULL },
};
