/* Pod moves and deletion for rm and gc. Everything is opened beneath the
 * helper's own pods dir without following symlinks; what a pod's apps left
 * mounted is detached before the tree goes, and the delete itself never
 * crosses a mount point, so a bind mount of a host directory that survived
 * cannot make the helper delete host files. */
#include "privhelper/session/podgc.h"
#include "privhelper/session/net.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/beneath.h"
#include "common/cleanup.h"
#include "common/podstate.h"
#include "common/util.h"

#define TREE_DEPTH_MAX 512
#define UNMOUNT_PASSES 32
#define STAGE1_GC_TIMEOUT_MS 15000
#define STAGE1_GC_OUTPUT_MAX 512

int podgc_open_pods(const struct session_config *cfg, int *ret_fd, struct rkt_err *err)
{
	_cleanup_free_ char *path = xasprintf("%s/pods", cfg->dir);
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return rkt_error_errno(err, errno, "cannot open %s", path);
	*ret_fd = fd;
	return 0;
}

int podgc_open_pod(int pods_fd, const char *state_dir, const char *uuid)
{
	if (!pod_uuid_valid(uuid))
		return -EINVAL;
	char rel[64];
	snprintf(rel, sizeof rel, "%s/%s", state_dir, uuid);
	return open_beneath(pods_fd, rel, O_RDONLY | O_DIRECTORY, 0);
}

int podgc_owner(int pod_fd, const char *uuid, uid_t *ret, struct rkt_err *err)
{
	_cleanup_close_ int fd = openat(pod_fd, "owner", O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT) {
			*ret = 0; /* made before owners were recorded: root's */
			return 0;
		}
		return rkt_error_errno(err, errno, "pod %s: cannot open its owner file", uuid);
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return rkt_error(err, EINVAL, "pod %s: its owner file is not a regular file", uuid);
	_cleanup_free_ char *buf = NULL;
	size_t len;
	int r = read_fd_bounded(fd, 32, &buf, &len);
	if (r < 0)
		return rkt_error_errno(err, -r, "pod %s: cannot read its owner file", uuid);
	char *end;
	errno = 0;
	unsigned long v = strtoul(buf, &end, 10);
	while (*end == '\n' || *end == ' ' || *end == '\t')
		end++;
	if (errno || end == buf || *end || buf[0] < '0' || buf[0] > '9' || v > UINT32_MAX - 1)
		return rkt_error(err, EINVAL, "pod %s: owner file holds \"%.32s\", not a uid", uuid,
				 buf);
	*ret = (uid_t)v;
	return 0;
}

int podgc_open_owned(int pods_fd, const char *arg, const char *op, uid_t caller,
		     char uuid[POD_UUID_LEN + 1], enum pod_state *ret_state, struct rkt_err *err)
{
	int r = pod_lookup(pods_fd, arg, uuid, ret_state, err);
	if (r < 0)
		return r;
	int pod = podgc_open_pod(pods_fd, pod_state_dir(*ret_state), uuid);
	if (pod < 0)
		return rkt_error(err, -pod, "%s: the pod changed state; try again", op);
	uid_t owner = 0;
	struct rkt_err oe = { 0 };
	if (podgc_owner(pod, uuid, &owner, &oe) < 0)
		owner = 0;
	r = policy_check_owner(owner, caller, op, uuid, err);
	if (r < 0) {
		close(pod);
		return r;
	}
	return pod;
}

int podgc_lock(int pod_fd)
{
	return flock(pod_fd, LOCK_EX | LOCK_NB) < 0 ? -errno : 0;
}

static int move(int pods_fd, const char *from, const char *to, const char *uuid, bool sync,
		struct rkt_err *err)
{
	_cleanup_close_ int ffd = open_beneath(pods_fd, from, O_RDONLY | O_DIRECTORY, 0);
	_cleanup_close_ int tfd = open_beneath(pods_fd, to, O_RDONLY | O_DIRECTORY, 0);
	if (ffd < 0 || tfd < 0)
		return rkt_error_errno(err, -(ffd < 0 ? ffd : tfd), "cannot open pods/%s",
				       ffd < 0 ? from : to);
	if (renameat2(ffd, uuid, tfd, uuid, RENAME_NOREPLACE) < 0)
		return rkt_error_errno(err, errno, "cannot move pod %s from pods/%s to pods/%s", uuid,
				       from, to);
	/* rkt's protocol: a state change is durable once both dirs are synced. */
	if (sync && (fsync(ffd) < 0 || fsync(tfd) < 0))
		return rkt_error_errno(err, errno, "syncing pods/%s and pods/%s", from, to);
	return 0;
}

