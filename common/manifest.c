/* appc image and pod manifests (reference/appc-oci.md §3-§5), parsed with
 * jansson and validated field by field. Each error names the field path.
 *
 * Keys bind case-insensitively as in Go's encoding/json. Where Go would
 * silently let the last of two case-variants win ("acKind" and "ACKIND"),
 * we refuse the document: the unprivileged side and the helper must never
 * disagree about which value counts. */
#include "manifest.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cleanup.h"
#include "util.h"

struct ctx {
	struct rkt_err *err;
	const char *doc;  /* "image manifest" */
	const char *note; /* isolator name, shown after the path */
	char path[256];
	size_t len;
};

static size_t path_push(struct ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static size_t path_push(struct ctx *c, const char *fmt, ...)
{
	size_t old = c->len;
	if (c->len < sizeof c->path - 1) {
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(c->path + c->len, sizeof c->path - c->len, fmt, ap);
		va_end(ap);
		if (n > 0)
			c->len += (size_t)n;
		if (c->len > sizeof c->path - 1)
			c->len = sizeof c->path - 1;
	}
	return old;
}

static size_t path_key(struct ctx *c, const char *key)
{
	return path_push(c, "%s%s", c->len ? "." : "", key);
}

static size_t path_idx(struct ctx *c, size_t i) { return path_push(c, "[%zu]", i); }

static void path_pop(struct ctx *c, size_t old)
{
	c->len = old;
	c->path[old] = '\0';
}

static int fail(struct ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct ctx *c, const char *fmt, ...)
{
	char detail[RKT_ERR_MSG_MAX], note[160] = "";
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(detail, sizeof detail, fmt, ap);
	va_end(ap);
	if (c->note)
		snprintf(note, sizeof note, " (\"%s\")", c->note);
	if (c->len == 0)
		return rkt_error(c->err, EINVAL, "%s%s: %s", c->doc, note, detail);
	return rkt_error(c->err, EINVAL, "%s: field \"%s\"%s: %s", c->doc, c->path, note, detail);
}

static const char *type_name(json_type t)
{
	switch (t) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL: return "a number";
	case JSON_TRUE:
	case JSON_FALSE: return "a boolean";
	default: return "null";
	}
}

static const char *json_type_name(const json_t *v) { return type_name(json_typeof(v)); }

/* ---- field access ------------------------------------------------------ */

/* Finds key case-insensitively; *ret is NULL when absent or null. The path
 * is left pointing at the key (caller pops with the returned length). */
static int get(struct ctx *c, json_t *obj, const char *key, json_t **ret, size_t *old)
{
	const char *k, *found = NULL;
	json_t *v, *hit = NULL;
	json_object_foreach (obj, k, v) {
		if (strcasecmp(k, key) != 0)
			continue;
		if (found) {
			*old = path_key(c, key);
			return fail(c, "given twice (as \"%s\" and \"%s\")", found, k);
		}
		found = k;
		hit = v;
	}
	*old = path_key(c, key);
	*ret = json_is_null(hit) ? NULL : hit;
	return 0;
}

static int get_typed(struct ctx *c, json_t *obj, const char *key, json_type type, bool required,
		     json_t **ret)
{
	size_t old;
	json_t *v;
	int r = get(c, obj, key, &v, &old);
	if (r < 0)
		return r;
	if (!v && required)
		return fail(c, "is required");
	if (v && json_typeof(v) != type && !(type == JSON_TRUE && json_is_boolean(v))) {
		return fail(c, "expected %s, got %s", type_name(type), json_type_name(v));
	}
	path_pop(c, old);
	*ret = v;
	return 0;
}

static int get_str(struct ctx *c, json_t *obj, const char *key, bool required, const char **ret)
{
	json_t *v;
	int r = get_typed(c, obj, key, JSON_STRING, required, &v);
	if (r < 0)
		return r;
	*ret = v ? json_string_value(v) : NULL;
	return 0;
}

static int get_str_dup(struct ctx *c, json_t *obj, const char *key, bool required, char **ret)
{
	const char *s;
	int r = get_str(c, obj, key, required, &s);
	if (r < 0)
		return r;
	*ret = s ? xstrdup(s) : NULL;
	return 0;
}

static int get_bool(struct ctx *c, json_t *obj, const char *key, bool *ret, bool *set)
{
	json_t *v;
	int r = get_typed(c, obj, key, JSON_TRUE, false, &v);
	if (r < 0)
		return r;
	if (set)
		*set = v != NULL;
	*ret = v ? json_is_true(v) : false;
	return 0;
}

static int get_int(struct ctx *c, json_t *obj, const char *key, bool required, json_int_t min,
		   json_int_t max, json_int_t *ret, bool *set)
{
	json_t *v;
	int r = get_typed(c, obj, key, JSON_INTEGER, required, &v);
	if (r < 0)
		return r;
	if (set)
		*set = v != NULL;
	if (!v)
		return 0;
	json_int_t n = json_integer_value(v);
	if (n < min || n > max) {
		size_t old = path_key(c, key);
		r = fail(c, "value %" JSON_INTEGER_FORMAT " out of range %" JSON_INTEGER_FORMAT
			    "..%" JSON_INTEGER_FORMAT, n, min, max);
		path_pop(c, old);
		return r;
	}
	*ret = n;
	return 0;
}

/* An array field; absent gives an empty array (NULL with size 0). */
static int get_array(struct ctx *c, json_t *obj, const char *key, bool required, json_t **ret)
{
	return get_typed(c, obj, key, JSON_ARRAY, required, ret);
}

static int get_object(struct ctx *c, json_t *obj, const char *key, bool required, json_t **ret)
{
	return get_typed(c, obj, key, JSON_OBJECT, required, ret);
}

static int expect_object(struct ctx *c, json_t *v)
{
	if (!json_is_object(v))
		return fail(c, "expected an object, got %s", json_type_name(v));
	return 0;
}

/* A JSON array of strings into a NULL-terminated vector. */
static int get_strv(struct ctx *c, json_t *obj, const char *key, char ***ret)
{
	json_t *arr, *v;
	size_t i;
	int r = get_array(c, obj, key, false, &arr);
	if (r < 0)
		return r;
	size_t n = arr ? json_array_size(arr) : 0;
	char **strv = xcalloc(n + 1, sizeof *strv);
	size_t old = path_key(c, key);
	json_array_foreach (arr, i, v) {
		if (!json_is_string(v)) {
			size_t o2 = path_idx(c, i);
			r = fail(c, "expected a string, got %s", json_type_name(v));
			path_pop(c, o2);
			path_pop(c, old);
			strv_free(strv);
			return r;
		}
		strv[i] = xstrdup(json_string_value(v));
	}
	path_pop(c, old);
	*ret = strv;
	return 0;
}

