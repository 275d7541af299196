/* The helper's policy (DESIGN §6): who may run pods, and under which
 * constraints. Pure functions over a parsed policy; the helper loads it once
 * at start-up (refusing to start on any error) and checks each request. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"

#define POLICY_DEFAULT_PATH "/etc/rkt-privhelper/policy.json"

enum policy_tpm { POLICY_TPM_OPTIONAL, POLICY_TPM_REQUIRED, POLICY_TPM_OFF };
enum policy_selinux { POLICY_SELINUX_AUTO, POLICY_SELINUX_REQUIRED, POLICY_SELINUX_OFF };

struct policy_rule {
	char **groups; /* names as written, for messages */
	gid_t *gids;
	size_t n_gids;
	bool signed_images_only; /* default true */
	char **stage1;           /* allowed flavors; NULL = none */
	char **host_volumes;     /* absolute path prefixes; NULL = none */
	char **net;              /* allowed nets; NULL = none */
	char **insecure_options; /* allowed rkt insecure options; NULL = none */
	uint64_t max_memory;     /* bytes; 0 = no cap */
	int64_t max_cpu_milli;   /* milli-cores; 0 = no cap */
	long max_pods_per_user;  /* 0 = no cap */
	bool no_new_privileges;  /* force no_new_privs on every app */
	char *max_memory_text, *max_cpu_text;
};

struct policy {
	char *path; /* for messages */
	enum policy_tpm tpm;
	enum policy_selinux selinux;
	struct policy_rule *rules;
	size_t n_rules;
};

/* Resolves a group name to a gid (getgrnam_r in the helper; a table in tests).
 * Returns 0, or -ENOENT for an unknown group. */
typedef int (*policy_group_resolver)(const char *name, gid_t *ret, void *ctx);
int policy_resolve_group_nss(const char *name, gid_t *ret, void *ctx);

/* Strict: rktKind/rktVersion required; unknown keys, duplicate keys, wrong
 * types, bad values are errors naming the file and the key path
 * ("<path>: key \"run[0].maxMemory\": \"2X\" is not a quantity"). */
int policy_parse(const char *json, size_t len, const char *path, policy_group_resolver resolve,
		 void *ctx, struct policy **ret, struct rkt_err *err);
/* Loads path. A missing file gives the default policy only when
 * !must_exist (the default path); a path named with --policy must exist. */
int policy_load_file(const char *path, bool must_exist, policy_group_resolver resolve, void *ctx,
		     struct policy **ret, struct rkt_err *err);
/* rkt's behaviour: no run rules, so only root runs pods. */
struct policy *policy_default(const char *path);
void policy_free(struct policy *p);

struct pod_request {
	uid_t uid;
	const gid_t *gids; /* primary and supplementary, from the kernel */
	size_t n_gids;
	const char *stage1;
	bool signed_images;            /* every image signature-verified */
	char *const *insecure_options; /* names requested, NULL-terminated or NULL */
	char *const *host_volumes;     /* real paths, NULL-terminated or NULL */
	char *const *nets;             /* NULL-terminated or NULL */
	uint64_t memory;               /* requested bytes, 0 = none */
	int64_t cpu_milli;             /* requested, 0 = none */
	long pods_owned;               /* live pods the uid already owns */
};

/* What a granted pod gets: caps from the rule fill unset limits. */
struct pod_limits {
	uint64_t memory;
	int64_t cpu_milli;
	bool no_new_privileges;
	int rule_index; /* -1 for root */
};

/* 0, or -EPERM with "denied by policy: …" naming the rule, the uid and what
 * was asked. Root is always allowed. The first rule whose groups match one
 * of the caller's gids is the one that applies. */
int policy_check_run(const struct policy *p, const struct pod_request *req, struct pod_limits *ret,
		     struct rkt_err *err);
/* Owners act only on their own pods; root on all. op is "rm", "stop", ... */
int policy_check_owner(uid_t owner, uid_t caller, const char *op, const char *uuid,
		       struct rkt_err *err);
/* sshd StrictModes: path and every directory above it up to / are owned by
 * root and not writable by group or others. */
int policy_strict_path_check(const char *path, struct rkt_err *err);
