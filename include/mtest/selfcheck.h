/* mtest --self-check: the installed mtest on canned scenarios, through the
 * whole machinery (src/selfcheck.c). */
#ifndef MTEST_SELFCHECK_H
#define MTEST_SELFCHECK_H

#include "mtest/cli.h"

/* Prints a line per check, then PASS or FAIL; returns 0 or 1 (3 when its
 * output cannot be written). */
int mt_selfcheck_main(const struct mt_opts *o);

#endif
