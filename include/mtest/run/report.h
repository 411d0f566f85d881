/* mtest --report: the last run, rebuilt from its run.jsonl. */
#ifndef MTEST_REPORT_H
#define MTEST_REPORT_H

#include <stddef.h>

#include "mtest/base/buf.h"
#include "mtest/cli.h"

/* Print the report; returns the exit code of the reported run (for a run
 * still going or one that died: what it would be if it ended now). */
int mt_report_main(const struct mt_opts *o);
/* Replay a journal held in memory as --report replays run.jsonl (same
 * lines, limits and table) and render its summary into out, as that of a
 * run that ended, or died. Returns that exit code. For tests and fuzzing:
 * no file, no state directory. */
int mt_report_replay(const char *text, size_t n, struct mt_buf *out);

#endif
