/* rkt image render IMAGE OUTPUT_DIR: the image with its dependencies
 * applied depth-first in listed order, later layers overriding earlier ones
 * (A->[B,C], C->[D] gives B, D, C, A), each filtered by pathWhitelist
 * (appc-oci.md §1 Dependencies). Missing dependencies are fetched. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "common/cleanup.h"
#include "common/manifest.h"
#include "common/util.h"
#include "common/aci_archive.h"
#include "unpriv/fetch/fetch.h"
#include "unpriv/store/store.h"

/* Deeper than any real image; stops dependency cycles. */
#define MAX_DEPENDENCY_DEPTH 32

static bool opt_overwrite, opt_rootfs_only;

const struct flag_spec image_render_flags[] = {
	{ .name = "overwrite", .type = FLAG_BOOL, .ptr = &opt_overwrite,
	  .help = "overwrite output directory", .defval = "false" },
	{ .name = "rootfs-only", .type = FLAG_BOOL, .ptr = &opt_rootfs_only,
	  .help = "render rootfs only", .defval = "false" },
	{ .name = NULL },
};

static void cleanup_manifestp(struct image_manifest **m)
{
	image_manifest_free(*m);
}

static int load_manifest(struct store *s, const char *key, struct image_manifest **ret,
			 struct rkt_err *err)
{
	struct store_image img = { 0 };
	bool found = false;
	int r = store_get_image(s, key, &img, &found, err);
	if (r < 0)
		return r;
	if (!found) {
		store_image_done(&img);
		return rkt_error(err, ENOENT, "image %s is not in the store", key);
	}
	r = image_manifest_parse(img.manifest_json, strlen(img.manifest_json), ret, err);
	store_image_done(&img);
	if (r < 0)
		return rkt_error_wrap(err, "image %s", key);
	return 0;
}

/* "name,label=value,..." for fetch_image(). */
static char *dependency_arg(const struct appc_dependency *d)
{
	size_t len = strlen(d->image_name) + 1;
	for (size_t i = 0; i < d->n_labels; i++)
		len += strlen(d->labels[i].name) + strlen(d->labels[i].value) + 2;
	char *arg = xmalloc(len);
	char *p = stpcpy(arg, d->image_name);
	for (size_t i = 0; i < d->n_labels; i++)
		p += sprintf(p, ",%s=%s", d->labels[i].name, d->labels[i].value);
	return arg;
}

static int resolve_dependency(struct store *s, const struct appc_dependency *d,
			      char key[APPC_KEY_LEN + 1], struct rkt_err *err)
{
	_cleanup_free_ char *arg = NULL;
	if (d->image_id) {
		/* An imageID pins the dependency: the reference resolves by ID only. */
		struct rkt_err ignored = { 0 };
		if (store_resolve_id(s, d->image_id, key, &ignored) == 0)
			return 0;
		arg = xstrdup(d->image_id);
	} else {
		bool found = false;
		int r = store_find_by_name(s, d->image_name, d->labels, d->n_labels, key, &found,
					   err);
		if (r < 0)
			return r;
		if (found)
			return 0;
		arg = dependency_arg(d);
	}
	struct fetch_opts o = {
		.pull = PULL_NEW,
		.insecure = g_opts.insecure,
		.trust_keys_from_https = g_opts.trust_keys_from_https,
		.progress = true,
	};
	int r = fetch_image(s, arg, &o, key, err);
	if (r < 0)
		return rkt_error_wrap(err, "dependency \"%s\"", arg);
	return 0;
}

static int render_image(struct store *s, const char *key, int dest_fd, unsigned flags,
			char *const *inherited_wl, int depth, struct rkt_err *err)
{
	if (depth > MAX_DEPENDENCY_DEPTH)
		return rkt_error(err, ELOOP, "image %s: dependencies nest deeper than %d (a cycle?)",
				 key, MAX_DEPENDENCY_DEPTH);
	__attribute__((cleanup(cleanup_manifestp))) struct image_manifest *m = NULL;
	int r = load_manifest(s, key, &m, err);
	if (r < 0)
		return r;
	bool own_wl = m->path_whitelist && m->path_whitelist[0];
	char *const *wl = own_wl ? m->path_whitelist : inherited_wl;
	for (size_t i = 0; i < m->n_dependencies; i++) {
		char dep_key[APPC_KEY_LEN + 1];
		r = resolve_dependency(s, &m->dependencies[i], dep_key, err);
		if (r < 0)
			return r;
		/* A dependency's manifest is overwritten by the top image's, last. */
		r = render_image(s, dep_key, dest_fd, flags, wl, depth + 1, err);
		if (r < 0)
			return r;
	}
	unsigned eflags = flags;
	/* An ancestor's whitelist filters a dependency's directories too. */
	if (!own_wl && wl && wl[0])
		eflags |= ACI_EXTRACT_WHITELIST_DIRS;
	return image_extract_blob(s, key, dest_fd, eflags, wl, err);
}

static int render_fill(struct store *s, const char *key, int dest_fd, unsigned flags,
		       struct rkt_err *err)
{
	return render_image(s, key, dest_fd, flags, NULL, 0, err);
}

int cmd_image_render(const struct command *cmd, char **args, struct rkt_err *err)
{
	(void)cmd;
	return image_output_run(args, opt_overwrite, opt_rootfs_only, render_fill, err);
}
