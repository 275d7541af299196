/* Reading and merging rkt's configuration directories. Each layer is parsed
 * into its own struct first, so "the same domain twice within one layer" can
 * name both files, and is then merged over the layers below it: per domain,
 * per registry and per paths field; stage1's name and version travel
 * together (rkt's config.mergeConfigs). */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "paths.h"

/* A config file is a few hundred bytes; anything near this is a mistake. */
#define CONFIG_FILE_MAX (1024 * 1024)

static void auth_clear(struct config_auth *a)
{
	free(a->domain);
	free(a->type);
	free(a->user);
	free(a->password);
	free(a->token);
	free(a->access_key_id);
	free(a->secret_access_key);
	free(a->aws_region);
	free(a->file);
	memset(a, 0, sizeof *a);
}

static void docker_clear(struct config_docker *d)
{
	free(d->registry);
	free(d->user);
	free(d->password);
	free(d->file);
	memset(d, 0, sizeof *d);
}

void config_free(struct rkt_config *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n_auth; i++)
		auth_clear(&c->auth[i]);
	free(c->auth);
	for (size_t i = 0; i < c->n_docker; i++)
		docker_clear(&c->docker[i]);
	free(c->docker);
	free(c->data_dir);
	free(c->data_dir_file);
	free(c->stage1_images_dir);
	free(c->stage1_images_dir_file);
	free(c->stage1_name);
	free(c->stage1_version);
	free(c->stage1_name_file);
	free(c->stage1_location);
	free(c->stage1_location_file);
	free(c);
}

const struct config_auth *config_find_auth(const struct rkt_config *c, const char *host)
{
	for (size_t i = 0; host && i < c->n_auth; i++)
		if (strcasecmp(c->auth[i].domain, host) == 0)
			return &c->auth[i];
	return NULL;
}

const struct config_docker *config_find_docker(const struct rkt_config *c, const char *registry)
{
	for (size_t i = 0; registry && i < c->n_docker; i++)
		if (strcasecmp(c->docker[i].registry, registry) == 0)
			return &c->docker[i];
	return NULL;
}

/* ---- field access ------------------------------------------------------ */

/* Context of one file being parsed: its path and the prefix of the field
 * names in messages ("credentials."). */
struct pctx {
	const char *file;
	const char *prefix;
};

static int check_keys(const struct pctx *p, json_t *obj, const char *const *allowed,
		      struct rkt_err *err)
{
	const char *key;
	json_t *v;
	json_object_foreach (obj, key, v) {
		bool ok = false;
		for (size_t i = 0; allowed[i] && !ok; i++)
			ok = strcmp(allowed[i], key) == 0;
		if (!ok)
			return rkt_error(err, EINVAL, "%s: unknown field \"%s%s\"", p->file, p->prefix, key);
	}
	return 0;
}

