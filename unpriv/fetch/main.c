/* rkt-fetch: the part of rkt that reads untrusted bytes (HTTP, discovery
 * pages, signatures, archives). Started by rkt with the user's argv. */
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/stat.h>

#include "commands.h"

int main(int argc, char **argv)
{
	umask(0007);
	/* Nothing on this path ever needs to gain privileges: a parser bug
	 * here must not be able to exec something setuid into more power. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		perror("rkt-fetch: prctl(PR_SET_NO_NEW_PRIVS)");
		return 254;
	}
	return cli_main(argc, argv, fetch_commands, "rkt");
}
