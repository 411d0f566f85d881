/* Unit tests: the lock ledger's table as mtest_locks.py writes it, the
 * wait-for graph and its words (src/watch/ledger.c, waitfor.c), and what a
 * capture file tells the supervisor. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mtest/watch/capture.h"
#include "mtest/watch/ledger.h"
#include "mtest/watch/waitfor.h"
#include "suites.h"

enum { NLOCKS = 8, NWAITS = 4, NSITES = 8 };
enum { LOCKS_AT = 64, WAITS_AT = LOCKS_AT + NLOCKS * 32, SITES_AT = WAITS_AT + NWAITS * 32,
       SIZE = SITES_AT + NSITES * 256 };

static unsigned char table[SIZE + 32];

static void put32(size_t at, uint32_t v)
{
	memcpy(table + at, &v, 4);
}

static void put64(size_t at, int64_t v)
{
	memcpy(table + at, &v, 8);
}

static void put16(size_t at, uint16_t v)
{
	memcpy(table + at, &v, 2);
}

/* An empty table, as mtest_locks.attach() makes it. */
static void fresh(void)
{
	memset(table, 0, sizeof table);
	memcpy(table, "MTLEDG01", 8);
	put32(8, 1);
	put32(12, NLOCKS);
	put32(16, NWAITS);
	put32(20, NSITES);
	put32(24, 4242);
}

static void site(int index, int line, const char *func, const char *expr, const char *file)
{
	size_t at = SITES_AT + (size_t)(index - 1) * 256;

	put32(at, (uint32_t)line);
	strcpy((char *)table + at + 8, func);
	strcpy((char *)table + at + 64, expr);
	strcpy((char *)table + at + 128, file);
}

static void lock(int index, unsigned kind, pid_t holder, int taken, int made, unsigned flags)
{
	size_t at = LOCKS_AT + (size_t)(index - 1) * 32;

	put32(at, (uint32_t)holder);
	put32(at + 4, (uint32_t)taken);
	put64(at + 8, 1000000000LL);
	put64(at + 16, 0x7f0000001000LL + index);
	put16(at + 24, (uint16_t)kind);
	put16(at + 26, (uint16_t)flags);
	put32(at + 28, (uint32_t)made);
}

static void wait_row(int row, pid_t tid, int lock_index, int at_site, unsigned flags)
{
	size_t at = WAITS_AT + (size_t)row * 32;

	put32(at, (uint32_t)tid);
	put32(at + 4, (uint32_t)lock_index);
	put64(at + 8, 1500000000LL);
	put32(at + 16, (uint32_t)at_site);
	put32(at + 20, flags);
	put64(at + 24, -1);
}

static struct mt_ledger lg;
static struct mt_wfgraph g;
static struct mt_wfthread th[8];
static int nth;

static void thread(pid_t tid, enum mt_wait wait, int stalled)
{
	th[nth].tid = tid;
	th[nth].wait = wait;
	th[nth].stalled = stalled;
	nth++;
}

static enum mt_wf_end analyse(void)
{
	char err[128];

	ck_assert(mt_ledger_open(&lg, table, SIZE + 32, err, sizeof err));
	memset(&g, 0, sizeof g);
	mt_wf_from_ledger(&g, &lg, th, nth);
	mt_wf_analyse(&g, th, nth, 100);
	return g.end;
}

/* The seed's shape: MainThread (100) and 101 wait for a Lock that 102
 * took and kept when it exited; 103 sleeps. */
static void seed(void)
{
	fresh();
	nth = 0;
	site(1, 33, "_transition_to_running", "self._state_lock", "/x/sup.py");
	site(2, 26, "_restart_worker", "self._state_lock", "/x/sup.py");
	site(3, 23, "__init__", "self._state_lock", "/x/sup.py");
	site(4, 40, "_handle_failure", "self._state_lock", "/x/sup.py");
	lock(1, MT_LK_LOCK, 102, 2, 3, 0);
	wait_row(0, 100, 1, 1, 0);
	wait_row(2, 101, 1, 4, 0);
	thread(100, MT_WAIT_LOCK, 1);
	thread(101, MT_WAIT_LOCK, 1);
	thread(103, MT_WAIT_TIMED, 0);
}

START_TEST(test_table_checked)
{
	char err[128];

	fresh();
	ck_assert(mt_ledger_open(&lg, table, SIZE, err, sizeof err));
	ck_assert(!mt_ledger_open(&lg, table, SIZE - 1, err, sizeof err));
	ck_assert_ptr_nonnull(strstr(err, "cut short"));
	put32(12, 1u << 30);	/* a forged count: never read past the end */
	ck_assert(!mt_ledger_open(&lg, table, SIZE, err, sizeof err));
	fresh();
	put32(8, 2);
	ck_assert(!mt_ledger_open(&lg, table, SIZE, err, sizeof err));
	ck_assert_ptr_nonnull(strstr(err, "version 2"));
	table[0] = 'X';
	ck_assert(!mt_ledger_open(&lg, table, SIZE, err, sizeof err));
	ck_assert(!mt_ledger_open(&lg, table, 10, err, sizeof err));
}
END_TEST

