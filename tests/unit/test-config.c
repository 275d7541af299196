/* unpriv/config: layers of auth.d, paths.d and stage1.d, Authorization
 * headers and `rkt config`'s merged JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/util.h"
#include "policy/policy.h"
#include "unpriv/cli/cli.h"
#include "unpriv/config/auth.h"
#include "unpriv/config/paths.h"

struct tree {
	char *root;
	char *sys;
	char *local;
	char *user;
};

static int setup(void **state)
{
	struct tree *t = xcalloc(1, sizeof *t);
	char tmpl[] = "/run/test-config.XXXXXX";
	if (!mkdtemp(tmpl))
		return -1;
	t->root = xstrdup(tmpl);
	t->sys = xasprintf("%s/sys", tmpl);
	t->local = xasprintf("%s/local", tmpl);
	t->user = xasprintf("%s/user", tmpl);
	g_opts.system_config = t->sys;
	g_opts.local_config = t->local;
	g_opts.user_config = NULL;
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct tree *t = *state;
	rm_rf_at(AT_FDCWD, t->root);
	free(t->root);
	free(t->sys);
	free(t->local);
	free(t->user);
	free(t);
	g_opts.system_config = g_opts.local_config = g_opts.user_config = NULL;
	return 0;
}

/* Writes base/kind/name with content, creating the directories. */
static char *put(const char *base, const char *kind, const char *name, const char *content)
{
	char *dir = xasprintf("%s/%s", base, kind);
	assert_int_equal(mkdir_p_at(AT_FDCWD, dir, 0755), 0);
	char *path = xasprintf("%s/%s", dir, name);
	free(dir);
	FILE *f = fopen(path, "we");
	assert_non_null(f);
	fputs(content, f);
	assert_int_equal(fclose(f), 0);
	return path;
}

#define BASIC_EXAMPLE                                                                        \
	"{\"rktKind\":\"auth\",\"rktVersion\":\"v1\",\"domains\":[\"example.com\"],"         \
	"\"type\":\"basic\",\"credentials\":{\"user\":\"Aladdin\",\"password\":\"open sesame\"}}"
#define OAUTH_EXAMPLE                                                                        \
	"{\"rktKind\":\"auth\",\"rktVersion\":\"v1\",\"domains\":[\"example.com\"],"         \
	"\"type\":\"oauth\",\"credentials\":{\"token\":\"sometoken\"}}"

static void test_base64(void **state)
{
	(void)state;
	/* RFC 4648 §10 test vectors */
	static const char *const vec[][2] = {
		{ "", "" },	      { "f", "Zg==" },		{ "fo", "Zm8=" },
		{ "foo", "Zm9v" },    { "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" },
		{ "foobar", "Zm9vYmFy" },
	};
	for (size_t i = 0; i < sizeof vec / sizeof vec[0]; i++) {
		_cleanup_free_ char *s = base64_encode(vec[i][0], strlen(vec[i][0]));
		assert_string_equal(s, vec[i][1]);
	}
	const unsigned char bin[] = { 0xfb, 0xff, 0x00 };
	_cleanup_free_ char *s = base64_encode(bin, sizeof bin);
	assert_string_equal(s, "+/8A");
}

