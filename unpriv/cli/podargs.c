/* rkt's image arguments, per-app flags and the runtime pod manifest built
 * from them (podargs.h). */
#include "podargs.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/manifest.h"
#include "common/util.h"
#include "unpriv/cli/cli.h"
#include "unpriv/store/store.h"

#define POD_AC_VERSION "0.8.11"
#define ENV_FILE_MAX (1u << 20)
#define FETCH_OUT_MAX 4096

/* What cli_main's flag parse fills: pod-wide flags, and per-app flags that
 * came before the first image. podargs_finish moves it all out. */
static struct podargs pre;
static struct podargs_app pre_app;

const struct flag_spec podargs_flags[] = {
	/* per-app: apply to the preceding image */
	{ "exec", FLAG_STRING, &pre_app.exec, "override the exec command for the preceding image", "" },
	{ "user", FLAG_STRING, &pre_app.user, "user override for the preceding image (name, number or path)", "" },
	{ "group", FLAG_STRING, &pre_app.group, "group override for the preceding image (name, number or path)", "" },
	{ "supplementary-gids", FLAG_STRING, &pre_app.supplementary_gids, "supplementary group IDs override for the preceding image (e.g. '2,3,4')", "" },
	{ "name", FLAG_STRING, &pre_app.name, "set the name of the app (default: the image name's last component)", "" },
	{ "working-dir", FLAG_STRING, &pre_app.working_dir, "override the working directory of the preceding image", "" },
	{ "readonly-rootfs", FLAG_BOOL, &pre_app.readonly_rootfs, "mount the app's rootfs read-only", "false" },
	{ "mount", FLAG_STRING_LIST, &pre_app.mounts, "mount point binding a volume to a path within an app (volume=NAME,target=PATH)", "" },
	{ "environment", FLAG_STRING_LIST, &pre_app.environment, "set the app's environment variables (example: '--environment=FOO=BAR')", "" },
	{ "signature", FLAG_STRING, &pre_app.signature, "local signature file to use in validating the preceding image", "" },
	{ "memory", FLAG_STRING, &pre_app.memory, "memory limit for the preceding image (example: '--memory=16Mi', '--memory=50M', '--memory=1G')", "" },
	{ "cpu", FLAG_STRING, &pre_app.cpu, "cpu limit for the preceding image (example: '--cpu=500m')", "" },
	{ "cpu-shares", FLAG_STRING, &pre_app.cpu_shares, "cpu-shares assigns the specified CPU time share weight (example: '--cpu-shares=2048')", "" },
	{ "caps-retain", FLAG_STRING, &pre_app.caps_retain, "capability to retain (example: '--caps-retain=CAP_SYS_ADMIN')", "" },
	{ "caps-remove", FLAG_STRING, &pre_app.caps_remove, "capability to remove (example: '--caps-remove=CAP_MKNOD')", "" },
	{ "seccomp", FLAG_STRING, &pre_app.seccomp, "seccomp filter override (example: '--seccomp mode=retain,errno=EPERM,chmod,chown')", "" },
	{ "oom-score-adj", FLAG_STRING, &pre_app.oom_score_adj, "oom-score-adj isolator override", "" },
	{ "annotation", FLAG_STRING_LIST, &pre_app.annotations, "set the app's annotations (example: '--annotation=foo=bar')", "" },
	{ "user-annotation", FLAG_STRING_LIST, &pre_app.user_annotations, "set the app's user annotations (example: '--user-annotation=foo=bar')", "" },
	{ "user-label", FLAG_STRING_LIST, &pre_app.user_labels, "set the app's user labels (example: '--user-label=foo=bar')", "" },
	/* pod-wide */
	{ "set-env", FLAG_STRING_LIST, &pre.set_env, "an environment variable to set for apps in the form name=value", "" },
	{ "set-env-file", FLAG_STRING_LIST, &pre.set_env_files, "path to an environment variables file", "" },
	{ "inherit-env", FLAG_BOOL, &pre.inherit_env, "inherit all environment variables not set by apps", "false" },
	{ "volume", FLAG_STRING_LIST, &pre.volumes, "volumes to mount into the pod (NAME,kind=host,source=PATH[,readOnly=B][,recursive=B] or NAME,kind=empty[,mode=0755][,uid=0][,gid=0])", "" },
	{ "port", FLAG_STRING_LIST, &pre.ports, "ports to expose on the host (NAME:[HOSTIP:]HOSTPORT)", "" },
	{ "pod-manifest", FLAG_STRING, &pre.pod_manifest, "the path to the pod manifest; if set, images and app flags are not allowed", "" },
	{ "pull-policy", FLAG_STRING, &pre.pull_policy, "when to pull an image: never, new, update", "new", .seen = &pre.pull_policy_set },
	{ "stage1-name", FLAG_STRING, &pre.stage1_name, "the stage1 flavor to use", "ns", .seen = &pre.stage1_name_set },
	{ "stage1-path", FLAG_STRING, &pre.stage1_path, "the stage1 flavor directory to use (root only; under <system-config>/stage1)", "" },
	{ "no-overlay", FLAG_BOOL, &pre.no_overlay, "disable overlay filesystem", "false" },
	{ "private-users", FLAG_BOOL, &pre.private_users, "run within user namespaces", "false" },
	{ "quiet", FLAG_BOOL, &pre.quiet, "suppress superfluous output on stdout, print only the UUID on success", "false" },
	{ "uuid-file-save", FLAG_STRING, &pre.uuid_file_save, "write out pod UUID to specified file", "" },
	/* deprecated spellings rkt still accepts (apply_store_flags) */
	{ "store-only", FLAG_BOOL, &pre.store_only, "use only available images in the store (deprecated: --pull-policy=never)", "false", .hidden = true },
	{ "no-store", FLAG_BOOL, &pre.no_store, "fetch images, ignoring the local store (deprecated: --pull-policy=update)", "false", .hidden = true },
	{ .name = NULL },
};

