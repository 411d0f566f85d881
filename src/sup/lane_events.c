/* mtest: the plugin's events, and feeding tests to a worker (src/sup.h tells how the supervisor is cut). */
#include "sup.h"

/* ---- feeding the worker ------------------------------------------------ */

static uint32_t item_file(struct sup *s, struct lane *l, uint32_t item)
{
	uint32_t slot = l->w.map[item];

	return slot == MT_NONE ? MT_NONE : s->run.t[slot].file;
}

/* A fence between two queued items: at each file boundary, and at every
 * test when workers are retired (or isolated) test by test. */
static int fence_between(struct sup *s, struct lane *l, uint32_t a, uint32_t b)
{
	return sup_fence_every_test(s) || item_file(s, l, a) != item_file(s, l, b);
}

/* Is there a fence right after the queue's k-th item? */
int sup_fence_due(struct sup *s, struct lane *l, uint32_t k)
{
	return k + 1 < l->w.qlen && fence_between(s, l, l->w.queue[k], l->w.queue[k + 1]);
}

/* The exclusive groups a lane holds: those of the tests sent to its
 * worker and not done (the one in flight among them), and, until its
 * sweep is over, those of a worker that died. */
uint32_t sup_lane_groups(const struct sup *s, const struct lane *l)
{
	const struct mt_worker *w = &l->w;
	uint32_t g = 0, k, slot;

	if (w->state == MT_W_NONE && !l->sweep_next_us)
		return 0;
	for (k = w->qdone; k < w->qsent && k < w->qlen; k++)
		if ((slot = w->map[w->queue[k]]) != MT_NONE)
			g |= s->plan.groups[slot];
	return g;
}

/* May the queue's k-th item be sent now? Not while another lane holds
 * one of its groups: two tests of a group never run on two lanes at
 * once. (The plan gives a group's tests to one lane; this holds when a
 * dead worker's tests went to another lane before its sweep ended.) */
static int group_free(struct sup *s, struct lane *l, uint32_t k)
{
	uint32_t slot = l->w.map[l->w.queue[k]], g;
	struct lane *o;

	if (slot == MT_NONE || !(g = s->plan.groups[slot]))
		return 1;
	FOR_LANES(s, o)
		if (o != l && (sup_lane_groups(s, o) & g)) {
			l->group_wait = 1;	/* sup_feed tries again */
			return 0;
		}
	return 1;
}

/* Keep about two batches of tests queued in the worker, with a fence at
 * each boundary where it may be retired; "e" once all are sent. */
void sup_top_up(struct sup *s, struct lane *l)
{
	struct mt_worker *w = &l->w;
	char line[MT_CONTROL_BATCH * 8 + 16];
	struct mt_buf b;
	uint32_t sent = 0;

	l->group_wait = 0;
	if (s->stop != STOP_NONE || w->state != MT_W_RUNNING)
		return;
	/* With other lanes, no further ahead than the next file: what is not
	 * sent yet may still go to a lane that runs out of work. */
	while (w->qsent < w->qlen && w->qsent - w->qdone < 2 * MT_CONTROL_BATCH &&
	       !(s->nlanes > 1 && w->qsent > w->qdone &&
		 item_file(s, l, w->queue[w->qsent - 1]) != item_file(s, l, w->queue[w->qdone])) &&
	       group_free(s, l, w->qsent)) {
		mt_buf_init(&b, line, sizeof line, -1);
		if (w->qsent > 0 && fence_between(s, l, w->queue[w->qsent - 1], w->queue[w->qsent]))
			mt_buf_puts(&b, "f\n");
		mt_buf_putc(&b, 'r');
		for (sent = 0; w->qsent < w->qlen && sent < MT_CONTROL_BATCH; sent++) {
			if (sent && fence_between(s, l, w->queue[w->qsent - 1], w->queue[w->qsent]))
				break;	/* the fence goes on the next line */
			if (sent && !group_free(s, l, w->qsent))
				break;
			mt_buf_printf(&b, " %u", w->queue[w->qsent++]);
		}
		mt_buf_putc(&b, '\n');
		if (!mt_worker_send(w, b.p, b.len)) {
			sup_fatal(s, MT_EXIT_INTERNAL, "control pipe to worker %d is full", w->num);
			return;
		}
	}
	if (w->qsent == w->qlen && !w->ended) {
		mt_worker_send(w, "e\n", 2);
		w->ended = 1;
	}
}

/* ---- events from the plugin -------------------------------------------- */

/* A test's timeout: its marker, --timeout, the suite's pytest-timeout
 * setting or 60 s, times --timeout-scale (0: none). */
static int64_t test_timeout(struct sup *s, uint32_t slot)
{
	int64_t t = s->run.t[slot].timeout_us;

	if (t < 0)	/* no marker */
		t = s->o->timeout_us >= 0 ? s->o->timeout_us :
		    s->suite_timeout_us >= 0 ? s->suite_timeout_us : MT_DEFAULT_TIMEOUT_US;
	return mt_scale_us(t, s->o->timeout_scale);
}

