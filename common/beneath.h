#pragma once
#include <sys/types.h>

/* openat2(2) of path beneath dfd: the walk never leaves dfd and follows no
 * symlink or magic link at any step (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS
 * | RESOLVE_NO_MAGICLINKS), whatever a less trusted user put on the way
 * (DESIGN §2 rule 2). O_CLOEXEC is added. With O_PATH | O_NOFOLLOW a
 * trailing symlink is opened itself; otherwise it is refused (ELOOP).
 * Returns the fd or -errno. */
int open_beneath(int dfd, const char *path, int flags, mode_t mode);
