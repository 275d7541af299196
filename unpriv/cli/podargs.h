/* rkt's image arguments and per-app flags for `rkt prepare` and `rkt run`
 * (rkt-behaviour.md §1.4, §1.5), and the runtime pod manifest built from
 * them (appc-oci.md §4).
 *
 * Syntax: options precede images (flag parsing stops at the first image);
 * then `IMG [flags for IMG] [-- args] [--- IMG2 ...]`; a trailing `---` may
 * end the last image's args (rkt-behaviour.md §1.3 `[-- args [---]]`). A
 * `---` that ends no args is refused: the reference does not cover it
 * (rkt's parseApps skips it). Per-app flags apply to the preceding image;
 * before any image only --mount is allowed (it then applies to every app).
 * The command's flag table is podargs_flags: cli_main parses the options
 * before the first image into it, and podargs_finish takes the rest. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "common/appc.h"
#include "common/err.h"
#include "unpriv/cli/flags.h"

struct podargs_app {
	char *image; /* the argument as given */
	char **args; /* after "--" (NULL-terminated), NULL when none */
	char *exec;
	char *user, *group;
	char *supplementary_gids; /* "1,2,3" */
	char *name;
	char *working_dir;
	bool readonly_rootfs;
	char **mounts;      /* "volume=V,target=P" */
	char **environment; /* K=V */
	char *signature;
	char *memory, *cpu, *cpu_shares, *oom_score_adj;
	char *caps_retain, *caps_remove;
	char *seccomp;
	char **annotations, **user_annotations, **user_labels; /* K=V */
};

struct podargs {
	struct podargs_app *apps;
	size_t n_apps;
	char **mounts; /* given before any image: every app */
	char **set_env;
	char **set_env_files;
	bool inherit_env;
	char **volumes;
	char **ports;
	char *pod_manifest;
	char *pull_policy; /* never | new | update; default new */
	bool store_only, no_store; /* deprecated: set pull_policy never / update */
	char *stage1_name; /* default "ns" */
	char *stage1_path;
	bool no_overlay, private_users, quiet;
	char *uuid_file_save;
	bool pull_policy_set, stage1_name_set;
};

/* The flags of prepare/run: pod-wide ones and the per-app ones (which, in
 * this table, are those given before the first image). */
extern const struct flag_spec podargs_flags[];

/* Takes the positionals cli_main left (from the first image on) together
 * with what podargs_flags collected, and fills *ret (which owns it all;
 * podargs_done frees it). Errors name the flag or argument. */
int podargs_finish(char **positionals, struct podargs *ret, struct rkt_err *err);
/* Both steps over a whole argv (options first), for tests and callers
 * without cli_main. */
int podargs_parse(int argc, char **argv, struct podargs *ret, struct rkt_err *err);
void podargs_done(struct podargs *pa);

/* --pod-manifest given together with a flag it excludes: rkt's
 * "conflicting flags set with --pod-manifest (see --help)". */
int podargs_check_pod_manifest_conflicts(const struct podargs *pa, struct rkt_err *err);

/* --port with --net=none or host (nets as run sends them): rkt's
 * "--port flag does not work with 'none' networking". */
int podargs_check_ports_net(const struct podargs *pa, char *const *nets, struct rkt_err *err);

/* One resolved image per app: its store key and its manifest as stored. */
struct podargs_image {
	char key[APPC_KEY_LEN + 1];
	char *manifest_json;
};
void podargs_images_free(struct podargs_image *imgs, size_t n);

/* Builds the runtime pod manifest (compact JSON) from the arguments and
 * the images (imgs[i] belongs to pa->apps[i]); host_env is the caller's
 * environment, used only with --inherit-env. Validates every isolator with
 * appc_isolator_validate and the result with pod_manifest_parse; every
 * --port NAME must be declared by exactly one app (rkt's "port name \"N\"
 * could not be found in any apps" / "defined multiple apps"). Duplicate
 * app names are an error ("multiple apps with name X"). */
int podargs_build_manifest(const struct podargs *pa, const struct podargs_image *imgs,
			   char *const *host_env, char **ret_json, struct rkt_err *err);

/* Resolves every app's image in the store of g_opts.dir, fetching it per
 * --pull-policy with rkt-fetch (a child; its stderr passes through, its
 * stdout is the key) when it is missing. *ret has pa->n_apps entries. */
int podargs_resolve_images(const struct podargs *pa, struct podargs_image **ret,
			   struct rkt_err *err);
/* --pod-manifest F: reads F, resolves every app's image id in the store
 * to its full key and returns the manifest as validated JSON. */
int podargs_load_pod_manifest(const char *path, char **ret_json, struct rkt_err *err);