/* A string -> string map such as userAnnotations. */
static int check_string_map(struct ctx *c, json_t *obj, const char *key)
{
	json_t *m, *v;
	const char *k;
	int r = get_object(c, obj, key, false, &m);
	if (r < 0 || !m)
		return r;
	size_t old = path_key(c, key);
	json_object_foreach (m, k, v)
		if (!json_is_string(v)) {
			path_push(c, "[\"%s\"]", k);
			return fail(c, "expected a string, got %s", json_type_name(v));
		}
	path_pop(c, old);
	return 0;
}

/* ---- value rules -------------------------------------------------------- */

/* The optional array obj[key] as a fresh C array of n elements of `size`
 * bytes (at least one allocated, so it is never NULL), each parsed by one()
 * under its own path ("key[i]"). With name_of, two elements with the same
 * name are refused at the second one, naming dup_what. */
typedef int (*parse_elem_fn)(struct ctx *c, json_t *e, void *elem);
typedef const char *(*elem_name_fn)(const void *elem);
static int parse_array_of(struct ctx *c, json_t *obj, const char *key, size_t size, parse_elem_fn one,
			  elem_name_fn name_of, const char *dup_what, void **ret, size_t *ret_n)
{
	json_t *arr, *e;
	size_t i;
	int r = get_array(c, obj, key, false, &arr);
	if (r < 0)
		return r;
	size_t n = arr ? json_array_size(arr) : 0;
	char *v = xcalloc(n ? n : 1, size);
	*ret = v;
	*ret_n = n;
	size_t old = path_key(c, key);
	json_array_foreach (arr, i, e) {
		size_t o2 = path_idx(c, i);
		if ((r = one(c, e, v + i * size)) < 0)
			return r;
		for (size_t j = 0; name_of && j < i; j++)
			if (strcmp(name_of(v + j * size), name_of(v + i * size)) == 0) {
				size_t o3 = path_key(c, "name");
				r = fail(c, "%s name given more than once", dup_what);
				path_pop(c, o3);
				return r;
			}
		path_pop(c, o2);
	}
	path_pop(c, old);
	return 0;
}

/* parse_array_of into a typed field (no pointer punning); the field is set
 * on failure too, so the manifest's free function releases what was parsed. */
#define PARSE_ARRAY(c, obj, key, field, nfield, one, name_of, what)                               \
	({                                                                                        \
		void *arr_ = NULL;                                                                \
		int r_ = parse_array_of(c, obj, key, sizeof *(field), one, name_of, what, &arr_,   \
					&(nfield));                                               \
		(field) = arr_;                                                                   \
		r_;                                                                               \
	})

static bool leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

static bool digits_at(const char *s, size_t n, int *ret)
{
	int v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*ret = v;
	return true;
}

/* Go's time.Parse(time.RFC3339, s). */
static bool rfc3339_valid(const char *s)
{
	static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int y, mo, d, h, mi, se;
	if (strlen(s) < 20 || !digits_at(s, 4, &y) || s[4] != '-' || !digits_at(s + 5, 2, &mo) ||
	    s[7] != '-' || !digits_at(s + 8, 2, &d) || s[10] != 'T' || !digits_at(s + 11, 2, &h) ||
	    s[13] != ':' || !digits_at(s + 14, 2, &mi) || s[16] != ':' || !digits_at(s + 17, 2, &se))
		return false;
	if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] + (mo == 2 && leap(y)) || h > 23 || mi > 59 ||
	    se > 59)
		return false;
	const char *p = s + 19;
	if (*p == '.') {
		const char *f = ++p;
		while (*p >= '0' && *p <= '9')
			p++;
		if (p == f)
			return false;
	}
	if (strcmp(p, "Z") == 0)
		return true;
	int th, tm;
	return (p[0] == '+' || p[0] == '-') && strlen(p) == 6 && digits_at(p + 1, 2, &th) && p[3] == ':' &&
	       digits_at(p + 4, 2, &tm) && th < 24 && tm < 60;
}

static bool http_url_valid(const char *s)
{
	if (strncasecmp(s, "http:", 5) != 0 && strncasecmp(s, "https:", 6) != 0)
		return false;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x21 || *p == 0x7f)
			return false;
	return true;
}

static int check_annotation_value(struct ctx *c, const char *name, const char *value)
{
	if (strcmp(name, "created") == 0 && !rfc3339_valid(value))
		return fail(c, "\"%s\" is not an RFC 3339 time", value);
	if ((strcmp(name, "homepage") == 0 || strcmp(name, "documentation") == 0) && !http_url_valid(value))
		return fail(c, "\"%s\" is not an http or https URL", value);
	if (strcmp(name, "appc.io/executor/supports-systemd-notify") == 0 && strcmp(value, "true") != 0 &&
	    strcmp(value, "false") != 0)
		return fail(c, "\"%s\" must be \"true\" or \"false\"", value);
	return 0;
}

/* ---- lists of {name,value} ---------------------------------------------- */

enum kv_kind { KV_LABELS, KV_ANNOTATIONS, KV_ENVIRONMENT };

static int kv_check_name(struct ctx *c, enum kv_kind kind, const char *name)
{
	switch (kind) {
	case KV_ENVIRONMENT:
		if (!appc_env_name_valid(name))
			return fail(c, "\"%s\" is not a valid environment variable name", name);
		return 0;
	case KV_LABELS:
		if (strcmp(name, "name") == 0)
			return fail(c, "\"name\" cannot be a label");
		/* fall through */
	case KV_ANNOTATIONS:
		if (!appc_identifier_valid(name))
			return fail(c, "\"%s\" is not a valid AC identifier", name);
		return 0;
	}
	return 0;
}

