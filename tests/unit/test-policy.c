/* policy/: strict parsing and every check, with a table resolver so the
 * tests need no real groups. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util.h"
#include "policy/policy.h"

static int table_resolver(const char *name, gid_t *ret, void *ctx)
{
	(void)ctx;
	if (strcmp(name, "rkt") == 0)
		*ret = 995;
	else if (strcmp(name, "ops") == 0)
		*ret = 2000;
	else
		return -ENOENT;
	return 0;
}

static const char example[] =
	"{ \"rktKind\": \"privhelper-policy\", \"rktVersion\": \"v1\",\n"
	"  \"tpm\": \"optional\", \"selinux\": \"auto\",\n"
	"  \"run\": [ { \"groups\": [\"rkt\"], \"signedImagesOnly\": true, \"stage1\": [\"ns\", \"kvm\"],\n"
	"             \"hostVolumes\": [], \"net\": [\"default\", \"none\"], \"insecureOptions\": [],\n"
	"             \"maxMemory\": \"2G\", \"maxCPU\": \"2\", \"maxPodsPerUser\": 16,\n"
	"             \"noNewPrivileges\": false } ] }";

static struct policy *parse_ok(const char *json)
{
	struct policy *p = NULL;
	struct rkt_err err = { 0 };
	int r = policy_parse(json, strlen(json), "/etc/rkt-privhelper/policy.json", table_resolver,
			     NULL, &p, &err);
	if (r < 0)
		fail_msg("unexpected parse error: %s", err.msg);
	return p;
}

static void expect_parse_error(const char *json, const char *needle)
{
	struct policy *p = NULL;
	struct rkt_err err = { 0 };
	int r = policy_parse(json, strlen(json), "/x/policy.json", table_resolver, NULL, &p, &err);
	assert_true(r < 0);
	assert_null(p);
	if (!strstr(err.msg, needle) || !strstr(err.msg, "/x/policy.json"))
		fail_msg("message \"%s\" lacks \"%s\" or the file name", err.msg, needle);
}

static void test_example_parses(void **state)
{
	(void)state;
	struct policy *p = parse_ok(example);
	assert_int_equal(p->tpm, POLICY_TPM_OPTIONAL);
	assert_int_equal(p->selinux, POLICY_SELINUX_AUTO);
	assert_int_equal(p->n_rules, 1);
	struct policy_rule *r = &p->rules[0];
	assert_int_equal(r->n_gids, 1);
	assert_int_equal(r->gids[0], 995);
	assert_true(r->signed_images_only);
	assert_true(strv_contains(r->stage1, "kvm"));
	assert_true(strv_contains(r->net, "none"));
	assert_int_equal(strv_len(r->host_volumes), 0);
	assert_true(r->max_memory == 2000000000ULL);
	assert_true(r->max_cpu_milli == 2000);
	assert_int_equal(r->max_pods_per_user, 16);
	assert_false(r->no_new_privileges);
	policy_free(p);
}

static void test_strictness(void **state)
{
	(void)state;
	expect_parse_error("{\"rktKind\":\"privhelper-policy\",\"rktVersion\":\"v1\",\"bogus\":1}",
			   "key \"bogus\": unknown key");
	expect_parse_error("{\"rktKind\":\"privhelper-policy\",\"rktVersion\":\"v1\",\"tpm\":\"x\",\"tpm\":\"off\"}",
			   "duplicate");
	expect_parse_error("{\"rktKind\":\"policy\",\"rktVersion\":\"v1\"}", "key \"rktKind\"");
	expect_parse_error("{\"rktKind\":\"privhelper-policy\",\"rktVersion\":\"v2\"}", "key \"rktVersion\"");
	expect_parse_error("{\"rktKind\":\"privhelper-policy\",\"rktVersion\":\"v1\",\"tpm\":\"always\"}",
			   "key \"tpm\"");
	expect_parse_error("{\"rktKind\":\"privhelper-policy\",\"rktVersion\":\"v1\",\"run\":[{\"groups\":[\"rkt\"],\"maxMemory\":\"2X\"}]}",
			   "key \"run[0].maxMemory\": \"2X\" is not a quantity");
	expect_parse_error("{\"rktKind\":\"privhelper-policy\",\"rktVersion\":\"v1\",\"run\":[{\"groups\":[\"rkt\"],\"hostVolumes\":[\"etc\"]}]}",
			   "key \"run[0].hostVolumes[0]\"");
	expect_parse_error("{\"rktKind\":\"privhelper-policy\",\"rktVersion\":\"v1\",\"run\":[{\"groups\":[\"nosuch\"]}]}",
			   "group \"nosuch\" does not exist");
	expect_parse_error("{\"rktKind\":\"privhelper-policy\",\"rktVersion\":\"v1\",\"run\":[{\"groups\":[\"rkt\"],\"signedImagesOnly\":\"yes\"}]}",
			   "key \"run[0].signedImagesOnly\"");
	expect_parse_error("{\"rktKind\":\"privhelper-policy\",\"rktVersion\":\"v1\",\"run\":[{\"groups\":[\"rkt\"],\"stage1\":[\"../x\"]}]}",
			   "bare name");
	expect_parse_error("{\"rktKind\":\"privhelper-policy\",\"rktVersion\":\"v1\",\"run\":[{\"groups\":[\"rkt\"],\"insecureOptions\":[\"everything\"]}]}",
			   "not an rkt insecure option");
	expect_parse_error("{\"rktKind\":\"privhelper-policy\",\"rktVersion\":\"v1\",\"run\":[{\"stage1\":[\"ns\"]}]}",
			   "missing \"groups\"");
	expect_parse_error("{\"rktKind\":\"privhelper-policy\",\"rktVersion\":\"v1\",\"run\":[{\"groups\":[\"rkt\"],\"maxPodsPerUser\":0}]}",
			   "key \"run[0].maxPodsPerUser\"");
	expect_parse_error("{\"rktKind\":\"privhelper-policy\",\"rktVersion\":\"v1\",\"run\":[{\"groups\":[\"rkt\"],\"net\":[\"none\",\"none\"]}]}",
			   "listed twice");
	expect_parse_error("not json", "line 1");
}

static struct pod_request base_request(const gid_t *gids, size_t n)
{
	struct pod_request q = { .uid = 1001, .gids = gids, .n_gids = n, .stage1 = "ns",
				 .signed_images = true };
	return q;
}

static void expect_deny(const struct policy *p, const struct pod_request *q, const char *needle)
{
	struct rkt_err err = { 0 };
	assert_int_equal(policy_check_run(p, q, NULL, &err), -EPERM);
	if (!strstr(err.msg, needle) || !strstr(err.msg, "denied by policy") ||
	    !strstr(err.msg, "uid 1001"))
		fail_msg("message \"%s\" lacks \"%s\"", err.msg, needle);
}

static void test_default_denies_non_root(void **state)
{
	(void)state;
	struct policy *p = policy_default(NULL);
	gid_t g[] = { 995 };
	struct pod_request q = base_request(g, 1);
	struct rkt_err err = { 0 };
	assert_int_equal(policy_check_run(p, &q, NULL, &err), -EPERM);
	assert_string_equal(err.msg,
			    "denied by policy: only root may run pods (/etc/rkt-privhelper/policy.json has no run rule for uid 1001)");
	q.uid = 0;
	assert_int_equal(policy_check_run(p, &q, NULL, &err), 0);
	policy_free(p);
}

static void test_checks(void **state)
{
	(void)state;
	struct policy *p = parse_ok(example);
	gid_t g[] = { 1001, 995 }; /* rkt as a supplementary group */
	struct pod_request q = base_request(g, 2);
	struct pod_limits lim;
	struct rkt_err err = { 0 };
	assert_int_equal(policy_check_run(p, &q, &lim, &err), 0);
	assert_true(lim.memory == 2000000000ULL); /* the rule's cap fills an unset limit */
	assert_true(lim.cpu_milli == 2000);
	assert_int_equal(lim.rule_index, 0);

	q.signed_images = false;
	expect_deny(p, &q, "unsigned image not allowed (signedImagesOnly)");
	q.signed_images = true;
	q.stage1 = "fly";
	expect_deny(p, &q, "stage1 flavor \"fly\" not allowed");
	q.stage1 = "ns";
	char *vols[] = { "/etc", NULL };
	q.host_volumes = vols;
	expect_deny(p, &q, "host volume \"/etc\" not allowed");
	q.host_volumes = NULL;
	char *nets[] = { "host", NULL };
	q.nets = nets;
	expect_deny(p, &q, "net \"host\" not allowed");
	q.nets = NULL;
	char *ins[] = { "image", NULL };
	q.insecure_options = ins;
	expect_deny(p, &q, "insecure option \"image\" not allowed");
	q.insecure_options = NULL;
	q.memory = 4000000000ULL;
	expect_deny(p, &q, "exceeds maxMemory 2G");
	q.memory = 1000;
	q.cpu_milli = 2500;
	expect_deny(p, &q, "exceeds maxCPU 2");
	q.cpu_milli = 0;
	q.pods_owned = 16;
	expect_deny(p, &q, "maxPodsPerUser 16");
	q.pods_owned = 15;
	assert_int_equal(policy_check_run(p, &q, &lim, &err), 0);
	assert_true(lim.memory == 1000);

	gid_t other[] = { 1001 };
	struct pod_request o = base_request(other, 1);
	expect_deny(p, &o, "only root may run pods");
	policy_free(p);
}

