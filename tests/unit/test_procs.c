/* Unit tests: include/mtest/procs.h (/proc reading, descendants, sweeps).
 * The sweep tests fork real processes: each child arms alarm() so that
 * nothing outlives a failed test for long. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mtest/limits.h"
#include "mtest/base/procs.h"
#include "suites.h"

#define ORPHAN_ALARM 20	/* seconds before a stray test child dies anyway */

/* ---- mt_procs_mark_descendants on synthetic tables -------------------------- */

static struct mt_proc tab[256];
static unsigned char mark[256];

static int table(const int (*pairs)[2], int n)
{
	int i;

	memset(tab, 0, sizeof tab);
	for (i = 0; i < n; i++) {
		tab[i].pid = pairs[i][0];
		tab[i].ppid = pairs[i][1];
		tab[i].state = 'S';
	}
	memset(mark, 0xee, sizeof mark);
	return n;
}

static int marked(int n, pid_t pid)
{
	int i;

	for (i = 0; i < n; i++)
		if (tab[i].pid == pid)
			return mark[i];
	ck_abort_msg("pid %d not in the table", (int)pid);
	return -1;
}

START_TEST(test_mark_tree)
{
	/* root 100; grandchildren listed before their parents; an unrelated
	 * tree under init; 401 whose parent 400 has a parent not in the table */
	static const int pairs[][2] = {
		{ 201, 101 }, { 300, 1 }, { 101, 100 }, { 400, 999 }, { 100, 1 },
		{ 202, 102 }, { 301, 300 }, { 102, 100 }, { 1, 0 }, { 401, 400 },
		{ 203, 201 }, { 500, 2 }, { 2, 0 },
	};
	int n = table(pairs, (int)(sizeof pairs / sizeof pairs[0]));

	ck_assert_int_eq(mt_procs_mark_descendants(tab, n, 100, mark), 5);
	ck_assert_int_eq(marked(n, 101), 1);
	ck_assert_int_eq(marked(n, 102), 1);
	ck_assert_int_eq(marked(n, 201), 1);
	ck_assert_int_eq(marked(n, 202), 1);
	ck_assert_int_eq(marked(n, 203), 1);
	ck_assert_int_eq(marked(n, 100), 0);
	ck_assert_int_eq(marked(n, 1), 0);
	ck_assert_int_eq(marked(n, 2), 0);
	ck_assert_int_eq(marked(n, 300), 0);
	ck_assert_int_eq(marked(n, 301), 0);
	ck_assert_int_eq(marked(n, 400), 0);
	ck_assert_int_eq(marked(n, 401), 0);
	ck_assert_int_eq(marked(n, 500), 0);
	/* the same table, another root */
	ck_assert_int_eq(mt_procs_mark_descendants(tab, n, 300, mark), 1);
	ck_assert_int_eq(marked(n, 301), 1);
	ck_assert_int_eq(marked(n, 101), 0);
	ck_assert_int_eq(mt_procs_mark_descendants(tab, n, 999, mark), 2);
	ck_assert_int_eq(marked(n, 400), 1);
	ck_assert_int_eq(marked(n, 401), 1);
}
END_TEST

START_TEST(test_mark_root_absent)
{
	static const int pairs[][2] = { { 5002, 5001 }, { 5001, 5000 }, { 6000, 1 } };
	int n = table(pairs, 3);

	ck_assert_int_eq(mt_procs_mark_descendants(tab, n, 5000, mark), 2);
	ck_assert_int_eq(marked(n, 5001), 1);
	ck_assert_int_eq(marked(n, 5002), 1);
	ck_assert_int_eq(marked(n, 6000), 0);
}
END_TEST

START_TEST(test_mark_empty_and_none)
{
	static const int pairs[][2] = { { 10, 1 }, { 11, 10 } };
	int n = table(pairs, 2);

	ck_assert_int_eq(mt_procs_mark_descendants(tab, 0, 10, mark), 0);
	ck_assert_int_eq(mt_procs_mark_descendants(tab, n, 77, mark), 0);
	ck_assert_int_eq(mark[0], 0);
	ck_assert_int_eq(mark[1], 0);
	ck_assert_int_eq(mt_procs_mark_descendants(tab, n, 11, mark), 0);
}
END_TEST

