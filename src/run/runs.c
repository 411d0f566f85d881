/* mtest --history: the kept runs of a state directory, newest first
 * (include/mtest/run/report.h). */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "mtest/base/buf.h"
#include "mtest/base/clock.h"
#include "mtest/base/msg.h"
#include "mtest/run/report.h"
#include "mtest/run/summary.h"

static char names[MT_RUNS_MAX][MT_RUN_NAME_MAX];

/* ---- --history ------------------------------------------------------------ */

/* Per test of the newest run: since which run its verdict is the same. */
static struct streak {
	uint16_t since;		/* run number (1 the newest) */
	uint16_t runs;		/* runs in the streak */
	uint8_t open;		/* still the same verdict in older runs */
	uint8_t before;		/* the verdict before the streak, or MT_V_NONE */
} st[MT_TESTS_MAX];

static char when[MT_RUNS_MAX][24];	/* each run's start, for the changes */

/* "4.2 s", "12m03s", "2h05m": a column that stays narrow. */
static void took(struct mt_buf *o, int64_t us)
{
	int64_t s = us / 1000000;

	if (s < 60)
		mt_buf_printf(o, "%5lld.%lld s  ", (long long)s, (long long)(us / 100000 % 10));
	else if (s < 3600)
		mt_buf_printf(o, "%3lldm%02llds  ", (long long)(s / 60), (long long)(s % 60));
	else
		mt_buf_printf(o, "%3lldh%02lldm  ", (long long)(s / 3600), (long long)(s / 60 % 60));
}

static void run_line(struct mt_buf *o, unsigned k, const char *name, const struct mt_runview *v)
{
	const struct mt_meta *m = v->meta;
	struct mt_buf w;
	uint32_t collected = m->collected_known && m->collected > v->run->ntests ? m->collected :
			     v->run->ntests;

	mt_buf_init(&w, when[k], sizeof when[k], -1);
	if (m->start_wall_us > 0)
		mt_buf_utc(&w, m->start_wall_us);
	else
		mt_buf_printf(&w, "%.19s", name);
	mt_buf_printf(o, "%3u  %.19s  ", k, when[k]);
	took(o, m->elapsed_us > 0 ? m->elapsed_us : 0);
	if (m->state == MT_RUN_DONE)
		mt_buf_printf(o, "exit %d  ", m->exit_code);
	else
		mt_buf_puts(o, m->state == MT_RUN_LIVE ? "running  " : "DIED    ");
	mt_summary_counts(o, v->run, collected);
	if (v->run->quar)
		mt_buf_printf(o, " (%u quarantined)", v->run->quar);
	mt_buf_putc(o, '\n');
}

/* Compare run k (table 1) with the newest (table 0). */
static void follow(const struct mt_run *newest, const struct mt_run *older, unsigned k)
{
	uint32_t i, slot;

	for (i = 0; i < newest->n; i++) {
		const struct mt_test *t = &newest->t[i];

		if (!st[i].open)
			continue;
		slot = mt_run_find(older, (enum mt_kind)t->kind, mt_run_str(newest, t->id));
		/* A run without it (another selection) says nothing of it. */
		if (slot == MT_NONE || older->t[slot].verdict == MT_V_NONE)
			continue;
		if (older->t[slot].verdict == t->verdict) {
			st[i].since = (uint16_t)k;
			st[i].runs++;
			continue;
		}
		st[i].open = 0;
		st[i].before = older->t[slot].verdict;
	}
}

static void changes(struct mt_buf *o, const struct mt_run *r)
{
	uint32_t i, steady = 0, listed = 0;

	for (i = 0; i < r->n; i++) {
		const struct mt_test *t = &r->t[i];
		int bad = mt_verdict_is_bad((enum mt_verdict)t->verdict);

		if (t->verdict == MT_V_NONE)
			continue;
		if (!bad && st[i].open) {
			steady++;
			continue;
		}
		if (!listed++)
			mt_buf_puts(o, "\nverdicts of the newest run, and since when:\n\n");
		mt_buf_printf(o, "- %s: %s ", mt_run_str(r, t->id),
			      mt_verdict_name((enum mt_verdict)t->verdict));
		if (st[i].open)
			mt_buf_printf(o, "in all %u kept run%s that ran it\n", st[i].runs,
				      st[i].runs == 1 ? "" : "s");
		else
			mt_buf_printf(o, "since run %u (%.16s; %u run%s), %s before\n",
				      st[i].since, when[st[i].since], st[i].runs,
				      st[i].runs == 1 ? "" : "s",
				      mt_verdict_name((enum mt_verdict)st[i].before));
	}
	mt_buf_printf(o, "\n%u test%s kept one good verdict in every kept run that ran %s.\n",
		      steady, steady == 1 ? "" : "s", steady == 1 ? "it" : "them");
}

int mt_runs_main(const struct mt_opts *o)
{
	static char bytes[MT_OUTBUF];
	static struct mt_statedir sd;
	char looked[2048], folder[MT_PATH_MAX + 80];
	struct mt_runview newest, v;
	struct mt_buf out;
	int n, k;
	uint32_t i;

	if (!mt_statedir_find(&sd, o, looked, sizeof looked)) {
		mt_msg("no runs; looked in %s", looked);
		return MT_EXIT_USAGE;
	}
	n = mt_statedir_runs(&sd, names, MT_RUNS_MAX);
	if (n <= 0) {
		if (n < 0)
			mt_msg_sys("cannot list %s/runs", sd.dir);
		else
			mt_msg("no runs kept in %s", sd.dir);
		return n < 0 ? MT_EXIT_INTERNAL : MT_EXIT_USAGE;
	}
	mt_buf_init(&out, bytes, sizeof bytes, 1);
	mt_buf_printf(&out, "%d run%s in %s, newest first (mtest --report --run N shows one):\n\n",
		      n, n == 1 ? "" : "s", sd.dir);
	snprintf(folder, sizeof folder, "%s/runs/%s", sd.dir, names[n - 1]);
	if (!mt_report_view(0, folder, &sd, &newest)) {
		mt_msg_sys("cannot read %s/run.jsonl", folder);
		return MT_EXIT_INTERNAL;
	}
	for (i = 0; i < newest.run->n; i++)
		st[i] = (struct streak){ .since = 1, .runs = 1, .open = 1, .before = MT_V_NONE };
	run_line(&out, 1, names[n - 1], &newest);
	for (k = 2; k <= n; k++) {
		snprintf(folder, sizeof folder, "%s/runs/%s", sd.dir, names[n - k]);
		if (!mt_report_view(1, folder, &sd, &v)) {
			mt_buf_printf(&out, "%3d  %s: no journal\n", k, names[n - k]);
			continue;
		}
		run_line(&out, (unsigned)k, names[n - k], &v);
		follow(newest.run, v.run, (unsigned)k);
	}
	changes(&out, newest.run);
	return mt_buf_flush(&out) ? MT_EXIT_OK : MT_EXIT_INTERNAL;
}
