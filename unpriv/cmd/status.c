/* rkt status [--wait[=bool|duration]] [--wait-ready[=...]] [--uuid-file=F]
 * [--format=json|json-pretty] UUID: rkt's key=value lines, read straight
 * from <dir>/pods (root:rkt 2750, DESIGN §4), plus this project's tpm= and
 * selinux= keys. A caller who cannot read the pods directory asks the
 * helper instead, which answers with the state alone and, to an outsider,
 * says which group the helper wants.
 *
 * This file also holds the pod readers list.c and cat_manifest.c share. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "unpriv/cli/humanize.h"
#include "common/cleanup.h"
#include "common/util.h"
#include "unpriv/cli/privhelper_client.h"

#define SMALL_FILE_MAX 4096
#define POLL_NS (100 * 1000000LL)

/* ---- pod readers ------------------------------------------------------- */

int pods_dir_open(int *ret_fd, struct rkt_err *err)
{
	_cleanup_free_ char *path = xasprintf("%s/pods", g_opts.dir);
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == EACCES)
			return rkt_error(err, EACCES,
					 "cannot read %s: permission denied (only root and members of group rkt may read pods)",
					 path);
		if (errno == ENOENT) {
			/* No pod was ever made here: an empty listing, as in rkt. */
			*ret_fd = -1;
			return 0;
		}
		return rkt_error_errno(err, errno, "cannot open %s", path);
	}
	*ret_fd = fd;
	return 0;
}

static int64_t mtime_ns(int dirfd, const char *name)
{
	struct stat st;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return 0;
	return (int64_t)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
}

/* First line of a small file, without trailing whitespace; NULL if absent. */
static char *read_small(int dirfd, const char *name)
{
	char *buf = NULL;
	size_t len;
	_cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	if (fd < 0 || read_fd_bounded(fd, SMALL_FILE_MAX, &buf, &len) < 0)
		return NULL;
	buf[strcspn(buf, "\n")] = '\0';
	for (size_t l = strlen(buf); l > 0 && (buf[l - 1] == ' ' || buf[l - 1] == '\t' || buf[l - 1] == '\r'); l--)
		buf[l - 1] = '\0';
	return buf;
}

static bool parse_int(const char *s, long lo, long hi, int *ret)
{
	if (!s || !*s)
		return false;
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || *end || v < lo || v > hi)
		return false;
	*ret = (int)v;
	return true;
}

static const char *label_value(json_t *labels, const char *name)
{
	size_t i;
	json_t *l;
	json_array_foreach(labels, i, l) {
		const char *n = json_string_value(json_object_get(l, "name"));
		if (n && strcmp(n, name) == 0)
			return json_string_value(json_object_get(l, "value"));
	}
	return NULL;
}

/* IMAGE NAME as rkt's list shows it: name:version when the image has a
 * version label. The image manifest the helper recorded under appsinfo/
 * wins over the pod manifest's copy, as in rkt. */
