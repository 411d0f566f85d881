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
