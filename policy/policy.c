#include "policy.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/appc.h"
#include "common/cleanup.h"
#include "common/util.h"

#define POLICY_MAX_BYTES (256u * 1024)

static const char *const known_insecure[] = { "image", "tls", "ondisk", "http", "pubkey",
					      "capabilities", "paths", "seccomp", NULL };

struct parse_ctx {
	const char *path;
	policy_group_resolver resolve;
	void *rctx;
	struct rkt_err *err;
};

static int key_error(struct parse_ctx *c, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int key_error(struct parse_ctx *c, const char *key, const char *fmt, ...)
{
	char what[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	return rkt_error(c->err, EINVAL, "%s: key \"%s\": %s", c->path, key, what);
}

static void rule_done(struct policy_rule *r)
{
	strv_free(r->groups);
	free(r->gids);
	strv_free(r->stage1);
	strv_free(r->host_volumes);
	strv_free(r->net);
	strv_free(r->insecure_options);
	free(r->max_memory_text);
	free(r->max_cpu_text);
}

void policy_free(struct policy *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n_rules; i++)
		rule_done(&p->rules[i]);
	free(p->rules);
	free(p->path);
	free(p);
}

struct policy *policy_default(const char *path)
{
	struct policy *p = xcalloc(1, sizeof *p);
	p->path = xstrdup(path ? path : POLICY_DEFAULT_PATH);
	p->tpm = POLICY_TPM_OPTIONAL;
	p->selinux = POLICY_SELINUX_AUTO;
	return p;
}

int policy_resolve_group_nss(const char *name, gid_t *ret, void *ctx)
{
	(void)ctx;
	struct group gr, *res = NULL;
	char buf[4096];
	if (getgrnam_r(name, &gr, buf, sizeof buf, &res) != 0 || !res)
		return -ENOENT;
	*ret = res->gr_gid;
	return 0;
}

static int parse_enum(struct parse_ctx *c, json_t *v, const char *key, const char *const *names,
		      int *ret)
{
	if (!json_is_string(v))
		return key_error(c, key, "must be a string");
	for (int i = 0; names[i]; i++)
		if (strcmp(json_string_value(v), names[i]) == 0) {
			*ret = i;
			return 0;
		}
	return key_error(c, key, "\"%s\" is not one of the allowed values", json_string_value(v));
}

/* A list of strings; check (may be NULL) validates each element. */
static int parse_strv(struct parse_ctx *c, json_t *v, const char *key,
		      int (*check)(struct parse_ctx *, const char *, const char *), char ***ret)
{
	if (!json_is_array(v))
		return key_error(c, key, "must be a list of strings");
	char **out = xcalloc(1, sizeof *out);
	size_t i;
	json_t *e;
	json_array_foreach(v, i, e)
	{
		char sub[256];
		snprintf(sub, sizeof sub, "%s[%zu]", key, i);
		if (!json_is_string(e) || !*json_string_value(e)) {
			strv_free(out);
			return key_error(c, sub, "must be a non-empty string");
		}
		if (strv_contains(out, json_string_value(e))) {
			strv_free(out);
			return key_error(c, sub, "\"%s\" is listed twice", json_string_value(e));
		}
		if (check) {
			int r = check(c, sub, json_string_value(e));
			if (r < 0) {
				strv_free(out);
				return r;
			}
		}
		out = strv_append(out, json_string_value(e));
	}
	*ret = out;
	return 0;
}

static int check_abs_path(struct parse_ctx *c, const char *key, const char *s)
{
	if (s[0] != '/')
		return key_error(c, key, "\"%s\" is not an absolute path", s);
	if (strstr(s, "/../") || str_has_suffix(s, "/.."))
		return key_error(c, key, "\"%s\" contains \"..\"", s);
	return 0;
}

static int check_insecure(struct parse_ctx *c, const char *key, const char *s)
{
	for (size_t i = 0; known_insecure[i]; i++)
		if (strcmp(s, known_insecure[i]) == 0)
			return 0;
	return key_error(c, key, "\"%s\" is not an rkt insecure option", s);
}

static int check_bare_name(struct parse_ctx *c, const char *key, const char *s)
{
	if (strchr(s, '/') || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return key_error(c, key, "\"%s\" must be a bare name", s);
	return 0;
}

/* Quantities as appc writes them ("2G", "512Mi", "500m"); returns milli-units. */
static int parse_quantity(struct parse_ctx *c, json_t *v, const char *key, int64_t *ret_milli,
			  char **ret_text)
{
	char buf[64];
	const char *s;
	if (json_is_string(v))
		s = json_string_value(v);
	else if (json_is_integer(v)) {
		snprintf(buf, sizeof buf, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		s = buf;
	} else
		return key_error(c, key, "must be a quantity string such as \"2G\"");
	int64_t milli;
	if (appc_quantity_parse_milli(s, &milli) < 0 || milli <= 0)
		return key_error(c, key, "\"%s\" is not a quantity", s);
	*ret_milli = milli;
	*ret_text = xstrdup(s);
	return 0;
}

static int parse_groups(struct parse_ctx *c, json_t *v, const char *key, struct policy_rule *r)
{
	int ret = parse_strv(c, v, key, NULL, &r->groups);
	if (ret < 0)
		return ret;
	r->n_gids = strv_len(r->groups);
	if (r->n_gids == 0)
		return key_error(c, key, "must name at least one group");
	r->gids = xcalloc(r->n_gids, sizeof *r->gids);
	for (size_t i = 0; i < r->n_gids; i++)
		if (c->resolve(r->groups[i], &r->gids[i], c->rctx) < 0)
			return key_error(c, key, "group \"%s\" does not exist", r->groups[i]);
	return 0;
}

static int parse_rule(struct parse_ctx *c, json_t *obj, size_t idx, struct policy_rule *r)
{
	char base[32];
	snprintf(base, sizeof base, "run[%zu]", idx);
	if (!json_is_object(obj))
		return key_error(c, base, "must be an object");
	r->signed_images_only = true;
	bool have_groups = false;
	const char *k;
	json_t *v;
	json_object_foreach(obj, k, v)
	{
		char key[256];
		int ret = 0;
		snprintf(key, sizeof key, "%s.%s", base, k);
		if (strcmp(k, "groups") == 0) {
			ret = parse_groups(c, v, key, r);
			have_groups = true;
		} else if (strcmp(k, "signedImagesOnly") == 0 || strcmp(k, "noNewPrivileges") == 0) {
			if (!json_is_boolean(v))
				return key_error(c, key, "must be true or false");
			*(k[0] == 's' ? &r->signed_images_only : &r->no_new_privileges) = json_is_true(v);
		} else if (strcmp(k, "stage1") == 0)
			ret = parse_strv(c, v, key, check_bare_name, &r->stage1);
		else if (strcmp(k, "hostVolumes") == 0)
			ret = parse_strv(c, v, key, check_abs_path, &r->host_volumes);
		else if (strcmp(k, "net") == 0)
			ret = parse_strv(c, v, key, check_bare_name, &r->net);
		else if (strcmp(k, "insecureOptions") == 0)
			ret = parse_strv(c, v, key, check_insecure, &r->insecure_options);
		else if (strcmp(k, "maxMemory") == 0) {
			int64_t milli;
			ret = parse_quantity(c, v, key, &milli, &r->max_memory_text);
			if (ret == 0 && milli < 1000)
				return key_error(c, key, "\"%s\" is less than one byte", r->max_memory_text);
			r->max_memory = (uint64_t)(milli / 1000);
		} else if (strcmp(k, "maxCPU") == 0)
			ret = parse_quantity(c, v, key, &r->max_cpu_milli, &r->max_cpu_text);
		else if (strcmp(k, "maxPodsPerUser") == 0) {
			if (!json_is_integer(v) || json_integer_value(v) < 1 ||
			    json_integer_value(v) > 1000000)
				return key_error(c, key, "must be an integer between 1 and 1000000");
			r->max_pods_per_user = (long)json_integer_value(v);
		} else
			return key_error(c, key, "unknown key");
		if (ret < 0)
			return ret;
	}
	if (!have_groups)
		return key_error(c, base, "missing \"groups\"");
	return 0;
}

static int parse_root(struct parse_ctx *c, json_t *root, struct policy *p)
{
	static const char *const tpm_names[] = { "optional", "required", "off", NULL };
	static const char *const selinux_names[] = { "auto", "required", "off", NULL };
	if (!json_is_object(root))
		return rkt_error(c->err, EINVAL, "%s: the policy must be a JSON object", c->path);
	const char *kind = json_string_value(json_object_get(root, "rktKind"));
	const char *ver = json_string_value(json_object_get(root, "rktVersion"));
	if (!kind || strcmp(kind, "privhelper-policy") != 0)
		return key_error(c, "rktKind", "must be \"privhelper-policy\"");
	if (!ver || strcmp(ver, "v1") != 0)
		return key_error(c, "rktVersion", "must be \"v1\"");
	const char *k;
	json_t *v;
	json_object_foreach(root, k, v)
	{
		int ret = 0, e;
		if (strcmp(k, "rktKind") == 0 || strcmp(k, "rktVersion") == 0)
			continue;
		if (strcmp(k, "tpm") == 0) {
			ret = parse_enum(c, v, k, tpm_names, &e);
			p->tpm = (enum policy_tpm)e;
		} else if (strcmp(k, "selinux") == 0) {
			ret = parse_enum(c, v, k, selinux_names, &e);
			p->selinux = (enum policy_selinux)e;
		} else if (strcmp(k, "run") == 0) {
			if (!json_is_array(v))
				return key_error(c, k, "must be a list of rules");
			p->n_rules = json_array_size(v);
			p->rules = xcalloc(p->n_rules ? p->n_rules : 1, sizeof *p->rules);
			for (size_t i = 0; i < p->n_rules; i++) {
				ret = parse_rule(c, json_array_get(v, i), i, &p->rules[i]);
				if (ret < 0)
					break;
			}
		} else
			return key_error(c, k, "unknown key");
		if (ret < 0)
			return ret;
	}
	return 0;
}

int policy_parse(const char *json, size_t len, const char *path, policy_group_resolver resolve,
		 void *ctx, struct policy **ret, struct rkt_err *err)
{
	struct parse_ctx c = { path, resolve ? resolve : policy_resolve_group_nss, ctx, err };
	json_error_t jerr;
	if (len > POLICY_MAX_BYTES)
		return rkt_error(err, EFBIG, "%s: larger than %u bytes", path, POLICY_MAX_BYTES);
	/* Duplicate keys are refused at every level, rules included. */
	json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return rkt_error(err, EINVAL, "%s: line %d: %s", path, jerr.line, jerr.text);
	struct policy *p = policy_default(path);
	int r = parse_root(&c, root, p);
	json_decref(root);
	if (r < 0) {
		policy_free(p);
		return r;
	}
	*ret = p;
	return 0;
}

int policy_load_file(const char *path, bool must_exist, policy_group_resolver resolve, void *ctx,
		     struct policy **ret, struct rkt_err *err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	if (fd < 0) {
		if (errno == ENOENT && !must_exist) {
			*ret = policy_default(path);
			return 0;
		}
		return rkt_error_errno(err, errno, "policy %s", path);
	}
	struct stat st;
	if (fstat(fd, &st) < 0)
		return rkt_error_errno(err, errno, "policy %s", path);
	if (!S_ISREG(st.st_mode))
		return rkt_error(err, EINVAL, "policy %s: not a regular file", path);
	_cleanup_free_ char *buf = NULL;
	size_t len;
	int r = read_fd_bounded(fd, POLICY_MAX_BYTES, &buf, &len);
	if (r < 0)
		return rkt_error_errno(err, -r, "policy %s", path);
	return policy_parse(buf, len, path, resolve, ctx, ret, err);
}

static bool gid_matches(const struct policy_rule *r, const struct pod_request *q)
{
	for (size_t i = 0; i < r->n_gids; i++)
		for (size_t j = 0; j < q->n_gids; j++)
			if (r->gids[i] == q->gids[j])
				return true;
	return false;
}

/* /etc allows /etc and /etc/x, never /etcfoo. */
static bool path_under(const char *prefix, const char *path)
{
	size_t n = strlen(prefix);
	while (n > 1 && prefix[n - 1] == '/')
		n--;
	if (strncmp(path, prefix, n) != 0)
		return false;
	return path[n] == '\0' || path[n] == '/' || (n == 1 && prefix[0] == '/');
}

static bool any_prefix(char *const *prefixes, const char *path)
{
	for (size_t i = 0; prefixes && prefixes[i]; i++)
		if (path_under(prefixes[i], path))
			return true;
	return false;
}

static int deny(struct rkt_err *err, const struct policy *p, int idx, uid_t uid, const char *fmt,
		...) __attribute__((format(printf, 5, 6)));
static int deny(struct rkt_err *err, const struct policy *p, int idx, uid_t uid, const char *fmt,
		...)
{
	char what[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	return rkt_error(err, EPERM, "denied by policy: %s for uid %u (%s rule run[%d])", what,
			 (unsigned)uid, p->path, idx);
}

int policy_check_run(const struct policy *p, const struct pod_request *q, struct pod_limits *ret,
		     struct rkt_err *err)
{
	struct pod_limits lim = { q->memory, q->cpu_milli, false, -1 };
	if (q->uid == 0) {
		if (ret)
			*ret = lim;
		return 0;
	}
	int idx = -1;
	for (size_t i = 0; i < p->n_rules && idx < 0; i++)
		if (gid_matches(&p->rules[i], q))
			idx = (int)i;
	if (idx < 0)
		return rkt_error(err, EPERM,
				 "denied by policy: only root may run pods (%s has no run rule for uid %u)",
				 p->path, (unsigned)q->uid);
	const struct policy_rule *r = &p->rules[idx];
	if (r->signed_images_only && !q->signed_images)
		return deny(err, p, idx, q->uid, "unsigned image not allowed (signedImagesOnly)");
	if (!q->stage1 || !strv_contains(r->stage1, q->stage1))
		return deny(err, p, idx, q->uid, "stage1 flavor \"%s\" not allowed",
			    q->stage1 ? q->stage1 : "");
	for (size_t i = 0; q->insecure_options && q->insecure_options[i]; i++)
		if (!strv_contains(r->insecure_options, q->insecure_options[i]))
			return deny(err, p, idx, q->uid, "insecure option \"%s\" not allowed",
				    q->insecure_options[i]);
	for (size_t i = 0; q->host_volumes && q->host_volumes[i]; i++)
		if (!any_prefix(r->host_volumes, q->host_volumes[i]))
			return deny(err, p, idx, q->uid, "host volume \"%s\" not allowed",
				    q->host_volumes[i]);
	for (size_t i = 0; q->nets && q->nets[i]; i++)
		if (!strv_contains(r->net, q->nets[i]))
			return deny(err, p, idx, q->uid, "net \"%s\" not allowed", q->nets[i]);
	if (r->max_memory) {
		if (q->memory > r->max_memory)
			return deny(err, p, idx, q->uid, "memory %" PRIu64 " bytes exceeds maxMemory %s",
				    q->memory, r->max_memory_text);
		if (!q->memory)
			lim.memory = r->max_memory;
	}
	if (r->max_cpu_milli) {
		if (q->cpu_milli > r->max_cpu_milli)
			return deny(err, p, idx, q->uid, "cpu %" PRId64 "m exceeds maxCPU %s",
				    q->cpu_milli, r->max_cpu_text);
		if (!q->cpu_milli)
			lim.cpu_milli = r->max_cpu_milli;
	}
	if (r->max_pods_per_user && q->pods_owned >= r->max_pods_per_user)
		return deny(err, p, idx, q->uid, "uid already has %ld pods (maxPodsPerUser %ld)",
			    q->pods_owned, r->max_pods_per_user);
	lim.no_new_privileges = r->no_new_privileges;
	lim.rule_index = idx;
	if (ret)
		*ret = lim;
	return 0;
}

int policy_check_owner(uid_t owner, uid_t caller, const char *op, const char *uuid,
		       struct rkt_err *err)
{
	if (caller == 0 || caller == owner)
		return 0;
	return rkt_error(err, EPERM, "%s: denied by policy: pod %s belongs to uid %u, not uid %u", op,
			 uuid, (unsigned)owner, (unsigned)caller);
}

int policy_strict_path_check(const char *path, struct rkt_err *err)
{
	if (path[0] != '/')
		return rkt_error(err, EINVAL, "%s: not an absolute path", path);
	_cleanup_free_ char *p = xstrdup(path);
	for (;;) {
		struct stat st;
		if (lstat(p, &st) < 0)
			return rkt_error_errno(err, errno, "%s", p);
		if (S_ISLNK(st.st_mode))
			return rkt_error(err, EPERM, "%s: is a symlink; the helper's paths must be real paths",
					 p);
		if (st.st_uid != 0)
			return rkt_error(err, EPERM, "%s: owned by uid %u, must be owned by root", p,
					 (unsigned)st.st_uid);
		/* The sticky /tmp-style dirs are still writable by others: refused. */
		if (st.st_mode & (S_IWGRP | S_IWOTH))
			return rkt_error(err, EPERM,
					 "%s: mode %04o is writable by group or others, must not be",
					 p, (unsigned)(st.st_mode & 07777));
		if (strcmp(p, "/") == 0)
			return 0;
		char *slash = strrchr(p, '/');
		if (slash == p)
			slash[1] = '\0';
		else
			*slash = '\0';
	}
}
