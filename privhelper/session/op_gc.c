/* GC_REQ: rkt gc of pods (rkt-behaviour.md §5) or, with IPC_GC_TREES, the
 * tree half of rkt image gc (§3). A non-root caller's gc acts only on the
 * pods it owns; trees are collected for root and policy-granted callers.
 *
 * What rkt prints per pod travels back in the GENERIC_ANS message: one
 * line per pod, '\n'-separated, each led by its stream mark (ipc.h
 * IPC_LINE_*). The message holds at most 4096 bytes; lines past that go to
 * the helper's log and the last line says how many were left out. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/lockfile.h"
#include "common/podstate.h"
#include "common/util.h"
#include "ipc/ipc.h"
#include "policy/policy.h"
#include "privhelper/session/podgc.h"
#include "privhelper/session/session.h"

#define DEFAULT_GRACE_NS (30LL * 60 * 1000000000LL)
#define DEFAULT_EXPIRE_NS (24LL * 3600 * 1000000000LL)
#define MESSAGE_MAX 4096
#define SUMMARY_ROOM 96 /* kept free for the "N more lines" line */
#define TREE_BATCH 256

static const char *const state_dirs[] = { "embryo",	    "prepare", "prepared", "run",
					  "exited-garbage", "garbage", NULL };

struct gc {
	struct conn *c;
	int pods_fd;
	int64_t now;
	char out[MESSAGE_MAX + 1];
	size_t len;
	unsigned omitted;
};