static void ev_hello(struct sup *s, struct lane *l, const struct mt_event *e)
{
	struct mt_buf *b;

	l->got_hello = 1;
	zyg_adopt(s, l, (pid_t)e->pid);	/* a forked worker tells its pid */
	snprintf(l->fp.python, sizeof l->fp.python, "%s", e->python);
	snprintf(l->fp.pytest, sizeof l->fp.pytest, "%s", e->pytest);
	snprintf(l->fp.executable, sizeof l->fp.executable, "%s", e->executable);
	snprintf(s->python, sizeof s->python, "%s", e->python);
	snprintf(s->pytest, sizeof s->pytest, "%s", e->pytest);
	l->interp = e->interp;
	l->runtime = e->runtime;
	l->pytb_sig = e->pytb >= SIGRTMIN && e->pytb <= SIGRTMAX ? e->pytb : 0;
	l->hexversion = (long)e->hexversion;
	sup_ledger_open(s, l, e);
	b = mt_records_begin(&s->rec, "worker");
	mt_rec_int(b, "worker", l->w.num);
	mt_rec_int(b, "pid", l->w.pid);
	mt_rec_str(b, "python", e->python, 64);
	mt_rec_str(b, "executable", e->executable, 1024);
	mt_rec_str(b, "pytest", e->pytest, 64);
	mt_rec_str(b, "command", l->fp.cmdline, 8192);
	if (zyg_is(s, l))
		mt_rec_str(b, "role", "zygote", 16);
	else if (l->w.forked)
		mt_rec_str(b, "role", "forked", 16);
	mt_records_end(&s->rec, sup_now(s));
}

static void ev_config(struct sup *s, struct lane *l, const struct mt_event *e, int64_t now)
{
	l->got_config = 1;
	if (e->threads[0] && !s->neutral_noted++)
		sup_note(s, "options", "the suite's pytest configuration sets %s: neutralised, for "
			 "they stop tests from running or change what their outcome means "
			 "(docs/options.md)", e->threads);
	snprintf(l->fp.rootdir, sizeof l->fp.rootdir, "%s", e->rootdir);
	snprintf(l->fp.timeout_plugin, sizeof l->fp.timeout_plugin, "%s", e->timeout_plugin);
	if (!s->rootdir[0])
		snprintf(s->rootdir, sizeof s->rootdir, "%s", e->rootdir);
	if (s->suite_timeout_us < 0)
		s->suite_timeout_us = e->suite_timeout_us;
	/* pytest-timeout's --session-timeout becomes mtest's run limit. */
	if (s->o->run_timeout_us < 0 && e->session_timeout_us > 0 &&
	    s->run_deadline_us == MT_NEVER)
		s->run_deadline_us = s->start_us + e->session_timeout_us;
	if (!mt_worker_open_capture(&l->w, 0, (int)e->out_fd) ||
	    !mt_worker_open_capture(&l->w, 1, (int)e->err_fd))
		sup_note(s, "worker", "worker %d: pytest's capture file is not a regular file (%s): "
			 "output of a crashed test will be missing", l->w.num,
			 errno == EINVAL ? "a pipe or a device?" : mt_strerror(errno));
	lane_want(l, MT_W_COLLECTING, s->collect_timeout_us > 0 ?
				       now + s->collect_timeout_us : MT_NEVER);
}

static void ev_collecting(struct sup *s, struct lane *l, const struct mt_event *e, int64_t now)
{
	snprintf(l->collecting_id, sizeof l->collecting_id, "%s",
		 e->id[0] ? e->id : e->what[0] ? e->what : e->path);
	snprintf(l->collecting_path, sizeof l->collecting_path, "%s", e->path);
	/* Only a file or a directory can be left out of the next worker;
	 * a hang in pytest's own collection hooks cannot. */
	l->collecting_file = e->id[0] != '\0';
	l->collect_deadline_us = s->collect_timeout_us > 0 ?
				 now + s->collect_timeout_us : MT_NEVER;
}

/* A file (or a directory, through its conftest) that cannot be collected. */
void sup_collection_error(struct sup *s, struct lane *l, const char *id, const char *path,
			  const char *reason, const char *detail, const char *text)
{
	struct mt_vinfo v = { 0 };
	uint32_t slot = mt_run_find(&s->run, MT_KIND_FILE, id);
	char name[600];

	if (slot != MT_NONE && s->run.t[slot].verdict != MT_V_NONE)
		return;		/* a later worker met it again */
	if (slot == MT_NONE)
		slot = mt_run_add(&s->run, MT_KIND_FILE, id, NULL, path, 0, -1);
	v.verdict = MT_V_COLLECTION_ERROR;
	v.reason = reason;
	v.detail = detail;
	v.worker = l->w.num;
	v.lane = l->idx + 1;
	v.attempt = 1;
	v.end_wall_us = mt_wall_us();
	sup_bundle(s, l, id, &v, text, 0, name, sizeof name);
	if (slot == MT_NONE) {
		v.id = id;
		v.file = id;
		mt_run_decide_unstored(&s->run, MT_KIND_FILE, &v);
		return;
	}
	mt_run_decide(&s->run, slot, &v);
}

/* Leave a file (or a directory) out of later workers. Its tests that are
 * known and still wait will not run: they are not_run, and said so. */
void sup_ignore_path(struct sup *s, struct lane *l, const char *path)
{
	struct mt_vinfo v = { .verdict = MT_V_NOT_RUN, .reason = "its file no longer collects",
			      .attempt = 1 };
	uint32_t i;

	if (!path[0] || sup_ignored(s, path))
		return;
	if (s->nignores >= MT_IGNORES_MAX) {
		sup_note(s, "limit", "cannot leave out %s: MT_IGNORES_MAX reached", path);
		return;
	}
	s->ignore[s->nignores++] = mt_run_intern(&s->run, path);
	for (i = 0; i < s->run.n; i++) {
		const struct mt_test *t = &s->run.t[i];

		if (t->kind == MT_KIND_TEST && t->verdict == MT_V_NONE && t->file != MT_NONE &&
		    !t->started && sup_ignored(s, mt_run_str(&s->run, s->run.f[t->file].abs))) {
			v.worker = l->w.num;
			v.lane = l->idx + 1;
			mt_run_decide(&s->run, i, &v);
		}
	}
}

