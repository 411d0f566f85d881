/* Unit tests: the event pipe's framing (worker.c's deframer, through a real
 * pipe), the id windows that blame leaks (dirt.c), and procfs.c. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mtest/sup/dirt.h"
#include "mtest/base/fsx.h"
#include "mtest/base/procfs.h"
#include "mtest/run/run.h"
#include "mtest/sup/worker.h"
#include "suites.h"

/* ---- framing ------------------------------------------------------------------ */

static struct mt_worker W;
static char got[16][256];
static int ngot;

static void on_line(void *ctx, struct mt_worker *w, char *line, size_t len)
{
	(void)ctx;
	(void)w;
	if (ngot < 16) {
		snprintf(got[ngot], sizeof got[0], "%.*s", (int)len, line);
		ngot++;
	}
}

/* Feed bytes through a pipe in the given pieces, as the plugin and a
 * hostile test would write them. */
static int feed(const char *const *pieces, int n)
{
	int p[2], i, r = 1;

	ck_assert_int_eq(pipe2(p, O_NONBLOCK), 0);
	mt_worker_reset(&W, 1);
	W.ev_fd = p[0];
	ngot = 0;
	for (i = 0; i < n; i++) {
		size_t len = strlen(pieces[i]), off, k;

		/* In pipe-sized chunks, each read at once (the buffer is 64 KiB). */
		for (off = 0; off < len; off += k) {
			k = len - off < 4096 ? len - off : 4096;
			ck_assert(mt_write_all(p[1], pieces[i] + off, k));
			r = mt_worker_read_events(&W, on_line, NULL);
		}
	}
	close(p[1]);
	if (r)
		r = mt_worker_read_events(&W, on_line, NULL);
	return r;	/* 0: the end of the pipe was seen */
}

START_TEST(test_frames)
{
	static const char *const in[] = { "\x1e{\"q\":1}\n\x1e{\"q\":2}\n", "\x1e{\"q\":", "3}\n" };

	ck_assert_int_eq(feed(in, 3), 0);
	ck_assert_int_eq(ngot, 3);
	ck_assert_str_eq(got[0], "{\"q\":1}");
	ck_assert_str_eq(got[2], "{\"q\":3}");
	ck_assert_uint_eq(W.bad_lines, 0);
	ck_assert_int_eq(W.ev_fd, -1);	/* closed at its end */
}
END_TEST

START_TEST(test_partial_junk_resyncs)
{
	/* A test writes half a line; the plugin's next frame stays whole. */
	static const char *const in[] = { "\x1e{\"q\":1}\n", "{\"partial", "\x1e{\"q\":2}\n" };

	feed(in, 3);
	ck_assert_int_eq(ngot, 2);
	ck_assert_str_eq(got[1], "{\"q\":2}");
	ck_assert_uint_eq(W.bad_lines, 1);
	ck_assert_str_eq(W.sample, "{\"partial");
}
END_TEST

START_TEST(test_unframed_lines_are_junk)
{
	/* Old-style lines (a forgery without the frame), blank lines, and the
	 * crash handler's frame after them. */
	static const char *const in[] = { "{\"t\":\"done\"}\n", "\n\n", "junk\nmore junk\n",
					  "\x1e{\"t\":\"fatal\"}\n" };

	feed(in, 4);
	ck_assert_int_eq(ngot, 1);
	ck_assert_str_eq(got[0], "{\"t\":\"fatal\"}");
	ck_assert_uint_eq(W.bad_lines, 3);
}
END_TEST

START_TEST(test_frame_cut_by_next)
{
	static const char *const in[] = { "\x1e{\"q\":1", "\x1e{\"q\":2}\n" };

	feed(in, 2);
	ck_assert_int_eq(ngot, 1);
	ck_assert_str_eq(got[0], "{\"q\":2}");
	ck_assert_uint_eq(W.bad_lines, 1);
}
END_TEST

START_TEST(test_overlong_frame_dropped)
{
	static char big[MT_LINE_MAX + 64];
	const char *in[3] = { "\x1e", big, "\n\x1e{\"q\":9}\n" };

	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	feed(in, 3);
	ck_assert_int_eq(ngot, 1);
	ck_assert_str_eq(got[0], "{\"q\":9}");
	ck_assert_uint_eq(W.bad_lines, 1);
}
END_TEST

/* ---- id windows ----------------------------------------------------------------- */

static struct mt_dirt D;

