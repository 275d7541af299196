/* rkt's configuration layers (system < local < user): paths.d. */
#pragma once
#include "common/err.h"

/* The "data" entry of paths.d (user over local over system), or NULL. */
int config_paths_data_dir(char **ret, struct rkt_err *err);
/* Directory of one layer's kind ("paths.d", "auth.d", ...) or NULL when the
 * layer is not configured. layer: 0 system, 1 local, 2 user. */
char *config_layer_dir(int layer, const char *kind);
