/* unpriv/store: a real SQLite store in a /run temp dir: commit, lookups by
 * ID prefix and by name, removal, the remote cache, temp-file invisibility,
 * read-only opens and eight processes committing at once. */
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
#include "common/util.h"
#include "unpriv/store/store.h"

static char *make_dir(void)
{
	char tmpl[] = "/run/test-store-XXXXXX";
	char *d = mkdtemp(tmpl);
	assert_non_null(d);
	assert_int_equal(chmod(d, 0755), 0);
	return xstrdup(d);
}

static void drop_dir(char *d)
{
	assert_int_equal(rm_rf_at(AT_FDCWD, d), 0);
	free(d);
}

/* "sha512-" + prefix padded to 64 hex with a filler digit. */
static void make_key(char key[APPC_KEY_LEN + 1], const char *prefix, char fill)
{
	snprintf(key, APPC_KEY_LEN + 1, "sha512-%s", prefix);
	for (size_t i = strlen(key); i < APPC_KEY_LEN; i++)
		key[i] = fill;
	key[APPC_KEY_LEN] = '\0';
}

static char *manifest_for(const char *name, const char *version)
{
	if (!version)
		return xasprintf("{\"acKind\":\"ImageManifest\",\"acVersion\":\"0.8.11\","
				 "\"name\":\"%s\",\"labels\":[{\"name\":\"os\",\"value\":\"linux\"},"
				 "{\"name\":\"arch\",\"value\":\"amd64\"}]}",
				 name);
	return xasprintf("{\"acKind\":\"ImageManifest\",\"acVersion\":\"0.8.11\","
			 "\"name\":\"%s\",\"labels\":[{\"name\":\"version\",\"value\":\"%s\"},"
			 "{\"name\":\"os\",\"value\":\"linux\"},{\"name\":\"arch\",\"value\":\"amd64\"}]}",
			 name, version);
}

