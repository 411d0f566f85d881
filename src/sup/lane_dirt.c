/* mtest: a lane's leaks, dead session helpers, dirty events and clean
 * restarts (src/sup/sup.h tells how the supervisor is cut; docs/dirt.md). */
#include "sup.h"

/* ---- dirty events ------------------------------------------------------- */

int sup_dirty_event(struct sup *s, struct lane *l, int show, const char *fmt, ...)
{
	struct mt_dirty *d;
	struct mt_buf *b;
	va_list ap;

	if (s->dirties.n == MT_DIRTY_MAX) {
		s->dirties.dropped++;
		return s->dirties.n - 1;
	}
	d = &s->dirties.d[s->dirties.n];
	d->id = s->dirties.n + 1;
	d->shadow = 0;
	d->restarted = 0;
	va_start(ap, fmt);
	vsnprintf(d->cause, sizeof d->cause, fmt, ap);
	va_end(ap);
	b = mt_records_begin(&s->rec, "dirty");
	mt_rec_int(b, "event", d->id);
	mt_rec_str(b, "cause", d->cause, 2048);
	mt_rec_int(b, "worker", l->w.num);
	mt_records_end(&s->rec, sup_now(s));
	if (show)
		mt_progress_note(&s->prog, d->cause);
	return s->dirties.n++;
}

/* ---- per worker, per test ------------------------------------------------- */

/* Before a scan: what is not this lane's (docs/dirt.md, lanes). */
static void prepare(struct sup *s, struct lane *l)
{
	struct mt_dirt *d = &l->dirt;
	struct lane *o;

	d->spare = l->watch.helper;
	d->cg = &s->cg;
	d->leaf = lane_leaf(s, l);
	d->nforeign = d->shared = 0;
	FOR_LANES(s, o) {
		if (o == l)
			continue;
		if (o->w.pid > 0 && !o->w.reaped)
			d->foreign[d->nforeign++] = o->w.pid;
		if (o->watch.helper > 0)
			d->foreign[d->nforeign++] = o->watch.helper;
		d->shared |= o->w.state != MT_W_NONE;
	}
	/* The zygote and what it forks until the fork is known (the middle
	 * process of its double fork) are nobody's dirt. */
	if (s->z.l.w.pid > 0 && !s->z.l.w.reaped)
		d->foreign[d->nforeign++] = s->z.l.w.pid;
}

void sup_dirt_baseline(struct sup *s, struct lane *l, long cursor)
{
	prepare(s, l);
	mt_dirt_baseline(&l->dirt, cursor);
}

static void resolve_deaths(struct sup *s, struct lane *l, int drop);

void sup_dirt_spawned(struct lane *l)
{
	mt_dirt_reset(&l->dirt, l->w.pid, l->w.num);
	l->active_dirty = -1;
	l->fence_waiting = 0;
	l->dirt_next_us = MT_NEVER;
}

/* Whether the test in flight starts clean, in the shadow of a dirty
 * event, or first in a fresh worker that replaced a dirty one. */
void sup_dirt_test_start(struct sup *s, struct lane *l)
{
	struct inflight *c = &l->cur;

	c->started = "clean";
	c->started_event = 0;
	if (s->rechecking)
		return;
	if (l->active_dirty >= 0) {
		c->started = "dirty";
		c->started_event = s->dirties.d[l->active_dirty].id;
		s->dirties.d[l->active_dirty].shadow++;
	} else if (l->restart_for >= 0) {
		c->started = "restarted";
		c->started_event = s->dirties.d[l->restart_for].id;
		l->restart_for = -1;
	}
}