static void ev_collect_error(struct sup *s, struct lane *l, const struct mt_event *e)
{
	sup_collection_error(s, l, e->id, e->path, e->exc, e->conftest ?
			     "its conftest.py failed to import, which hides every test below it" :
			     "", e->text);
	if (e->initial)
		s->hopeless = 1;	/* pytest cannot start without it */
	else if (e->aborted && e->conftest) {
		/* pytest 7 drops the whole collection for one bad conftest:
		 * collect again without that directory. */
		sup_ignore_path(s, l, e->path);
		l->recollect = 1;
	}
}

/* A test beyond a table or --max-tests: a not_run verdict now, never a slot. */
static void ev_item_over(struct sup *s, const struct mt_event *e, const char *limit)
{
	struct mt_vinfo v = { 0 };

	if (!s->run.limit)
		s->run.limit = limit;
	v.verdict = MT_V_NOT_RUN;
	v.reason = "over a limit";
	v.detail = limit;
	v.id = e->id;
	v.file = e->file;
	mt_run_decide_unstored(&s->run, MT_KIND_TEST, &v);
}

/* Two items of one collection may share a node id (a path given twice
 * with --keep-duplicates, ids that collide once made valid UTF-8): the
 * second is recorded as "<id>#2", the third "<id>#3", in collection order,
 * so that each has its own verdict under an id that is the same in every
 * worker and every run. Returns the slot of that id, or MT_NONE if new. */
static uint32_t unique_slot(struct sup *s, struct lane *l, const char *id, char *out, size_t cap)
{
	uint32_t slot = mt_run_find(&s->run, MT_KIND_TEST, id);
	int k = 1;

	snprintf(out, cap, "%s", id);
	while (slot != MT_NONE && s->run.t[slot].seen_by == l->collection && k < 1000000) {
		snprintf(out, cap, "%s#%d", id, ++k);
		slot = mt_run_find(&s->run, MT_KIND_TEST, out);
	}
	if (k > 1 && !s->dup_noted++)
		sup_note(s, "collection", "items of one collection share a node id (duplicate "
			 "paths, or ids that collide): the second \"%.80s\" is recorded as \"%.90s\"",
			 id, out);
	return slot;
}

/* A test's exclusive groups: its mtest_group markers', and the config's
 * groups whose patterns match its file (as pytest names it, from the
 * rootdir) or its node id. */
static uint32_t test_groups(struct sup *s, const struct mt_event *e, const char *id)
{
	char pat[MT_GROUP_PATTERNS];
	const char *p, *end;
	uint32_t mask = 0;
	size_t n;
	int i;

	for (i = 0; i < e->ngroups; i++)
		mask |= 1u << mt_plan_group(&s->plan, e->groups[i]);
	for (i = 0; i < s->o->ngroups; i++) {
		for (p = s->o->groups[i].patterns; *p; p = end) {
			p += strspn(p, " \t");
			end = p + strcspn(p, " \t");
			n = (size_t)(end - p);
			if (!n || n >= sizeof pat)
				continue;
			memcpy(pat, p, n);
			pat[n] = '\0';
			if (mt_glob_match(pat, e->file) || mt_glob_match(pat, id)) {
				mask |= 1u << mt_plan_group(&s->plan, s->o->groups[i].name);
				break;
			}
		}
	}
	return mask;
}

static void ev_item(struct sup *s, struct lane *l, const struct mt_event *e)
{
	struct mt_worker *w = &l->w;
	uint32_t slot;

	if (e->i > (int64_t)w->nitems && e->i < MT_TESTS_MAX) {
		/* Item lines were lost (the plugin broke its promise of valid
		 * lines): ev_collected will refuse this collection. */
		w->lost_items += (uint32_t)(e->i - w->nitems);
		while (w->nitems < e->i)
			w->map[w->nitems++] = MT_NONE;
	}
	if (e->i < 0 || e->i >= MT_TESTS_MAX || (uint64_t)e->i != w->nitems) {
		if (e->i >= MT_TESTS_MAX && !s->table_closed) {
			s->run.ntests++;
			ev_item_over(s, e, "MT_TESTS_MAX");
		}
		return;
	}
	slot = unique_slot(s, l, e->id, s->item_id, sizeof s->item_id);
	if (slot == MT_NONE && !s->table_closed) {
		if (s->run.ntests >= s->o->max_tests) {
			s->run.ntests++;
			ev_item_over(s, e, s->o->max_tests < MT_TESTS_MAX ? "--max-tests" :
				     "MT_TESTS_MAX");
		} else {
			slot = mt_run_add(&s->run, MT_KIND_TEST, s->item_id, e->file, e->path,
					  (uint32_t)e->line, e->timeout_us);
			if (slot != MT_NONE)
				s->run.t[slot].tier = (uint8_t)mt_tier_of(e->markers, e->nmarkers);
			if (slot == MT_NONE)	/* mt_run_add counted it and named the table */
				ev_item_over(s, e, s->run.limit);
		}
	}
	if (slot != MT_NONE)
		s->run.t[slot].seen_by = l->collection;
	/* A test taken back from a resumed journal learns what the journal
	 * does not keep: its timeout marker, its tier, where its file is. */
	if (slot != MT_NONE && !s->table_closed) {
		s->run.t[slot].timeout_us = e->timeout_us;
		s->run.t[slot].line = (uint32_t)e->line;
		s->run.t[slot].tier = (uint8_t)mt_tier_of(e->markers, e->nmarkers);
		s->run.t[slot].quarantined = (uint8_t)mt_quar_is_in(
			mt_quar_find(&s->quar, mt_run_str(&s->run, s->run.t[slot].id)));
		s->plan.groups[slot] = test_groups(s, e, mt_run_str(&s->run, s->run.t[slot].id));
	}
	if (slot != MT_NONE && s->run.t[slot].file != MT_NONE)
		mt_run_file_abs(&s->run, s->run.t[slot].file, e->path);
	w->map[w->nitems++] = slot;
}

