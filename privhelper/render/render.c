/* The verified tree store. Every image of a render (the requested one and
 * its dependencies) goes through the same steps, all on files the renderer
 * opened itself beneath the helper's --dir:
 *   1. the signed bytes (the .orig the fetch kept, else the blob) are read
 *      once into a private, unlinked copy, so nothing the store's group does
 *      afterwards can change what is checked and rendered;
 *   2. that copy is decompressed, SHA-512-hashed and entry-validated
 *      (aci_import_stream) into a private tar, whose hash must be the ID;
 *   3. the signature (.asc) is verified over the private copy with the
 *      helper's own trusted keys, for the name in the verified manifest;
 *   4. the private tars are extracted in dependency order into a temp tree
 *      that is renamed into place with its `rendered` marker.
 * A tree already rendered for the same dependency list is reused without
 * re-hashing (issue 4's perf goal): the tree ID is the hash of that list. */
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/aci_archive.h"
#include "common/beneath.h"
#include "common/cleanup.h"
#include "common/lockfile.h"
#include "common/manifest.h"
#include "common/signature.h"
#include "common/util.h"
#include "privhelper/render/render.h"

#define TREE_DIR "tree"
#define TREE_MODE 0700
#define META_MAX 4096
#define DEPS_MAX (64u << 10)

struct layer {
	char key[APPC_KEY_LEN + 1];
	struct image_manifest *m;
	int tar_fd; /* the verified private tar; -1 when only looked up */
	bool is_signed;
	char *const *wl;   /* the pathWhitelist that applies, own or an ancestor's */
	bool inherited_wl; /* an ancestor's: it filters directories too */
};

struct job {
	const struct render_config *cfg;
	int dirfd;  /* the helper's --dir */
	int treefd; /* dir/tree, root:root 0700 */
	sqlite3 *db;
	bool verify; /* false: DB manifests only, to find an existing tree */
	struct layer *layers;
	size_t n;
};

void render_result_done(struct render_result *r)
{
	free(r->name);
	strv_free(r->deps);
	*r = (struct render_result){ 0 };
}

static void layer_done(struct layer *l)
{
	image_manifest_free(l->m);
	if (l->tar_fd >= 0)
		close(l->tar_fd);
	*l = (struct layer){ .tar_fd = -1 };
}

static void job_layers_free(struct job *j)
{
	for (size_t i = 0; i < j->n; i++)
		layer_done(&j->layers[i]);
	free(j->layers);
	j->layers = NULL;
	j->n = 0;
}

/* ---- files beneath the helper's own directories ----------------------- */

static char *blob_rel(const char *key, const char *suffix)
{
	return xasprintf("cas/blob/sha512/%.2s/%s%s", key + strlen(APPC_ID_PREFIX), key, suffix);
}

/* An optional store file: -1 when absent, an error when not a plain file. */
static int open_store_file(struct job *j, const char *key, const char *suffix, bool required,
			   struct rkt_err *err)
{
	_cleanup_free_ char *rel = blob_rel(key, suffix);
	int fd = open_beneath(j->dirfd, rel, O_RDONLY, 0);
	if (fd == -ENOENT && !required)
		return -1;
	if (fd == -ENOENT)
		return rkt_error(err, ENOENT, "image %s is not in the store (%s/%s is missing)", key,
				 j->cfg->dir, rel);
	if (fd < 0)
		return rkt_error_errno(err, -fd, "image %s: opening %s/%s", key, j->cfg->dir, rel);
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return rkt_error(err, EINVAL, "image %s: %s/%s is not a regular file", key,
				 j->cfg->dir, rel);
	}
	return fd;
}

