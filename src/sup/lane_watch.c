/* mtest: the watch over a stuck test, and stack captures (src/sup.h tells how the supervisor is cut). */
#include "sup.h"

#include <sys/stat.h>

#include "mtest/watch/pyframes.h"

/* ---- the worker's lock ledger --------------------------------------------- */

/* The plugin said where its lock ledger is (a memfd of the worker's): our
 * own descriptor to it, opened through /proc, so that the capture helper
 * reads it while the worker stands still, or says why there is none. */
void sup_ledger_open(struct sup *s, struct lane *l, const struct mt_event *e)
{
	char path[64];
	struct stat st;
	int fd;

	sup_ledger_close(l);
	l->rlock_type = e->rlock;
	if (e->ledger < 0 || e->ledger > 1 << 20) {
		snprintf(l->ledger_off, sizeof l->ledger_off, "%s%s",
			 !s->o->lock_ledger ? "off (--no-lock-ledger or the config file)" :
			 e->text[0] ? "not kept: " : "not kept by the plugin", e->text);
		return;
	}
	snprintf(path, sizeof path, "/proc/%d/fd/%d", (int)l->w.pid, (int)e->ledger);
	fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(l->ledger_off, sizeof l->ledger_off, "cannot open the worker's ledger "
			 "(%s): %s", path, fd < 0 ? mt_strerror(errno) : "not a file");
		if (fd >= 0)
			close(fd);
		return;
	}
	l->ledger_fd = fd;
}

void sup_ledger_close(struct lane *l)
{
	if (l->ledger_fd >= 0)
		close(l->ledger_fd);
	l->ledger_fd = -1;
	l->ledger_off[0] = '\0';
}

/* ---- the watch over a stuck test, and captures ------------------------ */

/* Let a worker stopped by its crash handler go on (to die of its signal).
 * Never to a pid that was reaped: it may be someone else's now. */
void sup_continue(struct lane *l)
{
	if (l->w.pid > 0 && !l->w.reaped && l->w.state != MT_W_DEAD && l->w.state != MT_W_NONE)
		kill(l->w.pid, SIGCONT);
}

/* Stop the capture helper (its tracees run on), unless it ended already:
 * then its pid is not its own any more. */
void sup_kill_helper(struct lane *l)
{
	if (l->watch.helper > 0 && !l->watch.helper_done)
		kill(l->watch.helper, SIGKILL);
}

int64_t sup_sample_every(const struct sup *s)
{
	int64_t every = MT_SAMPLE_EVERY_US, half = s->deadlock_after_us / 2;

	if (half > 0 && half < every)
		every = half < 100000 ? 100000 : half;
	return every;
}

/* The first sample of a test: after MT_WATCH_AFTER_US, or a quarter of
 * --deadlock-after if that is shorter (at least 0.1 s), so that a quick
 * --deadlock-after also sees a stall sooner. */
static int64_t watch_after(const struct sup *s)
{
	int64_t quarter = s->o->deadlock_after_us / 4;

	if (quarter <= 0 || quarter >= MT_WATCH_AFTER_US)
		return MT_WATCH_AFTER_US;
	return quarter < 100000 ? 100000 : quarter;
}

void sup_watch_reset(const struct sup *s, struct lane *l, int64_t start_us)
{
	struct watch *wt = &l->watch;

	wt->samples = wt->have_diag = 0;
	wt->stall_since_us = 0;
	wt->likely_captured = wt->legit_wait = wt->after_captured = 0;
	wt->main_since_us = 0;
	wt->probed = 0;
	wt->timed_out = 0;
	wt->kept[0] = wt->headline[0] = '\0';
	wt->next_us = start_us == MT_NEVER ? MT_NEVER : start_us + watch_after(s);
}

static const char *const legit_reasons[] = {
	NULL, "waiting in a join", "waiting on a queue", "waiting on a condition",
};