/* Parses [{name,value}] into parallel name/value pairs; names unique. */
static int parse_kv_list(struct ctx *c, json_t *obj, const char *key, enum kv_kind kind, char ***names,
			 char ***values, size_t *ret_n)
{
	json_t *arr, *e;
	size_t i;
	int r = get_array(c, obj, key, false, &arr);
	if (r < 0)
		return r;
	size_t n = arr ? json_array_size(arr) : 0;
	*names = xcalloc(n + 1, sizeof **names);
	*values = xcalloc(n + 1, sizeof **values);
	*ret_n = n;
	size_t old = path_key(c, key);
	json_array_foreach (arr, i, e) {
		size_t o2 = path_idx(c, i);
		const char *name, *value;
		if ((r = expect_object(c, e)) < 0 || (r = get_str(c, e, "name", true, &name)) < 0 ||
		    (r = get_str(c, e, "value", false, &value)) < 0)
			return r;
		if (!value)
			value = "";
		size_t o3 = path_key(c, "name");
		if ((r = kv_check_name(c, kind, name)) < 0)
			return r;
		for (size_t j = 0; j < i; j++)
			if (strcmp((*names)[j], name) == 0)
				return fail(c, "\"%s\" given more than once", name);
		path_pop(c, o3);
		if (kind == KV_ANNOTATIONS) {
			o3 = path_key(c, "value");
			if ((r = check_annotation_value(c, name, value)) < 0)
				return r;
			path_pop(c, o3);
		}
		(*names)[i] = xstrdup(name);
		(*values)[i] = xstrdup(value);
		path_pop(c, o2);
	}
	path_pop(c, old);
	return 0;
}

static void free_pairs(char **names, char **values, size_t n)
{
	for (size_t i = 0; names && i < n; i++)
		free(names[i]);
	for (size_t i = 0; values && i < n; i++)
		free(values[i]);
	free(names);
	free(values);
}

static int parse_labels(struct ctx *c, json_t *obj, const char *key, struct appc_label **ret, size_t *ret_n)
{
	char **names = NULL, **values = NULL;
	size_t n = 0;
	int r = parse_kv_list(c, obj, key, KV_LABELS, &names, &values, &n);
	if (r < 0) {
		free_pairs(names, values, n);
		return r;
	}
	struct appc_label *l = xcalloc(n ? n : 1, sizeof *l);
	for (size_t i = 0; i < n; i++)
		l[i] = (struct appc_label){names[i], values[i]};
	free(names);
	free(values);
	*ret = l;
	*ret_n = n;

	struct rkt_err e = {0};
	if (appc_os_arch_check_spec(appc_labels_get(l, n, "os"), appc_labels_get(l, n, "arch"), &e) < 0) {
		size_t old = path_key(c, key);
		r = fail(c, "%s", e.msg);
		path_pop(c, old);
		return r;
	}
	return 0;
}

static int parse_kvs(struct ctx *c, json_t *obj, const char *key, enum kv_kind kind, struct appc_kv **ret,
		     size_t *ret_n)
{
	char **names = NULL, **values = NULL;
	size_t n = 0;
	int r = parse_kv_list(c, obj, key, kind, &names, &values, &n);
	if (r < 0) {
		free_pairs(names, values, n);
		return r;
	}
	struct appc_kv *kv = xcalloc(n ? n : 1, sizeof *kv);
	for (size_t i = 0; i < n; i++)
		kv[i] = (struct appc_kv){names[i], values[i]};
	free(names);
	free(values);
	*ret = kv;
	*ret_n = n;
	return 0;
}

/* ---- isolators ---------------------------------------------------------- */

enum iso_kind {
	ISO_RES_CPU_MEM,
	ISO_RES_OTHER,
	ISO_CAPS,
	ISO_SECCOMP,
	ISO_BOOL,
	ISO_OOM,
	ISO_SHARES,
	ISO_SELINUX,
	ISO_APPARMOR,
	ISO_SYSCTL,
};

struct iso_def {
	const char *name;
	enum iso_kind kind;
	bool multiple;
};

static const struct iso_def iso_defs[] = {
	{"resource/cpu", ISO_RES_CPU_MEM, true},
	{"resource/memory", ISO_RES_CPU_MEM, true},
	{"resource/block-bandwidth", ISO_RES_OTHER, true},
	{"resource/block-iops", ISO_RES_OTHER, true},
	{"resource/network-bandwidth", ISO_RES_OTHER, true},
	{"os/linux/capabilities-retain-set", ISO_CAPS, true},
	{"os/linux/capabilities-remove-set", ISO_CAPS, true},
	{"os/linux/seccomp-retain-set", ISO_SECCOMP, false},
	{"os/linux/seccomp-remove-set", ISO_SECCOMP, false},
	{"os/linux/no-new-privileges", ISO_BOOL, true},
	{"os/linux/oom-score-adj", ISO_OOM, false},
	{"os/linux/cpu-shares", ISO_SHARES, false},
	{"os/linux/selinux-context", ISO_SELINUX, false},
	{"os/linux/apparmor-profile", ISO_APPARMOR, false},
	{"os/unix/sysctl", ISO_SYSCTL, false},
};

static const struct iso_def *iso_find(const char *name)
{
	for (size_t i = 0; i < sizeof iso_defs / sizeof iso_defs[0]; i++)
		if (strcmp(iso_defs[i].name, name) == 0)
			return &iso_defs[i];
	return NULL;
}

static int check_quantity(struct ctx *c, json_t *obj, const char *key)
{
	size_t old;
	json_t *v;
	int r = get(c, obj, key, &v, &old);
	if (r < 0)
		return r;
	if (!v) {
		path_pop(c, old);
		return 0;
	}
	char buf[64];
	const char *s;
	if (json_is_string(v))
		s = json_string_value(v);
	else if (json_is_integer(v))
		s = (snprintf(buf, sizeof buf, "%" JSON_INTEGER_FORMAT, json_integer_value(v)), buf);
	else if (json_is_real(v))
		s = (snprintf(buf, sizeof buf, "%.15g", json_real_value(v)), buf);
	else
		return fail(c, "expected a quantity string or number, got %s", json_type_name(v));
	int64_t milli;
	r = appc_quantity_parse_milli(s, &milli);
	if (r == -ERANGE)
		return fail(c, "quantity \"%s\" is too large", s);
	if (r < 0)
		return fail(c, "\"%s\" is not a valid quantity (e.g. 500m, 1G, 512Mi; kilo is 'k')", s);
	if (milli < 0)
		return fail(c, "quantity \"%s\" must not be negative", s);
	path_pop(c, old);
	return 0;
}

static int iso_resource(struct ctx *c, json_t *v, bool cpu_mem)
{
	bool def;
	json_t *req;
	size_t old;
	int r;
	if ((r = expect_object(c, v)) < 0 || (r = get_bool(c, v, "default", &def, NULL)) < 0)
		return r;
	if (cpu_mem && def)
		return fail(c, "\"default\" must be false");
	if (!cpu_mem && !def)
		return fail(c, "\"default\" must be true");
	if ((r = get(c, v, "request", &req, &old)) < 0)
		return r;
	path_pop(c, old);
	if (!cpu_mem && req)
		return fail(c, "\"request\" must not be set");
	if ((r = check_quantity(c, v, "request")) < 0 || (r = check_quantity(c, v, "limit")) < 0)
		return r;
	return 0;
}

