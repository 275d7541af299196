#include "stage1/rootfs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "stage1/dns.h"

#define MS_SAFE (MS_NOSUID | MS_NODEV | MS_NOEXEC)

static int do_mount(const char *src, const char *dst, const char *type, unsigned long flags,
		    const char *data, struct rkt_err *err)
{
	if (mount(src, dst, type, flags, data) < 0)
		return rkt_error_errno(err, errno, "mount %s on %s",
				       type ? type : src ? src : "(remount)", dst);
	return 0;
}

/* A top-level directory of the rootfs that we mount on must be a real
 * directory: a symlink from the image would point our mounts elsewhere.
 * It is opened without following links and the mount then targets that
 * open directory (/proc/self/fd/N), so nothing can swap it in between. */
static int open_mount_dir(int rootfd, const char *root, const char *name, mode_t mode, int *ret_fd,
			  struct rkt_err *err)
{
	if (mkdirat(rootfd, name, mode) < 0 && errno != EEXIST)
		return rkt_error_errno(err, errno, "mkdir %s/%s", root, name);
	int fd = openat(rootfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && (errno == ENOTDIR || errno == ELOOP))
		return rkt_error(err, ENOTDIR, "rootfs: /%s is not a directory", name);
	if (fd < 0)
		return rkt_error_errno(err, errno, "open %s/%s", root, name);
	*ret_fd = fd;
	return 0;
}

static char *fd_path(int fd)
{
	return xasprintf("/proc/self/fd/%d", fd);
}

static int touch(const char *path, mode_t mode, struct rkt_err *err)
{
	_cleanup_close_ int fd =
		open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, mode);
	if (fd < 0)
		return rkt_error_errno(err, errno, "create %s", path);
	if (fchmod(fd, mode) < 0)
		return rkt_error_errno(err, errno, "chmod %s", path);
	return 0;
}

static int bind_ro(const char *path, struct rkt_err *err)
{
	int r = do_mount(path, path, NULL, MS_BIND | MS_REC, NULL, err);
	if (r < 0)
		return r;
	return do_mount(NULL, path, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_SAFE, NULL, err);
}

static int setup_dev(const char *dev, bool console_tty, struct rkt_err *err)
{
	static const char *const nodes[] = { "null", "zero", "full", "random", "urandom", "tty" };
	static const char *const links[][2] = {
		{ "ptmx", "pts/ptmx" },	      { "fd", "/proc/self/fd" },
		{ "stdin", "/proc/self/fd/0" }, { "stdout", "/proc/self/fd/1" },
		{ "stderr", "/proc/self/fd/2" },
	};
	int r = 0;
	for (size_t i = 0; r >= 0 && i < sizeof nodes / sizeof nodes[0]; i++) {
		_cleanup_free_ char *dst = xasprintf("%s/%s", dev, nodes[i]);
		_cleanup_free_ char *src = xasprintf("/dev/%s", nodes[i]);
		r = touch(dst, 0666, err);
		if (r >= 0)
			r = do_mount(src, dst, NULL, MS_BIND, NULL, err);
	}
	if (r >= 0) {
		_cleanup_free_ char *dst = xasprintf("%s/console", dev);
		const char *tty = console_tty && isatty(0) ? ttyname(0) : NULL;
		r = touch(dst, 0600, err);
		if (r >= 0)
			r = do_mount(tty ? tty : "/dev/null", dst, NULL, MS_BIND, NULL, err);
	}
	for (size_t i = 0; r >= 0 && i < sizeof links / sizeof links[0]; i++) {
		_cleanup_free_ char *dst = xasprintf("%s/%s", dev, links[i][0]);
		if (symlink(links[i][1], dst) < 0)
			r = rkt_error_errno(err, errno, "symlink %s", dst);
	}
	if (r >= 0) {
		_cleanup_free_ char *pts = xasprintf("%s/pts", dev);
		_cleanup_free_ char *shm = xasprintf("%s/shm", dev);
		if (mkdir(pts, 0755) < 0 || mkdir(shm, 01777) < 0)
			return rkt_error_errno(err, errno, "mkdir in %s", dev);
		r = do_mount("devpts", pts, "devpts", MS_NOSUID | MS_NOEXEC,
			     "newinstance,ptmxmode=0666,mode=0620", err);
		if (r >= 0)
			r = do_mount("shm", shm, "tmpfs", MS_SAFE, "mode=1777,size=65536k", err);
	}
	return r;
}

/* Paths apps may read but never change (rkt-behaviour.md §7.5; /proc/sys as
 * systemd-nspawn keeps it). */
static const char *const proc_ro[] = {
	"sys", "sysrq-trigger", "bus", "sys/kernel/core_pattern", "sys/kernel/modprobe",
	"sys/vm/panic_on_oom",
};
static const char *const proc_hidden[] = {
	"kcore", "kallsyms", "sched_debug", "config.gz", "kmem", "mem", "timer_list", "keys",
};
static const char *const sys_hidden[] = { "firmware", "fs", "hypervisor", "module", "power" };

static bool exists(const char *p)
{
	struct stat st;
	return lstat(p, &st) == 0;
}

/* The masks are bind mounts of a mode-000 file made on the app's own /dev
 * tmpfs; its name is removed afterwards, the mounts keep the inode. */
