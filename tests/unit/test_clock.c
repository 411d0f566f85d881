/* Unit tests: include/mtest/clock.h (UTC stamps without the C library's
 * time zone code). */
#include <stdint.h>

#include "mtest/base/buf.h"
#include "mtest/base/clock.h"
#include "suites.h"

static const char *utc(int64_t wall_us)
{
	static char out[64];
	struct mt_buf b = MT_BUF_INIT(out);

	mt_buf_utc(&b, wall_us);
	ck_assert_uint_eq(b.cut, 0);
	return mt_buf_str(&b);
}

START_TEST(test_utc_epoch)
{
	ck_assert_str_eq(utc(0), "1970-01-01T00:00:00.000Z");
	ck_assert_str_eq(utc(999), "1970-01-01T00:00:00.000Z");
	ck_assert_str_eq(utc(1000), "1970-01-01T00:00:00.001Z");
	ck_assert_str_eq(utc(86399999999LL), "1970-01-01T23:59:59.999Z");
	ck_assert_str_eq(utc(86400000000LL), "1970-01-02T00:00:00.000Z");
}
END_TEST

START_TEST(test_utc_leap_days)
{
	ck_assert_str_eq(utc(1709210096789000LL), "2024-02-29T12:34:56.789Z");
	ck_assert_str_eq(utc(1709210096789000LL + 86400000000LL - 45296789000LL),
			 "2024-03-01T00:00:00.000Z");
	ck_assert_str_eq(utc(951868799999000LL), "2000-02-29T23:59:59.999Z");
	/* 2100 is not a leap year */
	ck_assert_str_eq(utc(4107542400000000LL), "2100-03-01T00:00:00.000Z");
	ck_assert_str_eq(utc(4107542400000000LL - 1000), "2100-02-28T23:59:59.999Z");
	ck_assert_str_eq(utc(946684799999000LL), "1999-12-31T23:59:59.999Z");
}
END_TEST

START_TEST(test_utc_after_2038)
{
	ck_assert_str_eq(utc(2147483647000000LL), "2038-01-19T03:14:07.000Z");
	ck_assert_str_eq(utc(2147483648000000LL), "2038-01-19T03:14:08.000Z");
	ck_assert_str_eq(utc(9223372036854000LL), "2262-04-11T23:47:16.854Z");
}
END_TEST

START_TEST(test_parse_round_trip)
{
	static const int64_t vals[] = {
		0, 1000, 86400000000LL, 951868799999000LL, 1709210096789000LL,
		2147483648000000LL, 4107542400000000LL, 1764065125123000LL,
		253402300799999000LL,	/* 9999-12-31T23:59:59.999Z */
	};
	unsigned i;
	int64_t back;

	for (i = 0; i < sizeof vals / sizeof vals[0]; i++) {
		back = -1;
		ck_assert_msg(mt_parse_utc(utc(vals[i]), &back), "%s not parsed", utc(vals[i]));
		ck_assert_msg(back == vals[i], "%s: %lld != %lld", utc(vals[i]),
			      (long long)back, (long long)vals[i]);
	}
	ck_assert_str_eq(utc(253402300799999000LL), "9999-12-31T23:59:59.999Z");
}
END_TEST

START_TEST(test_parse_known)
{
	int64_t us = 0;

	ck_assert(mt_parse_utc("2024-02-29T12:34:56.789Z", &us));
	ck_assert_int_eq(us, 1709210096789000LL);
	ck_assert(mt_parse_utc("1970-01-01T00:00:00.000Z", &us));
	ck_assert_int_eq(us, 0);
}
END_TEST

/* Stamps not in mtest's own form read as sscanf reads them (the fast
 * path takes only that form). */
START_TEST(test_parse_other_forms)
{
	static const char *const forms[] = {
		" 2024-02-29T12:34:56.789Z",	/* leading space */
		"2024-2-29T12:34:56.789Z",	/* one digit */
		"2024-02-29T12:34:56.789X",	/* no Z: still read */
		"2024-02-29T12:34:56.789Zjunk",
		"2024-02-29T12:34:56.7Z",
	};
	int64_t us, want = 1709210096789000LL;
	unsigned k;

	for (k = 0; k < sizeof forms / sizeof forms[0]; k++) {
		us = 0;
		ck_assert_msg(mt_parse_utc(forms[k], &us), "%s", forms[k]);
		ck_assert_msg(us == (k == 4 ? want - 782000 : want), "%s: %lld", forms[k],
			      (long long)us);
	}
	ck_assert(!mt_parse_utc("2024-02-29T12:34:5x.789Z", &us));
}
END_TEST

START_TEST(test_parse_rejects)
{
	int64_t us = 42;

	ck_assert(!mt_parse_utc("", &us));
	ck_assert(!mt_parse_utc("garbage", &us));
	ck_assert(!mt_parse_utc("2024-02-29", &us));
	ck_assert(!mt_parse_utc("2024-02-29 12:34:56.789Z", &us));
	ck_assert(!mt_parse_utc("2024-13-01T00:00:00.000Z", &us));
	ck_assert(!mt_parse_utc("2024-00-01T00:00:00.000Z", &us));
	ck_assert(!mt_parse_utc("2024-01-00T00:00:00.000Z", &us));
	ck_assert(!mt_parse_utc("2024-01-32T00:00:00.000Z", &us));
	ck_assert(!mt_parse_utc("2024-01-01T24:00:00.000Z", &us));
	ck_assert(!mt_parse_utc("2024-01-01T00:60:00.000Z", &us));
	ck_assert(!mt_parse_utc("2024-01-01T00:00:61.000Z", &us));
	ck_assert(!mt_parse_utc("2024-01-01T00:00:00Z", &us));
	ck_assert(!mt_parse_utc("2024-01-01T-1:00:00.000Z", &us));
	ck_assert_int_eq(us, 42);
}
END_TEST

START_TEST(test_monotonic_does_not_go_back)
{
	int64_t a = mt_now_us(), b = mt_now_us();

	ck_assert_int_gt(a, 0);
	ck_assert_int_ge(b, a);
	ck_assert_int_lt(a, MT_NEVER);
}
END_TEST

Suite *clock_suite(void)
{
	Suite *s = suite_create("clock");
	TCase *tc = tcase_create("utc");

	tcase_add_test(tc, test_utc_epoch);
	tcase_add_test(tc, test_utc_leap_days);
	tcase_add_test(tc, test_utc_after_2038);
	tcase_add_test(tc, test_parse_round_trip);
	tcase_add_test(tc, test_parse_known);
	tcase_add_test(tc, test_parse_rejects);
	tcase_add_test(tc, test_parse_other_forms);
	tcase_add_test(tc, test_monotonic_does_not_go_back);
	suite_add_tcase(s, tc);
	return s;
}