static void test_first_rule_and_volume_prefix(void **state)
{
	(void)state;
	struct policy *p = parse_ok(
		"{\"rktKind\":\"privhelper-policy\",\"rktVersion\":\"v1\",\"run\":["
		"{\"groups\":[\"ops\"],\"stage1\":[\"ns\"],\"hostVolumes\":[\"/srv/data\"],\"signedImagesOnly\":false,\"noNewPrivileges\":true},"
		"{\"groups\":[\"rkt\"],\"stage1\":[\"ns\"],\"hostVolumes\":[\"/etc\"]}]}");
	gid_t g[] = { 995, 2000 };
	struct pod_request q = base_request(g, 2);
	struct pod_limits lim;
	struct rkt_err err = { 0 };
	char *ok_vol[] = { "/srv/data/x", NULL }, *eq_vol[] = { "/srv/data", NULL },
	     *bad_vol[] = { "/srv/database", NULL }, *etc[] = { "/etc/hosts", NULL };
	q.host_volumes = ok_vol;
	q.signed_images = false;
	assert_int_equal(policy_check_run(p, &q, &lim, &err), 0);
	assert_int_equal(lim.rule_index, 0);
	assert_true(lim.no_new_privileges);
	q.host_volumes = eq_vol;
	assert_int_equal(policy_check_run(p, &q, &lim, &err), 0);
	q.host_volumes = bad_vol;
	expect_deny(p, &q, "host volume \"/srv/database\" not allowed");
	/* the first matching rule applies even when a later one would allow it */
	q.host_volumes = etc;
	expect_deny(p, &q, "rule run[0]");
	policy_free(p);
}

