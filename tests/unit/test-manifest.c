/* common/manifest: appc image and pod manifest parsing and validation,
 * driven by the checked vectors of reference/appc-oci.md §11. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/manifest.h"
#include "common/util.h"

/* appc-oci.md §11 vectors (generated from the reference; keep in sync). */
struct vector {
	const char *id, *json, *want;
};

static const struct vector valid_vectors[] = {
	{"V01", "{\"acKind\":\"ImageManifest\",\"acVersion\":\"0.8.11\",\"name\":\"example.com/minimal\"}", NULL},
	{"V02", "{\"acKind\":\"ImageManifest\",\"acVersion\":\"0.8.11\",\"name\":\"example.com/hello\",\"labels\":[{\"name\":\"version\",\"value\":\"1.2.3\"},{\"name\":\"os\",\"value\":\"linux\"},{\"name\":\"arch\",\"value\":\"amd64\"}],\"app\":{\"exec\":[\"/bin/hello\",\"--port\",\"8080\"],\"user\":\"0\",\"group\":\"0\"}}", NULL},
	{"V03", "{\"acKind\":\"ImageManifest\",\"acVersion\":\"0.8.11\",\"name\":\"sub-domain.example.com/~team/app_v1.2-x\",\"annotations\":[{\"name\":\"created\",\"value\":\"2016-03-01T12:00:00Z\"},{\"name\":\"homepage\",\"value\":\"https://example.com/app\"},{\"name\":\"authors\",\"value\":\"A <a@example.com>\"}]}", NULL},
	{"V04", "{\"acKind\":\"ImageManifest\",\"acVersion\":\"0.8.11\",\"name\":\"example.com/daemon\",\"app\":{\"exec\":[\"worker\"],\"user\":\"daemon\",\"group\":\"/usr/bin/ping\",\"supplementaryGIDs\":[10,20],\"eventHandlers\":[{\"name\":\"pre-start\",\"exec\":[\"/bin/prep\"]},{\"name\":\"post-stop\",\"exec\":[\"/bin/cleanup\",\"-v\"]}],\"workingDirectory\":\"/srv/app\",\"environment\":[{\"name\":\"_UNDER\",\"value\":\"\"},{\"name\":\"java.opts-x\",\"value\":\"-Xmx1g\"},{\"name\":\"PATH\",\"value\":\"/bin\"}]}}", NULL},
	{"V05", "{\"acKind\":\"ImageManifest\",\"acVersion\":\"0.8.11\",\"name\":\"example.com/iso\",\"app\":{\"exec\":[\"/x\"],\"user\":\"0\",\"group\":\"0\",\"isolators\":[{\"name\":\"resource/cpu\",\"value\":{\"request\":\"250m\",\"limit\":\"1\"}},{\"name\":\"resource/memory\",\"value\":{\"limit\":\"512Mi\"}},{\"name\":\"os/linux/capabilities-retain-set\",\"value\":{\"set\":[\"CAP_NET_BIND_SERVICE\",\"CAP_CHOWN\"]}},{\"name\":\"os/linux/no-new-privileges\",\"value\":true},{\"name\":\"os/linux/oom-score-adj\",\"value\":-500},{\"name\":\"os/linux/cpu-shares\",\"value\":512}]}}", NULL},
	{"V06", "{\"acKind\":\"ImageManifest\",\"acVersion\":\"0.8.11\",\"name\":\"example.com/sec\",\"app\":{\"exec\":[\"/x\"],\"user\":\"0\",\"group\":\"0\",\"isolators\":[{\"name\":\"os/linux/seccomp-remove-set\",\"value\":{\"errno\":\"ENOTSUP\",\"set\":[\"reboot\",\"@rkt/default-blacklist\"]}},{\"name\":\"os/linux/capabilities-remove-set\",\"value\":{\"set\":[\"CAP_MKNOD\"]}}]}}", NULL},
	{"V07", "{\"acKind\":\"ImageManifest\",\"acVersion\":\"0.8.11\",\"name\":\"example.com/srv\",\"app\":{\"exec\":[\"/srv\"],\"user\":\"1000\",\"group\":\"1000\",\"mountPoints\":[{\"name\":\"data\",\"path\":\"/var/lib/data\"},{\"name\":\"conf-ro\",\"path\":\"/etc/srv\",\"readOnly\":true}],\"ports\":[{\"name\":\"http\",\"protocol\":\"tcp\",\"port\":80,\"socketActivated\":true},{\"name\":\"range\",\"protocol\":\"udp\",\"port\":65000,\"count\":536}]}}", NULL},
	{"V08", "{\"acKind\":\"ImageManifest\",\"acVersion\":\"0.8.11\",\"name\":\"example.com/app-on-base\",\"dependencies\":[{\"imageName\":\"example.com/base\",\"imageID\":\"sha512-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\",\"labels\":[{\"name\":\"os\",\"value\":\"linux\"}],\"size\":1048576},{\"imageName\":\"example.com/certs\"}],\"pathWhitelist\":[\"/etc/ssl/certs/ca.pem\",\"/bin/app\"]}", NULL},
	{"V09", "{\"acKind\":\"ImageManifest\",\"acVersion\":\"0.8.11\",\"name\":\"example.com/extras\",\"app\":{\"user\":\"root\",\"group\":\"root\",\"userLabels\":{\"Any Key!\":\"v\"},\"userAnnotations\":{\"team\":\"infra\"}},\"annotations\":[{\"name\":\"appc.io/executor/supports-systemd-notify\",\"value\":\"true\"}],\"x-unknown-field\":42}", NULL},
	{"V10", "{\"acKind\":\"ImageManifest\",\"acVersion\":\"0.8.0\",\"name\":\"example.com/arm\",\"labels\":[{\"name\":\"os\",\"value\":\"linux\"},{\"name\":\"arch\",\"value\":\"aarch64\"},{\"name\":\"channel\",\"value\":\"beta\"}]}", NULL},
};

