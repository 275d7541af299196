/* The fetch pipeline shared by `rkt fetch`, `image render` (dependencies)
 * and, later, run/prepare: classify the argument (rkt-behaviour.md §4.1),
 * apply the pull policy, download or read, verify, import into the store. */
#pragma once
#include <stdbool.h>

#include "common/appc.h"
#include "common/err.h"
#include "unpriv/store/store.h"

enum pull_policy { PULL_NEVER, PULL_NEW, PULL_UPDATE };

struct fetch_opts {
	enum pull_policy pull;
	unsigned insecure;          /* enum insecure_opt bits */
	const char *signature_file; /* --signature for the first image, or NULL */
	bool trust_keys_from_https;
	bool progress; /* progress bar allowed (still only on a tty) */
};

/* Fetches one image argument (file path, file://, http(s)://, appc name
 * name[:version][,label=v], or a sha512- ID that must be in the store) and
 * returns its store key. Logs rkt's lines on stderr ("image: using image from
 * file …", "remote fetching from URL …", "signature verified:"). */
int fetch_image(struct store *s, const char *arg, const struct fetch_opts *o,
		char ret_key[APPC_KEY_LEN + 1], struct rkt_err *err);
