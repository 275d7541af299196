/* Signature checks with gpgme (platform-recipes.md §5). Every gpgme
 * operation runs in a throwaway GNUPGHOME that holds only the keys we
 * decided to trust, so gpg's "always" trust model is sound there: a good
 * signature can only come from one of those keys. */
#include "common/signature.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/util.h"

/* A public key file is a few KiB; anything much larger is not one. */
#define KEY_FILE_MAX (1u << 20)

/* ---- throwaway gpg homes ---- */

int gpg_fail(struct rkt_err *err, gpgme_error_t e, const char *what)
{
	return rkt_error(err, EIO, "gpgme: %s: %s", what, gpgme_strerror(e));
}

static int gpg_library_init(struct rkt_err *err)
{
	static bool done;
	if (done)
		return 0;
	if (!gpgme_check_version(NULL))
		return rkt_error(err, ENOSYS, "gpgme: library initialisation failed");
	gpgme_error_t e = gpgme_engine_check_version(GPGME_PROTOCOL_OpenPGP);
	if (e)
		return gpg_fail(err, e, "gpg engine not usable");
	done = true;
	return 0;
}

void gpg_home_close(struct gpg_home *h)
{
	if (h->ctx)
		gpgme_release(h->ctx);
	h->ctx = NULL;
	if (h->path) {
		(void)rm_rf_at(AT_FDCWD, h->path);
		free(h->path);
	}
	h->path = NULL;
}

int gpg_home_open(struct gpg_home *h, struct rkt_err *err)
{
	*h = (struct gpg_home){ 0 };
	int r = gpg_library_init(err);
	if (r < 0)
		return r;
	const char *tmp = getenv("TMPDIR");
	if (!tmp || tmp[0] != '/')
		tmp = "/tmp";
	_cleanup_free_ char *tmpl = xasprintf("%s/rkt-gpg-XXXXXX", tmp);
	if (!mkdtemp(tmpl))
		return rkt_error_errno(err, errno, "create gpg home under %s", tmp);
	h->path = TAKE_PTR(tmpl);
	/* Without no-autostart gpg starts an agent on import that outlives us;
	 * public-key import and verify never need one. */
	_cleanup_close_ int dfd = open(h->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		r = rkt_error_errno(err, errno, "open %s", h->path);
		goto fail;
	}
	static const char conf[] = "no-autostart\n";
	r = write_file_atomic_at(dfd, "gpg.conf", conf, sizeof conf - 1, 0600, err);
	if (r < 0)
		goto fail;
	gpgme_error_t e = gpgme_new(&h->ctx);
	if (!e)
		e = gpgme_set_protocol(h->ctx, GPGME_PROTOCOL_OpenPGP);
	if (!e)
		e = gpgme_ctx_set_engine_info(h->ctx, GPGME_PROTOCOL_OpenPGP, NULL, h->path);
	if (!e)
		e = gpgme_set_ctx_flag(h->ctx, "trust-model", "always");
	if (e) {
		r = gpg_fail(err, e, "set up context");
		goto fail;
	}
	gpgme_set_offline(h->ctx, 1);
	return 0;
fail:
	gpg_home_close(h);
	return r;
}

/* ---- key parsing ---- */

void gpg_keylist_done(struct gpg_keylist *l)
{
	for (size_t i = 0; i < l->n; i++)
		gpgme_key_unref(l->keys[i]);
	free(l->keys);
	*l = (struct gpg_keylist){ 0 };
}

/* Lists the keys in data without importing them. */
int gpg_keys_in_data(struct gpg_home *h, const char *data, size_t len, struct gpg_keylist *ret,
			struct rkt_err *err)
{
	*ret = (struct gpg_keylist){ 0 };
	gpgme_data_t d;
	gpgme_error_t e = gpgme_data_new_from_mem(&d, data, len, 0);
	if (e)
		return gpg_fail(err, e, "buffer");
	e = gpgme_op_keylist_from_data_start(h->ctx, d, 0);
	gpgme_key_t key;
	while (!e && !(e = gpgme_op_keylist_next(h->ctx, &key))) {
		ret->keys = xrealloc(ret->keys, (ret->n + 1) * sizeof *ret->keys);
		ret->keys[ret->n++] = key;
	}
	(void)gpgme_op_keylist_end(h->ctx);
	gpgme_data_release(d);
	if (gpg_err_code(e) != GPG_ERR_EOF) {
		gpg_keylist_done(ret);
		/* gpg reports garbage input as an invalid keyring or no data */
		return rkt_error(err, EINVAL, "no OpenPGP public key found (%s)", gpgme_strerror(e));
	}
	return 0;
}

