/* rkt prepare [flags] IMAGE [flags] [-- args] [--- IMAGE ...]: builds the
 * runtime pod manifest here (images resolved or fetched as the user), and
 * asks rkt-privhelper to create the prepared pod. The helper re-validates
 * everything, checks its policy, records the owner and answers the UUID,
 * the only thing printed on stdout (progress and warnings go to stderr). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "common/appc.h"
#include "common/cleanup.h"
#include "common/util.h"
#include "ipc/ipc.h"
#include "unpriv/cli/podargs.h"
#include "unpriv/cli/privhelper_client.h"

extern char **environ;


static void podargs_donep(struct podargs *pa) { podargs_done(pa); }

/* The flavor name the helper records: --stage1-name, or the flavor
 * directory --stage1-path names under <system-config>/stage1 (root only:
 * rkt's stage1 path flags choose what root executes). */
int prepare_stage1_flavor(const struct podargs *pa, char **ret, struct rkt_err *err)
{
	if (pa->stage1_path && *pa->stage1_path) {
		if (pa->stage1_name_set)
			return rkt_error(err, EINVAL, "flags --stage1-name and --stage1-path are mutually exclusive");
		if (geteuid() != 0)
			return rkt_error(err, EPERM, "--stage1-path is only for root (use --stage1-name)");
		char real[PATH_MAX], base[PATH_MAX];
		_cleanup_free_ char *flavors = xasprintf("%s/stage1", g_opts.system_config);
		if (!realpath(pa->stage1_path, real))
			return rkt_error_errno(err, errno, "--stage1-path %s", pa->stage1_path);
		if (!realpath(flavors, base))
			return rkt_error_errno(err, errno, "stage1 flavors directory %s", flavors);
		const char *slash = strrchr(real, '/');
		size_t blen = strlen(base);
		if (strncmp(real, base, blen) || real[blen] != '/' || slash != real + blen)
			return rkt_error(err, EINVAL,
					 "--stage1-path %s is not a flavor directory of %s (the helper runs only its own flavors)",
					 pa->stage1_path, base);
		*ret = xstrdup(slash + 1);
	} else {
		*ret = xstrdup(pa->stage1_name && *pa->stage1_name ? pa->stage1_name : "ns");
	}
	if (!appc_name_valid(*ret))
		return rkt_error(err, EINVAL, "invalid stage1 flavor name \"%s\"", *ret);
	return 0;
}

int prepare_manifest_json(const struct podargs *pa, char **ret, struct rkt_err *err)
{
	if (pa->pod_manifest && *pa->pod_manifest)
		return podargs_load_pod_manifest(pa->pod_manifest, ret, err);
	if (pa->n_apps == 0)
		return rkt_error(err, EINVAL, "must provide at least one image or --pod-manifest");
	struct podargs_image *imgs = NULL;
	int r = podargs_resolve_images(pa, &imgs, err);
	if (r < 0)
		return r;
	r = podargs_build_manifest(pa, imgs, environ, ret, err);
	podargs_images_free(imgs, pa->n_apps);
	return r;
}

static int send_prepare(const struct podargs *pa, const char *manifest, const char *flavor,
			char uuid[POD_UUID_LEN + 1], struct rkt_err *err)
{
	_cleanup_close_ int mfd = -1;
	int r = ipc_memfd_create_sealed("rkt-pod-manifest", manifest, strlen(manifest), &mfd, err);
	if (r < 0)
		return r;
	_cleanup_ph_conn_ struct ph_conn *c = NULL;
	r = ph_connect(&c, err);
	if (r < 0)
		return r;
	uint32_t flags = (pa->no_overlay ? IPC_RUNF_NO_OVERLAY : 0) |
			 (pa->private_users ? IPC_RUNF_PRIVATE_USERS : 0) |
			 (pa->inherit_env ? IPC_RUNF_INHERIT_ENV : 0);
	_cleanup_ipc_msg_ struct ipc_msg req;
	ipc_msg_init(&req, IPC_PREPARE_REQ);
	ipc_msg_put_str(&req, IPC_TAG_STAGE1, flavor);
	ipc_msg_put_u32(&req, IPC_TAG_INSECURE, g_opts.insecure & INSECURE_FOR_HELPER & IPC_INSECURE_MASK);
	ipc_msg_put_u32(&req, IPC_TAG_RUN_FLAGS, flags);
	ipc_msg_add_fd(&req, mfd);
	_cleanup_ipc_msg_ struct ipc_msg ans;
	r = ph_request(c, &req, &ans, err);
	if (r < 0)
		return r;
	const char *u;
	if (ans.type != IPC_PREPARE_ANS || ipc_msg_get_str(&ans, IPC_TAG_UUID, &u) < 0)
		return rkt_error(err, EPROTO, "the helper answered PREPARE_REQ without a pod UUID");
	snprintf(uuid, POD_UUID_LEN + 1, "%s", u);
	return 0;
}

int cmd_prepare(const struct command *cmd, char **args, struct rkt_err *err)
{
	(void)cmd;
	__attribute__((cleanup(podargs_donep))) struct podargs pa = { 0 };
	int r = podargs_finish(args, &pa, err);
	if (r < 0)
		return r;
	r = podargs_check_pod_manifest_conflicts(&pa, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *flavor = NULL;
	r = prepare_stage1_flavor(&pa, &flavor, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *manifest = NULL;
	r = prepare_manifest_json(&pa, &manifest, err);
	if (r < 0)
		return r;
	char uuid[POD_UUID_LEN + 1];
	r = send_prepare(&pa, manifest, flavor, uuid, err);
	if (r < 0)
		return r;
	if (pa.uuid_file_save && *pa.uuid_file_save) {
		r = write_file_atomic_at(AT_FDCWD, pa.uuid_file_save, uuid, strlen(uuid), 0644, err);
		if (r < 0)
			return rkt_error_wrap(err, "--uuid-file-save");
	}
	printf("%s\n", uuid);
	return 0;
}
