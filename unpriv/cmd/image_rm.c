/* rkt image rm IMAGE...: removes images given by name[:version][,labels]
 * or ID prefix. Each argument is resolved first, so one image named twice
 * (by name and by ID) is removed and counted once, as rkt does. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "common/cleanup.h"
#include "common/util.h"
#include "unpriv/store/store.h"

int cmd_image_rm(const struct command *cmd, char **args, struct rkt_err *err)
{
	const char *prefix = cmd->log_prefix ? cmd->log_prefix : "rm";
	if (!args[0])
		return rkt_error(err, EINVAL, "must provide at least one image ID");
	struct store *s = NULL;
	int r = store_open(g_opts.dir, &s, err);
	if (r < 0)
		return rkt_error_wrap(err, "cannot open store");
	size_t n_args = strv_len(args), n_keys = 0, failed = 0, done = 0;
	char (*keys)[APPC_KEY_LEN + 1] = xcalloc(n_args, sizeof *keys);
	for (size_t i = 0; i < n_args; i++) {
		struct rkt_err e = { 0 };
		char key[APPC_KEY_LEN + 1];
		if (store_resolve_image_arg(s, args[i], key, &e) < 0) {
			fprintf(stderr, "%s: %s\n", prefix, e.msg);
			failed++;
			continue;
		}
		bool dup = false;
		for (size_t k = 0; k < n_keys && !dup; k++)
			dup = strcmp(keys[k], key) == 0;
		if (!dup)
			memcpy(keys[n_keys++], key, sizeof key);
	}
	for (size_t k = 0; k < n_keys; k++) {
		struct rkt_err e = { 0 };
		if (store_remove_image(s, keys[k], &e) < 0) {
			fprintf(stderr, "%s: error removing aci for image \"%s\": %s\n", prefix, keys[k],
				e.msg);
			failed++;
			continue;
		}
		printf("successfully removed aci for image: \"%s\"\n", keys[k]);
		done++;
	}
	free(keys);
	store_close(s);
	fflush(stdout);
	if (done > 0)
		fprintf(stderr, "%s: %zu image(s) successfully removed\n", prefix, done);
	if (failed > 0) {
		fprintf(stderr, "%s: %zu image(s) cannot be removed\n", prefix, failed);
		return EXIT_RKT_FAILURE;
	}
	return 0;
}
