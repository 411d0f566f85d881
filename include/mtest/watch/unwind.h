/* mtest: native stacks through libdw (elfutils). Only the capture helper
 * process uses this module: libdw allocates, and an unwinder crash must
 * not touch the supervisor (docs/watchdog.md).
 *
 * Order of use: begin (reads the process's modules, while it runs), then
 * the caller stops the threads with ptrace, then attach and one pcs() per
 * thread (while stopped), then the caller detaches, then symbol() per
 * frame (after the process runs on), then end. */
#ifndef MTEST_UNWIND_H
#define MTEST_UNWIND_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct mt_nframe {
	uint64_t pc;
	int activation;		/* the interrupted instruction, not a return address */
	char sym[128];
	uint64_t off;
	char module[96];
	char src[160];
	int line;
};

/* Which unwinder this build has ("libdw", or "none"). */
const char *mt_unwind_backend(void);
int mt_unwind_begin(pid_t pid, char *err, size_t cap);
/* The threads must be ptrace-stopped by the caller. */
int mt_unwind_attach(pid_t pid, char *err, size_t cap);
/* Up to `max` frames of a stopped thread; returns how many (0 on error). */
int mt_unwind_pcs(pid_t tid, struct mt_nframe *out, int max);
void mt_unwind_symbol(struct mt_nframe *f);
void mt_unwind_end(void);

#endif
