/* ACI import (one streaming pass + a header-only validation pass) and safe
 * extraction beneath a directory (DESIGN §7, appc-oci.md §1). */
#include "common/aci_archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"

#define IMPORT_BLOCK (1u << 20)     /* read size of the streaming pass */
#define SCAN_BLOCK (64u << 10)      /* header pass: small reads, seeks over data */
#define WRITEBACK_EVERY (8u << 20)  /* start writeback this often */
#define PROGRESS_EVERY (4u << 20)
#define ROOTFS_PREFIX "rootfs/"
#define ROOTFS_PREFIX_LEN (sizeof(ROOTFS_PREFIX) - 1)

void aci_limits_default(struct aci_limits *l)
{
	l->max_entry_size = 4ull << 30;
	l->max_total_size = 32ull << 30;
	l->max_entries = 1000000;
}

void aci_import_done(struct aci_import *imp)
{
	if (!imp)
		return;
	free(imp->manifest_json);
	imp->manifest_json = NULL;
	imp->manifest_len = 0;
	image_manifest_free(imp->manifest);
	imp->manifest = NULL;
}

static void cleanup_archivep(struct archive **a)
{
	if (*a)
		archive_read_free(*a);
}
#define _cleanup_archive_ __attribute__((cleanup(cleanup_archivep)))

/* ---- entry names in messages ------------------------------------------- */

/* Entry names come from the archive: keep the message on one line and of
 * bounded length whatever bytes they hold. */
static void quote_name(const char *s, char *buf, size_t len)
{
	size_t o = 0;
	/* room left for one "\\xNN", a trailing "..." and the NUL */
	for (; s && *s && o + 12 < len; s++) {
		unsigned char c = (unsigned char)*s;
		if (c < 0x20 || c == 0x7f || c == '"' || c == '\\')
			o += (size_t)snprintf(buf + o, len - o, "\\x%02x", c);
		else
			buf[o++] = (char)c;
	}
	if (s && *s) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = '\0';
}

static int entry_error(struct rkt_err *err, int errnum, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int entry_error(struct rkt_err *err, int errnum, const char *name, const char *fmt, ...)
{
	char q[300], reason[600];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof reason, fmt, ap);
	va_end(ap);
	quote_name(name, q, sizeof q);
	return rkt_error(err, errnum, "entry \"%s\": %s", q, reason);
}

/* ---- path sets ----------------------------------------------------------- */

enum path_type { PT_NONE, PT_DIR, PT_REG, PT_SYMLINK, PT_OTHER };

struct path_slot {
	char *path;
	uint64_t hash;
	unsigned char type;
};

struct path_set {
	struct path_slot *slots;
	size_t cap, n;
};

static uint64_t hash_bytes(const char *p, size_t len)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)p[i]) * 1099511628211ull;
	return h;
}

static struct path_slot *path_set_find(struct path_set *s, const char *p, size_t len, uint64_t h)
{
	if (!s->cap)
		return NULL;
	for (size_t i = h & (s->cap - 1);; i = (i + 1) & (s->cap - 1)) {
		struct path_slot *sl = &s->slots[i];
		if (!sl->path)
			return sl;
		if (sl->hash == h && strncmp(sl->path, p, len) == 0 && sl->path[len] == '\0')
			return sl;
	}
}

static enum path_type path_set_get(struct path_set *s, const char *p, size_t len)
{
	struct path_slot *sl = path_set_find(s, p, len, hash_bytes(p, len));
	return sl && sl->path ? sl->type : PT_NONE;
}

static void path_set_grow(struct path_set *s)
{
	struct path_set ns = { .cap = s->cap ? s->cap * 2 : 1024 };
	ns.slots = xcalloc(ns.cap, sizeof *ns.slots);
	for (size_t i = 0; i < s->cap; i++) {
		struct path_slot *o = &s->slots[i];
		if (!o->path)
			continue;
		*path_set_find(&ns, o->path, strlen(o->path), o->hash) = *o;
	}
	ns.n = s->n;
	free(s->slots);
	*s = ns;
}

static void path_set_put(struct path_set *s, const char *p, enum path_type t)
{
	if ((s->n + 1) * 2 > s->cap)
		path_set_grow(s);
	size_t len = strlen(p);
	uint64_t h = hash_bytes(p, len);
	struct path_slot *sl = path_set_find(s, p, len, h);
	if (!sl->path) {
		sl->path = xstrdup(p);
		sl->hash = h;
		s->n++;
	}
	sl->type = (unsigned char)t;
}

static void path_set_free(struct path_set *s)
{
	for (size_t i = 0; i < s->cap; i++)
		free(s->slots[i].path);
	free(s->slots);
	*s = (struct path_set){ 0 };
}

/* ---- path cleaning ------------------------------------------------------- */

enum clean_result { CLEAN_OK, CLEAN_ABSOLUTE, CLEAN_DOTDOT };

/* Lexical clean: drops empty and "." components; "." for nothing left. */
static enum clean_result path_clean(const char *name, char **ret)
{
	*ret = NULL;
	if (name[0] == '/')
		return CLEAN_ABSOLUTE;
	size_t len = strlen(name);
	char *out = xmalloc(len + 2);
	size_t o = 0;
	for (const char *p = name; *p;) {
		const char *end = strchrnul(p, '/');
		size_t n = (size_t)(end - p);
		if (n == 2 && p[0] == '.' && p[1] == '.') {
			free(out);
			return CLEAN_DOTDOT;
		}
		if (n > 0 && !(n == 1 && p[0] == '.')) {
			if (o)
				out[o++] = '/';
			memcpy(out + o, p, n);
			o += n;
		}
		p = *end ? end + 1 : end;
	}
	if (!o)
		out[o++] = '.';
	out[o] = '\0';
	*ret = out;
	return CLEAN_OK;
}