/* The collection in the journal: "items" records, each test as [id,
 * file], ITEMS_PER_RECORD a record (within MT_RECORD_MAX and
 * MT_JSON_TOKENS). A resume takes them back: a test of the stopped run
 * that its new collection lacks is then known, even if it never ran. */
#define ITEMS_PER_RECORD 60

static void record_items(struct sup *s, const struct mt_worker *w)
{
	const struct mt_test *t;
	struct mt_buf *b;
	uint32_t k = 0, n;
	const char *id, *file;

	while (k < w->nitems) {
		b = mt_records_begin(&s->rec, "items");
		mt_buf_puts(b, ",\"tests\":[");
		for (n = 0; k < w->nitems && n < ITEMS_PER_RECORD && b->len < MT_RECORD_MAX / 2; k++) {
			if (w->map[k] == MT_NONE)
				continue;
			t = &s->run.t[w->map[k]];
			id = mt_run_str(&s->run, t->id);
			file = t->file != MT_NONE ? mt_run_str(&s->run, s->run.f[t->file].rel) : "";
			mt_buf_puts(b, n++ ? ",[" : "[");
			mt_buf_json_max(b, id, strlen(id), 8192);
			mt_buf_putc(b, ',');
			mt_buf_json_max(b, file, strlen(file), 8192);
			mt_buf_putc(b, ']');
		}
		mt_buf_putc(b, ']');
		mt_records_end(&s->rec, sup_now(s));
	}
}

/* A resumed run's tests that its collection no longer has (renamed,
 * deleted, their file gone): one without a verdict (never run, or in
 * flight at the stop) is settled once, not_run "no longer in the suite";
 * each is then set apart ("gone" record), counted nowhere. */
static void reconcile(struct sup *s)
{
	struct mt_vinfo v = { .verdict = MT_V_NOT_RUN, .reason = "no longer in the suite",
			      .detail = "the resumed run's collection does not have it", .attempt = 1 };
	struct mt_buf *b;
	uint32_t i, n = 0;

	for (i = 0; i < s->run.n; i++) {
		const struct mt_test *t = &s->run.t[i];

		if (t->kind != MT_KIND_TEST || t->seen_by || t->gone)
			continue;
		if (t->verdict == MT_V_NONE)
			mt_run_decide(&s->run, i, &v);
		b = mt_records_begin(&s->rec, "gone");
		mt_rec_str(b, "id", mt_run_str(&s->run, t->id), 8192);
		mt_records_end(&s->rec, sup_now(s));
		mt_run_gone(&s->run, i);
		n++;
	}
	if (n)
		sup_note(s, "resume", "%u test%s of the stopped run %s no longer in the suite: "
			 "reported apart, counted nowhere", n, n == 1 ? "" : "s", n == 1 ? "is" : "are");
}

/* --budget's plan in the journal: what it chose, why, in the order it
 * runs; "plan" records of at most PLAN_PER_RECORD tests each (within
 * MT_RECORD_MAX and MT_JSON_TOKENS), the first with the totals. */
#define PLAN_PER_RECORD 48

static void record_plan(struct sup *s)
{
	static uint32_t chosen[MT_TESTS_MAX];
	uint32_t n = mt_select_chosen(&s->run, &s->plan, chosen), i = 0, k;
	struct mt_buf *b;
	int part = 0;

	if (s->o->budget_us <= 0)
		return;
	do {
		b = mt_records_begin(&s->rec, "plan");
		mt_rec_int(b, "part", part++);
		if (part == 1) {
			mt_rec_int(b, "budget_us", s->o->budget_us);
			mt_rec_int(b, "predicted_us", s->sel.predicted_us);
			mt_rec_int(b, "chosen", s->sel.kept);
			mt_rec_int(b, "left_out", s->sel.budget_out);
		}
		mt_buf_puts(b, ",\"tests\":[");
		for (k = 0; i < n && k < PLAN_PER_RECORD && b->len < MT_RECORD_MAX / 2; i++, k++) {
			const char *id = mt_run_str(&s->run, s->run.t[chosen[i]].id);

			mt_buf_puts(b, k ? ",[" : "[");
			mt_buf_json_max(b, id, strlen(id), 8192);
			mt_buf_putc(b, ',');
			mt_buf_jsons(b, mt_select_why(s->plan.value[chosen[i]]));
			mt_buf_printf(b, ",%lld]", (long long)(mt_plan_est(&s->plan, &s->run,
									   chosen[i]) / 1000));
		}
		mt_buf_putc(b, ']');
		if (i < n)
			mt_buf_puts(b, ",\"more\":true");
		mt_records_end(&s->rec, sup_now(s));
	} while (i < n);
}

