/* unpriv/fetch/archive: streaming import (hash, size, manifest) in every
 * compression, refusal of hostile entries by name, and safe extraction. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/util.h"
#include "common/aci_archive.h"

#define MANIFEST                                                                           \
	"{\"acKind\":\"ImageManifest\",\"acVersion\":\"0.8.11\",\"name\":\"example.com/test\"," \
	"\"labels\":[{\"name\":\"os\",\"value\":\"linux\"},{\"name\":\"arch\",\"value\":\"amd64\"}]}"

struct tent {
	const char *name;
	mode_t type; /* AE_IF*; 0 with hard set */
	mode_t perm;
	const char *data;
	const char *link; /* symlink or hardlink target */
	bool hard;
};

static char scratch[64];

static int setup(void **state)
{
	(void)state;
	char rnd[17];
	if (random_hex(rnd, 8) < 0)
		return -1;
	snprintf(scratch, sizeof scratch, "/run/test-archive-%s", rnd);
	if (mkdir(scratch, 0755) < 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return rm_rf_at(AT_FDCWD, scratch);
}

static char *scratch_path(const char *name)
{
	return xasprintf("%s/%s", scratch, name);
}

static void write_tar(const char *path, const struct tent *ents, size_t n)
{
	struct archive *a = archive_write_new();
	assert_non_null(a);
	assert_int_equal(archive_write_set_format_pax_restricted(a), ARCHIVE_OK);
	archive_write_set_bytes_in_last_block(a, 1);
	assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
	for (size_t i = 0; i < n; i++) {
		const struct tent *t = &ents[i];
		struct archive_entry *e = archive_entry_new();
		archive_entry_set_pathname(e, t->name);
		archive_entry_set_filetype(e, t->hard ? AE_IFREG : t->type);
		archive_entry_set_perm(e, t->perm ? t->perm : 0644);
		archive_entry_set_mtime(e, 1500000000, 0);
		if (t->hard)
			archive_entry_set_hardlink(e, t->link);
		else if (t->type == AE_IFLNK)
			archive_entry_set_symlink(e, t->link);
		if (t->type == AE_IFCHR)
			archive_entry_set_rdev(e, makedev(8, 0));
		size_t len = t->data ? strlen(t->data) : 0;
		archive_entry_set_size(e, (la_int64_t)len);
		assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
		if (len)
			assert_int_equal(archive_write_data(a, t->data, len), (la_ssize_t)len);
		archive_entry_free(e);
	}
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
}

/* Compresses the plain tar byte for byte (raw format), so the decompressed
 * stream the importer hashes is exactly the file we wrote. */
static void compress_file(const char *plain, const char *out, int filter)
{
	char *data;
	size_t len;
	assert_int_equal(read_file_at(AT_FDCWD, plain, 1 << 24, &data, &len, NULL), 0);
	struct archive *a = archive_write_new();
	assert_int_equal(archive_write_add_filter(a, filter), ARCHIVE_OK);
	assert_int_equal(archive_write_set_format_raw(a), ARCHIVE_OK);
	archive_write_set_bytes_in_last_block(a, 1);
	assert_int_equal(archive_write_open_filename(a, out), ARCHIVE_OK);
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, "data");
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_size(e, (la_int64_t)len);
	assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
	assert_int_equal(archive_write_data(a, data, len), (la_ssize_t)len);
	archive_entry_free(e);
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	free(data);
}

