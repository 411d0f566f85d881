/* mtest: verdicts from phase outcomes. */
#include "mtest/run/verdict.h"

#include <stdio.h>
#include <string.h>

void mt_phases_reset(struct mt_phases *p)
{
	memset(p, 0, sizeof *p);
}

int mt_phase_parse(const char *when)
{
	if (strcmp(when, "setup") == 0)
		return MT_SETUP;
	if (strcmp(when, "call") == 0)
		return MT_CALL;
	if (strcmp(when, "teardown") == 0)
		return MT_TEARDOWN;
	return -1;
}

static const char *exc_or_error(const struct mt_phases *p, int ph)
{
	return p->exc[ph][0] ? p->exc[ph] : "error";
}

enum mt_verdict mt_verdict_of(const struct mt_phases *p, char *reason, size_t rcap,
			      char *note, size_t ncap)
{
	int td_failed = p->outcome[MT_TEARDOWN] == MT_O_FAILED;

	reason[0] = note[0] = '\0';
	if (p->outcome[MT_SETUP] == MT_O_FAILED) {
		snprintf(reason, rcap, "setup: %s", exc_or_error(p, MT_SETUP));
		if (td_failed)
			snprintf(note, ncap, "teardown also failed: %s",
				 exc_or_error(p, MT_TEARDOWN));
		return MT_V_ERROR;
	}
	if (p->outcome[MT_CALL] == MT_O_FAILED) {
		snprintf(reason, rcap, "%s", exc_or_error(p, MT_CALL));
		if (td_failed)
			snprintf(note, ncap, "teardown also failed: %s",
				 exc_or_error(p, MT_TEARDOWN));
		return MT_V_FAILED;
	}
	/* A teardown error outweighs a pass, a skip or an expected failure. */
	if (td_failed) {
		snprintf(reason, rcap, "teardown: %s", exc_or_error(p, MT_TEARDOWN));
		return MT_V_ERROR;
	}
	if (p->wasxfail[MT_SETUP] || p->wasxfail[MT_CALL]) {
		snprintf(reason, rcap, "%s", p->xfail);
		if (p->outcome[MT_SETUP] == MT_O_SKIPPED ||
		    p->outcome[MT_CALL] == MT_O_SKIPPED)
			return MT_V_XFAILED;
		return MT_V_XPASSED;
	}
	if (p->outcome[MT_SETUP] == MT_O_SKIPPED || p->outcome[MT_CALL] == MT_O_SKIPPED ||
	    p->outcome[MT_TEARDOWN] == MT_O_SKIPPED) {
		snprintf(reason, rcap, "%s", p->skip);
		return MT_V_SKIPPED;
	}
	return MT_V_PASSED;
}
