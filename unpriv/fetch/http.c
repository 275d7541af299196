/* libcurl easy-API transfers. Every request: TLS verified unless the caller
 * says otherwise, only the schemes the caller allows (also across
 * redirects, so an https URL cannot be bounced to plain http), at most 10
 * redirects, auth.d headers for the URL's host, and the body streamed to an
 * fd (images) or into a bounded buffer (pages, keys). */
#include "http.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "progress.h"
#include "unpriv/config/auth.h"

#define HTTP_MAX_REDIRS 10L
#define HTTP_CONNECT_TIMEOUT_S 30L
/* A transfer that stays below 1 byte/s for this long is abandoned. */
#define HTTP_LOW_SPEED_TIME_S 60L
#define HTTP_USER_AGENT "rkt/" RKT_VERSION

struct xfer {
	CURL *curl;
	const char *url;
	int out_fd;
	bool to_mem;
	char *mem;
	size_t mem_len, mem_cap, max_bytes;
	off_t resume_from;
	bool started, resumed, too_big;
	int write_errno;
	uint64_t written;
	char *etag;
	int64_t max_age_s;
	struct progress prog;
	http_headers_fn on_headers;
	void *hook_ctx;
};

void http_result_done(struct http_result *r)
{
	if (!r)
		return;
	free(r->etag);
	free(r->effective_url);
	r->etag = NULL;
	r->effective_url = NULL;
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;
static void curl_init(void) { curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT); }

static bool body_status(long code) { return code == 200 || code == 206; }

static long response_code(struct xfer *x)
{
	long code = 0;
	curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &code);
	return code;
}

