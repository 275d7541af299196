#include "flags.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

static const struct flag_spec *lookup(const struct flag_spec *const *specs_list, const char *name,
				      size_t namelen, char shortname)
{
	for (size_t l = 0; specs_list[l]; l++)
		for (const struct flag_spec *s = specs_list[l]; s->name; s++) {
			if (shortname) {
				if (s->shortname == shortname)
					return s;
			} else if (strlen(s->name) == namelen && strncmp(s->name, name, namelen) == 0)
				return s;
		}
	return NULL;
}

static int parse_bool(const char *v, bool *ret)
{
	if (!strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "t") || !strcmp(v, "TRUE") ||
	    !strcmp(v, "True"))
		*ret = true;
	else if (!strcmp(v, "false") || !strcmp(v, "0") || !strcmp(v, "f") ||
		 !strcmp(v, "FALSE") || !strcmp(v, "False"))
		*ret = false;
	else
		return -EINVAL;
	return 0;
}

static int set_value(const struct flag_spec *s, const char *v, struct rkt_err *err)
{
	if (!s->ptr) /* accepted for compatibility, ignored */
		return 0;
	switch (s->type) {
	case FLAG_BOOL: {
		bool b = true;
		if (v && parse_bool(v, &b) < 0) {
			if (!s->raw_value)
				return rkt_error(err, EINVAL,
						 "invalid argument \"%s\" for \"--%s\" flag: expected true or false",
						 v, s->name);
			b = true;
		}
		*(bool *)s->ptr = b;
		if (s->raw_value) {
			free(*s->raw_value);
			*s->raw_value = v ? xstrdup(v) : NULL;
		}
		break;
	}
	case FLAG_STRING:
		free(*(char **)s->ptr);
		*(char **)s->ptr = xstrdup(v);
		break;
	case FLAG_STRING_LIST: {
		char ***list = s->ptr;
		if (!s->split) {
			*list = strv_append(*list, v);
			break;
		}
		char *copy = xstrdup(v), *save = NULL;
		for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
			*list = strv_append(*list, tok);
		free(copy);
		break;
	}
	case FLAG_INT: {
		char *end;
		errno = 0;
		long n = strtol(v, &end, 0);
		if (errno || end == v || *end)
			return rkt_error(err, EINVAL, "invalid argument \"%s\" for \"--%s\" flag: not an integer",
					 v, s->name);
		*(long *)s->ptr = n;
		break;
	}
	case FLAG_DURATION: {
		int64_t ns;
		if (parse_duration_ns(v, &ns) < 0)
			return rkt_error(err, EINVAL,
					 "invalid argument \"%s\" for \"--%s\" flag: not a duration (e.g. 30m0s)",
					 v, s->name);
		*(int64_t *)s->ptr = ns;
		break;
	}
	}
	if (s->seen)
		*s->seen = true;
	return 0;
}

int flags_parse(const struct flag_spec *const *specs_list, int argc, char **argv,
		bool interspersed, bool keep_dashdash, char ***ret_args, struct rkt_err *err)
{
	char **args = *ret_args;
	int i = 0;
	int r = 0;
	for (; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--") == 0) {
			if (keep_dashdash)
				args = strv_append(args, a);
			i++;
			break;
		}
		if (a[0] != '-' || a[1] == '\0') {
			args = strv_append(args, a);
			if (!interspersed) {
				i++;
				break;
			}
			continue;
		}
		const struct flag_spec *s;
		const char *value = NULL;
		if (a[1] != '-') {
			/* short flag: -h, or a short alias */
			if (strcmp(a, "-h") == 0 && !lookup(specs_list, NULL, 0, 'h')) {
				r = -ECANCELED;
				goto out;
			}
			s = a[2] == '\0' ? lookup(specs_list, NULL, 0, a[1]) : NULL;
			if (!s) {
				r = rkt_error(err, EINVAL, "unknown shorthand flag: '%c' in %s", a[1], a);
				goto out;
			}
		} else {
			const char *name = a + 2;
			const char *eq = strchr(name, '=');
			size_t len = eq ? (size_t)(eq - name) : strlen(name);
			if (len == 4 && strncmp(name, "help", 4) == 0) {
				r = -ECANCELED;
				goto out;
			}
			s = lookup(specs_list, name, len, 0);
			if (!s) {
				r = rkt_error(err, EINVAL, "unknown flag: --%.*s", (int)len, name);
				goto out;
			}
			if (eq)
				value = eq + 1;
		}
		if (!value && s->noopt_value)
			value = s->noopt_value;
		if (!value && s->type != FLAG_BOOL) {
			if (i + 1 >= argc) {
				r = rkt_error(err, EINVAL, "flag needs an argument: --%s", s->name);
				goto out;
			}
			value = argv[++i];
		}
		r = set_value(s, value, err);
		if (r < 0)
			goto out;
	}
	/* Everything after the stop point is positional, verbatim. */
	for (; i < argc; i++)
		args = strv_append(args, argv[i]);
out:
	*ret_args = args;
	return r;
}

void flags_print_help(const struct flag_spec *specs, FILE *out)
{
	for (const struct flag_spec *s = specs; s && s->name; s++) {
		if (s->hidden)
			continue;
		char left[96];
		const char *kind = s->type == FLAG_BOOL ? "" : s->type == FLAG_INT ? "=int"
							 : s->type == FLAG_DURATION ? "=duration"
										    : "=string";
		if (s->defval)
			snprintf(left, sizeof left, "--%s=%s", s->name, s->defval);
		else
			snprintf(left, sizeof left, "--%s%s", s->name, kind);
		fprintf(out, "      %-36s %s\n", left, s->help ? s->help : "");
	}
}
