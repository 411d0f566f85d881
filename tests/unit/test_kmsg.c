/* Unit tests: include/mtest/base/kmsg.h (the kernel's log, taint, markers),
 * against records written into a pipe or a file, a faked read(2) for the
 * kernel's EPIPE, and the real /dev/kmsg where it can be read. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mtest/base/kmsg.h"
#include "suites.h"

static struct mt_kmsg K;

static void take(const char *s)
{
	mt_kmsg_take(&K, s, strlen(s));
}

static void put(int fd, const char *s)
{
	ck_assert_int_eq(write(fd, s, strlen(s)), (ssize_t)strlen(s));
}

START_TEST(test_parse)
{
	struct mt_kmsg_line l;
	const char *r = "4,1234,5678901,-,caller=T42;WARNING: CPU: 1 PID: 77 at x.c:9\n"
			" SUBSYSTEM=usb\n";

	ck_assert(mt_kmsg_parse(r, strlen(r), &l));
	ck_assert_int_eq(l.level, 4);
	ck_assert_int_eq(l.facility, 0);
	ck_assert_uint_eq(l.seq, 1234);
	ck_assert_int_eq(l.ts_us, 5678901);
	ck_assert_uint_eq(l.len, strlen("WARNING: CPU: 1 PID: 77 at x.c:9"));
	ck_assert(mt_kmsg_parse("14,5,6,-;hi", 11, &l));
	ck_assert_int_eq(l.facility, 1);
	ck_assert_int_eq(l.level, 6);
	ck_assert(!mt_kmsg_parse("14,5,6,-hi", 10, &l));
	ck_assert(!mt_kmsg_parse("x,5,6,-;hi", 10, &l));
	ck_assert(!mt_kmsg_parse("", 0, &l));
}
END_TEST

START_TEST(test_markers_known)
{
	ck_assert(mt_kmsg_is_marker("mtest[12]: lane 1: start t", 26));
	ck_assert(!mt_kmsg_is_marker("mtest[]: x", 10));
	ck_assert(!mt_kmsg_is_marker("mtest[12] x", 11));
	ck_assert(!mt_kmsg_is_marker("mtestd[12]: x", 13));
}
END_TEST

/* Each kind of line, the process it names, the worst of a test. */
START_TEST(test_classify)
{
	mt_kmsg_init(&K);
	take("6,1,100,-;usb 1-1: new high-speed USB device\n");
	ck_assert_int_eq(K.worst, MT_KMSG_LINE);
	take("3,2,200,-;snd_hda_intel 0000:00:1b.0: azx_get_response timeout\n");
	ck_assert_int_eq(K.worst, MT_KMSG_ERROR);
	take("6,3,300,-;python3[4242]: segfault at 0 ip 00007f sp 00007f error 4 in "
		     "libc.so.6\n");
	ck_assert_int_eq(K.worst, MT_KMSG_SEGFAULT);
	ck_assert_str_eq(K.worst_line, "python3[4242]: segfault at 0 ip 00007f sp 00007f error 4 "
			 "in libc.so.6");
	take("4,4,400,-;WARNING: CPU: 0 PID: 4242 at sound/core/pcm.c:12 x+0x1/0x2\n");
	ck_assert_int_eq(K.worst, MT_KMSG_WARNING);
	ck_assert_int_eq(K.nvictims, 0);
	take("3,5,500,-;Out of memory: Killed process 4243 (python3) total-vm:9kB, "
		     "anon-rss:8kB\n");
	ck_assert_int_eq(K.worst, MT_KMSG_OOM);
	ck_assert(mt_kmsg_killed(&K, 4243));
	ck_assert(!mt_kmsg_killed(&K, 4242));
	ck_assert_str_eq(K.oom_line, "Out of memory: Killed process 4243 (python3) total-vm:9kB, "
			 "anon-rss:8kB");
	take("6,6,600,-;oom-kill:constraint=CONSTRAINT_MEMCG,task=sh,pid=99,uid=0\n");
	ck_assert(mt_kmsg_killed(&K, 99));
	take("11,7,650,-;Out of memory: Killed process 1 (init) forged by a test\n");
	ck_assert(!mt_kmsg_killed(&K, 1));
	take("0,7,700,-;watchdog: BUG: soft lockup - CPU#0 stuck for 22s! [spin:31]\n");
	ck_assert_int_eq(K.worst, MT_KMSG_LOCKUP);
	take("1,8,800,-;BUG: kernel NULL pointer dereference, address: 0\n");
	ck_assert_int_eq(K.worst, MT_KMSG_OOPS);
	ck_assert_str_eq(K.worst_line, "BUG: kernel NULL pointer dereference, address: 0");
	ck_assert_uint_eq(K.lines, 9);
	ck_assert_uint_eq(K.first_seq, 1);
	ck_assert_uint_eq(K.last_seq, 8);
	ck_assert(mt_kmsg_notable(&K));
	ck_assert_ptr_nonnull(strstr(K.text, "[    0.000400] kern.warn: WARNING: CPU: 0 PID: 4242"));
	ck_assert_str_eq(mt_kmsg_kind_name(K.worst), "oops");
}
END_TEST

