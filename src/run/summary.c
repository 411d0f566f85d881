/* mtest: summary rendering. */
#include "mtest/run/summary.h"

#include <stdio.h>
#include <string.h>

#include "mtest/base/clock.h"

#define WIDTH 80
#define TB_LINES 6

void mt_notes_add(struct mt_notes *ns, const char *what, const char *text)
{
	struct mt_note *n;

	if (ns->len >= MT_EVENTS_MAX) {
		ns->dropped++;
		return;
	}
	n = &ns->n[ns->len++];
	snprintf(n->what, sizeof n->what, "%s", what);
	snprintf(n->text, sizeof n->text, "%s", text);
}

/* The order in which counts and sections appear. */
static const enum mt_verdict order[] = {
	MT_V_PASSED, MT_V_FAILED, MT_V_ERROR, MT_V_HUNG, MT_V_CRASHED, MT_V_SKIPPED,
	MT_V_XFAILED, MT_V_XPASSED, MT_V_NOT_RUN,
};

void mt_summary_counts(struct mt_buf *o, const struct mt_run *r, uint32_t collected)
{
	unsigned k, shown = 0;

	mt_buf_printf(o, "%u collected:", collected);
	for (k = 0; k < sizeof order / sizeof order[0]; k++) {
		if (!r->count[order[k]])
			continue;
		mt_buf_printf(o, "%s %u %s", shown++ ? "," : "", r->count[order[k]],
			      mt_verdict_name(order[k]));
	}
	if (!shown)
		mt_buf_puts(o, " nothing ran");
	if (mt_run_left(r))
		mt_buf_printf(o, ", %u without a verdict", mt_run_left(r));
}

/* --budget: what the plan chose against what was done (ran to a verdict
 * other than not_run); the rest of the chosen the clock (or a stop) cut. */
static void planned_done(struct mt_buf *o, const struct mt_run *r, const struct mt_meta *m)
{
	uint32_t i, done = 0;

	for (i = 0; i < r->n; i++)
		done += r->t[i].kind == MT_KIND_TEST && r->t[i].verdict != MT_V_NONE &&
			r->t[i].verdict != MT_V_NOT_RUN;
	mt_buf_puts(o, "Plan for --budget ");
	mt_buf_secs(o, m->plan_budget_us, 1);
	mt_buf_printf(o, " s: %u test%s chosen (predicted ", m->plan_chosen,
		      m->plan_chosen == 1 ? "" : "s");
	mt_buf_secs(o, m->plan_predicted_us, 1);
	mt_buf_printf(o, " s), %u done, %u not; %u left out.\n", done,
		      m->plan_chosen > done ? m->plan_chosen - done : 0, m->plan_left_out);
}

/* Every collected test left out by the plan: say it was none by
 * construction (a shard with no file, a budget too short). */
static void none_selected(struct mt_buf *o, const struct mt_run *r)
{
	static const char *const why[] = { "shard", "tier", "budget" };
	uint32_t n[3] = { 0 }, i;
	unsigned k, shown = 0;

	for (i = 0; i < r->n; i++)
		for (k = 0; k < 3; k++)
			if (r->t[i].kind == MT_KIND_TEST && r->t[i].verdict == MT_V_NOT_RUN &&
			    strcmp(mt_run_reason(r, &r->t[i]), why[k]) == 0)
				n[k]++;
	mt_buf_printf(o, "Tests were collected; none was selected for this run (");
	for (k = 0; k < 3; k++)
		if (n[k])
			mt_buf_printf(o, "%s%u %s", shown++ ? ", " : "", n[k],
				      k == 0 ? "in other shards" : k == 1 ? "outside --tier" :
				      "left out by --budget");
	mt_buf_puts(o, "): nothing to run here.\n");
}

static const char *paint(int color, enum mt_verdict v)
{
	if (!color)
		return "";
	switch (v) {
	case MT_V_PASSED: return "\033[32m";
	case MT_V_SKIPPED: case MT_V_XFAILED: case MT_V_XPASSED: return "\033[33m";
	case MT_V_NOT_RUN: return "\033[35m";
	default: return "\033[1;31m";
	}
}

static const char *plain(int color)
{
	return color ? "\033[0m" : "";
}

