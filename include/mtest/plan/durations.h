/* mtest: what earlier runs say of each test (<state>/durations.json).
 *
 * Per test: its last MT_HISTORY_RUNS durations (microseconds), a lower bound
 * (a run that hung or was cut short says only "at least this long",
 * never "this long"), and when its last bad verdict was. The estimate is
 * the median of the durations, raised to the lower bound.
 *
 * The file is one JSON object with one test per line, so that it is read
 * a line at a time with a small token table:
 *   {"v":1,"start_us":412000,"tests":[
 *   {"id":"t.py::a","d":[120000,110000],"lb":0,"bad":"2026-12-01T02:00:01.000Z","m":28452},
 *   ...
 *   {}]}
 * and replaced atomically at the end of each run. A line that does not
 * parse makes the whole file suspect: it is moved aside (.corrupt) with a
 * one-line warning, and the run goes on without history.
 */
#ifndef MTEST_DURATIONS_H
#define MTEST_DURATIONS_H

#include <stdint.h>

#include "mtest/limits.h"
#include "mtest/run/run.h"

/* What a run holds of a test's history, by a hash of its id: its planning
 * needs no more, and the file is merged with the run's verdicts at the end
 * (mt_history_save) rather than held whole. 16 bytes a test, and as many
 * again for a test with a bad verdict on record. */
struct mt_hist {
	uint64_t key;				/* hash of the test id */
	int64_t us;				/* its estimate, or its last bad verdict's time */
};

/* Zeroed before its first load (a static table). */
struct mt_history {
	uint32_t n, nbad;
	struct mt_hist h[MT_TESTS_MAX];		/* estimates, by key */
	struct mt_hist bad[MT_TESTS_MAX];	/* last bad verdicts (wall clock), by key */
	uint32_t dropped;			/* entries that did not fit */
	int merge;				/* the file read well: the save keeps it */
	int64_t start_us;			/* a worker's start to its collection, 0 unknown */
};

/* Read the file (a missing one is an empty history). Returns 1, or 0 when
 * it was damaged and moved aside (said in one line on stderr). */
int mt_history_load(struct mt_history *h, int dirfd, const char *name, const char *shown);
/* The entry of a test id, or NULL. */
struct mt_hist *mt_history_find(struct mt_history *h, const char *id);
/* Its estimate (median raised to the lower bound), 0 if unknown. */
int64_t mt_history_estimate(const struct mt_hist *e);
/* When the test last failed, errored, hung or crashed (wall clock), 0 if
 * it did not of late. */
int64_t mt_history_last_bad(const struct mt_history *h, const char *id);
/* Replace the file atomically with what it said (when it loaded well)
 * and this run's verdicts of tests not noted yet: a passed, failed, error
 * or xfailed test gives a duration; hung, crashed or not_run ones only a
 * lower bound; bad ones their time (wall_us). Its entries in the order
 * they were, then the run's new tests in the table's order. Returns 1, or
 * 0 with errno. dirfd and name as mt_history_load's. */
int mt_history_save(const struct mt_history *h, int dirfd, const char *name,
		    const struct mt_run *r, int64_t wall_us);

#endif
