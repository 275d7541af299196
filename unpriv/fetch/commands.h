/* Commands rkt-fetch implements: everything that parses untrusted network
 * or archive bytes (fetch, trust, extract, render). rkt execs this program
 * for them; it runs with no_new_privs (DESIGN §2 rule 5). */
#pragma once
#include "unpriv/cli/cli.h"

extern const struct command fetch_commands[];

/* fetch / image fetch (cmd_fetch.c). */
extern const struct flag_spec cmd_fetch_flags[];
int cmd_fetch(const struct command *cmd, char **args, struct rkt_err *err);

/* image extract / image render (image_extract.c, image_render.c). */
struct store;
extern const struct flag_spec image_extract_flags[];
extern const struct flag_spec image_render_flags[];
int cmd_image_extract(const struct command *cmd, char **args, struct rkt_err *err);
int cmd_image_render(const struct command *cmd, char **args, struct rkt_err *err);
/* Fills dest_fd (a fresh directory) with image key; flags: enum aci_extract_flags. */
typedef int (*image_fill_fn)(struct store *s, const char *key, int dest_fd, unsigned flags,
			     struct rkt_err *err);
/* IMAGE OUTPUT_DIR: resolves IMAGE, fills a temp sibling, renames it into place. */
int image_output_run(char **args, bool overwrite, bool rootfs_only, image_fill_fn fill,
		     struct rkt_err *err);
int image_extract_blob(struct store *s, const char *key, int dest_fd, unsigned flags,
		       char *const *whitelist, struct rkt_err *err);

/* trust (cmd_trust.c). */
extern const struct flag_spec trust_flags[];
int cmd_trust(const struct command *cmd, char **args, struct rkt_err *err);
