/* From appc isolators to what the ns flavor enforces for one app
 * (reference/appc-oci.md §5, rkt-behaviour.md §7.3-7.4). Pure: no syscalls,
 * so every rule is unit-tested. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"
#include "common/manifest.h"
#include "stage1/seccomp.h"

/* rkt's default bounding set: the 14 appc capabilities. */
extern const int stage1_default_caps[];

struct stage1_flags {
	bool disable_caps;    /* --disable-capabilities-restriction */
	bool disable_seccomp; /* --disable-seccomp */
};

struct stage1_settings {
	uint64_t caps;     /* bounding set, bit n = capability n */
	bool caps_all;     /* keep the whole bounding set */
	struct s1_seccomp seccomp;
	bool no_new_privs; /* before rkt's non-root rule (stage1_needs_nnp) */
	bool has_oom_score_adj;
	int oom_score_adj;
	int64_t memory_limit;    /* bytes, -1 = none */
	int64_t cpu_limit_milli; /* -1 = none */
	int64_t cpu_shares;      /* -1 = none */
};

/* Image isolators first; a kind the pod app names replaces the image's
 * isolators of that kind (capabilities retain/remove count as one kind, and
 * so do seccomp retain/remove), the way rkt's CLI flags replace them. */
int stage1_settings_build(const struct appc_isolator *image, size_t n_image,
			  const struct appc_isolator *pod, size_t n_pod,
			  const struct stage1_flags *flags, struct stage1_settings *ret,
			  struct rkt_err *err);
void stage1_settings_done(struct stage1_settings *s);
/* rkt forces no_new_privs on a non-root app that runs under a filter. */
bool stage1_needs_nnp(const struct stage1_settings *s, uid_t uid);
/* "CAP_NET_ADMIN" -> 12; -EINVAL when unknown. */
int stage1_cap_parse(const char *name, int *ret);
