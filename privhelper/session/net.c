/* The helper's CNI driver (net.h). */
#include "privhelper/session/net.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/beneath.h"
#include "common/cleanup.h"
#include "common/log.h"
#include "common/manifest.h"
#include "common/util.h"
#include "stage1/netif.h"

#define NET_CONF_MAX (64 * 1024)
#define NET_RESULT_MAX (1024 * 1024)
#define NET_PLUGIN_TIMEOUT_MS (120 * 1000)
#define NET_INFO "net-info.json"
#define NET_CONF_DIR "net"
#define NET_MAX_IFS 64
#define NET_POD_MANIFEST_MAX (1u << 20)
#define NET_PORTMAP "portmap"


/* Network names and plugin names: no '/', no "." or "..", nothing a shell
 * or a path could read differently. */
static bool plain_name(const char *s, size_t max)
{
	size_t n = strlen(s);
	if (n == 0 || n > max || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		      *p == '-' || *p == '_' || *p == '.'))
			return false;
	return true;
}

static bool reserved_name(const char *s)
{
	return strcmp(s, "default") == 0 || strcmp(s, "default-restricted") == 0 ||
	       strcmp(s, "none") == 0 || strcmp(s, "host") == 0 || strcmp(s, "all") == 0;
}

json_t *net_default_conf(void)
{
	return json_pack("{s:s, s:s, s:s, s:b, s:{s:s, s:s, s:[{s:s}]}}", "cniVersion", "0.1.0",
			 "name", "default", "type", "ptp", "ipMasq", 1, "ipam", "type", "host-local",
			 "subnet", "172.16.28.0/24", "routes", "dst", "0.0.0.0/0");
}

static int check_plugin_key(json_t *obj, const char *key, const char *path, struct rkt_err *err)
{
	json_t *v = json_object_get(obj, strcmp(key, "ipam.type") == 0 ? "type" : key);
	if (!json_is_string(v))
		return rkt_error(err, EINVAL, "%s: key \"%s\": missing or not a string", path, key);
	if (!plain_name(json_string_value(v), 64))
		return rkt_error(err, EINVAL,
				 "%s: key \"%s\": \"%s\" is not a bare plugin name (plugins run "
				 "only from the helper's CNI directory)",
				 path, key, json_string_value(v));
	return 0;
}

int net_conf_parse(const char *path, const char *text, size_t len, json_t **ret,
		   struct rkt_err *err)
{
	json_error_t je;
	json_auto_t *c = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (!c)
		return rkt_error(err, EINVAL, "%s: invalid JSON at line %d: %s", path, je.line,
				 je.text);
	if (!json_is_object(c))
		return rkt_error(err, EINVAL, "%s: not a JSON object", path);
	json_t *name = json_object_get(c, "name");
	if (!json_is_string(name) || !plain_name(json_string_value(name), 64))
		return rkt_error(err, EINVAL, "%s: key \"name\": missing or not a plain name", path);
	if (reserved_name(json_string_value(name)))
		return rkt_error(err, EINVAL, "%s: key \"name\": \"%s\" is reserved", path,
				 json_string_value(name));
	int r = check_plugin_key(c, "type", path, err);
	if (r < 0)
		return r;
	json_t *ipam = json_object_get(c, "ipam");
	if (ipam) {
		if (!json_is_object(ipam))
			return rkt_error(err, EINVAL, "%s: key \"ipam\": not an object", path);
		if ((r = check_plugin_key(ipam, "ipam.type", path, err)) < 0)
			return r;
	}
	json_t *v = json_object_get(c, "cniVersion");
	if (v && !json_is_string(v))
		return rkt_error(err, EINVAL, "%s: key \"cniVersion\": not a string", path);
	*ret = TAKE_PTR(c);
	return 0;
}

static int conf_name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int read_conf_file(int dfd, const char *name, const char *path, json_t **ret,
			  struct rkt_err *err)
{
	_cleanup_close_ int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return rkt_error_errno(err, errno, "%s", path);
	struct stat st;
	if (fstat(fd, &st) < 0)
		return rkt_error_errno(err, errno, "%s", path);
	if (!S_ISREG(st.st_mode))
		return rkt_error(err, EINVAL, "%s: not a regular file", path);
	_cleanup_free_ char *text = NULL;
	size_t len;
	int r = read_fd_bounded(fd, NET_CONF_MAX, &text, &len);
	if (r < 0)
		return rkt_error_errno(err, -r, "%s", path);
	return net_conf_parse(path, text, len, ret, err);
}

int net_conf_find(const char *local_config, const char *name, json_t **ret, char **ret_path,
		  struct rkt_err *err)
{
	_cleanup_free_ char *dir = xasprintf("%s/net.d", local_config);
	_cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (dfd < 0) {
		if (errno == ENOENT)
			return rkt_error(err, ENOENT, "network \"%s\": not defined (no %s)", name, dir);
		return rkt_error_errno(err, errno, "%s", dir);
	}
	_cleanup_strv_ char **files = NULL;
	DIR *d = fdopendir(dup(dfd));
	if (!d)
		return rkt_error_errno(err, errno, "%s", dir);
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);
		if (de->d_name[0] != '.' && n > 5 && strcmp(de->d_name + n - 5, ".conf") == 0)
			files = strv_append(files, de->d_name);
	}
	closedir(d);
	size_t n = strv_len(files);
	if (n)
		qsort(files, n, sizeof *files, conf_name_cmp);
	json_t *found = NULL;
	char *found_path = NULL;
	/* Every file is checked, not just the first match: a bad net.d is the
	 * admin's to fix before any of it is used, as in rkt. */
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *path = xasprintf("%s/%s", dir, files[i]);
		json_t *c = NULL;
		int r = read_conf_file(dfd, files[i], path, &c, err);
		if (r < 0) {
			json_decref(found);
			free(found_path);
			return r;
		}
		if (!found && strcmp(json_string_value(json_object_get(c, "name")), name) == 0) {
			found = c;
			found_path = TAKE_PTR(path);
		} else {
			json_decref(c);
		}
	}
	if (!found)
		return rkt_error(err, ENOENT, "network \"%s\": not defined in %s", name, dir);
	*ret = found;
	*ret_path = found_path;
	return 0;
}

