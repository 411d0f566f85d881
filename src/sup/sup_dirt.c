/* mtest: leaks, dead session helpers, dirty events, clean restarts and
 * rechecks (src/sup.h tells how the supervisor is cut; docs/dirt.md). */
#include "sup.h"

/* ---- dirty events ------------------------------------------------------- */

int sup_dirty_event(struct super *s, int show, const char *fmt, ...)
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
	mt_rec_int(b, "worker", s->w.num);
	mt_records_end(&s->rec, mt_now_us());
	if (show)
		mt_progress_note(&s->prog, d->cause);
	return s->dirties.n++;
}

/* ---- per worker, per test ------------------------------------------------- */

static void resolve_deaths(struct super *s, int drop);

void sup_dirt_spawned(struct super *s)
{
	mt_dirt_reset(&s->dirt, s->w.pid);
	s->active_dirty = -1;
	s->fence_waiting = 0;
	s->dirt_next_us = MT_NEVER;
}

/* Whether the test in flight starts clean, in the shadow of a dirty
 * event, or first in a fresh worker that replaced a dirty one. */
void sup_dirt_test_start(struct super *s)
{
	struct inflight *c = &s->cur;

	c->started = "clean";
	c->started_event = 0;
	if (s->rechecking)
		return;
	if (s->active_dirty >= 0) {
		c->started = "dirty";
		c->started_event = s->dirties.d[s->active_dirty].id;
		s->dirties.d[s->active_dirty].shadow++;
	} else if (s->restart_for >= 0) {
		c->started = "restarted";
		c->started_event = s->dirties.d[s->restart_for].id;
		s->restart_for = -1;
	}
}

static void leak_text(struct super *s, const struct mt_leak *l, char *out, size_t cap)
{
	struct mt_buf b;
	const char *name;
	int i, nt = l->nthreads + l->more_threads, np = l->nprocs + l->more_procs;

	mt_buf_init(&b, out, cap, -1);
	mt_buf_puts(&b, "leaked ");
	if (nt) {
		mt_buf_printf(&b, "%d thread%s (", nt, nt == 1 ? "" : "s");
		for (i = 0; i < l->nthreads; i++) {
			name = mt_names_get(&s->names, l->t[i].tid, s->w.pid);
			mt_buf_printf(&b, "%s%s", i ? ", " : "", name ? name : "unnamed");
		}
		mt_buf_puts(&b, l->more_threads ? ", ...)" : ")");
	}
	if (np) {
		mt_buf_printf(&b, "%s%d process%s (", nt ? " and " : "", np, np == 1 ? "" : "es");
		for (i = 0; i < l->nprocs; i++) {
			char cmd[32];
			const char *sp;

			/* Its program's name: the first word, without a path. */
			snprintf(cmd, sizeof cmd, "%s", l->p[i].cmd);
			cmd[strcspn(cmd, " ")] = '\0';
			sp = strrchr(cmd, '/');
			mt_buf_printf(&b, "%s%s, pid %d", i ? "; " : "", sp ? sp + 1 : cmd,
				      (int)l->p[i].pid);
		}
		mt_buf_puts(&b, l->more_procs ? "; ...)" : ")");
	}
}

/* The leak goes into its test's bundle too, when it has one. */
static void append_to_bundle(struct super *s, uint32_t slot, const char *text,
			     const struct mt_leak *l)
{
	char dir[MT_PATH_MAX + 16], section[2048];
	struct mt_buf b;
	const char *bundle = mt_run_str(&s->run, s->run.t[slot].bundle);
	int i;

	if (!*bundle)
		return;
	snprintf(dir, sizeof dir, "%s", s->sd.run);
	mt_buf_init(&b, section, sizeof section, -1);
	mt_buf_printf(&b, "\n== leaks (found %.1f s after it ended) ==\n%s\n",
		      (double)s->o->leak_grace_us / 1e6, text);
	for (i = 0; i < l->nprocs; i++)
		mt_buf_printf(&b, "  process %d: %s\n", (int)l->p[i].pid, l->p[i].cmd);
	if (!mt_bundle_append(dir, bundle, b.p))
		sup_note(s, "bundle", "cannot add the leaks to %s: %s", bundle, mt_strerror(errno));
}