static void test_owner(void **state)
{
	(void)state;
	struct rkt_err err = { 0 };
	assert_int_equal(policy_check_owner(1001, 1001, "rm", "u", &err), 0);
	assert_int_equal(policy_check_owner(1001, 0, "rm", "u", &err), 0);
	assert_int_equal(policy_check_owner(1002, 1001, "rm", "5e1a", &err), -EPERM);
	assert_string_equal(err.msg, "rm: denied by policy: pod 5e1a belongs to uid 1002, not uid 1001");
}

static void test_strict_paths(void **state)
{
	(void)state;
	char dir[] = "/run/rkt-policy-test.XXXXXX";
	assert_non_null(mkdtemp(dir));
	assert_int_equal(chmod(dir, 0755), 0);
	char *sub = xasprintf("%s/etc", dir), *file = xasprintf("%s/etc/policy.json", dir);
	assert_int_equal(mkdir(sub, 0755), 0);
	FILE *f = fopen(file, "w");
	assert_non_null(f);
	fputs(example, f);
	fclose(f);
	assert_int_equal(chmod(file, 0644), 0);
	struct rkt_err err = { 0 };
	if (getuid() == 0) {
		assert_int_equal(policy_strict_path_check(file, &err), 0);
		assert_int_equal(chmod(sub, 0775), 0);
		assert_int_equal(policy_strict_path_check(file, &err), -EPERM);
		assert_non_null(strstr(err.msg, sub));
		assert_non_null(strstr(err.msg, "writable by group or others"));
		assert_int_equal(chmod(sub, 0755), 0);
		assert_int_equal(chmod(file, 0666), 0);
		assert_int_equal(policy_strict_path_check(file, &err), -EPERM);
		assert_non_null(strstr(err.msg, file));
	}
	/* /tmp is world-writable: refused */
	assert_int_equal(policy_strict_path_check("/tmp", &err), -EPERM);
	struct policy *p = NULL;
	assert_int_equal(policy_load_file(file, true, table_resolver, NULL, &p, &err), 0);
	assert_int_equal(p->n_rules, 1);
	policy_free(p);
	char *missing = xasprintf("%s/nope.json", dir);
	assert_int_equal(policy_load_file(missing, false, table_resolver, NULL, &p, &err), 0);
	assert_int_equal(p->n_rules, 0);
	policy_free(p);
	assert_int_equal(policy_load_file(missing, true, table_resolver, NULL, &p, &err), -ENOENT);
	assert_non_null(strstr(err.msg, missing));
	rm_rf_at(-100, dir);
	free(sub);
	free(file);
	free(missing);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_example_parses),
		cmocka_unit_test(test_strictness),
		cmocka_unit_test(test_default_denies_non_root),
		cmocka_unit_test(test_checks),
		cmocka_unit_test(test_first_rule_and_volume_prefix),
		cmocka_unit_test(test_owner),
		cmocka_unit_test(test_strict_paths),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