/* {"set": [strings, non-empty]} */
static int iso_set(struct ctx *c, json_t *v)
{
	_cleanup_strv_ char **set = NULL;
	int r;
	if ((r = expect_object(c, v)) < 0 || (r = get_strv(c, v, "set", &set)) < 0)
		return r;
	if (!set[0])
		return fail(c, "\"set\" must not be empty");
	for (size_t i = 0; set[i]; i++)
		if (!set[i][0])
			return fail(c, "\"set\" entry %zu is empty", i);
	return 0;
}

static int iso_seccomp(struct ctx *c, json_t *v)
{
	const char *errno_name;
	int r;
	if ((r = iso_set(c, v)) < 0 || (r = get_str(c, v, "errno", false, &errno_name)) < 0)
		return r;
	if (!errno_name || !errno_name[0])
		return 0;
	bool ok = errno_name[0] == 'E';
	for (const char *p = errno_name; *p; p++)
		if (!(*p >= 'A' && *p <= 'Z') && !(*p >= '0' && *p <= '9'))
			ok = false;
	if (!ok)
		return fail(c, "errno \"%s\" must be an upper-case errno name such as EPERM", errno_name);
	return 0;
}

static int iso_selinux(struct ctx *c, json_t *v)
{
	static const char *const keys[] = {"user", "role", "type", "level"};
	int r;
	if ((r = expect_object(c, v)) < 0)
		return r;
	for (size_t i = 0; i < 4; i++) {
		const char *s;
		if ((r = get_str(c, v, keys[i], true, &s)) < 0)
			return r;
		if (!s[0] || (i < 3 && strchr(s, ':'))) {
			size_t old = path_key(c, keys[i]);
			r = fail(c, "\"%s\" must be non-empty%s", s, i < 3 ? " and contain no ':'" : "");
			path_pop(c, old);
			return r;
		}
	}
	return 0;
}

static int iso_value(struct ctx *c, const struct iso_def *def, json_t *v)
{
	const char *s;
	int r;
	switch (def->kind) {
	case ISO_RES_CPU_MEM: return iso_resource(c, v, true);
	case ISO_RES_OTHER: return iso_resource(c, v, false);
	case ISO_CAPS: return iso_set(c, v);
	case ISO_SECCOMP: return iso_seccomp(c, v);
	case ISO_BOOL:
		if (!json_is_boolean(v))
			return fail(c, "value must be a JSON boolean, got %s", json_type_name(v));
		return 0;
	case ISO_OOM:
	case ISO_SHARES: {
		json_int_t lo = def->kind == ISO_OOM ? -1000 : 2, hi = def->kind == ISO_OOM ? 1000 : 262144;
		if (!json_is_integer(v))
			return fail(c, "value must be an integer, got %s", json_type_name(v));
		json_int_t n = json_integer_value(v);
		if (n < lo || n > hi)
			return fail(c, "value %" JSON_INTEGER_FORMAT " out of range %" JSON_INTEGER_FORMAT
				       "..%" JSON_INTEGER_FORMAT, n, lo, hi);
		return 0;
	}
	case ISO_SELINUX: return iso_selinux(c, v);
	case ISO_APPARMOR:
		if ((r = expect_object(c, v)) < 0 || (r = get_str(c, v, "profile", true, &s)) < 0)
			return r;
		if (!s[0])
			return fail(c, "\"profile\" must not be empty");
		return 0;
	case ISO_SYSCTL: {
		const char *k;
		json_t *e;
		if ((r = expect_object(c, v)) < 0)
			return r;
		json_object_foreach (v, k, e)
			if (!json_is_string(e))
				return fail(c, "sysctl \"%s\" must have a string value", k);
		return 0;
	}
	}
	return 0;
}

static int iso_check(struct ctx *c, const char *name, json_t *value, bool pod_scope)
{
	const struct iso_def *def = iso_find(name);
	if (!def) {
		if (pod_scope)
			return 0;
		return fail(c, "unknown isolator");
	}
	if (!value)
		return fail(c, "isolator has no value");
	return iso_value(c, def, value);
}

int appc_isolator_validate(const char *name, json_t *value, bool pod_scope, struct rkt_err *err)
{
	_cleanup_free_ char *doc = xasprintf("isolator \"%s\"", name);
	struct ctx c = {.err = err, .doc = doc};
	if (!appc_identifier_valid(name))
		return fail(&c, "name is not a valid AC identifier");
	return iso_check(&c, name, json_is_null(value) ? NULL : value, pod_scope);
}

static bool iso_conflict(const char *a, const char *b)
{
	return (strcmp(a, "os/linux/seccomp-retain-set") == 0 && strcmp(b, "os/linux/seccomp-remove-set") == 0) ||
	       (strcmp(b, "os/linux/seccomp-retain-set") == 0 && strcmp(a, "os/linux/seccomp-remove-set") == 0);
}

static int parse_isolators(struct ctx *c, json_t *obj, bool pod_scope, struct appc_isolator **ret,
			   size_t *ret_n)
{
	json_t *arr, *e;
	size_t i;
	int r = get_array(c, obj, "isolators", false, &arr);
	if (r < 0)
		return r;
	size_t n = arr ? json_array_size(arr) : 0;
	struct appc_isolator *iso = xcalloc(n ? n : 1, sizeof *iso);
	*ret = iso;
	*ret_n = n;
	size_t old = path_key(c, "isolators");
	json_array_foreach (arr, i, e) {
		size_t o2 = path_idx(c, i);
		const char *name;
		size_t o3;
		json_t *value;
		if ((r = expect_object(c, e)) < 0 || (r = get_str(c, e, "name", true, &name)) < 0)
			return r;
		if (!appc_identifier_valid(name)) {
			path_key(c, "name");
			return fail(c, "\"%s\" is not a valid AC identifier", name);
		}
		if ((r = get(c, e, "value", &value, &o3)) < 0)
			return r;
		path_pop(c, o3);
		c->note = name;
		const struct iso_def *def = iso_find(name);
		for (size_t j = 0; j < i; j++) {
			if (strcmp(iso[j].name, name) == 0 && def && !def->multiple)
				return fail(c, "isolator given more than once");
			if (iso_conflict(iso[j].name, name))
				return fail(c, "conflicts with isolators[%zu] (\"%s\")", j, iso[j].name);
		}
		if ((r = iso_check(c, name, value, pod_scope)) < 0)
			return r;
		c->note = NULL;
		iso[i].name = xstrdup(name);
		iso[i].value = value ? json_incref(value) : json_null();
		path_pop(c, o2);
	}
	path_pop(c, old);
	return 0;
}

