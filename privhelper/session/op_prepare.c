/* PREPARE_REQ: creates a prepared pod in rkt's layout (rkt-behaviour.md
 * §2.2, §5) from the runtime pod manifest the client sent in a sealed
 * memfd. Nothing the client wrote is trusted: the manifest is parsed and
 * validated again, each image ID must be a full store key whose blob is in
 * the helper's own store, the renderer re-hashes and re-verifies each
 * image, host volume sources are resolved here and judged by the policy
 * against the caller's kernel identity, and every file of the pod is
 * written beneath the helper's own --dir. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/beneath.h"
#include "common/cleanup.h"
#include "common/lockfile.h"
#include "common/manifest.h"
#include "common/podstate.h"
#include "common/util.h"
#include "ipc/ipc.h"
#include "policy/policy.h"
#include "privhelper/session/podgc.h"
#include "privhelper/session/net.h"
#include "privhelper/session/session.h"
#include "privhelper/session/userns.h"

#define POD_COUNT_LOCK ".pod-count.lck"
#define TREE_ID_MAX 256 /* session_render_image wants >= 200 */
#define TREE_MANIFEST_MAX (1u << 20)

static const char *const insecure_names[] = { "image", "tls", "ondisk", "http", "pubkey",
					      "capabilities", "paths", "seccomp" };

struct prepare {
	struct conn *c;
	struct pod_manifest *pm;
	const char *stage1;
	uint32_t insecure;
	char **insecure_list;
	char **host_volumes; /* resolved sources */
	uint64_t memory;
	int64_t cpu_milli;
	char (*tree_ids)[TREE_ID_MAX]; /* per app */
	int *tree_holds;	       /* per app: its tree's lock, held until the pod records it */
	bool all_signed;
	/* PREPARE_REQ's pod outlives a crash; RUN_REQ's runs at once and is
	 * garbage after one, so its files and moves skip the fsyncs. */
	bool durable;
	bool private_users; /* IPC_RUNF_PRIVATE_USERS: the helper picks the range */
	bool overlay;	    /* no --no-overlay: `overlay-prepared` marks the pod */
	int dirfd; /* the helper's --dir */
};

static void prepare_done(struct prepare *p)
{
	/* The pod records its trees by now, or it was never made. */
	for (size_t i = 0; p->tree_holds && i < p->pm->n_apps; i++)
		if (p->tree_holds[i] >= 0)
			close(p->tree_holds[i]);
	free(p->tree_holds);
	pod_manifest_free(p->pm);
	strv_free(p->insecure_list);
	strv_free(p->host_volumes);
	free(p->tree_ids);
	if (p->dirfd >= 0)
		close(p->dirfd);
}

static bool is_store_key(const char *s)
{
	if (!s || strlen(s) != APPC_KEY_LEN || strncmp(s, APPC_ID_PREFIX, 7))
		return false;
	for (const char *p = s + 7; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return false;
	return true;
}

/* Every image must be a full key whose blob is in the helper's own store
 * (the renderer re-hashes it; this is only the early, clear refusal). */
static int check_images(struct prepare *p, struct rkt_err *err)
{
	if (p->pm->n_apps == 0)
		return rkt_error(err, EINVAL, "the pod manifest has no apps");
	for (size_t i = 0; i < p->pm->n_apps; i++) {
		const struct pod_app *a = &p->pm->apps[i];
		if (!is_store_key(a->image_id))
			return rkt_error(err, EINVAL,
					 "app \"%s\": image id \"%s\" is not a full store key (sha512- and 64 hex)",
					 a->name, a->image_id ? a->image_id : "");
		char rel[128];
		snprintf(rel, sizeof rel, "cas/blob/sha512/%.2s/%s", a->image_id + 7, a->image_id);
		int fd = open_beneath(p->dirfd, rel, O_PATH | O_NOFOLLOW, 0);
		struct stat st;
		if (fd >= 0 && (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))) {
			close(fd);
			fd = -EINVAL;
		}
		if (fd < 0)
			return rkt_error(err, ENOENT, "app \"%s\": image %s is not in the helper's store (%s/%s)",
					 a->name, a->image_id, p->c->cfg->dir, rel);
		close(fd);
	}
	return 0;
}

