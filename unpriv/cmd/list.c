/* rkt list [--full] [--no-legend] [--format=json|json-pretty]: every pod
 * under <dir>/pods, read directly (group rkt may read it). Columns and
 * layout follow rkt (rkt-behaviour.md §1.6): one row per app, the pod's
 * columns only on its first app's row, Go's tabwriter alignment, times
 * humanized unless --full. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "unpriv/cli/humanize.h"
#include "common/cleanup.h"
#include "common/util.h"

static bool opt_full, opt_no_legend;
static char *opt_format;

const struct flag_spec cmd_list_flags[] = {
	{ "full", FLAG_BOOL, &opt_full, "use long output format", "false" },
	{ "no-legend", FLAG_BOOL, &opt_no_legend, "suppress a legend with the list", "false" },
	{ "format", FLAG_STRING, &opt_format,
	  "choose the output format, allowed format includes 'json', 'json-pretty'. If empty, then the result is printed as key value pairs",
	  "" },
	{ .name = NULL },
};

/* The state directories in the order rkt walks them. */
static const char *const state_dirs[] = { "embryo", "prepare", "prepared", "run", "exited-garbage",
					  "garbage" };

static char *time_cell(int64_t ns, int64_t now)
{
	char buf[96];
	if (!ns)
		return xstrdup("");
	if (opt_full)
		format_go_time(ns, buf, sizeof buf);
	else
		humanize_reltime(ns, now, buf, sizeof buf);
	return xstrdup(buf);
}

struct table {
	char ***rows;
	size_t n, cap, cols;
};

static void table_add(struct table *t, char **cells)
{
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 16;
		t->rows = xrealloc(t->rows, t->cap * sizeof *t->rows);
	}
	t->rows[t->n++] = cells;
}

static void table_free(struct table *t)
{
	for (size_t r = 0; r < t->n; r++) {
		for (size_t c = 0; c < t->cols; c++)
			free(t->rows[r][c]);
		free(t->rows[r]);
	}
	free(t->rows);
}

static size_t text_width(const char *s)
{
	size_t w = 0;
	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			w++;
	return w;
}

/* Go's tabwriter(minwidth 0, tabwidth 8, padding 1, '\t'): every column but
 * the last is padded with tabs to the multiple of 8 above its widest cell. */
static void table_print(const struct table *t)
{
	size_t width[8] = { 0 };
	for (size_t c = 0; c + 1 < t->cols; c++) {
		for (size_t r = 0; r < t->n; r++) {
			size_t w = text_width(t->rows[r][c]) + 1;
			if (w > width[c])
				width[c] = w;
		}
		width[c] = (width[c] + 7) / 8 * 8;
	}
	for (size_t r = 0; r < t->n; r++) {
		for (size_t c = 0; c < t->cols; c++) {
			fputs(t->rows[r][c], stdout);
			if (c + 1 == t->cols)
				break;
			size_t pad = width[c] - text_width(t->rows[r][c]);
			for (size_t k = 0; k < (pad + 7) / 8; k++)
				putchar('\t');
		}
		putchar('\n');
	}
}

static char **row(const char *uuid, const char *app, const char *img, const char *img_id,
		  const char *state, char *created, char *started, char *nets)
{
	char **cells = xcalloc(8, sizeof *cells);
	size_t k = 0;
	cells[k++] = xstrdup(uuid);
	cells[k++] = xstrdup(app);
	cells[k++] = xstrdup(img);
	if (opt_full)
		cells[k++] = xstrdup(img_id);
	cells[k++] = xstrdup(state);
	cells[k++] = created;
	cells[k++] = started;
	cells[k++] = nets;
	return cells;
}

static void add_pod_rows(struct table *t, const struct pod_info *p, int64_t now)
{
	char short_uuid[9];
	snprintf(short_uuid, sizeof short_uuid, "%s", p->uuid);
	const char *uuid = opt_full ? p->uuid : short_uuid;
	const char *state = pod_state_name(p->state);
	if (p->n_apps == 0) {
		table_add(t, row(uuid, "-", "-", "-", state, time_cell(p->created_ns, now),
				 time_cell(p->started_ns, now), pod_nets_text(p)));
		return;
	}
	for (size_t i = 0; i < p->n_apps; i++) {
		const struct pod_app_info *a = &p->apps[i];
		char id[7 + 12 + 1];
		snprintf(id, sizeof id, "%s", a->image_id);
		if (i == 0)
			table_add(t, row(uuid, a->name, a->image_name, id, state,
					 time_cell(p->created_ns, now), time_cell(p->started_ns, now),
					 pod_nets_text(p)));
		else
			table_add(t, row("", a->name, a->image_name, id, "", xstrdup(""), xstrdup(""),
					 xstrdup("")));
	}
}

static int names_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The pod UUIDs of one state directory, sorted as Go's ReadDir sorts. */
static char **state_uuids(int pods_fd, const char *dir)
{
	char **v = NULL;
	int fd = openat(pods_fd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	_cleanup_closedir_ DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return NULL;
	}
	struct dirent *de;
	while ((de = readdir(d)))
		if (pod_uuid_valid(de->d_name))
			v = strv_append(v, de->d_name);
	if (v)
		qsort(v, strv_len(v), sizeof *v, names_cmp);
	return v;
}

int cmd_list(const struct command *cmd, char **args, struct rkt_err *err)
{
	(void)cmd;
	if (args[0])
		return rkt_error(err, EINVAL, "unexpected argument \"%s\"", args[0]);
	bool json = false, pretty = false;
	if (opt_format && *opt_format) {
		json = !strcmp(opt_format, "json");
		pretty = !strcmp(opt_format, "json-pretty");
		if (!json && !pretty)
			return rkt_error(err, EINVAL, "unknown format \"%s\" (json, json-pretty)", opt_format);
	}
	_cleanup_close_ int pods_fd = -1;
	int r = pods_dir_open(&pods_fd, err);
	if (r < 0)
		return r;
	int64_t now = now_realtime_ns();
	struct table t = { .cols = opt_full ? 8 : 7 };
	json_t *arr = json_array();
	/* The legend goes through the same tabwriter as the rows, as in rkt. */
	if (!opt_no_legend && !json && !pretty)
		table_add(&t, row("UUID", "APP", "IMAGE NAME", "IMAGE ID", "STATE", xstrdup("CREATED"),
				  xstrdup("STARTED"), xstrdup("NETWORKS")));
	for (size_t d = 0; pods_fd >= 0 && d < sizeof state_dirs / sizeof state_dirs[0]; d++) {
		_cleanup_strv_ char **uuids = state_uuids(pods_fd, state_dirs[d]);
		for (size_t i = 0; uuids && uuids[i]; i++) {
			struct pod_info p;
			struct rkt_err lerr = { 0 };
			/* A pod may move between state dirs while we walk: look it
			 * up again, and skip one that is gone. */
			if (pod_resolve(pods_fd, uuids[i], &p, &lerr) < 0) {
				pod_info_done(&p);
				continue;
			}
			if (json || pretty)
				json_array_append_new(arr, pod_info_json(&p));
			else
				add_pod_rows(&t, &p, now);
			pod_info_done(&p);
		}
	}
	if (json || pretty) {
		r = pod_json_print(arr, pretty, err);
	} else {
		table_print(&t);
	}
	json_decref(arr);
	table_free(&t);
	return r;
}
