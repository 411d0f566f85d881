/* Unit tests: include/mtest/plan/durations.h (durations.json: estimates
 * held by a hash of the id, the file merged with the run's verdicts). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mtest/base/clock.h"
#include "mtest/base/fsx.h"
#include "mtest/plan/durations.h"
#include "suites.h"

static struct mt_history H;
static struct mt_run R;
static char dir[64], path[128];

static void setup(void)
{
	snprintf(dir, sizeof dir, "/tmp/mtest-unit-durations-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/durations.json", dir);
	mt_run_init(&R, NULL, NULL);
}

static void teardown(void)
{
	mt_rmtree(dir);
}

static void write_file(const char *text)
{
	unit_write_file(path, text);
}

/* Loaded, or holding anything after a load. */
static int history_loads(const char *p)
{
	return mt_history_load(&H, AT_FDCWD, p, p) || H.n != 0;
}

static const char *read_file(void)
{
	static char text[4096];
	FILE *f = fopen(path, "r");
	size_t n;

	ck_assert_ptr_nonnull(f);
	n = fread(text, 1, sizeof text - 1, f);
	text[n] = '\0';
	fclose(f);
	return text;
}

static uint32_t decided(const char *id, enum mt_verdict v, int64_t us)
{
	struct mt_vinfo vi = { .verdict = v, .duration_us = us, .attempt = 1 };
	uint32_t slot = mt_run_add(&R, MT_KIND_TEST, id, "t.py", "/s/t.py", 1, -1);

	ck_assert_uint_ne(slot, MT_NONE);
	if (v != MT_V_NONE)
		ck_assert(mt_run_decide(&R, slot, &vi));
	return slot;
}

static const char FILE_TEXT[] =
	"{\"v\":1,\"start_us\":412000,\"tests\":[\n"
	"{\"id\":\"t.py::five\",\"d\":[10,20,30,40,50],\"lb\":0},\n"
	"{\"id\":\"t.py::hung\",\"d\":[],\"lb\":3000000,\"bad\":\"2026-12-01T02:00:01.000Z\"},\n"
	"{\"id\":\"t.py::gone\",\"d\":[7],\"lb\":0},\n"
	"{\"id\":\"t.py::even\",\"d\":[100,300],\"lb\":0},\n"
	"{\"id\":\"t.py::noted\",\"d\":[5],\"lb\":0},\n"
	"{}]}\n";

START_TEST(test_estimates_by_id)
{
	int64_t bad;

	write_file(FILE_TEXT);
	ck_assert_int_eq(mt_history_load(&H, AT_FDCWD, path, path), 1);
	ck_assert_uint_eq(H.n, 5);
	ck_assert_int_eq(H.start_us, 412000);
	ck_assert_int_eq(mt_history_estimate(mt_history_find(&H, "t.py::five")), 30);
	ck_assert_int_eq(mt_history_estimate(mt_history_find(&H, "t.py::even")), 200);
	/* No durations: its lower bound. */
	ck_assert_int_eq(mt_history_estimate(mt_history_find(&H, "t.py::hung")), 3000000);
	ck_assert(mt_parse_utc("2026-12-01T02:00:01.000Z", &bad));
	ck_assert_int_eq(mt_history_last_bad(&H, "t.py::hung"), bad);
	ck_assert_int_eq(mt_history_last_bad(&H, "t.py::five"), 0);
	ck_assert_int_eq(mt_history_last_bad(&H, "t.py::never"), 0);
	ck_assert_ptr_null(mt_history_find(&H, "t.py::never"));
	ck_assert_int_eq(mt_history_estimate(NULL), 0);
	/* What a run holds per test of its history. */
	ck_assert_uint_eq(sizeof(struct mt_hist), 16);
	ck_assert_uint_eq(H.nbad, 1);
}
END_TEST

/* The file's entries in its order, each with this run's verdict; then
 * the run's new tests; a test told before (--resume) and one this run
 * did not run stay as they were. */
