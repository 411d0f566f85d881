/* mtest --self-check: the installed mtest run on canned scenarios (pass,
 * fail, hang, deadlock, crash, leak; share/mtest/selfcheck), through the
 * whole machinery: a real run of this binary, with its workers, watchdog,
 * stack capture, crash handler and leak sweep, then its records read back.
 * It prints one line per check and PASS, or what is broken and why. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mtest/base/clock.h"
#include "mtest/base/fsx.h"
#include "mtest/base/json.h"
#include "mtest/base/msg.h"
#include "mtest/base/procfs.h"
#include "mtest/run/run.h"
#include "mtest/selfcheck.h"

#define FILE_ID "test_selfcheck.py::"
#define NSCEN 7

/* A scenario: what its verdict must be, and what its bundle must hold. */
struct scenario {
	const char *name, *verdict, *reason;	/* reason: a prefix; NULL any */
	const char *bundle_has[3];		/* NULL-ended */
	const char *what;			/* said when it holds */
};

static const struct scenario scen[NSCEN] = {
	{ "test_pass", "passed", "", { NULL }, "a pass" },
	{ "test_fail", "failed", "AssertionError", { NULL }, "a failure, with its exception" },
	{ "test_hang", "hung", NULL, { "test_hang", "Python (most recent call first)", NULL },
	  "a hang ended at the timeout, with its Python stack" },
	{ "test_deadlock", "hung", "deadlock (certain)",
	  { "\"selfcheck-helper\": waits for a lock", "Native:", NULL },
	  "an AB/BA deadlock seen early, with Python and native stacks" },
	{ "test_crash", "crashed", "SIGSEGV", { "(crashed here)", NULL },
	  "a segfault caught by the crash handler, the crashing frame captured" },
	{ "test_leak", "passed", "", { NULL }, "a pass that leaks a process" },
	{ "test_after", "passed", "", { NULL }, "a pass after all of that: the run went on" },
};

struct got {
	char verdict[32], reason[96], bundle[MT_PATH_MAX];
	int seen;
};

/* What a self-check holds: its folder, the records read back. */
struct check {
	char dir[MT_PATH_MAX];		/* the scenarios */
	char tmp[MT_PATH_MAX];		/* a state directory of its own */
	struct got got[NSCEN];
	int leak_named, exit_code, collected, failed;
	long run_pid;			/* the run's, from run_start */
	char first_err[256];		/* the run's first line on stderr */
	char buf[1 << 20];		/* run.jsonl, then each bundle */
	struct mt_json j;
};

static struct check C;

static int find_scenarios(struct check *c)
{
	const char *env = getenv("MTEST_SELFCHECK_DIR");
	char prefix[MT_PATH_MAX], test[MT_PATH_MAX + 64];
	static const char *const rel[] = { "share/mtest/selfcheck", "tools/selfcheck" };
	unsigned k;

	if (env && *env) {
		snprintf(c->dir, sizeof c->dir, "%s", env);
		snprintf(test, sizeof test, "%s/test_selfcheck.py", c->dir);
		return access(test, R_OK) == 0;
	}
	if (!mt_exe_dir(prefix, sizeof prefix, 2))
		return 0;
	for (k = 0; k < sizeof rel / sizeof rel[0]; k++) {
		snprintf(c->dir, sizeof c->dir, "%s/%s", prefix, rel[k]);
		snprintf(test, sizeof test, "%s/test_selfcheck.py", c->dir);
		if (access(test, R_OK) == 0)
			return 1;
	}
	snprintf(c->dir, sizeof c->dir, "%s/share/mtest/selfcheck", prefix);
	return 0;
}

