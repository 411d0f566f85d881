/* Unit tests: include/mtest/state/quarantine.h (the rule in and out, pins,
 * the file's round trip, a damaged file moved aside). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mtest/base/buf.h"
#include "mtest/base/fsx.h"
#include "mtest/run/lava.h"
#include "mtest/state/quarantine.h"
#include "suites.h"

static struct mt_quarantine Q, Q2;
static char dir[64], path[128];

static void setup(void)
{
	snprintf(dir, sizeof dir, "/tmp/mtest-unit-state-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/quarantine.json", dir);
	ck_assert_int_eq(mt_quar_load(&Q, AT_FDCWD, path, path), 1);	/* absent: empty */
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
	ck_assert_int_eq(mt_quar_save(&Q, AT_FDCWD, path), 1);
	ck_assert_int_eq(mt_quar_load(&Q2, AT_FDCWD, path, path), 1);
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
	unit_write_file(path, text);
}

/* Loaded, or holding anything after a load. */
static int quar_loads(const char *p)
{
	return mt_quar_load(&Q, AT_FDCWD, p, p) || Q.n != 0;
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
	unit_each_moved_aside(path, bad, sizeof bad / sizeof bad[0], quar_loads);
	write_file("{\"v\":1,\"tests\":[\n{\"id\":\"a\",\"h\":\"FFF\",\"in\":true},\n{}]}\n");
	ck_assert_int_eq(mt_quar_load(&Q, AT_FDCWD, path, path), 1);
	ck_assert_int_eq(mt_quar_is_in(mt_quar_find(&Q, "a")), 1);
}
END_TEST

/* ---- LAVA names and XML text (the formats fleets read) ---------------- */

static const char *lava(const char *s, size_t cap)
{
	static char out[512];
	struct mt_buf b;

	mt_buf_init(&b, out, sizeof out, -1);
	mt_lava_name(&b, s, cap);
	return mt_buf_str(&b);
}

static int lava_ok(const char *s, size_t cap)
{
	return strlen(s) >= 1 && strlen(s) <= cap &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") ==
		       strlen(s);
}

START_TEST(test_lava_names)
{
	static char longid[400], a1[128];
	const char *a, *b;

	ck_assert_str_eq(lava("test_restart", 100), "test_restart");
	ck_assert_str_eq(lava("TestPump::test_drain", 100), "TestPump.test_drain");
	a = strcpy(a1, lava("test_p[a b]", 100));
	b = lava("test_p[a_b]", 100);
	ck_assert(lava_ok(a, 100) && lava_ok(b, 100));
	ck_assert_str_ne(a, b);	/* the hash keeps them apart */
	ck_assert_int_eq(strncmp(a, "test_p_a_b_-", 12), 0);
	ck_assert(lava_ok(lava("", 100), 100));
	ck_assert(lava_ok(lava("<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=x RESULT=pass>", 100), 100));
	ck_assert(lava_ok(lava("\xc3\xa9\n\t", 100), 100));
	memset(longid, 'L', sizeof longid - 1);
	a = strcpy(a1, lava(longid, 100));
	ck_assert(lava_ok(a, 100));
	ck_assert_uint_eq(strlen(a), 100);
	longid[300] = 'X';	/* differs beyond the cut: a different name */
	ck_assert_str_ne(lava(longid, 100), a);
	ck_assert(lava_ok(lava(longid, 200), 200));
}
END_TEST

START_TEST(test_lava_verdicts)
{
	static char out[2048];
	struct mt_lava l = { { 0 } };
	struct mt_buf b;

	struct mt_lava_why pass = { MT_V_PASSED, "", "" };
	struct mt_lava_why hung = { MT_V_HUNG, "deadlock (likely)", "DEADLOCK <LAVA_SIGNAL_X y>\nz" };
	struct mt_lava_why notrun = { MT_V_NOT_RUN, "budget", "" };
	struct mt_lava_why coll = { MT_V_COLLECTION_ERROR, "ImportError", NULL };

	mt_buf_init(&b, out, sizeof out, -1);
	mt_lava_verdict(&l, &b, "a.py::t1", "a.py", &pass, 0, 12000);
	mt_lava_verdict(&l, &b, "a.py::t2", "a.py", &hung, 0, 5000000);
	mt_lava_verdict(&l, &b, "b.py::t3", "b.py", &notrun, 0, 0);
	mt_lava_verdict(&l, &b, "b.py::t4", "b.py", &notrun, 1, 0);
	mt_lava_verdict(&l, &b, "c.py", NULL, &coll, 0, 0);
	mt_lava_end(&l, &b);
	mt_lava_end(&l, &b);	/* closed once */
	ck_assert_str_eq(mt_buf_str(&b),
		"<LAVA_SIGNAL_TESTSET START a.py>\n"
		"<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=t1 RESULT=pass MEASUREMENT=0.012 UNITS=seconds>\n"
		"<LAVA_SIGNAL_STARTTC t2>\n"
		"<LAVA_SIGNAL_ENDTC t2 mtest: hung (deadlock (likely)): DEADLOCK [LAVA_SIGNAL_X y] z>\n"
		"<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=t2 RESULT=fail MEASUREMENT=5.000 UNITS=seconds>\n"
		"<LAVA_SIGNAL_TESTSET STOP>\n"
		"<LAVA_SIGNAL_TESTSET START b.py>\n"
		"<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=t3 RESULT=unknown>\n"
		"<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=t4 RESULT=skip>\n"
		"<LAVA_SIGNAL_TESTSET STOP>\n"
		"<LAVA_SIGNAL_TESTSET START c.py>\n"
		"<LAVA_SIGNAL_STARTTC collection>\n"
		"<LAVA_SIGNAL_ENDTC collection mtest: collection_error (ImportError)>\n"
		"<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=collection RESULT=fail MEASUREMENT=0.000 UNITS=seconds>\n"
		"<LAVA_SIGNAL_TESTSET STOP>\n");
}
END_TEST

