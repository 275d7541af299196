/* rkt fetch IMAGE...: fetches each image into the store and prints one ID
 * per line on stdout (sha512- + 32 hex, or the whole key with --full). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "common/cleanup.h"
#include "fetch.h"
#include "unpriv/store/store.h"

/* rkt's types.ShortHash: "sha512-" + 32 hex. */
#define SHORT_ID_LEN (7 + 32)

static char *opt_signature;
static char *opt_pull_policy;
static bool opt_full, opt_store_only, opt_no_store;

const struct flag_spec cmd_fetch_flags[] = {
	{ "signature", FLAG_STRING, &opt_signature, "local signature file to use in validating the preceding image", "" },
	{ "pull-policy", FLAG_STRING, &opt_pull_policy,
	  "when to pull an image: never (store only), new (store first), update (always remote)", "update" },
	{ "full", FLAG_BOOL, &opt_full, "print the full image hash after fetching", "false" },
	{ "store-only", FLAG_BOOL, &opt_store_only, "use only available images in the store (deprecated: --pull-policy=never)", "false", .hidden = true },
	{ "no-store", FLAG_BOOL, &opt_no_store, "fetch images, ignoring the local store (deprecated: --pull-policy=update)", "false", .hidden = true },
	{ .name = NULL },
};

static int pull_policy(enum pull_policy *ret, struct rkt_err *err)
{
	if (opt_store_only && opt_no_store)
		return rkt_error(err, EINVAL, "both --store-only and --no-store specified");
	if (opt_store_only || opt_no_store) {
		*ret = opt_store_only ? PULL_NEVER : PULL_UPDATE;
		return 0;
	}
	const char *p = opt_pull_policy ? opt_pull_policy : "update";
	if (strcmp(p, "never") == 0)
		*ret = PULL_NEVER;
	else if (strcmp(p, "new") == 0)
		*ret = PULL_NEW;
	else if (strcmp(p, "update") == 0)
		*ret = PULL_UPDATE;
	else
		return rkt_error(err, EINVAL,
				 "invalid argument \"%s\" for \"--pull-policy\" flag: must be one of never, new, update",
				 p);
	return 0;
}

int cmd_fetch(const struct command *cmd, char **args, struct rkt_err *err)
{
	(void)cmd;
	struct fetch_opts o = {
		.insecure = g_opts.insecure,
		.signature_file = opt_signature && *opt_signature ? opt_signature : NULL,
		.trust_keys_from_https = g_opts.trust_keys_from_https,
		.progress = true,
	};
	int r = pull_policy(&o.pull, err);
	if (r < 0)
		return r;
	if (!args[0])
		return rkt_error(err, EINVAL, "must provide at least one image");

	struct store *s = NULL;
	r = store_open(g_opts.dir, &s, err);
	if (r < 0)
		return r;
	for (size_t i = 0; args[i]; i++) {
		char key[APPC_KEY_LEN + 1];
		r = fetch_image(s, args[i], &o, key, err);
		if (r < 0)
			break;
		/* --signature belongs to the first image only */
		o.signature_file = NULL;
		printf("%.*s\n", opt_full ? APPC_KEY_LEN : SHORT_ID_LEN, key);
		fflush(stdout);
	}
	store_close(s);
	return r < 0 ? r : 0;
}