/* Up to `lines` last lines of text, each cut to fit the width. */
static void tail_lines(struct mt_buf *o, const char *text, int lines, const char *indent)
{
	const char *end = text + strlen(text), *p = end, *line;
	char one[WIDTH * 4 + 1];
	size_t n;
	int k = 0;

	while (p > text && (p[-1] == '\n' || p[-1] == ' '))
		p--;
	end = p;
	while (p > text && k < lines) {
		p--;
		if (*p == '\n')
			k++;
	}
	if (*p == '\n')
		p++;
	for (line = p; line < end;) {
		const char *nl = memchr(line, '\n', (size_t)(end - line));

		n = (size_t)((nl ? nl : end) - line);
		if (n >= sizeof one)
			n = sizeof one - 1;
		memcpy(one, line, n);
		one[n] = '\0';
		mt_buf_puts(o, indent);
		mt_buf_line(o, one, WIDTH - strlen(indent));
		mt_buf_putc(o, '\n');
		line = nl ? nl + 1 : end;
	}
}

static void list_tests(struct mt_buf *o, const struct mt_run *r, enum mt_verdict v,
		       int kind, const char *title, int color)
{
	uint32_t i, n = 0;
	const struct mt_test *t;
	const char *reason, *detail, *tb, *bundle;

	for (i = 0; i < r->n; i++)
		n += r->t[i].verdict == v && r->t[i].kind == kind && !r->t[i].quarantined &&
		     !r->t[i].gone;
	if (!n)
		return;
	mt_buf_printf(o, "\n## %s%s (%u)%s\n\n", paint(color, v), title, n, plain(color));
	for (i = 0; i < r->n; i++) {
		t = &r->t[i];
		if (t->verdict != v || t->kind != kind || t->quarantined || t->gone)
			continue;
		reason = mt_run_reason(r, t);
		detail = mt_run_detail(r, t);
		tb = mt_run_tbtail(r, t);
		bundle = mt_run_str(r, t->bundle);
		mt_buf_printf(o, "- %s\n", mt_run_str(r, t->id));
		if (*detail && v == MT_V_HUNG) {
			/* The watchdog's diagnosis says it all. */
			mt_buf_puts(o, "  ");
			mt_buf_line(o, detail, WIDTH * 4);
			mt_buf_putc(o, '\n');
		} else if (*detail && *reason && (kind == MT_KIND_FILE || v == MT_V_CRASHED)) {
			mt_buf_printf(o, "  %s: ", reason);
			mt_buf_line(o, detail, WIDTH * 2);
			mt_buf_putc(o, '\n');
		} else if (*detail) {
			/* pytest's crash line: its first line is the message. */
			mt_buf_puts(o, "  ");
			mt_buf_line(o, detail, strcspn(detail, "\n") < WIDTH * 2 ?
					       strcspn(detail, "\n") : WIDTH * 2);
			mt_buf_putc(o, '\n');
		} else if (*reason) {
			mt_buf_printf(o, "  %s\n", reason);
		}
		if (*tb && v != MT_V_HUNG && v != MT_V_CRASHED)
			tail_lines(o, tb, TB_LINES, "  | ");
		if (t->recheck && *mt_run_str(r, t->recheck))
			mt_buf_printf(o, "  recheck: %s%s\n", mt_run_str(r, t->recheck),
				      strcmp(mt_run_str(r, t->recheck), "passes alone") == 0 ?
				      " (order-dependent: earlier tests polluted it)" :
				      strcmp(mt_run_str(r, t->recheck), "flaky") == 0 ?
				      " (passed once, failed once)" : "");
		if (*bundle)
			mt_buf_printf(o, "  bundle: %s\n", bundle);
	}
}

/* Tests a resumed run took back that the suite no longer has: apart,
 * with what they had, and counted nowhere else. */
static void list_gone(struct mt_buf *o, const struct mt_run *r)
{
	uint32_t i;

	if (!r->gone)
		return;
	mt_buf_printf(o, "\n## no longer in the suite (%u; not counted above)\n\n", r->gone);
	for (i = 0; i < r->n; i++)
		if (r->t[i].gone) {
			mt_buf_printf(o, "- %s: %s", mt_run_str(r, r->t[i].id),
				      mt_verdict_name((enum mt_verdict)r->t[i].verdict));
			if (*mt_run_reason(r, &r->t[i]))
				mt_buf_printf(o, " (%s)", mt_run_reason(r, &r->t[i]));
			mt_buf_putc(o, '\n');
		}
}