static void out_line(struct gc *g, char mark, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void out_line(struct gc *g, char mark, const char *fmt, ...)
{
	char line[1200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	size_t n = strlen(line) + 2; /* mark and '\n' */
	if (g->omitted || g->len + n > MESSAGE_MAX - SUMMARY_ROOM) {
		g->omitted++;
		fprintf(stderr, "rkt-privhelper-session: uid %u: gc: %s\n", (unsigned)g->c->peer.uid,
			line);
		return;
	}
	g->len += (size_t)snprintf(g->out + g->len, sizeof g->out - g->len, "%c%s\n", mark, line);
}

static int reply(struct gc *g, struct rkt_err *err)
{
	if (g->omitted)
		g->len += (size_t)snprintf(g->out + g->len, sizeof g->out - g->len,
					   "%c%u more line(s) are in the rkt-privhelper log\n",
					   IPC_LINE_STDERR, g->omitted);
	if (g->len && g->out[g->len - 1] == '\n')
		g->out[--g->len] = '\0';
	return session_reply_errno(g->c, 0, g->out, err);
}

/* The names in dfd/dir that keep accepts (pods/<state>: the valid pod
 * UUIDs, read before anything is moved). */
static char **list_dir(int dfd, const char *dir, bool (*keep)(const char *))
{
	int fd = openat(dfd, dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return NULL;
	}
	char **v = NULL;
	struct dirent *de;
	while ((de = readdir(d)))
		if (keep(de->d_name))
			v = strv_append(v, de->d_name);
	closedir(d);
	return v;
}

static bool is_uuid(const char *s) { return pod_uuid_valid(s); }

/* Not a temp file of the renderer's atomic writes (nor . and ..). */
static bool is_visible(const char *s) { return s[0] != '.'; }

/* The caller's own pods only, unless root. Returns the locked pod fd, or
 * -1 when the pod is someone else's, gone or held by another process. */
static int take_pod(struct gc *g, const char *dir, const char *uuid)
{
	int fd = podgc_open_pod(g->pods_fd, dir, uuid);
	if (fd < 0)
		return -1;
	uid_t owner = 0;
	struct rkt_err e = { 0 };
	bool mine = g->c->peer.uid == 0 ||
		    (podgc_owner(fd, uuid, &owner, &e) == 0 && owner == g->c->peer.uid);
	if (!mine || podgc_lock(fd) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int64_t ctime_ns(int fd)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return INT64_MAX;
	return (int64_t)st.st_ctim.tv_sec * 1000000000LL + st.st_ctim.tv_nsec;
}

static void move(struct gc *g, const char *from, const char *to, const char *uuid,
		 const char *what)
{
	struct rkt_err e = { 0 };
	if (podgc_move(g->pods_fd, from, to, uuid, &e) < 0)
		out_line(g, IPC_LINE_FAILED, "unable to move %s \"%s\" to garbage: %s", what, uuid,
			 e.msg);
}

/* run/ pods nobody holds have exited; prepare/ pods nobody holds failed. */
static void mark(struct gc *g)
{
	_cleanup_strv_ char **run = list_dir(g->pods_fd, "run", is_uuid);
	for (size_t i = 0; run && run[i]; i++) {
		_cleanup_close_ int fd = take_pod(g, "run", run[i]);
		if (fd < 0)
			continue;
		out_line(g, IPC_LINE_STDERR, "moving pod \"%s\" to garbage", run[i]);
		move(g, "run", "exited-garbage", run[i], "pod");
	}
	_cleanup_strv_ char **prep = list_dir(g->pods_fd, "prepare", is_uuid);
	for (size_t i = 0; prep && prep[i]; i++) {
		_cleanup_close_ int fd = take_pod(g, "prepare", prep[i]);
		if (fd < 0)
			continue;
		out_line(g, IPC_LINE_STDERR, "moving failed prepare \"%s\" to garbage", prep[i]);
		move(g, "prepare", "garbage", prep[i], "failed prepare");
	}
}

static void expire_prepared(struct gc *g, int64_t expire_ns)
{
	_cleanup_strv_ char **v = list_dir(g->pods_fd, "prepared", is_uuid);
	for (size_t i = 0; v && v[i]; i++) {
		_cleanup_close_ int fd = take_pod(g, "prepared", v[i]);
		if (fd < 0 || g->now - ctime_ns(fd) < expire_ns)
			continue;
		out_line(g, IPC_LINE_STDERR, "moving expired prepared pod \"%s\" to garbage", v[i]);
		move(g, "prepared", "garbage", v[i], "expired prepared pod");
	}
}

static void collect(struct gc *g, const char *dir, const char *uuid)
{
	struct rkt_err e = { 0 }, warn = { 0 };
	out_line(g, IPC_LINE_STDOUT, "Garbage collecting pod \"%s\"", uuid);
	int r = podgc_delete(g->c->cfg, g->pods_fd, dir, uuid, &warn, &e);
	if (warn.code)
		out_line(g, IPC_LINE_STDERR, "%s", warn.msg);
	if (r < 0)
		out_line(g, IPC_LINE_FAILED, "unable to delete pod \"%s\": %s", uuid, e.msg);
}

/* exited-garbage/ after its grace period (ctime = when it was marked);
 * garbage/ always. */
static void sweep(struct gc *g, int64_t grace_ns)
{
	char grace[32];
	format_duration(grace_ns, grace, sizeof grace);
	/* Ages are taken after marking: a pod marked by this very run has
	 * age >= 0 and goes at once with --grace-period=0. */
	g->now = now_realtime_ns();
	_cleanup_strv_ char **eg = list_dir(g->pods_fd, "exited-garbage", is_uuid);
	for (size_t i = 0; eg && eg[i]; i++) {
		_cleanup_close_ int fd = take_pod(g, "exited-garbage", eg[i]);
		if (fd < 0)
			continue;
		if (g->now - ctime_ns(fd) < grace_ns) {
			out_line(g, IPC_LINE_STDERR,
				 "pod \"%s\" not removed: still within grace period (%s)", eg[i], grace);
			continue;
		}
		collect(g, "exited-garbage", eg[i]);
	}
	_cleanup_strv_ char **ga = list_dir(g->pods_fd, "garbage", is_uuid);
	for (size_t i = 0; ga && ga[i]; i++) {
		_cleanup_close_ int fd = take_pod(g, "garbage", ga[i]);
		if (fd >= 0)
			collect(g, "garbage", ga[i]);
	}
}

static int gc_pods(struct gc *g, const struct ipc_msg *m, uint32_t flags, struct rkt_err *err)
{
	/* Detaching what a pod left mounted needs CAP_SYS_ADMIN; its files
	 * belong to any uid and mode, hence CAP_DAC_OVERRIDE and CAP_FOWNER;
	 * the flavor's gc entrypoint kills what escaped a pod (CAP_KILL); the
	 * CNI plugins undo the networking of a pod whose session died (its
	 * veth, routes and port-forwarding rules: CAP_NET_ADMIN, CAP_NET_RAW,
	 * which they get only if the session keeps them). */
	static const int caps[] = { CAP_SYS_ADMIN, CAP_DAC_OVERRIDE, CAP_FOWNER, CAP_KILL,
				    CAP_NET_ADMIN, CAP_NET_RAW };
	if (session_keep_caps(caps, sizeof caps / sizeof caps[0]) < 0)
		return session_reply_errno(g->c, EPERM, "gc: the helper could not set its capabilities",
					   err);
	uint64_t grace = DEFAULT_GRACE_NS, expire = DEFAULT_EXPIRE_NS;
	(void)ipc_msg_get_u64(m, IPC_TAG_GRACE_NS, &grace);
	(void)ipc_msg_get_u64(m, IPC_TAG_PREPARED_EXPIRE_NS, &expire);
	if (grace > INT64_MAX || expire > INT64_MAX)
		return session_reply_errno(g->c, EINVAL, "gc: duration out of range", err);
	struct rkt_err e = { 0 };
	if (podgc_open_pods(g->c->cfg, &g->pods_fd, &e) < 0)
		return session_reply_errno(g->c, e.code, e.msg, err);
	mark(g);
	if (!(flags & IPC_GC_MARK_ONLY)) {
		expire_prepared(g, (int64_t)expire);
		sweep(g, (int64_t)grace);
	}
	return reply(g, err);
}

/* ---- trees ------------------------------------------------------------------ */

/* A caller a run rule of the policy names by group. */
static bool granted(const struct conn *c)
{
	const struct policy *p = c->cfg->policy;
	for (size_t r = 0; p && r < p->n_rules; r++)
		for (size_t i = 0; i < p->rules[r].n_gids; i++)
			for (size_t k = 0; k < c->peer.n_gids; k++)
				if (p->rules[r].gids[i] == c->peer.gids[k])
					return true;
	return false;
}

/* The first word of a small regular file (a treeStoreID, a by-image entry). */
static char *read_id(int dfd, const char *path)
{
	_cleanup_close_ int fd = openat(dfd, path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return NULL;
	char *buf = NULL;
	size_t len;
	if (read_fd_bounded(fd, 512, &buf, &len) < 0)
		return NULL;
	buf[strcspn(buf, " \t\r\n")] = '\0';
	return buf;
}

/* Every treeStoreID a pod in any state records (appsinfo/<app>/treeStoreID
 * and stage1TreeStoreID). */
static char **referenced_trees(int pods_fd)
{
	char **refs = NULL;
	for (size_t s = 0; state_dirs[s]; s++) {
		_cleanup_strv_ char **pods = list_dir(pods_fd, state_dirs[s], is_uuid);
		for (size_t i = 0; pods && pods[i]; i++) {
			_cleanup_close_ int pod = podgc_open_pod(pods_fd, state_dirs[s], pods[i]);
			if (pod < 0)
				continue;
			_cleanup_free_ char *s1 = read_id(pod, "stage1TreeStoreID");
			if (s1)
				refs = strv_append(refs, s1);
			int afd = openat(pod, "appsinfo", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (afd < 0)
				continue;
			DIR *d = fdopendir(afd);
			if (!d) {
				close(afd);
				continue;
			}
			struct dirent *de;
			while ((de = readdir(d))) {
				if (de->d_name[0] == '.')
					continue;
				_cleanup_free_ char *p = xasprintf("%s/treeStoreID", de->d_name);
				_cleanup_free_ char *id = read_id(dirfd(d), p);
				if (id)
					refs = strv_append(refs, id);
			}
			closedir(d);
		}
	}
	return refs;
}

static bool is_dir_at(int dfd, const char *name)
{
	struct stat st;
	return fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
}

/* Locks .lock-<id> as the renderer does, so a render in progress (or a
 * prepare holding the tree until its pod records it) keeps its tree. */
static int lock_tree(int tree_fd, const char *id)
{
	_cleanup_free_ char *name = xasprintf(".lock-%s", id);
	int fd = lockfile_lock(tree_fd, name, LOCK_EX | LOCK_NB, 0600);
	return fd < 0 ? -1 : fd;
}

/* The lock file of a tree that is gone, removed while lock_tree holds it
 * (common/lockfile.h): tree/ keeps no file for every tree it ever had. */
static void drop_tree_lock(int tree_fd, const char *id)
{
	_cleanup_free_ char *name = xasprintf(".lock-%s", id);
	(void)lockfile_remove(tree_fd, name);
}

static void free_locks(int *locks, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (locks[i] >= 0)
			close(locks[i]);
}

/* One batch: lock the candidates first, then read what pods reference, so
 * a tree recorded by a pod before its lock was taken is never removed. */
static void trees_batch(struct gc *g, int tree_fd, char **ids, size_t n)
{
	int locks[TREE_BATCH];
	for (size_t i = 0; i < n; i++)
		locks[i] = lock_tree(tree_fd, ids[i]);
	_cleanup_strv_ char **refs = referenced_trees(g->pods_fd);
	for (size_t i = 0; i < n; i++) {
		if (locks[i] < 0 || strv_contains(refs, ids[i]))
			continue;
		struct rkt_err e = { 0 };
		_cleanup_free_ char *marker = xasprintf("%s/rendered", ids[i]);
		/* The marker goes first: a half-removed tree never looks rendered. */
		if ((unlinkat(tree_fd, marker, 0) < 0 && errno != ENOENT) ||
		    podgc_remove_tree(tree_fd, ids[i], &e) < 0) {
			if (!e.code)
				rkt_error_errno(&e, errno, "cannot remove %s", marker);
			out_line(g, IPC_LINE_FAILED, "unable to remove treestore \"%s\": %s", ids[i],
				 e.msg);
			continue;
		}
		out_line(g, IPC_LINE_STDERR, "removed treestore \"%s\"", ids[i]);
		drop_tree_lock(tree_fd, ids[i]);
	}
	free_locks(locks, n);
}

/* The tree ID in a renderer's temp dir name, .tmp-<id>-<random>; NULL for
 * any other name. */
static char *unfinished_render_id(const char *name)
{
	if (strncmp(name, ".tmp-", 5) != 0)
		return NULL;
	const char *dash = strrchr(name + 5, '-');
	if (!dash || dash == name + 5 || !dash[1])
		return NULL;
	char *id = xstrndup(name + 5, (size_t)(dash - (name + 5)));
	if (!session_tree_id_valid(id)) {
		free(id);
		return NULL;
	}
	return id;
}

/* What a killed render left: its temp dir. A render in progress holds the
 * tree's lock, so a temp dir whose lock is free is nobody's. Safe: beneath
 * the helper's own tree dir, removed without following symlinks. */
static void gc_unfinished_renders(struct gc *g, int tree_fd, char **tmps)
{
	for (size_t i = 0; tmps && tmps[i]; i++) {
		_cleanup_free_ char *id = unfinished_render_id(tmps[i]);
		int lock = id ? lock_tree(tree_fd, id) : -1;
		if (lock < 0)
			continue;
		int r = rm_rf_at(tree_fd, tmps[i]);
		if (r < 0)
			out_line(g, IPC_LINE_FAILED, "unable to remove the unfinished render \"%s\": %s",
				 tmps[i], strerror(-r));
		else
			out_line(g, IPC_LINE_STDERR, "removed the unfinished render \"%s\"", tmps[i]);
		if (!is_dir_at(tree_fd, id))
			drop_tree_lock(tree_fd, id);
		close(lock);
	}
}

/* The tree an entry of tree/by-image names (the renderer's fast path:
 * "<tree id> <0|1>"); NULL when it names none. */
static char *by_image_tree(int by_fd, const char *name)
{
	_cleanup_free_ char *line = read_id(by_fd, name);
	return line && session_tree_id_valid(line) ? TAKE_PTR(line) : NULL;
}

/* Entries of tree/by-image whose tree is gone. Each is removed under its
 * tree's lock, once the tree is seen missing with the lock held: a render
 * of that tree holds the lock until the tree is whole, and writes the
 * entry only after. A bad entry only ever cost the fast path. */
static void gc_by_image(struct gc *g, int tree_fd)
{
	_cleanup_close_ int by_fd = openat(tree_fd, "by-image", O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
								   O_CLOEXEC);
	_cleanup_strv_ char **names = by_fd < 0 ? NULL : list_dir(by_fd, ".", is_visible);
	for (size_t i = 0; names && names[i]; i++) {
		_cleanup_free_ char *id = by_image_tree(by_fd, names[i]);
		_cleanup_free_ char *marker = id ? xasprintf("%s/rendered", id) : NULL;
		if (marker && faccessat(tree_fd, marker, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
			continue;
		int lock = id ? lock_tree(tree_fd, id) : -1;
		if (id && lock < 0)
			continue; /* a render of it is under way */
		if (!marker || faccessat(tree_fd, marker, F_OK, AT_SYMLINK_NOFOLLOW) < 0) {
			if (unlinkat(by_fd, names[i], 0) < 0 && errno != ENOENT)
				out_line(g, IPC_LINE_FAILED, "unable to remove tree/by-image/%s: %s",
					 names[i], strerror(errno));
			if (id && !is_dir_at(tree_fd, id))
				drop_tree_lock(tree_fd, id);
		}
		if (lock >= 0)
			close(lock);
	}
}

/* Lock files whose tree is gone and whose render is over: left by renders
 * that failed, or by trees removed before lock files were collected. */
static void gc_orphan_locks(int tree_fd, char **ids)
{
	for (size_t i = 0; ids && ids[i]; i++) {
		if (is_dir_at(tree_fd, ids[i]))
			continue;
		int lock = lock_tree(tree_fd, ids[i]);
		if (lock < 0)
			continue;
		if (!is_dir_at(tree_fd, ids[i]))
			drop_tree_lock(tree_fd, ids[i]);
		close(lock);
	}
}

static int gc_trees(struct gc *g, struct rkt_err *err)
{
	struct conn *c = g->c;
	if (c->peer.uid != 0 && !granted(c)) {
		const struct policy *p = c->cfg->policy;
		char msg[1024];
		snprintf(msg, sizeof msg,
			 "image gc: denied by policy: only root and groups granted by %s collect rendered trees, not uid %u",
			 p && p->path ? p->path : c->cfg->policy_path, (unsigned)c->peer.uid);
		return session_reply_errno(c, EPERM, msg, err);
	}
	/* Rendered files keep the image's owners and modes (CAP_DAC_OVERRIDE,
	 * CAP_FOWNER to remove them); trees hold no mounts. */
	static const int caps[] = { CAP_DAC_OVERRIDE, CAP_FOWNER };
	if (session_keep_caps(caps, sizeof caps / sizeof caps[0]) < 0)
		return session_reply_errno(c, EPERM, "image gc: the helper could not set its capabilities",
					   err);
	struct rkt_err e = { 0 };
	if (podgc_open_pods(c->cfg, &g->pods_fd, &e) < 0)
		return session_reply_errno(c, e.code, e.msg, err);
	_cleanup_free_ char *tree = xasprintf("%s/tree", c->cfg->dir);
	_cleanup_close_ int tree_fd = open(tree, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (tree_fd < 0) {
		if (errno == ENOENT)
			return reply(g, err);
		rkt_error_errno(&e, errno, "cannot open %s", tree);
		return session_reply_errno(c, e.code, e.msg, err);
	}
	/* One listing: rendered trees, the temp dirs renders work in, and the
	 * trees' lock files. Anything else (by-image/ among them) is not a tree. */
	_cleanup_strv_ char **names = NULL, **tmps = NULL, **locked = NULL;
	{
		DIR *d = fdopendir(dup(tree_fd));
		struct dirent *de;
		while (d && (de = readdir(d))) {
			const char *n = de->d_name;
			if (str_has_prefix(n, ".lock-") && session_tree_id_valid(n + 6))
				locked = strv_append(locked, n + 6);
			else if (session_tree_id_valid(n) && is_dir_at(tree_fd, n))
				names = strv_append(names, n);
			else if (str_has_prefix(n, ".tmp-") && is_dir_at(tree_fd, n))
				tmps = strv_append(tmps, n);
		}
		if (d)
			closedir(d);
	}
	size_t n = strv_len(names);
	for (size_t i = 0; i < n; i += TREE_BATCH)
		trees_batch(g, tree_fd, names + i, n - i < TREE_BATCH ? n - i : TREE_BATCH);
	gc_unfinished_renders(g, tree_fd, tmps);
	gc_by_image(g, tree_fd);
	gc_orphan_locks(tree_fd, locked);
	return reply(g, err);
}

int op_gc(struct conn *c, struct ipc_msg *m, struct rkt_err *err)
{
	static struct gc g; /* 4 KiB of answer: not on the stack */
	g = (struct gc){ .c = c, .pods_fd = -1, .now = now_realtime_ns() };
	uint32_t flags = 0;
	(void)ipc_msg_get_u32(m, IPC_TAG_GC_FLAGS, &flags);
	int r = (flags & IPC_GC_TREES) ? gc_trees(&g, err) : gc_pods(&g, m, flags, err);
	if (g.pods_fd >= 0)
		close(g.pods_fd);
	return r;
}
