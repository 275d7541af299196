#include "stage1/cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"

#define PROC_FILE_MAX (1u << 20)

/* True when every comma-separated item of want appears in have. */
static bool items_subset(const char *want, const char *have)
{
	_cleanup_free_ char *w = xstrdup(want);
	char *save = NULL;
	for (char *it = strtok_r(w, ",", &save); it; it = strtok_r(NULL, ",", &save)) {
		size_t n = strlen(it);
		bool found = false;
		for (const char *p = have; p && *p;) {
			const char *end = strchr(p, ',');
			size_t len = end ? (size_t)(end - p) : strlen(p);
			if (len == n && strncmp(p, it, n) == 0)
				found = true;
			p = end ? end + 1 : NULL;
		}
		if (!found)
			return false;
	}
	return true;
}

/* Finds the v1 mount whose super options hold controllers; fills the mount
 * point and the mount's root. */
static int find_mount(const char *mountinfo, const char *controllers, char **ret_point,
		      char **ret_root)
{
	_cleanup_free_ char *copy = xstrdup(mountinfo);
	char *save = NULL;
	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char root[4096], point[4096], fstype[64], source[256], super[1024];
		char *dash = strstr(line, " - ");
		if (!dash || sscanf(line, "%*s %*s %*s %4095s %4095s", root, point) != 2 ||
		    sscanf(dash + 3, "%63s %255s %1023s", fstype, source, super) != 3)
			continue;
		if (strcmp(fstype, "cgroup") != 0 || !items_subset(controllers, super))
			continue;
		*ret_point = xstrdup(point);
		*ret_root = xstrdup(root);
		return 0;
	}
	return -ENOENT;
}

int cgroup_parse(const char *proc_cgroup, const char *mountinfo, struct s1_cgroups *ret,
		 struct rkt_err *err)
{
	_cleanup_free_ char *copy = xstrdup(proc_cgroup);
	char *save = NULL;
	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *c1 = strchr(line, ':');
		char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2)
			return rkt_error(err, EINVAL, "/proc/self/cgroup: bad line \"%s\"", line);
		*c2 = '\0';
		const char *controllers = c1 + 1, *path = c2 + 1;
		if (!*controllers)
			continue; /* the v2 hierarchy */
		_cleanup_free_ char *point = NULL, *root = NULL;
		if (find_mount(mountinfo, controllers, &point, &root) < 0)
			continue; /* enabled but not mounted */
		const char *rel = path;
		size_t rl = strlen(root);
		if (strcmp(root, "/") != 0 && strncmp(path, root, rl) == 0)
			rel = path + rl;
		while (*rel == '/')
			rel++;
		ret->h = xrealloc(ret->h, (ret->n + 1) * sizeof *ret->h);
		ret->h[ret->n++] = (struct s1_cgroup_hier){
			.controllers = xstrdup(controllers),
			.own = *rel ? xasprintf("%s/%s", point, rel) : xstrdup(point),
		};
	}
	return 0;
}

