/* Run functions of the commands rkt implements itself (one file each). */
#pragma once
#include <stdint.h>

#include "ipc/ipc.h"
#include "unpriv/cli/cli.h"
#include "common/podstate.h"
#include "unpriv/cli/podargs.h"

extern const struct command rkt_commands[];

int cmd_version(const struct command *cmd, char **args, struct rkt_err *err);
int cmd_help(const struct command *cmd, char **args, struct rkt_err *err);
extern const struct flag_spec cmd_config_flags[];
int cmd_config(const struct command *cmd, char **args, struct rkt_err *err);
/* image list/rm/cat-manifest/export/gc (image_*.c): the store's own commands. */
extern const struct flag_spec image_list_flags[];
extern const struct flag_spec image_cat_manifest_flags[];
extern const struct flag_spec image_export_flags[];
extern const struct flag_spec image_gc_flags[];
int cmd_image_list(const struct command *cmd, char **args, struct rkt_err *err);
int cmd_image_rm(const struct command *cmd, char **args, struct rkt_err *err);
int cmd_image_cat_manifest(const struct command *cmd, char **args, struct rkt_err *err);
int cmd_image_export(const struct command *cmd, char **args, struct rkt_err *err);
int cmd_image_gc(const struct command *cmd, char **args, struct rkt_err *err);
/* Pods read from <dir>/pods (group rkt may read it; status.c holds the
 * readers list and cat-manifest share). */
struct pod_app_info {
	char *name, *image_name, *image_id; /* image_name is name[:version] */
	bool exited;
	int exit_code;
};
struct pod_info {
	char uuid[POD_UUID_LEN + 1];
	enum pod_state state;
	int dirfd;                  /* pods/<state>/<uuid> */
	int64_t created_ns, started_ns; /* 0 when unknown */
	int pid;                    /* -1 when no pid/ppid file */
	struct json_t *manifest;    /* parsed <pod>/pod, NULL when unreadable */
	struct pod_app_info *apps;
	size_t n_apps;
	struct json_t *nets;        /* net-info.json array, NULL when absent */
};
int pods_dir_open(int *ret_fd, struct rkt_err *err);
/* The UUID argument (or --uuid-file's content), resolved as rkt does. */
int pod_resolve(int pods_fd, const char *arg, struct pod_info *ret, struct rkt_err *err);
int pod_info_load(int pods_fd, const char *uuid, enum pod_state st, struct pod_info *ret,
		  struct rkt_err *err);
void pod_info_done(struct pod_info *p);
struct json_t *pod_info_json(const struct pod_info *p);
/* "name:ip4=A.B.C.D, ..." as rkt's fmtNets. */
char *pod_nets_text(const struct pod_info *p);
/* Prints a JSON value as Go's json.Marshal / MarshalIndent(v, "", "\t"). */
int pod_json_print(struct json_t *v, bool pretty, struct rkt_err *err);
/* Reads the UUID saved by --uuid-file-save; one line on stderr and exit 1
 * is rkt's answer when it cannot. */
int pod_read_uuid_file(const char *path, char **ret, struct rkt_err *err);
extern const struct flag_spec cmd_status_flags[];
extern const struct flag_spec cmd_list_flags[];
extern const struct flag_spec cmd_cat_manifest_flags[];
int cmd_status(const struct command *cmd, char **args, struct rkt_err *err);
int cmd_list(const struct command *cmd, char **args, struct rkt_err *err);
int cmd_cat_manifest(const struct command *cmd, char **args, struct rkt_err *err);
/* rkt prepare (prepare.c): image and per-app flags of unpriv/cli/podargs.h. */
int cmd_prepare(const struct command *cmd, char **args, struct rkt_err *err);
/* Shared with run.c: the flavor name the helper records, and the runtime
 * pod manifest built from the arguments (images resolved as the user). */
int prepare_stage1_flavor(const struct podargs *pa, char **ret, struct rkt_err *err);
int prepare_manifest_json(const struct podargs *pa, char **ret, struct rkt_err *err);
/* Only what changes the pod goes to the helper; fetch-time options
 * (tls, http, pubkey) were used by rkt-fetch and stay here. */
#define INSECURE_FOR_HELPER (INSECURE_IMAGE | INSECURE_CAPABILITIES | INSECURE_PATHS | INSECURE_SECCOMP)
/* The wire carries rkt's --insecure-options bits as they are. */
#define INSECURE_SAME_BIT(x) ((unsigned)INSECURE_##x == (unsigned)IPC_INSECURE_##x)
_Static_assert(INSECURE_SAME_BIT(IMAGE) && INSECURE_SAME_BIT(TLS) && INSECURE_SAME_BIT(ONDISK) &&
		       INSECURE_SAME_BIT(HTTP) && INSECURE_SAME_BIT(PUBKEY) &&
		       INSECURE_SAME_BIT(CAPABILITIES) && INSECURE_SAME_BIT(PATHS) &&
		       INSECURE_SAME_BIT(SECCOMP),
	       "enum insecure_opt and enum ipc_insecure must agree");
/* run_prepared.c, run.c: the run-only flags and the event stream of a
 * running pod (returns the pod's exit status, or a negative errno). */
struct ipc_msg;
struct run_opts {
	char **net, **dns, **dns_search, **dns_opt, **hosts_entry;
	char *dns_domain, *hostname;
	bool interactive, mds_register;
};
extern struct run_opts g_run_opts;
extern const struct flag_spec run_only_flags[];
extern struct flag_spec cmd_run_flags[];
int run_check_opts(uint32_t *ret_flags, char *const **ret_nets, struct rkt_err *err);
int run_stream(struct ipc_msg *req, const char *uuid_file_save, struct rkt_err *err);
/* run_stream over a connection ph_connect_begin opened (owned from here;
 * NULL: connect now). */
struct ph_conn;
int run_stream_on(struct ph_conn *early, struct ipc_msg *req, const char *uuid_file_save,
		  struct rkt_err *err);
/* --net, --hostname, --dns*, --hosts-entry into a RUN_REQ or RUN_PREPARED_REQ. */
void run_put_pod_conf(struct ipc_msg *req, char *const *nets);
int cmd_run_prepared(const struct command *cmd, char **args, struct rkt_err *err);
int cmd_run(const struct command *cmd, char **args, struct rkt_err *err);
/* rm.c, gc.c: pod removal and garbage collection through the helper. */
extern const struct flag_spec cmd_rm_flags[];
extern const struct flag_spec cmd_gc_flags[];
int cmd_rm(const struct command *cmd, char **args, struct rkt_err *err);
int cmd_gc(const struct command *cmd, char **args, struct rkt_err *err);
/* stop.c, enter.c: a running pod, through the helper. */
extern const struct flag_spec cmd_stop_flags[];
extern const struct flag_spec cmd_enter_flags[];
int cmd_stop(const struct command *cmd, char **args, struct rkt_err *err);
int cmd_enter(const struct command *cmd, char **args, struct rkt_err *err);
/* One GC_REQ (flags: enum ipc_gc_flag) on its own connection; prints the
 * helper's lines under prefix and counts those that report a failure. */
int gc_request(const char *prefix, uint32_t flags, int64_t grace_ns, int64_t expire_ns,
	       size_t *ret_failures, struct rkt_err *err);
/* Prints an answer's marked lines: stdout ones as they are, the others as
 * "<prefix>: line" on stderr. Returns how many report a failure. */
size_t gc_print_lines(const char *prefix, const char *text);