static const struct vector invalid_vectors[] = {
	{"I01", "{\"acKind\":\"PodManifest\",\"acVersion\":\"0.8.11\",\"name\":\"example.com/a\"}", "field \"acKind\""},
	{"I02", "{\"acKind\":\"ImageManifest\",\"name\":\"example.com/a\"}", "field \"acVersion\""},
	{"I03", "{\"acKind\":\"ImageManifest\",\"acVersion\":\"0.8\",\"name\":\"example.com/a\"}", "field \"acVersion\""},
	{"I04", "{\"acKind\":\"ImageManifest\",\"acVersion\":\"0.8.11\",\"name\":\"Example.com/App\"}", "field \"name\""},
	{"I05", "{\"acKind\":\"ImageManifest\",\"acVersion\":\"0.8.11\",\"name\":\"example.com/app/\"}", "field \"name\""},
	{"I06", "{\"acKind\":\"ImageManifest\",\"acVersion\":\"0.8.11\",\"name\":\"example.com/a\",\"labels\":[{\"name\":\"version\",\"value\":\"1\"},{\"name\":\"version\",\"value\":\"2\"}]}", "field \"labels[1].name\""},
	{"I07", "{\"acKind\":\"ImageManifest\",\"acVersion\":\"0.8.11\",\"name\":\"example.com/a\",\"labels\":[{\"name\":\"name\",\"value\":\"x\"}]}", "field \"labels[0].name\""},
	{"I08", "{\"acKind\":\"ImageManifest\",\"acVersion\":\"0.8.11\",\"name\":\"example.com/a\",\"labels\":[{\"name\":\"os\",\"value\":\"linux\"},{\"name\":\"arch\",\"value\":\"x86_64\"}]}", "bad arch \"x86_64\" for linux"},
	{"I09", "{\"acKind\":\"ImageManifest\",\"acVersion\":\"0.8.11\",\"name\":\"example.com/a\",\"app\":{\"exec\":[\"/x\"],\"user\":\"0\"}}", "field \"app.group\""},
	{"I10", "{\"acKind\":\"ImageManifest\",\"acVersion\":\"0.8.11\",\"name\":\"example.com/a\",\"app\":{\"exec\":[\"/x\"],\"user\":\"0\",\"group\":\"0\",\"workingDirectory\":\"srv/app\"}}", "field \"app.workingDirectory\""},
	{"I11", "{\"acKind\":\"ImageManifest\",\"acVersion\":\"0.8.11\",\"name\":\"example.com/a\",\"app\":{\"exec\":[\"/x\"],\"user\":\"0\",\"group\":\"0\",\"environment\":[{\"name\":\"1VAR\",\"value\":\"x\"}]}}", "field \"app.environment[0].name\""},
	{"I12", "{\"acKind\":\"ImageManifest\",\"acVersion\":\"0.8.11\",\"name\":\"example.com/a\",\"app\":{\"exec\":[\"/x\"],\"user\":\"0\",\"group\":\"0\",\"ports\":[{\"name\":\"p\",\"protocol\":\"tcp\",\"port\":65000,\"count\":537}]}}", "field \"app.ports[0]\""},
	{"I13", "{\"acKind\":\"ImageManifest\",\"acVersion\":\"0.8.11\",\"name\":\"example.com/a\",\"app\":{\"exec\":[\"/x\"],\"user\":\"0\",\"group\":\"0\",\"isolators\":[{\"name\":\"os/linux/seccomp-retain-set\",\"value\":{\"set\":[\"read\",\"write\"]}},{\"name\":\"os/linux/seccomp-remove-set\",\"value\":{\"set\":[\"reboot\"]}}]}}", "field \"app.isolators[1]\""},
	{"I14", "{\"acKind\":\"ImageManifest\",\"acVersion\":\"0.8.11\",\"name\":\"example.com/a\",\"annotations\":[{\"name\":\"created\",\"value\":\"2016-03-01 12:00:00\"}]}", "field \"annotations[0].value\""},
	{"I15", "{\"acKind\":\"ImageManifest\",\"acVersion\":\"0.8.11\",\"name\":\"example.com/a\",\"dependencies\":[{\"imageName\":\"example.com/b\",\"imageID\":\"sha256-abcdef\"}]}", "field \"dependencies[0].imageID\""},
};