/* A relative symlink target resolved lexically from the link's directory
 * must never climb above rootfs/, not even on its way. */
static bool symlink_stays_in_rootfs(const char *link_path, const char *target)
{
	size_t depth = 0;
	for (const char *p = link_path; (p = strchr(p, '/')); p++)
		depth++; /* components of the link's directory, "rootfs" included */
	for (const char *p = target; *p;) {
		const char *end = strchrnul(p, '/');
		size_t n = (size_t)(end - p);
		if (n == 2 && p[0] == '.' && p[1] == '.') {
			if (depth <= 1)
				return false;
			depth--;
		} else if (n > 0 && !(n == 1 && p[0] == '.')) {
			depth++;
		}
		p = *end ? end + 1 : end;
	}
	return true;
}

/* ---- entry checks shared by import and extraction ------------------------ */

enum entry_kind { EK_DOT, EK_MANIFEST, EK_ROOTFS, EK_ROOTFS_CHILD };

struct aci_checker {
	struct aci_limits lim;
	struct path_set seen;
	uint64_t n_entries, total;
	size_t n_symlinks;
	bool have_manifest, have_rootfs;
};

struct checked_entry {
	char *path; /* cleaned */
	char *link; /* cleaned hardlink target, or NULL */
	enum entry_kind kind;
	enum path_type type;
};

static void checked_entry_done(struct checked_entry *ce)
{
	free(ce->path);
	free(ce->link);
	*ce = (struct checked_entry){ 0 };
}

/* The first symlink seen earlier among the parents of path, or NULL. */
static const char *symlinked_parent(struct aci_checker *c, const char *path, size_t *ret_len)
{
	if (!c->n_symlinks)
		return NULL;
	for (const char *p = path; (p = strchr(p, '/')); p++) {
		size_t len = (size_t)(p - path);
		if (path_set_get(&c->seen, path, len) == PT_SYMLINK) {
			*ret_len = len;
			return path;
		}
	}
	return NULL;
}

static int check_parents(struct aci_checker *c, const char *name, const char *path,
			 const char *what, struct rkt_err *err)
{
	size_t len;
	const char *sl = symlinked_parent(c, path, &len);
	if (sl)
		return entry_error(err, EINVAL, name, "%s goes through the symlink \"%.*s\"", what,
				   (int)len, sl);
	return 0;
}

static int check_hardlink(struct aci_checker *c, const char *name, const char *target,
			  struct checked_entry *ce, struct rkt_err *err)
{
	char q[300];
	quote_name(target, q, sizeof q);
	switch (path_clean(target, &ce->link)) {
	case CLEAN_ABSOLUTE:
		return entry_error(err, EINVAL, name, "hardlink target \"%s\" is absolute", q);
	case CLEAN_DOTDOT:
		return entry_error(err, EINVAL, name, "hardlink target \"%s\" contains \"..\"", q);
	case CLEAN_OK:
		break;
	}
	if (!str_has_prefix(ce->link, ROOTFS_PREFIX) ||
	    path_set_get(&c->seen, ce->link, strlen(ce->link)) != PT_REG)
		return entry_error(err, EINVAL, name,
				   "hardlink target \"%s\" is not a regular file seen earlier under rootfs/",
				   q);
	return check_parents(c, name, ce->link, "hardlink target", err);
}

static int check_type(const char *name, struct archive_entry *e, enum path_type *ret,
		      struct rkt_err *err)
{
	if (archive_entry_hardlink(e)) {
		*ret = PT_REG;
		return 0;
	}
	mode_t ft = archive_entry_filetype(e);
	switch (ft) {
	case AE_IFREG:
		*ret = PT_REG;
		return 0;
	case AE_IFDIR:
		*ret = PT_DIR;
		return 0;
	case AE_IFLNK:
		*ret = PT_SYMLINK;
		return 0;
	case AE_IFIFO:
		*ret = PT_OTHER;
		return 0;
	case AE_IFCHR:
	case AE_IFBLK:
		return entry_error(err, EPERM, name, "device nodes are not allowed in images");
	default:
		return entry_error(err, EINVAL, name, "unsupported entry type (mode 0%o)",
				   (unsigned)ft);
	}
}

static int check_top_level(struct aci_checker *c, const char *name, struct archive_entry *e,
			   struct checked_entry *ce, uint64_t size, struct rkt_err *err)
{
	bool hardlink = archive_entry_hardlink(e) != NULL;
	if (strcmp(ce->path, ".") == 0) {
		if (ce->type != PT_DIR || hardlink)
			return entry_error(err, EINVAL, name, "only a directory may be named \".\"");
		ce->kind = EK_DOT;
	} else if (strcmp(ce->path, "manifest") == 0) {
		if (c->have_manifest)
			return entry_error(err, EINVAL, name, "duplicate manifest");
		if (ce->type != PT_REG || hardlink)
			return entry_error(err, EINVAL, name, "the manifest must be a regular file");
		if (size > MANIFEST_MAX_BYTES)
			return entry_error(err, EFBIG, name,
					   "manifest size %llu exceeds the limit of %u bytes",
					   (unsigned long long)size, MANIFEST_MAX_BYTES);
		c->have_manifest = true;
		ce->kind = EK_MANIFEST;
	} else if (strcmp(ce->path, "rootfs") == 0) {
		if (ce->type != PT_DIR || hardlink)
			return entry_error(err, EINVAL, name, "rootfs must be a directory");
		c->have_rootfs = true;
		ce->kind = EK_ROOTFS;
	} else if (str_has_prefix(ce->path, ROOTFS_PREFIX)) {
		c->have_rootfs = true;
		ce->kind = EK_ROOTFS_CHILD;
	} else {
		return entry_error(err, EINVAL, name,
				   "only \"manifest\" and \"rootfs/\" are allowed at the top level");
	}
	return 0;
}