static void on_leak(void *ctx, const struct mt_leak *l)
{
	struct super *s = ctx;
	const char *id = mt_run_str(&s->run, s->run.t[l->slot].id), *name;
	char text[MT_EVENT_TEXT_MAX];
	struct mt_buf *b;
	int i;

	leak_text(s, l, text, sizeof text);
	b = mt_records_begin(&s->rec, "leak");
	mt_rec_str(b, "id", id, 8192);
	mt_rec_str(b, "text", text, 1024);
	mt_buf_puts(b, ",\"threads\":[");
	for (i = 0; i < l->nthreads; i++) {
		name = mt_names_get(&s->names, l->t[i].tid, s->w.pid);
		mt_buf_printf(b, "%s{\"tid\":%d,\"name\":", i ? "," : "", (int)l->t[i].tid);
		mt_buf_jsons(b, name ? name : "");
		mt_buf_putc(b, '}');
	}
	mt_buf_puts(b, "],\"processes\":[");
	for (i = 0; i < l->nprocs; i++) {
		mt_buf_printf(b, "%s{\"pid\":%d,\"cmd\":", i ? "," : "", (int)l->p[i].pid);
		mt_buf_json_max(b, l->p[i].cmd, strlen(l->p[i].cmd), 200);
		mt_buf_putc(b, '}');
	}
	mt_buf_putc(b, ']');
	mt_records_end(&s->rec, mt_now_us());
	append_to_bundle(s, l->slot, text, l);
	s->active_dirty = sup_dirty_event(s, 1, "%s %s", id, text);
}

void sup_dirt_test_end(struct super *s, uint32_t slot, long cursor, int64_t now)
{
	if (s->rechecking || s->w.state == MT_W_DEAD)
		return;
	resolve_deaths(s, 0);
	if (mt_dirt_test_end(&s->dirt, slot, cursor, s->o->leak_grace_us, now) &&
	    s->dirt_next_us > now + s->o->leak_grace_us)
		s->dirt_next_us = now + s->o->leak_grace_us;
}

/* Helpers that died, waiting for the next boundary: by then the plugin
 * has said whether a fixture's finaliser ended them (then it is no news). */
static struct {
	struct mt_helper_death d;
	char during[MT_ID_MAX + 32];
} deaths[MT_HELPERS_MAX];
static int ndeaths;

static void add_death(const struct mt_helper_death *h, const char *during)
{
	if (ndeaths == MT_HELPERS_MAX)
		return;
	deaths[ndeaths].d = *h;
	snprintf(deaths[ndeaths].during, sizeof deaths[0].during, "%s", during);
	ndeaths++;
}

/* Deaths mtest sees itself (daemons that came back to it; every helper
 * once the worker is gone): placed in the test in flight now. */
void sup_dirt_helpers(struct super *s)
{
	struct mt_helper_death dead[MT_HELPERS_MAX];
	int i, n;

	n = mt_dirt_helpers_dead(&s->dirt, dead, MT_HELPERS_MAX - ndeaths,
				 s->w.state == MT_W_DEAD || s->w.state == MT_W_NONE);
	for (i = 0; i < n; i++)
		add_death(&dead[i], s->cur.slot != MT_NONE ?
			  mt_run_str(&s->run, s->run.t[s->cur.slot].id) : "");
}

/* Deaths the plugin saw just before a start (between tests: `during` is
 * MT_NONE) or a done (within that test). */
void sup_dirt_gone(struct super *s, const struct mt_event *e, uint32_t during)
{
	struct mt_helper_death h;
	int i;

	for (i = 0; i < e->ngone; i++)
		if (mt_dirt_helper_gone(&s->dirt, e->gone[i].pid, e->gone[i].start, e->gone[i].status,
					&h))
			add_death(&h, during != MT_NONE ? mt_run_str(&s->run, s->run.t[during].id) : "");
}

/* At a boundary: deaths no fixture explains are dirty events. */
static void resolve_deaths(struct super *s, int drop)
{
	const struct mt_helper_death *h;
	int i;

	for (i = 0; i < ndeaths && !drop; i++) {
		h = &deaths[i].d;
		if (mt_dirt_fixture_ended_owns(&s->dirt, h->pid))
			continue;
		s->active_dirty = sup_dirty_event(
			s, 1, "session helper %s%s(%s, pid %d) died%s%s%s while %s%s", h->fixture,
			h->fixture[0] ? " " : "", h->cmd, (int)h->pid, h->status[0] ? " (" : "",
			h->status, h->status[0] ? ")" : "",
			deaths[i].during[0] ? deaths[i].during : "no test ran",
			deaths[i].during[0] ? " was running" : "");
	}
	ndeaths = 0;
}

