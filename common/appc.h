/* appc types (reference/appc-oci.md §2): identifiers, names, versions,
 * labels, os/arch, quantities and image IDs. Pure functions, no I/O. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

/* AC Identifier as the appc Go code accepts it: non-empty, [a-z0-9._~/-],
 * first and last char [a-z0-9]. */
bool appc_identifier_valid(const char *s);
/* AC Name: non-empty [a-z0-9-], no leading/trailing '-'. */
bool appc_name_valid(const char *s);
/* SemVer 2.0.0 X.Y.Z[-pre][+build], as acVersion. */
bool appc_semver_valid(const char *s);
/* Env var name ^[A-Za-z_][A-Za-z_0-9.-]*$ */
bool appc_env_name_valid(const char *s);
/* os/arch whitelist (types.ValidOSArch). Returns 0 or -EINVAL with a message
 * "bad os \"freebsd\"" / "bad arch \"x\" for linux". arch may be NULL.
 * This is rkt's run-time table (linux only); os NULL passes. */
int appc_os_arch_check(const char *os, const char *arch, struct rkt_err *err);
/* The host's appc os and arch ("linux", "amd64"). */
const char *appc_host_os(void);
const char *appc_host_arch(void);
/* The same check against the appc Go code's full table (linux, freebsd,
 * darwin): what a manifest may declare, as opposed to what rkt runs. */
int appc_os_arch_check_spec(const char *os, const char *arch, struct rkt_err *err);
/* The appc Go Hash rule for manifest fields: "sha512-" + non-empty value
 * without a further '-' (hex and length unchecked). */
bool appc_hash_valid_ref(const char *s);

struct appc_label {
	char *name;
	char *value;
};

/* Quantity (k8s syntax: 500m, 1G, 16Mi, 1e3). Returns the value in
 * milli-units (so "500m" -> 500, "1" -> 1000, "1Ki" -> 1024000). */
int appc_quantity_parse_milli(const char *s, int64_t *ret_milli);

/* Image IDs. A full ID is "sha512-" + 128 hex; rkt's store key is
 * "sha512-" + the first 64 hex. */
#define APPC_ID_PREFIX "sha512-"
#define APPC_KEY_LEN (7 + 64) /* store key / pod manifest image id */
/* Checks the user's "sha512-<hex>" (>= 2 hex chars, lowercase) and copies
 * at most the store key length into ret (size >= APPC_KEY_LEN + 1).
 * -EINVAL when it is not a hash. */
int appc_id_to_key_prefix(const char *s, char ret[APPC_KEY_LEN + 1]);
bool appc_is_hash(const char *s);

/* An appc image reference "name[:version][,label=value...]" (rkt's parse:
 * ':' at most once, before any comma). Missing os/arch get the host's. */
struct appc_image_ref {
	char *name;
	struct appc_label *labels; /* version, os, arch, then the rest */
	size_t n_labels;
};
int appc_image_ref_parse(const char *s, bool add_host_os_arch, struct appc_image_ref *ret,
			 struct rkt_err *err);
void appc_image_ref_done(struct appc_image_ref *ref);
const char *appc_labels_get(const struct appc_label *labels, size_t n, const char *name);