/* The manifest has its own bound (MANIFEST_MAX_BYTES) and counts in the total. */
static int check_size(struct aci_checker *c, const char *name, uint64_t size, uint64_t total_size,
		      struct rkt_err *err)
{
	if (size > c->lim.max_entry_size)
		return entry_error(err, EFBIG, name, "size %llu exceeds the per-entry limit of %llu",
				   (unsigned long long)size,
				   (unsigned long long)c->lim.max_entry_size);
	c->total += total_size;
	if (c->total > c->lim.max_total_size)
		return entry_error(err, EFBIG, name,
				   "total size %llu exceeds the image limit of %llu",
				   (unsigned long long)c->total,
				   (unsigned long long)c->lim.max_total_size);
	return 0;
}

static int check_symlink(const char *name, struct archive_entry *e, const char *path,
			 struct rkt_err *err)
{
	const char *t = archive_entry_symlink(e);
	if (!t || !*t)
		return entry_error(err, EINVAL, name, "symlink has no target");
	if (t[0] == '/')
		return 0; /* resolves inside the container's root */
	if (!symlink_stays_in_rootfs(path, t)) {
		char q[300];
		quote_name(t, q, sizeof q);
		return entry_error(err, EINVAL, name, "symlink target \"%s\" leaves rootfs/", q);
	}
	return 0;
}

static int checker_entry(struct aci_checker *c, struct archive_entry *e, struct checked_entry *ce,
			 struct rkt_err *err)
{
	*ce = (struct checked_entry){ 0 };
	const char *name = archive_entry_pathname(e);
	if (!name)
		return rkt_error(err, EINVAL, "entry #%llu: its name cannot be read",
				 (unsigned long long)c->n_entries + 1);
	if (++c->n_entries > c->lim.max_entries)
		return entry_error(err, EFBIG, name, "the image has more than %llu entries",
				   (unsigned long long)c->lim.max_entries);
	if (!*name)
		return entry_error(err, EINVAL, name, "empty name");
	switch (path_clean(name, &ce->path)) {
	case CLEAN_ABSOLUTE:
		return entry_error(err, EINVAL, name, "path is absolute");
	case CLEAN_DOTDOT:
		return entry_error(err, EINVAL, name, "path contains \"..\"");
	case CLEAN_OK:
		break;
	}
	int r = check_type(name, e, &ce->type, err);
	if (r < 0)
		return r;
	uint64_t size = archive_entry_size_is_set(e) && archive_entry_size(e) > 0
				? (uint64_t)archive_entry_size(e)
				: 0;
	r = check_top_level(c, name, e, ce, size, err);
	if (r < 0)
		return r;
	r = check_parents(c, name, ce->path, "path", err);
	if (r < 0)
		return r;
	r = check_size(c, name, ce->kind == EK_MANIFEST ? 0 : size, size, err);
	if (r < 0)
		return r;
	const char *hl = archive_entry_hardlink(e);
	if (hl)
		r = check_hardlink(c, name, hl, ce, err);
	else if (ce->type == PT_SYMLINK)
		r = check_symlink(name, e, ce->path, err);
	if (r < 0)
		return r;
	if (ce->kind == EK_ROOTFS_CHILD || ce->kind == EK_ROOTFS) {
		path_set_put(&c->seen, ce->path, ce->type);
		if (ce->type == PT_SYMLINK)
			c->n_symlinks++;
	}
	return 0;
}

static int checker_finish(struct aci_checker *c, struct rkt_err *err)
{
	if (!c->have_manifest)
		return rkt_error(err, EINVAL, "the image has no manifest");
	if (!c->have_rootfs)
		return rkt_error(err, EINVAL, "the image has no rootfs/ directory");
	return 0;
}

static void checker_init(struct aci_checker *c, const struct aci_limits *lim)
{
	*c = (struct aci_checker){ 0 };
	if (lim)
		c->lim = *lim;
	else
		aci_limits_default(&c->lim);
}

static void checker_done(struct aci_checker *c) { path_set_free(&c->seen); }

/* ---- import: pass 1, decompress + hash + write --------------------------- */

static void cleanup_md_ctxp(EVP_MD_CTX **c)
{
	if (*c)
		EVP_MD_CTX_free(*c);
}

/* Only in-process decompressors: libarchive would otherwise run external
 * programs (lrzip, lzop, ...) on hostile input. */
static void enable_filters(struct archive *a)
{
	archive_read_support_filter_gzip(a);
	archive_read_support_filter_bzip2(a);
	archive_read_support_filter_xz(a);
	archive_read_support_filter_lzma(a);
	archive_read_support_filter_zstd(a);
}

/* The block being imported is written by a second thread while this one
 * hashes it (the peer `tee | sha512sum` uses two cores as well); the
 * writer is done with a block before libarchive may reuse its buffer, so
 * nothing is copied. */
struct block_writer {
	pthread_t thread;
	sem_t go, done;
	int fd;
	const void *buf;
	size_t size;
	uint64_t written, synced;
	int error; /* negative errno of the first failed write, sticky */
	bool stop, started;
};

