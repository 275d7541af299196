/* rkt-privhelper: the listener (DESIGN §2 rule 5, interfaces.md). It owns
 * the socket and nothing else: accept, spawn one
 * rkt-privhelper-session per connection (a fresh address space that reads
 * the peer's identity from the kernel), and keep no per-client state. It
 * links libc alone so that idle it costs well under 2 MiB. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/capability.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "privhelper/listener/floor.h"
#include "privhelper/listener/spare.h"

#define PROG "rkt-privhelper"
/* Past this many live sessions the listener stops accepting until one
 * ends; connections wait in the backlog, none is dropped. */
#define MAX_SESSIONS 512
#define BACKLOG 512

struct config {
	const char *listen_path;
	const char *socket_group;
	/* Passed through to every session verbatim. */
	const char *pass[16];
	int n_pass;
};

static const char *const pass_flags[] = { "--dir",	"--local-config", "--system-config",
					  "--policy",	"--cni-path",	  "--tcti",
					  "--kvm-kernel", NULL };

static void usage(FILE *out)
{
	fprintf(out,
		"usage: " PROG " [--listen PATH] [--socket-group G] [--dir D] [--local-config L]\n"
		"       [--system-config S] [--policy FILE] [--cni-path DIR] [--tcti TCTI]\n"
		"       [--kvm-kernel FILE]\n\n"
		"The root helper of rkt. Without --listen it serves the socket systemd passes\n"
		"(LISTEN_FDS), so `systemd-socket-activate --seqpacket -l PATH " PROG "` works.\n\n"
		"  --listen PATH        create and serve PATH (root:GROUP 0660)\n"
		"  --socket-group G     group of the socket (default rkt)\n"
		"  --dir D              data directory (default /var/lib/rkt)\n"
		"  --local-config L     local configuration (default /etc/rkt)\n"
		"  --system-config S    stage1 flavors and vendor config (default " RKT_LIBDIR "/rkt)\n"
		"  --policy FILE        helper policy (default /etc/rkt-privhelper/policy.json)\n"
		"  --cni-path DIR       CNI plugins (default /usr/lib/cni)\n"
		"  --tcti TCTI          TPM TCTI (default device:/dev/tpmrm0)\n"
		"  --kvm-kernel FILE    guest kernel for stage1-kvm\n"
		"  --help, --version\n");
}

static int parse_args(int argc, char **argv, struct config *c)
{
	c->socket_group = "rkt";
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = NULL;
		char name[64];
		const char *eq = strchr(a, '=');
		size_t n = eq ? (size_t)(eq - a) : strlen(a);
		if (n >= sizeof name) {
			fprintf(stderr, PROG ": unknown option \"%s\"\n", a);
			return -1;
		}
		memcpy(name, a, n);
		name[n] = '\0';
		if (!strcmp(name, "--help") || !strcmp(name, "-h")) {
			usage(stdout);
			exit(0);
		}
		if (!strcmp(name, "--version")) {
			printf(PROG " version %s\n", RKT_VERSION);
			exit(0);
		}
		if (eq)
			v = eq + 1;
		else if (i + 1 < argc)
			v = argv[++i];
		else {
			fprintf(stderr, PROG ": option \"%s\" needs a value\n", name);
			return -1;
		}
		if (!*v) {
			fprintf(stderr, PROG ": option \"%s\" needs a non-empty value\n", name);
			return -1;
		}
		if (!strcmp(name, "--listen"))
			c->listen_path = v;
		else if (!strcmp(name, "--socket-group"))
			c->socket_group = v;
		else {
			int k;
			for (k = 0; pass_flags[k]; k++)
				if (!strcmp(name, pass_flags[k]))
					break;
			if (!pass_flags[k] || c->n_pass + 2 > (int)(sizeof c->pass / sizeof c->pass[0])) {
				fprintf(stderr, PROG ": unknown option \"%s\" (see --help)\n", name);
				return -1;
			}
			c->pass[c->n_pass++] = pass_flags[k];
			c->pass[c->n_pass++] = v;
		}
	}
	return 0;
}

static char *session_path(void)
{
	static char buf[PATH_MAX];
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n > 0) {
		self[n] = '\0';
		char *slash = strrchr(self, '/');
		if (slash) {
			*slash = '\0';
			snprintf(buf, sizeof buf, "%s/rkt-privhelper-session", self);
			if (access(buf, X_OK) == 0)
				return buf;
		}
	}
	snprintf(buf, sizeof buf, "%s/rkt/rkt-privhelper-session", RKT_LIBEXECDIR);
	return access(buf, X_OK) == 0 ? buf : NULL;
}