static struct image_manifest *parse_ok(const char *json)
{
	struct image_manifest *m = NULL;
	struct rkt_err err = {0};
	int r = image_manifest_parse(json, strlen(json), &m, &err);
	if (r < 0)
		fail_msg("unexpected error: %s", err.msg);
	assert_non_null(m);
	assert_non_null(m->json);
	return m;
}

/* Parses json expecting a failure whose message contains want. */
static void parse_bad(const char *id, const char *json, const char *want)
{
	struct image_manifest *m = NULL;
	struct rkt_err err = {0};
	int r = image_manifest_parse(json, strlen(json), &m, &err);
	if (r >= 0) {
		image_manifest_free(m);
		fail_msg("%s: parsed although invalid", id);
	}
	assert_int_equal(r, -EINVAL);
	assert_null(m);
	assert_true(str_has_prefix(err.msg, "image manifest: "));
	if (!strstr(err.msg, want))
		fail_msg("%s: message \"%s\" lacks \"%s\"", id, err.msg, want);
}

static void test_valid_vectors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof valid_vectors / sizeof valid_vectors[0]; i++) {
		struct image_manifest *m = parse_ok(valid_vectors[i].json);
		assert_string_equal(m->ac_version, i == 9 ? "0.8.0" : "0.8.11");
		assert_true(str_has_prefix(m->name, "example.com/") || str_has_prefix(m->name, "sub-domain."));
		image_manifest_free(m);
	}
}

static void test_valid_fields(void **state)
{
	(void)state;
	struct image_manifest *m = parse_ok(valid_vectors[1].json); /* V02 */
	assert_string_equal(m->name, "example.com/hello");
	assert_int_equal(m->n_labels, 3);
	assert_string_equal(image_manifest_label(m, "version"), "1.2.3");
	assert_string_equal(image_manifest_label(m, "arch"), "amd64");
	assert_null(image_manifest_label(m, "channel"));
	assert_non_null(m->app);
	assert_int_equal(strv_len(m->app->exec), 3);
	assert_string_equal(m->app->exec[2], "8080");
	assert_string_equal(m->app->user, "0");
	assert_null(m->app->working_directory);
	assert_null(m->path_whitelist);
	image_manifest_free(m);

	m = parse_ok(valid_vectors[3].json); /* V04 */
	assert_int_equal(m->app->n_supplementary_gids, 2);
	assert_int_equal(m->app->supplementary_gids[1], 20);
	assert_int_equal(m->app->n_event_handlers, 2);
	assert_string_equal(m->app->event_handlers[1].name, "post-stop");
	assert_string_equal(m->app->event_handlers[1].exec[1], "-v");
	assert_string_equal(m->app->working_directory, "/srv/app");
	assert_int_equal(m->app->n_environment, 3);
	assert_string_equal(m->app->environment[1].name, "java.opts-x");
	assert_string_equal(m->app->environment[1].value, "-Xmx1g");
	image_manifest_free(m);

	m = parse_ok(valid_vectors[4].json); /* V05 */
	assert_int_equal(m->app->n_isolators, 6);
	assert_string_equal(m->app->isolators[4].name, "os/linux/oom-score-adj");
	assert_int_equal(json_integer_value(m->app->isolators[4].value), -500);
	assert_true(json_is_true(m->app->isolators[3].value));
	image_manifest_free(m);

	m = parse_ok(valid_vectors[6].json); /* V07 */
	assert_int_equal(m->app->n_mount_points, 2);
	assert_true(m->app->mount_points[1].read_only);
	assert_false(m->app->mount_points[0].read_only);
	assert_int_equal(m->app->n_ports, 2);
	assert_int_equal(m->app->ports[0].count, 1);
	assert_true(m->app->ports[0].socket_activated);
	assert_int_equal(m->app->ports[1].port, 65000);
	assert_int_equal(m->app->ports[1].count, 536);
	assert_string_equal(m->app->ports[1].protocol, "udp");
	image_manifest_free(m);

	m = parse_ok(valid_vectors[7].json); /* V08 */
	assert_int_equal(m->n_dependencies, 2);
	assert_int_equal(m->dependencies[0].size, 1048576);
	assert_true(str_has_prefix(m->dependencies[0].image_id, "sha512-0123"));
	assert_null(m->dependencies[1].image_id);
	assert_string_equal(appc_labels_get(m->dependencies[0].labels, m->dependencies[0].n_labels, "os"), "linux");
	assert_int_equal(strv_len(m->path_whitelist), 2);
	assert_string_equal(m->path_whitelist[1], "/bin/app");
	image_manifest_free(m);

	m = parse_ok(valid_vectors[8].json); /* V09 */
	assert_non_null(m->app->exec);
	assert_null(m->app->exec[0]);
	assert_string_equal(image_manifest_annotation(m, "appc.io/executor/supports-systemd-notify"), "true");
	assert_null(image_manifest_annotation(m, "created"));
	/* The raw document is kept, unknown keys included. */
	assert_int_equal(json_integer_value(json_object_get(m->json, "x-unknown-field")), 42);
	image_manifest_free(m);
}

