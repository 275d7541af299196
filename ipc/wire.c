/* Message codec: tables, builder, encoder and the validating decoder.
 * The decoder is the helper's first contact with untrusted bytes, so every
 * length is bounded against what is left before it is used, and nothing is
 * copied out until the whole message has been checked. */
#include "ipc.h"

#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"

struct tag_desc {
	const char *name;
	enum ipc_kind kind;
	uint32_t max_len;      /* str, bytes, strv: most value bytes */
	uint32_t max_items;    /* strv: most strings */
	uint32_t max_item;     /* strv: most bytes per string (0: only max_len) */
	bool line;	       /* str, strv: no control character (one line each) */
	int64_t min, max;      /* u32, i32: inclusive range */
};

#define STR(n, m) { .name = n, .kind = IPC_K_STR, .max_len = m }
#define U32(n, lo, hi) { .name = n, .kind = IPC_K_U32, .min = lo, .max = hi }
#define I32(n, lo, hi) { .name = n, .kind = IPC_K_I32, .min = lo, .max = hi }
#define U64(n) { .name = n, .kind = IPC_K_U64 }
/* strv of at most items single-line strings of at most item bytes each */
#define LINES(n, items, item)                                                              \
	{ .name = n, .kind = IPC_K_STRV, .max_len = (items) * ((item) + 1), .max_items = items, \
	  .max_item = item, .line = true }

static const struct tag_desc tags[IPC_TAG_MAX + 1] = {
	[IPC_TAG_VERSION] = STR("version", 64),
	[IPC_TAG_DIR] = STR("dir", 4096),
	[IPC_TAG_UUID] = { .name = "uuid", .kind = IPC_K_UUID, .max_len = 36 },
	[IPC_TAG_IMAGE_ID] = { .name = "image_id", .kind = IPC_K_IMAGE_ID, .max_len = 71 },
	[IPC_TAG_STAGE1] = STR("stage1", 255),
	[IPC_TAG_INSECURE] = U32("insecure", 0, IPC_INSECURE_MASK),
	[IPC_TAG_RUN_FLAGS] = U32("run_flags", 0, IPC_RUNF_MASK),
	[IPC_TAG_NETS] = { .name = "nets", .kind = IPC_K_STRV, .max_len = 4096, .max_items = 64 },
	[IPC_TAG_HOSTNAME] = { .name = "hostname", .kind = IPC_K_STR, .max_len = 253, .line = true },
	[IPC_TAG_STATE] = STR("state", 32),
	[IPC_TAG_PID] = I32("pid", 0, INT32_MAX),
	[IPC_TAG_CREATED_NS] = U64("created_ns"),
	[IPC_TAG_STARTED_NS] = U64("started_ns"),
	[IPC_TAG_EXIT_STATUS] = I32("exit_status", 0, 255),
	[IPC_TAG_EVENT] = U32("event", 1, IPC_EV_MAX),
	[IPC_TAG_APP] = STR("app", 255),
	[IPC_TAG_TEXT] = STR("text", 4096),
	[IPC_TAG_SIGNO] = I32("signo", 1, 64),
	[IPC_TAG_FORCE] = U32("force", 0, 1),
	[IPC_TAG_GRACE_NS] = U64("grace_ns"),
	[IPC_TAG_PREPARED_EXPIRE_NS] = U64("prepared_expire_ns"),
	[IPC_TAG_ERRNO] = I32("errno", 0, 4095),
	[IPC_TAG_MESSAGE] = STR("message", 4096),
	[IPC_TAG_ARGV] = { .name = "argv", .kind = IPC_K_STRV, .max_len = 32768, .max_items = 1024 },
	[IPC_TAG_GC_FLAGS] = U32("gc_flags", 0, IPC_GC_MASK),
	[IPC_TAG_DNS] = LINES("dns", 32, 255),
	[IPC_TAG_DNS_SEARCH] = LINES("dns_search", 32, 255),
	[IPC_TAG_DNS_OPT] = LINES("dns_opt", 32, 255),
	[IPC_TAG_DNS_DOMAIN] = { .name = "dns_domain", .kind = IPC_K_STR, .max_len = 255, .line = true },
	[IPC_TAG_HOSTS_ENTRY] = LINES("hosts_entry", 64, 255),
};