static void *writer_main(void *arg)
{
	struct block_writer *w = arg;
	for (;;) {
		while (sem_wait(&w->go) < 0)
			;
		if (w->stop)
			return NULL;
		if (w->error == 0)
			w->error = write_all(w->fd, w->buf, w->size);
		if (w->error == 0) {
			w->written += w->size;
			if (w->written - w->synced >= WRITEBACK_EVERY) {
				/* Start writeback now so the store's final fdatasync
				 * finds little left; failure (a pipe, a memfd) is harmless. */
				(void)sync_file_range(w->fd, (off_t)w->synced,
						      (off_t)(w->written - w->synced),
						      SYNC_FILE_RANGE_WRITE);
				w->synced = w->written;
			}
		}
		sem_post(&w->done);
	}
}

static int writer_start(struct block_writer *w, int fd)
{
	*w = (struct block_writer){ .fd = fd };
	if (sem_init(&w->go, 0, 0) < 0 || sem_init(&w->done, 0, 0) < 0)
		return -errno;
	int r = pthread_create(&w->thread, NULL, writer_main, w);
	if (r != 0)
		return -r;
	w->started = true;
	return 0;
}

static void writer_stop(struct block_writer *w)
{
	if (!w->started)
		return;
	w->stop = true;
	sem_post(&w->go);
	pthread_join(w->thread, NULL);
	sem_destroy(&w->go);
	sem_destroy(&w->done);
	w->started = false;
}

struct copy_state {
	uint64_t max_bytes; /* decompression bombs stop here */
	EVP_MD_CTX *md;
	struct block_writer *writer;
	uint64_t written, reported;
	unsigned char head[512];
	aci_progress_fn progress;
	void *progress_ctx;
};

static int copy_block(struct archive *a, struct copy_state *st, const void *buf, size_t size,
		      struct rkt_err *err)
{
	if (st->written < sizeof st->head) {
		size_t n = sizeof st->head - st->written;
		memcpy(st->head + st->written, buf, n < size ? n : size);
	}
	if (st->written + size > st->max_bytes)
		return rkt_error(err, EFBIG, "the decompressed image exceeds %llu bytes",
				 (unsigned long long)st->max_bytes);
	struct block_writer *w = st->writer;
	w->buf = buf;
	w->size = size;
	sem_post(&w->go);
	int hashed = EVP_DigestUpdate(st->md, buf, size);
	while (sem_wait(&w->done) < 0)
		;
	if (hashed != 1)
		return rkt_error(err, EIO, "SHA-512 update failed");
	if (w->error < 0)
		return rkt_error_errno(err, -w->error, "writing the image");
	st->written += size;
	if (st->progress && st->written - st->reported >= PROGRESS_EVERY) {
		st->reported = st->written;
		st->progress(st->progress_ctx, (uint64_t)archive_filter_bytes(a, -1));
	}
	return 0;
}

static int import_copy(int src_fd, struct copy_state *st, struct rkt_err *err)
{
	_cleanup_archive_ struct archive *a = archive_read_new();
	if (!a)
		return rkt_error(err, ENOMEM, "cannot allocate an archive reader");
	enable_filters(a);
	archive_read_support_format_raw(a);
	/* The raw format refuses only empty input, and the open already reads. */
	if (archive_read_open_fd(a, src_fd, IMPORT_BLOCK) != ARCHIVE_OK)
		return rkt_error(err, EINVAL, "unknown image filetype: %s", archive_error_string(a));
	struct archive_entry *e;
	int r = archive_read_next_header(a, &e);
	if (r == ARCHIVE_EOF)
		return rkt_error(err, EINVAL, "unknown image filetype: the image is empty");
	if (r < ARCHIVE_WARN)
		return rkt_error(err, EINVAL, "unknown image filetype: %s", archive_error_string(a));
	for (;;) {
		const void *buf;
		size_t size;
		la_int64_t off;
		r = archive_read_data_block(a, &buf, &size, &off);
		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_OK)
			return rkt_error(err, EINVAL, "decompressing the image: %s",
					 archive_error_string(a));
		if (off >= 0 && (uint64_t)off != st->written)
			return rkt_error(err, EINVAL, "decompressing the image: unexpected gap");
		if (!size)
			continue;
		int q = copy_block(a, st, buf, size, err);
		if (q < 0)
			return q;
	}
	if (st->progress)
		st->progress(st->progress_ctx, (uint64_t)archive_filter_bytes(a, -1));
	return 0;
}

/* ---- import: pass 2, headers only ---------------------------------------- */

