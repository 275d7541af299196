/* common/appc: identifiers, names, versions, os/arch, quantities, image IDs
 * and rkt's "name[:version][,label=value...]" image references. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "common/appc.h"
#include "common/err.h"

/* appc-oci.md §11 identifier table: ref column and acName column. */
static const struct {
	const char *s;
	bool ref, ac_name;
} identifiers[] = {
	{"database", true, true},
	{"example.com/reduce-worker", true, false},
	{"zab_rab_oof", true, false},
	{"0", true, true},
	{"example.com/~user/app_v1", true, false},
	{"a..b", true, false},
	{"", false, false},
	{"Example.com", false, false},
	{"-app", false, false},
	{"app/", false, false},
	{"example.com:8080/app", false, false},
	{"foo bar", false, false},
};

static void test_identifiers(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof identifiers / sizeof identifiers[0]; i++) {
		if (appc_identifier_valid(identifiers[i].s) != identifiers[i].ref)
			fail_msg("identifier \"%s\": expected %d", identifiers[i].s, identifiers[i].ref);
		if (appc_name_valid(identifiers[i].s) != identifiers[i].ac_name)
			fail_msg("name \"%s\": expected %d", identifiers[i].s, identifiers[i].ac_name);
	}
	assert_false(appc_identifier_valid(NULL));
	assert_true(appc_identifier_valid("a~b"));
	assert_false(appc_identifier_valid("a~"));
	assert_false(appc_name_valid("a-"));
	assert_true(appc_name_valid("a--b"));
}

static void test_semver(void **state)
{
	(void)state;
	static const char *const ok[] = {"0.8.11", "0.8.11+git", "1.0.0-rc.1", "1.0.0-alpha-1+b.2", "10.20.30", "0.0.1"};
	static const char *const bad[] = {"0.8",  "v0.8.11", "0.0.0",  "01.2.3", "1.2.3-",   "1.2.3+", "1.2.3-01",
					  "1..3", "1.2.3.4", "",       "1.2.x",  "1.2.3-a..b", " 1.2.3"};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
		if (!appc_semver_valid(ok[i]))
			fail_msg("\"%s\" should be valid", ok[i]);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (appc_semver_valid(bad[i]))
			fail_msg("\"%s\" should be invalid", bad[i]);
}

static void test_env_names(void **state)
{
	(void)state;
	assert_true(appc_env_name_valid("_UNDER"));
	assert_true(appc_env_name_valid("java.opts-x"));
	assert_true(appc_env_name_valid("PATH"));
	assert_false(appc_env_name_valid("1VAR"));
	assert_false(appc_env_name_valid(""));
	assert_false(appc_env_name_valid("A=B"));
	assert_false(appc_env_name_valid("-x"));
}

static void test_os_arch(void **state)
{
	(void)state;
	struct rkt_err err = {0};
	assert_int_equal(appc_os_arch_check("linux", "amd64", &err), 0);
	assert_int_equal(appc_os_arch_check("linux", NULL, &err), 0);
	assert_int_equal(appc_os_arch_check(NULL, "whatever", &err), 0);
	assert_int_equal(appc_os_arch_check("freebsd", "amd64", &err), -EINVAL);
	assert_non_null(strstr(err.msg, "bad os \"freebsd\""));
	assert_int_equal(appc_os_arch_check("linux", "x86_64", &err), -EINVAL);
	assert_non_null(strstr(err.msg, "bad arch \"x86_64\" for linux"));
	/* The manifest table is the appc one. */
	assert_int_equal(appc_os_arch_check_spec("freebsd", "arm", &err), 0);
	assert_int_equal(appc_os_arch_check_spec("darwin", "x86_64", &err), 0);
	assert_int_equal(appc_os_arch_check_spec("darwin", "amd64", &err), -EINVAL);
	assert_int_equal(appc_os_arch_check_spec("windows", NULL, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "bad os \"windows\""));
	assert_string_equal(appc_host_os(), "linux");
	assert_int_equal(appc_os_arch_check(appc_host_os(), appc_host_arch(), &err), 0);
}

static void test_quantities(void **state)
{
	(void)state;
	static const struct {
		const char *s;
		int64_t milli;
	} ok[] = {
		{"500m", 500},
		{"1", 1000},
		{"0", 0},
		{"1Ki", 1024000},
		{"16Mi", 16LL * 1024 * 1024 * 1000},
		{"1G", 1000000000000LL},
		{"1k", 1000000},
		{"1e3", 1000000},
		{"1E3", 1000000},
		{"1.5", 1500},
		{".5", 500},
		{"0.25", 250},
		{"250m", 250},
		{"1n", 1},
		{"-2", -2000},
		{"+3", 3000},
		{"512Mi", 512LL * 1024 * 1024 * 1000},
		{"1.5e9", 1500000000000LL},
		{"9E-3", 9},
	};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		int64_t v = -1;
		if (appc_quantity_parse_milli(ok[i].s, &v) < 0 || v != ok[i].milli)
			fail_msg("\"%s\": got %lld", ok[i].s, (long long)v);
	}
	int64_t v;
	static const char *const bad[] = {"100K", "", "m", "1.2.3", "1Gb", "1 G", "abc", "1e", "1ki", "--1", "1KiB"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (appc_quantity_parse_milli(bad[i], &v) != -EINVAL)
			fail_msg("\"%s\" should be invalid", bad[i]);
	assert_int_equal(appc_quantity_parse_milli("1E", &v), -ERANGE);
	assert_int_equal(appc_quantity_parse_milli("100Ei", &v), -ERANGE);
	assert_int_equal(appc_quantity_parse_milli("99999999999999999999999999999", &v), -ERANGE);
}

