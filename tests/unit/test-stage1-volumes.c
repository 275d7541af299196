/* stage1/volumes: rkt's GenerateMounts plan from the pod and image
 * manifests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "common/manifest.h"
#include "stage1/volumes.h"

static const char image_json[] =
	"{\"acKind\":\"ImageManifest\",\"acVersion\":\"0.8.11\",\"name\":\"example.com/app\","
	"\"app\":{\"exec\":[\"/bin/true\"],\"user\":\"0\",\"group\":\"0\",\"mountPoints\":["
	"{\"name\":\"data\",\"path\":\"/data\",\"readOnly\":true},"
	"{\"name\":\"logs\",\"path\":\"/var/log/app\"},"
	"{\"name\":\"scratch\",\"path\":\"/scratch\",\"readOnly\":true},"
	"{\"name\":\"cfg\",\"path\":\"/cfg\"}]}}";

static const char pod_json[] =
	"{\"acKind\":\"PodManifest\",\"acVersion\":\"0.8.11\",\"apps\":[{\"name\":\"app\","
	"\"image\":{\"id\":\"sha512-"
	"0000000000000000000000000000000000000000000000000000000000000001\"},"
	"\"mounts\":[{\"volume\":\"data\",\"path\":\"/data\"},"
	"{\"volume\":\"shared\",\"path\":\"/a/b/c\"}]}],"
	"\"volumes\":[{\"name\":\"data\",\"kind\":\"host\",\"source\":\"/srv/data\"},"
	"{\"name\":\"shared\",\"kind\":\"empty\",\"mode\":\"0750\",\"uid\":7,\"gid\":8},"
	"{\"name\":\"logs\",\"kind\":\"host\",\"source\":\"/srv/logs\",\"readOnly\":true,"
	"\"recursive\":false},"
	"{\"name\":\"cfg\",\"kind\":\"host\",\"source\":\"/srv/cfg\",\"readOnly\":false}]}";

static size_t slashes(const char *s)
{
	size_t k = 0;
	for (; *s; s++)
		k += *s == '/';
	return k;
}

static const struct s1_mount *by_target(const struct s1_mount *m, size_t n, const char *t)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(m[i].target, t) == 0)
			return &m[i];
	fail_msg("no mount at %s", t);
	return NULL;
}

static void test_plan(void **state)
{
	(void)state;
	struct rkt_err err = { 0 };
	struct image_manifest *im = NULL;
	struct pod_manifest *pm = NULL;
	assert_int_equal(image_manifest_parse(image_json, strlen(image_json), &im, &err), 0);
	assert_int_equal(pod_manifest_parse(pod_json, strlen(pod_json), &pm, &err), 0);
	struct s1_mount *m = NULL;
	size_t n = 0;
	assert_int_equal(volumes_plan(pm, &pm->apps[0], im, "/pod", &m, &n, &err), 0);
	assert_int_equal(n, 5);
	/* explicit mount: readOnly from the same-named mountPoint */
	const struct s1_mount *d = by_target(m, n, "/data");
	assert_true(d->host && d->read_only && d->recursive);
	assert_string_equal(d->source, "/srv/data");
	const struct s1_mount *e = by_target(m, n, "/a/b/c");
	assert_false(e->host);
	assert_string_equal(e->source, "/pod/sharedVolumes/shared");
	assert_int_equal(e->mode, 0750);
	assert_int_equal(e->uid, 7);
	assert_int_equal(e->gid, 8);
	/* mountPoint satisfied by a volume: the volume's readOnly wins */
	const struct s1_mount *l = by_target(m, n, "/var/log/app");
	assert_true(l->read_only);
	assert_false(l->recursive);
	const struct s1_mount *c = by_target(m, n, "/cfg");
	assert_false(c->read_only);
	/* no volume: implicit empty <app>-<mountpoint> */
	const struct s1_mount *s = by_target(m, n, "/scratch");
	assert_string_equal(s->volume, "app-scratch");
	assert_string_equal(s->source, "/pod/sharedVolumes/app-scratch");
	assert_true(s->read_only);
	assert_int_equal(s->mode, 0755);
	/* shallower paths first, so a parent is mounted before its children */
	for (size_t i = 1; i < n; i++)
		assert_true(slashes(m[i - 1].target) <= slashes(m[i].target));
	volumes_free(m, n);
	pod_manifest_free(pm);
	image_manifest_free(im);
}

static void test_plan_unknown_volume(void **state)
{
	(void)state;
	static const char pj[] =
		"{\"acKind\":\"PodManifest\",\"acVersion\":\"0.8.11\",\"apps\":[{\"name\":\"app\","
		"\"image\":{\"id\":\"sha512-"
		"0000000000000000000000000000000000000000000000000000000000000001\"},"
		"\"mounts\":[{\"volume\":\"nope\",\"path\":\"/x\"}]}]}";
	struct rkt_err err = { 0 };
	struct image_manifest *im = NULL;
	struct pod_manifest *pm = NULL;
	assert_int_equal(image_manifest_parse(image_json, strlen(image_json), &im, &err), 0);
	if (pod_manifest_parse(pj, strlen(pj), &pm, &err) < 0) {
		/* the manifest layer already refuses it: fine too */
		image_manifest_free(im);
		return;
	}
	struct s1_mount *m = NULL;
	size_t n = 0;
	assert_true(volumes_plan(pm, &pm->apps[0], im, "/pod", &m, &n, &err) < 0);
	assert_non_null(strstr(err.msg, "could not find volume nope"));
	pod_manifest_free(pm);
	image_manifest_free(im);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plan),
		cmocka_unit_test(test_plan_unknown_volume),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
