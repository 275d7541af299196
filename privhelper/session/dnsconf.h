/* rkt run / run-prepared's --dns, --dns-search, --dns-opt, --dns-domain,
 * --hosts-entry and --hostname on the helper side (reference/
 * rkt-behaviour.md §1.4, §6): every value from the client is checked
 * here before anything is prepared, then the files stage0 owes the stage1
 * (stage1/rootfs/etc/rkt-resolv.conf, rkt-hosts) are written into the
 * helper's own pod dir and the stage1 is told --dns-conf-mode. */
#pragma once
#include <stdbool.h>
#include <jansson.h>
#include <stddef.h>

#include "common/err.h"
#include "stage1/dns.h"

struct ipc_msg;

struct dnsconf {
	struct dns_conf_mode mode;
	char **nameservers, **search, **options; /* resolv=stage0 */
	char *domain;
	struct dns_hosts_entry *entries;	  /* hosts=stage0 */
	size_t n_entries;
};

/* Reads and checks the request's DNS and hosts fields (rkt's rules: --dns
 * is IPs, or "host" or "none" alone; --dns-search/--dns-domain are DNS
 * names; --dns-opt single words; --hosts-entry IP=HOSTNAME or "host"
 * alone). One line naming the flag and value on refusal. */
int dnsconf_from_msg(const struct ipc_msg *m, struct dnsconf *ret, struct rkt_err *err);
void dnsconf_done(struct dnsconf *d);

/* rkt's default when no --dns flag was given: the DNS a CNI plugin returned
 * (the "dns" object of its ADD result, from network net) becomes the pod's
 * resolv.conf, as stage0 would write it. Checked by the flags' rules
 * (nameservers IP addresses, search and domain DNS names, options single
 * words): the plugin runs as root but is not trusted to write the pod's
 * files. An error names the network, the field and the value. Fills d's
 * resolv part (stage0 mode); its hosts part stays. */
int dnsconf_from_cni(struct dnsconf *d, const json_t *dns, const char *net, struct rkt_err *err);

/* A name sethostname(2) and /etc/hosts accept: dot-separated labels of
 * letters, digits and '-' (not at a label's ends), 64 bytes at most. */
bool dnsconf_hostname_valid(const char *s);

/* Writes (resolv/hosts = stage0) or removes (otherwise: a stale file from
 * an earlier attempt would be taken for stage0's) etc/rkt-resolv.conf and
 * etc/rkt-hosts under podfd's stage1/rootfs. hostname goes on the
 * localhost line of the hosts file. */
int dnsconf_write(int podfd, const struct dnsconf *d, const char *hostname, struct rkt_err *err);

/* "--dns-conf-mode=resolv=M,hosts=M" for the stage1 (newly allocated). */
char *dnsconf_mode_arg(const struct dnsconf *d);
