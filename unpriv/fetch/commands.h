/* Commands rkt-fetch implements: everything that parses untrusted network
 * or archive bytes (fetch, trust, extract, render). rkt execs this program
 * for them; it runs with no_new_privs (DESIGN §2 rule 5). */
#pragma once
#include "unpriv/cli/cli.h"

extern const struct command fetch_commands[];
