/* mtest: the supervisor's internals, shared by its files (not a public
 * header: include/mtest/sup/super.h is).
 *
 * The run (struct sup) owns the lanes, the test table, the records, the
 * plan and everything said about the run. A lane (struct lane) owns one
 * worker and all about it: its process and pipes, its state and the
 * deadline of each state, the test in flight, the watch and the capture
 * helper, its crash, its dirt, its console. Functions that act on a lane
 * take it; nothing is reached through a global. The files, by concern,
 * each calling only the ones below it (tools/sup-layers.py checks):
 *   super.c        the loop: signals, timers, lanes, the run's start and end
 *   recheck.c      --recheck: bad tests alone, twice
 *   lane.c         a lane's state machine: the one place a worker changes
 *                  state (lane_enter), from what the concerns below found
 *                  (struct found, lane_decide); starting, ending, sweeps
 *   lane_events.c  the plugin's events into a lane, and feeding it tests
 *   zygote.c       the zygote's socket, readiness and failures
 *   spawn.c        a worker's command line and environment, a spawn
 *   lane_watch.c   the watch over a stuck test, and stack captures
 *   lane_dirt.c    leaks, dead helpers, dirty events, restarts
 *   lane_kmsg.c    the kernel's log lines and taint flags of a test, markers
 *   verdicts.c     verdicts, bundles, notes, rechecks' results; a stop
 * A concern never changes a worker's state: it records what it found in
 * the lane (lane_want, lane_want_end) and returns. (events.c, worker.c and
 * dirt.c beside them are the parser, the process and the dirt model they
 * use.)
 */
#ifndef MTEST_SUP_H
#define MTEST_SUP_H

#include "mtest/sup/super.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mtest/base/cgroup.h"
#include "mtest/run/bundle.h"
#include "mtest/watch/capture.h"
#include "mtest/sup/dirt.h"
#include "mtest/base/clock.h"
#include "mtest/sup/events.h"
#include "mtest/base/fsx.h"
#include "mtest/base/heapcheck.h"
#include "mtest/base/kmsg.h"
#include "mtest/base/msg.h"
#include "mtest/base/notify.h"
#include "mtest/sup/plugin.h"
#include "mtest/base/procs.h"
#include "mtest/led/leds.h"
#include "mtest/run/junit.h"
#include "mtest/run/lava.h"
#include "mtest/run/progress.h"
#include "mtest/run/records.h"
#include "mtest/run/run.h"
#include "mtest/state/quarantine.h"
#include "mtest/state/runstate.h"
#include "mtest/state/statedir.h"
#include "mtest/run/summary.h"
#include "mtest/run/verdict.h"
#include "mtest/watch/watch.h"
#include "mtest/sup/worker.h"
#include "mtest/plan/durations.h"
#include "mtest/plan/plan.h"
#include "mtest/plan/select.h"

#define RUN_TAG_VAR "MTEST_RUN"

/* Why the run stops before its tests are done. */
enum stop {
	STOP_NONE = 0,
	STOP_INTERRUPTED,	/* SIGINT, SIGTERM, SIGHUP */
	STOP_RUN_TIMEOUT,
	STOP_NO_PROGRESS,	/* workers keep dying without a verdict */
	STOP_FATAL,		/* a usage or internal error */
	STOP_BUDGET,		/* --budget's time is up: the rest as planned */
	STOP_FAIL_FAST,		/* --fail-fast: a test failed */
};

/* The test a worker is running. */
struct inflight {
	uint32_t slot;		/* MT_NONE when idle */
	const char *started;	/* "clean", "dirty" or "restarted" */
	int started_event;	/* the dirty event's id, or 0 */
	int64_t start_us, start_wall_us, deadline_us, timeout_us;
	int64_t stamp_start_us, stamp_end_us;	/* the worker's stamps, on sup_now()'s clock; -1 */
	int64_t mem_kib;	/* its peak memory, as the plugin measured it; -1 */
	struct mt_phases ph;
	char crash[MT_DETAIL_MAX];
	char tb[MT_TBTAIL_MAX];
	char fail[MT_FAILBUF_MAX];
	struct mt_buf fb;
};