void net_conf_finalize(json_t *conf, const char *dir)
{
	if (!json_object_get(conf, "cniVersion"))
		json_object_set_new(conf, "cniVersion", json_string("0.1.0"));
	json_t *ipam = json_object_get(conf, "ipam");
	const char *t = json_string_value(json_object_get(ipam, "type"));
	/* Leases are written by root: never into a path net.d names. */
	if (t && strcmp(t, "host-local") == 0)
		json_object_set_new(ipam, "dataDir", json_sprintf("%s/cni/networks", dir));
}

int net_spec_parse(const char *spec, char **ret_name, char **ret_args, struct rkt_err *err)
{
	const char *colon = strchr(spec, ':');
	_cleanup_free_ char *name = colon ? xstrndup(spec, (size_t)(colon - spec)) : xstrdup(spec);
	if (!plain_name(name, 64))
		return rkt_error(err, EINVAL, "--net=%s: \"%s\" is not a network name", spec, name);
	char *args = NULL;
	if (colon && colon[1]) {
		for (const char *p = colon + 1; *p; p++)
			if (*p <= ' ' || *p >= 127)
				return rkt_error(err, EINVAL, "--net=%s: bad character in CNI args",
						 spec);
		args = xstrdup(colon + 1);
	}
	*ret_name = TAKE_PTR(name);
	*ret_args = args;
	return 0;
}

static void prefix_to_mask(unsigned prefix, char mask[NET_IP_MAX])
{
	uint32_t m = prefix ? htonl(~0u << (32 - prefix)) : 0;
	struct in_addr a = { .s_addr = m };
	inet_ntop(AF_INET, &a, mask, NET_IP_MAX);
}

static int cidr_ip4(const char *cidr, char ip[NET_IP_MAX], char mask[NET_IP_MAX])
{
	const char *slash = cidr ? strchr(cidr, '/') : NULL;
	if (!slash || (size_t)(slash - cidr) >= NET_IP_MAX)
		return -EINVAL;
	char buf[NET_IP_MAX];
	memcpy(buf, cidr, (size_t)(slash - cidr));
	buf[slash - cidr] = '\0';
	struct in_addr a;
	char *end;
	unsigned long prefix = strtoul(slash + 1, &end, 10);
	if (inet_pton(AF_INET, buf, &a) != 1 || *end || end == slash + 1 || prefix > 32)
		return -EINVAL;
	inet_ntop(AF_INET, &a, ip, NET_IP_MAX);
	prefix_to_mask((unsigned)prefix, mask);
	return 0;
}

int net_result_ip4(const char *result, char ip[NET_IP_MAX], char mask[NET_IP_MAX],
		   struct rkt_err *err)
{
	json_auto_t *j = json_loads(result, 0, NULL);
	if (!json_is_object(j))
		return rkt_error(err, EBADMSG, "CNI result is not a JSON object");
	json_t *ip4 = json_object_get(j, "ip4");
	if (ip4 && cidr_ip4(json_string_value(json_object_get(ip4, "ip")), ip, mask) == 0)
		return 0;
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(j, "ips"), i, e) {
		const char *v = json_string_value(json_object_get(e, "version"));
		if (v && strcmp(v, "4") != 0)
			continue;
		if (cidr_ip4(json_string_value(json_object_get(e, "address")), ip, mask) == 0)
			return 0;
	}
	return rkt_error(err, EBADMSG, "CNI result has no IPv4 address");
}

json_t *net_result_dns(const char *result)
{
	json_auto_t *j = json_loads(result, 0, NULL);
	json_t *dns = json_object_get(j, "dns");
	json_t *ns = json_object_get(dns, "nameservers");
	if (!json_is_object(dns) || !json_is_array(ns) || json_array_size(ns) == 0)
		return NULL;
	return json_incref(dns);
}

void net_dns_done(struct net_dns *d)
{
	json_decref(d->dns);
	free(d->net);
	*d = (struct net_dns){ 0 };
}

/* ---- forwarded ports (--port) ---- */

void net_ports_free(struct net_port_fwd *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i].name);
	free(v);
}

/* A file the helper wrote beneath the pod dir; no symlink is followed on
 * the way, so nothing in the pod can point the read elsewhere. */
static int open_in_pod(int pod_dirfd, const char *rel)
{
	return open_beneath(pod_dirfd, rel, O_RDONLY | O_NOFOLLOW, 0);
}

static int read_in_pod(int pod_dirfd, const char *rel, char **ret, size_t *ret_len,
		       struct rkt_err *err)
{
	_cleanup_close_ int fd = open_in_pod(pod_dirfd, rel);
	if (fd < 0)
		return rkt_error_errno(err, -fd, "pod file %s", rel);
	int r = read_fd_bounded(fd, NET_POD_MANIFEST_MAX, ret, ret_len);
	if (r < 0)
		return rkt_error_errno(err, -r, "pod file %s", rel);
	return 0;
}

