#include "stage1/userns.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"

#define USERNS_COUNT_MAX 65536u
#define TRAVERSE_GIDS_MAX 16

int s1_userns_parse(const char *s, struct s1_userns *ret, struct rkt_err *err)
{
	char *end;
	errno = 0;
	unsigned long shift = strtoul(s, &end, 10);
	if (errno || end == s || *end != ':' || s[0] == '-')
		return rkt_error(err, EINVAL, "--private-users=%s: expected SHIFT:COUNT", s);
	const char *c = end + 1;
	unsigned long count = strtoul(c, &end, 10);
	if (errno || end == c || *end || c[0] == '-')
		return rkt_error(err, EINVAL, "--private-users=%s: expected SHIFT:COUNT", s);
	if (shift == 0 || count == 0 || count > USERNS_COUNT_MAX || shift > UINT32_MAX - count)
		return rkt_error(err, EINVAL,
				 "--private-users=%s: SHIFT must be > 0, COUNT in 1..%u, within 32 bits",
				 s, USERNS_COUNT_MAX);
	ret->shift = (uint32_t)shift;
	ret->count = (uint32_t)count;
	return 0;
}

static int chown_dir(int podfd, const char *rel, const struct s1_userns *u, struct rkt_err *err)
{
	if (mkdir_p_at(podfd, rel, 0755) < 0)
		return rkt_error_errno(err, errno, "mkdir %s", rel);
	_cleanup_close_ int fd = openat(podfd, rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fchown(fd, u->shift, u->shift) < 0 || fchmod(fd, 0755) < 0)
		return rkt_error_errno(err, errno, "chown %s to %u", rel, (unsigned)u->shift);
	return 0;
}

/* kind=empty volumes: their uid/gid are the pod's, so shifted like the
 * app trees (host volumes are not: rkt's behaviour). */
static int shift_empty_volumes(int podfd, const struct stage1_pod *pod, const struct s1_userns *u,
			       struct rkt_err *err)
{
	for (size_t a = 0; a < pod->n_apps; a++) {
		const struct stage1_app *app = &pod->apps[a];
		for (size_t i = 0; i < app->n_mounts; i++) {
			const struct s1_mount *m = &app->mounts[i];
			if (m->host)
				continue;
			if (m->uid >= u->count || m->gid >= u->count)
				return rkt_error(err, EINVAL,
						 "volume %s: owner %u:%u is outside the pod's %u ids",
						 m->volume, (unsigned)m->uid, (unsigned)m->gid,
						 (unsigned)u->count);
			_cleanup_free_ char *rel = xasprintf("sharedVolumes/%s", m->volume);
			_cleanup_close_ int fd =
				openat(podfd, rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			/* chown clears setuid/setgid bits: the mode goes back after it. */
			if (fd < 0 || fchown(fd, u->shift + m->uid, u->shift + m->gid) < 0 ||
			    fchmod(fd, m->mode) < 0)
				return rkt_error_errno(err, errno, "volume %s: shift its owner", m->volume);
		}
	}
	return 0;
}

/* Every directory from / to the pod dir must be searchable by the range's
 * root, which has no rights over host-owned inodes: "other" search, or the
 * directory's group (the pods dirs are root:<rkt group> 2750). */
static int traverse_groups(const char *podpath, const struct s1_userns *u, struct rkt_err *err)
{
	gid_t gids[TRAVERSE_GIDS_MAX];
	size_t n = 0;
	_cleanup_free_ char *p = xstrdup(podpath);
	for (;;) {
		struct stat st;
		if (stat(p[0] ? p : "/", &st) < 0)
			return rkt_error_errno(err, errno, "stat %s", p[0] ? p : "/");
		bool by_owner = st.st_uid >= u->shift && st.st_uid - u->shift < u->count;
		if (!(st.st_mode & S_IXOTH) && !by_owner) {
			if (!(st.st_mode & S_IXGRP))
				return rkt_error(err, EACCES,
						 "%s (mode %04o) cannot be searched by the pod's user "
						 "namespace: give it o+x or g+x",
						 p[0] ? p : "/", (unsigned)(st.st_mode & 07777));
			bool have = false;
			for (size_t i = 0; i < n; i++)
				have |= gids[i] == st.st_gid;
			if (!have && n == TRAVERSE_GIDS_MAX)
				return rkt_error(err, E2BIG, "too many groups on the path to %s", podpath);
			if (!have)
				gids[n++] = st.st_gid;
		}
		char *slash = strrchr(p, '/');
		if (!slash || !p[0])
			break;
		*slash = '\0';
	}
	if (setgroups(n, gids) < 0)
		return rkt_error_errno(err, errno, "setgroups for the pod dir's path");
	return 0;
}

/* Safe: only the pod's own dirs and cgroup files are handed to the range,
 * and the groups stay with PID 1 (stage1's code); apps set their own. */
int s1_userns_prepare_host(const struct s1_userns *u, int podfd, const char *podpath,
			   const struct stage1_pod *pod, struct rkt_err *err)
{
	int r = chown_dir(podfd, "stage1/rootfs/rkt/status", u, err);
	if (r >= 0)
		r = chown_dir(podfd, "stage1/rootfs/rkt/pids", u, err);
	if (r >= 0)
		r = shift_empty_volumes(podfd, pod, u, err);
	for (size_t a = 0; r >= 0 && a < pod->n_apps; a++)
		for (char **p = pod->apps[a].cg_procs; p && *p; p++)
			if (chown(*p, u->shift, u->shift) < 0)
				r = rkt_error_errno(err, errno, "chown %s", *p);
	if (r >= 0)
		r = traverse_groups(podpath, u, err);
	return r;
}

static int write_map(pid_t pid, const char *file, const char *line, struct rkt_err *err)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, file);
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, line, strlen(line)) != (ssize_t)strlen(line))
		return rkt_error_errno(err, errno, "writing %s", path);
	return 0;
}

int s1_userns_write_maps(pid_t pid, const struct s1_userns *u, struct rkt_err *err)
{
	char line[64];
	snprintf(line, sizeof line, "0 %u %u\n", (unsigned)u->shift, (unsigned)u->count);
	int r = write_map(pid, "uid_map", line, err);
	return r < 0 ? r : write_map(pid, "gid_map", line, err);
}

int s1_userns_become_root(void)
{
	if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
		return -1;
	/* The id change cleared the parent-death signal set before it. */
	return prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 ? -1 : 0;
}