struct allowed {
	uint16_t tag;
	bool required;
};

struct type_desc {
	const char *name;
	int nfds;
	const struct allowed *fields; /* ends with tag 0 */
};

#define REQ(t) { IPC_TAG_##t, true }
#define OPT(t) { IPC_TAG_##t, false }
#define END { 0, false }

static const struct allowed f_hello[] = { REQ(VERSION), OPT(DIR), END };
static const struct allowed f_hello_ok[] = { REQ(VERSION), OPT(PID), END };
static const struct allowed f_uuid_only[] = { REQ(UUID), END };
static const struct allowed f_status_ans[] = {
	REQ(UUID), REQ(STATE), OPT(PID), OPT(CREATED_NS), OPT(STARTED_NS), OPT(EXIT_STATUS), END
};
/* run and run-prepared: the pod's resolv.conf and hosts (op_run.c checks
 * the values; the codec only keeps each item one bounded line). */
#define DNS_OPTS OPT(DNS), OPT(DNS_SEARCH), OPT(DNS_OPT), OPT(DNS_DOMAIN), OPT(HOSTS_ENTRY)
/* The pod's manifest is in the memfd; prepare takes what shapes the pod
 * dir, run adds what only a running pod has (networks, names, DNS). */
static const struct allowed f_prepare[] = { OPT(STAGE1), OPT(INSECURE), OPT(RUN_FLAGS), END };
static const struct allowed f_run[] = {
	OPT(STAGE1), OPT(INSECURE), OPT(RUN_FLAGS), OPT(NETS), OPT(HOSTNAME), DNS_OPTS, END
};
static const struct allowed f_run_event[] = {
	REQ(EVENT), OPT(UUID), OPT(PID), OPT(APP), OPT(EXIT_STATUS), OPT(TEXT), END
};
static const struct allowed f_run_prepared[] = {
	REQ(UUID), OPT(RUN_FLAGS), OPT(INSECURE), OPT(NETS), OPT(HOSTNAME), DNS_OPTS, END
};
static const struct allowed f_run_result[] = { REQ(EXIT_STATUS), OPT(UUID), END };
static const struct allowed f_stop[] = { REQ(UUID), OPT(FORCE), END };
static const struct allowed f_generic[] = { REQ(ERRNO), OPT(MESSAGE), END };
static const struct allowed f_gc[] = { OPT(GRACE_NS), OPT(PREPARED_EXPIRE_NS), OPT(GC_FLAGS), END };
static const struct allowed f_render[] = { REQ(IMAGE_ID), END };
static const struct allowed f_enter[] = { REQ(UUID), OPT(APP), REQ(ARGV), END };
static const struct allowed f_signal[] = { REQ(SIGNO), END };

static const struct type_desc types[IPC_TYPE_MAX + 1] = {
	[IPC_HELLO] = { "HELLO", 0, f_hello },
	[IPC_HELLO_OK] = { "HELLO_OK", 0, f_hello_ok },
	[IPC_STATUS_REQ] = { "STATUS_REQ", 0, f_uuid_only },
	[IPC_STATUS_ANS] = { "STATUS_ANS", 0, f_status_ans },
	[IPC_PREPARE_REQ] = { "PREPARE_REQ", 1, f_prepare },
	[IPC_PREPARE_ANS] = { "PREPARE_ANS", 0, f_uuid_only },
	[IPC_RUN_REQ] = { "RUN_REQ", 4, f_run },
	[IPC_RUN_EVENT] = { "RUN_EVENT", 0, f_run_event },
	[IPC_RUN_PREPARED_REQ] = { "RUN_PREPARED_REQ", 3, f_run_prepared },
	[IPC_RUN_RESULT] = { "RUN_RESULT", 0, f_run_result },
	[IPC_STOP_REQ] = { "STOP_REQ", 0, f_stop },
	[IPC_GENERIC_ANS] = { "GENERIC_ANS", 0, f_generic },
	[IPC_RM_REQ] = { "RM_REQ", 0, f_uuid_only },
	[IPC_GC_REQ] = { "GC_REQ", 0, f_gc },
	[IPC_RENDER_REQ] = { "RENDER_REQ", 0, f_render },
	[IPC_ENTER_REQ] = { "ENTER_REQ", 3, f_enter },
	[IPC_SIGNAL] = { "SIGNAL", 0, f_signal },
};

