/* mtest: Python stacks of every thread, read from outside the worker
 * (process_vm_readv), as py-spy and austin do: CPython 3.11's structures
 * on 64-bit Linux, and 3.13's as its _Py_DebugOffsets describe them. The
 * worker's plugin tells where its interpreter state and _PyRuntime are,
 * and which Python it is; other versions are not read (the worker's
 * faulthandler speaks for them: docs/watchdog.md). Read while the worker is stopped, the stacks are a
 * consistent snapshot. */
#ifndef MTEST_PYFRAMES_H
#define MTEST_PYFRAMES_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "mtest/limits.h"

struct mt_pyframe {
	char file[256];
	char func[128];
	int line;
};

struct mt_pythread {
	unsigned long native_id;	/* the kernel's thread id */
	unsigned long ident;		/* threading.get_ident() */
	int nframes;			/* innermost first */
	int truncated;
	uint64_t frame;			/* the innermost frame's address, 0 if none */
	struct mt_pyframe f[MT_FRAMES_MAX];
};

/* CPython's own RLock a thread waits for, and its owner (threading's
 * ident, 0 if free), as the RLock object says. */
struct mt_pyrlock {
	uint64_t addr, owner;
	unsigned long count;
};

/* 1 if this Python can be read: 3.11 (64-bit, or 32-bit ARM), or 3.13. */
int mt_py_supported(long hexversion);
/* Read the threads of the interpreter at `interp` in process `pid`
 * (`runtime`: its _PyRuntime, for 3.13's offsets). Returns how many were
 * read (at most max), or -1 with a reason in err. */
int mt_py_read(pid_t pid, uint64_t interp, uint64_t runtime, long hexversion,
	       struct mt_pythread *out, int max, char *err, size_t errcap);
/* The RLock the thread whose innermost frame is at `frame` waits for: an
 * RLock object (of type `rlock_type`), or a method bound to one, among the
 * frame's locals and stack, held by another thread than `self_ident`. On
 * 3.11 its lock must be the futex the thread waits on (`futex`); 3.13
 * parks each waiter on a semaphore of its own, so there the one such
 * RLock is taken. Returns 1 if found (read while the worker is stopped). */
int mt_py_rlock(pid_t pid, uint64_t runtime, long hexversion, uint64_t frame, uint64_t rlock_type,
		unsigned long futex, uint64_t self_ident, struct mt_pyrlock *out);
/* The line of byte offset `addr` in a 3.11 location table (exposed for
 * the unit tests). */
int mt_py_addr2line(const unsigned char *table, size_t len, int firstlineno, int addr);

#endif