static void leak_text(struct lane *l, const struct mt_leak *lk, char *out, size_t cap)
{
	struct mt_buf b;
	const char *name;
	int i, nt = lk->nthreads + lk->more_threads, np = lk->nprocs + lk->more_procs;

	mt_buf_init(&b, out, cap, -1);
	mt_buf_puts(&b, "leaked ");
	if (nt) {
		mt_buf_printf(&b, "%d thread%s (", nt, nt == 1 ? "" : "s");
		for (i = 0; i < lk->nthreads; i++) {
			name = mt_names_get(&l->names, lk->t[i].tid, l->w.pid);
			mt_buf_printf(&b, "%s%s", i ? ", " : "", name ? name : "unnamed");
		}
		mt_buf_puts(&b, lk->more_threads ? ", ...)" : ")");
	}
	if (np) {
		mt_buf_printf(&b, "%s%d process%s (", nt ? " and " : "", np, np == 1 ? "" : "es");
		for (i = 0; i < lk->nprocs; i++) {
			char cmd[32];
			const char *sp;

			/* Its program's name: the first word, without a path. */
			snprintf(cmd, sizeof cmd, "%s", lk->p[i].cmd);
			cmd[strcspn(cmd, " ")] = '\0';
			sp = strrchr(cmd, '/');
			mt_buf_printf(&b, "%s%s, pid %d", i ? "; " : "", sp ? sp + 1 : cmd,
				      (int)lk->p[i].pid);
		}
		mt_buf_puts(&b, lk->more_procs ? "; ...)" : ")");
	}
}

/* The leak goes into its test's bundle too, when it has one. */
static void append_to_bundle(struct sup *s, uint32_t slot, const char *text,
			     const struct mt_leak *lk)
{
	char section[2048];
	struct mt_buf b;
	const char *bundle = mt_run_str(&s->run, s->run.t[slot].bundle);
	int i;

	if (!*bundle)
		return;
	mt_buf_init(&b, section, sizeof section, -1);
	mt_buf_printf(&b, "\n== leaks (found %.1f s after it ended) ==\n%s\n",
		      (double)s->o->leak_grace_us / 1e6, text);
	for (i = 0; i < lk->nprocs; i++)
		mt_buf_printf(&b, "  process %d: %s\n", (int)lk->p[i].pid, lk->p[i].cmd);
	if (!mt_bundle_append(s->sd.run_fd, bundle, b.p))
		sup_note(s, "bundle", "cannot add the leaks to %s: %s", bundle, mt_strerror(errno));
}

/* What a leak check's callback acts on. */
struct lane_ctx {
	struct sup *s;
	struct lane *l;
};

static void on_leak(void *ctx, const struct mt_leak *lk)
{
	struct sup *s = ((struct lane_ctx *)ctx)->s;
	struct lane *l = ((struct lane_ctx *)ctx)->l;
	const char *id = mt_run_str(&s->run, s->run.t[lk->slot].id), *name;
	char text[MT_EVENT_TEXT_MAX];
	struct mt_buf *b;
	int i;

	leak_text(l, lk, text, sizeof text);
	b = mt_records_begin(&s->rec, "leak");
	mt_rec_str(b, "id", id, 8192);
	mt_rec_str(b, "text", text, 1024);
	mt_buf_puts(b, ",\"threads\":[");
	for (i = 0; i < lk->nthreads; i++) {
		name = mt_names_get(&l->names, lk->t[i].tid, l->w.pid);
		mt_buf_printf(b, "%s{\"tid\":%d,\"name\":", i ? "," : "", (int)lk->t[i].tid);
		mt_buf_jsons(b, name ? name : "");
		mt_buf_putc(b, '}');
	}
	mt_buf_puts(b, "],\"processes\":[");
	for (i = 0; i < lk->nprocs; i++) {
		mt_buf_printf(b, "%s{\"pid\":%d,\"cmd\":", i ? "," : "", (int)lk->p[i].pid);
		mt_buf_json_max(b, lk->p[i].cmd, strlen(lk->p[i].cmd), 200);
		mt_buf_putc(b, '}');
	}
	mt_buf_putc(b, ']');
	mt_records_end(&s->rec, sup_now(s));
	append_to_bundle(s, lk->slot, text, lk);
	l->active_dirty = sup_dirty_event(s, l, 1, "%s %s", id, text);
}

