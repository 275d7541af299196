/* auth.d (rkt-behaviour.md §2.3): credentials per domain, layered
 * system < local < user; "same domain twice within one layer" is an error
 * naming both files. Also dockerAuth, paths.d and stage1.d for `rkt config`. */
#pragma once
#include "common/err.h"

/* HTTP headers ("Authorization: Basic …" / "Authorization: Bearer …") for
 * requests to host; *ret is a NULL-terminated vector or NULL when none. */
int config_auth_headers(const char *host, char ***ret, struct rkt_err *err);
/* The merged configuration as rkt config prints it: {"stage0":[...]}. */
int config_merged_json(char **ret_json, int pretty, struct rkt_err *err);
