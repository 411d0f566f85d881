/* mtest: starting a worker, and a worker's end (src/sup.h tells how the supervisor is cut). */
#include "sup.h"

/* ---- starting a worker ---------------------------------------------------- */

static void started(struct sup *s, struct lane *l, int64_t now)
{
	lane_enter(l, MT_W_STARTING, s->collect_timeout_us > 0 ?
				     now + s->collect_timeout_us : MT_NEVER);
	/* A fork's dirt is watched once its pid is known (zyg_adopt). */
	if (!zyg_is(s, l) && !l->w.forked)
		sup_dirt_spawned(l);
}

/* Start the zygote unless it lives. Returns 1 while it lives. */
static int start_zygote(struct sup *s, int64_t now)
{
	struct lane *z = &s->z.l;
	int fd, ok;

	if (z->w.state != MT_W_NONE || z->sweep_next_us)
		return 1;
	fd = zyg_socket(s);
	if (fd < 0)
		return 0;	/* workers are spawned from now on */
	ok = sup_exec(s, z, now, fd);
	close(fd);
	if (ok)
		started(s, z, now);
	return ok;
}

/* A worker for the lane: forked from the zygote, or a new Python with
 * --spawn (or when forking fell back). Returns 1 if it started, or if
 * the lane waits for the zygote to be ready. */
int sup_spawn(struct sup *s, struct lane *l, int64_t now)
{
	if (zyg_wanted(s)) {
		if (zyg_fork(s, l, now)) {
			started(s, l, now);
			return 1;
		}
		if (start_zygote(s, now) || zyg_wanted(s))
			return zyg_wanted(s);
	}
	if (!sup_exec(s, l, now, -1))
		return 0;
	started(s, l, now);
	return 1;
}

/* The run is over: the zygote ends its session (it ran no test), within
 * a bound. Returns 1 while it lives. */
int sup_end_zygote(struct sup *s, int64_t now)
{
	struct lane *l = &s->z.l;

	if (l->w.state == MT_W_NONE)
		return l->sweep_next_us > 0;
	if (!s->z.stopping) {
		s->z.stopping = 1;
		s->z.ready = 0;
		if (l->w.state == MT_W_RUNNING) {
			mt_worker_send(&l->w, "s\n", 2);
			lane_enter(l, MT_W_STOPPING, now + MT_SESSION_END_US);
		} else if (l->w.state == MT_W_STARTING || l->w.state == MT_W_COLLECTING) {
			sup_kill_worker(s, l, now, "the run is over");
		}
		/* (stopping, killing or dead already: it ends by itself, and
		 * how, a usage error of pytest's say, is heard) */
	}
	return 1;
}

/* A fork that never came to be (zyg_fork_lost): the lane is free again. */
static void fork_lost(struct lane *l)
{
	mt_worker_close(&l->w);
	l->w.pid = -1;
	lane_enter(l, MT_W_NONE, MT_NEVER);
}

/* ---- what the concerns found ------------------------------------------------ */

/* The one place where what a concern found (struct found) becomes a
 * transition: after every event line, timer and step of a lane. */
static void lane_decide(struct sup *s, struct lane *l, int64_t now)
{
	struct found f = l->found;

	if (!f.end && f.next == MT_W_NONE)
		return;
	l->found = (struct found){ .next = MT_W_NONE };
	if (f.end) {
		sup_kill_worker(s, l, now, f.end);
		return;
	}
	lane_enter(l, f.next, f.deadline_us);
	if (f.next == MT_W_RUNNING && !zyg_is(s, l)) {
		/* Collected: what the kernel says from now on is its first
		 * test's; its first tests go, and it is watched. */
		sup_kmsg_cursor(s, l);
		sup_top_up(s, l);
		sup_idle_arm(s, l, now);
	}
}

/* Every lane's: a stop of the run wants every worker ended. */
void lanes_decide(struct sup *s, int64_t now)
{
	struct lane *l;

	FOR_ALL_LANES(s, l)
		lane_decide(s, l, now);
}

/* Each event line, and what it made a concern find. */
static void on_line(void *ctx, struct mt_worker *w, char *line, size_t len)
{
	struct sup *s = ctx;

	sup_event(s, LANE_OF(w), line, len);
	lanes_decide(s, sup_now(s));
}

/* ---- a worker's end ------------------------------------------------------ */

static void describe_status(int status, char *out, size_t cap)
{
	char scratch[16];

	if (WIFSIGNALED(status))
		snprintf(out, cap, "%s", mt_signame(WTERMSIG(status), scratch, sizeof scratch));
	else
		snprintf(out, cap, "exit %d", WEXITSTATUS(status));
}

/* Every child that ended or stopped: a lane's worker or capture helper
 * (anything else is an orphan that came back to mtest, or a worker given
 * up on: nobody's now). */