/* Host volume sources are the one client path the helper looks at: it is
 * resolved (as root, lookup only) so the policy judges the real target and
 * the pod keeps that target, not a link the client could swap later. */
static int resolve_host_volumes(struct prepare *p, struct rkt_err *err)
{
	json_t *vols = json_object_get(p->pm->json, "volumes");
	for (size_t i = 0; i < p->pm->n_volumes; i++) {
		const struct pod_volume *v = &p->pm->volumes[i];
		if (strcmp(v->kind, "host") != 0)
			continue;
		char real[PATH_MAX];
		if (!v->source || v->source[0] != '/' || !realpath(v->source, real))
			return rkt_error_errno(err, v->source && v->source[0] == '/' ? errno : EINVAL,
					       "host volume \"%s\" source \"%s\"", v->name,
					       v->source ? v->source : "");
		p->host_volumes = strv_append(p->host_volumes, real);
		size_t k;
		json_t *jv;
		json_array_foreach(vols, k, jv) {
			json_t *n = json_object_get(jv, "name");
			if (json_is_string(n) && !strcmp(json_string_value(n), v->name))
				json_object_set_new(jv, "source", json_string(real));
		}
	}
	return 0;
}

static int quantity(json_t *value, const char *what, int64_t *ret_milli, struct rkt_err *err)
{
	json_t *limit = json_object_get(value, "limit");
	if (!limit)
		limit = json_object_get(value, "request");
	if (!json_is_string(limit)) {
		*ret_milli = 0;
		return 0;
	}
	if (appc_quantity_parse_milli(json_string_value(limit), ret_milli) < 0 || *ret_milli < 0)
		return rkt_error(err, EINVAL, "%s limit \"%s\" is not a quantity", what,
				 json_string_value(limit));
	return 0;
}

/* Memory and CPU the pod asks for: the sum of its apps' limits. */
static int requested_resources(struct prepare *p, struct rkt_err *err)
{
	for (size_t i = 0; i < p->pm->n_apps; i++) {
		const struct appc_app *app = p->pm->apps[i].app;
		for (size_t k = 0; app && k < app->n_isolators; k++) {
			const struct appc_isolator *iso = &app->isolators[k];
			int64_t milli = 0;
			int r = 0;
			if (!strcmp(iso->name, "resource/memory")) {
				r = quantity(iso->value, "memory", &milli, err);
				p->memory += (uint64_t)(milli / 1000);
			} else if (!strcmp(iso->name, "resource/cpu")) {
				r = quantity(iso->value, "cpu", &milli, err);
				p->cpu_milli += milli;
			}
			if (r < 0)
				return r;
		}
	}
	return 0;
}

/* Live pods (preparing, prepared, running) the uid already owns. */
static long pods_owned(int pods_fd, uid_t uid)
{
	static const char *const states[] = { "embryo", "prepare", "prepared", "run" };
	long n = 0;
	for (size_t s = 0; s < sizeof states / sizeof states[0]; s++) {
		int dfd = open_beneath(pods_fd, states[s], O_RDONLY | O_DIRECTORY, 0);
		if (dfd < 0)
			continue;
		_cleanup_closedir_ DIR *d = fdopendir(dfd);
		if (!d) {
			close(dfd);
			continue;
		}
		for (struct dirent *e; (e = readdir(d));) {
			if (!pod_uuid_valid(e->d_name))
				continue;
			_cleanup_close_ int pfd = podgc_open_pod(pods_fd, states[s], e->d_name);
			uid_t owner;
			struct rkt_err ignore = { 0 };
			if (pfd >= 0 && podgc_owner(pfd, e->d_name, &owner, &ignore) == 0 && owner == uid)
				n++;
		}
	}
	return n;
}

/* pods/ and its state dirs, root:<group of --dir> 2750 as tmpfiles makes
 * them (DESIGN §4), when this is the first pod of a fresh tree. */