static bool is_app_spec(const struct flag_spec *s)
{
	const char *p = s->ptr, *lo = (const char *)&pre_app;
	return p && p >= lo && p < lo + sizeof pre_app;
}

static void app_done(struct podargs_app *a)
{
	free(a->image);
	strv_free(a->args);
	free(a->exec);
	free(a->user);
	free(a->group);
	free(a->supplementary_gids);
	free(a->name);
	free(a->working_dir);
	strv_free(a->mounts);
	strv_free(a->environment);
	free(a->signature);
	free(a->memory);
	free(a->cpu);
	free(a->cpu_shares);
	free(a->oom_score_adj);
	free(a->caps_retain);
	free(a->caps_remove);
	free(a->seccomp);
	strv_free(a->annotations);
	strv_free(a->user_annotations);
	strv_free(a->user_labels);
	memset(a, 0, sizeof *a);
}

void podargs_done(struct podargs *pa)
{
	for (size_t i = 0; i < pa->n_apps; i++)
		app_done(&pa->apps[i]);
	free(pa->apps);
	strv_free(pa->mounts);
	strv_free(pa->set_env);
	strv_free(pa->set_env_files);
	strv_free(pa->volumes);
	strv_free(pa->ports);
	free(pa->pod_manifest);
	free(pa->pull_policy);
	free(pa->stage1_name);
	free(pa->stage1_path);
	free(pa->uuid_file_save);
	memset(pa, 0, sizeof *pa);
}

static void statics_reset(void)
{
	podargs_done(&pre);
	app_done(&pre_app);
}

/* The first per-app flag (other than --mount) set in a; NULL if none. */
static const char *app_flag_set(const struct podargs_app *a)
{
	for (const struct flag_spec *s = podargs_flags; s->name; s++) {
		if (!is_app_spec(s) || !strcmp(s->name, "mount"))
			continue;
		const char *field = (const char *)a + ((const char *)s->ptr - (const char *)&pre_app);
		bool set = s->type == FLAG_BOOL ? *(const bool *)field : *(char *const *)field != NULL;
		if (set)
			return s->name;
	}
	return NULL;
}

static size_t add_app(struct podargs *pa, const char *image)
{
	pa->apps = xrealloc(pa->apps, (pa->n_apps + 1) * sizeof *pa->apps);
	memset(&pa->apps[pa->n_apps], 0, sizeof *pa->apps);
	pa->apps[pa->n_apps].image = xstrdup(image);
	return pa->n_apps++;
}

/* Parses the flags in argv[0..n) for app a (pod-wide flags are accepted
 * too, as rkt's parser takes them anywhere); returns how many tokens it
 * consumed, or a negative errno. */
static int parse_app_flags(struct podargs_app *a, int n, char **argv, struct rkt_err *err)
{
	size_t count = 0;
	while (podargs_flags[count].name)
		count++;
	_cleanup_free_ struct flag_spec *specs = xcalloc(count + 1, sizeof *specs);
	for (size_t i = 0; i < count; i++) {
		specs[i] = podargs_flags[i];
		if (is_app_spec(&specs[i]))
			specs[i].ptr = (char *)a + ((char *)specs[i].ptr - (char *)&pre_app);
	}
	const struct flag_spec *lists[] = { specs, NULL };
	_cleanup_strv_ char **rest = NULL;
	int r = flags_parse(lists, n, argv, false, false, &rest, err);
	if (r == -ECANCELED)
		return rkt_error(err, EINVAL, "--help must come before the images");
	if (r < 0)
		return r;
	return n - (int)strv_len(rest);
}

/* rkt's deprecated --store-only / --no-store are --pull-policy=never /
 * update, whatever --pull-policy says (as in rkt fetch); being a pull
 * policy other than new, they conflict with --pod-manifest. */
static int apply_store_flags(struct podargs *pa, struct rkt_err *err)
{
	if (pa->store_only && pa->no_store)
		return rkt_error(err, EINVAL, "both --store-only and --no-store specified");
	if (!pa->store_only && !pa->no_store)
		return 0;
	free(pa->pull_policy);
	pa->pull_policy = xstrdup(pa->store_only ? "never" : "update");
	pa->pull_policy_set = true;
	return 0;
}

static int finish(char **pos, struct podargs *out, struct rkt_err *err)
{
	const char *early = app_flag_set(&pre_app);
	if (early)
		return rkt_error(err, EINVAL, "--%s must follow an image", early);
	pre.mounts = TAKE_PTR(pre_app.mounts);
	int n = (int)strv_len(pos);
	ssize_t cur = -1;
	for (int i = 0; i < n;) {
		const char *a = pos[i];
		if (!strcmp(a, "--")) {
			if (cur < 0)
				return rkt_error(err, EINVAL, "\"--\" must follow an image (IMAGE -- ARGS)");
			struct podargs_app *app = &pre.apps[cur];
			if (app->args)
				return rkt_error(err, EINVAL, "arguments for image \"%s\" given twice", app->image);
			app->args = xcalloc(1, sizeof *app->args);
			for (i++; i < n && strcmp(pos[i], "---"); i++)
				app->args = strv_append(app->args, pos[i]);
			if (i < n) { /* "---" ends the args: the next image or the end follows */
				i++;
				if (i >= n)
					break;
				if (pos[i][0] == '-')
					return rkt_error(err, EINVAL, "an image must follow \"---\"");
				cur = (ssize_t)add_app(&pre, pos[i++]);
			}
			continue;
		}
		if (!strcmp(a, "---"))
			return rkt_error(err, EINVAL, "\"---\" must follow an image's arguments (IMAGE -- ARGS --- IMAGE2)");
		if (a[0] == '-' && a[1]) {
			if (cur < 0)
				return rkt_error(err, EINVAL, "unexpected flag %s before any image", a);
			int seg = i;
			while (seg < n && strcmp(pos[seg], "--") && strcmp(pos[seg], "---"))
				seg++;
			int used = parse_app_flags(&pre.apps[cur], seg - i, pos + i, err);
			if (used < 0)
				return used;
			i += used;
			continue;
		}
		cur = (ssize_t)add_app(&pre, a);
		i++;
	}
	int r = apply_store_flags(&pre, err);
	if (r < 0)
		return r;
	*out = pre;
	memset(&pre, 0, sizeof pre);
	return 0;
}