START_TEST(test_xml_text)
{
	static const char in[] = "a<b>&\"c\" \x01\x1b ok\t\n\xc3\xa9 \xff\xc3 ]]>";
	char out[256];
	struct mt_buf b;

	mt_buf_init(&b, out, sizeof out, -1);
	mt_buf_xml(&b, in, sizeof in - 1);
	ck_assert_str_eq(mt_buf_str(&b),
			 "a&lt;b&gt;&amp;&quot;c&quot; ?? ok\t\n\xc3\xa9 \xef\xbf\xbd\xef\xbf\xbd ]]&gt;");
}
END_TEST

START_TEST(test_defang)
{
	char s[] = "<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=x RESULT=pass> <<";

	mt_defang(s, strlen(s));
	ck_assert_str_eq(s, "[LAVA_SIGNAL_TESTCASE TEST_CASE_ID=x RESULT=pass> [[");
}
END_TEST

/* The run's lock is the taking process's own: seen by others while it
 * lives, and not kept by a child it forked that outlives it (a worker
 * blocked in its cgroup's join before its exec, after a kill -9 of mtest:
 * with flock() the next run found the state directory busy). */
START_TEST(test_lock_not_kept_by_a_child)
{
	char lock[128], c;
	int go[2], alive[2], fd, status;
	pid_t a;

	snprintf(lock, sizeof lock, "%s/lock", dir);
	ck_assert_int_eq(pipe(go), 0);
	ck_assert_int_eq(pipe2(alive, O_NONBLOCK), 0);
	a = fork();
	ck_assert_int_ge(a, 0);
	if (a == 0) {
		int f = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);

		close(go[1]);
		close(alive[0]);
		if (f < 0 || !mt_lock_take(f) || write(alive[1], "L", 1) != 1)
			_exit(1);
		if (read(go[0], &c, 1) != 1)	/* the test has looked */
			_exit(2);
		if (fork() == 0) {	/* B: alive until go's last writer closes */
			while (read(go[0], &c, 1) == 1) {
			}
			_exit(0);
		}
		_exit(0);
	}
	close(go[0]);
	close(alive[1]);
	/* A holds it, or has died: its byte or the end of the pipe, within 10 s. */
	ck_assert_int_eq(poll(&(struct pollfd){ alive[0], POLLIN, 0 }, 1, 10000), 1);
	ck_assert_int_eq(read(alive[0], &c, 1), 1);
	fd = open(lock, O_RDWR | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(mt_lock_held(fd), 1);
	ck_assert_int_eq(mt_lock_holder(fd), a);
	ck_assert_int_eq(mt_lock_take(fd), 0);
	ck_assert_int_eq(errno, EWOULDBLOCK);
	ck_assert_int_eq(write(go[1], "g", 1), 1);
	ck_assert_int_eq(waitpid(a, &status, 0), a);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* A is gone, B lives (it holds alive's write end: no end of file). */
	ck_assert_int_eq(read(alive[0], &c, 1), -1);
	ck_assert_int_eq(errno, EAGAIN);
	ck_assert_int_eq(mt_lock_held(fd), 0);
	ck_assert_int_eq(mt_lock_take(fd), 1);
	close(go[1]);	/* B ends */
	close(alive[0]);
	close(fd);
}
END_TEST

Suite *state_suite(void)
{
	Suite *s = suite_create("state");
	TCase *tc = tcase_create("quarantine");
	TCase *tf = tcase_create("fleet formats");
	TCase *tl = tcase_create("run lock");

	tcase_add_test(tf, test_lava_names);
	tcase_add_test(tf, test_lava_verdicts);
	tcase_add_test(tf, test_xml_text);
	tcase_add_test(tf, test_defang);
	suite_add_tcase(s, tf);

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_third_bad_in_five_enters);
	tcase_add_test(tc, test_three_passes_leave);
	tcase_add_test(tc, test_other_verdicts);
	tcase_add_test(tc, test_pins);
	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_damaged_moved_aside);
	suite_add_tcase(s, tc);

	tcase_add_checked_fixture(tl, setup, teardown);
	tcase_add_test(tl, test_lock_not_kept_by_a_child);
	suite_add_tcase(s, tl);
	return s;
}