START_TEST(test_mark_cycle_terminates)
{
	static const int pairs[][2] = { { 700, 701 }, { 701, 700 }, { 702, 100 },
					{ 703, 703 } };
	int n = table(pairs, 4);

	ck_assert_int_eq(mt_procs_mark_descendants(tab, n, 100, mark), 1);
	ck_assert_int_eq(marked(n, 702), 1);
	ck_assert_int_eq(marked(n, 700), 0);
	ck_assert_int_eq(marked(n, 701), 0);
	ck_assert_int_eq(marked(n, 703), 0);
}
END_TEST

/* A chain root -> 1001 -> 1002 -> ... of `depth`, listed deepest first
 * (or in order), plus an unrelated process. */
static int chain(int depth, int reversed)
{
	int i, k;

	memset(tab, 0, sizeof tab);
	for (i = 0; i < depth; i++) {
		k = reversed ? depth - i : i + 1;
		tab[i].pid = 1000 + k;
		tab[i].ppid = 1000 + k - 1;
	}
	tab[depth].pid = 9;
	tab[depth].ppid = 1;
	memset(mark, 0xee, sizeof mark);
	return depth + 1;
}

START_TEST(test_mark_chain_in_order)
{
	int n = chain(150, 0), i;

	ck_assert_int_eq(mt_procs_mark_descendants(tab, n, 1000, mark), 150);
	for (i = 0; i < 150; i++)
		ck_assert_int_eq(mark[i], 1);
	ck_assert_int_eq(mark[150], 0);
}
END_TEST

START_TEST(test_mark_chain_reversed)
{
	int n = chain(40, 1);

	ck_assert_int_eq(mt_procs_mark_descendants(tab, n, 1000, mark), 40);
	ck_assert_int_eq(marked(n, 1040), 1);
	ck_assert_int_eq(marked(n, 9), 0);
}
END_TEST

/* procs.h: every descendant is marked, whatever the depth and the order of
 * the table (pids wrap, so children may come before their parents). */
START_TEST(test_mark_deep_chain_reversed)
{
	int n = chain(150, 1), i, missed = 0;

	ck_assert_int_eq(tab[0].pid, 1150);
	mt_procs_mark_descendants(tab, n, 1000, mark);
	for (i = 0; i < 150; i++)
		missed += mark[i] != 1;
	ck_assert_msg(missed == 0, "%d of 150 descendants not marked (deepest first)", missed);
}
END_TEST

/* ---- /proc ------------------------------------------------------------------- */

/* Our comm, read independently from /proc/self/comm. */
static const char *own_comm(void)
{
	static char comm[64];
	FILE *f = fopen("/proc/self/comm", "r");

	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(fgets(comm, sizeof comm, f));
	fclose(f);
	comm[strcspn(comm, "\n")] = '\0';
	return comm;
}

START_TEST(test_stat_self)
{
	struct mt_proc me;

	memset(&me, 0x55, sizeof me);
	ck_assert(mt_proc_stat(getpid(), &me));
	ck_assert_int_eq(me.pid, getpid());
	ck_assert_int_eq(me.ppid, getppid());
	ck_assert_int_eq(me.pgid, getpgrp());
	ck_assert_int_eq(me.sid, getsid(0));
	ck_assert_int_eq(me.state, 'R');
	ck_assert_str_eq(me.comm, own_comm());
	ck_assert_uint_gt(me.start, 0);
}
END_TEST

START_TEST(test_stat_odd_comm)
{
	struct mt_proc me;
	char was[64];

	strcpy(was, own_comm());
	ck_assert_int_eq(prctl(PR_SET_NAME, "a) (b c"), 0);
	ck_assert(mt_proc_stat(getpid(), &me));
	ck_assert_str_eq(me.comm, "a) (b c");
	ck_assert_int_eq(me.ppid, getppid());
	ck_assert_int_eq(me.state, 'R');
	ck_assert_int_eq(prctl(PR_SET_NAME, "x) 1 2 3 (y"), 0);
	ck_assert(mt_proc_stat(getpid(), &me));
	ck_assert_str_eq(me.comm, "x) 1 2 3 (y");
	ck_assert_int_eq(me.ppid, getppid());
	ck_assert_int_eq(prctl(PR_SET_NAME, was), 0);	/* for CK_FORK=no */
}
END_TEST

