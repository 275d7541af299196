#include "paths.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "unpriv/cli/cli.h"

char *config_layer_dir(int layer, const char *kind)
{
	const char *base = layer == 0 ? g_opts.system_config
			   : layer == 1 ? g_opts.local_config
					: g_opts.user_config;
	if (!base || !*base)
		return NULL;
	return xasprintf("%s/%s", base, kind);
}

static int compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Reads every *.json in dir (sorted) and returns the last "data" value. */
static int layer_data(const char *dir, char **data, struct rkt_err *err)
{
	_cleanup_closedir_ DIR *d = opendir(dir);
	if (!d)
		return errno == ENOENT || errno == ENOTDIR ? 0
							   : rkt_error_errno(err, errno, "open %s", dir);
	_cleanup_strv_ char **names = NULL;
	struct dirent *de;
	while ((de = readdir(d)))
		if (str_has_suffix(de->d_name, ".json") && de->d_name[0] != '.')
			names = strv_append(names, de->d_name);
	if (!names)
		return 0;
	qsort(names, strv_len(names), sizeof *names, compare_names);
	for (size_t i = 0; names[i]; i++) {
		_cleanup_free_ char *path = xasprintf("%s/%s", dir, names[i]);
		json_error_t jerr;
		json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
		if (!root)
			return rkt_error(err, EINVAL, "%s: invalid JSON at line %d: %s", path, jerr.line,
					 jerr.text);
		const char *kind = json_string_value(json_object_get(root, "rktKind"));
		if (!kind || strcmp(kind, "paths") != 0) {
			json_decref(root);
			return rkt_error(err, EINVAL, "%s: field \"rktKind\" must be \"paths\"", path);
		}
		json_t *v = json_object_get(root, "data");
		if (v) {
			if (!json_is_string(v) || json_string_value(v)[0] != '/') {
				json_decref(root);
				return rkt_error(err, EINVAL, "%s: field \"data\" must be an absolute path", path);
			}
			free(*data);
			*data = xstrdup(json_string_value(v));
		}
		json_decref(root);
	}
	return 0;
}

int config_paths_data_dir(char **ret, struct rkt_err *err)
{
	char *data = NULL;
	for (int layer = 0; layer < 3; layer++) {
		_cleanup_free_ char *dir = config_layer_dir(layer, "paths.d");
		if (!dir)
			continue;
		int r = layer_data(dir, &data, err);
		if (r < 0) {
			free(data);
			return r;
		}
	}
	*ret = data;
	return 0;
}