static int ensure_pods_dirs(int dirfd, int *ret_pods_fd, struct rkt_err *err)
{
	static const char *const dirs[] = { "pods",	     "pods/embryo", "pods/prepare",	 "pods/prepared",
					    "pods/run", "pods/exited-garbage", "pods/garbage" };
	struct stat top;
	if (fstat(dirfd, &top) < 0)
		return rkt_error_errno(err, errno, "stat of the data directory");
	for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
		if (mkdirat(dirfd, dirs[i], 0750) < 0) {
			if (errno == EEXIST)
				continue;
			return rkt_error_errno(err, errno, "creating %s", dirs[i]);
		}
		_cleanup_close_ int fd = open_beneath(dirfd, dirs[i], O_RDONLY | O_DIRECTORY, 0);
		if (fd < 0 || fchown(fd, 0, top.st_gid) < 0 || fchmod(fd, 02750) < 0)
			return rkt_error_errno(err, fd < 0 ? -fd : errno, "setting up %s", dirs[i]);
	}
	int fd = open_beneath(dirfd, "pods", O_RDONLY | O_DIRECTORY, 0);
	if (fd < 0)
		return rkt_error_errno(err, -fd, "opening pods");
	*ret_pods_fd = fd;
	return 0;
}

/* Counting the caller's pods opens every live pod: only worth it when a
 * rule caps them (root and a policy without maxPodsPerUser never look). */
static bool pod_cap_possible(const struct prepare *p)
{
	const struct policy *pol = p->c->cfg->policy;
	if (p->c->peer.uid == 0 || !pol)
		return false;
	for (size_t r = 0; r < pol->n_rules; r++)
		if (pol->rules[r].max_pods_per_user)
			return true;
	return false;
}

static int policy_check(struct prepare *p, int pods_fd, struct rkt_err *err)
{
	for (size_t i = 0; !p->insecure_list && i < sizeof insecure_names / sizeof insecure_names[0]; i++)
		if (p->insecure & (1u << i))
			p->insecure_list = strv_append(p->insecure_list, insecure_names[i]);
	struct pod_request req = {
		.uid = p->c->peer.uid,
		.gids = p->c->peer.gids,
		.n_gids = p->c->peer.n_gids,
		.stage1 = p->stage1,
		.signed_images = !(p->insecure & IPC_INSECURE_IMAGE),
		.insecure_options = p->insecure_list,
		.host_volumes = p->host_volumes,
		.nets = NULL,
		.memory = p->memory,
		.cpu_milli = p->cpu_milli,
		.pods_owned = pod_cap_possible(p) ? pods_owned(pods_fd, p->c->peer.uid) : 0,
	};
	struct pod_limits lim;
	return policy_check_run(p->c->cfg->policy, &req, &lim, err);
}

/* maxPodsPerUser against concurrent prepares: the first check (before any
 * rendering) refuses early; this one counts again, pods being created in
 * embryo/ included, under a lock held until the new pod exists, so that
 * two prepares cannot both take the last place. */
static int recheck_pod_cap(struct prepare *p, int pods_fd, int *ret_lock, struct rkt_err *err)
{
	if (!pod_cap_possible(p))
		return 0;
	int lock = lockfile_lock(pods_fd, POD_COUNT_LOCK, LOCK_EX, 0600);
	if (lock < 0)
		return rkt_error_errno(err, -lock, "locking pods/%s", POD_COUNT_LOCK);
	*ret_lock = lock;
	return policy_check(p, pods_fd, err);
}

/* The rule that applies to the caller says signedImagesOnly (root: never). */
static bool rule_wants_signed(const struct prepare *p)
{
	const struct policy *pol = p->c->cfg->policy;
	if (p->c->peer.uid == 0 || !pol)
		return false;
	for (size_t r = 0; r < pol->n_rules; r++)
		for (size_t g = 0; g < pol->rules[r].n_gids; g++)
			for (size_t k = 0; k < p->c->peer.n_gids; k++)
				if (pol->rules[r].gids[g] == p->c->peer.gids[k])
					return pol->rules[r].signed_images_only;
	return true;
}

