/* unpriv/fetch/keystore: key parsing, storing under the local config, and
 * signature checks against the keyring an image name selects, with real
 * keys and signatures made by the gpg CLI. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/util.h"
#include "unpriv/cli/cli.h"
#include "unpriv/fetch/keystore.h"

static char scratch[] = "/run/test-keystore-XXXXXX";
static char fpr_a[41], fpr_b[41];
static char *key_a, *key_b;
static size_t key_a_len, key_b_len;

static const char IMAGE[] = "example.com/app";

static char *sp(const char *rel) { return xasprintf("%s/%s", scratch, rel); }

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *cmd = NULL;
	if (vasprintf(&cmd, fmt, ap) < 0)
		abort();
	va_end(ap);
	int st = system(cmd);
	free(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int make_key(const char *home, const char *uid, const char *email, char fpr[41])
{
	if (sh("gpg --homedir %s --batch --quiet --passphrase '' --quick-gen-key '%s' ed25519 sign never 2>/dev/null",
	       home, uid) != 0)
		return -1;
	_cleanup_free_ char *cmd = xasprintf(
		"gpg --homedir %s --batch --with-colons --list-keys %s 2>/dev/null | awk -F: '$1==\"fpr\"{print $10; exit}'",
		home, email);
	FILE *p = popen(cmd, "r");
	if (!p)
		return -1;
	char line[128] = "";
	bool ok = fgets(line, sizeof line, p) != NULL;
	pclose(p);
	line[strcspn(line, "\n")] = '\0';
	if (!ok || strlen(line) != 40)
		return -1;
	for (int i = 0; i < 40; i++)
		fpr[i] = (char)(line[i] >= 'A' && line[i] <= 'F' ? line[i] - 'A' + 'a' : line[i]);
	fpr[40] = '\0';
	return 0;
}

static int group_setup(void **state)
{
	(void)state;
	umask(0007); /* what rkt-fetch runs with */
	if (!mkdtemp(scratch) || chmod(scratch, 0755) < 0)
		return -1;
	_cleanup_free_ char *home = sp("gnupg");
	if (mkdir(home, 0700) < 0)
		return -1;
	if (make_key(home, "Test A <a@example.test>", "a@example.test", fpr_a) < 0)
		return -1;
	if (make_key(home, "Test B <b@example.test>", "b@example.test", fpr_b) < 0)
		return -1;
	if (sh("gpg --homedir %s --batch --armor --export %s > %s/a.asc", home, fpr_a, scratch) ||
	    sh("gpg --homedir %s --batch --armor --export %s > %s/b.asc", home, fpr_b, scratch))
		return -1;
	if (sh("head -c 100000 /dev/urandom > %s/image.aci && cp %s/image.aci %s/tampered.aci && "
	       "printf x >> %s/tampered.aci",
	       scratch, scratch, scratch, scratch))
		return -1;
	if (sh("gpg --homedir %s --batch --yes -u %s --armor --detach-sign -o %s/image.aci.asc %s/image.aci",
	       home, fpr_a, scratch, scratch) ||
	    sh("gpg --homedir %s --batch --yes -u %s --detach-sign -o %s/image.aci.sig %s/image.aci",
	       home, fpr_a, scratch, scratch) ||
	    sh("gpg --homedir %s --batch --yes -u %s --armor --detach-sign -o %s/image.aci.b.asc %s/image.aci",
	       home, fpr_b, scratch, scratch))
		return -1;
	(void)sh("gpgconf --homedir %s --kill all 2>/dev/null", home);
	struct rkt_err err = { 0 };
	_cleanup_free_ char *a = sp("a.asc"), *b = sp("b.asc");
	if (read_file_at(AT_FDCWD, a, 1 << 20, &key_a, &key_a_len, &err) < 0 ||
	    read_file_at(AT_FDCWD, b, 1 << 20, &key_b, &key_b_len, &err) < 0)
		return -1;
	g_opts.system_config = sp("sys");
	g_opts.local_config = sp("local");
	g_opts.user_config = NULL;
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	free(key_a);
	free(key_b);
	free(g_opts.system_config);
	free(g_opts.local_config);
	g_opts.system_config = g_opts.local_config = NULL;
	rm_rf_at(AT_FDCWD, scratch);
	return 0;
}

static int reset_layers(void **state)
{
	(void)state;
	rm_rf_at(AT_FDCWD, g_opts.system_config);
	rm_rf_at(AT_FDCWD, g_opts.local_config);
	return 0;
}

/* Places a key file (src NULL: zero-length) at <layer>/trustedkeys/<rel>/<name>. */
static void put_key(const char *layer, const char *rel, const char *name, const char *src)
{
	_cleanup_free_ char *dir = xasprintf("%s/trustedkeys/%s", layer, rel);
	assert_int_equal(mkdir_p_at(AT_FDCWD, dir, 0755), 0);
	_cleanup_free_ char *dst = xasprintf("%s/%s", dir, name);
	if (src)
		assert_int_equal(sh("cp %s %s", src, dst), 0);
	else
		assert_int_equal(sh(": > %s", dst), 0);
}

