/* privhelper/session/dnsconf.c: the helper's checks of rkt run's --dns*,
 * --hosts-entry and --hostname values, the stage1 --dns-conf-mode it
 * derives, and the files it writes into a pod dir. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <jansson.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "ipc/ipc.h"
#include "privhelper/session/dnsconf.h"

struct req {
	char **dns, **search, **opt, **hosts;
	const char *domain;
};

/* A RUN_PREPARED_REQ carrying r, through the encoder and decoder as the
 * helper would receive it. */
static void decode_req(const struct req *r, struct ipc_msg *out)
{
	struct ipc_msg m;
	ipc_msg_init(&m, IPC_RUN_PREPARED_REQ);
	ipc_msg_put_str(&m, IPC_TAG_UUID, "01234567-89ab-cdef-0123-456789abcdef");
	if (r->dns)
		ipc_msg_put_strv(&m, IPC_TAG_DNS, r->dns);
	if (r->search)
		ipc_msg_put_strv(&m, IPC_TAG_DNS_SEARCH, r->search);
	if (r->opt)
		ipc_msg_put_strv(&m, IPC_TAG_DNS_OPT, r->opt);
	if (r->domain)
		ipc_msg_put_str(&m, IPC_TAG_DNS_DOMAIN, r->domain);
	if (r->hosts)
		ipc_msg_put_strv(&m, IPC_TAG_HOSTS_ENTRY, r->hosts);
	int fds[3];
	for (int i = 0; i < 3; i++) {
		fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
		ipc_msg_add_fd(&m, fds[i]);
	}
	static uint8_t buf[IPC_MSG_MAX];
	size_t len;
	struct rkt_err err = { 0 };
	if (ipc_msg_encode(&m, buf, sizeof buf, &len, &err) < 0)
		fail_msg("encode: %s", err.msg);
	ipc_msg_free(&m);
	if (ipc_decode(buf, len, fds, 3, out, &err) < 0)
		fail_msg("decode: %s", err.msg);
}

/* dnsconf_from_msg on r: 0 with *d filled, or the refusal's message. */
static int parse(const struct req *r, struct dnsconf *d, char *msg, size_t msgsz)
{
	_cleanup_ipc_msg_ struct ipc_msg m = { 0 };
	decode_req(r, &m);
	struct rkt_err err = { 0 };
	int rc = dnsconf_from_msg(&m, d, &err);
	snprintf(msg, msgsz, "%s", rc < 0 ? err.msg : "");
	return rc;
}

static void expect_refused(const struct req *r, const char *part)
{
	struct dnsconf d;
	char msg[512];
	int rc = parse(r, &d, msg, sizeof msg);
	if (rc != -EINVAL || !strstr(msg, part))
		fail_msg("want -EINVAL with \"%s\", got %d \"%s\"", part, rc, msg);
}

static char *mode_of(const struct req *r)
{
	struct dnsconf d;
	char msg[512];
	if (parse(r, &d, msg, sizeof msg) < 0)
		fail_msg("refused: %s", msg);
	char *s = dnsconf_mode_arg(&d);
	dnsconf_done(&d);
	return s;
}