static void test_invalid_vectors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof invalid_vectors / sizeof invalid_vectors[0]; i++)
		parse_bad(invalid_vectors[i].id, invalid_vectors[i].json, invalid_vectors[i].want);
}

static void test_exact_messages(void **state)
{
	(void)state;
	struct image_manifest *m = NULL;
	struct rkt_err err = {0};
	const char *j = invalid_vectors[3].json; /* I04 */
	assert_int_equal(image_manifest_parse(j, strlen(j), &m, &err), -EINVAL);
	assert_string_equal(err.msg, "image manifest: field \"name\": \"Example.com/App\" is not a valid AC identifier");

	j = "{\"acKind\":\"ImageManifest\",\"acVersion\":\"0.8.11\",\"name\":\"example.com/a\",\"app\":{\"exec\":[\"/x\"],"
	    "\"user\":\"0\",\"group\":\"0\",\"isolators\":[{\"name\":\"os/linux/no-new-privileges\",\"value\":true},"
	    "{\"name\":\"os/linux/cpu-shares\",\"value\":512},{\"name\":\"os/linux/oom-score-adj\",\"value\":1001}]}}";
	assert_int_equal(image_manifest_parse(j, strlen(j), &m, &err), -EINVAL);
	assert_string_equal(err.msg, "image manifest: field \"app.isolators[2]\" (\"os/linux/oom-score-adj\"): "
				     "value 1001 out of range -1000..1000");
}

#define APP_HEAD                                                                                                       \
	"{\"acKind\":\"ImageManifest\",\"acVersion\":\"0.8.11\",\"name\":\"example.com/a\",\"app\":{\"exec\":[\"/x\"],"   \
	"\"user\":\"0\",\"group\":\"0\","
#define ISO(x) APP_HEAD "\"isolators\":[" x "]}}"