void sup_dirt_test_end(struct sup *s, struct lane *l, uint32_t slot, long cursor, int64_t now)
{
	if (s->rechecking || l->w.state == MT_W_DEAD)
		return;
	resolve_deaths(s, l, 0);
	if (mt_dirt_test_end(&l->dirt, slot, cursor, s->o->leak_grace_us, now) &&
	    l->dirt_next_us > now + s->o->leak_grace_us)
		l->dirt_next_us = now + s->o->leak_grace_us;
}

/* Helpers that died, waiting for the next boundary: by then the plugin
 * has said whether a fixture's finaliser ended them (then it is no news). */

static void add_death(struct lane *l, const struct mt_helper_death *h, const char *during)
{
	if (l->ndeaths == MT_HELPERS_MAX)
		return;
	l->helper_deaths[l->ndeaths].d = *h;
	snprintf(l->helper_deaths[l->ndeaths].during, sizeof l->helper_deaths[0].during, "%s", during);
	l->ndeaths++;
}

/* Deaths mtest sees itself (daemons that came back to it; every helper
 * once the worker is gone): placed in the test in flight now. */
void sup_dirt_helpers(struct sup *s, struct lane *l)
{
	struct mt_helper_death dead[MT_HELPERS_MAX];
	int i, n;

	n = mt_dirt_helpers_dead(&l->dirt, dead, MT_HELPERS_MAX - l->ndeaths,
				 l->w.state == MT_W_DEAD || l->w.state == MT_W_NONE);
	for (i = 0; i < n; i++)
		add_death(l, &dead[i], l->cur.slot != MT_NONE ?
			  mt_run_str(&s->run, s->run.t[l->cur.slot].id) : "");
}

/* Deaths the plugin saw just before a start (between tests: `during` is
 * MT_NONE) or a done (within that test). */
void sup_dirt_gone(struct sup *s, struct lane *l, const struct mt_event *e, uint32_t during)
{
	struct mt_helper_death h;
	int i;

	for (i = 0; i < e->ngone; i++)
		if (mt_dirt_helper_gone(&l->dirt, e->gone[i].pid, e->gone[i].start, e->gone[i].status,
					&h))
			add_death(l, &h, during != MT_NONE ? mt_run_str(&s->run, s->run.t[during].id) : "");
}

/* At a boundary: deaths no fixture explains are dirty events. */
static void resolve_deaths(struct sup *s, struct lane *l, int drop)
{
	const struct mt_helper_death *h;
	int i;

	for (i = 0; i < l->ndeaths && !drop; i++) {
		h = &l->helper_deaths[i].d;
		if (mt_dirt_fixture_ended_owns(&l->dirt, h->pid))
			continue;
		l->active_dirty = sup_dirty_event(
			s, l, 1, "session helper %s%s(%s, pid %d) died%s%s%s while %s%s", h->fixture,
			h->fixture[0] ? " " : "", h->cmd, (int)h->pid, h->status[0] ? " (" : "",
			h->status, h->status[0] ? ")" : "",
			l->helper_deaths[i].during[0] ? l->helper_deaths[i].during : "no test ran",
			l->helper_deaths[i].during[0] ? " was running" : "");
	}
	l->ndeaths = 0;
}

void sup_dirt_timer(struct sup *s, struct lane *l, int64_t now)
{
	prepare(s, l);
	l->dirt_next_us = mt_dirt_check(&l->dirt, now, 0, on_leak, &(struct lane_ctx){ s, l });
	sup_dirt_helpers(s, l);
	/* Helpers without a pidfd are looked at twice a second. */
	if (l->dirt.nhp && l->dirt_next_us > now + MT_SAMPLE_EVERY_US)
		l->dirt_next_us = now + MT_SAMPLE_EVERY_US;
	if (l->fence_waiting && !l->dirt.nck)
		sup_fence_answer(s, l);
}

/* A worker ended: what it leaves undone is settled, and a hang or a crash
 * is a dirty event for whoever comes next. */