/* "  value \r\n" -> "value" (heap). */
static char *header_value(const char *p, size_t n)
{
	while (n > 0 && (*p == ' ' || *p == '\t')) {
		p++;
		n--;
	}
	while (n > 0 && (p[n - 1] == '\r' || p[n - 1] == '\n' || p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	return xstrndup(p, n);
}

static int64_t parse_max_age(const char *v)
{
	/* Cache-Control directives are comma separated; no-store/no-cache mean
	 * nothing may be reused without asking. */
	int64_t age = -1;
	_cleanup_free_ char *copy = xstrdup(v);
	char *save = NULL;
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		while (*tok == ' ' || *tok == '\t')
			tok++;
		if (strncasecmp(tok, "no-store", 8) == 0 || strncasecmp(tok, "no-cache", 8) == 0)
			return 0;
		if (strncasecmp(tok, "max-age=", 8) == 0) {
			const char *d = tok + 8;
			if (*d == '"')
				d++;
			if (!isdigit((unsigned char)*d))
				continue;
			char *end;
			errno = 0;
			long long n = strtoll(d, &end, 10);
			if (errno == 0 && n >= 0)
				age = n;
		}
	}
	return age;
}

static size_t on_header(char *buf, size_t size, size_t nitems, void *ud)
{
	struct xfer *x = ud;
	size_t n = size * nitems;
	if (n >= 5 && strncmp(buf, "HTTP/", 5) == 0) {
		/* a new response (after a redirect): forget the previous one's */
		free(x->etag);
		x->etag = NULL;
		x->max_age_s = -1;
		return n;
	}
	const char *colon = memchr(buf, ':', n);
	if (!colon)
		return n;
	size_t klen = (size_t)(colon - buf);
	const char *v = colon + 1;
	size_t vlen = n - klen - 1;
	if (klen == 4 && strncasecmp(buf, "etag", 4) == 0) {
		free(x->etag);
		x->etag = header_value(v, vlen);
		if (!*x->etag) {
			free(x->etag);
			x->etag = NULL;
		}
	} else if (klen == 13 && strncasecmp(buf, "cache-control", 13) == 0) {
		_cleanup_free_ char *cc = header_value(v, vlen);
		x->max_age_s = parse_max_age(cc);
	}
	return n;
}

static int body_start(struct xfer *x, long code)
{
	x->started = true;
	if (x->on_headers)
		x->on_headers(x->hook_ctx, code, x->etag);
	if (x->to_mem || x->resume_from <= 0)
		return 0;
	if (code == 206) {
		x->resumed = true;
		return 0;
	}
	/* The server ignored Range: start the file over. */
	if (ftruncate(x->out_fd, 0) < 0 || lseek(x->out_fd, 0, SEEK_SET) < 0)
		return -errno;
	return 0;
}

static size_t on_body(char *buf, size_t size, size_t nmemb, void *ud)
{
	struct xfer *x = ud;
	size_t n = size * nmemb;
	long code = response_code(x);
	if (!body_status(code))
		return n; /* error pages and 202 bodies are not the resource */
	if (!x->started) {
		int r = body_start(x, code);
		if (r < 0) {
			x->write_errno = -r;
			return 0;
		}
	}
	if (x->max_bytes > 0 && x->written + n > x->max_bytes) {
		x->too_big = true;
		return 0;
	}
	if (x->to_mem) {
		if (x->mem_len + n + 1 > x->mem_cap) {
			size_t cap = x->mem_cap ? x->mem_cap : 16384;
			while (cap < x->mem_len + n + 1)
				cap *= 2;
			x->mem = xrealloc(x->mem, cap);
			x->mem_cap = cap;
		}
		memcpy(x->mem + x->mem_len, buf, n);
		x->mem_len += n;
		x->mem[x->mem_len] = '\0';
	} else {
		int r = write_all(x->out_fd, buf, n);
		if (r < 0) {
			x->write_errno = -r;
			return 0;
		}
	}
	x->written += n;
	return n;
}

static int on_xferinfo(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		       curl_off_t ulnow)
{
	struct xfer *x = ud;
	(void)ultotal;
	(void)ulnow;
	if (!x->prog.enabled || !body_status(response_code(x)))
		return 0;
	uint64_t base = x->resumed ? (uint64_t)x->resume_from : 0;
	progress_update(&x->prog, base + (uint64_t)dlnow, dltotal > 0 ? base + (uint64_t)dltotal : 0);
	return 0;
}

/* Checks the scheme against what the caller allows and returns the host. */
static int check_url(const char *url, bool allow_http, char **ret_host, struct rkt_err *err);

int http_check_url(const char *url, bool allow_http, struct rkt_err *err)
{
	_cleanup_free_ char *host = NULL;
	return check_url(url, allow_http, &host, err);
}

static int check_url(const char *url, bool allow_http, char **ret_host, struct rkt_err *err)
{
	CURLU *h = curl_url();
	if (!h)
		return rkt_error(err, ENOMEM, "parsing URL \"%s\": out of memory", url);
	char *scheme = NULL, *host = NULL;
	int r = 0;
	if (curl_url_set(h, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(h, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(h, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		r = rkt_error(err, EINVAL, "invalid URL \"%s\"", url);
		goto out;
	}
	if (strcasecmp(scheme, "http") == 0) {
		if (!allow_http) {
			r = rkt_error(err, EPERM,
				      "refusing to fetch \"%s\" over plain HTTP (--insecure-options=http allows it)",
				      url);
			goto out;
		}
	} else if (strcasecmp(scheme, "https") != 0) {
		r = rkt_error(err, EPROTONOSUPPORT, "unsupported URL scheme \"%s\" in \"%s\"", scheme, url);
		goto out;
	}
	*ret_host = xstrdup(host);
out:
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(h);
	return r;
}

static int build_headers(const char *host, const char *if_none_match, const char *if_range,
			 struct curl_slist **ret, struct rkt_err *err)
{
	_cleanup_strv_ char **auth = NULL;
	int r = config_auth_headers(host, &auth, err);
	if (r < 0)
		return r;
	struct curl_slist *l = NULL;
	for (char **a = auth; a && *a; a++)
		l = curl_slist_append(l, *a);
	if (if_none_match) {
		_cleanup_free_ char *h = xasprintf("If-None-Match: %s", if_none_match);
		l = curl_slist_append(l, h);
	}
	if (if_range) {
		_cleanup_free_ char *h = xasprintf("If-Range: %s", if_range);
		l = curl_slist_append(l, h);
	}
	*ret = l;
	return 0;
}

static int curl_failure(struct xfer *x, CURLcode rc, const char *errbuf, struct rkt_err *err)
{
	if (x->too_big)
		return rkt_error(err, EFBIG, "response from \"%s\" is larger than %zu bytes", x->url,
				 x->max_bytes);
	if (x->write_errno)
		return rkt_error_errno(err, x->write_errno, "saving the download of \"%s\"", x->url);
	if (rc == CURLE_UNSUPPORTED_PROTOCOL)
		return rkt_error(err, EPERM,
				 "GET %s: refusing a redirect to a disallowed scheme (plain HTTP needs --insecure-options=http)",
				 x->url);
	if (rc == CURLE_PEER_FAILED_VERIFICATION)
		return rkt_error(err, EPERM, "GET %s: %s (--insecure-options=tls skips verification)",
				 x->url, *errbuf ? errbuf : curl_easy_strerror(rc));
	if (rc == CURLE_TOO_MANY_REDIRECTS)
		return rkt_error(err, ELOOP, "GET %s: more than %ld redirects", x->url, HTTP_MAX_REDIRS);
	int e = rc == CURLE_OPERATION_TIMEDOUT ? ETIMEDOUT
		: rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST ? EHOSTUNREACH
		: EIO;
	return rkt_error(err, e, "GET %s: %s", x->url, *errbuf ? errbuf : curl_easy_strerror(rc));
}

static int perform(const struct http_get *req, const char *if_range, struct xfer *x,
		   struct http_result *ret, struct rkt_err *err)
{
	pthread_once(&curl_once, curl_init);
	if (curl_init_rc != CURLE_OK)
		return rkt_error(err, EIO, "initializing libcurl: %s", curl_easy_strerror(curl_init_rc));

	_cleanup_free_ char *host = NULL;
	int r = check_url(req->url, req->allow_http, &host, err);
	if (r < 0)
		return r;
	struct curl_slist *headers = NULL;
	r = build_headers(host, req->if_none_match, req->resume_from > 0 ? if_range : NULL, &headers,
			  err);
	if (r < 0)
		return r;

	x->curl = curl_easy_init();
	if (!x->curl) {
		curl_slist_free_all(headers);
		return rkt_error(err, ENOMEM, "GET %s: cannot create a curl handle", req->url);
	}
	x->url = req->url;
	x->max_age_s = -1;
	const char *protos = req->allow_http ? "http,https" : "https";
	char errbuf[CURL_ERROR_SIZE] = "";
	char range[48];
	CURL *c = x->curl;
	curl_easy_setopt(c, CURLOPT_URL, req->url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, protos);
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, protos);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(c, CURLOPT_MAXREDIRS, HTTP_MAX_REDIRS);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, req->insecure_tls ? 0L : 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, req->insecure_tls ? 0L : 2L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, HTTP_CONNECT_TIMEOUT_S);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, HTTP_LOW_SPEED_TIME_S);
	curl_easy_setopt(c, CURLOPT_USERAGENT, HTTP_USER_AGENT);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
	if (req->resume_from > 0) {
		/* CURLOPT_RANGE rather than RESUME_FROM: a server that ignores
		 * the range is handled by restarting the file, not an error. */
		snprintf(range, sizeof range, "%lld-", (long long)req->resume_from);
		curl_easy_setopt(c, CURLOPT_RANGE, range);
	}
	progress_init(&x->prog, req->progress_label, req->progress);
	if (x->prog.enabled) {
		curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_xferinfo);
		curl_easy_setopt(c, CURLOPT_XFERINFODATA, x);
		curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	}

	CURLcode rc = curl_easy_perform(c);
	long code = response_code(x);
	uint64_t shown = x->written + (x->resumed ? (uint64_t)x->resume_from : 0);
	progress_finish(&x->prog, shown, rc == CURLE_OK ? shown : 0);
	if (rc != CURLE_OK)
		r = curl_failure(x, rc, errbuf, err);
	else if (!body_status(code) && code != 202 && code != 304)
		r = rkt_error(err, code == 401 || code == 403 ? EACCES : code == 404 ? ENOENT : EIO,
			      "bad HTTP status code: %ld (GET %s)", code, req->url);
	if (r >= 0) {
		char *eff = NULL;
		curl_easy_getinfo(c, CURLINFO_EFFECTIVE_URL, &eff);
		ret->status = code;
		ret->etag = TAKE_PTR(x->etag);
		ret->max_age_s = x->max_age_s;
		ret->effective_url = xstrdup(eff ? eff : req->url);
		ret->resumed = x->resumed;
	} else if (ret) {
		ret->status = code;
	}
	curl_easy_cleanup(c);
	curl_slist_free_all(headers);
	free(x->etag);
	x->etag = NULL;
	return r;
}