static void test_more_invalid(void **state)
{
	(void)state;
	static const struct vector more[] = {
		{"unknown isolator", ISO("{\"name\":\"example.com/custom\",\"value\":{}}"),
		 "field \"app.isolators[0]\" (\"example.com/custom\"): unknown isolator"},
		{"cpu-shares 1", ISO("{\"name\":\"os/linux/cpu-shares\",\"value\":1}"), "value 1 out of range 2..262144"},
		{"cpu-shares string", ISO("{\"name\":\"os/linux/cpu-shares\",\"value\":\"512\"}"), "app.isolators[0]"},
		{"oom 1001", ISO("{\"name\":\"os/linux/oom-score-adj\",\"value\":1001}"), "out of range -1000..1000"},
		{"oom -1001", ISO("{\"name\":\"os/linux/oom-score-adj\",\"value\":-1001}"), "out of range -1000..1000"},
		{"seccomp errno", ISO("{\"name\":\"os/linux/seccomp-remove-set\",\"value\":{\"set\":[\"reboot\"],\"errno\":\"enotsup\"}}"),
		 "errno \"enotsup\""},
		{"seccomp empty set", ISO("{\"name\":\"os/linux/seccomp-retain-set\",\"value\":{\"set\":[]}}"),
		 "\"set\" must not be empty"},
		{"caps empty set", ISO("{\"name\":\"os/linux/capabilities-retain-set\",\"value\":{\"set\":[]}}"),
		 "field \"app.isolators[0]\" (\"os/linux/capabilities-retain-set\"): \"set\" must not be empty"},
		{"caps no set", ISO("{\"name\":\"os/linux/capabilities-remove-set\",\"value\":{}}"), "\"set\" must not be empty"},
		{"memory default", ISO("{\"name\":\"resource/memory\",\"value\":{\"default\":true,\"limit\":\"1G\"}}"),
		 "\"default\" must be false"},
		{"memory K", ISO("{\"name\":\"resource/memory\",\"value\":{\"limit\":\"100K\"}}"), "\"100K\" is not a valid quantity"},
		{"cpu garbage", ISO("{\"name\":\"resource/cpu\",\"value\":{\"request\":\"lots\"}}"),
		 "field \"app.isolators[0].request\" (\"resource/cpu\")"},
		{"block default", ISO("{\"name\":\"resource/block-iops\",\"value\":{\"limit\":\"100\"}}"), "\"default\" must be true"},
		{"two seccomp", ISO("{\"name\":\"os/linux/seccomp-remove-set\",\"value\":{\"set\":[\"reboot\"]}},"
				    "{\"name\":\"os/linux/seccomp-remove-set\",\"value\":{\"set\":[\"kexec_load\"]}}"),
		 "field \"app.isolators[1]\" (\"os/linux/seccomp-remove-set\"): isolator given more than once"},
		{"nnp string", ISO("{\"name\":\"os/linux/no-new-privileges\",\"value\":\"true\"}"), "must be a JSON boolean"},
		{"no value", ISO("{\"name\":\"os/linux/no-new-privileges\"}"), "has no value"},
		{"selinux colon", ISO("{\"name\":\"os/linux/selinux-context\",\"value\":{\"user\":\"a:b\",\"role\":\"r\",\"type\":\"t\",\"level\":\"s0\"}}"),
		 "app.isolators[0].user"},
		{"apparmor empty", ISO("{\"name\":\"os/linux/apparmor-profile\",\"value\":{\"profile\":\"\"}}"), "\"profile\""},
		{"mountpoint name", APP_HEAD "\"mountPoints\":[{\"name\":\"work_dir\",\"path\":\"/w\"}]}}",
		 "field \"app.mountPoints[0].name\": \"work_dir\" is not a valid AC name"},
		{"acVersion 0.0.0", "{\"acKind\":\"ImageManifest\",\"acVersion\":\"0.0.0\",\"name\":\"example.com/a\"}",
		 "field \"acVersion\""},
		{"acVersion v", "{\"acKind\":\"ImageManifest\",\"acVersion\":\"v0.8.11\",\"name\":\"example.com/a\"}",
		 "field \"acVersion\""},
		{"os windows", "{\"acKind\":\"ImageManifest\",\"acVersion\":\"0.8.11\",\"name\":\"example.com/a\","
			       "\"labels\":[{\"name\":\"os\",\"value\":\"windows\"}]}",
		 "field \"labels\": bad os \"windows\""},
		{"dup env", APP_HEAD "\"environment\":[{\"name\":\"A\",\"value\":\"1\"},{\"name\":\"A\",\"value\":\"2\"}]}}",
		 "field \"app.environment[1].name\": \"A\" given more than once"},
		{"dup annotation", "{\"acKind\":\"ImageManifest\",\"acVersion\":\"0.8.11\",\"name\":\"example.com/a\","
				   "\"annotations\":[{\"name\":\"authors\",\"value\":\"x\"},{\"name\":\"authors\",\"value\":\"y\"}]}",
		 "field \"annotations[1].name\""},
		{"dup pre-start", APP_HEAD "\"eventHandlers\":[{\"name\":\"pre-start\",\"exec\":[\"/a\"]},"
					   "{\"name\":\"pre-start\",\"exec\":[\"/b\"]}]}}",
		 "field \"app.eventHandlers[1]\": only one \"pre-start\""},
		{"bad handler", APP_HEAD "\"eventHandlers\":[{\"name\":\"on-start\",\"exec\":[\"/a\"]}]}}", "app.eventHandlers[0]"},
		{"homepage ftp", "{\"acKind\":\"ImageManifest\",\"acVersion\":\"0.8.11\",\"name\":\"example.com/a\","
				 "\"annotations\":[{\"name\":\"homepage\",\"value\":\"ftp://x\"}]}",
		 "field \"annotations[0].value\""},
		{"port 0", APP_HEAD "\"ports\":[{\"name\":\"p\",\"protocol\":\"tcp\",\"port\":0}]}}", "field \"app.ports[0].port\""},
		{"user empty", "{\"acKind\":\"ImageManifest\",\"acVersion\":\"0.8.11\",\"name\":\"example.com/a\","
			       "\"app\":{\"user\":\"\",\"group\":\"0\"}}",
		 "field \"app.user\": is required"},
		{"gid negative", APP_HEAD "\"supplementaryGIDs\":[1,-2]}}", "field \"app.supplementaryGIDs[1]\""},
		{"exec not strings", "{\"acKind\":\"ImageManifest\",\"acVersion\":\"0.8.11\",\"name\":\"example.com/a\","
				     "\"app\":{\"exec\":[1],\"user\":\"0\",\"group\":\"0\"}}",
		 "field \"app.exec[0]\": expected a string"},
		{"name number", "{\"acKind\":\"ImageManifest\",\"acVersion\":\"0.8.11\",\"name\":5}", "field \"name\": expected a string"},
		{"missing name", "{\"acKind\":\"ImageManifest\",\"acVersion\":\"0.8.11\"}", "field \"name\": is required"},
		{"null name", "{\"acKind\":\"ImageManifest\",\"acVersion\":\"0.8.11\",\"name\":null}", "field \"name\": is required"},
		{"dup key", "{\"acKind\":\"ImageManifest\",\"acVersion\":\"0.8.11\",\"name\":\"a\",\"name\":\"b\"}", "invalid JSON"},
		{"case dup key", "{\"acKind\":\"ImageManifest\",\"acVersion\":\"0.8.11\",\"name\":\"a\",\"NAME\":\"b\"}",
		 "field \"name\": given twice"},
		{"trailing", "{\"acKind\":\"ImageManifest\",\"acVersion\":\"0.8.11\",\"name\":\"a\"} x", "invalid JSON"},
		{"not object", "[1]", "expected a JSON object"},
		{"dep name", "{\"acKind\":\"ImageManifest\",\"acVersion\":\"0.8.11\",\"name\":\"example.com/a\","
			     "\"dependencies\":[{\"imageName\":\"\"}]}",
		 "field \"dependencies[0].imageName\""},
		{"notify", "{\"acKind\":\"ImageManifest\",\"acVersion\":\"0.8.11\",\"name\":\"example.com/a\","
			   "\"annotations\":[{\"name\":\"appc.io/executor/supports-systemd-notify\",\"value\":\"yes\"}]}",
		 "annotations[0].value"},
		{"created date", "{\"acKind\":\"ImageManifest\",\"acVersion\":\"0.8.11\",\"name\":\"example.com/a\","
				 "\"annotations\":[{\"name\":\"created\",\"value\":\"2016-02-30T12:00:00Z\"}]}",
		 "annotations[0].value"},
	};
	for (size_t i = 0; i < sizeof more / sizeof more[0]; i++)
		parse_bad(more[i].id, more[i].json, more[i].want);
}

