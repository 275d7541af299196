#include "floor.h"

#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

/* A hand-written filter keeps the listener free of libseccomp (it links libc
 * alone). The list is short on purpose: it is a floor under every pod, and
 * each pod's own filter (the strict one) comes last, just before execve. */
#define DENY_NR(nr)                                                                   \
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1),                              \
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA))

int seccomp_floor_install(void)
{
	struct sock_filter insns[] = {
		/* Any other architecture (i386 compat here is disabled anyway) is refused. */
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		/* x32 syscall numbers alias the 64-bit ones: refuse the whole range. */
		BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000u, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
		DENY_NR(__NR_init_module),
		DENY_NR(__NR_finit_module),
		DENY_NR(__NR_delete_module),
		DENY_NR(__NR_kexec_load),
		DENY_NR(__NR_kexec_file_load),
		DENY_NR(__NR_swapon),
		DENY_NR(__NR_swapoff),
		DENY_NR(__NR_acct),
		DENY_NR(__NR_iopl),
		DENY_NR(__NR_ioperm),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof insns / sizeof insns[0], .filter = insns };
	/* Without no_new_privs (which pods must not inherit) this needs
	 * CAP_SYS_ADMIN, which the listener still has at this point. */
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) < 0)
		return -errno;
	return 0;
}
