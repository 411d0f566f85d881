/* mtest: the lock ledger a worker keeps (src/plugin/mtest_locks.py: who
 * holds which lock, since when, taken where, and who waits for which), as
 * the stack-capture helper reads it from the worker's memfd, and the
 * wait-for graph made of it and of each thread's wait (docs/watchdog.md,
 * "The lock ledger").
 *
 * The graph follows the test thread: the lock it waits for, that lock's
 * holder, the lock the holder waits for, and so on. It ends in a holder
 * that exited, in a cycle (a thread waiting for a lock it holds itself is
 * the shortest), in a holder that waits forever while no thread outside
 * the chain can act (all certain deadlocks), in a holder that runs, sleeps
 * or waits on I/O (likely at most: it may yet release), or where no holder
 * is known. */
#ifndef MTEST_LEDGER_H
#define MTEST_LEDGER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "mtest/limits.h"
#include "mtest/watch/watch.h"

#define MT_LEDGER_MAGIC "MTLEDG01"
#define MT_LEDGER_VERSION 1

/* What a slot's lock is (mtest_locks.py's KIND_*). */
enum mt_lock_kind {
	MT_LK_NONE = 0, MT_LK_LOCK, MT_LK_RLOCK, MT_LK_COND, MT_LK_SEM, MT_LK_BSEM,
	MT_LK_COUNT
};
/* A slot's flags: a plain Lock released by a thread that did not take it
 * (a signal between threads: its holder binds no one). */
#define MT_LOCK_CROSS 1u
/* A wait's flags: with a timeout; taking a Condition's lock back after
 * wait(); a semaphore's. */
#define MT_WAIT_F_TIMED 1u
#define MT_WAIT_F_RESTORE 2u
#define MT_WAIT_F_SEM 4u

/* A table, as read into the helper's memory: checked once, then read
 * field by field (never trusted: every index is bounded). */
struct mt_ledger {
	const unsigned char *p;
	size_t len;
	uint32_t nlocks, nwaits, nsites, pid;
	uint32_t untracked, sites_full, waits_full;
};

struct mt_lsite {
	int line;
	char func[57], expr[65], file[129];
};

struct mt_llock {
	uint32_t index;			/* slot + 1; 0: none */
	pid_t holder;			/* 0: free, or unknown */
	uint32_t site, made;		/* taken at, made at (site indices) */
	int64_t since_ns;		/* CLOCK_MONOTONIC */
	uint64_t addr;			/* of the Python object */
	unsigned kind, flags;
};

struct mt_lwait {
	pid_t tid;
	uint32_t lock;			/* slot + 1; 0: an untracked lock */
	int64_t since_ns;
	uint32_t site, flags;
	int64_t timeout_us;		/* -1: none */
};

/* Check a table of len bytes at p. Returns 1, or 0 with the reason. */
int mt_ledger_open(struct mt_ledger *lg, const void *p, size_t len, char *err, size_t cap);
/* A slot (index from 1), a site (from 1), the wait of a thread. Each
 * returns 1 if found. */
int mt_ledger_lock(const struct mt_ledger *lg, uint32_t index, struct mt_llock *out);
int mt_ledger_site(const struct mt_ledger *lg, uint32_t index, struct mt_lsite *out);
int mt_ledger_wait_of(const struct mt_ledger *lg, pid_t tid, struct mt_lwait *out);
/* The locks `tid` holds, up to max (slot indices). Returns how many. */
int mt_ledger_held_by(const struct mt_ledger *lg, pid_t tid, uint32_t *index, int max);
/* Locks in the table, those held, and threads waiting. */
void mt_ledger_count(const struct mt_ledger *lg, uint32_t *locks, uint32_t *held, uint32_t *waits);
const char *mt_lock_kind_name(unsigned kind);

/* One thread as the graph sees it: alive at the capture, what /proc said. */
struct mt_wfthread {
	pid_t tid;
	enum mt_wait wait;
	int stalled;			/* the same untimed lock wait in two samples */
	unsigned long addr;		/* its futex */
};

/* A waiting thread's edge: the lock it waits for and who holds it. */
struct mt_wfedge {
	pid_t waiter;
	int from_ledger;		/* else: CPython's own RLock owner */
	struct mt_lwait wait;
	struct mt_llock lock;		/* holder 0: not known */
	int holder_gone;		/* the owner is known to have exited */
};

enum mt_wf_end {
	MT_WF_NONE = 0,		/* the test thread waits for no known lock */
	MT_WF_UNKNOWN,		/* a lock whose holder is not known */
	MT_WF_SIGNAL,		/* a Lock used as a signal: its holder binds no one */
	MT_WF_TIMED,		/* a wait with a timeout on the way */
	MT_WF_MOVING,		/* a thread on the way is not stalled */
	MT_WF_ACTIVE,		/* a holder that runs, sleeps, or waits on I/O */
	MT_WF_BLOCKED,		/* a holder blocked while other threads may act */
	MT_WF_EXITED,		/* certain: the holder exited */
	MT_WF_SELF,		/* certain: a thread waits for a lock it holds */
	MT_WF_CYCLE,		/* certain: a cycle */
	MT_WF_FOREVER,		/* certain: the holder waits forever, no one else acts */
	MT_WF_COUNT
};

#define MT_WF_CHAIN_MAX 16

struct mt_wfgraph {
	int n;
	struct mt_wfedge e[MT_THREADS_MAX];
	/* From the test thread: chain[0] is it, chain[k + 1] holds the lock
	 * chain[k] waits for (edge[k]); the last is where it ends. */
	int nchain, nedge;
	pid_t chain[MT_WF_CHAIN_MAX + 1];
	int edge[MT_WF_CHAIN_MAX];
	enum mt_wf_end end;
};

/* Add the waits of the ledger's threads (those in `threads`). */
void mt_wf_from_ledger(struct mt_wfgraph *g, const struct mt_ledger *lg,
		       const struct mt_wfthread *threads, int n);
/* Add an edge (from CPython's RLock owners) unless the waiter has one. */
void mt_wf_add(struct mt_wfgraph *g, const struct mt_wfedge *e);
const struct mt_wfedge *mt_wf_edge_of(const struct mt_wfgraph *g, pid_t waiter);
/* Follow the test thread's chain; sets chain and end. */
void mt_wf_analyse(struct mt_wfgraph *g, const struct mt_wfthread *threads, int n, pid_t main_tid);
int mt_wf_certain(enum mt_wf_end end);
const char *mt_wf_end_name(enum mt_wf_end end);

#endif
