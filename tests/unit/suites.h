/* mtest unit tests (Check): one suite per module, run by main.c. */
#ifndef MTEST_UNIT_SUITES_H
#define MTEST_UNIT_SUITES_H

#include <check.h>

Suite *buf_suite(void);
Suite *json_suite(void);
Suite *clock_suite(void);
Suite *run_suite(void);
Suite *verdict_suite(void);
Suite *ring_suite(void);
Suite *bundle_suite(void);
Suite *cli_suite(void);
Suite *procs_suite(void);
Suite *events_suite(void);
Suite *channel_suite(void);
Suite *state_suite(void);
Suite *durations_suite(void);
Suite *plan_suite(void);
Suite *led_suite(void);
Suite *kmsg_suite(void);
Suite *ledger_suite(void);
Suite *cgroup_suite(void);

/* A file of text (tests/unit/unit_files.c). */
void unit_write_file(const char *path, const char *text);
/* Each of the n texts in bad, as the file at path, is damage: load(path)
 * (which says whether the store loaded it or holds anything after it)
 * must say no, and the file must be moved aside to path.corrupt. */
void unit_each_moved_aside(const char *path, const char *const *bad, unsigned n,
			   int (*load)(const char *path));

#endif