bool gpg_is_fingerprint(const char *s)
{
	size_t i;
	for (i = 0; s[i]; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return i == GPG_FPR_LEN;
}

void gpg_fpr_lower(const char *in, char out[GPG_FPR_LEN + 1])
{
	size_t i;
	for (i = 0; i < GPG_FPR_LEN && in[i]; i++)
		out[i] = (char)tolower((unsigned char)in[i]);
	out[i] = '\0';
}

char **gpg_key_uids(gpgme_key_t key)
{
	char **v = xcalloc(1, sizeof *v);
	for (gpgme_user_id_t u = key->uids; u; u = u->next)
		if (!u->revoked && u->uid)
			v = strv_append(v, u->uid);
	return v;
}

int gpg_import_data(struct gpg_home *h, const char *data, size_t len, struct rkt_err *err)
{
	gpgme_data_t d;
	gpgme_error_t e = gpgme_data_new_from_mem(&d, data, len, 0);
	if (e)
		return gpg_fail(err, e, "buffer");
	e = gpgme_op_import(h->ctx, d);
	gpgme_data_release(d);
	if (e)
		return gpg_fail(err, e, "import keys");
	return 0;
}

/* ---- keyring for an image name ---- */

struct trusted {
	char fpr[GPG_FPR_LEN + 1];
	char *path;
};

struct keyring {
	struct trusted *v;
	size_t n;
};

static void keyring_done(struct keyring *k)
{
	for (size_t i = 0; i < k->n; i++)
		free(k->v[i].path);
	free(k->v);
	*k = (struct keyring){ 0 };
}

static void keyring_remove(struct keyring *k, const char *fpr)
{
	for (size_t i = 0; i < k->n; i++)
		if (strcmp(k->v[i].fpr, fpr) == 0) {
			free(k->v[i].path);
			k->v[i] = k->v[--k->n];
			return;
		}
}

static void keyring_set(struct keyring *k, const char *fpr, const char *path)
{
	keyring_remove(k, fpr);
	k->v = xrealloc(k->v, (k->n + 1) * sizeof *k->v);
	memcpy(k->v[k->n].fpr, fpr, GPG_FPR_LEN + 1);
	k->v[k->n].path = xstrdup(path);
	k->n++;
}

/* Adds the keys of one directory; a zero-length file masks its fingerprint. */
static int keyring_scan_dir(struct keyring *k, const char *dir, struct rkt_err *err)
{
	_cleanup_closedir_ DIR *d = opendir(dir);
	if (!d) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		return rkt_error_errno(err, errno, "open trusted keys directory %s", dir);
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!gpg_is_fingerprint(de->d_name))
			continue;
		struct stat st;
		if (fstatat(dirfd(d), de->d_name, &st, 0) < 0 || !S_ISREG(st.st_mode))
			continue;
		char fpr[GPG_FPR_LEN + 1];
		gpg_fpr_lower(de->d_name, fpr);
		if (st.st_size == 0) {
			keyring_remove(k, fpr);
			continue;
		}
		_cleanup_free_ char *path = xasprintf("%s/%s", dir, de->d_name);
		keyring_set(k, fpr, path);
	}
	return 0;
}

