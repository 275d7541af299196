#include "stage1/pod.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "common/cleanup.h"
#include "common/util.h"

#define ACE_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static char **env_set(char **env, const char *key, const char *value)
{
	size_t kl = strlen(key);
	_cleanup_free_ char *kv = xasprintf("%s=%s", key, value);
	for (char **p = env; p && *p; p++)
		if (strncmp(*p, key, kl) == 0 && (*p)[kl] == '=') {
			free(*p);
			*p = TAKE_PTR(kv);
			return env;
		}
	return strv_append(env, kv);
}

const char *stage1_env_get(char *const *env, const char *key)
{
	size_t kl = strlen(key);
	for (char *const *p = env; p && *p; p++)
		if (strncmp(*p, key, kl) == 0 && (*p)[kl] == '=')
			return *p + kl + 1;
	return NULL;
}

char **stage1_build_env(const char *app, const struct appc_kv *image_env, size_t n_image,
			const struct appc_kv *pod_env, size_t n_pod)
{
	char **env = NULL;
	env = env_set(env, "PATH", ACE_PATH);
	env = env_set(env, "SHELL", "/bin/sh");
	env = env_set(env, "USER", "root");
	env = env_set(env, "LOGNAME", "root");
	env = env_set(env, "HOME", "/root");
	env = env_set(env, "AC_APP_NAME", app);
	for (size_t i = 0; i < n_image; i++)
		env = env_set(env, image_env[i].name, image_env[i].value);
	for (size_t i = 0; i < n_pod; i++)
		env = env_set(env, pod_env[i].name, pod_env[i].value);
	return env;
}

static bool nonempty(const char *s) { return s && *s; }

/* Field by field, the pod app's own app section wins over the image's. */
static int merge_app(struct stage1_app *a, const struct pod_app *pa, const struct stage1_flags *fl,
		     struct rkt_err *err)
{
	const struct appc_app *ia = a->image->app, *oa = pa->app;
	static char *const no_exec[] = { NULL };
	a->exec = oa && oa->exec && oa->exec[0] ? oa->exec : ia && ia->exec ? ia->exec : no_exec;
	if (!a->exec[0])
		return rkt_error(err, EINVAL, "app %s: no exec in the pod or image manifest", a->name);
	a->user = oa && nonempty(oa->user) ? oa->user : ia ? ia->user : NULL;
	a->group = oa && nonempty(oa->group) ? oa->group : ia ? ia->group : NULL;
	a->workdir = oa && nonempty(oa->working_directory) ? oa->working_directory
		     : ia && nonempty(ia->working_directory) ? ia->working_directory
							      : "/";
	const struct appc_app *g = oa && oa->n_supplementary_gids ? oa : ia;
	if (g) {
		a->supp_gids = g->supplementary_gids;
		a->n_supp_gids = g->n_supplementary_gids;
	}
	a->env = stage1_build_env(a->name, ia ? ia->environment : NULL, ia ? ia->n_environment : 0,
				  oa ? oa->environment : NULL, oa ? oa->n_environment : 0);
	int r = stage1_settings_build(ia ? ia->isolators : NULL, ia ? ia->n_isolators : 0,
				      oa ? oa->isolators : NULL, oa ? oa->n_isolators : 0, fl,
				      &a->settings, err);
	if (r < 0)
		return rkt_error_wrap(err, "app %s", a->name);
	return 0;
}

static int load_app(int podfd, const char *podpath, const struct pod_manifest *pm,
		    const struct pod_app *pa, const struct stage1_flags *fl, struct stage1_app *a,
		    struct rkt_err *err)
{
	a->name = pa->name;
	a->settings.seccomp.mode = S1_SECCOMP_NONE;
	if (!*pa->name || strchr(pa->name, '/') || pa->name[0] == '.')
		return rkt_error(err, EINVAL, "pod manifest: bad app name \"%s\"", pa->name);
	_cleanup_free_ char *mpath = xasprintf("appsinfo/%s/manifest", pa->name);
	_cleanup_free_ char *text = NULL;
	size_t len;
	int r = read_file_at(podfd, mpath, MANIFEST_MAX_BYTES, &text, &len, err);
	if (r >= 0)
		r = image_manifest_parse(text, len, &a->image, err);
	if (r < 0)
		return rkt_error_wrap(err, "app %s (%s)", pa->name, mpath);
	_cleanup_free_ char *rel = xasprintf("stage1/rootfs/opt/stage2/%s/rootfs", pa->name);
	struct stat st;
	if (fstatat(podfd, rel, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return rkt_error_errno(err, errno, "app %s: rootfs %s", pa->name, rel);
	if (!S_ISDIR(st.st_mode))
		return rkt_error(err, ENOTDIR, "app %s: rootfs %s is not a directory", pa->name,
				 rel);
	a->rootfs = xasprintf("%s/%s", podpath, rel);
	r = merge_app(a, pa, fl, err);
	/* volumes: the app's mount plan (stage1/volumes.c) */
	if (r >= 0)
		r = volumes_plan(pm, pa, a->image, podpath, &a->mounts, &a->n_mounts, err);
	a->read_only_rootfs = pa->read_only_rootfs;
	return r;
}

int stage1_pod_load(int podfd, const char *podpath, const struct stage1_flags *flags,
		    struct stage1_pod *ret, struct rkt_err *err)
{
	_cleanup_free_ char *text = NULL;
	size_t len;
	struct stage1_pod pod = { 0 };
	int r = read_file_at(podfd, "pod", MANIFEST_MAX_BYTES, &text, &len, err);
	if (r >= 0)
		r = pod_manifest_parse(text, len, &pod.manifest, err);
	if (r < 0)
		return rkt_error_wrap(err, "pod manifest");
	if (pod.manifest->n_apps == 0) {
		stage1_pod_free(&pod);
		return rkt_error(err, EINVAL, "pod manifest: no apps");
	}
	pod.apps = xcalloc(pod.manifest->n_apps, sizeof *pod.apps);
	pod.n_apps = pod.manifest->n_apps;
	for (size_t i = 0; r >= 0 && i < pod.n_apps; i++)
		r = load_app(podfd, podpath, pod.manifest, &pod.manifest->apps[i], flags,
			     &pod.apps[i], err);
	if (r < 0) {
		stage1_pod_free(&pod);
		return r;
	}
	*ret = pod;
	return 0;
}

void stage1_pod_free(struct stage1_pod *pod)
{
	for (size_t i = 0; i < pod->n_apps; i++) {
		struct stage1_app *a = &pod->apps[i];
		if (a->image)
			image_manifest_free(a->image);
		strv_free(a->env);
		strv_free(a->cg_procs);
		stage1_settings_done(&a->settings);
		free(a->rootfs);
		volumes_free(a->mounts, a->n_mounts);
	}
	free(pod->apps);
	if (pod->manifest)
		pod_manifest_free(pod->manifest);
	*pod = (struct stage1_pod){ 0 };
}