void sup_reap(void *ctx)
{
	struct sup *s = ctx;
	struct lane *l;
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG | WUNTRACED)) > 0) {
		int known = 0;

		FOR_ALL_LANES(s, l) {
			if (WIFSTOPPED(status)) {
				if (pid == l->w.pid && !l->w.reaped)
					l->w.stopped = 1;
				continue;
			}
			/* Only noted here: what the worker said before it died
			 * is still in its pipes, and is heard first (advance()). */
			if (pid == l->w.pid && !l->w.reaped) {
				l->w.status = status;
				l->w.reaped = 1;
				known = 1;
			} else if (pid == l->watch.helper && !l->watch.helper_done) {
				l->watch.helper_done = 1;
				l->watch.helper_status = WIFEXITED(status) ? WEXITSTATUS(status) :
							 128 + WTERMSIG(status);
				known = 1;
			}
		}
		if (!known && !WIFSTOPPED(status))
			zyg_reaped(s, pid, status);
	}
}

void sup_killed_reset(struct killed *k)
{
	mt_buf_init(&k->text, k->bytes, sizeof k->bytes, -1);
	k->count = 0;
}

void sup_killed_add(struct killed *k, const struct mt_proc *p)
{
	if (k->count++ < 6)
		mt_buf_printf(&k->text, "%s%s (pid %d)", k->count > 1 ? ", " : "", p->comm,
			      (int)p->pid);
}

/* What a sweep's callbacks act on. */
struct sweep_ctx {
	struct sup *s;
	struct lane *l;
};

static void on_leftover(void *ctx, const struct mt_proc *p)
{
	struct sweep_ctx *c = ctx;

	sup_orphan(c->s, c->l, p);
	sup_killed_add(&c->l->left, p);
}

static void reap_ctx(void *ctx)
{
	sup_reap(((struct sweep_ctx *)ctx)->s);
}

/* Not this lane's to kill: another lane's worker or capture helper (and
 * so what descends from them), or a daemon that came back to mtest from
 * another lane's worker (its MTEST_WORKER says whose). A daemon that
 * cleared its environment cannot be told: with other lanes alive it is
 * left to the sweep at the end of the run. */
static int other_lanes(void *ctx, const struct mt_proc *p)
{
	struct sweep_ctx *c = ctx;
	struct lane *o;
	char num[16];
	int busy = 0;

	FOR_ALL_LANES(c->s, o) {
		if (o == c->l)
			continue;
		if ((o->w.pid > 0 && !o->w.reaped && p->pid == o->w.pid) ||
		    (o->watch.helper > 0 && p->pid == o->watch.helper))
			return 1;
		busy |= o->w.state != MT_W_NONE;
	}
	if (!busy || p->ppid != getpid())
		return 0;
	if (!mt_proc_env(p->pid, "MTEST_WORKER", num, sizeof num))
		return 1;
	return atoi(num) != c->l->w.num;
}

/* Kill every process the worker left behind: setsid daemons and children
 * re-parented to mtest (a child subreaper) included. A pass now, then one
 * every MT_SWEEP_EVERY_US (a timer: the loop never sleeps) until none is
 * left; no worker starts meanwhile. */
void sup_sweep_begin(struct sup *s, struct lane *l, const char *whose, int64_t now)
{
	sup_killed_reset(&l->left);
	snprintf(l->sweep_whose, sizeof l->sweep_whose, "%s", whose);
	l->sweep_passes = 0;
	mt_procs_sweep_begin();
	sup_sweep_pass(s, l, now);
}

void sup_sweep_pass(struct sup *s, struct lane *l, int64_t now)
{
	struct sweep_ctx c = { s, l };
	int others = s->nlanes > 1 || zyg_is(s, l) || s->z.l.w.state != MT_W_NONE;
	/* The lane's cgroup leaf holds all it left, and nothing of another's. */
	int alive = mt_cgroup_held(&s->cg) ?
		    mt_procs_sweep_cgroup_pass(&s->cg, lane_leaf(s, l), on_leftover, reap_ctx, &c) :
		    -1;

	if (alive < 0)
		alive = mt_procs_sweep_pass(l->watch.helper, others ? other_lanes : NULL,
					    on_leftover, reap_ctx, &c);
	s->sweeps++;
	s->sweep_us += sup_now(s) - now;

	l->sweep_next_us = 0;
	if (alive && ++l->sweep_passes < MT_SWEEP_PASSES) {
		l->sweep_next_us = now + MT_SWEEP_EVERY_US;
		return;
	}
	if (l->left.count)
		sup_note(s, "leftovers", "%s left %d process%s behind, killed: %s%s", l->sweep_whose,
			 l->left.count, l->left.count == 1 ? "" : "es", l->left.text.p,
			 l->left.count > 6 ? ", ..." : "");
	if (alive)
		sup_note(s, "leftovers", "%d process%s of %s could not be killed", alive,
			 alive == 1 ? "" : "es", l->sweep_whose);
}

/* The last sweep, after the loop: it may wait. Every cgroup leaf, then
 * whatever else is below mtest. */