/* The reason of a test that ran to its timeout: what it was doing. */
const char * sup_timeout_reason(const struct lane *l)
{
	const struct watch *wt = &l->watch;

	if (!wt->have_diag)
		return "timeout";
	switch (wt->diag.hang) {
	case MT_HANG_PROGRESS:
	case MT_HANG_UNKNOWN:
		return "timeout";
	case MT_HANG_LIKELY:
		/* A join, a queue or a condition that never ended: not called
		 * a deadlock, for another thread might have ended it. */
		if (wt->legit_wait > 0 && wt->legit_wait < 4)
			return legit_reasons[wt->legit_wait];
		return mt_hang_name(wt->diag.hang);
	default:
		return mt_hang_name(wt->diag.hang);
	}
}

void sup_capture_begin(struct sup *s, struct lane *l, enum capture_for why, const char *kind,
		       const char *hang, int64_t now)
{
	struct watch *wt = &l->watch;
	struct mt_capture_req r = { 0 };
	pid_t pid;

	if (wt->helper)
		return;
	/* The held run folder: the capture helper writes it. */
	snprintf(wt->path, sizeof wt->path, "%s/failures/.capture-%d.txt", s->sd.run_at,
		 ++s->ncaptures);
	r.pid = l->w.pid;
	r.start = l->w.start;
	r.interp = l->interp;
	r.runtime = l->runtime;
	r.pytb_sig = l->pytb_sig;
	snprintf(wt->pytb, sizeof wt->pytb, "%s/failures/.pytb-%d", s->sd.run_at, l->w.num);
	r.pytb_path = wt->pytb;
	r.hexversion = l->hexversion;
	r.diag = wt->have_diag ? &wt->diag : NULL;
	r.sample = wt->samples ? &wt->sample[wt->newest] : NULL;
	r.names = &l->names;
	r.kind = kind;
	r.hang = hang;
	r.stalled_us = why == CAPTURE_DEADLOCK || why == CAPTURE_LIKELY ? now - wt->stall_since_us :
		       why == CAPTURE_STALLED ? now - wt->main_since_us : now - l->cur.start_us;
	r.crash_tid = l->crash_tid;
	r.crash_sig = l->crash_sig;
	r.path = wt->path;
	r.ledger_fd = l->ledger_fd;
	r.ledger_off = l->ledger_off;
	r.rlock_type = l->rlock_type;
	pid = mt_capture_start(&r);
	if (pid < 0) {
		sup_note(s, "capture", "cannot start the stack capture: %s", mt_strerror(errno));
		snprintf(wt->headline, sizeof wt->headline, "%s (no stacks: cannot fork)", kind);
		wt->path[0] = '\0';
		wt->why = why;
		wt->helper_done = 1;
		wt->helper_status = -1;
		return;
	}
	wt->helper = pid;
	wt->why = why;
	wt->slot = l->cur.slot;
	wt->helper_done = 0;
	wt->helper_deadline_us = now + MT_CAPTURE_TIMEOUT_US;
}

/* End the test in flight as hung, with the evidence kept so far. */
void sup_finish_hung(struct sup *s, struct lane *l, const char *reason, int64_t now)
{
	struct watch *wt = &l->watch;

	sup_read_output(l);	/* before the kill takes it */
	snprintf(l->end_cause, sizeof l->end_cause, "%s hung",
		 mt_run_str(&s->run, s->run.t[l->cur.slot].id));
	l->capture_for_bundle = wt->kept[0] ? wt->kept : NULL;
	sup_settle(s, l, MT_V_HUNG, reason, wt->headline, 1);
	l->capture_for_bundle = NULL;
	if (wt->kept[0])
		unlink(wt->kept);
	wt->kept[0] = '\0';
	lane_want_end(l, "its test hung");
	(void)now;
}

