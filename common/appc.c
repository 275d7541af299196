/* appc types (reference/appc-oci.md §2). Identifiers follow the appc Go
 * code's rule rather than the spec regex: the spec's own example
 * "example.com/~user/app_v1" only passes the former. */
#include "appc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "util.h"

static bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
static bool is_digit(char c) { return c >= '0' && c <= '9'; }
static bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static bool is_hex_lower(char c) { return is_digit(c) || (c >= 'a' && c <= 'f'); }

bool appc_identifier_valid(const char *s)
{
	if (!s || !*s)
		return false;
	size_t n = strlen(s);
	if (!is_lower_alnum(s[0]) || !is_lower_alnum(s[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_lower_alnum(s[i]) && !strchr("._~/-", s[i]))
			return false;
	return true;
}

bool appc_name_valid(const char *s)
{
	if (!s || !*s)
		return false;
	size_t n = strlen(s);
	if (s[0] == '-' || s[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_lower_alnum(s[i]) && s[i] != '-')
			return false;
	return true;
}

/* A numeric SemVer identifier: digits, no leading zero unless "0". */
static bool semver_numeric(const char *s, size_t n, uint64_t *ret)
{
	if (n == 0 || n > 18)
		return false;
	if (n > 1 && s[0] == '0')
		return false;
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++) {
		if (!is_digit(s[i]))
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (ret)
		*ret = v;
	return true;
}

/* Dot-separated identifiers of [0-9A-Za-z-]; numeric ones in a pre-release
 * must not have leading zeros. */
static bool semver_idents(const char *s, size_t n, bool prerelease)
{
	size_t start = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && s[i] != '.') {
			if (!is_alpha(s[i]) && !is_digit(s[i]) && s[i] != '-')
				return false;
			continue;
		}
		size_t len = i - start;
		if (len == 0)
			return false;
		bool numeric = true;
		for (size_t j = start; j < i; j++)
			if (!is_digit(s[j]))
				numeric = false;
		if (prerelease && numeric && len > 1 && s[start] == '0')
			return false;
		start = i + 1;
	}
	return true;
}

bool appc_semver_valid(const char *s)
{
	if (!s || !*s)
		return false;
	size_t n = strlen(s);
	const char *plus = memchr(s, '+', n);
	size_t core_pre = plus ? (size_t)(plus - s) : n;
	if (plus && !semver_idents(plus + 1, n - core_pre - 1, false))
		return false;
	const char *dash = memchr(s, '-', core_pre);
	size_t core = dash ? (size_t)(dash - s) : core_pre;
	if (dash && !semver_idents(dash + 1, core_pre - core - 1, true))
		return false;

	uint64_t part[3];
	size_t start = 0, k = 0;
	for (size_t i = 0; i <= core; i++) {
		if (i < core && s[i] != '.')
			continue;
		if (k == 3 || !semver_numeric(s + start, i - start, &part[k]))
			return false;
		k++;
		start = i + 1;
	}
	if (k != 3)
		return false;
	/* The reference refuses the zero version as "unset". */
	return part[0] || part[1] || part[2];
}

bool appc_env_name_valid(const char *s)
{
	if (!s || !*s)
		return false;
	if (!is_alpha(s[0]) && s[0] != '_')
		return false;
	for (const char *p = s + 1; *p; p++)
		if (!is_alpha(*p) && !is_digit(*p) && !strchr("_.-", *p))
			return false;
	return true;
}

struct os_archs {
	const char *os;
	const char *const *archs;
};

static const char *const linux_archs[] = {"amd64", "i386",  "aarch64", "aarch64_be", "armv6l", "armv7l",
					  "armv7b", "ppc64", "ppc64le", "s390x",      NULL};
static const char *const freebsd_archs[] = {"amd64", "i386", "arm", NULL};
static const char *const darwin_archs[] = {"x86_64", "i386", NULL};

/* types.ValidOSArch of the appc Go code: what a manifest may declare. */
static const struct os_archs spec_table[] = {
	{"linux", linux_archs},
	{"freebsd", freebsd_archs},
	{"darwin", darwin_archs},
	{NULL, NULL},
};
/* rkt only runs linux images. */
static const struct os_archs rkt_table[] = {
	{"linux", linux_archs},
	{NULL, NULL},
};

static void join_list(char *buf, size_t len, const char *const *items, size_t stride)
{
	size_t off = 0;
	buf[0] = '\0';
	for (const char *const *p = items; *p; p = (const char *const *)((const char *)p + stride)) {
		int n = snprintf(buf + off, len - off, "%s%s", off ? " " : "", *p);
		if (n < 0 || (size_t)n >= len - off)
			break;
		off += (size_t)n;
	}
}

static int os_arch_check_table(const struct os_archs *table, const char *os, const char *arch,
			       struct rkt_err *err)
{
	char list[256];
	if (!os)
		return 0;
	const struct os_archs *e = table;
	for (; e->os; e++)
		if (strcmp(e->os, os) == 0)
			break;
	if (!e->os) {
		join_list(list, sizeof list, &table[0].os, sizeof table[0]);
		return rkt_error(err, EINVAL, "bad os \"%s\" (must be one of: %s)", os, list);
	}
	if (!arch)
		return 0;
	for (const char *const *a = e->archs; *a; a++)
		if (strcmp(*a, arch) == 0)
			return 0;
	join_list(list, sizeof list, e->archs, sizeof e->archs[0]);
	return rkt_error(err, EINVAL, "bad arch \"%s\" for %s (must be one of: %s)", arch, os, list);
}

int appc_os_arch_check(const char *os, const char *arch, struct rkt_err *err)
{
	return os_arch_check_table(rkt_table, os, arch, err);
}

int appc_os_arch_check_spec(const char *os, const char *arch, struct rkt_err *err)
{
	return os_arch_check_table(spec_table, os, arch, err);
}

const char *appc_host_os(void) { return "linux"; }

const char *appc_host_arch(void)
{
#if defined(__x86_64__)
	return "amd64";
#elif defined(__i386__)
	return "i386";
#elif defined(__aarch64__) && defined(__AARCH64EB__)
	return "aarch64_be";
#elif defined(__aarch64__)
	return "aarch64";
#elif defined(__arm__) && defined(__ARMEB__)
	return "armv7b";
#elif defined(__arm__) && defined(__ARM_ARCH_7A__)
	return "armv7l";
#elif defined(__arm__)
	return "armv6l";
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return "ppc64le";
#elif defined(__powerpc64__)
	return "ppc64";
#elif defined(__s390x__)
	return "s390x";
#else
#error "unsupported host architecture"
#endif
}

/* ---- quantities ------------------------------------------------------- */

struct suffix {
	const char *s;
	int dec_exp;  /* power of ten */
	int bin_exp;  /* power of 1024 */
};

static const struct suffix suffixes[] = {
	{"", 0, 0},   {"n", -9, 0}, {"u", -6, 0}, {"m", -3, 0}, {"k", 3, 0},   {"M", 6, 0},
	{"G", 9, 0},  {"T", 12, 0}, {"P", 15, 0}, {"E", 18, 0}, {"Ki", 0, 1}, {"Mi", 0, 2},
	{"Gi", 0, 3}, {"Ti", 0, 4}, {"Pi", 0, 5}, {"Ei", 0, 6},
};

static int parse_suffix(const char *s, int *dec_exp, int *bin_exp)
{
	for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++)
		if (strcmp(s, suffixes[i].s) == 0) {
			*dec_exp = suffixes[i].dec_exp;
			*bin_exp = suffixes[i].bin_exp;
			return 0;
		}
	/* Decimal exponent form: e<int> / E<int>. */
	if (s[0] != 'e' && s[0] != 'E')
		return -EINVAL;
	const char *p = s + 1;
	bool neg = false;
	if (*p == '+' || *p == '-')
		neg = *p++ == '-';
	if (!*p)
		return -EINVAL;
	int v = 0;
	for (; *p; p++) {
		if (!is_digit(*p) || v > 1000)
			return -EINVAL;
		v = v * 10 + (*p - '0');
	}
	*dec_exp = neg ? -v : v;
	*bin_exp = 0;
	return 0;
}

