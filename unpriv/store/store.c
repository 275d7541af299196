/* The image store: directories, locks, the SQLite DB and blob lifecycle.
 * Durability order for an import: temp file fsynced, renamed into its blob
 * shard, shard fsynced, and only then the aciinfo row committed; a reader
 * therefore never sees a row whose blob could vanish after a crash. */
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/lockfile.h"
#include "common/util.h"

#define STORE_SCHEMA_VERSION 1
#define STORE_BUSY_TIMEOUT_MS 30000
#define DB_NAME "rkt.sqlite"

struct store {
	char *dir;
	int casfd;    /* cas/ */
	int blobfd;   /* cas/blob/sha512/ */
	int tmpfd;    /* cas/tmp/ */
	int locksfd;  /* cas/locks/ */
	int dbdirfd;  /* cas/db/ */
	sqlite3 *db;  /* NULL only for a read-only open of a store never written */
	bool readonly;
};

static void finalizep(sqlite3_stmt **st) { sqlite3_finalize(*st); }
#define _cleanup_stmt_ __attribute__((cleanup(finalizep)))

/* ---- helpers ------------------------------------------------------------ */

static bool is_hex_lower(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

/* A full store key; anything else must never reach a path or a lock name. */
static bool key_valid(const char *key)
{
	if (!key || strncmp(key, APPC_ID_PREFIX, strlen(APPC_ID_PREFIX)) != 0 ||
	    strlen(key) != APPC_KEY_LEN)
		return false;
	for (const char *p = key + strlen(APPC_ID_PREFIX); *p; p++)
		if (!is_hex_lower(*p))
			return false;
	return true;
}

static bool tmp_name_valid(const char *name)
{
	return name && *name && !strchr(name, '/') && strcmp(name, ".") != 0 &&
	       strcmp(name, "..") != 0;
}

static int path_error(struct rkt_err *err, int e, const char *dir, const char *rel,
		      const char *what)
{
	const char *sep = *rel ? "/" : "";
	if (e == EACCES || e == EPERM)
		return rkt_error(err, EACCES, "%s %s%s%s: permission denied (is the user in group rkt?)",
				 what, dir, sep, rel);
	return rkt_error_errno(err, e, "%s %s%s%s", what, dir, sep, rel);
}

static int sqlite_errno(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return EBUSY;
	case SQLITE_READONLY:
	case SQLITE_PERM:
	case SQLITE_AUTH:
		return EACCES;
	case SQLITE_CANTOPEN:
		return ENOENT;
	case SQLITE_FULL:
		return ENOSPC;
	case SQLITE_NOMEM:
		return ENOMEM;
	default:
		return EIO;
	}
}

static int db_error(struct store *s, struct rkt_err *err, int rc, const char *what)
{
	int e = sqlite_errno(rc);
	const char *msg = s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc);
	if (e == EACCES)
		return rkt_error(err, e, "%s: %s/cas/db/" DB_NAME ": %s (is the user in group rkt?)",
				 what, s->dir, msg);
	return rkt_error(err, e, "%s: %s/cas/db/" DB_NAME ": %s", what, s->dir, msg);
}

static int prepare(struct store *s, const char *sql, sqlite3_stmt **st, struct rkt_err *err)
{
	int rc = sqlite3_prepare_v2(s->db, sql, -1, st, NULL);
	if (rc != SQLITE_OK)
		return db_error(s, err, rc, "preparing a query");
	return 0;
}

static int exec_sql(struct store *s, const char *sql, struct rkt_err *err)
{
	int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return db_error(s, err, rc, sql);
	return 0;
}

static int begin_write(struct store *s, struct rkt_err *err)
{
	return exec_sql(s, "BEGIN IMMEDIATE", err);
}

static int end_write(struct store *s, int r, struct rkt_err *err)
{
	if (r < 0) {
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
		return r;
	}
	r = exec_sql(s, "COMMIT", err);
	if (r < 0)
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return r;
}

/* Steps a statement that returns no rows. */
static int step_done(struct store *s, sqlite3_stmt *st, const char *what, struct rkt_err *err)
{
	int rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		return db_error(s, err, rc, what);
	return 0;
}

static void bind_text(sqlite3_stmt *st, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, i);
}

static char *column_strdup(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	return t ? xstrdup((const char *)t) : NULL;
}

static int require_writable(struct store *s, struct rkt_err *err)
{
	if (s->readonly || !s->db)
		return rkt_error(err, EROFS, "store %s was opened read-only", s->dir);
	return 0;
}

/* Creates dirfd/name as a group-shared directory. mkdir(2) drops S_ISGID
 * unless the parent has it, so it is set explicitly on what we created. */
static int make_shared_dir(int dirfd, const char *name)
{
	if (mkdirat(dirfd, name, 02770) < 0)
		return errno == EEXIST ? 0 : -errno;
	struct stat st;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && !(st.st_mode & S_ISGID))
		if (fchmodat(dirfd, name, (st.st_mode & 07777) | S_ISGID, 0) < 0)
			return -errno;
	return 0;
}