void sup_capture_done(struct sup *s, struct lane *l, int64_t now)
{
	struct watch *wt = &l->watch;
	char tmp[MT_PATH_MAX + 8];
	int legit = 0, certain = 0;

	wt->helper = 0;
	wt->helper_done = 0;
	/* A helper killed at its deadline leaves its half-written file. */
	if (wt->path[0] && snprintf(tmp, sizeof tmp, "%s.tmp", wt->path) < (int)sizeof tmp)
		unlink(tmp);
	if (wt->why == CAPTURE_CRASH) {
		/* Keep it for the crashed test's bundle, and let it die. */
		snprintf(l->crash_capture, sizeof l->crash_capture, "%s", wt->path);
		l->w.stopped = 0;
		sup_continue(l);
		return;
	}
	if (l->cur.slot == MT_NONE || l->cur.slot != wt->slot || l->w.state != MT_W_RUNNING) {
		if (wt->path[0])
			unlink(wt->path);	/* the test ended meanwhile */
		return;
	}
	if (wt->path[0] && mt_capture_result(wt->path, wt->headline, sizeof wt->headline, &legit,
					     &certain)) {
		if (wt->kept[0] && strcmp(wt->kept, wt->path) != 0)
			unlink(wt->kept);
		snprintf(wt->kept, sizeof wt->kept, "%s", wt->path);
	} else if (wt->path[0]) {
		sup_note(s, "capture", "the stack capture of worker %d failed (status %d)", l->w.num,
			 wt->helper_status);
	}
	wt->legit_wait = legit;
	/* A capture stops every thread for a moment, which a stalled thread
	 * may see as a wake-up: start the comparison afresh. */
	wt->samples = 0;
	wt->next_us = now + sup_sample_every(s);
	if (wt->timed_out) {
		sup_finish_hung(s, l, certain ? "deadlock (certain)" : sup_timeout_reason(l), now);
		return;
	}
	switch (wt->why) {
	case CAPTURE_DEADLOCK:
		sup_finish_hung(s, l, "deadlock (certain)", now);
		break;
	case CAPTURE_LIKELY:
	case CAPTURE_STALLED:
		/* The wait-for graph: a holder that exited, a cycle, a holder
		 * waiting forever. */
		if (certain)
			sup_finish_hung(s, l, "deadlock (certain)", now);
		else if (wt->why == CAPTURE_LIKELY)
			wt->likely_captured = 1;
		break;
	case CAPTURE_TIMEOUT:
		sup_finish_hung(s, l, certain ? "deadlock (certain)" : sup_timeout_reason(l), now);
		break;
	case CAPTURE_AFTER:
		wt->after_captured = 1;
		break;
	default:
		break;
	}
}

/* Can a capture of this worker build a wait-for graph: its lock ledger,
 * or CPython's RLock owners read from outside? */
static int can_graph(const struct lane *l)
{
	return l->ledger_fd >= 0 || (l->rlock_type && l->interp && mt_py_supported(l->hexversion));
}

/* The test thread stalled on a lock while something else keeps the class
 * from a deadlock (a thread that runs or waits on I/O, a little CPU here
 * and there): where a wait-for graph can be had, one capture after
 * --deadlock-after may still find a cycle or a holder that exited. A new
 * stall, or threads coming or going (a holder that exits), allow another.
 * Returns 1 if a capture started. */
static int sup_probe_stall(struct sup *s, struct lane *l, int64_t now)
{
	struct watch *wt = &l->watch;
	const struct mt_diag *d = &wt->diag;
	const struct mt_tdiag *m = d->main_index >= 0 ? &d->t[d->main_index] : NULL;
	int deadlock = (d->hang == MT_HANG_CERTAIN || d->hang == MT_HANG_LIKELY) && !d->progress;

	if (!m || !m->stalled || m->wait != MT_WAIT_LOCK || d->threads_changed) {
		wt->main_since_us = 0;
		wt->probed = 0;
		return 0;
	}
	if (!wt->main_since_us)
		wt->main_since_us = wt->sample[!wt->newest].at_us;
	if (deadlock || wt->probed || s->o->deadlock_after_us <= 0 || !can_graph(l) ||
	    now - wt->main_since_us < s->o->deadlock_after_us)
		return 0;
	wt->probed = 1;
	sup_capture_begin(s, l, CAPTURE_STALLED, "STALLED", mt_hang_name(d->hang), now);
	return wt->helper != 0;
}

