/* --private-users for the ns flavor (reference/rkt-behaviour.md
 * "private-users", platform-recipes.md §6 "User namespaces"): the pod's
 * PID 1 gets a user namespace whose root is host uid/gid SHIFT. The host
 * side writes the maps itself (no newuidmap) and makes what PID 1 and its
 * apps must reach before pivot_root reachable for that root. */
#pragma once
#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"
#include "stage1/pod.h"

struct s1_userns {
	uint32_t shift, count; /* count 0: no user namespace */
};

/* "SHIFT:COUNT" as rkt serializes it: SHIFT > 0, 0 < COUNT <= 65536, and
 * the range inside the 32-bit id space. */
int s1_userns_parse(const char *s, struct s1_userns *ret, struct rkt_err *err);
/* Host side, before PID 1 is cloned: status/pids dirs and the apps'
 * cgroup.procs files owned by the range's root, empty volumes shifted into
 * it, and the groups that let the range's root traverse the pod dir's
 * ancestors (the apps drop them with their own supplementary groups). */
int s1_userns_prepare_host(const struct s1_userns *u, int podfd, const char *podpath,
			   const struct stage1_pod *pod, struct rkt_err *err);
/* Host side: /proc/PID/uid_map and gid_map "0 SHIFT COUNT". */
int s1_userns_write_maps(pid_t pid, const struct s1_userns *u, struct rkt_err *err);
/* In PID 1 once the maps exist: uid/gid 0 of the namespace. -1/errno. */
int s1_userns_become_root(void);
