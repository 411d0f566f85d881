/* mtest: --recheck. After the run, each failed, hung or crashed test runs
 * alone in a fresh worker, twice; the original verdict stands, and the
 * class says whether it fails alone, passes alone or is flaky
 * (docs/dirt.md). */
#include "sup.h"

/* Start the next recheck worker; 0 when there is nothing more to do. */
int sup_recheck_next(struct sup *s, int64_t now)
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
	/* Rechecks run one at a time, on the first lane. */
	s->rc_waiting = 1;
	sup_spawn(s, &s->lanes[0], now);
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
