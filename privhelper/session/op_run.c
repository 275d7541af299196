/* RUN_PREPARED_REQ and RUN_REQ (issue 5 "Flow"): starts a prepared pod
 * with the flavor's stage1 and streams its life to the client. The pod is
 * found in the helper's own pods dir, its owner and the policy are checked
 * against the caller's kernel identity, its app trees come from the
 * helper's own tree store, and the stage1 is the session's own system
 * config's flavor. The apps' stdio are the client's fds, so their output
 * never passes through the helper. The app overlays live in a private mount
 * namespace of this session: they vanish with it whatever happens. */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/appc.h"
#include "common/cleanup.h"
#include "common/manifest.h"
#include "common/podstate.h"
#include "common/util.h"
#include "ipc/ipc.h"
#include "policy/policy.h"
#include "privhelper/session/dnsconf.h"
#include "privhelper/session/podgc.h"
#include "privhelper/session/net.h"
#include "privhelper/session/session.h"
#include "privhelper/session/userns.h"

#define STOP_GRACE_MS 10000
#define SMALL_FILE_MAX 4096
#define POD_MANIFEST_MAX (1u << 20)

/* What the stage1 needs to set a pod up (namespaces, mounts, pivot_root,
 * cgroups, device nodes, users, rlimits) and the default capabilities it
 * hands to apps: it is exec'd as root, so this is its bounding set. */
#define RUN_CAPS                                                                                   \
	SESSION_PREPARE_CAPS, CAP_SYS_ADMIN, CAP_SYS_CHROOT, CAP_SETUID, CAP_SETGID, CAP_SETFCAP, \
		CAP_KILL, CAP_NET_ADMIN, CAP_NET_RAW, CAP_NET_BIND_SERVICE, CAP_AUDIT_WRITE
/* Kept when the helper has it (some containers withhold it): negative
 * oom_score_adj and raised rlimits for apps that ask. */
#define RUN_CAPS_OPTIONAL CAP_SYS_RESOURCE

struct run_req {
	const char *arg; /* uuid (run-prepared) */
	bool fresh;	 /* prepared by this RUN_REQ: garbage after a crash, no syncs */
	uint32_t flags;	 /* enum ipc_run_flag */
	uint32_t insecure;
	const char *net;  /* stage1's --net: "none", "host" or the CNI names joined */
	char **nets;      /* the request's --net list; NULL = none */
	bool cni;         /* nets other than none/host: the helper sets up a netns */
	const char *hostname;
	struct dnsconf dns; /* --dns*, --hosts-entry, checked */
	int stdio[3];
};

struct mounted {
	char **targets; /* absolute, to detach when the pod exits */
};

static void mounted_done(struct mounted *mt)
{
	/* Deepest last mounted first. */
	size_t n = strv_len(mt->targets);
	while (n-- > 0)
		(void)umount2(mt->targets[n], MNT_DETACH);
	strv_free(mt->targets);
	mt->targets = NULL;
}

static int read_small(int dfd, const char *name, char **ret, struct rkt_err *err)
{
	_cleanup_close_ int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return rkt_error_errno(err, errno, "reading %s", name);
	size_t len;
	int r = read_fd_bounded(fd, SMALL_FILE_MAX, ret, &len);
	if (r < 0)
		return rkt_error_errno(err, -r, "reading %s", name);
	while (len > 0 && ((*ret)[len - 1] == '\n' || (*ret)[len - 1] == ' '))
		(*ret)[--len] = '\0';
	return 0;
}

