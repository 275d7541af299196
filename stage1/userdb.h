/* User and group resolution inside an app's rootfs (appc "user"/"group":
 * a number, a name from the image's /etc/passwd or /etc/group, or an
 * absolute path whose owner is taken). The parsers take the file's text so
 * they can be unit-tested without a rootfs. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"

/* Looks name up in passwd-format text. Returns 0, -ENOENT when absent. */
int userdb_passwd_lookup(const char *text, const char *name, uid_t *ret_uid, gid_t *ret_gid);
/* Looks name up in group-format text. Returns 0, -ENOENT when absent. */
int userdb_group_lookup(const char *text, const char *name, gid_t *ret_gid);
/* A decimal id in 0..2^32-2 (the kernel's (uid_t)-1 is never an id). */
bool userdb_parse_id(const char *s, uint32_t *ret);

/* Resolves spec against the files under root (a directory fd; "/" after
 * pivot_root). Errors name the spec and the file searched. */
int userdb_resolve_user(int rootfd, const char *spec, uid_t *ret, struct rkt_err *err);
int userdb_resolve_group(int rootfd, const char *spec, gid_t *ret, struct rkt_err *err);
