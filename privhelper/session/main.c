/* rkt-privhelper-session: started by the listener with --serve-fd=3 for one
 * connection, as a spare with --await-fd=3 that is handed one, or with
 * --check-config before the listener binds. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/prefault.h"
#include "privhelper/listener/spare.h"
#include "privhelper/session/session.h"

#define PROG "rkt-privhelper-session"

static int parse(int argc, char **argv, struct session_config *c, int *serve_fd, int *await_fd,
		 bool *check)
{
	c->dir = "/var/lib/rkt";
	c->local_config = "/etc/rkt";
	c->system_config = RKT_LIBDIR "/rkt";
	c->policy_path = POLICY_DEFAULT_PATH;
	c->cni_path = "/usr/lib/cni";
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--check-config")) {
			*check = true;
			continue;
		}
		if (!strncmp(a, "--serve-fd=", 11)) {
			*serve_fd = atoi(a + 11);
			continue;
		}
		if (!strncmp(a, "--await-fd=", 11)) {
			*await_fd = atoi(a + 11);
			continue;
		}
		if (i + 1 >= argc) {
			fprintf(stderr, PROG ": option \"%s\" needs a value\n", a);
			return -1;
		}
		const char *v = argv[++i];
		if (!strcmp(a, "--dir"))
			c->dir = v;
		else if (!strcmp(a, "--local-config"))
			c->local_config = v;
		else if (!strcmp(a, "--system-config"))
			c->system_config = v;
		else if (!strcmp(a, "--policy"))
			c->policy_path = v, c->policy_given = true;
		else if (!strcmp(a, "--cni-path"))
			c->cni_path = v;
		else if (!strcmp(a, "--tcti"))
			c->tcti = v;
		else if (!strcmp(a, "--kvm-kernel"))
			c->kvm_kernel = v;
		else {
			fprintf(stderr, PROG ": unknown option \"%s\"\n", a);
			return -1;
		}
	}
	const char *abs[] = { c->dir, c->local_config, c->system_config, c->policy_path };
	for (size_t i = 0; i < sizeof abs / sizeof abs[0]; i++)
		if (abs[i][0] != '/') {
			fprintf(stderr, PROG ": \"%s\" is not an absolute path\n", abs[i]);
			return -1;
		}
	return 0;
}

/* A spare (--await-fd, the listener's spare_start): started ahead of a
 * connection, it waits for the listener to pass one over its handoff
 * socket and serves it on fd 3 exactly as --serve-fd=3 would. Config,
 * policy and the peer are read only after that, so nothing it knows is
 * older than the connection. EOF (the listener dropped it) ends it. */
static int await_connection(int hfd)
{
	char byte;
	struct iovec iov = { &byte, 1 };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			     .msg_controllen = sizeof u.buf };
	ssize_t n;
	do
		n = recvmsg(hfd, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n == 0)
		return -ENOENT;
	struct cmsghdr *cm = n == 1 && !(mh.msg_flags & MSG_CTRUNC) ? CMSG_FIRSTHDR(&mh) : NULL;
	if (!cm || cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS ||
	    cm->cmsg_len != CMSG_LEN(sizeof(int)))
		return -EPROTO;
	int conn;
	memcpy(&conn, CMSG_DATA(cm), sizeof conn);
	close(hfd);
	/* The connection on fd 3, without close-on-exec: as the listener
	 * hands it to a session it starts directly. */
	if (conn != 3 && (dup2(conn, 3) < 0 || close(conn) < 0))
		return -errno;
	return 3;
}

int main(int argc, char **argv)
{
	struct session_config cfg = { 0 };
	int serve_fd = -1, await_fd = -1;
	bool check = false;
	prefault_process(256 << 10, 64 << 10);
	if (parse(argc, argv, &cfg, &serve_fd, &await_fd, &check) < 0)
		return 254;
	if (await_fd >= 0 && !check) {
		/* A spare waits with nothing else to do (spare_start in the
		 * listener, only when no session is live): its first request
		 * should find its code mapped. At most ~3 ms of CPU, once. */
		prefault_code_until(await_fd);
		serve_fd = await_connection(await_fd);
		if (serve_fd == -ENOENT)
			return RKT_SPARE_UNUSED_EXIT;
		if (serve_fd < 0) {
			fprintf(stderr, PROG ": no connection from the listener: %s\n", strerror(-serve_fd));
			return 254;
		}
	}
	struct rkt_err err = { 0 };
	if (session_check_config(&cfg, &err) < 0) {
		fprintf(stderr, "rkt-privhelper: %s\n", err.msg);
		policy_free(cfg.policy);
		return 254;
	}
	if (check || serve_fd < 0) {
		if (!check)
			fprintf(stderr, PROG ": started without --serve-fd; it is run by rkt-privhelper\n");
		policy_free(cfg.policy);
		return check ? 0 : 254;
	}
	/* Nothing is effective before reading a byte from the client; the
	 * operation keeps only what it needs (session_keep_caps, caps.c). */
	if (session_caps_idle() < 0) {
		fprintf(stderr, PROG ": dropping capabilities failed\n");
		policy_free(cfg.policy);
		return 254;
	}
	int rc = session_serve(serve_fd, &cfg);
	policy_free(cfg.policy);
	return rc;
}
