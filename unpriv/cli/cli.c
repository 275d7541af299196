#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/util.h"
#include "unpriv/config/paths.h"

struct global_opts g_opts;
static const struct command *current_table;

static const struct flag_spec global_flags[] = {
	{ "dir", FLAG_STRING, &g_opts.dir, "rkt data directory", "/var/lib/rkt", .seen = &g_opts.dir_set },
	{ "system-config", FLAG_STRING, &g_opts.system_config, "system configuration directory", RKT_LIBDIR "/rkt" },
	{ "local-config", FLAG_STRING, &g_opts.local_config, "local configuration directory", "/etc/rkt" },
	{ "user-config", FLAG_STRING, &g_opts.user_config, "user configuration directory", "" },
	{ "insecure-options", FLAG_STRING_LIST, &g_opts.insecure_list,
	  "comma-separated list of security features to disable: none,image,tls,ondisk,http,pubkey,capabilities,paths,seccomp,all-fetch,all-run,all",
	  "none", .split = true },
	{ "trust-keys-from-https", FLAG_BOOL, &g_opts.trust_keys_from_https,
	  "automatically trust gpg keys fetched from https", "false" },
	{ "debug", FLAG_BOOL, &g_opts.debug, "print out more debug information to stderr", "false" },
	{ "privhelper-socket", FLAG_STRING, &g_opts.privhelper_socket,
	  "path of the rkt-privhelper socket (env RKT_PRIVHELPER_SOCKET)", "/run/rkt/privhelper.sock" },
	{ "cpuprofile", FLAG_STRING, NULL, NULL, NULL, .hidden = true },
	{ "memprofile", FLAG_STRING, NULL, NULL, NULL, .hidden = true },
	{ .name = NULL },
};


const struct command *cli_current_table(void) { return current_table; }

static int parse_insecure(struct rkt_err *err)
{
	static const struct {
		const char *name;
		unsigned bits;
	} opts[] = {
		{ "none", 0 },
		{ "image", INSECURE_IMAGE },
		{ "tls", INSECURE_TLS },
		{ "ondisk", INSECURE_ONDISK },
		{ "http", INSECURE_HTTP },
		{ "pubkey", INSECURE_PUBKEY },
		{ "capabilities", INSECURE_CAPABILITIES },
		{ "paths", INSECURE_PATHS },
		{ "seccomp", INSECURE_SECCOMP },
		{ "all-fetch", INSECURE_IMAGE | INSECURE_TLS | INSECURE_HTTP | INSECURE_PUBKEY },
		{ "all-run", INSECURE_CAPABILITIES | INSECURE_PATHS | INSECURE_SECCOMP },
		{ "all", ~0u },
	};
	g_opts.insecure = 0;
	for (size_t i = 0; g_opts.insecure_list && g_opts.insecure_list[i]; i++) {
		const char *v = g_opts.insecure_list[i];
		size_t k;
		for (k = 0; k < sizeof opts / sizeof opts[0]; k++)
			if (strcmp(v, opts[k].name) == 0)
				break;
		if (k == sizeof opts / sizeof opts[0])
			return rkt_error(err, EINVAL,
					 "invalid argument \"%s\" for \"--insecure-options\" flag: unknown option \"%s\" (valid: none,image,tls,ondisk,http,pubkey,capabilities,paths,seccomp,all-fetch,all-run,all)",
					 v, v);
		g_opts.insecure |= opts[k].bits;
	}
	return 0;
}

static char *absolute_path(const char *p)
{
	char resolved[PATH_MAX];
	if (realpath(p, resolved))
		return xstrdup(resolved);
	if (p[0] == '/')
		return xstrdup(p);
	char cwd[PATH_MAX];
	if (!getcwd(cwd, sizeof cwd))
		return xstrdup(p);
	return xasprintf("%s/%s", cwd, p);
}

/* An empty --dir would be made absolute as the current directory, and an
 * empty config dir would put "/" under its subdirectories: refused. */
static int refuse_empty_dirs(struct rkt_err *err)
{
	const struct {
		const char *flag, *value;
	} dirs[] = {
		{ "dir", g_opts.dir },
		{ "system-config", g_opts.system_config },
		{ "local-config", g_opts.local_config },
	};
	for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++)
		if (dirs[i].value && !*dirs[i].value)
			return rkt_error(err, EINVAL, "invalid argument \"\" for \"--%s\" flag: must not be empty",
					 dirs[i].flag);
	return 0;
}

