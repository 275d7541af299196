/* ipc/: codec round trips for every message type, every refusal the decoder,
 * the socket layer, the memfd checks and the state machine make.
 * With RKT_IPC_CORPUS_DIR set, the round-trip test also writes each valid
 * encoding there: that is how tests/fuzz/ipc_decode/corpus/ is made. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/util.h"
#include "ipc/ipc.h"

static const char *UUID1 = "0f3b5c1e-2a4d-4e6f-8a9b-0c1d2e3f4a5b";
static const char *IMAGE1 =
	"sha512-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

static const uint16_t all_types[] = {
	IPC_HELLO,	 IPC_HELLO_OK,	  IPC_STATUS_REQ,	IPC_STATUS_ANS,	 IPC_PREPARE_REQ,
	IPC_PREPARE_ANS, IPC_RUN_REQ,	  IPC_RUN_EVENT,	IPC_RUN_PREPARED_REQ,
	IPC_RUN_RESULT,	 IPC_STOP_REQ,	  IPC_GENERIC_ANS,	IPC_RM_REQ,	 IPC_GC_REQ,
	IPC_RENDER_REQ,	 IPC_ENTER_REQ,	  IPC_SIGNAL,
};
#define N_TYPES (sizeof all_types / sizeof all_types[0])

static int count_open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	assert_non_null(d);
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static int devnull(void)
{
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	assert_true(fd >= 0);
	return fd;
}

static void put_dns_sample(struct ipc_msg *m)
{
	static char *dns[] = { "8.8.8.8", "2001:db8::1", NULL };
	static char *search[] = { "foo.com", "bar.com", NULL };
	static char *opt[] = { "debug", "ndots:2", NULL };
	static char *hosts[] = { "128.66.0.99=host1", "host", NULL };
	ipc_msg_put_strv(m, IPC_TAG_DNS, dns);
	ipc_msg_put_strv(m, IPC_TAG_DNS_SEARCH, search);
	ipc_msg_put_strv(m, IPC_TAG_DNS_OPT, opt);
	ipc_msg_put_str(m, IPC_TAG_DNS_DOMAIN, "example.net");
	ipc_msg_put_strv(m, IPC_TAG_HOSTS_ENTRY, hosts);
}

/* A valid message of each type with every optional field it allows. */
static void build_sample(uint16_t type, struct ipc_msg *m, int fd)
{
	static char *nets[] = { "default", "lan:IP=10.1.0.5", NULL };
	static char *argv[] = { "/bin/sh", "-c", "echo h\xc3\xa9llo", "", NULL };
	ipc_msg_init(m, type);
	switch (type) {
	case IPC_HELLO:
		ipc_msg_put_str(m, IPC_TAG_VERSION, "1.30.0+split.1");
		ipc_msg_put_str(m, IPC_TAG_DIR, "/var/lib/rkt");
		break;
	case IPC_HELLO_OK:
		ipc_msg_put_str(m, IPC_TAG_VERSION, "1.30.0+split.1");
		ipc_msg_put_i32(m, IPC_TAG_PID, 4242);
		break;
	case IPC_STATUS_REQ:
	case IPC_PREPARE_ANS:
	case IPC_RM_REQ:
		ipc_msg_put_str(m, IPC_TAG_UUID, UUID1);
		break;
	case IPC_STATUS_ANS:
		ipc_msg_put_str(m, IPC_TAG_UUID, UUID1);
		ipc_msg_put_str(m, IPC_TAG_STATE, "running");
		ipc_msg_put_i32(m, IPC_TAG_PID, 31337);
		ipc_msg_put_u64(m, IPC_TAG_CREATED_NS, 1700000000123456789ULL);
		ipc_msg_put_u64(m, IPC_TAG_STARTED_NS, 1700000001123456789ULL);
		ipc_msg_put_i32(m, IPC_TAG_EXIT_STATUS, 0);
		break;
	case IPC_PREPARE_REQ:
	case IPC_RUN_REQ:
		ipc_msg_put_str(m, IPC_TAG_STAGE1, "ns");
		ipc_msg_put_u32(m, IPC_TAG_INSECURE, IPC_INSECURE_IMAGE | IPC_INSECURE_SECCOMP);
		ipc_msg_put_u32(m, IPC_TAG_RUN_FLAGS, IPC_RUNF_NO_OVERLAY | IPC_RUNF_INTERACTIVE);
		if (type == IPC_RUN_REQ) {
			ipc_msg_put_strv(m, IPC_TAG_NETS, nets);
			ipc_msg_put_str(m, IPC_TAG_HOSTNAME, "pod-1");
			put_dns_sample(m);
		}
		break;
	case IPC_RUN_EVENT:
		ipc_msg_put_u32(m, IPC_TAG_EVENT, IPC_EV_APP_EXITED);
		ipc_msg_put_str(m, IPC_TAG_UUID, UUID1);
		ipc_msg_put_i32(m, IPC_TAG_PID, 77);
		ipc_msg_put_str(m, IPC_TAG_APP, "redis");
		ipc_msg_put_i32(m, IPC_TAG_EXIT_STATUS, 3);
		ipc_msg_put_str(m, IPC_TAG_TEXT, "app redis exited with status 3");
		break;
	case IPC_RUN_PREPARED_REQ:
		ipc_msg_put_str(m, IPC_TAG_UUID, UUID1);
		ipc_msg_put_u32(m, IPC_TAG_RUN_FLAGS, IPC_RUNF_INTERACTIVE);
		ipc_msg_put_strv(m, IPC_TAG_NETS, nets);
		ipc_msg_put_str(m, IPC_TAG_HOSTNAME, "pod-2");
		put_dns_sample(m);
		break;
	case IPC_RUN_RESULT:
		ipc_msg_put_i32(m, IPC_TAG_EXIT_STATUS, 42);
		ipc_msg_put_str(m, IPC_TAG_UUID, UUID1);
		break;
	case IPC_STOP_REQ:
		ipc_msg_put_str(m, IPC_TAG_UUID, UUID1);
		ipc_msg_put_u32(m, IPC_TAG_FORCE, 1);
		break;
	case IPC_GENERIC_ANS:
		ipc_msg_put_i32(m, IPC_TAG_ERRNO, EACCES);
		ipc_msg_put_str(m, IPC_TAG_MESSAGE, "denied by policy: only root may run pods");
		break;
	case IPC_GC_REQ:
		ipc_msg_put_u64(m, IPC_TAG_GRACE_NS, 30ULL * 60 * 1000000000ULL);
		ipc_msg_put_u64(m, IPC_TAG_PREPARED_EXPIRE_NS, 24ULL * 3600 * 1000000000ULL);
		ipc_msg_put_u32(m, IPC_TAG_GC_FLAGS, IPC_GC_MARK_ONLY);
		break;
	case IPC_RENDER_REQ:
		ipc_msg_put_str(m, IPC_TAG_IMAGE_ID, IMAGE1);
		break;
	case IPC_ENTER_REQ:
		ipc_msg_put_str(m, IPC_TAG_UUID, UUID1);
		ipc_msg_put_str(m, IPC_TAG_APP, "redis");
		ipc_msg_put_strv(m, IPC_TAG_ARGV, argv);
		break;
	case IPC_SIGNAL:
		ipc_msg_put_i32(m, IPC_TAG_SIGNO, 15);
		break;
	default:
		fail_msg("no sample for type %u", type);
	}
	for (int i = 0; i < ipc_type_fd_count(type); i++)
		assert_int_equal(ipc_msg_add_fd(m, fd), 0);
}

