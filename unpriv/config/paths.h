/* rkt's configuration layers (system < local < user): paths.d, stage1.d. */
#pragma once
#include "common/err.h"

/* The "data" entry of paths.d (user over local over system), or NULL. */
int config_paths_data_dir(char **ret, struct rkt_err *err);
/* The "stage1-images" entry of paths.d, or NULL. */
int config_paths_stage1_images_dir(char **ret, struct rkt_err *err);
/* Directory of one layer's kind ("paths.d", "auth.d", ...) or NULL when the
 * layer is not configured. layer: 0 system, 1 local, 2 user. */
char *config_layer_dir(int layer, const char *kind);

/* The default stage1 of stage1.d: name and version (both or neither) and
 * location, each NULL when no layer sets it. The location is returned as
 * written; whether it is usable (absolute path or URL) is the caller's check. */
struct config_stage1 {
	char *name;
	char *version;
	char *location;
};
int config_stage1_default(struct config_stage1 *ret, struct rkt_err *err);
void config_stage1_clear(struct config_stage1 *s);