static int read_manifest(struct archive *a, const char *name, struct aci_import *ret,
			 struct rkt_err *err)
{
	size_t cap = 4096, n = 0;
	char *buf = xmalloc(cap + 1);
	for (;;) {
		if (n == cap) {
			if (cap > MANIFEST_MAX_BYTES) {
				free(buf);
				return entry_error(err, EFBIG, name,
						   "manifest exceeds the limit of %u bytes",
						   MANIFEST_MAX_BYTES);
			}
			cap = cap * 2 > MANIFEST_MAX_BYTES ? MANIFEST_MAX_BYTES + 1 : cap * 2;
			buf = xrealloc(buf, cap + 1);
		}
		la_ssize_t r = archive_read_data(a, buf + n, cap - n);
		if (r < 0) {
			free(buf);
			return entry_error(err, EIO, name, "reading: %s", archive_error_string(a));
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	ret->manifest_json = buf;
	ret->manifest_len = n;
	int r = image_manifest_parse(buf, n, &ret->manifest, err);
	if (r < 0)
		return rkt_error_wrap(err, "entry \"manifest\"");
	return 0;
}

static int import_scan(int fd, uint64_t total, const struct aci_limits *limits,
		       struct aci_import *ret, struct rkt_err *err)
{
	if (lseek(fd, 0, SEEK_SET) < 0)
		return rkt_error_errno(err, errno, "rewinding the imported image");
	_cleanup_archive_ struct archive *a = archive_read_new();
	if (!a)
		return rkt_error(err, ENOMEM, "cannot allocate an archive reader");
	archive_read_support_filter_none(a);
	archive_read_support_format_tar(a);
	if (archive_read_open_fd(a, fd, SCAN_BLOCK) != ARCHIVE_OK)
		return rkt_error(err, EINVAL, "reading the image: %s", archive_error_string(a));
	struct aci_checker c;
	checker_init(&c, limits);
	int r = 0;
	char last[300] = "";
	for (;;) {
		struct archive_entry *e;
		int q = archive_read_next_header(a, &e);
		if (q == ARCHIVE_EOF)
			break;
		if (q < ARCHIVE_WARN) {
			if (c.n_entries == 0)
				r = rkt_error(err, EINVAL, "unknown image filetype: %s",
					      archive_error_string(a));
			else
				r = rkt_error(err, EINVAL, "reading the image after entry \"%s\": %s",
					      last, archive_error_string(a));
			break;
		}
		struct checked_entry ce;
		r = checker_entry(&c, e, &ce, err);
		if (r < 0) {
			checked_entry_done(&ce);
			break;
		}
		quote_name(archive_entry_pathname(e), last, sizeof last);
		if (ce.kind == EK_MANIFEST)
			r = read_manifest(a, archive_entry_pathname(e), ret, err);
		else if (archive_read_data_skip(a) != ARCHIVE_OK)
			r = rkt_error(err, EINVAL, "entry \"%s\": %s", last, archive_error_string(a));
		checked_entry_done(&ce);
		if (r < 0)
			break;
		/* Skipping seeks, so a cut-off last entry would pass unnoticed. */
		if ((uint64_t)archive_filter_bytes(a, 0) > total) {
			r = rkt_error(err, EINVAL, "entry \"%s\": the image is truncated", last);
			break;
		}
	}
	if (r == 0)
		r = checker_finish(&c, err);
	checker_done(&c);
	return r;
}

static void to_hex(const unsigned char *d, size_t n, char *out)
{
	static const char hx[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hx[d[i] >> 4];
		out[2 * i + 1] = hx[d[i] & 15];
	}
	out[2 * n] = '\0';
}

static bool looks_like_tar(const struct copy_state *st)
{
	return st->written >= sizeof st->head && memcmp(st->head + 257, "ustar", 5) == 0;
}

/* A generous bound on the tar the limits allow: the entries' data plus, per
 * entry, 16 KiB of headers, long names, pax records and padding, plus the
 * end blocks and a record of padding. */
static uint64_t stream_bound(const struct aci_limits *l)
{
	const uint64_t per_entry = 16 << 10;
	uint64_t bound = l->max_total_size;
	if (bound > UINT64_MAX / 2 || l->max_entries > (UINT64_MAX / 2 - bound) / per_entry - 1)
		return UINT64_MAX;
	return bound + (l->max_entries + 1) * per_entry + 10240 + 1024;
}

int aci_import_stream(int src_fd, int out_fd, const struct aci_limits *limits,
		      aci_progress_fn progress, void *progress_ctx, struct aci_import *ret,
		      struct rkt_err *err)
{
	*ret = (struct aci_import){ 0 };
	__attribute__((cleanup(cleanup_md_ctxp))) EVP_MD_CTX *md = EVP_MD_CTX_new();
	if (!md || EVP_DigestInit_ex(md, EVP_sha512(), NULL) != 1)
		return rkt_error(err, ENOMEM, "cannot set up SHA-512");
	struct aci_limits lim;
	if (limits)
		lim = *limits;
	else
		aci_limits_default(&lim);
	struct block_writer writer;
	int r = writer_start(&writer, out_fd);
	if (r < 0) {
		writer_stop(&writer);
		return rkt_error_errno(err, -r, "starting the image writer");
	}
	struct copy_state st = { .md = md, .writer = &writer, .progress = progress,
				 .progress_ctx = progress_ctx, .max_bytes = stream_bound(&lim) };
	r = import_copy(src_fd, &st, err);
	writer_stop(&writer);
	if (r < 0)
		return r;
	if (!looks_like_tar(&st))
		return rkt_error(err, EINVAL,
				 "unknown image filetype: not a tar archive (gzip, bzip2, xz or zstd compressed or plain)");
	unsigned char dig[EVP_MAX_MD_SIZE];
	unsigned int dlen = 0;
	if (EVP_DigestFinal_ex(md, dig, &dlen) != 1 || dlen != 64)
		return rkt_error(err, EIO, "SHA-512 final failed");
	r = import_scan(out_fd, st.written, limits, ret, err);
	if (r < 0) {
		aci_import_done(ret);
		return r;
	}
	to_hex(dig, 64, ret->full_hex);
	snprintf(ret->key, sizeof ret->key, "sha512-%.64s", ret->full_hex);
	ret->size = st.written;
	return 0;
}

/* ---- extraction ---------------------------------------------------------- */

static int openat2_in_root(int rootfd, const char *path, int flags, mode_t mode)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC),
		.mode = (flags & O_CREAT) ? mode : 0,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	long fd;
	do
		fd = syscall(SYS_openat2, rootfd, path, &how, sizeof how);
	while (fd < 0 && errno == EAGAIN);
	return (int)fd;
}

struct deferred_dir {
	char *path; /* relative to the root fd */
	mode_t mode;
	uid_t uid;
	gid_t gid;
	struct timespec times[2];
};

