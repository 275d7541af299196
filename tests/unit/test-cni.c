/* privhelper/session/net.c: net.d parsing and validation, rkt's default
 * network, forced host-local dataDir, --net specs and CNI results. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "privhelper/session/net.h"

static int parse(const char *text, json_t **ret, struct rkt_err *err)
{
	return net_conf_parse("/etc/rkt/net.d/10-x.conf", text, strlen(text), ret, err);
}

static void test_default_conf(void **state)
{
	(void)state;
	json_auto_t *c = net_default_conf();
	assert_string_equal(json_string_value(json_object_get(c, "name")), "default");
	assert_string_equal(json_string_value(json_object_get(c, "type")), "ptp");
	assert_string_equal(json_string_value(json_object_get(c, "cniVersion")), "0.1.0");
	assert_true(json_is_true(json_object_get(c, "ipMasq")));
	json_t *ipam = json_object_get(c, "ipam");
	assert_string_equal(json_string_value(json_object_get(ipam, "type")), "host-local");
	assert_string_equal(json_string_value(json_object_get(ipam, "subnet")), "172.16.28.0/24");
	json_t *routes = json_object_get(ipam, "routes");
	assert_int_equal(json_array_size(routes), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(routes, 0), "dst")),
			    "0.0.0.0/0");
	/* The default net passes the same validation as net.d files, except
	 * for its reserved name. */
	json_object_set_new(c, "name", json_string("copy"));
	_cleanup_free_ char *text = json_dumps(c, 0);
	json_t *p = NULL;
	struct rkt_err err = { 0 };
	assert_int_equal(parse(text, &p, &err), 0);
	json_decref(p);
}

static void test_valid_bridge(void **state)
{
	(void)state;
	json_t *c = NULL;
	struct rkt_err err = { 0 };
	assert_int_equal(parse("{\"name\":\"br\",\"type\":\"bridge\",\"bridge\":\"rkt1\","
			       "\"ipam\":{\"type\":\"host-local\",\"subnet\":\"10.1.0.0/24\"}}",
			       &c, &err),
			 0);
	assert_string_equal(json_string_value(json_object_get(c, "type")), "bridge");
	json_decref(c);
}

static void expect_refused(const char *text, const char *needle)
{
	json_t *c = NULL;
	struct rkt_err err = { 0 };
	assert_int_equal(parse(text, &c, &err), -EINVAL);
	assert_null(c);
	assert_non_null(strstr(err.msg, "/etc/rkt/net.d/10-x.conf"));
	if (!strstr(err.msg, needle))
		fail_msg("\"%s\" lacks \"%s\"", err.msg, needle);
}

static void test_refused(void **state)
{
	(void)state;
	expect_refused("{\"name\":\"x\",\"type\":\"../../bin/sh\"}", "key \"type\"");
	expect_refused("{\"name\":\"x\",\"type\":\"/bin/sh\"}", "\"/bin/sh\" is not a bare");
	expect_refused("{\"name\":\"x\",\"type\":\"..\"}", "key \"type\"");
	expect_refused("{\"name\":\"x\",\"type\":\"\"}", "key \"type\"");
	expect_refused("{\"name\":\"x\"}", "key \"type\"");
	expect_refused("{\"name\":\"x\",\"type\":7}", "key \"type\"");
	expect_refused("{\"name\":\"x\",\"type\":\"ptp\",\"ipam\":{\"type\":\"../host-local\"}}",
		       "key \"ipam.type\"");
	expect_refused("{\"name\":\"x\",\"type\":\"ptp\",\"ipam\":{}}", "key \"ipam.type\"");
	expect_refused("{\"name\":\"x\",\"type\":\"ptp\",\"ipam\":[]}", "key \"ipam\"");
	expect_refused("{\"type\":\"ptp\"}", "key \"name\"");
	expect_refused("{\"name\":\"a/b\",\"type\":\"ptp\"}", "key \"name\"");
	expect_refused("{\"name\":\"default\",\"type\":\"ptp\"}", "reserved");
	expect_refused("{\"name\":\"x\",\"type\":\"ptp\",\"type\":\"bridge\"}", "invalid JSON");
	expect_refused("{\"name\":\"x\",", "invalid JSON at line 1");
	expect_refused("[]", "not a JSON object");
	expect_refused("{\"name\":\"x\",\"type\":\"ptp\",\"cniVersion\":1}", "key \"cniVersion\"");
}

static void test_finalize(void **state)
{
	(void)state;
	json_t *c = NULL;
	struct rkt_err err = { 0 };
	assert_int_equal(parse("{\"name\":\"n\",\"type\":\"ptp\",\"ipam\":{\"type\":\"host-local\","
			       "\"dataDir\":\"/home/eve/leases\"}}",
			       &c, &err),
			 0);
	net_conf_finalize(c, "/var/lib/rkt");
	json_t *ipam = json_object_get(c, "ipam");
	assert_string_equal(json_string_value(json_object_get(ipam, "dataDir")),
			    "/var/lib/rkt/cni/networks");
	assert_string_equal(json_string_value(json_object_get(c, "cniVersion")), "0.1.0");
	json_decref(c);
	assert_int_equal(parse("{\"name\":\"n\",\"type\":\"macvlan\",\"cniVersion\":\"1.0.0\","
			       "\"ipam\":{\"type\":\"dhcp\"}}",
			       &c, &err),
			 0);
	net_conf_finalize(c, "/var/lib/rkt");
	assert_null(json_object_get(json_object_get(c, "ipam"), "dataDir"));
	assert_string_equal(json_string_value(json_object_get(c, "cniVersion")), "1.0.0");
	json_decref(c);
}

