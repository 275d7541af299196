/* The loader behind auth.h and paths.h: reads the *.json files of auth.d,
 * paths.d and stage1.d in the three layers (system < local < user) and
 * merges them the way rkt does (rkt-behaviour.md §2.3). Strict: a file of an
 * unknown kind or version, a missing field or a field of the wrong type is an
 * error naming the file and the field. */
#pragma once
#include <stddef.h>

#include "common/err.h"

/* One auth.d domain. type is "basic" (user, password), "oauth" (token) or
 * "aws" (access_key_id, secret_access_key, optional aws_region). */
struct config_auth {
	char *domain;
	char *type;
	char *user;
	char *password;
	char *token;
	char *access_key_id;
	char *secret_access_key;
	char *aws_region;
	char *file; /* the file it came from, for messages */
};

/* One dockerAuth registry. */
struct config_docker {
	char *registry;
	char *user;
	char *password;
	char *file;
};

/* The merged configuration; a string field is NULL when no layer sets it. */
struct rkt_config {
	struct config_auth *auth; /* sorted by domain */
	size_t n_auth;
	struct config_docker *docker; /* sorted by registry */
	size_t n_docker;
	char *data_dir;
	char *data_dir_file;
	char *stage1_images_dir;
	char *stage1_images_dir_file;
	char *stage1_name;
	char *stage1_version;
	char *stage1_name_file;
	char *stage1_location;
	char *stage1_location_file;
};

enum config_kind {
	CONFIG_AUTH = 1u << 0,   /* auth.d: auth and dockerAuth */
	CONFIG_PATHS = 1u << 1,  /* paths.d */
	CONFIG_STAGE1 = 1u << 2, /* stage1.d */
	CONFIG_ALL = CONFIG_AUTH | CONFIG_PATHS | CONFIG_STAGE1,
};

/* Loads the directories selected by kinds (enum config_kind bits) from the
 * layers g_opts names. Missing directories are empty layers. */
int config_load(unsigned kinds, struct rkt_config **ret, struct rkt_err *err);
void config_free(struct rkt_config *c);
static inline void config_freep(struct rkt_config **c) { config_free(*c); }
#define _cleanup_config_ __attribute__((cleanup(config_freep)))

/* The auth entry for host (case-insensitive), or NULL. */
const struct config_auth *config_find_auth(const struct rkt_config *c, const char *host);
const struct config_docker *config_find_docker(const struct rkt_config *c, const char *registry);
