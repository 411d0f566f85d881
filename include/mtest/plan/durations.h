/* mtest: what earlier runs say of each test (<state>/durations.json).
 *
 * Per test: its last MT_HISTORY_RUNS durations (seconds), a lower bound
 * (a run that hung or was cut short says only "at least this long",
 * never "this long"), and when its last bad verdict was. The estimate is
 * the median of the durations, raised to the lower bound.
 *
 * The file is one JSON object with one test per line, so that it is read
 * a line at a time with a small token table:
 *   {"v":1,"start_us":412000,"tests":[
 *   {"id":"t.py::a","d":[0.12,0.11],"lb":0,"bad":"2026-12-01T02:00:01.000Z","m":28452},
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

struct mt_hist {
	uint32_t id;				/* offset in the arena */
	uint8_t n;				/* durations kept */
	int64_t d_us[MT_HISTORY_RUNS];		/* newest last */
	int64_t lb_us;				/* at least this long, 0 if none */
	int64_t bad_wall_us;			/* its last bad verdict, 0 if none */
	uint32_t mem_kib;			/* its last peak memory, 0 unknown */
	uint8_t seen;				/* touched by this run */
};

struct mt_history {
	uint32_t n;
	struct mt_hist h[MT_TESTS_MAX];
	uint32_t idx[2 * MT_TESTS_MAX];		/* open hashing: entry + 1 */
	char arena[MT_HISTORY_BYTES];
	uint32_t arena_len;
	uint32_t dropped;			/* entries that did not fit */
	int64_t start_us;			/* a worker's start to its collection, 0 unknown */
};

/* Read the file (a missing one is an empty history). Returns 1, or 0 when
 * it was damaged and moved aside (said in one line on stderr). */
int mt_history_load(struct mt_history *h, int dirfd, const char *name, const char *shown);
/* The entry of a test id, or NULL. */
struct mt_hist *mt_history_find(struct mt_history *h, const char *id);
/* Its estimate (median raised to the lower bound), 0 if unknown. */
int64_t mt_history_estimate(const struct mt_hist *e);
/* This run's verdict of a test. A passed, failed, error or xfailed test
 * gives a duration; hung, crashed or interrupted ones only a lower bound;
 * bad ones their time. */
void mt_history_note(struct mt_history *h, const char *id, enum mt_verdict v,
		     int64_t duration_us, int64_t wall_us);
/* This run's peak memory of a test (KiB, docs/dirt.md): kept as its last. */
void mt_history_note_mem(struct mt_history *h, const char *id, uint32_t kib);
/* Replace the file atomically. Returns 1, or 0 with errno. */
int mt_history_save(const struct mt_history *h, int dirfd, const char *name);

#endif
