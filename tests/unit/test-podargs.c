/* unpriv/cli/podargs: rkt's image-argument syntax, per-app flags and the
 * runtime pod manifest built from them (rkt-behaviour.md §1.4, §1.5). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/manifest.h"
#include "common/util.h"
#include "unpriv/cli/podargs.h"

#define KEY_A "sha512-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define KEY_B "sha512-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

static const char *manifest_web =
	"{\"acKind\":\"ImageManifest\",\"acVersion\":\"0.8.11\",\"name\":\"localhost/img/web.server\","
	"\"labels\":[{\"name\":\"version\",\"value\":\"1.0\"},{\"name\":\"os\",\"value\":\"linux\"}],"
	"\"app\":{\"exec\":[\"/bin/web\",\"--serve\"],\"user\":\"0\",\"group\":\"0\","
	"\"environment\":[{\"name\":\"A\",\"value\":\"image\"},{\"name\":\"B\",\"value\":\"image\"},"
	"{\"name\":\"C\",\"value\":\"image\"},{\"name\":\"D\",\"value\":\"image\"}],"
	"\"isolators\":[{\"name\":\"os/linux/capabilities-remove-set\",\"value\":{\"set\":[\"CAP_MKNOD\"]}}],"
	"\"ports\":[{\"name\":\"http\",\"protocol\":\"tcp\",\"port\":80}]}}";
static const char *manifest_noapp =
	"{\"acKind\":\"ImageManifest\",\"acVersion\":\"0.8.11\",\"name\":\"localhost/img/side\"}";

static int parse(struct podargs *pa, struct rkt_err *err, ...)
{
	char *argv[64];
	int argc = 0;
	va_list ap;
	va_start(ap, err);
	for (char *a; (a = va_arg(ap, char *));)
		argv[argc++] = a;
	va_end(ap);
	argv[argc] = NULL;
	return podargs_parse(argc, argv, pa, err);
}

static json_t *build(const struct podargs *pa, const char *const *manifests, char *const *host_env,
		     int *ret, struct rkt_err *err)
{
	struct podargs_image imgs[8] = { 0 };
	for (size_t i = 0; i < pa->n_apps; i++) {
		snprintf(imgs[i].key, sizeof imgs[i].key, "%s", i % 2 ? KEY_B : KEY_A);
		imgs[i].manifest_json = (char *)manifests[i];
	}
	char *json = NULL;
	*ret = podargs_build_manifest(pa, imgs, host_env, &json, err);
	if (*ret < 0)
		return NULL;
	json_t *doc = json_loads(json, 0, NULL);
	free(json);
	return doc;
}

static json_t *app_at(json_t *doc, size_t i) { return json_array_get(json_object_get(doc, "apps"), i); }

static const char *env_of(json_t *app, const char *name)
{
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(json_object_get(app, "app"), "environment"), i, e)
		if (!strcmp(json_string_value(json_object_get(e, "name")), name))
			return json_string_value(json_object_get(e, "value"));
	return NULL;
}

static json_t *isolator_of(json_t *app, const char *name)
{
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(json_object_get(app, "app"), "isolators"), i, e)
		if (!strcmp(json_string_value(json_object_get(e, "name")), name))
			return json_object_get(e, "value");
	return NULL;
}

static void test_per_app_flags_bind_to_preceding_image(void **state)
{
	(void)state;
	struct podargs pa;
	struct rkt_err err = { 0 };
	assert_int_equal(parse(&pa, &err, "--stage1-name=kvm", "--mount", "volume=data,target=/data", "img1",
			       "--exec", "/bin/one", "--user=10", "--name", "first", "img2", "--group", "20",
			       "--readonly-rootfs", NULL),
			 0);
	assert_int_equal(pa.n_apps, 2);
	assert_string_equal(pa.stage1_name, "kvm");
	assert_true(pa.stage1_name_set);
	assert_string_equal(pa.mounts[0], "volume=data,target=/data");
	assert_string_equal(pa.apps[0].image, "img1");
	assert_string_equal(pa.apps[0].exec, "/bin/one");
	assert_string_equal(pa.apps[0].user, "10");
	assert_string_equal(pa.apps[0].name, "first");
	assert_null(pa.apps[0].group);
	assert_false(pa.apps[0].readonly_rootfs);
	assert_string_equal(pa.apps[1].image, "img2");
	assert_null(pa.apps[1].exec);
	assert_string_equal(pa.apps[1].group, "20");
	assert_true(pa.apps[1].readonly_rootfs);
	podargs_done(&pa);
}

static void test_args_and_app_separator(void **state)
{
	(void)state;
	struct podargs pa;
	struct rkt_err err = { 0 };
	assert_int_equal(parse(&pa, &err, "img1", "--", "a", "--exec", "b", "---", "img2", "--", "c", "---",
			       "img3", "--memory=5M", NULL),
			 0);
	assert_int_equal(pa.n_apps, 3);
	assert_int_equal(strv_len(pa.apps[0].args), 3);
	assert_string_equal(pa.apps[0].args[1], "--exec"); /* args are verbatim */
	assert_null(pa.apps[0].exec);
	assert_string_equal(pa.apps[1].image, "img2");
	assert_string_equal(pa.apps[1].args[0], "c");
	assert_string_equal(pa.apps[2].image, "img3");
	assert_null(pa.apps[2].args);
	assert_string_equal(pa.apps[2].memory, "5M");
	podargs_done(&pa);

	/* "---" may close the last image's args too (rkt's [-- args [---]]) */
	assert_int_equal(parse(&pa, &err, "img1", "--", "a", "---", NULL), 0);
	assert_int_equal(pa.n_apps, 1);
	assert_int_equal(strv_len(pa.apps[0].args), 1);
	assert_string_equal(pa.apps[0].args[0], "a");
	podargs_done(&pa);
	assert_int_equal(parse(&pa, &err, "img1", "--", "---", NULL), 0);
	assert_int_equal(pa.n_apps, 1);
	assert_int_equal(strv_len(pa.apps[0].args), 0);
	podargs_done(&pa);

	/* images without args follow each other directly */
	assert_int_equal(parse(&pa, &err, "img1", "img2", NULL), 0);
	assert_int_equal(pa.n_apps, 2);
	podargs_done(&pa);
}

