/* mtest: the supervisor. One poll loop over a signalfd and the lanes'
 * pipes, with one deadline; every source becomes an event handled by a
 * small function. It starts workers, feeds them tests, ends hung tests,
 * replaces dead workers, and gives each collected test one verdict
 * (docs/architecture.md). */
#ifndef MTEST_SUPER_H
#define MTEST_SUPER_H

#include "mtest/cli.h"

/* Run the suite; returns the exit code (enum mt_exit). */
int mt_super_main(const struct mt_opts *o);
/* --resume: find the last run that did not end, and the options it was
 * started with (*resumed, for mt_super_main). Returns MT_EXIT_OK, or the
 * exit code of why it cannot be resumed (said). */
int mt_super_resume(const struct mt_opts *o, const struct mt_opts **resumed);

#endif