static int open_subdir(int dirfd, const char *rel, bool create, int *ret, const char *dir,
		       struct rkt_err *err)
{
	if (create) {
		_cleanup_free_ char *p = xstrdup(rel);
		for (char *c = p; ; c++) {
			if (*c != '/' && *c != '\0')
				continue;
			char saved = *c;
			*c = '\0';
			int r = make_shared_dir(dirfd, p);
			if (r < 0)
				return path_error(err, -r, dir, p, "creating");
			if (!saved)
				break;
			*c = saved;
		}
	}
	int fd = openat(dirfd, rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT && !create) {
			*ret = -1;
			return 0;
		}
		return path_error(err, errno, dir, rel, "opening");
	}
	*ret = fd;
	return 0;
}

static int flock_retry(int fd, int op)
{
	while (flock(fd, op) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	return 0;
}

/* Per-key lock file, removed with its image (common/lockfile.h); readers
 * that cannot create it fall back to an existing file, and a store without
 * cas/locks (or a reader that may not create the file) has nothing to
 * protect. */
static int lock_key(struct store *s, const char *key, int op, int *ret, struct rkt_err *err)
{
	*ret = -1;
	if (s->locksfd < 0)
		return 0;
	int fd = lockfile_lock(s->locksfd, key, op, 0660);
	if (fd == -ENOENT && (op & LOCK_SH))
		return 0;
	if (fd < 0) {
		_cleanup_free_ char *rel = xasprintf("cas/locks/%s", key);
		return path_error(err, -fd, s->dir, rel, "locking");
	}
	*ret = fd;
	return 0;
}

/* A change to one image: a writable store, a valid key, its lock held. */
static int lock_key_to_write(struct store *s, const char *key, int *ret_lock_fd,
			     struct rkt_err *err)
{
	int r = require_writable(s, err);
	if (r < 0)
		return r;
	if (!key_valid(key))
		return rkt_error(err, EINVAL, "invalid image key \"%s\"", key ? key : "");
	return lock_key(s, key, LOCK_EX, ret_lock_fd, err);
}

char *store_blob_relpath(const char *key)
{
	const char *hex = key + strlen(APPC_ID_PREFIX);
	return xasprintf("cas/blob/sha512/%.2s/%s", hex, key);
}

static void shard_of(const char *key, char shard[3])
{
	memcpy(shard, key + strlen(APPC_ID_PREFIX), 2);
	shard[2] = '\0';
}

/* ---- open / close ------------------------------------------------------- */

static struct store *store_new(const char *dir)
{
	struct store *s = xcalloc(1, sizeof *s);
	s->dir = xstrdup(dir);
	s->casfd = s->blobfd = s->tmpfd = s->locksfd = s->dbdirfd = -1;
	return s;
}

void store_close(struct store *s)
{
	if (!s)
		return;
	if (s->db)
		sqlite3_close_v2(s->db);
	int fds[] = { s->casfd, s->blobfd, s->tmpfd, s->locksfd, s->dbdirfd };
	for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(s->dir);
	free(s);
}

static void cleanup_storep(struct store **s) { store_close(*s); }
#define _cleanup_store_ __attribute__((cleanup(cleanup_storep)))

static int configure_connection(struct store *s, bool writable, struct rkt_err *err)
{
	int rc = sqlite3_busy_timeout(s->db, STORE_BUSY_TIMEOUT_MS);
	if (rc != SQLITE_OK)
		return db_error(s, err, rc, "setting the busy timeout");
	if (!writable)
		return 0;
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r = prepare(s, "PRAGMA journal_mode=WAL", &st, err);
	if (r < 0)
		return r;
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW)
		return db_error(s, err, rc, "switching to WAL mode");
	const char *mode = (const char *)sqlite3_column_text(st, 0);
	if (!mode || strcmp(mode, "wal") != 0)
		return rkt_error(err, EIO, "%s/cas/db/" DB_NAME ": journal mode is \"%s\", not wal",
				 s->dir, mode ? mode : "");
	return exec_sql(s, "PRAGMA synchronous=FULL", err);
}

static int schema_version(struct store *s, int64_t *ret, bool *exists, struct rkt_err *err)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	*exists = false;
	*ret = 0;
	int rc = sqlite3_prepare_v2(s->db, "SELECT version FROM version LIMIT 1", -1, &st, NULL);
	if (rc != SQLITE_OK) {
		if (strstr(sqlite3_errmsg(s->db), "no such table"))
			return 0;
		return db_error(s, err, rc, "reading the schema version");
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*exists = true;
		*ret = sqlite3_column_int64(st, 0);
		return 0;
	}
	if (rc == SQLITE_DONE)
		return 0;
	return db_error(s, err, rc, "reading the schema version");
}

