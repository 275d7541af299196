#include "stage1/volumes.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/util.h"

static const struct pod_volume *find_volume(const struct pod_manifest *pm, const char *name)
{
	for (size_t i = 0; i < pm->n_volumes; i++)
		if (strcmp(pm->volumes[i].name, name) == 0)
			return &pm->volumes[i];
	return NULL;
}

static void fill_from_volume(struct s1_mount *m, const struct pod_volume *v, const char *podpath)
{
	m->volume = xstrdup(v->name);
	m->host = strcmp(v->kind, "host") == 0;
	m->recursive = v->recursive_set ? v->recursive : true;
	if (m->host) {
		m->source = xstrdup(v->source);
		return;
	}
	m->source = xasprintf("%s/sharedVolumes/%s", podpath, v->name);
	m->mode = (mode_t)strtoul(v->mode && *v->mode ? v->mode : "0755", NULL, 8) & 07777;
	m->uid = v->uid;
	m->gid = v->gid;
}

static size_t depth(const char *p)
{
	size_t d = 0;
	for (; *p; p++)
		if (*p == '/' && p[1] && p[1] != '/')
			d++;
	return d;
}

/* Stable insertion sort: equal depths keep rkt's order. */
static void sort_by_depth(struct s1_mount *m, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		struct s1_mount x = m[i];
		size_t j = i;
		for (; j > 0 && depth(m[j - 1].target) > depth(x.target); j--)
			m[j] = m[j - 1];
		m[j] = x;
	}
}

static bool mounted_at(const struct s1_mount *m, size_t n, const char *path)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(m[i].target, path) == 0)
			return true;
	return false;
}

int volumes_plan(const struct pod_manifest *pm, const struct pod_app *pa,
		 const struct image_manifest *im, const char *podpath, struct s1_mount **ret,
		 size_t *n, struct rkt_err *err)
{
	const struct appc_app *ia = im->app;
	size_t nmp = ia ? ia->n_mount_points : 0, cnt = 0;
	struct s1_mount *m = xcalloc(pa->n_mounts + nmp + 1, sizeof *m);
	for (size_t i = 0; i < pa->n_mounts; i++) {
		const struct pod_app_mount *am = &pa->mounts[i];
		const struct pod_volume *v = find_volume(pm, am->volume);
		if (!v) {
			volumes_free(m, cnt);
			return rkt_error(err, EINVAL, "app %s: mount %s: could not find volume %s",
					 pa->name, am->path, am->volume);
		}
		struct s1_mount *x = &m[cnt++];
		x->target = xstrdup(am->path);
		fill_from_volume(x, v, podpath);
		for (size_t k = 0; k < nmp; k++)
			if (strcmp(ia->mount_points[k].name, am->volume) == 0) {
				x->read_only = ia->mount_points[k].read_only;
				break;
			}
		if (v->read_only_set)
			x->read_only = v->read_only;
	}
	for (size_t k = 0; k < nmp; k++) {
		const struct appc_mount_point *mp = &ia->mount_points[k];
		if (mounted_at(m, cnt, mp->path))
			continue;
		const struct pod_volume *v = find_volume(pm, mp->name);
		struct s1_mount *x = &m[cnt++];
		x->target = xstrdup(mp->path);
		x->read_only = mp->read_only;
		if (v) {
			fill_from_volume(x, v, podpath);
			if (v->read_only_set)
				x->read_only = v->read_only;
			continue;
		}
		log_warn("no volume specified for mount point \"%s\", implicitly creating an "
			 "\"empty\" volume. This volume will be removed when the pod is "
			 "garbage-collected.",
			 mp->name);
		x->volume = xasprintf("%s-%s", pa->name, mp->name);
		x->source = xasprintf("%s/sharedVolumes/%s", podpath, x->volume);
		x->recursive = true;
		x->mode = 0755;
	}
	sort_by_depth(m, cnt);
	*ret = m;
	*n = cnt;
	return 0;
}

void volumes_free(struct s1_mount *m, size_t n)
{
	for (size_t i = 0; m && i < n; i++) {
		free(m[i].target);
		free(m[i].volume);
		free(m[i].source);
	}
	free(m);
}

