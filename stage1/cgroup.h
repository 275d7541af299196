/* Per-pod cgroups on cgroup v1 (reference/platform-recipes.md §6): one
 * directory rkt-<uuid> beneath the caller's own cgroup in every mounted v1
 * hierarchy, and per-app children where an app has memory or cpu limits.
 * The pod's cgroups go when the pod exits. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/err.h"
#include "stage1/isolators.h"

struct s1_cgroup_hier {
	char *controllers; /* as /proc/self/cgroup names them: "memory", "name=systemd" */
	char *own;         /* the caller's cgroup directory in this hierarchy */
	char *pod;         /* own/rkt-<uuid>, once created */
};

struct s1_cgroups {
	struct s1_cgroup_hier *h;
	size_t n;
	char **app_dirs; /* created per-app directories, removed before the pod's */
};

/* Pure: the v1 hierarchies from /proc/self/cgroup and /proc/self/mountinfo
 * text (the unified v2 line "0::" is skipped). */
int cgroup_parse(const char *proc_cgroup, const char *mountinfo, struct s1_cgroups *ret,
		 struct rkt_err *err);
/* Reads the two files and creates rkt-<uuid> in every hierarchy where
 * mkdir works; hierarchies where it does not are dropped from cg. */
int cgroup_pod_create(const char *uuid, struct s1_cgroups *cg, struct rkt_err *err);
/* The hierarchy holding controller ("memory", "cpu"), or NULL. */
struct s1_cgroup_hier *cgroup_find(struct s1_cgroups *cg, const char *controller);
/* Moves pid into every pod directory. */
int cgroup_pod_join(struct s1_cgroups *cg, pid_t pid, struct rkt_err *err);
/* Creates <pod>/<app> where the settings limit memory or cpu, writes the
 * limits and appends each directory's cgroup.procs path to *procs.
 * A limit whose controller is not mounted sets *missing to its name. */
int cgroup_app_create(struct s1_cgroups *cg, const char *app, const struct stage1_settings *s,
		      char ***procs, const char **missing, struct rkt_err *err);
/* Writes "0" (the caller) into a cgroup.procs file. */
int cgroup_join_self(const char *procs_file, struct rkt_err *err);
/* Removes app and pod directories (the pod's processes must be gone). */
void cgroup_pod_destroy(struct s1_cgroups *cg);
void cgroup_free(struct s1_cgroups *cg);
