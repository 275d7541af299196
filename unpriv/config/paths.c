/* paths.d and stage1.d accessors. rkt runs config_paths_data_dir before
 * every command, so it reads paths.d alone: a broken auth.d file must not
 * stop `rkt list`. */
#include "paths.h"

#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "config.h"
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

int config_paths_data_dir(char **ret, struct rkt_err *err)
{
	_cleanup_config_ struct rkt_config *c = NULL;
	int r = config_load(CONFIG_PATHS, &c, err);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(c->data_dir);
	return 0;
}

int config_paths_stage1_images_dir(char **ret, struct rkt_err *err)
{
	_cleanup_config_ struct rkt_config *c = NULL;
	int r = config_load(CONFIG_PATHS, &c, err);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(c->stage1_images_dir);
	return 0;
}

int config_stage1_default(struct config_stage1 *ret, struct rkt_err *err)
{
	_cleanup_config_ struct rkt_config *c = NULL;
	int r = config_load(CONFIG_STAGE1, &c, err);
	if (r < 0)
		return r;
	ret->name = TAKE_PTR(c->stage1_name);
	ret->version = TAKE_PTR(c->stage1_version);
	ret->location = TAKE_PTR(c->stage1_location);
	return 0;
}

void config_stage1_clear(struct config_stage1 *s)
{
	free(s->name);
	free(s->version);
	free(s->location);
	memset(s, 0, sizeof *s);
}
