/* Read-only store DB lookups for dependency resolution. The DB is written by
 * members of group rkt, so whatever it answers is only a candidate: the
 * renderer then hashes that blob and checks its manifest itself. */
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/beneath.h"
#include "common/cleanup.h"
#include "common/manifest.h"
#include "common/util.h"
#include "privhelper/render/render.h"

#define DB_REL "cas/db/rkt.sqlite"
#define DB_BUSY_MS 10000

static void finalizep(sqlite3_stmt **st) { sqlite3_finalize(*st); }
#define _cleanup_stmt_ __attribute__((cleanup(finalizep)))

static int db_fail(sqlite3 *db, struct rkt_err *err, const char *what)
{
	return rkt_error(err, EIO, "store DB: %s: %s", what, sqlite3_errmsg(db));
}

int rdb_open(int dirfd, const char *dir, sqlite3 **ret, struct rkt_err *err)
{
	*ret = NULL;
	/* The DB's path is the helper's own --dir; the file must be a regular
	 * file reached without a symlink (sqlite opens by name, so this check
	 * and NOFOLLOW below keep it from being pointed elsewhere). */
	int fd = open_beneath(dirfd, DB_REL, O_PATH, 0);
	if (fd < 0) {
		if (fd == -ENOENT)
			return 0;
		return rkt_error_errno(err, -fd, "%s/%s", dir, DB_REL);
	}
	struct stat st;
	int r = fstat(fd, &st);
	close(fd);
	if (r < 0 || !S_ISREG(st.st_mode))
		return rkt_error(err, EINVAL, "%s/%s is not a regular file", dir, DB_REL);
	_cleanup_free_ char *path = xasprintf("%s/%s", dir, DB_REL);
	sqlite3 *db = NULL;
	int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOFOLLOW, NULL);
	if (rc != SQLITE_OK) {
		r = rkt_error(err, EIO, "store DB %s: %s", path,
			      db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		sqlite3_close(db);
		return r;
	}
	sqlite3_busy_timeout(db, DB_BUSY_MS);
	if (sqlite3_exec(db, "PRAGMA query_only = 1", NULL, NULL, NULL) != SQLITE_OK) {
		r = db_fail(db, err, "query_only");
		sqlite3_close(db);
		return r;
	}
	*ret = db;
	return 0;
}

void rdb_close(sqlite3 *db)
{
	sqlite3_close(db);
}

int rdb_manifest(sqlite3 *db, const char *key, char **ret_json, bool *found, struct rkt_err *err)
{
	*found = false;
	*ret_json = NULL;
	if (!db)
		return 0;
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db, "SELECT manifest FROM aciinfo WHERE blobkey = ?1", -1, &st,
			       NULL) != SQLITE_OK)
		return db_fail(db, err, "reading a manifest");
	sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return 0;
	if (rc != SQLITE_ROW)
		return db_fail(db, err, "reading a manifest");
	const char *m = (const char *)sqlite3_column_text(st, 0);
	if (!m)
		return 0;
	*ret_json = xstrdup(m);
	*found = true;
	return 0;
}

int rdb_resolve_prefix(sqlite3 *db, const char *prefix, char ret[APPC_KEY_LEN + 1], bool *found,
		       struct rkt_err *err)
{
	*found = false;
	if (!db)
		return 0;
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db,
			       "SELECT blobkey FROM aciinfo WHERE substr(blobkey, 1, length(?1)) = ?1 "
			       "LIMIT 2",
			       -1, &st, NULL) != SQLITE_OK)
		return db_fail(db, err, "resolving an image ID");
	sqlite3_bind_text(st, 1, prefix, -1, SQLITE_TRANSIENT);
	int n = 0, rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *k = (const char *)sqlite3_column_text(st, 0);
		if (n++ == 0)
			snprintf(ret, APPC_KEY_LEN + 1, "%s", k ? k : "");
	}
	if (rc != SQLITE_DONE)
		return db_fail(db, err, "resolving an image ID");
	if (n > 1)
		return rkt_error(err, EINVAL, "ambiguous image ID: \"%s\"", prefix);
	*found = n == 1;
	return 0;
}

static bool labels_match(const char *json, const struct appc_label *labels, size_t n)
{
	if (n == 0)
		return true;
	struct image_manifest *m = NULL;
	if (!json || image_manifest_parse(json, strlen(json), &m, NULL) < 0)
		return false;
	bool ok = true;
	for (size_t i = 0; ok && i < n; i++) {
		const char *v = image_manifest_label(m, labels[i].name);
		ok = v && strcmp(v, labels[i].value) == 0;
	}
	image_manifest_free(m);
	return ok;
}

static const char *label_get(const struct appc_label *labels, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(labels[i].name, name) == 0)
			return labels[i].value;
	return NULL;
}

int rdb_find_by_name(sqlite3 *db, const char *name, const struct appc_label *labels,
		     size_t n_labels, char ret[APPC_KEY_LEN + 1], bool *found, struct rkt_err *err)
{
	*found = false;
	if (!db)
		return 0;
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db,
			       "SELECT blobkey, latest, manifest FROM aciinfo WHERE name = ?1 "
			       "ORDER BY importtime DESC, blobkey",
			       -1, &st, NULL) != SQLITE_OK)
		return db_fail(db, err, "looking up an image by name");
	sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
	bool want_latest = label_get(labels, n_labels, "version") == NULL;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *k = (const char *)sqlite3_column_text(st, 0);
		if (!k || !labels_match((const char *)sqlite3_column_text(st, 2), labels, n_labels))
			continue;
		bool latest = sqlite3_column_int(st, 1) != 0;
		/* Newest first: the first match wins unless an older one is
		 * marked latest and no version was asked for (the store's rule). */
		if (!*found || (want_latest && latest)) {
			snprintf(ret, APPC_KEY_LEN + 1, "%s", k);
			*found = true;
		}
		if (!want_latest || latest)
			break;
	}
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return db_fail(db, err, "looking up an image by name");
	return 0;
}
