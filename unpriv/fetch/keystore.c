/* Trusted keys of the local config (rkt trust) and signature checks with the
 * CLI's config layers; the gpgme work itself is common/signature.c. */
#include "keystore.h"

#include <ctype.h>
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
#include "common/signature.h"
#include "common/util.h"
#include "unpriv/cli/cli.h"

#define TRUST_DIR_MODE 02775
#define KEY_FILE_MODE 0644

int keystore_verify(const char *image_name, int data_fd, int sig_fd, char ***ret_signers,
		    struct rkt_err *err)
{
	const char *layers[4];
	size_t n = 0;
	const char *opts[] = { g_opts.system_config, g_opts.local_config, g_opts.user_config };
	for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++)
		if (opts[i] && *opts[i])
			layers[n++] = opts[i];
	layers[n] = NULL;
	return signature_verify(layers, image_name, data_fd, sig_fd, ret_signers, err);
}

/* ---- key info and storing ---- */

void key_info_done(struct key_info *k)
{
	if (!k)
		return;
	strv_free(k->uids);
	free(k->armored);
	*k = (struct key_info){ 0 };
}

static int export_armored(struct gpg_home *h, const char *fpr, char **ret, struct rkt_err *err)
{
	gpgme_data_t out;
	gpgme_error_t e = gpgme_data_new(&out);
	if (e)
		return gpg_fail(err, e, "buffer");
	gpgme_set_armor(h->ctx, 1);
	e = gpgme_op_export(h->ctx, fpr, 0, out);
	if (e) {
		gpgme_data_release(out);
		return gpg_fail(err, e, "export key");
	}
	size_t len = 0;
	char *mem = gpgme_data_release_and_get_mem(out, &len);
	if (!mem || len == 0) {
		gpgme_free(mem);
		return rkt_error(err, EINVAL, "key %s has no usable public key to export", fpr);
	}
	*ret = xstrndup(mem, len);
	gpgme_free(mem);
	return 0;
}

static int key_info_in(struct gpg_home *h, const char *data, size_t len, struct key_info *ret,
		       struct rkt_err *err)
{
	struct gpg_keylist l;
	int r = gpg_keys_in_data(h, data, len, &l, err);
	if (r < 0)
		return r;
	if (l.n != 1 || !l.keys[0]->fpr) {
		size_t n = l.n;
		gpg_keylist_done(&l);
		if (n == 0)
			return rkt_error(err, EINVAL, "no OpenPGP public key found");
		return rkt_error(err, EINVAL, "holds %zu keys, expected exactly one", n);
	}
	gpg_fpr_lower(l.keys[0]->fpr, ret->fingerprint);
	ret->uids = gpg_key_uids(l.keys[0]);
	gpg_keylist_done(&l);
	if (!gpg_is_fingerprint(ret->fingerprint))
		return rkt_error(err, EINVAL, "unsupported key (fingerprint %s is not 40 hex digits)",
				 ret->fingerprint);
	r = gpg_import_data(h, data, len, err);
	if (r < 0)
		return r;
	gpgme_import_result_t ir = gpgme_op_import_result(h->ctx);
	if (!ir || ir->imported + ir->unchanged < 1)
		return rkt_error(err, EINVAL, "key %s could not be imported (no valid self-signature?)",
				 ret->fingerprint);
	return export_armored(h, ret->fingerprint, &ret->armored, err);
}

int keystore_key_info(const char *data, size_t len, struct key_info *ret, struct rkt_err *err)
{
	*ret = (struct key_info){ 0 };
	struct gpg_home h;
	int r = gpg_home_open(&h, err);
	if (r < 0)
		return r;
	r = key_info_in(&h, data, len, ret, err);
	gpg_home_close(&h);
	if (r < 0)
		key_info_done(ret);
	return r;
}

