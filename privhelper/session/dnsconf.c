#include "privhelper/session/dnsconf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "ipc/ipc.h"
#include "stage1/dns.h"

#define HOSTS_FALLBACK_MAX 65536

static bool label_char(char c, bool underscore)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || (underscore && c == '_');
}

/* Dot-separated labels of 1-63 label characters, '-' not at a label's
 * ends; one trailing dot allowed (a fully qualified name). */
static bool name_valid(const char *s, size_t max, bool underscore)
{
	size_t n = strlen(s);
	if (n > 0 && s[n - 1] == '.')
		n--;
	if (n == 0 || n > max)
		return false;
	size_t label = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '.') {
			if (label == 0 || s[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!label_char(s[i], underscore) || (label == 0 && s[i] == '-') || ++label > 63)
			return false;
	}
	return s[n - 1] != '-';
}

bool dnsconf_hostname_valid(const char *s)
{
	/* HOST_NAME_MAX; no trailing dot: it is a name, not a query. */
	size_t n = strlen(s);
	return n > 0 && s[n - 1] != '.' && name_valid(s, 64, false);
}

static bool dns_name_valid(const char *s)
{
	return name_valid(s, 253, true);
}

static int get_strv(const struct ipc_msg *m, uint16_t tag, char ***ret, struct rkt_err *err)
{
	*ret = NULL;
	if (!ipc_msg_has(m, tag))
		return 0;
	if (ipc_msg_get_strv(m, tag, ret) < 0)
		return rkt_error(err, EINVAL, "invalid %s field", ipc_tag_name(tag));
	if (*ret && !**ret) {
		strv_free(*ret);
		*ret = NULL;
	}
	return 0;
}

/* Every item is word, or none is. */
static int alone(char *const *v, const char *word, const char *flag, bool *ret, struct rkt_err *err)
{
	size_t n = strv_len(v), hits = 0;
	for (size_t i = 0; i < n; i++)
		hits += strcmp(v[i], word) == 0;
	if (hits && hits != n)
		return rkt_error(err, EINVAL, "%s=%s cannot be combined with other %s values", flag, word,
				 flag);
	*ret = hits > 0;
	return 0;
}

static int resolv_from_msg(const struct ipc_msg *m, struct dnsconf *d, char ***dns, struct rkt_err *err)
{
	const char *domain = NULL;
	int r;
	if ((r = get_strv(m, IPC_TAG_DNS, dns, err)) < 0 ||
	    (r = get_strv(m, IPC_TAG_DNS_SEARCH, &d->search, err)) < 0 ||
	    (r = get_strv(m, IPC_TAG_DNS_OPT, &d->options, err)) < 0)
		return r;
	if (ipc_msg_has(m, IPC_TAG_DNS_DOMAIN) && ipc_msg_get_str(m, IPC_TAG_DNS_DOMAIN, &domain) < 0)
		return rkt_error(err, EINVAL, "invalid dns_domain field");
	if (domain && *domain)
		d->domain = xstrdup(domain);
	bool host, none;
	if ((r = alone(*dns, "host", "--dns", &host, err)) < 0 || (r = alone(*dns, "none", "--dns", &none, err)) < 0)
		return r;
	bool extra = d->search || d->options || d->domain;
	if ((host || none) && extra)
		return rkt_error(err, EINVAL, "--dns-search, --dns-opt and --dns-domain cannot be used with --dns=%s",
				 host ? "host" : "none");
	if (host || none) {
		d->mode.resolv = host ? DNS_MODE_HOST : DNS_MODE_NONE;
		return 0;
	}
	for (char **p = *dns; p && *p; p++)
		if (!dns_is_ip(*p))
			return rkt_error(err, EINVAL, "--dns=%s: not an IP address (nor host or none)", *p);
	for (char **p = d->search; p && *p; p++)
		if (!dns_name_valid(*p))
			return rkt_error(err, EINVAL, "--dns-search=%s: not a DNS domain name", *p);
	for (char **p = d->options; p && *p; p++)
		if (!dns_is_token(*p))
			return rkt_error(err, EINVAL, "--dns-opt=%s: not a single resolv.conf option word", *p);
	if (d->domain && !dns_name_valid(d->domain))
		return rkt_error(err, EINVAL, "--dns-domain=%s: not a DNS domain name", d->domain);
	if (*dns || extra) {
		d->mode.resolv = DNS_MODE_STAGE0;
		d->nameservers = TAKE_PTR(*dns);
	}
	return 0;
}

