/* stage1 "ns" flavor, run entry point (reference/rkt-behaviour.md §6):
 *   init [--debug] --net=none|host [--netns=PATH] [--interactive] [--hostname=H]
 *        [--disable-capabilities-restriction] [--disable-paths]
 *        [--disable-seccomp] [--dns-conf-mode=resolv=M,hosts=M]
 *        [--private-users=SHIFT:COUNT] <uuid>
 * run as root with cwd = the pod directory. It stays in the host's
 * namespaces to own the pod's cgroups and the pod lock (RKT_LOCK_FD), and
 * clones the pod's PID 1 into new mount, pid, uts, ipc and (unless
 * --net=host) net namespaces; with --netns=PATH (the helper's CNI-prepared
 * netns, privhelper/session/net.h) PID 1 joins that one instead. With
 * --private-users PID 1 also gets a new user namespace mapping its 0..COUNT-1
 * to host SHIFT..SHIFT+COUNT-1 (the helper shifted the app trees to match;
 * stage1/userns.c holds the host-side preparation). Exit
 * status: the first failing app's, 0 when all succeed, 254 when the pod
 * cannot start. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/prefault.h"
#include "common/util.h"
#include "stage1/cgroup.h"
#include "stage1/dns.h"
#include "stage1/netif.h"
#include "stage1/pod.h"
#include "stage1/supervise.h"
#include "stage1/userns.h"

#define EXIT_SETUP 254

struct opts {
	bool interactive, net_host, disable_paths;
	struct stage1_flags flags;
	char *hostname;
	const char *uuid;
	const char *netns;
	const char *podpath; /* set once the pod is loaded */
	struct s1_userns userns; /* --private-users; count 0 = none */
	/* --dns-conf-mode and the files it selects (stage1/dns.h) */
	struct dns_conf_mode dns;
	char *resolv_src, *hosts_src;
};

/* Everything the pod's PID 1 needs, shared with it through clone(). */
struct pod_ctx {
	struct opts *o;
	struct stage1_pod *pod;
	int sync; /* PID 1's end of the socketpair */
	int podfd;
	int netnsfd; /* --netns, else -1 */
	bool lo_ready; /* the helper brought lo up in the netns joined before clone */
};

static bool uuid_valid(const char *s)
{
	if (strlen(s) != 36)
		return false;
	for (int i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? s[i] != '-' : !((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	}
	return true;
}

static bool hostname_valid(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 64 || s[0] == '-' || s[0] == '.')
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		      *p == '-' || *p == '.'))
			return false;
	return true;
}

__attribute__((format(printf, 1, 2))) static int usage_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "stage1: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	return -EINVAL;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	enum { O_DEBUG = 1, O_NET, O_INTER, O_HOST, O_NOCAPS, O_NOPATHS, O_NOSECCOMP, O_IGNORED,
	       O_NETNS, O_PRIVUSERS, O_DNSMODE };
	struct rkt_err err = { 0 };
	static const struct option lo[] = {
		{ "debug", no_argument, NULL, O_DEBUG },
		{ "net", required_argument, NULL, O_NET },
		{ "netns", required_argument, NULL, O_NETNS },
		{ "interactive", no_argument, NULL, O_INTER },
		{ "hostname", required_argument, NULL, O_HOST },
		{ "disable-capabilities-restriction", no_argument, NULL, O_NOCAPS },
		{ "disable-paths", no_argument, NULL, O_NOPATHS },
		{ "disable-seccomp", no_argument, NULL, O_NOSECCOMP },
		/* Accepted for the ABI; the helper handles what they stand for. */
		{ "mds-token", required_argument, NULL, O_IGNORED },
		{ "local-config", required_argument, NULL, O_IGNORED },
		{ "dns-conf-mode", required_argument, NULL, O_DNSMODE },
		{ "ipc", required_argument, NULL, O_IGNORED },
		{ "mutable", no_argument, NULL, O_IGNORED },
		{ "private-users", required_argument, NULL, O_PRIVUSERS },
		{ NULL, 0, NULL, 0 },
	};
	const char *net = NULL;
	int c;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+", lo, NULL)) != -1) {
		switch (c) {
		case O_DEBUG: log_set_debug(true); break;
		case O_NET: net = optarg; break;
		case O_NETNS: o->netns = optarg; break;
		case O_INTER: o->interactive = true; break;
		case O_HOST: o->hostname = xstrdup(optarg); break;
		case O_NOCAPS: o->flags.disable_caps = true; break;
		case O_NOPATHS: o->disable_paths = true; break;
		case O_NOSECCOMP: o->flags.disable_seccomp = true; break;
		case O_IGNORED: break;
		case O_DNSMODE:
			if (dns_conf_mode_parse(optarg, &o->dns, &err) < 0)
				return usage_error("%s", err.msg);
			break;
		case O_PRIVUSERS:
			if (s1_userns_parse(optarg, &o->userns, &err) < 0)
				return usage_error("%s", err.msg);
			break;
		default:
			return usage_error("unknown option %s", argv[optind - 1]);
		}
	}
	if (optind != argc - 1)
		return usage_error("%s", "usage: init [--debug] --net=none|host [--interactive] "
					 "[--hostname=H] [--disable-*] <uuid>");
	o->uuid = argv[optind];
	if (!uuid_valid(o->uuid))
		return usage_error("bad pod UUID \"%s\"", o->uuid);
	if (o->netns && net && strcmp(net, "host") == 0)
		return usage_error("%s", "--netns cannot be used with --net=host");
	if (!net || strcmp(net, "none") == 0 || o->netns)
		o->net_host = false;
	else if (strcmp(net, "host") == 0)
		o->net_host = true;
	else
		return usage_error("failed to setup network: --net=%s: the ns flavor provides host "
				   "and none",
				   net);
	if (!o->hostname)
		o->hostname = xasprintf("rkt-%s", o->uuid);
	if (!hostname_valid(o->hostname))
		return usage_error("bad hostname \"%s\"", o->hostname);
	return 0;
}