struct pod_images {
	struct pod_manifest *pm;
	struct image_manifest **im; /* per app */
};

static void pod_images_done(struct pod_images *pi)
{
	for (size_t i = 0; pi->pm && pi->im && i < pi->pm->n_apps; i++)
		image_manifest_free(pi->im[i]);
	free(pi->im);
	pod_manifest_free(pi->pm);
}

static int pod_images_load(int pod_dirfd, struct pod_images *pi, struct rkt_err *err)
{
	_cleanup_free_ char *buf = NULL;
	size_t len;
	int r = read_in_pod(pod_dirfd, "pod", &buf, &len, err);
	if (r < 0)
		return r;
	if ((r = pod_manifest_parse(buf, len, &pi->pm, err)) < 0)
		return rkt_error_wrap(err, "pod manifest");
	if (pi->pm->n_ports == 0)
		return 0;
	pi->im = xcalloc(pi->pm->n_apps ? pi->pm->n_apps : 1, sizeof *pi->im);
	for (size_t i = 0; i < pi->pm->n_apps; i++) {
		const char *app = pi->pm->apps[i].name;
		if (!appc_name_valid(app))
			return rkt_error(err, EINVAL, "pod manifest: bad app name \"%s\"", app);
		_cleanup_free_ char *rel = xasprintf("appsinfo/%s/manifest", app);
		_cleanup_free_ char *m = NULL;
		if ((r = read_in_pod(pod_dirfd, rel, &m, &len, err)) < 0)
			return r;
		if ((r = image_manifest_parse(m, len, &pi->im[i], err)) < 0)
			return rkt_error_wrap(err, "pod file %s", rel);
	}
	return 0;
}

/* rkt's ForwardedPort.conflicts: same protocol and host port on
 * overlapping addresses ("" is every address). */
static bool ports_conflict(const struct net_port_fwd *a, const struct net_port_fwd *b)
{
	if (strcmp(a->protocol, b->protocol) || a->host_port != b->host_port)
		return false;
	return !a->host_ip[0] || !b->host_ip[0] || strcmp(a->host_ip, b->host_ip) == 0;
}

static int resolve_one(const struct pod_images *pi, const struct pod_port *pp,
		       struct net_port_fwd *f, struct rkt_err *err)
{
	const struct appc_port *found = NULL;
	for (size_t i = 0; i < pi->pm->n_apps; i++) {
		const struct appc_app *app = pi->im[i]->app;
		for (size_t k = 0; app && k < app->n_ports; k++) {
			if (strcmp(app->ports[k].name, pp->name))
				continue;
			if (found)
				return rkt_error(err, EINVAL, "port name \"%s\" defined multiple apps",
						 pp->name);
			found = &app->ports[k];
		}
	}
	if (!found)
		return rkt_error(err, ENOENT, "port name \"%s\" could not be found in any apps",
				 pp->name);
	const char *proto = found->protocol ? found->protocol : "tcp";
	if (strcmp(proto, "tcp") && strcmp(proto, "udp"))
		return rkt_error(err, EINVAL, "port name \"%s\": protocol \"%s\" cannot be forwarded "
				 "(tcp or udp only)", pp->name, proto);
	struct in_addr a = { 0 };
	if (pp->host_ip && inet_pton(AF_INET, pp->host_ip, &a) != 1)
		return rkt_error(err, EINVAL, "port name \"%s\": hostIP \"%s\" is not an IPv4 address",
				 pp->name, pp->host_ip);
	f->name = xstrdup(pp->name);
	snprintf(f->protocol, sizeof f->protocol, "%s", proto);
	f->host_port = pp->host_port;
	f->pod_port = found->port;
	/* 0.0.0.0 is spelled "" so that conflicts and portmap see one form. */
	if (pp->host_ip && a.s_addr != INADDR_ANY)
		inet_ntop(AF_INET, &a, f->host_ip, sizeof f->host_ip);
	return 0;
}

