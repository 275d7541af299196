/* rkt image list: the store's images as rkt prints them. The table is laid
 * out the way rkt's Go tabwriter (minwidth 0, tabwidth 8, padding 1, tab
 * padding) does, so scripts written against rkt keep working; sizes and
 * times are humanized as go-humanize does unless --full. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "commands.h"
#include "unpriv/cli/humanize.h"
#include "common/cleanup.h"
#include "common/util.h"
#include "unpriv/store/store.h"

static char *opt_fields, *opt_sort, *opt_order, *opt_format;
static bool opt_full, opt_no_legend;

const struct flag_spec image_list_flags[] = {
	{ "fields", FLAG_STRING, &opt_fields,
	  "comma-separated list of fields to display. Accepted values: id,name,size,importtime,lastused,latest",
	  "id,name,size,importtime,lastused" },
	{ "sort", FLAG_STRING, &opt_sort,
	  "sort the output according to the provided comma-separated list of fields. Accepted values: name,importtime,lastused,size",
	  "importtime" },
	{ "order", FLAG_STRING, &opt_order,
	  "choose the sorting order if at least one sort field is provided (--sort). Accepted values: \"asc\", \"desc\"",
	  "asc" },
	{ "no-legend", FLAG_BOOL, &opt_no_legend, "suppress a legend with the list", "false" },
	{ "full", FLAG_BOOL, &opt_full, "use long output format", "false" },
	{ "format", FLAG_STRING, &opt_format,
	  "choose the output format, allowed format includes 'json', 'json-pretty'. If empty, then the result is printed as key value pairs",
	  "" },
	{ .name = NULL },
};

enum field { F_ID, F_NAME, F_SIZE, F_IMPORTTIME, F_LASTUSED, F_LATEST, F_MAX };

static const struct {
	const char *name;
	const char *header;
	bool sortable;
} fields[F_MAX] = {
	[F_ID] = { "id", "ID", false },
	[F_NAME] = { "name", "NAME", true },
	[F_SIZE] = { "size", "SIZE", true },
	[F_IMPORTTIME] = { "importtime", "IMPORT TIME", true },
	[F_LASTUSED] = { "lastused", "LAST USED", true },
	[F_LATEST] = { "latest", "LATEST", false },
};

/* Parses "a,b" against the field table (case-insensitive, no duplicates). */
static int parse_field_list(const char *flag, const char *value, bool sort_only,
			    enum field *ret, size_t *ret_n, struct rkt_err *err)
{
	_cleanup_free_ char *copy = xstrdup(value);
	size_t n = 0;
	char *save = NULL;
	for (char *p = copy; ; p = NULL) {
		char *tok = strtok_r(p, ",", &save);
		if (!tok)
			break;
		for (char *c = tok; *c; c++)
			*c = (char)(*c >= 'A' && *c <= 'Z' ? *c - 'A' + 'a' : *c);
		size_t f;
		for (f = 0; f < F_MAX; f++)
			if (strcmp(tok, fields[f].name) == 0 && (!sort_only || fields[f].sortable))
				break;
		if (f == F_MAX)
			return rkt_error(err, EINVAL, "invalid argument \"%s\" for \"--%s\" flag: unknown option \"%s\"",
					 value, flag, tok);
		for (size_t i = 0; i < n; i++)
			if (ret[i] == (enum field)f)
				return rkt_error(err, EINVAL, "invalid argument \"%s\" for \"--%s\" flag: duplicated option \"%s\"",
						 value, flag, tok);
		if (n == F_MAX)
			break;
		ret[n++] = (enum field)f;
	}
	if (n == 0)
		return rkt_error(err, EINVAL, "invalid argument \"%s\" for \"--%s\" flag: no fields", value,
				 flag);
	*ret_n = n;
	return 0;
}

/* ---- rows -------------------------------------------------------------- */

struct row {
	const struct store_image *img;
	char *name; /* name[:version] */
	size_t index;
};

