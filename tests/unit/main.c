/* mtest unit tests: runs every suite in one SRunner. CK_FORK stays at its
 * default (each test in its own process); set CK_FORK=no to debug, and
 * CK_RUN_SUITE / CK_RUN_CASE to pick one suite or test case. */
#include <stdlib.h>

#include "suites.h"

int main(void)
{
	SRunner *sr = srunner_create(buf_suite());
	int failed;

	srunner_add_suite(sr, json_suite());
	srunner_add_suite(sr, clock_suite());
	srunner_add_suite(sr, run_suite());
	srunner_add_suite(sr, verdict_suite());
	srunner_add_suite(sr, ring_suite());
	srunner_add_suite(sr, bundle_suite());
	srunner_add_suite(sr, cli_suite());
	srunner_add_suite(sr, procs_suite());
	srunner_add_suite(sr, events_suite());
	srunner_add_suite(sr, channel_suite());
	srunner_add_suite(sr, state_suite());
	srunner_add_suite(sr, durations_suite());
	srunner_add_suite(sr, plan_suite());
	srunner_add_suite(sr, led_suite());
	srunner_add_suite(sr, kmsg_suite());
	srunner_add_suite(sr, ledger_suite());
	srunner_add_suite(sr, cgroup_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