static void test_lenient_like_reference(void **state)
{
	(void)state;
	/* Case-insensitive keys bind as in Go; freebsd is a valid manifest os;
	 * count 0 means 1; an empty whitelist means none. */
	static const char j[] =
		"{\"ACKIND\":\"ImageManifest\",\"acversion\":\"1.0.0-rc.1+build.5\",\"Name\":\"example.com/a\","
		"\"labels\":[{\"name\":\"os\",\"value\":\"freebsd\"},{\"name\":\"arch\",\"value\":\"arm\"}],"
		"\"pathWhitelist\":[],"
		"\"app\":{\"exec\":null,\"user\":\"0\",\"group\":\"0\",\"supplementaryGids\":[7],"
		"\"ports\":[{\"name\":\"p\",\"port\":65535,\"count\":0}],"
		"\"isolators\":[{\"name\":\"resource/cpu\",\"value\":{\"limit\":2}},"
		"{\"name\":\"resource/memory\",\"value\":{\"request\":\"1e3\",\"limit\":1.5e9}},"
		"{\"name\":\"os/linux/capabilities-retain-set\",\"value\":{\"set\":[\"CAP_KILL\"]}},"
		"{\"name\":\"os/linux/capabilities-remove-set\",\"value\":{\"set\":[\"CAP_KILL\"]}},"
		"{\"name\":\"os/linux/no-new-privileges\",\"value\":false},"
		"{\"name\":\"os/linux/no-new-privileges\",\"value\":true},"
		"{\"name\":\"os/linux/seccomp-retain-set\",\"value\":{\"set\":[\"@appc.io/all\"],\"errno\":\"E2BIG\"}},"
		"{\"name\":\"resource/network-bandwidth\",\"value\":{\"default\":true,\"limit\":\"1G\"}},"
		"{\"name\":\"os/linux/selinux-context\",\"value\":{\"user\":\"u\",\"role\":\"r\",\"type\":\"t\",\"level\":\"s0:c1\"}},"
		"{\"name\":\"os/linux/apparmor-profile\",\"value\":{\"profile\":\"p\"}},"
		"{\"name\":\"os/unix/sysctl\",\"value\":{\"net.ipv4.ip_forward\":\"1\"}}"
		"]}}";
	struct image_manifest *m = parse_ok(j);
	assert_string_equal(m->name, "example.com/a");
	assert_int_equal(m->app->supplementary_gids[0], 7);
	assert_int_equal(m->app->ports[0].count, 1);
	assert_null(m->path_whitelist);
	assert_int_equal(m->app->n_isolators, 11);
	image_manifest_free(m);
}

static void test_size_bound(void **state)
{
	(void)state;
	size_t n = MANIFEST_MAX_BYTES + 1;
	_cleanup_free_ char *big = xmalloc(n);
	memset(big, ' ', n);
	struct image_manifest *m = NULL;
	struct pod_manifest *p = NULL;
	struct rkt_err err = {0};
	assert_int_equal(image_manifest_parse(big, n, &m, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "exceeds"));
	assert_int_equal(pod_manifest_parse(big, n, &p, &err), -EINVAL);
	assert_true(str_has_prefix(err.msg, "pod manifest: "));
}

static void test_isolator_validate(void **state)
{
	(void)state;
	struct rkt_err err = {0};
	json_t *v = json_integer(300);
	assert_int_equal(appc_isolator_validate("os/linux/oom-score-adj", v, false, &err), 0);
	assert_int_equal(appc_isolator_validate("os/linux/cpu-shares", v, false, &err), 0);
	json_decref(v);
	v = json_integer(5000);
	assert_int_equal(appc_isolator_validate("os/linux/oom-score-adj", v, false, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "os/linux/oom-score-adj"));
	assert_non_null(strstr(err.msg, "5000"));
	/* Unknown names pass only at pod scope. */
	assert_int_equal(appc_isolator_validate("example.com/custom", v, true, &err), 0);
	assert_int_equal(appc_isolator_validate("example.com/custom", v, false, &err), -EINVAL);
	json_decref(v);
}

/* ---- pod manifests ---- */