/* The pod's PID 1. The host side has joined it to the pod's cgroups and
 * written the pid file before it says go. */
__attribute__((noreturn)) static void pod_init(struct pod_ctx *c)
{
	char go;
	/* The host side holds the pod lock; without it the pod must not run. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (read(c->sync, &go, 1) != 1)
		_exit(EXIT_SETUP);
	if (c->o->userns.count && s1_userns_become_root() < 0) {
		log_line("stage1", "cannot become root in the pod's user namespace: %s",
			 strerror(errno));
		_exit(EXIT_SETUP);
	}
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		log_line("stage1", "make / private: %s", strerror(errno));
		_exit(EXIT_SETUP);
	}
	if (sethostname(c->o->hostname, strlen(c->o->hostname)) < 0) {
		log_line("stage1", "sethostname %s: %s", c->o->hostname, strerror(errno));
		_exit(EXIT_SETUP);
	}
	if (c->netnsfd >= 0 && setns(c->netnsfd, CLONE_NEWNET) < 0) {
		log_line("stage1", "failed to setup network: join %s: %s", c->o->netns,
			 strerror(errno));
		_exit(EXIT_SETUP);
	}
	int r = c->o->net_host || c->lo_ready ? 0 : netif_loopback_up();
	if (r < 0) {
		log_line("stage1", "failed to setup network: lo: %s", strerror(-r));
		_exit(EXIT_SETUP);
	}
	_cleanup_close_ int statusfd =
		openat(c->podfd, "stage1/rootfs/rkt/status", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (statusfd < 0) {
		log_line("stage1", "open stage1/rootfs/rkt/status: %s", strerror(errno));
		_exit(EXIT_SETUP);
	}
	struct app_launch l = {
		.hostname = c->o->hostname,
		.interactive = c->o->interactive,
		.disable_paths = c->o->disable_paths,
		.resolv_conf = c->o->resolv_src,
		.hosts = c->o->hosts_src,
		.resolv_follow = c->o->dns.resolv == DNS_MODE_HOST,
		.hosts_follow = c->o->dns.hosts == DNS_MODE_HOST,
	};
	int code = stage1_supervise(c->pod, statusfd, &l);
	fflush(NULL);
	/* _exit: this is a clone of the host side; its cleanups are the host's. */
	_exit(code);
}

static void setup_cgroups(struct opts *o, struct stage1_pod *pod, struct s1_cgroups *cg)
{
	struct rkt_err err = { 0 };
	if (cgroup_pod_create(o->uuid, cg, &err) < 0) {
		log_warn("stage1: no pod cgroups: %s", err.msg);
		return;
	}
	for (size_t i = 0; i < pod->n_apps; i++) {
		struct stage1_app *a = &pod->apps[i];
		const char *missing = NULL;
		if (cgroup_app_create(cg, a->name, &a->settings, &a->cg_procs, &missing, &err) < 0)
			log_warn("stage1: app %s: %s", a->name, err.msg);
		if (missing)
			log_warn("stage1: app %s: %s limit not applied: no %s cgroup hierarchy",
				 a->name, missing, missing);
	}
}