void sup_sweep(struct sup *s, struct lane *l, const char *whose)
{
	struct sweep_ctx c = { s, l };
	int alive, leaf, pass;

	sup_killed_reset(&l->left);
	mt_procs_sweep_begin();
	for (leaf = 0; mt_cgroup_held(&s->cg) && leaf < MT_CG_LEAVES; leaf++) {
		if (s->cg.leaf[leaf].dir < 0)
			continue;
		for (pass = 0; pass < MT_SWEEP_PASSES; pass++) {
			if (mt_procs_sweep_cgroup_pass(&s->cg, leaf, on_leftover, reap_ctx, &c) <= 0)
				break;
			nanosleep(&(struct timespec){ 0, MT_SWEEP_EVERY_US * 1000L }, NULL);
		}
	}
	alive = mt_procs_sweep(0, on_leftover, reap_ctx, &c);
	if (l->left.count)
		sup_note(s, "leftovers", "%s left %d process%s behind, killed: %s%s", whose,
			 l->left.count, l->left.count == 1 ? "" : "es", l->left.text.p,
			 l->left.count > 6 ? ", ..." : "");
	if (alive)
		sup_note(s, "leftovers", "%d process%s of %s could not be killed", alive,
			 alive == 1 ? "" : "es", whose);
}

/* The first line of the console tail that says why pytest refused to
 * start ("...: error: ..."), for a one-line message. */
static void refusal_line(struct lane *l, char *out, size_t cap)
{
	static char console_tail[MT_TAIL_MAX + 1];
	char *line, *next, *best = NULL;

	mt_ring_tail(&l->w.console, console_tail, sizeof console_tail);
	for (line = console_tail; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (strstr(line, "error:") || strncmp(line, "ERROR:", 6) == 0) {
			best = line;
			if (strstr(line, ": error: "))
				break;
		}
		if (!best && *line)
			best = line;
	}
	snprintf(out, cap, "%s", best ? best : "(no message)");
}