int podargs_finish(char **positionals, struct podargs *ret, struct rkt_err *err)
{
	memset(ret, 0, sizeof *ret);
	int r = finish(positionals, ret, err);
	statics_reset();
	if (r < 0)
		podargs_done(ret);
	return r;
}

int podargs_parse(int argc, char **argv, struct podargs *ret, struct rkt_err *err)
{
	memset(ret, 0, sizeof *ret);
	statics_reset();
	const struct flag_spec *lists[] = { podargs_flags, NULL };
	_cleanup_strv_ char **pos = NULL;
	int r = flags_parse(lists, argc, argv, false, true, &pos, err);
	if (r == -ECANCELED)
		r = rkt_error(err, EINVAL, "--help asked for");
	if (r < 0) {
		statics_reset();
		return r;
	}
	return podargs_finish(pos ? pos : (char *[]){ NULL }, ret, err);
}

static bool pull_is(const struct podargs *pa, const char *p)
{
	return !strcmp(pa->pull_policy ? pa->pull_policy : "new", p);
}

int podargs_check_pod_manifest_conflicts(const struct podargs *pa, struct rkt_err *err)
{
	if (!pa->pod_manifest || !*pa->pod_manifest)
		return 0;
	if (pa->n_apps > 0 || pa->ports || pa->inherit_env || pa->set_env || pa->set_env_files ||
	    pa->volumes || pa->mounts || (pa->pull_policy_set && !pull_is(pa, "new")))
		return rkt_error(err, EINVAL, "conflicting flags set with --pod-manifest (see --help)");
	return 0;
}

void podargs_images_free(struct podargs_image *imgs, size_t n)
{
	if (!imgs)
		return;
	for (size_t i = 0; i < n; i++)
		free(imgs[i].manifest_json);
	free(imgs);
}

/* ---- manifest building ---------------------------------------------------- */

/* A key of obj matched case-insensitively, as the manifest parser does. */
static json_t *obj_get_ci(json_t *obj, const char *key)
{
	const char *k;
	json_t *v;
	json_object_foreach(obj, k, v)
		if (!strcasecmp(k, key))
			return v;
	return NULL;
}

static void obj_set_ci(json_t *obj, const char *key, json_t *val)
{
	const char *k;
	json_t *v;
	void *tmp;
	json_object_foreach_safe(obj, tmp, k, v)
		if (!strcasecmp(k, key))
			json_object_del(obj, k);
	json_object_set_new(obj, key, val);
}

static int split_kv(const char *s, const char *flag, char **ret_k, const char **ret_v,
		    struct rkt_err *err)
{
	const char *eq = strchr(s, '=');
	if (!eq || eq == s)
		return rkt_error(err, EINVAL, "invalid value \"%s\" for %s: expected NAME=VALUE", s, flag);
	*ret_k = xstrndup(s, (size_t)(eq - s));
	*ret_v = eq + 1;
	return 0;
}

/* Sets name=value in an appc environment array (replaces or appends). */
static void env_set(json_t *env, const char *name, const char *value, bool only_if_absent)
{
	size_t i;
	json_t *e;
	json_array_foreach(env, i, e) {
		json_t *n = obj_get_ci(e, "name");
		if (json_is_string(n) && !strcmp(json_string_value(n), name)) {
			if (!only_if_absent)
				obj_set_ci(e, "value", json_string(value));
			return;
		}
	}
	json_array_append_new(env, json_pack("{s:s,s:s}", "name", name, "value", value));
}

static int env_apply_list(json_t *env, char *const *list, const char *flag, bool unique,
			  struct rkt_err *err)
{
	_cleanup_strv_ char **seen = NULL;
	for (size_t i = 0; list && list[i]; i++) {
		_cleanup_free_ char *k = NULL;
		const char *v;
		int r = split_kv(list[i], flag, &k, &v, err);
		if (r < 0)
			return r;
		if (!appc_env_name_valid(k))
			return rkt_error(err, EINVAL, "invalid environment variable name \"%s\" in %s", k, flag);
		if (unique && strv_contains(seen, k))
			return rkt_error(err, EINVAL, "environment variable \"%s\" set twice with %s", k, flag);
		seen = strv_append(seen, k);
		env_set(env, k, v, false);
	}
	return 0;
}

/* --set-env-file: K=V lines, '#' and ';' start comments (rkt). */
static int env_apply_file(json_t *env, const char *path, struct rkt_err *err)
{
	_cleanup_free_ char *buf = NULL;
	size_t len;
	int r = read_file_at(AT_FDCWD, path, ENV_FILE_MAX, &buf, &len, err);
	if (r < 0)
		return rkt_error_wrap(err, "--set-env-file");
	/* strsep, not strtok_r: empty lines count in the line numbers */
	char *rest = buf;
	unsigned lineno = 0;
	for (char *line; (line = strsep(&rest, "\n"));) {
		lineno++;
		line += strspn(line, " \t");
		size_t l = strlen(line);
		while (l && (line[l - 1] == '\r' || line[l - 1] == ' ' || line[l - 1] == '\t'))
			line[--l] = '\0';
		if (!*line || *line == '#' || *line == ';')
			continue;
		char *eq = strchr(line, '=');
		if (!eq || eq == line)
			return rkt_error(err, EINVAL, "%s: line %u: expected NAME=VALUE", path, lineno);
		*eq = '\0';
		if (!appc_env_name_valid(line))
			return rkt_error(err, EINVAL, "%s: line %u: invalid environment variable name \"%s\"",
					 path, lineno, line);
		env_set(env, line, eq + 1, false);
	}
	return 0;
}

