/* appc meta discovery (appc-oci.md §6). The page is scanned the way an HTML
 * tokenizer would see it (comments, quoted attribute values containing '>',
 * raw-text elements such as <script>), so text that merely looks like a
 * <meta> tag cannot inject an endpoint. */
#include "discovery.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "http.h"

#define DISCOVERY_PAGE_MAX (2u << 20)

void discovery_result_done(struct discovery_result *r)
{
	if (!r)
		return;
	free(r->aci_url);
	free(r->sig_url);
	strv_free(r->pubkeys);
	r->aci_url = r->sig_url = NULL;
	r->pubkeys = NULL;
}

/* ---- HTML scanning ---------------------------------------------------- */

struct span {
	const char *p;
	size_t n;
};

static bool is_html_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'; }

static bool span_ieq(struct span s, const char *lit)
{
	return strlen(lit) == s.n && strncasecmp(s.p, lit, s.n) == 0;
}

static void put_utf8(char **o, uint32_t cp)
{
	unsigned char *u = (unsigned char *)*o;
	if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		cp = 0xFFFD;
	if (cp < 0x80) {
		*u++ = (unsigned char)cp;
	} else if (cp < 0x800) {
		*u++ = (unsigned char)(0xC0 | (cp >> 6));
		*u++ = (unsigned char)(0x80 | (cp & 0x3F));
	} else if (cp < 0x10000) {
		*u++ = (unsigned char)(0xE0 | (cp >> 12));
		*u++ = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
		*u++ = (unsigned char)(0x80 | (cp & 0x3F));
	} else {
		*u++ = (unsigned char)(0xF0 | (cp >> 18));
		*u++ = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
		*u++ = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
		*u++ = (unsigned char)(0x80 | (cp & 0x3F));
	}
	*o = (char *)u;
}

/* Decodes one character reference at s[0]=='&'; returns bytes consumed
 * (0: not a reference, the '&' is literal). */
static size_t decode_entity(const char *s, size_t n, char **o)
{
	static const struct {
		const char *name;
		uint32_t cp;
	} named[] = { { "amp", '&' }, { "lt", '<' }, { "gt", '>' }, { "quot", '"' }, { "apos", '\'' },
		      { "nbsp", 0xA0 } };
	if (n >= 3 && s[1] == '#') {
		bool hex = s[2] == 'x' || s[2] == 'X';
		size_t i = hex ? 3 : 2;
		uint32_t cp = 0;
		size_t digits = 0;
		for (; i < n; i++, digits++) {
			int d;
			char c = s[i];
			if (c >= '0' && c <= '9')
				d = c - '0';
			else if (hex && isxdigit((unsigned char)c))
				d = (tolower((unsigned char)c) - 'a') + 10;
			else
				break;
			if (cp <= 0x10FFFF)
				cp = cp * (hex ? 16 : 10) + (uint32_t)d;
		}
		if (digits == 0)
			return 0;
		put_utf8(o, cp);
		return i < n && s[i] == ';' ? i + 1 : i;
	}
	for (size_t k = 0; k < sizeof named / sizeof named[0]; k++) {
		size_t l = strlen(named[k].name);
		if (n > l && strncmp(s + 1, named[k].name, l) == 0) {
			bool semi = n > l + 1 && s[l + 1] == ';';
			/* only the legacy ones may omit the ';' */
			if (!semi && (named[k].cp == '\'' || named[k].cp == 0xA0))
				continue;
			put_utf8(o, named[k].cp);
			return l + 1 + (semi ? 1 : 0);
		}
	}
	return 0;
}

static char *decode_value(struct span v)
{
	/* a reference is never shorter than the UTF-8 it decodes to ("&#0"
	 * -> U+FFFD is 3 -> 3 bytes), so v.n + 1 is enough */
	char *out = xmalloc(v.n + 1);
	char *o = out;
	for (size_t i = 0; i < v.n;) {
		if (v.p[i] == '&') {
			size_t used = decode_entity(v.p + i, v.n - i, &o);
			if (used > 0) {
				i += used;
				continue;
			}
		}
		*o++ = v.p[i++];
	}
	*o = '\0';
	return out;
}

