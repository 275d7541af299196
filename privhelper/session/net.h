/* Pod networking through CNI plugins, run by the helper as root
 * (DESIGN §8, reference/rkt-behaviour.md §8).
 *
 * net.d is rkt-admin's: it may define networks but never chooses what root
 * executes. Plugins run only from the helper's own --cni-path; `type` and
 * `ipam.type` must be bare names; CNI_PATH is the helper's; host-local
 * leases are kept under <dir>/cni/networks, never where the config says.
 *
 * Pod dir files written here: `netns` (path of the pod's netns file),
 * `net-info.json` ([{netName, netConf, pluginPath, ifName, ip, args, mask}],
 * what rkt list/status show; kept after teardown so an exited pod still
 * shows its last networks, as in rkt) and net/<ifName>.json (the exact
 * config each plugin got, so DEL gets the same one even if net.d changed
 * since), plus net/portmap-<ifName>.json when the pod forwards ports.
 *
 * --port (rkt-behaviour.md §8): the pod manifest's `ports` name app ports
 * declared in the apps' image manifests; they are resolved here from the
 * pod dir the helper wrote (`pod`, appsinfo/<app>/manifest), never from the
 * client, and forwarded by CNI's portmap plugin chained after the pod's
 * first masqueraded network (else its last one), as rkt chose. */
#pragma once
#include <jansson.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/err.h"
#include "privhelper/session/session.h"

/* Where pod netns files are bind-mounted: NET_NETNS_DIR/rkt-<uuid>. */
#define NET_NETNS_DIR "/run/netns"
#define NET_NETNS_PATH_MAX 128
/* IP addresses (dotted IPv4) in net-info.json. */
#define NET_IP_MAX 16

/* Host ports below this are root's: a non-root caller may not forward
 * them (the policy has no rule granting it; SECURITY.md). */
#define NET_PORT_UNPRIV_MIN 1024

/* One pod manifest `ports` entry resolved to its app's port. */
struct net_port_fwd {
	char *name;
	char protocol[4];	  /* tcp | udp */
	unsigned host_port, pod_port;
	char host_ip[NET_IP_MAX]; /* "" = every host address */
};
void net_ports_free(struct net_port_fwd *v, size_t n);
/* Reads the pod's `pod` and appsinfo/<app>/manifest beneath pod_dirfd and
 * resolves each `ports` entry by name to the one app port declaring it.
 * rkt's errors: `port name "N" could not be found in any apps`, `port name
 * "N" defined multiple apps`, `port tcp-IP:P already mapped to pod port Q`;
 * only tcp and udp. *ret is NULL when the pod forwards nothing. */
int net_ports_resolve(int pod_dirfd, struct net_port_fwd **ret, size_t *ret_n,
		      struct rkt_err *err);
/* net_ports_resolve plus the rule for non-root callers (uid != 0): no host
 * port below NET_PORT_UNPRIV_MIN ("denied by policy: ..."). For the
 * helper's prepare, on the pod dir it has just written. */
int net_ports_check(int pod_dirfd, uid_t uid, struct rkt_err *err);

/* Sets up the pod's networking before stage1 starts. nets: NULL-terminated
 * --net values in order ("default", "none", "host", or net.d names, each
 * maybe "name:k=v;k=v" for CNI_ARGS); NULL or empty means "default".
 * host: no netns, netns_path gets "" and nothing is written. Otherwise a
 * fresh netns with lo up is bind-mounted at NET_NETNS_DIR/rkt-<uuid>, its
 * path goes to netns_path (>= NET_NETNS_PATH_MAX bytes) and the pod's
 * `netns` file, and each net gets CNI ADD with ifname eth0, eth1... On
 * error everything done so far is undone (DEL, netns removed, pod files
 * removed). When the pod manifest has `ports`, they are resolved again
 * (net_ports_resolve; the pod's `owner` file, root when unreadable, is held
 * to the non-root rule) and portmap ADD forwards them to the pod's IP on
 * the chosen net. Needs CAP_SYS_ADMIN and CAP_NET_ADMIN (plugins inherit them
 * through exec as root: keep CAP_SYS_ADMIN, CAP_NET_ADMIN, CAP_NET_RAW in
 * the bounding set). Policy checks of the names are the caller's. */
struct net_dns;
int net_setup(const struct session_config *cfg, const char *uuid, int pod_dirfd,
	      char *const *nets, char *netns_path, size_t netns_path_len, struct net_dns *ret_dns,
	      struct rkt_err *err);

/* What the pod's networks said about DNS (rkt: with no --dns flag, a CNI
 * plugin's answer is the pod's resolv.conf): the "dns" object of the first
 * ADD result, in --net order, that names a nameserver. net_setup fills it
 * when asked (ret_dns not NULL); both NULL when no network did. */
struct net_dns {
	json_t *dns; /* a new reference */
	char *net;   /* the network whose plugin returned it */
};
void net_dns_done(struct net_dns *d);

/* Undoes net_setup for the pod at pod_dirfd: portmap DEL, CNI DEL for each
 * recorded net in reverse order (plugins from cfg->cni_path again), then
 * unmounts and removes the netns file and the pod's netns and net/ files;
 * net-info.json stays for rkt list/status. Idempotent: a pod with
 * no networking, a netns already gone, or a second call are all fine.
 * Keeps going past a failed DEL and returns the first error. */
int net_teardown(const struct session_config *cfg, int pod_dirfd, struct rkt_err *err);

/* ---- pieces, exposed for the unit tests ---- */

/* rkt's 99-default.conf: ptp, ipMasq, host-local 172.16.28.0/24, route
 * 0.0.0.0/0, cniVersion 0.1.0. New reference. */
json_t *net_default_conf(void);
/* Parses one net.d file strictly (duplicate keys refused) and validates it:
 * "name" a plain name, "type" and "ipam.type" bare plugin names. Errors
 * name path and key. *ret is a new reference. */
int net_conf_parse(const char *path, const char *text, size_t len, json_t **ret,
		   struct rkt_err *err);
/* Finds the net called name in local_config/net.d/ *.conf (lexical order;
 * every file must be valid). ret_path gets the file's path. -ENOENT when
 * no file defines it. */
int net_conf_find(const char *local_config, const char *name, json_t **ret,
		  char **ret_path, struct rkt_err *err);
/* Forces what root-run plugins get regardless of net.d: host-local's
 * dataDir = <dir>/cni/networks, cniVersion defaulting to 0.1.0. */
void net_conf_finalize(json_t *conf, const char *dir);
/* Splits "name[:k=v;k=v]"; name must be a plain name, args printable
 * without spaces. *ret_args is NULL when there are none. */
int net_spec_parse(const char *spec, char **ret_name, char **ret_args, struct rkt_err *err);
/* The first IPv4 address and its mask (dotted) of a CNI ADD result, in the
 * 0.1.0/0.2.0 ("ip4") or 0.3.0+ ("ips") format. */
int net_result_ip4(const char *result, char ip[NET_IP_MAX], char mask[NET_IP_MAX],
		   struct rkt_err *err);
/* The "dns" object of a CNI ADD result (every spec version has the same
 * one: nameservers, domain, search, options) when its "nameservers" is a
 * non-empty array, else NULL. A new reference; its contents unchecked. */
json_t *net_result_dns(const char *result);