static void build_argv(const struct config *c, const char *session, const char *mode,
		       const char **argv)
{
	int k = 0;
	argv[k++] = "rkt-privhelper-session";
	argv[k++] = mode;
	for (int i = 0; i < c->n_pass; i++)
		argv[k++] = c->pass[i];
	argv[k] = NULL;
	(void)session;
}

/* The session checks paths, policy and keys (it links the parsers the
 * listener must not); the listener binds only when that passed. */
static int check_config(const struct config *c, const char *session)
{
	const char *argv[24];
	build_argv(c, session, "--check-config", argv);
	pid_t pid = fork();
	if (pid < 0) {
		fprintf(stderr, PROG ": fork: %s\n", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		execv(session, (char *const *)argv);
		fprintf(stderr, PROG ": exec %s: %s\n", session, strerror(errno));
		_exit(127);
	}
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static int make_socket_dir(const char *path)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof dir, "%s", path);
	char *slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	/* /run/rkt is root's: 0755 so group rkt can reach the 0660 socket. */
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, PROG ": mkdir %s: %s\n", dir, strerror(errno));
		return -1;
	}
	return 0;
}

/* A leftover socket file is replaced only when nobody answers on it. */
static int clear_stale_socket(const char *path, const struct sockaddr_un *sa)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISSOCK(st.st_mode)) {
		fprintf(stderr, PROG ": %s exists and is not a socket; refusing to replace it\n", path);
		return -1;
	}
	int probe = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (probe >= 0 && connect(probe, (const struct sockaddr *)sa, sizeof *sa) == 0) {
		close(probe);
		fprintf(stderr, PROG ": another helper already listens on %s\n", path);
		return -1;
	}
	if (probe >= 0)
		close(probe);
	return unlink(path) < 0 && errno != ENOENT ? -1 : 0;
}

static int listen_on_path(const struct config *c)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(c->listen_path) >= sizeof sa.sun_path) {
		fprintf(stderr, PROG ": socket path %s is too long\n", c->listen_path);
		return -1;
	}
	strcpy(sa.sun_path, c->listen_path);
	struct group *gr = getgrnam(c->socket_group);
	if (!gr) {
		fprintf(stderr, PROG ": socket group \"%s\" does not exist (create it, or pass --socket-group)\n",
			c->socket_group);
		return -1;
	}
	if (make_socket_dir(c->listen_path) < 0 || clear_stale_socket(c->listen_path, &sa) < 0)
		return -1;
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fprintf(stderr, PROG ": socket: %s\n", strerror(errno));
		return -1;
	}
	/* Bind with no access at all, then open it to root:GROUP 0660: no
	 * window in which anyone else can connect. */
	mode_t old = umask(0777);
	int r = bind(fd, (struct sockaddr *)&sa, sizeof sa);
	umask(old);
	if (r < 0 || chown(c->listen_path, 0, gr->gr_gid) < 0 || chmod(c->listen_path, 0660) < 0 ||
	    listen(fd, BACKLOG) < 0) {
		fprintf(stderr, PROG ": listen on %s: %s\n", c->listen_path, strerror(errno));
		unlink(c->listen_path);
		close(fd);
		return -1;
	}
	return fd;
}

/* systemd's protocol read by hand (DESIGN §2: libsystemd alone would put
 * the idle listener over its memory budget). */
static int socket_from_systemd(void)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	if (!pid || !fds) {
		fprintf(stderr, PROG ": no --listen PATH and no socket from systemd (LISTEN_FDS unset)\n");
		return -1;
	}
	char *end;
	long p = strtol(pid, &end, 10);
	if (*end || p != getpid()) {
		fprintf(stderr, PROG ": LISTEN_PID=%s is not this process\n", pid);
		return -1;
	}
	if (strcmp(fds, "1") != 0) {
		fprintf(stderr, PROG ": LISTEN_FDS=%s: exactly one socket expected\n", fds);
		return -1;
	}
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	int type = 0, acc = 0;
	socklen_t l = sizeof type;
	if (getsockopt(3, SOL_SOCKET, SO_TYPE, &type, &l) < 0 || type != SOCK_SEQPACKET) {
		fprintf(stderr, PROG ": fd 3 from systemd is not a SOCK_SEQPACKET socket (use ListenSequentialPacket=)\n");
		return -1;
	}
	l = sizeof acc;
	if (getsockopt(3, SOL_SOCKET, SO_ACCEPTCONN, &acc, &l) < 0 || !acc) {
		fprintf(stderr, PROG ": fd 3 from systemd is not listening\n");
		return -1;
	}
	int fd = fcntl(3, F_DUPFD_CLOEXEC, 3);
	close(3);
	return fd;
}

/* The listener itself needs no capability after binding; sessions regain
 * the bounding set at exec (uid 0, no no_new_privs), which is left whole
 * because it bounds what a pod may be granted. */