struct meta_attrs {
	char *name;
	char *content;
};

/* Parses attributes from p[*j] up to and past the closing '>'. Returns
 * false at end of input inside the tag (an HTML tokenizer drops it). */
static bool scan_attributes(const char *p, size_t len, size_t *j, struct meta_attrs *m)
{
	size_t i = *j;
	for (;;) {
		while (i < len && (is_html_space(p[i]) || p[i] == '/'))
			i++;
		if (i >= len)
			return false;
		if (p[i] == '>') {
			*j = i + 1;
			return true;
		}
		struct span key = { p + i, 0 };
		while (i < len && !is_html_space(p[i]) && p[i] != '/' && p[i] != '>' &&
		       (p[i] != '=' || key.n == 0)) {
			i++;
			key.n++;
		}
		while (i < len && is_html_space(p[i]))
			i++;
		struct span val = { "", 0 };
		if (i < len && p[i] == '=') {
			i++;
			while (i < len && is_html_space(p[i]))
				i++;
			if (i >= len)
				return false;
			if (p[i] == '"' || p[i] == '\'') {
				char q = p[i++];
				const char *end = memchr(p + i, q, len - i);
				if (!end)
					return false;
				val = (struct span){ p + i, (size_t)(end - (p + i)) };
				i = (size_t)(end - p) + 1;
			} else {
				val.p = p + i;
				while (i < len && !is_html_space(p[i]) && p[i] != '>') {
					i++;
					val.n++;
				}
			}
		}
		/* Later duplicates win, as in the reference implementation. */
		char **slot = m ? (span_ieq(key, "name") ? &m->name
				   : span_ieq(key, "content") ? &m->content
							      : NULL)
				: NULL;
		if (slot) {
			free(*slot);
			*slot = decode_value(val);
		}
	}
}

static const char *find_ci(const char *p, size_t len, const char *needle)
{
	size_t nl = strlen(needle);
	for (size_t i = 0; i + nl <= len; i++)
		if (strncasecmp(p + i, needle, nl) == 0)
			return p + i;
	return NULL;
}

/* After <script>, <style>, ... everything up to the matching end tag is text. */
static size_t skip_raw_text(const char *p, size_t len, size_t i, struct span tag)
{
	char end[32];
	if (tag.n + 3 > sizeof end)
		return len;
	snprintf(end, sizeof end, "</%.*s", (int)tag.n, tag.p);
	while (i < len) {
		const char *e = find_ci(p + i, len - i, end);
		if (!e)
			return len;
		size_t k = (size_t)(e - p) + tag.n + 2;
		if (k >= len || is_html_space(p[k]) || p[k] == '/' || p[k] == '>')
			return (size_t)(e - p);
		i = k;
	}
	return len;
}

static bool is_raw_text_tag(struct span tag)
{
	static const char *raw[] = { "script", "style", "textarea", "title", "xmp", "iframe",
				     "noembed", "noframes", "plaintext" };
	for (size_t k = 0; k < sizeof raw / sizeof raw[0]; k++)
		if (span_ieq(tag, raw[k]))
			return true;
	return false;
}

typedef void (*meta_fn)(void *ctx, const char *name, const char *content);

