/* stage1 "ns" flavor, gc entrypoint (reference/rkt-behaviour.md §5 gc,
 * §6 `…/gc`):
 *   gc [--debug] [--local-config=D] <uuid>
 * run as root by the helper with cwd = the pod directory, for a pod that
 * has exited, before the pod directory is deleted. It removes what the
 * pod's init leaves on the host when it could not clean up after itself
 * (killed, host crash): the pod's cgroup directories rkt-<uuid> (with
 * their per-app children) in every cgroup v1 hierarchy and any cgroup v2
 * mount. Mounts beneath the pod dir, the netns and CNI state are the
 * helper's to undo (privhelper/session/podgc.c), not this program's.
 * Exit status: 0 when nothing of the pod is left, 1 otherwise (rkt's). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/podstate.h"
#include "common/util.h"

#define WALK_DEPTH_MAX 32
#define WALK_DIRS_MAX 100000
#define MOUNTINFO_MAX (4u << 20)
#define PROCS_MAX (1u << 20)
#define RMDIR_TRIES 200 /* x 10 ms: the kernel frees exited tasks lazily */
#define KILL_ROUNDS 20

struct gc {
	char name[64]; /* rkt-<uuid> */
	char **found;  /* pod cgroup dirs, absolute */
	unsigned visited;
	int failed;
};

__attribute__((format(printf, 1, 2))) static void say(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "gc: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* Mount points of every cgroup (v1) and cgroup2 filesystem. */
static char **cgroup_mounts(void)
{
	_cleanup_free_ char *text = NULL;
	if (read_file_at(AT_FDCWD, "/proc/self/mountinfo", MOUNTINFO_MAX, &text, NULL, NULL) < 0)
		return NULL;
	char **v = NULL;
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char point[4096], fstype[64];
		char *dash = strstr(line, " - ");
		if (!dash || sscanf(line, "%*s %*s %*s %*s %4095s", point) != 1 ||
		    sscanf(dash + 3, "%63s", fstype) != 1)
			continue;
		if (strcmp(fstype, "cgroup") != 0 && strcmp(fstype, "cgroup2") != 0)
			continue;
		mountinfo_unescape(point);
		if (!strv_contains(v, point))
			v = strv_append(v, point);
	}
	return v;
}

/* Collects every directory named g->name beneath dir (not inside one
 * already found: its children go with it). Only directories are entered;
 * cgroupfs holds no symlinks, and O_NOFOLLOW keeps it that way. */
static void find_pod_dirs(struct gc *g, int dfd, const char *path, unsigned depth)
{
	if (depth > WALK_DEPTH_MAX)
		return;
	DIR *d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return;
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_type != DT_DIR || !strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (++g->visited > WALK_DIRS_MAX)
			break;
		_cleanup_free_ char *sub = xasprintf("%s/%s", path, de->d_name);
		struct stat st;
		/* Only what the pod's init made (as root): a delegated subtree's
		 * owner cannot get its own processes killed by naming a dir. */
		if (!strcmp(de->d_name, g->name)) {
			if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_uid == 0)
				g->found = strv_append(g->found, sub);
			continue;
		}
		int fd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0)
			find_pod_dirs(g, fd, sub, depth + 1);
	}
	closedir(d);
}