int appc_quantity_parse_milli(const char *s, int64_t *ret_milli)
{
	if (!s || !*s)
		return -EINVAL;
	const char *p = s;
	bool neg = false;
	if (*p == '+' || *p == '-')
		neg = *p++ == '-';

	__int128 mant = 0;
	int frac_digits = 0, digits = 0;
	bool seen_dot = false;
	for (; is_digit(*p) || *p == '.'; p++) {
		if (*p == '.') {
			if (seen_dot)
				return -EINVAL;
			seen_dot = true;
			continue;
		}
		digits++;
		if (mant == 0 && *p == '0' && !seen_dot)
			continue;
		if (mant > (__int128)1 << 100)
			return -ERANGE;
		mant = mant * 10 + (*p - '0');
		if (seen_dot)
			frac_digits++;
	}
	if (digits == 0)
		return -EINVAL;
	int dec_exp, bin_exp;
	if (parse_suffix(p, &dec_exp, &bin_exp) < 0)
		return -EINVAL;

	const __int128 limit = INT64_MAX;
	for (int i = 0; i < bin_exp * 10 && mant; i++) {
		mant *= 2;
		if (mant > limit * 1000)
			return -ERANGE;
	}
	int exp10 = 3 + dec_exp - frac_digits;
	if (exp10 >= 0) {
		for (int i = 0; i < exp10 && mant; i++) {
			mant *= 10;
			if (mant > limit)
				return -ERANGE;
		}
	} else {
		/* Below a milli-unit rounds up, as Kubernetes' MilliValue does. */
		__int128 div = 1;
		bool tiny = false;
		for (int i = 0; i < -exp10; i++) {
			if (div > mant) {
				tiny = true;
				break;
			}
			div *= 10;
		}
		mant = tiny ? (mant ? 1 : 0) : (mant + div - 1) / div;
	}
	if (mant > limit)
		return -ERANGE;
	*ret_milli = neg ? -(int64_t)mant : (int64_t)mant;
	return 0;
}