static int parse_long(const char *s, long lo, long hi, const char *flag, long *ret,
		      struct rkt_err *err)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return rkt_error(err, EINVAL, "invalid value \"%s\" for %s: expected an integer in %ld..%ld",
				 s, flag, lo, hi);
	*ret = v;
	return 0;
}

static void isolators_del(json_t *isos, const char *a, const char *b)
{
	for (size_t i = json_array_size(isos); i-- > 0;) {
		json_t *n = obj_get_ci(json_array_get(isos, i), "name");
		const char *s = json_string_value(n);
		if (s && (!strcmp(s, a) || (b && !strcmp(s, b))))
			json_array_remove(isos, i);
	}
}

/* Replaces the isolators named a (and b) with {name, value}, validated as
 * an app isolator; value is stolen. */
static int isolator_put(json_t *isos, const char *flag, const char *name, json_t *value,
			const char *also_del, struct rkt_err *err)
{
	int r = appc_isolator_validate(name, value, false, err);
	if (r < 0) {
		json_decref(value);
		return rkt_error_wrap(err, "%s", flag);
	}
	isolators_del(isos, name, also_del);
	json_array_append_new(isos, json_pack("{s:s,s:o}", "name", name, "value", value));
	return 0;
}

static json_t *string_set(const char *list)
{
	json_t *arr = json_array();
	_cleanup_free_ char *copy = xstrdup(list);
	char *save = NULL;
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
		json_array_append_new(arr, json_string(t));
	return arr;
}

/* --seccomp mode=retain|remove[,errno=E],syscall|@group,... */
static int seccomp_isolator(json_t *isos, const char *spec, struct rkt_err *err)
{
	const char *mode = NULL;
	_cleanup_free_ char *copy = xstrdup(spec);
	json_t *set = json_array();
	json_t *value = json_object();
	char *save = NULL;
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (str_has_prefix(t, "mode="))
			mode = t + 5;
		else if (str_has_prefix(t, "errno="))
			json_object_set_new(value, "errno", json_string(t + 6));
		else
			json_array_append_new(set, json_string(t));
	}
	json_object_set_new(value, "set", set);
	const char *name = NULL;
	if (mode && !strcmp(mode, "retain"))
		name = "os/linux/seccomp-retain-set";
	else if (mode && !strcmp(mode, "remove"))
		name = "os/linux/seccomp-remove-set";
	if (!name) {
		json_decref(value);
		return rkt_error(err, EINVAL, "--seccomp \"%s\": missing or bad mode (mode=retain or mode=remove)",
				 spec);
	}
	return isolator_put(isos, "--seccomp", name, value, "os/linux/seccomp-retain-set", err);
}

static int app_isolators(json_t *isos, const struct podargs_app *a, struct rkt_err *err)
{
	int r = 0;
	if (a->memory)
		r = isolator_put(isos, "--memory", "resource/memory",
				 json_pack("{s:s,s:s}", "request", a->memory, "limit", a->memory), NULL, err);
	if (r >= 0 && a->cpu)
		r = isolator_put(isos, "--cpu", "resource/cpu",
				 json_pack("{s:s,s:s}", "request", a->cpu, "limit", a->cpu), NULL, err);
	if (r >= 0 && a->cpu_shares) {
		long v;
		r = parse_long(a->cpu_shares, 2, 262144, "--cpu-shares", &v, err);
		if (r >= 0)
			r = isolator_put(isos, "--cpu-shares", "os/linux/cpu-shares", json_integer(v), NULL, err);
	}
	if (r >= 0 && a->oom_score_adj) {
		long v;
		r = parse_long(a->oom_score_adj, -1000, 1000, "--oom-score-adj", &v, err);
		if (r >= 0)
			r = isolator_put(isos, "--oom-score-adj", "os/linux/oom-score-adj", json_integer(v),
					 NULL, err);
	}
	if (r >= 0 && a->caps_retain && a->caps_remove)
		return rkt_error(err, EINVAL, "flags --caps-retain and --caps-remove are mutually exclusive");
	if (r >= 0 && (a->caps_retain || a->caps_remove)) {
		bool retain = a->caps_retain != NULL;
		r = isolator_put(isos, retain ? "--caps-retain" : "--caps-remove",
				 retain ? "os/linux/capabilities-retain-set" : "os/linux/capabilities-remove-set",
				 json_pack("{s:o}", "set", string_set(retain ? a->caps_retain : a->caps_remove)),
				 retain ? "os/linux/capabilities-remove-set" : "os/linux/capabilities-retain-set",
				 err);
	}
	if (r >= 0 && a->seccomp)
		r = seccomp_isolator(isos, a->seccomp, err);
	return r;
}

static int kv_list_to_map(json_t *obj, char *const *list, const char *flag, struct rkt_err *err)
{
	for (size_t i = 0; list && list[i]; i++) {
		_cleanup_free_ char *k = NULL;
		const char *v;
		int r = split_kv(list[i], flag, &k, &v, err);
		if (r < 0)
			return r;
		json_object_set_new(obj, k, json_string(v));
	}
	return 0;
}

static int kv_list_to_annotations(json_t *arr, char *const *list, struct rkt_err *err)
{
	for (size_t i = 0; list && list[i]; i++) {
		_cleanup_free_ char *k = NULL;
		const char *v;
		int r = split_kv(list[i], "--annotation", &k, &v, err);
		if (r < 0)
			return r;
		json_array_append_new(arr, json_pack("{s:s,s:s}", "name", k, "value", v));
	}
	return 0;
}