static bool has_control_char(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

/* A string field. Absent: NULL, or an error when required. Credentials end
 * up in HTTP headers, so control characters (CR, LF) are refused outright. */
static int get_string(const struct pctx *p, json_t *obj, const char *key, bool required,
		      const char **ret, struct rkt_err *err)
{
	json_t *v = json_object_get(obj, key);
	*ret = NULL;
	if (!v) {
		if (required)
			return rkt_error(err, EINVAL, "%s: field \"%s%s\" is missing", p->file, p->prefix,
					 key);
		return 0;
	}
	if (!json_is_string(v))
		return rkt_error(err, EINVAL, "%s: field \"%s%s\" must be a string", p->file, p->prefix,
				 key);
	const char *s = json_string_value(v);
	if (strlen(s) != json_string_length(v) || has_control_char(s))
		return rkt_error(err, EINVAL, "%s: field \"%s%s\" contains a control character",
				 p->file, p->prefix, key);
	if (required && !*s)
		return rkt_error(err, EINVAL, "%s: field \"%s%s\" must not be empty", p->file, p->prefix,
				 key);
	*ret = s;
	return 0;
}

/* "domains"/"registries": a non-empty array of host names (no scheme, no
 * path), since they are compared with the host of each request. */
static int get_hosts(const struct pctx *p, json_t *obj, const char *key, json_t **ret,
		     struct rkt_err *err)
{
	json_t *arr = json_object_get(obj, key);
	if (!arr)
		return rkt_error(err, EINVAL, "%s: field \"%s\" is missing", p->file, key);
	if (!json_is_array(arr) || json_array_size(arr) == 0)
		return rkt_error(err, EINVAL, "%s: field \"%s\" must be a non-empty array of strings",
				 p->file, key);
	size_t i;
	json_t *v;
	json_array_foreach (arr, i, v) {
		const char *s = json_string_value(v);
		if (!s || !*s)
			return rkt_error(err, EINVAL, "%s: field \"%s[%zu]\" must be a non-empty string",
					 p->file, key, i);
		if (strlen(s) != json_string_length(v) || has_control_char(s) ||
		    strpbrk(s, "/@ \t") != NULL)
			return rkt_error(err, EINVAL,
					 "%s: field \"%s[%zu]\": \"%s\" is not a host name (no scheme or path)",
					 p->file, key, i, s);
	}
	*ret = arr;
	return 0;
}

static int get_object(const struct pctx *p, json_t *obj, const char *key, json_t **ret,
		      struct rkt_err *err)
{
	json_t *v = json_object_get(obj, key);
	if (!v)
		return rkt_error(err, EINVAL, "%s: field \"%s\" is missing", p->file, key);
	if (!json_is_object(v))
		return rkt_error(err, EINVAL, "%s: field \"%s\" must be an object", p->file, key);
	*ret = v;
	return 0;
}

static char *xstrdup_or_null(const char *s) { return s ? xstrdup(s) : NULL; }

/* ---- kinds ------------------------------------------------------------- */

static int add_auth(struct rkt_config *layer, const struct config_auth *tmpl, const char *domain,
		    struct rkt_err *err)
{
	const struct config_auth *old = config_find_auth(layer, domain);
	if (old) {
		if (strcmp(old->file, tmpl->file) == 0)
			return rkt_error(err, EEXIST, "%s: domain \"%s\" is listed twice", tmpl->file,
					 domain);
		return rkt_error(err, EEXIST,
				 "auth.d: domain \"%s\" is configured twice in one layer: %s and %s", domain,
				 old->file, tmpl->file);
	}
	layer->auth = xrealloc(layer->auth, (layer->n_auth + 1) * sizeof *layer->auth);
	struct config_auth *a = &layer->auth[layer->n_auth++];
	*a = (struct config_auth){
		.domain = xstrdup(domain),
		.type = xstrdup(tmpl->type),
		.user = xstrdup_or_null(tmpl->user),
		.password = xstrdup_or_null(tmpl->password),
		.token = xstrdup_or_null(tmpl->token),
		.access_key_id = xstrdup_or_null(tmpl->access_key_id),
		.secret_access_key = xstrdup_or_null(tmpl->secret_access_key),
		.aws_region = xstrdup_or_null(tmpl->aws_region),
		.file = xstrdup(tmpl->file),
	};
	return 0;
}

static int parse_credentials(const char *file, const char *type, json_t *creds,
			     struct config_auth *a, struct rkt_err *err)
{
	static const char *const basic_keys[] = { "user", "password", NULL };
	static const char *const oauth_keys[] = { "token", NULL };
	static const char *const aws_keys[] = { "accessKeyID", "secretAccessKey", "awsRegion", NULL };
	const struct pctx p = { file, "credentials." };
	int r;
	if (strcmp(type, "basic") == 0) {
		if ((r = check_keys(&p, creds, basic_keys, err)) < 0 ||
		    (r = get_string(&p, creds, "user", true, (const char **)&a->user, err)) < 0 ||
		    (r = get_string(&p, creds, "password", true, (const char **)&a->password, err)) < 0)
			return r;
		/* RFC 7617: the user-id of Basic credentials cannot hold a colon */
		if (strchr(a->user, ':'))
			return rkt_error(err, EINVAL, "%s: field \"credentials.user\" must not contain ':'",
					 file);
		return 0;
	}
	if (strcmp(type, "oauth") == 0) {
		if ((r = check_keys(&p, creds, oauth_keys, err)) < 0)
			return r;
		return get_string(&p, creds, "token", true, (const char **)&a->token, err);
	}
	if (strcmp(type, "aws") == 0) {
		if ((r = check_keys(&p, creds, aws_keys, err)) < 0 ||
		    (r = get_string(&p, creds, "accessKeyID", true, (const char **)&a->access_key_id,
				    err)) < 0 ||
		    (r = get_string(&p, creds, "secretAccessKey", true,
				    (const char **)&a->secret_access_key, err)) < 0)
			return r;
		return get_string(&p, creds, "awsRegion", false, (const char **)&a->aws_region, err);
	}
	return rkt_error(err, EINVAL,
			 "%s: field \"type\": unknown auth type \"%s\" (basic, oauth or aws)", file,
			 type);
}

/* The strings in tmpl borrow from the JSON tree; add_auth copies them. */
static int parse_auth(const char *file, json_t *root, struct rkt_config *layer,
		      struct rkt_err *err)
{
	static const char *const keys[] = { "rktKind", "rktVersion", "domains", "type",
					    "credentials", NULL };
	const struct pctx p = { file, "" };
	struct config_auth tmpl = { .file = (char *)file };
	json_t *domains, *creds;
	const char *type;
	int r;
	if ((r = check_keys(&p, root, keys, err)) < 0 ||
	    (r = get_hosts(&p, root, "domains", &domains, err)) < 0 ||
	    (r = get_string(&p, root, "type", true, &type, err)) < 0 ||
	    (r = get_object(&p, root, "credentials", &creds, err)) < 0 ||
	    (r = parse_credentials(file, type, creds, &tmpl, err)) < 0)
		return r;
	tmpl.type = (char *)type;
	size_t i;
	json_t *v;
	json_array_foreach (domains, i, v)
		if ((r = add_auth(layer, &tmpl, json_string_value(v), err)) < 0)
			return r;
	return 0;
}

static int parse_docker_auth(const char *file, json_t *root, struct rkt_config *layer,
			     struct rkt_err *err)
{
	static const char *const keys[] = { "rktKind", "rktVersion", "registries", "credentials",
					    NULL };
	static const char *const cred_keys[] = { "user", "password", NULL };
	const struct pctx p = { file, "" }, pc = { file, "credentials." };
	json_t *registries, *creds;
	const char *user, *password;
	int r;
	if ((r = check_keys(&p, root, keys, err)) < 0 ||
	    (r = get_hosts(&p, root, "registries", &registries, err)) < 0 ||
	    (r = get_object(&p, root, "credentials", &creds, err)) < 0 ||
	    (r = check_keys(&pc, creds, cred_keys, err)) < 0 ||
	    (r = get_string(&pc, creds, "user", true, &user, err)) < 0 ||
	    (r = get_string(&pc, creds, "password", true, &password, err)) < 0)
		return r;
	size_t i;
	json_t *v;
	json_array_foreach (registries, i, v) {
		const char *reg = json_string_value(v);
		const struct config_docker *old = config_find_docker(layer, reg);
		if (old && strcmp(old->file, file) == 0)
			return rkt_error(err, EEXIST, "%s: registry \"%s\" is listed twice", file, reg);
		if (old)
			return rkt_error(err, EEXIST,
					 "auth.d: registry \"%s\" is configured twice in one layer: %s and %s",
					 reg, old->file, file);
		layer->docker = xrealloc(layer->docker, (layer->n_docker + 1) * sizeof *layer->docker);
		layer->docker[layer->n_docker++] = (struct config_docker){
			.registry = xstrdup(reg),
			.user = xstrdup(user),
			.password = xstrdup(password),
			.file = xstrdup(file),
		};
	}
	return 0;
}

/* Sets one single-valued field of a layer; a second file setting it in the
 * same layer is an error naming both. */
static int set_once(const char *file, const char *what, const char *value, char **field,
		    char **field_file, struct rkt_err *err)
{
	if (!value)
		return 0;
	if (*field)
		return rkt_error(err, EEXIST, "%s is configured twice in one layer: %s and %s", what,
				 *field_file, file);
	*field = xstrdup(value);
	*field_file = xstrdup(file);
	return 0;
}

static int get_abs_path(const struct pctx *p, json_t *root, const char *key, const char **ret,
			struct rkt_err *err)
{
	int r = get_string(p, root, key, false, ret, err);
	if (r < 0)
		return r;
	if (*ret && (*ret)[0] != '/')
		return rkt_error(err, EINVAL, "%s: field \"%s\" must be an absolute path", p->file, key);
	return 0;
}

static int parse_paths(const char *file, json_t *root, struct rkt_config *layer,
		       struct rkt_err *err)
{
	static const char *const keys[] = { "rktKind", "rktVersion", "data", "stage1-images", NULL };
	const struct pctx p = { file, "" };
	const char *data, *images;
	int r;
	if ((r = check_keys(&p, root, keys, err)) < 0 ||
	    (r = get_abs_path(&p, root, "data", &data, err)) < 0 ||
	    (r = get_abs_path(&p, root, "stage1-images", &images, err)) < 0)
		return r;
	if ((r = set_once(file, "paths.d: \"data\"", data, &layer->data_dir, &layer->data_dir_file,
			  err)) < 0)
		return r;
	return set_once(file, "paths.d: \"stage1-images\"", images, &layer->stage1_images_dir,
			&layer->stage1_images_dir_file, err);
}

static int parse_stage1(const char *file, json_t *root, struct rkt_config *layer,
			struct rkt_err *err)
{
	static const char *const keys[] = { "rktKind", "rktVersion", "name", "version", "location",
					    NULL };
	const struct pctx p = { file, "" };
	const char *name, *version, *location;
	int r;
	if ((r = check_keys(&p, root, keys, err)) < 0 ||
	    (r = get_string(&p, root, "name", false, &name, err)) < 0 ||
	    (r = get_string(&p, root, "version", false, &version, err)) < 0 ||
	    (r = get_string(&p, root, "location", false, &location, err)) < 0)
		return r;
	if (name && !*name)
		name = NULL;
	if (version && !*version)
		version = NULL;
	if (!name != !version)
		return rkt_error(err, EINVAL,
				 "%s: field \"%s\" is missing (stage1 name and version go together)", file,
				 name ? "version" : "name");
	if (location && !*location)
		location = NULL;
	if (name) {
		if ((r = set_once(file, "stage1.d: name and version", name, &layer->stage1_name,
				  &layer->stage1_name_file, err)) < 0)
			return r;
		layer->stage1_version = xstrdup(version);
	}
	return set_once(file, "stage1.d: \"location\"", location, &layer->stage1_location,
			&layer->stage1_location_file, err);
}

/* ---- files and directories -------------------------------------------- */

struct kind_dir {
	unsigned bit;
	const char *dir;
	const char *kinds; /* for messages */
};

static const struct kind_dir kind_dirs[] = {
	{ CONFIG_AUTH, "auth.d", "auth, dockerAuth" },
	{ CONFIG_PATHS, "paths.d", "paths" },
	{ CONFIG_STAGE1, "stage1.d", "stage1" },
};

static int parse_file(const struct kind_dir *kd, const char *path, json_t *root,
		      struct rkt_config *layer, struct rkt_err *err)
{
	if (!json_is_object(root))
		return rkt_error(err, EINVAL, "%s: must be a JSON object", path);
	const struct pctx p = { path, "" };
	const char *kind, *version;
	int r;
	if ((r = get_string(&p, root, "rktKind", true, &kind, err)) < 0 ||
	    (r = get_string(&p, root, "rktVersion", true, &version, err)) < 0)
		return r;
	int (*parse)(const char *, json_t *, struct rkt_config *, struct rkt_err *) = NULL;
	if (kd->bit == CONFIG_AUTH && strcmp(kind, "auth") == 0)
		parse = parse_auth;
	else if (kd->bit == CONFIG_AUTH && strcmp(kind, "dockerAuth") == 0)
		parse = parse_docker_auth;
	else if (kd->bit == CONFIG_PATHS && strcmp(kind, "paths") == 0)
		parse = parse_paths;
	else if (kd->bit == CONFIG_STAGE1 && strcmp(kind, "stage1") == 0)
		parse = parse_stage1;
	if (!parse)
		return rkt_error(err, EINVAL, "%s: field \"rktKind\": \"%s\" is not a kind %s accepts (%s)",
				 path, kind, kd->dir, kd->kinds);
	if (strcmp(version, "v1") != 0)
		return rkt_error(err, EINVAL,
				 "%s: field \"rktVersion\": version \"%s\" of kind \"%s\" is not supported (only \"v1\")",
				 path, version, kind);
	return parse(path, root, layer, err);
}

static int compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Reads one file of dir. Returns 0 with *ret NULL for anything that is not a
 * regular file (a subdirectory named x.json is not read: only files directly
 * inside count). */
static int load_json_at(int dfd, const char *path, const char *name, json_t **ret,
			struct rkt_err *err)
{
	*ret = NULL;
	_cleanup_close_ int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return rkt_error_errno(err, errno, "open %s", path);
	struct stat st;
	if (fstat(fd, &st) < 0)
		return rkt_error_errno(err, errno, "stat %s", path);
	if (!S_ISREG(st.st_mode))
		return 0;
	_cleanup_free_ char *buf = NULL;
	size_t len;
	int r = read_fd_bounded(fd, CONFIG_FILE_MAX, &buf, &len);
	if (r == -EFBIG)
		return rkt_error(err, EFBIG, "%s: larger than %d bytes", path, CONFIG_FILE_MAX);
	if (r < 0)
		return rkt_error_errno(err, -r, "read %s", path);
	json_error_t jerr;
	json_t *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return rkt_error(err, EINVAL, "%s: invalid JSON at line %d: %s", path, jerr.line,
				 jerr.text);
	*ret = root;
	return 0;
}

static int load_dir(const struct kind_dir *kd, const char *dir, struct rkt_config *layer,
		    struct rkt_err *err)
{
	_cleanup_closedir_ DIR *d = opendir(dir);
	if (!d) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		return rkt_error_errno(err, errno, "open %s", dir);
	}
	_cleanup_strv_ char **names = NULL;
	struct dirent *de;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.' && str_has_suffix(de->d_name, ".json"))
			names = strv_append(names, de->d_name);
	if (!names)
		return 0;
	qsort(names, strv_len(names), sizeof *names, compare_names);
	for (size_t i = 0; names[i]; i++) {
		_cleanup_free_ char *path = xasprintf("%s/%s", dir, names[i]);
		json_t *root;
		int r = load_json_at(dirfd(d), path, names[i], &root, err);
		if (r < 0)
			return r;
		if (!root)
			continue;
		r = parse_file(kd, path, root, layer, err);
		json_decref(root);
		if (r < 0)
			return r;
	}
	return 0;
}