/* ---- app ------------------------------------------------------------------ */

static int parse_event_handlers(struct ctx *c, json_t *obj, struct appc_app *app)
{
	json_t *arr, *e;
	size_t i;
	int r = get_array(c, obj, "eventHandlers", false, &arr);
	if (r < 0)
		return r;
	size_t n = arr ? json_array_size(arr) : 0;
	app->event_handlers = xcalloc(n ? n : 1, sizeof *app->event_handlers);
	app->n_event_handlers = n;
	size_t old = path_key(c, "eventHandlers");
	json_array_foreach (arr, i, e) {
		struct appc_event_handler *h = &app->event_handlers[i];
		size_t o2 = path_idx(c, i);
		if ((r = expect_object(c, e)) < 0 || (r = get_str_dup(c, e, "name", true, &h->name)) < 0 ||
		    (r = get_strv(c, e, "exec", &h->exec)) < 0)
			return r;
		if (strcmp(h->name, "pre-start") != 0 && strcmp(h->name, "post-stop") != 0)
			return fail(c, "unknown event handler \"%s\" (must be pre-start or post-stop)", h->name);
		for (size_t j = 0; j < i; j++)
			if (strcmp(app->event_handlers[j].name, h->name) == 0)
				return fail(c, "only one \"%s\" event handler is allowed", h->name);
		if (!h->exec[0]) {
			path_key(c, "exec");
			return fail(c, "must not be empty");
		}
		path_pop(c, o2);
	}
	path_pop(c, old);
	return 0;
}

static int parse_mount_point(struct ctx *c, json_t *e, void *elem)
{
	struct appc_mount_point *m = elem;
	int r;
	if ((r = expect_object(c, e)) < 0 || (r = get_str_dup(c, e, "name", true, &m->name)) < 0 ||
	    (r = get_str_dup(c, e, "path", true, &m->path)) < 0 ||
	    (r = get_bool(c, e, "readOnly", &m->read_only, NULL)) < 0)
		return r;
	if (!appc_name_valid(m->name)) {
		path_key(c, "name");
		return fail(c, "\"%s\" is not a valid AC name", m->name);
	}
	return 0;
}

static int parse_mount_points(struct ctx *c, json_t *obj, struct appc_app *app)
{
	return PARSE_ARRAY(c, obj, "mountPoints", app->mount_points, app->n_mount_points,
			   parse_mount_point, NULL, NULL);
}

/* One port object, shared by app ports and a pod port's podPort. */
static int parse_port(struct ctx *c, json_t *e, struct appc_port *p)
{
	json_int_t port = 0, count = 0;
	int r;
	if ((r = expect_object(c, e)) < 0 || (r = get_str_dup(c, e, "name", true, &p->name)) < 0 ||
	    (r = get_str_dup(c, e, "protocol", false, &p->protocol)) < 0 ||
	    (r = get_int(c, e, "port", true, 1, 65535, &port, NULL)) < 0 ||
	    (r = get_int(c, e, "count", false, 0, 65535, &count, NULL)) < 0 ||
	    (r = get_bool(c, e, "socketActivated", &p->socket_activated, NULL)) < 0)
		return r;
	if (!appc_name_valid(p->name)) {
		size_t old = path_key(c, "name");
		r = fail(c, "\"%s\" is not a valid AC name", p->name);
		path_pop(c, old);
		return r;
	}
	if (count == 0)
		count = 1;
	if (port + count > 65536)
		return fail(c, "port range %" JSON_INTEGER_FORMAT "+%" JSON_INTEGER_FORMAT " ends beyond 65535",
			    port, count);
	p->port = (unsigned)port;
	p->count = (unsigned)count;
	return 0;
}

static int parse_app_port(struct ctx *c, json_t *e, void *elem)
{
	return parse_port(c, e, elem);
}

static int parse_ports(struct ctx *c, json_t *obj, struct appc_app *app)
{
	return PARSE_ARRAY(c, obj, "ports", app->ports, app->n_ports, parse_app_port, NULL, NULL);
}

static int parse_gids(struct ctx *c, json_t *obj, struct appc_app *app)
{
	json_t *arr, *e;
	size_t i;
	int r = get_array(c, obj, "supplementaryGIDs", false, &arr);
	if (r < 0)
		return r;
	size_t n = arr ? json_array_size(arr) : 0;
	app->supplementary_gids = xcalloc(n ? n : 1, sizeof *app->supplementary_gids);
	app->n_supplementary_gids = n;
	size_t old = path_key(c, "supplementaryGIDs");
	json_array_foreach (arr, i, e) {
		size_t o2 = path_idx(c, i);
		if (!json_is_integer(e))
			return fail(c, "expected an integer, got %s", json_type_name(e));
		json_int_t g = json_integer_value(e);
		if (g < 0 || g > UINT32_MAX)
			return fail(c, "gid %" JSON_INTEGER_FORMAT " out of range 0..4294967295", g);
		app->supplementary_gids[i] = (uint32_t)g;
		path_pop(c, o2);
	}
	path_pop(c, old);
	return 0;
}

static void app_free(struct appc_app *a)
{
	if (!a)
		return;
	strv_free(a->exec);
	free(a->user);
	free(a->group);
	free(a->supplementary_gids);
	for (size_t i = 0; a->event_handlers && i < a->n_event_handlers; i++) {
		free(a->event_handlers[i].name);
		strv_free(a->event_handlers[i].exec);
	}
	free(a->event_handlers);
	free(a->working_directory);
	for (size_t i = 0; a->environment && i < a->n_environment; i++) {
		free(a->environment[i].name);
		free(a->environment[i].value);
	}
	free(a->environment);
	for (size_t i = 0; a->isolators && i < a->n_isolators; i++) {
		free(a->isolators[i].name);
		json_decref(a->isolators[i].value);
	}
	free(a->isolators);
	for (size_t i = 0; a->mount_points && i < a->n_mount_points; i++) {
		free(a->mount_points[i].name);
		free(a->mount_points[i].path);
	}
	free(a->mount_points);
	for (size_t i = 0; a->ports && i < a->n_ports; i++) {
		free(a->ports[i].name);
		free(a->ports[i].protocol);
	}
	free(a->ports);
	free(a);
}