static void list_not_run(struct mt_buf *o, const struct mt_run *r, int color)
{
	/* Grouped by reason: a dead run leaves hundreds; name a few. */
	uint32_t i, j, n, shown;
	const char *reason;

	if (!r->count[MT_V_NOT_RUN])
		return;
	mt_buf_printf(o, "\n## %snot_run (%u)%s\n\n", paint(color, MT_V_NOT_RUN),
		      r->count[MT_V_NOT_RUN], plain(color));
	for (i = 0; i < r->n; i++) {
		if (r->t[i].verdict != MT_V_NOT_RUN || r->t[i].gone)
			continue;
		reason = mt_run_reason(r, &r->t[i]);
		for (j = 0; j < i; j++)
			if (r->t[j].verdict == MT_V_NOT_RUN && !r->t[j].gone &&
			    strcmp(mt_run_reason(r, &r->t[j]), reason) == 0)
				break;
		if (j < i)
			continue;	/* reason listed already */
		for (n = 0, j = i; j < r->n; j++)
			n += r->t[j].verdict == MT_V_NOT_RUN && !r->t[j].gone &&
			     strcmp(mt_run_reason(r, &r->t[j]), reason) == 0;
		mt_buf_printf(o, "- %u %s", n, reason);
		if (*mt_run_detail(r, &r->t[i]))
			mt_buf_printf(o, ": %s", mt_run_detail(r, &r->t[i]));
		mt_buf_puts(o, "\n");
		for (shown = 0, j = i; j < r->n && shown < 3; j++)
			if (r->t[j].verdict == MT_V_NOT_RUN && !r->t[j].gone &&
			    strcmp(mt_run_reason(r, &r->t[j]), reason) == 0) {
				mt_buf_printf(o, "    %s\n", mt_run_str(r, r->t[j].id));
				shown++;
			}
		if (n > shown)
			mt_buf_printf(o, "    ... and %u more\n", n - shown);
	}
	if (r->over_limit)
		mt_buf_printf(o, "- %u over a limit (%s in include/mtest/limits.h)\n",
			      r->over_limit, r->limit ? r->limit : "?");
}

/* The tests with the highest peak memory (docs/dirt.md), most first. */
#define HEAVIEST 5
static void list_heaviest(struct mt_buf *o, const struct mt_run *r)
{
	uint32_t top[HEAVIEST], i;
	int n = 0, k;
	char size[32];

	for (i = 0; i < r->n; i++) {
		if (!r->mem_kib[i] || r->t[i].kind != MT_KIND_TEST || r->t[i].gone)
			continue;
		for (k = n < HEAVIEST ? n++ : HEAVIEST; k > 0 && r->mem_kib[top[k - 1]] < r->mem_kib[i];
		     k--)
			if (k < HEAVIEST)
				top[k] = top[k - 1];
		if (k < HEAVIEST)
			top[k] = i;
	}
	if (!n)
		return;
	mt_buf_puts(o, "\n## heaviest tests (peak memory)\n\n");
	for (k = 0; k < n; k++) {
		mt_size_text((int64_t)r->mem_kib[top[k]] * 1024, size, sizeof size);
		mt_buf_printf(o, "- %8s  ", size);
		mt_buf_line(o, mt_run_str(r, r->t[top[k]].id), WIDTH * 2);
		if (r->t[top[k]].verdict != MT_V_PASSED)
			mt_buf_printf(o, " (%s)", mt_verdict_name((enum mt_verdict)r->t[top[k]].verdict));
		mt_buf_putc(o, '\n');
	}
}

