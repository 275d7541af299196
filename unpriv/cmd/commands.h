/* Run functions of the commands rkt implements itself (one file each). */
#pragma once
#include "unpriv/cli/cli.h"

extern const struct command rkt_commands[];

int cmd_version(const struct command *cmd, char **args, struct rkt_err *err);
int cmd_help(const struct command *cmd, char **args, struct rkt_err *err);
extern const struct flag_spec cmd_config_flags[];
int cmd_config(const struct command *cmd, char **args, struct rkt_err *err);
/* image list/rm/cat-manifest/export/gc (image_*.c): the store's own commands. */
extern const struct flag_spec image_list_flags[];
extern const struct flag_spec image_cat_manifest_flags[];
extern const struct flag_spec image_export_flags[];
extern const struct flag_spec image_gc_flags[];
int cmd_image_list(const struct command *cmd, char **args, struct rkt_err *err);
int cmd_image_rm(const struct command *cmd, char **args, struct rkt_err *err);
int cmd_image_cat_manifest(const struct command *cmd, char **args, struct rkt_err *err);
int cmd_image_export(const struct command *cmd, char **args, struct rkt_err *err);
int cmd_image_gc(const struct command *cmd, char **args, struct rkt_err *err);