static void put_a(const char *layer, const char *rel)
{
	_cleanup_free_ char *src = sp("a.asc");
	put_key(layer, rel, fpr_a, src);
}

static int verify(const char *name, const char *data, const char *sig, char ***signers,
		  struct rkt_err *err)
{
	_cleanup_free_ char *dp = sp(data), *spath = sp(sig);
	_cleanup_close_ int dfd = open(dp, O_RDONLY | O_CLOEXEC);
	_cleanup_close_ int sfd = open(spath, O_RDONLY | O_CLOEXEC);
	assert_true(dfd >= 0 && sfd >= 0);
	/* keystore_verify rewinds both */
	char c;
	assert_int_equal(read(dfd, &c, 1), 1);
	assert_int_equal(read(sfd, &c, 1), 1);
	return keystore_verify(name, dfd, sfd, signers, err);
}

static void expect_verified(const char *name, const char *sig)
{
	struct rkt_err err = { 0 };
	_cleanup_strv_ char **signers = NULL;
	int r = verify(name, "image.aci", sig, &signers, &err);
	if (r != 0)
		print_error("verify %s: %s\n", name, err.msg);
	assert_int_equal(r, 0);
	assert_non_null(signers);
	assert_true(strv_contains(signers, "Test A <a@example.test>"));
	assert_int_equal(strv_len(signers), 1);
}

static void expect_unknown(const char *name, const char *sig)
{
	struct rkt_err err = { 0 };
	_cleanup_strv_ char **signers = NULL;
	assert_int_equal(verify(name, "image.aci", sig, &signers, &err), -ENOKEY);
	assert_null(signers);
	assert_non_null(strstr(err.msg, "openpgp: signature made by unknown entity"));
	_cleanup_free_ char *hint = xasprintf("(try \"rkt trust --prefix %s\")", name);
	assert_non_null(strstr(err.msg, hint));
}

static void test_key_info(void **state)
{
	(void)state;
	struct key_info k;
	struct rkt_err err = { 0 };
	assert_int_equal(keystore_key_info(key_a, key_a_len, &k, &err), 0);
	assert_string_equal(k.fingerprint, fpr_a);
	assert_non_null(k.uids);
	assert_string_equal(k.uids[0], "Test A <a@example.test>");
	assert_null(k.uids[1]);
	assert_non_null(strstr(k.armored, "-----BEGIN PGP PUBLIC KEY BLOCK-----"));
	/* the export is exactly this key: parsing it again gives the same fingerprint */
	struct key_info again;
	assert_int_equal(keystore_key_info(k.armored, strlen(k.armored), &again, &err), 0);
	assert_string_equal(again.fingerprint, fpr_a);
	key_info_done(&again);
	key_info_done(&k);
}

static void test_key_info_refuses(void **state)
{
	(void)state;
	struct key_info k;
	struct rkt_err err = { 0 };
	static const char junk[] = "this is not a key\n";
	assert_true(keystore_key_info(junk, sizeof junk - 1, &k, &err) < 0);
	assert_non_null(strstr(err.msg, "no OpenPGP public key"));
	assert_null(k.armored);

	_cleanup_free_ char *both = xmalloc(key_a_len + key_b_len);
	memcpy(both, key_a, key_a_len);
	memcpy(both + key_a_len, key_b, key_b_len);
	rkt_err_clear(&err);
	assert_true(keystore_key_info(both, key_a_len + key_b_len, &k, &err) < 0);
	assert_non_null(strstr(err.msg, "2 keys"));
}

static void test_store_key(void **state)
{
	(void)state;
	struct key_info k;
	struct rkt_err err = { 0 };
	assert_int_equal(keystore_key_info(key_a, key_a_len, &k, &err), 0);
	assert_int_equal(keystore_check_writable(IMAGE, &err), 0);
	_cleanup_free_ char *path = NULL, *rootpath = NULL;
	assert_int_equal(keystore_store_key(&k, IMAGE, &path, &err), 0);
	_cleanup_free_ char *want =
		xasprintf("%s/trustedkeys/prefix.d/%s/%s", g_opts.local_config, IMAGE, fpr_a);
	assert_string_equal(path, want);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	_cleanup_free_ char *dir = xasprintf("%s/trustedkeys/prefix.d/example.com", g_opts.local_config);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 07777, 02775);
	_cleanup_free_ char *stored = NULL;
	size_t len;
	assert_int_equal(read_file_at(AT_FDCWD, path, 1 << 20, &stored, &len, &err), 0);
	assert_string_equal(stored, k.armored);

	assert_int_equal(keystore_store_key(&k, NULL, &rootpath, &err), 0);
	_cleanup_free_ char *wantroot = xasprintf("%s/trustedkeys/root.d/%s", g_opts.local_config, fpr_a);
	assert_string_equal(rootpath, wantroot);
	assert_int_equal(stat(rootpath, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);

	/* a prefix may not climb out of prefix.d */
	assert_int_equal(keystore_store_key(&k, "example.com/../../x", NULL, &err), -EINVAL);
	key_info_done(&k);

	/* the stored key verifies the image */
	expect_verified(IMAGE, "image.aci.asc");
}

