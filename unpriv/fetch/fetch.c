/* The fetch pipeline for one image argument (rkt-behaviour.md §4): classify,
 * apply the pull policy, read or download the raw bytes into store temp
 * files, import (decompress + hash + validate) into another temp, verify
 * the signature and the requested name/labels, and only then commit. A
 * failure at any step discards every temp file, so nothing unverified or
 * half-written ever becomes an image. */
#include "fetch.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/aci_archive.h"
#include "common/cleanup.h"
#include "common/log.h"
#include "common/manifest.h"
#include "common/util.h"
#include "discovery.h"
#include "http.h"
#include "keystore.h"
#include "unpriv/cli/cli.h"

#define LOG_PREFIX "image"
/* Dependencies of dependencies...: a cycle in hostile manifests must end. */
#define FETCH_MAX_DEPTH 16
#define SIG_MAX_BYTES (1u << 20)
/* HTTP 202 on the signature: how often and how long to wait for it. */
#define SIG_RETRIES 5
#define SIG_RETRY_DELAY_MS 500

#define NOT_FOUND_TAIL                                                                             \
	"either image was not found in the store or store was disabled and fetching from remote "  \
	"yielded nothing or it is disabled"

enum image_kind { KIND_HASH, KIND_FILE, KIND_HTTP, KIND_DOCKER, KIND_NAME, KIND_BAD_SCHEME };

struct fetcher {
	struct store *s;
	const struct fetch_opts *o;
	int depth;
};

/* A temp file under cas/tmp that is removed unless handed over. */
struct store_tmp {
	struct store *s;
	char *name;
	int fd;
};

static void store_tmp_done(struct store_tmp *t)
{
	if (t->fd >= 0)
		close(t->fd);
	if (t->name)
		store_tmp_discard(t->s, t->name);
	free(t->name);
	t->fd = -1;
	t->name = NULL;
}
#define _cleanup_store_tmp_ __attribute__((cleanup(store_tmp_done)))

static int store_tmp_open(struct store *s, struct store_tmp *t, struct rkt_err *err)
{
	*t = (struct store_tmp){ .s = s, .fd = -1 };
	return store_tmp_create(s, &t->fd, &t->name, err);
}

static void warn_insecure_once(unsigned insecure)
{
	static bool warned_tls, warned_image;
	if ((insecure & INSECURE_TLS) && !warned_tls) {
		log_warn("TLS verification has been disabled");
		warned_tls = true;
	}
	if ((insecure & INSECURE_IMAGE) && !warned_image) {
		log_warn("image signature verification has been disabled");
		warned_image = true;
	}
}