/* Every field of the decoded message reads back as the built one did. */
static void assert_same_fields(const struct ipc_msg *a, const struct ipc_msg *b)
{
	assert_int_equal(a->type, b->type);
	assert_int_equal(a->nfields, b->nfields);
	for (unsigned i = 0; i < a->nfields; i++) {
		const void *va, *vb;
		size_t la, lb;
		assert_int_equal(a->fields[i].tag, b->fields[i].tag);
		uint16_t tag = a->fields[i].tag;
		if (ipc_msg_get_bytes(a, tag, &va, &la) == 0) {
			assert_int_equal(ipc_msg_get_bytes(b, tag, &vb, &lb), 0);
			assert_int_equal(la, lb);
			assert_memory_equal(va, vb, la);
		}
	}
}

static void write_corpus(const char *dir, uint16_t type, const void *buf, size_t len)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", dir, ipc_type_name(type));
	for (char *p = path + strlen(dir) + 1; *p; p++)
		*p = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
	struct rkt_err err = { 0 };
	_cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(dfd >= 0);
	assert_int_equal(write_file_atomic_at(dfd, path + strlen(dir) + 1, buf, len, 0644, &err), 0);
}

static void test_round_trip_all_types(void **state)
{
	(void)state;
	const char *corpus = getenv("RKT_IPC_CORPUS_DIR");
	_cleanup_free_ uint8_t *buf = xmalloc(IPC_MSG_MAX);
	_cleanup_free_ uint8_t *buf2 = xmalloc(IPC_MSG_MAX);
	_cleanup_close_ int nullfd = devnull();
	for (size_t t = 0; t < N_TYPES; t++) {
		uint16_t type = all_types[t];
		struct rkt_err err = { 0 };
		_cleanup_ipc_msg_ struct ipc_msg m;
		build_sample(type, &m, nullfd);
		size_t len = 0;
		int r = ipc_msg_encode(&m, buf, IPC_MSG_MAX, &len, &err);
		if (r < 0)
			fail_msg("encode %s: %s", ipc_type_name(type), err.msg);
		assert_int_equal(len, IPC_HDR_SIZE + le32toh(*(uint32_t *)(buf + 8)));
		if (corpus)
			write_corpus(corpus, type, buf, len);

		int nfds = ipc_type_fd_count(type);
		int fds[IPC_FDS_MAX];
		for (int i = 0; i < nfds; i++)
			fds[i] = devnull();
		_cleanup_ipc_msg_ struct ipc_msg d;
		r = ipc_decode(buf, len, fds, (unsigned)nfds, &d, &err);
		if (r < 0)
			fail_msg("decode %s: %s", ipc_type_name(type), err.msg);
		assert_int_equal(d.nfds, nfds);
		assert_true(d.owns_fds);
		assert_same_fields(&m, &d);

		size_t len2 = 0;
		assert_int_equal(ipc_msg_encode(&d, buf2, IPC_MSG_MAX, &len2, &err), 0);
		assert_int_equal(len, len2);
		assert_memory_equal(buf, buf2, len);
	}
}

static void test_accessors(void **state)
{
	(void)state;
	_cleanup_free_ uint8_t *buf = xmalloc(IPC_MSG_MAX);
	_cleanup_close_ int nullfd = devnull();
	struct rkt_err err = { 0 };
	size_t len;

	_cleanup_ipc_msg_ struct ipc_msg s;
	build_sample(IPC_STATUS_ANS, &s, nullfd);
	assert_int_equal(ipc_msg_encode(&s, buf, IPC_MSG_MAX, &len, &err), 0);
	_cleanup_ipc_msg_ struct ipc_msg d;
	assert_int_equal(ipc_decode(buf, len, NULL, 0, &d, &err), 0);
	const char *str;
	int32_t i32;
	uint64_t u64;
	uint32_t u32;
	assert_int_equal(ipc_msg_get_str(&d, IPC_TAG_UUID, &str), 0);
	assert_string_equal(str, UUID1);
	assert_int_equal(ipc_msg_get_str(&d, IPC_TAG_STATE, &str), 0);
	assert_string_equal(str, "running");
	assert_int_equal(ipc_msg_get_i32(&d, IPC_TAG_PID, &i32), 0);
	assert_int_equal(i32, 31337);
	assert_int_equal(ipc_msg_get_u64(&d, IPC_TAG_CREATED_NS, &u64), 0);
	assert_true(u64 == 1700000000123456789ULL);
	/* absent field, wrong kind, unknown tag */
	assert_int_equal(ipc_msg_get_str(&d, IPC_TAG_APP, &str), -ENOENT);
	assert_int_equal(ipc_msg_get_u32(&d, IPC_TAG_PID, &u32), -EINVAL);
	assert_int_equal(ipc_msg_get_str(&d, IPC_TAG_PID, &str), -EINVAL);
	assert_int_equal(ipc_msg_get_u32(&d, 999, &u32), -EINVAL);
	assert_true(ipc_msg_has(&d, IPC_TAG_STARTED_NS));
	assert_false(ipc_msg_has(&d, IPC_TAG_ARGV));

	_cleanup_ipc_msg_ struct ipc_msg e;
	build_sample(IPC_ENTER_REQ, &e, nullfd);
	assert_int_equal(ipc_msg_encode(&e, buf, IPC_MSG_MAX, &len, &err), 0);
	int fds[3] = { devnull(), devnull(), devnull() };
	_cleanup_ipc_msg_ struct ipc_msg ed;
	assert_int_equal(ipc_decode(buf, len, fds, 3, &ed, &err), 0);
	_cleanup_strv_ char **argv = NULL;
	assert_int_equal(ipc_msg_get_strv(&ed, IPC_TAG_ARGV, &argv), 0);
	assert_int_equal(strv_len(argv), 4);
	assert_string_equal(argv[0], "/bin/sh");
	assert_string_equal(argv[2], "echo h\xc3\xa9llo");
	assert_string_equal(argv[3], "");
	int taken = ipc_msg_take_fd(&ed, 1);
	assert_int_equal(taken, fds[1]);
	assert_int_equal(ipc_msg_take_fd(&ed, 1), -EBADF);
	assert_int_equal(ipc_msg_take_fd(&ed, 3), -EBADF);
	ipc_msg_free(&ed);
	/* the taken fd survived the free, the others did not */
	assert_true(fcntl(taken, F_GETFD) >= 0);
	assert_int_equal(fcntl(fds[0], F_GETFD), -1);
	close(taken);
}