#define POD_ID "sha512-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static const char pod_valid[] =
	"{\"acKind\":\"PodManifest\",\"acVersion\":\"0.8.11\","
	"\"apps\":[{\"name\":\"web\",\"image\":{\"id\":\"" POD_ID "\",\"name\":\"example.com/web\","
	"\"labels\":[{\"name\":\"version\",\"value\":\"1.0\"}]},"
	"\"app\":{\"exec\":[\"/web\"],\"user\":\"0\",\"group\":\"0\"},\"readOnlyRootFS\":true,"
	"\"mounts\":[{\"volume\":\"data\",\"path\":\"/data\"},{\"volume\":\"scratch\",\"path\":\"/tmp/s\"}],"
	"\"annotations\":[{\"name\":\"role\",\"value\":\"front\"}]},"
	"{\"name\":\"db\",\"image\":{\"id\":\"" POD_ID "\"}}],"
	"\"volumes\":[{\"name\":\"data\",\"kind\":\"host\",\"source\":\"/srv/data\",\"readOnly\":true,\"recursive\":false},"
	"{\"name\":\"scratch\",\"kind\":\"empty\",\"mode\":\"0700\",\"uid\":1000,\"gid\":100},"
	"{\"name\":\"plain\",\"kind\":\"empty\"}],"
	"\"isolators\":[{\"name\":\"resource/memory\",\"value\":{\"limit\":\"1Gi\"}},"
	"{\"name\":\"example.com/vendor-thing\",\"value\":{}}],"
	"\"annotations\":[{\"name\":\"owner\",\"value\":\"me\"}],"
	"\"ports\":[{\"name\":\"http\",\"hostPort\":8080,\"hostIP\":\"127.0.0.1\"}],"
	"\"userAnnotations\":{\"a\":\"b\"},\"userLabels\":{\"c\":\"d\"}}";

static void test_pod_valid(void **state)
{
	(void)state;
	struct pod_manifest *p = NULL;
	struct rkt_err err = {0};
	int r = pod_manifest_parse(pod_valid, strlen(pod_valid), &p, &err);
	if (r < 0)
		fail_msg("%s", err.msg);
	assert_string_equal(p->ac_version, "0.8.11");
	assert_int_equal(p->n_apps, 2);
	assert_string_equal(p->apps[0].name, "web");
	assert_string_equal(p->apps[0].image_id, POD_ID);
	assert_string_equal(p->apps[0].image_name, "example.com/web");
	assert_string_equal(appc_labels_get(p->apps[0].image_labels, p->apps[0].n_image_labels, "version"), "1.0");
	assert_true(p->apps[0].read_only_rootfs);
	assert_non_null(p->apps[0].app);
	assert_string_equal(p->apps[0].app->exec[0], "/web");
	assert_int_equal(p->apps[0].n_mounts, 2);
	assert_string_equal(p->apps[0].mounts[1].volume, "scratch");
	assert_null(p->apps[1].app);
	assert_null(p->apps[1].image_name);
	assert_int_equal(p->n_volumes, 3);
	assert_string_equal(p->volumes[0].source, "/srv/data");
	assert_true(p->volumes[0].read_only && p->volumes[0].read_only_set);
	assert_true(p->volumes[0].recursive_set && !p->volumes[0].recursive);
	assert_string_equal(p->volumes[1].mode, "0700");
	assert_int_equal(p->volumes[1].uid, 1000);
	assert_int_equal(p->volumes[1].gid, 100);
	assert_string_equal(p->volumes[2].mode, "0755");
	assert_false(p->volumes[2].read_only_set);
	assert_int_equal(p->n_isolators, 2);
	assert_int_equal(p->n_ports, 1);
	assert_int_equal(p->ports[0].host_port, 8080);
	assert_string_equal(p->ports[0].host_ip, "127.0.0.1");
	assert_int_equal(p->n_annotations, 1);
	pod_manifest_free(p);
}

static void pod_bad(const char *id, const char *json, const char *want)
{
	struct pod_manifest *p = NULL;
	struct rkt_err err = {0};
	int r = pod_manifest_parse(json, strlen(json), &p, &err);
	if (r >= 0) {
		pod_manifest_free(p);
		fail_msg("%s: parsed although invalid", id);
	}
	assert_int_equal(r, -EINVAL);
	assert_true(str_has_prefix(err.msg, "pod manifest: "));
	if (!strstr(err.msg, want))
		fail_msg("%s: message \"%s\" lacks \"%s\"", id, err.msg, want);
}

#define POD_HEAD "{\"acKind\":\"PodManifest\",\"acVersion\":\"0.8.11\","
#define POD_APP(n) "{\"name\":\"" n "\",\"image\":{\"id\":\"" POD_ID "\"}}"