static struct mt_proc fake(pid_t pid, pid_t ppid)
{
	struct mt_proc p = { .pid = pid, .ppid = ppid, .start = 1 };

	return p;
}

START_TEST(test_windows_blame_by_birth)
{
	struct mt_proc p;

	mt_dirt_reset(&D, getpid(), 1);
	D.based = 1;	/* no baseline scan: windows only */
	mt_dirt_test_start(&D, 1000);
	mt_dirt_test_end(&D, 0, 1010, 500000, 0);	/* test 0: ids 1001..1010 */
	mt_dirt_test_start(&D, 1012);			/* 1011, 1012: between tests */
	mt_dirt_test_end(&D, 1, 1020, 500000, 0);	/* test 1: 1013..1020 */
	p = fake(1001, 1);
	ck_assert_uint_eq(mt_dirt_owner(&D, &p), 0);
	p = fake(1010, 1);
	ck_assert_uint_eq(mt_dirt_owner(&D, &p), 0);
	p = fake(1011, 1);
	ck_assert_uint_eq(mt_dirt_owner(&D, &p), MT_NONE);	/* nobody's */
	p = fake(1013, 1);
	ck_assert_uint_eq(mt_dirt_owner(&D, &p), 1);
	p = fake(1000, 1);
	ck_assert_uint_eq(mt_dirt_owner(&D, &p), MT_NONE);	/* born before */
	p = fake(1021, 1);
	ck_assert_uint_eq(mt_dirt_owner(&D, &p), MT_NONE);	/* after */
}
END_TEST

START_TEST(test_windows_wrap)
{
	struct mt_proc p;

	mt_dirt_reset(&D, getpid(), 1);
	D.based = 1;
	/* pid_max reached during the test: 4194300..max, then 300..320 */
	mt_dirt_test_start(&D, 4194300);
	mt_dirt_test_end(&D, 7, 320, 500000, 0);
	p = fake(4194301, 1);
	ck_assert_uint_eq(mt_dirt_owner(&D, &p), 7);
	p = fake(310, 1);
	ck_assert_uint_eq(mt_dirt_owner(&D, &p), 7);
	p = fake(321, 1);
	ck_assert_uint_eq(mt_dirt_owner(&D, &p), MT_NONE);
	p = fake(4194300, 1);
	ck_assert_uint_eq(mt_dirt_owner(&D, &p), MT_NONE);
}
END_TEST

START_TEST(test_windows_unknown_cursor_blames_nobody)
{
	struct mt_proc p;

	mt_dirt_reset(&D, getpid(), 1);
	D.based = 1;
	mt_dirt_test_start(&D, -1);
	ck_assert_int_eq(mt_dirt_test_end(&D, 0, 1010, 500000, 0), 0);
	p = fake(1005, 1);
	ck_assert_uint_eq(mt_dirt_owner(&D, &p), MT_NONE);
}
END_TEST

START_TEST(test_window_without_births_needs_no_check)
{
	mt_dirt_reset(&D, getpid(), 1);
	D.based = 1;
	mt_dirt_test_start(&D, 500);
	ck_assert_int_eq(mt_dirt_test_end(&D, 0, 500, 500000, 0), 0);
	ck_assert_int_eq(D.nck, 0);
	mt_dirt_test_start(&D, 500);
	ck_assert_int_eq(mt_dirt_test_end(&D, 1, 501, 500000, 0), 1);
	ck_assert_int_eq(D.nck, 1);
}
END_TEST

/* A real child, born in a test's window and alive at its check: a leak
 * of that test; one that was killed and reaped within it: nothing. */
static int nleaks;
static struct mt_leak last_leak;

static void on_leak(void *ctx, const struct mt_leak *l)
{
	(void)ctx;
	nleaks++;
	last_leak = *l;
}

START_TEST(test_real_leak_and_reaped_child)
{
	pid_t alive_kid, reaped;
	long c0, c1;
	int st;

	mt_dirt_reset(&D, getpid(), 1);
	D.based = 1;
	c0 = 0;
	reaped = fork();
	if (reaped == 0)
		_exit(0);
	waitpid(reaped, &st, 0);
	alive_kid = fork();
	if (alive_kid == 0) {
		alarm(20);
		pause();
		_exit(0);
	}
	c1 = alive_kid;	/* the cursor is at least this after the forks */
	c0 = reaped - 1;
	mt_dirt_test_start(&D, c0);
	ck_assert_int_eq(mt_dirt_test_end(&D, 3, c1, 0, 0), 1);
	nleaks = 0;
	mt_dirt_check(&D, 1, 1, on_leak, NULL);
	kill(alive_kid, SIGKILL);
	waitpid(alive_kid, &st, 0);
	ck_assert_int_eq(nleaks, 1);
	ck_assert_uint_eq(last_leak.slot, 3);
	ck_assert_int_eq(last_leak.nprocs, 1);
	ck_assert_int_eq(last_leak.p[0].pid, alive_kid);
}
END_TEST