static char *display_name(const struct store_image *img)
{
	json_t *root = json_loads(img->manifest_json, 0, NULL);
	const char *version = NULL;
	size_t i;
	json_t *lab;
	json_array_foreach(json_object_get(root, "labels"), i, lab) {
		const char *n = json_string_value(json_object_get(lab, "name"));
		if (n && strcmp(n, "version") == 0)
			version = json_string_value(json_object_get(lab, "value"));
	}
	char *out = version ? xasprintf("%s:%s", img->name, version) : xstrdup(img->name);
	json_decref(root);
	return out;
}

static enum field sort_by[F_MAX];
static size_t n_sort_by;
static bool sort_desc;

static int cmp_i64(int64_t a, int64_t b) { return a < b ? -1 : a > b; }

static int row_cmp(const void *pa, const void *pb)
{
	const struct row *a = pa, *b = pb;
	for (size_t i = 0; i < n_sort_by; i++) {
		int c = 0;
		switch (sort_by[i]) {
		case F_NAME:
			c = strcmp(a->img->name, b->img->name);
			break;
		case F_SIZE:
			c = cmp_i64((int64_t)(a->img->size + a->img->treestore_size),
				    (int64_t)(b->img->size + b->img->treestore_size));
			break;
		case F_IMPORTTIME:
			c = cmp_i64(a->img->import_time_ns, b->img->import_time_ns);
			break;
		case F_LASTUSED:
			c = cmp_i64(a->img->last_used_ns, b->img->last_used_ns);
			break;
		default:
			break;
		}
		if (c)
			return sort_desc ? -c : c;
	}
	return a->index < b->index ? -1 : a->index > b->index;
}

static char *cell(const struct row *r, enum field f, int64_t now)
{
	char buf[128];
	uint64_t total = r->img->size + r->img->treestore_size;
	switch (f) {
	case F_ID:
		return opt_full ? xstrdup(r->img->key) : xstrndup(r->img->key, 7 + 12);
	case F_NAME:
		return xstrdup(r->name);
	case F_SIZE:
		if (opt_full)
			return xasprintf("%llu", (unsigned long long)total);
		humanize_ibytes(total, buf, sizeof buf);
		return xstrdup(buf);
	case F_IMPORTTIME:
	case F_LASTUSED: {
		int64_t t = f == F_IMPORTTIME ? r->img->import_time_ns : r->img->last_used_ns;
		if (opt_full)
			format_go_time(t, buf, sizeof buf);
		else
			humanize_reltime(t, now, buf, sizeof buf);
		return xstrdup(buf);
	}
	case F_LATEST:
		return xstrdup(r->img->latest ? "true" : "false");
	default:
		return xstrdup("");
	}
}

/* ---- output ------------------------------------------------------------ */

static size_t text_width(const char *s)
{
	size_t w = 0;
	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			w++;
	return w;
}

/* Go's tabwriter with padchar '\t': every column but the last is padded
 * with tabs to the smallest multiple of 8 above its widest cell + 1. */
static void print_table(char ***cells, size_t n_rows, size_t n_cols)
{
	size_t *width = xcalloc(n_cols ? n_cols : 1, sizeof *width);
	for (size_t c = 0; c + 1 < n_cols; c++) {
		for (size_t r = 0; r < n_rows; r++) {
			size_t w = text_width(cells[r][c]) + 1;
			if (w > width[c])
				width[c] = w;
		}
		width[c] = (width[c] + 7) / 8 * 8;
	}
	for (size_t r = 0; r < n_rows; r++) {
		for (size_t c = 0; c < n_cols; c++) {
			fputs(cells[r][c], stdout);
			if (c + 1 == n_cols)
				break;
			size_t pad = width[c] - text_width(cells[r][c]);
			for (size_t t = 0; t < (pad + 7) / 8; t++)
				putchar('\t');
		}
		putchar('\n');
	}
	free(width);
}