/* Why a capture was started, and so what its end means. */
enum capture_for {
	CAPTURE_NONE = 0,
	CAPTURE_DEADLOCK,	/* a certain deadlock: end the test */
	CAPTURE_LIKELY,		/* a likely one: keep the evidence, wait */
	CAPTURE_STALLED,	/* the test thread stalled beside activity: the
				   wait-for graph may find a certain deadlock */
	CAPTURE_TIMEOUT,	/* the test's timeout: end it */
	CAPTURE_AFTER,		/* --capture-after: evidence only */
	CAPTURE_CRASH,		/* stopped by its crash handler: then SIGCONT */
};

/* The watch over the test in flight (docs/watchdog.md). */
struct watch {
	struct mt_sample sample[2];
	int newest;			/* index of the newest sample */
	int samples;			/* taken for this test */
	int64_t next_us;		/* next sample, MT_NEVER when idle */
	struct mt_diag diag;
	int have_diag;
	int64_t stall_since_us;		/* 0 unless deadlocked so far */
	int likely_captured, legit_wait, after_captured, timed_out;
	int64_t main_since_us;		/* the test thread stalled since, 0 if not */
	int probed;			/* a STALLED capture of this stall was taken */
	uint32_t slot;			/* the test a capture is for */

	pid_t helper;			/* capture in progress, or 0 */
	enum capture_for why;
	int64_t helper_deadline_us;
	int helper_status;
	int helper_done;
	char path[MT_PATH_MAX];		/* the capture being written */
	char pytb[MT_PATH_MAX];		/* the worker's faulthandler file */
	char kept[MT_PATH_MAX];		/* the last finished one */
	char headline[MT_DETAIL_MAX];
};

/* The kernel's word on the lane's test (lane_kmsg.c, docs/box.md): its
 * log from a cursor taken when the previous test ended (or the worker
 * became ready), so that a line a test makes at once is not missed; the
 * taint flags then and at its end. */
struct kern {
	int taken;			/* read for the test that ended */
	int taint_known;
	unsigned long taint_start, taint_end;
	int64_t next_us;		/* the next read while a test runs */
	int64_t until_us;		/* the worker's moment of the test's end, or MT_NEVER */
	int others;			/* other lanes ran tests meanwhile */
	int start_marked;		/* its start marker was written */
	char taint[512];		/* what the test brought, decoded */
	char summary[MT_KMSG_LINE_MAX + 32];	/* "warning: WARNING: CPU: ..." */
	char head[512];			/* the bundle's first words on it */
};

/* Processes killed by a sweep, named in one note. */
struct killed {
	struct mt_buf text;
	char bytes[MT_EVENT_TEXT_MAX];
	int count;
};

/* A test that --recheck runs alone, twice. */
struct recheck {
	uint32_t slot;
	unsigned char v[2];		/* the two verdicts, MT_V_NONE until known */
};

/* What a concern (events, dirt, watch, verdicts, the zygote) found that
 * the lane's state machine must act on: they record it here and return;
 * lane.c's lane_decide() makes the transition. Only lane.c changes a
 * worker's state. */
struct found {
	enum mt_wstate next;		/* MT_W_NONE: no transition */
	int64_t deadline_us;		/* the next state's */
	const char *end;		/* end the worker, and why (outranks next) */
};

/* One worker and all about it. */
struct lane {
	int idx;			/* 0, 1, ...; -1: the zygote's */
	uint32_t collection;		/* its worker's collection, for duplicate ids */
	struct mt_worker w;
	struct inflight cur;
	struct watch watch;
	struct mt_names names;
	struct mt_fingerprint fp;	/* of its worker: the bundles' header */
	uint64_t interp;		/* the worker's PyInterpreterState */
	uint64_t runtime;		/* its _PyRuntime */
	int pytb_sig;			/* its faulthandler's signal, or 0 */
	long hexversion;
	int ledger_fd;			/* its lock ledger (our own descriptor), or -1 */
	char ledger_off[160];		/* why it has none */
	uint64_t rlock_type;		/* CPython's RLock type in it, or 0 */
	const char *capture_for_bundle;	/* stacks to put in the next bundle */