static void test_modes(void **state)
{
	(void)state;
	char *ips[] = { "8.8.8.8", "2001:db8::1", NULL }, *host[] = { "host", NULL },
	     *none[] = { "none", NULL }, *host2[] = { "host", "host", NULL },
	     *entry[] = { "10.0.0.1=db", NULL }, *search[] = { "foo.com", NULL };
	struct {
		struct req r;
		const char *want;
	} cases[] = {
		{ { 0 }, "--dns-conf-mode=resolv=default,hosts=default" },
		{ { .dns = ips }, "--dns-conf-mode=resolv=stage0,hosts=default" },
		{ { .search = search }, "--dns-conf-mode=resolv=stage0,hosts=default" },
		{ { .domain = "example.net" }, "--dns-conf-mode=resolv=stage0,hosts=default" },
		{ { .dns = host }, "--dns-conf-mode=resolv=host,hosts=default" },
		{ { .dns = none }, "--dns-conf-mode=resolv=none,hosts=default" },
		{ { .hosts = host2 }, "--dns-conf-mode=resolv=default,hosts=host" },
		{ { .dns = host, .hosts = entry }, "--dns-conf-mode=resolv=host,hosts=stage0" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		_cleanup_free_ char *s = mode_of(&cases[i].r);
		assert_string_equal(s, cases[i].want);
	}
}

static void test_refusals(void **state)
{
	(void)state;
	char *v1[] = { "8.8.8", NULL }, *v2[] = { "host", "1.1.1.1", NULL },
	     *v3[] = { "foo bar", NULL }, *v4[] = { "a#b", NULL }, *v5[] = { "nonsense", NULL },
	     *v6[] = { "10.0.0.1=a..b", NULL }, *v7[] = { "host", "10.0.0.1=x", NULL },
	     *v8[] = { "none", NULL }, *v9[] = { "x.com", NULL }, *v10[] = { "10.0.0.1=-x", NULL },
	     *v11[] = { "", NULL }, *v12[] = { "1.1.1.1", "nameserver", NULL };
	expect_refused(&(struct req){ .dns = v1 }, "--dns=8.8.8: not an IP address");
	expect_refused(&(struct req){ .dns = v12 }, "--dns=nameserver: not an IP address");
	expect_refused(&(struct req){ .dns = v11 }, "--dns=: not an IP address");
	expect_refused(&(struct req){ .dns = v2 }, "--dns=host cannot be combined with other --dns values");
	expect_refused(&(struct req){ .dns = v8, .search = v9 },
		       "--dns-search, --dns-opt and --dns-domain cannot be used with --dns=none");
	expect_refused(&(struct req){ .search = v3 }, "--dns-search=foo bar: not a DNS domain name");
	expect_refused(&(struct req){ .opt = v4 }, "--dns-opt=a#b: not a single resolv.conf option word");
	expect_refused(&(struct req){ .domain = "a..b" }, "--dns-domain=a..b: not a DNS domain name");
	expect_refused(&(struct req){ .domain = "x-.com" }, "--dns-domain=x-.com: not a DNS domain name");
	expect_refused(&(struct req){ .hosts = v5 }, "--hosts-entry nonsense: want IP=HOSTNAME or host");
	expect_refused(&(struct req){ .hosts = v6 }, "--hosts-entry 10.0.0.1=a..b: \"a..b\" is not a host name");
	expect_refused(&(struct req){ .hosts = v10 }, "\"-x\" is not a host name");
	expect_refused(&(struct req){ .hosts = v7 },
		       "--hosts-entry=host cannot be combined with other --hosts-entry values");
}

static void test_hostname(void **state)
{
	(void)state;
	char long64[65], long65[66];
	memset(long64, 'a', 64);
	long64[64] = '\0';
	memset(long65, 'a', 65);
	long65[65] = '\0';
	long64[10] = long65[10] = '.'; /* labels stay under 64 */
	assert_true(dnsconf_hostname_valid("rkt-01234567-89ab-cdef-0123-456789abcdef"));
	assert_true(dnsconf_hostname_valid("web.example.com"));
	assert_true(dnsconf_hostname_valid(long64));
	assert_false(dnsconf_hostname_valid(long65));
	assert_false(dnsconf_hostname_valid(""));
	assert_false(dnsconf_hostname_valid("bad_host"));
	assert_false(dnsconf_hostname_valid("-lead"));
	assert_false(dnsconf_hostname_valid("trail-"));
	assert_false(dnsconf_hostname_valid("a..b"));
	assert_false(dnsconf_hostname_valid("dot."));
	assert_false(dnsconf_hostname_valid("sp ace"));
	assert_false(dnsconf_hostname_valid("new\nline"));
	memset(long64, 'a', 64); /* one 64-byte label */
	assert_false(dnsconf_hostname_valid(long64));
}

static char *read_at(int dfd, const char *path)
{
	_cleanup_close_ int fd = openat(dfd, path, O_RDONLY | O_CLOEXEC);
	char *buf = NULL;
	size_t len;
	if (fd < 0 || read_fd_bounded(fd, 65536, &buf, &len) < 0)
		return NULL;
	return buf;
}

static int pod_dir(char *tmpl)
{
	assert_non_null(mkdtemp(tmpl));
	int fd = open(tmpl, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);
	return fd;
}

static void test_write(void **state)
{
	(void)state;
	char tmpl[] = "/tmp/test-dnsconf-XXXXXX";
	_cleanup_close_ int podfd = pod_dir(tmpl);
	char *ips[] = { "8.8.4.4", NULL }, *search[] = { "foo.com", "bar.com", NULL },
	     *opt[] = { "debug", NULL }, *hosts[] = { "128.66.0.99=host1", "10.0.0.1=db", "128.66.0.99=h2", NULL };
	struct dnsconf d;
	char msg[512];
	struct rkt_err err = { 0 };
	struct req r = { .dns = ips, .search = search, .opt = opt, .domain = "example.net", .hosts = hosts };
	assert_int_equal(parse(&r, &d, msg, sizeof msg), 0);
	assert_int_equal(dnsconf_write(podfd, &d, "pod1", &err), 0);
	dnsconf_done(&d);
	_cleanup_free_ char *resolv = read_at(podfd, "stage1/rootfs/etc/rkt-resolv.conf");
	_cleanup_free_ char *h = read_at(podfd, "stage1/rootfs/etc/rkt-hosts");
	assert_non_null(resolv);
	assert_string_equal(resolv, "# Generated by rkt run\nsearch foo.com bar.com\nnameserver 8.8.4.4\n"
				    "options debug\ndomain example.net\n");
	assert_non_null(h);
	assert_non_null(strstr(h, "localhost4.localdomain4 pod1\n"));
	assert_non_null(strstr(h, "# Added by rkt run --hosts-entry\n128.66.0.99 host1 h2\n10.0.0.1 db\n"));
	struct stat st;
	assert_int_equal(fstatat(podfd, "stage1/rootfs/etc/rkt-hosts", &st, 0), 0);
	assert_int_equal(st.st_mode & 07777, 0644);

	/* A later run without the flags removes what an earlier one left. */
	char *hostv[] = { "host", NULL };
	assert_int_equal(parse(&(struct req){ .dns = hostv }, &d, msg, sizeof msg), 0);
	assert_int_equal(dnsconf_write(podfd, &d, "pod1", &err), 0);
	dnsconf_done(&d);
	assert_int_equal(faccessat(podfd, "stage1/rootfs/etc/rkt-resolv.conf", F_OK, AT_SYMLINK_NOFOLLOW), -1);
	assert_int_equal(faccessat(podfd, "stage1/rootfs/etc/rkt-hosts", F_OK, AT_SYMLINK_NOFOLLOW), -1);
	assert_int_equal(unlinkat(podfd, "stage1/rootfs/etc", AT_REMOVEDIR), 0);

	/* etc as a symlink out of the pod is never followed. */
	char outside[] = "/tmp/test-dnsconf-out-XXXXXX";
	assert_non_null(mkdtemp(outside));
	assert_int_equal(symlinkat(outside, podfd, "stage1/rootfs/etc"), 0);
	assert_int_equal(parse(&r, &d, msg, sizeof msg), 0);
	assert_true(dnsconf_write(podfd, &d, "pod1", &err) < 0);
	dnsconf_done(&d);
	assert_non_null(strstr(err.msg, "etc"));
	_cleanup_close_ int outfd = open(outside, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_int_equal(faccessat(outfd, "rkt-resolv.conf", F_OK, 0), -1);
	rmdir(outside);
	unlinkat(podfd, "stage1/rootfs/etc", 0);
	unlinkat(podfd, "stage1/rootfs", AT_REMOVEDIR);
	unlinkat(podfd, "stage1", AT_REMOVEDIR);
	rmdir(tmpl);
}

/* A CNI plugin's DNS (rkt's default without --dns): checked like the
 * flags, written like stage0's resolv.conf; the hosts part is untouched. */
static void test_from_cni(void **state)
{
	(void)state;
	char msg[512];
	struct rkt_err err = { 0 };
	struct dnsconf d;
	char *hosts[] = { "10.0.0.1=db", NULL };
	assert_int_equal(parse(&(struct req){ .hosts = hosts }, &d, msg, sizeof msg), 0);
	assert_int_equal(d.mode.resolv, DNS_MODE_DEFAULT);
	json_auto_t *dns = json_pack("{s:[s,s], s:[s], s:[s], s:s}", "nameservers", "10.1.0.1", "fd00::1",
				     "search", "pods.example", "options", "ndots:2", "domain", "example.net");
	assert_int_equal(dnsconf_from_cni(&d, dns, "dnsnet", &err), 0);
	assert_int_equal(d.mode.resolv, DNS_MODE_STAGE0);
	assert_int_equal(d.mode.hosts, DNS_MODE_STAGE0);
	assert_int_equal(d.n_entries, 1);
	char *out = NULL;
	assert_int_equal(dns_resolv_conf(d.nameservers, d.search, d.options, d.domain, &out, &err), 0);
	assert_string_equal(out, "# Generated by rkt run\nsearch pods.example\nnameserver 10.1.0.1\n"
				 "nameserver fd00::1\noptions ndots:2\ndomain example.net\n");
	free(out);
	dnsconf_done(&d);

	/* Anything a plugin returns that the flags would refuse is refused,
	 * naming the network, the field and the value; d is left alone. */
	static const struct {
		const char *json, *want;
	} bad[] = {
		{ "{\"nameservers\": [\"10.1.0.1\", \"ns.example\"]}",
		  "network \"dnsnet\": its plugin's dns.nameservers[1] \"ns.example\" is not an IP address" },
		{ "{\"nameservers\": [\"10.1.0.1\"], \"search\": [\"a b\"]}",
		  "dns.search[0] \"a b\" is not a DNS domain name" },
		{ "{\"nameservers\": [\"10.1.0.1\"], \"options\": [\"x #y\"]}",
		  "dns.options[0] \"x #y\" is not a single resolv.conf option word" },
		{ "{\"nameservers\": [\"10.1.0.1\"], \"search\": \"pods.example\"}",
		  "dns.search is not an array" },
		{ "{\"nameservers\": [7]}", "dns.nameservers[0] (not a string) is not an IP address" },
		{ "{\"nameservers\": [\"10.1.0.1\"], \"domain\": \"-bad\"}",
		  "dns.domain \"-bad\" is not a DNS domain name" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		d = (struct dnsconf){ .mode = { DNS_MODE_DEFAULT, DNS_MODE_DEFAULT } };
		json_auto_t *j = json_loads(bad[i].json, 0, NULL);
		assert_non_null(j);
		err = (struct rkt_err){ 0 };
		assert_true(dnsconf_from_cni(&d, j, "dnsnet", &err) < 0);
		if (!strstr(err.msg, bad[i].want))
			fail_msg("case %zu: got \"%s\", want \"%s\"", i, err.msg, bad[i].want);
		assert_int_equal(d.mode.resolv, DNS_MODE_DEFAULT);
		assert_null(d.nameservers);
		dnsconf_done(&d);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_modes),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_hostname),
		cmocka_unit_test(test_write),
		cmocka_unit_test(test_from_cni),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