static void test_encode_refuses(void **state)
{
	(void)state;
	_cleanup_free_ uint8_t *buf = xmalloc(IPC_MSG_MAX);
	struct rkt_err err = { 0 };
	size_t len;
	_cleanup_ipc_msg_ struct ipc_msg m;

	ipc_msg_init(&m, IPC_STATUS_REQ);
	ipc_msg_put_str(&m, IPC_TAG_UUID, "0F3B5C1E-2A4D-4E6F-8A9B-0C1D2E3F4A5B");
	assert_int_equal(ipc_msg_encode(&m, buf, IPC_MSG_MAX, &len, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "encode: field 1 (\"uuid\") of STATUS_REQ: not a lowercase UUID"));
	ipc_msg_free(&m);

	ipc_msg_init(&m, IPC_STATUS_REQ);
	assert_int_equal(ipc_msg_put_u32(&m, IPC_TAG_UUID, 1), -EINVAL);
	assert_int_equal(ipc_msg_encode(&m, buf, IPC_MSG_MAX, &len, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "adding \"uuid\""));
	ipc_msg_free(&m);

	/* RUN_REQ without its four fds is refused by the sender already */
	ipc_msg_init(&m, IPC_RUN_REQ);
	assert_int_equal(ipc_msg_encode(&m, buf, IPC_MSG_MAX, &len, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "RUN_REQ carries 4 fds, got 0"));
	ipc_msg_free(&m);

	ipc_msg_init(&m, IPC_HELLO);
	ipc_msg_put_str(&m, IPC_TAG_VERSION, "1");
	assert_int_equal(ipc_msg_encode(&m, buf, 20, &len, &err), -ENOBUFS);
}

/* ---- raw encodings for the decoder's refusals --------------------------- */

struct raw {
	uint8_t b[IPC_MSG_MAX + 64];
	size_t len;
};

static void raw_hdr(struct raw *r, uint32_t magic, uint16_t version, uint16_t type,
		    uint32_t flags)
{
	uint32_t v32 = htole32(magic);
	memcpy(r->b, &v32, 4);
	uint16_t v16 = htole16(version);
	memcpy(r->b + 4, &v16, 2);
	v16 = htole16(type);
	memcpy(r->b + 6, &v16, 2);
	v32 = htole32(flags);
	memcpy(r->b + 12, &v32, 4);
	r->len = IPC_HDR_SIZE;
}

static void raw_field_ex(struct raw *r, uint16_t tag, uint16_t reserved, const void *v,
			 uint32_t len)
{
	uint16_t t = htole16(tag), rs = htole16(reserved);
	uint32_t l = htole32(len);
	memcpy(r->b + r->len, &t, 2);
	memcpy(r->b + r->len + 2, &rs, 2);
	memcpy(r->b + r->len + 4, &l, 4);
	memcpy(r->b + r->len + 8, v, len);
	r->len += 8 + len;
}

static void raw_field(struct raw *r, uint16_t tag, const void *v, uint32_t len)
{
	raw_field_ex(r, tag, 0, v, len);
}

static void raw_str(struct raw *r, uint16_t tag, const char *s)
{
	raw_field(r, tag, s, (uint32_t)strlen(s));
}

/* Sets the payload length from what was written. */
static void raw_seal(struct raw *r)
{
	uint32_t l = htole32((uint32_t)(r->len - IPC_HDR_SIZE));
	memcpy(r->b + 8, &l, 4);
}

static struct raw *raw_new(uint16_t type)
{
	struct raw *r = xcalloc(1, sizeof *r);
	raw_hdr(r, IPC_MAGIC, IPC_VERSION, type, 0);
	return r;
}

static void expect_refusal(const struct raw *r, unsigned nfds, int code, const char *part)
{
	struct rkt_err err = { 0 };
	struct ipc_msg m;
	int fds[IPC_FDS_MAX] = { -1, -1, -1, -1 };
	int rc = ipc_decode(r->b, r->len, fds, nfds, &m, &err);
	if (rc != code || !strstr(err.msg, part))
		fail_msg("want %d containing \"%s\", got %d \"%s\"", code, part, rc, err.msg);
	assert_int_equal(m.nfields, 0);
	assert_null(m.vals);
}

