/* Unit tests: include/mtest/led/ (codes, board files, the rhythm engine
 * on the fake chip, with a clock of our own). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mtest/led/board.h"
#include "mtest/led/codes.h"
#include "mtest/led/leds.h"
#include "mtest/led/request.h"
#include "suites.h"

static struct mt_board B;
static struct mt_leds L;

START_TEST(test_codes_told_apart)
{
	int a, b;

	/* Every pair of codes differs on the status LED alone. */
	for (a = 0; a < MT_LED_COUNT; a++)
		for (b = a + 1; b < MT_LED_COUNT; b++) {
			const struct mt_led_look *x = mt_led_look((enum mt_led_code)a);
			const struct mt_led_look *y = mt_led_look((enum mt_led_code)b);

			if (a == MT_LED_PASS && b == MT_LED_LAMP)
				continue;	/* the lamp test lights every LED */
			ck_assert_msg(x->nsteps != y->nsteps ||
				      memcmp(x->step, y->step, sizeof x->step) != 0,
				      "%s and %s look alike", x->name, y->name);
		}
	for (a = 0; a < MT_LED_COUNT; a++) {
		const struct mt_led_look *k = mt_led_look((enum mt_led_code)a);

		ck_assert_int_eq(mt_led_code_named(k->name), a);
		ck_assert(k->nsteps >= 1 && k->nsteps <= MT_LED_STEPS_MAX);
		ck_assert(k->nsteps == 1 || k->nsteps % 2 == 0);	/* on, off, on, off */
	}
	ck_assert_int_eq(mt_led_code_named("bogus"), MT_LED_COUNT);
}
END_TEST

START_TEST(test_code_of_end)
{
	ck_assert_int_eq(mt_led_code_of_end(0, 0, 0, 0), MT_LED_PASS);
	ck_assert_int_eq(mt_led_code_of_end(0, 0, 0, 2), MT_LED_QUARANTINED);
	ck_assert_int_eq(mt_led_code_of_end(1, 0, 0, 0), MT_LED_FAILURES);
	ck_assert_int_eq(mt_led_code_of_end(1, 1, 0, 0), MT_LED_HANGS);
	ck_assert_int_eq(mt_led_code_of_end(1, 0, 1, 0), MT_LED_HANGS);
	ck_assert_int_eq(mt_led_code_of_end(2, 0, 0, 0), MT_LED_INCOMPLETE);
	ck_assert_int_eq(mt_led_code_of_end(5, 0, 0, 0), MT_LED_INCOMPLETE);
	ck_assert_int_eq(mt_led_code_of_end(6, 0, 0, 0), MT_LED_INCOMPLETE);
	ck_assert_int_eq(mt_led_code_of_end(3, 0, 0, 0), MT_LED_FAULT);
	ck_assert_int_eq(mt_led_code_of_end(4, 0, 0, 0), MT_LED_FAULT);
}
END_TEST

static const char fake[] = "{\"board\":\"u\",\"leds\":[{\"role\":\"status\",\"chip\":\"mtest-fake\","
			   "\"line\":0},{\"role\":\"alarm\",\"chip\":\"mtest-fake\",\"line\":2}]}";

START_TEST(test_rhythm_on_its_own_clock)
{
	char err[512];
	int busy;
	int64_t t = 1000000000;

	unsetenv("MTEST_LED_FAKE_LOG");
	ck_assert_msg(mt_board_parse(&B, fake, sizeof fake - 1, "u.json", err, sizeof err), "%s",
		      err);
	ck_assert_msg(mt_leds_open(&L, &B, "unit", &busy, err, sizeof err), "%s", err);
	mt_leds_show(&L, MT_LED_FAILURES, t);	/* on 250, off 250, on 250, off 1500 */
	ck_assert_int_eq(L.led[0].level, 1);
	ck_assert_int_eq(L.led[1].level, 1);	/* alarm: on */
	ck_assert_int_eq(mt_leds_next_us(&L), t + 250000);
	mt_leds_tick(&L, t + 249999);
	ck_assert_int_eq(L.led[0].level, 1);
	mt_leds_tick(&L, t + 250000);
	ck_assert_int_eq(L.led[0].level, 0);
	mt_leds_tick(&L, t + 500000);
	ck_assert_int_eq(L.led[0].level, 1);
	mt_leds_tick(&L, t + 760000);	/* late: the next step still ends on time */
	ck_assert_int_eq(L.led[0].level, 0);
	ck_assert_int_eq(mt_leds_next_us(&L), t + 2250000);
	mt_leds_tick(&L, t + 2250000);
	ck_assert_int_eq(L.led[0].level, 1);	/* the period: 2.25 s */
	/* A long stall: the rhythm starts again from now, no catching up. */
	mt_leds_tick(&L, t + 60000000);
	ck_assert(mt_leds_next_us(&L) > t + 60000000 && mt_leds_next_us(&L) <= t + 61500000);
	mt_leds_show(&L, MT_LED_PASS, t + 70000000);
	ck_assert_int_eq(L.led[0].level, 1);
	ck_assert_int_eq(L.led[1].level, 0);
	ck_assert(mt_leds_next_us(&L) == INT64_MAX);	/* steady: no timer */
	mt_leds_close(&L);
	ck_assert(mt_leds_next_us(&L) == INT64_MAX);
	mt_leds_tick(&L, t);	/* closed: nothing happens */
}
END_TEST

