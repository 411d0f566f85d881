/* mtest: <state>/quarantine.json: which tests are flaky enough to be
 * reported apart (docs/formats.md, "Quarantine").
 *
 * Per test, its last MT_QUAR_RUNS results, newest last ('P' good: passed,
 * xfailed, xpassed; 'F' bad: failed, error, hung, crashed), whether it is
 * quarantined, and a pin set by hand (in: always quarantined, out: never).
 * A test enters quarantine with 3 bad results in its last 5, and leaves it
 * after 3 good ones in a row. Quarantined tests still run; their bad
 * verdicts do not fail the run. One test per line, as durations.json; a
 * damaged file is moved aside (.corrupt). */
#ifndef MTEST_QUARANTINE_H
#define MTEST_QUARANTINE_H

#include <stdint.h>

#include "mtest/cli.h"
#include "mtest/limits.h"
#include "mtest/run/run.h"

#define MT_QUAR_RUNS 5

struct mt_qentry {
	uint32_t id;			/* offset in the arena */
	char h[MT_QUAR_RUNS + 1];	/* "PPFFP" */
	uint8_t in;			/* quarantined now */
	char pin;			/* 'i' in, 'o' out, 0 none */
};

/* Zeroed before its first load (a static table): the index is cleared
 * only when it holds entries. */
struct mt_quarantine {
	uint32_t n;
	struct mt_qentry e[MT_TESTS_MAX];
	uint32_t idx[2 * MT_TESTS_MAX];
	char arena[MT_HISTORY_BYTES];
	uint32_t arena_len;
};

/* Returns 1, or 0 when the file was damaged and moved aside. */
int mt_quar_load(struct mt_quarantine *q, int dirfd, const char *name, const char *shown);
int mt_quar_save(const struct mt_quarantine *q, int dirfd, const char *name);
struct mt_qentry *mt_quar_find(struct mt_quarantine *q, const char *id);
/* Is it quarantined for this run (pins first)? */
int mt_quar_is_in(const struct mt_qentry *e);
/* This run's verdict: returns +1 if it entered quarantine, -1 if it left,
 * 0 otherwise. */
int mt_quar_note(struct mt_quarantine *q, const char *id, enum mt_verdict v);
/* Pin by hand: 'i', 'o', or 0 (back to the rule). Returns 0 if full. */
int mt_quar_pin(struct mt_quarantine *q, const char *id, char pin);
const char *mt_quar_id(const struct mt_quarantine *q, const struct mt_qentry *e);

/* mtest --quarantine [in|out|auto ID...]: list, or pin (src/state/quarcmd.c).
 * Returns the exit code. */
int mt_quar_main(const struct mt_opts *o);

#endif
