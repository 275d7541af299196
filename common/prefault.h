#pragma once
#include <stddef.h>

/* Asks the kernel up front for the pages a short-lived process is about to
 * touch: its writable data, the first heap_bytes of its heap and the top
 * stack_bytes of its stack. On a host with PTI and a paravirtualized MMU a
 * first touch traps at about 12 us a page, while MADV_POPULATE_WRITE fills
 * a range at about 0.5 us a page; the programs run for every command and
 * every pod touch a few dozen such pages. Best effort: a kernel without the
 * advice (before 5.14) or a sanitizer's allocator just faults as before. */
void prefault_process(size_t heap_bytes, size_t stack_bytes);

/* Reads one byte of every page of every loaded object (the program, libc
 * and the other libraries), so that the first request a waiting process
 * serves does not pay first-touch costs in code it has not run yet: on a
 * paravirtualized MMU even a page already mapped traps on its first access
 * from a new process (about 4.5 us a page, measured). A few MiB take a few
 * ms, so this is for idle time, and it stops as soon as stop_fd is
 * readable (the work it waits for has come), looking every few pages. It
 * runs at the caller's priority: at SCHED_IDLE a process whose work came
 * while the CPUs were busy would be starved before it even noticed. */
void prefault_code_until(int stop_fd);