void sup_dirt_timer(struct super *s, int64_t now)
{
	s->dirt.spare = s->watch.helper;
	s->dirt_next_us = mt_dirt_check(&s->dirt, now, 0, on_leak, s);
	sup_dirt_helpers(s);
	/* Helpers without a pidfd are looked at twice a second. */
	if (s->dirt.nhp && s->dirt_next_us > now + MT_SAMPLE_EVERY_US)
		s->dirt_next_us = now + MT_SAMPLE_EVERY_US;
	if (s->fence_waiting && !s->dirt.nck)
		sup_fence_answer(s);
}

/* A worker ended: what it leaves undone is settled, and a hang or a crash
 * is a dirty event for whoever comes next. */
void sup_dirt_worker_gone(struct super *s, const char *why, int hung_or_crashed)
{
	if (s->rechecking && s->rc_waiting) {
		/* The test never ran alone (its file no longer collects it, or
		 * collecting crashed or hung): that attempt is not_run. */
		struct mt_vinfo v = { .verdict = MT_V_NOT_RUN, .reason = "not run alone",
				      .worker = s->w.num };

		sup_recheck_result(s, &v);
	}
	if (s->dirt.worker <= 0)
		return;	/* accounted for already */
	/* Leak checks still waiting: now, while the worker's orphans (its
	 * leaked processes, re-parented to mtest) are alive to be seen. */
	if (!s->rechecking)
		mt_dirt_check(&s->dirt, mt_now_us(), 1, on_leak, s);
	sup_dirt_helpers(s);
	/* Helpers dying as the session ends are its finalisers' doing. */
	resolve_deaths(s, s->w.retiring || s->w.ended || s->stop != STOP_NONE);
	s->dirt.worker = 0;
	mt_dirt_close(&s->dirt);
	s->dirt.nck = 0;
	s->fence_waiting = 0;
	s->dirt_next_us = MT_NEVER;
	if (s->rechecking)
		return;
	if (hung_or_crashed) {
		/* Its note says so already: no second line on the screen. */
		s->restart_for = sup_dirty_event(s, 0, "worker %d %s", s->w.num, why);
		s->dirties.d[s->restart_for].restarted = 1;
	} else if (s->active_dirty >= 0 && s->w.retiring) {
		s->restart_for = s->active_dirty;
		s->dirties.d[s->restart_for].restarted = 1;
	}
	s->active_dirty = -1;
}

/* A process a dead worker left behind, killed by the sweep: recorded
 * against the test it is blamed on (docs/dirt.md), or none. */
void sup_orphan(struct super *s, const struct mt_proc *p)
{
	uint32_t slot = mt_dirt_owner(&s->dirt, p);
	struct mt_buf *b;

	b = mt_records_begin(&s->rec, "orphan");
	mt_rec_int(b, "pid", p->pid);
	mt_rec_str(b, "comm", p->comm, 64);
	mt_rec_str(b, "id", slot != MT_NONE ? mt_run_str(&s->run, s->run.t[slot].id) : "", 8192);
	mt_records_end(&s->rec, mt_now_us());
}

/* ---- fences: where a worker may be retired ---------------------------------- */

int sup_fence_every_test(const struct super *s)
{
	return s->o->isolate == MT_ISOLATE_TEST || s->o->restart_on_dirty == MT_RESTART_TEST ||
	       s->rechecking;
}

void sup_fence_answer(struct super *s)
{
	struct mt_worker *w = &s->w;
	int stop = s->stop != STOP_NONE || s->o->isolate != MT_ISOLATE_NONE ||
		   (s->active_dirty >= 0 && s->o->restart_on_dirty != MT_RESTART_NEVER);

	s->fence_waiting = 0;
	if (w->state != MT_W_RUNNING)
		return;
	if (stop) {
		/* Its session's finalisers run (they free ports and helpers);
		 * then it must exit, or be killed (sup_timers). */
		w->retiring = 1;
		w->state = MT_W_STOPPING;
		s->exit_deadline_us = mt_now_us() + MT_DEFAULT_TIMEOUT_US;
		mt_worker_send(w, "s\n", 2);
	} else {
		mt_worker_send(w, "g\n", 2);
	}
}

