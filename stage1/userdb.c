#include "stage1/userdb.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/cleanup.h"
#include "common/util.h"

#define USERDB_FILE_MAX (4u << 20)

bool userdb_parse_id(const char *s, uint32_t *ret)
{
	if (!s || !*s || strlen(s) > 10)
		return false;
	for (const char *p = s; *p; p++)
		if (*p < '0' || *p > '9')
			return false;
	unsigned long long v = strtoull(s, NULL, 10);
	if (v >= UINT32_MAX)
		return false;
	*ret = (uint32_t)v;
	return true;
}

/* Finds the line whose first field is name; copies up to nfields fields
 * (colon-separated) into fields, each pointing into buf. */
static int find_entry(const char *text, const char *name, char *buf, size_t buflen,
		      char **fields, size_t nfields)
{
	size_t nl = strlen(name);
	const char *line = text;
	while (line && *line) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);
		if (len > nl && strncmp(line, name, nl) == 0 && line[nl] == ':' && len < buflen) {
			memcpy(buf, line, len);
			buf[len] = '\0';
			size_t n = 0;
			char *p = buf;
			/* strsep keeps empty fields, which passwd uses (gecos). */
			while (n < nfields && (fields[n] = strsep(&p, ":")) != NULL)
				n++;
			if (n == nfields)
				return 0;
		}
		line = end ? end + 1 : NULL;
	}
	return -ENOENT;
}

int userdb_passwd_lookup(const char *text, const char *name, uid_t *ret_uid, gid_t *ret_gid)
{
	char buf[4096];
	char *f[4];
	uint32_t uid, gid;
	if (find_entry(text, name, buf, sizeof buf, f, 4) < 0)
		return -ENOENT;
	if (!userdb_parse_id(f[2], &uid) || !userdb_parse_id(f[3], &gid))
		return -EINVAL;
	*ret_uid = uid;
	if (ret_gid)
		*ret_gid = gid;
	return 0;
}

int userdb_group_lookup(const char *text, const char *name, gid_t *ret_gid)
{
	char buf[4096];
	char *f[3];
	uint32_t gid;
	if (find_entry(text, name, buf, sizeof buf, f, 3) < 0)
		return -ENOENT;
	if (!userdb_parse_id(f[2], &gid))
		return -EINVAL;
	*ret_gid = gid;
	return 0;
}

static int owner_of(int rootfd, const char *spec, bool want_uid, uint32_t *ret, struct rkt_err *err)
{
	struct stat st;
	/* rootfd is the app's root after pivot_root, so the path cannot leave it. */
	if (fstatat(rootfd, spec + 1, &st, 0) < 0)
		return rkt_error_errno(err, errno, "%s %s: cannot stat", want_uid ? "user" : "group",
				       spec);
	*ret = want_uid ? st.st_uid : st.st_gid;
	return 0;
}

static int resolve(int rootfd, const char *spec, bool user, uint32_t *ret, struct rkt_err *err)
{
	const char *what = user ? "user" : "group";
	const char *file = user ? "etc/passwd" : "etc/group";
	if (!spec || !*spec) {
		*ret = 0;
		return 0;
	}
	if (userdb_parse_id(spec, ret))
		return 0;
	if (spec[0] == '/')
		return owner_of(rootfd, spec, user, ret, err);
	_cleanup_free_ char *text = NULL;
	int r = read_file_at(rootfd, file, USERDB_FILE_MAX, &text, NULL, err);
	if (r < 0)
		return rkt_error_wrap(err, "%s %s", what, spec);
	if (user) {
		uid_t u;
		r = userdb_passwd_lookup(text, spec, &u, NULL);
		*ret = u;
	} else {
		gid_t g;
		r = userdb_group_lookup(text, spec, &g);
		*ret = g;
	}
	if (r == -ENOENT)
		return rkt_error(err, ENOENT, "%s %s: no such entry in /%s", what, spec, file);
	if (r < 0)
		return rkt_error(err, EINVAL, "%s %s: bad entry in /%s", what, spec, file);
	return 0;
}

int userdb_resolve_user(int rootfd, const char *spec, uid_t *ret, struct rkt_err *err)
{
	uint32_t v;
	int r = resolve(rootfd, spec, true, &v, err);
	if (r == 0)
		*ret = v;
	return r;
}

int userdb_resolve_group(int rootfd, const char *spec, gid_t *ret, struct rkt_err *err)
{
	uint32_t v;
	int r = resolve(rootfd, spec, false, &v, err);
	if (r == 0)
		*ret = v;
	return r;
}
