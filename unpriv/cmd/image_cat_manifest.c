/* rkt image cat-manifest [--pretty-print] IMAGE: the stored image manifest.
 * Pretty printing re-indents the stored text token by token (Go's
 * json.Indent with four spaces) instead of re-encoding it, so numbers and
 * key order come out exactly as stored. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "common/cleanup.h"
#include "common/util.h"
#include "unpriv/store/store.h"

static bool opt_pretty = true;

const struct flag_spec image_cat_manifest_flags[] = {
	{ "pretty-print", FLAG_BOOL, &opt_pretty, "apply indent and newlines to the output", "true" },
	{ .name = NULL },
};

static void newline(FILE *out, int depth)
{
	fputc('\n', out);
	for (int i = 0; i < depth; i++)
		fputs("    ", out);
}

/* The input is a manifest the store accepted, hence valid JSON. */
static void indent_json(const char *s, FILE *out)
{
	int depth = 0;
	bool need_newline = false; /* just opened a container */
	for (const char *p = s; *p; p++) {
		char c = *p;
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
			continue;
		if (need_newline) {
			need_newline = false;
			if (c == '}' || c == ']') {
				fputc(c, out);
				depth--;
				continue;
			}
			newline(out, depth);
		}
		switch (c) {
		case '"': {
			const char *q = p + 1;
			while (*q && *q != '"')
				q += (*q == '\\' && q[1]) ? 2 : 1;
			fwrite(p, 1, (size_t)(q - p) + (*q ? 1 : 0), out);
			p = *q ? q : q - 1;
			break;
		}
		case '{':
		case '[':
			fputc(c, out);
			depth++;
			need_newline = true;
			break;
		case '}':
		case ']':
			depth--;
			newline(out, depth);
			fputc(c, out);
			break;
		case ',':
			fputc(c, out);
			newline(out, depth);
			break;
		case ':':
			fputs(": ", out);
			break;
		default:
			fputc(c, out);
		}
	}
}

int cmd_image_cat_manifest(const struct command *cmd, char **args, struct rkt_err *err)
{
	(void)cmd;
	if (strv_len(args) != 1)
		return rkt_error(err, EINVAL, "expected exactly one IMAGE argument");
	struct store *s = NULL;
	int r = store_open_readonly(g_opts.dir, &s, err);
	if (r < 0)
		return rkt_error_wrap(err, "cannot open store");
	char key[APPC_KEY_LEN + 1];
	struct store_image img = { 0 };
	bool found = false;
	r = store_resolve_image_arg(s, args[0], key, err);
	if (r == 0)
		r = store_get_image(s, key, &img, &found, err);
	store_close(s);
	if (r < 0)
		return r;
	if (!found)
		return rkt_error(err, ENOENT, "no image found for \"%s\"", args[0]);
	if (opt_pretty)
		indent_json(img.manifest_json, stdout);
	else
		fputs(img.manifest_json, stdout);
	size_t len = strlen(img.manifest_json);
	if (opt_pretty || len == 0 || img.manifest_json[len - 1] != '\n')
		putchar('\n');
	store_image_done(&img);
	return 0;
}
