/* rkt-privhelper-render --dir D --local-config L --system-config S
 *                       [--allow-unsigned] IMAGE_KEY
 * Started by rkt-privhelper-session (as root) for one image; prints
 *   tree=<treeID> signed=<0|1> image=<key> name=<image name>
 *   dep=<key>            (one per dependency, in the order applied)
 * and exits 0, or prints one error line on stderr and exits 254. It parses
 * untrusted archives, so it is a sandboxed leaf (DESIGN §2 rule 5):
 * no_new_privs and only the capabilities extraction needs. */
#include <cap-ng.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "privhelper/render/render.h"

#define PROG "rkt-privhelper-render"
#define EXIT_FAIL 254

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, PROG ": ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	return -1;
}

static bool key_valid(const char *key)
{
	size_t pl = strlen(APPC_ID_PREFIX);
	if (strncmp(key, APPC_ID_PREFIX, pl) != 0 || strlen(key) != APPC_KEY_LEN)
		return false;
	for (const char *p = key + pl; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return false;
	return true;
}

static int parse(int argc, char **argv, struct render_config *c, const char **key)
{
	*key = NULL;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--allow-unsigned")) {
			c->allow_unsigned = true;
			continue;
		}
		const char **dst = !strcmp(a, "--dir")		 ? &c->dir
				   : !strcmp(a, "--local-config")  ? &c->local_config
				   : !strcmp(a, "--system-config") ? &c->system_config
								   : NULL;
		if (dst) {
			if (i + 1 >= argc)
				return usage_error("option \"%s\" needs a value", a);
			*dst = argv[++i];
			continue;
		}
		if (a[0] == '-' || *key)
			return usage_error("unexpected argument \"%s\"", a);
		*key = a;
	}
	if (!c->dir || !c->local_config || !c->system_config || !*key)
		return usage_error("%s", "usage: " PROG " --dir D --local-config L "
					 "--system-config S [--allow-unsigned] IMAGE_KEY");
	const char *abs[] = { c->dir, c->local_config, c->system_config };
	for (size_t i = 0; i < sizeof abs / sizeof abs[0]; i++)
		if (abs[i][0] != '/')
			return usage_error("\"%s\" is not an absolute path", abs[i]);
	if (!key_valid(*key))
		return usage_error("invalid image ID \"%s\" (want sha512- and 64 lowercase hex digits)",
				   *key);
	return 0;
}

/* Keeps what extraction of a verified tree needs: chown to the archive's
 * owners, set modes and times on files owned by others, keep setid bits,
 * and read the group rkt's store; everything else goes, bounding set
 * included, so neither this process nor gpg (which gpgme runs) can regain
 * it. */
static int sandbox(void)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		fprintf(stderr, PROG ": setting no_new_privs: %s\n", strerror(errno));
		return -1;
	}
	capng_clear(CAPNG_SELECT_BOTH);
	if (capng_updatev(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED | CAPNG_BOUNDING_SET,
			  CAP_CHOWN, CAP_FOWNER, CAP_FSETID, CAP_DAC_OVERRIDE, -1) < 0 ||
	    capng_apply(CAPNG_SELECT_BOTH) < 0) {
		fprintf(stderr, PROG ": dropping capabilities failed\n");
		return -1;
	}
	return 0;
}

/* tree/by-image/<key> names the tree of an image without dependencies, so
 * the session can find it without starting this program (whose libraries
 * cost more than the rest of a prepare). Images with dependencies are left
 * out: their tree depends on what the store resolves each dependency to. A
 * failure only costs the fast path. */
static void remember_tree(const struct render_config *cfg, const char *key,
			  const struct render_result *res)
{
	_cleanup_free_ char *dir = xasprintf("%s/tree/by-image", cfg->dir);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return;
	_cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return;
	_cleanup_free_ char *line = xasprintf("%s %d\n", res->tree_id, res->is_signed ? 1 : 0);
	struct rkt_err ignored = { 0 };
	(void)write_file_atomic_at(dfd, key, line, strlen(line), 0600, &ignored);
}

int main(int argc, char **argv)
{
	struct render_config cfg = { 0 };
	const char *key;
	if (parse(argc, argv, &cfg, &key) < 0)
		return EXIT_FAIL;
	if (geteuid() != 0) {
		fprintf(stderr, PROG ": must run as root (it is started by rkt-privhelper)\n");
		return EXIT_FAIL;
	}
	if (sandbox() < 0)
		return EXIT_FAIL;
	/* Extraction sets every mode explicitly; files of our own are 0600. */
	umask(022);
	struct rkt_err err = { 0 };
	struct render_result res;
	if (render_image(&cfg, key, &res, &err) < 0) {
		fprintf(stderr, PROG ": %s\n", err.msg);
		return EXIT_FAIL;
	}
	if (!res.deps || !res.deps[0])
		remember_tree(&cfg, key, &res);
	printf("tree=%s signed=%d image=%s name=%s\n", res.tree_id, res.is_signed ? 1 : 0, key,
	       res.name);
	for (char **d = res.deps; d && *d; d++)
		printf("dep=%s\n", *d);
	render_result_done(&res);
	return fflush(stdout) == 0 && !ferror(stdout) ? 0 : EXIT_FAIL;
}
