/* Starting one app inside the pod (the child side of the pod's PID 1):
 * its own mount namespace and root, identity, capabilities, no_new_privs,
 * seccomp last, execve. */
#pragma once
#include <stdbool.h>

#include "common/err.h"
#include "stage1/pod.h"

struct app_launch {
	const char *hostname;
	bool interactive;
	bool disable_paths;
	/* --dns-conf-mode (stage1/dns.h): files bound read-only onto each
	 * app's /etc/resolv.conf and /etc/hosts, NULL to leave the image's.
	 * *_follow: a host file of the administrator's, which may be a link. */
	const char *resolv_conf, *hosts;
	bool resolv_follow, hosts_follow;
};

/* Runs in the forked child; never returns. Setup errors go to stderr as
 * one line and the app exits 254. */
__attribute__((noreturn)) void stage1_app_exec(const struct stage1_app *app,
					       const struct app_launch *l);
/* Resolves cmd as rkt does: absolute, relative to the working directory
 * when it holds a '/', else searched in path. -ENOENT when not found. */
int stage1_resolve_exec(const char *cmd, const char *path, char **ret);
