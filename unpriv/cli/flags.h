/* Command-line flags the way rkt's cobra/pflag parse them: --name=value,
 * --name value, bare --name for booleans (--name=false to clear) and for
 * flags with a noopt_value (pflag's NoOptDefVal), "--" ends flags. Global
 * (persistent) flags are accepted before or after the command. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "common/err.h"

enum flag_type {
	FLAG_BOOL,
	FLAG_STRING,      /* char **: last one wins */
	FLAG_STRING_LIST, /* char ***: NULL-terminated, repeatable, comma-split when .split */
	FLAG_INT,         /* long * */
	FLAG_DURATION,    /* int64_t * nanoseconds; Go syntax ("30m0s") */
};

struct flag_spec {
	const char *name; /* without leading dashes */
	enum flag_type type;
	void *ptr;
	const char *help;
	const char *defval; /* shown in help */
	bool hidden;
	bool split;      /* FLAG_STRING_LIST: split values at commas */
	char shortname;  /* one-letter alias, 0 for none */
	bool *seen;      /* set true when the flag appears */
	/* FLAG_BOOL may also take "=duration" (status --wait=10s) when this is set */
	char **raw_value;
	/* Optional value (pflag NoOptDefVal): bare --name means this value and
	 * never takes the next argument; only --name=VALUE gives another. */
	const char *noopt_value;
};

/* Parses argv[*argi..argc) against the specs (an array ended by name==NULL;
 * several arrays may be passed through specs_list, ended by NULL).
 * Positionals are appended to *ret_args. When interspersed is false, the first
 * positional ends flag parsing (rkt's run/prepare/fetch: options precede images).
 * "--" is kept in ret_args when keep_dashdash is true (image argument syntax).
 * Returns 0, or a negative errno with err naming the flag. -ECANCELED means
 * --help was asked for. */
int flags_parse(const struct flag_spec *const *specs_list, int argc, char **argv,
		bool interspersed, bool keep_dashdash, char ***ret_args, struct rkt_err *err);
/* Prints "  --name=default  help" lines for non-hidden specs. */
void flags_print_help(const struct flag_spec *specs, FILE *out);