static int write_str(const char *dir, const char *file, const char *val, struct rkt_err *err)
{
	_cleanup_free_ char *p = xasprintf("%s/%s", dir, file);
	_cleanup_close_ int fd = open(p, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return rkt_error_errno(err, errno, "cgroup: open %s", p);
	if (write(fd, val, strlen(val)) < 0)
		return rkt_error_errno(err, errno, "cgroup: write \"%s\" to %s", val, p);
	return 0;
}

/* A new cpuset cgroup has no CPUs or memory nodes until given its parent's. */
static void cpuset_inherit(const struct s1_cgroup_hier *h)
{
	static const char *const files[] = { "cpuset.cpus", "cpuset.mems" };
	for (size_t i = 0; i < 2; i++) {
		_cleanup_free_ char *p = xasprintf("%s/%s", h->own, files[i]);
		_cleanup_free_ char *val = NULL;
		if (read_file_at(AT_FDCWD, p, 4096, &val, NULL, NULL) == 0)
			write_str(h->pod, files[i], val, NULL);
	}
}

int cgroup_pod_create(const char *uuid, struct s1_cgroups *cg, struct rkt_err *err)
{
	_cleanup_free_ char *self = NULL, *mi = NULL;
	int r = read_file_at(AT_FDCWD, "/proc/self/cgroup", PROC_FILE_MAX, &self, NULL, err);
	if (r >= 0)
		r = read_file_at(AT_FDCWD, "/proc/self/mountinfo", PROC_FILE_MAX, &mi, NULL, err);
	if (r >= 0)
		r = cgroup_parse(self, mi, cg, err);
	if (r < 0)
		return r;
	size_t kept = 0;
	for (size_t i = 0; i < cg->n; i++) {
		struct s1_cgroup_hier *h = &cg->h[i];
		/* No isolator uses a cpuset-only hierarchy (systemd leaves it alone
		 * too), and a pod's first cpuset cgroup costs every CPU a kernel
		 * text patch on creation and again on removal. */
		bool unused = strcmp(h->controllers, "cpuset") == 0;
		h->pod = unused ? NULL : xasprintf("%s/rkt-%s", h->own, uuid);
		if (unused || (mkdir(h->pod, 0755) < 0 && errno != EEXIST)) {
			free(h->controllers);
			free(h->own);
			free(h->pod);
			continue;
		}
		if (strcmp(h->controllers, "cpuset") == 0 || items_subset("cpuset", h->controllers))
			cpuset_inherit(h);
		cg->h[kept++] = *h;
	}
	cg->n = kept;
	return 0;
}

struct s1_cgroup_hier *cgroup_find(struct s1_cgroups *cg, const char *controller)
{
	for (size_t i = 0; i < cg->n; i++)
		if (items_subset(controller, cg->h[i].controllers))
			return &cg->h[i];
	return NULL;
}

int cgroup_pod_join(struct s1_cgroups *cg, pid_t pid, struct rkt_err *err)
{
	char buf[32];
	snprintf(buf, sizeof buf, "%d", (int)pid);
	for (size_t i = 0; i < cg->n; i++) {
		int r = write_str(cg->h[i].pod, "cgroup.procs", buf, err);
		if (r < 0)
			return r;
	}
	return 0;
}

static char *app_dir(struct s1_cgroups *cg, struct s1_cgroup_hier *h, const char *app,
		     struct rkt_err *err)
{
	char *d = xasprintf("%s/%s", h->pod, app);
	if (mkdir(d, 0755) < 0 && errno != EEXIST) {
		rkt_error_errno(err, errno, "cgroup: mkdir %s", d);
		free(d);
		return NULL;
	}
	if (!strv_contains(cg->app_dirs, d))
		cg->app_dirs = strv_append(cg->app_dirs, d);
	return d;
}

static void append_procs(char ***procs, const char *dir)
{
	_cleanup_free_ char *p = xasprintf("%s/cgroup.procs", dir);
	*procs = strv_append(*procs, p);
}

static int cpu_limits(struct s1_cgroups *cg, struct s1_cgroup_hier *h, const char *app,
		      const struct stage1_settings *s, char ***procs, struct rkt_err *err)
{
	_cleanup_free_ char *d = app_dir(cg, h, app, err);
	if (!d)
		return -err->code;
	char buf[32];
	int r = 0;
	if (s->cpu_limit_milli >= 0) {
		_cleanup_free_ char *period_s = NULL, *pp = xasprintf("%s/cpu.cfs_period_us", d);
		long long period = 100000;
		if (read_file_at(AT_FDCWD, pp, 64, &period_s, NULL, NULL) == 0)
			period = atoll(period_s);
		long long quota = s->cpu_limit_milli * period / 1000;
		snprintf(buf, sizeof buf, "%lld", quota < 1000 ? 1000 : quota);
		r = write_str(d, "cpu.cfs_quota_us", buf, err);
	}
	if (r >= 0 && s->cpu_shares >= 0) {
		snprintf(buf, sizeof buf, "%lld", (long long)s->cpu_shares);
		r = write_str(d, "cpu.shares", buf, err);
	}
	if (r >= 0)
		append_procs(procs, d);
	return r;
}

int cgroup_app_create(struct s1_cgroups *cg, const char *app, const struct stage1_settings *s,
		      char ***procs, const char **missing, struct rkt_err *err)
{
	int r;
	*missing = NULL;
	if (s->memory_limit >= 0) {
		struct s1_cgroup_hier *h = cgroup_find(cg, "memory");
		if (!h) {
			*missing = "memory";
		} else {
			_cleanup_free_ char *d = app_dir(cg, h, app, err);
			char buf[32];
			if (!d)
				return -err->code;
			snprintf(buf, sizeof buf, "%lld", (long long)s->memory_limit);
			r = write_str(d, "memory.limit_in_bytes", buf, err);
			if (r < 0)
				return r;
			append_procs(procs, d);
		}
	}
	if (s->cpu_limit_milli >= 0 || s->cpu_shares >= 0) {
		struct s1_cgroup_hier *h = cgroup_find(cg, "cpu");
		if (!h)
			*missing = "cpu";
		else if ((r = cpu_limits(cg, h, app, s, procs, err)) < 0)
			return r;
	}
	return 0;
}

int cgroup_join_self(const char *procs_file, struct rkt_err *err)
{
	_cleanup_close_ int fd = open(procs_file, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 || write(fd, "0", 1) < 0)
		return rkt_error_errno(err, errno, "cgroup: join %s", procs_file);
	return 0;
}

/* rmdir fails with EBUSY while the kernel finishes tearing down the last
 * exited tasks; give it a moment. */
static void rmdir_retry(const char *d)
{
	for (int i = 0; i < 100; i++) {
		if (rmdir(d) == 0 || errno == ENOENT)
			return;
		if (errno != EBUSY)
			return;
		nanosleep(&(struct timespec){ .tv_nsec = 10 * 1000 * 1000 }, NULL);
	}
}

void cgroup_pod_destroy(struct s1_cgroups *cg)
{
	for (char **d = cg->app_dirs; d && *d; d++)
		rmdir_retry(*d);
	for (size_t i = 0; i < cg->n; i++)
		if (cg->h[i].pod)
			rmdir_retry(cg->h[i].pod);
}

void cgroup_free(struct s1_cgroups *cg)
{
	for (size_t i = 0; i < cg->n; i++) {
		free(cg->h[i].controllers);
		free(cg->h[i].own);
		free(cg->h[i].pod);
	}
	free(cg->h);
	strv_free(cg->app_dirs);
	*cg = (struct s1_cgroups){ 0 };
}