static void test_basic_header(void **state)
{
	struct tree *t = *state;
	free(put(t->sys, "auth.d", "basic.json", BASIC_EXAMPLE));
	struct rkt_err err = { 0 };
	_cleanup_strv_ char **h = NULL;
	assert_int_equal(config_auth_headers("example.com", &h, &err), 0);
	assert_non_null(h);
	/* RFC 7617's own example */
	assert_string_equal(h[0], "Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
	assert_null(h[1]);
	_cleanup_strv_ char **none = NULL;
	assert_int_equal(config_auth_headers("other.example.com", &none, &err), 0);
	assert_null(none);
	_cleanup_strv_ char **upper = NULL;
	assert_int_equal(config_auth_headers("EXAMPLE.com", &upper, &err), 0);
	assert_non_null(upper);
}

static void test_local_overrides_system(void **state)
{
	struct tree *t = *state;
	free(put(t->sys, "auth.d", "a.json", BASIC_EXAMPLE));
	free(put(t->local, "auth.d", "b.json", OAUTH_EXAMPLE));
	struct rkt_err err = { 0 };
	_cleanup_strv_ char **h = NULL;
	assert_int_equal(config_auth_headers("example.com", &h, &err), 0);
	assert_non_null(h);
	assert_string_equal(h[0], "Authorization: Bearer sometoken");
	assert_null(h[1]);

	/* the user layer overrides both */
	g_opts.user_config = t->user;
	free(put(t->user, "auth.d", "c.json",
		 "{\"rktKind\":\"auth\",\"rktVersion\":\"v1\",\"domains\":[\"example.com\"],"
		 "\"type\":\"basic\",\"credentials\":{\"user\":\"u\",\"password\":\"p\"}}"));
	_cleanup_strv_ char **h2 = NULL;
	assert_int_equal(config_auth_headers("example.com", &h2, &err), 0);
	assert_string_equal(h2[0], "Authorization: Basic dTpw");
}

static void test_invalid_local_overrides_valid_system(void **state)
{
	struct tree *t = *state;
	free(put(t->sys, "auth.d", "a.json", BASIC_EXAMPLE));
	_cleanup_free_ char *bad = put(t->local, "auth.d", "bad.json",
				       "{\"rktKind\":\"auth\",\"rktVersion\":\"v1\",\"domains\":[\"example.com\"],"
				       "\"type\":\"basic\",\"credentials\":{\"user\":\"x\"}}");
	struct rkt_err err = { 0 };
	_cleanup_strv_ char **h = NULL;
	assert_int_equal(config_auth_headers("example.com", &h, &err), -EINVAL);
	assert_null(h);
	assert_non_null(strstr(err.msg, bad));
	assert_non_null(strstr(err.msg, "credentials.password"));
}

static void test_duplicate_domain_in_layer(void **state)
{
	struct tree *t = *state;
	_cleanup_free_ char *a = put(t->local, "auth.d", "a.json", BASIC_EXAMPLE);
	_cleanup_free_ char *b = put(t->local, "auth.d", "b.json", OAUTH_EXAMPLE);
	struct rkt_err err = { 0 };
	_cleanup_strv_ char **h = NULL;
	assert_int_equal(config_auth_headers("example.com", &h, &err), -EEXIST);
	assert_non_null(strstr(err.msg, a));
	assert_non_null(strstr(err.msg, b));
	assert_non_null(strstr(err.msg, "example.com"));
	/* the same domain in two layers is an override, not an error */
	rm_rf_at(AT_FDCWD, b);
	free(put(t->sys, "auth.d", "b.json", OAUTH_EXAMPLE));
	_cleanup_strv_ char **h2 = NULL;
	assert_int_equal(config_auth_headers("example.com", &h2, &err), 0);
	assert_true(str_has_prefix(h2[0], "Authorization: Basic "));
}

static void test_bad_files_named(void **state)
{
	struct tree *t = *state;
	struct rkt_err err = { 0 };
	_cleanup_strv_ char **h = NULL;
	_cleanup_free_ char *p = put(t->local, "auth.d", "broken.json", "{\"rktKind\": ");
	assert_int_equal(config_auth_headers("example.com", &h, &err), -EINVAL);
	assert_non_null(strstr(err.msg, p));
	assert_non_null(strstr(err.msg, "invalid JSON"));

	free(put(t->local, "auth.d", "broken.json", "{\"rktKind\":\"weird\",\"rktVersion\":\"v1\"}"));
	assert_int_equal(config_auth_headers("example.com", &h, &err), -EINVAL);
	assert_non_null(strstr(err.msg, p));
	assert_non_null(strstr(err.msg, "\"weird\""));

	free(put(t->local, "auth.d", "broken.json",
		 "{\"rktKind\":\"auth\",\"rktVersion\":\"v2\",\"domains\":[\"a\"],\"type\":\"oauth\","
		 "\"credentials\":{\"token\":\"t\"}}"));
	assert_int_equal(config_auth_headers("example.com", &h, &err), -EINVAL);
	assert_non_null(strstr(err.msg, p));
	assert_non_null(strstr(err.msg, "rktVersion"));

	free(put(t->local, "auth.d", "broken.json",
		 "{\"rktKind\":\"auth\",\"rktVersion\":\"v1\",\"domains\":\"a\",\"type\":\"oauth\","
		 "\"credentials\":{\"token\":\"t\"}}"));
	assert_int_equal(config_auth_headers("example.com", &h, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "\"domains\""));

	/* header injection through a credential */
	free(put(t->local, "auth.d", "broken.json",
		 "{\"rktKind\":\"auth\",\"rktVersion\":\"v1\",\"domains\":[\"a\"],\"type\":\"oauth\","
		 "\"credentials\":{\"token\":\"t\\r\\nX-Evil: 1\"}}"));
	assert_int_equal(config_auth_headers("example.com", &h, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "credentials.token"));

	free(put(t->local, "auth.d", "broken.json",
		 "{\"rktKind\":\"auth\",\"rktVersion\":\"v1\",\"domains\":[\"a\"],\"type\":\"oauth\","
		 "\"credentials\":{\"token\":\"t\"},\"extra\":1}"));
	assert_int_equal(config_auth_headers("example.com", &h, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "\"extra\""));

	/* only *.json directly inside counts */
	rm_rf_at(AT_FDCWD, p);
	free(put(t->local, "auth.d", "notes.txt", "not json"));
	free(put(t->local, "auth.d/sub", "x.json", "not json either"));
	assert_int_equal(config_auth_headers("example.com", &h, &err), 0);
	assert_null(h);
}

static void test_aws_refused(void **state)
{
	struct tree *t = *state;
	_cleanup_free_ char *p = put(t->sys, "auth.d", "aws.json",
				     "{\"rktKind\":\"auth\",\"rktVersion\":\"v1\",\"domains\":[\"s3.example\"],"
				     "\"type\":\"aws\",\"credentials\":{\"accessKeyID\":\"AK\","
				     "\"secretAccessKey\":\"SK\",\"awsRegion\":\"eu-west-1\"}}");
	struct rkt_err err = { 0 };
	_cleanup_strv_ char **h = NULL;
	assert_int_equal(config_auth_headers("s3.example", &h, &err), -ENOTSUP);
	assert_non_null(strstr(err.msg, p));
	assert_non_null(strstr(err.msg, "aws"));
	/* other hosts are unaffected */
	assert_int_equal(config_auth_headers("example.com", &h, &err), 0);
	assert_null(h);
}

static void test_paths_override(void **state)
{
	struct tree *t = *state;
	struct rkt_err err = { 0 };
	char *data = NULL;
	assert_int_equal(config_paths_data_dir(&data, &err), 0);
	assert_null(data);
	free(put(t->sys, "paths.d", "p.json",
		 "{\"rktKind\":\"paths\",\"rktVersion\":\"v1\",\"data\":\"/sys-data\","
		 "\"stage1-images\":\"/sys-images\"}"));
	free(put(t->local, "paths.d", "p.json",
		 "{\"rktKind\":\"paths\",\"rktVersion\":\"v1\",\"data\":\"/local-data\"}"));
	assert_int_equal(config_paths_data_dir(&data, &err), 0);
	assert_string_equal(data, "/local-data");
	free(data);
	/* per field: stage1-images still comes from the system layer */
	assert_int_equal(config_paths_stage1_images_dir(&data, &err), 0);
	assert_string_equal(data, "/sys-images");
	free(data);

	_cleanup_free_ char *q = put(t->local, "paths.d", "q.json",
				     "{\"rktKind\":\"paths\",\"rktVersion\":\"v1\",\"data\":\"/other\"}");
	assert_int_equal(config_paths_data_dir(&data, &err), -EEXIST);
	assert_non_null(strstr(err.msg, q));
	rm_rf_at(AT_FDCWD, q);
	free(put(t->local, "paths.d", "q.json",
		 "{\"rktKind\":\"paths\",\"rktVersion\":\"v1\",\"data\":\"relative\"}"));
	assert_int_equal(config_paths_data_dir(&data, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "\"data\""));
}

static void test_stage1(void **state)
{
	struct tree *t = *state;
	struct rkt_err err = { 0 };
	struct config_stage1 s = { 0 };
	free(put(t->sys, "stage1.d", "s.json",
		 "{\"rktKind\":\"stage1\",\"rktVersion\":\"v1\",\"name\":\"example.com/stage1\","
		 "\"version\":\"1.0\",\"location\":\"/sys/stage1.aci\"}"));
	free(put(t->local, "stage1.d", "s.json",
		 "{\"rktKind\":\"stage1\",\"rktVersion\":\"v1\",\"location\":\"https://example.com/s.aci\"}"));
	assert_int_equal(config_stage1_default(&s, &err), 0);
	assert_string_equal(s.name, "example.com/stage1");
	assert_string_equal(s.version, "1.0");
	assert_string_equal(s.location, "https://example.com/s.aci");
	config_stage1_clear(&s);

	_cleanup_free_ char *p = put(t->local, "stage1.d", "s.json",
				     "{\"rktKind\":\"stage1\",\"rktVersion\":\"v1\",\"name\":\"x\"}");
	assert_int_equal(config_stage1_default(&s, &err), -EINVAL);
	assert_non_null(strstr(err.msg, p));
	assert_non_null(strstr(err.msg, "\"version\""));
}

static json_t *stage0_of(struct rkt_err *err)
{
	_cleanup_free_ char *s = NULL;
	assert_int_equal(config_merged_json(&s, 0, err), 0);
	json_error_t jerr;
	json_t *root = json_loads(s, 0, &jerr);
	assert_non_null(root);
	return root;
}

static void test_merged_json(void **state)
{
	struct tree *t = *state;
	struct rkt_err err = { 0 };
	free(put(t->sys, "auth.d", "a.json",
		 "{\"rktKind\":\"auth\",\"rktVersion\":\"v1\",\"domains\":[\"example.com\",\"b.example\"],"
		 "\"type\":\"basic\",\"credentials\":{\"user\":\"u\",\"password\":\"p\"}}"));
	free(put(t->local, "auth.d", "b.json", OAUTH_EXAMPLE));
	free(put(t->local, "auth.d", "d.json",
		 "{\"rktKind\":\"dockerAuth\",\"rktVersion\":\"v1\",\"registries\":[\"r.example\"],"
		 "\"credentials\":{\"user\":\"du\",\"password\":\"dp\"}}"));
	free(put(t->local, "paths.d", "p.json",
		 "{\"rktKind\":\"paths\",\"rktVersion\":\"v1\",\"data\":\"/d\"}"));
	json_t *root = stage0_of(&err);
	json_t *st = json_object_get(root, "stage0");
	assert_true(json_is_array(st));
	/* b.example, example.com, the registry, paths, stage1 */
	assert_int_equal(json_array_size(st), 5);
	json_error_t jerr;
	const char *kind, *ver, *dom, *type, *user, *pass, *tok, *data, *images, *name;
	assert_int_equal(json_unpack_ex(json_array_get(st, 0), &jerr, JSON_STRICT,
					"{s:s, s:s, s:[s], s:s, s:{s:s, s:s}}", "rktVersion", &ver,
					"rktKind", &kind, "domains", &dom, "type", &type,
					"credentials", "user", &user, "password", &pass),
			 0);
	assert_string_equal(ver, "v1");
	assert_string_equal(kind, "auth");
	assert_string_equal(dom, "b.example");
	assert_string_equal(type, "basic");
	assert_string_equal(user, "u");
	assert_string_equal(pass, "p");
	assert_int_equal(json_unpack_ex(json_array_get(st, 1), &jerr, JSON_STRICT,
					"{s:s, s:s, s:[s], s:s, s:{s:s}}", "rktVersion", &ver,
					"rktKind", &kind, "domains", &dom, "type", &type,
					"credentials", "token", &tok),
			 0);
	assert_string_equal(dom, "example.com");
	assert_string_equal(type, "oauth"); /* local overrides system per domain */
	assert_string_equal(tok, "sometoken");
	assert_int_equal(json_unpack_ex(json_array_get(st, 2), &jerr, JSON_STRICT,
					"{s:s, s:s, s:[s], s:{s:s, s:s}}", "rktVersion", &ver,
					"rktKind", &kind, "registries", &dom, "credentials", "user",
					&user, "password", &pass),
			 0);
	assert_string_equal(kind, "dockerAuth");
	assert_string_equal(dom, "r.example");
	assert_string_equal(user, "du");
	assert_int_equal(json_unpack_ex(json_array_get(st, 3), &jerr, JSON_STRICT,
					"{s:s, s:s, s:s, s:s}", "rktVersion", &ver, "rktKind", &kind,
					"data", &data, "stage1-images", &images),
			 0);
	assert_string_equal(kind, "paths");
	assert_string_equal(data, "/d");
	assert_string_equal(images, "");
	assert_int_equal(json_unpack_ex(json_array_get(st, 4), &jerr, 0, "{s:s, s:s}", "rktKind",
					&kind, "name", &name),
			 0);
	assert_string_equal(kind, "stage1");
	assert_string_equal(name, "");
	json_decref(root);

	/* pretty output is the same document */
	_cleanup_free_ char *pretty = NULL, *compact = NULL;
	assert_int_equal(config_merged_json(&pretty, 1, &err), 0);
	assert_int_equal(config_merged_json(&compact, 0, &err), 0);
	assert_non_null(strchr(pretty, '\n'));
	assert_null(strchr(compact, '\n'));
	json_t *a = json_loads(pretty, 0, NULL), *b = json_loads(compact, 0, NULL);
	assert_true(json_equal(a, b));
	json_decref(a);
	json_decref(b);
}

static void test_docker_credentials(void **state)
{
	struct tree *t = *state;
	struct rkt_err err = { 0 };
	free(put(t->sys, "auth.d", "d.json",
		 "{\"rktKind\":\"dockerAuth\",\"rktVersion\":\"v1\",\"registries\":[\"r.example\"],"
		 "\"credentials\":{\"user\":\"du\",\"password\":\"dp\"}}"));
	_cleanup_free_ char *u = NULL, *p = NULL;
	assert_int_equal(config_docker_credentials("r.example", &u, &p, &err), 0);
	assert_string_equal(u, "du");
	assert_string_equal(p, "dp");
	_cleanup_free_ char *u2 = NULL, *p2 = NULL;
	assert_int_equal(config_docker_credentials("other", &u2, &p2, &err), 0);
	assert_null(u2);
	/* dockerAuth does not become an Authorization header for plain HTTP fetches */
	_cleanup_strv_ char **h = NULL;
	assert_int_equal(config_auth_headers("r.example", &h, &err), 0);
	assert_null(h);
}

static int fake_groups(const char *name, gid_t *ret, void *ctx)
{
	(void)ctx;
	if (strcmp(name, "rkt") != 0)
		return -ENOENT;
	*ret = 4242;
	return 0;
}

/* The example that `make install` ships must be a policy the helper accepts
 * (run from the top of the tree, as tests/run-all.sh does). */
static void test_policy_example_parses(void **state)
{
	(void)state;
	struct rkt_err err = { 0 };
	_cleanup_free_ char *buf = NULL;
	size_t len;
	assert_int_equal(read_file_at(AT_FDCWD, "dist/policy.json.example", 65536, &buf, &len, &err), 0);
	struct policy *p = NULL;
	int r = policy_parse(buf, len, "dist/policy.json.example", fake_groups, NULL, &p, &err);
	if (r < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(p->n_rules, 1);
	assert_int_equal(p->rules[0].n_gids, 1);
	assert_int_equal(p->rules[0].gids[0], 4242);
	assert_true(p->rules[0].signed_images_only);
	policy_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base64),
		cmocka_unit_test_setup_teardown(test_basic_header, setup, teardown),
		cmocka_unit_test_setup_teardown(test_local_overrides_system, setup, teardown),
		cmocka_unit_test_setup_teardown(test_invalid_local_overrides_valid_system, setup, teardown),
		cmocka_unit_test_setup_teardown(test_duplicate_domain_in_layer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_files_named, setup, teardown),
		cmocka_unit_test_setup_teardown(test_aws_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_paths_override, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stage1, setup, teardown),
		cmocka_unit_test_setup_teardown(test_merged_json, setup, teardown),
		cmocka_unit_test_setup_teardown(test_docker_credentials, setup, teardown),
		cmocka_unit_test(test_policy_example_parses),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
