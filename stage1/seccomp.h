/* Seccomp isolators (reference/rkt-behaviour.md §7.4): group expansion
 * (pure, unit-tested) and the filter itself (libseccomp), loaded as the
 * last step before an app's execve. */
#pragma once
#include <stdbool.h>

#include "common/err.h"

enum s1_seccomp_mode {
	S1_SECCOMP_NONE,   /* no filter */
	S1_SECCOMP_RETAIN, /* allowlist: names allowed, the rest denied */
	S1_SECCOMP_REMOVE, /* blocklist: names denied, the rest allowed */
};

struct s1_seccomp {
	enum s1_seccomp_mode mode;
	char **names;  /* NULL-terminated syscall names, no groups left */
	int errno_ret; /* 0: a denied call kills the process with SIGSYS */
};

extern const char *const seccomp_docker_whitelist[];
extern const char *const seccomp_docker_blacklist[];
extern const char *const seccomp_sanitizer_extra[];

/* rkt's default: @rkt/default-whitelist; calls outside it fail with EPERM
 * as in the Docker profile the list comes from. */
void seccomp_default(struct s1_seccomp *ret);
/* Expands an isolator's set: @appc.io/all (retain: no filter),
 * @appc.io/empty (remove: the default), @rkt/ and @docker/
 * default-{whitelist,blacklist}; other groups are skipped as rkt does.
 * errno_name is "" or NULL for SIGSYS, else "EXFULL" style. */
int seccomp_expand(bool retain, char *const *set, const char *errno_name, struct s1_seccomp *ret,
		   struct rkt_err *err);
/* "EXFULL" -> EXFULL; -EINVAL for an unknown name. */
int seccomp_errno_parse(const char *name, int *ret);
void seccomp_done(struct s1_seccomp *s);
/* Builds and loads the filter into the calling thread. Needs no_new_privs
 * or CAP_SYS_ADMIN. */
int seccomp_apply(const struct s1_seccomp *s, struct rkt_err *err);
struct sock_fprog;
/* The BPF program seccomp_apply loads (heap filter array, the caller frees
 * it); -E2BIG past the kernel's size limit. Not built on architectures
 * whose filter is left to libseccomp. */
int seccomp_build(const struct s1_seccomp *s, struct sock_fprog *ret);