/* The worker stands at a boundary. Before it goes on, know whether the
 * test before left dirt: if threads or processes it started still live,
 * wait for its leak check (at most --leak-grace). */
void sup_fence(struct super *s)
{
	sup_dirt_helpers(s);	/* a death may race the boundary */
	resolve_deaths(s, 0);
	if (s->o->restart_on_dirty != MT_RESTART_NEVER && s->stop == STOP_NONE &&
	    s->o->isolate == MT_ISOLATE_NONE) {
		s->dirt.spare = s->watch.helper;
		if (mt_dirt_undecided(&s->dirt)) {
			s->fence_waiting = 1;
			return;	/* sup_dirt_timer answers */
		}
	}
	sup_fence_answer(s);
}

/* ---- rechecks ------------------------------------------------------------------ */

/* Start the next recheck worker; 0 when there is nothing more to do. */
int sup_recheck_next(struct super *s, int64_t now)
{
	uint32_t i;

	if (!s->rechecking) {
		s->rechecking = 1;
		s->nrc = 0;
		for (i = 0; i < s->run.n; i++) {
			const struct mt_test *t = &s->run.t[i];

			if (t->kind != MT_KIND_TEST || (t->verdict != MT_V_FAILED &&
			    t->verdict != MT_V_HUNG && t->verdict != MT_V_CRASHED))
				continue;
			if (s->nrc == MT_RECHECKS_MAX) {
				sup_note(s, "limit", "more failures than MT_RECHECKS_MAX (%d) to "
					 "recheck", MT_RECHECKS_MAX);
				break;
			}
			s->rc[s->nrc].slot = i;
			s->rc[s->nrc].v[0] = s->rc[s->nrc].v[1] = MT_V_NONE;
			s->nrc++;
		}
		s->rc_index = 0;
		s->rc_attempt = 0;
	}
	if (s->rc_index >= s->nrc || s->stop != STOP_NONE)
		return 0;
	s->rc_waiting = 1;
	sup_spawn(s, now);
	return 1;
}

static const char *recheck_class(const struct recheck *r)
{
	int bad0 = mt_verdict_is_bad((enum mt_verdict)r->v[0]);
	int bad1 = mt_verdict_is_bad((enum mt_verdict)r->v[1]);

	if (r->v[0] == MT_V_NONE || r->v[1] == MT_V_NONE || r->v[0] == MT_V_NOT_RUN ||
	    r->v[1] == MT_V_NOT_RUN)
		return "not rechecked";
	if (bad0 && bad1)
		return "fails alone";
	if (!bad0 && !bad1)
		return "passes alone";
	return "flaky";
}

/* One recheck ended: a record of its own (the original verdict stands),
 * and after the second, the class. */
void sup_recheck_result(struct super *s, const struct mt_vinfo *v)
{
	struct recheck *r = &s->rc[s->rc_index];
	struct mt_test *t = &s->run.t[r->slot];
	const char *id = mt_run_str(&s->run, t->id), *cls;
	struct mt_buf *b;

	s->rc_waiting = 0;
	b = mt_records_begin(&s->rec, "recheck");
	mt_rec_str(b, "id", id, 8192);
	mt_rec_int(b, "attempt", s->rc_attempt + 2);
	mt_rec_str(b, "verdict", mt_verdict_name(v->verdict), 32);
	mt_rec_str(b, "reason", v->reason, 1024);
	mt_rec_secs(b, "duration", v->duration_us);
	mt_rec_int(b, "worker", v->worker);
	mt_records_end(&s->rec, mt_now_us());
	r->v[s->rc_attempt] = (unsigned char)v->verdict;
	mt_progress_note(&s->prog, mt_verdict_name(v->verdict));
	if (++s->rc_attempt < 2)
		return;
	cls = recheck_class(r);
	t->recheck = mt_run_intern(&s->run, cls);
	b = mt_records_begin(&s->rec, "recheck_class");
	mt_rec_str(b, "id", id, 8192);
	mt_rec_str(b, "class", cls, 32);
	mt_records_end(&s->rec, mt_now_us());
	s->rc_attempt = 0;
	s->rc_index++;
}