/* rkt-behaviour.md §4.1. For files, ret_path gets the path. */
static enum image_kind classify(const char *arg, const char **ret_path)
{
	*ret_path = NULL;
	if (appc_is_hash(arg))
		return KIND_HASH;
	if (strncasecmp(arg, "docker:", 7) == 0)
		return KIND_DOCKER;
	if (strncasecmp(arg, "http://", 7) == 0 || strncasecmp(arg, "https://", 8) == 0)
		return KIND_HTTP;
	if (strncasecmp(arg, "file://", 7) == 0) {
		*ret_path = arg + 7;
		return KIND_FILE;
	}
	if (strncasecmp(arg, "file:", 5) == 0) {
		*ret_path = arg + 5;
		return KIND_FILE;
	}
	/* Any other "scheme://" is a URL we do not speak, not a name. */
	size_t sl = strspn(arg, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-");
	if (sl > 0 && strncmp(arg + sl, "://", 3) == 0)
		return KIND_BAD_SCHEME;
	*ret_path = arg;
	struct stat st;
	if (arg[0] == '/' || (stat(arg, &st) == 0 && S_ISREG(st.st_mode)) || strstr(arg, "./") ||
	    str_has_suffix(arg, ".aci"))
		return KIND_FILE;
	*ret_path = NULL;
	return KIND_NAME;
}

static bool blob_present(struct store *s, const char *key, struct rkt_err *err)
{
	struct store_image img = { 0 };
	bool found = false;
	if (store_get_image(s, key, &img, &found, err) < 0)
		return false;
	store_image_done(&img);
	return found;
}

static int fetch_name_string(struct fetcher *f, const char *arg, char ret_key[APPC_KEY_LEN + 1],
			     struct rkt_err *err);

/* ---- checks on the imported image -------------------------------------- */

static int check_requested(const struct appc_image_ref *ref, const struct image_manifest *m,
			   struct rkt_err *err)
{
	if (strcmp(ref->name, m->name) != 0)
		return rkt_error(err, EINVAL,
				 "image name \"%s\" in the fetched manifest differs from the requested name \"%s\"",
				 m->name, ref->name);
	for (size_t i = 0; i < ref->n_labels; i++) {
		const struct appc_label *l = &ref->labels[i];
		const char *have = image_manifest_label(m, l->name);
		if (!have)
			return rkt_error(err, EINVAL,
					 "requested label \"%s\" not provided by the image manifest", l->name);
		if (strcmp(have, l->value) != 0)
			return rkt_error(err, EINVAL,
					 "requested value for label \"%s\": \"%s\" differs from fetched aci label value: \"%s\"",
					 l->name, l->value, have);
	}
	return 0;
}

/* --trust-keys-from-https (rkt-behaviour.md §4.4): when no trusted key
 * knows the signer of a name fetch, trust the keys that meta discovery
 * publishes for the name, fetched over https only (plain http too with
 * --insecure-options=pubkey). They land under prefix.d/<name> in the local
 * config, so this needs rkt-admin's write access, as in rkt. */
static int trust_discovered_keys(const struct fetcher *f, const struct appc_image_ref *ref,
				 struct rkt_err *err)
{
	bool allow_http = f->o->insecure & INSECURE_PUBKEY;
	int r = keystore_check_writable(ref->name, err);
	if (r < 0)
		return r;
	struct discovery_result dr = { 0 };
	r = discovery_discover(ref, true, f->o->insecure & INSECURE_TLS, allow_http, &dr, err);
	if (r < 0)
		return rkt_error_wrap(err, "discovering keys for %s", ref->name);
	int added = 0;
	for (char **u = dr.pubkeys; r == 0 && u && *u; u++) {
		_cleanup_free_ char *body = NULL;
		size_t len = 0;
		long status = 0;
		struct key_info k = { 0 };
		_cleanup_free_ char *path = NULL;
		r = http_get_memory(*u, f->o->insecure & INSECURE_TLS, allow_http, 1u << 20, &body, &len,
				    &status, err);
		if (r == 0)
			r = keystore_key_info(body, len, &k, err);
		if (r == 0)
			r = keystore_store_key(&k, ref->name, &path, err);
		if (r == 0) {
			log_line("pubkey", "Trusting \"%s\" for prefix \"%s\" without fingerprint review.", *u,
				 ref->name);
			log_line("pubkey", "Added key for prefix \"%s\" at \"%s\"", ref->name, path);
			added++;
		}
		key_info_done(&k);
	}
	discovery_result_done(&dr);
	if (r == 0 && added == 0)
		r = rkt_error(err, ENOKEY, "meta discovery on %s resulted in no keys", ref->name);
	return r;
}

static int verify_signature(const struct fetcher *f, const struct appc_image_ref *ref,
			    const char *name, int data_fd, int sig_fd, struct rkt_err *err)
{
	_cleanup_strv_ char **signers = NULL;
	int r = -ENOKEY;
	for (int attempt = 0; attempt < 2 && r == -ENOKEY; attempt++) {
		if (attempt == 1) {
			if (!ref || !f->o->trust_keys_from_https)
				break;
			struct rkt_err terr = { 0 };
			if (trust_discovered_keys(f, ref, &terr) < 0) {
				log_warn("%s", terr.msg);
				break;
			}
		}
		if (lseek(data_fd, 0, SEEK_SET) < 0 || lseek(sig_fd, 0, SEEK_SET) < 0)
			return rkt_error_errno(err, errno, "rewinding the image for verification");
		r = keystore_verify(name, data_fd, sig_fd, &signers, err);
	}
	if (r < 0)
		return r;
	log_line(LOG_PREFIX, "signature verified:");
	for (char **p = signers; p && *p; p++)
		log_line(LOG_PREFIX, "  %s", *p);
	return 0;
}

static int fetch_dependencies(struct fetcher *f, const struct image_manifest *m, struct rkt_err *err)
{
	for (size_t i = 0; i < m->n_dependencies; i++) {
		const struct appc_dependency *d = &m->dependencies[i];
		if (d->image_id) {
			char key[APPC_KEY_LEN + 1];
			if (appc_id_to_key_prefix(d->image_id, key) == 0 && strlen(key) == APPC_KEY_LEN &&
			    blob_present(f->s, key, err))
				continue;
		}
		_cleanup_free_ char *arg = xstrdup(d->image_name);
		for (size_t k = 0; k < d->n_labels; k++) {
			char *next = xasprintf("%s,%s=%s", arg, d->labels[k].name, d->labels[k].value);
			free(arg);
			arg = next;
		}
		struct fetch_opts dep_opts = *f->o;
		dep_opts.pull = PULL_NEW;
		dep_opts.signature_file = NULL;
		struct fetcher dep = { f->s, &dep_opts, f->depth + 1 };
		char key[APPC_KEY_LEN + 1];
		int r = fetch_name_string(&dep, arg, key, err);
		if (r < 0)
			return rkt_error_wrap(err, "dependency \"%s\" of \"%s\"", arg, m->name);
	}
	return 0;
}

struct source {
	const char *display;              /* file path or URL, for messages */
	int data_fd;                      /* the raw (maybe compressed) image */
	int sig_fd;                       /* detached signature, -1 = not checked */
	const struct appc_image_ref *ref; /* name fetch: what was asked for */
	bool latest;
};

/* True when the bytes as served are the stored tar itself: libarchive's raw
 * passthrough then copied them unchanged. A compressed stream starts with
 * its own magic, never with a tar header. */
static bool served_as_plain_tar(int data_fd, const struct aci_import *imp)
{
	struct stat st;
	char magic[5];
	return fstat(data_fd, &st) == 0 && (uint64_t)st.st_size == imp->size &&
	       pread(data_fd, magic, sizeof magic, 257) == (ssize_t)sizeof magic &&
	       memcmp(magic, "ustar", sizeof magic) == 0;
}

/* The root helper re-verifies the signature with its own keys before it
 * renders (DESIGN §2 rule 2), so the signature, and the signed bytes when
 * they are not the blob, stay beside the blob. */
static int keep_signature(struct fetcher *f, const struct source *src,
			  const struct aci_import *imp, struct rkt_err *err)
{
	int orig_fd = served_as_plain_tar(src->data_fd, imp) ? -1 : src->data_fd;
	int r = store_commit_signature(f->s, imp->key, src->sig_fd, orig_fd, err);
	if (r < 0)
		return rkt_error_wrap(err, "keeping the signature of %s", src->display);
	return 0;
}

/* Imports src into a store temp, verifies it, commits it, then fetches its
 * dependencies. */
static int import_source(struct fetcher *f, const struct source *src,
			 char ret_key[APPC_KEY_LEN + 1], struct rkt_err *err)
{
	_cleanup_store_tmp_ struct store_tmp out = { .fd = -1 };
	int r = store_tmp_open(f->s, &out, err);
	if (r < 0)
		return r;
	if (lseek(src->data_fd, 0, SEEK_SET) < 0)
		return rkt_error_errno(err, errno, "rewinding %s", src->display);

	struct aci_limits lim;
	aci_limits_default(&lim);
	struct aci_import imp = { 0 };
	r = aci_import_stream(src->data_fd, out.fd, &lim, NULL, NULL, &imp, err);
	if (r < 0)
		return rkt_error_wrap(err, "%s", src->display);

	const char *name = imp.manifest->name;
	if (src->sig_fd >= 0) {
		r = verify_signature(f, src->ref, src->ref ? src->ref->name : name, src->data_fd,
				     src->sig_fd, err);
		if (r < 0)
			goto out;
	}
	if (src->ref) {
		r = check_requested(src->ref, imp.manifest, err);
		if (r < 0)
			goto out;
	}
	if (src->sig_fd >= 0) {
		r = keep_signature(f, src, &imp, err);
		if (r < 0)
			goto out;
	}
	close(out.fd);
	out.fd = -1;
	r = store_commit_image(f->s, out.name, imp.key, imp.manifest_json, name, imp.size,
			       src->latest, err);
	if (r < 0)
		goto out;
	/* the temp file is the blob now */
	free(out.name);
	out.name = NULL;
	memcpy(ret_key, imp.key, APPC_KEY_LEN + 1);
	r = fetch_dependencies(f, imp.manifest, err);
out:
	aci_import_done(&imp);
	return r;
}

/* ---- files ------------------------------------------------------------- */

static int open_signature_file(const char *path, int *ret_fd, struct rkt_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return rkt_error_errno(err, errno, "error opening signature file %s", path);
	*ret_fd = fd;
	return 0;
}

static int fetch_file(struct fetcher *f, const char *path, char ret_key[APPC_KEY_LEN + 1],
		      struct rkt_err *err)
{
	char abs[PATH_MAX];
	if (!realpath(path, abs))
		return rkt_error_errno(err, errno, "unable to open image file %s", path);
	log_debug(LOG_PREFIX, "using image from file %s", abs);
	_cleanup_close_ int data_fd = open(abs, O_RDONLY | O_CLOEXEC);
	if (data_fd < 0)
		return rkt_error_errno(err, errno, "unable to open image file %s", abs);
	struct stat st;
	if (fstat(data_fd, &st) < 0)
		return rkt_error_errno(err, errno, "stat %s", abs);
	if (!S_ISREG(st.st_mode))
		return rkt_error(err, EINVAL, "image file %s is not a regular file", abs);