static int write_pid(int podfd, pid_t pid)
{
	struct rkt_err err = { 0 };
	char buf[16];
	int n = snprintf(buf, sizeof buf, "%d", (int)pid);
	if (write_file_atomic_nosync_at(podfd, "pid", buf, (size_t)n, 0644, &err) < 0) {
		log_line("stage1", "%s", err.msg);
		return -1;
	}
	return 0;
}

/* Waits for the pod's PID 1, passing on the signals that stop a pod. */
static int wait_pod(pid_t pid, const sigset_t *set)
{
	for (;;) {
		int sig = sigwaitinfo(set, NULL);
		if (sig == SIGTERM || sig == SIGINT || sig == SIGHUP)
			kill(pid, sig);
		int ws;
		pid_t r = waitpid(pid, &ws, WNOHANG);
		if (r == pid)
			return stage1_exit_code(ws, false);
		if (r < 0 && errno != EINTR)
			return EXIT_SETUP;
	}
}

static int run_pod(struct opts *o, struct stage1_pod *pod, int podfd)
{
	struct s1_cgroups cg = { 0 };
	int sp[2];
	sigset_t set;
	setup_cgroups(o, pod, &cg);
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0) {
		log_line("stage1", "socketpair: %s", strerror(errno));
		cgroup_pod_destroy(&cg);
		cgroup_free(&cg);
		return EXIT_SETUP;
	}
	_cleanup_close_ int netnsfd = o->netns ? open(o->netns, O_RDONLY | O_CLOEXEC) : -1;
	if (o->netns && netnsfd < 0) {
		log_line("stage1", "failed to setup network: %s: %s", o->netns, strerror(errno));
		close(sp[0]);
		close(sp[1]);
		cgroup_pod_destroy(&cg);
		cgroup_free(&cg);
		return EXIT_SETUP;
	}
	struct pod_ctx ctx = { .o = o, .pod = pod, .sync = sp[1], .podfd = podfd, .netnsfd = netnsfd };
	int flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | SIGCHLD;
	if (!o->net_host && !o->netns)
		flags |= CLONE_NEWNET;
	if (o->userns.count) {
		struct rkt_err uerr = { 0 };
		/* PID 1 in its own user namespace could not join a netns owned
		 * by the host's: the host side joins it first, PID 1 inherits
		 * it, and the helper has already brought its lo up. */
		if (netnsfd >= 0 && setns(netnsfd, CLONE_NEWNET) < 0) {
			log_line("stage1", "failed to setup network: join %s: %s", o->netns,
				 strerror(errno));
			flags = -1;
		} else if (s1_userns_prepare_host(&o->userns, podfd, o->podpath, pod, &uerr) < 0) {
			log_line("stage1", "--private-users: %s", uerr.msg);
			flags = -1;
		}
		ctx.netnsfd = -1;
		ctx.lo_ready = netnsfd >= 0;
		flags = flags < 0 ? -1 : flags | CLONE_NEWUSER;
	}
	if (flags < 0) {
		close(sp[0]);
		close(sp[1]);
		cgroup_pod_destroy(&cg);
		cgroup_free(&cg);
		return EXIT_SETUP;
	}
	fflush(NULL);
	/* clone(2) with no new stack behaves as fork into the new namespaces:
	 * the child runs on a copy of this stack, so the sanitizers' idea of
	 * the stack stays right (a separate clone stack confuses ASan). */
	pid_t pid = (pid_t)syscall(SYS_clone, (unsigned long)flags, NULL, NULL, NULL, NULL);
	if (pid == 0)
		pod_init(&ctx);
	int code = EXIT_SETUP;
	if (pid < 0) {
		log_line("stage1", "cannot create the pod's namespaces: %s", strerror(errno));
	} else {
		struct rkt_err err = { 0 };
		close(sp[1]);
		if (cgroup_pod_join(&cg, pid, &err) < 0)
			log_warn("stage1: %s", err.msg);
		log_debug("stage1", "pod %s: PID 1 is %d", o->uuid, (int)pid);
		/* On failure PID 1 reads EOF and exits without starting any app. */
		if (o->userns.count && s1_userns_write_maps(pid, &o->userns, &err) < 0)
			log_line("stage1", "--private-users: %s", err.msg);
		else if (write_pid(podfd, pid) == 0 && write(sp[0], "g", 1) != 1)
			log_line("stage1", "cannot start the pod: %s", strerror(errno));
		close(sp[0]);
		code = wait_pod(pid, &set);
	}
	cgroup_pod_destroy(&cg);
	cgroup_free(&cg);
	return code;
}

