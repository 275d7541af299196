/* rkt trust (rkt-behaviour.md §4.4): show a key's fingerprint, ask the user,
 * store it under the local config for a prefix or for every image. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "common/appc.h"
#include "common/cleanup.h"
#include "common/util.h"
#include "unpriv/fetch/discovery.h"
#include "unpriv/fetch/http.h"
#include "unpriv/fetch/keystore.h"

#define KEY_MAX_BYTES (1u << 20)

static char *opt_prefix;
static bool opt_root;
static bool opt_skip_review;
static bool opt_allow_http;

const struct flag_spec trust_flags[] = {
	{ "prefix", FLAG_STRING, &opt_prefix, "prefix to limit trust to", "" },
	{ "root", FLAG_BOOL, &opt_root, "add root key from filesystem without a prefix", "false" },
	{ "skip-fingerprint-review", FLAG_BOOL, &opt_skip_review,
	  "accept key without fingerprint confirmation", "false" },
	{ "insecure-allow-http", FLAG_BOOL, &opt_allow_http,
	  "allow HTTP use for key discovery and/or retrieval", "false" },
	{ .name = NULL },
};

static bool has_url_scheme(const char *s, char **ret_scheme)
{
	const char *sep = strstr(s, "://");
	if (!sep || sep == s)
		return false;
	for (const char *c = s; c < sep; c++)
		if (!(('a' <= *c && *c <= 'z') || ('A' <= *c && *c <= 'Z') ||
		      (c > s && (('0' <= *c && *c <= '9') || *c == '+' || *c == '-' || *c == '.'))))
			return false;
	*ret_scheme = xstrndup(s, (size_t)(sep - s));
	return true;
}

static int check_flags(char **args, struct rkt_err *err)
{
	if (opt_prefix && !*opt_prefix) {
		free(opt_prefix);
		opt_prefix = NULL;
	}
	if (!opt_prefix && !opt_root) {
		if (args[0])
			return rkt_error(err, EINVAL,
					 "aborting due to implicit unbounded trust (root domain); use --root to trust a key for all images");
		return rkt_error(err, EINVAL,
				 "--prefix PREFIX or --root is required (see rkt trust --help)");
	}
	if (opt_prefix && opt_root)
		return rkt_error(err, EINVAL, "--root and --prefix usage mutually exclusive");
	_cleanup_free_ char *scheme = NULL;
	if (opt_prefix && has_url_scheme(opt_prefix, &scheme))
		return rkt_error(err, EINVAL, "--prefix must not contain a URL scheme, omit %s://",
				 scheme);
	if (opt_root && !args[0])
		return rkt_error(err, EINVAL, "--root needs the key files or URLs to trust");
	return 0;
}

static int discover_keys(const char *prefix, char ***ret, struct rkt_err *err)
{
	struct appc_image_ref ref = { 0 };
	int r = appc_image_ref_parse(prefix, false, &ref, err);
	if (r < 0)
		return rkt_error_wrap(err, "prefix \"%s\"", prefix);
	struct discovery_result res = { 0 };
	r = discovery_discover(&ref, true, g_opts.insecure & INSECURE_TLS, opt_allow_http, &res,
			       err);
	appc_image_ref_done(&ref);
	if (r == -ENOENT) {
		/* keep the reason a prefix failed (TLS, HTTP status), in rkt's words */
		char detail[RKT_ERR_MSG_MAX];
		const char *le = strstr(err->msg, "(last error: ");
		snprintf(detail, sizeof detail, "%s", le ? le : "");
		return rkt_error(err, ENOENT, "meta discovery on %s resulted in no keys%s%s", prefix,
				 *detail ? " " : "", detail);
	}
	if (r < 0)
		return r;
	if (!res.pubkeys || !res.pubkeys[0]) {
		discovery_result_done(&res);
		return rkt_error(err, ENOENT, "meta discovery on %s resulted in no keys", prefix);
	}
	*ret = TAKE_PTR(res.pubkeys);
	discovery_result_done(&res);
	return 0;
}

static int read_key(const char *loc, char **ret, size_t *ret_len, struct rkt_err *err)
{
	_cleanup_free_ char *scheme = NULL;
	if (!has_url_scheme(loc, &scheme))
		return read_file_at(AT_FDCWD, loc, KEY_MAX_BYTES, ret, ret_len, err);
	if (strcmp(scheme, "file") == 0)
		return read_file_at(AT_FDCWD, loc + strlen("file://"), KEY_MAX_BYTES, ret, ret_len,
				    err);
	if (strcmp(scheme, "http") == 0 && !opt_allow_http)
		return rkt_error(err, EPERM, "--insecure-allow-http required for http URLs (%s)",
				 loc);
	if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)
		return rkt_error(err, EINVAL,
				 "only local files and http or https URLs supported (%s)", loc);
	long status = 0;
	int r = http_get_memory(loc, g_opts.insecure & INSECURE_TLS, opt_allow_http,
				KEY_MAX_BYTES, ret, ret_len, &status, err);
	if (r < 0)
		return r;
	if (status != 200) {
		free(*ret);
		*ret = NULL;
		return rkt_error(err, EIO, "bad HTTP status code: %ld (GET %s)", status, loc);
	}
	return 0;
}