int net_ports_resolve(int pod_dirfd, struct net_port_fwd **ret, size_t *ret_n,
		      struct rkt_err *err)
{
	struct pod_images pi = { 0 };
	*ret = NULL;
	*ret_n = 0;
	int r = pod_images_load(pod_dirfd, &pi, err);
	size_t n = r < 0 ? 0 : pi.pm->n_ports;
	struct net_port_fwd *v = n ? xcalloc(n, sizeof *v) : NULL;
	for (size_t i = 0; r >= 0 && i < n; i++) {
		if ((r = resolve_one(&pi, &pi.pm->ports[i], &v[i], err)) < 0)
			break;
		for (size_t k = 0; k < i; k++)
			if (ports_conflict(&v[i], &v[k])) {
				r = rkt_error(err, EADDRINUSE, "port %s-%s:%u already mapped to pod port %u",
					      v[i].protocol, v[i].host_ip[0] ? v[i].host_ip : "0.0.0.0",
					      v[i].host_port, v[k].pod_port);
				break;
			}
	}
	pod_images_done(&pi);
	if (r < 0) {
		net_ports_free(v, n);
		return r;
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

/* Binding a host port below 1024 is root's privilege; forwarding one is
 * the same power, so a non-root caller gets only unprivileged ones. */
static int ports_allowed(const struct net_port_fwd *v, size_t n, uid_t uid, struct rkt_err *err)
{
	for (size_t i = 0; uid != 0 && i < n; i++)
		if (v[i].host_port < NET_PORT_UNPRIV_MIN)
			return rkt_error(err, EPERM,
					 "denied by policy: --port %s:%u: host ports below %d are "
					 "root's only (rule: unprivileged host ports for non-root) "
					 "for uid %u",
					 v[i].name, v[i].host_port, NET_PORT_UNPRIV_MIN, (unsigned)uid);
	return 0;
}

int net_ports_check(int pod_dirfd, uid_t uid, struct rkt_err *err)
{
	struct net_port_fwd *v = NULL;
	size_t n = 0;
	int r = net_ports_resolve(pod_dirfd, &v, &n, err);
	if (r >= 0)
		r = ports_allowed(v, n, uid, err);
	net_ports_free(v, n);
	return r;
}

/* ---- running plugins ---- */

struct plugin_call {
	const char *cmd; /* ADD or DEL */
	const char *uuid;
	const char *netns;
	const char *ifname;
	const char *args; /* may be NULL */
	const char *net;  /* for messages */
};

static int plugin_path(const struct session_config *cfg, json_t *conf, char **ret,
		       struct rkt_err *err)
{
	const char *type = json_string_value(json_object_get(conf, "type"));
	if (!type || !plain_name(type, 64))
		return rkt_error(err, EINVAL, "network config: bad plugin type");
	_cleanup_free_ char *p = xasprintf("%s/%s", cfg->cni_path, type);
	struct stat st;
	if (stat(p, &st) < 0 || !S_ISREG(st.st_mode) || !(st.st_mode & 0111))
		return rkt_error(err, ENOENT, "network \"%s\": no CNI plugin \"%s\" in %s",
				 json_string_value(json_object_get(conf, "name")), type,
				 cfg->cni_path);
	*ret = TAKE_PTR(p);
	return 0;
}

/* The plugin's error line: CNI's {"code","msg","details"} on stdout. */
static void plugin_error(const char *out, char *buf, size_t len)
{
	json_auto_t *j = json_loads(out ? out : "", 0, NULL);
	const char *msg = json_string_value(json_object_get(j, "msg"));
	const char *det = json_string_value(json_object_get(j, "details"));
	if (msg)
		snprintf(buf, len, "%s%s%s", msg, det && *det ? ": " : "", det && *det ? det : "");
	else
		snprintf(buf, len, "no error message");
}

static int read_output(int fd, pid_t pid, char **ret, struct rkt_err *err)
{
	size_t cap = 4096, len = 0;
	_cleanup_free_ char *buf = xmalloc(cap);
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		long left = NET_PLUGIN_TIMEOUT_MS - ((now.tv_sec - t0.tv_sec) * 1000 +
						     (now.tv_nsec - t0.tv_nsec) / 1000000);
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int r = left > 0 ? poll(&p, 1, (int)left) : 0;
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			kill(pid, SIGKILL);
			return rkt_error(err, ETIMEDOUT, "CNI plugin did not answer in %d s",
					 NET_PLUGIN_TIMEOUT_MS / 1000);
		}
		if (len + 1 >= cap) {
			if (cap >= NET_RESULT_MAX) {
				kill(pid, SIGKILL);
				return rkt_error(err, EFBIG, "CNI plugin output too long");
			}
			cap *= 2;
			buf = xrealloc(buf, cap);
		}
		ssize_t n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return rkt_error_errno(err, errno, "read CNI plugin output");
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	*ret = TAKE_PTR(buf);
	return 0;
}

/* Runs one CNI plugin as root: safe because the binary is the helper's own
 * (cni_path + a bare type name), its environment is built here from
 * scratch, and the config it reads on stdin has been validated. */
static int plugin_run(const struct session_config *cfg, json_t *conf, const struct plugin_call *pc,
		      char **ret_out, struct rkt_err *err)
{
	_cleanup_free_ char *path = NULL;
	int r = plugin_path(cfg, conf, &path, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *text = json_dumps(conf, JSON_COMPACT);
	_cleanup_close_ int in = memfd_create("cni-conf", MFD_CLOEXEC);
	if (in < 0 || write_all(in, text, strlen(text)) < 0 || lseek(in, 0, SEEK_SET) < 0)
		return rkt_error_errno(err, errno, "CNI config for %s", pc->net);
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return rkt_error_errno(err, errno, "pipe");
	_cleanup_free_ char *e_cmd = xasprintf("CNI_COMMAND=%s", pc->cmd);
	_cleanup_free_ char *e_id = xasprintf("CNI_CONTAINERID=%s", pc->uuid);
	_cleanup_free_ char *e_ns = xasprintf("CNI_NETNS=%s", pc->netns);
	_cleanup_free_ char *e_if = xasprintf("CNI_IFNAME=%s", pc->ifname);
	_cleanup_free_ char *e_path = xasprintf("CNI_PATH=%s", cfg->cni_path);
	_cleanup_free_ char *e_args = xasprintf("CNI_ARGS=%s", pc->args ? pc->args : "");
	char *envp[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "CNI_VERSION=0.1.0", e_cmd, e_id,
			 e_ns, e_if, e_path, e_args, NULL };
	char *argv[] = { path, NULL };
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return rkt_error_errno(err, errno, "fork");
	}
	if (pid == 0) {
		if (dup2(in, 0) < 0 || dup2(pfd[1], 1) < 0)
			_exit(127);
		/* Nothing of the session (the client's connection above all). */
		close_range(3, ~0U, 0);
		execve(path, argv, envp);
		_exit(127);
	}
	close(pfd[1]);
	_cleanup_free_ char *out = NULL;
	r = read_output(pfd[0], pid, &out, err);
	close(pfd[0]);
	int ws;
	while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
		;
	if (r < 0)
		return rkt_error_wrap(err, "network \"%s\": %s %s", pc->net, path, pc->cmd);
	if (!WIFEXITED(ws) || WEXITSTATUS(ws) != 0) {
		char msg[512];
		plugin_error(out, msg, sizeof msg);
		return rkt_error(err, EIO, "network \"%s\": CNI %s %s failed: %s", pc->net, pc->cmd,
				 path, msg);
	}
	log_debug("net", "%s %s %s: %s", pc->net, pc->cmd, pc->ifname, out);
	if (ret_out)
		*ret_out = TAKE_PTR(out);
	return 0;
}

/* ---- the pod's netns ---- */

/* Makes a new netns with lo up and pins it by bind-mounting it on path. A
 * child does it so the helper itself never leaves its netns. Safe: path is
 * NET_NETNS_DIR/rkt-<uuid>, made here with O_EXCL. */
static int netns_create(const char *path, struct rkt_err *err)
{
	if (mkdir(NET_NETNS_DIR, 0755) < 0 && errno != EEXIST)
		return rkt_error_errno(err, errno, "mkdir %s", NET_NETNS_DIR);
	int fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0444);
	if (fd < 0)
		return rkt_error_errno(err, errno, "create %s", path);
	close(fd);
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		unlink(path);
		return rkt_error_errno(err, errno, "pipe");
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		int e[2] = { 0, 0 };
		if (unshare(CLONE_NEWNET) < 0)
			e[0] = 1, e[1] = errno;
		else if ((e[1] = -netif_loopback_up()) != 0)
			e[0] = 2;
		else if (mount("/proc/self/ns/net", path, NULL, MS_BIND, NULL) < 0)
			e[0] = 3, e[1] = errno;
		_exit(write(pfd[1], e, sizeof e) == sizeof e && !e[0] ? 0 : 1);
	}
	close(pfd[1]);
	int e[2] = { 0, 0 };
	if (pid < 0) {
		e[0] = 1, e[1] = errno;
	} else {
		if (read(pfd[0], e, sizeof e) != sizeof e && !e[0])
			e[0] = 1, e[1] = EIO;
		int ws;
		while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
			;
	}
	close(pfd[0]);
	if (e[0]) {
		static const char *const what[] = { "", "new network namespace", "bring up lo",
						    "bind-mount network namespace" };
		unlink(path);
		return rkt_error_errno(err, e[1], "%s %s", what[e[0]], path);
	}
	return 0;
}