static void test_syntax_errors(void **state)
{
	(void)state;
	struct podargs pa;
	struct rkt_err err = { 0 };
	assert_int_equal(parse(&pa, &err, "--exec=/x", "img", NULL), -EINVAL);
	assert_string_equal(err.msg, "--exec must follow an image");
	assert_int_equal(parse(&pa, &err, "img", "---", "img2", NULL), -EINVAL);
	assert_non_null(strstr(err.msg, "\"---\" must follow"));
	assert_int_equal(parse(&pa, &err, "img", "--", "a", "---", "--exec=/x", NULL), -EINVAL);
	assert_non_null(strstr(err.msg, "an image must follow"));
	assert_int_equal(parse(&pa, &err, "img", "--bogus", NULL), -EINVAL);
	assert_non_null(strstr(err.msg, "unknown flag: --bogus"));
	/* state was reset after the errors: a clean parse sees nothing stale */
	assert_int_equal(parse(&pa, &err, "img", NULL), 0);
	assert_null(pa.apps[0].exec);
	assert_null(pa.mounts);
	podargs_done(&pa);
}

static void test_pod_manifest_conflicts(void **state)
{
	(void)state;
	struct podargs pa;
	struct rkt_err err = { 0 };
	const char *conflicting[][3] = {
		{ "--inherit-env", NULL, NULL },	   { "--set-env=foo=bar", NULL, NULL },
		{ "--port=foo:80", NULL, NULL },	   { "--volume=v,kind=empty", NULL, NULL },
		{ "--mount=volume=v,target=/v", NULL, NULL }, { "--pull-policy=update", NULL, NULL },
		{ "img", "--exec=/x", NULL },		   { "--store-only", NULL, NULL },
		{ "--no-store", NULL, NULL },
	};
	for (size_t i = 0; i < sizeof conflicting / sizeof conflicting[0]; i++) {
		assert_int_equal(parse(&pa, &err, "--pod-manifest=/m.json", conflicting[i][0],
				       conflicting[i][1], NULL),
				 0);
		assert_int_equal(podargs_check_pod_manifest_conflicts(&pa, &err), -EINVAL);
		assert_string_equal(err.msg, "conflicting flags set with --pod-manifest (see --help)");
		podargs_done(&pa);
	}
	assert_int_equal(parse(&pa, &err, "--pod-manifest=/m.json", "--pull-policy=new", "--quiet", NULL), 0);
	assert_int_equal(podargs_check_pod_manifest_conflicts(&pa, &err), 0);
	podargs_done(&pa);
}

