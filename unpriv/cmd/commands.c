/* rkt's command table. Commands whose work parses untrusted network or
 * archive data name a worker: rkt execs that program (DESIGN §3 load rule),
 * so `rkt list`, `status` and `image list` never load libcurl, gpgme or
 * libarchive. */
#include "commands.h"

#define WORKER_FETCH "rkt-fetch"

const struct command rkt_commands[] = {
	{ "version", "", "Print the version and exit", NULL, .run = cmd_version },
	{ "help", "[COMMAND]", "Help about any command", NULL, .run = cmd_help },
	{ "fetch", "IMAGE_URL...", "Fetch image(s) and store them in the local store", .worker = WORKER_FETCH },
	{ "trust", "[--prefix PREFIX] [--root] [PUBKEY...]", "Trust a key for image verification", .worker = WORKER_FETCH },
	{ "image fetch", "IMAGE_URL...", "Fetch image(s) and store them in the local store", .worker = WORKER_FETCH, .hidden = true },
	{ "image extract", "IMAGE OUTPUT_DIR", "Extract a stored image to a directory", .worker = WORKER_FETCH },
	{ "image render", "IMAGE OUTPUT_DIR", "Render a stored image to a directory with all its dependencies", .worker = WORKER_FETCH },
	{ .name = NULL },
};
