/* rkt cat-manifest [--pretty-print] [--uuid-file=F] UUID: the pod manifest
 * the helper recorded (<pod>/pod), re-encoded the way rkt does it:
 * json.MarshalIndent(m, "", "\t") by default, compact with
 * --pretty-print=false. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "common/cleanup.h"
#include "common/util.h"

static bool opt_pretty = true;
static char *opt_uuid_file;

const struct flag_spec cmd_cat_manifest_flags[] = {
	{ "pretty-print", FLAG_BOOL, &opt_pretty, "apply indent and newlines to the output", "true" },
	{ "uuid-file", FLAG_STRING, &opt_uuid_file, "read pod UUID from file instead of argument", "" },
	{ .name = NULL },
};

int cmd_cat_manifest(const struct command *cmd, char **args, struct rkt_err *err)
{
	(void)cmd;
	_cleanup_free_ char *from_file = NULL;
	const char *arg;
	if (opt_uuid_file && *opt_uuid_file) {
		if (args[0])
			return rkt_error(err, EINVAL, "specify either a UUID or --uuid-file, not both");
		int r = pod_read_uuid_file(opt_uuid_file, &from_file, err);
		if (r < 0)
			return r;
		arg = from_file;
	} else {
		if (strv_len(args) != 1)
			return rkt_error(err, EINVAL, "expected exactly one UUID argument");
		arg = args[0];
	}
	_cleanup_close_ int pods_fd = -1;
	int r = pods_dir_open(&pods_fd, err);
	if (r < 0)
		return r;
	struct pod_info p;
	r = pod_resolve(pods_fd, arg, &p, err);
	if (r == 0 && !p.manifest)
		r = rkt_error(err, ENOENT, "cannot read the manifest of pod %s (no readable %s/%s/%s/pod)",
			      p.uuid, "pods", pod_state_dir(p.state), p.uuid);
	if (r == 0)
		r = pod_json_print(p.manifest, opt_pretty, err);
	pod_info_done(&p);
	return r;
}