void sup_worker_dead(struct sup *s, struct lane *l)
{
	struct mt_worker *w = &l->w;
	char why[64], whose[48], line[512], oom[128];
	int by_us = w->killing, oomed, oom_kmsg;
	uint32_t settled;

	/* Whatever the worker said before dying is in the pipes: hear it. */
	mt_worker_read_events(w, on_line, s);
	mt_worker_read_console(w, s->console_fd, &s->console_logged);
	if (zyg_is(s, l) && s->z.ready) {
		/* It served: it is replaced when a lane needs a fork. */
		zyg_dead(s);
		mt_worker_close(w);
		lane_enter(l, MT_W_NONE, MT_NEVER);
		sup_sweep_begin(s, l, "the zygote", sup_now(s));
		w->pid = -1;
		return;
	}
	describe_status(w->status, why, sizeof why);
	/* Killed by the kernel in its cgroup: its verdict says so. */
	if ((oomed = sup_oom(s, l, oom, sizeof oom)))
		snprintf(why, sizeof why, "out of memory");
	snprintf(whose, sizeof whose, "%s %d (pid %d)", zyg_is(s, l) ? "the zygote, worker" :
		 "worker", w->num, (int)w->pid);

	if (s->stop == STOP_FATAL) {
		/* Said already. */
	} else if (l->cur.slot != MT_NONE) {
		/* Died in a test. A pytest.exit() is the test's doing too. */
		const char *tid = mt_run_str(&s->run, s->run.t[l->cur.slot].id);

		sup_read_output(l);
		l->capture_for_bundle = l->crash_capture[0] ? l->crash_capture : NULL;
		/* The kernel's word: was it the OOM killer's SIGKILL? (Its cgroup
		 * said so already, with the limit and the peak, when it holds it.) */
		sup_kmsg_collect(s, l);
		oom_kmsg = !oomed && !by_us && WIFSIGNALED(w->status) &&
			   WTERMSIG(w->status) == SIGKILL && mt_kmsg_killed(&l->kmsg, w->pid);
		if (oom_kmsg) {
			snprintf(why, sizeof why, "out of memory");
			snprintf(line, sizeof line, "killed by the kernel's OOM killer: %s",
				 l->kmsg.oom_line);
		}
		sup_settle(s, l, MT_V_CRASHED,
			   !l->exit_event || oomed || oom_kmsg ? why : l->exit_is_pytest_exit ?
			   "pytest.exit" : "KeyboardInterrupt",
			   oomed ? oom : oom_kmsg ? line : l->exit_event ? l->exit_msg : "", 1);
		snprintf(line, sizeof line, "crashed (%s) in %s", why, tid);
		l->capture_for_bundle = NULL;
		sup_dirt_worker_gone(s, l, line, 1);
		sup_note(s, "worker", "%s died (%s%s%s) in a test; %s", whose, why, oomed ? ": " : "",
			 oomed ? oom : "", mt_run_left(&s->run) ? "a new worker takes the rest" :
			 "no tests were left");
	} else if (w->died_in == MT_W_STARTING || w->died_in == MT_W_COLLECTING) {
		if (s->hopeless) {
			/* An initial conftest failed: nothing can be collected. */
			s->table_closed = 1;
		} else if (!by_us && WIFEXITED(w->status) &&
			   WEXITSTATUS(w->status) == MT_BOOT_NO_PYTEST) {
			sup_fatal(s, MT_EXIT_USAGE, "%s (from %s) cannot import pytest", s->o->python,
				  s->o->python_how);
		} else if (!by_us && !l->got_hello && s->nworkers + s->nzygotes == 1) {
			/* It never ran the plugin: not a Python that can run
			 * pytest (/bin/false), or one that fails as it starts. */
			sup_fatal(s, MT_EXIT_USAGE, "%s (from %s) ended (%s) before it ran mtest's "
				  "plugin: not a Python that can run pytest", s->o->python,
				  s->o->python_how, why);
		} else if (!by_us && !l->got_config && WIFEXITED(w->status) &&
			   (WEXITSTATUS(w->status) == 4 || WEXITSTATUS(w->status) == 2)) {
			refusal_line(l, line, sizeof line);
			sup_fatal(s, MT_EXIT_USAGE, "pytest refused its arguments: %s", line);
		} else if (l->collecting_id[0] && !by_us) {
			sup_collection_error(s, l, l->collecting_id, l->collecting_path, "crashed", why,
					     NULL);
			if (l->collecting_file)
				sup_ignore_path(s, l, l->collecting_path);
			sup_note(s, "worker", "%s died (%s) collecting %s; it is left out", whose, why,
				 l->collecting_id);
		} else if (!by_us) {
			sup_note(s, "worker", "%s died (%s) before it collected any test", whose, why);
		}
	} else if (!by_us && WIFEXITED(w->status) && WEXITSTATUS(w->status) == 4 &&
		   s->nworkers + s->nzygotes == 1 && s->run.ntests == 0 && s->run.nfiles_bad == 0) {
		/* pytest's usage error after it started: a path that does not
		 * exist, a node id it cannot find. */
		refusal_line(l, line, sizeof line);
		sup_fatal(s, MT_EXIT_USAGE, "pytest: %s", line);
	} else if (by_us) {
		sup_note(s, "worker", "mtest ended %s (%s)%s%s", whose, why,
			 w->kill_reason[0] ? ": " : "", w->kill_reason);
		if (l->end_cause[0]) {
			snprintf(line, sizeof line, "was ended by mtest: %s", l->end_cause);
			sup_dirt_worker_gone(s, l, line, 1);
		}
	} else if (!w->retiring && (w->qdone < w->qlen || WIFSIGNALED(w->status))) {
		sup_note(s, "worker", "%s ended (%s) between tests, with %u of its tests left", whose,
			 why, w->qlen - w->qdone);
	}
	sup_dirt_worker_gone(s, l, NULL, 0);	/* no-op after the calls above */
	l->end_cause[0] = '\0';
	if (l->crash_capture[0])
		unlink(l->crash_capture);
	l->crash_capture[0] = '\0';
	l->crash_tid = 0;
	mt_worker_close(w);
	lane_enter(l, MT_W_NONE, MT_NEVER);
	/* What it had not started goes back to the pool, for any lane. */
	if (l->idx >= 0)
		mt_plan_release(&s->plan, &s->run, l->idx);
	sup_sweep_begin(s, l, whose, sup_now(s));
	w->pid = -1;	/* never signal a pid that may be reused */

	settled = s->run.decided + s->run.nfiles_bad;
	l->deaths = settled == l->settled_at_spawn && !s->rechecking ? l->deaths + 1 : 0;
	if (l->deaths >= MT_DEATHS_WITHOUT_PROGRESS && s->stop == STOP_NONE) {
		snprintf(line, sizeof line, "%d workers in a row ended without a verdict; "
			 "the last: %s", l->deaths, why);
		sup_note(s, "worker", "%s", line);
		s->stop = STOP_NO_PROGRESS;
		s->stop_reason = "no progress";
		mt_run_settle_rest(&s->run, "no progress", line);
	}
}

/* SIGTERM to the worker's group, SIGKILL after --kill-grace. */
void sup_kill_worker(struct sup *s, struct lane *l, int64_t now, const char *why)
{
	struct mt_worker *w = &l->w;

	if (w->state == MT_W_NONE || w->state == MT_W_DEAD || w->state == MT_W_KILLING)
		return;
	if (w->forked && w->pid <= 0) {
		/* A fork not made yet: nothing to kill; if it comes, it finds
		 * its pipes closed and ends (or the last sweep ends it). */
		mt_worker_close(w);
		lane_enter(l, MT_W_NONE, MT_NEVER);
		return;
	}
	lane_enter(l, MT_W_KILLING, s->o->kill_grace_us ? now + s->o->kill_grace_us :
					  now + MT_KILL_GIVEUP_US);
	w->killing = 1;
	snprintf(w->kill_reason, sizeof w->kill_reason, "%s", why);
	if (l->watch.helper)
		sup_kill_helper(l);	/* it detaches as it dies */
	if (s->o->kill_grace_us == 0) {
		mt_worker_signal(w, SIGKILL);
		w->kill_sent = 1;
		return;
	}
	mt_worker_signal(w, SIGTERM);
}

