/* The image store under --dir (DESIGN §4, §7; rkt-behaviour.md §3):
 *   cas/blob/sha512/<2 hex>/<key>   uncompressed ACI tar, keyed by ID
 *   cas/tmp/                        in-progress imports (never visible)
 *   cas/locks/<key>                 per-image flock
 *   cas/db/rkt.sqlite               SQLite (WAL, busy timeout): aciinfo, remote
 * Group rkt writes it (dirs 2770, files 0660; rkt sets umask 0007). An image
 * becomes visible only when its DB row is committed, after its blob was
 * fsynced and renamed into place, so a killed fetch never leaves one. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/appc.h"
#include "common/err.h"

struct store;

/* Opens (creating missing cas subdirs and the DB schema) the store of dir. A
 * user who cannot write cas gets "…: permission denied (is the user in group rkt?)". */
int store_open(const char *dir, struct store **ret, struct rkt_err *err);
/* Read-only open for list-style commands: never creates anything. */
int store_open_readonly(const char *dir, struct store **ret, struct rkt_err *err);
void store_close(struct store *s);

struct store_image {
	char key[APPC_KEY_LEN + 1]; /* "sha512-" + 64 hex */
	char *name;
	int64_t import_time_ns;
	int64_t last_used_ns;
	bool latest;
	uint64_t size;           /* blob bytes */
	uint64_t treestore_size; /* rendered tree bytes, 0 if none */
	char *manifest_json;     /* the image manifest as stored */
};
void store_image_done(struct store_image *img);
void store_images_free(struct store_image *imgs, size_t n);

/* A temp file in cas/tmp for an import; the name is relative to cas/tmp. */
int store_tmp_create(struct store *s, int *ret_fd, char **ret_name, struct rkt_err *err);
/* Removes a temp file (error paths). */
void store_tmp_discard(struct store *s, const char *tmp_name);
/* Makes an imported image visible: fsync the temp file, rename it to the
 * blob path of key, fsync the dir, then insert/replace its aciinfo row in
 * one transaction. `latest` as rkt: true when fetched without a version. */
int store_commit_image(struct store *s, const char *tmp_name, const char *key,
		       const char *manifest_json, const char *name, uint64_t size, bool latest,
		       struct rkt_err *err);

/* Keeps what the root helper needs to re-verify a signed image: the
 * signature covers the image bytes as served, the blob is the decompressed
 * tar. Copies sig_fd to <blob path>.asc and, when the served bytes differ
 * from the tar (compressed), orig_fd to <blob path>.orig (orig_fd -1 removes
 * a stale .orig). Each is written to cas/tmp, fsynced and renamed; call it
 * before store_commit_image makes the image visible. */
#define STORE_SIG_SUFFIX ".asc"
#define STORE_ORIG_SUFFIX ".orig"
int store_commit_signature(struct store *s, const char *key, int sig_fd, int orig_fd,
			   struct rkt_err *err);

int store_get_image(struct store *s, const char *key, struct store_image *ret, bool *found,
		    struct rkt_err *err);
/* User input "sha512-<hex>" (>= 2 hex, may be full 128): unique prefix match.
 * Errors as rkt: "no image IDs found" / "ambiguous image ID: \"<arg>\"". */
int store_resolve_id(struct store *s, const char *arg, char ret_key[APPC_KEY_LEN + 1],
		     struct rkt_err *err);
/* rkt's GetACI: images with that name whose labels match; without a version
 * label prefer latest=true, then the newest import. found=false when none. */
int store_find_by_name(struct store *s, const char *name, const struct appc_label *labels,
		       size_t n_labels, char ret_key[APPC_KEY_LEN + 1], bool *found,
		       struct rkt_err *err);
/* An image argument of `image rm/cat-manifest/export/extract/render`: an ID
 * (prefix) or name[:version][,labels]. Error names the argument. */
int store_resolve_image_arg(struct store *s, const char *arg, char ret_key[APPC_KEY_LEN + 1],
			    struct rkt_err *err);
int store_list_images(struct store *s, struct store_image **ret, size_t *ret_n,
		      struct rkt_err *err);
/* Removes the DB row, then the blob and its .asc/.orig, under the image's
 * exclusive lock. */
int store_remove_image(struct store *s, const char *key, struct rkt_err *err);
/* Opens the blob read-only (shared lock held by the returned fd's owner
 * through ret_lock_fd; close both). Updates last_used. */
int store_open_blob(struct store *s, const char *key, int *ret_fd, int *ret_lock_fd,
		    struct rkt_err *err);
/* Path of the blob relative to --dir ("cas/blob/sha512/ab/<key>"). */
char *store_blob_relpath(const char *key);

/* HTTP cache rows (remote table): ETag and Cache-Control max-age reuse. */
struct store_remote {
	char *aci_url;
	char *sig_url;
	char *etag;
	char key[APPC_KEY_LEN + 1];
	int64_t cache_max_age_s;
	int64_t download_time_ns;
};
void store_remote_done(struct store_remote *r);
int store_get_remote(struct store *s, const char *aci_url, struct store_remote *ret, bool *found,
		     struct rkt_err *err);
int store_put_remote(struct store *s, const struct store_remote *r, struct rkt_err *err);

/* Removes regular files in cas/tmp last modified before older_than_ns (the
 * leftovers of killed imports; a live import keeps its file's mtime fresh). */
int store_clean_tmp(struct store *s, int64_t older_than_ns, size_t *ret_removed,
		    struct rkt_err *err);
