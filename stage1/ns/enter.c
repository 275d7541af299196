/* stage1 "ns" flavor, enter entrypoint (reference/rkt-behaviour.md §6):
 *   enter [--debug] --pid=<pod PID 1> --appname=<app> -- cmd args...
 * run as root with cwd = the pod directory. It finds the app's process
 * (stage1/rootfs/rkt/pids/<app> holds its pid in the pod's pid namespace;
 * it is a child of the pod's PID 1), joins its namespaces and root, takes
 * the app's identity, environment and capability bounding set as
 * stage1/app.c computes them, and runs the command in a child (joining a
 * pid namespace only affects children). Exit status: the command's, 1
 * when the pod ends under it (rkt's), 254 when it cannot be started. */
#include <cap-ng.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <linux/capability.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/util.h"
#include "stage1/app.h"
#include "stage1/pod.h"
#include "stage1/userdb.h"

#define EXIT_SETUP 254
#define EXIT_POD_ENDED 1 /* rkt's status when the pod ends under enter */
#define PID_WAIT_MS 5000
#define POD_POLL_MS 100
#define POD_END_MS 1000

struct opts {
	pid_t pod_pid;
	const char *app;
	char **cmd;
};

__attribute__((format(printf, 1, 2))) static int fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "enter: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	return EXIT_SETUP;
}

static bool parse_pid(const char *s, pid_t *ret)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v <= 0 || v > INT32_MAX)
		return false;
	*ret = (pid_t)v;
	return true;
}

/* Sanitizer builds only: LeakSanitizer's exit-time scan clones a tracer
 * into the pod's pid namespace (pid_for_children), where it cannot see
 * this process, and ends up killing the pod. No leak scan here. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "detect_leaks=0";
}

static char *default_cmd[] = { "/bin/bash", NULL };

static int parse_args(int argc, char **argv, struct opts *o)
{
	enum { O_DEBUG = 1, O_PID, O_APP };
	static const struct option lo[] = {
		{ "debug", no_argument, NULL, O_DEBUG },
		{ "pid", required_argument, NULL, O_PID },
		{ "appname", required_argument, NULL, O_APP },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+", lo, NULL)) != -1) {
		switch (c) {
		case O_DEBUG: log_set_debug(true); break;
		case O_PID:
			if (!parse_pid(optarg, &o->pod_pid))
				return fail("bad --pid \"%s\"", optarg);
			break;
		case O_APP: o->app = optarg; break;
		default: return fail("unknown option %s", argv[optind - 1]);
		}
	}
	if (!o->pod_pid || !o->app)
		return fail("usage: enter --pid=PID --appname=APP -- cmd args...");
	if (optind < argc) {
		o->cmd = argv + optind;
	} else {
		fprintf(stderr, "no command specified, assuming \"/bin/bash\"\n");
		o->cmd = default_cmd;
	}
	return 0;
}

/* The last NSpid field of /proc/<pid>/status (the pid as its innermost
 * pid namespace sees it) and how many levels it has. */
static int ns_pid(pid_t pid, pid_t *ret, int *ret_levels)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	_cleanup_free_ char *text = NULL;
	if (fd < 0 || read_fd_bounded(fd, 16384, &text, NULL) < 0)
		return -ESRCH;
	char *ns = strstr(text, "\nNSpid:");
	if (!ns)
		return -ENOSYS;
	char *eol = strchr(ns + 1, '\n');
	if (eol)
		*eol = '\0';
	int n = 0;
	const char *last = NULL;
	char *save = NULL;
	for (char *t = strtok_r(ns + 7, " \t", &save); t; t = strtok_r(NULL, " \t", &save), n++)
		last = t;
	if (!last || !parse_pid(last, ret))
		return -EBADMSG;
	*ret_levels = n;
	return 0;
}

/* The app's pid inside the pod, written by the pod's PID 1 right after it
 * forks the app; a pod that is starting may not have written it yet. */
static int read_app_nspid(int podfd, const char *app, pid_t *ret)
{
	_cleanup_free_ char *rel = xasprintf("stage1/rootfs/rkt/pids/%s", app);
	for (int waited = 0;; waited += 50) {
		_cleanup_close_ int fd = openat(podfd, rel, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		_cleanup_free_ char *text = NULL;
		if (fd >= 0 && read_fd_bounded(fd, 32, &text, NULL) == 0 && parse_pid(text, ret))
			return 0;
		if (waited >= PID_WAIT_MS)
			return -ENOENT;
		nanosleep(&(struct timespec){ 0, 50 * 1000 * 1000 }, NULL);
	}
}

/* A pidfd on the child of the pod's PID 1 whose pod-side pid is nspid. */
static int find_app_pidfd(pid_t pod_pid, pid_t nspid, pid_t *ret_host)
{
	char path[96];
	snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int)pod_pid, (int)pod_pid);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	_cleanup_free_ char *text = NULL;
	if (fd < 0 || read_fd_bounded(fd, 1 << 20, &text, NULL) < 0)
		return -ESRCH;
	char *save = NULL;
	for (char *t = strtok_r(text, " \n", &save); t; t = strtok_r(NULL, " \n", &save)) {
		pid_t child, inner;
		int levels;
		if (!parse_pid(t, &child) || ns_pid(child, &inner, &levels) < 0 || inner != nspid ||
		    levels < 2)
			continue;
		int pidfd = pidfd_open(child, 0);
		if (pidfd < 0)
			continue;
		/* Re-read under the pidfd: the pid may have been recycled. */
		if (ns_pid(child, &inner, &levels) == 0 && inner == nspid && levels >= 2) {
			*ret_host = child;
			return pidfd;
		}
		close(pidfd);
	}
	return -ESRCH;
}