struct extractor {
	struct archive *a;
	int dest_fd, root_fd;
	unsigned flags;
	char **whitelist; /* cleaned, "/x/y" */
	struct deferred_dir *dirs;
	size_t n_dirs, cap_dirs;
	const char *name; /* the entry being extracted, for messages */
};

/* Opens dir (relative to rootfd, "" for rootfd itself) resolving inside the
 * root, creating missing components 0755 as it goes. */
static int open_dir_in_root(int rootfd, const char *dir, bool create)
{
	if (!*dir)
		return fcntl(rootfd, F_DUPFD_CLOEXEC, 3);
	int fd = openat2_in_root(rootfd, dir, O_PATH | O_DIRECTORY, 0);
	if (fd >= 0 || errno != ENOENT || !create)
		return fd;
	_cleanup_free_ char *prefix = xstrdup(dir);
	_cleanup_close_ int cur = fcntl(rootfd, F_DUPFD_CLOEXEC, 3);
	if (cur < 0)
		return -1;
	for (char *p = prefix;;) {
		char *end = strchrnul(p, '/');
		char saved = *end;
		*end = '\0';
		int nfd = openat2_in_root(rootfd, prefix, O_PATH | O_DIRECTORY, 0);
		if (nfd < 0 && errno == ENOENT) {
			if (mkdirat(cur, p, 0755) < 0 && errno != EEXIST)
				return -1;
			nfd = openat2_in_root(rootfd, prefix, O_PATH | O_DIRECTORY, 0);
		}
		if (nfd < 0)
			return -1;
		close(cur);
		cur = nfd;
		*end = saved;
		if (!saved)
			break;
		p = end + 1;
	}
	return TAKE_FD(cur);
}

/* Makes room for a new node: a directory stays when a directory is wanted,
 * anything else is removed (never followed). Returns 1 when kept. */
static int make_room(struct extractor *x, int pfd, const char *base, bool want_dir,
		     struct rkt_err *err)
{
	struct stat st;
	if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT)
			return 0;
		return entry_error(err, errno, x->name, "stat: %s", strerror(errno));
	}
	if (S_ISDIR(st.st_mode)) {
		if (want_dir)
			return 1;
		int r = rm_rf_at(pfd, base);
		if (r < 0)
			return entry_error(err, -r, x->name, "removing the existing directory: %s",
					   strerror(-r));
		return 0;
	}
	if (unlinkat(pfd, base, 0) < 0 && errno != ENOENT)
		return entry_error(err, errno, x->name, "removing the existing file: %s",
				   strerror(errno));
	return 0;
}

static mode_t entry_mode(const struct extractor *x, struct archive_entry *e)
{
	mode_t m = archive_entry_perm(e) & 07777;
	if (!(x->flags & ACI_EXTRACT_KEEP_SETID))
		m &= ~(mode_t)(S_ISUID | S_ISGID);
	return m;
}

static void entry_times(struct archive_entry *e, struct timespec ts[2])
{
	ts[1].tv_sec = archive_entry_mtime(e);
	ts[1].tv_nsec = archive_entry_mtime_nsec(e);
	if (archive_entry_atime_is_set(e)) {
		ts[0].tv_sec = archive_entry_atime(e);
		ts[0].tv_nsec = archive_entry_atime_nsec(e);
	} else {
		ts[0] = ts[1];
	}
}

static int set_xattrs(struct extractor *x, int fd, struct archive_entry *e, struct rkt_err *err)
{
	const char *xn;
	const void *xv;
	size_t xs;
	archive_entry_xattr_reset(e);
	while (archive_entry_xattr_next(e, &xn, &xv, &xs) == ARCHIVE_OK) {
		bool ok = str_has_prefix(xn, "user.") ||
			  ((x->flags & ACI_EXTRACT_OWNERS) && strcmp(xn, "security.capability") == 0);
		if (!ok)
			continue;
		if (fsetxattr(fd, xn, xv, xs, 0) < 0 && errno != ENOTSUP && errno != EOPNOTSUPP)
			return entry_error(err, errno, x->name, "setting xattr %s: %s", xn,
					   strerror(errno));
	}
	return 0;
}

