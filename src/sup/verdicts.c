/* mtest: verdicts, records, bundles and notes; stopping the run
 * (src/sup/sup.h tells how the supervisor is cut). */
#include "sup.h"

/* Texts read at a hang or a crash for its bundle, just before it is
 * written (scratch: one bundle at a time). */
static char cap_out[MT_TAIL_MAX + 1], cap_err[MT_TAIL_MAX + 1];
static char console_tail[MT_TAIL_MAX + 1];

/* ---- notes, bundles and verdicts ------------------------------------- */

void sup_note(struct sup *s, const char *what, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

void sup_note(struct sup *s, const char *what, const char *fmt, ...)
{
	char text[MT_EVENT_TEXT_MAX];
	struct mt_buf *b;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	mt_notes_add(&s->notes, what, text);
	b = mt_records_begin(&s->rec, "event");
	mt_rec_str(b, "what", what, 64);
	mt_rec_str(b, "text", text, 2048);
	mt_records_end(&s->rec, sup_now(s));
	mt_progress_note(&s->prog, text);
}

/* The record of a verdict, and its progress line: run.c calls this once
 * per test, from mt_run_decide. */
void sup_on_verdict(void *ctx, struct mt_run *r, uint32_t slot, const struct mt_vinfo *v)
{
	struct sup *s = ctx;
	const struct mt_test *t = slot != MT_NONE ? &r->t[slot] : NULL;
	const char *id = t ? mt_run_str(r, t->id) : v->id;
	const char *file = t && t->file != MT_NONE ? mt_run_str(r, r->f[t->file].rel) : v->file;
	struct mt_buf *b = mt_records_begin(&s->rec, "test");
	int64_t now = sup_now(s);

	mt_rec_str(b, "id", id, 8192);
	if (t && t->kind == MT_KIND_FILE)
		mt_rec_str(b, "kind", "file", 8);
	mt_rec_str(b, "file", file, 4096);
	if (t)
		mt_rec_int(b, "line", t->line);
	mt_rec_str(b, "verdict", mt_verdict_name(v->verdict), 32);
	mt_rec_str(b, "reason", v->reason, 1024);
	if (v->detail && *v->detail)
		mt_rec_str(b, "detail", v->detail, 2048);
	if (v->tbtail && *v->tbtail)
		mt_rec_str(b, "tb", v->tbtail, 6144);
	mt_rec_secs(b, "duration", v->duration_us);
	if (v->mem_kib > 0)
		mt_rec_int(b, "mem_peak_kib", v->mem_kib);
	if (v->start_wall_us)
		mt_rec_time(b, "start", v->start_wall_us);
	mt_rec_time(b, "end", v->end_wall_us ? v->end_wall_us : mt_wall_us());
	mt_rec_int(b, "worker", v->worker);
	if (v->lane)
		mt_rec_int(b, "lane", v->lane);
	mt_rec_int(b, "attempt", v->attempt ? v->attempt : 1);
	if (v->bundle && *v->bundle)
		mt_rec_str(b, "bundle", v->bundle, 2048);
	if (v->capture && *v->capture)
		mt_rec_str(b, "capture", v->capture, 2048);
	if (v->planned)
		mt_buf_puts(b, ",\"planned\":true");
	if (t && t->quarantined)
		mt_buf_puts(b, ",\"quarantined\":true");
	if (t && t->resumed)
		mt_buf_puts(b, ",\"resumed\":true");	/* in flight when the run stopped */
	if (v->kernel_lines) {
		mt_buf_puts(b, ",\"kernel\":{");
		mt_buf_printf(b, "\"lines\":%u", v->kernel_lines);
		mt_buf_puts(b, ",\"worst\":");
		mt_buf_jsons(b, v->kernel_kind ? v->kernel_kind : "");
		mt_buf_puts(b, ",\"line\":");
		mt_buf_json_max(b, v->kernel_line ? v->kernel_line : "",
				v->kernel_line ? strlen(v->kernel_line) : 0, 512);
		mt_buf_putc(b, '}');
	}
	if (v->tainted)
		mt_rec_str(b, "tainted", v->tainted, 512);
	if (v->started) {
		mt_rec_str(b, "started", v->started, 16);
		if (v->dirty_event)
			mt_rec_int(b, "dirty_event", v->dirty_event);
	}
	mt_records_end(&s->rec, now);
	mt_progress_verdict(&s->prog, r, slot, id, v, now);
	if (s->o->lava) {
		char line[4 * 512];
		struct mt_buf lb;
		struct mt_lava_why w = { v->verdict, v->reason, v->detail };

		mt_buf_init(&lb, line, sizeof line, -1);
		mt_lava_verdict(&s->lava, &lb, id, t && t->kind == MT_KIND_FILE ? NULL : file ? file : "",
				&w, v->planned, v->duration_us);
		mt_progress_signal(&s->prog, lb.p, lb.len);
	}
	/* Acted on in the loop: a stop from inside a verdict would settle
	 * the test being decided a second time. */
	if (s->o->fail_fast && mt_verdict_is_bad(v->verdict) && !s->rechecking)
		s->fail_fast_due = 1;
}

/* Was the lane's worker (or a process of its leaf) killed by the kernel's
 * OOM killer? Then the detail says whose limit was hit and the peak:
 * "lane limit 512 MiB, peak 511 MiB"; the peak (KiB) goes to the test. */
int sup_oom(struct sup *s, struct lane *l, char *detail, size_t cap)
{
	struct mt_cg_mem m;
	int lane_limit, run_limit, leaf = lane_leaf(s, l);
	char lim[32], peak[32];

	if (!mt_cgroup_held(&s->cg) ||
	    !mt_cgroup_oom_since(&s->cg, leaf, &lane_limit, &run_limit) ||
	    !mt_cgroup_mem(&s->cg, run_limit ? MT_CG_RUN : leaf, &m))
		return 0;
	mt_size_text(m.max, lim, sizeof lim);
	mt_size_text(m.peak, peak, sizeof peak);
	if (lane_limit || run_limit)
		snprintf(detail, cap, "%s limit %s, peak %s", lane_limit ? "lane" : "run", lim, peak);
	else
		snprintf(detail, cap, "the machine's memory ran out, lane peak %s", peak);
	if (m.peak > 0 && l->cur.slot != MT_NONE)
		l->cur.mem_kib = m.peak / 1024;
	return 1;
}

/* Write the bundle of a bad verdict, or of a test the kernel spoke in
 * (a warning, an oops, a driver's error, the taint), and point the
 * verdict at it. */
void sup_bundle(struct sup *s, struct lane *l, const char *id, struct mt_vinfo *v, const char *failure,
		int with_inflight_output, char *name, size_t cap)
{
	struct mt_bundle b = { 0 };
	char rel[600], file[512], memory[96], peak[32], lim[32];
	int kern = l->cur.slot != MT_NONE && l->kern.taken;

	if (!mt_verdict_is_bad(v->verdict) && !(kern && sup_kmsg_said(l)))
		return;
	if (kern) {
		b.tainted = l->kern.taint[0] ? l->kern.taint : NULL;
		b.kernel_head = l->kern.head[0] ? l->kern.head : NULL;
		b.kernel = l->kmsg.lines ? l->kmsg.text : NULL;
	}
	if (v->mem_kib > 0) {
		int limited = s->o->lane_memory_max > 0 && mt_cgroup_held(&s->cg) &&
			      (s->cg.have & MT_CG_MEMORY);

		mt_size_text(v->mem_kib * 1024, peak, sizeof peak);
		mt_size_text(s->o->lane_memory_max, lim, sizeof lim);
		snprintf(memory, sizeof memory, "peak %s%s%s%s", peak, limited ? " (lane limit " : "",
			 limited ? lim : "", limited ? ")" : "");
		b.memory = memory;
	}
	mt_bundle_name(id, file, sizeof file);
	snprintf(rel, sizeof rel, "failures/%s", file);
	b.id = id;
	b.verdict = mt_verdict_name(v->verdict);
	b.reason = v->reason;
	b.detail = v->detail;
	b.duration_us = v->duration_us;
	b.timeout_us = l->cur.slot != MT_NONE ? l->cur.timeout_us : 0;
	b.start_wall_us = v->start_wall_us ? v->start_wall_us : mt_wall_us();
	b.worker = v->worker;
	b.attempt = v->attempt ? v->attempt : 1;
	b.pid = l->w.pid;
	b.failure = failure;
	if (with_inflight_output) {
		b.cap_out = cap_out;
		b.cap_err = cap_err;
	}
	mt_ring_tail(&l->w.console, console_tail, sizeof console_tail);
	b.console = console_tail;
	b.stacks_path = l->capture_for_bundle;
	b.fp = &l->fp;
	if (!mt_bundle_write(s->sd.run_fd, rel, &b)) {
		sup_note(s, "bundle", "cannot write bundle %s/%s: %s", s->sd.run, rel,
			 mt_strerror(errno));
		return;
	}
	snprintf(name, cap, "failures/%s", file);
	v->bundle = name;
}

/* Output of the test in flight, from pytest's capture files: read before
 * a kill, or after a death (mtest holds the files open). */
void sup_read_output(struct lane *l)
{
	cap_out[0] = cap_err[0] = '\0';
	if (l->w.cap_fd[0] >= 0 && mt_read_tail(l->w.cap_fd[0], cap_out, MT_TAIL_MAX) < 0)
		cap_out[0] = '\0';
	if (l->w.cap_fd[1] >= 0 && mt_read_tail(l->w.cap_fd[1], cap_err, MT_TAIL_MAX) < 0)
		cap_err[0] = '\0';
}

void sup_inflight_reset(struct lane *l)
{
	struct inflight *c = &l->cur;

	c->slot = MT_NONE;
	c->deadline_us = MT_NEVER;
	c->mem_kib = -1;
	c->stamp_start_us = c->stamp_end_us = -1;
	mt_phases_reset(&c->ph);
	c->crash[0] = c->tb[0] = '\0';
	mt_buf_init(&c->fb, c->fail, sizeof c->fail, -1);
	l->watch.next_us = MT_NEVER;
}

/* Stacks that --capture-after took of a test that then ended: kept in
 * last-run/captures/ (a hung test's go into its bundle instead); stacks of
 * a likely deadlock that came to nothing are dropped. */
void sup_keep_capture(struct sup *s, struct lane *l, const char *id, struct mt_vinfo *v, char *name,
		      size_t cap)
{
	struct watch *wt = &l->watch;
	char file[512], path[600];

	if (!wt->kept[0])
		return;
	if (wt->after_captured) {
		mt_bundle_name(id, file, sizeof file);
		if (mkdirat(s->sd.run_fd, "captures", 0755) == 0 || errno == EEXIST) {
			snprintf(path, sizeof path, "captures/%s", file);
			if (renameat(AT_FDCWD, wt->kept, s->sd.run_fd, path) == 0) {
				snprintf(name, cap, "captures/%s", file);
				v->capture = name;
			}
		}
	}
	unlink(wt->kept);	/* gone already if it was moved */
	wt->kept[0] = '\0';
}

/* Give the test in flight its verdict, with a bundle when it is bad. */
void sup_settle(struct sup *s, struct lane *l, enum mt_verdict verdict, const char *reason,
		const char *detail, int with_output)
{
	struct inflight *c = &l->cur;
	struct mt_vinfo v = { 0 };
	char name[600], capname[600];
	int64_t now = sup_now(s);
	const char *id;

	if (c->slot == MT_NONE)
		return;
	v.verdict = verdict;
	v.reason = reason;
	v.detail = detail && *detail ? detail : c->crash;
	v.tbtail = c->tb;
	v.duration_us = now - c->start_us;
	v.start_wall_us = c->start_wall_us;
	v.end_wall_us = mt_wall_us();
	/* Its done came: the worker's own stamps are exact, where mtest's
	 * reading of the events may be a coalescing window late (a pause
	 * between them counts, as on mtest's clock, for nothing). */
	if (c->stamp_start_us > 0 && c->stamp_end_us >= c->stamp_start_us) {
		v.duration_us = c->stamp_end_us - c->stamp_start_us;
		if (now >= c->stamp_end_us)
			v.end_wall_us -= now - c->stamp_end_us;
		/* The lane's pace, for how long its events may gather. */
		l->test_avg_us = l->test_avg_us ? (7 * l->test_avg_us + v.duration_us) / 8 + 1 :
				 v.duration_us + 1;
	}
	v.worker = l->w.num;
	v.lane = l->idx + 1;
	v.attempt = 1;
	/* Stopped by the budget while it ran: left out by the plan, as the
	 * tests after it (not a run cut short: exit code 0 or 1, not 6). */
	v.planned = verdict == MT_V_NOT_RUN && s->stop == STOP_BUDGET;
	v.started = c->started;
	v.dirty_event = c->started_event;
	/* The kernel's word on it. */
	sup_kmsg_collect(s, l);
	v.kernel_lines = l->kmsg.lines + l->kmsg.dropped;
	v.kernel_kind = v.kernel_lines ? mt_kmsg_kind_name(l->kmsg.worst) : NULL;
	v.kernel_line = l->kmsg.worst_line;
	v.tainted = l->kern.taint[0] ? l->kern.taint : NULL;
	id = mt_run_str(&s->run, s->run.t[c->slot].id);
	v.mem_kib = c->mem_kib;
	if (s->rechecking) {
		sup_recheck_result(s, &v);
		sup_kmsg_end(s, l, id, mt_verdict_name(verdict), now);
		sup_inflight_reset(l);
		return;
	}
	sup_bundle(s, l, id, &v, c->fail, with_output, name, sizeof name);
	sup_keep_capture(s, l, id, &v, capname, sizeof capname);
	mt_run_decide(&s->run, c->slot, &v);
	if (sup_kmsg_said(l))
		sup_note(s, "kernel", "%.300s (%s): the kernel said %s%s%s", id, mt_verdict_name(verdict),
			 l->kern.summary[0] ? l->kern.summary : "nothing",
			 l->kern.taint[0] ? "; it tainted the kernel: " : "", l->kern.taint);
	sup_kmsg_end(s, l, id, mt_verdict_name(verdict), now);
	mt_plan_done(&s->plan, &s->run, c->slot);
	sup_inflight_reset(l);
}

/* ---- rechecks' results ------------------------------------------------- */

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
void sup_recheck_result(struct sup *s, const struct mt_vinfo *v)
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
	mt_records_end(&s->rec, sup_now(s));
	r->v[s->rc_attempt] = (unsigned char)v->verdict;
	mt_progress_note(&s->prog, mt_verdict_name(v->verdict));
	if (++s->rc_attempt < 2)
		return;
	cls = recheck_class(r);
	t->recheck = mt_run_intern(&s->run, cls);
	b = mt_records_begin(&s->rec, "recheck_class");
	mt_rec_str(b, "id", id, 8192);
	mt_rec_str(b, "class", cls, 32);
	mt_records_end(&s->rec, sup_now(s));
	s->rc_attempt = 0;
	s->rc_index++;
}

/* ---- stopping and killing --------------------------------------------- */

void sup_stop(struct sup *s, enum stop why, const char *reason, int64_t now)
{
	struct lane *l;

	if (s->stop != STOP_NONE)
		return;
	s->stop = why;
	s->stop_reason = reason;
	/* The tests in flight did not fail: the run was stopped around them. */
	FOR_LANES(s, l) {
		sup_settle(s, l, MT_V_NOT_RUN, reason, NULL, 0);
		lane_want_end(l, reason);	/* lanes_decide ends them */
	}
	(void)now;
}

void sup_fatal(struct sup *s, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

void sup_fatal(struct sup *s, int code, const char *fmt, ...)
{
	va_list ap;

	if (s->stop == STOP_FATAL)
		return;
	va_start(ap, fmt);
	vsnprintf(s->fatal, sizeof s->fatal, fmt, ap);
	va_end(ap);
	mt_msg("%s", s->fatal);
	s->exit_code = code;
	s->stop = STOP_NONE;	/* a fatal error outranks any earlier stop */
	sup_stop(s, STOP_FATAL, "fatal error", sup_now(s));
}
