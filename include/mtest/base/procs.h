/* mtest: processes seen through /proc: the run's process tree, sweeps of
 * what a worker left behind, and leftovers of a dead earlier run. */
#ifndef MTEST_PROCS_H
#define MTEST_PROCS_H

#include <sys/types.h>

#include "mtest/base/cgroup.h"
#include "mtest/base/procfs.h"

/* Every process on the system, at most `max`; *more is set when some did
 * not fit. Returns the count. */
int mt_procs_scan(struct mt_proc *out, int max, int *more);
/* Mark (mark[i] = 1) the processes in `all` that descend from `root`. */
int mt_procs_mark_descendants(const struct mt_proc *all, int n, pid_t root,
			      unsigned char *mark);

typedef void mt_proc_fn(void *ctx, const struct mt_proc *p);
typedef void mt_reap_fn(void *ctx);

/* SIGKILL every descendant of this process except `spare` (and its own
 * descendants), reap through `reap`, and rescan until none is left or
 * MT_SWEEP_PASSES passes are spent. `killed` hears of each process once.
 * Returns the number of processes still alive (0 when clean). */
int mt_procs_sweep(pid_t spare, mt_proc_fn *killed, mt_reap_fn *reap, void *ctx);
/* The same in steps, for a loop that must not wait: begin, then a pass
 * (kill what is seen) every few milliseconds until it returns 0. */
void mt_procs_sweep_begin(void);
/* keep (may be NULL): 1 for a process that is not this sweep's to kill
 * (another lane's worker, or its leftover); it and what descends from it
 * are spared. */
typedef int mt_proc_keep_fn(void *ctx, const struct mt_proc *p);
int mt_procs_sweep_pass(pid_t spare, mt_proc_keep_fn *keep, mt_proc_fn *killed,
			mt_reap_fn *reap, void *ctx);

/* A pass over a cgroup leaf instead (after mt_procs_sweep_begin): each
 * member heard of once through `killed`, then all of them killed at once
 * (cgroup.kill). Returns the members still alive, or -1 when the leaf
 * cannot be read (then sweep through /proc). */
int mt_procs_sweep_cgroup_pass(struct mt_cgroup *cg, int leaf, mt_proc_fn *killed,
			       mt_reap_fn *reap, void *ctx);

/* SIGKILL processes of this user whose environment carries `var`=PID:START
 * of an mtest that is no longer alive. Returns how many were killed. */
int mt_procs_kill_stale(const char *var, mt_proc_fn *killed, void *ctx);

/* The value of our own tag: "PID:STARTTIME". */
void mt_procs_self_tag(char *out, unsigned cap);

#endif
