/* One app's filesystem view, built in the app's own mount namespace:
 * minimal /dev, /proc and /sys with rkt's read-only and masked paths
 * (reference/rkt-behaviour.md §7.5, appc-oci.md §8), then pivot_root.
 * Everything mounted here lives and dies with that namespace. */
#pragma once
#include <stdbool.h>

#include "common/err.h"

struct rootfs_opts {
	const char *path;     /* the app's rootfs directory */
	bool disable_paths;   /* --disable-paths: no masked or read-only /proc paths */
	bool console_tty;     /* bind stdin's terminal as /dev/console */
};

/* Mounts /dev, /proc and /sys under opts->path and pivots into it; cwd
 * is "/" on return. */
int rootfs_setup(const struct rootfs_opts *opts, struct rkt_err *err);
/* After pivot_root: /etc/hostname, /etc/hosts unless the image has one,
 * and /tmp. */
int rootfs_write_etc(const char *hostname, struct rkt_err *err);
