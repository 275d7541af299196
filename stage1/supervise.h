/* The pod's PID 1: starts every app, reaps everything that ends up under
 * it, forwards SIGTERM/SIGINT/SIGHUP to the apps, records each app's exit
 * status in stage1/rootfs/rkt/status/<app>, and stops the other apps when
 * the first one fails (reference/rkt-behaviour.md §10 items 26-27). */
#pragma once
#include "stage1/app.h"
#include "stage1/pod.h"

/* Seconds between SIGTERM and SIGKILL when stopping apps. */
#define STAGE1_STOP_TIMEOUT 10

/* Expects SIGCHLD, SIGTERM, SIGINT and SIGHUP blocked. Returns the pod's
 * exit status: the first failing app's, else 0. */
int stage1_supervise(struct stage1_pod *pod, int statusfd, const struct app_launch *l);
/* An app's exit status as rkt records it: the exit code, 128+signal, and 0
 * for a SIGTERM the pod itself sent (systemd counts that as a clean stop). */
int stage1_exit_code(int wstatus, bool stopped_by_us);