static int pwrite_all(int fd, const void *buf, size_t len, off_t off)
{
	const char *p = buf;
	while (len) {
		ssize_t n = pwrite(fd, p, len, off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		off += n;
		len -= (size_t)n;
	}
	return 0;
}

static int write_regular(struct extractor *x, int pfd, const char *base, struct archive_entry *e,
			 bool xattrs, struct rkt_err *err)
{
	int r = make_room(x, pfd, base, false, err);
	if (r < 0)
		return r;
	_cleanup_close_ int fd =
		openat(pfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return entry_error(err, errno, x->name, "creating: %s", strerror(errno));
	for (;;) {
		const void *buf;
		size_t size;
		la_int64_t off;
		int q = archive_read_data_block(x->a, &buf, &size, &off);
		if (q == ARCHIVE_EOF)
			break;
		if (q < ARCHIVE_OK)
			return entry_error(err, EIO, x->name, "reading: %s",
					   archive_error_string(x->a));
		q = pwrite_all(fd, buf, size, (off_t)off);
		if (q < 0)
			return entry_error(err, -q, x->name, "writing: %s", strerror(-q));
	}
	if (archive_entry_size_is_set(e) && ftruncate(fd, (off_t)archive_entry_size(e)) < 0)
		return entry_error(err, errno, x->name, "truncating: %s", strerror(errno));
	/* chown before chmod and capabilities: chown clears both. */
	if ((x->flags & ACI_EXTRACT_OWNERS) &&
	    fchown(fd, (uid_t)archive_entry_uid(e), (gid_t)archive_entry_gid(e)) < 0)
		return entry_error(err, errno, x->name, "chown: %s", strerror(errno));
	if (fchmod(fd, entry_mode(x, e)) < 0)
		return entry_error(err, errno, x->name, "chmod: %s", strerror(errno));
	if (xattrs) {
		r = set_xattrs(x, fd, e, err);
		if (r < 0)
			return r;
	}
	struct timespec ts[2];
	entry_times(e, ts);
	if (futimens(fd, ts) < 0)
		return entry_error(err, errno, x->name, "setting times: %s", strerror(errno));
	return 0;
}

static int make_dir(struct extractor *x, int pfd, const char *base, const char *rel,
		    struct archive_entry *e, struct rkt_err *err)
{
	if (strcmp(base, ".") != 0) {
		int r = make_room(x, pfd, base, true, err);
		if (r < 0)
			return r;
		if (r == 0 && mkdirat(pfd, base, 0700) < 0)
			return entry_error(err, errno, x->name, "mkdir: %s", strerror(errno));
	}
	/* Mode and times last, deepest first: a read-only directory must not
	 * block its own children, and writing children changes mtimes. */
	if (x->n_dirs == x->cap_dirs) {
		x->cap_dirs = x->cap_dirs ? x->cap_dirs * 2 : 64;
		x->dirs = xrealloc(x->dirs, x->cap_dirs * sizeof *x->dirs);
	}
	struct deferred_dir *d = &x->dirs[x->n_dirs++];
	d->path = xstrdup(rel);
	d->mode = entry_mode(x, e);
	d->uid = (uid_t)archive_entry_uid(e);
	d->gid = (gid_t)archive_entry_gid(e);
	entry_times(e, d->times);
	return 0;
}

static int finish_node(struct extractor *x, int pfd, const char *base, struct archive_entry *e,
		       bool chmod_it, struct rkt_err *err)
{
	if ((x->flags & ACI_EXTRACT_OWNERS) &&
	    fchownat(pfd, base, (uid_t)archive_entry_uid(e), (gid_t)archive_entry_gid(e),
		     AT_SYMLINK_NOFOLLOW) < 0)
		return entry_error(err, errno, x->name, "chown: %s", strerror(errno));
	if (chmod_it && fchmodat(pfd, base, entry_mode(x, e), 0) < 0)
		return entry_error(err, errno, x->name, "chmod: %s", strerror(errno));
	struct timespec ts[2];
	entry_times(e, ts);
	if (utimensat(pfd, base, ts, AT_SYMLINK_NOFOLLOW) < 0)
		return entry_error(err, errno, x->name, "setting times: %s", strerror(errno));
	return 0;
}

static void split_path(char *path, const char **dir, const char **base)
{
	char *slash = strrchr(path, '/');
	if (slash) {
		*slash = '\0';
		*dir = path;
		*base = slash + 1;
	} else {
		*dir = "";
		*base = path;
	}
}

static int make_hardlink(struct extractor *x, int pfd, const char *base, const char *rel,
			 const char *target_rel, struct rkt_err *err)
{
	if (strcmp(rel, target_rel) == 0)
		return 0;
	_cleanup_free_ char *t = xstrdup(target_rel);
	const char *tdir, *tbase;
	split_path(t, &tdir, &tbase);
	_cleanup_close_ int tfd = open_dir_in_root(x->root_fd, tdir, false);
	if (tfd < 0)
		return entry_error(err, errno, x->name, "hardlink target \"%s\": %s", target_rel,
				   strerror(errno));
	int r = make_room(x, pfd, base, false, err);
	if (r < 0)
		return r;
	if (linkat(tfd, tbase, pfd, base, 0) < 0) {
		if (errno == ENOENT && x->whitelist && x->whitelist[0])
			return entry_error(err, ENOENT, x->name,
					   "hardlink target \"%s\" is not in pathWhitelist",
					   target_rel);
		return entry_error(err, errno, x->name, "hardlink to \"%s\": %s", target_rel,
				   strerror(errno));
	}
	return 0;
}

static bool whitelisted(const struct extractor *x, const char *rel, bool is_dir)
{
	if (!x->whitelist || !x->whitelist[0])
		return true;
	if (is_dir && !(x->flags & ACI_EXTRACT_WHITELIST_DIRS))
		return true;
	_cleanup_free_ char *abs = xasprintf("/%s", rel);
	return strv_contains(x->whitelist, abs);
}

/* One entry below rootfs/ (rel relative to it; "." for rootfs itself). */
static int extract_node(struct extractor *x, struct archive_entry *e, const char *rel,
			const struct checked_entry *ce, struct rkt_err *err)
{
	_cleanup_free_ char *copy = xstrdup(rel);
	const char *dir, *base;
	split_path(copy, &dir, &base);
	_cleanup_close_ int pfd = open_dir_in_root(x->root_fd, dir, true);
	if (pfd < 0)
		return entry_error(err, errno, x->name, "opening its directory: %s", strerror(errno));
	if (ce->link)
		return make_hardlink(x, pfd, base, rel, ce->link + ROOTFS_PREFIX_LEN, err);
	switch (ce->type) {
	case PT_DIR:
		return make_dir(x, pfd, base, rel, e, err);
	case PT_REG:
		return write_regular(x, pfd, base, e, true, err);
	case PT_SYMLINK: {
		int r = make_room(x, pfd, base, false, err);
		if (r < 0)
			return r;
		if (symlinkat(archive_entry_symlink(e), pfd, base) < 0)
			return entry_error(err, errno, x->name, "symlink: %s", strerror(errno));
		return finish_node(x, pfd, base, e, false, err);
	}
	case PT_OTHER: {
		int r = make_room(x, pfd, base, false, err);
		if (r < 0)
			return r;
		if (mknodat(pfd, base, S_IFIFO | 0600, 0) < 0)
			return entry_error(err, errno, x->name, "mkfifo: %s", strerror(errno));
		return finish_node(x, pfd, base, e, true, err);
	}
	default:
		return entry_error(err, EINVAL, x->name, "unsupported entry type");
	}
}

static int extract_entry(struct extractor *x, struct archive_entry *e,
			 const struct checked_entry *ce, struct rkt_err *err)
{
	bool rootfs_only = x->flags & ACI_EXTRACT_ROOTFS_ONLY;
	switch (ce->kind) {
	case EK_DOT:
		return 0;
	case EK_MANIFEST:
		return rootfs_only ? 0 : write_regular(x, x->dest_fd, "manifest", e, false, err);
	case EK_ROOTFS:
		/* The caller owns the destination directory itself. */
		return rootfs_only ? 0 : make_dir(x, x->root_fd, ".", ".", e, err);
	case EK_ROOTFS_CHILD: {
		const char *rel = ce->path + ROOTFS_PREFIX_LEN;
		if (!whitelisted(x, rel, ce->type == PT_DIR && !ce->link))
			return 0;
		return extract_node(x, e, rel, ce, err);
	}
	}
	return 0;
}

static int apply_dirs(struct extractor *x, struct rkt_err *err)
{
	for (size_t i = x->n_dirs; i-- > 0;) {
		struct deferred_dir *d = &x->dirs[i];
		_cleanup_close_ int fd =
			openat2_in_root(x->root_fd, d->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0);
		if (fd < 0) {
			/* Replaced by a later entry of another type. */
			if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP)
				continue;
			return rkt_error_errno(err, errno, "directory \"rootfs/%s\"", d->path);
		}
		if ((x->flags & ACI_EXTRACT_OWNERS) && fchown(fd, d->uid, d->gid) < 0)
			return rkt_error_errno(err, errno, "directory \"rootfs/%s\": chown", d->path);
		if (fchmod(fd, d->mode) < 0)
			return rkt_error_errno(err, errno, "directory \"rootfs/%s\": chmod", d->path);
		if (futimens(fd, d->times) < 0)
			return rkt_error_errno(err, errno, "directory \"rootfs/%s\": times", d->path);
	}
	return 0;
}

static char **clean_whitelist(char *const *wl)
{
	char **out = NULL;
	for (; wl && *wl; wl++) {
		_cleanup_free_ char *c = NULL;
		if (path_clean(*wl + (**wl == '/'), &c) != CLEAN_OK)
			continue;
		_cleanup_free_ char *abs = xasprintf("/%s", strcmp(c, ".") == 0 ? "" : c);
		out = strv_append(out, abs);
	}
	return out;
}

static int open_root(int dest_fd, unsigned flags, struct rkt_err *err)
{
	if (flags & ACI_EXTRACT_ROOTFS_ONLY) {
		int fd = fcntl(dest_fd, F_DUPFD_CLOEXEC, 3);
		return fd < 0 ? rkt_error_errno(err, errno, "dup") : fd;
	}
	if (mkdirat(dest_fd, "rootfs", 0755) < 0 && errno != EEXIST)
		return rkt_error_errno(err, errno, "creating rootfs/");
	int fd = openat(dest_fd, "rootfs", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	return fd < 0 ? rkt_error_errno(err, errno, "opening rootfs/") : fd;
}

static int extract_loop(struct extractor *x, struct rkt_err *err)
{
	struct aci_checker c;
	checker_init(&c, NULL);
	int r = 0;
	for (;;) {
		struct archive_entry *e;
		int q = archive_read_next_header(x->a, &e);
		if (q == ARCHIVE_EOF)
			break;
		if (q < ARCHIVE_WARN) {
			r = rkt_error(err, EINVAL, "reading the image: %s",
				      archive_error_string(x->a));
			break;
		}
		struct checked_entry ce;
		r = checker_entry(&c, e, &ce, err);
		if (r == 0) {
			x->name = archive_entry_pathname(e);
			r = extract_entry(x, e, &ce, err);
		}
		checked_entry_done(&ce);
		if (r < 0)
			break;
	}
	if (r == 0)
		r = checker_finish(&c, err);
	checker_done(&c);
	return r;
}

int aci_extract(int blob_fd, int dest_dirfd, unsigned flags, char *const *whitelist,
		struct rkt_err *err)
{
	if (lseek(blob_fd, 0, SEEK_SET) < 0 && errno != ESPIPE)
		return rkt_error_errno(err, errno, "rewinding the image");
	_cleanup_archive_ struct archive *a = archive_read_new();
	if (!a)
		return rkt_error(err, ENOMEM, "cannot allocate an archive reader");
	archive_read_support_filter_none(a);
	archive_read_support_format_tar(a);
	if (archive_read_open_fd(a, blob_fd, IMPORT_BLOCK) != ARCHIVE_OK)
		return rkt_error(err, EINVAL, "reading the image: %s", archive_error_string(a));
	_cleanup_close_ int root_fd = open_root(dest_dirfd, flags, err);
	if (root_fd < 0)
		return root_fd;
	_cleanup_strv_ char **wl = clean_whitelist(whitelist);
	struct extractor x = { .a = a, .dest_fd = dest_dirfd, .root_fd = root_fd, .flags = flags,
			       .whitelist = wl };
	int r = extract_loop(&x, err);
	if (r == 0)
		r = apply_dirs(&x, err);
	for (size_t i = 0; i < x.n_dirs; i++)
		free(x.dirs[i].path);
	free(x.dirs);
	return r;
}
