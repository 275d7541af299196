/* The host's seccomp floor (DESIGN §2 rule 5): what no process under the
 * helper, pods included, may ever do here. Installed by the listener, so
 * every session and every pod inherits it. */
#pragma once

/* Returns 0 or a negative errno. Needs CAP_SYS_ADMIN (no no_new_privs). */
int seccomp_floor_install(void);
