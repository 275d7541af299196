#include "common/prefault.h"

#include <link.h>
#include <malloc.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

/* glibc's start files and the linker define these: .data starts at
 * __data_start (after the RELRO part, already read-only), .bss ends at _end. */
extern char __data_start[];
extern char _end[];

__attribute__((unused)) static void populate(uintptr_t lo, uintptr_t hi)
{
	uintptr_t pg = (uintptr_t)getpagesize();
	lo &= ~(pg - 1);
	hi = (hi + pg - 1) & ~(pg - 1);
	if (hi > lo)
		(void)madvise((void *)lo, hi - lo, MADV_POPULATE_WRITE);
}

void prefault_process(size_t heap_bytes, size_t stack_bytes)
{
#if defined(__SANITIZE_ADDRESS__)
	(void)heap_bytes;
	(void)stack_bytes;
#else
	populate((uintptr_t)__data_start, (uintptr_t)_end);
	/* One heap_bytes block grows the heap (not mmap: the threshold is
	 * raised for it), and the free at the top keeps it (trim threshold)
	 * for the allocations to come; then the defaults are back, except that
	 * later growth also comes in 64 KiB steps. */
	mallopt(M_TOP_PAD, 64 << 10);
	mallopt(M_TRIM_THRESHOLD, (int)(2 * heap_bytes));
	mallopt(M_MMAP_THRESHOLD, (int)(2 * heap_bytes));
	void *volatile block = malloc(heap_bytes);
	free(block);
	mallopt(M_MMAP_THRESHOLD, 128 << 10);
	struct mallinfo2 mi = mallinfo2();
	uintptr_t top = (uintptr_t)sbrk(0);
	if (mi.arena && mi.arena < top)
		populate(top - mi.arena, top);
	/* The kernel maps 128 KiB of stack below the arguments at exec, so a
	 * smaller range below this frame is inside the stack's mapping. */
	char here;
	uintptr_t sp = (uintptr_t)&here;
	populate(sp - stack_bytes, sp);
#endif
}

/* Pages read between two looks at stop_fd: about 40 us of work, the most
 * that a connection arriving meanwhile waits. */
#define CODE_PAGES_PER_LOOK 8

struct code_walk {
	int stop_fd;
	unsigned since_look;
};

__attribute__((unused)) static bool stop_requested(struct code_walk *w)
{
	if (++w->since_look < CODE_PAGES_PER_LOOK)
		return false;
	w->since_look = 0;
	struct pollfd p = { .fd = w->stop_fd, .events = POLLIN };
	return poll(&p, 1, 0) != 0;
}

__attribute__((unused)) static int read_object_pages(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	struct code_walk *w = data;
	uintptr_t pg = (uintptr_t)getpagesize();
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_R))
			continue;
		/* Within [p_vaddr, p_vaddr + p_memsz) of a PT_LOAD segment
		 * everything is mapped and readable (RELRO stays readable). */
		uintptr_t lo = (info->dlpi_addr + ph->p_vaddr) & ~(pg - 1);
		uintptr_t hi = info->dlpi_addr + ph->p_vaddr + ph->p_memsz;
		for (uintptr_t a = lo; a < hi; a += pg) {
			(void)*(volatile const char *)a;
			if (stop_requested(w))
				return 1;
		}
	}
	return 0;
}

void prefault_code_until(int stop_fd)
{
#if defined(__SANITIZE_ADDRESS__)
	(void)stop_fd;
#else
	struct code_walk w = { .stop_fd = stop_fd, .since_look = CODE_PAGES_PER_LOOK - 1 };
	dl_iterate_phdr(read_object_pages, &w);
#endif
}