static int render_images(struct prepare *p, struct rkt_err *err)
{
	/* Policy has passed: "image" was either not asked for or allowed. */
	bool allow_unsigned = p->insecure & IPC_INSECURE_IMAGE;
	p->tree_ids = xcalloc(p->pm->n_apps, sizeof *p->tree_ids);
	p->tree_holds = xcalloc(p->pm->n_apps, sizeof *p->tree_holds);
	for (size_t i = 0; i < p->pm->n_apps; i++)
		p->tree_holds[i] = -1;
	p->all_signed = true;
	for (size_t i = 0; i < p->pm->n_apps; i++) {
		size_t j;
		for (j = 0; j < i; j++)
			if (!strcmp(p->pm->apps[j].image_id, p->pm->apps[i].image_id))
				break;
		if (j < i) {
			memcpy(p->tree_ids[i], p->tree_ids[j], TREE_ID_MAX);
			continue;
		}
		bool is_signed = false;
		int r = session_render_image(p->c, p->pm->apps[i].image_id, allow_unsigned, p->tree_ids[i],
					     &is_signed, &p->tree_holds[i], err);
		if (r < 0)
			return r;
		p->all_signed &= is_signed;
	}
	if (!p->all_signed && rule_wants_signed(p))
		return rkt_error(err, EPERM,
				 "denied by policy: unsigned image not allowed (signedImagesOnly) for uid %u",
				 (unsigned)p->c->peer.uid);
	return 0;
}

