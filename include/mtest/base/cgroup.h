/* mtest: containment with cgroup v2 (docs/dirt.md, "Containment").
 *
 * Where the kernel has a cgroup v2 hierarchy and mtest may use a subtree
 * (its own cgroup when it is delegated, systemd's Delegate=yes; or a
 * configured directory), a run gets a cgroup of its own with one leaf per
 * lane and one for the zygote:
 *
 *   BASE/                    mtest's cgroup, or the configured one
 *     mtest-PID-self/        mtest itself, only when it had to leave BASE
 *                            (a cgroup with processes cannot hand out
 *                            controllers: the kernel's "no internal
 *                            processes" rule)
 *     mtest-PID/             the run: memory_max, memory_high, cpu_weight,
 *       zygote/              io_weight
 *       lane-1/ ... lane-N/  lane_memory_max, lane_memory_high,
 *                            memory.oom.group = 1
 *
 * A worker joins its leaf before it runs anything (it writes "0" into the
 * leaf's cgroup.procs, through a descriptor mtest gives it), so that all
 * it starts is born there: membership is read from cgroup.procs, and no
 * setsid, double fork or rewritten environment takes a process out. A
 * leaf is ended with cgroup.kill (Linux 5.14), or by SIGKILL to each
 * member where there is none.
 *
 * Nothing allocates: every file is read with read(2) into fixed buffers.
 * Every system call is checked; what fails is said in one line (why[]).
 */
#ifndef MTEST_CGROUP_H
#define MTEST_CGROUP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "mtest/limits.h"

/* Leaves: a lane each, and the zygote's (MT_CG_ZYGOTE). */
#define MT_CG_LEAVES (MT_LANES_MAX + 1)
#define MT_CG_ZYGOTE MT_LANES_MAX
/* The run's own cgroup, for mt_cgroup_mem. */
#define MT_CG_RUN (-1)

/* What the kernel and the subtree offer (mt_cgroup.have). */
#define MT_CG_KILL 1u		/* cgroup.kill */
#define MT_CG_MEMORY 2u		/* the memory controller in the run's subtree */
#define MT_CG_PEAK 4u		/* memory.peak (Linux 5.19) */
#define MT_CG_PEAK_RESET 8u	/* memory.peak reset by a write (Linux 6.12) */
#define MT_CG_CPU 16u		/* the cpu controller */
#define MT_CG_IO 32u		/* the io controller */
#define MT_CG_MOVED 64u		/* mtest moved itself to mtest-PID-self */

/* Limits of the config or the board file (bytes; -1: none; weights 0). */
struct mt_cg_limits {
	int64_t memory_max, memory_high;		/* the run's */
	int64_t lane_memory_max, lane_memory_high;	/* each lane's */
	int cpu_weight, io_weight;			/* the run's, 1..10000 */
};

struct mt_cg_leaf {
	int dir;		/* the leaf's directory, or -1 */
	int procs;		/* its cgroup.procs, for reading */
	int join;		/* its cgroup.procs, for writing ("0" or a pid) */
	int kill;		/* its cgroup.kill, or -1 */
	int killed;		/* killed once: no child is born in it since */
	uint64_t oom_kill;	/* memory.events' oom_kill as last seen */
	uint64_t oom;		/* memory.events' oom (its limit was hit) */
};

struct mt_cgroup {
	int on;				/* the run's cgroups exist */
	int lost;			/* given up on mid-run: /proc from then on */
	unsigned have;			/* MT_CG_* */
	int nleaves;			/* lanes in use */
	char mount[MT_PATH_MAX];	/* the cgroup2 mount point */
	char base[MT_PATH_MAX];		/* the subtree mtest may use */
	char run[MT_PATH_MAX];		/* BASE/mtest-PID */
	char procpath[MT_PATH_MAX];	/* the run as /proc/PID/cgroup names it */
	int run_dir;			/* its directory, or -1 */
	uint64_t run_oom;		/* the run's memory.events oom, last seen */
	struct mt_cg_limits lim;	/* as asked for */
	struct mt_cg_leaf leaf[MT_CG_LEAVES];
	char why[384];			/* why not on, or what is missing */
	char limits_why[256];		/* limits asked for and not applied, or "" */
	int stale;			/* leftover run cgroups of dead mtests ended */
};

