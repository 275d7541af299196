/* Runs rkt-privhelper-render for one image (DESIGN §2 rule 5): the session
 * never loads libarchive or gpgme itself. The renderer gets the helper's
 * own directories, never the client's, and its answer is parsed strictly. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/appc.h"
#include "common/cleanup.h"
#include "common/lockfile.h"
#include "common/util.h"
#include "privhelper/session/session.h"

#define RENDER_PROG "rkt-privhelper-render"
#define RENDER_OUT_MAX (64u << 10)
#define RENDER_ERR_MAX 4096
#define TREE_ID_PREFIX "deps-" APPC_ID_PREFIX

/* Beside the session binary first (a build tree runs uninstalled), then
 * where `make install` put it. */
static char *find_renderer(void)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n > 0) {
		self[n] = '\0';
		char *slash = strrchr(self, '/');
		if (slash) {
			*slash = '\0';
			char *p = xasprintf("%s/" RENDER_PROG, self);
			if (access(p, X_OK) == 0)
				return p;
			free(p);
		}
	}
	return xstrdup(RKT_LIBEXECDIR "/rkt/" RENDER_PROG);
}

static bool hex_run(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

static bool is_key(const char *s, size_t len)
{
	size_t pl = strlen(APPC_ID_PREFIX);
	return len == APPC_KEY_LEN && strncmp(s, APPC_ID_PREFIX, pl) == 0 &&
	       hex_run(s + pl, APPC_KEY_LEN - pl);
}

/* "tree=<id> signed=<0|1> image=<key> name=<name>" then "dep=<key>" lines. */
static int parse_output(const char *out, const char *key, char *ret_tree_id, bool *ret_signed,
			struct rkt_err *err)
{
	const char *nl = strchr(out, '\n');
	if (!nl)
		return rkt_error(err, EPROTO, RENDER_PROG ": no answer line");
	size_t tl = strlen(TREE_ID_PREFIX) + 64;
	const char *p = out;
	if (strncmp(p, "tree=" TREE_ID_PREFIX, 5 + strlen(TREE_ID_PREFIX)) != 0 ||
	    !hex_run(p + 5 + strlen(TREE_ID_PREFIX), 64) || p[5 + tl] != ' ')
		return rkt_error(err, EPROTO, RENDER_PROG ": unexpected answer (tree=)");
	const char *id = p + 5;
	p += 5 + tl + 1;
	if (strncmp(p, "signed=", 7) != 0 || (p[7] != '0' && p[7] != '1') || p[8] != ' ')
		return rkt_error(err, EPROTO, RENDER_PROG ": unexpected answer (signed=)");
	bool is_signed = p[7] == '1';
	p += 9;
	if (strncmp(p, "image=", 6) != 0 || !is_key(p + 6, APPC_KEY_LEN) ||
	    strncmp(p + 6, key, APPC_KEY_LEN) != 0 || p[6 + APPC_KEY_LEN] != ' ')
		return rkt_error(err, EPROTO, RENDER_PROG ": answer names another image");
	p += 6 + APPC_KEY_LEN + 1;
	if (strncmp(p, "name=", 5) != 0 || p + 5 >= nl)
		return rkt_error(err, EPROTO, RENDER_PROG ": unexpected answer (name=)");
	for (const char *l = nl + 1; *l;) {
		const char *e = strchr(l, '\n');
		if (!e || strncmp(l, "dep=", 4) != 0 || !is_key(l + 4, (size_t)(e - l - 4)))
			return rkt_error(err, EPROTO, RENDER_PROG ": unexpected answer line");
		l = e + 1;
	}
	memcpy(ret_tree_id, id, tl);
	ret_tree_id[tl] = '\0';
	*ret_signed = is_signed;
	return 0;
}

/* The renderer's one error line as the user's message, with an errno by
 * cause so a caller can tell refusals from failures. */
static int renderer_error(const char *msg, struct rkt_err *err)
{
	const char *prefix = RENDER_PROG ": ";
	if (strncmp(msg, prefix, strlen(prefix)) == 0)
		msg += strlen(prefix);
	int e = EIO;
	if (strstr(msg, "is not signed") || strstr(msg, "openpgp") || strstr(msg, "signature"))
		e = EPERM;
	else if (strstr(msg, "does not match"))
		e = EBADMSG;
	else if (strstr(msg, "is not in the store"))
		e = ENOENT;
	return rkt_error(err, e, "%s", *msg ? msg : RENDER_PROG " failed without a message");
}

struct sink {
	int fd;
	char *buf;
	size_t len, max;
	bool overflow;
};

static int drain(struct sink *s)
{
	char tmp[4096];
	ssize_t n = read(s->fd, tmp, sizeof tmp);
	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 1 : -errno;
	if (n == 0)
		return 0;
	if (s->len + (size_t)n > s->max) {
		s->overflow = true;
		return 1;
	}
	memcpy(s->buf + s->len, tmp, (size_t)n);
	s->len += (size_t)n;
	s->buf[s->len] = '\0';
	return 1;
}

static int collect(struct sink *out, struct sink *errs)
{
	bool open_out = true, open_err = true;
	while (open_out || open_err) {
		struct pollfd p[2] = { { open_out ? out->fd : -1, POLLIN, 0 },
				       { open_err ? errs->fd : -1, POLLIN, 0 } };
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (open_out && p[0].revents) {
			int r = drain(out);
			if (r < 0)
				return r;
			open_out = r > 0;
		}
		if (open_err && p[1].revents) {
			int r = drain(errs);
			if (r < 0)
				return r;
			open_err = r > 0;
		}
	}
	return 0;
}

static void exec_renderer(const char *path, char *const *argv, int out_fd, int err_fd)
{
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (null < 0 || dup2(null, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0)
		_exit(127);
	/* Nothing of the session (its connection above all) reaches it. */
	close_range(3, ~0u, 0);
	const char *asan = getenv("ASAN_OPTIONS"), *ubsan = getenv("UBSAN_OPTIONS");
	_cleanup_free_ char *a = asan ? xasprintf("ASAN_OPTIONS=%s", asan) : NULL;
	_cleanup_free_ char *u = ubsan ? xasprintf("UBSAN_OPTIONS=%s", ubsan) : NULL;
	char *envp[4] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL, NULL, NULL };
	size_t n = 1;
	if (a)
		envp[n++] = a;
	if (u)
		envp[n++] = u;
	execve(path, argv, envp);
	dprintf(2, RENDER_PROG ": exec %s: %s\n", path, strerror(errno));
	_exit(254);
}

/* The fast path for an image rendered before (written by the renderer in
 * tree/by-image/<key>, root's 0700 tree dir): "deps-sha512-<64 hex> <0|1>".
 * A hit needs the tree's `rendered` marker and, for an unsigned tree, the
 * caller's leave to use unsigned images; anything else asks the renderer. */
static bool cached_tree(struct conn *c, const char *key, bool allow_unsigned, char *ret_tree_id,
			bool *ret_signed)
{
	_cleanup_free_ char *tree = xasprintf("%s/tree", c->cfg->dir);
	_cleanup_close_ int tfd = open(tree, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (tfd < 0)
		return false;
	_cleanup_free_ char *rel = xasprintf("by-image/%s", key);
	_cleanup_close_ int fd = openat(tfd, rel, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	char line[160];
	ssize_t n = fd < 0 ? -1 : read(fd, line, sizeof line - 1);
	size_t tl = strlen(TREE_ID_PREFIX) + 64;
	if (n != (ssize_t)tl + 3 || strncmp(line, TREE_ID_PREFIX, strlen(TREE_ID_PREFIX)) != 0 ||
	    !hex_run(line + strlen(TREE_ID_PREFIX), 64) || line[tl] != ' ' ||
	    (line[tl + 1] != '0' && line[tl + 1] != '1') || line[tl + 2] != '\n')
		return false;
	bool is_signed = line[tl + 1] == '1';
	line[tl] = '\0';
	_cleanup_free_ char *marker = xasprintf("%s/rendered", line);
	if ((!is_signed && !allow_unsigned) || faccessat(tfd, marker, F_OK, AT_SYMLINK_NOFOLLOW) < 0)
		return false;
	memcpy(ret_tree_id, line, tl + 1);
	*ret_signed = is_signed;
	return true;
}

bool session_tree_id_valid(const char *s)
{
	size_t pl = strlen(TREE_ID_PREFIX);
	return strlen(s) == pl + 64 && strncmp(s, TREE_ID_PREFIX, pl) == 0 && hex_run(s + pl, 64);
}

static int render_once(struct conn *c, const char *key, bool allow_unsigned, char *ret_tree_id,
		       bool *ret_signed, struct rkt_err *err)
{
	if (cached_tree(c, key, allow_unsigned, ret_tree_id, ret_signed))
		return 0;
	_cleanup_free_ char *path = find_renderer();
	const char *argv[] = { RENDER_PROG,
			       "--dir", c->cfg->dir,
			       "--local-config", c->cfg->local_config,
			       "--system-config", c->cfg->system_config,
			       allow_unsigned ? "--allow-unsigned" : key,
			       allow_unsigned ? key : NULL,
			       NULL };
	int out[2], errp[2];
	if (pipe2(out, O_CLOEXEC) < 0)
		return rkt_error_errno(err, errno, "pipe");
	if (pipe2(errp, O_CLOEXEC) < 0) {
		int e = errno;
		close(out[0]);
		close(out[1]);
		return rkt_error_errno(err, e, "pipe");
	}
	pid_t pid = fork();
	if (pid == 0)
		exec_renderer(path, (char *const *)argv, out[1], errp[1]);
	int fork_errno = errno;
	close(out[1]);
	close(errp[1]);
	_cleanup_free_ char *obuf = xmalloc(RENDER_OUT_MAX + 1);
	_cleanup_free_ char *ebuf = xmalloc(RENDER_ERR_MAX + 1);
	obuf[0] = ebuf[0] = '\0';
	struct sink so = { out[0], obuf, 0, RENDER_OUT_MAX, false };
	struct sink se = { errp[0], ebuf, 0, RENDER_ERR_MAX, false };
	int r = pid < 0 ? -fork_errno : collect(&so, &se);
	close(out[0]);
	close(errp[0]);
	if (pid < 0)
		return rkt_error_errno(err, fork_errno, "starting %s", path);
	int status = 0;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return rkt_error_errno(err, errno, "waiting for %s", path);
	if (r < 0)
		return rkt_error_errno(err, -r, "reading from %s", path);
	if (WIFSIGNALED(status))
		return rkt_error(err, EIO, "%s killed by signal %d", path, WTERMSIG(status));
	if (WEXITSTATUS(status) != 0) {
		char *nl = strchr(ebuf, '\n');
		if (nl)
			*nl = '\0';
		return renderer_error(ebuf, err);
	}
	if (so.overflow)
		return rkt_error(err, EPROTO, RENDER_PROG ": answer longer than %u bytes",
				 RENDER_OUT_MAX);
	return parse_output(obuf, key, ret_tree_id, ret_signed, err);
}

/* Holds the tree's lock shared; -EAGAIN when, once locked, the tree is
 * gone: `rkt image gc` took it between its render and this lock. */
static int hold_tree(struct conn *c, const char *tree_id, int *ret_fd, struct rkt_err *err)
{
	_cleanup_free_ char *tree = xasprintf("%s/tree", c->cfg->dir);
	_cleanup_close_ int tfd = open(tree, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (tfd < 0)
		return rkt_error_errno(err, errno, "opening %s", tree);
	_cleanup_free_ char *name = xasprintf(".lock-%s", tree_id);
	int fd = lockfile_lock(tfd, name, LOCK_SH, 0600);
	if (fd < 0)
		return rkt_error_errno(err, -fd, "locking %s/%s", tree, name);
	_cleanup_free_ char *marker = xasprintf("%s/rendered", tree_id);
	if (faccessat(tfd, marker, F_OK, AT_SYMLINK_NOFOLLOW) < 0) {
		close(fd);
		return -EAGAIN;
	}
	*ret_fd = fd;
	return 0;
}

int session_render_image(struct conn *c, const char *key, bool allow_unsigned,
			 char *ret_tree_id, bool *ret_signed, int *ret_hold_fd,
			 struct rkt_err *err)
{
	if (!key || !is_key(key, strlen(key)))
		return rkt_error(err, EINVAL, "invalid image ID \"%s\"", key ? key : "");
	/* A collection can only win once per render (it needs the tree
	 * unlocked and unreferenced); three in a row is something else. */
	for (int round = 0; round < 3; round++) {
		int r = render_once(c, key, allow_unsigned, ret_tree_id, ret_signed, err);
		if (r < 0 || !ret_hold_fd)
			return r;
		r = hold_tree(c, ret_tree_id, ret_hold_fd, err);
		if (r != -EAGAIN)
			return r;
	}
	return rkt_error(err, EAGAIN, "the tree %s of image %s was removed (rkt image gc) each time it was rendered",
			 ret_tree_id, key);
}