static int parse_app_fields(struct ctx *c, json_t *o, struct appc_app *app)
{
	int r;
	if ((r = get_strv(c, o, "exec", &app->exec)) < 0 || (r = get_str_dup(c, o, "user", false, &app->user)) < 0 ||
	    (r = get_str_dup(c, o, "group", false, &app->group)) < 0)
		return r;
	if (!app->user || !app->user[0]) {
		path_key(c, "user");
		return fail(c, "is required");
	}
	if (!app->group || !app->group[0]) {
		path_key(c, "group");
		return fail(c, "is required");
	}
	if ((r = parse_gids(c, o, app)) < 0 || (r = parse_event_handlers(c, o, app)) < 0 ||
	    (r = get_str_dup(c, o, "workingDirectory", false, &app->working_directory)) < 0)
		return r;
	if (app->working_directory && !app->working_directory[0]) {
		free(app->working_directory);
		app->working_directory = NULL;
	}
	if (app->working_directory && app->working_directory[0] != '/') {
		path_key(c, "workingDirectory");
		return fail(c, "\"%s\" must be an absolute path", app->working_directory);
	}
	if ((r = parse_kvs(c, o, "environment", KV_ENVIRONMENT, &app->environment, &app->n_environment)) < 0 ||
	    (r = parse_isolators(c, o, false, &app->isolators, &app->n_isolators)) < 0 ||
	    (r = parse_mount_points(c, o, app)) < 0 || (r = parse_ports(c, o, app)) < 0 ||
	    (r = check_string_map(c, o, "userAnnotations")) < 0 || (r = check_string_map(c, o, "userLabels")) < 0)
		return r;
	return 0;
}

/* "app" of an image manifest or a pod app; *ret stays NULL when absent. */
static int parse_app(struct ctx *c, json_t *obj, struct appc_app **ret)
{
	json_t *o;
	int r = get_object(c, obj, "app", false, &o);
	if (r < 0 || !o)
		return r;
	struct appc_app *app = xcalloc(1, sizeof *app);
	*ret = app;
	size_t old = path_key(c, "app");
	if ((r = parse_app_fields(c, o, app)) < 0)
		return r;
	path_pop(c, old);
	return 0;
}

/* ---- image manifest ------------------------------------------------------- */

static void dependency_free(struct appc_dependency *d)
{
	free(d->image_name);
	free(d->image_id);
	for (size_t i = 0; d->labels && i < d->n_labels; i++) {
		free(d->labels[i].name);
		free(d->labels[i].value);
	}
	free(d->labels);
}

static int parse_dependency(struct ctx *c, json_t *e, void *elem)
{
	struct appc_dependency *d = elem;
	json_int_t size = 0;
	int r;
	if ((r = expect_object(c, e)) < 0 || (r = get_str_dup(c, e, "imageName", true, &d->image_name)) < 0 ||
	    (r = get_str_dup(c, e, "imageID", false, &d->image_id)) < 0 ||
	    (r = parse_labels(c, e, "labels", &d->labels, &d->n_labels)) < 0 ||
	    (r = get_int(c, e, "size", false, 0, INT64_MAX, &size, NULL)) < 0)
		return r;
	d->size = (uint64_t)size;
	size_t old = path_key(c, "imageName");
	if (!appc_identifier_valid(d->image_name))
		return fail(c, "\"%s\" is not a valid AC identifier", d->image_name);
	path_pop(c, old);
	old = path_key(c, "imageID");
	if (d->image_id && !appc_hash_valid_ref(d->image_id))
		return fail(c, "\"%s\" is not a sha512-<hex> image ID", d->image_id);
	path_pop(c, old);
	return 0;
}

static int parse_dependencies(struct ctx *c, json_t *obj, struct image_manifest *m)
{
	return PARSE_ARRAY(c, obj, "dependencies", m->dependencies, m->n_dependencies,
			   parse_dependency, NULL, NULL);
}

static int check_kind(struct ctx *c, json_t *root, const char *want)
{
	const char *kind;
	int r = get_str(c, root, "acKind", true, &kind);
	if (r < 0)
		return r;
	if (strcmp(kind, want) != 0) {
		size_t old = path_key(c, "acKind");
		r = fail(c, "\"%s\" is not \"%s\"", kind, want);
		path_pop(c, old);
	}
	return r;
}

static int check_version(struct ctx *c, json_t *root, bool required, char **ret)
{
	int r = get_str_dup(c, root, "acVersion", required, ret);
	if (r < 0 || !*ret)
		return r;
	if (!appc_semver_valid(*ret)) {
		size_t old = path_key(c, "acVersion");
		r = fail(c, "\"%s\" is not a valid SemVer version (X.Y.Z, not 0.0.0)", *ret);
		path_pop(c, old);
	}
	return r;
}

static int load_json(struct ctx *c, const char *data, size_t len, json_t **ret)
{
	if (len > MANIFEST_MAX_BYTES)
		return fail(c, "%zu bytes exceeds the limit of %u bytes", len, MANIFEST_MAX_BYTES);
	json_error_t jerr;
	json_t *root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return fail(c, "invalid JSON at line %d column %d: %s", jerr.line, jerr.column, jerr.text);
	if (!json_is_object(root)) {
		int r = fail(c, "expected a JSON object, got %s", json_type_name(root));
		json_decref(root);
		return r;
	}
	*ret = root;
	return 0;
}

static int image_manifest_fill(struct ctx *c, json_t *root, struct image_manifest *m)
{
	int r;
	if ((r = check_kind(c, root, "ImageManifest")) < 0 || (r = check_version(c, root, true, &m->ac_version)) < 0 ||
	    (r = get_str_dup(c, root, "name", true, &m->name)) < 0)
		return r;
	if (!appc_identifier_valid(m->name)) {
		path_key(c, "name");
		return fail(c, "\"%s\" is not a valid AC identifier", m->name);
	}
	if ((r = parse_labels(c, root, "labels", &m->labels, &m->n_labels)) < 0 || (r = parse_app(c, root, &m->app)) < 0 ||
	    (r = parse_kvs(c, root, "annotations", KV_ANNOTATIONS, &m->annotations, &m->n_annotations)) < 0 ||
	    (r = parse_dependencies(c, root, m)) < 0 || (r = get_strv(c, root, "pathWhitelist", &m->path_whitelist)) < 0)
		return r;
	if (!m->path_whitelist[0]) {
		free(m->path_whitelist);
		m->path_whitelist = NULL;
	}
	return 0;
}