START_TEST(test_stat_child_zombie_and_gone)
{
	struct mt_proc me, kid;
	int status;
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(0);
	/* a zombie until reaped: waitid with WNOWAIT leaves it so */
	{
		siginfo_t si;

		ck_assert_int_eq(waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT), 0);
	}
	ck_assert(mt_proc_stat(getpid(), &me));
	ck_assert(mt_proc_stat(pid, &kid));
	ck_assert_int_eq(kid.state, 'Z');
	ck_assert_int_eq(kid.ppid, getpid());
	ck_assert_uint_ge(kid.start, me.start);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(!mt_proc_stat(pid, &kid));
	ck_assert(!mt_proc_stat(0, &kid));
}
END_TEST

static struct mt_proc scan[MT_PROCS_MAX];

START_TEST(test_scan)
{
	int more = -1, n, i, me = 0, parent = 0;

	n = mt_procs_scan(scan, MT_PROCS_MAX, &more);
	ck_assert_int_gt(n, 1);
	ck_assert_int_eq(more, 0);
	for (i = 0; i < n; i++) {
		me += scan[i].pid == getpid();
		parent += scan[i].pid == getppid();
	}
	ck_assert_int_eq(me, 1);
	ck_assert_int_eq(parent, 1);
	ck_assert_int_eq(mt_procs_scan(scan, 1, &more), 1);
	ck_assert_int_eq(more, 1);
}
END_TEST

START_TEST(test_self_tag)
{
	char tag[64], want[64];
	struct mt_proc me;

	ck_assert(mt_proc_stat(getpid(), &me));
	snprintf(want, sizeof want, "%d:%llu", (int)getpid(), me.start);
	mt_procs_self_tag(tag, sizeof tag);
	ck_assert_str_eq(tag, want);
}
END_TEST

/* ---- sweeps -------------------------------------------------------------------- */

static pid_t heard[64];
static int nheard, reaped;

static void on_killed(void *ctx, const struct mt_proc *p)
{
	(void)ctx;
	if (nheard < 64)
		heard[nheard++] = p->pid;
}

static void reap(void *ctx)
{
	int status;

	(void)ctx;
	while (waitpid(-1, &status, WNOHANG) > 0)
		reaped++;
}

static int times_heard(pid_t pid)
{
	int i, k = 0;

	for (i = 0; i < nheard; i++)
		k += heard[i] == pid;
	return k;
}

static void check_gone(pid_t pid)
{
	errno = 0;
	ck_assert_msg(kill(pid, 0) == -1 && errno == ESRCH, "pid %d is still there",
		      (int)pid);
}

/* In a test's child: let a failed test leave nothing behind for long. The
 * child inherits Check's SIGALRM handler, and the test's stdout and stderr
 * (perhaps a pipe that someone reads to its end). */
static void child_safety_net(void)
{
	int fd = open("/dev/null", O_RDWR);

	if (fd >= 0) {
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
	signal(SIGALRM, SIG_DFL);
	alarm(ORPHAN_ALARM);
}

static void idle_forever(void)
{
	child_safety_net();
	for (;;)
		pause();
}

/* Fork a child that forks a grandchild which calls setsid(); returns the
 * child, and the grandchild in *gc once it runs in its own session. With
 * `child_exits`, the child exits and the grandchild is an orphan. */
static pid_t fork_family(pid_t *gc, int child_exits)
{
	int p[2];
	pid_t child, g;
	ssize_t n;

	ck_assert_int_eq(pipe(p), 0);
	child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		close(p[0]);
		child_safety_net();
		g = fork();
		if (g < 0)
			_exit(2);
		if (g == 0) {
			g = getpid();
			if (setsid() < 0)
				_exit(3);
			if (write(p[1], &g, sizeof g) != (ssize_t)sizeof g)
				_exit(4);
			close(p[1]);
			idle_forever();
		}
		close(p[1]);
		if (child_exits)
			_exit(0);
		idle_forever();
	}
	close(p[1]);
	n = read(p[0], gc, sizeof *gc);
	close(p[0]);
	ck_assert_int_eq(n, (ssize_t)sizeof *gc);
	return child;
}