/* The bounding set of the app (its isolators over rkt's defaults); the
 * inheritable and ambient sets emptied, as stage1/app.c does. */
static int limit_caps(const struct stage1_app *a)
{
	capng_get_caps_process();
	for (int c = 0; c <= CAP_LAST_CAP; c++) {
		capng_update(CAPNG_DROP, CAPNG_INHERITABLE, (unsigned)c);
		if (!a->settings.caps_all && !(a->settings.caps & (1ULL << c)))
			capng_update(CAPNG_DROP, CAPNG_BOUNDING_SET, (unsigned)c);
	}
	if (capng_apply(CAPNG_SELECT_BOTH) < 0)
		return fail("cannot apply the capability bounding set");
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return fail("cannot clear ambient capabilities: %s", strerror(errno));
	return 0;
}

static int change_ids(const struct stage1_app *a, uid_t uid, gid_t gid)
{
	size_t n = a->n_supp_gids;
	_cleanup_free_ gid_t *groups = xcalloc(n ? n : 1, sizeof *groups);
	for (size_t i = 0; i < n; i++)
		groups[i] = a->supp_gids[i];
	if (setgroups(n, groups) < 0)
		return fail("setgroups: %s", strerror(errno));
	if (setresgid(gid, gid, gid) < 0)
		return fail("setresgid %u: %s", (unsigned)gid, strerror(errno));
	if (setresuid(uid, uid, uid) < 0)
		return fail("setresuid %u: %s", (unsigned)uid, strerror(errno));
	return 0;
}