/* A tree ID the helper wrote: one path component, nothing to escape with. */
static bool tree_id_valid(const char *s)
{
	if (!*s || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') || *p == '-'))
			return false;
	return true;
}

/* overlayfs option strings cannot quote: refuse a directory that would
 * break them rather than mis-parse. */
static bool path_mountable(const char *s)
{
	return !strpbrk(s, ",:\\\n");
}

static int send_event(struct conn *c, uint32_t ev, const char *uuid, pid_t pid, struct rkt_err *err)
{
	_cleanup_ipc_msg_ struct ipc_msg m;
	ipc_msg_init(&m, IPC_RUN_EVENT);
	ipc_msg_put_u32(&m, IPC_TAG_EVENT, ev);
	if (uuid)
		ipc_msg_put_str(&m, IPC_TAG_UUID, uuid);
	if (pid > 0)
		ipc_msg_put_i32(&m, IPC_TAG_PID, (int32_t)pid);
	return session_reply(c, &m, err);
}

/* The pod's app overlays go into a mount namespace of this session alone,
 * made private so nothing propagates to the host and everything is gone
 * when the session and its stage1 exit. Safe: it only narrows where our
 * own later mounts are visible. */
static int private_mount_ns(struct rkt_err *err)
{
	if (unshare(CLONE_NEWNS) < 0)
		return rkt_error_errno(err, errno, "cannot create the session's mount namespace");
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return rkt_error_errno(err, errno, "cannot make the session's mounts private");
	return 0;
}

/* overlayfs of the app's rendered tree (read-only lower layer, root's) with
 * the pod's own upper/work dirs onto the app's rootfs in the pod. Safe:
 * every path is beneath the helper's --dir, built from the pod's UUID, the
 * app name and tree ID the helper itself wrote and validated, in dirs only
 * root can write; the mount lives in the session's private namespace. */
static int mount_app_overlay(const char *lower, const char *upper, const char *work,
			     const char *target, struct rkt_err *err)
{
	/* volatile: the last unmount would otherwise syncfs the whole upper
	 * filesystem (the pods dir's, often /var), for an upper dir that is
	 * the pod's scratch space and garbage after a crash anyway. Kernels
	 * before 5.10 refuse the option: mount without it there. */
	_cleanup_free_ char *opts =
		xasprintf("lowerdir=%s,upperdir=%s,workdir=%s,volatile", lower, upper, work);
	int r = mount("overlay", target, "overlay", MS_NODEV, opts);
	if (r < 0 && errno == EINVAL) {
		opts[strlen(opts) - strlen(",volatile")] = '\0';
		r = mount("overlay", target, "overlay", MS_NODEV, opts);
	}
	if (r < 0)
		return rkt_error_errno(err, errno, "mounting the overlay of %s on %s", lower, target);
	return 0;
}

/* --no-overlay: a copy of the rendered tree, owners and modes kept. Safe:
 * both paths are the helper's own (as above); cp runs with our caps. */
static int copy_app_tree(const char *lower, const char *target, struct rkt_err *err)
{
	_cleanup_free_ char *src = xasprintf("%s/.", lower);
	pid_t pid = fork();
	if (pid < 0)
		return rkt_error_errno(err, errno, "fork");
	if (pid == 0) {
		execl("/bin/cp", "cp", "-a", "--", src, target, (char *)NULL);
		_exit(127);
	}
	int ws;
	while (waitpid(pid, &ws, 0) < 0)
		if (errno != EINTR)
			return rkt_error_errno(err, errno, "waiting for cp");
	if (!WIFEXITED(ws) || WEXITSTATUS(ws) != 0)
		return rkt_error(err, EIO, "copying %s to %s failed", lower, target);
	return 0;
}

static int mkdirs(int podfd, const char *rel, struct rkt_err *err)
{
	if (mkdir_p_at(podfd, rel, 0755) < 0)
		return rkt_error_errno(err, errno, "creating %s in the pod", rel);
	return 0;
}

/* --private-users: the overlay's lower layer is an idmapped clone of the
 * tree (host 0..65535 appear as the pod's range) at overlay/<tid>/idmap/<app>,
 * and the upper dir, the overlay's root, belongs to the range's root. The
 * clone is detached once the overlay holds its own reference. */
static int idmap_lower(int podfd, const char *poddir, const char *tid, const char *app,
		       const char *urel, const struct session_userns *pu, mode_t root_mode,
		       char **ret_lower, struct rkt_err *err)
{
	_cleanup_free_ char *lrel = xasprintf("overlay/%s/idmap/%s", tid, app);
	int r = mkdirs(podfd, lrel, err);
	if (r < 0)
		return r;
	/* The upper dir is the overlay's root: the range's root owns it, with
	 * the tree's own mode (not the pod dir's inherited setgid bit). */
	if (fchownat(podfd, urel, pu->shift, pu->shift, AT_SYMLINK_NOFOLLOW) < 0 ||
	    fchmodat(podfd, urel, root_mode, 0) < 0)
		return rkt_error_errno(err, errno, "chown %s to %u", urel, (unsigned)pu->shift);
	*ret_lower = xasprintf("%s/%s", poddir, lrel);
	return 0;
}

/* The app's rootfs in the pod: pods/run/<uuid>/stage1/rootfs/opt/stage2/<app>/rootfs. */
static int setup_app(struct conn *c, int dirfd, int podfd, const char *poddir, const char *app,
		     bool overlay, const struct session_userns *pu, int userns_fd, struct mounted *mt,
		     struct rkt_err *err)
{
	_cleanup_free_ char *tidpath = xasprintf("appsinfo/%s/treeStoreID", app);
	_cleanup_free_ char *tid = NULL;
	int r = read_small(podfd, tidpath, &tid, err);
	if (r < 0)
		return r;
	if (!tree_id_valid(tid))
		return rkt_error(err, EINVAL, "app \"%s\": invalid tree ID \"%s\" in %s", app, tid, tidpath);
	/* The renderer writes `rendered` last: a tree without it is partial. */
	_cleanup_free_ char *marker = xasprintf("tree/%s/rendered", tid);
	struct stat st;
	if (fstatat(dirfd, marker, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode) || st.st_uid != 0)
		return rkt_error(err, ENOENT, "app \"%s\": tree %s is not rendered in %s/tree", app, tid,
				 c->cfg->dir);
	_cleanup_free_ char *lower = xasprintf("%s/tree/%s/rootfs", c->cfg->dir, tid);
	_cleanup_free_ char *trel = xasprintf("stage1/rootfs/opt/stage2/%s/rootfs", app);
	_cleanup_free_ char *target = xasprintf("%s/%s", poddir, trel);
	if ((r = mkdirs(podfd, trel, err)) < 0)
		return r;
	/* The app's / has the tree's own mode, not the setgid bit every dir
	 * made in the pod dir inherits. */
	struct stat lst;
	if (stat(lower, &lst) < 0)
		return rkt_error_errno(err, errno, "stat %s", lower);
	if (!overlay) {
		r = copy_app_tree(lower, target, err);
		if (r >= 0 && pu->count)
			r = session_userns_shift_tree(target, pu, err);
		/* cp keeps the pod dir's setgid bit on the existing target. */
		if (r >= 0 && chmod(target, lst.st_mode & 07777) < 0)
			r = rkt_error_errno(err, errno, "chmod %s", target);
		return r;
	}
	_cleanup_free_ char *urel = xasprintf("overlay/%s/upper/%s", tid, app);
	_cleanup_free_ char *wrel = xasprintf("overlay/%s/work/%s", tid, app);
	if ((r = mkdirs(podfd, urel, err)) < 0 || (r = mkdirs(podfd, wrel, err)) < 0)
		return r;
	/* A pod whose start failed after its overlay was mounted (volatile,
	 * below) went back to prepared/ with work/incompat/volatile left in
	 * its workdir, which the kernel refuses to mount again. That mount was
	 * cleanly undone, so the marker is stale: drop the kernel's scratch
	 * "work" dir (it remakes it). Safe: beneath the pod dir, no symlink
	 * followed, a dir only the kernel writes. */
	_cleanup_free_ char *scratch = xasprintf("%s/work", wrel);
	(void)rm_rf_at(podfd, scratch);
	_cleanup_free_ char *upper = xasprintf("%s/%s", poddir, urel);
	_cleanup_free_ char *work = xasprintf("%s/%s", poddir, wrel);
	if (!pu->count && fchmodat(podfd, urel, lst.st_mode & 07777, 0) < 0)
		return rkt_error_errno(err, errno, "chmod %s", urel);
	_cleanup_free_ char *idmapped = NULL;
	if (pu->count) {
		if ((r = idmap_lower(podfd, poddir, tid, app, urel, pu, lst.st_mode & 07777, &idmapped, err)) < 0 ||
		    (r = session_userns_idmap_mount(lower, idmapped, userns_fd, err)) < 0)
			return r;
	}
	r = mount_app_overlay(idmapped ? idmapped : lower, upper, work, target, err);
	if (idmapped)
		(void)umount2(idmapped, MNT_DETACH);
	if (r < 0)
		return r;
	mt->targets = strv_append(mt->targets, target);
	return 0;
}

static int setup_apps(struct conn *c, int podfd, const char *poddir, bool overlay,
		      const struct session_userns *pu, const char *net, struct mounted *mt,
		      struct rkt_err *err)
{
	_cleanup_free_ char *buf = NULL;
	_cleanup_close_ int fd = openat(podfd, "pod", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	size_t len;
	int r = fd < 0 ? -errno : read_fd_bounded(fd, POD_MANIFEST_MAX, &buf, &len);
	if (r < 0)
		return rkt_error_errno(err, -r, "reading the pod manifest");
	struct pod_manifest *pm = NULL;
	if ((r = pod_manifest_parse(buf, len, &pm, err)) < 0)
		return rkt_error_wrap(err, "pod manifest");
	_cleanup_close_ int dirfd = open(c->cfg->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (net && pm->n_ports > 0)
		/* Ports forward only into a CNI netns (rkt's message); a pod
		 * prepared with --port then run without one is refused. */
		r = rkt_error(err, EINVAL, "--port flag does not work with '%s' networking", net);
	else if (dirfd < 0)
		r = rkt_error_errno(err, errno, "cannot open %s", c->cfg->dir);
	else if (overlay && (!path_mountable(poddir) || !path_mountable(c->cfg->dir)))
		r = rkt_error(err, EINVAL, "%s: a ',', ':' or '\\' in the path cannot be an overlay option; use --no-overlay",
			      c->cfg->dir);
	_cleanup_close_ int userns_fd = -1;
	if (r >= 0 && pu->count && overlay)
		r = session_userns_fd(pu, &userns_fd, err);
	for (size_t i = 0; r >= 0 && i < pm->n_apps; i++)
		r = setup_app(c, dirfd, podfd, poddir, pm->apps[i].name, overlay, pu, userns_fd, mt, err);
	pod_manifest_free(pm);
	return r;
}

/* <system-config>/stage1/<flavor>/init: the session's own config only. */
static int flavor_init(struct conn *c, const char *flavor, char **ret, struct rkt_err *err)
{
	if (!appc_name_valid(flavor))
		return rkt_error(err, EINVAL, "invalid stage1 flavor name \"%s\"", flavor);
	_cleanup_free_ char *path = xasprintf("%s/stage1/%s/init", c->cfg->system_config, flavor);
	struct stat st;
	if (stat(path, &st) < 0 || !S_ISREG(st.st_mode) || !(st.st_mode & 0100))
		return rkt_error(err, ENOENT, "stage1 flavor \"%s\" is not installed (no executable %s)",
				 flavor, path);
	if (st.st_uid != 0 || (st.st_mode & 022))
		return rkt_error(err, EPERM, "stage1 %s must be owned by root and not group/other-writable",
				 path);
	*ret = TAKE_PTR(path);
	return 0;
}

static int policy_recheck(struct conn *c, const char *flavor, const struct run_req *q, struct rkt_err *err)
{
	char *none[] = { "none", NULL };
	char *const *nets = q->nets ? q->nets : none;
	/* The options that turn the pod's isolation off are the run's to ask
	 * and the policy's to grant (insecureOptions), each time it runs. */
	char *insecure[4] = { NULL };
	size_t k = 0;
	if (q->insecure & IPC_INSECURE_CAPABILITIES)
		insecure[k++] = "capabilities";
	if (q->insecure & IPC_INSECURE_PATHS)
		insecure[k++] = "paths";
	if (q->insecure & IPC_INSECURE_SECCOMP)
		insecure[k++] = "seccomp";
	struct pod_request req = {
		.uid = c->peer.uid,
		.gids = c->peer.gids,
		.n_gids = c->peer.n_gids,
		.stage1 = flavor,
		.signed_images = true, /* judged when it was prepared */
		.insecure_options = k ? insecure : NULL,
		.nets = (char **)nets,
	};
	struct pod_limits lim;
	return policy_check_run(c->cfg->policy, &req, &lim, err);
}

struct started {
	pid_t pid;
	int pidfd;
};

/* posix_spawn is glibc's clone(CLONE_VM|CLONE_VFORK): no copy of the
 * session's page tables and no copy-on-write fault before the exec, which
 * is most of a fork's cost on a host with PTI and a paravirtual MMU, and
 * is paid for every pod. The child: cwd the pod dir, the client's stdio,
 * the pod lock as fd 3 (its flock stays: same open file), no other fd (in
 * particular never the client connection), no blocked signal. */
static int spawn_stage1(const char *init, int podfd, const int stdio[3], char **argv, char **envp,
			pid_t *ret)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none;
	sigemptyset(&none);
	int r = posix_spawn_file_actions_init(&fa);
	if (r != 0)
		return r;
	if ((r = posix_spawnattr_init(&at)) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		return r;
	}
	r = posix_spawn_file_actions_addfchdir_np(&fa, podfd);
	for (int i = 0; i < 3 && r == 0; i++)
		r = posix_spawn_file_actions_adddup2(&fa, stdio[i], i);
	if (r == 0)
		r = posix_spawn_file_actions_adddup2(&fa, podfd, 3);
	if (r == 0)
		r = posix_spawn_file_actions_addclosefrom_np(&fa, 4);
	if (r == 0)
		r = posix_spawnattr_setsigmask(&at, &none);
	if (r == 0)
		r = posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK);
	if (r == 0)
		r = posix_spawn(ret, init, &fa, &at, argv, envp);
	posix_spawnattr_destroy(&at);
	posix_spawn_file_actions_destroy(&fa);
	return r;
}

/* Spawns the flavor's init as the stage1 ABI says: cwd the pod dir, the
 * client's stdio, the pod lock inherited as RKT_LOCK_FD, a clean env. */
static int start_stage1(const char *init, int podfd, const char *uuid, const struct run_req *q,
			const char *netns, const struct session_userns *pu, struct started *ret,
			struct rkt_err *err)
{
	char *argv[16];
	int n = 0;
	_cleanup_free_ char *dns = dnsconf_mode_arg(&q->dns);
	_cleanup_free_ char *net = xasprintf("--net=%s", q->net);
	_cleanup_free_ char *netns_arg = netns && *netns ? xasprintf("--netns=%s", netns) : NULL;
	_cleanup_free_ char *host = q->hostname ? xasprintf("--hostname=%s", q->hostname) : NULL;
	_cleanup_free_ char *users = pu->count ? xasprintf("--private-users=%u:%u", (unsigned)pu->shift,
							   (unsigned)pu->count)
					       : NULL;
	argv[n++] = (char *)init;
	if (users)
		argv[n++] = users;
	argv[n++] = net;
	if (netns_arg)
		argv[n++] = netns_arg;
	if (q->flags & IPC_RUNF_INTERACTIVE)
		argv[n++] = "--interactive";
	if (host)
		argv[n++] = host;
	argv[n++] = dns;
	if (q->insecure & IPC_INSECURE_CAPABILITIES)
		argv[n++] = "--disable-capabilities-restriction";
	if (q->insecure & IPC_INSECURE_PATHS)
		argv[n++] = "--disable-paths";
	if (q->insecure & IPC_INSECURE_SECCOMP)
		argv[n++] = "--disable-seccomp";
	argv[n++] = (char *)uuid;
	argv[n] = NULL;
	/* The lock goes to the stage1 as fd 3 (stdio, then the lock). */
	char *envp[5] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "RKT_LOCK_FD=3", NULL, NULL, NULL };
	/* Sanitizer settings are the admin's (the helper's own env), never the client's. */
	int e = 2;
	const char *v;
	_cleanup_free_ char *asan = (v = getenv("ASAN_OPTIONS")) ? xasprintf("ASAN_OPTIONS=%s", v) : NULL;
	_cleanup_free_ char *ubsan = (v = getenv("UBSAN_OPTIONS")) ? xasprintf("UBSAN_OPTIONS=%s", v) : NULL;
	if (asan)
		envp[e++] = asan;
	if (ubsan)
		envp[e++] = ubsan;
	/* dup2 onto 0-3 below must not clobber the lock or the client's fds;
	 * fd 3 is the connection, so none of them is 3 either. */
	if (podfd <= 3 || q->stdio[0] <= 3 || q->stdio[1] <= 3 || q->stdio[2] <= 3)
		return rkt_error(err, EBADF, "the session runs without fds 0-3 open");
	fflush(NULL);
	pid_t pid = -1;
	int r = spawn_stage1(init, podfd, q->stdio, argv, envp, &pid);
	if (r != 0)
		return rkt_error_errno(err, r, "cannot execute %s", init);
	ret->pid = pid;
	ret->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (ret->pidfd < 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return rkt_error_errno(err, errno, "pidfd_open of the stage1");
	}
	return 0;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads one client message while the pod runs: SIGNAL is forwarded to the
 * stage1 (only the signals that stop a pod); false when the client is gone
 * or broke the protocol (the pod is then stopped like Ctrl-C on rkt). */
static bool client_message(struct conn *c, pid_t pid)
{
	_cleanup_ipc_msg_ struct ipc_msg m = { 0 };
	struct rkt_err e = { 0 };
	enum ipc_state next;
	int r = ipc_recv(c->fd, c->buf, &m, &e);
	if (r <= 0 || ipc_check_sender(m.type, IPC_SIDE_CLIENT, &e) < 0 ||
	    ipc_state_check(c->state, m.type, &next, &e) < 0 || m.type != IPC_SIGNAL)
		return false;
	int32_t sig = 0;
	ipc_msg_get_i32(&m, IPC_TAG_SIGNO, &sig);
	if (sig == SIGTERM || sig == SIGINT || sig == SIGHUP)
		kill(pid, sig);
	return true;
}

/* Waits for the stage1; returns its exit status (rkt's: the first failing
 * app's, 128+N for a signal). */
static int wait_stage1(struct conn *c, const struct started *s)
{
	bool client = true;
	int64_t kill_at = -1;
	for (;;) {
		struct pollfd p[2] = { { .fd = s->pidfd, .events = POLLIN },
				       { .fd = client ? c->fd : -1, .events = POLLIN } };
		int timeout = kill_at < 0 ? -1 : (int)(kill_at > now_ms() ? kill_at - now_ms() : 0);
		int r = poll(p, 2, timeout);
		if (r < 0 && errno != EINTR)
			break;
		if (p[0].revents)
			break;
		if (client && (p[1].revents & (POLLIN | POLLHUP | POLLERR)) && !client_message(c, s->pid)) {
			client = false;
			kill(s->pid, SIGTERM);
			kill_at = now_ms() + STOP_GRACE_MS;
		}
		if (kill_at >= 0 && now_ms() >= kill_at) {
			kill(s->pid, SIGKILL);
			kill_at = -1;
		}
	}
	int ws = 0;
	while (waitpid(s->pid, &ws, 0) < 0)
		if (errno != EINTR)
			return 254;
	if (WIFEXITED(ws))
		return WEXITSTATUS(ws);
	return WIFSIGNALED(ws) ? 128 + WTERMSIG(ws) : 254;
}

struct pod_hold {
	int pods_fd, podfd;
	char uuid[POD_UUID_LEN + 1];
	char *flavor;
	char *poddir;
};

/* Finds the pod, checks owner, state and policy, locks it and moves it
 * from prepared/ to run/ with the lock kept. */
static int take_pod(struct conn *c, const struct run_req *q, struct pod_hold *h, char **ret_init,
		    struct rkt_err *e)
{
	int r = podgc_open_pods(c->cfg, &h->pods_fd, e);
	if (r < 0)
		return r;
	enum pod_state st;
	if ((r = pod_lookup(h->pods_fd, q->arg, h->uuid, &st, e)) < 0)
		return r;
	h->podfd = podgc_open_pod(h->pods_fd, pod_state_dir(st), h->uuid);
	if (h->podfd < 0)
		return rkt_error_errno(e, -h->podfd, "cannot open pod %s", h->uuid);
	uid_t owner = 0;
	struct rkt_err oe = { 0 };
	/* An unreadable owner makes the pod root's. */
	if (podgc_owner(h->podfd, h->uuid, &owner, &oe) < 0)
		owner = 0;
	if ((r = policy_check_owner(owner, c->peer.uid, "run-prepared", h->uuid, e)) < 0)
		return r;
	if (st != POD_PREPARED)
		return rkt_error(e, EINVAL, "pod \"%s\" is not prepared", h->uuid);
	if ((r = read_small(h->podfd, "stage1-flavor", &h->flavor, e)) < 0)
		return r;
	if ((r = policy_recheck(c, h->flavor, q, e)) < 0 || (r = flavor_init(c, h->flavor, ret_init, e)) < 0)
		return r;
	if ((r = podgc_lock(h->podfd)) == -EWOULDBLOCK)
		return rkt_error(e, EBUSY, "pod \"%s\" is currently running", h->uuid);
	if (r < 0)
		return rkt_error_errno(e, -r, "cannot lock pod %s", h->uuid);
	/* Locked; still the pod we checked (not moved or replaced meanwhile)? */
	char rel[64];
	struct stat a, b;
	snprintf(rel, sizeof rel, "prepared/%s", h->uuid);
	if (fstat(h->podfd, &a) < 0 || fstatat(h->pods_fd, rel, &b, AT_SYMLINK_NOFOLLOW) < 0 ||
	    a.st_dev != b.st_dev || a.st_ino != b.st_ino)
		return rkt_error(e, EINVAL, "pod \"%s\" is not prepared", h->uuid);
	r = q->fresh ? podgc_move_nosync(h->pods_fd, "prepared", "run", h->uuid, e)
		     : podgc_move(h->pods_fd, "prepared", "run", h->uuid, e);
	if (r < 0)
		return r;
	h->poddir = xasprintf("%s/pods/run/%s", c->cfg->dir, h->uuid);
	return 0;
}

static int answer_result(struct conn *c, const char *uuid, int status, struct rkt_err *err)
{
	_cleanup_ipc_msg_ struct ipc_msg m;
	ipc_msg_init(&m, IPC_RUN_RESULT);
	ipc_msg_put_i32(&m, IPC_TAG_EXIT_STATUS, status & 0xff);
	ipc_msg_put_str(&m, IPC_TAG_UUID, uuid);
	return session_reply(c, &m, err);
}

/* The run-prepared path; the caller has set the capabilities. */
/* The netns and CNI state of a pod live in the host's mount namespace (the
 * netns is bind-mounted under /run/netns, where gc and other sessions find
 * it), so they are set up before this session makes its own mount
 * namespace and torn down after returning to the host's. */
static int enter_host_mount_ns(int host_mnt)
{
	/* Safe: back to the namespace this session was started in. */
	return host_mnt >= 0 && setns(host_mnt, CLONE_NEWNS) < 0 ? -errno : 0;
}

static void net_done(struct conn *c, const struct run_req *q, int host_mnt, int podfd)
{
	if (!q->cni)
		return;
	struct rkt_err ignore = { 0 };
	if (enter_host_mount_ns(host_mnt) == 0)
		(void)net_teardown(c->cfg, podfd, &ignore);
}

/* etc/rkt-resolv.conf and etc/rkt-hosts under the pod's stage1/rootfs, as
 * rkt's stage0 writes them. Safe: the values were checked when the request
 * was read, the pod dir is the helper's own (opened by take_pod) and every
 * level beneath it is opened without following symlinks. */
static int write_dns_files(const struct pod_hold *h, const struct run_req *q, struct rkt_err *e)
{
	_cleanup_free_ char *dflt = xasprintf("rkt-%s", h->uuid);
	return dnsconf_write(h->podfd, &q->dns, q->hostname ? q->hostname : dflt, e);
}

/* Overlays or copies were chosen when the pod was prepared (rkt's
 * `overlay-prepared` marker): run-prepared does not get to change it. */
static bool pod_overlay(int podfd)
{
	struct stat st;
	return fstatat(podfd, "overlay-prepared", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
}

static int run_prepared(struct conn *c, struct run_req *q, struct rkt_err *err)
{
	struct net_dns cni_dns = { 0 };
	struct pod_hold h = { .pods_fd = -1, .podfd = -1 };
	struct mounted mt = { 0 };
	struct rkt_err e = { 0 };
	_cleanup_free_ char *init = NULL;
	_cleanup_close_ int host_mnt = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
	char netns[NET_NETNS_PATH_MAX] = "";
	struct started s = { .pid = -1, .pidfd = -1 };
	struct session_userns pu = { 0 };
	int r = take_pod(c, q, &h, &init, &e);
	bool moved = r >= 0;
	if (r >= 0) /* --private-users: the range prepare chose */
		r = session_userns_read(h.podfd, &pu, &e);
	if (r >= 0 && q->cni)
		r = net_setup(c->cfg, h.uuid, h.podfd, q->nets, netns, sizeof netns, &cni_dns, &e);
	/* No --dns flag: a plugin's DNS is the pod's resolv.conf (rkt's
	 * default); --dns=none and --dns=host ignore it, other flags win. */
	if (r >= 0 && cni_dns.dns && q->dns.mode.resolv == DNS_MODE_DEFAULT)
		r = dnsconf_from_cni(&q->dns, cni_dns.dns, cni_dns.net, &e);
	net_dns_done(&cni_dns);
	if (r >= 0)
		r = private_mount_ns(&e);
	if (r >= 0)
		r = setup_apps(c, h.podfd, h.poddir, pod_overlay(h.podfd), &pu, q->cni ? NULL : q->net,
			       &mt, &e);
	if (r >= 0)
		r = write_dns_files(&h, q, &e);
	if (r >= 0)
		r = start_stage1(init, h.podfd, h.uuid, q, netns, &pu, &s, &e);
	if (r < 0) {
		mounted_done(&mt);
		if (netns[0])
			net_done(c, q, host_mnt, h.podfd);
		struct rkt_err ignore = { 0 };
		if (q->fresh && h.pods_fd >= 0) {
			/* Made by this `rkt run`: a pod that never started leaves
			 * no pod directory behind (its mounts and netns are gone). */
			if (podgc_move(h.pods_fd, moved ? "run" : "prepared", "garbage", q->arg, &ignore) == 0)
				(void)podgc_delete(c->cfg, h.pods_fd, "garbage", q->arg, NULL, &ignore);
		} else if (moved) {
			/* Nothing ran: the pod goes back to prepared/ for another try. */
			(void)podgc_move(h.pods_fd, "run", "prepared", h.uuid, &ignore);
		}
		r = session_reply_errno(c, e.code ? e.code : -r, e.msg, err);
		goto out;
	}
/* A client gone already still gets its pod stopped by wait_stage1. */
	if (send_event(c, IPC_EV_PREPARED, h.uuid, 0, err) < 0 ||
	    send_event(c, IPC_EV_STARTED, NULL, s.pid, err) < 0)
		kill(s.pid, SIGTERM);
	int status = wait_stage1(c, &s);
	/* The answer goes out as soon as the pod counts as exited: its netns
	 * and CNI state gone, its lock released (a pod in run/ that nobody
	 * locks is exited), so a `rkt status` right after `rkt run` says so.
	 * The overlays live in this session's private mount namespace, where
	 * nobody else sees them: detaching them (an RCU grace period) waits
	 * until the client has its answer, unless the CNI teardown must first
	 * take the session back to the host's namespace. */
	if (q->cni)
		mounted_done(&mt);
	net_done(c, q, host_mnt, h.podfd);
	close(s.pidfd);
	close(h.podfd);
	h.podfd = -1;
	struct rkt_err ignore = { 0 };
	r = 0;
	if (c->state == IPC_ST_STREAM && answer_result(c, h.uuid, status, &ignore) < 0)
		r = 0; /* the client left: nobody to tell */
	mounted_done(&mt);
out:
	if (h.podfd >= 0)
		close(h.podfd);
	if (h.pods_fd >= 0)
		close(h.pods_fd);
	free(h.flavor);
	free(h.poddir);
	return r;
}

/* --net: none (the default here), host, or CNI nets ("default" and net.d
 * names, each maybe "name:k=v;k=v"), which net_setup validates. */
static int parse_nets(struct ipc_msg *m, struct run_req *q, char **owned, struct rkt_err *e)
{
	q->net = "none";
	if (!ipc_msg_has(m, IPC_TAG_NETS))
		return 0;
	if (ipc_msg_get_strv(m, IPC_TAG_NETS, &q->nets) < 0)
		return rkt_error(e, EINVAL, "invalid nets field");
	size_t n = strv_len(q->nets);
	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (n > 1 && (!strcmp(q->nets[i], "none") || !strcmp(q->nets[i], "host")))
			return rkt_error(e, EINVAL, "--net=%s cannot be combined with other networks",
					 q->nets[i]);
	if (n == 1 && (!strcmp(q->nets[0], "none") || !strcmp(q->nets[0], "host"))) {
		*owned = xstrdup(q->nets[0]);
	} else {
		/* stage1 is told the names; the netns carries the networks */
		size_t len = 1;
		for (size_t i = 0; i < n; i++)
			len += strcspn(q->nets[i], ":") + 1;
		char *joined = xcalloc(len, 1);
		for (size_t i = 0; i < n; i++) {
			if (i)
				strcat(joined, ",");
			strncat(joined, q->nets[i], strcspn(q->nets[i], ":"));
		}
		*owned = joined;
		q->cni = true;
	}
	q->net = *owned;
	return 0;
}

/* --hostname and the DNS/hosts fields; refused before any pod is touched. */
static int parse_pod_conf(struct ipc_msg *m, struct run_req *q, struct rkt_err *e)
{
	if (ipc_msg_has(m, IPC_TAG_HOSTNAME) && ipc_msg_get_str(m, IPC_TAG_HOSTNAME, &q->hostname) < 0)
		return rkt_error(e, EINVAL, "invalid hostname field");
	if (q->hostname && !dnsconf_hostname_valid(q->hostname))
		return rkt_error(e, EINVAL, "--hostname=%s: not a valid host name", q->hostname);
	return dnsconf_from_msg(m, &q->dns, e);
}

static int keep_run_caps(void)
{
	int caps[] = { RUN_CAPS, RUN_CAPS_OPTIONAL };
	size_t n = sizeof caps / sizeof caps[0];
	if (prctl(PR_CAPBSET_READ, RUN_CAPS_OPTIONAL, 0, 0, 0) != 1)
		n--;
	return session_keep_caps(caps, n);
}

static void take_stdio(struct ipc_msg *m, unsigned first, struct run_req *q)
{
	for (unsigned i = 0; i < 3; i++)
		q->stdio[i] = ipc_msg_take_fd(m, first + i);
}

static void close_stdio(struct run_req *q)
{
	for (int i = 0; i < 3; i++)
		if (q->stdio[i] >= 0)
			close(q->stdio[i]);
}

int op_run_prepared(struct conn *c, struct ipc_msg *m, struct rkt_err *err)
{
	struct run_req q = { .net = "none", .stdio = { -1, -1, -1 } };
	struct rkt_err e = { 0 };
	_cleanup_free_ char *net = NULL;
	if (keep_run_caps() < 0)
		return session_reply_errno(c, EPERM, "run-prepared: the helper could not set its capabilities", err);
	if (ipc_msg_get_str(m, IPC_TAG_UUID, &q.arg) < 0)
		return rkt_error(err, EBADMSG, "RUN_PREPARED_REQ without a uuid");
	ipc_msg_get_u32(m, IPC_TAG_RUN_FLAGS, &q.flags);
	ipc_msg_get_u32(m, IPC_TAG_INSECURE, &q.insecure);
	take_stdio(m, 0, &q);
	int r;
	if (q.stdio[0] < 0 || q.stdio[1] < 0 || q.stdio[2] < 0)
		r = rkt_error(err, EBADMSG, "RUN_PREPARED_REQ without its three stdio fds");
	else if (session_check_stdio(c, q.stdio, "run-prepared", &e) < 0 || parse_nets(m, &q, &net, &e) < 0 || parse_pod_conf(m, &q, &e) < 0)
		r = session_reply_errno(c, e.code, e.msg, err);
	else
		r = run_prepared(c, &q, err);
	close_stdio(&q);
	strv_free(q.nets);
	dnsconf_done(&q.dns);
	return r;
}

int op_run(struct conn *c, struct ipc_msg *m, struct rkt_err *err)
{
	struct run_req q = { .net = "none", .stdio = { -1, -1, -1 } };
	struct rkt_err e = { 0 };
	_cleanup_free_ char *net = NULL, *init = NULL;
	if (keep_run_caps() < 0)
		return session_reply_errno(c, EPERM, "run: the helper could not set its capabilities", err);
	ipc_msg_get_u32(m, IPC_TAG_RUN_FLAGS, &q.flags);
	ipc_msg_get_u32(m, IPC_TAG_INSECURE, &q.insecure);
	take_stdio(m, 1, &q);
	char uuid[POD_UUID_LEN + 1];
	int r;
	if (q.stdio[0] < 0 || q.stdio[1] < 0 || q.stdio[2] < 0) {
		r = rkt_error(err, EBADMSG, "RUN_REQ without its three stdio fds");
		goto out;
	}
	if (session_check_stdio(c, q.stdio, "run", &e) < 0 || parse_nets(m, &q, &net, &e) < 0 || parse_pod_conf(m, &q, &e) < 0) {
		r = session_reply_errno(c, e.code, e.msg, err);
		goto out;
	}
	/* Flavor and net are judged before anything is rendered; the prepare
	 * path judges the rest, run_prepared judges it all once more. */
	const char *flavor = "ns";
	if (ipc_msg_has(m, IPC_TAG_STAGE1))
		ipc_msg_get_str(m, IPC_TAG_STAGE1, &flavor);
	if (policy_recheck(c, flavor, &q, &e) < 0 || flavor_init(c, flavor, &init, &e) < 0) {
		r = session_reply_errno(c, e.code, e.msg, err);
		goto out;
	}
	r = session_prepare_pod(c, m, uuid, &e, err);
	if (r > 0) {
		/* Refused: answered, and there is no pod to run. */
		r = session_reply_errno(c, e.code, e.msg, err);
		goto out;
	}
	if (r < 0)
		goto out;
	q.arg = uuid;
	q.fresh = true;
	r = run_prepared(c, &q, err);
out:
	close_stdio(&q);
	strv_free(q.nets);
	dnsconf_done(&q.dns);
	return r;
}
