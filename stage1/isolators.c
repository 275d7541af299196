#include "stage1/isolators.h"

#include <cap-ng.h>
#include <ctype.h>
#include <errno.h>
#include <linux/capability.h>
#include <string.h>

#include "common/appc.h"
#include "common/cleanup.h"
#include "common/util.h"

const int stage1_default_caps[] = {
	CAP_AUDIT_WRITE, CAP_CHOWN,	 CAP_DAC_OVERRIDE, CAP_FSETID,		 CAP_FOWNER,
	CAP_KILL,	 CAP_MKNOD,	 CAP_NET_RAW,	   CAP_NET_BIND_SERVICE, CAP_SETUID,
	CAP_SETGID,	 CAP_SETPCAP,	 CAP_SETFCAP,	   CAP_SYS_CHROOT,	 -1,
};

enum kind { K_NONE, K_CAPS, K_SECCOMP, K_NNP, K_OOM, K_MEMORY, K_CPU, K_SHARES };

static enum kind kind_of(const char *name)
{
	static const struct {
		const char *name;
		enum kind kind;
	} t[] = {
		{ "os/linux/capabilities-retain-set", K_CAPS },
		{ "os/linux/capabilities-remove-set", K_CAPS },
		{ "os/linux/seccomp-retain-set", K_SECCOMP },
		{ "os/linux/seccomp-remove-set", K_SECCOMP },
		{ "os/linux/no-new-privileges", K_NNP },
		{ "os/linux/oom-score-adj", K_OOM },
		{ "resource/memory", K_MEMORY },
		{ "resource/cpu", K_CPU },
		{ "os/linux/cpu-shares", K_SHARES },
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
		if (strcmp(t[i].name, name) == 0)
			return t[i].kind;
	return K_NONE;
}

int stage1_cap_parse(const char *name, int *ret)
{
	if (strncasecmp(name, "CAP_", 4) != 0 || strlen(name) > 64)
		return -EINVAL;
	char low[64];
	size_t i = 0;
	for (const char *p = name + 4; *p; p++)
		low[i++] = (char)tolower((unsigned char)*p);
	low[i] = '\0';
	int c = capng_name_to_capability(low);
	if (c < 0 || c > 63)
		return -EINVAL;
	*ret = c;
	return 0;
}

static uint64_t default_caps(void)
{
	uint64_t m = 0;
	for (const int *c = stage1_default_caps; *c >= 0; c++)
		m |= 1ULL << *c;
	return m;
}

static int caps_of(const struct appc_isolator *iso, uint64_t *mask, struct rkt_err *err)
{
	json_t *set = json_object_get(iso->value, "set");
	size_t i;
	json_t *v;
	json_array_foreach(set, i, v) {
		int c;
		if (!json_is_string(v) || stage1_cap_parse(json_string_value(v), &c) < 0)
			return rkt_error(err, EINVAL, "isolator %s: unknown capability %s", iso->name,
					 json_is_string(v) ? json_string_value(v) : "(not a string)");
		*mask |= 1ULL << c;
	}
	return 0;
}

/* A resource quantity as appc writes it: a string ("42Mi", "900m") or a
 * JSON number. Returns milli-units. */
static int quantity_milli(json_t *v, int64_t *ret)
{
	if (json_is_integer(v)) {
		json_int_t n = json_integer_value(v);
		if (n < 0 || n > INT64_MAX / 1000)
			return -ERANGE;
		*ret = n * 1000;
		return 0;
	}
	if (json_is_string(v))
		return appc_quantity_parse_milli(json_string_value(v), ret);
	return -EINVAL;
}

struct acc {
	uint64_t retain, remove;
	bool has_retain, has_remove;
	const struct appc_isolator *seccomp;
	int n_seccomp;
};

static int apply_one(const struct appc_isolator *iso, struct acc *a, struct stage1_settings *s,
		     struct rkt_err *err)
{
	int64_t milli;
	switch (kind_of(iso->name)) {
	case K_CAPS:
		if (strcmp(iso->name, "os/linux/capabilities-retain-set") == 0) {
			a->has_retain = true;
			return caps_of(iso, &a->retain, err);
		}
		a->has_remove = true;
		return caps_of(iso, &a->remove, err);
	case K_SECCOMP:
		a->seccomp = iso;
		a->n_seccomp++;
		return 0;
	case K_NNP:
		s->no_new_privs = json_is_true(iso->value);
		return 0;
	case K_OOM:
		s->has_oom_score_adj = true;
		s->oom_score_adj = (int)json_integer_value(iso->value);
		return 0;
	case K_SHARES:
		s->cpu_shares = json_integer_value(iso->value);
		return 0;
	case K_MEMORY:
	case K_CPU: {
		json_t *limit = json_object_get(iso->value, "limit");
		if (!limit)
			return 0;
		if (quantity_milli(limit, &milli) < 0)
			return rkt_error(err, EINVAL, "isolator %s: bad limit", iso->name);
		if (kind_of(iso->name) == K_MEMORY)
			s->memory_limit = milli / 1000;
		else
			s->cpu_limit_milli = milli;
		return 0;
	}
	case K_NONE:
		return 0;
	}
	return 0;
}

static bool pod_has_kind(const struct appc_isolator *pod, size_t n, enum kind k)
{
	for (size_t i = 0; i < n; i++)
		if (kind_of(pod[i].name) == k)
			return true;
	return false;
}

static int build_seccomp(const struct appc_isolator *iso, struct stage1_settings *s,
			 struct rkt_err *err)
{
	bool retain = strcmp(iso->name, "os/linux/seccomp-retain-set") == 0;
	json_t *set = json_object_get(iso->value, "set");
	json_t *jerr = json_object_get(iso->value, "errno");
	_cleanup_strv_ char **names = NULL;
	size_t i;
	json_t *v;
	json_array_foreach(set, i, v) {
		if (!json_is_string(v))
			return rkt_error(err, EINVAL, "isolator %s: set[%zu] is not a string",
					 iso->name, i);
		names = strv_append(names, json_string_value(v));
	}
	int r = seccomp_expand(retain, names, json_is_string(jerr) ? json_string_value(jerr) : NULL,
			       &s->seccomp, err);
	if (r < 0)
		return rkt_error_wrap(err, "isolator %s", iso->name);
	return 0;
}

int stage1_settings_build(const struct appc_isolator *image, size_t n_image,
			  const struct appc_isolator *pod, size_t n_pod,
			  const struct stage1_flags *flags, struct stage1_settings *ret,
			  struct rkt_err *err)
{
	struct stage1_settings s = {
		.memory_limit = -1,
		.cpu_limit_milli = -1,
		.cpu_shares = -1,
	};
	struct acc a = { 0 };
	int r = 0;
	for (size_t i = 0; r >= 0 && i < n_image; i++)
		if (!pod_has_kind(pod, n_pod, kind_of(image[i].name)))
			r = apply_one(&image[i], &a, &s, err);
	for (size_t i = 0; r >= 0 && i < n_pod; i++)
		r = apply_one(&pod[i], &a, &s, err);
	if (r < 0)
		return r;
	if (a.has_retain && a.has_remove)
		return rkt_error(err, EINVAL,
				 "isolators: capabilities-retain-set and capabilities-remove-set "
				 "cannot be used together");
	if (a.n_seccomp > 1)
		return rkt_error(err, EINVAL, "too many seccomp isolators specified");
	s.caps = a.has_retain ? a.retain : default_caps() & ~a.remove;
	s.caps_all = flags && flags->disable_caps;
	if (flags && flags->disable_seccomp)
		s.seccomp.mode = S1_SECCOMP_NONE;
	else if (a.seccomp)
		r = build_seccomp(a.seccomp, &s, err);
	else
		seccomp_default(&s.seccomp);
	if (r < 0)
		return r;
	*ret = s;
	return 0;
}

void stage1_settings_done(struct stage1_settings *s) { seccomp_done(&s->seccomp); }

bool stage1_needs_nnp(const struct stage1_settings *s, uid_t uid)
{
	return s->no_new_privs || (uid != 0 && s->seccomp.mode != S1_SECCOMP_NONE);
}