/* The exclusive groups, once: how many tests each holds. */
static void note_groups(struct sup *s)
{
	uint32_t count[MT_GROUPS_MAX] = { 0 }, i;
	char text[MT_EVENT_TEXT_MAX];
	struct mt_buf b;
	int g, n = 0;

	for (i = 0; i < s->run.n; i++)
		for (g = 0; g < MT_GROUPS_MAX; g++)
			count[g] += s->run.t[i].kind == MT_KIND_TEST && (s->plan.groups[i] >> g & 1);
	mt_buf_init(&b, text, sizeof text, -1);
	for (g = 0; g < MT_GROUPS_MAX; g++)
		if (count[g])
			mt_buf_printf(&b, "%s%s (%u test%s)", n++ ? ", " : "", s->plan.group_name[g],
				      count[g], count[g] == 1 ? "" : "s");
	if (n)
		sup_note(s, "plan", "exclusive group%s, each on one lane at a time: %s%s", n == 1 ? "" : "s",
			 text, s->plan.groups_over ? "; more groups than MT_GROUPS_MAX share the last" : "");
}

/* Once the suite is collected: each test's expected duration from the
 * history, then --tier, --shard and --budget (docs/planning.md). */
static void plan_run(struct sup *s, int64_t now)
{
	const struct mt_opts *o = s->o;
	struct mt_selection *sel = &s->sel;
	uint32_t i;

	for (i = 0; i < s->run.n; i++)
		if (s->run.t[i].kind == MT_KIND_TEST)
			mt_plan_expect(&s->plan, i, mt_history_estimate(
					       mt_history_find(&s->hist, mt_run_str(&s->run, s->run.t[i].id))));
	mt_plan_means(&s->plan, &s->run);
	if (s->hist.start_us > 0)
		s->plan.start_us = s->hist.start_us;
	/* For the next run's plan: how long the first worker took. */
	s->hist.start_us = now - s->start_us;
	mt_select(&s->run, &s->plan, &s->hist, o, sel);
	record_plan(s);
	if (sel->tier_out || sel->shard_out || sel->budget_out)
		sup_note(s, "plan", "%u tests to run; left out: %u by --tier %d-%d, %u in other "
			 "shards, %u by --budget", sel->kept, sel->tier_out, o->tier_lo, o->tier_hi,
			 sel->shard_out, sel->budget_out);
	note_groups(s);
	if (o->budget_us > 0 && s->start_us + o->budget_us < s->run_deadline_us) {
		/* The plan fits the budget; the clock makes sure. */
		s->run_deadline_us = s->start_us + o->budget_us;
		s->budget_deadline = 1;
	}
	(void)now;
}

static void ev_collected(struct sup *s, struct lane *l, const struct mt_event *e, int64_t now)
{
	struct mt_worker *w = &l->w;
	struct mt_buf *b;
	uint32_t k, slot;

	l->collecting_id[0] = '\0';
	l->collect_deadline_us = MT_NEVER;
	if (w->lost_items || (int64_t)w->nitems != (e->n < MT_TESTS_MAX ? e->n : MT_TESTS_MAX)) {
		/* Tests mtest never heard of could get no verdict: refuse to
		 * pretend otherwise. */
		sup_fatal(s, MT_EXIT_INTERNAL, "worker %d collected %lld tests, but mtest read %u "
			  "of them: event lines were lost", w->num, (long long)e->n,
			  w->nitems - w->lost_items);
		return;
	}
	if (l->recollect) {
		/* This collection is incomplete: let the worker go. */
		l->recollect = 0;
		lane_want(l, MT_W_STOPPING, now + MT_DEFAULT_TIMEOUT_US);
		mt_worker_send(w, "e\n", 2);
		w->ended = 1;
		return;
	}
	if (!s->table_closed) {
		s->table_closed = 1;
		/* The collection in the journal, for a resume; a resumed run's
		 * tests the suite no longer has are settled apart. */
		record_items(s, w);
		if (s->o->resume_run)
			reconcile(s);
		/* The table is known: what to run, then every lane's share,
		 * this one's first. */
		plan_run(s, now);
		mt_plan_assign(&s->plan, &s->run, (1u << s->nlanes) - 1);
		s->collected = (uint32_t)e->n;
		s->deselected = (uint32_t)e->deselected;
		b = mt_records_begin(&s->rec, "collected");
		mt_rec_int(b, "tests", e->n);
		mt_rec_int(b, "deselected", e->deselected);
		mt_rec_int(b, "files", s->run.nf);
		mt_rec_int(b, "collection_errors", s->run.nfiles_bad);
		mt_records_end(&s->rec, now);
	}
	if (zyg_is(s, l)) {
		/* It never runs a test: it says whether it forks (zyg_said). */
		lane_want(l, MT_W_RUNNING, MT_NEVER);
		return;
	}
	/* The worker waits for its first tests: the baseline of its dirt. */
	sup_dirt_baseline(s, l, (long)e->cursor);
	w->qlen = 0;
	for (k = 0; k < w->nitems; k++) {
		slot = w->map[k];
		if (slot == MT_NONE)
			continue;
		if (s->rechecking ? slot == s->rc[s->rc_index].slot :
		    mt_plan_waiting(&s->run, slot) && s->plan.lane[slot] == l->idx)
			w->queue[w->qlen++] = k;
		if (s->rechecking && w->qlen)
			break;
	}
	if (!s->rechecking)
		mt_plan_order(&s->plan, &s->run, w->map, w->queue, w->qlen);
	/* Running: its first tests go as it enters the state (lane_decide). */
	lane_want(l, MT_W_RUNNING, MT_NEVER);
}

