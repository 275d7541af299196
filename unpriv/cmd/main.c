/* rkt: the unprivileged command line. Links libc, jansson and sqlite only. */
#include <sys/stat.h>

#include "commands.h"
#include "common/prefault.h"

int main(int argc, char **argv)
{
	/* The store is shared by group rkt: whatever one member writes, the
	 * others can update and remove (DESIGN §4). */
	umask(0007);
	prefault_process(256 << 10, 64 << 10);
	return cli_main(argc, argv, rkt_commands, "rkt");
}
