/* The pod directory as the ns flavor reads it (reference/rkt-behaviour.md
 * §2.2): `pod` (runtime pod manifest), `appsinfo/<app>/manifest` (image
 * manifest) and `stage1/rootfs/opt/stage2/<app>/rootfs`. Everything is
 * parsed and checked before any namespace or cgroup exists. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"
#include "common/manifest.h"
#include "stage1/isolators.h"
#include "stage1/volumes.h"

struct stage1_app {
	const char *name;
	struct image_manifest *image;
	char *const *exec; /* borrowed from a manifest */
	const char *user, *group;
	const char *workdir;
	const uint32_t *supp_gids;
	size_t n_supp_gids;
	char **env; /* "KEY=value", NULL-terminated */
	struct stage1_settings settings;
	char *rootfs;   /* absolute */
	char **cg_procs; /* cgroup.procs files the app joins */
	/* volumes (stage1/volumes.h) */
	struct s1_mount *mounts;
	size_t n_mounts;
	bool read_only_rootfs;
	/* runtime state, kept by the pod's PID 1 */
	pid_t pid;
	bool running, stopped_by_us;
	int status;
};

struct stage1_pod {
	struct pod_manifest *manifest;
	struct stage1_app *apps;
	size_t n_apps;
};

int stage1_pod_load(int podfd, const char *podpath, const struct stage1_flags *flags,
		    struct stage1_pod *ret, struct rkt_err *err);
void stage1_pod_free(struct stage1_pod *pod);

/* The app's environment: PATH and rkt's SHELL/USER/LOGNAME/HOME defaults,
 * AC_APP_NAME, then the image's variables, then the pod app's (later wins). */
char **stage1_build_env(const char *app, const struct appc_kv *image_env, size_t n_image,
			const struct appc_kv *pod_env, size_t n_pod);
/* Value of key in a "KEY=value" vector, or NULL. */
const char *stage1_env_get(char *const *env, const char *key);