static int create_schema(struct store *s, struct rkt_err *err)
{
	static const char ddl[] =
		"CREATE TABLE IF NOT EXISTS version (version INTEGER NOT NULL);"
		"CREATE TABLE IF NOT EXISTS aciinfo ("
		" blobkey TEXT PRIMARY KEY NOT NULL, name TEXT NOT NULL,"
		" importtime INTEGER NOT NULL, lastused INTEGER NOT NULL,"
		" latest INTEGER NOT NULL DEFAULT 0, size INTEGER NOT NULL DEFAULT 0,"
		" treestoresize INTEGER NOT NULL DEFAULT 0, manifest TEXT NOT NULL);"
		"CREATE INDEX IF NOT EXISTS aciinfo_name ON aciinfo (name);"
		"CREATE TABLE IF NOT EXISTS remote ("
		" aciurl TEXT PRIMARY KEY NOT NULL, sigurl TEXT, etag TEXT, blobkey TEXT,"
		" cachemaxage INTEGER NOT NULL DEFAULT 0, downloadtime INTEGER NOT NULL DEFAULT 0);";
	int r = begin_write(s, err);
	if (r < 0)
		return r;
	int64_t v;
	bool exists;
	r = schema_version(s, &v, &exists, err);
	if (r == 0 && exists && v > STORE_SCHEMA_VERSION)
		r = rkt_error(err, EPROTO,
			      "%s/cas/db/" DB_NAME ": schema version %" PRId64
			      " is newer than this rkt understands (%d)",
			      s->dir, v, STORE_SCHEMA_VERSION);
	if (r == 0 && !exists) {
		r = exec_sql(s, ddl, err);
		_cleanup_stmt_ sqlite3_stmt *st = NULL;
		if (r == 0)
			r = prepare(s, "INSERT INTO version (version) VALUES (?1)", &st, err);
		if (r == 0) {
			sqlite3_bind_int(st, 1, STORE_SCHEMA_VERSION);
			r = step_done(s, st, "writing the schema version", err);
		}
	}
	return end_write(s, r, err);
}

/* The DB file is created by us (0660) before SQLite sees it: SQLite gives
 * its -wal and -shm files the DB file's mode, so they stay group-writable. */
static int create_db_file(struct store *s, struct rkt_err *err)
{
	int fd = openat(s->dbdirfd, DB_NAME, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			0660);
	if (fd < 0) {
		if (errno == EEXIST)
			return 0;
		return path_error(err, errno, s->dir, "cas/db/" DB_NAME, "creating");
	}
	(void)fchmod(fd, 0660);
	close(fd);
	return 0;
}

/* Keeps -wal and -shm when the last connection closes: every rkt command
 * is a last connection, and creating, chowning and unlinking both files
 * each time is most of what a one-row lookup costs. */
static void keep_wal(sqlite3 *db)
{
	int persist = 1;
	(void)sqlite3_file_control(db, "main", SQLITE_FCNTL_PERSIST_WAL, &persist);
}

static int open_db(struct store *s, bool writable, struct rkt_err *err)
{
	_cleanup_free_ char *path = xasprintf("%s/cas/db/" DB_NAME, s->dir);
	int flags = (writable ? SQLITE_OPEN_READWRITE : SQLITE_OPEN_READONLY) |
		    SQLITE_OPEN_NOMUTEX;
	int rc = sqlite3_open_v2(path, &s->db, flags, NULL);
	if (rc != SQLITE_OK) {
		int r = db_error(s, err, rc, "opening the image database");
		sqlite3_close_v2(s->db);
		s->db = NULL;
		return r;
	}
	sqlite3_extended_result_codes(s->db, 0);
	keep_wal(s->db);
	return configure_connection(s, writable, err);
}

int store_open(const char *dir, struct store **ret, struct rkt_err *err)
{
	_cleanup_store_ struct store *s = store_new(dir);
	int r = mkdir_p_at(AT_FDCWD, dir, 0750);
	if (r < 0)
		return path_error(err, -r, dir, "", "creating");
	_cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return path_error(err, errno, dir, "", "opening");
	r = open_subdir(dfd, "cas", true, &s->casfd, dir, err);
	if (r == 0)
		r = open_subdir(s->casfd, "blob/sha512", true, &s->blobfd, dir, err);
	if (r == 0)
		r = open_subdir(s->casfd, "tmp", true, &s->tmpfd, dir, err);
	if (r == 0)
		r = open_subdir(s->casfd, "locks", true, &s->locksfd, dir, err);
	if (r == 0)
		r = open_subdir(s->casfd, "db", true, &s->dbdirfd, dir, err);
	if (r < 0)
		return r;
	r = create_db_file(s, err);
	if (r < 0)
		return r;
	/* Serialises first-time WAL switch and schema creation between racing
	 * first users of a fresh store; later opens pass through at once. */
	r = flock_retry(s->dbdirfd, LOCK_EX);
	if (r < 0)
		return path_error(err, -r, dir, "cas/db", "locking");
	r = open_db(s, true, err);
	if (r == 0)
		r = create_schema(s, err);
	(void)flock(s->dbdirfd, LOCK_UN);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(s);
	return 0;
}

