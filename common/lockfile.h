#pragma once
#include <sys/types.h>

/* Lock files that can be removed once what they guard is gone (the tree
 * store's .lock-<id>, the image store's cas/locks/<key>), so that a store
 * does not keep an empty file for every image it ever held.
 *
 * The protocol: a remover unlinks a lock file only while it holds the lock
 * exclusively. A locker that opened the file before that unlink gets its
 * lock on a file nobody else will ever lock again, so, once it has the
 * lock, it checks that the name still leads to the file it locked, and
 * otherwise starts over with the file a later locker created. */

/* Opens dfd/name (a plain name: no slash, no symlink followed), creating
 * it with mode if missing, and flock(2)s it with op (LOCK_SH or LOCK_EX,
 * with LOCK_NB or not). Where the caller may not write, an existing file
 * is opened read-only instead (flock needs no write access). Returns the
 * locked fd, or -errno: -EWOULDBLOCK when LOCK_NB and held, -ENOENT when
 * it neither exists nor can be created. */
int lockfile_lock(int dfd, const char *name, int op, mode_t mode);

/* Unlinks dfd/name, which the caller holds with LOCK_EX (through the fd
 * lockfile_lock returned), before it closes that fd. Returns 0 (also when
 * it is already gone) or -errno. */
int lockfile_remove(int dfd, const char *name);