static void test_spec(void **state)
{
	(void)state;
	char *name = NULL, *args = NULL;
	struct rkt_err err = { 0 };
	assert_int_equal(net_spec_parse("default", &name, &args, &err), 0);
	assert_string_equal(name, "default");
	assert_null(args);
	free(name);
	assert_int_equal(net_spec_parse("br:IP=10.1.0.9;X=y", &name, &args, &err), 0);
	assert_string_equal(name, "br");
	assert_string_equal(args, "IP=10.1.0.9;X=y");
	free(name);
	free(args);
	assert_int_equal(net_spec_parse("../br", &name, &args, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "--net=../br"));
	assert_int_equal(net_spec_parse("br:A=b c", &name, &args, &err), -EINVAL);
	assert_int_equal(net_spec_parse(":A=b", &name, &args, &err), -EINVAL);
}

static void test_result(void **state)
{
	(void)state;
	char ip[NET_IP_MAX], mask[NET_IP_MAX];
	struct rkt_err err = { 0 };
	assert_int_equal(net_result_ip4("{\"ip4\":{\"ip\":\"172.16.28.2/24\",\"gateway\":"
					"\"172.16.28.1\"},\"dns\":{}}",
					ip, mask, &err),
			 0);
	assert_string_equal(ip, "172.16.28.2");
	assert_string_equal(mask, "255.255.255.0");
	assert_int_equal(net_result_ip4("{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":"
					"\"fd00::2/64\"},{\"address\":\"10.1.2.3/16\"}]}",
					ip, mask, &err),
			 0);
	assert_string_equal(ip, "10.1.2.3");
	assert_string_equal(mask, "255.255.0.0");
	assert_int_equal(net_result_ip4("{\"ips\":[]}", ip, mask, &err), -EBADMSG);
	assert_int_equal(net_result_ip4("not json", ip, mask, &err), -EBADMSG);
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_find(void **state)
{
	(void)state;
	char tmp[] = "/tmp/test-cni.XXXXXX";
	assert_non_null(mkdtemp(tmp));
	_cleanup_free_ char *netd = xasprintf("%s/net.d", tmp);
	json_t *c = NULL;
	char *path = NULL;
	struct rkt_err err = { 0 };
	assert_int_equal(net_conf_find(tmp, "br", &c, &path, &err), -ENOENT);
	assert_int_equal(mkdir(netd, 0755), 0);
	_cleanup_free_ char *f1 = xasprintf("%s/20-br.conf", netd);
	_cleanup_free_ char *f2 = xasprintf("%s/10-br.conf", netd);
	_cleanup_free_ char *f3 = xasprintf("%s/30-other.json", netd);
	write_text(f1, "{\"name\":\"br\",\"type\":\"bridge\",\"bridge\":\"second\"}");
	write_text(f2, "{\"name\":\"br\",\"type\":\"bridge\",\"bridge\":\"first\"}");
	write_text(f3, "{\"name\":\"other\",\"type\":\"../x\"}");
	/* Lexical order: 10-br.conf wins; the .json file is not read. */
	assert_int_equal(net_conf_find(tmp, "br", &c, &path, &err), 0);
	assert_string_equal(json_string_value(json_object_get(c, "bridge")), "first");
	assert_string_equal(path, f2);
	json_decref(c);
	free(path);
	assert_int_equal(net_conf_find(tmp, "nope", &c, &path, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "\"nope\""));
	/* One bad file refuses them all, naming it. */
	_cleanup_free_ char *f4 = xasprintf("%s/40-bad.conf", netd);
	write_text(f4, "{\"name\":\"bad\",\"type\":\"../../bin/sh\"}");
	assert_int_equal(net_conf_find(tmp, "br", &c, &path, &err), -EINVAL);
	assert_non_null(strstr(err.msg, f4));
	assert_non_null(strstr(err.msg, "key \"type\""));
	unlink(f4);
	/* A symlinked conf is not followed. */
	assert_int_equal(symlink(f2, f4), 0);
	assert_int_equal(net_conf_find(tmp, "br", &c, &path, &err), -ELOOP);
	assert_non_null(strstr(err.msg, f4));
	unlink(f4);
	unlink(f1);
	unlink(f2);
	unlink(f3);
	rmdir(netd);
	rmdir(tmp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_conf), cmocka_unit_test(test_valid_bridge),
		cmocka_unit_test(test_refused),      cmocka_unit_test(test_finalize),
		cmocka_unit_test(test_spec),         cmocka_unit_test(test_result),
		cmocka_unit_test(test_find),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
