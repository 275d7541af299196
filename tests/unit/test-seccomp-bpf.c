/* stage1's own seccomp program (seccomp_build) against the one libseccomp
 * makes from the same rules: both are run through a small BPF interpreter
 * for every syscall number, x32 numbers and a foreign architecture, and
 * must give the same verdict. Then the loaded filter is tried for real in
 * a child. */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/util.h"
#include "stage1/seccomp.h"

#if defined(__x86_64__) || defined(__aarch64__)

#if defined(__x86_64__)
#define ARCH AUDIT_ARCH_X86_64
#else
#define ARCH AUDIT_ARCH_AARCH64
#endif

/* The subset of classic BPF a seccomp program of either builder uses. */
static uint32_t run_bpf(const struct sock_filter *p, size_t len, const struct seccomp_data *d)
{
	uint32_t a = 0;
	for (size_t pc = 0; pc < len; pc++) {
		const struct sock_filter *f = &p[pc];
		switch (f->code) {
		case BPF_LD | BPF_W | BPF_ABS:
			assert_true(f->k + 4 <= sizeof *d);
			memcpy(&a, (const char *)d + f->k, 4);
			break;
		case BPF_JMP | BPF_JEQ | BPF_K:
			pc += a == f->k ? f->jt : f->jf;
			break;
		case BPF_JMP | BPF_JGE | BPF_K:
			pc += a >= f->k ? f->jt : f->jf;
			break;
		case BPF_JMP | BPF_JGT | BPF_K:
			pc += a > f->k ? f->jt : f->jf;
			break;
		case BPF_JMP | BPF_JA:
			pc += f->k;
			break;
		case BPF_RET | BPF_K:
			return f->k;
		default:
			fail_msg("unexpected BPF opcode 0x%x at %zu", f->code, pc);
		}
	}
	fail_msg("the program fell off its end");
	return 0;
}

static void add(scmp_filter_ctx ctx, uint32_t act, const char *name)
{
	int nr = seccomp_syscall_resolve_name(name);
	if (nr != __NR_SCMP_ERROR)
		(void)seccomp_rule_add(ctx, act, nr, 0);
}

