/* appc meta discovery (appc-oci.md §6). */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "common/appc.h"
#include "common/err.h"

struct discovery_result {
	char *aci_url;
	char *sig_url;
	char **pubkeys; /* NULL-terminated */
};
void discovery_result_done(struct discovery_result *r);

/* Pure: scans an HTML page for <meta name="ac-discovery|ac-discovery-pubkeys"
 * content="PREFIX URL"> whose PREFIX is a string prefix of name, and fills the
 * templates ({name}, {version}, {os}, {arch}, any {label}, {ext}); templates
 * with an unfilled {…} are skipped. */
int discovery_parse_page(const char *html, size_t len, const struct appc_image_ref *ref,
			 struct discovery_result *ret, struct rkt_err *err);
/* Fills one template; returns NULL when a {…} is left. */
char *discovery_fill_template(const char *tmpl, const struct appc_image_ref *ref, const char *ext);
/* GET https://<prefix>?ac-discovery=1 for name, then shorter prefixes;
 * http only with allow_http. Stops at the first prefix with an endpoint
 * (want_pubkeys: with a pubkey URL). */
int discovery_discover(const struct appc_image_ref *ref, bool want_pubkeys, bool insecure_tls,
		       bool allow_http, struct discovery_result *ret, struct rkt_err *err);
