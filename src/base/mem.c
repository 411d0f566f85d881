/* mtest: the memory of the fixed tables (see mem.h). */
#include "mtest/base/mem.h"

#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

/* GNU ld's: the start of .bss, the end of the image. */
extern char __bss_start[], _end[];

void mt_mem_no_huge_pages(void)
{
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t from = (uintptr_t)__bss_start & ~(page - 1);
	uintptr_t to = ((uintptr_t)_end + page - 1) & ~(page - 1);

	/* EINVAL on a kernel without THP: nothing to keep off, then. */
	(void)madvise((void *)from, to - from, MADV_NOHUGEPAGE);
}
