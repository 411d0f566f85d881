/* mtest: a test's verdict from the outcomes of its phases.
 * The corner cases are tabled in docs/formats.md. */
#ifndef MTEST_VERDICT_H
#define MTEST_VERDICT_H

#include <stddef.h>

#include "mtest/limits.h"
#include "mtest/run/run.h"

enum mt_phase { MT_SETUP = 0, MT_CALL = 1, MT_TEARDOWN = 2, MT_PHASES = 3 };
enum mt_outcome { MT_O_PASSED = 0, MT_O_FAILED, MT_O_SKIPPED };

/* What the plugin reported for the phases of one test. A phase it did not
 * report as failed or skipped passed. */
struct mt_phases {
	unsigned char outcome[MT_PHASES];
	unsigned char wasxfail[MT_PHASES];
	char exc[MT_PHASES][MT_REASON_MAX];	/* exception type of a failure */
	char skip[MT_REASON_MAX];		/* skip message */
	char xfail[MT_REASON_MAX];		/* xfail reason */
};

void mt_phases_reset(struct mt_phases *p);
/* The verdict, its reason into `reason`, and a note into `note` when a
 * second problem is folded into it (a teardown error after a failure). */
enum mt_verdict mt_verdict_of(const struct mt_phases *p, char *reason, size_t rcap,
			      char *note, size_t ncap);
int mt_phase_parse(const char *when);

#endif