int store_open_readonly(const char *dir, struct store **ret, struct rkt_err *err)
{
	_cleanup_store_ struct store *s = store_new(dir);
	s->readonly = true;
	_cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		if (errno != ENOENT)
			return path_error(err, errno, dir, "", "opening");
		*ret = TAKE_PTR(s);
		return 0;
	}
	int r = open_subdir(dfd, "cas", false, &s->casfd, dir, err);
	if (r == 0 && s->casfd >= 0) {
		r = open_subdir(s->casfd, "blob/sha512", false, &s->blobfd, dir, err);
		if (r == 0)
			r = open_subdir(s->casfd, "locks", false, &s->locksfd, dir, err);
		if (r == 0)
			r = open_subdir(s->casfd, "db", false, &s->dbdirfd, dir, err);
	}
	if (r < 0)
		return r;
	struct stat st;
	if (s->dbdirfd >= 0 && fstatat(s->dbdirfd, DB_NAME, &st, 0) == 0 && st.st_size > 0) {
		/* Read-write when allowed, so a WAL reader can map the shared
		 * index; read-only otherwise. Neither creates the DB. */
		_cleanup_free_ char *path = xasprintf("%s/cas/db/" DB_NAME, dir);
		if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
				    NULL) != SQLITE_OK) {
			sqlite3_close_v2(s->db);
			s->db = NULL;
			r = open_db(s, false, err);
			if (r < 0)
				return r;
		}
		keep_wal(s->db);
		sqlite3_busy_timeout(s->db, STORE_BUSY_TIMEOUT_MS);
		int64_t v;
		bool exists;
		r = schema_version(s, &v, &exists, err);
		if (r < 0)
			return r;
		if (!exists) {
			sqlite3_close_v2(s->db);
			s->db = NULL;
		} else if (v > STORE_SCHEMA_VERSION) {
			return rkt_error(err, EPROTO,
					 "%s/cas/db/" DB_NAME ": schema version %" PRId64
					 " is newer than this rkt understands (%d)",
					 dir, v, STORE_SCHEMA_VERSION);
		}
	}
	*ret = TAKE_PTR(s);
	return 0;
}

/* ---- images: rows ------------------------------------------------------- */

#define IMAGE_COLUMNS "blobkey, name, importtime, lastused, latest, size, treestoresize, manifest"

void store_image_done(struct store_image *img)
{
	if (!img)
		return;
	free(img->name);
	free(img->manifest_json);
	img->name = img->manifest_json = NULL;
}

void store_images_free(struct store_image *imgs, size_t n)
{
	for (size_t i = 0; imgs && i < n; i++)
		store_image_done(&imgs[i]);
	free(imgs);
}

static void row_to_image(sqlite3_stmt *st, struct store_image *img)
{
	memset(img, 0, sizeof *img);
	const unsigned char *k = sqlite3_column_text(st, 0);
	snprintf(img->key, sizeof img->key, "%s", k ? (const char *)k : "");
	img->name = column_strdup(st, 1);
	if (!img->name)
		img->name = xstrdup("");
	img->import_time_ns = sqlite3_column_int64(st, 2);
	img->last_used_ns = sqlite3_column_int64(st, 3);
	img->latest = sqlite3_column_int(st, 4) != 0;
	img->size = (uint64_t)sqlite3_column_int64(st, 5);
	img->treestore_size = (uint64_t)sqlite3_column_int64(st, 6);
	img->manifest_json = column_strdup(st, 7);
	if (!img->manifest_json)
		img->manifest_json = xstrdup("");
}

int store_get_image(struct store *s, const char *key, struct store_image *ret, bool *found,
		    struct rkt_err *err)
{
	*found = false;
	if (!s->db || !key_valid(key))
		return 0;
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r = prepare(s, "SELECT " IMAGE_COLUMNS " FROM aciinfo WHERE blobkey = ?1", &st, err);
	if (r < 0)
		return r;
	bind_text(st, 1, key);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return 0;
	if (rc != SQLITE_ROW)
		return db_error(s, err, rc, "reading image info");
	row_to_image(st, ret);
	*found = true;
	return 0;
}

int store_list_images(struct store *s, struct store_image **ret, size_t *ret_n,
		      struct rkt_err *err)
{
	*ret = NULL;
	*ret_n = 0;
	if (!s->db)
		return 0;
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r = prepare(s, "SELECT " IMAGE_COLUMNS " FROM aciinfo ORDER BY importtime, blobkey",
			&st, err);
	if (r < 0)
		return r;
	struct store_image *v = NULL;
	size_t n = 0;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		v = xrealloc(v, (n + 1) * sizeof *v);
		row_to_image(st, &v[n++]);
	}
	if (rc != SQLITE_DONE) {
		store_images_free(v, n);
		return db_error(s, err, rc, "listing images");
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

int store_resolve_id(struct store *s, const char *arg, char ret_key[APPC_KEY_LEN + 1],
		     struct rkt_err *err)
{
	char prefix[APPC_KEY_LEN + 1];
	if (!arg || strncmp(arg, APPC_ID_PREFIX, strlen(APPC_ID_PREFIX)) != 0)
		return rkt_error(err, EINVAL, "image ID \"%s\": wrong key prefix (want sha512-)",
				 arg ? arg : "");
	if (strlen(arg) < strlen(APPC_ID_PREFIX) + 2)
		return rkt_error(err, EINVAL, "image ID \"%s\" too short", arg);
	if (appc_id_to_key_prefix(arg, prefix) < 0)
		return rkt_error(err, EINVAL, "image ID \"%s\" is not lowercase hex", arg);
	if (!s->db)
		return rkt_error(err, ENOENT, "no image IDs found matching \"%s\"", arg);
	/* Keys are lowercase hex, all below 'g': [prefix, prefix+"g") is
	 * exactly the keys that start with prefix, and uses the key index. */
	_cleanup_free_ char *upper = xasprintf("%sg", prefix);
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r = prepare(s,
			"SELECT blobkey FROM aciinfo WHERE blobkey >= ?1 AND blobkey < ?2 "
			"ORDER BY blobkey LIMIT 2",
			&st, err);
	if (r < 0)
		return r;
	bind_text(st, 1, prefix);
	bind_text(st, 2, upper);
	size_t n = 0;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n++ == 0)
			snprintf(ret_key, APPC_KEY_LEN + 1, "%s", sqlite3_column_text(st, 0));
	}
	if (rc != SQLITE_DONE)
		return db_error(s, err, rc, "resolving an image ID");
	if (n == 0)
		return rkt_error(err, ENOENT, "no image IDs found matching \"%s\"", arg);
	if (n > 1)
		return rkt_error(err, EINVAL, "ambiguous image ID: \"%s\"", arg);
	return 0;
}