/* ---- the lane's state machine -------------------------------------------- */

/* The lanes are static, zero already: a memset would make every page of
 * their tables resident. */
void lane_init(struct lane *l, int idx)
{
	l->idx = idx;
	l->ledger_fd = -1;
	l->active_dirty = l->restart_for = -1;
	l->dirt_next_us = MT_NEVER;
	l->idle_deadline_us = l->exit_deadline_us = l->collect_deadline_us = MT_NEVER;
	l->kmsg.fd = -1;
	l->kern.next_us = MT_NEVER;
	sup_inflight_reset(l);
	mt_worker_reset(&l->w, 0);
}

/* The one place a worker changes state, and each state's deadline is set:
 * starting and collecting, --collect-timeout (or the given one); stopping,
 * the given one; killing, the SIGKILL moment; running has its tests' and
 * the idle deadline (sup_idle_arm); dead remembers where it died. */
void lane_enter(struct lane *l, enum mt_wstate st, int64_t deadline_us)
{
	struct mt_worker *w = &l->w;

	switch (st) {
	case MT_W_STARTING:
	case MT_W_COLLECTING:
		l->collect_deadline_us = deadline_us;
		break;
	case MT_W_STOPPING:
		l->exit_deadline_us = deadline_us;
		break;
	case MT_W_KILLING:
		w->kill_at_us = deadline_us;
		break;
	case MT_W_DEAD:
		w->died_in = w->state;
		break;
	default:
		break;
	}
	w->state = st;
}

/* The event pipe ended (EOF or an error) or the control pipe broke while
 * the worker lives on: a test closed them. Nothing it does from now on
 * could be heard, so it is ended at once; its test in flight is crashed. */
void sup_channel_lost(struct sup *s, struct lane *l, int64_t now, const char *what)
{
	struct mt_worker *w = &l->w;
	char detail[MT_DETAIL_MAX];
	const char *id;

	if (zyg_fork_lost(s, l, "lost a fork request")) {
		fork_lost(l);
		return;
	}
	if (w->reaped || w->state == MT_W_NONE || w->state == MT_W_DEAD ||
	    w->state == MT_W_KILLING || mt_proc_ending(w->pid))
		return;	/* it is dying: its status will tell */
	if (l->cur.slot != MT_NONE) {
		id = mt_run_str(&s->run, s->run.t[l->cur.slot].id);
		snprintf(l->end_cause, sizeof l->end_cause, "%s %s", id,
			 strcmp(what, "event pipe closed") == 0 ? "closed its event pipe" :
			 "broke its pipes to mtest");
		snprintf(detail, sizeof detail, "the worker's %s while this test ran (a test that "
			 "closes descriptors it does not own?); mtest ended the worker", what);
		sup_read_output(l);
		sup_settle(s, l, MT_V_CRASHED, what, detail, 1);
	}
	sup_note(s, "worker", "worker %d: %s while it %s; ended", w->num, what,
		 l->end_cause[0] ? "ran a test" : "held no test");
	sup_kill_worker(s, l, now, what);
}

static void on_collect_timeout(struct sup *s, struct lane *l, int64_t now)
{
	if (zyg_fork_lost(s, l, "did not fork a worker within --collect-timeout")) {
		fork_lost(l);
		return;
	}
	if (l->collecting_id[0]) {
		sup_collection_error(s, l, l->collecting_id, l->collecting_path, "hung",
				     "collecting it took longer than --collect-timeout", NULL);
		if (l->collecting_file)
			sup_ignore_path(s, l, l->collecting_path);
		sup_note(s, "worker", "%s %d hung collecting %s; it is left out",
			 zyg_is(s, l) ? "the zygote, worker" : "worker", l->w.num, l->collecting_id);
	} else {
		sup_note(s, "worker", "%s %d did not start within --collect-timeout",
			 zyg_is(s, l) ? "the zygote, worker" : "worker", l->w.num);
	}
	l->collect_deadline_us = MT_NEVER;
	sup_kill_worker(s, l, now, "collection hung");
}

/* The worker held work and said nothing for a whole test's timeout with
 * no test in flight (a forged end, a plugin stuck between tests): its
 * stacks are not anybody's test's; it is ended, and its queue goes to the
 * next worker. */
static void on_idle_timeout(struct sup *s, struct lane *l, int64_t now)
{
	l->idle_deadline_us = MT_NEVER;
	sup_note(s, "worker", "worker %d held %u tests and said nothing for %.0f s between "
		 "tests; ended", l->w.num, l->w.qsent - l->w.qdone,
		 (double)(now - l->last_event_us) / 1e6);
	sup_kill_worker(s, l, now, "it said nothing between tests");
}