static bool netns_path_valid(const char *p)
{
	const char *pre = NET_NETNS_DIR "/rkt-";
	size_t n = strlen(pre);
	if (strncmp(p, pre, n) != 0 || strlen(p + n) != 36)
		return false;
	for (const char *q = p + n; *q; q++)
		if (!((*q >= '0' && *q <= '9') || (*q >= 'a' && *q <= 'f') || *q == '-'))
			return false;
	return true;
}

/* Unpins and removes the netns file; safe: only NET_NETNS_DIR/rkt-<uuid>. */
static int netns_remove(const char *path, struct rkt_err *err)
{
	if (!netns_path_valid(path))
		return rkt_error(err, EINVAL, "netns: bad path \"%s\"", path);
	if (umount2(path, MNT_DETACH | UMOUNT_NOFOLLOW) < 0 && errno != EINVAL && errno != ENOENT)
		return rkt_error_errno(err, errno, "unmount %s", path);
	if (unlink(path) < 0 && errno != ENOENT)
		return rkt_error_errno(err, errno, "remove %s", path);
	return 0;
}

/* ---- setup and teardown ---- */

struct net_entry {
	char *name, *args, *conf_path;
	char *result; /* the ADD's output, portmap's prevResult */
	json_t *conf;
	char ifname[IFNAMSIZ];
};

static void entries_free(struct net_entry *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].args);
		free(v[i].conf_path);
		free(v[i].result);
		json_decref(v[i].conf);
	}
	free(v);
}