static int print_json(const struct row *rows, size_t n, bool pretty, struct rkt_err *err)
{
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++) {
		const struct store_image *img = rows[i].img;
		json_t *o = json_object();
		json_object_set_new(o, "id", json_string(img->key));
		json_object_set_new(o, "name", json_string(rows[i].name));
		json_object_set_new(o, "import_time", json_integer(img->import_time_ns));
		json_object_set_new(o, "last_used_time", json_integer(img->last_used_ns));
		json_object_set_new(o, "size", json_integer((json_int_t)(img->size + img->treestore_size)));
		json_array_append_new(arr, o);
	}
	char *s = json_dumps(arr, pretty ? JSON_INDENT(1) : JSON_COMPACT);
	json_decref(arr);
	if (!s)
		return rkt_error(err, ENOMEM, "encoding the image list as JSON");
	/* Go's MarshalIndent(..., "\t") indents with tabs; JSON strings hold no
	 * raw newlines, so each line's leading spaces are its depth. */
	for (const char *line = s; *line;) {
		const char *end = strchrnul(line, '\n');
		const char *p = line;
		for (; *p == ' '; p++)
			putchar('\t');
		fwrite(p, 1, (size_t)(end - p), stdout);
		putchar('\n');
		line = *end ? end + 1 : end;
	}
	free(s);
	return 0;
}

int cmd_image_list(const struct command *cmd, char **args, struct rkt_err *err)
{
	(void)cmd;
	if (args[0])
		return rkt_error(err, EINVAL, "unexpected argument \"%s\"", args[0]);
	enum field show[F_MAX];
	size_t n_show = 0;
	int r = parse_field_list("fields", opt_fields ? opt_fields : "id,name,size,importtime,lastused",
				 false, show, &n_show, err);
	if (r < 0)
		return r;
	r = parse_field_list("sort", opt_sort ? opt_sort : "importtime", true, sort_by, &n_sort_by,
			     err);
	if (r < 0)
		return r;
	const char *order = opt_order ? opt_order : "asc";
	if (strcasecmp(order, "asc") != 0 && strcasecmp(order, "desc") != 0)
		return rkt_error(err, EINVAL, "invalid argument \"%s\" for \"--order\" flag: wrong sort order",
				 order);
	sort_desc = strcasecmp(order, "desc") == 0;
	const char *format = opt_format ? opt_format : "";
	if (*format && strcmp(format, "json") != 0 && strcmp(format, "json-pretty") != 0)
		return rkt_error(err, EINVAL, "invalid argument \"%s\" for \"--format\" flag: Invalid format option: %s",
				 format, format);

	struct store *s = NULL;
	r = store_open_readonly(g_opts.dir, &s, err);
	if (r < 0)
		return rkt_error_wrap(err, "cannot open store");
	struct store_image *imgs = NULL;
	size_t n = 0;
	r = store_list_images(s, &imgs, &n, err);
	store_close(s);
	if (r < 0)
		return rkt_error_wrap(err, "unable to get aci infos");

	struct row *rows = xcalloc(n ? n : 1, sizeof *rows);
	for (size_t i = 0; i < n; i++)
		rows[i] = (struct row){ .img = &imgs[i], .name = display_name(&imgs[i]), .index = i };
	qsort(rows, n, sizeof *rows, row_cmp);

	if (*format) {
		r = print_json(rows, n, strcmp(format, "json-pretty") == 0, err);
	} else {
		size_t n_rows = n + (opt_no_legend ? 0 : 1), at = 0;
		char ***cells = xcalloc(n_rows ? n_rows : 1, sizeof *cells);
		if (!opt_no_legend) {
			cells[at] = xcalloc(n_show, sizeof **cells);
			for (size_t c = 0; c < n_show; c++)
				cells[at][c] = xstrdup(fields[show[c]].header);
			at++;
		}
		int64_t now = now_realtime_ns();
		for (size_t i = 0; i < n; i++, at++) {
			cells[at] = xcalloc(n_show, sizeof **cells);
			for (size_t c = 0; c < n_show; c++)
				cells[at][c] = cell(&rows[i], show[c], now);
		}
		print_table(cells, n_rows, n_show);
		for (size_t i = 0; i < n_rows; i++) {
			for (size_t c = 0; c < n_show; c++)
				free(cells[i][c]);
			free(cells[i]);
		}
		free(cells);
	}
	for (size_t i = 0; i < n; i++)
		free(rows[i].name);
	free(rows);
	store_images_free(imgs, n);
	return r;
}
