#include "common/podstate.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"

static const struct {
	const char *dir;
	enum pod_state locked, unlocked;
} dirs[] = {
	{ "embryo", POD_EMBRYO, POD_EMBRYO },
	{ "prepare", POD_PREPARING, POD_ABORTED_PREPARE },
	{ "prepared", POD_PREPARED, POD_PREPARED },
	{ "run", POD_RUNNING, POD_EXITED },
	{ "exited-garbage", POD_EXITED_DELETING, POD_EXITED_GARBAGE },
	{ "garbage", POD_DELETING, POD_GARBAGE },
};

const char *pod_state_name(enum pod_state s)
{
	static const char *const names[] = {
		[POD_EMBRYO] = "embryo",
		[POD_PREPARING] = "preparing",
		[POD_ABORTED_PREPARE] = "aborted prepare",
		[POD_PREPARED] = "prepared",
		[POD_RUNNING] = "running",
		[POD_EXITED] = "exited",
		[POD_EXITED_DELETING] = "exited deleting",
		[POD_EXITED_GARBAGE] = "exited garbage",
		[POD_DELETING] = "deleting",
		[POD_GARBAGE] = "garbage",
	};
	return names[s];
}

const char *pod_state_dir(enum pod_state s)
{
	for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++)
		if (dirs[i].locked == s || dirs[i].unlocked == s)
			return dirs[i].dir;
	return NULL;
}

bool pod_uuid_valid(const char *s)
{
	if (strlen(s) != POD_UUID_LEN)
		return false;
	for (int i = 0; i < POD_UUID_LEN; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? s[i] != '-' : !(isdigit((unsigned char)s[i]) || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	}
	return true;
}

/* A pod dir is locked while a process holds flock on it (rkt's protocol). */
static bool is_locked(int dirfd, const char *name)
{
	_cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return false;
	if (flock(fd, LOCK_SH | LOCK_NB) < 0)
		return errno == EWOULDBLOCK;
	return false;
}

/* One state dir's candidate for a whole UUID: -1 when it is not there (or
 * not a directory), else whether it is locked. Opening first costs one
 * system call less than stat + open (status is timed, DESIGN §15); a dir
 * the caller may see but not open counts as present and unlocked, as
 * is_locked() has it. */
static int probe_pod_dir(int pods_dirfd, const char *rel)
{
	_cleanup_close_ int fd = openat(pods_dirfd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		struct stat st;
		if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP ||
		    fstatat(pods_dirfd, rel, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
			return -1;
		return 0;
	}
	if (flock(fd, LOCK_SH | LOCK_NB) < 0)
		return errno == EWOULDBLOCK;
	return 0;
}

int pod_lookup(int pods_dirfd, const char *arg, char ret_uuid[POD_UUID_LEN + 1],
	       enum pod_state *ret_state, struct rkt_err *err)
{
	if (!arg || !*arg)
		return rkt_error(err, EINVAL, "UUID cannot be empty");
	size_t alen = strlen(arg);
	for (size_t i = 0; i < alen; i++)
		if (!(isdigit((unsigned char)arg[i]) || (arg[i] >= 'a' && arg[i] <= 'f') || arg[i] == '-'))
			return rkt_error(err, EINVAL, "no matches found for \"%s\"", arg);
	if (pod_uuid_valid(arg)) {
		/* A whole UUID needs no directory walk: ask each state dir. */
		for (size_t d = 0; d < sizeof dirs / sizeof dirs[0]; d++) {
			char rel[64];
			snprintf(rel, sizeof rel, "%s/%s", dirs[d].dir, arg);
			int locked = probe_pod_dir(pods_dirfd, rel);
			if (locked < 0)
				continue;
			memcpy(ret_uuid, arg, POD_UUID_LEN + 1);
			*ret_state = locked ? dirs[d].locked : dirs[d].unlocked;
			return 0;
		}
		return rkt_error(err, ENOENT, "no matches found for \"%s\"", arg);
	}
	int matches = 0;
	for (size_t d = 0; d < sizeof dirs / sizeof dirs[0]; d++) {
		int fd = openat(pods_dirfd, dirs[d].dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			continue;
		_cleanup_closedir_ DIR *dp = fdopendir(fd);
		if (!dp) {
			close(fd);
			continue;
		}
		struct dirent *de;
		while ((de = readdir(dp))) {
			if (!pod_uuid_valid(de->d_name) || strncmp(de->d_name, arg, alen) != 0)
				continue;
			if (++matches == 1) {
				memcpy(ret_uuid, de->d_name, POD_UUID_LEN + 1);
				*ret_state = is_locked(dirfd(dp), de->d_name) ? dirs[d].locked
									     : dirs[d].unlocked;
			}
		}
	}
	if (matches == 0)
		return rkt_error(err, ENOENT, "no matches found for \"%s\"", arg);
	if (matches > 1)
		return rkt_error(err, EINVAL, "ambiguous uuid, %d matches", matches);
	return 0;
}
