/* Trusted keys (rkt-behaviour.md §4.3-4.4, appc-oci.md §7) and gpgme.
 * Layout under each config layer (system, then local, then user):
 *   trustedkeys/root.d/<fpr>             trusted for every image
 *   trustedkeys/prefix.d/<prefix>/<fpr>  trusted for names under prefix
 * <fpr> is the 40-hex lowercase fingerprint; a zero-length file in a later
 * layer masks the same fingerprint of an earlier one. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"

/* Verifies the detached signature sig_fd over data_fd (streamed, never read
 * whole) with only the keys trusted for image_name, in a throwaway
 * GNUPGHOME. On success ret_signers gets "Name <email>" lines of the signer.
 * Errors as rkt: "openpgp: signature made by unknown entity" (+ hint
 * "rkt trust --prefix <name>"), "bad signature". */
int keystore_verify(const char *image_name, int data_fd, int sig_fd, char ***ret_signers,
		    struct rkt_err *err);
/* keystore_verify's errors by cause: -ENOKEY no trusted key made the
 * signature (unknown entity), -EBADMSG bad or unreadable signature,
 * -EKEYREJECTED a trusted key whose signature gpg refuses (expired,
 * revoked); other values are local failures (I/O, gpg not usable). */

struct key_info {
	char fingerprint[41]; /* lowercase hex */
	char **uids;          /* NULL-terminated */
	char *armored;        /* the key as armored text */
};
void key_info_done(struct key_info *k);
/* Reads one public key (armored or binary) from memory. */
int keystore_key_info(const char *data, size_t len, struct key_info *ret, struct rkt_err *err);
/* Stores a key under the local config: prefix NULL means root.d. Returns the
 * path written. Not writable → "trust: only members of group rkt-admin may
 * change trusted keys (<dir>: permission denied)". */
int keystore_store_key(const struct key_info *k, const char *prefix, char **ret_path,
		       struct rkt_err *err);
/* Fails with the rkt-admin message above when the user cannot create keys
 * for prefix (NULL: root.d) under the local config; touches nothing, so
 * `rkt trust` can refuse before any network access. */
int keystore_check_writable(const char *prefix, struct rkt_err *err);