int image_manifest_parse(const char *data, size_t len, struct image_manifest **ret, struct rkt_err *err)
{
	struct ctx c = {.err = err, .doc = "image manifest"};
	json_t *root;
	int r = load_json(&c, data, len, &root);
	if (r < 0)
		return r;
	struct image_manifest *m = xcalloc(1, sizeof *m);
	m->json = root;
	r = image_manifest_fill(&c, root, m);
	if (r < 0) {
		image_manifest_free(m);
		return r;
	}
	*ret = m;
	return 0;
}

static void free_kvs(struct appc_kv *kv, size_t n)
{
	for (size_t i = 0; kv && i < n; i++) {
		free(kv[i].name);
		free(kv[i].value);
	}
	free(kv);
}

static void free_labels(struct appc_label *l, size_t n)
{
	for (size_t i = 0; l && i < n; i++) {
		free(l[i].name);
		free(l[i].value);
	}
	free(l);
}

void image_manifest_free(struct image_manifest *m)
{
	if (!m)
		return;
	free(m->ac_version);
	free(m->name);
	free_labels(m->labels, m->n_labels);
	app_free(m->app);
	free_kvs(m->annotations, m->n_annotations);
	for (size_t i = 0; m->dependencies && i < m->n_dependencies; i++)
		dependency_free(&m->dependencies[i]);
	free(m->dependencies);
	strv_free(m->path_whitelist);
	json_decref(m->json);
	free(m);
}

const char *image_manifest_label(const struct image_manifest *m, const char *name)
{
	return appc_labels_get(m->labels, m->n_labels, name);
}

const char *image_manifest_annotation(const struct image_manifest *m, const char *name)
{
	for (size_t i = 0; i < m->n_annotations; i++)
		if (strcmp(m->annotations[i].name, name) == 0)
			return m->annotations[i].value;
	return NULL;
}

/* ---- pod manifest ------------------------------------------------------- */

static bool mode_valid(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 5)
		return false;
	unsigned v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '7')
			return false;
		v = v * 8 + (unsigned)(s[i] - '0');
	}
	return v <= 07777;
}

static int volume_fail(struct ctx *c, const char *key, const char *msg)
{
	size_t old = path_key(c, key);
	int r = fail(c, "%s", msg);
	path_pop(c, old);
	return r;
}

static int volume_check_kind(struct ctx *c, struct pod_volume *v, bool mode_set, bool uid_set, bool gid_set)
{
	if (strcmp(v->kind, "host") == 0) {
		if (!v->source || !v->source[0])
			return volume_fail(c, "source", "a host volume needs a source");
		if (v->source[0] != '/')
			return volume_fail(c, "source", "the source of a host volume must be an absolute path");
		if (mode_set || uid_set || gid_set)
			return volume_fail(c, mode_set ? "mode" : uid_set ? "uid" : "gid",
					   "must not be set for a host volume");
		return 0;
	}
	if (strcmp(v->kind, "empty") == 0) {
		if (v->source && v->source[0])
			return volume_fail(c, "source", "an empty volume must not have a source");
		if (!v->mode)
			v->mode = xstrdup("0755");
		if (!mode_valid(v->mode))
			return volume_fail(c, "mode", "must be an octal mode such as \"0755\"");
		return 0;
	}
	return volume_fail(c, "kind", "must be \"host\" or \"empty\"");
}

static int parse_volume(struct ctx *c, json_t *e, void *elem)
{
	struct pod_volume *v = elem;
	json_int_t uid = 0, gid = 0;
	bool uid_set, gid_set;
	int r;
	if ((r = expect_object(c, e)) < 0 || (r = get_str_dup(c, e, "name", true, &v->name)) < 0 ||
	    (r = get_str_dup(c, e, "kind", true, &v->kind)) < 0 ||
	    (r = get_str_dup(c, e, "source", false, &v->source)) < 0 ||
	    (r = get_bool(c, e, "readOnly", &v->read_only, &v->read_only_set)) < 0 ||
	    (r = get_bool(c, e, "recursive", &v->recursive, &v->recursive_set)) < 0 ||
	    (r = get_str_dup(c, e, "mode", false, &v->mode)) < 0 ||
	    (r = get_int(c, e, "uid", false, 0, UINT32_MAX - 1, &uid, &uid_set)) < 0 ||
	    (r = get_int(c, e, "gid", false, 0, UINT32_MAX - 1, &gid, &gid_set)) < 0)
		return r;
	if (!appc_name_valid(v->name))
		return volume_fail(c, "name", "is not a valid AC name");
	v->uid = (uint32_t)uid;
	v->gid = (uint32_t)gid;
	return volume_check_kind(c, v, v->mode != NULL, uid_set, gid_set);
}

static void volume_free(struct pod_volume *v)
{
	free(v->name);
	free(v->kind);
	free(v->source);
	free(v->mode);
}

static const char *volume_name(const void *v)
{
	return ((const struct pod_volume *)v)->name;
}

static int parse_volumes(struct ctx *c, json_t *obj, struct pod_manifest *m)
{
	return PARSE_ARRAY(c, obj, "volumes", m->volumes, m->n_volumes, parse_volume, volume_name, "volume");
}

static int parse_app_mounts(struct ctx *c, json_t *obj, struct pod_app *a)
{
	json_t *arr, *e;
	size_t i;
	int r = get_array(c, obj, "mounts", false, &arr);
	if (r < 0)
		return r;
	size_t n = arr ? json_array_size(arr) : 0;
	a->mounts = xcalloc(n ? n : 1, sizeof *a->mounts);
	a->n_mounts = n;
	size_t old = path_key(c, "mounts");
	json_array_foreach (arr, i, e) {
		struct pod_app_mount *mt = &a->mounts[i];
		size_t o2 = path_idx(c, i);
		json_t *appvol;
		if ((r = expect_object(c, e)) < 0 || (r = get_str_dup(c, e, "volume", true, &mt->volume)) < 0 ||
		    (r = get_str_dup(c, e, "path", true, &mt->path)) < 0 ||
		    (r = get_object(c, e, "appVolume", false, &appvol)) < 0)
			return r;
		if (!appc_name_valid(mt->volume))
			return volume_fail(c, "volume", "is not a valid AC name");
		if (!mt->path[0])
			return volume_fail(c, "path", "must not be empty");
		if (appvol) {
			struct pod_volume tmp = {0};
			size_t o3 = path_key(c, "appVolume");
			r = parse_volume(c, appvol, &tmp);
			volume_free(&tmp);
			if (r < 0)
				return r;
			path_pop(c, o3);
		}
		path_pop(c, o2);
	}
	path_pop(c, old);
	return 0;
}

