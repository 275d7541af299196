/* stage1: isolators -> settings, seccomp group expansion, environment,
 * exec resolution, exit codes and cgroup v1 discovery. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "stage1/app.h"
#include "stage1/cgroup.h"
#include "stage1/isolators.h"
#include "stage1/pod.h"
#include "stage1/seccomp.h"
#include "stage1/supervise.h"

#define DEFAULT_CAPS 0xa80425fbULL /* rkt's 14, as /proc/self/status shows them */

struct isos {
	struct appc_isolator v[8];
	size_t n;
};

static void add(struct isos *s, const char *name, const char *json)
{
	json_error_t je;
	s->v[s->n].name = (char *)name;
	s->v[s->n].value = json_loads(json, JSON_DECODE_ANY, &je);
	assert_non_null(s->v[s->n].value);
	s->n++;
}

static void release(struct isos *s)
{
	for (size_t i = 0; i < s->n; i++)
		json_decref(s->v[i].value);
	s->n = 0;
}

static int build(struct isos *img, struct isos *pod, const struct stage1_flags *fl,
		 struct stage1_settings *st, struct rkt_err *err)
{
	return stage1_settings_build(img->v, img->n, pod->v, pod->n, fl, st, err);
}

static void test_defaults(void **state)
{
	(void)state;
	struct isos img = { 0 }, pod = { 0 };
	struct stage1_settings st;
	struct rkt_err err = { 0 };
	assert_int_equal(build(&img, &pod, NULL, &st, &err), 0);
	assert_true(st.caps == DEFAULT_CAPS);
	assert_false(st.caps_all);
	assert_int_equal(st.seccomp.mode, S1_SECCOMP_RETAIN);
	assert_int_equal(st.seccomp.errno_ret, EPERM);
	assert_true(strv_contains(st.seccomp.names, "stat"));
	assert_false(strv_contains(st.seccomp.names, "mount"));
	assert_false(strv_contains(st.seccomp.names, "unshare"));
	assert_false(st.no_new_privs);
	assert_false(stage1_needs_nnp(&st, 0));
	assert_true(stage1_needs_nnp(&st, 1000));
	assert_true(st.memory_limit == -1 && st.cpu_limit_milli == -1 && st.cpu_shares == -1);
	assert_false(st.has_oom_score_adj);
	stage1_settings_done(&st);
}

static void test_caps(void **state)
{
	(void)state;
	struct isos img = { 0 }, pod = { 0 };
	struct stage1_settings st;
	struct rkt_err err = { 0 };
	add(&img, "os/linux/capabilities-retain-set", "{\"set\":[\"CAP_NET_ADMIN\"]}");
	assert_int_equal(build(&img, &pod, NULL, &st, &err), 0);
	assert_true(st.caps == 1ULL << CAP_NET_ADMIN);
	stage1_settings_done(&st);
	/* the pod app's remove-set replaces the image's retain-set */
	add(&pod, "os/linux/capabilities-remove-set", "{\"set\":[\"CAP_CHOWN\",\"CAP_KILL\"]}");
	assert_int_equal(build(&img, &pod, NULL, &st, &err), 0);
	assert_true(st.caps == (DEFAULT_CAPS & ~((1ULL << CAP_CHOWN) | (1ULL << CAP_KILL))));
	stage1_settings_done(&st);
	/* both kinds at one level is an error naming them */
	add(&pod, "os/linux/capabilities-retain-set", "{\"set\":[\"CAP_SYS_ADMIN\"]}");
	assert_true(build(&img, &pod, NULL, &st, &err) < 0);
	assert_non_null(strstr(err.msg, "capabilities-retain-set and capabilities-remove-set"));
	release(&pod);
	add(&pod, "os/linux/capabilities-retain-set", "{\"set\":[\"CAP_NOT_A_CAP\"]}");
	assert_true(build(&img, &pod, NULL, &st, &err) < 0);
	assert_non_null(strstr(err.msg, "CAP_NOT_A_CAP"));
	release(&pod);
	struct stage1_flags fl = { .disable_caps = true };
	assert_int_equal(build(&img, &pod, &fl, &st, &err), 0);
	assert_true(st.caps_all);
	stage1_settings_done(&st);
	release(&img);
	int c;
	assert_int_equal(stage1_cap_parse("CAP_SYS_CHROOT", &c), 0);
	assert_int_equal(c, CAP_SYS_CHROOT);
	assert_int_equal(stage1_cap_parse("SYS_CHROOT", &c), -EINVAL);
}