/* Memory of a leaf (or of the run, MT_CG_RUN), in bytes; -1 unknown. */
struct mt_cg_mem {
	int64_t current, peak, max, high;
	uint64_t oom, oom_kill;		/* memory.events */
};

/* Find and make the run's cgroups. `want` is NULL or "auto" (mtest's own
 * cgroup, if it may create cgroups below it), "off", or the path of a
 * cgroup v2 directory. Returns 1 when on; 0 with why[] said otherwise (the
 * run then finds processes through /proc). Limits that cannot be applied
 * are named in limits_why[] and never stop the run. */
int mt_cgroup_open(struct mt_cgroup *cg, const char *want, const struct mt_cg_limits *lim,
		   int nlanes);
/* Are the run's processes held by its cgroups (on, and not given up)? */
static inline int mt_cgroup_held(const struct mt_cgroup *cg)
{
	return cg && cg->on && !cg->lost;
}
/* Say what the run got, in one line ("cgroup v2 at ...", or why not). */
void mt_cgroup_describe(const struct mt_cgroup *cg, char *out, size_t cap);
/* A descriptor on the leaf's cgroup.procs, open for writing: a process
 * that writes "0" there joins the leaf. -1 when off. */
int mt_cgroup_join_fd(const struct mt_cgroup *cg, int leaf);
/* fork() with the child born in the leaf (clone3's CLONE_INTO_CGROUP,
 * Linux 5.7): no migration, which waits for an RCU grace period (15 ms on
 * a quiet machine) where a write to cgroup.procs does. Returns as fork()
 * does; *born_in is 1 when the child is in the leaf, 0 when it must join
 * (cgroups off, a kernel without it, or a leaf killed once: Linux 6.18
 * kills every child born into a cgroup after its cgroup.kill, while one
 * that joins lives; then a plain fork). The child may only make
 * async-signal-safe calls, then exec or _exit: the C library knows
 * nothing of it. */
pid_t mt_cgroup_fork(const struct mt_cgroup *cg, int leaf, int *born_in);
/* Put a process into the leaf (nothing to do when it is there already).
 * Returns 1, or 0 with errno. */
int mt_cgroup_join(const struct mt_cgroup *cg, int leaf, pid_t pid);
/* The leaf's members (processes, not threads). Returns their number;
 * *more is set when some did not fit; -1 with errno on failure. */
int mt_cgroup_pids(const struct mt_cgroup *cg, int leaf, pid_t *out, int max, int *more);
/* Is the process a member of the leaf (/proc/PID/cgroup)? */
int mt_cgroup_has(const struct mt_cgroup *cg, int leaf, pid_t pid);
/* SIGKILL every member of the leaf: cgroup.kill, or each pid listed.
 * Returns how many members there were (-1: the list could not be read). */
int mt_cgroup_kill(struct mt_cgroup *cg, int leaf);
/* Memory of a leaf or of the run. Returns 1, or 0 without a memory
 * controller. */
int mt_cgroup_mem(const struct mt_cgroup *cg, int leaf, struct mt_cg_mem *m);
/* Was a process of the leaf killed by the kernel's OOM killer since the
 * last call? Then *lane_limit says whether the leaf's own limit was hit,
 * *run_limit whether the run's was (else the machine ran out). */
int mt_cgroup_oom_since(struct mt_cgroup *cg, int leaf, int *lane_limit, int *run_limit);
/* Take the leaf's OOM counters as they are now (a new worker starts). */
void mt_cgroup_oom_mark(struct mt_cgroup *cg, int leaf);
/* The end of the run: every leaf killed, emptied (a bounded wait) and
 * removed, then the run's cgroup. Returns 1, or 0 (why[] says what is
 * left). */
int mt_cgroup_close(struct mt_cgroup *cg);

/* Parsers, apart for the unit tests. */
/* The cgroup2 mount point in /proc/self/mountinfo's text; 1 if found. */
int mt_cgroup_parse_mountinfo(const char *text, char *mount, size_t cap, char *root,
			      size_t rootcap);
/* The "0::PATH" line of /proc/PID/cgroup; 1 if found. */
int mt_cgroup_parse_self(const char *text, char *path, size_t cap);
/* A "key value" file (memory.events, cgroup.events): the value of key. */
int mt_cgroup_parse_kv(const char *text, const char *key, uint64_t *out);

#endif