START_TEST(test_sweep_kills_tree)
{
	pid_t child, gc, other, ogc;
	struct mt_proc st;

	ck_assert_int_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
	child = fork_family(&gc, 0);
	other = fork_family(&ogc, 0);
	ck_assert(mt_proc_stat(gc, &st));
	ck_assert_int_eq(st.sid, gc);	/* in a session of its own */
	ck_assert_int_eq(st.ppid, child);

	nheard = reaped = 0;
	ck_assert_int_eq(mt_procs_sweep(0, on_killed, reap, NULL), 0);
	check_gone(child);
	check_gone(gc);
	check_gone(other);
	check_gone(ogc);
	ck_assert_int_eq(times_heard(child), 1);
	ck_assert_int_eq(times_heard(gc), 1);
	ck_assert_int_eq(times_heard(other), 1);
	ck_assert_int_eq(times_heard(ogc), 1);
	ck_assert_int_eq(nheard, 4);
	ck_assert_int_eq(reaped, 4);
	errno = 0;
	ck_assert_int_eq(waitpid(-1, NULL, WNOHANG), -1);
	ck_assert_int_eq(errno, ECHILD);
}
END_TEST

START_TEST(test_sweep_orphan_comes_back)
{
	pid_t child, gc;
	int status;
	struct mt_proc st;

	ck_assert_int_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
	child = fork_family(&gc, 1);
	ck_assert_int_eq(waitpid(child, &status, 0), child);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert(mt_proc_stat(gc, &st));
	ck_assert_int_eq(st.ppid, getpid());

	nheard = reaped = 0;
	ck_assert_int_eq(mt_procs_sweep(0, on_killed, reap, NULL), 0);
	check_gone(gc);
	ck_assert_int_eq(times_heard(gc), 1);
	ck_assert_int_eq(nheard, 1);
	ck_assert_int_eq(reaped, 1);
}
END_TEST

START_TEST(test_sweep_spares)
{
	pid_t spare, sgc, victim, vgc;
	struct mt_proc st;

	ck_assert_int_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
	spare = fork_family(&sgc, 0);
	victim = fork_family(&vgc, 0);

	nheard = reaped = 0;
	ck_assert_int_eq(mt_procs_sweep(spare, on_killed, reap, NULL), 0);
	check_gone(victim);
	check_gone(vgc);
	ck_assert_int_eq(nheard, 2);
	ck_assert_int_eq(times_heard(victim), 1);
	ck_assert_int_eq(times_heard(vgc), 1);
	ck_assert(mt_proc_stat(spare, &st));
	ck_assert_int_ne(st.state, 'Z');
	ck_assert(mt_proc_stat(sgc, &st));
	ck_assert_int_ne(st.state, 'Z');

	/* and now without sparing */
	nheard = 0;
	ck_assert_int_eq(mt_procs_sweep(0, on_killed, reap, NULL), 0);
	check_gone(spare);
	check_gone(sgc);
	ck_assert_int_eq(nheard, 2);
}
END_TEST

START_TEST(test_sweep_nothing)
{
	nheard = reaped = 0;
	ck_assert_int_eq(mt_procs_sweep(0, on_killed, reap, NULL), 0);
	ck_assert_int_eq(nheard, 0);
	ck_assert_int_eq(mt_procs_sweep(0, NULL, NULL, NULL), 0);
}
END_TEST

/* ---- leftovers of a dead run ---------------------------------------------------- */

/* Start /bin/cat (blocked on a pipe) with env `var`=`tag`; returns its pid
 * once it has exec'd. *hold is the pipe end that keeps it waiting. */