static int drop_own_capabilities(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = { 0 };
	if (syscall(SYS_capset, &hdr, data) < 0)
		return -errno;
	return 0;
}

/* The child of spawn_session, between vfork and execve: system calls only,
 * on its own frame. It reports a failure through *err, which it shares
 * with the suspended listener. */
__attribute__((noreturn)) static void session_child(int conn, const sigset_t *oldmask,
						    const char *session, const char *const *argv,
						    volatile int *err)
{
	if (dup2(conn, 3) == 3 && syscall(SYS_close_range, 4, ~0U, 0) == 0 &&
	    sigprocmask(SIG_SETMASK, oldmask, NULL) == 0)
		execve(session, (char *const *)argv, environ);
	*err = errno;
	_exit(127);
}

/* vfork: the child borrows the listener's memory until its execve, so no
 * page tables are copied and no page is faulted in copy-on-write; on a
 * host with PTI and a paravirtual MMU that is most of what a fork costs
 * (about 0.5 ms and 12 us a fault here), paid before every session. Not
 * posix_spawn, which does the same but first resets every signal's
 * disposition in the child, two system calls a signal, 128 while the
 * listener waits (fork to exec measured 1.33-1.41 ms with it, 1.18-1.25 ms
 * without). The
 * listener installs no handler (signals arrive through its signalfd), so
 * there is nothing to reset; the child restores the signal mask from
 * before the listener blocked SIGCHLD and friends. Safe because the
 * listener is suspended until the exec, and the child changes nothing but
 * its own fds and mask. The session gets stdio, the connection (a spare:
 * its handoff socket) as fd 3, nothing else: fds the listener's own parent
 * left open stop here. */
__attribute__((noinline)) static pid_t vfork_session(int conn, const sigset_t *oldmask,
						     const char *session, const char *const *argv,
						     volatile int *err)
{
	/* A function of its own: no caller's variable lives across the vfork. */
	pid_t pid = vfork();
	if (pid == 0)
		session_child(conn, oldmask, session, argv, err);
	return pid;
}

static pid_t spawn_session(int conn, const char *mode, const struct config *c, const char *session,
			   const sigset_t *oldmask)
{
	const char *argv[24];
	build_argv(c, session, mode, argv);
	/* dup2 onto itself would keep close-on-exec: move fd 3 out of the way. */
	int moved = -1;
	if (conn == 3 && (conn = moved = fcntl(3, F_DUPFD_CLOEXEC, 4)) < 0)
		return -1;
	volatile int child_err = 0;
	pid_t pid = vfork_session(conn, oldmask, session, argv, &child_err);
	int e = pid < 0 ? errno : child_err;
	if (moved >= 0)
		close(moved);
	if (pid > 0 && e) /* it could not exec: reap it here, as SIGCHLD's reaper would not know it */
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
	if (e) {
		errno = e;
		return -1;
	}
	return pid;
}

/* A spare session: exec'd, linked and prefaulted ahead of the next
 * connection, so that a connection arriving while commands keep coming
 * skips the session's start-up. It is still one fresh exec per connection
 * (DESIGN §2 rule 5): a spare serves exactly one, and reads config, policy
 * and the peer only once it has it. One is started when the last live
 * session ends; it is dropped after SPARE_IDLE_MS without a connection,
 * so an idle helper is the listener alone. */
#define SPARE_IDLE_MS 10000

struct spare {
	pid_t pid;
	int fd; /* our end of its handoff socket, -1 when there is none */
	int64_t born_ms;
};

static int64_t monotonic_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void spare_drop(struct spare *sp)
{
	/* EOF on its handoff socket ends it (RKT_SPARE_UNUSED_EXIT); SIGCHLD
	 * reaps it. */
	if (sp->fd >= 0)
		close(sp->fd);
	*sp = (struct spare){ .fd = -1 };
}

static pid_t spare_start(struct spare *sp, const struct config *c, const char *session,
			 const sigset_t *oldmask)
{
	int pair[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0)
		return -1;
	pid_t pid = spawn_session(pair[1], "--await-fd=3", c, session, oldmask);
	close(pair[1]);
	if (pid < 0) {
		close(pair[0]);
		return -1;
	}
	*sp = (struct spare){ .pid = pid, .fd = pair[0], .born_ms = monotonic_ms() };
	return pid;
}

/* Passes the accepted connection to the spare (the message waits in its
 * socket if it is still starting); false when there is none or it died,
 * and then the caller starts a session for the connection as usual. */