/* ---- merging ----------------------------------------------------------- */

static void move_field(char **dst, char **dst_file, char **src, char **src_file)
{
	if (!*src)
		return;
	free(*dst);
	free(*dst_file);
	*dst = TAKE_PTR(*src);
	*dst_file = TAKE_PTR(*src_file);
}

static void merge_layer(struct rkt_config *c, struct rkt_config *layer)
{
	for (size_t i = 0; i < layer->n_auth; i++) {
		struct config_auth *old = (struct config_auth *)config_find_auth(c, layer->auth[i].domain);
		if (!old) {
			c->auth = xrealloc(c->auth, (c->n_auth + 1) * sizeof *c->auth);
			old = &c->auth[c->n_auth++];
		} else {
			auth_clear(old);
		}
		*old = layer->auth[i];
		memset(&layer->auth[i], 0, sizeof layer->auth[i]);
	}
	for (size_t i = 0; i < layer->n_docker; i++) {
		struct config_docker *old =
			(struct config_docker *)config_find_docker(c, layer->docker[i].registry);
		if (!old) {
			c->docker = xrealloc(c->docker, (c->n_docker + 1) * sizeof *c->docker);
			old = &c->docker[c->n_docker++];
		} else {
			docker_clear(old);
		}
		*old = layer->docker[i];
		memset(&layer->docker[i], 0, sizeof layer->docker[i]);
	}
	move_field(&c->data_dir, &c->data_dir_file, &layer->data_dir, &layer->data_dir_file);
	move_field(&c->stage1_images_dir, &c->stage1_images_dir_file, &layer->stage1_images_dir,
		   &layer->stage1_images_dir_file);
	if (layer->stage1_name) {
		free(c->stage1_version);
		c->stage1_version = TAKE_PTR(layer->stage1_version);
		move_field(&c->stage1_name, &c->stage1_name_file, &layer->stage1_name,
			   &layer->stage1_name_file);
	}
	move_field(&c->stage1_location, &c->stage1_location_file, &layer->stage1_location,
		   &layer->stage1_location_file);
}