/* The filter the stage1 loaded before it built its own. */
static struct sock_filter *reference(const struct s1_seccomp *s, size_t *len)
{
	bool retain = s->mode == S1_SECCOMP_RETAIN;
	uint32_t deny = s->errno_ret ? SCMP_ACT_ERRNO((uint32_t)s->errno_ret) : SCMP_ACT_KILL_PROCESS;
	scmp_filter_ctx ctx = seccomp_init(retain ? deny : SCMP_ACT_ALLOW);
	assert_non_null(ctx);
	for (char **p = s->names; *p; p++)
		add(ctx, retain ? SCMP_ACT_ALLOW : deny, *p);
	if (retain && !strv_contains(s->names, "clone3"))
		add(ctx, SCMP_ACT_ERRNO(ENOSYS), "clone3");
#if defined(__SANITIZE_ADDRESS__)
	for (const char *const *p = seccomp_sanitizer_extra; retain && *p; p++)
		if (!strv_contains(s->names, *p))
			add(ctx, SCMP_ACT_ALLOW, *p);
#endif
	int fd = memfd_create("bpf", MFD_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(seccomp_export_bpf(ctx, fd), 0);
	seccomp_release(ctx);
	off_t n = lseek(fd, 0, SEEK_END);
	assert_true(n > 0 && n % sizeof(struct sock_filter) == 0);
	struct sock_filter *p = xmalloc((size_t)n);
	assert_int_equal(pread(fd, p, (size_t)n, 0), n);
	close(fd);
	*len = (size_t)n / sizeof *p;
	return p;
}

/* libseccomp kills a thread for a foreign arch, ours the process: both kill. */
static uint32_t verdict(uint32_t r)
{
	uint32_t act = r & SECCOMP_RET_ACTION_FULL;
	return act == SECCOMP_RET_KILL_THREAD || act == SECCOMP_RET_KILL_PROCESS ? 0 : r;
}

static void compare(const struct s1_seccomp *s)
{
	size_t rlen;
	struct sock_filter *ref = reference(s, &rlen);
	struct sock_fprog ours;
	assert_int_equal(seccomp_build(s, &ours), 0);
	static const uint32_t extra[] = { 0x40000000u, 0x40000001u, 0x40000200u, 0x7fffffffu,
					  0xfffffffeu, 0xffffffffu };
	for (int a = 0; a < 2; a++) {
		struct seccomp_data d = { .arch = a ? AUDIT_ARCH_I386 : ARCH };
		for (uint32_t i = 0; i < 1024 + sizeof extra / sizeof extra[0]; i++) {
			d.nr = (int)(i < 1024 ? i : extra[i - 1024]);
			uint32_t want = verdict(run_bpf(ref, rlen, &d));
			uint32_t got = verdict(run_bpf(ours.filter, ours.len, &d));
			if (want != got)
				fail_msg("arch %#x nr %#x: libseccomp %#x, ours %#x", d.arch, (unsigned)d.nr,
					 want, got);
		}
	}
	free(ref);
	free(ours.filter);
}

static void test_default_allowlist(void **state)
{
	(void)state;
	struct s1_seccomp s = { 0 };
	seccomp_default(&s);
	compare(&s);
	/* and the verdicts themselves, so the comparison is not vacuous */
	struct sock_fprog ours;
	assert_int_equal(seccomp_build(&s, &ours), 0);
	struct seccomp_data d = { .nr = SYS_read, .arch = ARCH };
	assert_int_equal(run_bpf(ours.filter, ours.len, &d), SECCOMP_RET_ALLOW);
	d.nr = SYS_acct;
	assert_int_equal(run_bpf(ours.filter, ours.len, &d), SECCOMP_RET_ERRNO | EPERM);
	d.nr = SYS_clone3;
	assert_int_equal(run_bpf(ours.filter, ours.len, &d), SECCOMP_RET_ERRNO | ENOSYS);
	d.arch = AUDIT_ARCH_I386;
	d.nr = SYS_read;
	assert_int_equal(run_bpf(ours.filter, ours.len, &d), SECCOMP_RET_KILL_PROCESS);
	free(ours.filter);
	seccomp_done(&s);
}

static void test_expanded_sets(void **state)
{
	(void)state;
	struct {
		bool retain;
		const char *set[4];
		const char *err;
	} cases[] = {
		{ false, { "@rkt/default-blacklist" }, "" },
		{ false, { "@rkt/default-blacklist", "reboot", "clone3" }, "ENOSYS" },
		{ true, { "read", "write", "exit_group" }, "EXFULL" },
		{ true, { "@docker/default-whitelist", "clone3" }, "" },
		{ false, { "mkdir", "rmdir", "mkdir" }, "EPERM" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct s1_seccomp s = { 0 };
		struct rkt_err err = { 0 };
		assert_int_equal(seccomp_expand(cases[i].retain, (char *const *)cases[i].set,
						cases[i].err, &s, &err),
				 0);
		compare(&s);
		seccomp_done(&s);
	}
}

/* In a child: the default filter lets getpid through and refuses a call
 * outside the allowlist with EPERM; a removed call with SIGSYS. */
static void test_loaded(void **state)
{
	(void)state;
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct s1_seccomp s = { 0 };
		struct rkt_err err = { 0 };
		seccomp_default(&s);
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || seccomp_apply(&s, &err) < 0)
			_exit(10);
		if (syscall(SYS_getpid) != getpid())
			_exit(11);
		/* acct(2) is not on Docker's allowlist */
		if (syscall(SYS_acct, NULL) != -1 || errno != EPERM)
			_exit(12);
		_exit(0);
	}
	int ws;
	assert_int_equal(waitpid(pid, &ws, 0), pid);
	assert_true(WIFEXITED(ws));
	assert_int_equal(WEXITSTATUS(ws), 0);

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct s1_seccomp s = { 0 };
		struct rkt_err err = { 0 };
		char *set[] = { "getppid", NULL };
		if (seccomp_expand(false, set, "", &s, &err) < 0 ||
		    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || seccomp_apply(&s, &err) < 0)
			_exit(10);
		syscall(SYS_getppid);
		_exit(13);
	}
	assert_int_equal(waitpid(pid, &ws, 0), pid);
	assert_true(WIFSIGNALED(ws));
	assert_int_equal(WTERMSIG(ws), SIGSYS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_allowlist),
		cmocka_unit_test(test_expanded_sets),
		cmocka_unit_test(test_loaded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

#else

int main(void)
{
	return 0;
}

#endif