static void uuid_v4(char out[POD_UUID_LEN + 1])
{
	unsigned char b[16];
	size_t got = 0;
	while (got < sizeof b) {
		ssize_t n = getrandom(b + got, sizeof b - got, 0);
		if (n > 0)
			got += (size_t)n;
	}
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	snprintf(out, POD_UUID_LEN + 1,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2],
		 b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

static int write_pod_file(const struct prepare *p, int dfd, const char *name, const void *data,
			  size_t len, struct rkt_err *err)
{
	return p->durable ? write_file_atomic_at(dfd, name, data, len, 0640, err)
			  : write_file_atomic_nosync_at(dfd, name, data, len, 0640, err);
}

static int write_str(const struct prepare *p, int dfd, const char *name, const char *s,
		     struct rkt_err *err)
{
	return write_pod_file(p, dfd, name, s, strlen(s), err);
}

/* appsinfo/<app>/{manifest,treeStoreID}: the manifest comes from the
 * rendered tree (root's, verified), never from the client or the DB. */
static int write_appinfo(struct prepare *p, int podfd, size_t i, struct rkt_err *err)
{
	const struct pod_app *a = &p->pm->apps[i];
	_cleanup_free_ char *dir = xasprintf("appsinfo/%s", a->name);
	if (mkdir_p_at(podfd, dir, 0750) < 0)
		return rkt_error_errno(err, errno, "creating %s", dir);
	_cleanup_free_ char *rel = xasprintf("tree/%s/manifest", p->tree_ids[i]);
	_cleanup_close_ int mfd = open_beneath(p->dirfd, rel, O_RDONLY, 0);
	if (mfd < 0)
		return rkt_error_errno(err, -mfd, "reading the rendered manifest %s", rel);
	_cleanup_free_ char *buf = NULL;
	size_t len;
	int r = read_fd_bounded(mfd, TREE_MANIFEST_MAX, &buf, &len);
	if (r < 0)
		return rkt_error_errno(err, -r, "reading %s", rel);
	struct image_manifest *im = NULL;
	r = image_manifest_parse(buf, len, &im, err);
	if (r < 0)
		return rkt_error_wrap(err, "%s", rel);
	image_manifest_free(im);
	_cleanup_free_ char *mpath = xasprintf("%s/manifest", dir);
	_cleanup_free_ char *tpath = xasprintf("%s/treeStoreID", dir);
	r = write_pod_file(p, podfd, mpath, buf, len, err);
	if (r >= 0)
		r = write_str(p, podfd, tpath, p->tree_ids[i], err);
	return r;
}

static int write_pod_files(struct prepare *p, int podfd, struct rkt_err *err)
{
	_cleanup_free_ char *json = json_dumps(p->pm->json, JSON_COMPACT);
	if (!json)
		return rkt_error(err, ENOMEM, "serialising the pod manifest");
	/* What is written is what was validated: parse it once more. */
	struct pod_manifest *check = NULL;
	int r = pod_manifest_parse(json, strlen(json), &check, err);
	if (r < 0)
		return rkt_error_wrap(err, "pod manifest after resolving host volumes");
	pod_manifest_free(check);
	char owner[24];
	snprintf(owner, sizeof owner, "%u\n", (unsigned)p->c->peer.uid);
	if ((r = write_str(p, podfd, "pod", json, err)) < 0 ||
	    (r = write_str(p, podfd, "pod-created", "", err)) < 0)
		return r;
	for (size_t i = 0; i < p->pm->n_apps; i++)
		if ((r = write_appinfo(p, podfd, i, err)) < 0)
			return r;
	if ((r = write_str(p, podfd, "owner", owner, err)) < 0 ||
	    (r = write_str(p, podfd, "stage1-flavor", p->stage1, err)) < 0)
		return r;
	/* rkt's marker: the pod's apps run on overlays (run-prepared reads it). */
	if (p->overlay && (r = write_str(p, podfd, "overlay-prepared", "", err)) < 0)
		return r;
	if (p->durable && fsync(podfd) < 0)
		return rkt_error_errno(err, errno, "syncing the pod directory");
	return 0;
}

/* Creates the pod in embryo/, fills it, then moves it through prepare/ to
 * prepared/ under its lock (rkt's protocol, every move synced). Safe: all
 * paths are beneath the helper's own pods dir and made of a fresh UUID. */
static int create_pod(struct prepare *p, int pods_fd, char uuid[POD_UUID_LEN + 1],
		      struct rkt_err *err)
{
	uuid_v4(uuid);
	_cleanup_close_ int efd = open_beneath(pods_fd, "embryo", O_RDONLY | O_DIRECTORY, 0);
	if (efd < 0)
		return rkt_error_errno(err, -efd, "opening pods/embryo");
	if (mkdirat(efd, uuid, 0750) < 0)
		return rkt_error_errno(err, errno, "creating pods/embryo/%s", uuid);
	_cleanup_close_ int podfd = podgc_open_pod(pods_fd, "embryo", uuid);
	int r = podfd < 0 ? rkt_error_errno(err, -podfd, "opening pods/embryo/%s", uuid) : 0;
	if (r >= 0 && flock(podfd, LOCK_EX | LOCK_NB) < 0)
		r = rkt_error_errno(err, errno, "locking pods/embryo/%s", uuid);
	if (r >= 0)
		r = write_pod_files(p, podfd, err);
	if (r >= 0) /* --port: declared names, host ports the caller may forward */
		r = net_ports_check(podfd, p->c->peer.uid, err);
	struct session_userns range;
	if (r >= 0 && p->private_users)
		r = session_userns_allocate(pods_fd, podfd, p->durable, &range, err);
	if (r >= 0)
		r = p->durable ? podgc_move(pods_fd, "embryo", "prepare", uuid, err)
			       : podgc_move_nosync(pods_fd, "embryo", "prepare", uuid, err);
	if (r < 0) {
		(void)rm_rf_at(efd, uuid);
		return r;
	}
	/* From here a failure leaves rkt's "aborted prepare" for gc. */
	r = p->durable ? podgc_move(pods_fd, "prepare", "prepared", uuid, err)
		       : podgc_move_nosync(pods_fd, "prepare", "prepared", uuid, err);
	return r;
}

static int refuse(struct conn *c, struct rkt_err *lerr, struct rkt_err *err)
{
	return session_reply_errno(c, lerr->code ? lerr->code : EINVAL, lerr->msg, err);
}

/* PREPARE_REQ's and RUN_REQ's common part (fd 0 of m: the manifest). */
int session_prepare_pod(struct conn *c, struct ipc_msg *m, char *uuid,
			struct rkt_err *refusal, struct rkt_err *err)
{
	_cleanup_close_ int mfd = ipc_msg_take_fd(m, 0);
	if (mfd < 0)
		return rkt_error(err, EBADMSG, "%s without its manifest memfd", ipc_type_name(m->type));
	_cleanup_free_ char *buf = NULL;
	size_t len;
	int r = ipc_memfd_read_sealed(mfd, IPC_MANIFEST_MAX, &buf, &len, err);
	if (r < 0)
		return r; /* a protocol violation: the connection ends */

	struct prepare p = { .c = c, .stage1 = "ns", .durable = m->type != IPC_RUN_REQ, .dirfd = -1 };
	_cleanup_close_ int pods_fd = -1, count_lock = -1;
	if (pod_manifest_parse(buf, len, &p.pm, refusal) < 0) {
		rkt_error_wrap(refusal, "invalid pod manifest");
		goto refused;
	}
	if (ipc_msg_has(m, IPC_TAG_STAGE1))
		ipc_msg_get_str(m, IPC_TAG_STAGE1, &p.stage1);
	if (!appc_name_valid(p.stage1)) {
		rkt_error(refusal, EINVAL, "invalid stage1 flavor name \"%s\"", p.stage1);
		goto refused;
	}
	if (ipc_msg_has(m, IPC_TAG_INSECURE))
		ipc_msg_get_u32(m, IPC_TAG_INSECURE, &p.insecure);
	uint32_t run_flags = 0;
	if (ipc_msg_has(m, IPC_TAG_RUN_FLAGS))
		ipc_msg_get_u32(m, IPC_TAG_RUN_FLAGS, &run_flags);
	p.private_users = run_flags & IPC_RUNF_PRIVATE_USERS;
	p.overlay = !(run_flags & IPC_RUNF_NO_OVERLAY);
	p.dirfd = open(c->cfg->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (p.dirfd < 0) {
		rkt_error_errno(refusal, errno, "cannot open %s", c->cfg->dir);
		goto refused;
	}
	if (check_images(&p, refusal) < 0 || resolve_host_volumes(&p, refusal) < 0 ||
	    requested_resources(&p, refusal) < 0 || ensure_pods_dirs(p.dirfd, &pods_fd, refusal) < 0 ||
	    policy_check(&p, pods_fd, refusal) < 0 || render_images(&p, refusal) < 0 ||
	    recheck_pod_cap(&p, pods_fd, &count_lock, refusal) < 0 ||
	    create_pod(&p, pods_fd, uuid, refusal) < 0)
		goto refused;
	prepare_done(&p);
	return 0;
refused:
	prepare_done(&p);
	if (!refusal->code)
		refusal->code = EINVAL;
	return 1;
}

int op_prepare(struct conn *c, struct ipc_msg *m, struct rkt_err *err)
{
	/* Reading members' blobs in cas (2770, files owned by members) and
	 * resolving a host volume source need DAC_READ_SEARCH; the renderer
	 * exec'd from here inherits this bounding set and needs ownership,
	 * modes and device nodes of the tree it extracts (CHOWN, FOWNER,
	 * FSETID, MKNOD, DAC_OVERRIDE), and SETPCAP to narrow it further. */
	static const int caps[] = { SESSION_PREPARE_CAPS };
	if (session_keep_caps(caps, sizeof caps / sizeof caps[0]) < 0)
		return rkt_error(err, EPERM, "prepare: cannot set the session's capabilities");
	struct rkt_err lerr = { 0 };
	char uuid[POD_UUID_LEN + 1];
	int r = session_prepare_pod(c, m, uuid, &lerr, err);
	if (r < 0)
		return r;
	if (r > 0)
		return refuse(c, &lerr, err);
	_cleanup_ipc_msg_ struct ipc_msg a;
	ipc_msg_init(&a, IPC_PREPARE_ANS);
	ipc_msg_put_str(&a, IPC_TAG_UUID, uuid);
	return session_reply(c, &a, err);
}
