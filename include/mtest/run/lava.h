/* mtest: --lava, the LAVA test-shell signals on stdout, one per verdict as
 * it is known, so that an mtest run in a LAVA job (the engine of on-device
 * test labs and KernelCI) shows each test as a LAVA test case:
 *
 *   <LAVA_SIGNAL_TESTSET START tests_test_enc.py>
 *   <LAVA_SIGNAL_TESTCASE TEST_CASE_ID=test_restart RESULT=pass MEASUREMENT=0.012 UNITS=seconds>
 *   <LAVA_SIGNAL_TESTSET STOP>
 *
 * One test set per file (several, under one name, when lanes interleave
 * files); the case is the id within its file. Names keep to LAVA's
 * [-_.a-zA-Z0-9] ("::" becomes "."); one that had other characters, or was
 * longer than LAVA keeps (100 for a case, 200 for a set), is cut and gets
 * "-" and 8 hex digits of a hash of the original, so that two ids never
 * become one name. passed, xfailed, xpassed: pass; failed, error, hung,
 * crashed, collection_error: fail, with mtest's reason as the case's log
 * (in its ENDTC); skipped and not_run left out by the plan:
 * skip; other not_run: unknown. */
#ifndef MTEST_LAVA_H
#define MTEST_LAVA_H

#include <stddef.h>

#include "mtest/base/buf.h"
#include "mtest/run/run.h"

struct mt_lava {
	char set[256];		/* the open test set, "" if none */
};

/* A name LAVA takes, from s; cap 100 for a case, 200 for a set. */
void mt_lava_name(struct mt_buf *b, const char *s, size_t cap);
/* A verdict and what mtest says of it. */
struct mt_lava_why {
	enum mt_verdict verdict;
	const char *reason, *detail;
};

/* The signals for one verdict of a test (id, file) or a file (file NULL):
 * a change of test set, then, for a bad verdict, STARTTC and ENDTC with its
 * reason and detail in ENDTC (the case's log in LAVA), then the test case. */
void mt_lava_verdict(struct mt_lava *l, struct mt_buf *b, const char *id, const char *file,
		     const struct mt_lava_why *w, int planned, int64_t duration_us);
/* Close the open test set. */
void mt_lava_end(struct mt_lava *l, struct mt_buf *b);
/* Every verdict of a run so far, file by file, to stdout: --report
 * --lava, and a resumed run for the verdicts it takes back. The set stays
 * open (mt_lava_end closes it). Returns 0 with errno. */
int mt_lava_replay(struct mt_lava *l, const struct mt_run *r);

#endif