static int resolve_nets(const struct session_config *cfg, char *const *nets,
			struct net_entry **ret, size_t *ret_n, struct rkt_err *err)
{
	size_t n = nets && nets[0] ? strv_len(nets) : 1;
	if (n > NET_MAX_IFS)
		return rkt_error(err, E2BIG, "--net: more than %d networks", NET_MAX_IFS);
	struct net_entry *v = calloc(n, sizeof *v);
	if (!v)
		return rkt_error(err, ENOMEM, "out of memory");
	int r = 0;
	for (size_t i = 0; i < n && r == 0; i++) {
		const char *spec = nets && nets[0] ? nets[i] : "default";
		struct net_entry *e = &v[i];
		if ((r = net_spec_parse(spec, &e->name, &e->args, err)) < 0)
			break;
		for (size_t k = 0; k < i; k++)
			if (strcmp(v[k].name, e->name) == 0)
				r = rkt_error(err, EINVAL, "--net: network \"%s\" given twice", e->name);
		if (r < 0)
			break;
		if ((strcmp(e->name, "none") == 0 || strcmp(e->name, "host") == 0) && n > 1) {
			r = rkt_error(err, EINVAL, "--net=%s cannot be combined with other networks",
				      e->name);
		} else if (strcmp(e->name, "default") == 0) {
			e->conf = net_default_conf();
			e->conf_path = xstrdup("99-default.conf");
		} else if (strcmp(e->name, "none") && strcmp(e->name, "host")) {
			if (reserved_name(e->name))
				r = rkt_error(err, ENOTSUP, "--net=%s is not supported", e->name);
			else
				r = net_conf_find(cfg->local_config, e->name, &e->conf,
						  &e->conf_path, err);
		}
		if (r == 0 && e->conf) {
			net_conf_finalize(e->conf, cfg->dir);
			snprintf(e->ifname, sizeof e->ifname, "eth%zu", i);
		}
	}
	if (r < 0) {
		entries_free(v, n);
		return r;
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

static int write_json_at(int dirfd, const char *name, json_t *j, struct rkt_err *err)
{
	_cleanup_free_ char *text = json_dumps(j, JSON_COMPACT);
	if (!text)
		return rkt_error(err, ENOMEM, "%s: cannot encode", name);
	return write_file_atomic_at(dirfd, name, text, strlen(text), 0640, err);
}

/* keep_info: net-info.json stays after a teardown so an exited pod still
 * shows its last networks (rkt list/status), as rkt does. */
static void remove_pod_files(int pod_dirfd, bool keep_info)
{
	if (!keep_info)
		unlinkat(pod_dirfd, NET_INFO, 0);
	rm_rf_at(pod_dirfd, NET_CONF_DIR);
	unlinkat(pod_dirfd, "netns", 0);
}

static int add_one(const struct session_config *cfg, const char *uuid, int pod_dirfd,
		   const char *netns, struct net_entry *e, json_t *info, struct rkt_err *err)
{
	_cleanup_free_ char *cname = xasprintf(NET_CONF_DIR "/%s.json", e->ifname);
	/* Saved before ADD so that a DEL after a half-done ADD sees it. */
	int r = write_json_at(pod_dirfd, cname, e->conf, err);
	if (r < 0)
		return r;
	struct plugin_call pc = { "ADD", uuid, netns, e->ifname, e->args, e->name };
	if ((r = plugin_run(cfg, e->conf, &pc, &e->result, err)) < 0)
		return r;
	const char *out = e->result;
	char ip[NET_IP_MAX], mask[NET_IP_MAX];
	if ((r = net_result_ip4(out, ip, mask, err)) < 0)
		return rkt_error_wrap(err, "network \"%s\"", e->name);
	_cleanup_free_ char *plugin = NULL;
	plugin_path(cfg, e->conf, &plugin, err);
	json_array_append_new(info, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "netName",
					      e->name, "netConf", e->conf_path, "pluginPath",
					      plugin ? plugin : "", "ifName", e->ifname, "ip", ip,
					      "args", e->args ? e->args : "", "mask", mask));
	return write_json_at(pod_dirfd, NET_INFO, info, err);
}

static void del_quiet(const struct session_config *cfg, const char *uuid, const char *netns,
		      struct net_entry *e)
{
	struct rkt_err derr = { 0 };
	struct plugin_call pc = { "DEL", uuid, netns, e->ifname, e->args, e->name };
	if (plugin_run(cfg, e->conf, &pc, NULL, &derr) < 0)
		log_warn("net: undo: %s", derr.msg);
}

static int read_small_at(int dirfd, const char *name, char **ret, size_t *ret_len)
{
	_cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	return read_fd_bounded(fd, NET_CONF_MAX, ret, ret_len);
}

/* CNI_ARGS recorded for ifname in net-info.json, if any. */
static const char *recorded_args(json_t *info, const char *ifname)
{
	size_t i;
	json_t *e;
	json_array_foreach(info, i, e) {
		const char *f = json_string_value(json_object_get(e, "ifName"));
		const char *a = json_string_value(json_object_get(e, "args"));
		if (f && strcmp(f, ifname) == 0)
			return a && *a ? a : NULL;
	}
	return NULL;
}

static char *saved_conf_name(const char *ifname, bool portmap)
{
	return portmap ? xasprintf(NET_CONF_DIR "/" NET_PORTMAP "-%s.json", ifname)
		       : xasprintf(NET_CONF_DIR "/%s.json", ifname);
}

/* DEL for the config saved as net/<ifname>.json (or portmap-<ifname>.json):
 * there is one for every ADD that was attempted, even when net-info.json
 * was never written. */
static int del_saved(const struct session_config *cfg, int pod_dirfd, const char *uuid,
		     const char *netns, const char *ifname, bool portmap, json_t *info,
		     struct rkt_err *err)
{
	_cleanup_free_ char *cname = saved_conf_name(ifname, portmap);
	_cleanup_free_ char *text = NULL;
	size_t len;
	int r = read_small_at(pod_dirfd, cname, &text, &len);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return rkt_error_errno(err, -r, "pod %s", cname);
	/* Re-validated: the plugin it names is run as root again. */
	json_auto_t *conf = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
	json_t *ipam = json_object_get(conf, "ipam");
	const char *name = json_string_value(json_object_get(conf, "name"));
	const char *t = json_string_value(json_object_get(conf, "type"));
	const char *it = json_string_value(json_object_get(ipam, "type"));
	if (!name || !t || !plain_name(t, 64) || (ipam && (!it || !plain_name(it, 64))) ||
	    (portmap && strcmp(t, NET_PORTMAP) != 0))
		return rkt_error(err, EBADMSG, "pod %s: bad network config", cname);
	struct plugin_call pc = { "DEL", uuid, netns, ifname,
				  portmap ? NULL : recorded_args(info, ifname), name };
	return plugin_run(cfg, conf, &pc, NULL, err);
}

/* The pod's `owner` (decimal uid, written by the helper's prepare); a
 * missing or unreadable one makes the pod root's, as for run-prepared. */
static uid_t pod_owner(int pod_dirfd)
{
	_cleanup_free_ char *text = NULL;
	size_t len;
	if (read_small_at(pod_dirfd, "owner", &text, &len) < 0)
		return 0;
	char *end;
	errno = 0;
	unsigned long u = strtoul(text, &end, 10);
	while (*end == '\n' || *end == ' ')
		end++;
	return errno || end == text || *end || u > (uid_t)-1 ? 0 : (uid_t)u;
}

/* The pod's forwarded ports, judged before any netns exists. */
static int ports_for_setup(int pod_dirfd, const struct net_entry *v, struct net_port_fwd **ret,
			   size_t *ret_n, struct rkt_err *err)
{
	int r = net_ports_resolve(pod_dirfd, ret, ret_n, err);
	if (r < 0 || *ret_n == 0)
		return r;
	if (!v[0].conf)
		r = rkt_error(err, EINVAL, "--port flag does not work with '%s' networking",
			      v[0].name);
	else
		r = ports_allowed(*ret, *ret_n, pod_owner(pod_dirfd), err);
	if (r < 0) {
		net_ports_free(*ret, *ret_n);
		*ret = NULL;
		*ret_n = 0;
	}
	return r;
}

/* Each forwarded host port is bound in the host's netns for as long as
 * this session (that is, the pod) lives: DNAT would otherwise silently
 * steal a port a host service listens on, and a host service started
 * later cannot take it. The sockets are close-on-exec, never listen, and
 * are closed by the kernel when the session exits after the pod. */
static int reserve_host_ports(const struct net_port_fwd *f, size_t n, struct rkt_err *err)
{
	int *fds = xcalloc(n ? n : 1, sizeof *fds);
	int r = 0;
	size_t i = 0;
	for (; i < n; i++) {
		bool tcp = strcmp(f[i].protocol, "tcp") == 0;
		struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)f[i].host_port) };
		if (f[i].host_ip[0])
			inet_pton(AF_INET, f[i].host_ip, &sa.sin_addr);
		fds[i] = socket(AF_INET, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0);
		int one = 1;
		if (fds[i] < 0 || (tcp && setsockopt(fds[i], SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0) ||
		    bind(fds[i], (struct sockaddr *)&sa, sizeof sa) < 0) {
			r = rkt_error_errno(err, errno, "--port %s: host port %s:%u/%s is not free on the host",
					    f[i].name, f[i].host_ip[0] ? f[i].host_ip : "0.0.0.0",
					    f[i].host_port, f[i].protocol);
			if (fds[i] >= 0)
				close(fds[i]);
			break;
		}
	}
	if (r < 0)
		while (i-- > 0)
			close(fds[i]);
	free(fds);
	return r;
}

