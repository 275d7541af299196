/* Human-readable sizes and times as rkt prints them (go-humanize and Go's
 * time layout), shared by `image list`, `list` and `status`. */
#pragma once
#include <stddef.h>
#include <stdint.h>

/* humanize.IBytes: "512 B", "1.5 KiB", "15 MiB". */
void humanize_ibytes(uint64_t bytes, char *buf, size_t len);
/* humanize.Time: "now", "1 second ago", "3 minutes ago", "2 weeks from now". */
void humanize_reltime(int64_t then_ns, int64_t now_ns, char *buf, size_t len);
/* Go layout "2006-01-02 15:04:05.999 -0700 MST" in local time; 0 prints
 * Go's zero time, as rkt does for a time it does not know. */
void format_go_time(int64_t ns, char *buf, size_t len);
