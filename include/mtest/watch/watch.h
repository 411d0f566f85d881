/* mtest: watching a stuck test from /proc, and telling what kind of stuck
 * it is (docs/watchdog.md).
 *
 * A sample reads, per thread of the worker, its syscall and arguments
 * (/proc/PID/task/TID/syscall) and its CPU and run-queue time and time
 * slices (schedstat); per process below the worker, its state. Two samples
 * make a diagnosis: which threads are stalled in an untimed lock wait
 * (grouped by futex address), which run, sleep, or wait on I/O or a child,
 * and whether anything made progress. */
#ifndef MTEST_WATCH_H
#define MTEST_WATCH_H

#include <stdint.h>
#include <sys/types.h>

#include "mtest/limits.h"

/* What a thread is doing, from its syscall. */
enum mt_wait {
	MT_WAIT_RUN = 0,	/* on a CPU, runnable, or not in a syscall */
	MT_WAIT_LOCK,		/* untimed futex wait, process-private */
	MT_WAIT_LOCK_SHARED,	/* untimed futex wait on shared memory */
	MT_WAIT_TIMED,		/* timed wait or sleep */
	MT_WAIT_IO,		/* read, poll, select, recv, accept... untimed */
	MT_WAIT_CHILD,		/* wait4, waitid */
	MT_WAIT_SIGNAL,		/* pause, sigsuspend, untimed sigtimedwait */
	MT_WAIT_OTHER,		/* another syscall */
	MT_WAIT_COUNT
};

struct mt_tsample {
	pid_t tid;
	enum mt_wait wait;
	long nr;		/* syscall number, -1 when not in one */
	unsigned long addr;	/* futex address of a lock wait */
	uint64_t run_ns, queue_ns, slices;
};

struct mt_psample {
	pid_t pid, ppid;
	unsigned long long start;	/* to know it again (pids are reused) */
	char state;
	char comm[32];
	enum mt_wait wait;	/* of its main thread */
	uint64_t rchar, wchar;	/* I/O counters (/proc/PID/io) */
};

struct mt_sample {
	int64_t at_us;
	pid_t pid;
	int n, more;
	struct mt_tsample t[MT_THREADS_MAX];
	int np, pmore;
	struct mt_psample p[MT_CHILDREN_MAX];
	uint64_t rchar, wchar;	/* the worker's own I/O counters */
};

/* Sample the worker `pid`. Returns 1, or 0 if it is gone. */
int mt_sample_take(struct mt_sample *s, pid_t pid, int64_t now_us);
/* What a syscall line (the text of /proc/PID/task/TID/syscall) says. */
enum mt_wait mt_wait_of(const char *syscall_line, long *nr, unsigned long *addr);
const char *mt_wait_name(enum mt_wait w);

/* The kind of stuck, from two samples. */
enum mt_hang {
	MT_HANG_PROGRESS = 0,	/* something moved */
	MT_HANG_CERTAIN,	/* every thread stalled on a private lock */
	MT_HANG_LIKELY,		/* the test thread stalled; nothing else active */
	MT_HANG_CROSS_PROCESS,	/* the test thread waits on shared memory */
	MT_HANG_BLOCKED_ACTIVE,	/* stalled, while another thread runs or waits on I/O */
	MT_HANG_BUSY,		/* the test thread runs */
	MT_HANG_SLEEPING,	/* the test thread sleeps or waits with a timeout */
	MT_HANG_IO,		/* the test thread waits on I/O */
	MT_HANG_CHILD,		/* the test thread waits for a child process */
	MT_HANG_SIGNAL,		/* the test thread waits for a signal */
	MT_HANG_UNKNOWN,
	MT_HANG_COUNT
};

/* Per thread, from the newer sample with the older one. */
struct mt_tdiag {
	pid_t tid;
	enum mt_wait wait;
	unsigned long addr;
	int stalled;		/* same untimed lock wait, no CPU, no time slice */
	int cpu_pct;		/* CPU share over the interval */
	int busy_pct;		/* CPU plus run-queue share */
	int group;		/* index of its lock group, or -1 */
};

struct mt_lockgroup {
	unsigned long addr;
	int shared;
	int n;
};

struct mt_diag {
	enum mt_hang hang;
	int progress;
	int threads_changed;	/* threads came or went */
	int io_moved;		/* the worker or a child moved data */
	int64_t interval_us;
	int n;
	struct mt_tdiag t[MT_THREADS_MAX];
	int ngroups;
	struct mt_lockgroup g[MT_THREADS_MAX];
	int main_index;		/* index of the test thread in t, or -1 */
};

/* Diagnose `cur` against `prev` (same worker). The test thread is the
 * worker's main thread (tid == pid). */
void mt_diagnose(struct mt_diag *d, const struct mt_sample *prev, const struct mt_sample *cur);
const char *mt_hang_name(enum mt_hang h);

#endif