/* ---- image IDs -------------------------------------------------------- */

bool appc_is_hash(const char *s)
{
	if (!s || strncmp(s, APPC_ID_PREFIX, strlen(APPC_ID_PREFIX)) != 0)
		return false;
	const char *h = s + strlen(APPC_ID_PREFIX);
	size_t n = strlen(h);
	if (n < 2 || n > 128)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_hex_lower(h[i]))
			return false;
	return true;
}

int appc_id_to_key_prefix(const char *s, char ret[APPC_KEY_LEN + 1])
{
	if (!appc_is_hash(s))
		return -EINVAL;
	size_t n = strlen(s);
	if (n > APPC_KEY_LEN)
		n = APPC_KEY_LEN;
	memcpy(ret, s, n);
	ret[n] = '\0';
	return 0;
}

bool appc_hash_valid_ref(const char *s)
{
	if (!s)
		return false;
	const char *dash = strchr(s, '-');
	if (!dash || strchr(dash + 1, '-'))
		return false;
	return (size_t)(dash - s) == 6 && strncmp(s, "sha512", 6) == 0 && dash[1] != '\0';
}

/* ---- image references -------------------------------------------------- */

const char *appc_labels_get(const struct appc_label *labels, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(labels[i].name, name) == 0)
			return labels[i].value;
	return NULL;
}

void appc_image_ref_done(struct appc_image_ref *ref)
{
	if (!ref)
		return;
	free(ref->name);
	for (size_t i = 0; i < ref->n_labels; i++) {
		free(ref->labels[i].name);
		free(ref->labels[i].value);
	}
	free(ref->labels);
	ref->name = NULL;
	ref->labels = NULL;
	ref->n_labels = 0;
}