static int hosts_from_msg(const struct ipc_msg *m, struct dnsconf *d, struct rkt_err *err)
{
	_cleanup_strv_ char **v = NULL;
	bool host;
	int r = get_strv(m, IPC_TAG_HOSTS_ENTRY, &v, err);
	if (r < 0 || (r = alone(v, "host", "--hosts-entry", &host, err)) < 0)
		return r;
	if (host) {
		d->mode.hosts = DNS_MODE_HOST;
		return 0;
	}
	size_t n = strv_len(v);
	if (n == 0)
		return 0;
	d->entries = xcalloc(n, sizeof *d->entries);
	for (size_t i = 0; i < n; i++) {
		char *ip = NULL, *name = NULL;
		if ((r = dns_hosts_entry_parse(v[i], &ip, &name, err)) < 0)
			return r;
		d->entries[d->n_entries++] = (struct dns_hosts_entry){ .ip = ip, .name = name };
		if (!dns_name_valid(name))
			return rkt_error(err, EINVAL, "--hosts-entry %s: \"%s\" is not a host name", v[i], name);
	}
	d->mode.hosts = DNS_MODE_STAGE0;
	return 0;
}

int dnsconf_from_msg(const struct ipc_msg *m, struct dnsconf *ret, struct rkt_err *err)
{
	*ret = (struct dnsconf){ .mode = { DNS_MODE_DEFAULT, DNS_MODE_DEFAULT } };
	_cleanup_strv_ char **dns = NULL;
	int r = resolv_from_msg(m, ret, &dns, err);
	if (r >= 0)
		r = hosts_from_msg(m, ret, err);
	if (r < 0)
		dnsconf_done(ret);
	return r;
}

/* A CNI "dns" field: absent, or an array of strings each passing ok. */
static int cni_strv(const json_t *dns, const char *key, bool (*ok)(const char *), const char *what,
		    const char *net, char ***ret, struct rkt_err *err)
{
	*ret = NULL;
	json_t *a = json_object_get(dns, key);
	if (!a || json_is_null(a))
		return 0;
	if (!json_is_array(a))
		return rkt_error(err, EINVAL, "network \"%s\": its plugin's dns.%s is not an array", net,
				 key);
	if (json_array_size(a) == 0)
		return 0;
	size_t i, n = json_array_size(a);
	json_t *e;
	_cleanup_strv_ char **v = xcalloc(n + 1, sizeof *v);
	json_array_foreach(a, i, e) {
		const char *str = json_string_value(e);
		if (!str || !ok(str))
			return rkt_error(err, EINVAL, "network \"%s\": its plugin's dns.%s[%zu] %s%s%s is not %s",
					 net, key, i, str ? "\"" : "", str ? str : "(not a string)",
					 str ? "\"" : "", what);
		v[i] = xstrdup(str);
	}
	*ret = TAKE_PTR(v);
	return 0;
}

int dnsconf_from_cni(struct dnsconf *d, const json_t *dns, const char *net, struct rkt_err *err)
{
	char **ns = NULL, **search = NULL, **options = NULL;
	int r;
	if ((r = cni_strv(dns, "nameservers", dns_is_ip, "an IP address", net, &ns, err)) < 0 ||
	    (r = cni_strv(dns, "search", dns_name_valid, "a DNS domain name", net, &search, err)) < 0 ||
	    (r = cni_strv(dns, "options", dns_is_token, "a single resolv.conf option word", net, &options,
			  err)) < 0) {
		strv_free(ns);
		strv_free(search);
		return r;
	}
	json_t *dom = json_object_get(dns, "domain");
	const char *domain = json_string_value(dom);
	if (dom && (!domain || (*domain && !dns_name_valid(domain)))) {
		strv_free(ns);
		strv_free(search);
		strv_free(options);
		return rkt_error(err, EINVAL, "network \"%s\": its plugin's dns.domain %s%s%s is not a DNS domain name",
				 net, domain ? "\"" : "", domain ? domain : "(not a string)", domain ? "\"" : "");
	}
	strv_free(d->nameservers);
	strv_free(d->search);
	strv_free(d->options);
	free(d->domain);
	d->nameservers = ns;
	d->search = search;
	d->options = options;
	d->domain = domain && *domain ? xstrdup(domain) : NULL;
	d->mode.resolv = DNS_MODE_STAGE0;
	return 0;
}