START_TEST(test_fields_read)
{
	struct mt_llock l;
	struct mt_lwait w;
	struct mt_lsite s;
	uint32_t held[4], locks, nheld, waits;

	seed();
	analyse();
	ck_assert(mt_ledger_lock(&lg, 1, &l));
	ck_assert_int_eq(l.holder, 102);
	ck_assert_int_eq(l.kind, MT_LK_LOCK);
	ck_assert_int_eq(l.site, 2);
	ck_assert(!mt_ledger_lock(&lg, 2, &l));		/* unused */
	ck_assert(!mt_ledger_lock(&lg, 0, &l));
	ck_assert(!mt_ledger_lock(&lg, NLOCKS + 1, &l));
	ck_assert(mt_ledger_wait_of(&lg, 101, &w));
	ck_assert_int_eq(w.lock, 1);
	ck_assert_int_eq(w.site, 4);
	ck_assert(!mt_ledger_wait_of(&lg, 103, &w));
	ck_assert(mt_ledger_site(&lg, 2, &s));
	ck_assert_int_eq(s.line, 26);
	ck_assert_str_eq(s.expr, "self._state_lock");
	ck_assert(!mt_ledger_site(&lg, NSITES + 1, &s));
	ck_assert_int_eq(mt_ledger_held_by(&lg, 102, held, 4), 1);
	mt_ledger_count(&lg, &locks, &nheld, &waits);
	ck_assert_int_eq(locks, 1);
	ck_assert_int_eq(nheld, 1);
	ck_assert_int_eq(waits, 2);
}
END_TEST

START_TEST(test_holder_exited)
{
	seed();
	ck_assert_int_eq(analyse(), MT_WF_EXITED);
	ck_assert(mt_wf_certain(g.end));
	ck_assert_int_eq(g.nchain, 2);
	ck_assert_int_eq(g.chain[1], 102);
}
END_TEST

START_TEST(test_holder_active_or_waiting)
{
	seed();
	thread(102, MT_WAIT_TIMED, 0);	/* alive, sleeping: it may release */
	ck_assert_int_eq(analyse(), MT_WF_ACTIVE);
	ck_assert(!mt_wf_certain(g.end));
	th[nth - 1].wait = MT_WAIT_LOCK;	/* waits forever... */
	th[nth - 1].stalled = 1;
	ck_assert_int_eq(analyse(), MT_WF_BLOCKED);	/* ...but 103 may give it */
	th[2].wait = MT_WAIT_LOCK;
	th[2].stalled = 1;
	ck_assert_int_eq(analyse(), MT_WF_FOREVER);	/* nobody else can */
	th[0].stalled = 0;				/* the test thread moved */
	ck_assert_int_eq(analyse(), MT_WF_MOVING);
}
END_TEST

START_TEST(test_self_and_cycle)
{
	seed();
	lock(1, MT_LK_LOCK, 100, 2, 3, 0);	/* it holds what it waits for */
	ck_assert_int_eq(analyse(), MT_WF_SELF);
	/* 100 -> lock 1 (held by 102) -> lock 2 (held by 104) -> lock 1 */
	seed();
	lock(2, MT_LK_RLOCK, 104, 2, 3, 0);
	wait_row(1, 102, 2, 1, 0);
	wait_row(3, 104, 1, 1, 0);
	thread(102, MT_WAIT_LOCK, 1);
	thread(104, MT_WAIT_LOCK, 1);
	ck_assert_int_eq(analyse(), MT_WF_CYCLE);
	ck_assert_int_eq(g.nchain, 4);
	ck_assert_int_eq(g.nedge, 3);
	th[nth - 1].stalled = 0;	/* a member moved: not certain */
	ck_assert_int_eq(analyse(), MT_WF_MOVING);
}
END_TEST

START_TEST(test_what_is_never_certain)
{
	seed();
	lock(1, MT_LK_LOCK, 102, 2, 3, MT_LOCK_CROSS);	/* a signal, not a lock */
	ck_assert_int_eq(analyse(), MT_WF_SIGNAL);
	seed();
	wait_row(0, 100, 1, 1, MT_WAIT_F_TIMED);
	ck_assert_int_eq(analyse(), MT_WF_TIMED);
	seed();
	wait_row(0, 100, 0, 1, 0);	/* a lock made while the table was full */
	ck_assert_int_eq(analyse(), MT_WF_UNKNOWN);
	seed();
	lock(1, MT_LK_SEM, 0, 0, 3, 0);	/* a semaphore has no holder */
	ck_assert_int_eq(analyse(), MT_WF_UNKNOWN);
	seed();
	wait_row(0, 0, 0, 0, 0);	/* the test thread waits for no known lock */
	ck_assert_int_eq(analyse(), MT_WF_NONE);
}
END_TEST

