/* mtest: a run's journal (run.jsonl) read back, for --resume.
 *
 * Before a resumed run appends to it, the journal is made whole again and
 * rewritten atomically: a torn last line (a power cut) is dropped, and so
 * are the records the stop wrote that the resumed run takes back: the
 * run_end, and the not_run verdicts "interrupted", "run timeout" and "no
 * progress" of the tests it will run now. Then each record is handed to
 * the caller, decoded. */
#ifndef MTEST_JOURNAL_H
#define MTEST_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#include "mtest/limits.h"
#include "mtest/base/json.h"
#include "mtest/run/run.h"

struct mt_jrec {
	char type[32];
	char id[MT_ID_MAX + 64];
	char file[MT_PATH_MAX];
	char kind[16];
	char verdict[32];
	char reason[MT_REASON_MAX * 2];
	char detail[MT_DETAIL_MAX * 2];
	char tb[MT_TBTAIL_MAX * 2];
	char bundle[MT_PATH_MAX];
	char what[32];
	char text[MT_EVENT_TEXT_MAX];
	int64_t line, duration_us, worker, attempt, tests, deselected;
	int planned;
	int durations, quarantine;	/* a remembered record's stores (1 if not said) */
	const struct mt_json *js;	/* the record parsed, for fields not above */
};

struct mt_journal_fix {
	uint32_t lines, kept, dropped_stop, bad;
	int torn;
	int64_t size;		/* bytes after the rewrite */
};

/* Rewrite path without the torn tail and the stop's records. Returns 1,
 * or 0 with errno (the file is then as it was). */
int mt_journal_fix(const char *path, struct mt_journal_fix *out);

/* Hand every whole line of path (a record at most MT_RECORD_MAX long)
 * to fn, undecoded. Returns 1, or 0 with errno. */
int mt_journal_lines(const char *path, void (*fn)(void *ctx, const char *s, size_t n), void *ctx);

typedef void mt_jrec_fn(void *ctx, const struct mt_jrec *r);
/* Hand every record of path to fn. Returns 1, or 0 with errno. */
int mt_journal_replay(const char *path, mt_jrec_fn *fn, void *ctx);

#endif