static int finalize_globals(struct rkt_err *err)
{
	int r = parse_insecure(err);
	if (r < 0)
		return r;
	r = refuse_empty_dirs(err);
	if (r < 0)
		return r;
	log_set_debug(g_opts.debug);
	if (!g_opts.system_config)
		g_opts.system_config = xstrdup(RKT_LIBDIR "/rkt");
	if (!g_opts.local_config)
		g_opts.local_config = xstrdup("/etc/rkt");
	if (g_opts.user_config && !*g_opts.user_config) {
		free(g_opts.user_config);
		g_opts.user_config = NULL;
	}
	if (!g_opts.dir_set) {
		/* paths.d "data" chooses the data dir when --dir is not given (rkt) */
		_cleanup_free_ char *data = NULL;
		r = config_paths_data_dir(&data, err);
		if (r < 0)
			return r;
		free(g_opts.dir);
		g_opts.dir = data ? TAKE_PTR(data) : xstrdup("/var/lib/rkt");
	}
	char *abs = absolute_path(g_opts.dir);
	free(g_opts.dir);
	g_opts.dir = abs;
	if (!g_opts.privhelper_socket) {
		const char *env = getenv("RKT_PRIVHELPER_SOCKET");
		g_opts.privhelper_socket = xstrdup(env && *env ? env : "/run/rkt/privhelper.sock");
	}
	return 0;
}

/* Cobra-style lookup: exact name, else a unique prefix of a visible command. */
static const struct command *find_command(const struct command *table, const char *group,
					  const char *word, bool *ambiguous)
{
	const struct command *found = NULL;
	size_t glen = group ? strlen(group) : 0;
	*ambiguous = false;
	for (int pass = 0; pass < 2; pass++) {
		for (const struct command *c = table; c->name; c++) {
			const char *n = c->name;
			if (group) {
				if (strncmp(n, group, glen) != 0 || n[glen] != ' ')
					continue;
				n += glen + 1;
			} else if (strchr(n, ' '))
				continue;
			if (pass == 0 ? strcmp(n, word) == 0
				      : (!c->hidden && str_has_prefix(n, word) && *word)) {
				if (pass == 0)
					return c;
				if (found) {
					*ambiguous = true;
					return NULL;
				}
				found = c;
			}
		}
	}
	return found;
}

static bool is_group(const struct command *table, const char *word)
{
	size_t l = strlen(word);
	for (const struct command *c = table; c->name; c++)
		if (strncmp(c->name, word, l) == 0 && c->name[l] == ' ')
			return true;
	return false;
}

void cli_print_usage(const struct command *table, FILE *out)
{
	fprintf(out, "NAME:\n\trkt - rkt, the application container runner (split-privilege)\n\n");
	fprintf(out, "USAGE:\n\trkt [command]\n\nVERSION:\n\t%s\n\nCOMMANDS:\n", RKT_VERSION);
	for (const struct command *c = table; c->name; c++)
		if (!c->hidden)
			fprintf(out, "\t%-24s%s\n", c->name, c->summary ? c->summary : "");
	fprintf(out, "\nGLOBAL OPTIONS:\n");
	flags_print_help(global_flags, out);
	fprintf(out, "\nRun 'rkt help COMMAND' or 'rkt COMMAND --help' for a command's options.\n");
}

static void print_command_help(const struct command *c, FILE *out)
{
	fprintf(out, "NAME:\n\trkt %s - %s\n\nUSAGE:\n\trkt %s [flags] %s\n", c->name,
		c->summary ? c->summary : "", c->name, c->usage ? c->usage : "");
	if (c->flags && c->flags->name) {
		fprintf(out, "\nOPTIONS:\n");
		flags_print_help(c->flags, out);
	}
	fprintf(out, "\nGLOBAL OPTIONS:\n");
	flags_print_help(global_flags, out);
}

char *cli_find_program(const char *name)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n > 0) {
		self[n] = '\0';
		char *slash = strrchr(self, '/');
		if (slash) {
			*slash = '\0';
			char *p = xasprintf("%s/%s", self, name);
			if (access(p, X_OK) == 0)
				return p;
			free(p);
		}
	}
	const char *dirs[] = { RKT_LIBEXECDIR "/rkt", RKT_BINDIR };
	for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
		char *p = xasprintf("%s/%s", dirs[i], name);
		if (access(p, X_OK) == 0)
			return p;
		free(p);
	}
	return NULL;
}

static int exec_worker(const struct command *c, int argc, char **argv, const char *progname)
{
	_cleanup_free_ char *path = cli_find_program(c->worker);
	if (!path) {
		fprintf(stderr, "%s: cannot find %s beside %s or in %s/rkt\n", c->name, c->worker,
			progname, RKT_LIBEXECDIR);
		return EXIT_RKT_FAILURE;
	}
	char **nargv = xcalloc((size_t)argc + 1, sizeof *nargv);
	nargv[0] = (char *)c->worker;
	for (int i = 1; i < argc; i++)
		nargv[i] = argv[i];
	execv(path, nargv);
	fprintf(stderr, "%s: exec %s: %s\n", c->name, path, strerror(errno));
	free(nargv);
	return EXIT_RKT_FAILURE;
}