/* rkt forwarded ports on the first masqueraded network, else on the last. */
static struct net_entry *portmap_net(struct net_entry *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].conf && json_is_true(json_object_get(v[i].conf, "ipMasq")))
			return &v[i];
	for (size_t i = n; i-- > 0;)
		if (v[i].conf)
			return &v[i];
	return NULL;
}

/* portmap as a chained plugin of the net e (same name and version), with
 * the mappings as CNI's runtimeConfig.portMappings. */
static json_t *portmap_conf(const struct net_entry *e, const struct net_port_fwd *f, size_t n)
{
	json_t *maps = json_array();
	for (size_t i = 0; i < n; i++) {
		json_t *m = json_pack("{s:i, s:i, s:s}", "hostPort", (int)f[i].host_port,
				      "containerPort", (int)f[i].pod_port, "protocol", f[i].protocol);
		if (f[i].host_ip[0])
			json_object_set_new(m, "hostIP", json_string(f[i].host_ip));
		json_array_append_new(maps, m);
	}
	return json_pack("{s:O, s:O, s:s, s:b, s:{s:b}, s:{s:o}}", "cniVersion",
			 json_object_get(e->conf, "cniVersion"), "name",
			 json_object_get(e->conf, "name"), "type", NET_PORTMAP, "snat", 1,
			 "capabilities", "portMappings", 1, "runtimeConfig", "portMappings", maps);
}

static int portmap_add(const struct session_config *cfg, const char *uuid, int pod_dirfd,
		       const char *netns, const struct net_entry *e, const struct net_port_fwd *f,
		       size_t n, struct rkt_err *err)
{
	json_auto_t *conf = portmap_conf(e, f, n);
	_cleanup_free_ char *cname = saved_conf_name(e->ifname, true);
	/* Saved before ADD (without prevResult, which DEL does not need). */
	int r = write_json_at(pod_dirfd, cname, conf, err);
	if (r < 0)
		return r;
	json_t *prev = json_loads(e->result ? e->result : "", 0, NULL);
	if (!json_is_object(prev)) {
		json_decref(prev);
		return rkt_error(err, EBADMSG, "network \"%s\": CNI result is not a JSON object",
				 e->name);
	}
	json_object_set_new(conf, "prevResult", prev);
	struct plugin_call pc = { "ADD", uuid, netns, e->ifname, NULL, e->name };
	if ((r = plugin_run(cfg, conf, &pc, NULL, err)) < 0)
		return rkt_error_wrap(err, "--port");
	return 0;
}

/* Undo of a failed setup: portmap first, then the nets, newest first
 * (the failed ADD too: CNI asks for DEL after a failed ADD). */
