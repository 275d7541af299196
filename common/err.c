#include "err.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static void sanitize_line(char *s)
{
	for (; *s; s++)
		if (*s == '\n' || *s == '\r')
			*s = ' ';
}

static int verror(struct rkt_err *err, int errnum, bool with_errno, const char *fmt, va_list ap)
{
	if (errnum < 0)
		errnum = -errnum;
	if (errnum == 0)
		errnum = EINVAL;
	if (!err)
		return -errnum;
	err->code = errnum;
	int n = vsnprintf(err->msg, sizeof err->msg, fmt, ap);
	if (with_errno && n >= 0 && (size_t)n < sizeof err->msg)
		snprintf(err->msg + n, sizeof err->msg - (size_t)n, ": %s", strerror(errnum));
	sanitize_line(err->msg);
	return -errnum;
}

int rkt_error(struct rkt_err *err, int errnum, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = verror(err, errnum, false, fmt, ap);
	va_end(ap);
	return r;
}

int rkt_error_errno(struct rkt_err *err, int errnum, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = verror(err, errnum, true, fmt, ap);
	va_end(ap);
	return r;
}

int rkt_error_wrap(struct rkt_err *err, const char *fmt, ...)
{
	if (!err)
		return -EINVAL;
	if (err->code == 0)
		err->code = EINVAL;
	char prefix[RKT_ERR_MSG_MAX], old[RKT_ERR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof prefix, fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof old);
	snprintf(err->msg, sizeof err->msg, "%s: %s", prefix, old);
	sanitize_line(err->msg);
	return -err->code;
}

void rkt_err_clear(struct rkt_err *err)
{
	if (err) {
		err->code = 0;
		err->msg[0] = '\0';
	}
}