static char out[4096];

static const char *clause(void)
{
	static struct mt_wfview v[8];
	static struct mt_names names;
	static const char *const n[] = { "MainThread", "StartupTimeoutMonitor", "EncoderRestart",
					 "Sleeper", "Notifier" };
	struct mt_wfctx c = { 0 };
	struct mt_buf b;
	int i;

	mt_names_reset(&names);
	mt_names_set(&names, 102, "EncoderRestart", 0);
	for (i = 0; i < nth; i++) {
		memset(&v[i], 0, sizeof v[i]);
		v[i].tid = th[i].tid;
		v[i].name = n[th[i].tid - 100];
	}
	c.g = &g;
	c.lg = &lg;
	c.v = v;
	c.n = nth;
	c.names = &names;
	c.pid = 100;
	c.now_ns = 3300000000LL;
	mt_buf_init(&b, out, sizeof out, -1);
	mt_wf_clause(&b, &c);
	return mt_buf_str(&b);
}

START_TEST(test_words)
{
	seed();
	analyse();
	ck_assert_str_eq(clause(), ": MainThread waits for _state_lock (sup.py:33), held by "
			 "EncoderRestart since sup.py:26 (2.3 s), which exited; "
			 "StartupTimeoutMonitor waits for it too");
	seed();
	lock(1, MT_LK_LOCK, 100, 2, 3, 0);
	analyse();
	ck_assert_str_eq(clause(), ": MainThread waits for _state_lock (sup.py:33), which it "
			 "holds itself since sup.py:26 (2.3 s); StartupTimeoutMonitor waits for "
			 "it too");
	seed();
	lock(2, MT_LK_RLOCK, 104, 2, 3, 0);
	wait_row(1, 102, 2, 1, 0);
	wait_row(3, 104, 1, 1, 0);
	thread(102, MT_WAIT_LOCK, 1);
	thread(104, MT_WAIT_LOCK, 1);
	analyse();
	ck_assert_str_eq(clause(), ": MainThread waits for _state_lock (sup.py:33), held by "
			 "EncoderRestart since sup.py:26 (2.3 s), which waits for _state_lock "
			 "(sup.py:33), held by Notifier since sup.py:26 (2.3 s), which waits for "
			 "_state_lock (sup.py:33), held by EncoderRestart: a cycle; "
			 "StartupTimeoutMonitor waits for it too");
	seed();
	site(3, 23, "__init__", "", "/x/sup.py");	/* no name anywhere: type, address */
	site(1, 33, "_transition_to_running", "", "/x/sup.py");
	analyse();
	ck_assert_ptr_nonnull(strstr(clause(), ": MainThread waits for a Lock at 0x7f0000001001 "
				     "(sup.py:33)"));
}
END_TEST

/* What the supervisor reads back from a capture file. */
static int result(const char *text, int *legit, int *certain)
{
	char path[] = "/tmp/mtest-unit-capture-XXXXXX", head[256];
	int fd = mkstemp(path), ok;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	ok = mt_capture_result(path, head, sizeof head, legit, certain);
	unlink(path);
	return ok;
}

START_TEST(test_capture_result)
{
	int legit, certain;

	ck_assert(result("DEADLOCK (certain) after 1.0 s\n# main-wait: none\n"
			 "# wait-for: holder exited (certain)\n", &legit, &certain));
	ck_assert(certain);
	ck_assert_int_eq(legit, MT_LEGIT_NONE);
	ck_assert(result("x\n# main-wait: none\n# wait-for: holder active\n", &legit, &certain));
	ck_assert(!certain);
	ck_assert_int_eq(legit, MT_LEGIT_HOLDER_ACTIVE);
	ck_assert(result("x\n# main-wait: queue\n# wait-for: none\n", &legit, &certain));
	ck_assert_int_eq(legit, MT_LEGIT_QUEUE);
	ck_assert(!certain);
	ck_assert(result("x\n# main-wait: none\n# wait-for: cycle (certain)", &legit, &certain));
	ck_assert(!certain);	/* a torn last line is not believed */
}
END_TEST

Suite *ledger_suite(void)
{
	Suite *s = suite_create("ledger");
	TCase *tc = tcase_create("ledger");

	tcase_add_test(tc, test_table_checked);
	tcase_add_test(tc, test_fields_read);
	tcase_add_test(tc, test_holder_exited);
	tcase_add_test(tc, test_holder_active_or_waiting);
	tcase_add_test(tc, test_self_and_cycle);
	tcase_add_test(tc, test_what_is_never_certain);
	tcase_add_test(tc, test_words);
	tcase_add_test(tc, test_capture_result);
	suite_add_tcase(s, tc);
	return s;
}