static const struct type_desc *type_desc(uint16_t type)
{
	if (type > IPC_TYPE_MAX || !types[type].name)
		return NULL;
	return &types[type];
}

static const struct tag_desc *tag_desc(uint16_t tag)
{
	if (tag > IPC_TAG_MAX || !tags[tag].name)
		return NULL;
	return &tags[tag];
}

const char *ipc_type_name(uint16_t type)
{
	const struct type_desc *t = type_desc(type);
	return t ? t->name : NULL;
}

const char *ipc_tag_name(uint16_t tag)
{
	const struct tag_desc *d = tag_desc(tag);
	return d ? d->name : NULL;
}

int ipc_type_fd_count(uint16_t type)
{
	const struct type_desc *t = type_desc(type);
	return t ? t->nfds : -1;
}

static const struct allowed *find_allowed(const struct type_desc *t, uint16_t tag)
{
	for (const struct allowed *a = t->fields; a->tag; a++)
		if (a->tag == tag)
			return a;
	return NULL;
}

/* ---- little-endian access ---------------------------------------------- */

static uint16_t rd16(const uint8_t *p)
{
	uint16_t v;
	memcpy(&v, p, sizeof v);
	return le16toh(v);
}

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, sizeof v);
	return le32toh(v);
}

static uint64_t rd64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, sizeof v);
	return le64toh(v);
}

static void wr16(uint8_t *p, uint16_t v)
{
	v = htole16(v);
	memcpy(p, &v, sizeof v);
}

static void wr32(uint8_t *p, uint32_t v)
{
	v = htole32(v);
	memcpy(p, &v, sizeof v);
}

static void wr64(uint8_t *p, uint64_t v)
{
	v = htole64(v);
	memcpy(p, &v, sizeof v);
}

/* ---- value checks -------------------------------------------------------- */

/* Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing past
 * U+10FFFF. Returns the offset of the first bad byte, or len when valid. */
static size_t utf8_bad_offset(const uint8_t *s, size_t len)
{
	size_t i = 0;
	while (i < len) {
		uint8_t c = s[i];
		size_t n;
		uint32_t cp, min;
		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			n = 1, cp = c & 0x1f, min = 0x80;
		} else if ((c & 0xf0) == 0xe0) {
			n = 2, cp = c & 0x0f, min = 0x800;
		} else if ((c & 0xf8) == 0xf0) {
			n = 3, cp = c & 0x07, min = 0x10000;
		} else {
			return i;
		}
		if (len - i - 1 < n)
			return i;
		for (size_t k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return i;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return i;
		i += n + 1;
	}
	return len;
}

