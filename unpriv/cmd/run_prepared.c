/* rkt run-prepared [flags] UUID: asks rkt-privhelper to start a prepared
 * pod with this process's stdin/stdout/stderr as the apps' own, then
 * follows the pod's events until its result. SIGINT/SIGTERM reaching rkt
 * are passed on to the pod; if rkt dies, the helper stops the pod. rkt
 * prints nothing on stdout itself: that is the apps' output. The exit
 * status is the pod's (the first failing app's, 0 when all succeed). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "commands.h"
#include "common/cleanup.h"
#include "common/log.h"
#include "common/util.h"
#include "ipc/ipc.h"
#include "unpriv/cli/privhelper_client.h"

struct run_opts g_run_opts;

const struct flag_spec run_only_flags[] = {
	{ "net", FLAG_STRING_LIST, &g_run_opts.net, "configure the pod's networking: none, host, default (CNI ptp, 172.16.28.0/24) or nets from net.d; bare --net means default (default: none)", "none", .split = true, .noopt_value = "default" },
	{ "interactive", FLAG_BOOL, &g_run_opts.interactive, "run pod interactively; if true, only one image may be supplied", "false" },
	{ "hostname", FLAG_STRING, &g_run_opts.hostname, "pod's hostname (default \"rkt-$PODUUID\")", "" },
	{ "dns", FLAG_STRING_LIST, &g_run_opts.dns, "name servers to write in /etc/resolv.conf; 'host' uses the host's file, 'none' gives the pod none", "", .split = true },
	{ "dns-search", FLAG_STRING_LIST, &g_run_opts.dns_search, "DNS search domains to write in /etc/resolv.conf", "", .split = true },
	{ "dns-opt", FLAG_STRING_LIST, &g_run_opts.dns_opt, "DNS options to write in /etc/resolv.conf", "", .split = true },
	{ "dns-domain", FLAG_STRING, &g_run_opts.dns_domain, "DNS domain to write in /etc/resolv.conf", "" },
	{ "hosts-entry", FLAG_STRING_LIST, &g_run_opts.hosts_entry, "entries to add to the pod-wide /etc/hosts; pass 'host' to use the host's /etc/hosts", "" },
	{ "mds-register", FLAG_BOOL, &g_run_opts.mds_register, "register pod with metadata service (needs rkt metadata-service running)", "false" },
	{ .name = NULL },
};

/* What the ns flavor cannot do yet is refused here, never ignored. The
 * DNS, hosts and hostname values are judged by the helper, which writes
 * the files from them. */
int run_check_opts(uint32_t *ret_flags, char *const **ret_nets, struct rkt_err *err)
{
	const struct run_opts *o = &g_run_opts;
	if (o->mds_register)
		return rkt_error(err, EOPNOTSUPP, "--mds-register is not supported yet (no metadata service)");
	static char *const none[] = { "none", NULL };
	*ret_nets = o->net && o->net[0] ? o->net : none;
	size_t n = strv_len(*ret_nets);
	for (size_t i = 0; i < n; i++)
		if (n > 1 && (!strcmp((*ret_nets)[i], "none") || !strcmp((*ret_nets)[i], "host")))
			return rkt_error(err, EINVAL, "--net=%s cannot be combined with other networks",
					 (*ret_nets)[i]);
	*ret_flags = o->interactive ? IPC_RUNF_INTERACTIVE : 0;
	return 0;
}

void run_put_pod_conf(struct ipc_msg *req, char *const *nets)
{
	const struct run_opts *o = &g_run_opts;
	ipc_msg_put_strv(req, IPC_TAG_NETS, nets);
	if (o->hostname && *o->hostname)
		ipc_msg_put_str(req, IPC_TAG_HOSTNAME, o->hostname);
	if (o->dns)
		ipc_msg_put_strv(req, IPC_TAG_DNS, o->dns);
	if (o->dns_search)
		ipc_msg_put_strv(req, IPC_TAG_DNS_SEARCH, o->dns_search);
	if (o->dns_opt)
		ipc_msg_put_strv(req, IPC_TAG_DNS_OPT, o->dns_opt);
	if (o->dns_domain && *o->dns_domain)
		ipc_msg_put_str(req, IPC_TAG_DNS_DOMAIN, o->dns_domain);
	if (o->hosts_entry)
		ipc_msg_put_strv(req, IPC_TAG_HOSTS_ENTRY, o->hosts_entry);
}

static int send_signal(struct ph_conn *c, int sig, struct rkt_err *err)
{
	_cleanup_ipc_msg_ struct ipc_msg m;
	ipc_msg_init(&m, IPC_SIGNAL);
	ipc_msg_put_i32(&m, IPC_TAG_SIGNO, sig);
	return ph_send(c, &m, err);
}