static void test_pod_invalid(void **state)
{
	(void)state;
	static const struct vector bad[] = {
		{"kind", "{\"acKind\":\"ImageManifest\",\"acVersion\":\"0.8.11\"}", "field \"acKind\""},
		{"dup app", POD_HEAD "\"apps\":[" POD_APP("a") "," POD_APP("a") "]}",
		 "field \"apps[1].name\": app name given more than once"},
		{"app name", POD_HEAD "\"apps\":[" POD_APP("A_b") "]}", "field \"apps[0].name\""},
		{"dup volume", POD_HEAD "\"volumes\":[{\"name\":\"v\",\"kind\":\"empty\"},{\"name\":\"v\",\"kind\":\"empty\"}]}",
		 "field \"volumes[1].name\": volume name given more than once"},
		{"dup port", POD_HEAD "\"ports\":[{\"name\":\"p\",\"hostPort\":80},{\"name\":\"p\",\"hostPort\":81}]}",
		 "field \"ports[1].name\": port name given more than once"},
		{"no image id", POD_HEAD "\"apps\":[{\"name\":\"a\",\"image\":{\"name\":\"example.com/a\"}}]}",
		 "field \"apps[0].image.id\": is required"},
		{"bad image id", POD_HEAD "\"apps\":[{\"name\":\"a\",\"image\":{\"id\":\"sha256-00\"}}]}",
		 "field \"apps[0].image.id\""},
		{"app user", POD_HEAD "\"apps\":[{\"name\":\"a\",\"image\":{\"id\":\"" POD_ID "\"},\"app\":{\"user\":\"0\"}}]}",
		 "field \"apps[0].app.group\""},
		{"app isolator", POD_HEAD "\"apps\":[{\"name\":\"a\",\"image\":{\"id\":\"" POD_ID "\"},\"app\":{\"user\":\"0\","
					  "\"group\":\"0\",\"isolators\":[{\"name\":\"example.com/x\",\"value\":1}]}}]}",
		 "field \"apps[0].app.isolators[0]\""},
		{"host no source", POD_HEAD "\"volumes\":[{\"name\":\"v\",\"kind\":\"host\"}]}",
		 "field \"volumes[0].source\": a host volume needs a source"},
		{"host relative", POD_HEAD "\"volumes\":[{\"name\":\"v\",\"kind\":\"host\",\"source\":\"srv\"}]}",
		 "field \"volumes[0].source\""},
		{"host mode", POD_HEAD "\"volumes\":[{\"name\":\"v\",\"kind\":\"host\",\"source\":\"/s\",\"mode\":\"0755\"}]}",
		 "field \"volumes[0].mode\""},
		{"empty source", POD_HEAD "\"volumes\":[{\"name\":\"v\",\"kind\":\"empty\",\"source\":\"/s\"}]}",
		 "field \"volumes[0].source\": an empty volume must not have a source"},
		{"bad mode", POD_HEAD "\"volumes\":[{\"name\":\"v\",\"kind\":\"empty\",\"mode\":\"0789\"}]}",
		 "field \"volumes[0].mode\""},
		{"mode too big", POD_HEAD "\"volumes\":[{\"name\":\"v\",\"kind\":\"empty\",\"mode\":\"17777\"}]}",
		 "field \"volumes[0].mode\""},
		{"bad kind", POD_HEAD "\"volumes\":[{\"name\":\"v\",\"kind\":\"tmpfs\"}]}", "field \"volumes[0].kind\""},
		{"dup volume", POD_HEAD "\"volumes\":[{\"name\":\"v\",\"kind\":\"empty\"},{\"name\":\"v\",\"kind\":\"empty\"}]}",
		 "field \"volumes[1].name\""},
		{"negative uid", POD_HEAD "\"volumes\":[{\"name\":\"v\",\"kind\":\"empty\",\"uid\":-1}]}", "field \"volumes[0].uid\""},
		{"mount volume", POD_HEAD "\"apps\":[{\"name\":\"a\",\"image\":{\"id\":\"" POD_ID "\"},"
					  "\"mounts\":[{\"volume\":\"Bad\",\"path\":\"/x\"}]}]}",
		 "field \"apps[0].mounts[0].volume\""},
		{"pod isolator", POD_HEAD "\"isolators\":[{\"name\":\"os/linux/oom-score-adj\",\"value\":2000}]}",
		 "field \"isolators[0]\" (\"os/linux/oom-score-adj\")"},
		{"host ip", POD_HEAD "\"ports\":[{\"name\":\"p\",\"hostPort\":80,\"hostIP\":\"1.2.3\"}]}", "field \"ports[0].hostIP\""},
		{"host port", POD_HEAD "\"ports\":[{\"name\":\"p\",\"hostPort\":70000}]}", "field \"ports[0].hostPort\""},
		{"dup port", POD_HEAD "\"ports\":[{\"name\":\"p\",\"hostPort\":80},{\"name\":\"p\",\"hostPort\":81}]}",
		 "field \"ports[1].name\""},
		{"user labels", POD_HEAD "\"userLabels\":{\"a\":1}}", "field \"userLabels[\"a\"]\""},
		{"bad version", "{\"acKind\":\"PodManifest\",\"acVersion\":\"1\"}", "field \"acVersion\""},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		pod_bad(bad[i].id, bad[i].json, bad[i].want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_vectors),   cmocka_unit_test(test_valid_fields),
		cmocka_unit_test(test_invalid_vectors), cmocka_unit_test(test_exact_messages),
		cmocka_unit_test(test_more_invalid),    cmocka_unit_test(test_lenient_like_reference),
		cmocka_unit_test(test_size_bound),      cmocka_unit_test(test_isolator_validate),
		cmocka_unit_test(test_pod_valid),       cmocka_unit_test(test_pod_invalid),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