static bool prefix_valid(const char *p)
{
	if (!p || !*p || p[0] == '/')
		return false;
	for (const char *s = p; *s;) {
		const char *slash = strchrnul(s, '/');
		size_t n = (size_t)(slash - s);
		if (n == 0 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
			return false;
		for (const char *c = s; c < slash; c++)
			if ((unsigned char)*c <= ' ' || *c == 0x7f)
				return false;
		s = *slash ? slash + 1 : slash;
	}
	return true;
}

static char *key_dir_rel(const char *prefix)
{
	return prefix ? xasprintf("trustedkeys/prefix.d/%s", prefix) : xstrdup("trustedkeys/root.d");
}

static int admin_only(const char *path, struct rkt_err *err)
{
	return rkt_error(err, EACCES,
			 "only members of group rkt-admin may change trusted keys (%s: permission denied)",
			 path);
}

int keystore_check_writable(const char *prefix, struct rkt_err *err)
{
	if (prefix && !prefix_valid(prefix))
		return rkt_error(err, EINVAL, "invalid prefix \"%s\"", prefix);
	_cleanup_free_ char *rel = key_dir_rel(prefix);
	_cleanup_free_ char *path = xasprintf("%s/%s", g_opts.local_config, rel);
	/* The nearest existing directory is where the first mkdir or the
	 * key file itself would be created. */
	for (;;) {
		if (faccessat(AT_FDCWD, path, F_OK, AT_EACCESS) == 0) {
			if (faccessat(AT_FDCWD, path, W_OK | X_OK, AT_EACCESS) == 0)
				return 0;
			if (errno == EACCES || errno == EPERM)
				return admin_only(path, err);
			return rkt_error_errno(err, errno, "%s", path);
		}
		/* ENOENT, or EACCES from an unsearchable parent: that parent
		 * is then named by the check one level up */
		char *slash = strrchr(path, '/');
		if (!slash || slash == path)
			return 0;
		*slash = '\0';
	}
}

/* mkdir -p of rel under base with an exact mode whatever the umask. */
static int open_key_dir(const char *base, const char *rel, struct rkt_err *err)
{
	_cleanup_close_ int fd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		int r = mkdir_p_at(AT_FDCWD, base, TRUST_DIR_MODE);
		if (r == -EACCES || r == -EPERM)
			return admin_only(base, err);
		if (r < 0)
			return rkt_error_errno(err, -r, "create %s", base);
		fd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	if (fd < 0)
		return rkt_error_errno(err, errno, "open %s", base);
	_cleanup_free_ char *copy = xstrdup(rel);
	_cleanup_free_ char *done = xstrdup(base);
	char *save = NULL;
	for (char *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		char *next = xasprintf("%s/%s", done, c);
		free(done);
		done = next;
		bool created = mkdirat(fd, c, TRUST_DIR_MODE) == 0;
		if (!created && errno != EEXIST) {
			if (errno == EACCES || errno == EPERM)
				return admin_only(done, err);
			return rkt_error_errno(err, errno, "create %s", done);
		}
		int sub = openat(fd, c, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (sub < 0) {
			if (errno == EACCES)
				return admin_only(done, err);
			return rkt_error_errno(err, errno, "open %s", done);
		}
		close(fd);
		fd = sub;
		if (created && fchmod(fd, TRUST_DIR_MODE) < 0)
			return rkt_error_errno(err, errno, "chmod %s", done);
	}
	return TAKE_FD(fd);
}

int keystore_store_key(const struct key_info *k, const char *prefix, char **ret_path,
		       struct rkt_err *err)
{
	if (prefix && !prefix_valid(prefix))
		return rkt_error(err, EINVAL, "invalid prefix \"%s\"", prefix);
	if (!gpg_is_fingerprint(k->fingerprint) || !k->armored)
		return rkt_error(err, EINVAL, "key has no fingerprint or key data");
	char fpr[GPG_FPR_LEN + 1];
	gpg_fpr_lower(k->fingerprint, fpr);
	_cleanup_free_ char *rel = key_dir_rel(prefix);
	_cleanup_free_ char *dir = xasprintf("%s/%s", g_opts.local_config, rel);
	_cleanup_close_ int dfd = open_key_dir(g_opts.local_config, rel, err);
	if (dfd < 0)
		return dfd;
	int r = write_file_atomic_at(dfd, fpr, k->armored, strlen(k->armored), KEY_FILE_MODE, err);
	if (r == -EACCES || r == -EPERM)
		return admin_only(dir, err);
	if (r < 0)
		return r;
	if (ret_path)
		*ret_path = xasprintf("%s/%s", dir, fpr);
	return 0;
}