static int import_file(const char *path, const struct aci_limits *lim, struct aci_import *imp,
		       struct rkt_err *err)
{
	_cleanup_close_ int src = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(src >= 0);
	_cleanup_free_ char *outp = scratch_path("out.tar");
	_cleanup_close_ int out = open(outp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(out >= 0);
	return aci_import_stream(src, out, lim, NULL, NULL, imp, err);
}

static const struct tent valid_image[] = {
	{ "manifest", AE_IFREG, 0644, MANIFEST, NULL, false },
	{ "rootfs", AE_IFDIR, 0755, NULL, NULL, false },
	{ "rootfs/etc", AE_IFDIR, 0750, NULL, NULL, false },
	{ "rootfs/etc/hello", AE_IFREG, 0644, "hello world\n", NULL, false },
	{ "./rootfs/bin/", AE_IFDIR, 0755, NULL, NULL, false },
	{ "rootfs/bin/tool", AE_IFREG, 04755, "#!/bin/sh\n", NULL, false },
	{ "rootfs/bin/sh", AE_IFLNK, 0777, NULL, "tool", false },
	{ "rootfs/bin/abs", AE_IFLNK, 0777, NULL, "/etc/hello", false },
	{ "rootfs/hard", 0, 0644, NULL, "rootfs/etc/hello", true },
	{ "rootfs/fifo", AE_IFIFO, 0640, NULL, NULL, false },
};

static void check_valid_import(int filter)
{
	_cleanup_free_ char *plain = scratch_path("plain.tar");
	_cleanup_free_ char *comp = scratch_path("image.aci");
	write_tar(plain, valid_image, sizeof valid_image / sizeof valid_image[0]);
	if (filter == ARCHIVE_FILTER_NONE)
		assert_int_equal(rename(plain, comp), 0);
	else
		compress_file(plain, comp, filter);

	/* Expected ID: SHA-512 of the plain tar. */
	char *data;
	size_t len;
	const char *src_plain = filter == ARCHIVE_FILTER_NONE ? comp : plain;
	assert_int_equal(read_file_at(AT_FDCWD, src_plain, 1 << 24, &data, &len, NULL), 0);
	unsigned char dig[64];
	SHA512((const unsigned char *)data, len, dig);
	char hex[129];
	for (int i = 0; i < 64; i++)
		sprintf(hex + 2 * i, "%02x", dig[i]);

	struct aci_import imp;
	struct rkt_err err = { 0 };
	int r = import_file(comp, NULL, &imp, &err);
	if (r < 0)
		fail_msg("import failed: %s", err.msg);
	assert_string_equal(imp.full_hex, hex);
	char key[APPC_KEY_LEN + 1];
	snprintf(key, sizeof key, "sha512-%.64s", hex);
	assert_string_equal(imp.key, key);
	assert_int_equal(imp.size, len);
	assert_non_null(imp.manifest);
	assert_string_equal(imp.manifest->name, "example.com/test");
	assert_string_equal(imp.manifest_json, MANIFEST);

	/* What was written is the plain tar itself. */
	_cleanup_free_ char *outp = scratch_path("out.tar");
	char *out;
	size_t out_len;
	assert_int_equal(read_file_at(AT_FDCWD, outp, 1 << 24, &out, &out_len, NULL), 0);
	assert_int_equal(out_len, len);
	assert_memory_equal(out, data, len);
	free(out);
	free(data);
	aci_import_done(&imp);
	unlink(comp);
	unlink(plain);
}

static void test_import_plain(void **s) { (void)s; check_valid_import(ARCHIVE_FILTER_NONE); }
static void test_import_gzip(void **s) { (void)s; check_valid_import(ARCHIVE_FILTER_GZIP); }
static void test_import_bzip2(void **s) { (void)s; check_valid_import(ARCHIVE_FILTER_BZIP2); }
static void test_import_xz(void **s) { (void)s; check_valid_import(ARCHIVE_FILTER_XZ); }
static void test_import_zstd(void **s) { (void)s; check_valid_import(ARCHIVE_FILTER_ZSTD); }

static void expect_refused(const struct tent *ents, size_t n, const struct aci_limits *lim,
			   const char *want)
{
	_cleanup_free_ char *p = scratch_path("bad.aci");
	write_tar(p, ents, n);
	struct aci_import imp;
	struct rkt_err err = { 0 };
	int r = import_file(p, lim, &imp, &err);
	if (r == 0)
		fail_msg("accepted, expected \"%s\"", want);
	if (!strstr(err.msg, want))
		fail_msg("message \"%s\" lacks \"%s\"", err.msg, want);
	assert_null(imp.manifest);
	assert_null(imp.manifest_json);
}

#define BASE_ENTRIES                                                   \
	{ "manifest", AE_IFREG, 0644, MANIFEST, NULL, false },          \
	{ "rootfs", AE_IFDIR, 0755, NULL, NULL, false }
#define REFUSE(want, ...)                                                                     \
	do {                                                                                  \
		const struct tent e_[] = { BASE_ENTRIES, __VA_ARGS__ };                       \
		expect_refused(e_, sizeof e_ / sizeof e_[0], NULL, want);                     \
	} while (0)

static void test_refuse_hostile(void **state)
{
	(void)state;
	REFUSE("entry \"rootfs/../../etc/passwd\": path contains \"..\"",
	       { "rootfs/../../etc/passwd", AE_IFREG, 0644, "x", NULL, false });
	REFUSE("entry \"/etc/passwd\": path is absolute",
	       { "/etc/passwd", AE_IFREG, 0644, "x", NULL, false });
	REFUSE("entry \"rootfs/evil\": symlink target \"../../etc\" leaves rootfs/",
	       { "rootfs/evil", AE_IFLNK, 0777, NULL, "../../etc", false });
	REFUSE("entry \"rootfs/a/evil\": symlink target \"../x/../../y\" leaves rootfs/",
	       { "rootfs/a", AE_IFDIR, 0755, NULL, NULL, false },
	       { "rootfs/a/evil", AE_IFLNK, 0777, NULL, "../x/../../y", false });
	REFUSE("entry \"rootfs/h\": hardlink target \"etc/shadow\" is not a regular file seen earlier",
	       { "rootfs/h", 0, 0644, NULL, "etc/shadow", true });
	REFUSE("entry \"rootfs/h\": hardlink target \"rootfs/later\" is not a regular file seen earlier",
	       { "rootfs/h", 0, 0644, NULL, "rootfs/later", true },
	       { "rootfs/later", AE_IFREG, 0644, "x", NULL, false });
	REFUSE("entry \"rootfs/h\": hardlink target \"rootfs/../../x\" contains \"..\"",
	       { "rootfs/h", 0, 0644, NULL, "rootfs/../../x", true });
	REFUSE("entry \"rootfs/link/passwd\": path goes through the symlink \"rootfs/link\"",
	       { "rootfs/link", AE_IFLNK, 0777, NULL, "/etc", false },
	       { "rootfs/link/passwd", AE_IFREG, 0644, "x", NULL, false });
	REFUSE("entry \"rootfs/dev/sda\": device nodes are not allowed in images",
	       { "rootfs/dev/sda", AE_IFCHR, 0600, NULL, NULL, false });
	REFUSE("entry \"etc/passwd\": only \"manifest\" and \"rootfs/\" are allowed",
	       { "etc/passwd", AE_IFREG, 0644, "x", NULL, false });
	REFUSE("entry \"./manifest\": duplicate manifest",
	       { "./manifest", AE_IFREG, 0644, MANIFEST, NULL, false });
}

static void test_refuse_limits(void **state)
{
	(void)state;
	struct aci_limits lim;
	aci_limits_default(&lim);
	lim.max_entry_size = 10;
	const struct tent big[] = { BASE_ENTRIES,
				    { "rootfs/big", AE_IFREG, 0644, "0123456789abcdef", NULL, false } };
	expect_refused(big, 3, &lim, "entry \"rootfs/big\": size 16 exceeds the per-entry limit of 10");

	aci_limits_default(&lim);
	lim.max_total_size = 150; /* the manifest alone fits */
	const struct tent many[] = { BASE_ENTRIES,
				     { "rootfs/a", AE_IFREG, 0644, "0123456789abcdef", NULL, false } };
	expect_refused(many, 3, &lim, "entry \"rootfs/a\": total size");

	aci_limits_default(&lim);
	lim.max_entries = 2;
	expect_refused(many, 3, &lim, "entry \"rootfs/a\": the image has more than 2 entries");
}

static void test_refuse_structure(void **state)
{
	(void)state;
	const struct tent no_manifest[] = { { "rootfs", AE_IFDIR, 0755, NULL, NULL, false },
					    { "rootfs/x", AE_IFREG, 0644, "x", NULL, false } };
	expect_refused(no_manifest, 2, NULL, "the image has no manifest");
	const struct tent no_rootfs[] = { { "manifest", AE_IFREG, 0644, MANIFEST, NULL, false } };
	expect_refused(no_rootfs, 1, NULL, "the image has no rootfs/");
	const struct tent bad_json[] = { { "manifest", AE_IFREG, 0644, "{\"acKind\": ", NULL, false },
					 { "rootfs", AE_IFDIR, 0755, NULL, NULL, false } };
	expect_refused(bad_json, 2, NULL, "entry \"manifest\"");
	const struct tent bad_kind[] = {
		{ "manifest", AE_IFREG, 0644,
		  "{\"acKind\":\"PodManifest\",\"acVersion\":\"0.8.11\",\"name\":\"x\"}", NULL, false },
		{ "rootfs", AE_IFDIR, 0755, NULL, NULL, false }
	};
	expect_refused(bad_kind, 2, NULL, "entry \"manifest\"");
}

static void test_refuse_garbage(void **state)
{
	(void)state;
	_cleanup_free_ char *p = scratch_path("garbage.aci");
	char junk[4096];
	for (size_t i = 0; i < sizeof junk; i++)
		junk[i] = (char)(i * 7 + 3);
	assert_int_equal(write_file_atomic_at(AT_FDCWD, p, junk, sizeof junk, 0600, NULL), 0);
	struct aci_import imp;
	struct rkt_err err = { 0 };
	assert_true(import_file(p, NULL, &imp, &err) < 0);
	if (!strstr(err.msg, "unknown image filetype"))
		fail_msg("garbage: %s", err.msg);

	assert_int_equal(write_file_atomic_at(AT_FDCWD, p, "", 0, 0600, NULL), 0);
	assert_true(import_file(p, NULL, &imp, &err) < 0);
	if (!strstr(err.msg, "unknown image filetype"))
		fail_msg("empty: %s", err.msg);

	/* A gzip stream cut short is a decompression error, not an image. */
	_cleanup_free_ char *plain = scratch_path("plain.tar");
	write_tar(plain, valid_image, sizeof valid_image / sizeof valid_image[0]);
	compress_file(plain, p, ARCHIVE_FILTER_GZIP);
	assert_int_equal(truncate(p, 60), 0);
	assert_true(import_file(p, NULL, &imp, &err) < 0);
}

static void test_refuse_truncated(void **state)
{
	(void)state;
	/* Larger than the header pass's reads, so its data is skipped by seeking. */
	static char big[300000];
	memset(big, 'b', sizeof big - 1);
	const struct tent ents[] = { BASE_ENTRIES,
				     { "rootfs/big", AE_IFREG, 0644, big, NULL, false } };
	_cleanup_free_ char *p = scratch_path("trunc.aci");
	write_tar(p, ents, sizeof ents / sizeof ents[0]);
	struct stat st;
	assert_int_equal(stat(p, &st), 0);
	/* Cut inside the last entry's data (end blocks are 1024 bytes). */
	assert_int_equal(truncate(p, st.st_size - 1024 - 100000), 0);
	struct aci_import imp;
	struct rkt_err err = { 0 };
	assert_true(import_file(p, NULL, &imp, &err) < 0);
	if (!strstr(err.msg, "entry \"rootfs/big\": ") || !strstr(err.msg, "runcated"))
		fail_msg("truncated: %s", err.msg);
}

/* ---- extraction ---- */

static int extract_into(const char *tarpath, const char *dest, unsigned flags, char *const *wl,
			struct rkt_err *err)
{
	_cleanup_close_ int fd = open(tarpath, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	_cleanup_close_ int dfd = open(dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(dfd >= 0);
	return aci_extract(fd, dfd, flags, wl, err);
}

static char *make_dir(const char *name)
{
	char *p = scratch_path(name);
	rm_rf_at(AT_FDCWD, p);
	assert_int_equal(mkdir(p, 0755), 0);
	return p;
}

static void test_extract_files(void **state)
{
	(void)state;
	_cleanup_free_ char *tar = scratch_path("x.aci");
	write_tar(tar, valid_image, sizeof valid_image / sizeof valid_image[0]);
	_cleanup_free_ char *dest = make_dir("dest");
	struct rkt_err err = { 0 };
	if (extract_into(tar, dest, 0, NULL, &err) < 0)
		fail_msg("extract: %s", err.msg);
	_cleanup_close_ int dfd = open(dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	char *data;
	size_t len;
	assert_int_equal(read_file_at(dfd, "manifest", 65536, &data, &len, NULL), 0);
	assert_string_equal(data, MANIFEST);
	free(data);
	assert_int_equal(read_file_at(dfd, "rootfs/etc/hello", 65536, &data, &len, NULL), 0);
	assert_string_equal(data, "hello world\n");
	free(data);
	struct stat st;
	assert_int_equal(fstatat(dfd, "rootfs/bin/tool", &st, 0), 0);
	assert_int_equal(st.st_mode & 07777, 0755); /* setuid stripped */
	assert_int_equal(st.st_mtime, 1500000000);
	assert_int_equal(fstatat(dfd, "rootfs/etc", &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0750);
	assert_int_equal(st.st_mtime, 1500000000);
	char buf[64];
	ssize_t n = readlinkat(dfd, "rootfs/bin/sh", buf, sizeof buf);
	assert_int_equal(n, 4);
	assert_memory_equal(buf, "tool", 4);
	n = readlinkat(dfd, "rootfs/bin/abs", buf, sizeof buf);
	assert_int_equal(n, 10);
	assert_memory_equal(buf, "/etc/hello", 10);
	struct stat a, b;
	assert_int_equal(fstatat(dfd, "rootfs/hard", &a, AT_SYMLINK_NOFOLLOW), 0);
	assert_int_equal(fstatat(dfd, "rootfs/etc/hello", &b, AT_SYMLINK_NOFOLLOW), 0);
	assert_true(a.st_ino == b.st_ino);
	assert_int_equal(fstatat(dfd, "rootfs/fifo", &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_true(S_ISFIFO(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0640);

	/* Trusted image: setuid kept. */
	_cleanup_free_ char *dest2 = make_dir("dest2");
	assert_int_equal(extract_into(tar, dest2, ACI_EXTRACT_KEEP_SETID, NULL, &err), 0);
	_cleanup_free_ char *tool = xasprintf("%s/rootfs/bin/tool", dest2);
	assert_int_equal(stat(tool, &st), 0);
	assert_int_equal(st.st_mode & 07777, 04755);
}

static void test_extract_no_escape(void **state)
{
	(void)state;
	_cleanup_free_ char *outside = make_dir("outside");
	_cleanup_free_ char *victim = xasprintf("%s/victim", outside);
	assert_int_equal(write_file_atomic_at(AT_FDCWD, victim, "keep", 4, 0644, NULL), 0);
	_cleanup_free_ char *dest = make_dir("dest");
	_cleanup_close_ int dfd = open(dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_int_equal(mkdirat(dfd, "rootfs", 0755), 0);
	/* Planted links: an absolute one to the outside dir, a climbing one, and
	 * one in place of a file the image writes. */
	assert_int_equal(symlinkat(outside, dfd, "rootfs/abs"), 0);
	assert_int_equal(symlinkat("../../../../../../..", dfd, "rootfs/up"), 0);
	assert_int_equal(symlinkat(victim, dfd, "rootfs/file"), 0);

	_cleanup_free_ char *tar = scratch_path("esc.aci");
	const struct tent ents[] = {
		BASE_ENTRIES,
		{ "rootfs/up/pwned", AE_IFREG, 0644, "bad", NULL, false },
		{ "rootfs/file", AE_IFREG, 0644, "new", NULL, false },
	};
	write_tar(tar, ents, sizeof ents / sizeof ents[0]);
	struct rkt_err err = { 0 };
	if (extract_into(tar, dest, 0, NULL, &err) < 0)
		fail_msg("extract: %s", err.msg);
	/* The climbing link stops at the root: the file lands inside rootfs/. */
	char *data;
	size_t len;
	assert_int_equal(read_file_at(dfd, "rootfs/pwned", 64, &data, &len, NULL), 0);
	free(data);
	/* The planted file link was replaced, its target untouched. */
	struct stat st;
	assert_int_equal(fstatat(dfd, "rootfs/file", &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(read_file_at(AT_FDCWD, victim, 64, &data, &len, NULL), 0);
	assert_string_equal(data, "keep");
	free(data);

	/* Through the absolute link: resolved inside dest, never in outside/. */
	const struct tent ents2[] = { BASE_ENTRIES,
				      { "rootfs/abs/pwned", AE_IFREG, 0644, "bad", NULL, false } };
	write_tar(tar, ents2, sizeof ents2 / sizeof ents2[0]);
	(void)extract_into(tar, dest, 0, NULL, &err);
	_cleanup_free_ char *p = xasprintf("%s/pwned", outside);
	assert_int_equal(access(p, F_OK), -1);
	assert_int_equal(errno, ENOENT);
	_cleanup_free_ char *p2 = xasprintf("%s/pwned", "/run");
	assert_int_equal(access(p2, F_OK), -1);
}

static void test_extract_whitelist_rootfs_only(void **state)
{
	(void)state;
	_cleanup_free_ char *tar = scratch_path("wl.aci");
	const struct tent ents[] = {
		BASE_ENTRIES,
		{ "rootfs/a", AE_IFREG, 0644, "a", NULL, false },
		{ "rootfs/b", AE_IFREG, 0644, "b", NULL, false },
		{ "rootfs/d", AE_IFDIR, 0755, NULL, NULL, false },
		{ "rootfs/d/c", AE_IFREG, 0644, "c", NULL, false },
		{ "rootfs/e", AE_IFDIR, 0755, NULL, NULL, false },
	};
	write_tar(tar, ents, sizeof ents / sizeof ents[0]);
	_cleanup_free_ char *dest = make_dir("dest");
	char *wl[] = { "/a", "/d//c", NULL };
	struct rkt_err err = { 0 };
	if (extract_into(tar, dest, ACI_EXTRACT_ROOTFS_ONLY, wl, &err) < 0)
		fail_msg("extract: %s", err.msg);
	_cleanup_close_ int dfd = open(dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_int_equal(faccessat(dfd, "a", F_OK, AT_SYMLINK_NOFOLLOW), 0);
	assert_int_equal(faccessat(dfd, "d/c", F_OK, AT_SYMLINK_NOFOLLOW), 0);
	assert_int_equal(faccessat(dfd, "e", F_OK, AT_SYMLINK_NOFOLLOW), 0); /* dirs kept */
	assert_int_equal(faccessat(dfd, "b", F_OK, AT_SYMLINK_NOFOLLOW), -1);
	assert_int_equal(faccessat(dfd, "manifest", F_OK, AT_SYMLINK_NOFOLLOW), -1);
	assert_int_equal(faccessat(dfd, "rootfs", F_OK, AT_SYMLINK_NOFOLLOW), -1);

	/* A dependency under an ancestor's whitelist loses unlisted dirs too. */
	_cleanup_free_ char *dest2 = make_dir("dest2");
	assert_int_equal(extract_into(tar, dest2, ACI_EXTRACT_ROOTFS_ONLY | ACI_EXTRACT_WHITELIST_DIRS,
				      wl, &err),
			 0);
	_cleanup_close_ int d2 = open(dest2, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_int_equal(faccessat(d2, "e", F_OK, AT_SYMLINK_NOFOLLOW), -1);
	assert_int_equal(faccessat(d2, "d/c", F_OK, AT_SYMLINK_NOFOLLOW), 0);

	/* A later layer replaces files and keeps directories. */
	const struct tent upper[] = {
		BASE_ENTRIES,
		{ "rootfs/a", AE_IFDIR, 0755, NULL, NULL, false },
		{ "rootfs/d", AE_IFDIR, 0700, NULL, NULL, false },
		{ "rootfs/d/c", AE_IFLNK, 0777, NULL, "/a", false },
	};
	_cleanup_free_ char *tar2 = scratch_path("upper.aci");
	write_tar(tar2, upper, sizeof upper / sizeof upper[0]);
	if (extract_into(tar2, dest, ACI_EXTRACT_ROOTFS_ONLY, NULL, &err) < 0)
		fail_msg("extract upper: %s", err.msg);
	struct stat st;
	assert_int_equal(fstatat(dfd, "a", &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(fstatat(dfd, "d/c", &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_int_equal(fstatat(dfd, "d", &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
}

static void test_extract_refuses_hostile(void **state)
{
	(void)state;
	_cleanup_free_ char *tar = scratch_path("h.aci");
	const struct tent ents[] = { BASE_ENTRIES,
				     { "rootfs/../../escape", AE_IFREG, 0644, "x", NULL, false } };
	write_tar(tar, ents, sizeof ents / sizeof ents[0]);
	_cleanup_free_ char *dest = make_dir("dest");
	struct rkt_err err = { 0 };
	assert_true(extract_into(tar, dest, 0, NULL, &err) < 0);
	assert_non_null(strstr(err.msg, "path contains \"..\""));
	_cleanup_free_ char *esc = scratch_path("escape");
	assert_int_equal(access(esc, F_OK), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_import_plain),
		cmocka_unit_test(test_import_gzip),
		cmocka_unit_test(test_import_bzip2),
		cmocka_unit_test(test_import_xz),
		cmocka_unit_test(test_import_zstd),
		cmocka_unit_test(test_refuse_hostile),
		cmocka_unit_test(test_refuse_limits),
		cmocka_unit_test(test_refuse_structure),
		cmocka_unit_test(test_refuse_garbage),
		cmocka_unit_test(test_refuse_truncated),
		cmocka_unit_test(test_extract_files),
		cmocka_unit_test(test_extract_no_escape),
		cmocka_unit_test(test_extract_whitelist_rootfs_only),
		cmocka_unit_test(test_extract_refuses_hostile),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