void sup_dirt_worker_gone(struct sup *s, struct lane *l, const char *why, int hung_or_crashed)
{
	if (s->rechecking && s->rc_waiting) {
		/* The test never ran alone (its file no longer collects it, or
		 * collecting crashed or hung): that attempt is not_run. */
		struct mt_vinfo v = { .verdict = MT_V_NOT_RUN, .reason = "not run alone",
				      .worker = l->w.num };

		sup_recheck_result(s, &v);
	}
	if (l->dirt.worker <= 0)
		return;	/* accounted for already */
	/* Leak checks still waiting: now, while the worker's orphans (its
	 * leaked processes, re-parented to mtest) are alive to be seen. */
	if (!s->rechecking) {
		prepare(s, l);
		mt_dirt_check(&l->dirt, sup_now(s), 1, on_leak, &(struct lane_ctx){ s, l });
	}
	sup_dirt_helpers(s, l);
	/* Helpers dying as the session ends are its finalisers' doing. */
	resolve_deaths(s, l, l->w.retiring || l->w.ended || s->stop != STOP_NONE);
	l->dirt.worker = 0;
	mt_dirt_close(&l->dirt);
	l->dirt.nck = 0;
	l->fence_waiting = 0;
	l->dirt_next_us = MT_NEVER;
	if (s->rechecking)
		return;
	if (hung_or_crashed) {
		/* Its note says so already: no second line on the screen. */
		l->restart_for = sup_dirty_event(s, l, 0, "worker %d %s", l->w.num, why);
		s->dirties.d[l->restart_for].restarted = 1;
	} else if (l->active_dirty >= 0 && l->w.retiring) {
		l->restart_for = l->active_dirty;
		s->dirties.d[l->restart_for].restarted = 1;
	}
	l->active_dirty = -1;
}

/* A process a dead worker left behind, killed by the sweep: recorded
 * against the test it is blamed on (docs/dirt.md), or none. */
void sup_orphan(struct sup *s, struct lane *l, const struct mt_proc *p)
{
	uint32_t slot = mt_dirt_owner(&l->dirt, p);
	struct mt_buf *b;

	b = mt_records_begin(&s->rec, "orphan");
	mt_rec_int(b, "pid", p->pid);
	mt_rec_str(b, "comm", p->comm, 64);
	mt_rec_str(b, "id", slot != MT_NONE ? mt_run_str(&s->run, s->run.t[slot].id) : "", 8192);
	mt_records_end(&s->rec, sup_now(s));
}

/* ---- fences: where a worker may be retired ---------------------------------- */

int sup_fence_every_test(const struct sup *s)
{
	return s->o->isolate == MT_ISOLATE_TEST || s->o->restart_on_dirty == MT_RESTART_TEST ||
	       s->rechecking;
}

void sup_fence_answer(struct sup *s, struct lane *l)
{
	struct mt_worker *w = &l->w;
	int stop = s->stop != STOP_NONE || s->o->isolate != MT_ISOLATE_NONE ||
		   (l->active_dirty >= 0 && s->o->restart_on_dirty != MT_RESTART_NEVER);

	l->fence_waiting = 0;
	if (w->state != MT_W_RUNNING)
		return;
	if (stop) {
		/* Its session's finalisers run (they free ports and helpers);
		 * then it must exit, or be killed (sup_timers). */
		w->retiring = 1;
		lane_want(l, MT_W_STOPPING, sup_now(s) + MT_DEFAULT_TIMEOUT_US);
		mt_worker_send(w, "s\n", 2);
	} else {
		mt_worker_send(w, "g\n", 2);
	}
}

/* The worker stands at a boundary. Before it goes on, know whether the
 * test before left dirt: if threads or processes it started still live,
 * wait for its leak check (at most --leak-grace). */
void sup_fence(struct sup *s, struct lane *l)
{
	sup_dirt_helpers(s, l);	/* a death may race the boundary */
	resolve_deaths(s, l, 0);
	if (s->o->restart_on_dirty != MT_RESTART_NEVER && s->stop == STOP_NONE &&
	    s->o->isolate == MT_ISOLATE_NONE) {
		prepare(s, l);
		if (mt_dirt_undecided(&l->dirt)) {
			l->fence_waiting = 1;
			return;	/* sup_dirt_timer answers */
		}
	}
	sup_fence_answer(s, l);
}