static void line(struct check *c, int ok, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void line(struct check *c, int ok, const char *name, const char *fmt, ...)
{
	va_list ap;

	printf("  %-4s %-10s ", ok ? "ok" : "FAIL", name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	c->failed += !ok;
}

/* The state directory the box's runs use (the check's own run uses a
 * temporary one): it must be writable, or creatable. */
static void check_state_dir(struct check *c, const struct mt_opts *o)
{
	char parent[MT_PATH_MAX], *slash;

	if (!o->state_dir)
		return;
	if (access(o->state_dir, W_OK | X_OK) == 0) {
		line(c, 1, "state", "%s is writable", o->state_dir);
		return;
	}
	if (errno == ENOENT) {
		snprintf(parent, sizeof parent, "%s", o->state_dir);
		slash = strrchr(parent, '/');
		if (slash && slash != parent)
			*slash = '\0';
		if (access(slash ? parent : ".", W_OK | X_OK) == 0) {
			line(c, 1, "state", "%s does not exist yet; a run will make it", o->state_dir);
			return;
		}
	}
	line(c, 0, "state", "the state directory %s is not writable: %s", o->state_dir,
	     strerror(errno));
}

/* Yama (docs/watchdog.md): 1 is met by the plugin's PR_SET_PTRACER, 2
 * needs CAP_SYS_PTRACE, 3 refuses every attach. */
static int yama_scope(void)
{
	char text[16];

	if (mt_read_file("/proc/sys/kernel/yama/ptrace_scope", text, sizeof text) <= 0)
		return -1;
	return atoi(text);
}

/* Run this binary on the scenarios, as a user would; its exit code. */
static int run(struct check *c, const struct mt_opts *o)
{
	char exe[MT_PATH_MAX], errpath[MT_PATH_MAX + 16];
	const char *argv[24];
	int n = 0, st, fd;
	pid_t pid;

	if (!mt_exe_dir(exe, sizeof exe, 0))
		return -1;
	argv[n++] = exe;
	argv[n++] = "--state-dir";
	argv[n++] = c->tmp;
	argv[n++] = "--config";
	argv[n++] = o->config ? o->config : "/dev/null";
	argv[n++] = "--python";
	argv[n++] = o->python;
	argv[n++] = "--timeout";
	argv[n++] = "4";
	argv[n++] = "--deadlock-after";
	argv[n++] = "1";
	argv[n++] = "--kill-grace";
	argv[n++] = "0.5";
	argv[n++] = "--run-timeout";
	argv[n++] = "120";
	argv[n++] = "--progress";
	argv[n++] = "quiet";
	if (o->board_name) {
		argv[n++] = "--board";
		argv[n++] = o->board_name;
	}
	argv[n++] = c->dir;	/* named: a box's config names its own suite */
	argv[n] = NULL;
	snprintf(errpath, sizeof errpath, "%s/stderr", c->tmp);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		fd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd < 0 || dup2(fd, 2) < 0 || chdir(c->dir) < 0)
			_exit(127);
		fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
		if (fd < 0 || dup2(fd, 1) < 0)
			_exit(127);
		execv(exe, (char *const *)argv);
		_exit(127);
	}
	/* Bounded: the run has --run-timeout, and ends its own workers. */
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	if (mt_read_file(errpath, c->buf, sizeof c->buf) > 0) {
		c->buf[strcspn(c->buf, "\n")] = '\0';
		snprintf(c->first_err, sizeof c->first_err, "%s", c->buf);
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void take_record(struct check *c, const char *s, size_t len)
{
	struct mt_json *j = &c->j;
	char type[16], id[160];
	int k;

	if (!mt_json_parse(j, s, len))
		return;
	mt_json_get_str(j, 0, "type", type, sizeof type);
	mt_json_get_str(j, 0, "id", id, sizeof id);
	if (strcmp(type, "run_start") == 0) {
		int64_t v;

		if (mt_json_get_int(j, 0, "pid", &v))
			c->run_pid = (long)v;
	} else if (strcmp(type, "collected") == 0) {
		int64_t v;

		if (mt_json_get_int(j, 0, "tests", &v))
			c->collected = (int)v;
	} else if (strcmp(type, "leak") == 0) {
		char text[256];

		mt_json_get_str(j, 0, "text", text, sizeof text);
		if (strcmp(id, FILE_ID "test_leak") == 0 && strstr(text, "sleep"))
			c->leak_named = 1;
	} else if (strcmp(type, "test") == 0) {
		for (k = 0; k < NSCEN; k++) {
			struct got *g = &c->got[k];

			if (strncmp(id, FILE_ID, sizeof FILE_ID - 1) != 0 ||
			    strcmp(id + sizeof FILE_ID - 1, scen[k].name) != 0)
				continue;
			g->seen++;
			mt_json_get_str(j, 0, "verdict", g->verdict, sizeof g->verdict);
			mt_json_get_str(j, 0, "reason", g->reason, sizeof g->reason);
			mt_json_get_str(j, 0, "bundle", g->bundle, sizeof g->bundle);
		}
	}
}

/* The run's journal, record by record. 0 if it cannot be read. */
static int read_records(struct check *c)
{
	char path[MT_PATH_MAX + 32];
	ssize_t n;
	char *p, *nl;

	snprintf(path, sizeof path, "%s/last-run/run.jsonl", c->tmp);
	if ((n = mt_read_file(path, c->buf, sizeof c->buf)) < 0)
		return 0;
	for (p = c->buf; (nl = memchr(p, '\n', (size_t)(c->buf + n - p))); p = nl + 1)
		take_record(c, p, (size_t)(nl - p));
	return 1;
}

/* Processes that still carry the run's tag (MTEST_RUN=PID: in their
 * environment): what the run should have killed. */
static int leftovers(struct check *c)
{
	struct mt_dir d;
	const char *name;
	char tag[32], val[64];
	unsigned char type;
	int left = 0;
	size_t tl;

	if (!c->run_pid || !mt_dir_open(&d, AT_FDCWD, "/proc"))
		return 0;
	tl = (size_t)snprintf(tag, sizeof tag, "%ld:", c->run_pid);
	while ((name = mt_dir_next(&d, &type)))
		if (name[0] >= '1' && name[0] <= '9' &&
		    mt_proc_env((pid_t)atol(name), "MTEST_RUN", val, sizeof val) &&
		    strncmp(val, tag, tl) == 0)
			left++;
	mt_dir_close(&d);
	return left;
}

/* The first line of a bundle that explains a failed capture, if any. */
static const char *capture_trouble(char *text)
{
	static const char *const marks[] = { "ptrace refused", "capture failed", "no Python stacks" };
	unsigned k;
	char *at;

	for (k = 0; k < sizeof marks / sizeof marks[0]; k++)
		if ((at = strstr(text, marks[k]))) {
			at[strcspn(at, "\n")] = '\0';
			return at;
		}
	return NULL;
}

/* Where the run looks for its crash handler (src/sup/super.c). */
static int crash_handler_found(void)
{
	char dir[MT_PATH_MAX], path[MT_PATH_MAX + 32];

	if (!mt_exe_dir(dir, sizeof dir, 1))
		return 0;
	snprintf(path, sizeof path, "%s/mtest_crash.so", dir);
	if (access(path, R_OK) == 0)
		return 1;
	snprintf(path, sizeof path, "%s/../lib/mtest/mtest_crash.so", dir);
	return access(path, R_OK) == 0;
}

static void check_scenario(struct check *c, int k)
{
	const struct scenario *s = &scen[k];
	const struct got *g = &c->got[k];
	char path[MT_PATH_MAX * 2 + 16];
	const char *why;
	int i;

	if (g->seen != 1) {
		line(c, 0, s->name + 5, "%s verdicts for it, not one", g->seen ? "two" : "no");
		return;
	}
	if (strcmp(g->verdict, s->verdict) != 0 ||
	    (s->reason && strncmp(g->reason, s->reason, strlen(s->reason)) != 0)) {
		line(c, 0, s->name + 5, "%s (%s), want %s%s%s%s", g->verdict, g->reason, s->verdict,
		     s->reason ? " (" : "", s->reason ? s->reason : "", s->reason ? ")" : "");
		return;
	}
	for (i = 0; s->bundle_has[i]; i++) {
		snprintf(path, sizeof path, "%s/last-run/%s", c->tmp, g->bundle);
		if (!g->bundle[0] || mt_read_file(path, c->buf, sizeof c->buf) < 0) {
			line(c, 0, s->name + 5, "%s, but no bundle to read", g->verdict);
			return;
		}
		if (!strstr(c->buf, s->bundle_has[i])) {
			why = capture_trouble(c->buf);
			if (!why && strcmp(s->verdict, "crashed") == 0 && !crash_handler_found())
				why = "no crash handler: mtest_crash.so is not in PREFIX/lib/mtest/";
			line(c, 0, s->name + 5, "%s, but its bundle lacks '%s'%s%s", g->verdict,
			     s->bundle_has[i], why ? ": " : "", why ? why : "");
			return;
		}
	}
	line(c, 1, s->name + 5, "%s%s%s%s: %s", g->verdict, g->reason[0] ? " (" : "", g->reason,
	     g->reason[0] ? ")" : "", s->what);
}

/* With a board: the lamp test, asked of the daemon that holds the LEDs,
 * or done by this process. */
static void check_leds(struct check *c, const struct mt_opts *o)
{
	char exe[MT_PATH_MAX];
	pid_t pid;
	int st = 0;

	if (!o->board_name)
		return;
	if (!mt_exe_dir(exe, sizeof exe, 0) || (pid = fork()) < 0) {
		line(c, 0, "leds", "cannot start the lamp test: %s", strerror(errno));
		return;
	}
	if (pid == 0) {
		execl(exe, exe, "led", "--board", o->board_name, "--lamp-test", (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	line(c, WIFEXITED(st) && WEXITSTATUS(st) == 0, "leds",
	     WIFEXITED(st) && WEXITSTATUS(st) == 0 ? "lamp test on board %s: every LED on for 3 s" :
	     "the lamp test on board %s failed (its message is above)", o->board_name);
}

int mt_selfcheck_main(const struct mt_opts *o)
{
	struct check *c = &C;
	const char *tmpdir = getenv("TMPDIR");
	int64_t t0 = mt_now_us();
	int k, yama = yama_scope();

	memset(c, 0, sizeof *c);
	if (!find_scenarios(c)) {
		mt_msg("--self-check: the canned scenarios are not installed (no %s/test_selfcheck.py;"
		       " reinstall mtest)", c->dir);
		return MT_EXIT_FAILED;
	}
	snprintf(c->tmp, sizeof c->tmp, "%s/mtest-selfcheck-XXXXXX",
		 tmpdir && *tmpdir ? tmpdir : "/tmp");
	if (!mkdtemp(c->tmp)) {
		mt_msg_sys("--self-check: cannot make a state directory in %s",
			   tmpdir && *tmpdir ? tmpdir : "/tmp");
		return 1;
	}
	printf("mtest self-check: %s, Python %s (%s)", c->dir, o->python, o->python_how);
	if (yama >= 0)
		printf(", Yama ptrace_scope %d", yama);
	printf("\n");
	if (yama >= 2)
		line(c, 0, "ptrace", "Yama's ptrace_scope is %d: %s", yama,
		     yama == 3 ? "no process may be traced: no stacks of hung or crashed tests "
				 "(ptrace_scope 3 holds until reboot)" :
				 "only a process with CAP_SYS_PTRACE may trace: run mtest as root, or "
				 "set kernel.yama.ptrace_scope=1");
	check_state_dir(c, o);
	fflush(stdout);
	c->exit_code = run(c, o);
	if (c->exit_code != 1) {
		const char *e = c->first_err;

		if (strncmp(e, "mtest: ", 7) == 0)
			e += 7;
		line(c, 0, "run", "the scenarios' run ended with exit %d, not 1 (failures)%s%s",
		     c->exit_code, *e ? ": " : "", e);
	} else if (!read_records(c)) {
		line(c, 0, "run", "no run.jsonl in %s/last-run", c->tmp);
	} else {
		if (c->collected != NSCEN)
			line(c, 0, "collect", "%d tests collected, want %d", c->collected, NSCEN);
		for (k = 0; k < NSCEN; k++)
			check_scenario(c, k);
		int left = leftovers(c);

		line(c, c->leak_named, "leak", c->leak_named ?
		     "the leaked 'sleep' named in a leak record" :
		     "no leak record names the leaked 'sleep'");
		line(c, !left, "sweep", left ? "%d processes of the run are still alive" :
		     "no process of the run is left", left);
	}
	check_leds(c, o);
	if (c->failed) {
		printf("FAIL: %d of the checks above; the run is kept in %s\n", c->failed, c->tmp);
		return fflush(stdout) == 0 ? MT_EXIT_FAILED : MT_EXIT_INTERNAL;
	}
	mt_rmtree(c->tmp);
	printf("PASS (%.1f s)\n", (double)(mt_now_us() - t0) / 1e6);
	return fflush(stdout) == 0 ? MT_EXIT_OK : MT_EXIT_INTERNAL;
}