static void ref_add_label(struct appc_image_ref *ref, const char *name, size_t name_len, const char *value,
			  size_t value_len)
{
	ref->labels = xrealloc(ref->labels, (ref->n_labels + 1) * sizeof ref->labels[0]);
	ref->labels[ref->n_labels].name = xstrndup(name, name_len);
	ref->labels[ref->n_labels].value = xstrndup(value, value_len);
	ref->n_labels++;
}

/* Orders the well-known labels first so callers and messages are stable. */
static void ref_sort_labels(struct appc_image_ref *ref)
{
	static const char *const order[] = {"version", "os", "arch"};
	size_t pos = 0;
	for (size_t k = 0; k < 3; k++)
		for (size_t i = pos; i < ref->n_labels; i++)
			if (strcmp(ref->labels[i].name, order[k]) == 0) {
				struct appc_label l = ref->labels[i];
				memmove(&ref->labels[pos + 1], &ref->labels[pos], (i - pos) * sizeof l);
				ref->labels[pos++] = l;
				break;
			}
}

static int ref_parse_label(struct appc_image_ref *ref, const char *s, const char *part, size_t len,
			   struct rkt_err *err)
{
	const char *eq = memchr(part, '=', len);
	if (!eq)
		return rkt_error(err, EINVAL, "malformed image name \"%s\": label \"%.*s\" has no value", s,
				 (int)len, part);
	size_t nlen = (size_t)(eq - part);
	_cleanup_free_ char *name = xstrndup(part, nlen);
	if (strcmp(name, "name") == 0)
		return rkt_error(err, EINVAL, "malformed image name \"%s\": \"name\" cannot be a label", s);
	if (!appc_identifier_valid(name))
		return rkt_error(err, EINVAL, "malformed image name \"%s\": label name \"%s\" is not a valid AC identifier",
				 s, name);
	if (appc_labels_get(ref->labels, ref->n_labels, name))
		return rkt_error(err, EINVAL, "malformed image name \"%s\": label \"%s\" given more than once", s, name);
	ref_add_label(ref, part, nlen, eq + 1, len - nlen - 1);
	return 0;
}

int appc_image_ref_parse(const char *s, bool add_host_os_arch, struct appc_image_ref *ret,
			 struct rkt_err *err)
{
	struct appc_image_ref ref = {0};
	int r;

	const char *comma = strchr(s, ',');
	const char *colon = strchr(s, ':');
	if (colon && strchr(colon + 1, ':'))
		return rkt_error(err, EINVAL, "malformed image name \"%s\": ':' may appear at most once", s);
	if (colon && comma && colon > comma)
		return rkt_error(err, EINVAL, "malformed image name \"%s\": ':' may appear only right after the name",
				 s);

	size_t name_end = strcspn(s, ":,");
	ref.name = xstrndup(s, name_end);
	if (!appc_identifier_valid(ref.name)) {
		r = rkt_error(err, EINVAL, "bad image name \"%s\": \"%s\" is not a valid AC identifier", s, ref.name);
		goto fail;
	}
	if (colon) {
		size_t vlen = strcspn(colon + 1, ",");
		ref_add_label(&ref, "version", 7, colon + 1, vlen);
	}
	for (const char *part = comma; part;) {
		part++;
		const char *next = strchr(part, ',');
		size_t len = next ? (size_t)(next - part) : strlen(part);
		r = ref_parse_label(&ref, s, part, len, err);
		if (r < 0)
			goto fail;
		part = next;
	}
	if (add_host_os_arch) {
		if (!appc_labels_get(ref.labels, ref.n_labels, "os"))
			ref_add_label(&ref, "os", 2, appc_host_os(), strlen(appc_host_os()));
		if (!appc_labels_get(ref.labels, ref.n_labels, "arch"))
			ref_add_label(&ref, "arch", 4, appc_host_arch(), strlen(appc_host_arch()));
	}
	ref_sort_labels(&ref);
	*ret = ref;
	return 0;
fail:
	appc_image_ref_done(&ref);
	return r;
}