static void test_resources(void **state)
{
	(void)state;
	struct isos img = { 0 }, pod = { 0 };
	struct stage1_settings st;
	struct rkt_err err = { 0 };
	add(&img, "resource/memory", "{\"limit\":\"1Gi\"}");
	add(&img, "resource/cpu", "{\"limit\":\"900m\"}");
	add(&img, "os/linux/oom-score-adj", "99");
	add(&img, "os/linux/cpu-shares", "12345");
	add(&img, "os/linux/no-new-privileges", "true");
	add(&img, "os/linux/no-new-privileges", "false");
	add(&pod, "resource/memory", "{\"limit\":\"42Mi\"}");
	assert_int_equal(build(&img, &pod, NULL, &st, &err), 0);
	assert_true(st.memory_limit == 44040192);
	assert_true(st.cpu_limit_milli == 900);
	assert_true(st.cpu_shares == 12345);
	assert_true(st.has_oom_score_adj && st.oom_score_adj == 99);
	assert_false(st.no_new_privs); /* the last one wins */
	stage1_settings_done(&st);
	release(&img);
	release(&pod);
}

static void test_seccomp_isolators(void **state)
{
	(void)state;
	struct isos img = { 0 }, pod = { 0 };
	struct stage1_settings st;
	struct rkt_err err = { 0 };
	add(&img, "os/linux/seccomp-remove-set", "{\"set\":[\"stat\"],\"errno\":\"EXFULL\"}");
	assert_int_equal(build(&img, &pod, NULL, &st, &err), 0);
	assert_int_equal(st.seccomp.mode, S1_SECCOMP_REMOVE);
	assert_int_equal(st.seccomp.errno_ret, EXFULL);
	assert_true(strv_len(st.seccomp.names) == 1);
	stage1_settings_done(&st);
	/* the pod app's retain @appc.io/all overrides the image: no filter */
	add(&pod, "os/linux/seccomp-retain-set", "{\"set\":[\"@appc.io/all\"]}");
	assert_int_equal(build(&img, &pod, NULL, &st, &err), 0);
	assert_int_equal(st.seccomp.mode, S1_SECCOMP_NONE);
	assert_false(stage1_needs_nnp(&st, 1000));
	stage1_settings_done(&st);
	add(&pod, "os/linux/seccomp-remove-set", "{\"set\":[\"stat\"]}");
	assert_true(build(&img, &pod, NULL, &st, &err) < 0);
	assert_string_equal(err.msg, "too many seccomp isolators specified");
	release(&pod);
	struct stage1_flags fl = { .disable_seccomp = true };
	assert_int_equal(build(&img, &pod, &fl, &st, &err), 0);
	assert_int_equal(st.seccomp.mode, S1_SECCOMP_NONE);
	stage1_settings_done(&st);
	release(&img);
	add(&img, "os/linux/seccomp-retain-set", "{\"set\":[\"no_such_call\"]}");
	assert_true(build(&img, &pod, NULL, &st, &err) < 0);
	assert_non_null(strstr(err.msg, "no_such_call"));
	release(&img);
}

static void test_seccomp_groups(void **state)
{
	(void)state;
	struct s1_seccomp s;
	struct rkt_err err = { 0 };
	char *bl[] = { "@rkt/default-blacklist", "stat", NULL };
	assert_int_equal(seccomp_expand(false, bl, "", &s, &err), 0);
	assert_int_equal(s.mode, S1_SECCOMP_REMOVE);
	assert_int_equal(s.errno_ret, 0); /* SIGSYS */
	assert_true(strv_contains(s.names, "ptrace"));
	assert_true(strv_contains(s.names, "kexec_load"));
	assert_true(strv_contains(s.names, "stat"));
	assert_false(strv_contains(s.names, "read"));
	size_t n = strv_len(s.names);
	seccomp_done(&s);
	/* duplicates collapse */
	char *twice[] = { "@docker/default-blacklist", "@rkt/default-blacklist", "stat", NULL };
	assert_int_equal(seccomp_expand(false, twice, NULL, &s, &err), 0);
	assert_int_equal(strv_len(s.names), n);
	seccomp_done(&s);
	/* remove @appc.io/empty is the default allowlist */
	char *empty[] = { "@appc.io/empty", NULL };
	assert_int_equal(seccomp_expand(false, empty, NULL, &s, &err), 0);
	assert_int_equal(s.mode, S1_SECCOMP_RETAIN);
	assert_true(strv_contains(s.names, "execve"));
	seccomp_done(&s);
	/* unknown groups are skipped, known names kept */
	char *wl[] = { "@systemd/clock", "@rkt/default-whitelist", NULL };
	assert_int_equal(seccomp_expand(true, wl, "EPERM", &s, &err), 0);
	assert_int_equal(s.mode, S1_SECCOMP_RETAIN);
	assert_int_equal(s.errno_ret, EPERM);
	assert_true(strv_contains(s.names, "write"));
	assert_false(strv_contains(s.names, "reboot"));
	seccomp_done(&s);
	char *one[] = { "read", NULL };
	assert_true(seccomp_expand(true, one, "ENOTANERRNO", &s, &err) < 0);
	assert_non_null(strstr(err.msg, "ENOTANERRNO"));
	int e;
	assert_int_equal(seccomp_errno_parse("EXFULL", &e), 0);
	assert_int_equal(e, EXFULL);
	assert_int_equal(seccomp_errno_parse("", &e), 0);
	assert_int_equal(e, 0);
}

