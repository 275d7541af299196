#include "stage1/app.h"

#include <cap-ng.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "stage1/cgroup.h"
#include "stage1/rootfs.h"
#include "stage1/userdb.h"
#include "stage1/volumes.h"

#define APP_SETUP_FAILED 254

static bool is_exec_file(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

int stage1_resolve_exec(const char *cmd, const char *path, char **ret)
{
	if (strchr(cmd, '/')) {
		if (!is_exec_file(cmd))
			return -ENOENT;
		*ret = xstrdup(cmd);
		return 0;
	}
	_cleanup_free_ char *copy = xstrdup(path ? path : "");
	char *save = NULL;
	for (char *dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		_cleanup_free_ char *p = xasprintf("%s/%s", dir, cmd);
		if (is_exec_file(p) && access(p, X_OK) == 0) {
			*ret = TAKE_PTR(p);
			return 0;
		}
	}
	return -ENOENT;
}

__attribute__((noreturn, format(printf, 2, 3))) static void die(const struct stage1_app *a,
								const char *fmt, ...)
{
	va_list ap;
	char buf[RKT_ERR_MSG_MAX];
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	dprintf(STDERR_FILENO, "stage1: app %s: %s\n", a->name, buf);
	_exit(APP_SETUP_FAILED);
}

static void write_oom_score_adj(const struct stage1_app *a)
{
	if (!a->settings.has_oom_score_adj)
		return;
	_cleanup_close_ int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
	char buf[16];
	int n = snprintf(buf, sizeof buf, "%d", a->settings.oom_score_adj);
	if (fd < 0 || write(fd, buf, (size_t)n) < 0)
		die(a, "oom_score_adj %d: %s", a->settings.oom_score_adj, strerror(errno));
}

/* The bounding set bounds what any later execve can gain; the inheritable
 * and ambient sets are emptied so nothing outside it survives execve. */
static void limit_caps(const struct stage1_app *a)
{
	/* libcap-ng remembers the pid it first saw, and an app child is a
	 * vfork of PID 1 (supervise.c) that shares that memory with the apps
	 * started before it: name ourselves, or it would read and change the
	 * previous app's capabilities. */
	capng_setpid((int)getpid());
	capng_get_caps_process();
	for (int c = 0; c <= CAP_LAST_CAP; c++) {
		capng_update(CAPNG_DROP, CAPNG_INHERITABLE, (unsigned)c);
		if (!a->settings.caps_all && !(a->settings.caps & (1ULL << c)))
			capng_update(CAPNG_DROP, CAPNG_BOUNDING_SET, (unsigned)c);
	}
	if (capng_apply(CAPNG_SELECT_BOTH) < 0)
		die(a, "cannot apply the capability bounding set");
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		die(a, "cannot clear ambient capabilities: %s", strerror(errno));
}

static void change_ids(const struct stage1_app *a, uid_t uid, gid_t gid)
{
	size_t n = a->n_supp_gids;
	_cleanup_free_ gid_t *groups = xcalloc(n ? n : 1, sizeof *groups);
	for (size_t i = 0; i < n; i++)
		groups[i] = a->supp_gids[i];
	if (setgroups(n, groups) < 0)
		die(a, "setgroups: %s", strerror(errno));
	if (setresgid(gid, gid, gid) < 0)
		die(a, "setresgid %u: %s", (unsigned)gid, strerror(errno));
	/* A root app keeps its capabilities: it is root, so execve gives it the
	 * whole bounding set. A non-root app loses them here, as under systemd's
	 * User=. */
	if (setresuid(uid, uid, uid) < 0)
		die(a, "setresuid %u: %s", (unsigned)uid, strerror(errno));
}

static void setup_stdio(const struct stage1_app *a, bool interactive)
{
	if (!interactive) {
		int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (fd < 0 || dup2(fd, STDIN_FILENO) < 0)
			die(a, "stdin: %s", strerror(errno));
		close(fd);
		setsid();
	}
	/* The pod lock fd and anything else of stage1's stays out of the app. */
	close_range(3, ~0U, 0);
}

/* Volumes, then the DNS files over them (rkt: --dns and --hosts-entry win
 * over a volume), all before pivot_root while host paths are reachable. */
static void mount_volumes(const struct stage1_app *a, const struct app_launch *l)
{
	struct rkt_err err = { 0 };
	bool missing = false;
	if (volumes_mount_app(a->rootfs, a->mounts, a->n_mounts, &missing, &err) < 0) {
		if (missing) {
			/* rkt's prepare-app message and status for a missing host source */
			dprintf(STDERR_FILENO, "%s\n", err.msg);
			_exit(1);
		}
		die(a, "%s", err.msg);
	}
	if (l->resolv_conf &&
	    volumes_bind_file(a->rootfs, l->resolv_conf, l->resolv_follow, "/etc/resolv.conf",
			      &err) < 0)
		die(a, "/etc/resolv.conf: %s", err.msg);
	if (l->hosts && volumes_bind_file(a->rootfs, l->hosts, l->hosts_follow, "/etc/hosts", &err) < 0)
		die(a, "/etc/hosts: %s", err.msg);
}

void stage1_app_exec(const struct stage1_app *a, const struct app_launch *l)
{
	struct rkt_err err = { 0 };
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (char *const *p = a->cg_procs; p && *p; p++)
		if (cgroup_join_self(*p, &err) < 0)
			die(a, "%s", err.msg);
	write_oom_score_adj(a);
	if (unshare(CLONE_NEWNS) < 0)
		die(a, "unshare mount namespace: %s", strerror(errno));
	mount_volumes(a, l);
	struct rootfs_opts ro = { .path = a->rootfs,
				  .disable_paths = l->disable_paths,
				  .console_tty = l->interactive };
	if (rootfs_setup(&ro, &err) < 0 || rootfs_write_etc(l->hostname, &err) < 0)
		die(a, "%s", err.msg);
	/* readOnlyRootFS: only the root mount itself; volumes stay as they are. */
	if (a->read_only_rootfs &&
	    mount(NULL, "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0)
		die(a, "readOnlyRootFS: remount / read-only: %s", strerror(errno));
	uid_t uid;
	gid_t gid;
	_cleanup_close_ int rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (userdb_resolve_user(rootfd, a->user, &uid, &err) < 0 ||
	    userdb_resolve_group(rootfd, a->group, &gid, &err) < 0)
		die(a, "%s", err.msg);
	if (chdir(a->workdir) < 0) {
		dprintf(STDERR_FILENO, "Error: Unable to change to working directory \"%s\": %s\n",
			a->workdir, strerror(errno));
		_exit(APP_SETUP_FAILED);
	}
	_cleanup_free_ char *path = NULL;
	if (stage1_resolve_exec(a->exec[0], stage1_env_get(a->env, "PATH"), &path) < 0) {
		dprintf(STDERR_FILENO, "Error: Unable to open \"%s\": No such file or directory\n",
			a->exec[0]);
		_exit(APP_SETUP_FAILED);
	}
	setup_stdio(a, l->interactive);
	limit_caps(a);
	change_ids(a, uid, gid);
	if (stage1_needs_nnp(&a->settings, uid) && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		die(a, "no_new_privs: %s", strerror(errno));
	/* Last before execve (bubblewrap's order): nothing of ours runs under it. */
	if (seccomp_apply(&a->settings.seccomp, &err) < 0)
		die(a, "%s", err.msg);
	execve(path, a->exec, a->env);
	dprintf(STDERR_FILENO, "Error: Unable to exec \"%s\": %s\n", path, strerror(errno));
	_exit(APP_SETUP_FAILED);
}
