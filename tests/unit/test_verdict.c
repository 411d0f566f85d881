/* Unit tests: include/mtest/verdict.h (a verdict from phase outcomes). */
#include <string.h>

#include "mtest/run/verdict.h"
#include "suites.h"

static struct mt_phases P;
static char reason[MT_REASON_MAX], note[MT_REASON_MAX];

static void phase_failed(int ph, const char *exc)
{
	P.outcome[ph] = MT_O_FAILED;
	strcpy(P.exc[ph], exc);
}

static enum mt_verdict verdict(void)
{
	memset(reason, 'R', sizeof reason);
	memset(note, 'N', sizeof note);
	return mt_verdict_of(&P, reason, sizeof reason, note, sizeof note);
}

START_TEST(test_all_passed)
{
	mt_phases_reset(&P);
	ck_assert_int_eq(verdict(), MT_V_PASSED);
	ck_assert_str_eq(reason, "");
	ck_assert_str_eq(note, "");
}
END_TEST

START_TEST(test_setup_error)
{
	mt_phases_reset(&P);
	phase_failed(MT_SETUP, "RuntimeError");
	ck_assert_int_eq(verdict(), MT_V_ERROR);
	ck_assert_str_eq(reason, "setup: RuntimeError");
	ck_assert_str_eq(note, "");
}
END_TEST

START_TEST(test_setup_and_teardown_error)
{
	mt_phases_reset(&P);
	phase_failed(MT_SETUP, "RuntimeError");
	phase_failed(MT_TEARDOWN, "OSError");
	ck_assert_int_eq(verdict(), MT_V_ERROR);
	ck_assert_str_eq(reason, "setup: RuntimeError");
	ck_assert_ptr_nonnull(strstr(note, "teardown"));
	ck_assert_ptr_nonnull(strstr(note, "OSError"));
}
END_TEST

START_TEST(test_call_failure_and_teardown_error)
{
	mt_phases_reset(&P);
	phase_failed(MT_CALL, "AssertionError");
	phase_failed(MT_TEARDOWN, "OSError");
	ck_assert_int_eq(verdict(), MT_V_FAILED);
	ck_assert_str_eq(reason, "AssertionError");
	ck_assert_ptr_nonnull(strstr(note, "teardown"));
	ck_assert_ptr_nonnull(strstr(note, "OSError"));
}
END_TEST

START_TEST(test_call_failure)
{
	mt_phases_reset(&P);
	phase_failed(MT_CALL, "ZeroDivisionError");
	ck_assert_int_eq(verdict(), MT_V_FAILED);
	ck_assert_str_eq(reason, "ZeroDivisionError");
	ck_assert_str_eq(note, "");
}
END_TEST

START_TEST(test_teardown_error_after_pass)
{
	mt_phases_reset(&P);
	phase_failed(MT_TEARDOWN, "ValueError");
	ck_assert_int_eq(verdict(), MT_V_ERROR);
	ck_assert_str_eq(reason, "teardown: ValueError");
	ck_assert_str_eq(note, "");
}
END_TEST

START_TEST(test_skip_in_setup)
{
	mt_phases_reset(&P);
	P.outcome[MT_SETUP] = MT_O_SKIPPED;
	strcpy(P.skip, "no database");
	ck_assert_int_eq(verdict(), MT_V_SKIPPED);
	ck_assert_str_eq(reason, "no database");
}
END_TEST

START_TEST(test_skip_in_call)
{
	mt_phases_reset(&P);
	P.outcome[MT_CALL] = MT_O_SKIPPED;
	strcpy(P.skip, "later");
	ck_assert_int_eq(verdict(), MT_V_SKIPPED);
	ck_assert_str_eq(reason, "later");
}
END_TEST

START_TEST(test_xfail)
{
	mt_phases_reset(&P);
	P.outcome[MT_CALL] = MT_O_SKIPPED;
	P.wasxfail[MT_CALL] = 1;
	strcpy(P.xfail, "bug 1234");
	ck_assert_int_eq(verdict(), MT_V_XFAILED);
	ck_assert_str_eq(reason, "bug 1234");
}
END_TEST

START_TEST(test_xfail_not_run)
{
	/* xfail(run=False): skipped in setup, with wasxfail */
	mt_phases_reset(&P);
	P.outcome[MT_SETUP] = MT_O_SKIPPED;
	P.wasxfail[MT_SETUP] = 1;
	strcpy(P.xfail, "crashes");
	ck_assert_int_eq(verdict(), MT_V_XFAILED);
	ck_assert_str_eq(reason, "crashes");
}
END_TEST

START_TEST(test_xpass)
{
	mt_phases_reset(&P);
	P.wasxfail[MT_CALL] = 1;
	strcpy(P.xfail, "flaky");
	ck_assert_int_eq(verdict(), MT_V_XPASSED);
	ck_assert_str_eq(reason, "flaky");
}
END_TEST

