/* auth.d credentials as HTTP headers, and `rkt config`'s merged view. The
 * file is part of libunpriv, which the light rkt binary links, so it stays
 * free of libcrypto (base64 is written out below). */
#include "auth.h"

#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "config.h"

char *base64_encode(const void *data, size_t len)
{
	static const char alphabet[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const uint8_t *in = data;
	char *out = xmalloc((len + 2) / 3 * 4 + 1), *o = out;
	size_t i = 0;
	for (; i + 2 < len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		*o++ = alphabet[v >> 18 & 63];
		*o++ = alphabet[v >> 12 & 63];
		*o++ = alphabet[v >> 6 & 63];
		*o++ = alphabet[v & 63];
	}
	if (i < len) {
		uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < len ? (uint32_t)in[i + 1] << 8 : 0);
		*o++ = alphabet[v >> 18 & 63];
		*o++ = alphabet[v >> 12 & 63];
		*o++ = i + 1 < len ? alphabet[v >> 6 & 63] : '=';
		*o++ = '=';
	}
	*o = '\0';
	return out;
}

static char *auth_header(const struct config_auth *a)
{
	if (strcmp(a->type, "basic") == 0) {
		_cleanup_free_ char *pair = xasprintf("%s:%s", a->user, a->password);
		_cleanup_free_ char *b64 = base64_encode(pair, strlen(pair));
		explicit_bzero(pair, strlen(pair));
		return xasprintf("Authorization: Basic %s", b64);
	}
	return xasprintf("Authorization: Bearer %s", a->token);
}

int config_auth_headers(const char *host, char ***ret, struct rkt_err *err)
{
	*ret = NULL;
	_cleanup_config_ struct rkt_config *c = NULL;
	int r = config_load(CONFIG_AUTH, &c, err);
	if (r < 0)
		return r;
	const struct config_auth *a = config_find_auth(c, host);
	if (!a)
		return 0;
	if (strcmp(a->type, "aws") == 0)
		return rkt_error(err, ENOTSUP,
				 "%s: aws credentials for \"%s\" need AWS request signing, which this rkt does not implement (use basic or oauth)",
				 a->file, a->domain);
	_cleanup_free_ char *h = auth_header(a);
	*ret = strv_append(NULL, h);
	return 0;
}

int config_docker_credentials(const char *registry, char **ret_user, char **ret_password,
			      struct rkt_err *err)
{
	*ret_user = *ret_password = NULL;
	_cleanup_config_ struct rkt_config *c = NULL;
	int r = config_load(CONFIG_AUTH, &c, err);
	if (r < 0)
		return r;
	const struct config_docker *d = config_find_docker(c, registry);
	if (d) {
		*ret_user = xstrdup(d->user);
		*ret_password = xstrdup(d->password);
	}
	return 0;
}

/* ---- rkt config -------------------------------------------------------- */

static json_t *entry(const char *kind)
{
	return json_pack("{s:s, s:s}", "rktVersion", "v1", "rktKind", kind);
}

static json_t *auth_entry(const struct config_auth *a)
{
	json_t *creds;
	if (strcmp(a->type, "basic") == 0)
		creds = json_pack("{s:s, s:s}", "user", a->user, "password", a->password);
	else if (strcmp(a->type, "oauth") == 0)
		creds = json_pack("{s:s}", "token", a->token);
	else
		creds = json_pack("{s:s, s:s, s:s}", "accessKeyID", a->access_key_id,
				  "secretAccessKey", a->secret_access_key, "awsRegion",
				  a->aws_region ? a->aws_region : "");
	json_t *e = entry("auth");
	json_object_set_new(e, "domains", json_pack("[s]", a->domain));
	json_object_set_new(e, "type", json_string(a->type));
	json_object_set_new(e, "credentials", creds);
	return e;
}

static json_t *docker_entry(const struct config_docker *d)
{
	json_t *e = entry("dockerAuth");
	json_object_set_new(e, "registries", json_pack("[s]", d->registry));
	json_object_set_new(e, "credentials",
			    json_pack("{s:s, s:s}", "user", d->user, "password", d->password));
	return e;
}

static void set_str(json_t *obj, const char *key, const char *value)
{
	json_object_set_new(obj, key, json_string(value ? value : ""));
}

/* rkt prints one entry per domain and per registry (sorted here; rkt's order
 * was Go's map order), then paths and stage1, unset fields as "". */
int config_merged_json(char **ret_json, int pretty, struct rkt_err *err)
{
	_cleanup_config_ struct rkt_config *c = NULL;
	int r = config_load(CONFIG_ALL, &c, err);
	if (r < 0)
		return r;
	json_t *stage0 = json_array();
	for (size_t i = 0; i < c->n_auth; i++)
		json_array_append_new(stage0, auth_entry(&c->auth[i]));
	for (size_t i = 0; i < c->n_docker; i++)
		json_array_append_new(stage0, docker_entry(&c->docker[i]));
	json_t *paths = entry("paths");
	set_str(paths, "data", c->data_dir);
	set_str(paths, "stage1-images", c->stage1_images_dir);
	json_array_append_new(stage0, paths);
	json_t *stage1 = entry("stage1");
	set_str(stage1, "name", c->stage1_name);
	set_str(stage1, "version", c->stage1_version);
	set_str(stage1, "location", c->stage1_location);
	json_array_append_new(stage0, stage1);
	json_t *root = json_pack("{s:o}", "stage0", stage0);
	size_t flags = JSON_PRESERVE_ORDER | (pretty ? JSON_INDENT(2) : JSON_COMPACT);
	char *s = json_dumps(root, flags);
	json_decref(root);
	if (!s)
		return rkt_error(err, ENOMEM, "rkt config: cannot serialise the configuration");
	*ret_json = s;
	return 0;
}