/* rkt's deprecated --store-only / --no-store: --pull-policy=never / update. */
static void test_deprecated_store_flags(void **state)
{
	(void)state;
	struct podargs pa;
	struct rkt_err err = { 0 };
	assert_int_equal(parse(&pa, &err, "--store-only", "img", NULL), 0);
	assert_string_equal(pa.pull_policy, "never");
	assert_true(pa.pull_policy_set);
	podargs_done(&pa);
	/* they win over --pull-policy, as in rkt fetch */
	assert_int_equal(parse(&pa, &err, "--no-store", "--pull-policy=never", "img", NULL), 0);
	assert_string_equal(pa.pull_policy, "update");
	podargs_done(&pa);
	/* pod-wide: accepted after an image too */
	assert_int_equal(parse(&pa, &err, "img", "--store-only", NULL), 0);
	assert_string_equal(pa.pull_policy, "never");
	podargs_done(&pa);
	assert_int_equal(parse(&pa, &err, "--store-only=false", "img", NULL), 0);
	assert_null(pa.pull_policy);
	assert_false(pa.pull_policy_set);
	podargs_done(&pa);
	assert_int_equal(parse(&pa, &err, "--store-only", "--no-store", "img", NULL), -EINVAL);
	assert_string_equal(err.msg, "both --store-only and --no-store specified");
}

static void test_manifest_apps(void **state)
{
	(void)state;
	struct podargs pa;
	struct rkt_err err = { 0 };
	int r;
	assert_int_equal(parse(&pa, &err, "--mount=volume=data,target=/data",
			       "--volume=data,kind=host,source=/srv,readOnly=true", "--port=http:8080",
			       "web", "--", "-v", "---", "side", "--exec=/bin/side", "--working-dir=/w",
			       "--supplementary-gids=5,6", "--user-label=team=infra", "--annotation=k=v", NULL),
			 0);
	const char *ms[] = { manifest_web, manifest_noapp };
	json_t *doc = build(&pa, ms, NULL, &r, &err);
	assert_int_equal(r, 0);
	assert_string_equal(json_string_value(json_object_get(doc, "acKind")), "PodManifest");
	json_t *a0 = app_at(doc, 0), *a1 = app_at(doc, 1);
	/* default name: last path component sanitized to an AC name */
	assert_string_equal(json_string_value(json_object_get(a0, "name")), "web-server");
	assert_string_equal(json_string_value(json_object_get(a1, "name")), "side");
	json_t *img = json_object_get(a0, "image");
	assert_string_equal(json_string_value(json_object_get(img, "id")), KEY_A);
	assert_string_equal(json_string_value(json_object_get(img, "name")), "localhost/img/web.server");
	assert_int_equal(json_array_size(json_object_get(img, "labels")), 2);
	/* args after -- append to the image's exec */
	json_t *exec = json_object_get(json_object_get(a0, "app"), "exec");
	assert_int_equal(json_array_size(exec), 3);
	assert_string_equal(json_string_value(json_array_get(exec, 2)), "-v");
	/* an image without app section takes --exec, user/group 0 */
	json_t *app1 = json_object_get(a1, "app");
	assert_string_equal(json_string_value(json_array_get(json_object_get(app1, "exec"), 0)), "/bin/side");
	assert_string_equal(json_string_value(json_object_get(app1, "user")), "0");
	assert_string_equal(json_string_value(json_object_get(app1, "workingDirectory")), "/w");
	assert_int_equal(json_integer_value(json_array_get(json_object_get(app1, "supplementaryGIDs"), 1)), 6);
	assert_string_equal(json_string_value(json_object_get(json_object_get(app1, "userLabels"), "team")), "infra");
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(a1, "annotations"), 0), "name")), "k");
	/* --mount before any image applies to every app */
	for (size_t i = 0; i < 2; i++) {
		json_t *m = json_array_get(json_object_get(app_at(doc, i), "mounts"), 0);
		assert_string_equal(json_string_value(json_object_get(m, "path")), "/data");
	}
	json_t *vol = json_array_get(json_object_get(doc, "volumes"), 0);
	assert_string_equal(json_string_value(json_object_get(vol, "source")), "/srv");
	assert_true(json_is_true(json_object_get(vol, "readOnly")));
	json_t *port = json_array_get(json_object_get(doc, "ports"), 0);
	assert_int_equal(json_integer_value(json_object_get(port, "hostPort")), 8080);
	json_decref(doc);
	podargs_done(&pa);

	/* no app section and no --exec */
	assert_int_equal(parse(&pa, &err, "side", NULL), 0);
	const char *ms2[] = { manifest_noapp };
	assert_null(build(&pa, ms2, NULL, &r, &err));
	assert_int_equal(r, -EINVAL);
	assert_non_null(strstr(err.msg, "has no app section and --exec argument is not provided"));
	podargs_done(&pa);
}

