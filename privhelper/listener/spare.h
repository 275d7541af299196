#pragma once

/* The exit status of a spare session (rkt-privhelper-session --await-fd)
 * whose handoff socket closed without a connection: the listener dropped
 * it. Not a session that ended, so the listener starts no spare for it. */
#define RKT_SPARE_UNUSED_EXIT 75