static void test_image_ids(void **state)
{
	(void)state;
	char key[APPC_KEY_LEN + 1];
	char full[7 + 128 + 1] = "sha512-";
	for (int i = 0; i < 128; i++)
		full[7 + i] = "0123456789abcdef"[i % 16];
	full[7 + 128] = '\0';
	assert_true(appc_is_hash(full));
	assert_int_equal(appc_id_to_key_prefix(full, key), 0);
	assert_int_equal(strlen(key), APPC_KEY_LEN);
	assert_int_equal(strncmp(key, full, APPC_KEY_LEN), 0);
	assert_int_equal(appc_id_to_key_prefix("sha512-ab", key), 0);
	assert_string_equal(key, "sha512-ab");
	assert_int_equal(appc_id_to_key_prefix("sha512-a", key), -EINVAL);
	assert_int_equal(appc_id_to_key_prefix("sha512-AB", key), -EINVAL);
	assert_int_equal(appc_id_to_key_prefix("sha256-ab", key), -EINVAL);
	assert_false(appc_is_hash("example.com/app"));
	assert_false(appc_is_hash("sha512-zz"));
	assert_true(appc_hash_valid_ref("sha512-zz"));
	assert_false(appc_hash_valid_ref("sha256-abcdef"));
	assert_false(appc_hash_valid_ref("sha512-"));
	assert_false(appc_hash_valid_ref("sha512-a-b"));
}

static void test_image_ref(void **state)
{
	(void)state;
	struct appc_image_ref ref;
	struct rkt_err err = {0};
	assert_int_equal(appc_image_ref_parse("example.com/app:1.0,arch=amd64", false, &ref, &err), 0);
	assert_string_equal(ref.name, "example.com/app");
	assert_int_equal(ref.n_labels, 2);
	assert_string_equal(ref.labels[0].name, "version");
	assert_string_equal(ref.labels[0].value, "1.0");
	assert_string_equal(ref.labels[1].name, "arch");
	assert_string_equal(appc_labels_get(ref.labels, ref.n_labels, "arch"), "amd64");
	assert_null(appc_labels_get(ref.labels, ref.n_labels, "os"));
	appc_image_ref_done(&ref);

	/* Missing os/arch come from the host; the order is version, os, arch, rest. */
	assert_int_equal(appc_image_ref_parse("example.com/app,channel=beta,version=2", true, &ref, &err), 0);
	assert_int_equal(ref.n_labels, 4);
	assert_string_equal(ref.labels[0].name, "version");
	assert_string_equal(ref.labels[0].value, "2");
	assert_string_equal(ref.labels[1].name, "os");
	assert_string_equal(ref.labels[1].value, appc_host_os());
	assert_string_equal(ref.labels[2].name, "arch");
	assert_string_equal(ref.labels[2].value, appc_host_arch());
	assert_string_equal(ref.labels[3].name, "channel");
	appc_image_ref_done(&ref);

	assert_int_equal(appc_image_ref_parse("example.com/app,os=freebsd", true, &ref, &err), 0);
	assert_string_equal(appc_labels_get(ref.labels, ref.n_labels, "os"), "freebsd");
	assert_int_equal(ref.n_labels, 2);
	appc_image_ref_done(&ref);

	assert_int_equal(appc_image_ref_parse("busybox", false, &ref, &err), 0);
	assert_string_equal(ref.name, "busybox");
	assert_int_equal(ref.n_labels, 0);
	appc_image_ref_done(&ref);

	/* A value may contain '='. */
	assert_int_equal(appc_image_ref_parse("a,x=b=c", false, &ref, &err), 0);
	assert_string_equal(appc_labels_get(ref.labels, ref.n_labels, "x"), "b=c");
	appc_image_ref_done(&ref);

	static const struct {
		const char *s, *want;
	} bad[] = {
		{"example.com/app:1.0:2.0", "at most once"},
		{"example.com/app,arch=amd64:1.0", "only right after the name"},
		{"example.com/app:1.0,version=2", "\"version\" given more than once"},
		{"example.com/app,os=linux,os=linux", "\"os\" given more than once"},
		{"Example.com/app", "\"Example.com/app\" is not a valid AC identifier"},
		{"", "not a valid AC identifier"},
		{"example.com/app,arch", "label \"arch\" has no value"},
		{"example.com/app,name=x", "\"name\" cannot be a label"},
		{"example.com/app,Bad=x", "label name \"Bad\""},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		memset(&ref, 0, sizeof ref);
		if (appc_image_ref_parse(bad[i].s, true, &ref, &err) != -EINVAL)
			fail_msg("\"%s\" should fail", bad[i].s);
		if (!strstr(err.msg, bad[i].want))
			fail_msg("\"%s\": message \"%s\" lacks \"%s\"", bad[i].s, err.msg, bad[i].want);
		assert_null(ref.name);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_identifiers), cmocka_unit_test(test_semver),
		cmocka_unit_test(test_env_names),   cmocka_unit_test(test_os_arch),
		cmocka_unit_test(test_quantities),  cmocka_unit_test(test_image_ids),
		cmocka_unit_test(test_image_ref),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
