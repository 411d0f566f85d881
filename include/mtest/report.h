/* mtest --report: the last run, rebuilt from its run.jsonl. */
#ifndef MTEST_REPORT_H
#define MTEST_REPORT_H

#include "mtest/cli.h"

/* Print the report; returns the exit code of the reported run (for a run
 * still going or one that died: what it would be if it ended now). */
int mt_report_main(const struct mt_opts *o);

#endif