static void test_refuse_header(void **state)
{
	(void)state;
	_cleanup_free_ struct raw *r = raw_new(IPC_STATUS_REQ);
	raw_str(r, IPC_TAG_UUID, UUID1);
	raw_seal(r);
	struct rkt_err err = { 0 };
	_cleanup_ipc_msg_ struct ipc_msg ok;
	assert_int_equal(ipc_decode(r->b, r->len, NULL, 0, &ok, &err), 0);

	struct raw *bad = xmalloc(sizeof *bad);
	memcpy(bad, r, sizeof *r);
	bad->b[0] ^= 0xff;
	expect_refusal(bad, 0, -EBADMSG, "bad magic");

	memcpy(bad, r, sizeof *r);
	bad->b[4] = 2;
	expect_refusal(bad, 0, -EPROTONOSUPPORT, "protocol version 2");

	memcpy(bad, r, sizeof *r);
	bad->len -= 1;
	expect_refusal(bad, 0, -EBADMSG, "header says 44 payload bytes, message has 43");

	memcpy(bad, r, sizeof *r);
	bad->len = 10;
	expect_refusal(bad, 0, -EBADMSG, "shorter than the 16-byte header");

	memcpy(bad, r, sizeof *r);
	bad->b[6] = 99;
	expect_refusal(bad, 0, -EBADMSG, "unknown message type 99");

	memcpy(bad, r, sizeof *r);
	bad->b[12] = 1;
	expect_refusal(bad, 0, -EBADMSG, "STATUS_REQ: flags 0x1 set");

	/* 64 KiB + 1 of payload, really present */
	memcpy(bad, r, sizeof *r);
	bad->len = IPC_HDR_SIZE;
	_cleanup_free_ uint8_t *zeros = xcalloc(1, IPC_PAYLOAD_MAX);
	raw_field(bad, IPC_TAG_UUID, zeros, IPC_PAYLOAD_MAX + 1 - 8);
	raw_seal(bad);
	expect_refusal(bad, 0, -EMSGSIZE, "payload length 65537 exceeds 65536");
	/* and a header that only claims it */
	memcpy(bad, r, sizeof *r);
	uint32_t huge = htole32(0xfffffff0u);
	memcpy(bad->b + 8, &huge, 4);
	expect_refusal(bad, 0, -EMSGSIZE, "payload length 4294967280 exceeds 65536");
	free(bad);
}

static void test_refuse_fields(void **state)
{
	(void)state;
	struct raw *r;

	r = raw_new(IPC_STATUS_REQ);
	raw_str(r, IPC_TAG_UUID, UUID1);
	raw_str(r, IPC_TAG_APP, "x");
	raw_seal(r);
	expect_refusal(r, 0, -EBADMSG, "field 2 (tag 16) of STATUS_REQ: unknown tag");
	free(r);

	r = raw_new(IPC_STATUS_REQ);
	raw_str(r, IPC_TAG_UUID, UUID1);
	raw_str(r, 4000, "x");
	raw_seal(r);
	expect_refusal(r, 0, -EBADMSG, "field 2 (tag 4000) of STATUS_REQ: unknown tag");
	free(r);

	r = raw_new(IPC_STATUS_REQ);
	raw_str(r, IPC_TAG_UUID, UUID1);
	raw_str(r, IPC_TAG_UUID, UUID1);
	raw_seal(r);
	expect_refusal(r, 0, -EBADMSG, "field 2 (\"uuid\") of STATUS_REQ: duplicate tag 3");
	free(r);

	r = raw_new(IPC_STOP_REQ);
	uint32_t one = htole32(1);
	raw_field(r, IPC_TAG_FORCE, &one, 4);
	raw_seal(r);
	expect_refusal(r, 0, -EBADMSG, "STOP_REQ: missing required field \"uuid\"");
	free(r);

	r = raw_new(IPC_HELLO);
	raw_field(r, IPC_TAG_VERSION, "1.0\0x", 5);
	raw_seal(r);
	expect_refusal(r, 0, -EBADMSG, "field 1 (\"version\") of HELLO: NUL byte at offset 3");
	free(r);

	r = raw_new(IPC_HELLO);
	raw_str(r, IPC_TAG_VERSION, "1.0");
	raw_str(r, IPC_TAG_DIR, "/var/\xc0\xafrkt");
	raw_seal(r);
	expect_refusal(r, 0, -EBADMSG, "field 2 (\"dir\") of HELLO: invalid UTF-8 at offset 5");
	free(r);

	const char *bad_utf8[] = { "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe2\x82", "\xff", "\x80" };
	for (size_t i = 0; i < sizeof bad_utf8 / sizeof bad_utf8[0]; i++) {
		r = raw_new(IPC_HELLO);
		raw_str(r, IPC_TAG_VERSION, bad_utf8[i]);
		raw_seal(r);
		expect_refusal(r, 0, -EBADMSG, "invalid UTF-8 at offset 0");
		free(r);
	}

	r = raw_new(IPC_HELLO);
	char longv[100];
	memset(longv, 'v', sizeof longv);
	raw_field(r, IPC_TAG_VERSION, longv, sizeof longv);
	raw_seal(r);
	expect_refusal(r, 0, -EBADMSG, "field 1 (\"version\") of HELLO: length 100 exceeds 64");
	free(r);

	r = raw_new(IPC_STATUS_REQ);
	char longu[200];
	memset(longu, 'a', sizeof longu);
	raw_field(r, IPC_TAG_UUID, longu, sizeof longu);
	raw_seal(r);
	expect_refusal(r, 0, -EBADMSG, "field 1 (\"uuid\") of STATUS_REQ: length 200 exceeds 36");
	free(r);

	r = raw_new(IPC_STATUS_REQ);
	raw_str(r, IPC_TAG_UUID, "0f3b5c1e-2a4d-4e6f-8a9b_0c1d2e3f4a5b");
	raw_seal(r);
	expect_refusal(r, 0, -EBADMSG, "not a lowercase UUID (character 23)");
	free(r);

	r = raw_new(IPC_RENDER_REQ);
	raw_str(r, IPC_TAG_IMAGE_ID,
		"sha256-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
	raw_seal(r);
	expect_refusal(r, 0, -EBADMSG, "does not start with \"sha512-\"");
	free(r);

	r = raw_new(IPC_RENDER_REQ);
	raw_str(r, IPC_TAG_IMAGE_ID, "sha512-0123");
	raw_seal(r);
	expect_refusal(r, 0, -EBADMSG, "length 11, an image ID has 71 characters");
	free(r);

	/* trailing bytes: a field header cut short */
	r = raw_new(IPC_STATUS_REQ);
	raw_str(r, IPC_TAG_UUID, UUID1);
	memcpy(r->b + r->len, "\x01\x00\x00", 3);
	r->len += 3;
	raw_seal(r);
	expect_refusal(r, 0, -EBADMSG, "STATUS_REQ: 3 trailing bytes after field 1");
	free(r);

	/* a value longer than the payload that is left */
	r = raw_new(IPC_STATUS_REQ);
	raw_str(r, IPC_TAG_UUID, UUID1);
	uint32_t over = htole32(1000);
	memcpy(r->b + IPC_HDR_SIZE + 4, &over, 4);
	raw_seal(r);
	expect_refusal(r, 0, -EBADMSG, "length 1000 exceeds the 36 bytes left");
	free(r);

	r = raw_new(IPC_STATUS_REQ);
	raw_field_ex(r, IPC_TAG_UUID, 7, UUID1, 36);
	raw_seal(r);
	expect_refusal(r, 0, -EBADMSG, "reserved bits 0x0007 set");
	free(r);

	/* integers: exact width and range */
	r = raw_new(IPC_SIGNAL);
	raw_field(r, IPC_TAG_SIGNO, "\x0f\x00", 2);
	raw_seal(r);
	expect_refusal(r, 0, -EBADMSG, "field 1 (\"signo\") of SIGNAL: length 2, want 4");
	free(r);

	r = raw_new(IPC_SIGNAL);
	int32_t sig = (int32_t)htole32(65);
	raw_field(r, IPC_TAG_SIGNO, &sig, 4);
	raw_seal(r);
	expect_refusal(r, 0, -EBADMSG, "value 65 outside 1..64");
	free(r);

	r = raw_new(IPC_RUN_RESULT);
	int32_t neg = (int32_t)htole32((uint32_t)-1);
	raw_field(r, IPC_TAG_EXIT_STATUS, &neg, 4);
	raw_seal(r);
	expect_refusal(r, 0, -EBADMSG, "value -1 outside 0..255");
	free(r);

	r = raw_new(IPC_PREPARE_REQ);
	uint32_t bits = htole32(0x100);
	raw_field(r, IPC_TAG_INSECURE, &bits, 4);
	raw_seal(r);
	expect_refusal(r, 1, -EBADMSG, "\"insecure\") of PREPARE_REQ: value 256 outside 0..255");
	free(r);

	/* string lists: NUL-terminated, bounded item count */
	r = raw_new(IPC_ENTER_REQ);
	raw_str(r, IPC_TAG_UUID, UUID1);
	raw_field(r, IPC_TAG_ARGV, "sh\0-c", 5);
	raw_seal(r);
	expect_refusal(r, 3, -EBADMSG, "list does not end with NUL");
	free(r);

	r = raw_new(IPC_ENTER_REQ);
	raw_str(r, IPC_TAG_UUID, UUID1);
	char many[2 * 1025];
	for (size_t i = 0; i < 1025; i++)
		many[2 * i] = 'a', many[2 * i + 1] = '\0';
	raw_field(r, IPC_TAG_ARGV, many, sizeof many);
	raw_seal(r);
	expect_refusal(r, 3, -EBADMSG, "more than 1024 items");
	free(r);

	/* the fd count is the type's, exactly */
	r = raw_new(IPC_HELLO);
	raw_str(r, IPC_TAG_VERSION, "1");
	raw_seal(r);
	expect_refusal(r, 1, -EBADMSG, "HELLO carries 0 fds, got 1");
	free(r);
	r = raw_new(IPC_RUN_REQ);
	raw_seal(r);
	expect_refusal(r, 3, -EBADMSG, "RUN_REQ carries 4 fds, got 3");
	expect_refusal(r, 5, -EBADMSG, "5 fds, at most 4");
	free(r);
}

/* ---- sockets -------------------------------------------------------------- */

static void seqpacket_pair(int sv[2])
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
}