/* volume=V,target=P */
static int parse_mount(const char *s, json_t *mounts, struct rkt_err *err)
{
	_cleanup_free_ char *copy = xstrdup(s);
	const char *vol = NULL, *target = NULL;
	char *save = NULL;
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (str_has_prefix(t, "volume="))
			vol = t + 7;
		else if (str_has_prefix(t, "target="))
			target = t + 7;
		else
			return rkt_error(err, EINVAL, "--mount \"%s\": unknown key in \"%s\" (volume=NAME,target=PATH)",
					 s, t);
	}
	if (!vol || !*vol || !target || !*target)
		return rkt_error(err, EINVAL, "--mount \"%s\": expected volume=NAME,target=PATH", s);
	json_array_append_new(mounts, json_pack("{s:s,s:s}", "volume", vol, "path", target));
	return 0;
}

static int parse_bool_value(const char *s, bool *ret)
{
	if (!strcasecmp(s, "true") || !strcmp(s, "1"))
		*ret = true;
	else if (!strcasecmp(s, "false") || !strcmp(s, "0"))
		*ret = false;
	else
		return -EINVAL;
	return 0;
}

/* NAME,kind=host,source=P[,readOnly=B][,recursive=B] | NAME,kind=empty[,mode=M][,uid=U][,gid=G] */
static int parse_volume(const char *s, json_t *vols, struct rkt_err *err)
{
	_cleanup_free_ char *copy = xstrdup(s);
	char *save = NULL;
	char *name = strtok_r(copy, ",", &save);
	if (!name || strchr(name, '='))
		return rkt_error(err, EINVAL, "--volume \"%s\": expected NAME,kind=host|empty,...", s);
	json_t *v = json_pack("{s:s}", "name", name);
	for (char *t = strtok_r(NULL, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(t, '=');
		if (!eq) {
			json_decref(v);
			return rkt_error(err, EINVAL, "--volume \"%s\": \"%s\" is not key=value", s, t);
		}
		*eq = '\0';
		const char *key = t, *val = eq + 1;
		bool b;
		long n;
		if (!strcmp(key, "kind") || !strcmp(key, "source") || !strcmp(key, "mode")) {
			json_object_set_new(v, key, json_string(val));
		} else if (!strcasecmp(key, "readOnly") || !strcasecmp(key, "recursive")) {
			if (parse_bool_value(val, &b) < 0) {
				json_decref(v);
				return rkt_error(err, EINVAL, "--volume \"%s\": %s=\"%s\" is not a boolean", s, key, val);
			}
			json_object_set_new(v, !strcasecmp(key, "readOnly") ? "readOnly" : "recursive",
					    json_boolean(b));
		} else if (!strcmp(key, "uid") || !strcmp(key, "gid")) {
			if (parse_long(val, 0, UINT32_MAX, "--volume", &n, err) < 0) {
				json_decref(v);
				return -EINVAL;
			}
			json_object_set_new(v, key, json_integer(n));
		} else {
			json_decref(v);
			return rkt_error(err, EINVAL, "--volume \"%s\": unknown key \"%s\"", s, key);
		}
	}
	json_array_append_new(vols, v);
	return 0;
}

/* NAME:[HOSTIP:]HOSTPORT */
static int parse_port(const char *s, json_t *ports, struct rkt_err *err)
{
	_cleanup_free_ char *copy = xstrdup(s);
	char *c1 = strchr(copy, ':');
	if (!c1 || c1 == copy)
		return rkt_error(err, EINVAL, "--port \"%s\": expected NAME:[HOSTIP:]HOSTPORT", s);
	*c1 = '\0';
	char *rest = c1 + 1, *ip = NULL;
	char *c2 = strrchr(rest, ':');
	if (c2) {
		*c2 = '\0';
		ip = rest;
		rest = c2 + 1;
	}
	long port;
	if (parse_long(rest, 1, 65535, "--port", &port, err) < 0)
		return -EINVAL;
	json_t *p = json_pack("{s:s,s:I}", "name", copy, "hostPort", (json_int_t)port);
	if (ip)
		json_object_set_new(p, "hostIP", json_string(ip));
	json_array_append_new(ports, p);
	return 0;
}

/* rkt's ForwardedPorts, by name: exactly one app of the pod (its app
 * section, the image's unless overridden) declares the port. The helper
 * checks again against the images it rendered. */
static int check_port_declared(json_t *apps, const char *name, struct rkt_err *err)
{
	size_t i, k, found = 0;
	json_t *a, *p;
	json_array_foreach(apps, i, a) {
		json_array_foreach(json_object_get(json_object_get(a, "app"), "ports"), k, p) {
			const char *n = json_string_value(json_object_get(p, "name"));
			if (n && !strcmp(n, name))
				found++;
		}
	}
	if (found == 0)
		return rkt_error(err, ENOENT, "port name \"%s\" could not be found in any apps", name);
	if (found > 1)
		return rkt_error(err, EINVAL, "port name \"%s\" defined multiple apps", name);
	return 0;
}

int podargs_check_ports_net(const struct podargs *pa, char *const *nets, struct rkt_err *err)
{
	if (!pa->ports || !pa->ports[0] || !nets || !nets[0])
		return 0;
	for (size_t i = 0; nets[i]; i++)
		if (!strcmp(nets[i], "none") || !strcmp(nets[i], "host"))
			return rkt_error(err, EINVAL, "--port flag does not work with '%s' networking",
					 nets[i]);
	return 0;
}

/* appc's SanitizeACName of the image name's last path component. */
static char *default_app_name(const char *image_name)
{
	const char *base = strrchr(image_name, '/');
	base = base ? base + 1 : image_name;
	char *s = xstrdup(base);
	for (char *p = s; *p; p++) {
		*p = (char)((*p >= 'A' && *p <= 'Z') ? *p - 'A' + 'a' : *p);
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-'))
			*p = '-';
	}
	size_t start = strspn(s, "-"), len = strlen(s);
	while (len > start && s[len - 1] == '-')
		len--;
	memmove(s, s + start, len - start);
	s[len - start] = '\0';
	return s;
}

static int build_exec(json_t *app, const struct podargs_app *a)
{
	json_t *exec = obj_get_ci(app, "exec");
	json_t *nexec = a->exec ? json_pack("[s]", a->exec) : json_is_array(exec) ? json_deep_copy(exec)
										 : json_array();
	for (size_t i = 0; a->args && a->args[i]; i++)
		json_array_append_new(nexec, json_string(a->args[i]));
	obj_set_ci(app, "exec", nexec);
	return 0;
}

static int build_env(json_t *app, const struct podargs *pa, const struct podargs_app *a,
		     char *const *host_env, struct rkt_err *err)
{
	json_t *env = obj_get_ci(app, "environment");
	env = json_is_array(env) ? json_deep_copy(env) : json_array();
	int r = 0;
	for (size_t i = 0; pa->inherit_env && host_env && host_env[i]; i++) {
		const char *eq = strchr(host_env[i], '=');
		if (!eq)
			continue;
		_cleanup_free_ char *k = xstrndup(host_env[i], (size_t)(eq - host_env[i]));
		if (appc_env_name_valid(k))
			env_set(env, k, eq + 1, true);
	}
	for (size_t i = 0; r >= 0 && pa->set_env_files && pa->set_env_files[i]; i++)
		r = env_apply_file(env, pa->set_env_files[i], err);
	if (r >= 0)
		r = env_apply_list(env, pa->set_env, "--set-env", true, err);
	if (r >= 0)
		r = env_apply_list(env, a->environment, "--environment", false, err);
	if (r < 0) {
		json_decref(env);
		return r;
	}
	obj_set_ci(app, "environment", env);
	return 0;
}

static int build_app_section(json_t *app, const struct podargs *pa, const struct podargs_app *a,
			     char *const *host_env, struct rkt_err *err)
{
	build_exec(app, a);
	if (a->user)
		obj_set_ci(app, "user", json_string(a->user));
	if (a->group)
		obj_set_ci(app, "group", json_string(a->group));
	if (a->working_dir)
		obj_set_ci(app, "workingDirectory", json_string(a->working_dir));
	if (a->supplementary_gids) {
		json_t *gids = json_array();
		_cleanup_free_ char *copy = xstrdup(a->supplementary_gids);
		char *save = NULL;
		for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
			long g;
			if (parse_long(t, 0, UINT32_MAX, "--supplementary-gids", &g, err) < 0) {
				json_decref(gids);
				return -EINVAL;
			}
			json_array_append_new(gids, json_integer(g));
		}
		obj_set_ci(app, "supplementaryGIDs", gids);
	}
	int r = build_env(app, pa, a, host_env, err);
	if (r < 0)
		return r;
	json_t *isos = obj_get_ci(app, "isolators");
	isos = json_is_array(isos) ? json_deep_copy(isos) : json_array();
	r = app_isolators(isos, a, err);
	if (r < 0) {
		json_decref(isos);
		return r;
	}
	obj_set_ci(app, "isolators", isos);
	if (a->user_annotations || a->user_labels) {
		json_t *ua = obj_get_ci(app, "userAnnotations");
		json_t *ul = obj_get_ci(app, "userLabels");
		ua = json_is_object(ua) ? json_deep_copy(ua) : json_object();
		ul = json_is_object(ul) ? json_deep_copy(ul) : json_object();
		r = kv_list_to_map(ua, a->user_annotations, "--user-annotation", err);
		if (r >= 0)
			r = kv_list_to_map(ul, a->user_labels, "--user-label", err);
		obj_set_ci(app, "userAnnotations", ua);
		obj_set_ci(app, "userLabels", ul);
	}
	return r;
}

