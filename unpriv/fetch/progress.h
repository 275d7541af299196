/* A one-line download progress bar on stderr, drawn only when stderr is a
 * terminal (scripts and logs never see carriage returns):
 *   Downloading ACI: [=========>            ] 12.3 MB/45.6 MB */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct progress {
	bool enabled;
	bool drawn;
	char label[64];
	int64_t last_draw_ns;
	size_t last_len;
};

/* enabled = want && isatty(stderr). */
void progress_init(struct progress *p, const char *label, bool want);
/* total 0 = unknown (then only the byte count is shown). Redraws at most
 * ten times a second. */
void progress_update(struct progress *p, uint64_t done, uint64_t total);
/* Final redraw and newline, only if something was drawn. */
void progress_finish(struct progress *p, uint64_t done, uint64_t total);
/* "12.3 MB" (decimal units, as rkt's ioprogress prints them). */
void progress_format_bytes(uint64_t n, char *buf, size_t len);