static void test_store_key_not_admin(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip();
	struct key_info k;
	struct rkt_err err = { 0 };
	assert_int_equal(keystore_key_info(key_a, key_a_len, &k, &err), 0);
	assert_int_equal(mkdir(g_opts.local_config, 0755), 0);
	assert_int_equal(chmod(g_opts.local_config, 0755), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (setresgid(65534, 65534, 65534) < 0 || setresuid(65534, 65534, 65534) < 0)
			_exit(10);
		struct rkt_err e = { 0 };
		if (keystore_check_writable(IMAGE, &e) != -EACCES)
			_exit(11);
		_cleanup_free_ char *want = xasprintf(
			"only members of group rkt-admin may change trusted keys (%s: permission denied)",
			g_opts.local_config);
		if (strcmp(e.msg, want) != 0) {
			fprintf(stderr, "got: %s\n", e.msg);
			_exit(12);
		}
		rkt_err_clear(&e);
		if (keystore_store_key(&k, IMAGE, NULL, &e) != -EACCES ||
		    !strstr(e.msg, "only members of group rkt-admin may change trusted keys"))
			_exit(13);
		_exit(0);
	}
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	_cleanup_free_ char *tk = xasprintf("%s/trustedkeys", g_opts.local_config);
	assert_int_equal(access(tk, F_OK), -1);
	key_info_done(&k);
}

static void test_verify_prefix(void **state)
{
	(void)state;
	put_a(g_opts.local_config, "prefix.d/example.com/app");
	expect_verified(IMAGE, "image.aci.asc");
	expect_verified(IMAGE, "image.aci.sig"); /* binary signature */
	expect_verified("example.com/app/sub", "image.aci.asc");
	expect_unknown("example.com/application", "image.aci.asc");
	expect_unknown("example.com", "image.aci.asc");
}

static void test_verify_parent_prefix(void **state)
{
	(void)state;
	put_a(g_opts.system_config, "prefix.d/example.com");
	expect_verified(IMAGE, "image.aci.asc");
}

static void test_verify_root(void **state)
{
	(void)state;
	put_a(g_opts.system_config, "root.d");
	expect_verified(IMAGE, "image.aci.asc");
	expect_verified("other.org/thing", "image.aci.asc");
}

static void test_verify_no_key(void **state)
{
	(void)state;
	expect_unknown(IMAGE, "image.aci.asc");
}

static void test_verify_other_prefix(void **state)
{
	(void)state;
	put_a(g_opts.local_config, "prefix.d/example.com/other");
	put_a(g_opts.local_config, "prefix.d/example.com/ap");
	expect_unknown(IMAGE, "image.aci.asc");
}

static void test_verify_other_key(void **state)
{
	(void)state;
	put_a(g_opts.local_config, "prefix.d/example.com/app");
	expect_unknown(IMAGE, "image.aci.b.asc");
}

static void test_verify_masked(void **state)
{
	(void)state;
	put_a(g_opts.system_config, "root.d");
	put_key(g_opts.local_config, "root.d", fpr_a, NULL);
	expect_unknown(IMAGE, "image.aci.asc");
	/* the mask reaches the system prefix.d as well */
	put_a(g_opts.system_config, "prefix.d/example.com");
	expect_unknown(IMAGE, "image.aci.asc");
}

static void test_verify_name_mismatch(void **state)
{
	(void)state;
	/* key A stored under key B's fingerprint is not trusted */
	_cleanup_free_ char *src = sp("a.asc");
	put_key(g_opts.local_config, "root.d", fpr_b, src);
	expect_unknown(IMAGE, "image.aci.asc");
}

static void test_verify_tampered(void **state)
{
	(void)state;
	put_a(g_opts.local_config, "prefix.d/example.com/app");
	struct rkt_err err = { 0 };
	char **signers = NULL;
	assert_int_equal(verify(IMAGE, "tampered.aci", "image.aci.asc", &signers, &err), -EBADMSG);
	assert_null(signers);
	assert_string_equal(err.msg, "bad signature: the image does not match its signature");
}

static void test_verify_not_a_signature(void **state)
{
	(void)state;
	put_a(g_opts.local_config, "root.d");
	struct rkt_err err = { 0 };
	int r = verify(IMAGE, "image.aci", "a.asc", NULL, &err);
	if (r != -EBADMSG)
		print_error("%s\n", err.msg);
	assert_int_equal(r, -EBADMSG);
}

#define T(f) cmocka_unit_test_setup(f, reset_layers)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_key_info),
		T(test_key_info_refuses),
		T(test_store_key),
		T(test_store_key_not_admin),
		T(test_verify_prefix),
		T(test_verify_parent_prefix),
		T(test_verify_root),
		T(test_verify_no_key),
		T(test_verify_other_prefix),
		T(test_verify_other_key),
		T(test_verify_masked),
		T(test_verify_name_mismatch),
		T(test_verify_tampered),
		T(test_verify_not_a_signature),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
