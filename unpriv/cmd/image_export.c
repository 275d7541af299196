/* rkt image export [--overwrite] IMAGE OUT: a copy of the stored ACI
 * (always uncompressed). Written to a temp sibling, fsynced and renamed, so
 * OUT is either the old file or the complete image, never a part. */
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
#include "unpriv/store/store.h"

static bool opt_overwrite;

const struct flag_spec image_export_flags[] = {
	{ "overwrite", FLAG_BOOL, &opt_overwrite, "overwrite output ACI", "false" },
	{ .name = NULL },
};

static int copy_fd(int in, int out, const char *out_name, struct rkt_err *err)
{
	char buf[1 << 16];
	for (;;) {
		ssize_t n = read(in, buf, sizeof buf);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return rkt_error_errno(err, errno, "reading the stored image");
		}
		if (n == 0)
			return 0;
		int r = write_all(out, buf, (size_t)n);
		if (r < 0)
			return rkt_error_errno(err, -r, "writing \"%s\"", out_name);
	}
}

static int write_out(int blob_fd, const char *out, bool overwrite, struct rkt_err *err)
{
	_cleanup_free_ char *dcopy = xstrdup(out), *bcopy = xstrdup(out);
	const char *parent = dirname(dcopy), *base = basename(bcopy);
	_cleanup_close_ int pfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (pfd < 0)
		return rkt_error_errno(err, errno, "output directory \"%s\"", parent);
	char rnd[17];
	int r = random_hex(rnd, 8);
	if (r < 0)
		return rkt_error_errno(err, -r, "getrandom");
	_cleanup_free_ char *tmp = xasprintf(".%s.tmp-%s", base, rnd);
	_cleanup_close_ int fd =
		openat(pfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return rkt_error_errno(err, errno, "creating a temporary file beside \"%s\"", out);
	r = copy_fd(blob_fd, fd, out, err);
	if (r == 0 && fsync(fd) < 0)
		r = rkt_error_errno(err, errno, "syncing \"%s\"", out);
	if (r == 0) {
		unsigned flags = overwrite ? 0 : RENAME_NOREPLACE;
		if (renameat2(pfd, tmp, pfd, base, flags) < 0)
			r = errno == EEXIST ? rkt_error(err, EEXIST, "\"%s\": output ACI file exists (try --overwrite)", out)
					    : rkt_error_errno(err, errno, "renaming into \"%s\"", out);
	}
	if (r < 0) {
		(void)unlinkat(pfd, tmp, 0);
		return r;
	}
	(void)fsync(pfd);
	return 0;
}

int cmd_image_export(const struct command *cmd, char **args, struct rkt_err *err)
{
	(void)cmd;
	if (strv_len(args) != 2)
		return rkt_error(err, EINVAL, "expected IMAGE and OUTPUT_ACI_FILE");
	const char *out = args[1];
	struct stat st;
	if (!opt_overwrite && lstat(out, &st) == 0)
		return rkt_error(err, EEXIST, "\"%s\": output ACI file exists (try --overwrite)", out);
	struct store *s = NULL;
	int r = store_open(g_opts.dir, &s, err);
	if (r < 0)
		return rkt_error_wrap(err, "cannot open store");
	char key[APPC_KEY_LEN + 1];
	int fd = -1, lock_fd = -1;
	r = store_resolve_image_arg(s, args[0], key, err);
	if (r == 0)
		r = store_open_blob(s, key, &fd, &lock_fd, err);
	store_close(s);
	if (r < 0)
		return r;
	r = write_out(fd, out, opt_overwrite, err);
	close(fd);
	if (lock_fd >= 0)
		close(lock_fd);
	return r;
}