	struct mt_dirt dirt;		/* leaks and helpers of its worker */
	int64_t dirt_next_us;		/* next leak check or helper poll */
	struct killed left;		/* what its sweep killed */
	int active_dirty;		/* unresolved event of this worker, or -1 */
	int restart_for;		/* the event the last worker retired for, or -1 */
	int fence_waiting;		/* a fence waits for leak checks */
	int group_wait;			/* its next test waits for a group another lane holds */
	int paused;			/* SIGSTOP sent at a pause: 1 its worker, 2 its capture helper */
	char end_cause[MT_ID_MAX + 64];	/* why mtest ended the worker: "X hung" */
	struct found found;		/* what a concern found: the state machine acts */
	struct mt_kmsg kmsg;		/* its reader of the kernel's log */
	struct kern kern;
	int ndeaths;			/* helpers' deaths waiting for a boundary */
	struct {
		struct mt_helper_death d;
		char during[MT_ID_MAX + 32];
	} helper_deaths[MT_HELPERS_MAX];

	pid_t crash_tid;		/* the worker's crash handler spoke */
	int crash_sig;
	char crash_capture[MT_PATH_MAX];

	int deaths;			/* in a row, without a new verdict */
	uint32_t settled_at_spawn;
	int got_config;			/* the worker's pytest configured */
	int got_hello;			/* the worker's plugin said hello */
	int recollect;			/* collection aborted: collect again */
	int exit_event;			/* the worker reported pytest.exit */
	int exit_is_pytest_exit;	/* (else a KeyboardInterrupt) */
	char exit_msg[256];
	char holders[MT_EVENT_TEXT_MAX];	/* threads keeping it alive */
	int64_t exit_deadline_us;	/* for a worker that should exit */
	int64_t idle_deadline_us;	/* for one that holds work between tests */
	int64_t last_event_us;		/* when the worker last said something */
	int64_t coalesce_until_us;	/* events gather until then; 0: off */
	int64_t test_avg_us;		/* its recent tests' mean duration; 0: none yet */
	int64_t sweep_next_us;		/* the next sweep pass; 0: no sweep */
	int sweep_passes;
	char sweep_whose[48];
	char collecting_id[MT_ID_MAX + 32];
	int collecting_file;		/* a file or directory (else: pytest's hooks) */
	char collecting_path[MT_PATH_MAX];
	int64_t collect_deadline_us;
};

/* The zygote (zygote.c): a worker that collects the suite once and then
 * only forks workers for the lanes. Its process, pipes and collection are
 * a lane's (index -1); the rest is here. */
struct zygote {
	struct lane l;
	int use;			/* workers are forked (not --spawn, no fallback) */
	int sock;			/* our end of its fork socket, or -1 */
	int ready;			/* collected, and forking is safe */
	int fails;			/* in a row: deaths, hangs, lost requests */
	int stopping;			/* asked to end with the run */
	uint32_t forks;			/* workers forked */
};