/* True when every requested label is in the stored manifest with that value. */
static bool manifest_labels_match(const char *manifest, const struct appc_label *labels,
				  size_t n_labels)
{
	if (n_labels == 0)
		return true;
	json_t *root = json_loads(manifest ? manifest : "", 0, NULL);
	if (!root)
		return false;
	json_t *arr = json_object_get(root, "labels");
	bool ok = true;
	for (size_t i = 0; ok && i < n_labels; i++) {
		bool hit = false;
		size_t k;
		json_t *lab;
		json_array_foreach(arr, k, lab) {
			const char *n = json_string_value(json_object_get(lab, "name"));
			const char *v = json_string_value(json_object_get(lab, "value"));
			if (n && v && strcmp(n, labels[i].name) == 0) {
				hit = strcmp(v, labels[i].value) == 0;
				break;
			}
		}
		ok = hit;
	}
	json_decref(root);
	return ok;
}

int store_find_by_name(struct store *s, const char *name, const struct appc_label *labels,
		       size_t n_labels, char ret_key[APPC_KEY_LEN + 1], bool *found,
		       struct rkt_err *err)
{
	*found = false;
	if (!s->db)
		return 0;
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r = prepare(s,
			"SELECT blobkey, latest, manifest FROM aciinfo WHERE name = ?1 "
			"ORDER BY importtime DESC, blobkey",
			&st, err);
	if (r < 0)
		return r;
	bind_text(st, 1, name);
	bool want_latest = appc_labels_get(labels, n_labels, "version") == NULL;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (!manifest_labels_match((const char *)sqlite3_column_text(st, 2), labels,
					   n_labels))
			continue;
		bool latest = sqlite3_column_int(st, 1) != 0;
		/* Rows come newest first: the first match is the answer unless a
		 * later (older) one is marked latest and no version was asked for. */
		if (!*found || (want_latest && latest)) {
			snprintf(ret_key, APPC_KEY_LEN + 1, "%s", sqlite3_column_text(st, 0));
			*found = true;
		}
		if (!want_latest || latest)
			break;
	}
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return db_error(s, err, rc, "looking up an image by name");
	return 0;
}

int store_resolve_image_arg(struct store *s, const char *arg, char ret_key[APPC_KEY_LEN + 1],
			    struct rkt_err *err)
{
	if (appc_is_hash(arg))
		return store_resolve_id(s, arg, ret_key, err);
	struct appc_image_ref ref = { 0 };
	int r = appc_image_ref_parse(arg, false, &ref, err);
	if (r < 0)
		return rkt_error_wrap(err, "image \"%s\"", arg);
	bool found = false;
	r = store_find_by_name(s, ref.name, ref.labels, ref.n_labels, ret_key, &found, err);
	appc_image_ref_done(&ref);
	if (r < 0)
		return r;
	if (!found)
		return rkt_error(err, ENOENT, "no image found for \"%s\"", arg);
	return 0;
}

/* ---- images: blobs ------------------------------------------------------ */

int store_tmp_create(struct store *s, int *ret_fd, char **ret_name, struct rkt_err *err)
{
	int r = require_writable(s, err);
	if (r < 0)
		return r;
	for (int tries = 0; tries < 16; tries++) {
		char rnd[33];
		r = random_hex(rnd, 16);
		if (r < 0)
			return rkt_error_errno(err, -r, "getrandom");
		int fd = openat(s->tmpfd, rnd, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
				0660);
		if (fd >= 0) {
			*ret_fd = fd;
			*ret_name = xstrdup(rnd);
			return 0;
		}
		if (errno != EEXIST)
			return path_error(err, errno, s->dir, "cas/tmp", "creating a file in");
	}
	return rkt_error(err, EEXIST, "cannot create a temporary file in %s/cas/tmp", s->dir);
}

void store_tmp_discard(struct store *s, const char *tmp_name)
{
	if (s && s->tmpfd >= 0 && tmp_name_valid(tmp_name))
		(void)unlinkat(s->tmpfd, tmp_name, 0);
}

