/* mtest: --junit-xml PATH, for Jenkins, GitLab and GitHub reporters
 * (docs/formats.md, "JUnit XML"). Written from the test table at the end
 * of a run, or by --report for any run, even one that died. */
#ifndef MTEST_JUNIT_H
#define MTEST_JUNIT_H

#include "mtest/run/run.h"
#include "mtest/run/summary.h"

/* Replace path atomically with the run's JUnit XML; bundles are read from
 * m->last_dir. Returns 1, or 0 after one line naming the problem. */
int mt_junit_write(const char *path, const struct mt_run *r, const struct mt_meta *m);

#endif
