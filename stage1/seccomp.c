#include "stage1/seccomp.h"

#include <errno.h>
#include <seccomp.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/util.h"

int seccomp_errno_parse(const char *name, int *ret)
{
	if (!name || !*name) {
		*ret = 0;
		return 0;
	}
	for (int e = 1; e < 4096; e++) {
		const char *n = strerrorname_np(e);
		if (n && strcmp(n, name) == 0) {
			*ret = e;
			return 0;
		}
	}
	return -EINVAL;
}

static char **add_unique(char **v, const char *name)
{
	return strv_contains(v, name) ? v : strv_append(v, name);
}

static char **add_list(char **v, const char *const *list)
{
	for (; *list; list++)
		v = add_unique(v, *list);
	return v;
}

void seccomp_default(struct s1_seccomp *ret)
{
	ret->mode = S1_SECCOMP_RETAIN;
	ret->names = add_list(NULL, seccomp_docker_whitelist);
	ret->errno_ret = EPERM;
}

void seccomp_done(struct s1_seccomp *s)
{
	strv_free(s->names);
	s->names = NULL;
	s->mode = S1_SECCOMP_NONE;
}

static bool is(const char *s, const char *group) { return strcmp(s, group) == 0; }

int seccomp_expand(bool retain, char *const *set, const char *errno_name, struct s1_seccomp *ret,
		   struct rkt_err *err)
{
	int e;
	if (seccomp_errno_parse(errno_name, &e) < 0)
		return rkt_error(err, EINVAL, "seccomp: unknown errno \"%s\"", errno_name);
	_cleanup_strv_ char **names = NULL;
	for (char *const *p = set; p && *p; p++) {
		const char *s = *p;
		if (is(s, "@appc.io/all")) {
			if (retain) {
				ret->mode = S1_SECCOMP_NONE;
				ret->names = NULL;
				ret->errno_ret = 0;
				return 0;
			}
		} else if (is(s, "@rkt/default-whitelist") || is(s, "@docker/default-whitelist")) {
			names = add_list(names, seccomp_docker_whitelist);
		} else if (is(s, "@rkt/default-blacklist") || is(s, "@docker/default-blacklist")) {
			names = add_list(names, seccomp_docker_blacklist);
		} else if (s[0] == '@') {
			/* @appc.io/empty adds nothing; unknown groups are skipped (appc). */
		} else if (seccomp_syscall_resolve_name(s) == __NR_SCMP_ERROR) {
			return rkt_error(err, EINVAL, "seccomp: unknown syscall \"%s\"", s);
		} else {
			names = add_unique(names, s);
		}
	}
	if (!retain && !names) {
		seccomp_default(ret);
		return 0;
	}
	ret->mode = retain ? S1_SECCOMP_RETAIN : S1_SECCOMP_REMOVE;
	ret->names = names ? TAKE_PTR(names) : xcalloc(1, sizeof(char *));
	ret->errno_ret = e;
	return 0;
}

static int add_rule(scmp_filter_ctx ctx, uint32_t act, const char *name, struct rkt_err *err)
{
	int nr = seccomp_syscall_resolve_name(name);
	if (nr == __NR_SCMP_ERROR)
		return 0; /* a group member this architecture does not have */
	int r = seccomp_rule_add(ctx, act, nr, 0);
	/* -EACCES/-EEXIST: the rule equals the default action or repeats. */
	if (r < 0 && r != -EACCES && r != -EEXIST && r != -EDOM)
		return rkt_error_errno(err, -r, "seccomp: rule for %s", name);
	return 0;
}

int seccomp_apply(const struct s1_seccomp *s, struct rkt_err *err)
{
	if (s->mode == S1_SECCOMP_NONE)
		return 0;
	bool retain = s->mode == S1_SECCOMP_RETAIN;
	uint32_t deny = s->errno_ret ? SCMP_ACT_ERRNO((uint32_t)s->errno_ret) : SCMP_ACT_KILL_PROCESS;
	scmp_filter_ctx ctx = seccomp_init(retain ? deny : SCMP_ACT_ALLOW);
	if (!ctx)
		return rkt_error(err, ENOMEM, "seccomp: cannot create a filter");
	/* no_new_privs is the caller's decision (rkt's rules), not libseccomp's. */
	int r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
	if (r < 0)
		r = rkt_error_errno(err, -r, "seccomp: filter attribute");
	for (char **p = s->names; r >= 0 && *p; p++)
		r = add_rule(ctx, retain ? SCMP_ACT_ALLOW : deny, *p, err);
	/* glibc falls back from clone3 to clone only on ENOSYS, so an allowlist
	 * without clone3 answers ENOSYS, as Docker's profile does. */
	if (r >= 0 && retain && !strv_contains(s->names, "clone3"))
		r = add_rule(ctx, SCMP_ACT_ERRNO(ENOSYS), "clone3", err);
#if defined(__SANITIZE_ADDRESS__)
	for (const char *const *p = seccomp_sanitizer_extra; r >= 0 && retain && *p; p++)
		if (!strv_contains(s->names, *p))
			r = add_rule(ctx, SCMP_ACT_ALLOW, *p, err);
#endif
	if (r >= 0) {
		r = seccomp_load(ctx);
		if (r < 0)
			r = rkt_error_errno(err, -r, "seccomp: loading the filter");
	}
	seccomp_release(ctx);
	return r < 0 ? r : 0;
}
