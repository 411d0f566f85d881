/* Unit tests: include/mtest/state/quarantine.h (the rule in and out, pins,
 * the file's round trip, a damaged file moved aside). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mtest/base/fsx.h"
#include "mtest/state/quarantine.h"
#include "suites.h"

static struct mt_quarantine Q, Q2;
static char dir[64], path[128];

static void setup(void)
{
	snprintf(dir, sizeof dir, "/tmp/mtest-unit-state-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/quarantine.json", dir);
	ck_assert_int_eq(mt_quar_load(&Q, path), 1);	/* absent: empty */
	ck_assert_uint_eq(Q.n, 0);
}

static void teardown(void)
{
	mt_rmtree(dir);
}

/* Feed "PFF..." as verdicts; return the moves, as "+" "-" "." per run. */
static const char *feed(const char *id, const char *runs)
{
	static char moves[64];
	size_t i;
	int m;

	for (i = 0; runs[i] && i < sizeof moves - 1; i++) {
		m = mt_quar_note(&Q, id, runs[i] == 'F' ? MT_V_FAILED : MT_V_PASSED);
		moves[i] = m > 0 ? '+' : m < 0 ? '-' : '.';
	}
	moves[i] = '\0';
	return moves;
}

START_TEST(test_third_bad_in_five_enters)
{
	ck_assert_str_eq(feed("t", "FPFF"), "...+");
	ck_assert_int_eq(mt_quar_is_in(mt_quar_find(&Q, "t")), 1);
	/* Two bad in five, spread out: never in. */
	ck_assert_str_eq(feed("u", "FPPPFPPPF"), ".........");
	/* Three bad, but not within five runs: never in. */
	ck_assert_str_eq(feed("v", "FPPFPPPF"), "........");
}
END_TEST

START_TEST(test_three_passes_leave)
{
	ck_assert_str_eq(feed("t", "FFF" "PP" "P"), "..+..-");
	ck_assert_int_eq(mt_quar_is_in(mt_quar_find(&Q, "t")), 0);
	/* A failure among the passes starts the count again. */
	ck_assert_str_eq(feed("w", "FFFPPFPPP"), "..+.....-");
}
END_TEST

START_TEST(test_other_verdicts)
{
	/* Hung, crashed, error are bad; skips and not_run say nothing. */
	ck_assert_int_eq(mt_quar_note(&Q, "t", MT_V_HUNG), 0);
	ck_assert_int_eq(mt_quar_note(&Q, "t", MT_V_SKIPPED), 0);
	ck_assert_int_eq(mt_quar_note(&Q, "t", MT_V_NOT_RUN), 0);
	ck_assert_int_eq(mt_quar_note(&Q, "t", MT_V_CRASHED), 0);
	ck_assert_int_eq(mt_quar_note(&Q, "t", MT_V_ERROR), 1);
	ck_assert_str_eq(mt_quar_find(&Q, "t")->h, "FFF");
	ck_assert_int_eq(mt_quar_note(&Q, "t", MT_V_XFAILED), 0);
	ck_assert_str_eq(mt_quar_find(&Q, "t")->h, "FFFP");
	ck_assert_ptr_null(mt_quar_find(&Q, "never seen"));
	ck_assert_int_eq(mt_quar_is_in(NULL), 0);
}
END_TEST

START_TEST(test_pins)
{
	ck_assert_int_eq(mt_quar_pin(&Q, "p", 'i'), 1);
	ck_assert_int_eq(mt_quar_is_in(mt_quar_find(&Q, "p")), 1);
	feed("p", "PPPPP");
	ck_assert_int_eq(mt_quar_is_in(mt_quar_find(&Q, "p")), 1);	/* pinned in */
	feed("q", "FFF");
	ck_assert_int_eq(mt_quar_pin(&Q, "q", 'o'), 1);
	ck_assert_int_eq(mt_quar_is_in(mt_quar_find(&Q, "q")), 0);	/* pinned out */
	ck_assert_int_eq(mt_quar_pin(&Q, "q", 0), 1);
	ck_assert_int_eq(mt_quar_is_in(mt_quar_find(&Q, "q")), 1);	/* the rule again */
}
END_TEST

START_TEST(test_round_trip)
{
	static const char odd[] = "t.py::test[\"quo\\te\" \xc3\xa9\t,]}";

	feed(odd, "FFPF");
	feed("steady", "PPPPP");
	mt_quar_pin(&Q, "pinned", 'o');
	ck_assert_int_eq(mt_quar_save(&Q, path), 1);
	ck_assert_int_eq(mt_quar_load(&Q2, path), 1);
	/* A test that never failed of late is not kept: nothing to remember. */
	ck_assert_uint_eq(Q2.n, 2);
	ck_assert_ptr_null(mt_quar_find(&Q2, "steady"));
	ck_assert_str_eq(mt_quar_find(&Q2, odd)->h, "FFPF");
	ck_assert_int_eq(mt_quar_find(&Q2, odd)->in, 1);
	ck_assert_int_eq(mt_quar_find(&Q2, "pinned")->pin, 'o');
}
END_TEST

static void write_file(const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

START_TEST(test_damaged_moved_aside)
{
	static const char *const bad[] = {
		"garbage\n",
		"{\"v\":1,\"tests\":[\n{\"id\":\"a\",\"h\":\"FF\"",	/* truncated */
		"{\"v\":1,\"tests\":[\n{\"id\":\"a\",\"h\":\"XYZ\",\"in\":true},\n{}]}\n",
		"{\"v\":1,\"tests\":[\n{\"id\":\"a\",\"h\":\"FFFFFF\",\"in\":true},\n{}]}\n",
		"{\"v\":2,\"tests\":[\n{}]}\n",
	};
	char aside[160];
	struct stat st;
	unsigned k;

	snprintf(aside, sizeof aside, "%s.corrupt", path);
	for (k = 0; k < sizeof bad / sizeof bad[0]; k++) {
		write_file(bad[k]);
		ck_assert_msg(mt_quar_load(&Q, path) == 0, "case %u loaded", k);
		ck_assert_uint_eq(Q.n, 0);
		ck_assert_int_eq(stat(path, &st), -1);
		ck_assert_int_eq(stat(aside, &st), 0);
		unlink(aside);
	}
	write_file("{\"v\":1,\"tests\":[\n{\"id\":\"a\",\"h\":\"FFF\",\"in\":true},\n{}]}\n");
	ck_assert_int_eq(mt_quar_load(&Q, path), 1);
	ck_assert_int_eq(mt_quar_is_in(mt_quar_find(&Q, "a")), 1);
}
END_TEST

Suite *state_suite(void)
{
	Suite *s = suite_create("state");
	TCase *tc = tcase_create("quarantine");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_third_bad_in_five_enters);
	tcase_add_test(tc, test_three_passes_leave);
	tcase_add_test(tc, test_other_verdicts);
	tcase_add_test(tc, test_pins);
	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_damaged_moved_aside);
	suite_add_tcase(s, tc);
	return s;
}
