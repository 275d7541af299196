#include "progress.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BAR_WIDTH 40
#define REDRAW_NS (100 * 1000 * 1000LL)

static int64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

void progress_init(struct progress *p, const char *label, bool want)
{
	memset(p, 0, sizeof *p);
	snprintf(p->label, sizeof p->label, "%s", label ? label : "ACI");
	p->enabled = want && isatty(STDERR_FILENO) == 1;
}

void progress_format_bytes(uint64_t n, char *buf, size_t len)
{
	static const char *units[] = { "B", "kB", "MB", "GB", "TB", "PB" };
	double v = (double)n;
	size_t u = 0;
	while (v >= 1000.0 && u + 1 < sizeof units / sizeof units[0]) {
		v /= 1000.0;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%llu B", (unsigned long long)n);
	else
		snprintf(buf, len, "%.1f %s", v, units[u]);
}

static void draw(struct progress *p, uint64_t done, uint64_t total)
{
	char line[256], d[32], t[32];
	int n;
	progress_format_bytes(done, d, sizeof d);
	if (total > 0) {
		char bar[BAR_WIDTH + 1];
		uint64_t fill = done >= total ? BAR_WIDTH : done * BAR_WIDTH / total;
		for (size_t i = 0; i < BAR_WIDTH; i++)
			bar[i] = i < fill ? '=' : ' ';
		if (fill > 0 && fill < BAR_WIDTH)
			bar[fill - 1] = '>';
		bar[BAR_WIDTH] = '\0';
		progress_format_bytes(total, t, sizeof t);
		n = snprintf(line, sizeof line, "Downloading %s: [%s] %s/%s", p->label, bar, d, t);
	} else {
		n = snprintf(line, sizeof line, "Downloading %s: %s", p->label, d);
	}
	if (n < 0)
		return;
	size_t len = (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
	/* pad over the remains of a longer previous line */
	int pad = p->last_len > len ? (int)(p->last_len - len) : 0;
	fprintf(stderr, "\r%s%*s", line, pad, "");
	fflush(stderr);
	p->last_len = len;
	p->drawn = true;
}

void progress_update(struct progress *p, uint64_t done, uint64_t total)
{
	if (!p->enabled)
		return;
	int64_t now = mono_ns();
	if (p->drawn && now - p->last_draw_ns < REDRAW_NS)
		return;
	p->last_draw_ns = now;
	draw(p, done, total);
}

void progress_finish(struct progress *p, uint64_t done, uint64_t total)
{
	if (!p->enabled || !p->drawn)
		return;
	draw(p, done, total);
	fputc('\n', stderr);
	fflush(stderr);
	p->drawn = false;
}