static const char *prefix_of(const struct command *c, char *buf, size_t len)
{
	if (c->log_prefix)
		return c->log_prefix;
	snprintf(buf, len, "%s", c->name);
	char *sp = strchr(buf, ' ');
	if (sp)
		*sp = '\0';
	return buf;
}

int cli_main(int argc, char **argv, const struct command *table, const char *progname)
{
	struct rkt_err err = { 0 };
	_cleanup_strv_ char **pos = NULL;
	const struct flag_spec *globals_only[] = { global_flags, NULL };
	current_table = table;

	/* Global flags before the command word: parsing stops at the first
	 * positional, and everything from there on comes back verbatim. */
	int r = flags_parse(globals_only, argc - 1, argv + 1, false, false, &pos, &err);
	if (r == -ECANCELED) {
		cli_print_usage(table, stdout);
		return 0;
	}
	if (r < 0) {
		fprintf(stderr, "Error: %s\n", err.msg);
		return EXIT_RKT_FAILURE;
	}
	int i = argc - (int)strv_len(pos);
	if (i >= argc) {
		fprintf(stderr, "missing command\n");
		cli_print_usage(table, stderr);
		return 2;
	}
	const char *word = argv[i];
	if (strcmp(word, "help") == 0 && i + 1 < argc) {
		/* `rkt help image list` == `rkt image list --help` */
		bool amb;
		const char *grp = is_group(table, argv[i + 1]) ? argv[i + 1] : NULL;
		const struct command *c = grp && i + 2 < argc ? find_command(table, grp, argv[i + 2], &amb)
							      : find_command(table, NULL, argv[i + 1], &amb);
		if (!c) {
			fprintf(stderr, "Error: unknown help topic \"%s\"\n", argv[i + 1]);
			return EXIT_RKT_FAILURE;
		}
		print_command_help(c, stdout);
		return 0;
	}
	bool ambiguous = false;
	const struct command *cmd = NULL;
	if (is_group(table, word) && !find_command(table, NULL, word, &ambiguous)) {
		if (i + 1 >= argc || argv[i + 1][0] == '-') {
			fprintf(stderr, "%s: missing subcommand\n", word);
			return EXIT_RKT_FAILURE;
		}
		cmd = find_command(table, word, argv[i + 1], &ambiguous);
		if (!cmd) {
			fprintf(stderr, "Error: unknown command \"%s\" for \"rkt %s\"\n", argv[i + 1], word);
			return EXIT_RKT_FAILURE;
		}
		i += 2;
	} else {
		cmd = find_command(table, NULL, word, &ambiguous);
		if (!cmd) {
			fprintf(stderr, "Error: unknown command \"%s\" for \"rkt\"%s\n", word,
				ambiguous ? " (ambiguous prefix)" : "");
			fprintf(stderr, "Run 'rkt --help' for usage.\n");
			return EXIT_RKT_FAILURE;
		}
		i += 1;
	}
	if (cmd->worker && !cmd->run)
		return exec_worker(cmd, argc, argv, progname);

	const struct flag_spec empty[] = { { .name = NULL } };
	const struct flag_spec *lists[] = { cmd->flags ? cmd->flags : empty, global_flags, NULL };
	strv_free(pos);
	pos = NULL;
	r = flags_parse(lists, argc - i, argv + i, cmd->interspersed, cmd->keep_dashdash, &pos, &err);
	if (r == -ECANCELED) {
		print_command_help(cmd, stdout);
		return 0;
	}
	if (r < 0) {
		fprintf(stderr, "Error: %s\n", err.msg);
		fprintf(stderr, "Run 'rkt %s --help' for usage.\n", cmd->name);
		return EXIT_RKT_FAILURE;
	}
	char pbuf[64];
	const char *prefix = prefix_of(cmd, pbuf, sizeof pbuf);
	r = finalize_globals(&err);
	if (r < 0) {
		fprintf(stderr, "%s: %s\n", prefix, err.msg);
		return EXIT_RKT_FAILURE;
	}
	if (!pos)
		pos = xcalloc(1, sizeof *pos);
	rkt_err_clear(&err);
	r = cmd->run(cmd, pos, &err);
	if (r < 0) {
		fprintf(stderr, "%s: %s\n", prefix, err.msg[0] ? err.msg : strerror(-r));
		return EXIT_RKT_FAILURE;
	}
	fflush(stdout);
	if (ferror(stdout)) {
		fprintf(stderr, "%s: write error on stdout\n", prefix);
		return EXIT_RKT_FAILURE;
	}
	return r;
}