static bool is_lower_hex(uint8_t c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/* Context for one field's error line. */
struct fctx {
	struct rkt_err *err;
	const char *type_name;
	unsigned idx; /* 1-based position in the payload */
	const char *tag_name;
};

#define FERR(c, fmt, ...)                                                                  \
	rkt_error((c)->err, EBADMSG, "field %u (\"%s\") of %s: " fmt, (c)->idx, (c)->tag_name, \
		  (c)->type_name, ##__VA_ARGS__)

static int check_len_max(const struct fctx *c, uint32_t len, uint32_t max)
{
	if (len > max)
		return FERR(c, "length %" PRIu32 " exceeds %" PRIu32, len, max);
	return 0;
}

static int check_text(const struct fctx *c, const uint8_t *v, uint32_t len, const char *what)
{
	const uint8_t *nul = memchr(v, '\0', len);
	if (nul)
		return FERR(c, "%sNUL byte at offset %td", what, nul - v);
	size_t bad = utf8_bad_offset(v, len);
	if (bad != len)
		return FERR(c, "%sinvalid UTF-8 at offset %zu", what, bad);
	return 0;
}

/* Offset of the first control character (a newline would start a new
 * line in the file the value ends up in), or len. */
static size_t ctl_offset(const uint8_t *v, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (v[i] < 0x20 || v[i] == 0x7f)
			return i;
	return len;
}

static int check_int(const struct fctx *c, const struct tag_desc *d, int64_t v)
{
	if (v < d->min || v > d->max)
		return FERR(c, "value %" PRId64 " outside %" PRId64 "..%" PRId64, v, d->min, d->max);
	return 0;
}

static int check_fixed(const struct fctx *c, uint32_t len, uint32_t want)
{
	if (len != want)
		return FERR(c, "length %" PRIu32 ", want %" PRIu32, len, want);
	return 0;
}

static int check_uuid(const struct fctx *c, const uint8_t *v, uint32_t len)
{
	int r = check_len_max(c, len, 36);
	if (r < 0)
		return r;
	if (len != 36)
		return FERR(c, "length %" PRIu32 ", a UUID has 36 characters", len);
	for (unsigned i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? v[i] != '-' : !is_lower_hex(v[i]))
			return FERR(c, "not a lowercase UUID (character %u)", i);
	}
	return 0;
}

static int check_image_id(const struct fctx *c, const uint8_t *v, uint32_t len)
{
	static const char prefix[] = "sha512-";
	const uint32_t plen = sizeof prefix - 1, want = plen + 64;
	int r = check_len_max(c, len, want);
	if (r < 0)
		return r;
	if (len != want)
		return FERR(c, "length %" PRIu32 ", an image ID has %" PRIu32 " characters", len,
			    want);
	if (memcmp(v, prefix, plen) != 0)
		return FERR(c, "image ID does not start with \"sha512-\"");
	for (uint32_t i = plen; i < len; i++)
		if (!is_lower_hex(v[i]))
			return FERR(c, "image ID has a non-lowercase-hex character at %" PRIu32, i);
	return 0;
}

static int check_strv(const struct fctx *c, const struct tag_desc *d, const uint8_t *v,
		      uint32_t len)
{
	int r = check_len_max(c, len, d->max_len);
	if (r < 0)
		return r;
	if (len > 0 && v[len - 1] != '\0')
		return FERR(c, "list does not end with NUL");
	uint32_t items = 0;
	for (uint32_t off = 0; off < len; items++) {
		const uint8_t *e = memchr(v + off, '\0', len - off);
		uint32_t n = (uint32_t)(e - (v + off));
		if (items >= d->max_items)
			return FERR(c, "more than %" PRIu32 " items", d->max_items);
		size_t bad = utf8_bad_offset(v + off, n);
		if (bad != n)
			return FERR(c, "item %" PRIu32 ": invalid UTF-8 at offset %zu", items, bad);
		if (d->max_item && n > d->max_item)
			return FERR(c, "item %" PRIu32 ": length %" PRIu32 " exceeds %" PRIu32, items,
				    n, d->max_item);
		if (d->line && (bad = ctl_offset(v + off, n)) != n)
			return FERR(c, "item %" PRIu32 ": control character at offset %zu", items,
				    bad);
		off += n + 1;
	}
	return 0;
}

static int check_value(const struct fctx *c, const struct tag_desc *d, const uint8_t *v,
		       uint32_t len)
{
	int r;
	switch (d->kind) {
	case IPC_K_U32:
		if ((r = check_fixed(c, len, 4)) < 0)
			return r;
		return check_int(c, d, rd32(v));
	case IPC_K_I32:
		if ((r = check_fixed(c, len, 4)) < 0)
			return r;
		return check_int(c, d, (int32_t)rd32(v));
	case IPC_K_U64:
		return check_fixed(c, len, 8);
	case IPC_K_STR:
		if ((r = check_len_max(c, len, d->max_len)) < 0 || (r = check_text(c, v, len, "")) < 0)
			return r;
		if (d->line && ctl_offset(v, len) != len)
			return FERR(c, "control character at offset %zu", ctl_offset(v, len));
		return 0;
	case IPC_K_BYTES:
		return check_len_max(c, len, d->max_len);
	case IPC_K_UUID:
		return check_uuid(c, v, len);
	case IPC_K_IMAGE_ID:
		return check_image_id(c, v, len);
	case IPC_K_STRV:
		return check_strv(c, d, v, len);
	}
	return FERR(c, "kind %d has no check", (int)d->kind);
}

/* ---- decoder ------------------------------------------------------------ */

/* Validates a whole message. When out is non-NULL, the fields are copied
 * into it after the last check has passed. */
static int parse(const uint8_t *buf, size_t len, unsigned nfds, struct ipc_msg *out,
		 struct rkt_err *err)
{
	if (len < IPC_HDR_SIZE)
		return rkt_error(err, EBADMSG, "message of %zu bytes is shorter than the %d-byte header",
				 len, IPC_HDR_SIZE);
	uint32_t magic = rd32(buf), plen = rd32(buf + 8), flags = rd32(buf + 12);
	uint16_t version = rd16(buf + 4), type = rd16(buf + 6);
	if (magic != IPC_MAGIC)
		return rkt_error(err, EBADMSG, "bad magic 0x%08" PRIx32 " (want 0x%08x)", magic,
				 IPC_MAGIC);
	if (version != IPC_VERSION)
		return rkt_error(err, EPROTONOSUPPORT, "protocol version %u, this side speaks %d",
				 version, IPC_VERSION);
	if (plen > IPC_PAYLOAD_MAX)
		return rkt_error(err, EMSGSIZE, "payload length %" PRIu32 " exceeds %d", plen,
				 IPC_PAYLOAD_MAX);
	if (plen != len - IPC_HDR_SIZE)
		return rkt_error(err, EBADMSG,
				 "header says %" PRIu32 " payload bytes, message has %zu", plen,
				 len - IPC_HDR_SIZE);
	const struct type_desc *t = type_desc(type);
	if (!t)
		return rkt_error(err, EBADMSG, "unknown message type %u", type);
	if (flags != 0)
		return rkt_error(err, EBADMSG, "%s: flags 0x%" PRIx32 " set, none are defined",
				 t->name, flags);
	if (nfds != (unsigned)t->nfds)
		return rkt_error(err, EBADMSG, "%s carries %d fds, got %u", t->name, t->nfds, nfds);

	const uint8_t *p = buf + IPC_HDR_SIZE;
	struct ipc_field fields[IPC_FIELDS_MAX];
	uint64_t seen = 0;
	unsigned n = 0;
	size_t vals_len = 0;
	for (uint32_t off = 0; off < plen;) {
		struct fctx c = { .err = err, .type_name = t->name, .idx = n + 1 };
		uint32_t left = plen - off;
		if (left < IPC_FIELD_HDR_SIZE)
			return rkt_error(err, EBADMSG, "%s: %" PRIu32 " trailing bytes after field %u",
					 t->name, left, n);
		uint16_t tag = rd16(p + off), reserved = rd16(p + off + 2);
		uint32_t vlen = rd32(p + off + 4);
		const struct tag_desc *d = tag_desc(tag);
		const struct allowed *a = d ? find_allowed(t, tag) : NULL;
		if (!a)
			return rkt_error(err, EBADMSG, "field %u (tag %u) of %s: unknown tag", c.idx,
					 tag, t->name);
		c.tag_name = d->name;
		if (reserved != 0)
			return FERR(&c, "reserved bits 0x%04x set", reserved);
		if (seen & (UINT64_C(1) << tag))
			return FERR(&c, "duplicate tag %u", tag);
		seen |= UINT64_C(1) << tag;
		if (vlen > left - IPC_FIELD_HDR_SIZE)
			return FERR(&c, "length %" PRIu32 " exceeds the %" PRIu32 " bytes left", vlen,
				    left - IPC_FIELD_HDR_SIZE);
		const uint8_t *v = p + off + IPC_FIELD_HDR_SIZE;
		int r = check_value(&c, d, v, vlen);
		if (r < 0)
			return r;
		/* Cannot overflow: no duplicates and every tag is in t's table,
		 * which is shorter than IPC_FIELDS_MAX. */
		fields[n++] = (struct ipc_field){ .tag = tag,
						  .len = vlen,
						  .off = off + IPC_FIELD_HDR_SIZE };
		vals_len += vlen + 1;
		off += IPC_FIELD_HDR_SIZE + vlen;
	}
	for (const struct allowed *a = t->fields; a->tag; a++)
		if (a->required && !(seen & (UINT64_C(1) << a->tag)))
			return rkt_error(err, EBADMSG, "%s: missing required field \"%s\"", t->name,
					 tags[a->tag].name);
	if (!out)
		return 0;

	*out = (struct ipc_msg){ .type = type, .flags = flags, .nfields = n };
	out->vals = xmalloc(vals_len ? vals_len : 1);
	out->vals_cap = vals_len;
	for (unsigned i = 0; i < n; i++) {
		out->fields[i] = fields[i];
		out->fields[i].off = (uint32_t)out->vals_len;
		memcpy(out->vals + out->vals_len, p + fields[i].off, fields[i].len);
		out->vals_len += fields[i].len;
		out->vals[out->vals_len++] = '\0';
	}
	return 0;
}

int ipc_decode(const void *buf, size_t len, const int *fds, unsigned nfds, struct ipc_msg *ret,
	       struct rkt_err *err)
{
	*ret = (struct ipc_msg){ 0 };
	if (nfds > IPC_FDS_MAX)
		return rkt_error(err, EBADMSG, "%u fds, at most %d", nfds, IPC_FDS_MAX);
	int r = parse(buf, len, nfds, ret, err);
	if (r < 0)
		return r;
	for (unsigned i = 0; i < IPC_FDS_MAX; i++)
		ret->fds[i] = i < nfds ? fds[i] : -1;
	ret->nfds = nfds;
	ret->owns_fds = true;
	return 0;
}

/* ---- builder and encoder ------------------------------------------------ */

void ipc_msg_init(struct ipc_msg *m, uint16_t type)
{
	*m = (struct ipc_msg){ .type = type };
	for (unsigned i = 0; i < IPC_FDS_MAX; i++)
		m->fds[i] = -1;
}

void ipc_msg_free(struct ipc_msg *m)
{
	if (!m)
		return;
	free(m->vals);
	m->vals = NULL;
	m->vals_len = m->vals_cap = 0;
	if (m->owns_fds)
		for (unsigned i = 0; i < m->nfds && i < IPC_FDS_MAX; i++)
			if (m->fds[i] >= 0)
				close(m->fds[i]);
	m->nfds = 0;
	m->nfields = 0;
	m->owns_fds = false;
}

static int put_fail(struct ipc_msg *m, uint16_t tag, int r)
{
	if (m->put_error == 0) {
		m->put_error = r;
		m->put_tag = tag;
	}
	return r;
}

static int put_raw(struct ipc_msg *m, uint16_t tag, enum ipc_kind kind, const void *v, size_t len)
{
	const struct tag_desc *d = tag_desc(tag);
	if (!d)
		return put_fail(m, tag, -ENOENT);
	if (d->kind != kind)
		return put_fail(m, tag, -EINVAL);
	if (m->nfields >= IPC_FIELDS_MAX)
		return put_fail(m, tag, -E2BIG);
	if (len > IPC_PAYLOAD_MAX)
		return put_fail(m, tag, -EMSGSIZE);
	if (m->vals_len + len + 1 > m->vals_cap) {
		size_t cap = m->vals_cap ? m->vals_cap : 256;
		while (cap < m->vals_len + len + 1)
			cap *= 2;
		m->vals = xrealloc(m->vals, cap);
		m->vals_cap = cap;
	}
	m->fields[m->nfields++] = (struct ipc_field){ .tag = tag,
						      .len = (uint32_t)len,
						      .off = (uint32_t)m->vals_len };
	if (len)
		memcpy(m->vals + m->vals_len, v, len);
	m->vals_len += len;
	m->vals[m->vals_len++] = '\0';
	return 0;
}

int ipc_msg_put_u32(struct ipc_msg *m, uint16_t tag, uint32_t v)
{
	uint8_t b[4];
	wr32(b, v);
	return put_raw(m, tag, IPC_K_U32, b, sizeof b);
}

int ipc_msg_put_u64(struct ipc_msg *m, uint16_t tag, uint64_t v)
{
	uint8_t b[8];
	wr64(b, v);
	return put_raw(m, tag, IPC_K_U64, b, sizeof b);
}

int ipc_msg_put_i32(struct ipc_msg *m, uint16_t tag, int32_t v)
{
	uint8_t b[4];
	wr32(b, (uint32_t)v);
	return put_raw(m, tag, IPC_K_I32, b, sizeof b);
}

int ipc_msg_put_str(struct ipc_msg *m, uint16_t tag, const char *s)
{
	const struct tag_desc *d = tag_desc(tag);
	if (!d || !s)
		return put_fail(m, tag, -EINVAL);
	/* uuid and image id are strings with a stricter check at encode time */
	enum ipc_kind k = d->kind == IPC_K_UUID || d->kind == IPC_K_IMAGE_ID ? d->kind : IPC_K_STR;
	return put_raw(m, tag, k, s, strlen(s));
}

int ipc_msg_put_bytes(struct ipc_msg *m, uint16_t tag, const void *p, size_t len)
{
	return put_raw(m, tag, IPC_K_BYTES, p, len);
}

int ipc_msg_put_strv(struct ipc_msg *m, uint16_t tag, char *const *v)
{
	size_t total = 0;
	for (char *const *s = v; s && *s; s++) {
		total += strlen(*s) + 1;
		if (total > IPC_PAYLOAD_MAX)
			return put_fail(m, tag, -EMSGSIZE);
	}
	_cleanup_free_ char *flat = xmalloc(total ? total : 1);
	size_t off = 0;
	for (char *const *s = v; s && *s; s++) {
		size_t n = strlen(*s) + 1;
		memcpy(flat + off, *s, n);
		off += n;
	}
	return put_raw(m, tag, IPC_K_STRV, flat, total);
}

int ipc_msg_add_fd(struct ipc_msg *m, int fd)
{
	if (fd < 0)
		return put_fail(m, 0, -EBADF);
	if (m->nfds >= IPC_FDS_MAX)
		return put_fail(m, 0, -E2BIG);
	m->fds[m->nfds++] = fd;
	return 0;
}

int ipc_msg_encode(const struct ipc_msg *m, void *buf, size_t cap, size_t *ret_len,
		   struct rkt_err *err)
{
	const char *tname = ipc_type_name(m->type);
	if (!tname)
		return rkt_error(err, EINVAL, "encode: unknown message type %u", m->type);
	if (m->put_error < 0) {
		const char *what = m->put_tag ? ipc_tag_name(m->put_tag) : "fd";
		if (!what)
			return rkt_error(err, -m->put_error, "encode %s: unknown tag %u", tname,
					 m->put_tag);
		return rkt_error_errno(err, -m->put_error, "encode %s: adding \"%s\" failed", tname,
				       what);
	}
	size_t total = IPC_HDR_SIZE;
	for (unsigned i = 0; i < m->nfields; i++)
		total += IPC_FIELD_HDR_SIZE + m->fields[i].len;
	if (total - IPC_HDR_SIZE > IPC_PAYLOAD_MAX)
		return rkt_error(err, EMSGSIZE, "encode %s: payload of %zu bytes exceeds %d", tname,
				 total - IPC_HDR_SIZE, IPC_PAYLOAD_MAX);
	if (total > cap)
		return rkt_error(err, ENOBUFS, "encode %s: %zu bytes do not fit a %zu-byte buffer",
				 tname, total, cap);
	uint8_t *b = buf;
	wr32(b, IPC_MAGIC);
	wr16(b + 4, IPC_VERSION);
	wr16(b + 6, m->type);
	wr32(b + 8, (uint32_t)(total - IPC_HDR_SIZE));
	wr32(b + 12, m->flags);
	size_t off = IPC_HDR_SIZE;
	for (unsigned i = 0; i < m->nfields; i++) {
		const struct ipc_field *f = &m->fields[i];
		wr16(b + off, f->tag);
		wr16(b + off + 2, 0);
		wr32(b + off + 4, f->len);
		if (f->len)
			memcpy(b + off + IPC_FIELD_HDR_SIZE, m->vals + f->off, f->len);
		off += IPC_FIELD_HDR_SIZE + f->len;
	}
	int r = parse(b, total, m->nfds, NULL, err);
	if (r < 0)
		return err ? rkt_error_wrap(err, "encode") : r;
	*ret_len = total;
	return 0;
}

/* ---- accessors ---------------------------------------------------------- */

static const struct ipc_field *find_field(const struct ipc_msg *m, uint16_t tag)
{
	for (unsigned i = 0; i < m->nfields; i++)
		if (m->fields[i].tag == tag)
			return &m->fields[i];
	return NULL;
}

static int get_field(const struct ipc_msg *m, uint16_t tag, bool (*kind_ok)(enum ipc_kind),
		     const struct ipc_field **ret)
{
	const struct tag_desc *d = tag_desc(tag);
	if (!d || !kind_ok(d->kind))
		return -EINVAL;
	const struct ipc_field *f = find_field(m, tag);
	if (!f)
		return -ENOENT;
	*ret = f;
	return 0;
}

static bool is_u32(enum ipc_kind k) { return k == IPC_K_U32; }
static bool is_u64(enum ipc_kind k) { return k == IPC_K_U64; }
static bool is_i32(enum ipc_kind k) { return k == IPC_K_I32; }
static bool is_str(enum ipc_kind k)
{
	return k == IPC_K_STR || k == IPC_K_UUID || k == IPC_K_IMAGE_ID;
}
static bool is_bytes(enum ipc_kind k) { return k != IPC_K_STRV; }
static bool is_strv(enum ipc_kind k) { return k == IPC_K_STRV; }

int ipc_msg_get_u32(const struct ipc_msg *m, uint16_t tag, uint32_t *ret)
{
	const struct ipc_field *f;
	int r = get_field(m, tag, is_u32, &f);
	if (r < 0)
		return r;
	if (f->len != 4)
		return -EINVAL;
	*ret = rd32(m->vals + f->off);
	return 0;
}

int ipc_msg_get_u64(const struct ipc_msg *m, uint16_t tag, uint64_t *ret)
{
	const struct ipc_field *f;
	int r = get_field(m, tag, is_u64, &f);
	if (r < 0)
		return r;
	if (f->len != 8)
		return -EINVAL;
	*ret = rd64(m->vals + f->off);
	return 0;
}

int ipc_msg_get_i32(const struct ipc_msg *m, uint16_t tag, int32_t *ret)
{
	const struct ipc_field *f;
	int r = get_field(m, tag, is_i32, &f);
	if (r < 0)
		return r;
	if (f->len != 4)
		return -EINVAL;
	*ret = (int32_t)rd32(m->vals + f->off);
	return 0;
}

int ipc_msg_get_str(const struct ipc_msg *m, uint16_t tag, const char **ret)
{
	const struct ipc_field *f;
	int r = get_field(m, tag, is_str, &f);
	if (r < 0)
		return r;
	/* A built message is not validated until encode: refuse what C
	 * would silently cut at an interior NUL. */
	if (memchr(m->vals + f->off, '\0', f->len))
		return -EINVAL;
	*ret = (const char *)m->vals + f->off;
	return 0;
}

int ipc_msg_get_bytes(const struct ipc_msg *m, uint16_t tag, const void **ret, size_t *ret_len)
{
	const struct ipc_field *f;
	int r = get_field(m, tag, is_bytes, &f);
	if (r < 0)
		return r;
	*ret = m->vals + f->off;
	*ret_len = f->len;
	return 0;
}

int ipc_msg_get_strv(const struct ipc_msg *m, uint16_t tag, char ***ret)
{
	const struct ipc_field *f;
	int r = get_field(m, tag, is_strv, &f);
	if (r < 0)
		return r;
	const char *v = (const char *)m->vals + f->off;
	if (f->len > 0 && v[f->len - 1] != '\0')
		return -EINVAL;
	size_t n = 0;
	for (uint32_t off = 0; off < f->len; off += (uint32_t)strlen(v + off) + 1)
		n++;
	char **out = xcalloc(n + 1, sizeof *out);
	size_t i = 0;
	for (uint32_t off = 0; off < f->len; off += (uint32_t)strlen(v + off) + 1)
		out[i++] = xstrdup(v + off);
	*ret = out;
	return 0;
}

bool ipc_msg_has(const struct ipc_msg *m, uint16_t tag)
{
	return find_field(m, tag) != NULL;
}

int ipc_msg_take_fd(struct ipc_msg *m, unsigned idx)
{
	if (idx >= m->nfds || idx >= IPC_FDS_MAX || m->fds[idx] < 0)
		return -EBADF;
	int fd = m->fds[idx];
	m->fds[idx] = -1;
	return fd;
}