static int build_app(json_t *apps, const struct podargs *pa, size_t idx,
		     const struct podargs_image *img, char *const *host_env, struct rkt_err *err)
{
	const struct podargs_app *a = &pa->apps[idx];
	struct image_manifest *m = NULL;
	const char *mj = img->manifest_json ? img->manifest_json : "";
	int r = image_manifest_parse(mj, strlen(mj), &m, err);
	if (r < 0)
		return rkt_error_wrap(err, "image %s", img->key);
	_cleanup_free_ char *name = a->name ? xstrdup(a->name) : default_app_name(m->name);
	json_t *app = NULL, *ra = NULL;
	if (!appc_name_valid(name)) {
		r = rkt_error(err, EINVAL, "invalid app name \"%s\"%s", name,
			      a->name ? "" : " (from the image name; set one with --name)");
		goto out;
	}
	size_t i;
	json_t *e;
	json_array_foreach(apps, i, e)
		if (!strcmp(json_string_value(json_object_get(e, "name")), name)) {
			r = rkt_error(err, EINVAL, "multiple apps with name %s", name);
			goto out;
		}
	json_t *iapp = obj_get_ci(m->json, "app");
	if (!json_is_object(iapp) && !a->exec) {
		r = rkt_error(err, EINVAL, "image %s has no app section and --exec argument is not provided",
			      m->name);
		goto out;
	}
	app = json_is_object(iapp) ? json_deep_copy(iapp) : json_pack("{s:s,s:s}", "user", "0", "group", "0");
	r = build_app_section(app, pa, a, host_env, err);
	if (r < 0)
		goto out;
	json_t *image = json_pack("{s:s,s:s}", "name", m->name, "id", img->key);
	json_t *labels = obj_get_ci(m->json, "labels");
	if (json_is_array(labels) && json_array_size(labels))
		json_object_set_new(image, "labels", json_deep_copy(labels));
	json_t *mounts = json_array();
	for (size_t k = 0; r >= 0 && pa->mounts && pa->mounts[k]; k++)
		r = parse_mount(pa->mounts[k], mounts, err);
	for (size_t k = 0; r >= 0 && a->mounts && a->mounts[k]; k++)
		r = parse_mount(a->mounts[k], mounts, err);
	json_t *annotations = json_array();
	if (r >= 0)
		r = kv_list_to_annotations(annotations, a->annotations, err);
	ra = json_pack("{s:s,s:o,s:o,s:b,s:o,s:o}", "name", name, "image", image, "app", TAKE_PTR(app),
		       "readOnlyRootFS", a->readonly_rootfs, "mounts", mounts, "annotations", annotations);
	if (r >= 0)
		json_array_append(apps, ra);
out:
	json_decref(app);
	json_decref(ra);
	image_manifest_free(m);
	return r;
}

