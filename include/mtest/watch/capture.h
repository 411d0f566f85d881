/* mtest: evidence of a stuck or crashed worker, captured before any kill
 * signal: every thread's Python stack (pyframes.c) and native stack
 * (unwind.c), its name, and what it waits on, with a diagnosis in plain
 * words first.
 *
 * The capture runs in a helper process forked from mtest, so that the
 * unwinder's heap and any crash of it never touch the supervisor. The
 * helper stops every thread with PTRACE_SEIZE and PTRACE_INTERRUPT (if
 * the helper dies, the worker runs on), reads the stacks, detaches, and
 * then symbolises, while the worker runs again. */
#ifndef MTEST_CAPTURE_H
#define MTEST_CAPTURE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "mtest/limits.h"
#include "mtest/watch/names.h"
#include "mtest/watch/watch.h"

struct mt_capture_req {
	pid_t pid;
	unsigned long long start;	/* the worker's start time: never another's */
	uint64_t interp;		/* the worker's PyInterpreterState */
	uint64_t runtime;		/* its _PyRuntime (3.13's offsets) */
	int pytb_sig;			/* asks the worker's faulthandler for its */
	const char *pytb_path;		/* tracebacks, written here; 0: cannot */
	long hexversion;
	const struct mt_diag *diag;	/* the last diagnosis, n == 0 if none */
	const struct mt_sample *sample;
	const struct mt_names *names;
	const char *kind;		/* "DEADLOCK (likely)", "TIMEOUT", ... */
	const char *hang;		/* the diagnosis class, for a timeout */
	int64_t stalled_us;		/* without progress / running, so far */
	pid_t crash_tid;		/* the thread that crashed, or 0 */
	int crash_sig;
	const char *path;		/* where the helper writes */
	int ledger_fd;			/* the worker's lock ledger (memfd), or -1 */
	const char *ledger_off;		/* why there is none ("" if there is one) */
	uint64_t rlock_type;		/* CPython's RLock type in the worker, or 0 */
};

/* Fork the helper; returns its pid, or -1 with errno. */
pid_t mt_capture_start(const struct mt_capture_req *r);
/* Run a capture in this process (the helper's body; also for tests).
 * Returns 0 when every thread was captured, 1 for a partial capture. */
int mt_capture_run(const struct mt_capture_req *r);

/* What a finished capture file says: its first line (the diagnosis), and
 * whether the test thread waits in a join, a queue or a condition, or for
 * a lock whose holder runs, sleeps or waits on I/O (legitimate waits that
 * must run to their timeout: legit_wait 1 to 4), and whether the wait-for
 * graph makes it a certain deadlock. Returns 1 if readable. */
int mt_capture_result(const char *path, char *headline, size_t cap, int *legit_wait,
		      int *certain);
/* legit_wait's values. */
enum { MT_LEGIT_NONE = 0, MT_LEGIT_JOIN, MT_LEGIT_QUEUE, MT_LEGIT_CONDITION,
       MT_LEGIT_HOLDER_ACTIVE };

#endif
