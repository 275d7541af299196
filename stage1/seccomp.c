#include "stage1/seccomp.h"

#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

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

/* ---- the filter, built directly ----------------------------------------
 * libseccomp's rule database costs milliseconds of CPU per app start for
 * the default allowlist (hundreds of rules, in a fresh process each time);
 * a flat list of syscall numbers needs none of it. The program is the one
 * libseccomp emits for a native-only filter without argument rules: a
 * foreign architecture (and, on x86_64, an x32 call) is killed, each listed
 * syscall takes its action, everything else the default action. */

#if defined(__x86_64__)
#define NATIVE_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define NATIVE_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif

#ifdef NATIVE_AUDIT_ARCH
#define X32_SYSCALL_BIT 0x40000000u
#define CHUNK_MAX 250 /* jeq jumps are 8-bit: a shared return every CHUNK_MAX */

struct rule {
	uint32_t nr, action;
};

static int rule_cmp(const void *a, const void *b)
{
	const struct rule *x = a, *y = b;
	if (x->action != y->action)
		return x->action < y->action ? -1 : 1;
	return x->nr < y->nr ? -1 : x->nr > y->nr;
}

static void push(struct rule **v, size_t *n, size_t *cap, uint32_t nr, uint32_t action)
{
	for (size_t i = 0; i < *n; i++)
		if ((*v)[i].nr == nr)
			return; /* the first rule for a syscall wins, as in libseccomp */
	if (*n == *cap) {
		*cap = *cap ? 2 * *cap : 64;
		*v = xrealloc(*v, *cap * sizeof **v);
	}
	(*v)[(*n)++] = (struct rule){ nr, action };
}

static void add_named(struct rule **v, size_t *n, size_t *cap, const char *name, uint32_t action,
		      uint32_t dflt)
{
	int nr = seccomp_syscall_resolve_name(name);
	/* Unknown here or another architecture's pseudo-number: no rule, as
	 * libseccomp; a rule equal to the default action changes nothing. */
	if (nr < 0 || action == dflt)
		return;
	push(v, n, cap, (uint32_t)nr, action);
}

static void emit(struct sock_filter **p, size_t *len, struct sock_filter f)
{
	*p = xrealloc(*p, (*len + 1) * sizeof **p);
	(*p)[(*len)++] = f;
}

int seccomp_build(const struct s1_seccomp *s, struct sock_fprog *ret)
{
	bool retain = s->mode == S1_SECCOMP_RETAIN;
	uint32_t deny = s->errno_ret ? SECCOMP_RET_ERRNO | ((uint32_t)s->errno_ret & SECCOMP_RET_DATA)
				     : SECCOMP_RET_KILL_PROCESS;
	uint32_t dflt = retain ? deny : SECCOMP_RET_ALLOW;
	struct rule *v = NULL;
	size_t n = 0, cap = 0;
	for (char **q = s->names; q && *q; q++)
		add_named(&v, &n, &cap, *q, retain ? SECCOMP_RET_ALLOW : deny, dflt);
	/* glibc falls back from clone3 to clone only on ENOSYS, so an allowlist
	 * without clone3 answers ENOSYS, as Docker's profile does. */
	if (retain && !strv_contains(s->names, "clone3"))
		add_named(&v, &n, &cap, "clone3", SECCOMP_RET_ERRNO | ENOSYS, dflt);
#if defined(__SANITIZE_ADDRESS__)
	for (const char *const *q = seccomp_sanitizer_extra; retain && *q; q++)
		add_named(&v, &n, &cap, *q, SECCOMP_RET_ALLOW, dflt);
#endif
	if (n)
		qsort(v, n, sizeof *v, rule_cmp);
	struct sock_filter *p = NULL;
	size_t len = 0;
	emit(&p, &len, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)));
	emit(&p, &len, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NATIVE_AUDIT_ARCH, 1, 0));
	emit(&p, &len, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS));
	emit(&p, &len, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)));
#if defined(__x86_64__)
	/* x32 calls share the arch value: anything with the x32 bit but -1
	 * (which ptracers use to skip a call) is killed like a foreign arch. */
	emit(&p, &len, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, X32_SYSCALL_BIT, 0, 2));
	emit(&p, &len, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, UINT32_MAX, 1, 0));
	emit(&p, &len, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS));
#endif
	for (size_t i = 0; i < n;) {
		/* A run of one action: k jeqs jumping to one shared return. */
		size_t k = 0;
		while (i + k < n && k < CHUNK_MAX && v[i + k].action == v[i].action)
			k++;
		for (size_t j = 0; j < k; j++)
			emit(&p, &len, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, v[i + j].nr,
								   (uint8_t)(k - j), 0));
		emit(&p, &len, (struct sock_filter)BPF_STMT(BPF_JMP | BPF_JA, 1));
		emit(&p, &len, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, v[i].action));
		i += k;
	}
	emit(&p, &len, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, dflt));
	free(v);
	if (len > BPF_MAXINSNS) {
		free(p);
		return -E2BIG;
	}
	*ret = (struct sock_fprog){ .len = (unsigned short)len, .filter = p };
	return 0;
}

int seccomp_apply(const struct s1_seccomp *s, struct rkt_err *err)
{
	if (s->mode == S1_SECCOMP_NONE)
		return 0;
	struct sock_fprog prog;
	int r = seccomp_build(s, &prog);
	if (r < 0)
		return rkt_error_errno(err, -r, "seccomp: building the filter");
	/* Flags 0, as libseccomp without TSYNC: this thread, which execs next. */
	r = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
	if (r < 0 && errno == ENOSYS)
		r = prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog);
	if (r < 0)
		r = rkt_error_errno(err, errno, "seccomp: loading the filter");
	free(prog.filter);
	return r < 0 ? r : 0;
}

#else /* no NATIVE_AUDIT_ARCH: libseccomp builds the filter */

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
#endif