static int parse_app_image(struct ctx *c, json_t *e, struct pod_app *a)
{
	json_t *img;
	int r = get_object(c, e, "image", true, &img);
	if (r < 0)
		return r;
	size_t old = path_key(c, "image");
	if ((r = get_str_dup(c, img, "id", true, &a->image_id)) < 0 ||
	    (r = get_str_dup(c, img, "name", false, &a->image_name)) < 0 ||
	    (r = parse_labels(c, img, "labels", &a->image_labels, &a->n_image_labels)) < 0)
		return r;
	if (!appc_hash_valid_ref(a->image_id))
		return volume_fail(c, "id", "is not a sha512-<hex> image ID");
	if (a->image_name && !appc_identifier_valid(a->image_name))
		return volume_fail(c, "name", "is not a valid AC identifier");
	path_pop(c, old);
	return 0;
}

static int parse_pod_app(struct ctx *c, json_t *e, void *elem)
{
	struct pod_app *a = elem;
	int r;
	if ((r = expect_object(c, e)) < 0 || (r = get_str_dup(c, e, "name", true, &a->name)) < 0)
		return r;
	if (!appc_name_valid(a->name))
		return volume_fail(c, "name", "is not a valid AC name");
	if ((r = parse_app_image(c, e, a)) < 0 || (r = parse_app(c, e, &a->app)) < 0 ||
	    (r = get_bool(c, e, "readOnlyRootFS", &a->read_only_rootfs, NULL)) < 0 ||
	    (r = parse_app_mounts(c, e, a)) < 0 ||
	    (r = parse_kvs(c, e, "annotations", KV_ANNOTATIONS, &a->annotations, &a->n_annotations)) < 0)
		return r;
	return 0;
}

static void pod_app_free(struct pod_app *a)
{
	free(a->name);
	free(a->image_id);
	free(a->image_name);
	free_labels(a->image_labels, a->n_image_labels);
	app_free(a->app);
	for (size_t i = 0; a->mounts && i < a->n_mounts; i++) {
		free(a->mounts[i].volume);
		free(a->mounts[i].path);
	}
	free(a->mounts);
	free_kvs(a->annotations, a->n_annotations);
}

static const char *pod_app_name(const void *a)
{
	return ((const struct pod_app *)a)->name;
}

static int parse_pod_apps(struct ctx *c, json_t *obj, struct pod_manifest *m)
{
	return PARSE_ARRAY(c, obj, "apps", m->apps, m->n_apps, parse_pod_app, pod_app_name, "app");
}

static int parse_pod_port(struct ctx *c, json_t *e, void *elem)
{
	struct pod_port *p = elem;
	json_int_t host_port = 0;
	json_t *pod_port;
	int r;
	if ((r = expect_object(c, e)) < 0 || (r = get_str_dup(c, e, "name", true, &p->name)) < 0 ||
	    (r = get_int(c, e, "hostPort", true, 1, 65535, &host_port, NULL)) < 0 ||
	    (r = get_str_dup(c, e, "hostIP", false, &p->host_ip)) < 0 ||
	    (r = get_object(c, e, "podPort", false, &pod_port)) < 0)
		return r;
	p->host_port = (unsigned)host_port;
	if (!appc_name_valid(p->name))
		return volume_fail(c, "name", "is not a valid AC name");
	struct in_addr a;
	if (p->host_ip && inet_pton(AF_INET, p->host_ip, &a) != 1)
		return volume_fail(c, "hostIP", "is not an IPv4 address");
	if (pod_port) {
		struct appc_port tmp = {0};
		size_t old = path_key(c, "podPort");
		r = parse_port(c, pod_port, &tmp);
		free(tmp.name);
		free(tmp.protocol);
		if (r < 0)
			return r;
		path_pop(c, old);
	}
	return 0;
}

static const char *pod_port_name(const void *p)
{
	return ((const struct pod_port *)p)->name;
}

static int parse_pod_ports(struct ctx *c, json_t *obj, struct pod_manifest *m)
{
	return PARSE_ARRAY(c, obj, "ports", m->ports, m->n_ports, parse_pod_port, pod_port_name, "port");
}

static int pod_manifest_fill(struct ctx *c, json_t *root, struct pod_manifest *m)
{
	int r;
	if ((r = check_kind(c, root, "PodManifest")) < 0 || (r = check_version(c, root, false, &m->ac_version)) < 0 ||
	    (r = parse_pod_apps(c, root, m)) < 0 || (r = parse_volumes(c, root, m)) < 0 ||
	    (r = parse_isolators(c, root, true, &m->isolators, &m->n_isolators)) < 0 ||
	    (r = parse_kvs(c, root, "annotations", KV_ANNOTATIONS, &m->annotations, &m->n_annotations)) < 0 ||
	    (r = parse_pod_ports(c, root, m)) < 0 || (r = check_string_map(c, root, "userAnnotations")) < 0 ||
	    (r = check_string_map(c, root, "userLabels")) < 0)
		return r;
	return 0;
}

int pod_manifest_parse(const char *data, size_t len, struct pod_manifest **ret, struct rkt_err *err)
{
	struct ctx c = {.err = err, .doc = "pod manifest"};
	json_t *root;
	int r = load_json(&c, data, len, &root);
	if (r < 0)
		return r;
	struct pod_manifest *m = xcalloc(1, sizeof *m);
	m->json = root;
	r = pod_manifest_fill(&c, root, m);
	if (r < 0) {
		pod_manifest_free(m);
		return r;
	}
	*ret = m;
	return 0;
}

void pod_manifest_free(struct pod_manifest *m)
{
	if (!m)
		return;
	free(m->ac_version);
	for (size_t i = 0; m->apps && i < m->n_apps; i++)
		pod_app_free(&m->apps[i]);
	free(m->apps);
	for (size_t i = 0; m->volumes && i < m->n_volumes; i++)
		volume_free(&m->volumes[i]);
	free(m->volumes);
	for (size_t i = 0; m->isolators && i < m->n_isolators; i++) {
		free(m->isolators[i].name);
		json_decref(m->isolators[i].value);
	}
	free(m->isolators);
	free_kvs(m->annotations, m->n_annotations);
	for (size_t i = 0; m->ports && i < m->n_ports; i++) {
		free(m->ports[i].name);
		free(m->ports[i].host_ip);
	}
	free(m->ports);
	json_decref(m->json);
	free(m);
}