int64_t lane_deadline(const struct sup *s, const struct lane *l)
{
	const struct mt_worker *w = &l->w;
	int64_t d = MT_NEVER;

	(void)s;
#define MIN(x) do { if ((x) < d) d = (x); } while (0)
	if (w->state == MT_W_RUNNING || w->state == MT_W_STOPPING)
		MIN(l->dirt_next_us);
	switch (w->state) {
	case MT_W_STARTING:
	case MT_W_COLLECTING:
		MIN(l->collect_deadline_us);
		break;
	case MT_W_RUNNING:
		MIN(l->kern.next_us);
		if (l->watch.helper) {
			MIN(l->watch.helper_deadline_us);
		} else {
			MIN(l->cur.deadline_us);
			if (l->cur.slot != MT_NONE)
				MIN(l->watch.next_us);
		}
		if (!l->fence_waiting)
			MIN(l->idle_deadline_us);
		break;
	case MT_W_STOPPING:
		MIN(l->exit_deadline_us);
		break;
	case MT_W_KILLING:
		MIN(w->kill_at_us);
		break;
	default:
		break;
	}
	if (l->coalesce_until_us > 0)
		MIN(l->coalesce_until_us);
	if (l->sweep_next_us > 0)
		MIN(l->sweep_next_us);
#undef MIN
	return d;
}

/* SIGKILL at once (asked twice to stop); then mtest waits a last while. */
void lane_kill_now(struct lane *l, int64_t now)
{
	if (l->w.state == MT_W_KILLING && !l->w.kill_sent) {
		mt_worker_signal(&l->w, SIGKILL);
		l->w.kill_sent = 1;
		l->w.kill_at_us = now + MT_KILL_GIVEUP_US;
	}
}

void lane_timers(struct sup *s, struct lane *l, int64_t now)
{
	struct mt_worker *w = &l->w;

	if (now >= l->dirt_next_us && (w->state == MT_W_RUNNING || w->state == MT_W_STOPPING)) {
		sup_dirt_timer(s, l, now);
		lanes_decide(s, now);	/* a fence answered may retire it */
	}
	switch (w->state) {
	case MT_W_STARTING:
	case MT_W_COLLECTING:
		if (now >= l->collect_deadline_us)
			on_collect_timeout(s, l, now);
		break;
	case MT_W_RUNNING:
		if (now >= l->kern.next_us)
			sup_kmsg_poll(l, now);
		if (l->watch.helper) {
			if (now >= l->watch.helper_deadline_us) {
				sup_kill_helper(l);
				l->watch.helper_deadline_us = MT_NEVER;
			}
		} else if (now >= l->cur.deadline_us) {
			sup_test_timeout(s, l, now);
		} else if (l->cur.slot != MT_NONE && now >= l->watch.next_us) {
			sup_watch_sample(s, l, now);
		}
		if (l->cur.slot == MT_NONE && !l->fence_waiting && now >= l->idle_deadline_us)
			on_idle_timeout(s, l, now);
		break;
	case MT_W_STOPPING:
		if (now >= l->exit_deadline_us) {
			sup_note(s, "worker", "worker %d did not exit after its session%s%s; killed",
				 w->num, l->holders[0] ? ": threads alive: " : "", l->holders);
			l->exit_deadline_us = MT_NEVER;
			sup_kill_worker(s, l, now, "it did not exit after its session");
		}
		break;
	case MT_W_KILLING:
		if (now >= w->kill_at_us && !w->kill_sent) {
			lane_kill_now(l, now);
		} else if (now >= w->kill_at_us) {
			/* Stuck in the kernel (state D) past SIGKILL: stop
			 * waiting; its exit, if it comes, is reaped as nobody's. */
			sup_note(s, "worker", "worker %d (pid %d) did not die %.0f s after SIGKILL; "
				 "mtest goes on without it", w->num, (int)w->pid,
				 (double)MT_KILL_GIVEUP_US / 1e6);
			w->status = SIGKILL;	/* as if killed: WIFSIGNALED */
			w->reaped = 1;
			w->kill_at_us = MT_NEVER;
		}
		break;
	default:
		break;
	}
	if (l->coalesce_until_us > 0 && now >= l->coalesce_until_us)
		l->coalesce_until_us = 0;
	if (l->sweep_next_us > 0 && now >= l->sweep_next_us)
		sup_sweep_pass(s, l, now);
	lanes_decide(s, now);
}

/* What happened to the worker is accounted for. Returns 1 while the lane
 * is busy (a worker, or the sweep after one), 0 when it is free. */
int lane_advance(struct sup *s, struct lane *l, int64_t now)
{
	struct mt_worker *w = &l->w;

	if (w->reaped && w->state != MT_W_DEAD && w->state != MT_W_NONE) {
		/* Hear its last words in its last state, then call it dead. */
		mt_worker_read_events(w, on_line, s);
		mt_worker_read_console(w, s->console_fd, &s->console_logged);
		lane_enter(l, MT_W_DEAD, MT_NEVER);
	}
	if (l->watch.helper_done) {
		sup_capture_done(s, l, now);
		lanes_decide(s, now);
	}
	if (w->stopped && !w->reaped && w->state != MT_W_DEAD)
		sup_worker_stopped(s, l, now);
	if (w->state == MT_W_DEAD) {
		sup_worker_dead(s, l);
		lanes_decide(s, now);
	}
	if (w->state == MT_W_RUNNING && w->ended && w->qdone >= w->qlen &&
	    l->cur.slot == MT_NONE)
		/* All sent tests ran: let the session end and pytest exit. */
		lane_enter(l, MT_W_STOPPING, now + MT_DEFAULT_TIMEOUT_US);
	return w->state != MT_W_NONE || l->sweep_next_us > 0;
}

