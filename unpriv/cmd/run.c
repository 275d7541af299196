/* rkt run [flags] IMAGE [flags] [-- args] [--- IMAGE ...]: prepare's image
 * arguments and per-app flags plus the run-only flags (run_prepared.c);
 * the manifest is built here as the user, then one RUN_REQ has the helper
 * prepare the pod and run it with this process's stdio. The pod's UUID is
 * saved (--uuid-file-save) when the helper reports it prepared. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "common/cleanup.h"
#include "common/util.h"
#include "ipc/ipc.h"
#include "unpriv/cli/privhelper_client.h"

#define RUN_FLAGS_MAX 64

/* podargs_flags followed by run_only_flags: cli_main takes one table. */
struct flag_spec cmd_run_flags[RUN_FLAGS_MAX];

__attribute__((constructor)) static void run_flags_init(void)
{
	size_t n = 0;
	for (const struct flag_spec *s = podargs_flags; s->name && n < RUN_FLAGS_MAX - 1; s++)
		cmd_run_flags[n++] = *s;
	for (const struct flag_spec *s = run_only_flags; s->name && n < RUN_FLAGS_MAX - 1; s++)
		cmd_run_flags[n++] = *s;
	cmd_run_flags[n] = (struct flag_spec){ .name = NULL };
}

static void podargs_donep(struct podargs *pa) { podargs_done(pa); }

int cmd_run(const struct command *cmd, char **args, struct rkt_err *err)
{
	(void)cmd;
	/* The helper starts this command's session while the images are
	 * resolved here; with none listening, run_stream connects (or starts
	 * one) as before. */
	struct rkt_err early_err = { 0 };
	_cleanup_ph_conn_ struct ph_conn *early = NULL;
	(void)ph_connect_begin(&early, &early_err);
	__attribute__((cleanup(podargs_donep))) struct podargs pa = { 0 };
	int r = podargs_finish(args, &pa, err);
	if (r < 0)
		return r;
	uint32_t flags;
	char *const *nets;
	if ((r = podargs_check_pod_manifest_conflicts(&pa, err)) < 0 || (r = run_check_opts(&flags, &nets, err)) < 0 ||
	    (r = podargs_check_ports_net(&pa, nets, err)) < 0)
		return r;
	if (g_run_opts.interactive && pa.n_apps > 1)
		return rkt_error(err, EINVAL, "interactive option only supports one image");
	_cleanup_free_ char *flavor = NULL;
	if ((r = prepare_stage1_flavor(&pa, &flavor, err)) < 0)
		return r;
	_cleanup_free_ char *manifest = NULL;
	if ((r = prepare_manifest_json(&pa, &manifest, err)) < 0)
		return r;
	_cleanup_close_ int mfd = -1;
	if ((r = ipc_memfd_create_sealed("rkt-pod-manifest", manifest, strlen(manifest), &mfd, err)) < 0)
		return r;
	flags |= (pa.no_overlay ? IPC_RUNF_NO_OVERLAY : 0) | (pa.inherit_env ? IPC_RUNF_INHERIT_ENV : 0) |
		 (pa.private_users ? IPC_RUNF_PRIVATE_USERS : 0);
	_cleanup_ipc_msg_ struct ipc_msg req;
	ipc_msg_init(&req, IPC_RUN_REQ);
	ipc_msg_put_str(&req, IPC_TAG_STAGE1, flavor);
	ipc_msg_put_u32(&req, IPC_TAG_INSECURE, g_opts.insecure & INSECURE_FOR_HELPER & IPC_INSECURE_MASK);
	ipc_msg_put_u32(&req, IPC_TAG_RUN_FLAGS, flags);
	run_put_pod_conf(&req, nets);
	ipc_msg_add_fd(&req, mfd);
	return run_stream_on(TAKE_PTR(early), &req, pa.uuid_file_save, err);
}