static int mask_proc(const char *root, struct rkt_err *err)
{
	_cleanup_free_ char *blank = xasprintf("%s/dev/.rkt-inaccessible", root);
	int r = touch(blank, 0000, err);
	for (size_t i = 0; r >= 0 && i < sizeof proc_ro / sizeof proc_ro[0]; i++) {
		_cleanup_free_ char *p = xasprintf("%s/proc/%s", root, proc_ro[i]);
		if (exists(p))
			r = bind_ro(p, err);
	}
	for (size_t i = 0; r >= 0 && i < sizeof proc_hidden / sizeof proc_hidden[0]; i++) {
		_cleanup_free_ char *p = xasprintf("%s/proc/%s", root, proc_hidden[i]);
		if (exists(p))
			r = do_mount(blank, p, NULL, MS_BIND, NULL, err);
	}
	unlink(blank);
	return r;
}

static int mask_sys(const char *root, struct rkt_err *err)
{
	int r = 0;
	for (size_t i = 0; r >= 0 && i < sizeof sys_hidden / sizeof sys_hidden[0]; i++) {
		_cleanup_free_ char *p = xasprintf("%s/sys/%s", root, sys_hidden[i]);
		if (exists(p))
			r = do_mount("tmpfs", p, "tmpfs", MS_SAFE | MS_RDONLY, "mode=000,size=0", err);
	}
	return r;
}

/* sysfs can only be mounted by the owner of the netns's user namespace: a
 * pod with --private-users in a netns made outside it (--net=host, CNI)
 * gets a clone of the host's /sys instead, read-only all the way down. */
static int mount_sys(const char *root, const char *sys, struct rkt_err *err)
{
	if (mount("sysfs", sys, "sysfs", MS_SAFE | MS_RDONLY, NULL) == 0)
		return 0;
	if (errno != EPERM)
		return rkt_error_errno(err, errno, "mount sysfs on %s", sys);
	int r = do_mount("/sys", sys, NULL, MS_BIND | MS_REC, NULL, err);
	if (r < 0)
		return r;
	/* By name: the fd path still leads to the directory beneath the bind. */
	_cleanup_free_ char *top = xasprintf("%s/sys", root);
	struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID |
					       MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC };
	if (mount_setattr(AT_FDCWD, top, AT_RECURSIVE | AT_SYMLINK_NOFOLLOW, &attr, sizeof attr) < 0)
		return rkt_error_errno(err, errno, "make the host's /sys read-only on %s", top);
	return 0;
}

int rootfs_setup(const struct rootfs_opts *o, struct rkt_err *err)
{
	const char *root = o->path;
	_cleanup_close_ int rootfd = -1, procfd = -1, sysfd = -1, devfd = -1;
	/* pivot_root needs the new root to be a mount point. */
	int r = do_mount(root, root, NULL, MS_BIND | MS_REC, NULL, err);
	if (r >= 0 && (rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
		r = rkt_error_errno(err, errno, "open %s", root);
	if (r >= 0)
		r = open_mount_dir(rootfd, root, "proc", 0555, &procfd, err);
	if (r >= 0)
		r = open_mount_dir(rootfd, root, "sys", 0555, &sysfd, err);
	if (r >= 0)
		r = open_mount_dir(rootfd, root, "dev", 0755, &devfd, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *proc = fd_path(procfd), *sys = fd_path(sysfd), *dev = fd_path(devfd);
	r = do_mount("proc", proc, "proc", MS_SAFE, NULL, err);
	if (r >= 0)
		r = mount_sys(root, sys, err);
	/* The /dev entries go into the fresh tmpfs through the same name,
	 * now the tmpfs mounted on the directory checked above. */
	_cleanup_free_ char *devpath = xasprintf("%s/dev", root);
	if (r >= 0)
		r = do_mount("tmpfs", dev, "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k", err);
	if (r >= 0)
		r = setup_dev(devpath, o->console_tty, err);
	if (r >= 0 && !o->disable_paths)
		r = mask_proc(root, err);
	if (r >= 0 && !o->disable_paths)
		r = mask_sys(root, err);
	if (r < 0)
		return r;
	if (chdir(root) < 0)
		return rkt_error_errno(err, errno, "chdir %s", root);
	/* pivot_root(".", ".") stacks the old root on the new one; detaching it
	 * leaves the app's tree alone, with no directory to hold the old root. */
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return rkt_error_errno(err, errno, "pivot_root %s", root);
	if (umount2(".", MNT_DETACH) < 0)
		return rkt_error_errno(err, errno, "detach the old root");
	if (chdir("/") < 0)
		return rkt_error_errno(err, errno, "chdir /");
	return 0;
}

static int write_new(const char *path, const char *text, bool replace, struct rkt_err *err)
{
	int flags = O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY;
	_cleanup_close_ int fd = open(path, flags | (replace ? O_TRUNC : O_EXCL), 0644);
	if (fd < 0)
		return rkt_error_errno(err, errno, "create %s", path);
	if (fchmod(fd, 0644) < 0 || write_all(fd, text, strlen(text)) < 0)
		return rkt_error_errno(err, errno, "write %s", path);
	return 0;
}

int rootfs_write_etc(const char *hostname, struct rkt_err *err)
{
	struct stat st;
	if (mkdir("/etc", 0755) < 0 && errno != EEXIST)
		return rkt_error_errno(err, errno, "mkdir /etc");
	/* mkdir applies the umask; the sticky world-writable mode is set after. */
	if (mkdir("/tmp", 01777) == 0 && chmod("/tmp", 01777) < 0)
		return rkt_error_errno(err, errno, "chmod /tmp");
	_cleanup_free_ char *line = xasprintf("%s\n", hostname);
	int r = write_new("/etc/hostname", line, true, err);
	if (r >= 0 && lstat("/etc/hosts", &st) < 0) {
		_cleanup_free_ char *hosts = dns_hosts_localhost(hostname);
		r = write_new("/etc/hosts", hosts, false, err);
	}
	return r;
}