	_cleanup_close_ int sig_fd = -1;
	if (!(f->o->insecure & INSECURE_IMAGE)) {
		_cleanup_free_ char *sig = f->o->signature_file ? xstrdup(f->o->signature_file)
								: xasprintf("%s.asc", abs);
		int r = open_signature_file(sig, &sig_fd, err);
		if (r < 0)
			return r;
	}
	struct source src = { .display = abs, .data_fd = data_fd, .sig_fd = sig_fd };
	return import_source(f, &src, ret_key, err);
}

/* ---- resumable downloads ------------------------------------------------
 * An image download goes to cas/tmp/partial-<sha256(url)>, with the ETag it
 * belongs to beside it (…-etag, written before the first body byte). A
 * fetch that was killed halfway resumes there with Range + If-Range; without
 * an ETag the partial bytes cannot be trusted to match and are dropped. */

#define ETAG_MAX 1024

struct partial {
	int fd;
	char *path;
	char *etag_path;
	char *etag; /* the validator of the bytes already there */
	off_t size;
};

static void partial_done(struct partial *p)
{
	if (p->fd >= 0)
		close(p->fd);
	free(p->path);
	free(p->etag_path);
	free(p->etag);
	*p = (struct partial){ .fd = -1 };
}
#define _cleanup_partial_ __attribute__((cleanup(partial_done)))

/* The download is over (imported, refused or not modified). */
static void partial_remove(struct partial *p)
{
	if (!p->path)
		return;
	unlink(p->etag_path);
	unlink(p->path);
}

static char *url_digest(const char *url)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	if (!EVP_Digest(url, strlen(url), md, &n, EVP_sha256(), NULL))
		return NULL;
	char *hex = xmalloc(2 * n + 1);
	for (unsigned int i = 0; i < n; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return hex;
}

static char *read_etag(const char *path)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return NULL;
	char *data = NULL;
	size_t len = 0;
	if (read_fd_bounded(fd, ETAG_MAX, &data, &len) < 0)
		return NULL;
	if (len == 0 || strpbrk(data, "\r\n") || strlen(data) != len) {
		free(data);
		return NULL;
	}
	return data;
}