int http_get(const struct http_get *req, struct http_result *ret, struct rkt_err *err)
{
	struct xfer x = { .out_fd = req->out_fd, .max_bytes = req->max_bytes,
			  .resume_from = req->resume_from };
	memset(ret, 0, sizeof *ret);
	ret->max_age_s = -1;
	return perform(req, NULL, &x, ret, err);
}

int http_get_resumable(const struct http_get *req, const char *if_range, http_headers_fn on_headers,
		       void *ctx, struct http_result *ret, struct rkt_err *err)
{
	struct xfer x = { .out_fd = req->out_fd, .max_bytes = req->max_bytes,
			  .resume_from = req->resume_from, .on_headers = on_headers,
			  .hook_ctx = ctx };
	memset(ret, 0, sizeof *ret);
	ret->max_age_s = -1;
	return perform(req, if_range, &x, ret, err);
}

int http_get_memory(const char *url, bool insecure_tls, bool allow_http, size_t max,
		    char **ret_body, size_t *ret_len, long *ret_status, struct rkt_err *err)
{
	struct http_get req = { .url = url, .insecure_tls = insecure_tls, .allow_http = allow_http,
				.out_fd = -1, .max_bytes = max };
	struct xfer x = { .out_fd = -1, .to_mem = true, .max_bytes = max };
	struct http_result res = { .max_age_s = -1 };
	int r = perform(&req, NULL, &x, &res, err);
	if (ret_status)
		*ret_status = res.status;
	http_result_done(&res);
	if (r < 0) {
		free(x.mem);
		return r;
	}
	*ret_body = x.mem ? x.mem : xstrdup("");
	if (ret_len)
		*ret_len = x.mem_len;
	return 0;
}