/* An unlinked root-only file in the tree dir, gone when closed. */
static int scratch_file(struct job *j, struct rkt_err *err)
{
	int fd = openat(j->treefd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0)
		return fd;
	if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
		return rkt_error_errno(err, errno, "creating a file in %s/%s", j->cfg->dir,
				       TREE_DIR);
	char name[40] = ".scratch-";
	int r = random_hex(name + 9, 12);
	if (r < 0)
		return rkt_error_errno(err, -r, "getrandom");
	fd = openat(j->treefd, name, O_CREAT | O_EXCL | O_RDWR | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return rkt_error_errno(err, errno, "creating a file in %s/%s", j->cfg->dir,
				       TREE_DIR);
	(void)unlinkat(j->treefd, name, 0);
	return fd;
}

static int copy_all(int src, int dst)
{
	if (lseek(src, 0, SEEK_SET) < 0)
		return -errno;
	for (;;) {
		ssize_t n = copy_file_range(src, NULL, dst, NULL, 1 << 30, 0);
		if (n > 0)
			continue;
		if (n == 0)
			return 0;
		if (errno == EINTR)
			continue;
		if (errno != EXDEV && errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
			return -errno;
		break;
	}
	char buf[1 << 16];
	for (;;) {
		ssize_t k = read(src, buf, sizeof buf);
		if (k == 0)
			return 0;
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		int r = write_all(dst, buf, (size_t)k);
		if (r < 0)
			return r;
	}
}

/* ---- one image ---------------------------------------------------------- */

static int check_dependency(const char *key, const struct appc_dependency *d,
			    const struct aci_import *imp, struct rkt_err *err)
{
	const struct image_manifest *m = imp->manifest;
	if (strcmp(m->name, d->image_name) != 0)
		return rkt_error(err, EINVAL,
				 "image %s: its manifest name \"%s\" differs from the requested dependency name \"%s\"",
				 key, m->name, d->image_name);
	for (size_t i = 0; i < d->n_labels; i++) {
		const char *have = image_manifest_label(m, d->labels[i].name);
		if (!have || strcmp(have, d->labels[i].value) != 0)
			return rkt_error(err, EINVAL,
					 "image %s: label \"%s\" is \"%s\", the dependency asks for \"%s\"",
					 key, d->labels[i].name, have ? have : "", d->labels[i].value);
	}
	if (d->image_id) {
		const char *want = d->image_id + strlen(APPC_ID_PREFIX);
		if (strncmp(imp->full_hex, want, strlen(want)) != 0)
			return rkt_error(err, EINVAL,
					 "image %s does not match the dependency's imageID %s", key,
					 d->image_id);
	}
	return 0;
}

static int verify_image_signature(struct job *j, const char *key, const char *name, int data_fd,
				  int sig_fd, struct rkt_err *err)
{
	/* The helper's own keys, never the client's --local-config. */
	const char *dirs[] = { j->cfg->system_config, j->cfg->local_config, NULL };
	int r = signature_verify(dirs, name, data_fd, sig_fd, NULL, err);
	if (r < 0)
		return rkt_error_wrap(err, "image %s", key);
	return 0;
}

static int load_verified(struct job *j, const char *key, const struct appc_dependency *dep,
			 struct layer *ret, struct rkt_err *err)
{
	_cleanup_close_ int blob = open_store_file(j, key, "", true, err);
	if (blob < 0)
		return blob;
	_cleanup_close_ int asc = open_store_file(j, key, ".asc", false, err);
	if (asc < -1)
		return asc;
	if (asc < 0 && !j->cfg->allow_unsigned)
		return rkt_error(err, EPERM,
				 "image %s is not signed (run with --insecure-options=image, if the policy allows it)",
				 key);
	_cleanup_close_ int orig = asc >= 0 ? open_store_file(j, key, ".orig", false, err) : -1;
	if (orig < -1)
		return orig;
	/* The bytes as served are copied once: what is verified below is
	 * exactly what is hashed and rendered. */
	_cleanup_close_ int served = -1;
	if (orig >= 0) {
		served = scratch_file(j, err);
		if (served < 0)
			return served;
		int r = copy_all(orig, served);
		if (r < 0)
			return rkt_error_errno(err, -r, "image %s: copying its .orig", key);
		if (lseek(served, 0, SEEK_SET) < 0)
			return rkt_error_errno(err, errno, "image %s: rewinding", key);
	}
	_cleanup_close_ int tar = scratch_file(j, err);
	if (tar < 0)
		return tar;
	struct aci_import imp = { 0 };
	int r = aci_import_stream(served >= 0 ? served : blob, tar, NULL, NULL, NULL, &imp, err);
	if (r < 0)
		return rkt_error_wrap(err, "image %s", key);
	if (strcmp(imp.key, key) != 0) {
		aci_import_done(&imp);
		return rkt_error(err, EBADMSG,
				 "image %s does not match its ID (the store was modified after fetch)",
				 key);
	}
	if (dep)
		r = check_dependency(key, dep, &imp, err);
	/* Without a .orig the signed bytes are the tar itself, and the
	 * private tar is those bytes, hashed. */
	if (r == 0 && asc >= 0)
		r = verify_image_signature(j, key, imp.manifest->name, served >= 0 ? served : tar,
					   asc, err);
	if (r < 0) {
		aci_import_done(&imp);
		return r;
	}
	ret->m = TAKE_PTR(imp.manifest);
	ret->tar_fd = TAKE_FD(tar);
	ret->is_signed = asc >= 0;
	aci_import_done(&imp);
	return 0;
}

/* Only to find an already rendered tree: the tree ID hashes the keys, so a
 * lying DB can only point at a tree verified for this image before. */
static int load_looked_up(struct job *j, const char *key, struct layer *ret, struct rkt_err *err)
{
	_cleanup_free_ char *json = NULL;
	bool found = false;
	int r = rdb_manifest(j->db, key, &json, &found, err);
	if (r < 0)
		return r;
	if (!found)
		return rkt_error(err, ENOENT, "image %s is not in the store", key);
	return image_manifest_parse(json, strlen(json), &ret->m, err);
}

static int resolve_dependency(struct job *j, const char *parent, const struct appc_dependency *d,
			      char key[APPC_KEY_LEN + 1], struct rkt_err *err)
{
	bool found = false;
	int r;
	if (d->image_id) {
		char prefix[APPC_KEY_LEN + 1];
		if (appc_id_to_key_prefix(d->image_id, prefix) < 0)
			return rkt_error(err, EINVAL, "image %s: dependency imageID \"%s\" is invalid",
					 parent, d->image_id);
		if (strlen(prefix) == APPC_KEY_LEN) {
			memcpy(key, prefix, APPC_KEY_LEN + 1);
			return 0;
		}
		r = rdb_resolve_prefix(j->db, prefix, key, &found, err);
	} else
		r = rdb_find_by_name(j->db, d->image_name, d->labels, d->n_labels, key, &found, err);
	if (r < 0)
		return rkt_error_wrap(err, "image %s: dependency \"%s\"", parent, d->image_name);
	if (!found)
		return rkt_error(err, ENOENT,
				 "image %s: dependency \"%s\" is not in the store (fetch it first)",
				 parent, d->image_id ? d->image_id : d->image_name);
	return 0;
}

/* Depth-first, dependencies before the image, in listed order (A->[B,C],
 * C->[D] applies B, D, C, A), as rkt image render does. */
static int visit(struct job *j, const char *key, const struct appc_dependency *dep,
		 char *const *inherited, int depth, struct rkt_err *err)
{
	if (depth > RENDER_MAX_DEPTH)
		return rkt_error(err, ELOOP, "image %s: dependencies nest deeper than %d (a cycle?)",
				 key, RENDER_MAX_DEPTH);
	struct layer l = { .tar_fd = -1 };
	memcpy(l.key, key, APPC_KEY_LEN + 1);
	int r = j->verify ? load_verified(j, key, dep, &l, err) : load_looked_up(j, key, &l, err);
	if (r < 0) {
		layer_done(&l);
		return r;
	}
	bool own = l.m->path_whitelist && l.m->path_whitelist[0];
	char *const *wl = own ? l.m->path_whitelist : inherited;
	for (size_t i = 0; r == 0 && i < l.m->n_dependencies; i++) {
		char dep_key[APPC_KEY_LEN + 1];
		r = resolve_dependency(j, key, &l.m->dependencies[i], dep_key, err);
		if (r == 0)
			r = visit(j, dep_key, &l.m->dependencies[i], wl, depth + 1, err);
	}
	if (r < 0) {
		layer_done(&l);
		return r;
	}
	l.wl = wl;
	l.inherited_wl = !own && wl && wl[0];
	j->layers = xrealloc(j->layers, (j->n + 1) * sizeof *j->layers);
	j->layers[j->n++] = l;
	return 0;
}

/* rkt's treestore ID: the keys of the flattened dependency list, image
 * first (the reverse of the order they are applied in), comma-joined. */
static int tree_id(const struct job *j, char ret[RENDER_TREE_ID_LEN + 1], struct rkt_err *err)
{
	_cleanup_free_ char *joined = xcalloc(j->n, APPC_KEY_LEN + 1);
	char *p = joined;
	for (size_t i = j->n; i-- > 0;) {
		p = stpcpy(p, j->layers[i].key);
		if (i > 0)
			*p++ = ',';
	}
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	if (!EVP_Digest(joined, (size_t)(p - joined), md, &n, EVP_sha512(), NULL) || n != 64)
		return rkt_error(err, EIO, "SHA-512 failed");
	char *o = ret + sprintf(ret, "deps-" APPC_ID_PREFIX);
	for (unsigned int i = 0; i < 32; i++)
		o += sprintf(o, "%02x", md[i]);
	return 0;
}

/* ---- trees --------------------------------------------------------------- */

struct tree_info {
	bool rendered;
	bool is_signed;
	char *name;
};

static void tree_info_done(struct tree_info *t)
{
	free(t->name);
	*t = (struct tree_info){ 0 };
}

/* What a finished tree says about itself; the tree is root's alone. */
static int read_tree(struct job *j, const char *id, const char *key, struct tree_info *ret,
		     struct rkt_err *err)
{
	*ret = (struct tree_info){ 0 };
	_cleanup_free_ char *marker = xasprintf("%s/rendered", id);
	int fd = open_beneath(j->treefd, marker, O_RDONLY, 0);
	if (fd == -ENOENT || fd == -ENOTDIR)
		return 0;
	if (fd < 0)
		return rkt_error_errno(err, -fd, "%s/%s/%s", j->cfg->dir, TREE_DIR, marker);
	close(fd);
	_cleanup_close_ int tfd = open_beneath(j->treefd, id, O_RDONLY | O_DIRECTORY, 0);
	if (tfd < 0)
		return rkt_error_errno(err, -tfd, "%s/%s/%s", j->cfg->dir, TREE_DIR, id);
	_cleanup_free_ char *image = NULL, *sig = NULL, *manifest = NULL;
	size_t mlen = 0;
	int r = read_file_at(tfd, "image", META_MAX, &image, NULL, err);
	if (r == 0)
		r = read_file_at(tfd, "signed", META_MAX, &sig, NULL, err);
	if (r == 0)
		r = read_file_at(tfd, "manifest", MANIFEST_MAX_BYTES, &manifest, &mlen, err);
	if (r < 0)
		return rkt_error_wrap(err, "tree %s", id);
	if (strcmp(image, key) != 0)
		return rkt_error(err, EINVAL, "tree %s belongs to image %s, not %s", id, image, key);
	struct image_manifest *m = NULL;
	r = image_manifest_parse(manifest, mlen, &m, err);
	if (r < 0)
		return rkt_error_wrap(err, "tree %s", id);
	ret->name = xstrdup(m->name);
	image_manifest_free(m);
	ret->is_signed = strcmp(sig, "1") == 0;
	ret->rendered = true;
	return 0;
}

static int write_meta(int tfd, const struct job *j, bool all_signed, struct rkt_err *err)
{
	const char *top = j->layers[j->n - 1].key;
	int r = write_file_atomic_at(tfd, "image", top, strlen(top), 0600, err);
	if (r == 0)
		r = write_file_atomic_at(tfd, "signed", all_signed ? "1" : "0", 1, 0600, err);
	return r;
}

/* Extracts every verified layer, in order, into a new temp tree. The
 * privileged part: chown to the archive's owners (CAP_CHOWN) and kept
 * setuid bits (CAP_FSETID) only from tars hashed against their IDs, and
 * setid bits only from signed ones; aci_extract never leaves tfd. */
static int fill_tree(struct job *j, int tfd, bool all_signed, struct rkt_err *err)
{
	for (size_t i = 0; i < j->n; i++) {
		const struct layer *l = &j->layers[i];
		unsigned flags = ACI_EXTRACT_OWNERS;
		if (l->is_signed)
			flags |= ACI_EXTRACT_KEEP_SETID;
		if (l->inherited_wl)
			flags |= ACI_EXTRACT_WHITELIST_DIRS;
		int r = aci_extract(l->tar_fd, tfd, flags, l->wl, err);
		if (r < 0)
			return rkt_error_wrap(err, "rendering image %s", l->key);
	}
	int r = write_meta(tfd, j, all_signed, err);
	if (r < 0)
		return r;
	/* Everything extracted is on disk before the marker says so. */
	if (syncfs(tfd) < 0)
		return rkt_error_errno(err, errno, "syncing the rendered tree");
	return write_file_atomic_at(tfd, "rendered", "", 0, 0600, err);
}

/* Moves the finished temp tree to id. An unfinished leftover of a killed
 * render, or an unsigned tree being replaced by a signed one, is swapped
 * out atomically and removed. */
static int publish_tree(struct job *j, const char *tmp, const char *id, struct rkt_err *err)
{
	if (renameat(j->treefd, tmp, j->treefd, id) < 0) {
		if (errno != EEXIST && errno != ENOTEMPTY)
			return rkt_error_errno(err, errno, "moving the tree to %s/%s/%s", j->cfg->dir,
					       TREE_DIR, id);
		if (renameat2(j->treefd, tmp, j->treefd, id, RENAME_EXCHANGE) < 0)
			return rkt_error_errno(err, errno, "replacing %s/%s/%s", j->cfg->dir,
					       TREE_DIR, id);
		(void)rm_rf_at(j->treefd, tmp);
	}
	if (fsync(j->treefd) < 0)
		return rkt_error_errno(err, errno, "syncing %s/%s", j->cfg->dir, TREE_DIR);
	return 0;
}

static int render_new_tree(struct job *j, const char *id, bool all_signed, struct rkt_err *err)
{
	/* .tmp-<id>-<random>: the tree's ID in the name lets `rkt image gc`
	 * tell the leftover of a killed render (its .lock-<id> is free) from
	 * a render in progress (which holds it). */
	char rnd[17];
	int r = random_hex(rnd, 8);
	if (r < 0)
		return rkt_error_errno(err, -r, "getrandom");
	_cleanup_free_ char *tmp = xasprintf(".tmp-%s-%s", id, rnd);
	if (mkdirat(j->treefd, tmp, TREE_MODE) < 0)
		return rkt_error_errno(err, errno, "creating %s/%s/%s", j->cfg->dir, TREE_DIR, tmp);
	_cleanup_close_ int tfd = open_beneath(j->treefd, tmp, O_RDONLY | O_DIRECTORY, 0);
	if (tfd < 0)
		r = rkt_error_errno(err, -tfd, "opening %s/%s/%s", j->cfg->dir, TREE_DIR, tmp);
	else if (fchown(tfd, 0, 0) < 0 || fchmod(tfd, TREE_MODE) < 0)
		r = rkt_error_errno(err, errno, "%s/%s/%s", j->cfg->dir, TREE_DIR, tmp);
	if (r == 0)
		r = fill_tree(j, tfd, all_signed, err);
	if (r == 0)
		r = publish_tree(j, tmp, id, err);
	if (r < 0)
		(void)rm_rf_at(j->treefd, tmp);
	return r;
}

/* `rkt image gc` removes a tree's lock file with the tree (common/lockfile.h). */
static int lock_tree(struct job *j, const char *id, struct rkt_err *err)
{
	_cleanup_free_ char *name = xasprintf(".lock-%s", id);
	int fd = lockfile_lock(j->treefd, name, LOCK_EX, 0600);
	if (fd < 0)
		return rkt_error_errno(err, -fd, "locking %s/%s/%s", j->cfg->dir, TREE_DIR, name);
	return fd;
}

static void fill_result(const struct job *j, const char *id, const struct tree_info *t,
			struct render_result *ret)
{
	memcpy(ret->tree_id, id, RENDER_TREE_ID_LEN + 1);
	ret->is_signed = t->is_signed;
	ret->name = xstrdup(t->name);
	ret->deps = xcalloc(1, sizeof(char *));
	for (size_t i = 0; i + 1 < j->n; i++)
		ret->deps = strv_append(ret->deps, j->layers[i].key);
}

/* The fast path: a tree rendered before for the list the DB describes. */
static int find_rendered(struct job *j, const char *key, struct render_result *ret, bool *done)
{
	*done = false;
	struct rkt_err ignored = { 0 };
	j->verify = false;
	char id[RENDER_TREE_ID_LEN + 1];
	struct tree_info t = { 0 };
	if (visit(j, key, NULL, NULL, 0, &ignored) == 0 && tree_id(j, id, &ignored) == 0 &&
	    read_tree(j, id, key, &t, &ignored) == 0 && t.rendered &&
	    (t.is_signed || j->cfg->allow_unsigned)) {
		fill_result(j, id, &t, ret);
		*done = true;
	}
	tree_info_done(&t);
	job_layers_free(j);
	return 0;
}

static int render_verified(struct job *j, const char *key, struct render_result *ret,
			   struct rkt_err *err)
{
	j->verify = true;
	int r = visit(j, key, NULL, NULL, 0, err);
	if (r < 0)
		return r;
	bool all_signed = true;
	for (size_t i = 0; i < j->n; i++)
		all_signed = all_signed && j->layers[i].is_signed;
	char id[RENDER_TREE_ID_LEN + 1];
	r = tree_id(j, id, err);
	if (r < 0)
		return r;
	_cleanup_close_ int lock = lock_tree(j, id, err);
	if (lock < 0)
		return lock;
	struct tree_info t = { 0 };
	r = read_tree(j, id, key, &t, err);
	/* A concurrent render may have finished it; an unsigned tree is
	 * re-rendered once every image is signed (setid bits come back). */
	if (r == 0 && !(t.rendered && (t.is_signed || !all_signed))) {
		tree_info_done(&t);
		r = render_new_tree(j, id, all_signed, err);
		if (r == 0)
			r = read_tree(j, id, key, &t, err);
		if (r == 0 && !t.rendered)
			r = rkt_error(err, EIO, "tree %s vanished after rendering", id);
	}
	if (r == 0)
		fill_result(j, id, &t, ret);
	tree_info_done(&t);
	return r;
}

static int open_tree_dir(struct job *j, struct rkt_err *err)
{
	int fd = open_beneath(j->dirfd, TREE_DIR, O_RDONLY | O_DIRECTORY, 0);
	if (fd == -ENOENT) {
		if (mkdirat(j->dirfd, TREE_DIR, TREE_MODE) < 0 && errno != EEXIST)
			return rkt_error_errno(err, errno, "creating %s/%s", j->cfg->dir, TREE_DIR);
		fd = open_beneath(j->dirfd, TREE_DIR, O_RDONLY | O_DIRECTORY, 0);
	}
	if (fd < 0)
		return rkt_error_errno(err, -fd, "opening %s/%s", j->cfg->dir, TREE_DIR);
	struct stat st;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return rkt_error_errno(err, errno, "%s/%s", j->cfg->dir, TREE_DIR);
	}
	if (st.st_uid != 0) {
		close(fd);
		return rkt_error(err, EPERM, "%s/%s is owned by uid %u, not root", j->cfg->dir,
				 TREE_DIR, (unsigned)st.st_uid);
	}
	/* DESIGN §4: the tree store is root's alone. */
	if ((st.st_mode & 07777) != TREE_MODE && fchmod(fd, TREE_MODE) < 0) {
		close(fd);
		return rkt_error_errno(err, errno, "chmod %s/%s", j->cfg->dir, TREE_DIR);
	}
	return fd;
}

int render_image(const struct render_config *c, const char *key, struct render_result *ret,
		 struct rkt_err *err)
{
	*ret = (struct render_result){ 0 };
	struct job j = { .cfg = c, .dirfd = -1, .treefd = -1 };
	j.dirfd = open(c->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (j.dirfd < 0)
		return rkt_error_errno(err, errno, "opening %s", c->dir);
	int r = open_tree_dir(&j, err);
	if (r >= 0) {
		j.treefd = r;
		r = rdb_open(j.dirfd, c->dir, &j.db, err);
	}
	bool done = false;
	if (r >= 0)
		r = find_rendered(&j, key, ret, &done);
	if (r >= 0 && !done)
		r = render_verified(&j, key, ret, err);
	job_layers_free(&j);
	rdb_close(j.db);
	if (j.treefd >= 0)
		close(j.treefd);
	close(j.dirfd);
	if (r < 0)
		render_result_done(ret);
	return r < 0 ? r : 0;
}
