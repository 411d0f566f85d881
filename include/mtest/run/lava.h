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
 * crashed, collection_error: fail; skipped and not_run left out by the
 * plan: skip; other not_run: unknown. A hung test's diagnosis comes as
 * its case's log:
 *
 *   <LAVA_SIGNAL_STARTTC t2>
 *   DEADLOCK (certain) after 1.0 s without progress: MainThread waits for ...
 *   <LAVA_SIGNAL_ENDTC t2>
 *   <LAVA_SIGNAL_TESTCASE TEST_CASE_ID=t2 RESULT=fail MEASUREMENT=1.612 UNITS=seconds> */
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
/* The signals for one verdict of a test (id, file) or a file (file NULL):
 * a change of test set, then the test case; a hung test's diagnosis
 * (detail) first, as its case's log, between STARTTC and ENDTC. */
void mt_lava_verdict(struct mt_lava *l, struct mt_buf *b, const char *id, const char *file,
		     enum mt_verdict v, int planned, int64_t duration_us, const char *detail);
/* Close the open test set. */
void mt_lava_end(struct mt_lava *l, struct mt_buf *b);
/* Every verdict of a run so far, file by file, to stdout: --report
 * --lava, and a resumed run for the verdicts it takes back. The set stays
 * open (mt_lava_end closes it). Returns 0 with errno. */
int mt_lava_replay(struct mt_lava *l, const struct mt_run *r);

#endif
