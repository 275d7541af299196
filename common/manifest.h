/* appc image and pod manifests: strict parse + full validation
 * (reference/appc-oci.md §3-5). Every error names the field:
 * "image manifest: field \"app.isolators[2]\" (\"os/linux/oom-score-adj\"): value 1001 out of range -1000..1000".
 * JSON duplicate keys are rejected (no parser differentials between the
 * unprivileged side and the helper); known keys match case-insensitively as
 * in the Go reference (supplementaryGids == supplementaryGIDs); unknown keys
 * are ignored as in the reference. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/appc.h"
#include "common/err.h"

#define MANIFEST_MAX_BYTES (1u << 20) /* 1 MiB, as the IPC memfd bound */

struct appc_kv {
	char *name;
	char *value;
};

struct appc_isolator {
	char *name;
	json_t *value; /* validated; owned */
};

struct appc_mount_point {
	char *name;
	char *path;
	bool read_only;
};

struct appc_port {
	char *name;
	char *protocol;
	unsigned port, count;
	bool socket_activated;
};

struct appc_event_handler {
	char *name; /* pre-start | post-stop */
	char **exec;
};

struct appc_app {
	char **exec; /* NULL-terminated; may be empty */
	char *user, *group;
	uint32_t *supplementary_gids;
	size_t n_supplementary_gids;
	struct appc_event_handler *event_handlers;
	size_t n_event_handlers;
	char *working_directory; /* NULL = "/" */
	struct appc_kv *environment;
	size_t n_environment;
	struct appc_isolator *isolators;
	size_t n_isolators;
	struct appc_mount_point *mount_points;
	size_t n_mount_points;
	struct appc_port *ports;
	size_t n_ports;
};

struct appc_dependency {
	char *image_name;
	char *image_id; /* NULL when absent */
	struct appc_label *labels;
	size_t n_labels;
	uint64_t size; /* 0 when absent */
};

struct image_manifest {
	char *ac_version;
	char *name;
	struct appc_label *labels;
	size_t n_labels;
	struct appc_app *app; /* NULL when absent */
	struct appc_kv *annotations;
	size_t n_annotations;
	struct appc_dependency *dependencies;
	size_t n_dependencies;
	char **path_whitelist; /* NULL-terminated, NULL when absent/empty */
	json_t *json;          /* the whole parsed document (owned) */
};

int image_manifest_parse(const char *data, size_t len, struct image_manifest **ret,
			 struct rkt_err *err);
void image_manifest_free(struct image_manifest *m);
const char *image_manifest_label(const struct image_manifest *m, const char *name);
const char *image_manifest_annotation(const struct image_manifest *m, const char *name);
/* Validates one isolator (name + value) as in the app scope; pod_scope
 * accepts unknown names as the reference does. */
int appc_isolator_validate(const char *name, json_t *value, bool pod_scope, struct rkt_err *err);

struct pod_app_mount {
	char *volume;
	char *path;
};

struct pod_volume {
	char *name;
	char *kind; /* host | empty */
	char *source;
	bool read_only, read_only_set;
	bool recursive, recursive_set;
	char *mode; /* empty: "0755" */
	uint32_t uid, gid;
};

struct pod_app {
	char *name;
	char *image_id;   /* as written in the manifest */
	char *image_name; /* may be NULL */
	struct appc_label *image_labels;
	size_t n_image_labels;
	struct appc_app *app; /* NULL when the image's app is used */
	bool read_only_rootfs;
	struct pod_app_mount *mounts;
	size_t n_mounts;
	struct appc_kv *annotations;
	size_t n_annotations;
};

struct pod_port {
	char *name;
	unsigned host_port;
	char *host_ip; /* may be NULL */
};

struct pod_manifest {
	char *ac_version;
	struct pod_app *apps;
	size_t n_apps;
	struct pod_volume *volumes;
	size_t n_volumes;
	struct appc_isolator *isolators;
	size_t n_isolators;
	struct appc_kv *annotations;
	size_t n_annotations;
	struct pod_port *ports;
	size_t n_ports;
	json_t *json;
};

int pod_manifest_parse(const char *data, size_t len, struct pod_manifest **ret, struct rkt_err *err);
void pod_manifest_free(struct pod_manifest *m);