static bool spare_handoff(struct spare *sp, int conn)
{
	if (sp->fd < 0)
		return false;
	char byte = 'c';
	struct iovec iov = { &byte, 1 };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u = { 0 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			     .msg_controllen = sizeof u.buf };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &conn, sizeof(int));
	bool ok = sendmsg(sp->fd, &mh, MSG_NOSIGNAL) == 1;
	/* Either way this spare is spent: it serves that connection or it died. */
	spare_drop(sp);
	return ok;
}

/* A session logs its own refusals and violations; one killed by a signal
 * (a crash, the OOM killer, an admin) cannot, and its client only sees the
 * connection close, so the listener says it. */
static void report_signalled(pid_t pid, bool spare, int st)
{
	if (WIFSIGNALED(st))
		fprintf(stderr, PROG ": %s pid %d killed by signal %d (%s)\n",
			spare ? "spare session" : "session", (int)pid, WTERMSIG(st),
			strsignal(WTERMSIG(st)));
}

static int serve(int lfd, const struct config *c, const char *session)
{
	sigset_t mask, old;
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, &old);
	int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0) {
		fprintf(stderr, PROG ": signalfd: %s\n", strerror(errno));
		return 1;
	}
	long live = 0;
	struct spare spare = { .fd = -1 };
	for (;;) {
		struct pollfd p[2] = { { sfd, POLLIN, 0 }, { lfd, POLLIN, 0 } };
		int np = live < MAX_SESSIONS ? 2 : 1;
		int timeout = -1;
		if (spare.fd >= 0) {
			int64_t left = spare.born_ms + SPARE_IDLE_MS - monotonic_ms();
			timeout = left > 0 ? (int)left : 0;
		}
		int n = poll(p, (nfds_t)np, timeout);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, PROG ": poll: %s\n", strerror(errno));
			return 1;
		}
		if (n == 0) {
			spare_drop(&spare);
			continue;
		}
		if (p[0].revents & POLLIN) {
			struct signalfd_siginfo si;
			bool stop = false, session_ended = false;
			while (read(sfd, &si, sizeof si) == sizeof si)
				if (si.ssi_signo != SIGCHLD)
					stop = true;
			pid_t pid;
			int st;
			while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
				live--;
				report_signalled(pid, pid == spare.pid, st);
				if (pid == spare.pid)
					spare_drop(&spare);
				else if (!WIFEXITED(st) || WEXITSTATUS(st) != RKT_SPARE_UNUSED_EXIT)
					session_ended = true;
			}
			if (stop)
				return 0;
			/* Only when nothing else runs: a spare's start-up would
			 * take CPU from a session that is serving someone. */
			if (session_ended && spare.fd < 0 && live == 0 &&
			    spare_start(&spare, c, session, &old) > 0)
				live++;
		}
		if (np == 2 && (p[1].revents & POLLIN)) {
			int conn = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
			if (conn < 0) {
				if (errno != EINTR && errno != EAGAIN && errno != ECONNABORTED)
					fprintf(stderr, PROG ": accept: %s\n", strerror(errno));
				continue;
			}
			/* A spare is already counted in live. */
			if (!spare_handoff(&spare, conn)) {
				pid_t pid = spawn_session(conn, "--serve-fd=3", c, session, &old);
				if (pid < 0)
					fprintf(stderr, PROG ": cannot start %s: %s; connection dropped\n",
						session, strerror(errno));
				else
					live++;
			}
			close(conn);
		}
	}
}

int main(int argc, char **argv)
{
	struct config c = { 0 };
	if (parse_args(argc, argv, &c) < 0)
		return 254;
	if (geteuid() != 0) {
		fprintf(stderr, PROG ": must run as root (it is started by systemd or by an admin, never setuid)\n");
		return 254;
	}
	const char *session = session_path();
	if (!session) {
		fprintf(stderr, PROG ": cannot find rkt-privhelper-session beside %s or in %s/rkt\n", argv[0],
			RKT_LIBEXECDIR);
		return 254;
	}
	if (check_config(&c, session) < 0)
		return 254;
	int lfd = c.listen_path ? listen_on_path(&c) : socket_from_systemd();
	if (lfd < 0)
		return 254;
	int r = seccomp_floor_install();
	if (r < 0) {
		fprintf(stderr, PROG ": installing the seccomp floor: %s\n", strerror(-r));
		goto fail;
	}
	r = drop_own_capabilities();
	if (r < 0) {
		fprintf(stderr, PROG ": dropping capabilities: %s\n", strerror(-r));
		goto fail;
	}
	fprintf(stderr, PROG ": listening on %s\n", c.listen_path ? c.listen_path : "the socket from systemd (fd 3)");
	r = serve(lfd, &c, session);
	if (c.listen_path)
		unlink(c.listen_path);
	return r;
fail:
	if (c.listen_path)
		unlink(c.listen_path);
	return 254;
}