static void scan_metas(const char *p, size_t len, meta_fn fn, void *ctx)
{
	size_t i = 0;
	while (i < len) {
		const char *lt = memchr(p + i, '<', len - i);
		if (!lt)
			return;
		i = (size_t)(lt - p);
		if (len - i >= 4 && memcmp(p + i, "<!--", 4) == 0) {
			const char *e = find_ci(p + i + 4, len - i - 4, "-->");
			i = e ? (size_t)(e - p) + 3 : len;
			continue;
		}
		if (i + 1 < len && (p[i + 1] == '!' || p[i + 1] == '?')) {
			const char *gt = memchr(p + i, '>', len - i);
			i = gt ? (size_t)(gt - p) + 1 : len;
			continue;
		}
		size_t j = i + 1;
		bool closing = j < len && p[j] == '/';
		if (closing)
			j++;
		if (j >= len || !isalpha((unsigned char)p[j])) {
			i++;
			continue;
		}
		struct span tag = { p + j, 0 };
		while (j < len && !is_html_space(p[j]) && p[j] != '/' && p[j] != '>') {
			j++;
			tag.n++;
		}
		bool meta = !closing && span_ieq(tag, "meta");
		struct meta_attrs m = { 0 };
		bool complete = scan_attributes(p, len, &j, meta ? &m : NULL);
		if (complete && meta && m.name && m.content)
			fn(ctx, m.name, m.content);
		free(m.name);
		free(m.content);
		if (!complete)
			return;
		i = j;
		if (!closing && is_raw_text_tag(tag))
			i = skip_raw_text(p, len, i, tag);
	}
}

/* ---- templates and endpoints ------------------------------------------ */

static const char *template_var(const struct appc_image_ref *ref, const char *ext, const char *var,
				size_t n)
{
	if (n == 4 && strncmp(var, "name", 4) == 0)
		return ref->name;
	if (n == 3 && strncmp(var, "ext", 3) == 0)
		return ext;
	for (size_t k = 0; k < ref->n_labels; k++)
		if (strlen(ref->labels[k].name) == n && strncmp(ref->labels[k].name, var, n) == 0)
			return ref->labels[k].value;
	if (n == 7 && strncmp(var, "version", 7) == 0)
		return "latest";
	return NULL;
}

char *discovery_fill_template(const char *tmpl, const struct appc_image_ref *ref, const char *ext)
{
	size_t cap = strlen(tmpl) + 1, len = 0;
	char *out = xmalloc(cap);
	for (const char *s = tmpl; *s;) {
		const char *add = s;
		size_t addn = 1;
		if (*s == '{') {
			const char *close = strchr(s + 1, '}');
			const char *inner_open = close ? memchr(s + 1, '{', (size_t)(close - s - 1)) : NULL;
			if (close && !inner_open) {
				add = template_var(ref, ext, s + 1, (size_t)(close - s - 1));
				if (!add) {
					free(out);
					return NULL;
				}
				addn = strlen(add);
				s = close + 1;
			} else {
				s++;
			}
		} else {
			s++;
		}
		if (len + addn + 1 > cap) {
			cap = (len + addn + 1) * 2;
			out = xrealloc(out, cap);
		}
		memcpy(out + len, add, addn);
		len += addn;
	}
	out[len] = '\0';
	return out;
}

struct parse_ctx {
	const struct appc_image_ref *ref;
	struct discovery_result *res;
};

/* content is "<prefix> <url>": exactly two whitespace-separated fields. */
static bool split_content(const char *content, char **ret_prefix, char **ret_url)
{
	const char *f[3];
	size_t fl[3], nf = 0;
	const char *s = content;
	while (*s) {
		while (*s && isspace((unsigned char)*s))
			s++;
		if (!*s)
			break;
		if (nf == 3)
			return false;
		f[nf] = s;
		while (*s && !isspace((unsigned char)*s))
			s++;
		fl[nf] = (size_t)(s - f[nf]);
		nf++;
	}
	if (nf != 2)
		return false;
	*ret_prefix = xstrndup(f[0], fl[0]);
	*ret_url = xstrndup(f[1], fl[1]);
	return true;
}