START_TEST(test_strict_xpass)
{
	mt_phases_reset(&P);
	phase_failed(MT_CALL, "XPASS(strict)");
	ck_assert_int_eq(verdict(), MT_V_FAILED);
	ck_assert_str_eq(reason, "XPASS(strict)");
	/* even if the report also carried wasxfail */
	P.wasxfail[MT_CALL] = 1;
	strcpy(P.xfail, "known");
	ck_assert_int_eq(verdict(), MT_V_FAILED);
	ck_assert_str_eq(reason, "XPASS(strict)");
}
END_TEST

START_TEST(test_skipped_then_teardown_error)
{
	mt_phases_reset(&P);
	P.outcome[MT_SETUP] = MT_O_SKIPPED;
	strcpy(P.skip, "skip me");
	phase_failed(MT_TEARDOWN, "KeyError");
	ck_assert_int_eq(verdict(), MT_V_ERROR);
	ck_assert_str_eq(reason, "teardown: KeyError");
}
END_TEST

START_TEST(test_xfailed_then_teardown_error)
{
	mt_phases_reset(&P);
	P.outcome[MT_CALL] = MT_O_SKIPPED;
	P.wasxfail[MT_CALL] = 1;
	strcpy(P.xfail, "expected");
	phase_failed(MT_TEARDOWN, "KeyError");
	ck_assert_int_eq(verdict(), MT_V_ERROR);
	ck_assert_str_eq(reason, "teardown: KeyError");
}
END_TEST

START_TEST(test_failure_without_exc_name)
{
	mt_phases_reset(&P);
	P.outcome[MT_CALL] = MT_O_FAILED;
	ck_assert_int_eq(verdict(), MT_V_FAILED);
	ck_assert_str_eq(reason, "error");
	mt_phases_reset(&P);
	P.outcome[MT_SETUP] = MT_O_FAILED;
	P.outcome[MT_TEARDOWN] = MT_O_FAILED;
	ck_assert_int_eq(verdict(), MT_V_ERROR);
	ck_assert_str_eq(reason, "setup: error");
	ck_assert_ptr_nonnull(strstr(note, "error"));
	mt_phases_reset(&P);
	P.outcome[MT_TEARDOWN] = MT_O_FAILED;
	ck_assert_int_eq(verdict(), MT_V_ERROR);
	ck_assert_str_eq(reason, "teardown: error");
}
END_TEST

START_TEST(test_small_buffers)
{
	char r[8], n[4];

	mt_phases_reset(&P);
	phase_failed(MT_SETUP, "AVeryLongExceptionName");
	phase_failed(MT_TEARDOWN, "AnotherLongName");
	memset(r, 'x', sizeof r);
	memset(n, 'x', sizeof n);
	ck_assert_int_eq(mt_verdict_of(&P, r, sizeof r, n, sizeof n), MT_V_ERROR);
	ck_assert_uint_eq(strlen(r), sizeof r - 1);
	ck_assert_str_eq(r, "setup: ");
	ck_assert_uint_eq(strlen(n), sizeof n - 1);
}
END_TEST

START_TEST(test_phase_parse)
{
	ck_assert_int_eq(mt_phase_parse("setup"), MT_SETUP);
	ck_assert_int_eq(mt_phase_parse("call"), MT_CALL);
	ck_assert_int_eq(mt_phase_parse("teardown"), MT_TEARDOWN);
	ck_assert_int_eq(mt_phase_parse(""), -1);
	ck_assert_int_eq(mt_phase_parse("Call"), -1);
	ck_assert_int_eq(mt_phase_parse("calls"), -1);
}
END_TEST

START_TEST(test_reset_clears)
{
	phase_failed(MT_CALL, "X");
	P.wasxfail[MT_SETUP] = 1;
	strcpy(P.skip, "s");
	mt_phases_reset(&P);
	ck_assert_int_eq(P.outcome[MT_CALL], MT_O_PASSED);
	ck_assert_int_eq(P.wasxfail[MT_SETUP], 0);
	ck_assert_str_eq(P.exc[MT_CALL], "");
	ck_assert_str_eq(P.skip, "");
	ck_assert_int_eq(verdict(), MT_V_PASSED);
}
END_TEST

Suite *verdict_suite(void)
{
	Suite *s = suite_create("verdict");
	TCase *tc = tcase_create("corners");

	tcase_add_test(tc, test_all_passed);
	tcase_add_test(tc, test_setup_error);
	tcase_add_test(tc, test_setup_and_teardown_error);
	tcase_add_test(tc, test_call_failure_and_teardown_error);
	tcase_add_test(tc, test_call_failure);
	tcase_add_test(tc, test_teardown_error_after_pass);
	tcase_add_test(tc, test_skip_in_setup);
	tcase_add_test(tc, test_skip_in_call);
	tcase_add_test(tc, test_xfail);
	tcase_add_test(tc, test_xfail_not_run);
	tcase_add_test(tc, test_xpass);
	tcase_add_test(tc, test_strict_xpass);
	tcase_add_test(tc, test_skipped_then_teardown_error);
	tcase_add_test(tc, test_xfailed_then_teardown_error);
	tcase_add_test(tc, test_failure_without_exc_name);
	tcase_add_test(tc, test_small_buffers);
	tcase_add_test(tc, test_phase_parse);
	tcase_add_test(tc, test_reset_clears);
	suite_add_tcase(s, tc);
	return s;
}
