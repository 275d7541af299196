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

	/* The DNS part: only a "dns" naming a nameserver counts. */
	json_t *dns = net_result_dns("{\"ips\":[],\"dns\":{\"nameservers\":[\"10.1.0.1\"],"
				     "\"search\":[\"pods.example\"]}}");
	assert_non_null(dns);
	assert_string_equal(json_string_value(json_array_get(json_object_get(dns, "search"), 0)),
			    "pods.example");
	json_decref(dns);
	assert_null(net_result_dns("{\"ip4\":{\"ip\":\"172.16.28.2/24\"},\"dns\":{}}"));
	assert_null(net_result_dns("{\"dns\":{\"nameservers\":[],\"search\":[\"a.example\"]}}"));
	assert_null(net_result_dns("{\"dns\":{\"nameservers\":\"10.1.0.1\"}}"));
	assert_null(net_result_dns("{\"dns\":[\"10.1.0.1\"]}"));
	assert_null(net_result_dns("not json"));
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

/* A pod dir as the helper's prepare writes it: `pod` and
 * appsinfo/<app>/manifest, apps "web" (ports http 80/tcp, dns 53/udp) and
 * "side" (port admin 9000, no protocol). */
static char *make_pod(const char *ports)
{
	char tmp[] = "/tmp/test-cni-pod.XXXXXX";
	assert_non_null(mkdtemp(tmp));
#define IMG_FMT                                                                                    \
	"{\"acKind\":\"ImageManifest\",\"acVersion\":\"0.8.11\",\"name\":\"example.com/%s\","               \
	"\"app\":{\"exec\":[\"/bin/x\"],\"user\":\"0\",\"group\":\"0\",\"ports\":[%s]}}"
	const char *apps[][2] = { { "web", "{\"name\":\"http\",\"protocol\":\"tcp\",\"port\":80},"
					   "{\"name\":\"dns\",\"protocol\":\"udp\",\"port\":53}" },
				  { "side", "{\"name\":\"admin\",\"port\":9000}" } };
	for (size_t i = 0; i < 2; i++) {
		_cleanup_free_ char *d = xasprintf("%s/appsinfo/%s", tmp, apps[i][0]);
		assert_int_equal(mkdir_p_at(AT_FDCWD, d, 0755), 0);
		_cleanup_free_ char *f = xasprintf("%s/manifest", d);
		_cleanup_free_ char *m = xasprintf(IMG_FMT, apps[i][0], apps[i][1]);
		write_text(f, m);
	}
	_cleanup_free_ char *pf = xasprintf("%s/pod", tmp);
	_cleanup_free_ char *pod = xasprintf(
		"{\"acKind\":\"PodManifest\",\"acVersion\":\"0.8.11\",\"apps\":["
		"{\"name\":\"web\",\"image\":{\"name\":\"example.com/web\",\"id\":\"sha512-%0128d\"}},"
		"{\"name\":\"side\",\"image\":{\"name\":\"example.com/side\",\"id\":\"sha512-%0128d\"}}],"
		"\"ports\":[%s]}", 1, 2, ports);
	write_text(pf, pod);
	return xstrdup(tmp);
}

static void drop_pod(char *dir)
{
	rm_rf_at(AT_FDCWD, dir);
	free(dir);
}

static int resolve(const char *ports, struct net_port_fwd **v, size_t *n, struct rkt_err *err)
{
	char *dir = make_pod(ports);
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);
	int r = net_ports_resolve(fd, v, n, err);
	close(fd);
	drop_pod(dir);
	return r;
}

static void test_ports(void **state)
{
	(void)state;
	struct net_port_fwd *v = NULL;
	size_t n = 0;
	struct rkt_err err = { 0 };
	assert_int_equal(resolve("", &v, &n, &err), 0);
	assert_null(v);
	assert_int_equal(n, 0);
	assert_int_equal(resolve("{\"name\":\"http\",\"hostPort\":8080,\"hostIP\":\"127.0.0.1\"},"
				 "{\"name\":\"dns\",\"hostPort\":8080},{\"name\":\"admin\",\"hostPort\":9001,\"hostIP\":\"0.0.0.0\"}",
				 &v, &n, &err), 0);
	assert_int_equal(n, 3);
	assert_string_equal(v[0].name, "http");
	assert_string_equal(v[0].protocol, "tcp");
	assert_int_equal(v[0].pod_port, 80);
	assert_int_equal(v[0].host_port, 8080);
	assert_string_equal(v[0].host_ip, "127.0.0.1");
	/* same host port, other protocol: no conflict */
	assert_string_equal(v[1].protocol, "udp");
	assert_int_equal(v[1].pod_port, 53);
	/* no protocol means tcp; 0.0.0.0 is every address */
	assert_string_equal(v[2].protocol, "tcp");
	assert_int_equal(v[2].pod_port, 9000);
	assert_string_equal(v[2].host_ip, "");
	net_ports_free(v, n);

	assert_int_equal(resolve("{\"name\":\"nope\",\"hostPort\":8080}", &v, &n, &err), -ENOENT);
	assert_string_equal(err.msg, "port name \"nope\" could not be found in any apps");
	assert_int_equal(resolve("{\"name\":\"http\",\"hostPort\":8080},{\"name\":\"admin\",\"hostPort\":8080,\"hostIP\":\"10.0.0.1\"}",
				 &v, &n, &err), -EADDRINUSE);
	assert_string_equal(err.msg, "port tcp-10.0.0.1:8080 already mapped to pod port 80");

	/* non-root callers: host ports from 1024 only */
	char *dir = make_pod("{\"name\":\"http\",\"hostPort\":80}");
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(net_ports_check(fd, 0, &err), 0);
	assert_int_equal(net_ports_check(fd, 1000, &err), -EPERM);
	assert_non_null(strstr(err.msg, "denied by policy: --port http:80"));
	assert_non_null(strstr(err.msg, "uid 1000"));
	/* a symlinked app manifest is not followed */
	_cleanup_free_ char *m = xasprintf("%s/appsinfo/web/manifest", dir);
	_cleanup_free_ char *m2 = xasprintf("%s/appsinfo/web/manifest.real", dir);
	assert_int_equal(rename(m, m2), 0);
	assert_int_equal(symlink(m2, m), 0);
	assert_int_equal(net_ports_check(fd, 0, &err), -ELOOP);
	assert_non_null(strstr(err.msg, "appsinfo/web/manifest"));
	close(fd);
	drop_pod(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_conf), cmocka_unit_test(test_valid_bridge),
		cmocka_unit_test(test_refused),      cmocka_unit_test(test_finalize),
		cmocka_unit_test(test_spec),         cmocka_unit_test(test_result),
		cmocka_unit_test(test_find),         cmocka_unit_test(test_ports),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