static int insert_image_row(struct store *s, const char *key, const char *manifest_json,
			    const char *name, uint64_t size, bool latest, struct rkt_err *err)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	/* An upsert rather than REPLACE: a re-import refreshes the row but
	 * keeps what only the tree store knows (treestoresize). */
	int r = prepare(s,
			"INSERT INTO aciinfo (blobkey, name, importtime, lastused, latest, size,"
			" treestoresize, manifest) VALUES (?1, ?2, ?3, ?3, ?4, ?5, 0, ?6)"
			" ON CONFLICT (blobkey) DO UPDATE SET name = excluded.name,"
			" importtime = excluded.importtime, lastused = excluded.lastused,"
			" latest = excluded.latest, size = excluded.size,"
			" manifest = excluded.manifest",
			&st, err);
	if (r < 0)
		return r;
	bind_text(st, 1, key);
	bind_text(st, 2, name);
	sqlite3_bind_int64(st, 3, now_realtime_ns());
	sqlite3_bind_int(st, 4, latest ? 1 : 0);
	sqlite3_bind_int64(st, 5, (sqlite3_int64)size);
	bind_text(st, 6, manifest_json);
	r = begin_write(s, err);
	if (r < 0)
		return r;
	r = step_done(s, st, "recording the image", err);
	return end_write(s, r, err);
}

static int open_shard(struct store *s, const char *key, bool create, int *ret,
		      struct rkt_err *err)
{
	char shard[3];
	shard_of(key, shard);
	if (create) {
		int r = make_shared_dir(s->blobfd, shard);
		if (r < 0) {
			_cleanup_free_ char *rel = xasprintf("cas/blob/sha512/%s", shard);
			return path_error(err, -r, s->dir, rel, "creating");
		}
	}
	int fd = openat(s->blobfd, shard, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		_cleanup_free_ char *rel = xasprintf("cas/blob/sha512/%s", shard);
		return path_error(err, errno, s->dir, rel, "opening");
	}
	*ret = fd;
	return 0;
}

int store_commit_image(struct store *s, const char *tmp_name, const char *key,
		       const char *manifest_json, const char *name, uint64_t size, bool latest,
		       struct rkt_err *err)
{
	if (!tmp_name_valid(tmp_name))
		return rkt_error(err, EINVAL, "invalid temporary file name \"%s\"",
				 tmp_name ? tmp_name : "");
	if (!name || !*name || !manifest_json)
		return rkt_error(err, EINVAL, "image %s: missing name or manifest", key ? key : "");
	_cleanup_close_ int lock_fd = -1;
	int r = lock_key_to_write(s, key, &lock_fd, err);
	if (r < 0)
		return r;
	{
		_cleanup_close_ int fd = openat(s->tmpfd, tmp_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 || fsync(fd) < 0) {
			_cleanup_free_ char *rel = xasprintf("cas/tmp/%s", tmp_name);
			return path_error(err, errno, s->dir, rel, "syncing");
		}
	}
	_cleanup_close_ int shard_fd = -1;
	r = open_shard(s, key, true, &shard_fd, err);
	if (r < 0)
		return r;
	if (renameat(s->tmpfd, tmp_name, shard_fd, key) < 0) {
		_cleanup_free_ char *rel = store_blob_relpath(key);
		return path_error(err, errno, s->dir, rel, "moving the image into");
	}
	if (fsync(shard_fd) < 0) {
		_cleanup_free_ char *rel = store_blob_relpath(key);
		return path_error(err, errno, s->dir, rel, "syncing the directory of");
	}
	r = insert_image_row(s, key, manifest_json, name, size, latest, err);
	if (r < 0)
		return rkt_error_wrap(err, "image %s", key);
	return 0;
}

/* ---- images: signatures kept for the root helper ------------------------ */

/* Copies src (from its start) into a new cas/tmp file, fsynced. */
static int copy_to_tmp(struct store *s, int src_fd, char **ret_name, struct rkt_err *err)
{
	if (lseek(src_fd, 0, SEEK_SET) < 0)
		return rkt_error_errno(err, errno, "rewinding a file to keep in the store");
	int fd = -1;
	_cleanup_free_ char *name = NULL;
	int r = store_tmp_create(s, &fd, &name, err);
	if (r < 0)
		return r;
	for (;;) {
		ssize_t n = copy_file_range(src_fd, NULL, fd, NULL, 1 << 30, 0);
		if (n == 0)
			break;
		if (n > 0)
			continue;
		if (errno == EINTR)
			continue;
		if (errno != EXDEV && errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP) {
			r = -errno;
			break;
		}
		/* Different file systems or kinds: a plain copy. */
		char buf[1 << 16];
		ssize_t k;
		while ((k = read(src_fd, buf, sizeof buf)) > 0 || (k < 0 && errno == EINTR))
			if (k > 0 && (r = write_all(fd, buf, (size_t)k)) < 0)
				break;
		if (r == 0 && k < 0)
			r = -errno;
		break;
	}
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	close(fd);
	if (r < 0) {
		store_tmp_discard(s, name);
		_cleanup_free_ char *rel = xasprintf("cas/tmp/%s", name);
		return path_error(err, -r, s->dir, rel, "writing");
	}
	*ret_name = TAKE_PTR(name);
	return 0;
}

/* Renames cas/tmp/tmp_name to <key><suffix> in the shard; on failure the
 * temp file is removed. */
