/* The rkt command line: global options, the command table both programs
 * (rkt and rkt-fetch) dispatch from, and the shared main loop. */
#pragma once
#include <stdbool.h>

#include "common/err.h"
#include "unpriv/cli/flags.h"

/* rkt's --insecure-options values (rkt/flag/secflags.go). */
enum insecure_opt {
	INSECURE_IMAGE = 1u << 0,
	INSECURE_TLS = 1u << 1,
	INSECURE_ONDISK = 1u << 2,
	INSECURE_HTTP = 1u << 3,
	INSECURE_PUBKEY = 1u << 4,
	INSECURE_CAPABILITIES = 1u << 5,
	INSECURE_PATHS = 1u << 6,
	INSECURE_SECCOMP = 1u << 7,
};

struct global_opts {
	char *dir;           /* absolute; default /var/lib/rkt */
	char *system_config; /* default RKT_LIBDIR/rkt */
	char *local_config;  /* default /etc/rkt */
	char *user_config;   /* optional */
	char **insecure_list;
	unsigned insecure; /* enum insecure_opt bits */
	bool trust_keys_from_https;
	bool debug;
	char *privhelper_socket;
	bool dir_set; /* --dir given explicitly (else paths.d may choose) */
};

/* The one instance, filled by cli_main before a command runs. */
extern struct global_opts g_opts;

struct command {
	const char *name;    /* "fetch", "image list" */
	const char *usage;   /* "IMAGE..." */
	const char *summary; /* one line for `rkt help` */
	const struct flag_spec *flags;
	bool interspersed;  /* false: options must precede positionals */
	bool keep_dashdash; /* image argument syntax IMG -- args --- IMG2 */
	/* Returns the exit code; a negative return prints err as one line
	 * "<prefix>: <message>" and exits 254. */
	int (*run)(const struct command *cmd, char **args, struct rkt_err *err);
	/* Set when another program of ours implements the command: rkt execs it. */
	const char *worker;
	bool hidden;
	const char *log_prefix; /* default: the command's first word */
};

#define EXIT_RKT_FAILURE 254

/* Parses global flags and the command, then runs it. table ends with name==NULL. */
int cli_main(int argc, char **argv, const struct command *table, const char *progname);
/* Usage text of the whole program (also `rkt help`). */
void cli_print_usage(const struct command *table, FILE *out);
/* Finds one of our programs: beside the running binary first, then where
 * `make install` puts helpers (RKT_LIBEXECDIR/rkt), then RKT_BINDIR.
 * Returns a heap path or NULL. */
char *cli_find_program(const char *name);
/* The command table the running program dispatches from (set by cli_main). */
const struct command *cli_current_table(void);