START_TEST(test_board_roundtrip_fields)
{
	static const char text[] =
		"{\"board\":\"b\",\"comment\":\"x\",\"leds\":[{\"role\":\"status\",\"chip\":"
		"\"/dev/gpiochip0\",\"line\":\"GPIO17\",\"active_low\":true},{\"role\":\"ok\","
		"\"led\":\"ACT\"}],\"defaults\":{\"state_dir\":\"/s\",\"suite\":\"/t\",\"python\":"
		"\"/p\",\"timeout\":\"9\",\"budget\":\"1h\"},\"timeout_scale\":2.5}";
	char err[512];

	ck_assert_msg(mt_board_parse(&B, text, sizeof text - 1, "b.json", err, sizeof err), "%s",
		      err);
	ck_assert_str_eq(B.name, "b");
	ck_assert_int_eq(B.nleds, 2);
	ck_assert_str_eq(B.leds[0].chip, "/dev/gpiochip0");
	ck_assert_str_eq(B.leds[0].line_name, "GPIO17");
	ck_assert_int_eq(B.leds[0].line, -1);
	ck_assert_int_eq(B.leds[0].active_low, 1);
	ck_assert_int_eq(B.leds[1].role, MT_ROLE_OK);
	ck_assert_str_eq(B.leds[1].led, "ACT");
	ck_assert_str_eq(B.state_dir, "/s");
	ck_assert_str_eq(B.budget, "1h");
	ck_assert_str_eq(B.timeout_scale, "2.5");
	{
		static const char scale[] = "{\"board\":\"b\",\"timeout_scale\":\"3\",\"leds\":"
					    "[{\"role\":\"status\",\"led\":\"x\"}]}";

		ck_assert(!mt_board_parse(&B, scale, sizeof scale - 1, "s.json", err, sizeof err));
		ck_assert_msg(strstr(err, "s.json: timeout_scale: want a number, got 3") != NULL,
			      "%s", err);
	}
	/* A led name with a slash would leave /sys/class/leds. */
	{
		static const char slash[] = "{\"board\":\"b\",\"leds\":[{\"role\":\"status\","
					    "\"led\":\"../../x\"}]}";

		ck_assert(!mt_board_parse(&B, slash, sizeof slash - 1, "c.json", err, sizeof err));
	}
	ck_assert_msg(strstr(err, "c.json: leds[0].led: want a name in /sys/class/leds") != NULL,
		      "%s", err);
	/* A key with a newline in it: still one line (found by fuzz_board). */
	{
		static const char nl[] = "{\"board\":\"b\",\"le\nds\":[]}";

		ck_assert(!mt_board_parse(&B, nl, sizeof nl - 1, "d.json", err, sizeof err));
	}
	ck_assert_msg(strchr(err, '\n') == NULL && strstr(err, "d.json: le?ds: unknown field"),
		      "%s", err);
}
END_TEST

/* A board file one byte over MT_BOARD_BYTES is refused, never parsed cut
 * short (a 16 KiB + 1 file used to be read as its first 16 KiB). */
START_TEST(test_board_size_limit)
{
	static char text[MT_BOARD_BYTES + 2];
	static const char board[] = "{\"board\":\"b\",\"leds\":[{\"role\":\"status\","
				    "\"led\":\"ACT\"}]}";
	char path[] = "/tmp/mtest-unit-board-XXXXXX", err[512];
	size_t n;
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	for (n = MT_BOARD_BYTES; n <= MT_BOARD_BYTES + 1; n++) {
		memset(text, ' ', n);
		memcpy(text, board, sizeof board - 1);
		ck_assert_int_eq(ftruncate(fd, 0), 0);
		ck_assert_int_eq(pwrite(fd, text, n, 0), (ssize_t)n);
		err[0] = '\0';
		ck_assert_int_eq(mt_board_load(&B, path, err, sizeof err), n == MT_BOARD_BYTES);
	}
	ck_assert_msg(strstr(err, "larger than 16384 bytes: not a board file") != NULL, "%s", err);
	close(fd);
	unlink(path);
}
END_TEST

