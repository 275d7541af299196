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