int podgc_move(int pods_fd, const char *from, const char *to, const char *uuid,
	       struct rkt_err *err)
{
	return move(pods_fd, from, to, uuid, true, err);
}

int podgc_move_nosync(int pods_fd, const char *from, const char *to, const char *uuid,
		      struct rkt_err *err)
{
	return move(pods_fd, from, to, uuid, false, err);
}

/* ---- mounts ------------------------------------------------------------------ */

static int by_depth_desc(const void *a, const void *b)
{
	size_t la = strlen(*(char *const *)a), lb = strlen(*(char *const *)b);
	return la < lb ? 1 : la > lb ? -1 : 0;
}

/* Mount points at or beneath prefix, deepest first; NULL when none. */
static int mounts_beneath(const char *prefix, char ***ret, struct rkt_err *err)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return rkt_error_errno(err, errno, "cannot read /proc/self/mountinfo");
	size_t plen = strlen(prefix);
	char **v = NULL;
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;
	while (getline(&line, &cap, f) > 0) {
		/* id parent major:minor root MOUNTPOINT options ... */
		char *save = NULL, *mp = strtok_r(line, " ", &save);
		for (int i = 0; mp && i < 4; i++)
			mp = strtok_r(NULL, " ", &save);
		if (!mp)
			continue;
		mountinfo_unescape(mp);
		if (strncmp(mp, prefix, plen) == 0 && (mp[plen] == '\0' || mp[plen] == '/'))
			v = strv_append(v, mp);
	}
	if (v)
		qsort(v, strv_len(v), sizeof *v, by_depth_desc);
	*ret = v;
	return 0;
}

/* Detaches the mount at mp, which lies at or beneath the pod dir path. */
static int unmount_beneath(int pod_fd, const char *path, const char *mp)
{
	const char *rel = mp + strlen(path);
	while (*rel == '/')
		rel++;
	_cleanup_close_ int fd = open_beneath(pod_fd, *rel ? rel : ".", O_PATH, 0);
	if (fd < 0)
		return fd;
	char proc[64];
	snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
	/* Safe: fd was resolved beneath the pod dir with no symlink at any
	 * step, so the mount detached is one inside this pod, whatever its
	 * path text says. */
	if (umount2(proc, MNT_DETACH) < 0)
		return -errno;
	return 0;
}

static int fd_path(int fd, char *buf, size_t len)
{
	char proc[64];
	snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
	ssize_t n = readlink(proc, buf, len - 1);
	if (n < 0)
		return -errno;
	if ((size_t)n >= len - 1)
		return -ENAMETOOLONG;
	buf[n] = '\0';
	return 0;
}

static int unmount_pod(int pods_fd, const char *state_dir, const char *uuid, struct rkt_err *err)
{
	for (int pass = 0; pass < UNMOUNT_PASSES; pass++) {
		/* Reopened each pass: if the pod dir itself was a mount point,
		 * the old fd now points into the detached tree. */
		_cleanup_close_ int pod = podgc_open_pod(pods_fd, state_dir, uuid);
		if (pod < 0)
			return rkt_error_errno(err, -pod, "cannot open pods/%s/%s", state_dir, uuid);
		char path[PATH_MAX];
		int r = fd_path(pod, path, sizeof path);
		if (r < 0)
			return rkt_error_errno(err, -r, "cannot find the path of pod %s", uuid);
		_cleanup_strv_ char **mps = NULL;
		if ((r = mounts_beneath(path, &mps, err)) < 0)
			return r;
		if (!mps)
			return 0;
		if (pass == UNMOUNT_PASSES - 1)
			return rkt_error(err, EBUSY, "pod %s: %s is still mounted after %d unmounts", uuid,
					 mps[0], UNMOUNT_PASSES);
		for (size_t i = 0; mps[i]; i++) {
			/* A failure here (the mount went with its parent) shows up
			 * again in the next pass's mountinfo, or not at all. */
			(void)unmount_beneath(pod, path, mps[i]);
		}
	}
	return 0;
}

/* ---- delete ---------------------------------------------------------------- */

struct walk {
	uint64_t mnt_id; /* of the tree's top: nothing else is entered */
	char rel[PATH_MAX];
	size_t len;
	int error; /* first failure, negative errno */
	struct rkt_err *err;
	const char *top;
};

static int mnt_id_of(int fd, uint64_t *ret)
{
	struct statx sx;
	if (statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_MNT_ID, &sx) < 0)
		return -errno;
	if (!(sx.stx_mask & STATX_MNT_ID))
		return -EOPNOTSUPP;
	*ret = sx.stx_mnt_id;
	return 0;
}