static int place_side_file(struct store *s, int shard_fd, const char *key, const char *suffix,
			   const char *tmp_name, struct rkt_err *err)
{
	_cleanup_free_ char *base = xasprintf("%s%s", key, suffix);
	if (renameat(s->tmpfd, tmp_name, shard_fd, base) == 0)
		return 0;
	int e = errno;
	store_tmp_discard(s, tmp_name);
	_cleanup_free_ char *blob = store_blob_relpath(key);
	_cleanup_free_ char *rel = xasprintf("%s%s", blob, suffix);
	return path_error(err, e, s->dir, rel, "moving into");
}

int store_commit_signature(struct store *s, const char *key, int sig_fd, int orig_fd,
			   struct rkt_err *err)
{
	_cleanup_close_ int lock_fd = -1;
	int r = lock_key_to_write(s, key, &lock_fd, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *sig_tmp = NULL, *orig_tmp = NULL;
	r = copy_to_tmp(s, sig_fd, &sig_tmp, err);
	if (r < 0)
		return r;
	if (orig_fd >= 0) {
		r = copy_to_tmp(s, orig_fd, &orig_tmp, err);
		if (r < 0) {
			store_tmp_discard(s, sig_tmp);
			return r;
		}
	}
	_cleanup_close_ int shard_fd = -1;
	r = open_shard(s, key, true, &shard_fd, err);
	if (r < 0) {
		store_tmp_discard(s, sig_tmp);
		store_tmp_discard(s, orig_tmp);
		return r;
	}
	/* The pair must match: a stale .orig beside a new .asc would make the
	 * helper check the new signature against old bytes (it then refuses,
	 * which is safe but wrong). The .orig goes in first. */
	if (orig_tmp)
		r = place_side_file(s, shard_fd, key, STORE_ORIG_SUFFIX, orig_tmp, err);
	else {
		_cleanup_free_ char *base = xasprintf("%s%s", key, STORE_ORIG_SUFFIX);
		if (unlinkat(shard_fd, base, 0) < 0 && errno != ENOENT) {
			_cleanup_free_ char *blob = store_blob_relpath(key);
			_cleanup_free_ char *rel = xasprintf("%s%s", blob, STORE_ORIG_SUFFIX);
			r = path_error(err, errno, s->dir, rel, "removing");
		}
	}
	if (r < 0) {
		store_tmp_discard(s, sig_tmp);
		return r;
	}
	r = place_side_file(s, shard_fd, key, STORE_SIG_SUFFIX, sig_tmp, err);
	if (r < 0)
		return r;
	if (fsync(shard_fd) < 0) {
		_cleanup_free_ char *rel = store_blob_relpath(key);
		return path_error(err, errno, s->dir, rel, "syncing the directory of");
	}
	return 0;
}

/* The signature files of a removed image; a missing one is fine. */
static int remove_side_files(struct store *s, int shard_fd, const char *key, struct rkt_err *err)
{
	static const char *const suffixes[] = { STORE_SIG_SUFFIX, STORE_ORIG_SUFFIX };
	for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
		_cleanup_free_ char *base = xasprintf("%s%s", key, suffixes[i]);
		if (unlinkat(shard_fd, base, 0) < 0 && errno != ENOENT) {
			_cleanup_free_ char *blob = store_blob_relpath(key);
			_cleanup_free_ char *rel = xasprintf("%s%s", blob, suffixes[i]);
			return path_error(err, errno, s->dir, rel, "removing");
		}
	}
	return 0;
}

/* store_remove_image under the key's exclusive lock. */
static int remove_image_locked(struct store *s, const char *key, struct rkt_err *err)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r = prepare(s, "DELETE FROM aciinfo WHERE blobkey = ?1", &st, err);
	if (r < 0)
		return r;
	bind_text(st, 1, key);
	r = begin_write(s, err);
	if (r < 0)
		return r;
	r = step_done(s, st, "removing the image record", err);
	int changes = r == 0 ? sqlite3_changes(s->db) : 0;
	r = end_write(s, r, err);
	if (r < 0)
		return rkt_error_wrap(err, "image %s", key);
	_cleanup_close_ int shard_fd = -1;
	char shard[3];
	shard_of(key, shard);
	shard_fd = openat(s->blobfd, shard, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	bool had_blob = false;
	if (shard_fd >= 0) {
		r = remove_side_files(s, shard_fd, key, err);
		if (r < 0)
			return r;
		if (unlinkat(shard_fd, key, 0) == 0) {
			had_blob = true;
			(void)fsync(shard_fd);
		} else if (errno != ENOENT) {
			_cleanup_free_ char *rel = store_blob_relpath(key);
			return path_error(err, errno, s->dir, rel, "removing");
		}
	}
	if (!changes && !had_blob)
		return rkt_error(err, ENOENT, "no image with ID \"%s\" in the store", key);
	return 0;
}

int store_remove_image(struct store *s, const char *key, struct rkt_err *err)
{
	_cleanup_close_ int lock_fd = -1;
	int r = lock_key_to_write(s, key, &lock_fd, err);
	if (r < 0)
		return r;
	r = remove_image_locked(s, key, err);
	/* The image is gone (or never was): its lock file goes too, while it
	 * is still held (common/lockfile.h). */
	if ((r == 0 || r == -ENOENT) && lock_fd >= 0)
		(void)lockfile_remove(s->locksfd, key);
	return r;
}