static void setup_undo(const struct session_config *cfg, const char *uuid, int pod_dirfd,
		       const char *path, struct net_entry *v, size_t n, size_t done)
{
	struct rkt_err derr = { 0 };
	for (size_t i = 0; i < n; i++)
		if (v[i].conf && del_saved(cfg, pod_dirfd, uuid, path, v[i].ifname, true, NULL,
					   &derr) < 0)
			log_warn("net: undo: %s", derr.msg);
	for (size_t i = done + 1; i-- > 0;)
		if (i < n && v[i].conf)
			del_quiet(cfg, uuid, path, &v[i]);
	struct rkt_err rerr = { 0 };
	if (netns_remove(path, &rerr) < 0)
		log_warn("net: undo: %s", rerr.msg);
	remove_pod_files(pod_dirfd, false);
}

/* The first ADD result, in --net order, that names a nameserver. */
static void first_dns(const struct net_entry *v, size_t done, struct net_dns *ret)
{
	*ret = (struct net_dns){ 0 };
	for (size_t i = 0; i < done && !ret->dns; i++)
		if (v[i].result && (ret->dns = net_result_dns(v[i].result)))
			ret->net = xstrdup(v[i].name);
}

int net_setup(const struct session_config *cfg, const char *uuid, int pod_dirfd,
	      char *const *nets, char *netns_path, size_t netns_path_len, struct net_dns *ret_dns,
	      struct rkt_err *err)
{
	if (ret_dns)
		*ret_dns = (struct net_dns){ 0 };
	struct net_entry *v = NULL;
	size_t n = 0;
	struct net_port_fwd *fwd = NULL;
	size_t n_fwd = 0;
	if (netns_path_len < NET_NETNS_PATH_MAX)
		return rkt_error(err, EINVAL, "netns path buffer too small");
	netns_path[0] = '\0';
	int r = resolve_nets(cfg, nets, &v, &n, err);
	if (r < 0)
		return r;
	if ((r = ports_for_setup(pod_dirfd, v, &fwd, &n_fwd, err)) < 0 ||
	    (r = reserve_host_ports(fwd, n_fwd, err)) < 0 || strcmp(v[0].name, "host") == 0) {
		entries_free(v, n);
		return r;
	}
	char path[NET_NETNS_PATH_MAX];
	snprintf(path, sizeof path, NET_NETNS_DIR "/rkt-%s", uuid);
	if (!netns_path_valid(path))
		r = rkt_error(err, EINVAL, "bad pod UUID \"%s\"", uuid);
	else
		r = netns_create(path, err);
	if (r < 0) {
		net_ports_free(fwd, n_fwd);
		entries_free(v, n);
		return r;
	}
	json_t *info = json_array();
	r = write_file_atomic_at(pod_dirfd, "netns", path, strlen(path), 0640, err);
	if (r == 0 && v[0].conf && mkdirat(pod_dirfd, NET_CONF_DIR, 0750) < 0 && errno != EEXIST)
		r = rkt_error_errno(err, errno, "mkdir " NET_CONF_DIR);
	size_t done = 0;
	for (; r == 0 && done < n && v[done].conf; done++)
		if ((r = add_one(cfg, uuid, pod_dirfd, path, &v[done], info, err)) < 0)
			break;
	if (r == 0 && !v[0].conf)
		r = write_json_at(pod_dirfd, NET_INFO, info, err);
	if (r == 0 && n_fwd)
		r = portmap_add(cfg, uuid, pod_dirfd, path, portmap_net(v, n), fwd, n_fwd, err);
	if (r < 0) {
		setup_undo(cfg, uuid, pod_dirfd, path, v, n, done);
	} else {
		snprintf(netns_path, netns_path_len, "%s", path);
		if (ret_dns)
			first_dns(v, done, ret_dns);
	}
	json_decref(info);
	net_ports_free(fwd, n_fwd);
	entries_free(v, n);
	return r;
}

int net_teardown(const struct session_config *cfg, int pod_dirfd, struct rkt_err *err)
{
	_cleanup_free_ char *netns = NULL;
	size_t len;
	int r = read_small_at(pod_dirfd, "netns", &netns, &len);
	if (r == -ENOENT)
		return 0; /* host networking, or already torn down */
	if (r < 0)
		return rkt_error_errno(err, -r, "pod netns file");
	if (!netns_path_valid(netns))
		return rkt_error(err, EINVAL, "pod netns file: bad path \"%s\"", netns);
	const char *uuid = netns + strlen(NET_NETNS_DIR "/rkt-");
	_cleanup_free_ char *text = NULL;
	json_auto_t *info = NULL;
	if (read_small_at(pod_dirfd, NET_INFO, &text, &len) == 0)
		info = json_loadb(text, len, 0, NULL);
	int first = 0;
	struct rkt_err e1 = { 0 };
	/* Forwarded ports go first: their rules point at the pod's address. */
	for (int pass = 0; pass < 2; pass++)
		for (int i = NET_MAX_IFS; i-- > 0;) {
			char ifname[IFNAMSIZ];
			snprintf(ifname, sizeof ifname, "eth%d", i);
			struct rkt_err derr = { 0 };
			int d = del_saved(cfg, pod_dirfd, uuid, netns, ifname, pass == 0, info, &derr);
			if (d < 0 && first == 0) {
				first = d;
				e1 = derr;
			}
		}
	r = netns_remove(netns, err);
	if (first < 0) {
		*err = e1;
		return first;
	}
	if (r < 0)
		return r;
	remove_pod_files(pod_dirfd, true);
	return 0;
}