int podargs_build_manifest(const struct podargs *pa, const struct podargs_image *imgs,
			   char *const *host_env, char **ret_json, struct rkt_err *err)
{
	if (pa->n_apps == 0)
		return rkt_error(err, EINVAL, "must provide at least one image or --pod-manifest");
	json_t *pod = json_pack("{s:s,s:s,s:[],s:[],s:[],s:[],s:[]}", "acVersion", POD_AC_VERSION, "acKind",
				"PodManifest", "apps", "volumes", "isolators", "annotations", "ports");
	int r = 0;
	for (size_t i = 0; r >= 0 && i < pa->n_apps; i++)
		r = build_app(json_object_get(pod, "apps"), pa, i, &imgs[i], host_env, err);
	for (size_t i = 0; r >= 0 && pa->volumes && pa->volumes[i]; i++)
		r = parse_volume(pa->volumes[i], json_object_get(pod, "volumes"), err);
	for (size_t i = 0; r >= 0 && pa->ports && pa->ports[i]; i++)
		r = parse_port(pa->ports[i], json_object_get(pod, "ports"), err);
	size_t k;
	json_t *port;
	json_array_foreach(json_object_get(pod, "ports"), k, port) {
		if (r < 0)
			break;
		r = check_port_declared(json_object_get(pod, "apps"),
					json_string_value(json_object_get(port, "name")), err);
	}
	char *json = r >= 0 ? json_dumps(pod, JSON_COMPACT) : NULL;
	json_decref(pod);
	if (r < 0)
		return r;
	struct pod_manifest *pm = NULL;
	r = pod_manifest_parse(json, strlen(json), &pm, err);
	if (r < 0) {
		free(json);
		return rkt_error_wrap(err, "the pod manifest built from the arguments is invalid");
	}
	pod_manifest_free(pm);
	*ret_json = json;
	return 0;
}

/* ---- images ---------------------------------------------------------------- */