int store_open_blob(struct store *s, const char *key, int *ret_fd, int *ret_lock_fd,
		    struct rkt_err *err)
{
	if (!key_valid(key))
		return rkt_error(err, EINVAL, "invalid image key \"%s\"", key ? key : "");
	_cleanup_free_ char *rel = store_blob_relpath(key);
	if (s->blobfd < 0)
		return rkt_error(err, ENOENT, "image %s: %s/%s is missing", key, s->dir, rel);
	_cleanup_close_ int lock_fd = -1;
	int r = lock_key(s, key, LOCK_SH, &lock_fd, err);
	if (r < 0)
		return r;
	const char *inshard = rel + strlen("cas/blob/sha512/");
	int fd = openat(s->blobfd, inshard, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return rkt_error(err, ENOENT, "image %s: %s/%s is missing", key, s->dir,
					 rel);
		return path_error(err, errno, s->dir, rel, "opening");
	}
	if (s->db) {
		/* Best effort: a reader without write access still gets the blob. */
		sqlite3_stmt *st = NULL;
		if (sqlite3_prepare_v2(s->db, "UPDATE aciinfo SET lastused = ?1 WHERE blobkey = ?2",
				       -1, &st, NULL) == SQLITE_OK) {
			sqlite3_bind_int64(st, 1, now_realtime_ns());
			bind_text(st, 2, key);
			(void)sqlite3_step(st);
		}
		sqlite3_finalize(st);
	}
	*ret_fd = fd;
	*ret_lock_fd = TAKE_FD(lock_fd);
	return 0;
}

int store_clean_tmp(struct store *s, int64_t older_than_ns, size_t *ret_removed,
		    struct rkt_err *err)
{
	*ret_removed = 0;
	int r = require_writable(s, err);
	if (r < 0)
		return r;
	int fd = openat(s->tmpfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return path_error(err, errno, s->dir, "cas/tmp", "opening");
	_cleanup_closedir_ DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return path_error(err, errno, s->dir, "cas/tmp", "reading");
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		struct stat st;
		if (fstatat(s->tmpfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		int64_t mtime = (int64_t)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
		if (mtime >= older_than_ns)
			continue;
		if (unlinkat(s->tmpfd, de->d_name, 0) == 0)
			(*ret_removed)++;
		else if (errno != ENOENT) {
			_cleanup_free_ char *rel = xasprintf("cas/tmp/%s", de->d_name);
			return path_error(err, errno, s->dir, rel, "removing");
		}
	}
	return 0;
}

/* ---- remote (HTTP cache) rows ------------------------------------------- */

void store_remote_done(struct store_remote *r)
{
	if (!r)
		return;
	free(r->aci_url);
	free(r->sig_url);
	free(r->etag);
	r->aci_url = r->sig_url = r->etag = NULL;
}

int store_get_remote(struct store *s, const char *aci_url, struct store_remote *ret, bool *found,
		     struct rkt_err *err)
{
	*found = false;
	if (!s->db)
		return 0;
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r = prepare(s,
			"SELECT aciurl, sigurl, etag, blobkey, cachemaxage, downloadtime"
			" FROM remote WHERE aciurl = ?1",
			&st, err);
	if (r < 0)
		return r;
	bind_text(st, 1, aci_url);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return 0;
	if (rc != SQLITE_ROW)
		return db_error(s, err, rc, "reading the remote cache");
	memset(ret, 0, sizeof *ret);
	ret->aci_url = column_strdup(st, 0);
	ret->sig_url = column_strdup(st, 1);
	ret->etag = column_strdup(st, 2);
	const unsigned char *k = sqlite3_column_text(st, 3);
	snprintf(ret->key, sizeof ret->key, "%s", k ? (const char *)k : "");
	ret->cache_max_age_s = sqlite3_column_int64(st, 4);
	ret->download_time_ns = sqlite3_column_int64(st, 5);
	*found = true;
	return 0;
}

int store_put_remote(struct store *s, const struct store_remote *rem, struct rkt_err *err)
{
	int r = require_writable(s, err);
	if (r < 0)
		return r;
	if (!rem->aci_url || !*rem->aci_url)
		return rkt_error(err, EINVAL, "remote cache entry without a URL");
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	r = prepare(s,
		    "INSERT OR REPLACE INTO remote (aciurl, sigurl, etag, blobkey, cachemaxage,"
		    " downloadtime) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
		    &st, err);
	if (r < 0)
		return r;
	bind_text(st, 1, rem->aci_url);
	bind_text(st, 2, rem->sig_url);
	bind_text(st, 3, rem->etag);
	bind_text(st, 4, rem->key);
	sqlite3_bind_int64(st, 5, rem->cache_max_age_s);
	sqlite3_bind_int64(st, 6, rem->download_time_ns);
	r = begin_write(s, err);
	if (r < 0)
		return r;
	r = step_done(s, st, "recording the remote cache", err);
	return end_write(s, r, err);
}