/* Markers of any mtest are left out; user lines stay (echo > /dev/kmsg). */
START_TEST(test_markers_left_out)
{
	mt_kmsg_init(&K);
	take("14,1,1,-;mtest[77]: lane 1: start a.py::t\n"
		     "12,2,2,-;mtest-e2e stand-in line\n");
	ck_assert_uint_eq(K.lines, 1);
	ck_assert_ptr_nonnull(strstr(K.text, "user.warn: mtest-e2e stand-in line\n"));
	ck_assert_ptr_null(strstr(K.text, "lane 1"));
	ck_assert(!mt_kmsg_notable(&K));
	/* A kernel line that looks like a marker is the kernel's. */
	take("4,3,3,-;mtest[1]: not from userspace\n");
	ck_assert_uint_eq(K.lines, 2);
}
END_TEST

/* The cursor: what came before it is the past; only what comes after
 * is the test's. */
START_TEST(test_cursor_pipe)
{
	int p[2];

	ck_assert_int_eq(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
	mt_kmsg_init(&K);
	K.fd = p[0];
	put(p[1], "6,1,1,-;before the test\n");
	mt_kmsg_cursor(&K);
	ck_assert_uint_eq(K.lines, 0);
	put(p[1], "4,2,2,-;during the test\n");
	ck_assert_uint_eq(mt_kmsg_drain(&K), 1);
	ck_assert_uint_eq(mt_kmsg_drain(&K), 0);	/* nothing new: no blocking */
	ck_assert_ptr_nonnull(strstr(K.text, "during the test"));
	ck_assert_ptr_null(strstr(K.text, "before the test"));
	mt_kmsg_close(&K);
	close(p[1]);
}
END_TEST

/* A file seeks to its end, as /dev/kmsg does. */
START_TEST(test_cursor_file)
{
	char path[] = "/tmp/mtest-unit-kmsg-XXXXXX";
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	put(fd, "6,1,1,-;old\n");
	mt_kmsg_init(&K);
	K.fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	mt_kmsg_cursor(&K);
	put(fd, "6,2,2,-;new\n");
	ck_assert_uint_eq(mt_kmsg_drain(&K), 1);
	ck_assert_ptr_nonnull(strstr(K.text, "] kern.info: new\n"));
	mt_kmsg_close(&K);
	close(fd);
	unlink(path);
}
END_TEST

/* Lines are kept whole or counted as dropped; the worst is known anyway. */
START_TEST(test_full)
{
	char rec[300];
	uint32_t i;

	mt_kmsg_init(&K);
	memset(rec, 'x', sizeof rec);
	memcpy(rec, "6,1,1,-;", 8);
	rec[sizeof rec - 1] = '\n';
	for (i = 0; i < 100; i++)
		mt_kmsg_take(&K, rec, sizeof rec);
	take("0,9,9,-;Kernel panic - not syncing: x\n");
	ck_assert_uint_gt(K.dropped, 0);
	ck_assert_uint_eq(K.lines + K.dropped, 101);
	ck_assert_uint_lt(K.len, sizeof K.text);
	ck_assert_int_eq(K.text[K.len - 1], '\n');
	ck_assert_int_eq(K.worst, MT_KMSG_OOPS);
}
END_TEST

/* EPIPE: the kernel overwrote lines before they were read; said, and the
 * reading goes on. */
static int fake_calls;

static ssize_t fake_read(int fd, void *p, size_t n)
{
	static const char *const recs[] = { "6,1,1,-;first\n", NULL, "6,9,9,-;after the gap\n" };

	(void)fd;
	if (fake_calls >= 3) {
		errno = EAGAIN;
		return -1;
	}
	if (!recs[fake_calls]) {
		fake_calls++;
		errno = EPIPE;
		return -1;
	}
	snprintf(p, n, "%s", recs[fake_calls]);
	return (ssize_t)strlen(recs[fake_calls++]);
}

START_TEST(test_overwritten)
{
	mt_kmsg_init(&K);
	K.fd = 1000;	/* never read: the fake reads */
	K.read = fake_read;
	fake_calls = 0;
	ck_assert_uint_eq(mt_kmsg_drain(&K), 2);
	ck_assert_uint_eq(K.overwritten, 1);
	ck_assert(mt_kmsg_notable(&K));
	ck_assert_ptr_nonnull(strstr(K.text, "after the gap"));
	K.fd = -1;
}
END_TEST

START_TEST(test_taint_text)
{
	char out[512];

	mt_kmsg_taint_text(0, out, sizeof out);
	ck_assert_str_eq(out, "");
	mt_kmsg_taint_text((1ul << 9) | (1ul << 7), out, sizeof out);
	ck_assert_str_eq(out, "D (kernel died recently: an oops or a BUG), W (kernel issued a "
			 "warning)");
	mt_kmsg_taint_letters((1ul << 9) | (1ul << 7) | 1, out, sizeof out);
	ck_assert_str_eq(out, "PDW");
	mt_kmsg_taint_text(1ul << 14, out, sizeof out);
	ck_assert_str_eq(out, "L (soft lockup occurred)");
	mt_kmsg_taint_text(1ul << 30, out, sizeof out);
	ck_assert_str_eq(out, "bit 30 (unknown to mtest)");
	mt_kmsg_taint_text((1ul << 18) | (1ul << 12), out, sizeof out);
	ck_assert_str_eq(out, "O (out-of-tree module loaded), N (an in-kernel test ran)");
	mt_kmsg_taint_text(0xfffff, out, 40);	/* cut, never past cap */
	ck_assert_uint_lt(strlen(out), 40);
}
END_TEST

START_TEST(test_taint_read)
{
	char path[] = "/tmp/mtest-unit-taint-XXXXXX";
	int fd = mkstemp(path);
	unsigned long bits = 1;

	put(fd, "4608\n");
	ck_assert(mt_kmsg_taint_read(path, &bits));
	ck_assert_uint_eq(bits, 4608);
	ck_assert_int_eq(ftruncate(fd, 0), 0);
	ck_assert(!mt_kmsg_taint_read(path, &bits));
	close(fd);
	unlink(path);
	ck_assert(!mt_kmsg_taint_read("/nonexistent/tainted", &bits));
	if (access(MT_TAINT_PATH, R_OK) == 0)
		ck_assert(mt_kmsg_taint_read(MT_TAINT_PATH, &bits));
}
END_TEST

/* Markers keep within the kernel's limit of 10 a window (ratelimit), and
 * the next one written says how many were skipped; "on" has no limit,
 * "off" no markers. A file stands in for /dev/kmsg. */
START_TEST(test_marks_ratelimit)
{
	char log[] = "/tmp/mtest-unit-kmsgw-XXXXXX", sys[] = "/tmp/mtest-unit-sysctl-XXXXXX";
	char why[256], text[8192];
	struct mt_kmsg_marks m;
	int lfd = mkstemp(log), sfd = mkstemp(sys), i;
	int64_t t = 1000000000;
	ssize_t n;

	if (geteuid() != 0) {
		ck_assert(!mt_kmsg_marks_open(&m, log, sys, why, sizeof why));
		ck_assert_ptr_nonnull(strstr(why, "not root"));
		goto out;
	}
	put(sfd, "ratelimit\n");
	ck_assert(mt_kmsg_marks_open(&m, log, sys, why, sizeof why));
	ck_assert(m.limited);
	for (i = 0; i < MT_KMSG_BURST - 2; i++)
		ck_assert(mt_kmsg_mark(&m, t + i, 2, "start t%d", i));
	ck_assert(!mt_kmsg_mark(&m, t + 20, 2, "start skipped"));	/* the reserve */
	ck_assert(mt_kmsg_mark(&m, t + 21, 0, "end with kernel lines"));
	ck_assert(mt_kmsg_mark(&m, t + 22, 0, "end with kernel lines"));
	ck_assert(!mt_kmsg_mark(&m, t + 23, 0, "over the burst"));
	ck_assert_int_eq(mt_kmsg_marks_room(&m, t + MT_KMSG_INTERVAL_US), 0);
	ck_assert_int_eq(mt_kmsg_marks_room(&m, t + MT_KMSG_WINDOW_US), MT_KMSG_BURST);
	ck_assert(mt_kmsg_mark(&m, t + MT_KMSG_WINDOW_US, 2, "after the window"));
	ck_assert_uint_eq(m.written, MT_KMSG_BURST + 1);
	ck_assert_uint_eq(m.skipped_total, 2);
	mt_kmsg_marks_close(&m);
	n = pread(lfd, text, sizeof text - 1, 0);
	ck_assert_int_gt(n, 0);
	text[n] = '\0';
	ck_assert_ptr_nonnull(strstr(text, "<6>mtest["));
	ck_assert_ptr_nonnull(strstr(text, "]: end with kernel lines (1 earlier marker skipped: "
				     "the kernel's rate limit)\n"));
	ck_assert_ptr_nonnull(strstr(text, "]: after the window (1 earlier marker skipped: "
				     "the kernel's rate limit)\n"));
	ck_assert_ptr_null(strstr(text, "over the burst"));

	ck_assert_int_eq(pwrite(sfd, "off\n      ", 10, 0), 10);
	ck_assert(!mt_kmsg_marks_open(&m, log, sys, why, sizeof why));
	ck_assert_ptr_nonnull(strstr(why, "printk_devkmsg is off"));
	ck_assert_int_eq(pwrite(sfd, "on\n       ", 10, 0), 10);
	ck_assert(mt_kmsg_marks_open(&m, log, sys, why, sizeof why));
	for (i = 0; i < 3 * MT_KMSG_BURST; i++)
		ck_assert(mt_kmsg_mark(&m, t, 2, "unlimited %d", i));
	mt_kmsg_marks_close(&m);
out:
	close(lfd);
	close(sfd);
	unlink(log);
	unlink(sys);
}
END_TEST

/* The real kernel, where this machine lets us: a line written to
 * /dev/kmsg after the cursor is read back, our markers are not. */
START_TEST(test_real_kmsg)
{
	char line[128], why[256];
	struct mt_kmsg_marks m;
	int w;

	if (!mt_kmsg_open(&K, MT_KMSG_PATH) || geteuid() != 0) {
		mt_kmsg_close(&K);
		return;		/* not readable, or not writable here */
	}
	mt_kmsg_cursor(&K);
	w = open(MT_KMSG_PATH, O_WRONLY | O_CLOEXEC);
	ck_assert_int_ge(w, 0);
	snprintf(line, sizeof line, "<6>mtest-unit %d.%ld: a line for the reader\n", (int)getpid(),
		 (long)time(NULL));
	put(w, line);
	close(w);
	ck_assert(mt_kmsg_marks_open(&m, MT_KMSG_PATH, MT_DEVKMSG_SYSCTL, why, sizeof why));
	mt_kmsg_mark(&m, 1, 0, "unit marker");
	mt_kmsg_marks_close(&m);
	mt_kmsg_drain(&K);
	ck_assert_ptr_nonnull(strstr(K.text, line + 3));
	ck_assert_ptr_null(strstr(K.text, "unit marker"));
	mt_kmsg_close(&K);
}
END_TEST

Suite *kmsg_suite(void)
{
	Suite *s = suite_create("kmsg");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_parse);
	tcase_add_test(tc, test_markers_known);
	tcase_add_test(tc, test_classify);
	tcase_add_test(tc, test_markers_left_out);
	tcase_add_test(tc, test_cursor_pipe);
	tcase_add_test(tc, test_cursor_file);
	tcase_add_test(tc, test_full);
	tcase_add_test(tc, test_overwritten);
	tcase_add_test(tc, test_taint_text);
	tcase_add_test(tc, test_taint_read);
	tcase_add_test(tc, test_marks_ratelimit);
	tcase_add_test(tc, test_real_kmsg);
	suite_add_tcase(s, tc);
	return s;
}
