/* mtest: dirty state in a worker (docs/dirt.md).
 *
 * Leaks: a thread or process that a test started, still alive
 * --leak-grace after the test ended, and not owned by a module or session
 * fixture whose scope lives. Threads are known by native id and attributed
 * to the test in flight when they announced themselves (the plugin) or,
 * for threads the plugin never saw and for processes, by their start time
 * (/proc/PID/stat) falling within a test's run. Processes re-parented to
 * mtest (double-forked daemons) are found among mtest's own children.
 *
 * Session helpers: a child of the worker alive across a test boundary, or
 * owned by a fixture, is watched (a pidfd where the kernel has one); its
 * death is reported at once with the test then running and its exit
 * status when it can still be read. */
#ifndef MTEST_DIRT_H
#define MTEST_DIRT_H

#include <stdint.h>
#include <sys/types.h>

#include "mtest/limits.h"

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

struct mt_check {
	uint32_t slot;
	int64_t start_us, end_us, due_us;
};

struct mt_helper {
	pid_t pid;
	unsigned long long start;
	int pidfd;			/* -1: checked at each timer instead */
	int cmd_known;			/* read from /proc/PID/cmdline */
	char cmd[160];
};

/* One leak found: which test, what. */
struct mt_leak {
	uint32_t slot;
	int nthreads, nprocs;
	struct { pid_t tid; char name[64]; } t[16];
	struct { pid_t pid; char cmd[96]; } p[16];
	int more_threads, more_procs;
};

struct mt_dirt {
	pid_t worker;
	pid_t spare;			/* mtest's capture helper, never a leak */
	long hz;
	int64_t boot_offset_us;		/* CLOCK_BOOTTIME - CLOCK_MONOTONIC */
	int nfx;
	struct mt_fixture fx[MT_FIXTURES_MAX];
	int nck;
	struct mt_check ck[MT_CHECKS_MAX];
	int nhp;
	struct mt_helper hp[MT_HELPERS_MAX];
	int nleaked;
	struct mt_owned leaked[MT_LEAKED_MAX];	/* reported once */
	int nborn;
	struct { pid_t tid; uint32_t slot; } born[MT_THREADS_MAX];
	int nkids;			/* processes first seen at a test's end */
	struct { pid_t pid; unsigned long long start; uint32_t slot; } kids[MT_KIDS_MAX];
	int dropped;			/* checks or helpers that did not fit */
	int64_t first_test_us;		/* start of this worker's first test */
};

void mt_dirt_reset(struct mt_dirt *d, pid_t worker);
/* The plugin saw a thread start while `slot` ran (MT_NONE between tests). */
void mt_dirt_thread(struct mt_dirt *d, pid_t tid, uint32_t slot);
void mt_dirt_fixture(struct mt_dirt *d, int64_t key, const char *name, const char *scope,
		     const int *tids, int nt, const int *pids, const unsigned long long *starts,
		     int np);
void mt_dirt_fixture_end(struct mt_dirt *d, int64_t key, uint32_t slot);
/* A test ended: its leak check is due after `grace`; children alive
 * across this boundary become watched helpers. */
void mt_dirt_test_end(struct mt_dirt *d, uint32_t slot, int64_t start_us, int64_t end_us,
		      int64_t grace_us, int64_t now);

typedef void mt_leak_fn(void *ctx, const struct mt_leak *leak);
/* Run the checks that are due (all of them if `all`): each test that
 * leaked is reported through fn. Returns the earliest due time left, or
 * MT_NEVER. */
int64_t mt_dirt_check(struct mt_dirt *d, int64_t now, int all, mt_leak_fn *fn, void *ctx);
/* Are there threads or processes that may yet turn out leaked? (A fence
 * waits for them rather than guess.) */
int mt_dirt_undecided(struct mt_dirt *d);

/* Helpers: the pidfds to poll; and what died. */
int mt_dirt_helper_fds(const struct mt_dirt *d, int *fds, int max);
struct mt_helper_death {
	pid_t pid;
	char cmd[160];
	char status[48];		/* "exit 1", "SIGKILL", or "unknown" */
};
/* Helpers that died; returns how many were written to out. */
int mt_dirt_helpers_dead(struct mt_dirt *d, struct mt_helper_death *out, int max);
/* Was this process owned by a fixture whose scope has ended? (Its death
 * is then its fixture's doing.) */
int mt_dirt_fixture_ended_owns(const struct mt_dirt *d, pid_t pid);
/* The test (slot) whose end first saw this process, or MT_NONE. */
uint32_t mt_dirt_born_in(const struct mt_dirt *d, pid_t pid, unsigned long long start);
/* Close every pidfd. */
void mt_dirt_close(struct mt_dirt *d);

/* The test (slot) that was running when a process that started at `start`
 * (clock ticks after boot) was born, among the windows given; used for
 * the orphans a worker leaves. MT_NONE if none. */
int64_t mt_dirt_ticks_to_us(const struct mt_dirt *d, unsigned long long start);

#endif