/* A worker that holds work and has no test in flight must start the next
 * one soon: it is watched like a test, with the next test's timeout. */
void sup_idle_arm(struct sup *s, struct lane *l, int64_t now)
{
	struct mt_worker *w = &l->w;
	int64_t t;

	l->idle_deadline_us = MT_NEVER;
	/* (A worker whose next test waits for a group waits for mtest: its
	 * last test sent starts once the one after it is known.) */
	if (w->state != MT_W_RUNNING || l->cur.slot != MT_NONE || w->qdone >= w->qsent ||
	    l->group_wait)
		return;
	t = w->map[w->queue[w->qdone]] != MT_NONE ? test_timeout(s, w->map[w->queue[w->qdone]]) :
	    MT_DEFAULT_TIMEOUT_US;
	l->idle_deadline_us = now + (t > 0 ? t : MT_DEFAULT_TIMEOUT_US);
}

/* The test in flight when its worker moved on without a word of its end
 * (event lines were lost): what is known of it, and that its end is not. */
static void settle_lost(struct sup *s, struct lane *l, const char *what)
{
	char detail[MT_DETAIL_MAX + 128];

	snprintf(detail, sizeof detail, "worker %d %s before it reported the end of this test; "
		 "event lines were lost", l->w.num, what);
	sup_settle(s, l, MT_V_ERROR, "outcome lost", detail, 0);
	l->w.qdone++;
}

/* The queue position the worker must be at: the item it was sent next. */
/* A worker's stamp (its CLOCK_MONOTONIC at a start or done) on sup_now()'s
 * clock, or -1 for none or one that makes no sense. */
static int64_t worker_stamp(const struct sup *s, int64_t mono_us)
{
	int64_t ago = mono_us > 0 ? mt_now_us() - mono_us : -1;

	return ago >= 0 && ago < MT_STAMP_AGE_MAX_US ? mono_us - s->paused_us : -1;
}

static int expected_item(const struct lane *l, uint32_t k, int64_t i)
{
	return k < l->w.qsent && (int64_t)l->w.queue[k] == i;
}

static void ev_start(struct sup *s, struct lane *l, const struct mt_event *e, int64_t now)
{
	struct inflight *c = &l->cur;
	struct mt_worker *w = &l->w;
	uint32_t slot;

	/* A worker being killed may still start its next test (its SIGTERM
	 * handler failed the hung one): that test never ran under mtest. */
	if (w->state != MT_W_RUNNING)
		return;
	if (!expected_item(l, w->qdone + (c->slot != MT_NONE), e->i) ||
	    w->map[e->i] == MT_NONE) {
		w->rejected++;
		sup_note(s, "protocol", "worker %d: a start for a test it was not sent next "
			 "(item %lld) was rejected", w->num, (long long)e->i);
		return;
	}
	if (c->slot != MT_NONE)
		settle_lost(s, l, "started the next test");
	slot = w->map[e->i];
	sup_inflight_reset(l);
	c->slot = slot;
	s->run.t[slot].started = 1;
	if (!s->rechecking)
		s->run.t[slot].start_us = now;
	c->start_us = now;
	c->stamp_start_us = worker_stamp(s, e->mono_us);
	/* Read late when events gather (coalesce): the worker's stamp says
	 * when it started. */
	c->start_wall_us = mt_wall_us() - (c->stamp_start_us > 0 && now > c->stamp_start_us ?
					   now - c->stamp_start_us : 0);
	c->timeout_us = test_timeout(s, slot);
	c->deadline_us = c->timeout_us > 0 ? now + c->timeout_us : MT_NEVER;
	l->idle_deadline_us = MT_NEVER;
	sup_watch_reset(s, l, now);
	mt_dirt_test_start(&l->dirt, (long)e->cursor);
	sup_dirt_test_start(s, l);
	mt_progress_start(&s->prog, &s->run, l->idx, slot, now);
	sup_kmsg_start(s, l, mt_run_str(&s->run, s->run.t[slot].id), e->mono_us, now);
	/* So that a resumed run knows what was in flight when this one
	 * stopped. */
	{
		struct mt_buf *b = mt_records_begin(&s->rec, "start");

		mt_rec_str(b, "id", mt_run_str(&s->run, s->run.t[slot].id), 8192);
		mt_rec_str(b, "file", s->run.t[slot].file != MT_NONE ?
			   mt_run_str(&s->run, s->run.f[s->run.t[slot].file].rel) : "", 4096);
		mt_rec_int(b, "lane", l->idx + 1);
		mt_records_end(&s->rec, now);
	}
}

/* Is this event about the test in flight? Else it is rejected, and said. */
static int about_inflight(struct sup *s, struct lane *l, const struct mt_event *e, const char *what)
{
	struct mt_worker *w = &l->w;

	if (l->cur.slot != MT_NONE && expected_item(l, w->qdone, e->i))
		return 1;
	w->rejected++;
	sup_note(s, "protocol", "worker %d: a %s event for a test it is not running (item %lld) "
		 "was rejected", w->num, what, (long long)e->i);
	return 0;
}