/* "8B86 DE38 890D DB72 9186  7B02 5210 BD88 8818 2190", as gpg and rkt show it. */
static void format_fingerprint(const char *fpr, char *out)
{
	size_t o = 0;
	for (size_t i = 0; fpr[i]; i++) {
		if (i > 0 && i % 4 == 0) {
			out[o++] = ' ';
			if (i == 20)
				out[o++] = ' ';
		}
		char c = fpr[i];
		out[o++] = (char)(c >= 'a' && c <= 'f' ? c - 'a' + 'A' : c);
	}
	out[o] = '\0';
}

static void display_key(const char *prefix, const char *loc, const struct key_info *k)
{
	char fp[64];
	format_fingerprint(k->fingerprint, fp);
	fprintf(stderr, "prefix: \"%s\"\nkey: \"%s\"\ngpg key fingerprint is: %s\n",
		prefix ? prefix : "", loc, fp);
	for (char **u = k->uids; u && *u; u++)
		fprintf(stderr, "\t%s\n", *u);
}

/* rkt asks again until it reads exactly "yes" or "no". */
static int review_key(bool *ret_yes, struct rkt_err *err)
{
	if (!isatty(STDIN_FILENO) || !isatty(STDERR_FILENO))
		return rkt_error(err, ENOTTY,
				 "unable to ask user to review fingerprint due to lack of tty");
	char line[256];
	for (;;) {
		fprintf(stderr, "Are you sure you want to trust this key (yes/no)? ");
		fflush(stderr);
		if (!fgets(line, sizeof line, stdin))
			return rkt_error(err, EIO, "no answer to the fingerprint review");
		line[strcspn(line, "\r\n")] = '\0';
		if (strcmp(line, "yes") == 0 || strcmp(line, "no") == 0) {
			*ret_yes = line[0] == 'y';
			return 0;
		}
	}
}

/* Returns 1 when the key was added, 0 when the user declined. */
static int trust_one(const char *prefix, const char *loc, struct rkt_err *err)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	int r = read_key(loc, &buf, &len, err);
	if (r < 0)
		return r;
	struct key_info k;
	r = keystore_key_info(buf, len, &k, err);
	if (r < 0)
		return rkt_error_wrap(err, "%s", loc);
	display_key(prefix, loc, &k);
	bool yes = true;
	if (!opt_skip_review)
		r = review_key(&yes, err);
	if (r < 0 || !yes) {
		if (r == 0)
			fprintf(stderr, "not trusting \"%s\"\n", loc);
		key_info_done(&k);
		return r;
	}
	fprintf(stderr, "Trusting \"%s\" for prefix \"%s\" %s fingerprint review.\n", loc,
		prefix ? prefix : "", opt_skip_review ? "without" : "after");
	_cleanup_free_ char *path = NULL;
	r = keystore_store_key(&k, prefix, &path, err);
	key_info_done(&k);
	if (r < 0)
		return r;
	if (prefix)
		fprintf(stderr, "Added key for prefix \"%s\" at \"%s\"\n", prefix, path);
	else
		fprintf(stderr, "Added root key at \"%s\"\n", path);
	return 1;
}

int cmd_trust(const struct command *cmd, char **args, struct rkt_err *err)
{
	(void)cmd;
	int r = check_flags(args, err);
	if (r < 0)
		return r;
	const char *prefix = opt_root ? NULL : opt_prefix;
	/* Before any download: someone outside rkt-admin learns it at once. */
	r = keystore_check_writable(prefix, err);
	if (r < 0)
		return r;
	_cleanup_strv_ char **discovered = NULL;
	char **locs = args;
	if (!args[0]) {
		r = discover_keys(prefix, &discovered, err);
		if (r < 0)
			return r;
		locs = discovered;
	}
	size_t added = 0;
	for (char **l = locs; *l; l++) {
		r = trust_one(prefix, *l, err);
		if (r < 0)
			return r;
		added += (size_t)r;
	}
	if (added == 0)
		return rkt_error(err, ECANCELED, "no key was trusted");
	return 0;
}
