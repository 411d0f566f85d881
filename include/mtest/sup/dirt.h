/* mtest: dirty state in a worker (docs/dirt.md).
 *
 * One attribution rule, on evidence only. The kernel hands out process
 * and thread ids from one cursor that only moves forward (until it wraps
 * at pid_max): the plugin reads it (the last id of /proc/loadavg) as each
 * test starts and ends, so each test owns the window of ids born while it
 * ran, (at start, at end]. A thread of the worker, or a process below the
 * worker or below mtest itself (double-forked daemons come back to mtest,
 * a child subreaper), is a test's when its id lies in that test's window,
 * or when its parent is already that test's. Still alive --leak-grace
 * after the test, and not owned by a module or session fixture whose
 * scope lives, it is that test's leak. Nothing is blamed by start time or
 * by when mtest happened to look: the test in flight is never charged with
 * an earlier one's processes, nor an earlier test with its.
 *
 * Session helpers: the worker's children alive when it has collected
 * (born at import or collection) and the processes a fixture reports. The
 * plugin looks at them just before it writes each start and done line and
 * names the dead in that line, so a death is placed within the test that
 * ran, or between tests, exactly, however mtest batches its reads.
 * Daemons that came back to mtest are watched by mtest alone (a pidfd):
 * their death is placed at the moment mtest sees it. */
#ifndef MTEST_DIRT_H
#define MTEST_DIRT_H

#include <stdint.h>
#include <sys/types.h>

#include "mtest/limits.h"
#include "mtest/base/cgroup.h"
#include "mtest/base/procfs.h"

struct mt_owned {
	pid_t pid;
	unsigned long long start;	/* for processes; 0 for threads */
};

struct mt_fixture {
	int64_t key;
	char name[64];
	char scope[16];
	int ended;
	uint32_t ended_in;		/* the test whose teardown ended it */
	int nt, np;
	struct mt_owned t[MT_FIXTURE_ITEMS];
	struct mt_owned p[MT_FIXTURE_ITEMS];
};

/* A thread or process first seen at a test's end fence. */
struct mt_cand {
	pid_t id, ppid;
	unsigned long long start;
	uint32_t slot;			/* the test it is blamed on */
	unsigned char thread;
	unsigned char reported;		/* leaked, said once */
};

/* The ids born while a test ran: (lo, hi], wrapping past pid_max. */
struct mt_window {
	uint32_t slot;
	long lo, hi;
};

struct mt_check {
	struct mt_window w;
	int64_t due_us;
};

struct mt_helper {
	pid_t pid;
	unsigned long long start;
	int pidfd;			/* -1: checked at each timer instead */
	int cmd_known;			/* read from /proc/PID/cmdline */
	int plugin;			/* the plugin reports its death */
	char fixture[64];		/* its fixture's name, "" if none */
	char cmd[160];
};

/* One leak found: which test, what. */
struct mt_leak {
	uint32_t slot;
	int nthreads, nprocs;
	struct { pid_t tid; } t[16];
	struct { pid_t pid; char cmd[96]; } p[16];
	int more_threads, more_procs;
};

/* What lives under the worker at one look. */
struct mt_seen {
	pid_t id, ppid;
	unsigned long long start;
	unsigned char thread;
};

struct mt_dirt {
	pid_t worker;
	int num;			/* the worker's number (its MTEST_WORKER) */
	pid_t spare;			/* mtest's capture helper, never a leak */
	/* Other lanes' workers and capture helpers: neither they nor what
	 * descends from them are this worker's; when `shared`, a daemon that
	 * came back to mtest is this worker's only if its MTEST_WORKER says so. */
	int nforeign, shared;
	pid_t foreign[2 * MT_LANES_MAX + 1];	/* other lanes' workers and helpers, the zygote */
	/* The run's cgroups, when they hold its processes: what lives under
	 * the worker is then its leaf's members, whoever their parent. */
	const struct mt_cgroup *cg;
	int leaf;
	int based;			/* the baseline (collected) is taken */
	long cursor;			/* the id cursor at the test in flight's start */
	int nwin, win_head;		/* ring of the worker's tests' windows: how
					   many, where the next goes */
	struct mt_window win[MT_CHECKS_MAX];
	int nfx;
	struct mt_fixture fx[MT_FIXTURES_MAX];
	int nck;
	struct mt_check ck[MT_CHECKS_MAX];
	int nhp;
	struct mt_helper hp[MT_HELPERS_MAX];
	int ncand;
	struct mt_cand cand[MT_CANDS_MAX];	/* blamed, or a fixture's moved */
	int dropped;			/* checks, candidates or helpers that did not fit */
	uint64_t scans;			/* full scans done (for the benchmark) */
	int64_t scan_us;		/* the time they took */
};

void mt_dirt_reset(struct mt_dirt *d, pid_t worker, int num);
void mt_dirt_fixture(struct mt_dirt *d, int64_t key, const char *name, const char *scope,
		     const int *tids, int nt, const int *pids, const unsigned long long *starts,
		     char (*cmds)[160], int np);
void mt_dirt_fixture_end(struct mt_dirt *d, int64_t key, uint32_t slot);
/* The worker has collected and waits for its first tests (the plugin read
 * the id cursor then): what lives now is the session's. */
void mt_dirt_baseline(struct mt_dirt *d, long cursor);
/* A test starts, and ends, with the id cursor the plugin read (-1 if it
 * could not): its window. At the end a check is due `grace` from now if
 * any id was born meanwhile (anywhere: the cursor is the system's), or if
 * it holds what a fixture left; returns 1 then. */
void mt_dirt_test_start(struct mt_dirt *d, long cursor);
int mt_dirt_test_end(struct mt_dirt *d, uint32_t slot, long cursor, int64_t grace_us,
		     int64_t now);

typedef void mt_leak_fn(void *ctx, const struct mt_leak *leak);
/* Run the checks that are due (all of them if `all`): each test that
 * leaked is reported through fn. Returns the earliest due time left, or
 * MT_NEVER. */
int64_t mt_dirt_check(struct mt_dirt *d, int64_t now, int all, mt_leak_fn *fn, void *ctx);
/* Does a check still due find anything alive? (A fence waits for it
 * rather than guess.) */
int mt_dirt_undecided(struct mt_dirt *d);

/* Helpers: the pidfds to poll; and what died. */
int mt_dirt_helper_fds(const struct mt_dirt *d, int *fds, int max);
struct mt_helper_death {
	pid_t pid;
	char fixture[64];
	char cmd[160];
	char status[48];		/* "exit 1", "SIGKILL", or "" if unknown */
};
/* Helpers that died (a pidfd poll, no wait), among those mtest watches
 * alone (all of them if `all`: the worker is gone); returns how many were
 * written to out. Also reads command lines that were not known yet. */
int mt_dirt_helpers_dead(struct mt_dirt *d, struct mt_helper_death *out, int max, int all);
/* The plugin saw this helper dead (status: a wait status or -1): 1 and
 * its description if it was watched. */
int mt_dirt_helper_gone(struct mt_dirt *d, pid_t pid, unsigned long long start, int status,
			struct mt_helper_death *out);
/* Was this process owned by a fixture whose scope has ended? (Its death
 * is then its fixture's doing.) */
int mt_dirt_fixture_ended_owns(const struct mt_dirt *d, pid_t pid);
/* The test a process is blamed on (its window, or its parent's test), or
 * MT_NONE: for the orphans a worker leaves. */
uint32_t mt_dirt_owner(const struct mt_dirt *d, const struct mt_proc *p);
/* Close every pidfd. */
void mt_dirt_close(struct mt_dirt *d);

#endif