static int compare_auth(const void *a, const void *b)
{
	return strcasecmp(((const struct config_auth *)a)->domain,
			  ((const struct config_auth *)b)->domain);
}

static int compare_docker(const void *a, const void *b)
{
	return strcasecmp(((const struct config_docker *)a)->registry,
			  ((const struct config_docker *)b)->registry);
}

int config_load(unsigned kinds, struct rkt_config **ret, struct rkt_err *err)
{
	_cleanup_config_ struct rkt_config *c = xcalloc(1, sizeof *c);
	for (int l = 0; l < 3; l++) {
		_cleanup_config_ struct rkt_config *layer = xcalloc(1, sizeof *layer);
		for (size_t k = 0; k < sizeof kind_dirs / sizeof kind_dirs[0]; k++) {
			if (!(kinds & kind_dirs[k].bit))
				continue;
			_cleanup_free_ char *dir = config_layer_dir(l, kind_dirs[k].dir);
			if (!dir)
				continue;
			int r = load_dir(&kind_dirs[k], dir, layer, err);
			if (r < 0)
				return r;
		}
		merge_layer(c, layer);
	}
	if (c->n_auth)
		qsort(c->auth, c->n_auth, sizeof *c->auth, compare_auth);
	if (c->n_docker)
		qsort(c->docker, c->n_docker, sizeof *c->docker, compare_docker);
	*ret = TAKE_PTR(c);
	return 0;
}