/* The run. */
struct sup {
	const struct mt_opts *o;
	struct mt_statedir sd;
	struct mt_run run;
	struct mt_records rec;
	struct mt_progress prog;
	struct mt_notes notes;
	struct mt_dirties dirties;
	struct mt_event ev;		/* one event parsed at a time */
	struct mt_plan plan;		/* which lane runs which test */
	struct mt_history hist;		/* what earlier runs said (durations.json) */
	struct mt_quarantine quar;	/* flaky tests (quarantine.json) */
	struct mt_lava lava;		/* --lava: the open test set */
	struct mt_leds leds;		/* the board's LEDs, when the run drives them */
	struct mt_notify notify;	/* systemd: READY, the watchdog's pings */
	struct mt_kmsg_marks marks;	/* markers in the kernel's log, as root */
	struct mt_cgroup cg;		/* the run's cgroups, when on (docs/dirt.md) */
	uint64_t sweeps;		/* sweep passes, and their time (make bench) */
	int64_t sweep_us;
	char containment[512];		/* what holds the run's processes, said once */
	int quar_damaged;
	struct mt_selection sel;	/* what --tier, --shard, --budget left out */
	int hist_damaged;		/* durations.json was moved aside */
	int fail_fast_due;		/* a bad verdict under --fail-fast */
	int budget_deadline;		/* run_deadline_us is --budget's */
	int state_err;			/* state.json could not be written */
	uint32_t resumed_verdicts;	/* verdicts a resumed run took back */
	int fix_torn;			/* the journal it resumes ended torn */
	uint32_t fix_dropped, fix_bad;	/* the stop's records taken back; junk */
	int nlanes;
	struct lane lanes[MT_LANES_MAX];
	struct zygote z;
	int nzygotes;			/* zygotes started (all worker 0) */
	uint32_t ncollections;		/* workers and zygotes started: each collects once */
	struct {
		pid_t pid;
		int status;
	} unclaimed[8];			/* forked workers reaped before their pid was known */
	char python[64], pytest[64];	/* as the workers said */
	char kernel[256], machine[64], host[128];
	int ncaptures;

	int rechecking;			/* the main run is over: rechecks */
	int nrc, rc_index, rc_attempt;
	int rc_waiting;			/* a recheck worker owes a result */
	struct recheck rc[MT_RECHECKS_MAX];
	char preload[MT_PATH_MAX];	/* the crash handler, "" if not found */

	int sigfd;
	int console_fd;
	uint64_t console_logged;
	int nworkers;
	enum stop stop;
	const char *stop_reason;	/* not_run reason for the rest */
	int exit_code;			/* set by a fatal stop */
	char fatal[1024];
	int table_closed;		/* a collection finished */
	uint32_t collected, deselected;
	int64_t start_us, start_wall_us, run_deadline_us;
	int64_t paused_us;		/* how long the run was paused, all told (SIGTSTP) */
	int published;			/* last-run and state.json say it runs */
	int pauses;
	int64_t suite_timeout_us;	/* pytest-timeout's setting, -1 if none */
	/* As --timeout-scale (or the config's, or the board's) makes them. */
	int64_t collect_timeout_us, deadlock_after_us, likely_after_us;
	int hopeless;			/* an initial conftest failed */
	char item_id[MT_ID_MAX + 32];	/* an item's id, made unique */
	int dup_noted;
	int neutral_noted;
	uint32_t ignore[MT_IGNORES_MAX];	/* arena offsets of paths */
	int nignores;
	char rootdir[MT_PATH_MAX];
	char run_tag[64];

	char *argv[MT_ARGV_MAX + 1];	/* spawning's scratch */
	char argbytes[MT_ARGV_BYTES];
	char *envp[MT_ENV_MAX + 1];
	char envbytes[MT_ENV_BYTES];
};

/* The supervisor's clock: CLOCK_MONOTONIC less the time the run was
 * paused (SIGTSTP, super.c), so that every deadline waits out a pause.
 * (The kernel's log and the workers' stamps are set against the real one.) */
static inline int64_t sup_now(const struct sup *s)
{
	return mt_now_us() - s->paused_us;
}

#define LANE_OF(wp) ((struct lane *)((char *)(wp) - offsetof(struct lane, w)))
#define FOR_LANES(s, l) for ((l) = (s)->lanes; (l) < (s)->lanes + (s)->nlanes; (l)++)
/* Every lane, then the zygote's. */
#define FOR_ALL_LANES(s, l) for ((l) = (s)->lanes; (l); (l) = lane_after((s), (l)))

static inline struct lane *lane_after(struct sup *s, struct lane *l)
{
	if (l == &s->z.l)
		return NULL;
	return ++l == s->lanes + s->nlanes ? &s->z.l : l;
}