void sup_watch_sample(struct sup *s, struct lane *l, int64_t now)
{
	struct watch *wt = &l->watch;
	const struct mt_diag *d = &wt->diag;
	const struct mt_opts *o = s->o;
	int stalled;

	wt->next_us = now + sup_sample_every(s);
	if (wt->samples)
		wt->newest ^= 1;
	if (!mt_sample_take(&wt->sample[wt->newest], l->w.pid, now))
		return;
	if (++wt->samples < 2)
		goto after;
	mt_diagnose(&wt->diag, &wt->sample[!wt->newest], &wt->sample[wt->newest]);
	wt->have_diag = 1;
	if (sup_probe_stall(s, l, now))
		return;
	stalled = (d->hang == MT_HANG_CERTAIN || d->hang == MT_HANG_LIKELY) && !d->progress;
	if (!stalled) {
		wt->stall_since_us = 0;
		wt->likely_captured = 0;
		goto after;
	}
	if (!wt->stall_since_us)
		wt->stall_since_us = wt->sample[!wt->newest].at_us;
	if (s->deadlock_after_us <= 0)
		goto after;
	if (d->hang == MT_HANG_CERTAIN && now - wt->stall_since_us >= s->deadlock_after_us) {
		sup_capture_begin(s, l, CAPTURE_DEADLOCK, "DEADLOCK (certain)", NULL, now);
		return;
	}
	if (d->hang == MT_HANG_LIKELY && now - wt->stall_since_us >= s->deadlock_after_us) {
		/* The evidence now; the end only at --likely-after, and never
		 * for a join, a queue or a condition (its timeout decides). */
		if (!wt->likely_captured) {
			sup_capture_begin(s, l, CAPTURE_LIKELY, "DEADLOCK (likely)", NULL, now);
			return;
		}
		if (!wt->legit_wait && now - wt->stall_since_us >= s->likely_after_us) {
			sup_finish_hung(s, l, "deadlock (likely)", now);
			return;
		}
	}
after:
	if (o->capture_after_us > 0 && !wt->after_captured &&
	    now - l->cur.start_us >= o->capture_after_us)
		sup_capture_begin(s, l, CAPTURE_AFTER, "STILL RUNNING",
				  wt->have_diag ? mt_hang_name(d->hang) : "running", now);
}

/* The worker's crash handler stopped it: capture its stacks, then let it
 * die (capture_done sends SIGCONT). A stop without the handler's word is
 * not ours to judge: the test's timeout will. */
void sup_worker_stopped(struct sup *s, struct lane *l, int64_t now)
{
	static char signame[16];
	struct watch *wt = &l->watch;

	if (!l->crash_tid || wt->helper)
		return;
	if (l->cur.slot == MT_NONE || l->w.state == MT_W_KILLING) {
		l->w.stopped = 0;
		sup_continue(l);
		return;
	}
	wt->helper_done = 0;
	sup_capture_begin(s, l, CAPTURE_CRASH, "CRASH", mt_signame(l->crash_sig, signame, sizeof signame),
			  now);
	if (!wt->helper) {	/* could not start: do not keep it stopped */
		l->w.stopped = 0;
		sup_continue(l);
	}
}

/* The evidence first, then the verdict and the kill (capture_done). */
void sup_test_timeout(struct sup *s, struct lane *l, int64_t now)
{
	struct watch *wt = &l->watch;

	l->cur.deadline_us = MT_NEVER;
	wt->timed_out = 1;
	if (!wt->helper)
		sup_capture_begin(s, l, CAPTURE_TIMEOUT, "TIMEOUT", sup_timeout_reason(l), now);
}
