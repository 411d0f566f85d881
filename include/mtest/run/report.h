/* mtest --report: the last run, rebuilt from its run.jsonl. */
#ifndef MTEST_REPORT_H
#define MTEST_REPORT_H

#include <stddef.h>

#include "mtest/base/buf.h"
#include "mtest/cli.h"
#include "mtest/run/summary.h"
#include "mtest/state/statedir.h"

/* Print the report; returns the exit code of the reported run (for a run
 * still going or one that died: what it would be if it ended now). */
int mt_report_main(const struct mt_opts *o);
/* Replay a journal held in memory as --report replays run.jsonl (same
 * lines, limits and table) and render its summary into out, as that of a
 * run that ended, or died. Returns that exit code. For tests and fuzzing:
 * no file, no state directory. */
int mt_report_replay(const char *text, size_t n, struct mt_buf *out);

/* A run's journal replayed into table k (0 or 1: --history holds two at
 * once), valid until the next view of the same k. */
struct mt_runview {
	const struct mt_run *run;
	const struct mt_meta *meta;
	int code;		/* its exit code, or what it would be now */
	uint32_t lines, bad, first_bad;	/* lines read; of them not records */
	int torn;		/* the last one had no newline */
};
/* Replay folder/run.jsonl. sd, when given, tells whether an unfinished
 * run is live (it holds the lock) or dead. Returns 0 with errno. */
int mt_report_view(int k, const char *folder, const struct mt_statedir *sd,
		   struct mt_runview *v);

/* --report --run SPEC: N (1 the newest, as --history numbers them), a
 * UTC date or time prefix (2026-12-01, 2026-12-01T02, 20261201T02), or
 * a run folder's name; the newest run that matches. Writes the folder's
 * path; returns 0 after one line naming the problem. (src/run/runs.c) */
int mt_runs_pick(const struct mt_statedir *sd, const char *spec, char *out, size_t cap);
/* mtest --history: one line per kept run, then the tests whose verdict
 * changed, and since when. Returns the exit code. */
int mt_runs_main(const struct mt_opts *o);

#endif
