/* Pod volumes and app mounts in the ns flavor (reference/appc-oci.md §4,
 * rkt-behaviour.md §10 item 35). The plan is made while the pod dir is
 * loaded; empty volumes are created on the host side before any namespace
 * exists; the binds are made in the app's own mount namespace before
 * pivot_root, with every target resolved beneath the app's rootfs. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/err.h"
#include "common/manifest.h"

struct s1_mount {
	char *target; /* absolute path inside the app */
	char *volume; /* the volume's name (an implicit one is <app>-<mountpoint>) */
	bool host;    /* kind host: source is the admin-approved host path */
	char *source; /* host path, or <pod>/sharedVolumes/<volume> for kind empty */
	bool read_only, recursive;
	mode_t mode; /* kind empty */
	uid_t uid;
	gid_t gid;
};

/* rkt's GenerateMounts: the pod app's mounts[] first (readOnly from the
 * volume if set, else from the same-named mountPoint), then each image
 * mountPoint not already mounted at its path, bound to the same-named
 * volume or else to an implicit empty volume (with a warning). Sorted so
 * a parent path is mounted before what lies beneath it. */
int volumes_plan(const struct pod_manifest *pm, const struct pod_app *pa,
		 const struct image_manifest *im, const char *podpath, struct s1_mount **ret,
		 size_t *n, struct rkt_err *err);
void volumes_free(struct s1_mount *m, size_t n);

/* Creates <pod>/sharedVolumes/<volume> for each empty-kind mount with its
 * mode, uid and gid. */
int volumes_prepare_shared(int podfd, const struct s1_mount *m, size_t n, struct rkt_err *err);

/* Binds every mount into the app rootfs (absolute path). A host source
 * that does not exist sets *missing_source (rkt's "Failed to stat" exit 1). */
int volumes_mount_app(const char *rootfs, const struct s1_mount *m, size_t n,
		      bool *missing_source, struct rkt_err *err);

/* Binds the file src read-only onto target inside rootfs (creating an
 * empty file there if needed). follow: src may be a symlink (a host file
 * the administrator owns, such as /etc/resolv.conf). */
int volumes_bind_file(const char *rootfs, const char *src, bool follow, const char *target,
		      struct rkt_err *err);