/* ---- procfs --------------------------------------------------------------------- */

START_TEST(test_procfs_self_and_child)
{
	struct mt_proc me, kid;
	pid_t pid;
	char cmd[256];
	int st;

	ck_assert(mt_proc_stat(getpid(), &me));
	ck_assert_int_eq(me.pid, getpid());
	ck_assert_int_eq(me.ppid, getppid());
	ck_assert(me.start > 0);
	ck_assert(mt_proc_is(getpid(), me.start));
	ck_assert(!mt_proc_is(getpid(), me.start + 1));
	ck_assert(!mt_proc_ending(getpid()));
	ck_assert(mt_proc_cmdline(getpid(), "?", cmd, sizeof cmd));
	ck_assert(strstr(cmd, "unit-tests") != NULL);
	pid = fork();
	if (pid == 0)
		_exit(3);
	/* A zombie: ending, and its status can be read until it is reaped. */
	for (;;) {
		ck_assert(mt_proc_stat(pid, &kid));
		if (kid.state == 'Z')
			break;
		usleep(1000);
	}
	ck_assert(mt_proc_ending(pid));
	ck_assert(mt_proc_exit_status(pid, kid.start, cmd, sizeof cmd));
	ck_assert_str_eq(cmd, "exit 3");
	waitpid(pid, &st, 0);
	ck_assert(!mt_proc_stat(pid, &kid));
	ck_assert(mt_proc_ending(pid));
	ck_assert(!mt_proc_exit_status(pid, kid.start, cmd, sizeof cmd));
	ck_assert_str_eq(cmd, "unknown");
}
END_TEST

START_TEST(test_procfs_descendants)
{
	static struct mt_proc out[64];
	int p[2], n, more, i, found = 0;
	pid_t kid;
	char c;

	ck_assert_int_eq(pipe(p), 0);
	kid = fork();
	if (kid == 0) {
		/* a grandchild, then tell the parent */
		if (fork() == 0) {
			alarm(20);
			pause();
			_exit(0);
		}
		ck_assert(write(p[1], "x", 1) == 1);
		alarm(20);
		pause();
		_exit(0);
	}
	ck_assert(read(p[0], &c, 1) == 1);
	n = mt_proc_descendants(getpid(), out, 64, &more);
	for (i = 0; i < n; i++)
		found += out[i].pid == kid || out[i].ppid == kid;
	for (i = 0; i < n; i++)
		if (out[i].ppid == kid)
			kill(out[i].pid, SIGKILL);
	kill(kid, SIGKILL);
	waitpid(kid, NULL, 0);
	ck_assert_int_eq(found, 2);
	ck_assert_int_eq(more, 0);
	ck_assert(mt_proc_tick_us() > 0);
	ck_assert(mt_proc_born_us(out[0].start) <= mt_proc_born_us(out[0].start + 1));
}
END_TEST

Suite *channel_suite(void)
{
	Suite *s = suite_create("channel");
	TCase *tc = tcase_create("framing");

	tcase_add_test(tc, test_frames);
	tcase_add_test(tc, test_partial_junk_resyncs);
	tcase_add_test(tc, test_unframed_lines_are_junk);
	tcase_add_test(tc, test_frame_cut_by_next);
	tcase_add_test(tc, test_overlong_frame_dropped);
	suite_add_tcase(s, tc);
	tc = tcase_create("windows");
	tcase_add_test(tc, test_windows_blame_by_birth);
	tcase_add_test(tc, test_windows_wrap);
	tcase_add_test(tc, test_windows_unknown_cursor_blames_nobody);
	tcase_add_test(tc, test_window_without_births_needs_no_check);
	tcase_add_test(tc, test_real_leak_and_reaped_child);
	suite_add_tcase(s, tc);
	tc = tcase_create("procfs");
	tcase_add_test(tc, test_procfs_self_and_child);
	tcase_add_test(tc, test_procfs_descendants);
	suite_add_tcase(s, tc);
	return s;
}