/* The LED daemon's requests: exactly "lamp" or "show CODE SECS". */
START_TEST(test_led_requests)
{
	static const char *const bad[] = {
		"", "lamp ", "Lamp", "lamp\n", "show", "show pass", "show pass ", "show pass 0",
		"show pass 3601", "show pass 99999", "show pass -5", "show pass +5", "show pass 5 ",
		"show  pass 5", "show bogus 5", "show pass 5x", "show pass 0x10", "showpass 5",
		"show pass\t5", "shout pass 5",
	};
	struct mt_led_request r;
	char text[MT_LED_REQUEST_MAX];
	unsigned k;

	ck_assert(mt_led_request_parse("lamp", 4, &r));
	ck_assert(r.lamp_test && r.code == MT_LED_LAMP && r.secs == 3);
	ck_assert(mt_led_request_parse("show failures 3600", 18, &r));
	ck_assert(!r.lamp_test && r.code == MT_LED_FAILURES && r.secs == 3600);
	ck_assert(mt_led_request_parse("show lamp 1", 11, &r));
	ck_assert(!r.lamp_test && r.code == MT_LED_LAMP && r.secs == 1);
	ck_assert_uint_eq(mt_led_request_format(&r, text, sizeof text), 11);
	ck_assert_str_eq(text, "show lamp 1");
	/* A NUL inside is no request (the daemon gets bytes, not strings). */
	ck_assert(!mt_led_request_parse("show pass\0 5", 12, &r));
	ck_assert(!mt_led_request_parse("lamp", 3, &r));
	for (k = 0; k < sizeof bad / sizeof bad[0]; k++)
		ck_assert_msg(!mt_led_request_parse(bad[k], strlen(bad[k]), &r), "'%s' taken", bad[k]);
	r.lamp_test = 0;
	r.code = MT_LED_PASS;
	r.secs = 0;
	ck_assert_uint_eq(mt_led_request_format(&r, text, sizeof text), 0);
	r.secs = 10;
	ck_assert_uint_eq(mt_led_request_format(&r, text, 8), 0);	/* too small */
}
END_TEST

START_TEST(test_board_limits)
{
	static const char text[] =
		"{\"board\":\"b\",\"leds\":[{\"role\":\"status\",\"led\":\"ACT\"}],"
		"\"limits\":{\"memory_max\":\"1G\",\"lane_memory_max\":\"512M\","
		"\"lane_memory_high\":\"400M\",\"cpu_weight\":20,\"io_weight\":5,\"comment\":\"c\"}}";
	static const char bad[] =
		"{\"board\":\"b\",\"leds\":[{\"role\":\"status\",\"led\":\"ACT\"}],"
		"\"limits\":{\"cpu_weight\":\"20\"}}";
	static const char typo[] =
		"{\"board\":\"b\",\"leds\":[{\"role\":\"status\",\"led\":\"ACT\"}],"
		"\"limits\":{\"lane_memory_mx\":\"1G\"}}";
	char err[512];

	ck_assert_msg(mt_board_parse(&B, text, sizeof text - 1, "b.json", err, sizeof err), "%s",
		      err);
	ck_assert_str_eq(B.limit[0], "1G");
	ck_assert_str_eq(B.limit[1], "");
	ck_assert_str_eq(B.limit[2], "512M");
	ck_assert_str_eq(B.limit[3], "400M");
	ck_assert_int_eq(B.cpu_weight, 20);
	ck_assert_int_eq(B.io_weight, 5);
	ck_assert(!mt_board_parse(&B, bad, sizeof bad - 1, "b.json", err, sizeof err));
	ck_assert_msg(strstr(err, "b.json: limits.cpu_weight: want a number from 1 to 10000"), "%s",
		      err);
	ck_assert(!mt_board_parse(&B, typo, sizeof typo - 1, "b.json", err, sizeof err));
	ck_assert_msg(strstr(err, "limits.lane_memory_mx: unknown field"), "%s", err);
}
END_TEST

Suite *led_suite(void)
{
	Suite *s = suite_create("led");
	TCase *tc = tcase_create("codes");

	tcase_add_test(tc, test_codes_told_apart);
	tcase_add_test(tc, test_code_of_end);
	tcase_add_test(tc, test_rhythm_on_its_own_clock);
	tcase_add_test(tc, test_board_roundtrip_fields);
	tcase_add_test(tc, test_board_size_limit);
	tcase_add_test(tc, test_led_requests);
	tcase_add_test(tc, test_board_limits);
	suite_add_tcase(s, tc);
	return s;
}