/* Opens (or takes over) the partial file of url. false: not available (a
 * concurrent fetch of the same URL holds it), use a plain temp file. */
static bool partial_open(const char *url, struct partial *p)
{
	*p = (struct partial){ .fd = -1 };
	_cleanup_free_ char *hex = url_digest(url);
	if (!hex || !g_opts.dir)
		return false;
	p->path = xasprintf("%s/cas/tmp/partial-%s", g_opts.dir, hex);
	p->etag_path = xasprintf("%s-etag", p->path);
	p->fd = open(p->path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0660);
	if (p->fd < 0 || flock(p->fd, LOCK_EX | LOCK_NB) < 0) {
		partial_done(p);
		return false;
	}
	struct stat st;
	if (fstat(p->fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		partial_done(p);
		return false;
	}
	p->etag = st.st_size > 0 ? read_etag(p->etag_path) : NULL;
	if (p->etag) {
		p->size = st.st_size;
	} else if (ftruncate(p->fd, 0) < 0) {
		partial_done(p);
		return false;
	}
	if (lseek(p->fd, 0, SEEK_END) < 0) {
		partial_done(p);
		return false;
	}
	return true;
}

static void partial_on_headers(void *ctx, long status, const char *etag)
{
	struct partial *p = ctx;
	if (status != 200 && status != 206)
		return;
	if (!etag || strpbrk(etag, "\r\n") || strlen(etag) >= ETAG_MAX) {
		unlink(p->etag_path);
		return;
	}
	if (p->etag && strcmp(p->etag, etag) == 0)
		return;
	struct rkt_err ignored = { 0 };
	if (write_file_atomic_at(AT_FDCWD, p->etag_path, etag, strlen(etag), 0660, &ignored) < 0)
		unlink(p->etag_path);
}

/* ---- HTTP -------------------------------------------------------------- */

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int download_signature(struct fetcher *f, const char *url, int fd, bool *ret_deferred,
			      struct rkt_err *err)
{
	if (ftruncate(fd, 0) < 0 || lseek(fd, 0, SEEK_SET) < 0)
		return rkt_error_errno(err, errno, "resetting the signature temp file");
	struct http_get req = {
		.url = url,
		.insecure_tls = f->o->insecure & INSECURE_TLS,
		.allow_http = f->o->insecure & INSECURE_HTTP,
		.out_fd = fd,
		.max_bytes = SIG_MAX_BYTES,
	};
	struct http_result res = { 0 };
	int r = http_get(&req, &res, err);
	if (r < 0)
		return rkt_error_wrap(err, "error downloading the signature file");
	*ret_deferred = res.status == 202;
	bool ok = res.status == 200 || res.status == 202;
	long status = res.status;
	http_result_done(&res);
	if (!ok)
		return rkt_error(err, EIO, "error downloading the signature file: bad HTTP status code: %ld (GET %s)",
				 status, url);
	return 0;
}

/* The image was downloaded; the server said 202 for the signature before. */
static int download_deferred_signature(struct fetcher *f, const char *url, int fd,
				       struct rkt_err *err)
{
	for (int i = 0; i < SIG_RETRIES; i++) {
		bool deferred = false;
		int r = download_signature(f, url, fd, &deferred, err);
		if (r < 0)
			return r;
		if (!deferred)
			return 0;
		sleep_ms(SIG_RETRY_DELAY_MS);
	}
	return rkt_error(err, EAGAIN, "signature %s still not available after %d tries (HTTP 202 Accepted)",
			 url, SIG_RETRIES);
}

struct http_target {
	const char *url;
	const char *sig_url;              /* NULL: url + ".asc" */
	const struct appc_image_ref *ref; /* name fetches */
	bool latest;
};

/* The remote row, when its blob is still in the store. */
static bool cached_remote(struct fetcher *f, const char *url, struct store_remote *rem,
			  struct rkt_err *err)
{
	bool found = false;
	if (store_get_remote(f->s, url, rem, &found, err) < 0 || !found)
		return false;
	if (!blob_present(f->s, rem->key, err)) {
		store_remote_done(rem);
		memset(rem, 0, sizeof *rem);
		return false;
	}
	return true;
}

/* A cached or revalidated image answers a name fetch only if its stored
 * manifest carries the requested name and labels, as a download would. */
static int check_stored_requested(struct fetcher *f, const struct http_target *t,
				  const char *key, struct rkt_err *err)
{
	if (!t->ref)
		return 0;
	struct store_image img = { 0 };
	bool found = false;
	int r = store_get_image(f->s, key, &img, &found, err);
	if (r < 0)
		return r;
	if (!found) {
		store_image_done(&img);
		return rkt_error(err, ENOENT, "cached image %s for %s is gone from the store", key, t->url);
	}
	struct image_manifest *m = NULL;
	r = image_manifest_parse(img.manifest_json, strlen(img.manifest_json), &m, err);
	if (r == 0)
		r = check_requested(t->ref, m, err);
	image_manifest_free(m);
	store_image_done(&img);
	return r;
}

static int remember_remote(struct fetcher *f, const struct http_target *t, const char *sig_url,
			   const char *etag, int64_t max_age, const char *key, struct rkt_err *err)
{
	struct store_remote rem = {
		.aci_url = (char *)t->url,
		.sig_url = (char *)sig_url,
		.etag = (char *)etag,
		.cache_max_age_s = max_age > 0 ? max_age : 0,
		.download_time_ns = now_realtime_ns(),
	};
	memcpy(rem.key, key, APPC_KEY_LEN + 1);
	return store_put_remote(f->s, &rem, err);
}

static int fetch_http(struct fetcher *f, const struct http_target *t,
		      char ret_key[APPC_KEY_LEN + 1], struct rkt_err *err)
{
	log_line(LOG_PREFIX, "remote fetching from URL \"%s\"", t->url);
	int r = http_check_url(t->url, f->o->insecure & INSECURE_HTTP, err);
	if (r < 0)
		return r;
	struct store_remote rem = { 0 };
	bool have = cached_remote(f, t->url, &rem, err);
	if (have && rem.cache_max_age_s > 0 &&
	    now_realtime_ns() - rem.download_time_ns < rem.cache_max_age_s * 1000000000LL) {
		log_line(LOG_PREFIX, "image for %s isn't expired, not fetching.", t->url);
		memcpy(ret_key, rem.key, APPC_KEY_LEN + 1);
		store_remote_done(&rem);
		return check_stored_requested(f, t, ret_key, err);
	}
	log_line(LOG_PREFIX, "fetching image from %s", t->url);

	_cleanup_free_ char *sig_url = t->sig_url ? xstrdup(t->sig_url) : xasprintf("%s.asc", t->url);
	_cleanup_store_tmp_ struct store_tmp sig = { .fd = -1 };
	_cleanup_store_tmp_ struct store_tmp raw = { .fd = -1 };
	_cleanup_partial_ struct partial part = { .fd = -1 };
	_cleanup_close_ int sig_file_fd = -1;
	int sig_fd = -1;
	bool sig_deferred = false;
	if (!(f->o->insecure & INSECURE_IMAGE)) {
		if (f->o->signature_file) {
			r = open_signature_file(f->o->signature_file, &sig_file_fd, err);
			sig_fd = sig_file_fd;
		} else {
			r = store_tmp_open(f->s, &sig, err);
			if (r >= 0)
				r = download_signature(f, sig_url, sig.fd, &sig_deferred, err);
			sig_fd = sig.fd;
		}
		if (r < 0)
			goto out;
	}

	bool resumable = partial_open(t->url, &part);
	if (!resumable) {
		r = store_tmp_open(f->s, &raw, err);
		if (r < 0)
			goto out;
	}
	struct http_get req = {
		.url = t->url,
		.insecure_tls = f->o->insecure & INSECURE_TLS,
		.allow_http = f->o->insecure & INSECURE_HTTP,
		.if_none_match = have ? rem.etag : NULL,
		.out_fd = resumable ? part.fd : raw.fd,
		.resume_from = resumable ? part.size : 0,
		.progress = f->o->progress,
		.progress_label = "ACI",
	};
	struct http_result res = { 0 };
	r = resumable ? http_get_resumable(&req, part.etag, partial_on_headers, &part, &res, err)
		      : http_get(&req, &res, err);
	if (r < 0) {
		/* network trouble keeps the partial file for the next try */
		if (res.status >= 400)
			partial_remove(&part);
		rkt_error_wrap(err, "error downloading ACI");
		goto out;
	}
	/* from here on the partial bytes are either complete or useless;
	 * unlinking leaves part.fd readable */
	partial_remove(&part);
	int data_fd = req.out_fd;
	if (res.status == 304 && have) {
		memcpy(ret_key, rem.key, APPC_KEY_LEN + 1);
		r = check_stored_requested(f, t, ret_key, err);
		if (r == 0)
			r = remember_remote(f, t, sig_url, res.etag ? res.etag : rem.etag,
					    res.max_age_s >= 0 ? res.max_age_s : rem.cache_max_age_s,
					    rem.key, err);
		http_result_done(&res);
		goto out;
	}
	if (res.status != 200 && res.status != 206) {
		r = rkt_error(err, EIO, "error downloading ACI: bad HTTP status code: %ld (GET %s)",
			      res.status, t->url);
		http_result_done(&res);
		goto out;
	}
	if (sig_deferred) {
		r = download_deferred_signature(f, sig_url, sig.fd, err);
		if (r < 0) {
			http_result_done(&res);
			goto out;
		}
	}
	struct source src = { .display = t->url, .data_fd = data_fd, .sig_fd = sig_fd,
			      .ref = t->ref, .latest = t->latest };
	r = import_source(f, &src, ret_key, err);
	if (r >= 0)
		r = remember_remote(f, t, sig_url, res.etag, res.max_age_s, ret_key, err);
	http_result_done(&res);
out:
	store_remote_done(&rem);
	return r;
}

static int fetch_url(struct fetcher *f, const char *url, char ret_key[APPC_KEY_LEN + 1],
		     struct rkt_err *err)
{
	if (f->o->pull != PULL_UPDATE) {
		struct store_remote rem = { 0 };
		if (cached_remote(f, url, &rem, err)) {
			log_line(LOG_PREFIX, "using image from local store for url %s", url);
			memcpy(ret_key, rem.key, APPC_KEY_LEN + 1);
			store_remote_done(&rem);
			return 0;
		}
		if (f->o->pull == PULL_NEVER)
			return rkt_error(err, ENOENT, "unable to fetch image from URL \"%s\": " NOT_FOUND_TAIL,
					 url);
	}
	struct http_target t = { .url = url };
	return fetch_http(f, &t, ret_key, err);
}

/* ---- names ------------------------------------------------------------- */

static int fetch_name_string(struct fetcher *f, const char *arg, char ret_key[APPC_KEY_LEN + 1],
			     struct rkt_err *err)
{
	if (f->depth > FETCH_MAX_DEPTH)
		return rkt_error(err, ELOOP, "image \"%s\": dependencies nested deeper than %d levels",
				 arg, FETCH_MAX_DEPTH);
	struct appc_image_ref asked = { 0 }, ref = { 0 };
	int r = appc_image_ref_parse(arg, false, &asked, err);
	if (r < 0)
		return r;
	if (f->o->pull != PULL_UPDATE) {
		bool found = false;
		r = store_find_by_name(f->s, asked.name, asked.labels, asked.n_labels, ret_key, &found,
				       err);
		if (r < 0)
			goto out;
		if (found) {
			log_line(LOG_PREFIX, "using image from local store for image name %s", arg);
			goto out;
		}
		if (f->o->pull == PULL_NEVER) {
			r = rkt_error(err, ENOENT, "unable to fetch image from image name \"%s\": " NOT_FOUND_TAIL,
				      arg);
			goto out;
		}
	}
	r = appc_image_ref_parse(arg, true, &ref, err);
	if (r < 0)
		goto out;
	struct discovery_result dr = { 0 };
	r = discovery_discover(&ref, false, f->o->insecure & INSECURE_TLS, f->o->insecure & INSECURE_HTTP,
			       &dr, err);
	if (r < 0)
		goto out;
	struct http_target t = {
		.url = dr.aci_url,
		.sig_url = dr.sig_url,
		.ref = &ref,
		.latest = appc_labels_get(asked.labels, asked.n_labels, "version") == NULL,
	};
	r = fetch_http(f, &t, ret_key, err);
	discovery_result_done(&dr);
out:
	appc_image_ref_done(&asked);
	appc_image_ref_done(&ref);
	return r;
}

/* ---- entry point ------------------------------------------------------- */

static int fetch_docker(struct fetcher *f, const char *arg, struct rkt_err *err)
{
	if (f->o->pull == PULL_NEVER)
		return rkt_error(err, ENOENT, "unable to fetch docker image from URL \"%s\": " NOT_FOUND_TAIL,
				 arg);
	return rkt_error(err, ENOTSUP, "%s: docker images are not supported yet", arg);
}

int fetch_image(struct store *s, const char *arg, const struct fetch_opts *o,
		char ret_key[APPC_KEY_LEN + 1], struct rkt_err *err)
{
	struct fetcher f = { s, o, 0 };
	const char *path = NULL;
	int r;
	warn_insecure_once(o->insecure);
	switch (classify(arg, &path)) {
	case KIND_HASH:
		r = store_resolve_id(s, arg, ret_key, err);
		break;
	case KIND_FILE:
		r = fetch_file(&f, path, ret_key, err);
		break;
	case KIND_HTTP:
		r = fetch_url(&f, arg, ret_key, err);
		break;
	case KIND_DOCKER:
		r = fetch_docker(&f, arg, err);
		break;
	case KIND_BAD_SCHEME:
		r = rkt_error(err, EPROTONOSUPPORT,
			      "rkt only supports http, https, docker or file URLs (%s)", arg);
		break;
	default:
		r = fetch_name_string(&f, arg, ret_key, err);
		break;
	}
	if (r < 0 && !strstr(err->msg, arg) && !(path && strstr(err->msg, path)))
		rkt_error_wrap(err, "image \"%s\"", arg);
	return r;
}