/* Each pipe write that wakes mtest costs the worker more than the write
 * itself (on a VM, an inter-processor interrupt). While tests stream by,
 * let their events gather for a moment: the event and console pipes are
 * left out of the poll until then (a timer, never a sleep: signals and
 * other pipes are heard at once, and deadlines are seconds away). Not
 * past the moment the worker is expected to wait for mtest (a fence, or
 * the end of what it was sent): that wait would be ours. */
static void coalesce(struct sup *s, struct lane *l, int64_t now)
{
	struct mt_worker *w = &l->w;
	uint32_t k = w->qdone, n = 1;
	int64_t until_wait;

	if (w->state != MT_W_RUNNING || w->ctl_len || s->stop != STOP_NONE ||
	    l->cur.slot == MT_NONE || w->ev_fd < 0 || l->test_avg_us <= 0)
		return;
	/* The tests it runs before it waits, the one in flight included. */
	while (k + 1 < w->qsent && !sup_fence_due(s, l, k) && n * l->test_avg_us < MT_COALESCE_US)
		k++, n++;
	until_wait = (int64_t)n * l->test_avg_us - l->test_avg_us / 2;
	if (until_wait < MT_COALESCE_MIN_US)
		return;
	l->coalesce_until_us = now + (until_wait < MT_COALESCE_US ? until_wait : MT_COALESCE_US);
}

/* Read the worker's events; an end of the pipe while it lives is news. */
static void read_events(struct sup *s, struct lane *l, int64_t now)
{
	struct mt_worker *w = &l->w;

	if (!mt_worker_read_events(w, on_line, s)) {
		sup_protocol_check(s, l);
		sup_channel_lost(s, l, now, w->ev_err ? "event pipe failed" : "event pipe closed");
		return;
	}
	sup_protocol_check(s, l);
	l->last_event_us = now;
	if (l->cur.slot == MT_NONE)
		sup_idle_arm(s, l, now);
}

/* The lane's descriptors for poll(): events, console, control (when
 * there is something to write), and the pidfds of helpers mtest watches. */
int lane_pollfds(struct lane *l, struct pollfd *p)
{
	struct mt_worker *w = &l->w;
	int fds[MT_HELPERS_MAX], n = 0, nh, i;

	p[n++] = (struct pollfd){ .fd = l->coalesce_until_us ? -1 : w->ev_fd, .events = POLLIN };
	p[n++] = (struct pollfd){ .fd = l->coalesce_until_us ? -1 : w->con_fd, .events = POLLIN };
	p[n++] = (struct pollfd){ .fd = w->ctl_len ? w->ctl_fd : -1, .events = POLLOUT };
	nh = w->state == MT_W_NONE ? 0 : mt_dirt_helper_fds(&l->dirt, fds, MT_HELPERS_MAX);
	for (i = 0; i < nh; i++)
		p[n++] = (struct pollfd){ .fd = fds[i], .events = POLLIN };
	return n;
}

void lane_io(struct sup *s, struct lane *l, const struct pollfd *p, int n, int64_t now)
{
	struct mt_worker *w = &l->w;
	int i, dead_helper = 0;

	if (p[0].revents) {
		read_events(s, l, now);
		coalesce(s, l, now);
	}
	if (p[1].revents)
		mt_worker_read_console(w, s->console_fd, &s->console_logged);
	if (p[2].revents)
		mt_worker_flush(w);
	if (w->ctl_broken)
		sup_channel_lost(s, l, now, "control pipe closed");
	for (i = 3; i < n; i++)
		dead_helper |= p[i].revents != 0;
	if (dead_helper)
		sup_dirt_helpers(s, l);
	lanes_decide(s, now);
}

static int lane_free(const struct lane *l)
{
	return l->w.state == MT_W_NONE && !l->sweep_next_us;
}

/* Idle lanes get work. Until the first collection is done only the first
 * lane works (it collects the whole suite, so that the table and the plan
 * exist); then the pool goes to the free lanes, longest expected first,
 * and each free lane with work starts a worker for its files. Returns 1
 * if a worker started. */
