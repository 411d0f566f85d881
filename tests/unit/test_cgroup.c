/* Unit tests: include/mtest/base/cgroup.h. The parsers on canned texts;
 * then, where mtest may create cgroups here (a writable cgroup v2 subtree,
 * as root on this machine's /sys/fs/cgroup/unified), a real run's cgroups:
 * a double-forked, setsid daemon found in its leaf and killed with it.
 * Without one, those tests say so on stderr and pass. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mtest/base/buf.h"
#include "mtest/base/cgroup.h"
#include "suites.h"

#define ORPHAN_ALARM 20	/* seconds before a stray test child dies anyway */

START_TEST(test_mountinfo)
{
	static const char text[] =
		"22 28 0:21 / /proc rw,nosuid shared:13 - proc proc rw\n"
		"31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
		"35 31 0:32 / /sys/fs/cgroup/memory rw shared:15 - cgroup cgroup rw,memory\n"
		"41 31 0:38 / /sys/fs/cgroup/uni\\040fied rw,relatime - cgroup2 cgroup2 rw\n";
	char mount[256], root[256];

	ck_assert(mt_cgroup_parse_mountinfo(text, mount, sizeof mount, root, sizeof root));
	ck_assert_str_eq(mount, "/sys/fs/cgroup/uni fied");
	ck_assert_str_eq(root, "/");
	ck_assert(!mt_cgroup_parse_mountinfo("31 23 0:28 / /sys/fs/cgroup rw - tmpfs tmpfs rw\n",
					     mount, sizeof mount, root, sizeof root));
	/* A subtree mounted in a container: its root is the subtree. */
	ck_assert(mt_cgroup_parse_mountinfo("9 8 0:3 /box.slice /sys/fs/cgroup rw - cgroup2 cg rw",
					    mount, sizeof mount, root, sizeof root));
	ck_assert_str_eq(root, "/box.slice");
	ck_assert_str_eq(mount, "/sys/fs/cgroup");
}
END_TEST

START_TEST(test_self)
{
	char path[256];

	ck_assert(mt_cgroup_parse_self("9:name=systemd:/\n4:memory:/x\n0::/system.slice/a.service\n",
				       path, sizeof path));
	ck_assert_str_eq(path, "/system.slice/a.service");
	ck_assert(mt_cgroup_parse_self("0::/", path, sizeof path));
	ck_assert_str_eq(path, "/");
	/* cgroup v1 only: no unified line. */
	ck_assert(!mt_cgroup_parse_self("4:memory:/x\n1:cpu:/\n", path, sizeof path));
}
END_TEST

START_TEST(test_kv)
{
	static const char events[] = "low 0\nhigh 12\nmax 3\noom 1\noom_kill 2\noom_group_kill 1\n";
	uint64_t v = 99;

	ck_assert(mt_cgroup_parse_kv(events, "oom", &v));
	ck_assert_uint_eq(v, 1);
	ck_assert(mt_cgroup_parse_kv(events, "oom_kill", &v));
	ck_assert_uint_eq(v, 2);
	ck_assert(mt_cgroup_parse_kv("populated 0\nfrozen 0\n", "populated", &v));
	ck_assert_uint_eq(v, 0);
	ck_assert(!mt_cgroup_parse_kv(events, "oom_", &v));
}
END_TEST

START_TEST(test_sizes)
{
	int64_t b;
	char text[32];

	ck_assert(mt_parse_size("512M", &b) && b == 512LL << 20);
	ck_assert(mt_parse_size("512MiB", &b) && b == 512LL << 20);
	ck_assert(mt_parse_size("1.5G", &b) && b == 3LL << 29);
	ck_assert(mt_parse_size("300 kB", &b) && b == 300LL << 10);
	ck_assert(mt_parse_size("1048576", &b) && b == 1048576);
	ck_assert(mt_parse_size("max", &b) && b == -1);
	ck_assert(!mt_parse_size("", &b));
	ck_assert(!mt_parse_size("-1G", &b));
	ck_assert(!mt_parse_size("12X", &b));
	ck_assert(!mt_parse_size("M", &b));
	ck_assert(!mt_parse_size("99999999999T", &b));
	mt_size_text(512LL << 20, text, sizeof text);
	ck_assert_str_eq(text, "512 MiB");
	mt_size_text((512LL << 20) - 1, text, sizeof text);
	ck_assert_str_eq(text, "511 MiB");
	mt_size_text(2LL << 30, text, sizeof text);
	ck_assert_str_eq(text, "2 GiB");
	mt_size_text(3LL << 29, text, sizeof text);
	ck_assert_str_eq(text, "1.5 GiB");
	mt_size_text(1000, text, sizeof text);
	ck_assert_str_eq(text, "1 KiB");
}
END_TEST

