/* Logging for entry points: every line goes to stderr as "<prefix>: <text>",
 * the way rkt prefixes its subsystems ("image: ", "pubkey: ", "stage0: "). */
#pragma once
#include <stdbool.h>

void log_set_debug(bool on);
bool log_debug_enabled(void);
/* "<prefix>: <text>" on stderr. */
void log_line(const char *prefix, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "<prefix>: <msg>", unless msg already begins with "<prefix>:" (the
 * helper's policy lines name the command themselves). */
void log_line_once(const char *prefix, const char *msg);
/* Only when --debug was given. */
void log_debug(const char *prefix, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "warning: <text>" on stderr, as rkt prints its insecure-option warnings. */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