/* One helper message; 1 when it ended the stream (*ret_status set). */
static int on_message(struct ipc_msg *m, const char *uuid_file_save, int *ret_status,
		      struct rkt_err *err)
{
	uint32_t ev = 0;
	const char *s;
	int32_t v;
	switch (m->type) {
	case IPC_RUN_EVENT:
		ipc_msg_get_u32(m, IPC_TAG_EVENT, &ev);
		if (ev == IPC_EV_PREPARED && uuid_file_save && *uuid_file_save &&
		    ipc_msg_get_str(m, IPC_TAG_UUID, &s) == 0) {
			int r = write_file_atomic_at(AT_FDCWD, uuid_file_save, s, strlen(s), 0644, err);
			if (r < 0)
				return rkt_error_wrap(err, "--uuid-file-save");
		} else if (ev == IPC_EV_MESSAGE && ipc_msg_get_str(m, IPC_TAG_TEXT, &s) == 0) {
			fprintf(stderr, "%s\n", s);
		} else if (ev == IPC_EV_STARTED && ipc_msg_get_i32(m, IPC_TAG_PID, &v) == 0) {
			log_debug("run", "pod started, stage1 pid %d", (int)v);
		}
		return 0;
	case IPC_RUN_RESULT:
		v = 254;
		ipc_msg_get_i32(m, IPC_TAG_EXIT_STATUS, &v);
		*ret_status = v;
		return 1;
	case IPC_GENERIC_ANS:
		v = 0;
		ipc_msg_get_i32(m, IPC_TAG_ERRNO, &v);
		s = "the helper refused the request";
		ipc_msg_get_str(m, IPC_TAG_MESSAGE, &s);
		return rkt_error(err, v ? v : EPROTO, "%s", s);
	default:
		return rkt_error(err, EPROTO, "unexpected %s from the helper", ipc_type_name(m->type));
	}
}

static int stream_loop(struct ph_conn *c, int sfd, const char *uuid_file_save, struct rkt_err *err)
{
	for (;;) {
		struct pollfd p[2] = { { .fd = c->fd, .events = POLLIN }, { .fd = sfd, .events = POLLIN } };
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return rkt_error_errno(err, errno, "poll");
		}
		if (p[1].revents & POLLIN) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof si) == (ssize_t)sizeof si)
				(void)send_signal(c, (int)si.ssi_signo, err);
		}
		if (!p[0].revents)
			continue;
		_cleanup_ipc_msg_ struct ipc_msg m = { 0 };
		int r = ph_recv(c, &m, err);
		if (r < 0)
			return r;
		if (r == 0)
			return rkt_error(err, ECONNRESET,
					 "the helper closed the connection before the pod's result");
		int status = 0;
		r = on_message(&m, uuid_file_save, &status, err);
		if (r < 0)
			return r;
		if (r > 0)
			return status;
	}
}

int run_stream(struct ipc_msg *req, const char *uuid_file_save, struct rkt_err *err)
{
	return run_stream_on(NULL, req, uuid_file_save, err);
}

int run_stream_on(struct ph_conn *early, struct ipc_msg *req, const char *uuid_file_save,
		  struct rkt_err *err)
{
	_cleanup_ph_conn_ struct ph_conn *c = early;
	for (int i = 0; i < 3; i++)
		ipc_msg_add_fd(req, i);
	sigset_t set, old;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, &old);
	_cleanup_close_ int sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		return rkt_error_errno(err, errno, "signalfd");
	}
	int r = c ? ph_connect_end(c, err) : ph_connect(&c, err);
	if (r >= 0)
		r = ph_send(c, req, err);
	if (r >= 0)
		r = stream_loop(c, sfd, uuid_file_save, err);
	sigprocmask(SIG_SETMASK, &old, NULL);
	return r;
}

int cmd_run_prepared(const struct command *cmd, char **args, struct rkt_err *err)
{
	(void)cmd;
	if (strv_len(args) != 1)
		return rkt_error(err, EINVAL, "run-prepared takes exactly one UUID argument");
	uint32_t flags;
	char *const *nets;
	int r = run_check_opts(&flags, &nets, err);
	if (r < 0)
		return r;
	/* A UUID prefix is resolved here (group rkt reads pods/); the helper
	 * looks the full UUID up again in its own pods dir. */
	char uuid[POD_UUID_LEN + 1];
	snprintf(uuid, sizeof uuid, "%s", args[0]);
	if (!pod_uuid_valid(args[0])) {
		_cleanup_close_ int pods_fd = -1;
		struct pod_info pi = { .dirfd = -1 };
		if ((r = pods_dir_open(&pods_fd, err)) < 0 || (r = pod_resolve(pods_fd, args[0], &pi, err)) < 0)
			return r;
		snprintf(uuid, sizeof uuid, "%s", pi.uuid);
		pod_info_done(&pi);
	}
	_cleanup_ipc_msg_ struct ipc_msg req;
	ipc_msg_init(&req, IPC_RUN_PREPARED_REQ);
	/* Only the options that change how the pod runs; the image was
	 * judged when it was prepared. */
	ipc_msg_put_u32(&req, IPC_TAG_INSECURE,
			g_opts.insecure & (INSECURE_CAPABILITIES | INSECURE_PATHS | INSECURE_SECCOMP) &
				IPC_INSECURE_MASK);
	ipc_msg_put_str(&req, IPC_TAG_UUID, uuid);
	ipc_msg_put_u32(&req, IPC_TAG_RUN_FLAGS, flags);
	run_put_pod_conf(&req, nets);
	return run_stream(&req, NULL, err);
}