/* The file bound on the apps' /etc/resolv.conf or /etc/hosts: the host's
 * for "host", stage0's etc/rkt-* under stage1/rootfs for "stage0" (and for
 * "default" when stage0 wrote one), none otherwise. */
static int dns_source(int podfd, const char *podpath, enum dns_mode mode, const char *hostfile,
		      const char *rel, char **ret)
{
	if (mode == DNS_MODE_HOST) {
		*ret = xstrdup(hostfile);
		return 0;
	}
	if (mode == DNS_MODE_NONE)
		return 0;
	bool have = faccessat(podfd, rel, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
	if (!have && mode == DNS_MODE_STAGE0) {
		log_line("stage1", "--dns-conf-mode: stage0 did not write %s", rel);
		return -ENOENT;
	}
	if (have)
		*ret = xasprintf("%s/%s", podpath, rel);
	return 0;
}

/* Volumes and DNS files, prepared on the host side before any namespace. */
static int prepare_files(struct opts *o, struct stage1_pod *pod, int podfd, const char *podpath)
{
	struct rkt_err err = { 0 };
	for (size_t i = 0; i < pod->n_apps; i++)
		if (volumes_prepare_shared(podfd, pod->apps[i].mounts, pod->apps[i].n_mounts, &err) <
		    0) {
			log_line("stage1", "app %s: %s", pod->apps[i].name, err.msg);
			return -1;
		}
	if (dns_source(podfd, podpath, o->dns.resolv, "/etc/resolv.conf",
		       "stage1/rootfs/etc/rkt-resolv.conf", &o->resolv_src) < 0 ||
	    dns_source(podfd, podpath, o->dns.hosts, "/etc/hosts", "stage1/rootfs/etc/rkt-hosts",
		       &o->hosts_src) < 0)
		return -1;
	return 0;
}

/* The pod dir's path. The helper chdirs here through an fd it opened
 * before entering its own mount namespace, so the kernel's getcwd calls
 * the dir unreachable and glibc walks ".." up to / reading every dir on
 * the way (the run/ dir of all pods among them). /proc/self/cwd names the
 * same path; it is used when it leads back to this very dir. */
static char *pod_path(int podfd)
{
	char buf[PATH_MAX];
	ssize_t n = readlink("/proc/self/cwd", buf, sizeof buf - 1);
	struct stat a, b;
	if (n > 0 && buf[0] == '/') {
		buf[n] = '\0';
		if (fstat(podfd, &a) == 0 && stat(buf, &b) == 0 && a.st_dev == b.st_dev &&
		    a.st_ino == b.st_ino)
			return xstrdup(buf);
	}
	return getcwd(NULL, 0);
}

static int load_and_run(struct opts *o, struct stage1_pod *pod)
{
	struct rkt_err err = { 0 };
	_cleanup_close_ int podfd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_free_ char *podpath = podfd < 0 ? NULL : pod_path(podfd);
	if (podfd < 0 || !podpath) {
		log_line("stage1", "pod directory: %s", strerror(errno));
		return EXIT_SETUP;
	}
	if (stage1_pod_load(podfd, podpath, &o->flags, pod, &err) < 0) {
		log_line("stage1", "%s", err.msg);
		return EXIT_SETUP;
	}
	if (o->interactive && pod->n_apps != 1) {
		log_line("stage1", "--interactive needs a pod with exactly one app (this one has %zu)",
			 pod->n_apps);
		return EXIT_SETUP;
	}
	if (mkdir_p_at(podfd, "stage1/rootfs/rkt/status", 0755) < 0) {
		log_line("stage1", "mkdir stage1/rootfs/rkt/status: %s", strerror(errno));
		return EXIT_SETUP;
	}
	if (prepare_files(o, pod, podfd, podpath) < 0)
		return EXIT_SETUP;
	o->podpath = podpath;
	return run_pod(o, pod, podfd);
}

int main(int argc, char **argv)
{
	struct opts o = { 0 };
	struct stage1_pod pod = { 0 };
	prefault_process(256 << 10, 64 << 10);
	int code = parse_args(argc, argv, &o) < 0 ? EXIT_SETUP : load_and_run(&o, &pod);
	stage1_pod_free(&pod);
	free(o.hostname);
	free(o.resolv_src);
	free(o.hosts_src);
	return code;
}