/* Imports a blob whose content is derived from the key, as fetch would. */
static int import(struct store *s, const char *key, const char *name, const char *version,
		  bool latest, struct rkt_err *err)
{
	int fd;
	_cleanup_free_ char *tmp = NULL;
	int r = store_tmp_create(s, &fd, &tmp, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *content = xasprintf("blob of %s", key);
	r = write_all(fd, content, strlen(content));
	close(fd);
	if (r < 0)
		return r;
	_cleanup_free_ char *m = manifest_for(name, version);
	r = store_commit_image(s, tmp, key, m, name, strlen(content), latest, err);
	if (r < 0)
		store_tmp_discard(s, tmp);
	return r;
}

static void assert_blob(const char *dir, const char *key, bool present)
{
	_cleanup_free_ char *rel = store_blob_relpath(key);
	_cleanup_free_ char *path = xasprintf("%s/%s", dir, rel);
	if (!present) {
		assert_int_equal(access(path, F_OK), -1);
		return;
	}
	_cleanup_free_ char *want = xasprintf("blob of %s", key);
	char *data = NULL;
	size_t len = 0;
	struct rkt_err err = { 0 };
	assert_int_equal(read_file_at(AT_FDCWD, path, 4096, &data, &len, &err), 0);
	assert_string_equal(data, want);
	free(data);
}

static void test_commit_get_resolve(void **state)
{
	(void)state;
	char *dir = make_dir();
	struct rkt_err err = { 0 };
	struct store *s = NULL;
	assert_int_equal(store_open(dir, &s, &err), 0);

	char a[APPC_KEY_LEN + 1], b[APPC_KEY_LEN + 1], got[APPC_KEY_LEN + 1];
	make_key(a, "ab12", '3');
	make_key(b, "ab19", '4');
	assert_int_equal(import(s, a, "example.com/app", "1.0.0", false, &err), 0);

	struct store_image img;
	bool found = false;
	assert_int_equal(store_get_image(s, a, &img, &found, &err), 0);
	assert_true(found);
	assert_string_equal(img.key, a);
	assert_string_equal(img.name, "example.com/app");
	assert_int_equal(img.size, strlen("blob of ") + APPC_KEY_LEN);
	assert_false(img.latest);
	assert_true(img.import_time_ns > 0 && img.last_used_ns == img.import_time_ns);
	assert_non_null(strstr(img.manifest_json, "\"1.0.0\""));
	store_image_done(&img);
	assert_blob(dir, a, true);

	/* full key, a full 128-hex ID, 12 hex and 2 hex all find the one image */
	assert_int_equal(store_resolve_id(s, a, got, &err), 0);
	assert_string_equal(got, a);
	_cleanup_free_ char *full = xasprintf("%s%s", a, a + 7);
	assert_int_equal(store_resolve_id(s, full, got, &err), 0);
	assert_string_equal(got, a);
	char short12[7 + 12 + 1];
	snprintf(short12, sizeof short12, "%s", a);
	assert_int_equal(store_resolve_id(s, short12, got, &err), 0);
	assert_string_equal(got, a);
	assert_int_equal(store_resolve_image_arg(s, "sha512-ab", got, &err), 0);
	assert_string_equal(got, a);

	/* a second key sharing "ab1" makes the short prefixes ambiguous */
	assert_int_equal(import(s, b, "example.com/other", NULL, true, &err), 0);
	assert_true(store_resolve_id(s, "sha512-ab1", got, &err) < 0);
	assert_string_equal(err.msg, "ambiguous image ID: \"sha512-ab1\"");
	assert_int_equal(store_resolve_id(s, "sha512-ab19", got, &err), 0);
	assert_string_equal(got, b);
	assert_true(store_resolve_id(s, "sha512-ff", got, &err) < 0);
	assert_non_null(strstr(err.msg, "no image IDs found"));
	assert_true(store_resolve_id(s, "sha512-a", got, &err) < 0);
	assert_true(store_resolve_image_arg(s, "sha512-ABCD", got, &err) < 0);

	struct store_image *imgs = NULL;
	size_t n = 0;
	assert_int_equal(store_list_images(s, &imgs, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_string_equal(imgs[0].key, a);
	assert_string_equal(imgs[1].key, b);
	assert_true(imgs[1].latest);
	store_images_free(imgs, n);

	/* open_blob returns the content and moves last_used */
	int fd = -1, lock = -1;
	assert_int_equal(store_open_blob(s, a, &fd, &lock, &err), 0);
	char buf[256] = { 0 };
	assert_true(read(fd, buf, sizeof buf - 1) > 0);
	assert_true(str_has_prefix(buf, "blob of sha512-ab12"));
	close(fd);
	close(lock);
	assert_int_equal(store_get_image(s, a, &img, &found, &err), 0);
	assert_true(img.last_used_ns > img.import_time_ns);
	store_image_done(&img);

	/* files are group-shared: dirs setgid, DB and its WAL group-writable */
	struct stat st;
	_cleanup_free_ char *cas = xasprintf("%s/cas/blob", dir);
	assert_int_equal(stat(cas, &st), 0);
	assert_true(st.st_mode & S_ISGID);
	_cleanup_free_ char *db = xasprintf("%s/cas/db/rkt.sqlite", dir);
	assert_int_equal(stat(db, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0660);
	_cleanup_free_ char *wal = xasprintf("%s/cas/db/rkt.sqlite-wal", dir);
	assert_int_equal(stat(wal, &st), 0);
	assert_int_equal(st.st_mode & 0070, 0060);

	store_close(s);
	drop_dir(dir);
}

static void test_find_by_name(void **state)
{
	(void)state;
	char *dir = make_dir();
	struct rkt_err err = { 0 };
	struct store *s = NULL;
	assert_int_equal(store_open(dir, &s, &err), 0);
	char k1[APPC_KEY_LEN + 1], k2[APPC_KEY_LEN + 1], k3[APPC_KEY_LEN + 1];
	char k4[APPC_KEY_LEN + 1], k5[APPC_KEY_LEN + 1], got[APPC_KEY_LEN + 1];
	make_key(k1, "01", '1');
	make_key(k2, "02", '2');
	make_key(k3, "03", '3');
	make_key(k4, "04", '4');
	make_key(k5, "05", '5');
	/* imported in order: an explicit 1.0.0, a "latest" fetch, a newer 3.0.0 */
	assert_int_equal(import(s, k1, "example.com/app", "1.0.0", false, &err), 0);
	assert_int_equal(import(s, k2, "example.com/app", "2.0.0", true, &err), 0);
	assert_int_equal(import(s, k3, "example.com/app", "3.0.0", false, &err), 0);
	assert_int_equal(import(s, k4, "example.com/plain", "1.0.0", false, &err), 0);
	assert_int_equal(import(s, k5, "example.com/plain", "2.0.0", false, &err), 0);

	bool found = false;
	assert_int_equal(store_find_by_name(s, "example.com/app", NULL, 0, got, &found, &err), 0);
	assert_true(found);
	assert_string_equal(got, k2);
	struct appc_label v1[] = { { "version", "1.0.0" } };
	assert_int_equal(store_find_by_name(s, "example.com/app", v1, 1, got, &found, &err), 0);
	assert_true(found);
	assert_string_equal(got, k1);
	struct appc_label v3os[] = { { "version", "3.0.0" }, { "os", "linux" } };
	assert_int_equal(store_find_by_name(s, "example.com/app", v3os, 2, got, &found, &err), 0);
	assert_true(found);
	assert_string_equal(got, k3);
	struct appc_label other_arch[] = { { "arch", "s390x" } };
	assert_int_equal(store_find_by_name(s, "example.com/app", other_arch, 1, got, &found, &err),
			 0);
	assert_false(found);
	struct appc_label missing[] = { { "flavor", "x" } };
	assert_int_equal(store_find_by_name(s, "example.com/app", missing, 1, got, &found, &err), 0);
	assert_false(found);
	/* without any latest row, the newest import wins */
	assert_int_equal(store_find_by_name(s, "example.com/plain", NULL, 0, got, &found, &err), 0);
	assert_true(found);
	assert_string_equal(got, k5);
	assert_int_equal(store_find_by_name(s, "example.com/none", NULL, 0, got, &found, &err), 0);
	assert_false(found);

	assert_int_equal(store_resolve_image_arg(s, "example.com/app:1.0.0", got, &err), 0);
	assert_string_equal(got, k1);
	assert_int_equal(store_resolve_image_arg(s, "example.com/app,version=3.0.0", got, &err), 0);
	assert_string_equal(got, k3);
	assert_int_equal(store_resolve_image_arg(s, "example.com/app", got, &err), 0);
	assert_string_equal(got, k2);
	assert_true(store_resolve_image_arg(s, "example.com/app:9.9.9", got, &err) < 0);
	assert_non_null(strstr(err.msg, "\"example.com/app:9.9.9\""));
	assert_true(store_resolve_image_arg(s, "example.com/none", got, &err) < 0);
	assert_string_equal(err.msg, "no image found for \"example.com/none\"");
	store_close(s);
	drop_dir(dir);
}

static void test_remove(void **state)
{
	(void)state;
	char *dir = make_dir();
	struct rkt_err err = { 0 };
	struct store *s = NULL;
	assert_int_equal(store_open(dir, &s, &err), 0);
	char a[APPC_KEY_LEN + 1], b[APPC_KEY_LEN + 1];
	make_key(a, "aa", '0');
	make_key(b, "bb", '0');
	assert_int_equal(import(s, a, "example.com/a", NULL, true, &err), 0);
	assert_int_equal(import(s, b, "example.com/b", NULL, true, &err), 0);
	assert_int_equal(store_remove_image(s, a, &err), 0);
	struct store_image img;
	bool found = true;
	assert_int_equal(store_get_image(s, a, &img, &found, &err), 0);
	assert_false(found);
	assert_blob(dir, a, false);
	assert_blob(dir, b, true);
	assert_int_equal(store_remove_image(s, a, &err), -ENOENT);
	assert_non_null(strstr(err.msg, a));
	assert_true(store_remove_image(s, "sha512-../../etc", &err) < 0);
	int fd, lock;
	assert_int_equal(store_open_blob(s, a, &fd, &lock, &err), -ENOENT);
	struct store_image *imgs = NULL;
	size_t n = 0;
	assert_int_equal(store_list_images(s, &imgs, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(imgs[0].key, b);
	store_images_free(imgs, n);
	store_close(s);
	drop_dir(dir);
}

static void test_remote(void **state)
{
	(void)state;
	char *dir = make_dir();
	struct rkt_err err = { 0 };
	struct store *s = NULL;
	assert_int_equal(store_open(dir, &s, &err), 0);
	struct store_remote r = { .aci_url = "https://localhost/app.aci",
				  .sig_url = "https://localhost/app.aci.asc",
				  .etag = "\"abc\"",
				  .cache_max_age_s = 3600,
				  .download_time_ns = 1234567890123LL };
	make_key(r.key, "cd", '7');
	assert_int_equal(store_put_remote(s, &r, &err), 0);
	struct store_remote got = { 0 };
	bool found = false;
	assert_int_equal(store_get_remote(s, r.aci_url, &got, &found, &err), 0);
	assert_true(found);
	assert_string_equal(got.aci_url, r.aci_url);
	assert_string_equal(got.sig_url, r.sig_url);
	assert_string_equal(got.etag, r.etag);
	assert_string_equal(got.key, r.key);
	assert_int_equal(got.cache_max_age_s, 3600);
	assert_true(got.download_time_ns == 1234567890123LL);
	store_remote_done(&got);
	/* a second put replaces the row; a missing sig/etag comes back NULL */
	r.sig_url = NULL;
	r.etag = NULL;
	r.cache_max_age_s = 0;
	assert_int_equal(store_put_remote(s, &r, &err), 0);
	assert_int_equal(store_get_remote(s, r.aci_url, &got, &found, &err), 0);
	assert_true(found);
	assert_null(got.sig_url);
	assert_null(got.etag);
	assert_int_equal(got.cache_max_age_s, 0);
	store_remote_done(&got);
	assert_int_equal(store_get_remote(s, "https://localhost/other", &got, &found, &err), 0);
	assert_false(found);
	store_close(s);
	drop_dir(dir);
}

static void test_tmp_invisible_and_cleaned(void **state)
{
	(void)state;
	char *dir = make_dir();
	struct rkt_err err = { 0 };
	struct store *s = NULL;
	assert_int_equal(store_open(dir, &s, &err), 0);
	int fd;
	_cleanup_free_ char *tmp = NULL, *tmp2 = NULL;
	assert_int_equal(store_tmp_create(s, &fd, &tmp, &err), 0);
	assert_int_equal(write_all(fd, "partial", 7), 0);
	close(fd);
	struct store_image *imgs = NULL;
	size_t n = 5;
	assert_int_equal(store_list_images(s, &imgs, &n, &err), 0);
	assert_int_equal(n, 0);
	free(imgs);
	_cleanup_free_ char *path = xasprintf("%s/cas/tmp/%s", dir, tmp);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	store_tmp_discard(s, tmp);
	assert_int_equal(access(path, F_OK), -1);

	/* a stale temp file of a killed import goes; a fresh one stays */
	assert_int_equal(store_tmp_create(s, &fd, &tmp2, &err), 0);
	close(fd);
	free(tmp);
	assert_int_equal(store_tmp_create(s, &fd, &tmp, &err), 0);
	struct timespec old[2] = { { .tv_sec = 1000 }, { .tv_sec = 1000 } };
	assert_int_equal(futimens(fd, old), 0);
	close(fd);
	size_t removed = 0;
	assert_int_equal(store_clean_tmp(s, now_realtime_ns() - 3600LL * 1000000000LL, &removed,
					 &err),
			 0);
	assert_int_equal(removed, 1);
	_cleanup_free_ char *p1 = xasprintf("%s/cas/tmp/%s", dir, tmp);
	_cleanup_free_ char *p2 = xasprintf("%s/cas/tmp/%s", dir, tmp2);
	assert_int_equal(access(p1, F_OK), -1);
	assert_int_equal(access(p2, F_OK), 0);
	store_close(s);
	drop_dir(dir);
}

static void test_readonly(void **state)
{
	(void)state;
	char *dir = make_dir();
	struct rkt_err err = { 0 };
	struct store *s = NULL;
	_cleanup_free_ char *data = xasprintf("%s/data", dir);
	assert_int_equal(store_open_readonly(data, &s, &err), 0);
	struct store_image *imgs = NULL;
	size_t n = 1;
	assert_int_equal(store_list_images(s, &imgs, &n, &err), 0);
	assert_int_equal(n, 0);
	char got[APPC_KEY_LEN + 1];
	assert_true(store_resolve_image_arg(s, "example.com/a", got, &err) < 0);
	assert_true(store_resolve_id(s, "sha512-aa", got, &err) < 0);
	store_close(s);
	assert_int_equal(access(data, F_OK), -1);

	char a[APPC_KEY_LEN + 1];
	make_key(a, "aa", '9');
	assert_int_equal(store_open(data, &s, &err), 0);
	assert_int_equal(import(s, a, "example.com/a", NULL, true, &err), 0);
	store_close(s);
	assert_int_equal(store_open_readonly(data, &s, &err), 0);
	assert_int_equal(store_list_images(s, &imgs, &n, &err), 0);
	assert_int_equal(n, 1);
	store_images_free(imgs, n);
	assert_int_equal(store_resolve_image_arg(s, "example.com/a", got, &err), 0);
	assert_string_equal(got, a);
	assert_int_equal(store_remove_image(s, a, &err), -EROFS);
	store_close(s);
	drop_dir(dir);
}

/* A user outside group rkt is told so, naming the path. */
static void test_permission_message(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip();
	char *dir = make_dir();
	_cleanup_free_ char *data = xasprintf("%s/data", dir);
	assert_int_equal(mkdir(data, 0750), 0);
	int pfd[2];
	assert_int_equal(pipe(pfd), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(pfd[0]);
		if (setgid(65534) < 0 || setuid(65534) < 0)
			_exit(3);
		struct rkt_err err = { 0 };
		struct store *s = NULL;
		int r = store_open(data, &s, &err);
		(void)!write(pfd[1], err.msg, strlen(err.msg));
		_exit(r == -EACCES ? 0 : 1);
	}
	close(pfd[1]);
	char msg[1024] = { 0 };
	assert_true(read(pfd[0], msg, sizeof msg - 1) > 0);
	close(pfd[0]);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_non_null(strstr(msg, data));
	assert_non_null(strstr(msg, "group rkt"));
	drop_dir(dir);
}

#define N_CHILDREN 8
#define N_SHARED 3

/* Eight processes open a fresh store at once; each commits one key shared
 * with others and one of its own. Every row must exist exactly once with
 * its blob, and no temp file may be left. */
static void test_concurrent_commits(void **state)
{
	(void)state;
	char *dir = make_dir();
	_cleanup_free_ char *data = xasprintf("%s/data", dir);
	pid_t pids[N_CHILDREN];
	for (int i = 0; i < N_CHILDREN; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] > 0)
			continue;
		struct rkt_err err = { 0 };
		struct store *s = NULL;
		if (store_open(data, &s, &err) < 0) {
			fprintf(stderr, "child %d: %s\n", i, err.msg);
			_exit(1);
		}
		char shared[APPC_KEY_LEN + 1], own[APPC_KEY_LEN + 1], p[8];
		snprintf(p, sizeof p, "e%d", i % N_SHARED);
		make_key(shared, p, 'e');
		snprintf(p, sizeof p, "f%d", i);
		make_key(own, p, 'f');
		for (int round = 0; round < 5; round++) {
			if (import(s, shared, "example.com/shared", NULL, true, &err) < 0 ||
			    import(s, own, "example.com/own", NULL, true, &err) < 0) {
				fprintf(stderr, "child %d: %s\n", i, err.msg);
				_exit(1);
			}
		}
		store_close(s);
		_exit(0);
	}
	for (int i = 0; i < N_CHILDREN; i++) {
		int status;
		assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	struct rkt_err err = { 0 };
	struct store *s = NULL;
	assert_int_equal(store_open(data, &s, &err), 0);
	struct store_image *imgs = NULL;
	size_t n = 0;
	assert_int_equal(store_list_images(s, &imgs, &n, &err), 0);
	assert_int_equal(n, N_SHARED + N_CHILDREN);
	for (size_t i = 0; i < n; i++) {
		assert_blob(data, imgs[i].key, true);
		for (size_t j = i + 1; j < n; j++)
			assert_string_not_equal(imgs[i].key, imgs[j].key);
	}
	store_images_free(imgs, n);
	size_t removed = 0;
	assert_int_equal(store_clean_tmp(s, INT64_MAX, &removed, &err), 0);
	assert_int_equal(removed, 0);
	store_close(s);
	drop_dir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_commit_get_resolve),
		cmocka_unit_test(test_find_by_name),
		cmocka_unit_test(test_remove),
		cmocka_unit_test(test_remote),
		cmocka_unit_test(test_tmp_invisible_and_cleaned),
		cmocka_unit_test(test_readonly),
		cmocka_unit_test(test_permission_message),
		cmocka_unit_test(test_concurrent_commits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
