/* rkt image gc [--grace-period=24h0m0s]: removes images not used within the
 * grace period, except those a running pod references, and temp files that
 * killed imports left in cas/tmp. Then asks the helper to remove the
 * rendered trees (<dir>/tree, root's) that no pod references; a non-root
 * caller without a reachable or willing helper gets a warning, not a
 * failure, since the store half is done. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "common/cleanup.h"
#include "common/log.h"
#include "common/util.h"
#include "unpriv/cli/privhelper_client.h"
#include "unpriv/store/store.h"

#define DEFAULT_GRACE_NS (24LL * 3600 * 1000000000LL)
#define TMP_IN_USE_NS (60LL * 1000000000LL)

static int64_t opt_grace = DEFAULT_GRACE_NS;

const struct flag_spec image_gc_flags[] = {
	{ "grace-period", FLAG_DURATION, &opt_grace,
	  "duration to wait since an image was last used before removing it", "24h0m0s" },
	{ .name = NULL },
};

/* Image IDs the pod manifests under pods/run name (apps[].image.id). */
static char **running_pod_images(void)
{
	char **ids = NULL;
	_cleanup_free_ char *run = xasprintf("%s/pods/run", g_opts.dir);
	_cleanup_closedir_ DIR *d = opendir(run);
	if (!d)
		return NULL;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		_cleanup_free_ char *path = xasprintf("%s/%s/pod", run, de->d_name);
		json_t *root = json_load_file(path, 0, NULL);
		size_t i;
		json_t *app;
		json_array_foreach(json_object_get(root, "apps"), i, app) {
			const char *id = json_string_value(
				json_object_get(json_object_get(app, "image"), "id"));
			if (id)
				ids = strv_append(ids, id);
		}
		json_decref(root);
	}
	return ids;
}

static bool in_use(char *const *ids, const char *key)
{
	for (size_t i = 0; ids && ids[i]; i++)
		if (strncmp(ids[i], key, APPC_KEY_LEN) == 0)
			return true;
	return false;
}

/* 0, or 1 when a tree could not be removed or the helper failed. */
static int collect_trees(const char *prefix)
{
	struct rkt_err e = { 0 };
	size_t failures = 0;
	int r = gc_request(prefix, IPC_GC_TREES, 0, 0, &failures, &e);
	if (r < 0 && geteuid() != 0 && (r == -ENOENT || r == -EACCES || r == -EPERM)) {
		log_warn("rendered trees were not collected: %s", e.msg);
		return 0;
	}
	if (r < 0) {
		log_line(prefix, "%s", e.msg);
		return 1;
	}
	return failures ? 1 : 0;
}

int cmd_image_gc(const struct command *cmd, char **args, struct rkt_err *err)
{
	const char *prefix = cmd->log_prefix ? cmd->log_prefix : "gc";
	if (args[0])
		return rkt_error(err, EINVAL, "unexpected argument \"%s\"", args[0]);
	if (opt_grace < 0)
		return rkt_error(err, EINVAL, "--grace-period must not be negative");
	struct store *s = NULL;
	int r = store_open(g_opts.dir, &s, err);
	if (r < 0)
		return rkt_error_wrap(err, "cannot open store");
	int64_t cutoff = now_realtime_ns() - opt_grace;
	struct store_image *imgs = NULL;
	size_t n = 0, done = 0, failed = 0;
	r = store_list_images(s, &imgs, &n, err);
	if (r < 0) {
		store_close(s);
		return rkt_error_wrap(err, "unable to get aci infos");
	}
	_cleanup_strv_ char **running = running_pod_images();
	for (size_t i = 0; i < n; i++) {
		if (imgs[i].last_used_ns > cutoff || in_use(running, imgs[i].key))
			continue;
		struct rkt_err e = { 0 };
		if (store_remove_image(s, imgs[i].key, &e) < 0) {
			fprintf(stderr, "%s: error removing aci for image \"%s\": %s\n", prefix,
				imgs[i].key, e.msg);
			failed++;
			continue;
		}
		printf("successfully removed aci for image: \"%s\"\n", imgs[i].key);
		done++;
	}
	store_images_free(imgs, n);
	fflush(stdout);
	if (done > 0)
		fprintf(stderr, "%s: %zu image(s) successfully removed\n", prefix, done);
	size_t stale = 0;
	struct rkt_err e = { 0 };
	/* A live import rewrites its temp file continuously; one touched in the
	 * last minute is in use even with --grace-period=0. */
	int64_t tmp_cutoff = now_realtime_ns() - TMP_IN_USE_NS;
	if (cutoff < tmp_cutoff)
		tmp_cutoff = cutoff;
	bool tmp_failed = store_clean_tmp(s, tmp_cutoff, &stale, &e) < 0;
	if (tmp_failed)
		fprintf(stderr, "%s: %s\n", prefix, e.msg);
	else if (stale > 0) {
		fprintf(stderr, "%s: removed %zu stale temporary file(s) from %s/cas/tmp\n", prefix,
			stale, g_opts.dir);
	}
	store_close(s);
	if (failed > 0)
		fprintf(stderr, "%s: %zu image(s) cannot be removed\n", prefix, failed);
	bool trees_failed = collect_trees(prefix) != 0;
	return failed > 0 || tmp_failed || trees_failed ? EXIT_RKT_FAILURE : 0;
}