/* Runs in the child, inside the app's namespaces and root. */
__attribute__((noreturn)) static void exec_cmd(const struct stage1_app *a, char **cmd, uid_t uid,
					       gid_t gid)
{
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* The helper kills this program when the client goes away; the
	 * command goes with it. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	_cleanup_free_ char *path = NULL;
	if (stage1_resolve_exec(cmd[0], stage1_env_get(a->env, "PATH"), &path) < 0) {
		fprintf(stderr, "enter: Unable to open \"%s\": No such file or directory\n", cmd[0]);
		_exit(EXIT_SETUP);
	}
	close_range(3, ~0U, 0);
	if (limit_caps(a) != 0 || change_ids(a, uid, gid) != 0)
		_exit(EXIT_SETUP);
	if (stage1_needs_nnp(&a->settings, uid) && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		_exit(fail("no_new_privs: %s", strerror(errno)));
	execve(path, cmd, a->env);
	fprintf(stderr, "enter: Unable to exec \"%s\": %s\n", path, strerror(errno));
	_exit(EXIT_SETUP);
}

/* Whether the process's namespace of this kind is not ours. */
static bool ns_differs(pid_t pid, const char *kind)
{
	char path[64], self[64];
	struct stat a, b;
	snprintf(path, sizeof path, "/proc/%d/ns/%s", (int)pid, kind);
	snprintf(self, sizeof self, "/proc/self/ns/%s", kind);
	if (stat(path, &a) < 0 || stat(self, &b) < 0)
		return false;
	return a.st_dev != b.st_dev || a.st_ino != b.st_ino;
}

/* Joins the app: every namespace of its process, then its root. */
static int join_app(pid_t pod_pid, int podfd, const struct stage1_app *a)
{
	pid_t nspid;
	if (read_app_nspid(podfd, a->name, &nspid) < 0)
		return fail("app %s has not started (no stage1/rootfs/rkt/pids/%s)", a->name,
			    a->name);
	pid_t host;
	_cleanup_close_ int pidfd = find_app_pidfd(pod_pid, nspid, &host);
	if (pidfd < 0)
		return fail("app %s is not running in pod PID %d", a->name, (int)pod_pid);
	/* The app's root as its own process sees it, taken while /proc is
	 * still the host's; alive under the pidfd afterwards = same process. */
	char rootpath[64];
	snprintf(rootpath, sizeof rootpath, "/proc/%d/root", (int)host);
	_cleanup_close_ int rootfd = open(rootpath, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return fail("app %s: %s: %s", a->name, rootpath, strerror(errno));
	if (pidfd_send_signal(pidfd, 0, NULL, 0) < 0)
		return fail("app %s exited", a->name);
	int flags = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWPID;
	if (ns_differs(host, "user")) {
		/* --private-users: a netns owned by the host's user namespace
		 * (--net=host, CNI) is joined while still host root; joining
		 * the pod's user namespace then gives the rights over the rest. */
		flags = (flags & ~CLONE_NEWNET) | CLONE_NEWUSER;
		if (ns_differs(host, "net") && setns(pidfd, CLONE_NEWNET) < 0)
			return fail("cannot join the network namespace of app %s: %s", a->name,
				    strerror(errno));
	}
	if (setns(pidfd, flags) < 0)
		return fail("cannot join the namespaces of app %s: %s", a->name, strerror(errno));
	if (fchdir(rootfd) < 0 || chroot(".") < 0)
		return fail("cannot enter the root of app %s: %s", a->name, strerror(errno));
	if (chdir(a->workdir) < 0)
		return fail("Unable to change to working directory \"%s\": %s", a->workdir,
			    strerror(errno));
	return 0;
}

static bool pod_gone_within(int pod_pidfd, int ms)
{
	struct pollfd p = { .fd = pod_pidfd, .events = POLLIN };
	return pod_pidfd >= 0 && poll(&p, 1, ms) == 1;
}

static bool pod_gone(int pod_pidfd) { return pod_gone_within(pod_pidfd, 0); }

/* Waits for the command, passing on the signals that end it. When the
 * pod's PID 1 ends, the kernel kills everything in the pod's pid
 * namespace, the command too: that is rkt's "pod ended" (exit 1), not the
 * command's own status. */
static int wait_cmd(pid_t pid, const sigset_t *set, int pod_pidfd, const char *uuid)
{
	bool ended = false;
	for (;;) {
		int sig = sigtimedwait(set, NULL, &(struct timespec){ 0, POD_POLL_MS * 1000000L });
		if (sig == SIGTERM || sig == SIGINT || sig == SIGHUP)
			kill(pid, sig);
		if (!ended && pod_gone(pod_pidfd)) {
			ended = true;
			kill(pid, SIGKILL); /* already dying; never left behind */
		}
		int ws;
		pid_t r = waitpid(pid, &ws, WNOHANG);
		if (r == pid) {
			if (WIFEXITED(ws))
				return WEXITSTATUS(ws);
			/* A dying pid namespace SIGKILLs its members before its
			 * PID 1 is seen to exit: allow PID 1 a moment. */
			if (ended || (WTERMSIG(ws) == SIGKILL && pod_gone_within(pod_pidfd, POD_END_MS))) {
				fprintf(stderr, "enter: pod \"%s\" ended\n", uuid);
				return EXIT_POD_ENDED;
			}
			return 128 + WTERMSIG(ws);
		}
		if (r < 0 && errno != EINTR)
			return EXIT_SETUP;
	}
}

static int enter(struct opts *o, struct stage1_pod *pod)
{
	struct rkt_err err = { 0 };
	struct stage1_flags flags = { 0 };
	_cleanup_close_ int podfd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_free_ char *podpath = getcwd(NULL, 0);
	if (podfd < 0 || !podpath)
		return fail("pod directory: %s", strerror(errno));
	if (stage1_pod_load(podfd, podpath, &flags, pod, &err) < 0)
		return fail("%s", err.msg);
	const struct stage1_app *a = NULL;
	for (size_t i = 0; i < pod->n_apps; i++)
		if (!strcmp(pod->apps[i].name, o->app))
			a = &pod->apps[i];
	if (!a)
		return fail("pod has no app named \"%s\"", o->app);
	/* Taken before joining: the pod's PID 1 is a host process, and this
	 * pidfd is how the end of the pod is seen while the command runs. */
	_cleanup_close_ int pod_pidfd = pidfd_open(o->pod_pid, 0);
	if (pod_pidfd < 0 && errno == ESRCH) {
		fprintf(stderr, "enter: the pod's PID %d has ended\n", (int)o->pod_pid);
		return EXIT_POD_ENDED;
	}
	if (pod_pidfd < 0)
		return fail("pod PID %d: %s", (int)o->pod_pid, strerror(errno));
	int r = join_app(o->pod_pid, podfd, a);
	if (r != 0)
		return pod_gone(pod_pidfd) ? EXIT_POD_ENDED : r;
	uid_t uid;
	gid_t gid;
	_cleanup_close_ int rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (userdb_resolve_user(rootfd, a->user, &uid, &err) < 0 ||
	    userdb_resolve_group(rootfd, a->group, &gid, &err) < 0)
		return fail("%s", err.msg);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0)
		exec_cmd(a, o->cmd, uid, gid);
	if (pid < 0)
		return fail("fork: %s", strerror(errno));
	const char *uuid = strrchr(podpath, '/');
	return wait_cmd(pid, &set, pod_pidfd, uuid ? uuid + 1 : podpath);
}

int main(int argc, char **argv)
{
	struct opts o = { 0 };
	struct stage1_pod pod = { 0 };
	int code = parse_args(argc, argv, &o);
	if (code == 0)
		code = enter(&o, &pod);
	stage1_pod_free(&pod);
	return code;
}