static pid_t spawn_tagged(const char *var, const char *tag, int *hold)
{
	static char envbuf[2][256];
	char *envp[2], *argv[] = { (char *)"cat", NULL };
	int sync[2], in[2], e = 0;
	pid_t pid;
	ssize_t n;

	snprintf(envbuf[0], sizeof envbuf[0], "%s=%s", var, tag);
	envp[0] = envbuf[0];
	envp[1] = NULL;
	ck_assert_int_eq(pipe2(sync, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe(in), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(sync[0]);
		close(in[1]);
		dup2(in[0], 0);
		child_safety_net();
		execve("/bin/cat", argv, envp);
		execve("/usr/bin/cat", argv, envp);
		e = errno;
		if (write(sync[1], &e, sizeof e) < 0)
			_exit(126);
		_exit(127);
	}
	close(sync[1]);
	close(in[0]);
	n = read(sync[0], &e, sizeof e);	/* EOF: exec'd */
	close(sync[0]);
	ck_assert_msg(n == 0, "exec of cat failed: %d", e);
	*hold = in[1];
	return pid;
}

START_TEST(test_kill_stale)
{
	char var[64], dead_tag[64], live_tag[64];
	pid_t dead, stale, live;
	int status, hold1, hold2;

	snprintf(var, sizeof var, "MTEST_UNIT_TAG_%d", (int)getpid());
	/* a pid that surely belongs to no process: one of ours, reaped */
	dead = fork();
	ck_assert_int_ge(dead, 0);
	if (dead == 0)
		_exit(0);
	ck_assert_int_eq(waitpid(dead, &status, 0), dead);
	snprintf(dead_tag, sizeof dead_tag, "%d:12345", (int)dead);
	mt_procs_self_tag(live_tag, sizeof live_tag);

	stale = spawn_tagged(var, dead_tag, &hold1);
	live = spawn_tagged(var, live_tag, &hold2);
	nheard = 0;
	ck_assert_int_eq(mt_procs_kill_stale(var, on_killed, NULL), 1);
	ck_assert_int_eq(nheard, 1);
	ck_assert_int_eq(heard[0], stale);
	ck_assert_int_eq(waitpid(stale, &status, 0), stale);
	ck_assert(WIFSIGNALED(status));
	ck_assert_int_eq(WTERMSIG(status), SIGKILL);
	/* the one tagged by a live mtest (us) is left alone */
	errno = 0;
	ck_assert_int_eq(kill(live, 0), 0);
	close(hold2);	/* cat ends at EOF */
	ck_assert_int_eq(waitpid(live, &status, 0), live);
	ck_assert(WIFEXITED(status));
	close(hold1);
}
END_TEST

Suite *procs_suite(void)
{
	Suite *s = suite_create("procs");
	TCase *tc;

	tc = tcase_create("descendants");
	tcase_add_test(tc, test_mark_tree);
	tcase_add_test(tc, test_mark_root_absent);
	tcase_add_test(tc, test_mark_empty_and_none);
	tcase_add_test(tc, test_mark_cycle_terminates);
	tcase_add_test(tc, test_mark_chain_in_order);
	tcase_add_test(tc, test_mark_chain_reversed);
	tcase_add_test(tc, test_mark_deep_chain_reversed);
	suite_add_tcase(s, tc);

	tc = tcase_create("proc");
	tcase_add_test(tc, test_stat_self);
	tcase_add_test(tc, test_stat_odd_comm);
	tcase_add_test(tc, test_stat_child_zombie_and_gone);
	tcase_add_test(tc, test_scan);
	tcase_add_test(tc, test_self_tag);
	suite_add_tcase(s, tc);

	tc = tcase_create("sweep");
	tcase_add_test(tc, test_sweep_kills_tree);
	tcase_add_test(tc, test_sweep_orphan_comes_back);
	tcase_add_test(tc, test_sweep_spares);
	tcase_add_test(tc, test_sweep_nothing);
	tcase_add_test(tc, test_kill_stale);
	suite_add_tcase(s, tc);
	return s;
}
