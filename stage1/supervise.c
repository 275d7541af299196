#include "stage1/supervise.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"

int stage1_exit_code(int wstatus, bool stopped_by_us)
{
	if (WIFEXITED(wstatus))
		return WEXITSTATUS(wstatus);
	if (WIFSIGNALED(wstatus)) {
		if (stopped_by_us && WTERMSIG(wstatus) == SIGTERM)
			return 0;
		return 128 + WTERMSIG(wstatus);
	}
	return 254;
}

static void record(struct stage1_app *a, int statusfd)
{
	char buf[16];
	struct rkt_err err = { 0 };
	int n = snprintf(buf, sizeof buf, "%d", a->status);
	if (write_file_atomic_nosync_at(statusfd, a->name, buf, (size_t)n, 0644, &err) < 0)
		log_line("stage1", "app %s: cannot record its status: %s", a->name, err.msg);
	log_debug("stage1", "app %s exited with status %d", a->name, a->status);
}

static void signal_apps(struct stage1_pod *pod, int sig)
{
	for (size_t i = 0; i < pod->n_apps; i++) {
		struct stage1_app *a = &pod->apps[i];
		if (!a->running)
			continue;
		a->stopped_by_us = true;
		kill(a->pid, sig);
	}
}

static struct stage1_app *app_by_pid(struct stage1_pod *pod, pid_t pid)
{
	for (size_t i = 0; i < pod->n_apps; i++)
		if (pod->apps[i].running && pod->apps[i].pid == pid)
			return &pod->apps[i];
	return NULL;
}

/* stage1/rootfs/rkt/pids/<app>: each app's pid in the pod's pid namespace,
 * so the enter entrypoint finds the app's own mount namespace. */
static void record_pid(const struct stage1_app *a, int statusfd)
{
	struct rkt_err err = { 0 };
	char buf[16];
	int n = snprintf(buf, sizeof buf, "%d", (int)a->pid);
	(void)mkdirat(statusfd, "../pids", 0755);
	int dfd = openat(statusfd, "../pids", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0 || write_file_atomic_nosync_at(dfd, a->name, buf, (size_t)n, 0644, &err) < 0)
		log_line("stage1", "app %s: cannot record its pid: %s", a->name,
			 dfd < 0 ? strerror(errno) : err.msg);
	if (dfd >= 0)
		close(dfd);
}

/* vfork: the child borrows PID 1's memory until its execve, so no page
 * table is copied and no page faults in copy-on-write, most of a fork's
 * cost on a host with PTI and a paravirtual MMU. Safe because PID 1 is
 * suspended meanwhile, the child never returns (stage1_app_exec ends in
 * execve or _exit), and what it changes that is not memory (namespaces,
 * fds, ids, caps, seccomp) is its own; what it allocates stays allocated.
 * A function of its own so that no caller's variable lives across it. */
__attribute__((noinline)) static pid_t spawn_app(const struct stage1_app *a,
						 const struct app_launch *l)
{
	pid_t pid = vfork();
	if (pid == 0)
		stage1_app_exec(a, l);
	return pid;
}

static size_t start_apps(struct stage1_pod *pod, int statusfd, const struct app_launch *l)
{
	size_t alive = 0;
	for (size_t i = 0; i < pod->n_apps; i++) {
		struct stage1_app *a = &pod->apps[i];
		fflush(NULL);
		a->pid = spawn_app(a, l);
		if (a->pid < 0) {
			log_line("stage1", "app %s: vfork: %s", a->name, strerror(errno));
			a->status = 254;
			record(a, statusfd);
			continue;
		}
		a->running = true;
		record_pid(a, statusfd);
		alive++;
	}
	return alive;
}

int stage1_supervise(struct stage1_pod *pod, int statusfd, const struct app_launch *l)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	int code = 0;
	bool failed = false, stopping = false;
	struct timespec deadline = { 0 };
	size_t alive = start_apps(pod, statusfd, l);
	for (size_t i = 0; i < pod->n_apps && !failed; i++)
		if (!pod->apps[i].running) {
			failed = true;
			code = pod->apps[i].status;
			signal_apps(pod, SIGTERM);
			stopping = true;
			clock_gettime(CLOCK_MONOTONIC, &deadline);
			deadline.tv_sec += STAGE1_STOP_TIMEOUT;
		}
	while (alive > 0) {
		struct timespec now, left;
		int sig;
		if (stopping) {
			clock_gettime(CLOCK_MONOTONIC, &now);
			int64_t ns = (deadline.tv_sec - now.tv_sec) * 1000000000LL +
				     (deadline.tv_nsec - now.tv_nsec);
			if (ns < 0)
				ns = 0;
			left = (struct timespec){ ns / 1000000000LL, ns % 1000000000LL };
			sig = sigtimedwait(&set, NULL, &left);
		} else {
			sig = sigwaitinfo(&set, NULL);
		}
		if (sig < 0 && errno == EAGAIN) {
			log_debug("stage1", "apps still running %d s after SIGTERM: killing them",
				  STAGE1_STOP_TIMEOUT);
			signal_apps(pod, SIGKILL);
			stopping = false;
		} else if (sig == SIGTERM || sig == SIGINT || sig == SIGHUP) {
			log_debug("stage1", "received signal %d: stopping the apps", sig);
			signal_apps(pod, sig == SIGHUP ? SIGTERM : sig);
			if (!stopping) {
				stopping = true;
				clock_gettime(CLOCK_MONOTONIC, &deadline);
				deadline.tv_sec += STAGE1_STOP_TIMEOUT;
			}
		}
		int ws;
		pid_t pid;
		while ((pid = waitpid(-1, &ws, WNOHANG)) > 0) {
			struct stage1_app *a = app_by_pid(pod, pid);
			if (!a)
				continue; /* an orphan reparented to us */
			a->running = false;
			a->status = stage1_exit_code(ws, a->stopped_by_us);
			record(a, statusfd);
			alive--;
			if (a->status != 0 && !failed) {
				failed = true;
				code = a->status;
				signal_apps(pod, SIGTERM);
				if (!stopping) {
					stopping = true;
					clock_gettime(CLOCK_MONOTONIC, &deadline);
					deadline.tv_sec += STAGE1_STOP_TIMEOUT;
				}
			}
		}
	}
	/* Whatever the apps left behind (daemons, orphans) ends with the pod. */
	kill(-1, SIGKILL);
	while (waitpid(-1, NULL, 0) > 0)
		;
	return code;
}
