/* rkt-privhelper-session: started by the listener with --serve-fd=3 for one
 * connection, or with --check-config before the listener binds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/prefault.h"
#include "privhelper/session/session.h"

#define PROG "rkt-privhelper-session"

static int parse(int argc, char **argv, struct session_config *c, int *serve_fd, bool *check)
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

int main(int argc, char **argv)
{
	struct session_config cfg = { 0 };
	int serve_fd = -1;
	bool check = false;
	prefault_process(256 << 10, 64 << 10);
	if (parse(argc, argv, &cfg, &serve_fd, &check) < 0)
		return 254;
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
