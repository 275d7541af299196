/* Small helpers shared by every program: allocation that aborts on OOM,
 * strings, durations and sizes, and crash-safe file writes. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "err.h"

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t m);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

bool str_has_prefix(const char *s, const char *prefix);
bool str_has_suffix(const char *s, const char *suffix);
/* Appends s to a NULL-terminated heap vector; returns the new vector. */
char **strv_append(char **v, const char *s);
size_t strv_len(char *const *v);
bool strv_contains(char *const *v, const char *s);

/* Go-style durations as rkt prints and accepts them: "30m0s", "24h", "10s",
 * "1h30m", "500ms", "0". Returns 0 and nanoseconds, or -EINVAL. */
int parse_duration_ns(const char *s, int64_t *ret_ns);
/* Formats like Go's time.Duration.String(): "30m0s", "24h0m0s", "0s". */
void format_duration(int64_t ns, char *buf, size_t len);

/* Reads at most max bytes of fd into a NUL-terminated heap buffer.
 * -EFBIG when the file is longer than max. */
int read_fd_bounded(int fd, size_t max, char **ret, size_t *ret_len);
int read_file_at(int dirfd, const char *path, size_t max, char **ret, size_t *ret_len,
		 struct rkt_err *err);
/* Writes data to dirfd/name crash-safely: temp file in the same directory,
 * write, fsync, rename over name, fsync the directory. Nothing half-written
 * is ever visible under name. */
int write_file_atomic_at(int dirfd, const char *name, const void *data, size_t len, mode_t mode,
			 struct rkt_err *err);
/* The same without the two fsyncs: readers still see all or nothing, but a
 * crash may lose the file. For runtime state that dies with the host anyway
 * (a running pod's pid and statuses, a pod created to run at once). */
int write_file_atomic_nosync_at(int dirfd, const char *name, const void *data, size_t len,
				mode_t mode, struct rkt_err *err);
int fsync_dir_at(int dirfd, const char *path);
/* mkdir -p relative to dirfd (AT_FDCWD for the cwd); existing dirs are fine. */
int mkdir_p_at(int dirfd, const char *path, mode_t mode);
/* rm -rf of dirfd/name without following symlinks; missing is fine. */
int rm_rf_at(int dirfd, const char *name);
/* Writes all of buf, retrying on EINTR and short writes. */
int write_all(int fd, const void *buf, size_t len);
/* Random hex string of 2*nbytes chars from getrandom(2). */
int random_hex(char *buf, size_t nbytes);
/* Nanoseconds since the epoch (CLOCK_REALTIME). */
int64_t now_realtime_ns(void);

/* /proc/self/mountinfo escapes space, tab, newline and backslash in paths
 * as \ooo; decodes them in place. */
void mountinfo_unescape(char *s);