/* Is this the zygote's lane? Are workers forked (not --spawn, no fallback)? */
static inline int zyg_is(const struct sup *s, const struct lane *l)
{
	return l == &s->z.l;
}

static inline int zyg_wanted(const struct sup *s)
{
	return s->z.use;
}

/* The lane's cgroup leaf (include/mtest/base/cgroup.h). */
static inline int lane_leaf(const struct sup *s, const struct lane *l)
{
	return zyg_is(s, l) ? MT_CG_ZYGOTE : l->idx;
}

/* A concern's finding, for lane_decide (lane.c). */
static inline void lane_want(struct lane *l, enum mt_wstate st, int64_t deadline_us)
{
	l->found.next = st;
	l->found.deadline_us = deadline_us;
}

static inline void lane_want_end(struct lane *l, const char *why)
{
	if (!l->found.end)
		l->found.end = why;
}

/* verdicts.c */
void sup_note(struct sup *s, const char *what, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void sup_fatal(struct sup *s, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void sup_on_verdict(void *ctx, struct mt_run *r, uint32_t slot, const struct mt_vinfo *v);
void sup_bundle(struct sup *s, struct lane *l, const char *id, struct mt_vinfo *v,
		const char *failure, int with_inflight_output, char *name, size_t cap);
void sup_read_output(struct lane *l);
void sup_inflight_reset(struct lane *l);
void sup_keep_capture(struct sup *s, struct lane *l, const char *id, struct mt_vinfo *v,
		      char *name, size_t cap);
void sup_settle(struct sup *s, struct lane *l, enum mt_verdict verdict, const char *reason,
		const char *detail, int with_output);
void sup_stop(struct sup *s, enum stop why, const char *reason, int64_t now);
void sup_recheck_result(struct sup *s, const struct mt_vinfo *v);
int sup_oom(struct sup *s, struct lane *l, char *detail, size_t cap);

/* lane.c */
#define LANE_POLLFDS (3 + MT_HELPERS_MAX)	/* a lane's descriptors in poll() at most */
void lane_init(struct lane *l, int idx);
void lane_enter(struct lane *l, enum mt_wstate st, int64_t deadline_us);
int64_t lane_deadline(const struct sup *s, const struct lane *l);
void lane_timers(struct sup *s, struct lane *l, int64_t now);
int lane_advance(struct sup *s, struct lane *l, int64_t now);
int lane_pollfds(struct lane *l, struct pollfd *p);
void lane_io(struct sup *s, struct lane *l, const struct pollfd *p, int n, int64_t now);
void lane_kill_now(struct lane *l, int64_t now);
int sup_feed(struct sup *s, int64_t now);
void sup_steal(struct sup *s, unsigned idle);
void sup_kill_worker(struct sup *s, struct lane *l, int64_t now, const char *why);
int sup_spawn(struct sup *s, struct lane *l, int64_t now);
int sup_end_zygote(struct sup *s, int64_t now);
void lanes_decide(struct sup *s, int64_t now);
void sup_reap(void *ctx);
void sup_killed_reset(struct killed *k);
void sup_killed_add(struct killed *k, const struct mt_proc *p);
void sup_sweep(struct sup *s, struct lane *l, const char *whose);
void sup_sweep_begin(struct sup *s, struct lane *l, const char *whose, int64_t now);
void sup_sweep_pass(struct sup *s, struct lane *l, int64_t now);
void sup_worker_dead(struct sup *s, struct lane *l);
void sup_channel_lost(struct sup *s, struct lane *l, int64_t now, const char *what);

/* spawn.c */
void sup_worker_prepare(struct sup *s, struct lane *l, int64_t now);
int sup_exec(struct sup *s, struct lane *l, int64_t now, int zygote_fd);
int sup_ignored(struct sup *s, const char *path);
void sup_contain(struct sup *s, struct lane *l);

/* lane_events.c */
uint32_t sup_lane_groups(const struct sup *s, const struct lane *l);
void sup_top_up(struct sup *s, struct lane *l);
int sup_fence_due(struct sup *s, struct lane *l, uint32_t k);
void sup_ignore_path(struct sup *s, struct lane *l, const char *path);
void sup_event(struct sup *s, struct lane *l, char *line, size_t len);
void sup_protocol_check(struct sup *s, struct lane *l);
void sup_idle_arm(struct sup *s, struct lane *l, int64_t now);
void sup_collection_error(struct sup *s, struct lane *l, const char *id, const char *path,
			  const char *reason, const char *detail, const char *text);

/* lane_watch.c */
void sup_ledger_open(struct sup *s, struct lane *l, const struct mt_event *e);
void sup_ledger_close(struct lane *l);
void sup_continue(struct lane *l);
void sup_kill_helper(struct lane *l);
int64_t sup_sample_every(const struct sup *s);
void sup_watch_reset(const struct sup *s, struct lane *l, int64_t start_us);
const char *sup_timeout_reason(const struct lane *l);
void sup_capture_begin(struct sup *s, struct lane *l, enum capture_for why, const char *kind,
		       const char *hang, int64_t now);
void sup_finish_hung(struct sup *s, struct lane *l, const char *reason, int64_t now);
void sup_capture_done(struct sup *s, struct lane *l, int64_t now);
void sup_watch_sample(struct sup *s, struct lane *l, int64_t now);
void sup_worker_stopped(struct sup *s, struct lane *l, int64_t now);

/* leds.c */
int sup_leds_open(struct sup *s);
void sup_leds_show(struct sup *s, enum mt_led_code c);
void sup_test_timeout(struct sup *s, struct lane *l, int64_t now);

/* lane_dirt.c */
void sup_dirt_spawned(struct lane *l);
void sup_dirt_test_start(struct sup *s, struct lane *l);
void sup_dirt_baseline(struct sup *s, struct lane *l, long cursor);
void sup_dirt_test_end(struct sup *s, struct lane *l, uint32_t slot, long cursor, int64_t now);
void sup_dirt_timer(struct sup *s, struct lane *l, int64_t now);
void sup_dirt_helpers(struct sup *s, struct lane *l);
void sup_dirt_gone(struct sup *s, struct lane *l, const struct mt_event *e, uint32_t during);
void sup_dirt_worker_gone(struct sup *s, struct lane *l, const char *why, int hung_or_crashed);
int sup_dirty_event(struct sup *s, struct lane *l, int show, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void sup_fence(struct sup *s, struct lane *l);
void sup_fence_answer(struct sup *s, struct lane *l);
int sup_fence_every_test(const struct sup *s);
void sup_orphan(struct sup *s, struct lane *l, const struct mt_proc *p);

/* lane_kmsg.c */
void sup_kmsg_cursor(struct sup *s, struct lane *l);
void sup_kmsg_start(struct sup *s, struct lane *l, const char *id, int64_t mono_us, int64_t now);
void sup_kmsg_poll(struct lane *l, int64_t now);
void sup_kmsg_collect(struct sup *s, struct lane *l);
void sup_kmsg_end(struct sup *s, struct lane *l, const char *id, const char *verdict, int64_t now);
int sup_kmsg_said(const struct lane *l);

/* zygote.c */
void zyg_init(struct sup *s);
int zyg_socket(struct sup *s);
int zyg_fork(struct sup *s, struct lane *l, int64_t now);
void zyg_said(struct sup *s, const struct mt_event *e, int64_t now);
void zyg_forked(struct sup *s, const struct mt_event *e);
void zyg_adopt(struct sup *s, struct lane *l, pid_t pid);
int zyg_fork_lost(struct sup *s, struct lane *l, const char *why);
void zyg_dead(struct sup *s);
void zyg_reaped(struct sup *s, pid_t pid, int status);

/* resume.c */
int sup_resume_journal(struct sup *s);
void sup_state(struct sup *s, const char *status, int code);

/* recheck.c */
int sup_recheck_next(struct sup *s, int64_t now);

#endif