static void test_duplicate_app_names(void **state)
{
	(void)state;
	struct podargs pa;
	struct rkt_err err = { 0 };
	int r;
	assert_int_equal(parse(&pa, &err, "web", "web", NULL), 0);
	const char *ms[] = { manifest_web, manifest_web };
	assert_null(build(&pa, ms, NULL, &r, &err));
	assert_int_equal(r, -EINVAL);
	assert_string_equal(err.msg, "multiple apps with name web-server");
	podargs_done(&pa);
	/* --name makes them distinct */
	assert_int_equal(parse(&pa, &err, "web", "web", "--name=two", NULL), 0);
	json_t *doc = build(&pa, ms, NULL, &r, &err);
	assert_int_equal(r, 0);
	assert_string_equal(json_string_value(json_object_get(app_at(doc, 1), "name")), "two");
	json_decref(doc);
	podargs_done(&pa);
}

/* A new file (path: a mkstemp template) holding text. */
static void write_temp(char *path, const char *text)
{
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static void test_env_precedence(void **state)
{
	(void)state;
	char path[] = "/tmp/test-podargs-env-XXXXXX";
	write_temp(path, "# comment\n; also\nB=file\nC=file\nD=file\n\n");
	struct podargs pa;
	struct rkt_err err = { 0 };
	int r;
	_cleanup_free_ char *fileflag = xasprintf("--set-env-file=%s", path);
	assert_int_equal(parse(&pa, &err, "--inherit-env", fileflag, "--set-env=C=setenv", "--set-env=D=setenv",
			       "web", "--environment=D=environment", NULL),
			 0);
	char *host[] = { "A=host", "HOSTONLY=h", "bad name=x", NULL };
	const char *ms[] = { manifest_web };
	json_t *doc = build(&pa, ms, host, &r, &err);
	unlink(path);
	assert_int_equal(r, 0);
	json_t *a = app_at(doc, 0);
	assert_string_equal(env_of(a, "A"), "image"); /* host < image */
	assert_string_equal(env_of(a, "HOSTONLY"), "h");
	assert_null(env_of(a, "bad name"));
	assert_string_equal(env_of(a, "B"), "file");	     /* image < set-env-file */
	assert_string_equal(env_of(a, "C"), "setenv");	     /* set-env-file < set-env */
	assert_string_equal(env_of(a, "D"), "environment"); /* set-env < environment */
	json_decref(doc);
	podargs_done(&pa);

	/* the same key twice in --set-env is an error */
	assert_int_equal(parse(&pa, &err, "--set-env=K=1", "--set-env=K=2", "web", NULL), 0);
	assert_null(build(&pa, ms, NULL, &r, &err));
	assert_int_equal(r, -EINVAL);
	assert_non_null(strstr(err.msg, "\"K\" set twice with --set-env"));
	podargs_done(&pa);
}

/* --set-env-file errors name the real line: empty lines count. */
static void test_env_file_line_numbers(void **state)
{
	(void)state;
	char path[] = "/tmp/test-podargs-envline-XXXXXX";
	write_temp(path, "A=1\n\n\n# comment\n\nnot a pair\n");
	struct podargs pa;
	struct rkt_err err = { 0 };
	int r;
	_cleanup_free_ char *fileflag = xasprintf("--set-env-file=%s", path);
	assert_int_equal(parse(&pa, &err, fileflag, "web", NULL), 0);
	const char *ms[] = { manifest_web };
	assert_null(build(&pa, ms, NULL, &r, &err));
	unlink(path);
	assert_int_equal(r, -EINVAL);
	_cleanup_free_ char *want = xasprintf("%s: line 6: expected NAME=VALUE", path);
	assert_non_null(strstr(err.msg, want));
	podargs_done(&pa);
}

static void test_isolator_flags(void **state)
{
	(void)state;
	struct podargs pa;
	struct rkt_err err = { 0 };
	int r;
	const char *ms[] = { manifest_web };
	assert_int_equal(parse(&pa, &err, "web", "--memory=16Mi", "--cpu=500m", "--cpu-shares=512",
			       "--oom-score-adj=-50", "--caps-retain=CAP_NET_ADMIN,CAP_CHOWN",
			       "--seccomp=mode=remove,errno=EXFULL,stat,@rkt/default-blacklist", NULL),
			 0);
	json_t *doc = build(&pa, ms, NULL, &r, &err);
	assert_int_equal(r, 0);
	json_t *a = app_at(doc, 0);
	assert_string_equal(json_string_value(json_object_get(isolator_of(a, "resource/memory"), "limit")), "16Mi");
	assert_string_equal(json_string_value(json_object_get(isolator_of(a, "resource/cpu"), "limit")), "500m");
	assert_int_equal(json_integer_value(isolator_of(a, "os/linux/cpu-shares")), 512);
	assert_int_equal(json_integer_value(isolator_of(a, "os/linux/oom-score-adj")), -50);
	/* the flag replaces the image's capability isolator */
	assert_null(isolator_of(a, "os/linux/capabilities-remove-set"));
	assert_int_equal(json_array_size(json_object_get(isolator_of(a, "os/linux/capabilities-retain-set"), "set")), 2);
	json_t *sc = isolator_of(a, "os/linux/seccomp-remove-set");
	assert_string_equal(json_string_value(json_object_get(sc, "errno")), "EXFULL");
	assert_int_equal(json_array_size(json_object_get(sc, "set")), 2);
	json_decref(doc);
	podargs_done(&pa);

	struct {
		const char *flag, *msg;
	} bad[] = {
		{ "--memory=lots", "--memory" },
		{ "--oom-score-adj=1001", "--oom-score-adj" },
		{ "--cpu-shares=1", "--cpu-shares" },
		{ "--seccomp=errno=EPERM,stat", "missing or bad mode" },
		{ "--seccomp=mode=remove,errno=enotsup,stat", "--seccomp" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_int_equal(parse(&pa, &err, "web", bad[i].flag, NULL), 0);
		assert_null(build(&pa, ms, NULL, &r, &err));
		assert_true(r < 0);
		assert_non_null(strstr(err.msg, bad[i].msg));
		podargs_done(&pa);
	}
	assert_int_equal(parse(&pa, &err, "web", "--caps-retain=CAP_CHOWN", "--caps-remove=CAP_MKNOD", NULL), 0);
	assert_null(build(&pa, ms, NULL, &r, &err));
	assert_string_equal(err.msg, "flags --caps-retain and --caps-remove are mutually exclusive");
	podargs_done(&pa);
}

static void test_volume_and_mount_syntax(void **state)
{
	(void)state;
	struct podargs pa;
	struct rkt_err err = { 0 };
	int r;
	const char *ms[] = { manifest_web };
	assert_int_equal(parse(&pa, &err, "--volume=scratch,kind=empty,mode=0700,uid=5,gid=6", "web", NULL), 0);
	json_t *doc = build(&pa, ms, NULL, &r, &err);
	assert_int_equal(r, 0);
	json_t *v = json_array_get(json_object_get(doc, "volumes"), 0);
	assert_string_equal(json_string_value(json_object_get(v, "mode")), "0700");
	assert_int_equal(json_integer_value(json_object_get(v, "gid")), 6);
	json_decref(doc);
	podargs_done(&pa);

	assert_int_equal(parse(&pa, &err, "--volume=v,kind=host,source=/x,readOnly=maybe", "web", NULL), 0);
	assert_null(build(&pa, ms, NULL, &r, &err));
	assert_non_null(strstr(err.msg, "is not a boolean"));
	podargs_done(&pa);
	assert_int_equal(parse(&pa, &err, "web", "--mount=volume=v", NULL), 0);
	assert_null(build(&pa, ms, NULL, &r, &err));
	assert_non_null(strstr(err.msg, "expected volume=NAME,target=PATH"));
	podargs_done(&pa);
	assert_int_equal(parse(&pa, &err, "web", "--port=http", NULL), 0);
	assert_null(build(&pa, ms, NULL, &r, &err));
	assert_non_null(strstr(err.msg, "expected NAME:[HOSTIP:]HOSTPORT"));
	podargs_done(&pa);
}

/* --port NAME:[HOSTIP:]HOSTPORT: the name must be an app's declared port. */
static void test_manifest_ports(void **state)
{
	(void)state;
	struct podargs pa;
	struct rkt_err err = { 0 };
	int r;
	const char *ms[] = { manifest_web, manifest_noapp };
	assert_int_equal(parse(&pa, &err, "--port=http:127.0.0.1:8080", "web", "side",
			       "--exec=/bin/side", NULL), 0);
	json_t *doc = build(&pa, ms, NULL, &r, &err);
	assert_int_equal(r, 0);
	json_t *port = json_array_get(json_object_get(doc, "ports"), 0);
	assert_string_equal(json_string_value(json_object_get(port, "name")), "http");
	assert_string_equal(json_string_value(json_object_get(port, "hostIP")), "127.0.0.1");
	assert_int_equal(json_integer_value(json_object_get(port, "hostPort")), 8080);
	json_decref(doc);
	char *none[] = { "none", NULL }, *host[] = { "host", NULL }, *def[] = { "default", NULL };
	assert_int_equal(podargs_check_ports_net(&pa, def, &err), 0);
	assert_int_equal(podargs_check_ports_net(&pa, none, &err), -EINVAL);
	assert_string_equal(err.msg, "--port flag does not work with 'none' networking");
	assert_int_equal(podargs_check_ports_net(&pa, host, &err), -EINVAL);
	assert_string_equal(err.msg, "--port flag does not work with 'host' networking");
	podargs_done(&pa);

	/* no --port: any net */
	assert_int_equal(parse(&pa, &err, "web", NULL), 0);
	assert_int_equal(podargs_check_ports_net(&pa, none, &err), 0);
	podargs_done(&pa);

	assert_int_equal(parse(&pa, &err, "--port=https:8443", "web", NULL), 0);
	assert_null(build(&pa, ms, NULL, &r, &err));
	assert_int_equal(r, -ENOENT);
	assert_string_equal(err.msg, "port name \"https\" could not be found in any apps");
	podargs_done(&pa);

	/* two apps of the same image both declare http: ambiguous */
	const char *ms2[] = { manifest_web, manifest_web };
	assert_int_equal(parse(&pa, &err, "--port=http:8080", "web", "web", "--name=web2", NULL), 0);
	assert_null(build(&pa, ms2, NULL, &r, &err));
	assert_string_equal(err.msg, "port name \"http\" defined multiple apps");
	podargs_done(&pa);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_per_app_flags_bind_to_preceding_image),
		cmocka_unit_test(test_args_and_app_separator),
		cmocka_unit_test(test_syntax_errors),
		cmocka_unit_test(test_pod_manifest_conflicts),
		cmocka_unit_test(test_deprecated_store_flags),
		cmocka_unit_test(test_manifest_apps),
		cmocka_unit_test(test_manifest_ports),
		cmocka_unit_test(test_duplicate_app_names),
		cmocka_unit_test(test_env_precedence),
		cmocka_unit_test(test_env_file_line_numbers),
		cmocka_unit_test(test_isolator_flags),
		cmocka_unit_test(test_volume_and_mount_syntax),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
