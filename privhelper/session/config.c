/* The helper's path checks (DESIGN §2 rule 3, interfaces.md): its policy and
 * system config are root's alone (sshd StrictModes); the data dir and the
 * local config are group-writable by design only where DESIGN §4 says so. */
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "privhelper/session/session.h"

static int parent_strict(const char *path, struct rkt_err *err)
{
	_cleanup_free_ char *parent = xstrdup(path);
	char *slash = strrchr(parent, '/');
	if (!slash)
		return rkt_error(err, EINVAL, "%s: not an absolute path", path);
	if (slash == parent)
		slash[1] = '\0';
	else
		*slash = '\0';
	return policy_strict_path_check(parent, err);
}

static int group_gid(const char *name, gid_t *ret)
{
	/* Every dir of one tree names the same group: read /etc/group once. */
	static char *last;
	static gid_t last_gid;
	if (last && strcmp(last, name) == 0) {
		*ret = last_gid;
		return 0;
	}
	struct group *g = getgrnam(name);
	if (!g)
		return -ENOENT;
	free(last);
	last = xstrdup(name);
	last_gid = g->gr_gid;
	*ret = g->gr_gid;
	return 0;
}

/* Root-owned directory, never other-writable; group-writable only with the
 * given group (NULL: never). */
static int check_dir(const char *path, const char *write_group, struct rkt_err *err)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return rkt_error_errno(err, errno, "%s (create it with setup-data-dir)", path);
	if (!S_ISDIR(st.st_mode))
		return rkt_error(err, ENOTDIR, "%s: not a directory", path);
	if (st.st_uid != 0)
		return rkt_error(err, EPERM, "%s: owned by uid %u, must be owned by root", path,
				 (unsigned)st.st_uid);
	if (st.st_mode & S_IWOTH)
		return rkt_error(err, EPERM, "%s: mode %04o is writable by others", path,
				 (unsigned)(st.st_mode & 07777));
	if (st.st_mode & S_IWGRP) {
		gid_t g;
		if (!write_group)
			return rkt_error(err, EPERM, "%s: mode %04o is writable by its group, must not be",
					 path, (unsigned)(st.st_mode & 07777));
		if (group_gid(write_group, &g) < 0 || st.st_gid != g)
			return rkt_error(err, EPERM,
					 "%s: group-writable, but its group is gid %u, not \"%s\"", path,
					 (unsigned)st.st_gid, write_group);
	}
	return 0;
}

static int check_data_dir(const char *dir, struct rkt_err *err)
{
	static const char *const cas_dirs[] = { "cas", "cas/blob", "cas/db", "cas/tmp", "cas/locks", NULL };
	static const char *const root_dirs[] = { "pods", "pods/embryo", "pods/prepare", "pods/prepared",
						 "pods/run", "pods/exited-garbage", "pods/garbage",
						 NULL };
	int r = parent_strict(dir, err);
	if (r < 0)
		return r;
	if ((r = check_dir(dir, NULL, err)) < 0)
		return r;
	for (size_t i = 0; cas_dirs[i]; i++) {
		_cleanup_free_ char *p = xasprintf("%s/%s", dir, cas_dirs[i]);
		if ((r = check_dir(p, "rkt", err)) < 0)
			return r;
	}
	for (size_t i = 0; root_dirs[i]; i++) {
		_cleanup_free_ char *p = xasprintf("%s/%s", dir, root_dirs[i]);
		if ((r = check_dir(p, NULL, err)) < 0)
			return r;
	}
	_cleanup_free_ char *tree = xasprintf("%s/tree", dir);
	struct stat st;
	if (lstat(tree, &st) == 0 && (st.st_mode & 077))
		return rkt_error(err, EPERM, "%s: mode %04o, must be 0700 (rendered trees are root's)", tree,
				 (unsigned)(st.st_mode & 07777));
	return check_dir(tree, NULL, err);
}

/* The system config may be absent (no flavors installed yet); what exists of
 * it, and everything above, must be root's alone. */
static int check_system_config(const char *path, struct rkt_err *err)
{
	struct stat st;
	if (lstat(path, &st) < 0) {
		if (errno != ENOENT)
			return rkt_error_errno(err, errno, "%s", path);
		return parent_strict(path, err) == -ENOENT ? 0 : parent_strict(path, err);
	}
	return policy_strict_path_check(path, err);
}

int session_check_config(struct session_config *c, struct rkt_err *err)
{
	int r;
	struct stat st;
	if (lstat(c->policy_path, &st) == 0 || c->policy_given) {
		r = policy_strict_path_check(c->policy_path, err);
		if (r < 0)
			return rkt_error_wrap(err, "policy");
	} else if ((r = parent_strict(c->policy_path, err)) < 0 && r != -ENOENT)
		return rkt_error_wrap(err, "policy");
	r = policy_load_file(c->policy_path, c->policy_given, policy_resolve_group_nss, NULL, &c->policy,
			     err);
	if (r < 0)
		return r;
	if ((r = check_system_config(c->system_config, err)) < 0)
		return rkt_error_wrap(err, "system config");
	if ((r = check_data_dir(c->dir, err)) < 0)
		return rkt_error_wrap(err, "data dir");
	if ((r = parent_strict(c->local_config, err)) < 0 ||
	    (r = check_dir(c->local_config, "rkt-admin", err)) < 0)
		return rkt_error_wrap(err, "local config");
	if (c->cni_path && lstat(c->cni_path, &st) == 0 &&
	    (r = policy_strict_path_check(c->cni_path, err)) < 0)
		return rkt_error_wrap(err, "cni path");
	return 0;
}