/* root.d, then prefix.d/<c1>, prefix.d/<c1>/<c2>, ... down to the name. */
static int keyring_scan_layer(struct keyring *k, const char *layer, const char *image_name,
			      struct rkt_err *err)
{
	_cleanup_free_ char *root = xasprintf("%s/trustedkeys/root.d", layer);
	int r = keyring_scan_dir(k, root, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *dir = xasprintf("%s/trustedkeys/prefix.d", layer);
	for (const char *p = image_name; *p;) {
		const char *slash = strchrnul(p, '/');
		size_t n = (size_t)(slash - p);
		if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			break;
		char *next = xasprintf("%s/%.*s", dir, (int)n, p);
		free(dir);
		dir = next;
		r = keyring_scan_dir(k, dir, err);
		if (r < 0)
			return r;
		p = *slash ? slash + 1 : slash;
	}
	return 0;
}

static int keyring_gather(const char *const *layers, const char *image_name, struct keyring *ret,
			  struct rkt_err *err)
{
	*ret = (struct keyring){ 0 };
	for (size_t i = 0; layers && layers[i]; i++) {
		if (!*layers[i])
			continue;
		int r = keyring_scan_layer(ret, layers[i], image_name, err);
		if (r < 0) {
			keyring_done(ret);
			return r;
		}
	}
	return 0;
}

/* What the listing told us about one accepted key, so that naming the
 * signer after verify needs no further gpg run. */
struct accepted {
	char **fprs; /* primary and subkey fingerprints, as gpg prints them */
	char **uids;
};

struct accepted_set {
	struct accepted *v;
	size_t n;
};

static void accepted_done(struct accepted_set *a)
{
	for (size_t i = 0; i < a->n; i++) {
		strv_free(a->v[i].fprs);
		strv_free(a->v[i].uids);
	}
	free(a->v);
	*a = (struct accepted_set){ 0 };
}

static void accepted_add(struct accepted_set *a, gpgme_key_t key)
{
	char **fprs = xcalloc(1, sizeof *fprs);
	for (gpgme_subkey_t sk = key->subkeys; sk; sk = sk->next)
		if (sk->fpr)
			fprs = strv_append(fprs, sk->fpr);
	if (key->fpr && !strv_contains(fprs, key->fpr))
		fprs = strv_append(fprs, key->fpr);
	a->v = xrealloc(a->v, (a->n + 1) * sizeof *a->v);
	a->v[a->n++] = (struct accepted){ .fprs = fprs, .uids = gpg_key_uids(key) };
}

/* sig_fpr is a fingerprint, or a 16-hex key ID when the signature names
 * only that. */
static const struct accepted *accepted_find(const struct accepted_set *a, const char *sig_fpr)
{
	size_t sl = strlen(sig_fpr);
	for (size_t i = 0; i < a->n; i++)
		for (char **f = a->v[i].fprs; *f; f++) {
			size_t fl = strlen(*f);
			if (sl >= 16 && sl <= fl && strcasecmp(*f + fl - sl, sig_fpr) == 0)
				return &a->v[i];
		}
	return NULL;
}

/* Reads every trusted key file, keeps those holding exactly the key their
 * name promises, and imports them together (one gpg run). */
static int keyring_import(struct gpg_home *h, const struct keyring *k, struct accepted_set *ret,
			  struct rkt_err *err)
{
	*ret = (struct accepted_set){ 0 };
	_cleanup_free_ char *all = NULL;
	size_t all_len = 0;
	for (size_t i = 0; i < k->n; i++) {
		_cleanup_free_ char *buf = NULL;
		size_t len;
		struct rkt_err e2 = { 0 };
		if (read_file_at(AT_FDCWD, k->v[i].path, KEY_FILE_MAX, &buf, &len, &e2) < 0) {
			log_warn("ignoring trusted key: %s", e2.msg);
			continue;
		}
		struct gpg_keylist l;
		if (gpg_keys_in_data(h, buf, len, &l, &e2) < 0) {
			log_warn("ignoring trusted key %s: %s", k->v[i].path, e2.msg);
			continue;
		}
		if (l.n != 1 || !l.keys[0]->fpr) {
			log_warn("ignoring trusted key %s: it holds %zu keys, expected one", k->v[i].path,
				 l.n);
			gpg_keylist_done(&l);
			continue;
		}
		char real[GPG_FPR_LEN + 1];
		gpg_fpr_lower(l.keys[0]->fpr, real);
		if (strcmp(real, k->v[i].fpr) != 0) {
			log_warn("ignoring trusted key %s: its fingerprint is %s", k->v[i].path, real);
			gpg_keylist_done(&l);
			continue;
		}
		accepted_add(ret, l.keys[0]);
		gpg_keylist_done(&l);
		all = xrealloc(all, all_len + len + 1);
		memcpy(all + all_len, buf, len);
		all_len += len;
		all[all_len++] = '\n';
	}
	if (ret->n == 0)
		return 0;
	int r = gpg_import_data(h, all, all_len, err);
	if (r < 0)
		accepted_done(ret);
	return r;
}

/* ---- verify ---- */

static int unknown_entity(const char *image_name, struct rkt_err *err)
{
	return rkt_error(err, ENOKEY,
			 "openpgp: signature made by unknown entity (try \"rkt trust --prefix %s\")",
			 image_name);
}

static int run_verify(struct gpg_home *h, const struct accepted_set *keys, const char *image_name,
		      int data_fd, int sig_fd, char ***ret_signers, struct rkt_err *err)
{
	if (lseek(data_fd, 0, SEEK_SET) < 0 || lseek(sig_fd, 0, SEEK_SET) < 0)
		return rkt_error_errno(err, errno, "rewind image or signature");
	gpgme_data_t sig = NULL, data = NULL;
	gpgme_error_t e = gpgme_data_new_from_fd(&sig, sig_fd);
	if (!e)
		e = gpgme_data_new_from_fd(&data, data_fd);
	if (!e)
		e = gpgme_op_verify(h->ctx, sig, data, NULL);
	gpgme_data_release(sig);
	gpgme_data_release(data);
	/* gpg itself was usable (checked at init): failing here means it
	 * could not make sense of the signature bytes */
	if (e)
		return rkt_error(err, EBADMSG, "openpgp: invalid signature data (%s)",
				 gpgme_strerror(e));

	_cleanup_strv_ char **signers = xcalloc(1, sizeof(char *));
	size_t trusted = 0;
	bool bad = false, unknown = false;
	gpgme_error_t other = 0;
	gpgme_verify_result_t vr = gpgme_op_verify_result(h->ctx);
	for (gpgme_signature_t s = vr ? vr->signatures : NULL; s; s = s->next) {
		gpgme_err_code_t c = gpg_err_code(s->status);
		const struct accepted *a = s->fpr ? accepted_find(keys, s->fpr) : NULL;
		if (c == GPG_ERR_NO_ERROR && a) {
			trusted++;
			for (char **u = a->uids; *u; u++)
				if (!strv_contains(signers, *u))
					signers = strv_append(signers, *u);
		} else if (c == GPG_ERR_BAD_SIGNATURE)
			bad = true;
		else if (c == GPG_ERR_NO_PUBKEY || c == GPG_ERR_NO_ERROR)
			unknown = true;
		else if (!other)
			other = s->status;
	}
	if (trusted > 0) {
		if (ret_signers)
			*ret_signers = TAKE_PTR(signers);
		return 0;
	}
	if (bad)
		return rkt_error(err, EBADMSG,
				 "bad signature: the image does not match its signature");
	if (other && !unknown)
		return rkt_error(err, EKEYREJECTED, "openpgp: signature not accepted: %s",
				 gpgme_strerror(other));
	if (!vr || !vr->signatures)
		return rkt_error(err, EBADMSG, "openpgp: no signature found");
	return unknown_entity(image_name, err);
}

int signature_verify(const char *const *config_dirs, const char *image_name, int data_fd,
		     int sig_fd, char ***ret_signers, struct rkt_err *err)
{
	if (ret_signers)
		*ret_signers = NULL;
	struct keyring k;
	int r = keyring_gather(config_dirs, image_name, &k, err);
	if (r < 0)
		return r;
	if (k.n == 0) {
		keyring_done(&k);
		return unknown_entity(image_name, err);
	}
	struct gpg_home h;
	r = gpg_home_open(&h, err);
	if (r < 0) {
		keyring_done(&k);
		return r;
	}
	struct accepted_set keys;
	r = keyring_import(&h, &k, &keys, err);
	keyring_done(&k);
	if (r == 0)
		r = keys.n == 0 ? unknown_entity(image_name, err)
				: run_verify(&h, &keys, image_name, data_fd, sig_fd, ret_signers, err);
	accepted_done(&keys);
	gpg_home_close(&h);
	return r;
}