static bool is_hex64_key(const char *s)
{
	if (strlen(s) != APPC_KEY_LEN || !str_has_prefix(s, APPC_ID_PREFIX))
		return false;
	for (const char *p = s + 7; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return false;
	return true;
}

/* rkt-behaviour.md §4.1: what is not a URL or a file is an appc name. */
static bool is_location(const char *arg)
{
	static const char *const schemes[] = { "file://", "http://", "https://", "docker://", "docker:",
						"oci:", "cimd:" };
	for (size_t i = 0; i < sizeof schemes / sizeof schemes[0]; i++)
		if (str_has_prefix(arg, schemes[i]))
			return true;
	struct stat st;
	return arg[0] == '/' || strstr(arg, "./") || str_has_suffix(arg, ".aci") ||
	       (stat(arg, &st) == 0 && S_ISREG(st.st_mode));
}

static char *insecure_arg(void)
{
	char *s = NULL;
	for (size_t i = 0; g_opts.insecure_list && g_opts.insecure_list[i]; i++) {
		char *n = xasprintf("%s%s%s", s ? s : "", s ? "," : "", g_opts.insecure_list[i]);
		free(s);
		s = n;
	}
	return s;
}

/* Runs `rkt-fetch ... fetch --full IMG` as a child that dies with us; its
 * stdout is the key, its stderr is the user's. */
static int run_fetch(const char *image, const char *pull, const char *signature,
		     char ret_key[APPC_KEY_LEN + 1], struct rkt_err *err)
{
	_cleanup_free_ char *prog = cli_find_program("rkt-fetch");
	if (!prog)
		return rkt_error(err, ENOENT, "cannot find rkt-fetch beside rkt or in %s/rkt", RKT_LIBEXECDIR);
	_cleanup_strv_ char **argv = strv_append(NULL, "rkt-fetch");
	_cleanup_free_ char *d = xasprintf("--dir=%s", g_opts.dir);
	_cleanup_free_ char *lc = xasprintf("--local-config=%s", g_opts.local_config);
	_cleanup_free_ char *sc = xasprintf("--system-config=%s", g_opts.system_config);
	_cleanup_free_ char *uc = g_opts.user_config ? xasprintf("--user-config=%s", g_opts.user_config) : NULL;
	_cleanup_free_ char *ins = insecure_arg();
	_cleanup_free_ char *insa = ins ? xasprintf("--insecure-options=%s", ins) : NULL;
	_cleanup_free_ char *pp = xasprintf("--pull-policy=%s", pull);
	_cleanup_free_ char *sig = signature ? xasprintf("--signature=%s", signature) : NULL;
	const char *list[] = { d, lc, sc, uc, insa, g_opts.debug ? "--debug" : NULL,
			       g_opts.trust_keys_from_https ? "--trust-keys-from-https" : NULL, "fetch", pp,
			       "--full", sig, image };
	for (size_t i = 0; i < sizeof list / sizeof list[0]; i++)
		if (list[i])
			argv = strv_append(argv, list[i]);
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return rkt_error_errno(err, errno, "pipe for rkt-fetch");
	fflush(NULL);
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(pfd[0]);
		close(pfd[1]);
		return rkt_error_errno(err, e, "fork for rkt-fetch");
	}
	if (pid == 0) {
		/* A fetch child never outlives rkt (DESIGN §3). */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
			_exit(EXIT_RKT_FAILURE);
		if (dup2(pfd[1], STDOUT_FILENO) < 0)
			_exit(EXIT_RKT_FAILURE);
		execv(prog, argv);
		fprintf(stderr, "prepare: exec %s: %s\n", prog, strerror(errno));
		_exit(EXIT_RKT_FAILURE);
	}
	close(pfd[1]);
	_cleanup_free_ char *out = NULL;
	size_t len = 0;
	int rr = read_fd_bounded(pfd[0], FETCH_OUT_MAX, &out, &len);
	close(pfd[0]);
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return rkt_error_errno(err, errno, "waiting for rkt-fetch");
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return rkt_error(err, EIO, "fetching image \"%s\" failed (rkt-fetch %s %d)", image,
				 WIFEXITED(status) ? "exited with status" : "killed by signal",
				 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	if (rr < 0 || !out)
		return rkt_error(err, EIO, "fetching image \"%s\": cannot read rkt-fetch's output", image);
	out[strcspn(out, "\n")] = '\0';
	if (!is_hex64_key(out))
		return rkt_error(err, EIO, "fetching image \"%s\": rkt-fetch printed \"%s\", not an image key",
				 image, out);
	memcpy(ret_key, out, APPC_KEY_LEN + 1);
	return 0;
}

static int open_store(struct store **s, struct rkt_err *err)
{
	if (*s)
		return 0;
	return store_open_readonly(g_opts.dir, s, err);
}

static int resolve_one(struct store **s, const struct podargs *pa, const struct podargs_app *a,
		       char key[APPC_KEY_LEN + 1], struct rkt_err *err)
{
	const char *pull = pa->pull_policy ? pa->pull_policy : "new";
	int r;
	if (appc_is_hash(a->image)) {
		r = open_store(s, err);
		if (r < 0)
			return r;
		return store_resolve_id(*s, a->image, key, err);
	}
	if (!is_location(a->image) && strcmp(pull, "update") != 0 && open_store(s, err) >= 0) {
		struct appc_image_ref ref = { 0 };
		r = appc_image_ref_parse(a->image, true, &ref, err);
		if (r < 0)
			return r;
		bool found = false;
		r = store_find_by_name(*s, ref.name, ref.labels, ref.n_labels, key, &found, err);
		appc_image_ref_done(&ref);
		if (r < 0)
			return r;
		if (found) {
			fprintf(stderr, "image: using image from local store for image name %s\n", a->image);
			return 0;
		}
		if (!strcmp(pull, "never"))
			return rkt_error(err, ENOENT,
					 "unable to fetch image from image name \"%s\": not in the store and --pull-policy=never",
					 a->image);
	}
	rkt_err_clear(err);
	return run_fetch(a->image, pull, a->signature, key, err);
}

int podargs_resolve_images(const struct podargs *pa, struct podargs_image **ret,
			   struct rkt_err *err)
{
	const char *pull = pa->pull_policy ? pa->pull_policy : "new";
	if (strcmp(pull, "never") && strcmp(pull, "new") && strcmp(pull, "update"))
		return rkt_error(err, EINVAL,
				 "invalid argument \"%s\" for \"--pull-policy\" flag: must be one of never, new, update",
				 pull);
	struct podargs_image *imgs = xcalloc(pa->n_apps ? pa->n_apps : 1, sizeof *imgs);
	struct store *s = NULL;
	int r = 0;
	for (size_t i = 0; r >= 0 && i < pa->n_apps; i++) {
		r = resolve_one(&s, pa, &pa->apps[i], imgs[i].key, err);
		if (r < 0)
			break;
		/* rkt-fetch may have created the store: open it only now then. */
		r = open_store(&s, err);
		struct store_image si = { 0 };
		bool found = false;
		if (r >= 0)
			r = store_get_image(s, imgs[i].key, &si, &found, err);
		if (r >= 0 && !found)
			r = rkt_error(err, ENOENT, "image %s vanished from the store", imgs[i].key);
		if (r >= 0)
			imgs[i].manifest_json = TAKE_PTR(si.manifest_json);
		store_image_done(&si);
	}
	store_close(s);
	if (r < 0) {
		podargs_images_free(imgs, pa->n_apps);
		return r;
	}
	*ret = imgs;
	return 0;
}

int podargs_load_pod_manifest(const char *path, char **ret_json, struct rkt_err *err)
{
	_cleanup_free_ char *buf = NULL;
	size_t len;
	int r = read_file_at(AT_FDCWD, path, MANIFEST_MAX_BYTES, &buf, &len, err);
	if (r < 0)
		return rkt_error_wrap(err, "--pod-manifest");
	struct pod_manifest *pm = NULL;
	r = pod_manifest_parse(buf, len, &pm, err);
	if (r < 0)
		return rkt_error_wrap(err, "%s", path);
	json_t *doc = json_incref(pm->json);
	pod_manifest_free(pm);
	struct store *s = NULL;
	json_t *apps = obj_get_ci(doc, "apps");
	size_t i;
	json_t *app;
	json_array_foreach(apps, i, app) {
		json_t *image = obj_get_ci(app, "image");
		const char *id = json_string_value(obj_get_ci(image, "id"));
		char key[APPC_KEY_LEN + 1];
		r = open_store(&s, err);
		if (r >= 0)
			r = id ? store_resolve_id(s, id, key, err)
			       : rkt_error(err, EINVAL, "%s: app %zu has no image id", path, i);
		if (r < 0)
			break;
		obj_set_ci(image, "id", json_string(key));
	}
	store_close(s);
	char *json = r >= 0 ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	if (r < 0)
		return r;
	r = pod_manifest_parse(json, strlen(json), &pm, err);
	if (r < 0) {
		free(json);
		return rkt_error_wrap(err, "%s", path);
	}
	pod_manifest_free(pm);
	*ret_json = json;
	return 0;
}