void mt_summary_render(struct mt_buf *o, const struct mt_run *r, const struct mt_meta *m,
		       int color)
{
	uint32_t collected = m->collected_known ? m->collected : r->ntests, i;
	const char *word;

	mt_buf_puts(o, "# mtest run");
	if (m->start_wall_us > 0) {
		mt_buf_puts(o, " of ");
		mt_buf_utc(o, m->start_wall_us);
	} else {
		mt_buf_puts(o, " (its start record is missing)");
	}
	switch (m->state) {
	case MT_RUN_LIVE:
		mt_buf_printf(o, ": in progress (pid %d, %u/%u)\n\n", m->pid, r->decided,
			      collected);
		break;
	case MT_RUN_DEAD:
		mt_buf_printf(o, ": %sINCOMPLETE%s: ", color ? "\033[1;31m" : "", plain(color));
		if (m->collected_known || collected)
			mt_buf_printf(o, "%u of %u tests have no verdict ", collected - r->decided,
				      collected);
		else if (m->start_wall_us > 0)
			mt_buf_puts(o, "it stopped before its collection was recorded ");
		else
			mt_buf_puts(o, "the run recorded nothing ");
		if (m->pid > 0)
			mt_buf_printf(o, "(mtest pid %d died)\n\n", m->pid);
		else
			mt_buf_puts(o, "(its mtest is gone)\n\n");
		break;
	default:
		word = m->exit_code == 0 && r->ntests && r->planned == r->ntests ? "nothing selected" :
		       m->exit_code == 0 ? "passed" : m->exit_code == 1 ? "FAILED" :
		       m->exit_code == 2 ? "INTERRUPTED" : m->exit_code == 5 ? "no tests" :
		       m->exit_code == 6 ? "INCOMPLETE" : "ERROR";
		mt_buf_printf(o, ": %s (exit %d)\n\n", word, m->exit_code);
	}
	if (m->fatal)
		mt_buf_printf(o, "%s\n\n", m->fatal);
	mt_summary_counts(o, r, collected);
	mt_buf_putc(o, '\n');
	if (r->nfiles_bad)
		mt_buf_printf(o, "%u file%s could not be collected.\n", r->nfiles_bad,
			      r->nfiles_bad == 1 ? "" : "s");
	if (m->deselected)
		mt_buf_printf(o, "%u deselected.\n", m->deselected);
	if (r->ntests && r->planned == r->ntests)
		none_selected(o, r);
	if (m->stopped)
		mt_buf_printf(o, "Stopped early: %s.\n", m->stopped);
	if (m->plan_known)
		planned_done(o, r, m);
	mt_buf_puts(o, "Took ");
	mt_buf_secs(o, m->elapsed_us, 1);
	mt_buf_printf(o, " s with %d worker%s", m->workers, m->workers == 1 ? "" : "s");
	if (m->forked)
		mt_buf_printf(o, " (%s forked from a zygote)", m->forked == (uint32_t)m->workers ?
			      "all" : "some");
	if (m->python && *m->python)
		mt_buf_printf(o, "; python %s, pytest %s", m->python, m->pytest ? m->pytest : "?");
	mt_buf_puts(o, ".\n");
	if (m->processes && *m->processes) {
		mt_buf_puts(o, "Processes: ");
		mt_buf_line(o, m->processes, WIDTH * 3);
		mt_buf_puts(o, ".\n");
	}
	if (m->last_dir)
		mt_buf_printf(o, "Records: %s\n", m->last_dir);

	list_tests(o, r, MT_V_COLLECTION_ERROR, MT_KIND_FILE, "collection errors", color);
	list_tests(o, r, MT_V_FAILED, MT_KIND_TEST, "failed", color);
	list_tests(o, r, MT_V_ERROR, MT_KIND_TEST, "error", color);
	list_tests(o, r, MT_V_HUNG, MT_KIND_TEST, "hung", color);
	list_tests(o, r, MT_V_CRASHED, MT_KIND_TEST, "crashed", color);
	if (r->quar) {
		/* Apart: their failures do not fail the run. */
		mt_buf_printf(o, "\n## quarantined (%u; %u bad, which do not fail the run)\n\n",
			      r->quar, r->quar_bad);
		for (i = 0; i < r->n; i++)
			if (r->t[i].quarantined && r->t[i].verdict != MT_V_NONE && !r->t[i].gone) {
				mt_buf_printf(o, "- %s: %s", mt_run_str(r, r->t[i].id),
					      mt_verdict_name((enum mt_verdict)r->t[i].verdict));
				if (*mt_run_reason(r, &r->t[i]))
					mt_buf_printf(o, " (%s)", mt_run_reason(r, &r->t[i]));
				mt_buf_putc(o, '\n');
			}
	}
	list_not_run(o, r, color);
	list_gone(o, r);
	if (m->heaviest)
		list_heaviest(o, r);
	if (m->dirties && m->dirties->n) {
		mt_buf_printf(o, "\n## dirty events (%d)\n\n", m->dirties->n);
		for (i = 0; i < (uint32_t)m->dirties->n; i++) {
			const struct mt_dirty *d = &m->dirties->d[i];

			mt_buf_printf(o, "- #%d ", d->id);
			mt_buf_line(o, d->cause, WIDTH * 3);
			mt_buf_printf(o, "\n  %u test%s ran in its shadow%s\n", d->shadow,
				      d->shadow == 1 ? "" : "s",
				      d->restarted ? "; then a fresh worker" : "");
		}
		if (m->dirties->dropped)
			mt_buf_printf(o, "- ... %d more (MT_DIRTY_MAX)\n", m->dirties->dropped);
	}
	if (m->notes && (m->notes->len || m->notes->dropped)) {
		mt_buf_puts(o, "\n## run events\n\n");
		for (i = 0; i < m->notes->len; i++) {
			mt_buf_puts(o, "- ");
			mt_buf_line(o, m->notes->n[i].text, WIDTH * 3);
			mt_buf_putc(o, '\n');
		}
		if (m->notes->dropped)
			mt_buf_printf(o, "- ... %u more (MT_EVENTS_MAX); see run.jsonl\n",
				      m->notes->dropped);
	}
	if (m->vmhwm_kb > 0)
		mt_buf_printf(o, "\nmtest peak memory: %lld KiB.\n", (long long)m->vmhwm_kb);
}