static void on_meta(void *ud, const char *name, const char *content)
{
	struct parse_ctx *c = ud;
	bool endpoint = strcmp(name, "ac-discovery") == 0;
	bool pubkeys = strcmp(name, "ac-discovery-pubkeys") == 0;
	if (!endpoint && !pubkeys)
		return;
	_cleanup_free_ char *prefix = NULL, *url = NULL;
	if (!split_content(content, &prefix, &url))
		return;
	if (!str_has_prefix(c->ref->name, prefix))
		return;
	if (pubkeys) {
		c->res->pubkeys = strv_append(c->res->pubkeys, url);
		return;
	}
	if (c->res->aci_url)
		return; /* the first usable endpoint is the one rkt uses */
	char *aci = discovery_fill_template(url, c->ref, "aci");
	char *sig = discovery_fill_template(url, c->ref, "aci.asc");
	if (aci && sig) {
		c->res->aci_url = aci;
		c->res->sig_url = sig;
		return;
	}
	free(aci);
	free(sig);
}

int discovery_parse_page(const char *html, size_t len, const struct appc_image_ref *ref,
			 struct discovery_result *ret, struct rkt_err *err)
{
	if (!ref || !ref->name)
		return rkt_error(err, EINVAL, "discovery: no image name given");
	struct discovery_result res = { 0 };
	struct parse_ctx c = { ref, &res };
	scan_metas(html, len, on_meta, &c);
	*ret = res;
	return 0;
}

static bool result_usable(const struct discovery_result *r, bool want_pubkeys)
{
	return want_pubkeys ? r->pubkeys && r->pubkeys[0] : r->aci_url != NULL;
}

/* One prefix: https first; plain http only as a fallback the user allowed. */
static int discover_prefix(const char *prefix, const struct appc_image_ref *ref, bool want_pubkeys,
			   bool insecure_tls, bool allow_http, struct discovery_result *ret,
			   struct rkt_err *last_err)
{
	static const char *schemes[] = { "https", "http" };
	for (size_t k = 0; k < (allow_http ? 2u : 1u); k++) {
		_cleanup_free_ char *url = xasprintf("%s://%s?ac-discovery=1", schemes[k], prefix);
		_cleanup_free_ char *body = NULL;
		size_t len = 0;
		long status = 0;
		struct rkt_err e = { 0 };
		int r = http_get_memory(url, insecure_tls, allow_http, DISCOVERY_PAGE_MAX, &body, &len,
					&status, &e);
		if (r < 0) {
			*last_err = e;
			continue;
		}
		if (status != 200) {
			rkt_error(last_err, EIO, "GET %s: HTTP status %ld", url, status);
			continue;
		}
		struct discovery_result res = { 0 };
		r = discovery_parse_page(body, len, ref, &res, last_err);
		if (r < 0)
			return r;
		if (result_usable(&res, want_pubkeys)) {
			*ret = res;
			return 1;
		}
		discovery_result_done(&res);
		return 0;
	}
	return 0;
}

int discovery_discover(const struct appc_image_ref *ref, bool want_pubkeys, bool insecure_tls,
		       bool allow_http, struct discovery_result *ret, struct rkt_err *err)
{
	if (!ref || !ref->name || !*ref->name)
		return rkt_error(err, EINVAL, "discovery: no image name given");
	_cleanup_free_ char *prefix = xstrdup(ref->name);
	struct rkt_err last = { 0 };
	for (;;) {
		int r = discover_prefix(prefix, ref, want_pubkeys, insecure_tls, allow_http, ret, &last);
		if (r < 0)
			return rkt_error(err, -r, "meta discovery on %s: %s", ref->name, last.msg);
		if (r > 0)
			return 0;
		char *slash = strrchr(prefix, '/');
		if (!slash)
			break;
		*slash = '\0';
	}
	if (last.msg[0])
		return rkt_error(err, ENOENT, "meta discovery on %s found no %s (last error: %s)",
				 ref->name, want_pubkeys ? "public keys" : "ACI endpoint", last.msg);
	return rkt_error(err, ENOENT, "meta discovery on %s found no %s", ref->name,
			 want_pubkeys ? "public keys" : "ACI endpoint");
}