/* The last `max` bytes of text, starting on a line. */
static void keep_tail(char *out, size_t max, const char *text)
{
	size_t n = strlen(text);
	const char *p = text;

	if (n >= max) {
		p = text + n - (max - 1);
		while (*p && (*p & 0xc0) == 0x80)
			p++;
		if (strchr(p, '\n'))
			p = strchr(p, '\n') + 1;
	}
	snprintf(out, max, "%s", p);
}

static void ev_phase(struct sup *s, struct lane *l, const struct mt_event *e)
{
	struct inflight *c = &l->cur;
	static const char *const when[] = { "setup", "call", "teardown" };

	if (e->phase < 0 || !about_inflight(s, l, e, "phase"))
		return;
	c->ph.outcome[e->phase] = (unsigned char)e->outcome;
	c->ph.wasxfail[e->phase] = (unsigned char)e->wasxfail;
	snprintf(c->ph.exc[e->phase], sizeof c->ph.exc[0], "%s", e->exc);
	if (e->skip[0])
		snprintf(c->ph.skip, sizeof c->ph.skip, "%s", e->skip);
	if (e->wasxfail)
		snprintf(c->ph.xfail, sizeof c->ph.xfail, "%s", e->xfail);
	if (e->outcome != MT_O_FAILED)
		return;
	if (!c->crash[0])
		snprintf(c->crash, sizeof c->crash, "%s", e->crash);
	if (!c->tb[0])
		keep_tail(c->tb, sizeof c->tb, e->text);
	mt_buf_printf(&c->fb, "--- %s failed ---\n%s\n", when[e->phase], e->text);
	if (e->out[0])
		mt_buf_printf(&c->fb, "--- captured stdout ---\n%s\n", e->out);
	if (e->err[0])
		mt_buf_printf(&c->fb, "--- captured stderr ---\n%s\n", e->err);
	if (e->log[0])
		mt_buf_printf(&c->fb, "--- captured log ---\n%s\n", e->log);
}

/* Returns 1 if the done was the test in flight's and was taken. */
static int ev_done(struct sup *s, struct lane *l, const struct mt_event *e, int64_t now)
{
	struct inflight *c = &l->cur;
	char reason[MT_REASON_MAX + 16], extra[MT_REASON_MAX + 32], detail[MT_DETAIL_MAX + 64];
	uint32_t slot = c->slot;
	enum mt_verdict v;

	if (l->w.state != MT_W_RUNNING || !about_inflight(s, l, e, "done"))
		return 0;
	/* Helpers it saw die before this done died while the test ran. */
	sup_dirt_gone(s, l, e, slot);
	if (e->mono_us > 0)
		l->kern.until_us = e->mono_us;	/* the kernel's lines up to here are its */
	c->stamp_end_us = worker_stamp(s, e->mono_us);
	c->mem_kib = e->mem_kib;
	v = mt_verdict_of(&c->ph, reason, sizeof reason, extra, sizeof extra);
	if (extra[0])
		snprintf(detail, sizeof detail, "%s (%s)", c->crash, extra);
	else
		snprintf(detail, sizeof detail, "%s", c->crash);
	sup_settle(s, l, v, reason, detail, 0);
	l->w.qdone++;
	sup_dirt_test_end(s, l, slot, (long)e->cursor, now);
	sup_idle_arm(s, l, now);
	sup_top_up(s, l);
	return 1;
}

static void ev_exit(struct sup *s, struct lane *l, const struct mt_event *e, int64_t now)
{
	int64_t grace = s->o->kill_grace_us > MT_SESSION_END_US ? s->o->kill_grace_us :
			MT_SESSION_END_US;

	l->exit_event = 1;
	snprintf(l->exit_msg, sizeof l->exit_msg, "%s: %s",
		 strcmp(e->exc, "Exit") == 0 ? "pytest.exit" : e->exc, e->text);
	l->exit_is_pytest_exit = strcmp(e->exc, "Exit") == 0;
	/* The session is ending: the test's timeout no longer applies (a slow
	 * box's teardown is not a hang); the worker gets a bound to exit in. */
	if (l->w.state == MT_W_RUNNING && !l->watch.helper)
		lane_want(l, MT_W_STOPPING, now + grace);
}

/* A protocol problem, shown once per kind and worker; the counts go into
 * the worker's end note. */
