/* rkt-privhelper-render: the verified tree store (DESIGN §2 rule 5, §7).
 * Run as root by the session for one image ID. It opens the blob itself
 * beneath the helper's own --dir, re-hashes it, re-verifies its signature
 * with the helper's own trusted keys, re-validates every entry, and renders
 * it with its dependencies into dir/tree/<treeID>. It trusts nothing the
 * store's group (rkt) wrote: the DB only chooses among candidates, every
 * byte rendered is hashed and checked against its ID. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "common/appc.h"
#include "common/err.h"

/* rkt's tree store ID: "deps-" + "sha512-" + 64 hex (rkt-behaviour.md §3). */
#define RENDER_TREE_ID_LEN (5 + APPC_KEY_LEN)
/* Dependencies of dependencies...: hostile manifests may form a cycle. */
#define RENDER_MAX_DEPTH 32

struct render_config {
	const char *dir;           /* the helper's --dir */
	const char *local_config;  /* the helper's --local-config (trusted keys) */
	const char *system_config; /* the helper's --system-config (trusted keys) */
	bool allow_unsigned;
};

struct render_result {
	char tree_id[RENDER_TREE_ID_LEN + 1];
	bool is_signed; /* the image and every dependency */
	char *name;     /* the image's manifest name */
	char **deps;    /* dependency keys in the order they were applied */
};
void render_result_done(struct render_result *r);

/* Renders key (already validated as "sha512-" + 64 lowercase hex), or finds
 * its tree already rendered. Errors name the image and the reason. */
int render_image(const struct render_config *c, const char *key, struct render_result *ret,
		 struct rkt_err *err);

/* ---- db.c: read-only lookups in the store DB (untrusted: they only pick
 * which blob to verify next) ---- */
struct sqlite3;
/* Opens dirfd's cas/db/rkt.sqlite read-only (query_only); *ret NULL when
 * the store has no DB yet. */
int rdb_open(int dirfd, const char *dir, struct sqlite3 **ret, struct rkt_err *err);
void rdb_close(struct sqlite3 *db);
/* The stored manifest of key, parsed; found=false when there is no row. */
int rdb_manifest(struct sqlite3 *db, const char *key, char **ret_json, bool *found,
		 struct rkt_err *err);
/* A unique key starting with prefix ("sha512-" + >= 2 hex). */
int rdb_resolve_prefix(struct sqlite3 *db, const char *prefix, char ret[APPC_KEY_LEN + 1],
		       bool *found, struct rkt_err *err);
/* rkt's GetACI, as the store does it: images with that name whose stored
 * labels match; without a version label prefer latest, then the newest. */
int rdb_find_by_name(struct sqlite3 *db, const char *name, const struct appc_label *labels,
		     size_t n_labels, char ret[APPC_KEY_LEN + 1], bool *found,
		     struct rkt_err *err);