START_TEST(test_off_and_bad_paths)
{
	static struct mt_cgroup cg;
	struct mt_cg_limits lim = { -1, -1, -1, -1, 0, 0 };
	char line[512];

	ck_assert(!mt_cgroup_open(&cg, "off", &lim, 1));
	ck_assert(strstr(cg.why, "off"));
	mt_cgroup_describe(&cg, line, sizeof line);
	ck_assert_msg(strstr(line, "found through /proc (cgroup = off)"), "%s", line);
	ck_assert_int_eq(mt_cgroup_join_fd(&cg, 0), -1);
	ck_assert(!mt_cgroup_open(&cg, "/tmp", &lim, 1));
	ck_assert_msg(strstr(cg.why, "not a cgroup v2 directory") || strstr(cg.why, "no cgroup v2"),
		      "%s", cg.why);
	ck_assert(!mt_cgroup_open(&cg, "relative/path", &lim, 1));
}
END_TEST

static int counted(const pid_t *pids, int n, pid_t pid)
{
	int i;

	for (i = 0; i < n; i++)
		if (pids[i] == pid)
			return 1;
	return 0;
}

/* A child that joins leaf 0 as a worker does ("0" into its cgroup.procs),
 * then starts a daemon by double fork and setsid, which clears its
 * environment; it tells the daemon's pid on a pipe. */
static pid_t worker_with_daemon(int join, pid_t *daemon)
{
	int p[2];
	pid_t pid, d = 0;

	ck_assert(pipe(p) == 0);
	pid = fork();
	ck_assert(pid >= 0);
	if (pid == 0) {
		alarm(ORPHAN_ALARM);
		if (write(join, "0", 1) != 1)
			_exit(1);
		if (fork() == 0) {
			static char a0[] = "sleep", a1[] = "30";
			char *const argv[] = { a0, a1, NULL };
			static char *const envp[] = { NULL };

			setsid();
			if (fork() == 0) {
				pid_t me = getpid();

				if (write(p[1], &me, sizeof me) != sizeof me)
					_exit(1);
				execve("/bin/sleep", argv, envp);
				_exit(1);
			}
			_exit(0);
		}
		pause();
		_exit(0);
	}
	close(p[1]);
	ck_assert(read(p[0], &d, sizeof d) == sizeof d);
	close(p[0]);
	*daemon = d;
	return pid;
}

START_TEST(test_real_leaves)
{
	static struct mt_cgroup cg;
	static pid_t pids[64];
	struct mt_cg_limits lim = { -1, -1, -1, -1, 0, 0 };
	char line[1024], path[MT_PATH_MAX + 32];
	struct stat st;
	pid_t w, d;
	int n, more, status, pass;

	if (!mt_cgroup_open(&cg, NULL, &lim, 2)) {
		fprintf(stderr, "test_cgroup: SKIPPED the real cgroup tests: %s\n", cg.why);
		return;
	}
	mt_cgroup_describe(&cg, line, sizeof line);
	ck_assert_msg(strncmp(line, "held by cgroup v2 in ", 21) == 0, "%s", line);
	ck_assert(stat(cg.run, &st) == 0 && S_ISDIR(st.st_mode));
	snprintf(path, sizeof path, "%s/lane-2", cg.run);
	ck_assert(stat(path, &st) == 0);
	snprintf(path, sizeof path, "%s/zygote", cg.run);
	ck_assert(stat(path, &st) == 0);
	snprintf(path, sizeof path, "%s/lane-3", cg.run);
	ck_assert(stat(path, &st) < 0);	/* only the lanes in use */

	w = worker_with_daemon(mt_cgroup_join_fd(&cg, 0), &d);
	/* The daemon left the worker's session and environment, and came
	 * back to init: its leaf still holds it. */
	n = mt_cgroup_pids(&cg, 0, pids, 64, &more);
	ck_assert_int_ge(n, 2);
	ck_assert(counted(pids, n, w));
	ck_assert(counted(pids, n, d));
	ck_assert(mt_cgroup_has(&cg, 0, d));
	ck_assert(!mt_cgroup_has(&cg, 1, d));
	ck_assert_int_eq(mt_cgroup_pids(&cg, 1, pids, 64, &more), 0);
	/* Joining a leaf it is in already changes nothing. */
	ck_assert(mt_cgroup_join(&cg, 0, w));
	ck_assert(mt_cgroup_has(&cg, 0, w));
	/* And one moved by mtest, as zyg_adopt does. */
	ck_assert(mt_cgroup_join(&cg, 1, w));
	ck_assert(mt_cgroup_has(&cg, 1, w));
	ck_assert(mt_cgroup_join(&cg, 0, w));

	/* A cgroup a test makes below its leaf is still its lane's. */
	{
		char sub[MT_PATH_MAX + 64];
		pid_t p2;
		int fd;

		snprintf(sub, sizeof sub, "%s/lane-1/own", cg.run);
		ck_assert(mkdir(sub, 0755) == 0);
		snprintf(sub, sizeof sub, "%s/lane-1/own/deeper", cg.run);
		ck_assert(mkdir(sub, 0755) == 0);
		p2 = fork();
		if (p2 == 0) {
			alarm(ORPHAN_ALARM);
			pause();
			_exit(0);
		}
		snprintf(sub, sizeof sub, "%s/lane-1/own/deeper/cgroup.procs", cg.run);
		fd = open(sub, O_WRONLY);
		ck_assert(fd >= 0);
		snprintf(sub, sizeof sub, "%d", (int)p2);
		ck_assert(write(fd, sub, strlen(sub)) > 0);
		close(fd);
		n = mt_cgroup_pids(&cg, 0, pids, 64, &more);
		ck_assert(counted(pids, n, p2));
		ck_assert(mt_cgroup_has(&cg, 0, p2));
		ck_assert_int_ge(mt_cgroup_kill(&cg, 0), 3);
		ck_assert(waitpid(p2, &status, 0) == p2);
	}
	ck_assert_int_ge(mt_cgroup_kill(&cg, 0), 0);
	ck_assert(waitpid(w, &status, 0) == w);
	ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	for (pass = 0; pass < 500 && kill(d, 0) == 0; pass++) {
		struct timespec ts = { 0, 2000000 };
		char stat_path[64], text[512];
		FILE *f;

		/* Init reaps it; until then it is a zombie, which is gone. */
		snprintf(stat_path, sizeof stat_path, "/proc/%d/stat", (int)d);
		f = fopen(stat_path, "r");
		if (f && fgets(text, sizeof text, f) && strstr(text, ") Z")) {
			fclose(f);
			break;
		}
		if (f)
			fclose(f);
		nanosleep(&ts, NULL);
	}
	ck_assert_msg(pass < 500, "the daemon outlived its leaf's kill");
	ck_assert(mt_cgroup_close(&cg));
	ck_assert(stat(cg.run, &st) < 0 && errno == ENOENT);
}
END_TEST