static void test_env(void **state)
{
	(void)state;
	struct appc_kv img[] = { { "A", "img" }, { "B", "img" }, { "PATH", "/img/bin" } };
	struct appc_kv pod[] = { { "B", "pod" }, { "HOME", "/home/x" } };
	_cleanup_strv_ char **env = stage1_build_env("web", img, 3, pod, 2);
	assert_string_equal(stage1_env_get(env, "A"), "img");
	assert_string_equal(stage1_env_get(env, "B"), "pod");
	assert_string_equal(stage1_env_get(env, "PATH"), "/img/bin");
	assert_string_equal(stage1_env_get(env, "HOME"), "/home/x");
	assert_string_equal(stage1_env_get(env, "SHELL"), "/bin/sh");
	assert_string_equal(stage1_env_get(env, "USER"), "root");
	assert_string_equal(stage1_env_get(env, "AC_APP_NAME"), "web");
	assert_null(stage1_env_get(env, "TERM"));
	/* one entry per key */
	size_t nb = 0;
	for (char **p = env; *p; p++)
		nb += strncmp(*p, "B=", 2) == 0;
	assert_int_equal(nb, 1);
	_cleanup_strv_ char **def = stage1_build_env("a", NULL, 0, NULL, 0);
	assert_string_equal(stage1_env_get(def, "PATH"),
			    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
}

static void test_resolve_exec(void **state)
{
	(void)state;
	_cleanup_free_ char *p = NULL;
	assert_int_equal(stage1_resolve_exec("sh", "/nonexistent:/bin:/usr/bin", &p), 0);
	assert_string_equal(p, "/bin/sh");
	free(TAKE_PTR(p));
	assert_int_equal(stage1_resolve_exec("/foo-not-there", "/bin", &p), -ENOENT);
	assert_int_equal(stage1_resolve_exec("no-such-command-x", "/bin:/usr/bin", &p), -ENOENT);
	/* a directory is not an executable */
	assert_int_equal(stage1_resolve_exec("/tmp", "/bin", &p), -ENOENT);
}

static void test_exit_code(void **state)
{
	(void)state;
	assert_int_equal(stage1_exit_code(3 << 8, false), 3);
	assert_int_equal(stage1_exit_code(SIGKILL, false), 128 + SIGKILL);
	assert_int_equal(stage1_exit_code(SIGTERM, false), 128 + SIGTERM);
	assert_int_equal(stage1_exit_code(SIGTERM, true), 0);
	assert_int_equal(stage1_exit_code(SIGKILL, true), 128 + SIGKILL);
}

static void test_cgroup_parse(void **state)
{
	(void)state;
	const char *self = "9:name=systemd:/\n8:pids:/\n4:memory:/process_api/abc\n2:cpu,cpuacct:/\n"
			   "1:net_cls:/\n0::/\n";
	const char *mi =
		"30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
		"31 30 0:28 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct\n"
		"34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
		"38 30 0:35 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
		"39 30 0:36 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
		"40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
	struct s1_cgroups cg = { 0 };
	struct rkt_err err = { 0 };
	assert_int_equal(cgroup_parse(self, mi, &cg, &err), 0);
	assert_int_equal(cg.n, 4); /* net_cls is not mounted, v2 is skipped */
	struct s1_cgroup_hier *m = cgroup_find(&cg, "memory");
	assert_non_null(m);
	assert_string_equal(m->own, "/sys/fs/cgroup/memory/process_api/abc");
	struct s1_cgroup_hier *c = cgroup_find(&cg, "cpu");
	assert_non_null(c);
	assert_string_equal(c->own, "/sys/fs/cgroup/cpu,cpuacct");
	assert_string_equal(cgroup_find(&cg, "name=systemd")->own, "/sys/fs/cgroup/systemd");
	assert_null(cgroup_find(&cg, "cpuset"));
	cgroup_free(&cg);
	assert_true(cgroup_parse("garbage\n", mi, &cg, &err) < 0);
	assert_non_null(strstr(err.msg, "/proc/self/cgroup"));
	cgroup_free(&cg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),	  cmocka_unit_test(test_caps),
		cmocka_unit_test(test_resources),	  cmocka_unit_test(test_seccomp_isolators),
		cmocka_unit_test(test_seccomp_groups), cmocka_unit_test(test_env),
		cmocka_unit_test(test_resolve_exec),  cmocka_unit_test(test_exit_code),
		cmocka_unit_test(test_cgroup_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