void dnsconf_done(struct dnsconf *d)
{
	strv_free(d->nameservers);
	strv_free(d->search);
	strv_free(d->options);
	free(d->domain);
	for (size_t i = 0; i < d->n_entries; i++) {
		free((char *)d->entries[i].ip);
		free((char *)d->entries[i].name);
	}
	free(d->entries);
	*d = (struct dnsconf){ 0 };
}

static const char *mode_name(enum dns_mode m)
{
	switch (m) {
	case DNS_MODE_HOST: return "host";
	case DNS_MODE_STAGE0: return "stage0";
	case DNS_MODE_NONE: return "none";
	case DNS_MODE_DEFAULT: break;
	}
	return "default";
}

char *dnsconf_mode_arg(const struct dnsconf *d)
{
	return xasprintf("--dns-conf-mode=resolv=%s,hosts=%s", mode_name(d->mode.resolv),
			 mode_name(d->mode.hosts));
}

/* One directory level beneath dfd, made if missing, never through a symlink. */
static int open_subdir(int dfd, const char *name, int *ret, struct rkt_err *err)
{
	if (mkdirat(dfd, name, 0755) < 0 && errno != EEXIST)
		return rkt_error_errno(err, errno, "creating %s in the pod", name);
	int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return rkt_error_errno(err, errno, "opening %s in the pod", name);
	*ret = fd;
	return 0;
}

static int open_etc(int podfd, int *ret, struct rkt_err *err)
{
	_cleanup_close_ int s1 = -1, rootfs = -1;
	int r = open_subdir(podfd, "stage1", &s1, err);
	if (r >= 0)
		r = open_subdir(s1, "rootfs", &rootfs, err);
	if (r >= 0)
		r = open_subdir(rootfs, "etc", ret, err);
	return r;
}

/* The stage1's own hosts-fallback when its image has one (rkt), else the
 * localhost lines stage1 writes when the image has no /etc/hosts. */
static char *hosts_fallback(int etcfd, const char *hostname)
{
	_cleanup_close_ int fd = openat(etcfd, "hosts-fallback", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	char *buf = NULL;
	size_t len;
	if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    read_fd_bounded(fd, HOSTS_FALLBACK_MAX, &buf, &len) == 0)
		return buf;
	return dns_hosts_localhost(hostname);
}

static int put_or_remove(int etcfd, const char *name, const char *text, struct rkt_err *err)
{
	if (text)
		return write_file_atomic_at(etcfd, name, text, strlen(text), 0644, err);
	if (unlinkat(etcfd, name, 0) < 0 && errno != ENOENT)
		return rkt_error_errno(err, errno, "removing a stale stage1/rootfs/etc/%s", name);
	return 0;
}

int dnsconf_write(int podfd, const struct dnsconf *d, const char *hostname, struct rkt_err *err)
{
	_cleanup_close_ int etcfd = -1;
	_cleanup_free_ char *resolv = NULL, *hosts = NULL, *fallback = NULL;
	int r = open_etc(podfd, &etcfd, err);
	if (r >= 0 && d->mode.resolv == DNS_MODE_STAGE0)
		r = dns_resolv_conf(d->nameservers, d->search, d->options, d->domain, &resolv, err);
	if (r >= 0 && d->mode.hosts == DNS_MODE_STAGE0) {
		fallback = hosts_fallback(etcfd, hostname);
		r = dns_hosts(fallback, d->entries, d->n_entries, &hosts, err);
	}
	if (r >= 0)
		r = put_or_remove(etcfd, "rkt-resolv.conf", resolv, err);
	if (r >= 0)
		r = put_or_remove(etcfd, "rkt-hosts", hosts, err);
	return r;
}