int volumes_prepare_shared(int podfd, const struct s1_mount *m, size_t n, struct rkt_err *err)
{
	for (size_t i = 0; i < n; i++) {
		if (m[i].host)
			continue;
		if (mkdirat(podfd, "sharedVolumes", 0755) < 0 && errno != EEXIST)
			return rkt_error_errno(err, errno, "mkdir sharedVolumes");
		_cleanup_close_ int sfd =
			openat(podfd, "sharedVolumes", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sfd < 0)
			return rkt_error_errno(err, errno, "open sharedVolumes");
		if (mkdirat(sfd, m[i].volume, 0700) < 0 && errno != EEXIST)
			return rkt_error_errno(err, errno, "mkdir sharedVolumes/%s", m[i].volume);
		_cleanup_close_ int fd =
			openat(sfd, m[i].volume, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return rkt_error_errno(err, errno, "open sharedVolumes/%s", m[i].volume);
		/* chown first: it clears setuid/setgid bits a mode may ask for. */
		if (fchown(fd, m[i].uid, m[i].gid) < 0 || fchmod(fd, m[i].mode) < 0)
			return rkt_error_errno(err, errno, "volume %s: set owner %u:%u mode %04o",
					       m[i].volume, (unsigned)m[i].uid, (unsigned)m[i].gid,
					       (unsigned)m[i].mode);
	}
	return 0;
}

/* Resolved as if rootfd were "/": an absolute or ".." symlink in the
 * image cannot lead out of the app's rootfs. */
static int open_in_root(int rootfd, const char *path, int flags)
{
	struct open_how how = {
		.flags = (unsigned long long)(flags | O_CLOEXEC),
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	int fd;
	do
		fd = (int)syscall(SYS_openat2, rootfd, path, &how, sizeof how);
	while (fd < 0 && errno == EAGAIN);
	return fd < 0 ? -errno : fd;
}

#define MAX_LINKS 40

static int open_target_in(int rootfd, const char *target, bool dir, int links,
			  struct rkt_err *err);

/* A component that exists as a symlink leading nowhere: rkt follows it
 * inside the app (EvaluateSymlinksInsideApp) and creates what it names,
 * so the walk restarts on the link's text, still resolved in the root. */
static int follow_dangling(int rootfd, int parentfd, const char *parent, const char *name,
			   const char *rest, bool dir, int links, struct rkt_err *err)
{
	char buf[PATH_MAX];
	ssize_t n = readlinkat(parentfd, name, buf, sizeof buf - 1);
	if (n < 0)
		return -ENOENT;
	buf[n] = 0;
	if (links >= MAX_LINKS)
		return rkt_error(err, ELOOP, "mount target /%s/%s: too many symlinks", parent, name);
	_cleanup_free_ char *next = xasprintf("%s%s%s%s%s", buf[0] == '/' ? "" : parent,
					      buf[0] == '/' ? "" : "/", buf, rest ? "/" : "",
					      rest ? rest : "");
	return open_target_in(rootfd, next, dir, links + 1, err);
}

/* Opens (creating when missing) one path component below parent. */
static int open_component(int rootfd, int parentfd, const char *prefix, const char *name,
			  bool dir)
{
	int fd = open_in_root(rootfd, prefix, O_PATH | (dir ? O_DIRECTORY : 0));
	if (fd != -ENOENT)
		return fd;
	if (dir) {
		if (mkdirat(parentfd, name, 0755) < 0)
			return -errno;
		_cleanup_close_ int d = openat(parentfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
							      O_CLOEXEC);
		/* rkt creates missing target directories drwxr-xr-x whatever the umask. */
		if (d < 0 || fchmod(d, 0755) < 0)
			return -errno;
	} else {
		_cleanup_close_ int f = openat(parentfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
							       O_NOCTTY | O_CLOEXEC,
					       0644);
		if (f < 0)
			return -errno;
	}
	return open_in_root(rootfd, prefix, O_PATH | (dir ? O_DIRECTORY : 0));
}

/* The target inside rootfd as an O_PATH fd, missing parents made 0755 and
 * a missing last component made as a directory or an empty file. */
static int open_target_in(int rootfd, const char *target, bool dir, int links,
			  struct rkt_err *err)
{
	_cleanup_free_ char *copy = xstrdup(target);
	_cleanup_free_ char *prefix = xstrdup("");
	_cleanup_close_ int cur = fcntl(rootfd, F_DUPFD_CLOEXEC, 3);
	if (cur < 0)
		return rkt_error_errno(err, errno, "dup rootfs fd");
	char *save = NULL;
	char *c = strtok_r(copy, "/", &save);
	if (!c && !dir)
		return rkt_error(err, EINVAL, "mount target %s: a file cannot be bound on /", target);
	while (c) {
		char *next = strtok_r(NULL, "/", &save);
		bool last = !next;
		if (strcmp(c, ".") == 0) {
			c = next;
			continue;
		}
		_cleanup_free_ char *parent = TAKE_PTR(prefix);
		prefix = *parent ? xasprintf("%s/%s", parent, c) : xstrdup(c);
		int fd = open_component(rootfd, cur, prefix, c, last ? dir : true);
		if (fd == -EEXIST || fd == -ENOENT) {
			/* The rest of the path, as strtok_r left it. */
			const char *rest = next ? target + (next - copy) : NULL;
			int r = follow_dangling(rootfd, cur, parent, c, rest, dir, links, err);
			if (r != -ENOENT)
				return r;
		}
		if (fd < 0)
			return rkt_error_errno(err, -fd, "mount target /%s", prefix);
		close(cur);
		cur = fd;
		c = next;
	}
	return TAKE_FD(cur);
}

static int open_target(int rootfd, const char *target, bool dir, struct rkt_err *err)
{
	return open_target_in(rootfd, target, dir, 0, err);
}

/* Clones the mount tree at srcfd, makes it read-only if asked (every
 * submount too when recursive) and attaches it on tgtfd. Working on fds,
 * a path swapped after the checks cannot redirect the bind. */
static int bind_fds(int srcfd, int tgtfd, bool recursive, bool read_only, const char *what,
		    struct rkt_err *err)
{
	unsigned rec = recursive ? AT_RECURSIVE : 0;
	_cleanup_close_ int tree = (int)syscall(SYS_open_tree, srcfd, "",
						OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | rec);
	if (tree < 0)
		return rkt_error_errno(err, errno, "%s: clone the source mount", what);
	if (read_only) {
		struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY };
		if (syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH | rec, &attr, sizeof attr) < 0)
			return rkt_error_errno(err, errno, "%s: make read-only", what);
	}
	if (syscall(SYS_move_mount, tree, "", tgtfd, "",
		    MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return rkt_error_errno(err, errno, "%s: attach", what);
	return 0;
}

/* The source is the admin-approved real path the helper stored (host) or
 * our own sharedVolumes entry under the pod's real path: no component of
 * it may be a symlink, so one swapped in since cannot redirect the bind. */
static int open_source(const char *path)
{
	struct open_how how = {
		.flags = O_PATH | O_CLOEXEC,
		.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	int fd;
	do
		fd = (int)syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof how);
	while (fd < 0 && errno == EAGAIN);
	return fd < 0 ? -errno : fd;
}

static int mount_one(int rootfd, const struct s1_mount *m, bool *missing, struct rkt_err *err)
{
	_cleanup_close_ int src = open_source(m->source);
	struct stat st;
	if (src == -ENOENT && m->host) {
		*missing = true;
		return rkt_error(err, ENOENT, "Failed to stat %s: No such file or directory",
				 m->source);
	}
	if (src == -ELOOP)
		return rkt_error(err, ELOOP, "volume %s: source %s goes through a symlink", m->volume,
				 m->source);
	if (src < 0)
		return rkt_error_errno(err, -src, "volume %s: source %s", m->volume, m->source);
	if (fstat(src, &st) < 0)
		return rkt_error_errno(err, errno, "volume %s: source %s", m->volume, m->source);
	_cleanup_close_ int tgt = open_target(rootfd, m->target, S_ISDIR(st.st_mode), err);
	if (tgt < 0)
		return rkt_error_wrap(err, "volume %s", m->volume);
	_cleanup_free_ char *what = xasprintf("volume %s on %s", m->volume, m->target);
	return bind_fds(src, tgt, m->recursive, m->read_only, what, err);
}

int volumes_mount_app(const char *rootfs, const struct s1_mount *m, size_t n,
		      bool *missing_source, struct rkt_err *err)
{
	_cleanup_close_ int rootfd = open(rootfs, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	*missing_source = false;
	if (rootfd < 0)
		return rkt_error_errno(err, errno, "open %s", rootfs);
	for (size_t i = 0; i < n; i++) {
		int r = mount_one(rootfd, &m[i], missing_source, err);
		if (r < 0)
			return r;
	}
	return 0;
}

int volumes_bind_file(const char *rootfs, const char *src, bool follow, const char *target,
		      struct rkt_err *err)
{
	_cleanup_close_ int rootfd = open(rootfs, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (rootfd < 0)
		return rkt_error_errno(err, errno, "open %s", rootfs);
	_cleanup_close_ int sfd = open(src, O_PATH | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW));
	struct stat st;
	if (sfd < 0 || fstat(sfd, &st) < 0)
		return rkt_error_errno(err, errno, "%s", src);
	if (!S_ISREG(st.st_mode))
		return rkt_error(err, EINVAL, "%s: not a regular file", src);
	_cleanup_close_ int tgt = open_target(rootfd, target, false, err);
	if (tgt < 0)
		return tgt;
	_cleanup_free_ char *what = xasprintf("%s on %s", src, target);
	return bind_fds(sfd, tgt, false, true, what, err);
}
