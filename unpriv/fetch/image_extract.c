/* rkt image extract IMAGE OUTPUT_DIR: a stored image's manifest and rootfs/
 * (only the rootfs with --rootfs-only) in a new directory. The tree is built
 * in a temp sibling and renamed into place, so a failure leaves nothing. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "commands.h"
#include "common/cleanup.h"
#include "common/util.h"
#include "common/aci_archive.h"
#include "unpriv/store/store.h"

static bool opt_overwrite, opt_rootfs_only;

const struct flag_spec image_extract_flags[] = {
	{ .name = "overwrite", .type = FLAG_BOOL, .ptr = &opt_overwrite,
	  .help = "overwrite output directory", .defval = "false" },
	{ .name = "rootfs-only", .type = FLAG_BOOL, .ptr = &opt_rootfs_only,
	  .help = "extract rootfs only", .defval = "false" },
	{ .name = NULL },
};

static void cleanup_storep(struct store **s)
{
	if (*s)
		store_close(*s);
}

/* Renames the finished temp dir to base; with overwrite an existing output
 * is swapped out atomically and then removed. */
static int publish(int pfd, const char *tmp, const char *base, const char *out, bool overwrite,
		   struct rkt_err *err)
{
	if (renameat2(pfd, tmp, pfd, base, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EEXIST)
		return rkt_error_errno(err, errno, "renaming into \"%s\"", out);
	if (!overwrite)
		return rkt_error(err, EEXIST, "output directory exists (try --overwrite)");
	if (renameat2(pfd, tmp, pfd, base, RENAME_EXCHANGE) < 0)
		return rkt_error_errno(err, errno, "replacing \"%s\"", out);
	int r = rm_rf_at(pfd, tmp);
	if (r < 0)
		return rkt_error_errno(err, -r, "removing the previous \"%s\"", out);
	return 0;
}

static int make_temp_dir(int pfd, const char *base, char **ret, struct rkt_err *err)
{
	for (int tries = 0; tries < 16; tries++) {
		char rnd[17];
		int r = random_hex(rnd, 8);
		if (r < 0)
			return rkt_error_errno(err, -r, "getrandom");
		char *name = xasprintf(".%s.tmp-%s", base, rnd);
		if (mkdirat(pfd, name, 0755) == 0) {
			*ret = name;
			return 0;
		}
		int e = errno;
		free(name);
		if (e != EEXIST)
			return rkt_error_errno(err, e, "creating a temporary directory beside \"%s\"",
					       base);
	}
	return rkt_error(err, EEXIST, "cannot create a temporary directory beside \"%s\"", base);
}

static int fill_and_publish(struct store *s, const char *key, const char *out, bool overwrite,
			    unsigned flags, image_fill_fn fill, struct rkt_err *err)
{
	_cleanup_free_ char *dcopy = xstrdup(out), *bcopy = xstrdup(out);
	const char *parent = dirname(dcopy), *base = basename(bcopy);
	_cleanup_close_ int pfd = open(parent, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (pfd < 0)
		return rkt_error_errno(err, errno, "output directory \"%s\"", parent);
	_cleanup_free_ char *tmp = NULL;
	int r = make_temp_dir(pfd, base, &tmp, err);
	if (r < 0)
		return r;
	int tfd = openat(pfd, tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (tfd < 0)
		r = rkt_error_errno(err, errno, "opening \"%s\"", tmp);
	else if (fchmod(tfd, 0755) < 0) /* as rkt's MkdirAll, whatever rkt-fetch's umask */
		r = rkt_error_errno(err, errno, "chmod \"%s\"", tmp);
	else
		r = fill(s, key, tfd, flags, err);
	if (tfd >= 0)
		close(tfd);
	if (r == 0)
		r = publish(pfd, tmp, base, out, overwrite, err);
	if (r < 0)
		(void)rm_rf_at(pfd, tmp);
	return r;
}

int image_output_run(char **args, bool overwrite, bool rootfs_only, image_fill_fn fill,
		     struct rkt_err *err)
{
	if (strv_len(args) != 2)
		return rkt_error(err, EINVAL, "expected IMAGE and OUTPUT_DIR");
	_cleanup_free_ char *out = xstrdup(args[1]);
	size_t len = strlen(out);
	while (len > 1 && out[len - 1] == '/')
		out[--len] = '\0';
	if (!*out)
		return rkt_error(err, EINVAL, "empty output directory");
	if (strcmp(out, "/") == 0)
		return rkt_error(err, EINVAL, "this would delete your root filesystem. Refusing.");
	struct stat st;
	if (!overwrite && fstatat(AT_FDCWD, out, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return rkt_error(err, EEXIST, "output directory exists (try --overwrite)");
	__attribute__((cleanup(cleanup_storep))) struct store *s = NULL;
	int r = store_open(g_opts.dir, &s, err);
	if (r < 0)
		return rkt_error_wrap(err, "cannot open store");
	char key[APPC_KEY_LEN + 1];
	r = store_resolve_image_arg(s, args[0], key, err);
	if (r < 0)
		return r;
	return fill_and_publish(s, key, out, overwrite, rootfs_only ? ACI_EXTRACT_ROOTFS_ONLY : 0,
				fill, err);
}

int image_extract_blob(struct store *s, const char *key, int dest_fd, unsigned flags,
		       char *const *whitelist, struct rkt_err *err)
{
	_cleanup_close_ int fd = -1, lock_fd = -1;
	int r = store_open_blob(s, key, &fd, &lock_fd, err);
	if (r < 0)
		return r;
	r = aci_extract(fd, dest_fd, flags, whitelist, err);
	if (r < 0)
		return rkt_error_wrap(err, "extracting image %s", key);
	return 0;
}

static int extract_fill(struct store *s, const char *key, int dest_fd, unsigned flags,
			struct rkt_err *err)
{
	return image_extract_blob(s, key, dest_fd, flags, NULL, err);
}

int cmd_image_extract(const struct command *cmd, char **args, struct rkt_err *err)
{
	(void)cmd;
	return image_output_run(args, opt_overwrite, opt_rootfs_only, extract_fill, err);
}