static void walk_fail(struct walk *w, int e, const char *what)
{
	if (w->error)
		return;
	w->error = -e;
	rkt_error_errno(w->err, e, "%s %s/%s", what, w->top, w->rel);
}

static void walk_push(struct walk *w, const char *name, size_t *saved)
{
	*saved = w->len;
	int n = snprintf(w->rel + w->len, sizeof w->rel - w->len, "%s%s", w->len ? "/" : "", name);
	if (n > 0)
		w->len = w->len + (size_t)n < sizeof w->rel ? w->len + (size_t)n : sizeof w->rel - 1;
}

static void walk_pop(struct walk *w, size_t saved)
{
	w->len = saved;
	w->rel[saved] = '\0';
}

static void remove_contents(struct walk *w, int fd, unsigned depth);

/* One entry of dfd: unlinked as it is (a symlink is never followed), a
 * directory emptied first unless it is another mount. */
static void remove_entry(struct walk *w, int dfd, const char *name, unsigned depth)
{
	size_t saved;
	walk_push(w, name, &saved);
	if (unlinkat(dfd, name, 0) == 0 || errno == ENOENT) {
		walk_pop(w, saved);
		return;
	}
	if (errno != EISDIR) {
		walk_fail(w, errno, "cannot remove");
		walk_pop(w, saved);
		return;
	}
	int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	uint64_t id;
	int r;
	if (fd < 0)
		walk_fail(w, errno, "cannot open");
	else if ((r = mnt_id_of(fd, &id)) < 0)
		walk_fail(w, -r, "cannot stat");
	else if (id != w->mnt_id)
		walk_fail(w, EXDEV, "refusing to descend into the mount point");
	else {
		remove_contents(w, fd, depth + 1);
		fd = -1; /* owned by remove_contents */
		if (unlinkat(dfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
			walk_fail(w, errno, "cannot remove");
	}
	if (fd >= 0)
		close(fd);
	walk_pop(w, saved);
}

/* Empties the directory fd (taken over and closed). */
static void remove_contents(struct walk *w, int fd, unsigned depth)
{
	if (depth > TREE_DEPTH_MAX) {
		close(fd);
		walk_fail(w, ELOOP, "too many directory levels at");
		return;
	}
	DIR *d = fdopendir(fd);
	if (!d) {
		walk_fail(w, errno, "cannot read");
		close(fd);
		return;
	}
	/* Removing while reading may skip entries on some filesystems: read
	 * again until a pass finds nothing. */
	for (int pass = 0; pass < 4; pass++) {
		bool any = false;
		struct dirent *de;
		rewinddir(d);
		while ((de = readdir(d))) {
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			any = true;
			remove_entry(w, dirfd(d), de->d_name, depth);
			if (w->error) {
				closedir(d);
				return;
			}
		}
		if (!any)
			break;
	}
	closedir(d);
}

int podgc_remove_tree(int dfd, const char *name, struct rkt_err *err)
{
	struct walk w = { .err = err, .top = name };
	uint64_t parent_id;
	int r = mnt_id_of(dfd, &parent_id);
	if (r < 0)
		return rkt_error_errno(err, -r, "cannot stat the directory holding %s", name);
	if (unlinkat(dfd, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR)
		return rkt_error_errno(err, errno, "cannot remove %s", name);
	int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return rkt_error_errno(err, errno, "cannot open %s", name);
	if ((r = mnt_id_of(fd, &w.mnt_id)) < 0 || w.mnt_id != parent_id) {
		close(fd);
		return r < 0 ? rkt_error_errno(err, -r, "cannot stat %s", name)
			     : rkt_error(err, EXDEV, "%s is a mount point; refusing to delete it", name);
	}
	remove_contents(&w, fd, 0);
	if (w.error)
		return w.error;
	if (unlinkat(dfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		return rkt_error_errno(err, errno, "cannot remove %s", name);
	return 0;
}

/* ---- the flavor's gc entrypoint ---------------------------------------------- */

static bool flavor_name_valid(const char *s)
{
	if (!*s || s[0] == '.' || strlen(s) > 64)
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		      *p == '-' || *p == '_' || *p == '.'))
			return false;
	return true;
}

int podgc_open_entrypoint(const struct session_config *cfg, int pod_fd, const char *uuid,
			  const char *name, struct rkt_err *err)
{
	_cleanup_close_ int fd = openat(pod_fd, "stage1-flavor", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return rkt_error(err, ENOENT, "pod \"%s\" records no stage1 flavor", uuid);
	_cleanup_free_ char *flavor = NULL;
	if (fd < 0 || read_fd_bounded(fd, 128, &flavor, NULL) < 0)
		return rkt_error(err, EINVAL, "pod \"%s\": cannot read its stage1-flavor file", uuid);
	flavor[strcspn(flavor, "\n")] = '\0';
	if (!flavor_name_valid(flavor))
		return rkt_error(err, EINVAL, "pod \"%s\": invalid stage1 flavor name \"%s\"", uuid,
				 flavor);
	/* The directories are the admin's, checked at start-up like every
	 * --system-config path; the pod only picks a plain name among them. */
	_cleanup_free_ char *path = xasprintf("%s/stage1/%s/%s", cfg->system_config, flavor, name);
	int efd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (efd < 0)
		return rkt_error_errno(err, errno, "stage1 flavor %s has no %s entrypoint (%s)", flavor,
				       name, path);
	return efd;
}

struct gc_child {
	int exe_fd, pod_fd, out_fd, null_fd;
	char **argv, **envp;
};

__attribute__((noreturn)) static void gc_child_exec(const struct gc_child *ch)
{
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* Its time limit is the session's to enforce: it must not outlive
	 * the session (it runs again at the next gc). */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (dup2(ch->null_fd, 0) < 0 || dup2(ch->out_fd, 1) < 0 || dup2(ch->out_fd, 2) < 0 ||
	    fchdir(ch->pod_fd) < 0)
		_exit(254);
	int exe = ch->exe_fd;
	if (exe != 3 && (exe = dup3(exe, 3, O_CLOEXEC)) < 0)
		_exit(254);
	/* Only stdio reach it (fd 3 is close-on-exec): never the client
	 * connection, the pods dir or the pod lock. */
	syscall(SYS_close_range, 4, ~0U, 0);
	syscall(SYS_execveat, exe, "", ch->argv, ch->envp, AT_EMPTY_PATH);
	dprintf(2, "cannot execute the gc entrypoint: %s", strerror(errno));
	_exit(254);
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads the child's output until it ends or the time limit passes; the
 * child is killed at the limit. Returns its wait status, -ETIMEDOUT. */
static int gc_wait(pid_t pid, int pidfd, int out_fd, char *out, size_t cap)
{
	size_t len = 0;
	bool timed_out = false, eof = false;
	int64_t deadline = now_ms() + STAGE1_GC_TIMEOUT_MS;
	for (;;) {
		int64_t left = deadline - now_ms();
		if (left <= 0 && !timed_out) {
			/* Safe: the pidfd names our own child, the entrypoint. */
			syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
			timed_out = true;
		}
		struct pollfd p[2] = { { .fd = pidfd, .events = POLLIN },
				       { .fd = eof ? -1 : out_fd, .events = POLLIN } };
		int n = poll(p, 2, timed_out ? 1000 : (int)(left < 1000 ? left : 1000));
		if (n < 0 && errno != EINTR)
			break;
		if (n > 0 && p[1].revents) {
			char buf[512];
			ssize_t r = read(out_fd, buf, sizeof buf);
			if (r <= 0) {
				eof = true;
			} else if (len + 1 < cap) {
				size_t take = (size_t)r < cap - 1 - len ? (size_t)r : cap - 1 - len;
				memcpy(out + len, buf, take);
				len += take;
			}
		}
		/* Done once it exited and its output is drained (a grandchild
		 * holding the pipe does not keep us waiting past the limit). */
		if (n > 0 && p[0].revents && (eof || !p[1].revents || timed_out))
			break;
	}
	out[len] = '\0';
	while (len && (out[len - 1] == '\n' || out[len - 1] == ' '))
		out[--len] = '\0';
	for (char *c = out; *c; c++)
		if (*c == '\n' || *c == '\t')
			*c = ' ';
	int ws = 0;
	if (waitpid(pid, &ws, 0) < 0)
		return -errno;
	return timed_out ? -ETIMEDOUT : ws;
}

int podgc_stage1_gc(const struct session_config *cfg, int pod_fd, const char *uuid,
		    struct rkt_err *err)
{
	struct rkt_err e = { 0 };
	_cleanup_close_ int exe = podgc_open_entrypoint(cfg, pod_fd, uuid, "gc", &e);
	if (exe == -ENOENT)
		return 0; /* a flavor without gc, or a pod that never ran */
	if (exe < 0)
		return rkt_error(err, e.code, "%s", e.msg);
	_cleanup_close_ int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	int pipefd[2];
	if (null_fd < 0 || pipe2(pipefd, O_CLOEXEC) < 0)
		return rkt_error_errno(err, errno, "gc entrypoint: cannot set up its stdio");
	_cleanup_close_ int rd = pipefd[0];
	_cleanup_close_ int wr = pipefd[1];
	char *argv[] = { "gc", (char *)uuid, NULL };
	/* A clean environment: PATH, and the admin's sanitizer settings (the
	 * helper's own env, never a client's) for sanitizer builds. */
	char *envp[4] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL, NULL, NULL };
	const char *v;
	_cleanup_free_ char *asan = (v = getenv("ASAN_OPTIONS")) ? xasprintf("ASAN_OPTIONS=%s", v) : NULL;
	_cleanup_free_ char *ubsan = (v = getenv("UBSAN_OPTIONS")) ? xasprintf("UBSAN_OPTIONS=%s", v) : NULL;
	int n = 1;
	if (asan)
		envp[n++] = asan;
	if (ubsan)
		envp[n++] = ubsan;
	struct gc_child ch = { .exe_fd = exe, .pod_fd = pod_fd, .out_fd = wr, .null_fd = null_fd,
			       .argv = argv, .envp = envp };
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0)
		gc_child_exec(&ch);
	if (pid < 0)
		return rkt_error_errno(err, errno, "gc entrypoint: fork");
	close(TAKE_FD(wr));
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return rkt_error_errno(err, errno, "gc entrypoint: pidfd_open");
	}
	char out[STAGE1_GC_OUTPUT_MAX];
	int ws = gc_wait(pid, pidfd, rd, out, sizeof out);
	close(pidfd);
	if (ws == -ETIMEDOUT)
		return rkt_error(err, ETIMEDOUT, "the gc entrypoint did not finish within %d s%s%s",
				 STAGE1_GC_TIMEOUT_MS / 1000, *out ? ": " : "", out);
	if (ws < 0)
		return rkt_error_errno(err, -ws, "gc entrypoint: waitpid");
	if (WIFEXITED(ws) && WEXITSTATUS(ws) == 0)
		return 0;
	if (WIFSIGNALED(ws))
		return rkt_error(err, EIO, "the gc entrypoint was killed by signal %d%s%s",
				 WTERMSIG(ws), *out ? ": " : "", out);
	return rkt_error(err, EIO, "the gc entrypoint exited with status %d%s%s", WEXITSTATUS(ws),
			 *out ? ": " : "", out);
}

int podgc_delete(const struct session_config *cfg, int pods_fd, const char *state_dir,
		 const char *uuid, struct rkt_err *warn, struct rkt_err *err)
{
	_cleanup_free_ char *rel = xasprintf("%s/%s", state_dir, uuid);
	_cleanup_close_ int pfd = open_beneath(pods_fd, rel, O_RDONLY | O_DIRECTORY, 0);
	/* A pod whose session died keeps its netns and CNI leases: undo them
	 * first (a pod without networking has nothing to undo). */
	if (pfd >= 0) {
		struct rkt_err ne = { 0 };
		if (net_teardown(cfg, pfd, &ne) < 0) {
			fprintf(stderr, "rkt-privhelper-session: problem tearing down the network of \"%s\": %s\n",
				uuid, ne.msg);
			if (warn)
				rkt_error(warn, ne.code, "problem tearing down the network of \"%s\": %s",
					  uuid, ne.msg);
		}
	}
	/* Only a pod that ran has anything of stage1's left on the host (rkt
	 * runs the entrypoint for exited-garbage/ pods alone). */
	if (pfd >= 0 && !strcmp(state_dir, "exited-garbage")) {
		struct rkt_err ge = { 0 };
		if (podgc_stage1_gc(cfg, pfd, uuid, &ge) < 0) {
			fprintf(stderr, "rkt-privhelper-session: problem performing stage1 GC on \"%s\": %s\n",
				uuid, ge.msg);
			if (warn)
				rkt_error(warn, ge.code, "problem performing stage1 GC on \"%s\": %s", uuid,
					  ge.msg);
		}
	}
	int r = unmount_pod(pods_fd, state_dir, uuid, err);
	if (r < 0)
		return r;
	_cleanup_close_ int sfd = open_beneath(pods_fd, state_dir, O_RDONLY | O_DIRECTORY, 0);
	if (sfd < 0)
		return rkt_error_errno(err, -sfd, "cannot open pods/%s", state_dir);
	r = podgc_remove_tree(sfd, uuid, err);
	if (r < 0)
		return rkt_error_wrap(err, "cannot delete pod %s", uuid);
	if (fsync(sfd) < 0)
		return rkt_error_errno(err, errno, "syncing pods/%s", state_dir);
	return 0;
}
