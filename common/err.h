/* Error objects: library code never exits or prints; it fills a struct rkt_err
 * with one line that names what was wrong and returns a negative errno.
 * Only entry points (a command's run function, a daemon's loop) print it. */
#pragma once
#include <stdarg.h>

#define RKT_ERR_MSG_MAX 1024

struct rkt_err {
	int code;                  /* positive errno, 0 when unset */
	char msg[RKT_ERR_MSG_MAX]; /* one line, no trailing newline */
};

/* Sets err (when non-NULL) from a printf format and returns -errnum
 * (or -EINVAL when errnum is 0) so callers write `return rkt_error(...)`. */
int rkt_error(struct rkt_err *err, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Like rkt_error but appends ": strerror(errnum)". */
int rkt_error_errno(struct rkt_err *err, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Prefixes the message already in err with "context: " and returns -err->code. */
int rkt_error_wrap(struct rkt_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void rkt_err_clear(struct rkt_err *err);