static char *image_display_name(int pod_fd, const char *app, json_t *image)
{
	_cleanup_free_ char *path = xasprintf("appsinfo/%s/manifest", app);
	_cleanup_free_ char *text = NULL;
	size_t len;
	_cleanup_close_ int fd = openat(pod_fd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	json_t *im = NULL;
	if (fd >= 0 && read_fd_bounded(fd, IPC_MANIFEST_MAX, &text, &len) == 0)
		im = json_loads(text, 0, NULL);
	json_t *src = im ? im : image;
	const char *name = json_string_value(json_object_get(src, "name"));
	const char *ver = label_value(json_object_get(src, "labels"), "version");
	char *out = name ? (ver ? xasprintf("%s:%s", name, ver) : xstrdup(name)) : xstrdup("-");
	json_decref(im);
	return out;
}

static void load_apps(struct pod_info *p)
{
	json_t *apps = json_object_get(p->manifest, "apps");
	size_t n = json_array_size(apps);
	p->apps = xcalloc(n ? n : 1, sizeof *p->apps);
	_cleanup_close_ int status_fd = openat(p->dirfd, "stage1/rootfs/rkt/status",
					       O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	for (size_t i = 0; i < n; i++) {
		json_t *a = json_array_get(apps, i);
		const char *name = json_string_value(json_object_get(a, "name"));
		if (!name)
			continue;
		struct pod_app_info *ai = &p->apps[p->n_apps++];
		json_t *image = json_object_get(a, "image");
		ai->name = xstrdup(name);
		ai->image_name = image_display_name(p->dirfd, name, image);
		const char *id = json_string_value(json_object_get(image, "id"));
		ai->image_id = xstrdup(id ? id : "");
		if (status_fd >= 0 && !strchr(name, '/')) {
			_cleanup_free_ char *code = read_small(status_fd, name);
			ai->exited = parse_int(code, 0, 255, &ai->exit_code);
		}
	}
}

int pod_info_load(int pods_fd, const char *uuid, enum pod_state st, struct pod_info *p,
		  struct rkt_err *err)
{
	*p = (struct pod_info){ .state = st, .pid = -1, .dirfd = -1 };
	memcpy(p->uuid, uuid, POD_UUID_LEN + 1);
	_cleanup_free_ char *rel = xasprintf("%s/%s", pod_state_dir(st), uuid);
	p->dirfd = openat(pods_fd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (p->dirfd < 0)
		return rkt_error_errno(err, errno, "cannot open pod %s", uuid);
	p->created_ns = mtime_ns(p->dirfd, "pod-created");
	if (!p->created_ns)
		p->created_ns = mtime_ns(p->dirfd, "pod");
	const char *pidfile = faccessat(p->dirfd, "pid", F_OK, AT_SYMLINK_NOFOLLOW) == 0 ? "pid" : "ppid";
	p->started_ns = mtime_ns(p->dirfd, pidfile);
	_cleanup_free_ char *pid = read_small(p->dirfd, pidfile);
	if (!parse_int(pid, 1, INT32_MAX, &p->pid))
		p->pid = -1;
	_cleanup_free_ char *text = NULL;
	size_t len;
	_cleanup_close_ int mfd = openat(p->dirfd, "pod", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (mfd >= 0 && read_fd_bounded(mfd, IPC_MANIFEST_MAX, &text, &len) == 0)
		p->manifest = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(p->manifest)) {
		json_decref(p->manifest);
		p->manifest = NULL;
	}
	load_apps(p);
	_cleanup_close_ int nfd = openat(p->dirfd, "net-info.json", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	_cleanup_free_ char *nets = NULL;
	if (nfd >= 0 && read_fd_bounded(nfd, IPC_MANIFEST_MAX, &nets, &len) == 0) {
		p->nets = json_loads(nets, 0, NULL);
		if (!json_is_array(p->nets)) {
			json_decref(p->nets);
			p->nets = NULL;
		}
	}
	return 0;
}

void pod_info_done(struct pod_info *p)
{
	for (size_t i = 0; i < p->n_apps; i++) {
		free(p->apps[i].name);
		free(p->apps[i].image_name);
		free(p->apps[i].image_id);
	}
	free(p->apps);
	json_decref(p->manifest);
	json_decref(p->nets);
	if (p->dirfd >= 0)
		close(p->dirfd);
	*p = (struct pod_info){ .dirfd = -1 };
}

int pod_resolve(int pods_fd, const char *arg, struct pod_info *ret, struct rkt_err *err)
{
	char uuid[POD_UUID_LEN + 1];
	enum pod_state st;
	*ret = (struct pod_info){ .dirfd = -1 };
	if (pods_fd < 0)
		return rkt_error(err, ENOENT, "problem retrieving pod: no matches found for \"%s\"", arg);
	int r = pod_lookup(pods_fd, arg, uuid, &st, err);
	if (r < 0)
		return rkt_error_wrap(err, "problem retrieving pod");
	return pod_info_load(pods_fd, uuid, st, ret, err);
}

char *pod_nets_text(const struct pod_info *p)
{
	char *out = xstrdup("");
	size_t i;
	json_t *n;
	json_array_foreach(p->nets, i, n) {
		const char *name = json_string_value(json_object_get(n, "netName"));
		const char *ip = json_string_value(json_object_get(n, "ip"));
		char *next = xasprintf("%s%s%s:ip4=%s", out, *out ? ", " : "", name ? name : "",
				       ip ? ip : "");
		free(out);
		out = next;
	}
	return out;
}

static const char *app_state(const struct pod_info *p, const struct pod_app_info *a)
{
	if (a->exited)
		return "exited";
	if (p->state == POD_RUNNING)
		return "running";
	return "unknown";
}

/* rkt's lib.Pod, in its field order (Go encodes struct fields in order). */
json_t *pod_info_json(const struct pod_info *p)
{
	json_t *o = json_object();
	json_object_set_new(o, "name", json_string(p->uuid));
	json_object_set_new(o, "state", json_string(pod_state_name(p->state)));
	if (json_array_size(p->nets))
		json_object_set(o, "networks", p->nets);
	if (p->n_apps) {
		json_t *names = json_array();
		for (size_t i = 0; i < p->n_apps; i++)
			json_array_append_new(names, json_string(p->apps[i].name));
		json_object_set_new(o, "app_names", names);
	}
	if (p->started_ns)
		json_object_set_new(o, "started_at", json_integer(p->started_ns));
	if (p->n_apps) {
		json_t *apps = json_array();
		for (size_t i = 0; i < p->n_apps; i++) {
			const struct pod_app_info *a = &p->apps[i];
			json_t *ao = json_object();
			json_object_set_new(ao, "name", json_string(a->name));
			json_object_set_new(ao, "state", json_string(app_state(p, a)));
			if (a->exited)
				json_object_set_new(ao, "exit_code", json_integer(a->exit_code));
			json_object_set_new(ao, "image_id", json_string(a->image_id));
			json_array_append_new(apps, ao);
		}
		json_object_set_new(o, "apps", apps);
	}
	if (p->created_ns)
		json_object_set_new(o, "created_at", json_integer(p->created_ns));
	return o;
}

int pod_json_print(json_t *v, bool pretty, struct rkt_err *err)
{
	char *s = json_dumps(v, (pretty ? JSON_INDENT(1) : JSON_COMPACT) | JSON_ENCODE_ANY);
	if (!s)
		return rkt_error(err, ENOMEM, "encoding JSON output");
	if (!pretty) {
		puts(s);
		free(s);
		return 0;
	}
	/* MarshalIndent(v, "", "\t"): JSON strings hold no raw newlines, so
	 * each line's leading spaces are its depth. */
	for (const char *line = s; *line;) {
		const char *end = strchrnul(line, '\n');
		const char *q = line;
		for (; *q == ' '; q++)
			putchar('\t');
		fwrite(q, 1, (size_t)(end - q), stdout);
		putchar('\n');
		line = *end ? end + 1 : end;
	}
	free(s);
	return 0;
}

int pod_read_uuid_file(const char *path, char **ret, struct rkt_err *err)
{
	_cleanup_free_ char *buf = NULL;
	size_t len;
	int r = read_file_at(AT_FDCWD, path, SMALL_FILE_MAX, &buf, &len, err);
	if (r < 0)
		return rkt_error_wrap(err, "unable to resolve UUID from file");
	size_t b = strspn(buf, " \t\r\n");
	size_t e = strcspn(buf + b, " \t\r\n");
	if (e == 0)
		return rkt_error(err, EINVAL, "unable to resolve UUID from file: %s is empty", path);
	*ret = xstrndup(buf + b, e);
	return 0;
}

/* ---- rkt status ---------------------------------------------------------- */

static bool opt_wait, opt_wait_ready;
static char *opt_wait_raw, *opt_wait_ready_raw, *opt_uuid_file, *opt_format;

const struct flag_spec cmd_status_flags[] = {
	{ "wait", FLAG_BOOL, &opt_wait,
	  "toggles waiting for the pod to finish. Use the output to determine the actual terminal state.",
	  "false", .raw_value = &opt_wait_raw },
	{ "wait-ready", FLAG_BOOL, &opt_wait_ready,
	  "toggles waiting until the pod is ready. Use the output to determine the actual terminal state.",
	  "false", .raw_value = &opt_wait_ready_raw },
	{ "uuid-file", FLAG_STRING, &opt_uuid_file, "read pod UUID from file instead of argument", "" },
	{ "format", FLAG_STRING, &opt_format,
	  "choose the output format, allowed format includes 'json', 'json-pretty'. If empty, then the result is printed as key value pairs",
	  "" },
	{ .name = NULL },
};

/* --wait / --wait=true: forever (-1); --wait=10s: that long; false: 0. */
static int wait_timeout(bool on, const char *raw, const char *flag, int64_t *ret, struct rkt_err *err)
{
	*ret = 0;
	if (!on)
		return 0;
	*ret = -1;
	if (!raw || !strcmp(raw, "true") || !strcmp(raw, "1") || !strcmp(raw, "t") ||
	    !strcmp(raw, "T") || !strcmp(raw, "TRUE") || !strcmp(raw, "True"))
		return 0;
	if (parse_duration_ns(raw, ret) < 0 || *ret <= 0)
		return rkt_error(err, EINVAL,
				 "invalid argument \"%s\" for \"--%s\" flag: expected true, false or a duration (e.g. 10s)",
				 raw, flag);
	return 0;
}

static bool finished(enum pod_state s)
{
	return s == POD_ABORTED_PREPARE || s == POD_EXITED || s == POD_EXITED_GARBAGE ||
	       s == POD_GARBAGE;
}

/* rkt's IsSupervisorReady: stage1 links rkt/supervisor-status to "ready". */
static bool ready(const struct pod_info *p)
{
	if (p->state != POD_RUNNING)
		return false;
	char target[16];
	ssize_t n = readlinkat(p->dirfd, "stage1/rootfs/rkt/supervisor-status", target, sizeof target - 1);
	if (n > 0) {
		target[n] = '\0';
		return strcmp(target, "ready") == 0;
	}
	_cleanup_free_ char *content = read_small(p->dirfd, "stage1/rootfs/rkt/supervisor-status");
	return content && strcmp(content, "ready") == 0;
}

static int wait_for(int pods_fd, int64_t timeout, bool want_ready,
		    struct pod_info *p, struct rkt_err *err)
{
	int64_t deadline = timeout > 0 ? now_realtime_ns() + timeout : 0;
	for (;;) {
		if (want_ready ? ready(p) : finished(p->state))
			return 0;
		if (deadline && now_realtime_ns() >= deadline) {
			char d[32];
			format_duration(timeout, d, sizeof d);
			return rkt_error(err, ETIMEDOUT, "timed out after %s waiting for pod %s to %s", d,
					 p->uuid, want_ready ? "be ready" : "finish");
		}
		struct timespec ts = { 0, POLL_NS };
		nanosleep(&ts, NULL);
		char uuid[POD_UUID_LEN + 1];
		memcpy(uuid, p->uuid, sizeof uuid);
		pod_info_done(p);
		int r = pod_resolve(pods_fd, uuid, p, err);
		if (r < 0)
			return r;
	}
}

/* tpm= and selinux= from the pod's own record, when the helper wrote one. */
static void print_own_key(int dirfd, const char *name, const char *dflt)
{
	_cleanup_free_ char *v = read_small(dirfd, name);
	printf("%s=%s\n", name, v && *v ? v : dflt);
}

static void print_status(const struct pod_info *p)
{
	char t[96];
	enum pod_state s = p->state;
	printf("state=%s\n", pod_state_name(s));
	format_go_time(p->created_ns, t, sizeof t);
	printf("created=%s\n", t);
	bool after_run = s == POD_RUNNING || s == POD_EXITED || s == POD_EXITED_DELETING ||
			 s == POD_EXITED_GARBAGE || s == POD_DELETING || s == POD_GARBAGE;
	if (after_run && p->started_ns) {
		format_go_time(p->started_ns, t, sizeof t);
		printf("started=%s\n", t);
	}
	if (s == POD_RUNNING || s == POD_EXITED) {
		_cleanup_free_ char *nets = pod_nets_text(p);
		printf("networks=%s\n", nets);
	}
	if (s == POD_RUNNING || s == POD_DELETING || s == POD_EXITED_DELETING || s == POD_EXITED ||
	    s == POD_EXITED_GARBAGE) {
		if (p->pid > 0)
			printf("pid=%d\n", p->pid);
		printf("exited=%s\n", s == POD_EXITED || s == POD_EXITED_GARBAGE ? "true" : "false");
		if (s != POD_RUNNING)
			for (size_t i = 0; i < p->n_apps; i++)
				if (p->apps[i].exited)
					printf("app-%s=%d\n", p->apps[i].name, p->apps[i].exit_code);
	}
	print_own_key(p->dirfd, "tpm", "off");
	print_own_key(p->dirfd, "selinux", "disabled");
}

/* Without read access to the pods directory the helper answers (state,
 * pid, times); it also tells an outsider which group it wants. */
static int status_via_helper(const char *arg, struct rkt_err *err)
{
	if (!pod_uuid_valid(arg))
		return rkt_error(err, EACCES,
				 "cannot read %s/pods to resolve \"%s\"; give the full UUID to ask the helper",
				 g_opts.dir, arg);
	_cleanup_ph_conn_ struct ph_conn *c = NULL;
	int r = ph_connect(&c, err);
	if (r < 0)
		return r;
	_cleanup_ipc_msg_ struct ipc_msg req;
	ipc_msg_init(&req, IPC_STATUS_REQ);
	ipc_msg_put_str(&req, IPC_TAG_UUID, arg);
	_cleanup_ipc_msg_ struct ipc_msg ans = { 0 };
	r = ph_request(c, &req, &ans, err);
	if (r < 0)
		return rkt_error_wrap(err, "problem retrieving pod");
	if (ans.type != IPC_STATUS_ANS)
		return rkt_error(err, EPROTO, "privhelper answered STATUS_REQ with %s",
				 ipc_type_name(ans.type));
	const char *state = "";
	uint64_t created = 0, started = 0;
	int32_t pid = -1;
	char t[96];
	ipc_msg_get_str(&ans, IPC_TAG_STATE, &state);
	ipc_msg_get_u64(&ans, IPC_TAG_CREATED_NS, &created);
	ipc_msg_get_u64(&ans, IPC_TAG_STARTED_NS, &started);
	printf("state=%s\n", state);
	format_go_time((int64_t)created, t, sizeof t);
	printf("created=%s\n", t);
	if (started) {
		format_go_time((int64_t)started, t, sizeof t);
		printf("started=%s\n", t);
	}
	if (ipc_msg_get_i32(&ans, IPC_TAG_PID, &pid) == 0 && pid > 0)
		printf("pid=%d\n", pid);
	return 0;
}

int cmd_status(const struct command *cmd, char **args, struct rkt_err *err)
{
	(void)cmd;
	_cleanup_free_ char *from_file = NULL;
	const char *arg;
	if (opt_uuid_file && *opt_uuid_file) {
		if (args[0])
			return rkt_error(err, EINVAL, "specify either a UUID or --uuid-file, not both");
		if (pod_read_uuid_file(opt_uuid_file, &from_file, err) < 0) {
			fprintf(stderr, "status: %s\n", err->msg);
			return 1;
		}
		arg = from_file;
	} else {
		if (strv_len(args) != 1)
			return rkt_error(err, EINVAL, "expected exactly one UUID argument");
		arg = args[0];
	}
	bool json = false, pretty = false;
	if (opt_format && *opt_format) {
		json = !strcmp(opt_format, "json");
		pretty = !strcmp(opt_format, "json-pretty");
		if (!json && !pretty)
			return rkt_error(err, EINVAL, "unknown format \"%s\" (json, json-pretty)", opt_format);
	}
	int64_t wait_ns, ready_ns;
	int r = wait_timeout(opt_wait, opt_wait_raw, "wait", &wait_ns, err);
	if (r == 0)
		r = wait_timeout(opt_wait_ready, opt_wait_ready_raw, "wait-ready", &ready_ns, err);
	if (r < 0)
		return r;

	_cleanup_close_ int pods_fd = -1;
	r = pods_dir_open(&pods_fd, err);
	if (r == -EACCES && !wait_ns && !ready_ns && !json && !pretty)
		return status_via_helper(arg, err);
	if (r < 0)
		return r;
	struct pod_info p;
	r = pod_resolve(pods_fd, arg, &p, err);
	if (r == 0 && ready_ns)
		r = wait_for(pods_fd, ready_ns, true, &p, err);
	if (r == 0 && wait_ns)
		r = wait_for(pods_fd, wait_ns, false, &p, err);
	if (r < 0) {
		pod_info_done(&p);
		return r;
	}
	if (json || pretty) {
		json_t *o = pod_info_json(&p);
		r = pod_json_print(o, pretty, err);
		json_decref(o);
	} else
		print_status(&p);
	pod_info_done(&p);
	return r;
}