START_TEST(test_save_merges_the_run)
{
	int64_t wall;

	write_file(FILE_TEXT);
	ck_assert_int_eq(mt_history_load(&H, AT_FDCWD, path, path), 1);
	ck_assert(mt_parse_utc("2026-12-07T10:00:00.500Z", &wall));
	decided("t.py::new_fail", MT_V_FAILED, 15);
	decided("t.py::five", MT_V_PASSED, 60);
	decided("t.py::hung", MT_V_PASSED, 4000000);	/* ran to its end: bound gone */
	decided("t.py::even", MT_V_HUNG, 9000000);	/* cut short: a bound */
	R.t[decided("t.py::noted", MT_V_PASSED, 99)].noted = 1;
	decided("t.py::new_none", MT_V_NONE, 0);	/* no verdict: not told */
	decided("t.py::new_skip", MT_V_SKIPPED, 2);
	H.start_us = 500000;
	ck_assert_int_eq(mt_history_save(&H, AT_FDCWD, path, &R, wall), 1);
	ck_assert_str_eq(read_file(),
		"{\"v\":1,\"start_us\":500000,\"tests\":[\n"
		"{\"id\":\"t.py::five\",\"d\":[20,30,40,50,60],\"lb\":0},\n"
		"{\"id\":\"t.py::hung\",\"d\":[4000000],\"lb\":0,\"bad\":\"2026-12-01T02:00:01.000Z\"},\n"
		"{\"id\":\"t.py::gone\",\"d\":[7],\"lb\":0},\n"
		"{\"id\":\"t.py::even\",\"d\":[100,300],\"lb\":9000000,"
		"\"bad\":\"2026-12-07T10:00:00.500Z\"},\n"
		"{\"id\":\"t.py::noted\",\"d\":[5],\"lb\":0},\n"
		"{\"id\":\"t.py::new_fail\",\"d\":[15],\"lb\":0,\"bad\":\"2026-12-07T10:00:00.500Z\"},\n"
		"{\"id\":\"t.py::new_skip\",\"d\":[2],\"lb\":0},\n"
		"{}]}\n");
	/* And it loads back. */
	ck_assert_int_eq(mt_history_load(&H, AT_FDCWD, path, path), 1);
	ck_assert_uint_eq(H.n, 7);
	ck_assert_int_eq(mt_history_estimate(mt_history_find(&H, "t.py::even")), 9000000);
}
END_TEST

START_TEST(test_no_file_then_the_run_alone)
{
	ck_assert_int_eq(mt_history_load(&H, AT_FDCWD, path, path), 1);	/* absent: empty */
	ck_assert_uint_eq(H.n, 0);
	decided("a", MT_V_PASSED, 1);
	/* A file that appears after the load is not the history loaded. */
	write_file(FILE_TEXT);
	ck_assert_int_eq(mt_history_save(&H, AT_FDCWD, path, &R, 0), 1);
	ck_assert_str_eq(read_file(), "{\"v\":1,\"start_us\":0,\"tests\":[\n"
				      "{\"id\":\"a\",\"d\":[1],\"lb\":0},\n{}]}\n");
}
END_TEST

START_TEST(test_damaged_moved_aside)
{
	static const char *const bad[] = {
		"garbage\n",
		"{\"v\":1,\"tests\":[\n{\"id\":\"a\",\"d\":[1],\"lb\":0},",	/* truncated */
		"{\"v\":1,\"tests\":[\n{\"id\":\"a\",\"d\":[\"x\"],\"lb\":0},\n{}]}\n",
		"{\"v\":1,\"tests\":[\n{\"d\":[1]},\n{}]}\n",			/* no id */
		"{\"v\":2,\"tests\":[\n{}]}\n",
	};
	unit_each_moved_aside(path, bad, sizeof bad / sizeof bad[0], history_loads);
	/* Written afresh: the run's tests alone. */
	decided("a", MT_V_HUNG, 2000000);
	ck_assert_int_eq(mt_history_save(&H, AT_FDCWD, path, &R, 1000000), 1);
	ck_assert_str_eq(read_file(), "{\"v\":1,\"start_us\":0,\"tests\":[\n"
				      "{\"id\":\"a\",\"d\":[],\"lb\":2000000,"
				      "\"bad\":\"1970-01-01T00:00:01.000Z\"},\n{}]}\n");
}
END_TEST

Suite *durations_suite(void)
{
	Suite *s = suite_create("durations");
	TCase *tc = tcase_create("history");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_estimates_by_id);
	tcase_add_test(tc, test_save_merges_the_run);
	tcase_add_test(tc, test_no_file_then_the_run_alone);
	tcase_add_test(tc, test_damaged_moved_aside);
	suite_add_tcase(s, tc);
	return s;
}
