/* auth.d (rkt-behaviour.md §2.3): credentials per domain, layered
 * system < local < user; "same domain twice within one layer" is an error
 * naming both files. Also dockerAuth, paths.d and stage1.d for `rkt config`. */
#pragma once
#include <stddef.h>

#include "common/err.h"

/* HTTP headers ("Authorization: Basic …" / "Authorization: Bearer …") for
 * requests to host; *ret is a NULL-terminated vector or NULL when none.
 * An aws entry for host is refused (-ENOTSUP): it needs request signing. */
int config_auth_headers(const char *host, char ***ret, struct rkt_err *err);
/* dockerAuth credentials for a registry host; both NULL when none. */
int config_docker_credentials(const char *registry, char **ret_user, char **ret_password,
			      struct rkt_err *err);
/* The merged configuration as rkt config prints it: {"stage0":[...]}. */
int config_merged_json(char **ret_json, int pretty, struct rkt_err *err);
/* Standard base64 (RFC 4648, padded) of len bytes; a heap string. Here so
 * that the light rkt binary needs no libcrypto for Basic credentials. */
char *base64_encode(const void *data, size_t len);