static void protocol_note(struct sup *s, struct lane *l, uint32_t *count, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void protocol_note(struct sup *s, struct lane *l, uint32_t *count, const char *fmt, ...)
{
	char text[MT_EVENT_TEXT_MAX];
	va_list ap;

	if ((*count)++)
		return;
	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	sup_note(s, "protocol", "worker %d: %s", l->w.num, text);
}

/* Malformed lines seen by the deframer since the last look. */
void sup_protocol_check(struct sup *s, struct lane *l)
{
	struct mt_worker *w = &l->w;
	char sample[64];

	if (w->bad_lines == w->bad_shown)
		return;
	if (!w->bad_shown) {
		snprintf(sample, sizeof sample, "%s", w->sample);
		sup_note(s, "protocol", "worker %d wrote a malformed line on its event pipe, "
			 "rejected: \"%s%s\"", w->num, sample, w->sample_len >= sizeof sample - 1 ?
			 "..." : "");
	}
	w->bad_shown = w->bad_lines;
}

/* Lines without a sequence number: only these, from writers that are not
 * the plugin (the crash handler, mtest's own child, the boot module). */
static int unsequenced(enum mt_ev t)
{
	return t == MT_EV_FATAL || t == MT_EV_EXECFAIL || t == MT_EV_NOPYTEST;
}

/* The sequence: each plugin line is the next one. A number from the past
 * is a forgery or a replay; one from the future means lines were lost. */
static int in_sequence(struct sup *s, struct lane *l, const struct mt_event *e)
{
	struct mt_worker *w = &l->w;

	if (unsequenced(e->type))
		return 1;
	if (e->seq < 0) {
		w->rejected++;
		sup_note(s, "protocol", "worker %d: an event line without a sequence number "
			 "was rejected (not the plugin's)", w->num);
		return 0;
	}
	if (e->seq < w->next_seq) {
		w->rejected++;
		sup_note(s, "protocol", "worker %d: an event out of sequence (%lld, expected %lld) "
			 "was rejected", w->num, (long long)e->seq, (long long)w->next_seq);
		return 0;
	}
	if (e->seq > w->next_seq) {
		w->lost_lines += (uint32_t)(e->seq - w->next_seq);
		sup_note(s, "protocol", "worker %d: %lld event lines were lost", w->num,
			 (long long)(e->seq - w->next_seq));
	}
	w->next_seq = e->seq + 1;
	return 1;
}

/* One event line of a lane's worker: what it says goes into the run, and
 * what it means for the worker's state is left in l->found (lane.c). */
void sup_event(struct sup *s, struct lane *l, char *line, size_t len)
{
	struct mt_worker *w = &l->w;
	struct mt_event *e = &s->ev;
	int64_t now = sup_now(s);
	enum mt_ev type = mt_event_parse(e, line, len, w->token);

	sup_protocol_check(s, l);
	if (type == MT_EV_BAD) {
		w->bad_lines++;
		snprintf(w->sample, sizeof w->sample, "%.*s", (int)(len < 70 ? len : 70), line);
		w->sample_len = strlen(w->sample);
		sup_protocol_check(s, l);
		return;
	}
	if (type == MT_EV_FOREIGN) {
		protocol_note(s, l, &w->rejected, "an event with another token was rejected");
		return;
	}
	if (!in_sequence(s, l, e))
		return;
	switch (type) {
	case MT_EV_HELLO: ev_hello(s, l, e); break;
	case MT_EV_CONFIG: ev_config(s, l, e, now); break;
	case MT_EV_COLLECTING: ev_collecting(s, l, e, now); break;
	case MT_EV_COLLECT_ERROR: ev_collect_error(s, l, e); break;
	case MT_EV_ITEM: ev_item(s, l, e); break;
	case MT_EV_COLLECTED: ev_collected(s, l, e, now); break;
	case MT_EV_START:
		/* Deaths the plugin saw before this start came between tests. */
		sup_dirt_gone(s, l, e, MT_NONE);
		ev_start(s, l, e, now);
		break;
	case MT_EV_PHASE: ev_phase(s, l, e); break;
	case MT_EV_DONE:
		ev_done(s, l, e, now);
		/* --fail-fast: nothing after this test may start. */
		if (s->fail_fast_due && s->stop == STOP_NONE && s->table_closed) {
			sup_note(s, "run", "--fail-fast: a test failed; the rest is not run");
			sup_stop(s, STOP_FAIL_FAST, "fail-fast", now);
		}
		break;
	case MT_EV_FENCE: sup_fence(s, l); break;
	case MT_EV_EXIT: ev_exit(s, l, e, now); break;
	case MT_EV_BYE:
		snprintf(l->holders, sizeof l->holders, "%s", e->threads);
		if (w->state != MT_W_KILLING) {
			lane_want(l, MT_W_STOPPING, now + (s->o->kill_grace_us > 0 ?
							    s->o->kill_grace_us : MT_EXIT_GRACE_US));
		}
		break;
	case MT_EV_NOPYTEST:
		sup_fatal(s, MT_EXIT_USAGE, "%s (from %s) cannot run pytest: %s", s->o->python,
			  s->o->python_how, e->text);
		break;
	case MT_EV_EXECFAIL:
		sup_fatal(s, MT_EXIT_USAGE, "cannot run %s (from %s): %s", s->o->python,
			  s->o->python_how, mt_strerror((int)e->err_no));
		break;
	case MT_EV_WARN:
		sup_note(s, "plugin", "worker %d: %s", w->num, e->text);
		break;
	case MT_EV_THREAD:
		mt_names_set(&l->names, (pid_t)e->tid, e->name, e->daemon);
		break;
	case MT_EV_FIXTURE:
		mt_dirt_fixture(&l->dirt, e->key, e->name, e->scope, e->tids, e->ntids, e->pids,
				e->pid_starts, e->cmds, e->npids);
		break;
	case MT_EV_FIXTURE_END:
		mt_dirt_fixture_end(&l->dirt, e->key, l->cur.slot);
		break;
	case MT_EV_FATAL:
		l->crash_tid = (pid_t)e->tid;
		l->crash_sig = (int)e->sig;
		break;
	case MT_EV_ZYGOTE:
		if (zyg_is(s, l))
			zyg_said(s, e, now);
		break;
	case MT_EV_FORKED:
		if (zyg_is(s, l))
			zyg_forked(s, e);
		break;
	default:
		break;
	}
}