int sup_feed(struct sup *s, int64_t now)
{
	struct lane *l;
	unsigned mask = 0;
	int started = 0;

	/* A lane whose next test waited for a group: perhaps it is free now. */
	FOR_LANES(s, l)
		if (l->group_wait && l->w.state == MT_W_RUNNING) {
			sup_top_up(s, l);
			sup_idle_arm(s, l, now);
		}
	if (!s->table_closed) {
		/* The zygote collects (or, spawning, the first lane's worker). */
		if (zyg_wanted(s) && start_zygote(s, now))
			return 1;
		if (zyg_wanted(s))
			return 0;
		l = &s->lanes[0];
		if (!lane_free(l))
			return 0;
		return sup_spawn(s, l, now);
	}
	FOR_LANES(s, l)
		if (lane_free(l))
			mask |= 1u << l->idx;
	if (!mask)
		return 0;
	mt_plan_assign(&s->plan, &s->run, mask);
	if (s->o->lanes > 1)
		sup_steal(s, mask);
	FOR_LANES(s, l)
		if ((mask >> l->idx & 1) && mt_plan_count(&s->plan, &s->run, l->idx, MT_NONE))
			started |= sup_spawn(s, l, now);
	return started;
}

/* Unsent work worth a worker's start (its spawn and collection): below
 * this, a free lane stays free. */
#define STEAL_MIN_US 1000000

/* Groups of the queue's items [a, b). */
static uint32_t queue_groups(const struct sup *s, const struct lane *l, uint32_t a, uint32_t b)
{
	uint32_t g = 0, slot;

	for (; a < b; a++)
		if ((slot = l->w.map[l->w.queue[a]]) != MT_NONE)
			g |= s->plan.groups[slot];
	return g;
}

/* A steal never parts a group: the cut moves up, a whole unit at a time,
 * until what is taken shares no group with what the lane keeps. */
static uint32_t keep_groups(const struct sup *s, const struct lane *v, uint32_t cut)
{
	const struct mt_worker *w = &v->w;
	uint32_t f;

	if (!s->plan.ngroups && !s->plan.groups_over)
		return cut;
	while (cut < w->qlen &&
	       (queue_groups(s, v, cut, w->qlen) & queue_groups(s, v, w->qdone, cut))) {
		f = w->map[w->queue[cut]] != MT_NONE ? s->run.t[w->map[w->queue[cut]]].file : MT_NONE;
		do
			cut++;
		while (s->o->dist == MT_DIST_FILE && cut < w->qlen && w->map[w->queue[cut]] != MT_NONE &&
		       s->run.t[w->map[w->queue[cut]]].file == f);
	}
	return cut;
}

/* A free lane with nothing in the pool takes work from the lane with the
 * most not yet sent to its worker: whole files (single tests with --dist
 * test) from the end of that lane's queue, about half of what it has
 * unsent, always leaving it its current and next file. */
void sup_steal(struct sup *s, unsigned idle)
{
	struct lane *thief, *v, *best;
	int64_t unsent, best_us, taken;
	uint32_t k, cut, slot;

	FOR_LANES(s, thief) {
		if (!(idle >> thief->idx & 1) ||
		    mt_plan_count(&s->plan, &s->run, thief->idx, MT_NONE))
			continue;
		best = NULL;
		best_us = STEAL_MIN_US;
		FOR_LANES(s, v) {
			if (v->w.state != MT_W_RUNNING || v->w.qlen <= v->w.qsent)
				continue;
			for (unsent = 0, k = v->w.qsent; k < v->w.qlen; k++)
				if ((slot = v->w.map[v->w.queue[k]]) != MT_NONE)
					unsent += mt_plan_est(&s->plan, &s->run, slot);
			if (unsent >= best_us) {
				best = v;
				best_us = unsent;
			}
		}
		if (!best)
			continue;
		/* From the end, whole units, until half the unsent is taken. */
		for (taken = 0, cut = best->w.qlen; cut > best->w.qsent + 1 && 2 * taken < best_us;) {
			uint32_t f = best->w.map[best->w.queue[cut - 1]] != MT_NONE ?
				     s->run.t[best->w.map[best->w.queue[cut - 1]]].file : MT_NONE;

			do {
				slot = best->w.map[best->w.queue[--cut]];
				if (slot != MT_NONE)
					taken += mt_plan_est(&s->plan, &s->run, slot);
			} while (s->o->dist == MT_DIST_FILE && cut > best->w.qsent + 1 &&
				 best->w.map[best->w.queue[cut - 1]] != MT_NONE &&
				 s->run.t[best->w.map[best->w.queue[cut - 1]]].file == f);
		}
		cut = keep_groups(s, best, cut);
		if (cut == best->w.qlen)
			continue;
		for (taken = 0, k = cut; k < best->w.qlen; k++)
			if ((slot = best->w.map[best->w.queue[k]]) != MT_NONE)
				taken += mt_plan_est(&s->plan, &s->run, slot);
		for (k = cut; k < best->w.qlen; k++)
			if ((slot = best->w.map[best->w.queue[k]]) != MT_NONE)
				s->plan.lane[slot] = (uint8_t)thief->idx;
		s->plan.load_us[best->idx] -= taken;
		s->plan.load_us[thief->idx] += taken;
		best->w.qlen = cut;
		sup_top_up(s, best);	/* all sent now: its "e" goes */
	}
}