/* The sub-directories of dir, deepest first, dir itself last. */
static void subdirs_post_order(const char *dir, char ***out, unsigned depth)
{
	if (depth <= WALK_DEPTH_MAX) {
		int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
		if (!d && fd >= 0)
			close(fd);
		struct dirent *de;
		while (d && (de = readdir(d))) {
			if (de->d_type != DT_DIR || !strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			_cleanup_free_ char *sub = xasprintf("%s/%s", dir, de->d_name);
			subdirs_post_order(sub, out, depth + 1);
		}
		if (d)
			closedir(d);
	}
	*out = strv_append(*out, dir);
}

/* Kills what is still in the pod's cgroups. A pod whose lock nobody holds
 * has no init: whatever still sits in its cgroup escaped its end. Returns
 * how many processes were signalled. */
static unsigned kill_members(char **dirs)
{
	unsigned n = 0;
	for (size_t i = 0; dirs[i]; i++) {
		_cleanup_free_ char *p = xasprintf("%s/cgroup.procs", dirs[i]);
		_cleanup_free_ char *text = NULL;
		if (read_file_at(AT_FDCWD, p, PROCS_MAX, &text, NULL, NULL) < 0)
			continue;
		char *save = NULL;
		for (char *t = strtok_r(text, "\n", &save); t; t = strtok_r(NULL, "\n", &save)) {
			char *end;
			long pid = strtol(t, &end, 10);
			/* Safe: the pid was read from this pod's own cgroup just now. */
			if (*end == '\0' && pid > 1 && kill((pid_t)pid, SIGKILL) == 0)
				n++;
		}
	}
	return n;
}

static void sleep_ms(long ms)
{
	nanosleep(&(struct timespec){ ms / 1000, (ms % 1000) * 1000000L }, NULL);
}

/* Removes one pod cgroup and its children. */
static void remove_pod_cgroup(struct gc *g, const char *top)
{
	_cleanup_strv_ char **dirs = NULL;
	subdirs_post_order(top, &dirs, 0);
	for (int round = 0; round < KILL_ROUNDS && kill_members(dirs) > 0; round++)
		sleep_ms(20);
	for (size_t i = 0; dirs && dirs[i]; i++) {
		int tries = 0;
		while (rmdir(dirs[i]) < 0 && errno == EBUSY && ++tries < RMDIR_TRIES)
			sleep_ms(10);
		if (access(dirs[i], F_OK) == 0) {
			say("cannot remove cgroup %s: %s", dirs[i], strerror(errno));
			g->failed = 1;
			return;
		}
	}
	log_debug("gc", "removed cgroup %s", top);
}

/* The pod dir we run in must be this pod's: its name is the UUID. */
static int check_cwd(const char *uuid)
{
	_cleanup_free_ char *cwd = getcwd(NULL, 0);
	if (!cwd) {
		say("cannot find the pod directory: %s", strerror(errno));
		return -1;
	}
	const char *base = strrchr(cwd, '/');
	base = base ? base + 1 : cwd;
	if (strcmp(base, uuid) != 0) {
		say("the working directory %s is not the directory of pod %s", cwd, uuid);
		return -1;
	}
	return 0;
}

static int parse_args(int argc, char **argv, const char **uuid)
{
	enum { O_DEBUG = 1, O_LOCAL_CONFIG };
	static const struct option lo[] = {
		{ "debug", no_argument, NULL, O_DEBUG },
		/* Accepted for the ABI (interface v5); nothing here reads config. */
		{ "local-config", required_argument, NULL, O_LOCAL_CONFIG },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+", lo, NULL)) != -1) {
		switch (c) {
		case O_DEBUG: log_set_debug(true); break;
		case O_LOCAL_CONFIG: break;
		default: say("unknown option %s", argv[optind - 1]); return -1;
		}
	}
	if (optind != argc - 1 || !pod_uuid_valid(argv[optind])) {
		fprintf(stderr, "UUID is missing or malformed\n");
		return -1;
	}
	*uuid = argv[optind];
	return 0;
}

int main(int argc, char **argv)
{
	const char *uuid = NULL;
	if (parse_args(argc, argv, &uuid) < 0 || check_cwd(uuid) < 0)
		return 1;
	struct gc g = { 0 };
	snprintf(g.name, sizeof g.name, "rkt-%s", uuid);
	_cleanup_strv_ char **mounts = cgroup_mounts();
	for (size_t i = 0; mounts && mounts[i]; i++) {
		int fd = open(mounts[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0)
			find_pod_dirs(&g, fd, mounts[i], 0);
	}
	for (size_t i = 0; g.found && g.found[i]; i++)
		remove_pod_cgroup(&g, g.found[i]);
	log_debug("gc", "pod %s: %zu cgroup(s) found, %u directories looked at", uuid,
		  strv_len(g.found), g.visited);
	strv_free(g.found);
	return g.failed;
}
