#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static bool debug_on;

void log_set_debug(bool on) { debug_on = on; }
bool log_debug_enabled(void) { return debug_on; }

static void vline(const char *prefix, const char *fmt, va_list ap)
{
	char buf[4096];
	vsnprintf(buf, sizeof buf, fmt, ap);
	if (prefix && *prefix)
		fprintf(stderr, "%s: %s\n", prefix, buf);
	else
		fprintf(stderr, "%s\n", buf);
}

void log_line(const char *prefix, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vline(prefix, fmt, ap);
	va_end(ap);
}

void log_debug(const char *prefix, const char *fmt, ...)
{
	if (!debug_on)
		return;
	va_list ap;
	va_start(ap, fmt);
	vline(prefix, fmt, ap);
	va_end(ap);
}

void log_warn(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vline("warning", fmt, ap);
	va_end(ap);
}

void log_line_once(const char *prefix, const char *msg)
{
	size_t n = strlen(prefix);
	if (!strncmp(msg, prefix, n) && msg[n] == ':')
		fprintf(stderr, "%s\n", msg);
	else
		log_line(prefix, "%s", msg);
}
