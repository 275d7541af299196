/* Detached OpenPGP signatures of images, checked with gpgme against the
 * trusted keys of a list of config layers (rkt-behaviour.md §4.3-4.4,
 * appc-oci.md §7, platform-recipes.md §5). Shared by `rkt fetch` and the
 * root helper's renderer, which passes its own config dirs. Layout under
 * each layer (system, then local, then user):
 *   trustedkeys/root.d/<fpr>             trusted for every image
 *   trustedkeys/prefix.d/<prefix>/<fpr>  trusted for names under prefix
 * <fpr> is the 40-hex lowercase fingerprint; a zero-length file in a later
 * layer masks the same fingerprint of an earlier one. */
#pragma once
#include <gpgme.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"

#define GPG_FPR_LEN 40

/* Verifies the detached signature sig_fd over data_fd (streamed, never read
 * whole) with only the keys the layers of config_dirs (NULL-terminated,
 * empty strings skipped, later layers override earlier ones) trust for
 * image_name, in a throwaway GNUPGHOME. Both fds are rewound first. On
 * success ret_signers gets "Name <email>" lines of the signer. Errors as
 * rkt, by cause: -ENOKEY "openpgp: signature made by unknown entity" (+ hint
 * "rkt trust --prefix <name>"), -EBADMSG bad or unreadable signature,
 * -EKEYREJECTED a trusted key whose signature gpg refuses (expired,
 * revoked); other values are local failures (I/O, gpg not usable). */
int signature_verify(const char *const *config_dirs, const char *image_name, int data_fd,
		     int sig_fd, char ***ret_signers, struct rkt_err *err);

/* A throwaway GNUPGHOME ($TMPDIR or /tmp, removed on close) with gpg's
 * "always" trust model: sound because it only ever holds keys we chose. */
struct gpg_home {
	char *path;
	gpgme_ctx_t ctx;
};
int gpg_home_open(struct gpg_home *h, struct rkt_err *err);
void gpg_home_close(struct gpg_home *h);
/* "gpgme: <what>: <gpgme message>" as -EIO. */
int gpg_fail(struct rkt_err *err, gpgme_error_t e, const char *what);

struct gpg_keylist {
	gpgme_key_t *keys;
	size_t n;
};
void gpg_keylist_done(struct gpg_keylist *l);
/* Lists the keys in data without importing them. */
int gpg_keys_in_data(struct gpg_home *h, const char *data, size_t len, struct gpg_keylist *ret,
		     struct rkt_err *err);
int gpg_import_data(struct gpg_home *h, const char *data, size_t len, struct rkt_err *err);
/* The key's non-revoked user IDs, NULL-terminated. */
char **gpg_key_uids(gpgme_key_t key);
bool gpg_is_fingerprint(const char *s);
void gpg_fpr_lower(const char *in, char out[GPG_FPR_LEN + 1]);