/* A child of mt_cgroup_fork is in its leaf, and lives: also once the leaf
 * was killed (Linux 6.18 kills a child born into a cgroup after its
 * cgroup.kill; mtest's then joins instead). */
static pid_t forked_into(struct mt_cgroup *cg, int leaf, int *alive)
{
	int p[2], born_in;
	char c = 0;
	struct pollfd pf;
	pid_t pid;

	ck_assert(pipe(p) == 0);
	pid = mt_cgroup_fork(cg, leaf, &born_in);
	ck_assert(pid >= 0);
	if (pid == 0) {
		if (!born_in && write(mt_cgroup_join_fd(cg, leaf), "0", 1) != 1)
			_exit(1);
		if (write(p[1], "x", 1) != 1)
			_exit(1);
		alarm(ORPHAN_ALARM);
		pause();
		_exit(0);
	}
	close(p[1]);
	pf = (struct pollfd){ .fd = p[0], .events = POLLIN };
	ck_assert(poll(&pf, 1, 10000) == 1);
	*alive = read(p[0], &c, 1) == 1;
	close(p[0]);
	return pid;
}

START_TEST(test_fork_into_leaf)
{
	static struct mt_cgroup cg;
	struct mt_cg_limits lim = { -1, -1, -1, -1, 0, 0 };
	int alive, status;
	pid_t pid;

	if (!mt_cgroup_open(&cg, NULL, &lim, 1)) {
		fprintf(stderr, "test_cgroup: SKIPPED the real cgroup tests: %s\n", cg.why);
		return;
	}
	pid = forked_into(&cg, 0, &alive);
	ck_assert(alive);
	ck_assert(mt_cgroup_has(&cg, 0, pid));
	ck_assert_int_ge(mt_cgroup_kill(&cg, 0), 1);
	ck_assert(waitpid(pid, &status, 0) == pid);
	pid = forked_into(&cg, 0, &alive);
	ck_assert_msg(alive, "a child forked into a leaf after its kill was killed");
	ck_assert(mt_cgroup_has(&cg, 0, pid));
	kill(pid, SIGKILL);
	ck_assert(waitpid(pid, &status, 0) == pid);
	ck_assert(mt_cgroup_close(&cg));
}
END_TEST

Suite *cgroup_suite(void)
{
	Suite *s = suite_create("cgroup");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_mountinfo);
	tcase_add_test(tc, test_self);
	tcase_add_test(tc, test_kv);
	tcase_add_test(tc, test_sizes);
	tcase_add_test(tc, test_off_and_bad_paths);
	tcase_add_test(tc, test_real_leaves);
	tcase_add_test(tc, test_fork_into_leaf);
	suite_add_tcase(s, tc);
	return s;
}
