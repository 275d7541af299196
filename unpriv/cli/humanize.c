#include "unpriv/cli/humanize.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* humanize.IBytes: "512 B", "1.5 KiB", "15 MiB". */
void humanize_ibytes(uint64_t s, char *buf, size_t len)
{
	static const char *const sizes[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	if (s < 10) {
		snprintf(buf, len, "%llu B", (unsigned long long)s);
		return;
	}
	size_t e = 0;
	double div = 1;
	while (e + 1 < sizeof sizes / sizeof sizes[0] && (double)s >= div * 1024) {
		div *= 1024;
		e++;
	}
	double val = (double)(uint64_t)((double)s / div * 10 + 0.5) / 10;
	snprintf(buf, len, val < 10 ? "%.1f %s" : "%.0f %s", val, sizes[e]);
}

/* humanize.Time: "now", "1 second ago", "3 minutes ago", "2 weeks from now". */
void humanize_reltime(int64_t then_ns, int64_t now_ns, char *buf, size_t len)
{
	const int64_t S = 1000000000LL, MIN = 60 * S, H = 60 * MIN, D = 24 * H, W = 7 * D,
		      MON = 30 * D, Y = 12 * MON;
	/* go-humanize's magnitudes: the first whose bound exceeds the
	 * difference applies; div 0 means the text is fixed. */
	const struct {
		int64_t upto, div;
		const char *text;
	} mags[] = {
		{ S, 0, "now" },	      { 2 * S, 0, "1 second" },	 { MIN, S, "seconds" },
		{ 2 * MIN, 0, "1 minute" },   { H, MIN, "minutes" },	 { 2 * H, 0, "1 hour" },
		{ D, H, "hours" },	      { 2 * D, 0, "1 day" },	 { W, D, "days" },
		{ 2 * W, 0, "1 week" },	      { MON, W, "weeks" },	 { 2 * MON, 0, "1 month" },
		{ Y, MON, "months" },	      { 18 * MON, 0, "1 year" }, { 2 * Y, 0, "2 years" },
		{ 37 * Y, Y, "years" },	      { INT64_MAX, 0, "a long while" },
	};
	const char *lbl = "ago";
	int64_t diff = now_ns - then_ns;
	if (then_ns > now_ns) {
		lbl = "from now";
		diff = then_ns - now_ns;
	}
	size_t i = 0;
	while (i + 1 < sizeof mags / sizeof mags[0] && mags[i].upto <= diff)
		i++;
	if (i == 0)
		snprintf(buf, len, "now");
	else if (mags[i].div)
		snprintf(buf, len, "%lld %s %s", (long long)(diff / mags[i].div), mags[i].text, lbl);
	else
		snprintf(buf, len, "%s %s", mags[i].text, lbl);
}

/* Go layout "2006-01-02 15:04:05.999 -0700 MST" in local time. */
void format_go_time(int64_t ns, char *buf, size_t len)
{
	if (ns == 0) {
		snprintf(buf, len, "0001-01-01 00:00:00 +0000 UTC"); /* Go's zero time */
		return;
	}
	time_t sec = (time_t)(ns / 1000000000LL);
	long frac = (long)(ns % 1000000000LL);
	if (frac < 0) {
		frac += 1000000000L;
		sec--;
	}
	struct tm tm;
	localtime_r(&sec, &tm);
	char date[32], zone[32], fs[8] = "";
	strftime(date, sizeof date, "%Y-%m-%d %H:%M:%S", &tm);
	strftime(zone, sizeof zone, "%z %Z", &tm);
	int ms = (int)(frac / 1000000);
	if (ms) {
		snprintf(fs, sizeof fs, ".%03d", ms);
		for (size_t l = strlen(fs); fs[l - 1] == '0'; l--)
			fs[l - 1] = '\0';
	}
	snprintf(buf, len, "%s%s %s", date, fs, zone);
}