/* Sends bytes with n fds, bypassing ipc_send's own checks. */
static void send_raw(int fd, const void *buf, size_t len, const int *fds, unsigned n)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * 8)];
	} control;
	memset(&control, 0, sizeof control);
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	if (n) {
		mh.msg_control = control.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * n);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * n);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
	}
	assert_int_equal(sendmsg(fd, &mh, MSG_NOSIGNAL), (ssize_t)len);
}

static void test_socket_run_req(void **state)
{
	(void)state;
	int sv[2];
	seqpacket_pair(sv);
	_cleanup_close_ int a = sv[0], b = sv[1];
	struct rkt_err err = { 0 };
	const char manifest[] = "{\"acKind\":\"PodManifest\",\"acVersion\":\"0.8.11\"}";
	int mfd = -1;
	assert_int_equal(ipc_memfd_create_sealed("manifest", manifest, strlen(manifest), &mfd, &err),
			 0);
	_cleanup_close_ int memfd = mfd;
	int pipefd[2];
	assert_int_equal(pipe2(pipefd, O_CLOEXEC), 0);
	_cleanup_close_ int pr = pipefd[0], pw = pipefd[1];
	_cleanup_close_ int nullfd = devnull();

	_cleanup_ipc_msg_ struct ipc_msg m;
	ipc_msg_init(&m, IPC_RUN_REQ);
	ipc_msg_put_str(&m, IPC_TAG_STAGE1, "ns");
	ipc_msg_add_fd(&m, memfd);
	ipc_msg_add_fd(&m, nullfd);
	ipc_msg_add_fd(&m, pw);
	ipc_msg_add_fd(&m, nullfd);
	assert_int_equal(ipc_send(a, &m, &err), 0);

	_cleanup_free_ void *buf = xmalloc(IPC_MSG_MAX);
	_cleanup_ipc_msg_ struct ipc_msg got;
	int r = ipc_recv(b, buf, &got, &err);
	if (r != 1)
		fail_msg("recv: %d %s", r, err.msg);
	assert_int_equal(got.type, IPC_RUN_REQ);
	assert_int_equal(got.nfds, 4);
	for (unsigned i = 0; i < 4; i++)
		assert_int_equal(fcntl(got.fds[i], F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	const char *flavor;
	assert_int_equal(ipc_msg_get_str(&got, IPC_TAG_STAGE1, &flavor), 0);
	assert_string_equal(flavor, "ns");

	_cleanup_free_ char *text = NULL;
	size_t tlen;
	assert_int_equal(ipc_memfd_read_sealed(got.fds[0], IPC_MANIFEST_MAX, &text, &tlen, &err), 0);
	assert_int_equal(tlen, strlen(manifest));
	assert_string_equal(text, manifest);
	/* the received stdout is the pipe's write end */
	assert_int_equal(write(got.fds[2], "hi", 2), 2);
	char out[3] = { 0 };
	assert_int_equal(read(pr, out, 2), 2);
	assert_string_equal(out, "hi");

	/* peer closed: 0, nothing received */
	close(a);
	a = -1;
	_cleanup_ipc_msg_ struct ipc_msg none;
	ipc_msg_init(&none, 0);
	assert_int_equal(ipc_recv(b, buf, &none, &err), 0);
}

static void test_socket_refusals(void **state)
{
	(void)state;
	int sv[2];
	seqpacket_pair(sv);
	_cleanup_close_ int a = sv[0], b = sv[1];
	struct rkt_err err = { 0 };
	_cleanup_free_ uint8_t *enc = xmalloc(IPC_MSG_MAX + 64);
	_cleanup_free_ void *buf = xmalloc(IPC_MSG_MAX);
	_cleanup_close_ int nullfd = devnull();
	size_t len;
	struct ipc_msg got;

	_cleanup_ipc_msg_ struct ipc_msg hello;
	build_sample(IPC_HELLO, &hello, nullfd);
	assert_int_equal(ipc_msg_encode(&hello, enc, IPC_MSG_MAX, &len, &err), 0);

	/* HELLO with one fd it must not carry: refused, fd closed */
	int before = count_open_fds();
	send_raw(a, enc, len, &nullfd, 1);
	assert_int_equal(ipc_recv(b, buf, &got, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "HELLO carries 0 fds, got 1"));
	assert_int_equal(count_open_fds(), before);

	/* five fds: over the limit whatever the type, all closed */
	_cleanup_ipc_msg_ struct ipc_msg run;
	build_sample(IPC_RUN_REQ, &run, nullfd);
	assert_int_equal(ipc_msg_encode(&run, enc, IPC_MSG_MAX, &len, &err), 0);
	int five[5] = { nullfd, nullfd, nullfd, nullfd, nullfd };
	send_raw(a, enc, len, five, 5);
	assert_int_equal(ipc_recv(b, buf, &got, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "5 fds received, at most 4"));
	assert_int_equal(count_open_fds(), before);

	/* RUN_REQ with three of its four fds */
	send_raw(a, enc, len, five, 3);
	assert_int_equal(ipc_recv(b, buf, &got, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "RUN_REQ carries 4 fds, got 3"));
	assert_int_equal(count_open_fds(), before);

	/* a corrupt message with a valid fd count still gets its fds closed */
	enc[20] ^= 0x40;
	send_raw(a, enc, len, five, 4);
	assert_true(ipc_recv(b, buf, &got, &err) < 0);
	assert_int_equal(count_open_fds(), before);

	/* a datagram longer than any message */
	memset(enc, 0, IPC_MSG_MAX + 64);
	send_raw(a, enc, IPC_MSG_MAX + 64, five, 1);
	assert_int_equal(ipc_recv(b, buf, &got, &err), -EMSGSIZE);
	assert_non_null(strstr(err.msg, "message longer than 65552 bytes"));
	assert_int_equal(count_open_fds(), before);

	/* credentials are not ours to receive: level/type checked */
	int on = 1;
	assert_int_equal(setsockopt(b, SOL_SOCKET, SO_PASSCRED, &on, sizeof on), 0);
	assert_int_equal(ipc_msg_encode(&hello, enc, IPC_MSG_MAX, &len, &err), 0);
	send_raw(a, enc, len, NULL, 0);
	assert_int_equal(ipc_recv(b, buf, &got, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "unexpected control message (level 1, type 2)"));
	on = 0;
	assert_int_equal(setsockopt(b, SOL_SOCKET, SO_PASSCRED, &on, sizeof on), 0);

	/* and the channel still works for a good message */
	assert_int_equal(ipc_send(a, &hello, &err), 0);
	assert_int_equal(ipc_recv(b, buf, &got, &err), 1);
	assert_int_equal(got.type, IPC_HELLO);
	ipc_msg_free(&got);
}

/* ---- memfd ---------------------------------------------------------------- */

static int memfd_with_seals(const char *data, unsigned seals, bool sealable)
{
	int fd = memfd_create("t", MFD_CLOEXEC | (sealable ? MFD_ALLOW_SEALING : 0));
	assert_true(fd >= 0);
	assert_int_equal(write_all(fd, data, strlen(data)), 0);
	if (seals)
		assert_int_equal(fcntl(fd, F_ADD_SEALS, seals), 0);
	return fd;
}

static void expect_memfd_refusal(int fd, size_t max, int code, const char *part)
{
	struct rkt_err err = { 0 };
	char *buf = NULL;
	size_t len = 0;
	int r = ipc_memfd_read_sealed(fd, max, &buf, &len, &err);
	if (r != code || !strstr(err.msg, part))
		fail_msg("want %d containing \"%s\", got %d \"%s\"", code, part, r, err.msg);
	assert_null(buf);
}

static void test_memfd(void **state)
{
	(void)state;
	struct rkt_err err = { 0 };
	int fd;
	assert_int_equal(ipc_memfd_create_sealed("m", "hello", 5, &fd, &err), 0);
	assert_int_equal(fcntl(fd, F_GET_SEALS),
			 F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE);
	assert_int_equal(write(fd, "x", 1), -1);
	_cleanup_free_ char *buf = NULL;
	size_t len;
	assert_int_equal(ipc_memfd_read_sealed(fd, 5, &buf, &len, &err), 0);
	assert_int_equal(len, 5);
	assert_string_equal(buf, "hello");
	/* one byte over the bound */
	expect_memfd_refusal(fd, 4, -EFBIG, "memfd of 5 bytes exceeds the 4-byte bound");
	close(fd);

	/* created without sealing: the kernel reports only F_SEAL_SEAL */
	fd = memfd_with_seals("data", 0, false);
	expect_memfd_refusal(fd, 100, -EPERM,
			     "memfd is not sealed: missing F_SEAL_SHRINK|F_SEAL_GROW|F_SEAL_WRITE");
	close(fd);

	fd = memfd_with_seals("data", 0, true);
	expect_memfd_refusal(fd, 100, -EPERM, "missing F_SEAL_SEAL|F_SEAL_SHRINK|F_SEAL_GROW|F_SEAL_WRITE");
	close(fd);

	/* still writable: everything but F_SEAL_WRITE */
	fd = memfd_with_seals("data", F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW, true);
	expect_memfd_refusal(fd, 100, -EPERM, "memfd is not sealed: missing F_SEAL_WRITE");
	close(fd);

	/* not a memfd at all */
	int p[2];
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	expect_memfd_refusal(p[0], 100, -EBADF, "memfd: not a regular file");
	close(p[0]);
	close(p[1]);
	char path[] = "/run/rkt-unit-ipc.XXXXXX";
	fd = mkostemp(path, O_CLOEXEC);
	assert_true(fd >= 0);
	unlink(path);
	int r = ipc_memfd_read_sealed(fd, 100, &buf, &len, &err);
	assert_true(r == -EINVAL || r == -EPERM);
	close(fd);
}

/* ---- state machine -------------------------------------------------------- */

static void walk(const uint16_t *seq, size_t n, enum ipc_state want_end)
{
	enum ipc_state st = IPC_ST_START;
	struct rkt_err err = { 0 };
	for (size_t i = 0; i < n; i++) {
		enum ipc_state next;
		if (ipc_state_check(st, seq[i], &next, &err) < 0)
			fail_msg("step %zu: %s", i, err.msg);
		st = next;
	}
	assert_int_equal(st, want_end);
}

static void expect_state_refusal(const uint16_t *seq, size_t n, uint16_t bad, const char *part)
{
	enum ipc_state st = IPC_ST_START, next = IPC_ST_MAX;
	struct rkt_err err = { 0 };
	for (size_t i = 0; i < n; i++)
		assert_int_equal(ipc_state_check(st, seq[i], &st, &err), 0);
	assert_int_equal(ipc_state_check(st, bad, &next, &err), -EPROTO);
	if (!strstr(err.msg, part))
		fail_msg("want \"%s\", got \"%s\"", part, err.msg);
	assert_int_equal(next, IPC_ST_MAX);
}

#define SEQ(...) (const uint16_t[]){ __VA_ARGS__ }, sizeof((const uint16_t[]){ __VA_ARGS__ }) / 2

static void test_state(void **state)
{
	(void)state;
	walk(SEQ(IPC_HELLO, IPC_HELLO_OK, IPC_STATUS_REQ, IPC_STATUS_ANS), IPC_ST_CLOSED);
	walk(SEQ(IPC_HELLO, IPC_HELLO_OK, IPC_PREPARE_REQ, IPC_PREPARE_ANS), IPC_ST_CLOSED);
	walk(SEQ(IPC_HELLO, IPC_HELLO_OK, IPC_RUN_REQ, IPC_RUN_EVENT, IPC_SIGNAL, IPC_RUN_EVENT,
		 IPC_RUN_RESULT),
	     IPC_ST_CLOSED);
	walk(SEQ(IPC_HELLO, IPC_HELLO_OK, IPC_ENTER_REQ, IPC_RUN_RESULT), IPC_ST_CLOSED);
	walk(SEQ(IPC_HELLO, IPC_HELLO_OK, IPC_RUN_PREPARED_REQ), IPC_ST_STREAM);
	walk(SEQ(IPC_HELLO, IPC_HELLO_OK, IPC_GC_REQ, IPC_GENERIC_ANS), IPC_ST_CLOSED);
	walk(SEQ(IPC_HELLO, IPC_HELLO_OK, IPC_RENDER_REQ, IPC_GENERIC_ANS), IPC_ST_CLOSED);
	walk(SEQ(IPC_HELLO, IPC_GENERIC_ANS), IPC_ST_CLOSED);
	walk(SEQ(IPC_HELLO, IPC_HELLO_OK, IPC_RUN_REQ, IPC_GENERIC_ANS), IPC_ST_CLOSED);

	expect_state_refusal(SEQ(IPC_HELLO), IPC_STATUS_REQ, "STATUS_REQ not allowed in state HELLO_SENT");
	enum ipc_state next;
	struct rkt_err err = { 0 };
	assert_int_equal(ipc_state_check(IPC_ST_START, IPC_RUN_REQ, &next, &err), -EPROTO);
	assert_non_null(strstr(err.msg, "RUN_REQ not allowed in state START"));
	expect_state_refusal(SEQ(IPC_HELLO, IPC_HELLO_OK), IPC_HELLO, "HELLO not allowed in state READY");
	expect_state_refusal(SEQ(IPC_HELLO, IPC_HELLO_OK, IPC_STATUS_REQ, IPC_STATUS_ANS), IPC_RM_REQ,
			     "RM_REQ after the connection's result");
	expect_state_refusal(SEQ(IPC_HELLO, IPC_HELLO_OK, IPC_STATUS_REQ), IPC_RUN_EVENT,
			     "RUN_EVENT not allowed in state WAIT_STATUS");
	expect_state_refusal(SEQ(IPC_HELLO, IPC_HELLO_OK, IPC_PREPARE_REQ), IPC_SIGNAL,
			     "SIGNAL not allowed in state WAIT_PREPARE");
	expect_state_refusal(SEQ(IPC_HELLO, IPC_HELLO_OK, IPC_STOP_REQ), IPC_STATUS_ANS,
			     "STATUS_ANS not allowed in state WAIT_GENERIC");
	expect_state_refusal(SEQ(IPC_HELLO, IPC_HELLO_OK, IPC_RUN_REQ), IPC_STATUS_REQ,
			     "STATUS_REQ not allowed in state STREAM");
	assert_int_equal(ipc_state_check(IPC_ST_READY, 99, &next, &err), -EPROTO);
	assert_non_null(strstr(err.msg, "unknown message type 99 in state READY"));

	assert_int_equal(ipc_check_sender(IPC_RUN_REQ, IPC_SIDE_CLIENT, &err), 0);
	assert_int_equal(ipc_check_sender(IPC_SIGNAL, IPC_SIDE_CLIENT, &err), 0);
	assert_int_equal(ipc_check_sender(IPC_RUN_EVENT, IPC_SIDE_HELPER, &err), 0);
	assert_int_equal(ipc_check_sender(IPC_RUN_EVENT, IPC_SIDE_CLIENT, &err), -EPROTO);
	assert_non_null(strstr(err.msg, "RUN_EVENT may only be sent by the helper"));
	assert_int_equal(ipc_check_sender(IPC_HELLO, IPC_SIDE_HELPER, &err), -EPROTO);
}

/* The resolv.conf/hosts fields: one bounded line per item, so no client
 * can add a line to the files the helper writes from them. */
static void test_dns_fields(void **state)
{
	(void)state;
	static const char two[] = "8.8.8.8\0" "1.1.1.1\nnameserver 6.6.6.6";
	struct raw *r = raw_new(IPC_RUN_REQ);
	raw_field(r, IPC_TAG_DNS, two, sizeof two);
	raw_seal(r);
	expect_refusal(r, 4, -EBADMSG, "field 1 (\"dns\") of RUN_REQ: item 1: control character at offset 7");
	free(r);

	r = raw_new(IPC_RUN_PREPARED_REQ);
	raw_str(r, IPC_TAG_UUID, UUID1);
	raw_str(r, IPC_TAG_DNS_DOMAIN, "example.net\nnameserver 6.6.6.6");
	raw_seal(r);
	expect_refusal(r, 3, -EBADMSG, "field 2 (\"dns_domain\") of RUN_PREPARED_REQ: control character at offset 11");
	free(r);

	r = raw_new(IPC_RUN_PREPARED_REQ);
	raw_str(r, IPC_TAG_UUID, UUID1);
	raw_str(r, IPC_TAG_HOSTNAME, "pod\r");
	raw_seal(r);
	expect_refusal(r, 3, -EBADMSG, "(\"hostname\") of RUN_PREPARED_REQ: control character at offset 3");
	free(r);

	static const char tab[] = "1.2.3.4=a\tb";
	r = raw_new(IPC_RUN_REQ);
	raw_field(r, IPC_TAG_HOSTS_ENTRY, tab, sizeof tab);
	raw_seal(r);
	expect_refusal(r, 4, -EBADMSG, "(\"hosts_entry\") of RUN_REQ: item 0: control character at offset 9");
	free(r);

	char longitem[300];
	memset(longitem, 'a', sizeof longitem - 1);
	longitem[sizeof longitem - 1] = '\0';
	r = raw_new(IPC_RUN_REQ);
	raw_field(r, IPC_TAG_DNS_SEARCH, longitem, sizeof longitem);
	raw_seal(r);
	expect_refusal(r, 4, -EBADMSG, "(\"dns_search\") of RUN_REQ: item 0: length 299 exceeds 255");
	free(r);

	char many[33 * 2];
	for (int i = 0; i < 33; i++)
		many[2 * i] = 'x', many[2 * i + 1] = '\0';
	r = raw_new(IPC_RUN_REQ);
	raw_field(r, IPC_TAG_DNS_OPT, many, sizeof many);
	raw_seal(r);
	expect_refusal(r, 4, -EBADMSG, "(\"dns_opt\") of RUN_REQ: more than 32 items");
	free(r);

	/* The builder refuses what the decoder would. */
	struct ipc_msg m;
	uint8_t buf[IPC_MSG_MAX];
	size_t len;
	struct rkt_err err = { 0 };
	char *bad[] = { "1.1.1.1\nnameserver 6.6.6.6", NULL };
	ipc_msg_init(&m, IPC_RUN_PREPARED_REQ);
	ipc_msg_put_str(&m, IPC_TAG_UUID, UUID1);
	ipc_msg_put_strv(&m, IPC_TAG_DNS, bad);
	for (int i = 0; i < 3; i++)
		ipc_msg_add_fd(&m, i);
	int rc = ipc_msg_encode(&m, buf, sizeof buf, &len, &err);
	ipc_msg_free(&m);
	if (rc != -EBADMSG || !strstr(err.msg, "(\"dns\") of RUN_PREPARED_REQ: item 0: control character"))
		fail_msg("encode: %d %s", rc, err.msg);

	/* PREPARE_ANS, STATUS_REQ, ... never carry them. */
	r = raw_new(IPC_STATUS_REQ);
	raw_str(r, IPC_TAG_UUID, UUID1);
	raw_str(r, IPC_TAG_DNS_DOMAIN, "example.net");
	raw_seal(r);
	expect_refusal(r, 0, -EBADMSG, "of STATUS_REQ: unknown tag");
	free(r);
	/* Nor does PREPARE_REQ: a prepared pod gets them from run-prepared. */
	r = raw_new(IPC_PREPARE_REQ);
	raw_str(r, IPC_TAG_HOSTNAME, "pod-1");
	raw_seal(r);
	expect_refusal(r, 1, -EBADMSG, "of PREPARE_REQ: unknown tag");
	free(r);
	assert_string_equal(ipc_tag_name(IPC_TAG_HOSTS_ENTRY), "hosts_entry");
}

static void test_names(void **state)
{
	(void)state;
	for (size_t t = 0; t < N_TYPES; t++) {
		assert_non_null(ipc_type_name(all_types[t]));
		/* requests even, answers odd */
		bool req = strstr(ipc_type_name(all_types[t]), "_REQ") ||
			   all_types[t] == IPC_HELLO || all_types[t] == IPC_SIGNAL;
		assert_int_equal(ipc_type_is_request(all_types[t]), req);
	}
	assert_null(ipc_type_name(0));
	assert_null(ipc_type_name(1));
	assert_null(ipc_type_name(IPC_TYPE_MAX + 1));
	assert_int_equal(ipc_type_fd_count(IPC_RUN_REQ), 4);
	assert_int_equal(ipc_type_fd_count(IPC_PREPARE_REQ), 1);
	assert_int_equal(ipc_type_fd_count(IPC_ENTER_REQ), 3);
	assert_int_equal(ipc_type_fd_count(IPC_HELLO), 0);
	assert_int_equal(ipc_type_fd_count(500), -1);
	assert_string_equal(ipc_tag_name(IPC_TAG_UUID), "uuid");
	assert_null(ipc_tag_name(IPC_TAG_MAX + 1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_all_types),
		cmocka_unit_test(test_accessors),
		cmocka_unit_test(test_encode_refuses),
		cmocka_unit_test(test_refuse_header),
		cmocka_unit_test(test_refuse_fields),
		cmocka_unit_test(test_socket_run_req),
		cmocka_unit_test(test_socket_refusals),
		cmocka_unit_test(test_memfd),
		cmocka_unit_test(test_state),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_dns_fields),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
