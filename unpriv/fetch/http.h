/* HTTP(S) for fetch, discovery and keys (libcurl). TLS is verified unless
 * INSECURE_TLS; plain http only when the caller allows it. Credentials from
 * auth.d are added per host (config/auth.h). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"

struct http_get {
	const char *url;
	bool insecure_tls;
	bool allow_http;
	const char *if_none_match; /* ETag to revalidate with, or NULL */
	int out_fd;                /* body is appended here */
	off_t resume_from;         /* Range: bytes=N- when > 0 */
	bool progress;             /* progress bar on stderr (only if a tty) */
	const char *progress_label;
	size_t max_bytes; /* 0 = unlimited (images); set for pages and keys */
};

struct http_result {
	long status;           /* 200, 206, 202, 304, ... */
	char *etag;            /* NULL when absent */
	int64_t max_age_s;     /* Cache-Control max-age, -1 when absent */
	char *effective_url;   /* after redirects */
	bool resumed;          /* 206 honoured */
};
void http_result_done(struct http_result *r);

/* Status >= 400 (other than the caller's business) is an error naming the URL:
 * "bad HTTP status code: 401 (GET https://…)". 202 and 304 are returned. */
int http_get(const struct http_get *req, struct http_result *ret, struct rkt_err *err);
/* Refuses a URL the caller may not fetch (plain http without allow_http,
 * other schemes) before anything is created for it. */
int http_check_url(const char *url, bool allow_http, struct rkt_err *err);
/* Small bodies (discovery pages, armored keys): at most max bytes in memory. */
int http_get_memory(const char *url, bool insecure_tls, bool allow_http, size_t max,
		    char **ret_body, size_t *ret_len, long *ret_status, struct rkt_err *err);

/* Runs once the final response's headers are in, before any body byte is
 * written: status and ETag (NULL when absent). Lets a resumable download
 * record the ETag its partial file belongs to. */
typedef void (*http_headers_fn)(void *ctx, long status, const char *etag);
/* http_get with that hook and an If-Range validator for resume_from (a
 * changed resource then comes back whole, and out_fd is started over). */
int http_get_resumable(const struct http_get *req, const char *if_range, http_headers_fn on_headers,
		       void *ctx, struct http_result *ret, struct rkt_err *err);
