/* mtest: options, environment and the config file, in that precedence. */
#include "mtest/cli.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mtest/base/cgroup.h"
#include "mtest/base/fsx.h"
#include "mtest/base/msg.h"
#include "mtest/led/board.h"
#include "mtest/led/codes.h"
#include "mtest/run/run.h"

static const char help_text[] =
"usage: mtest [options] [path or node id ...] [-- pytest options ...]\n"
"       mtest --report [--run N|DATE] [--junit-xml PATH] [--lava]\n"
"       mtest --history [--state-dir DIR]\n"
"       mtest --resume [--state-dir DIR]\n"
"       mtest --quarantine [in|out|auto TEST_ID ...] [--state-dir DIR]\n"
"       mtest --self-check [--board B] [--python PATH]\n"
"       mtest led [--board B] [--state-dir DIR] [--show CODE [--for SECS]\n"
"                 | --lamp-test | --codes]\n"
"\n"
"Runs a pytest suite from the outside: each collected test ends with one\n"
"verdict (passed, failed, error, skipped, xfailed, xpassed, hung, crashed,\n"
"not_run, collection_error), recorded in the state directory as it is known.\n"
"Hung tests are killed with their whole process tree, crashed workers are\n"
"replaced, and the run goes on.\n"
"\n"
"options:\n"
"  --python PATH          Python with pytest (else MTEST_PYTHON, the config\n"
"                         file's python, $VIRTUAL_ENV/bin/python, then\n"
"                         /usr/bin/python3)\n"
"  --state-dir DIR        where records go (else MTEST_STATE_DIR, the config\n"
"                         file's state_dir, then .gates/ in the suite's root);\n"
"                         it and every directory above it must be root's or\n"
"                         this user's and writable by nobody else (sticky,\n"
"                         as /tmp, is enough above it)\n"
"  --config FILE          config file (else MTEST_CONFIG, then\n"
"                         /etc/mtest/mtest.conf if it exists)\n"
"  --timeout SECS         per-test timeout for tests without a timeout marker\n"
"                         (default: the suite's pytest-timeout setting, else 60)\n"
"  --kill-grace SECS      SIGTERM to SIGKILL delay for a worker (default 5)\n"
"  --collect-timeout SECS limit for collecting one file (default 60)\n"
"  --timeout-scale X      multiply every test's timeout, --collect-timeout\n"
"                         and the deadlock windows by X, for a slow box\n"
"                         (else the config file's timeout_scale, the board\n"
"                         file's, then 1)\n"
"  --run-timeout SECS     limit for the whole run; the rest become not_run\n"
"  --max-tests N          run at most N tests; the rest become not_run\n"
"  --deadlock-after SECS  end a test that is certainly deadlocked after this\n"
"                         long without progress (default 5)\n"
"  --likely-after SECS    end a likely deadlock after this long without\n"
"                         progress (default 3 x --deadlock-after); joins,\n"
"                         queue gets and condition waits run to their timeout\n"
"  --capture-after SECS   capture the stacks of any test still running after\n"
"                         this long, hung or not\n"
"  --no-lock-ledger       do not track who holds which threading lock (the\n"
"                         ledger names a deadlock's holders and makes a cycle\n"
"                         or a holder that exited a certain deadlock)\n"
"  --leak-grace SECS      how long after its end a test's threads and\n"
"                         processes may live before they count as leaked\n"
"                         (default 0.5)\n"
"  --restart-on-dirty WHEN  after a leak, a dead session helper, a hang or a\n"
"                         crash: a fresh worker for the next file (file, the\n"
"                         default), the next test (test), or none (never)\n"
"  --isolate WHAT         a fresh worker for every file or every test\n"
"  --spawn                start every worker as a new Python (else, or with\n"
"                         MTEST_WORKERS=fork or the config file's workers =\n"
"                         fork, workers are forked from a zygote that\n"
"                         collected the suite once: a restart costs a fork,\n"
"                         not a Python start)\n"
"  --recheck              run each failed, hung or crashed test alone, twice,\n"
"                         and say whether it fails alone, passes alone\n"
"                         (order-dependent) or is flaky\n"
"  -j, --jobs N|auto      run N workers side by side (lanes; auto: one per\n"
"                         online core, at most 8); default 1\n"
"  --dist file|test       what a lane takes: whole files (default: module\n"
"                         fixtures are set up once) or single tests\n"
"  --tier T|A-B           only tests of tier T (or A to B): smoke 0;\n"
"                         contract, property, regression, fuzz, integration\n"
"                         and unmarked tests 1; concurrency, conformance,\n"
"                         use_case 2; perf, stress, e2e, slow 3\n"
"  --shard K/N            run shard K of N (whole files, balanced by their\n"
"                         number of tests; also TEST_SHARD_INDEX and\n"
"                         TEST_TOTAL_SHARDS, as Bazel sets them)\n"
"  --budget SECS          plan the run to end within SECS: tier 0 first,\n"
"                         then tests that failed lately, then the shortest;\n"
"                         the rest not_run (budget)\n"
"  --fail-fast            stop after the first failed, errored, hung or\n"
"                         crashed test; the rest not_run\n"
"  --kmsg-markers on|off  as root, write a line at each test's start and end\n"
"                         into the kernel's log, so that dmesg tells which\n"
"                         test a kernel message came in; within the\n"
"                         kernel's rate limit for /dev/kmsg (default on)\n"
"  --keep N               run folders kept in the state directory (default 10)\n"
"  --board NAME|PATH      the box's board file (board/NAME.json): its status\n"
"                         LEDs, defaults and limits (else MTEST_BOARD, the\n"
"                         config file's board); a run drives the LEDs itself\n"
"                         when no LED daemon holds them\n"
"  --progress MODE        auto, tty (one live line), plain (a line per\n"
"                         verdict) or quiet (default auto)\n"
"  --resume               continue the last run that was interrupted or died\n"
"                         (SIGINT, kill -9, a power cut), with its options:\n"
"                         tests with a verdict are not run again\n"
"  --report               show the last run (from any directory) and exit\n"
"                         with the exit code of that run\n"
"  --run N|DATE           with --report: an older run (1 the newest, as\n"
"                         --history numbers them; or a UTC date or time such\n"
"                         as 2026-12-01 or 2026-12-01T02, or a run's name)\n"
"  --history              one line per kept run (when, how long, exit, counts),\n"
"                         then the tests whose verdict changed, and since when\n"
"  --junit-xml PATH       JUnit XML of the run (failures, errors with hung and\n"
"                         crashed tests' reasons and stacks, skips), written at\n"
"                         its end; with --report, of the reported run\n"
"  --lava                 a LAVA test-shell signal per verdict as it is known,\n"
"                         a test set per file (and '<' in other output shown\n"
"                         as '[', so that no test can forge one)\n"
"  --quarantine           list the tests in quarantine (3 bad results in their\n"
"                         last 5 runs, until 3 good ones in a row: they run,\n"
"                         reported apart, and do not fail the run), with their\n"
"                         last results; in, out or auto TEST_ID...: pin tests\n"
"                         in or out by hand, or give them back to the rule\n"
"  --self-check           run the installed canned scenarios (pass, fail, hang,\n"
"                         deadlock, crash, leak) through the whole machinery,\n"
"                         stacks and LEDs (with a board) included: PASS, or\n"
"                         what is broken (exit 0 or 1)\n"
"  -h, --help             this help\n"
"\n"
"mtest led, the LED daemon: holds the board's LEDs and shows the state\n"
"directory's last run (docs/leds.md); --show CODE (for --for SECS, or until\n"
"stopped) and --lamp-test (every LED on for 3 s) ask a running daemon, or\n"
"drive the LEDs themselves; --codes prints the table of codes: none, pass,\n"
"running, quarantined, failures, hangs, incomplete, fault, lamp.\n"
"  --version              mtest's version\n"
"\n"
"SECS take a unit: 90, 1.5, 500ms, 2s, 5m, 1h; 0 means no limit (for\n"
"--kill-grace: SIGKILL at once; for --deadlock-after: never end early); a\n"
"positive value below a microsecond is refused. An empty path (an option,\n"
"an MTEST_* variable set but empty, the config file) is a usage error.\n"
"Ctrl-Z (SIGTSTP) pauses a run, its workers and every timer alike; fg or bg\n"
"goes on. A test marked @pytest.mark.mtest_group(\"audio\") (or matched by\n"
"the config file's group.audio = PATTERN ...) never runs on two lanes at\n"
"once with another of its group.\n"
"Options after \"--\" go to pytest unchanged, except those that stop tests\n"
"from running, change what their outcome means, or fight mtest, which are\n"
"refused: -x/--exitfirst, --maxfail, --co/--collect-only, --setup-only,\n"
"--setup-plan, --sw/--stepwise, --sw-skip, --sw-reset, --lf, --ff, --nf,\n"
"--cache-show, --fixtures, --fixtures-per-test, --markers, -V/--version,\n"
"-h/--help, --runxfail, --pdb, --pdbcls, --trace, -s, --capture,\n"
"-n/--numprocesses, -d, --dist, --tx, -f/--looponfail, --forked,\n"
"--reruns, --force-reruns, --count, --benchmark-only, -p no:capture,\n"
"@file arguments and a second --. The same options in a suite's addopts\n"
"or PYTEST_ADDOPTS are neutralised (docs/options.md).\n"
"\n"
"exit codes (first that applies: 3, 2, 4, 1, 6, 5, 0):\n"
"  0  every test passed, skipped, xfailed or xpassed (or failed in quarantine)\n"
"  1  a test failed, errored, hung or crashed, or a file could not be collected\n"
"  2  interrupted (SIGINT, SIGTERM, SIGHUP)\n"
"  3  internal error\n"
"  4  usage error: bad option or config, no usable Python or pytest, or\n"
"     pytest refused its arguments\n"
"  5  no tests collected (a shard or plan that selects none of the\n"
"     collected tests is 0, and says so)\n"
"  6  incomplete: tests left not_run by --run-timeout, --max-tests, a table\n"
"     limit, or workers that kept dying\n"
"  7  another mtest run holds the state directory\n";

void mt_cli_help(void)
{
	if (write(1, help_text, sizeof help_text - 1) < 0) {
	}
}

/* A number of seconds with an optional unit; 1, or 0 if not that shape. */
static int parse_seconds(const char *s, double *secs)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (end == s || errno || !(v >= 0 && v <= 1e9))	/* NaN fails too */
		return 0;
	if (strcmp(end, "ms") == 0)
		v /= 1000;
	else if (strcmp(end, "m") == 0)
		v *= 60;
	else if (strcmp(end, "h") == 0)
		v *= 3600;
	else if (*end && strcmp(end, "s") != 0)
		return 0;
	*secs = v;
	return 1;
}

/* Below half a microsecond, a limit would round to 0, "no limit". */
static int below_us(double secs)
{
	return secs > 0 && secs * 1e6 < 0.5;
}

int mt_parse_duration(const char *s, int64_t *us)
{
	double v;

	if (!parse_seconds(s, &v) || below_us(v))
		return 0;
	*us = (int64_t)(v * 1e6 + 0.5);
	return 1;
}

/* Why mt_parse_duration refused a value. */
static const char *duration_why(const char *s)
{
	double v;

	return parse_seconds(s, &v) && below_us(v) ? "below a microsecond (0 means no limit)" :
	       "not a duration";
}

/* Long options that stop tests from running, change what their outcome
 * means, or fight mtest for the session (docs/options.md), with or
 * without "=value". Exact spellings only: pytest (7.0 to 9.1) takes no
 * abbreviations of long options. */
static const char *const refused_long[] = {
	/* nothing would run, or every test would "pass" */
	"--collect-only", "--collectonly", "--co",
	"--setup-only", "--setuponly", "--setup-plan", "--setupplan",
	"--fixtures", "--funcargs", "--fixtures-per-test", "--markers",
	"--cache-show", "--help", "--version",
	/* stops early, or selects and orders by the cache */
	"--exitfirst", "--maxfail",
	"--stepwise", "--sw", "--stepwise-skip", "--sw-skip", "--stepwise-reset", "--sw-reset",
	"--last-failed", "--lf", "--last-failed-no-failures", "--lfnf",
	"--failed-first", "--ff", "--new-first", "--nf",
	/* the suite's xfail marks must win */
	"--runxfail",
	/* nobody at a terminal */
	"--pdb", "--pdbcls", "--trace",
	/* mtest needs --capture=fd */
	"--capture",
	/* pytest-xdist, pytest-forked, pytest-rerunfailures, pytest-repeat,
	 * pytest-benchmark */
	"--numprocesses", "--dist", "--tx", "--looponfail", "--forked",
	"--reruns", "--force-reruns", "--count", "--benchmark-only",
};

/* Short flags refused anywhere in a cluster (-xvs): -x exitfirst, -s no
 * capture, -h help, -V version, -n, -d and -f (xdist). */
static const char refused_short[] = "xshVndf";
/* Short options that take a value: they end a cluster, and take the next
 * argument when nothing follows them. */
static const char value_short[] = "kmpcoWrP";

/* A -p value that would unload mtest's plugin or pytest's capture. */
static const char *refused_plugin(const char *v)
{
	static const char *const bad[] = { "no:mtest_plugin", "no:mtest_boot", "no:capture" };
	unsigned k;

	for (k = 0; k < sizeof bad / sizeof bad[0]; k++)
		if (strcmp(v, bad[k]) == 0)
			return bad[k];
	return NULL;
}

const char *mt_cli_refused(char **args, int n)
{
	static char one[3] = "-?";
	const char *a, *c, *bad;
	size_t len;
	unsigned k;
	int i;

	for (i = 0; i < n; i++) {
		a = args[i];
		if (a[0] == '@')
			return "@file";	/* pytest 8.2+ reads more arguments from it */
		if (strcmp(a, "--") == 0)
			return "--";	/* mtest's own arguments would become paths */
		if (a[0] != '-' || a[1] == '\0')
			continue;
		if (a[1] == '-') {
			for (k = 0; k < sizeof refused_long / sizeof refused_long[0]; k++) {
				len = strlen(refused_long[k]);
				if (strncmp(a, refused_long[k], len) == 0 &&
				    (a[len] == '\0' || a[len] == '='))
					return refused_long[k];
			}
			continue;
		}
		/* A cluster of short flags: -xvs. A letter that takes a value
		 * ends the cluster (-k expr, -m mark, -p name, ...), and takes
		 * the next argument when nothing follows it (-vk expr). */
		for (c = a + 1; *c; c++) {
			if (strchr(refused_short, *c)) {
				one[1] = *c;
				return one;
			}
			if (strchr(value_short, *c)) {
				const char *v = c[1] ? c + 1 : i + 1 < n ? args[i + 1] : "";

				if (*c == 'p' && (bad = refused_plugin(v)) != NULL)
					return bad;
				if (c[1] == '\0')
					i++;
				break;
			}
		}
	}
	return NULL;
}

/* The config file: "key = value" lines; "#" at the start of a line or
 * after a space or a tab starts a comment (so "/opt/a#b" stays a path). */
static char conf_python[MT_PATH_MAX], conf_state_dir[MT_PATH_MAX], conf_board[MT_PATH_MAX];
static char conf_suite[MT_PATH_MAX];
static int64_t conf_timeout = -1, conf_grace = -1, conf_collect = -1, conf_run = -1;
static int64_t conf_deadlock = -1, conf_likely = -1, conf_leak = -1;
static int conf_restart = -1, conf_spawn = -1, conf_markers = -1, conf_ledger = -1;
static long conf_keep = -1, conf_jobs = -1, conf_dist = -1;
static int64_t conf_budget = -1;
static double conf_scale = -1;
static struct mt_groupdef conf_groups[MT_GROUPS_MAX];
static int conf_ngroups;
static char conf_cgroup[MT_PATH_MAX];
/* memory_max, memory_high, lane_memory_max, lane_memory_high; 0 unset. */
static int64_t conf_mem[4];
static long conf_cpu_weight, conf_io_weight;
static const char *const mem_keys[4] = { "memory_max", "memory_high", "lane_memory_max",
					 "lane_memory_high" };

static void cut_comment(char *s)
{
	char *h;

	for (h = strchr(s, '#'); h; h = strchr(h + 1, '#'))
		if (h == s || h[-1] == ' ' || h[-1] == '\t') {
			*h = '\0';
			return;
		}
}

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

/* A whole number in [lo, hi], nothing else. */
static int parse_count(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (end == s || *end || errno || v < lo || v > hi)
		return 0;
	*out = v;
	return 1;
}

/* -j N or -j auto (the online cores, at most MT_LANES_MAX). */
static int parse_jobs(const char *s, long *out)
{
	long n;

	if (strcmp(s, "auto") == 0) {
		n = sysconf(_SC_NPROCESSORS_ONLN);
		*out = n < 1 ? 1 : n > MT_LANES_MAX ? MT_LANES_MAX : n;
		return 1;
	}
	return parse_count(s, 1, MT_LANES_MAX, out);
}

/* "2" or "0-2". */
static int parse_tier(const char *s, int *lo, int *hi)
{
	if (s[0] >= '0' && s[0] <= '3' && s[1] == '\0') {
		*lo = *hi = s[0] - '0';
		return 1;
	}
	if (s[0] >= '0' && s[0] <= '3' && s[1] == '-' && s[2] >= s[0] && s[2] <= '3' &&
	    s[3] == '\0') {
		*lo = s[0] - '0';
		*hi = s[2] - '0';
		return 1;
	}
	return 0;
}

/* "K/N", 1 <= K <= N. */
static int parse_shard(const char *s, int *k, int *n)
{
	char *end;
	long a, b;

	errno = 0;
	a = strtol(s, &end, 10);
	if (end == s || *end != '/' || errno)
		return 0;
	b = strtol(end + 1, &end, 10);
	if (*end || errno || a < 1 || b < a || b > MT_SHARDS_MAX)
		return 0;
	*k = (int)a;
	*n = (int)b;
	return 1;
}

static int parse_dist(const char *s, long *out)
{
	*out = strcmp(s, "file") == 0 ? MT_DIST_FILE : strcmp(s, "test") == 0 ? MT_DIST_TEST : -1;
	return *out >= 0;
}

/* "group.NAME = PATTERN ...": a name of [A-Za-z0-9_.-], patterns given. */
static int conf_group(const char *path, int lineno, const char *key, const char *val)
{
	const char *name = key + 6;
	int i;

	if (!*name || strlen(name) >= MT_GROUP_NAME_MAX ||
	    strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") !=
	    strlen(name)) {
		mt_msg("%s:%d: %s: a group's name is 1 to %d of A-Z a-z 0-9 _ . -", path, lineno, key,
		       MT_GROUP_NAME_MAX - 1);
		return 0;
	}
	if (!*val) {
		mt_msg("%s:%d: %s: want file or node id patterns (tests/test_alsa*.py)", path, lineno,
		       key);
		return 0;
	}
	for (i = 0; i < conf_ngroups && strcmp(conf_groups[i].name, name) != 0; i++)
		;
	if (i == conf_ngroups) {
		if (conf_ngroups >= MT_GROUPS_MAX - 1) {
			mt_msg("%s:%d: %s: more than %d groups (MT_GROUPS_MAX)", path, lineno, key,
			       MT_GROUPS_MAX - 1);
			return 0;
		}
		snprintf(conf_groups[conf_ngroups++].name, MT_GROUP_NAME_MAX, "%s", name);
		conf_groups[i].patterns[0] = '\0';
	}
	/* A second line for the same group adds its patterns. */
	if (strlen(conf_groups[i].patterns) + strlen(val) + 2 > MT_GROUP_PATTERNS) {
		mt_msg("%s:%d: %s: its patterns exceed %d bytes (MT_GROUP_PATTERNS)", path, lineno,
		       key, MT_GROUP_PATTERNS);
		return 0;
	}
	if (conf_groups[i].patterns[0])
		strcat(conf_groups[i].patterns, " ");
	strcat(conf_groups[i].patterns, val);
	return 1;
}

static int parse_onoff(const char *s)
{
	return strcmp(s, "on") == 0 ? 1 : strcmp(s, "off") == 0 ? 0 : -1;
}

int mt_parse_scale(const char *s, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (end == s || *end || errno || !(v >= 0.1 && v <= 100))	/* NaN fails too */
		return 0;
	*out = v;
	return 1;
}

/* A memory limit: a size above 0 ("512M", "1G"), or max (none: -1). */
static int parse_limit(const char *s, int64_t *out)
{
	return mt_parse_size(s, out) && (*out == -1 || *out >= 4096);
}

static int mem_key(const char *key)
{
	int k;

	for (k = 0; k < 4; k++)
		if (strcmp(key, mem_keys[k]) == 0)
			return k;
	return -1;
}

static int conf_duration(const char *path, int lineno, const char *key,
			 const char *val, int64_t *out)
{
	if (mt_parse_duration(val, out))
		return 1;
	mt_msg("%s:%d: %s: %s: '%s'", path, lineno, key, duration_why(val), val);
	return 0;
}

/* A path value: never empty (an unset variable in a generated file would
 * make it the current directory), never cut. */
static int conf_path(const char *path, int lineno, const char *key, const char *val,
		     char out[MT_PATH_MAX])
{
	if (!*val) {
		mt_msg("%s:%d: %s: an empty path", path, lineno, key);
		return 0;
	}
	if (snprintf(out, MT_PATH_MAX, "%s", val) >= MT_PATH_MAX) {
		mt_msg("%s:%d: %s: a path over %d bytes", path, lineno, key, MT_PATH_MAX - 1);
		return 0;
	}
	return 1;
}

static int conf_load(const char *path, int must_exist)
{
	static char text[65536];
	ssize_t n = mt_read_file(path, text, sizeof text);

	if (n < 0) {
		if (!must_exist && errno == ENOENT)
			return 2;
		mt_msg_sys("cannot read config file %s", path);
		return 0;
	}
	if ((size_t)n == sizeof text - 1) {
		/* A cut last line could change a value without a word. */
		mt_msg("config file %s is too big (over %zu bytes)", path, sizeof text - 2);
		return 0;
	}
	return mt_cli_parse_config(text, path);
}

int mt_cli_parse_config(char *text, const char *path)
{
	char *line, *next, *eq, *key, *val;
	int lineno = 0;

	for (line = text; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		lineno++;
		cut_comment(line);
		line = trim(line);
		if (!*line)
			continue;
		eq = strchr(line, '=');
		if (!eq) {
			mt_msg("%s:%d: expected 'key = value'", path, lineno);
			return 0;
		}
		*eq = '\0';
		key = trim(line);
		val = trim(eq + 1);
		if (strcmp(key, "python") == 0) {
			if (!conf_path(path, lineno, key, val, conf_python))
				return 0;
		} else if (strcmp(key, "state_dir") == 0) {
			if (!conf_path(path, lineno, key, val, conf_state_dir))
				return 0;
		} else if (strcmp(key, "board") == 0) {
			if (!conf_path(path, lineno, key, val, conf_board))
				return 0;
		} else if (strcmp(key, "suite") == 0) {
			if (!conf_path(path, lineno, key, val, conf_suite))
				return 0;
		} else if (strcmp(key, "timeout") == 0) {
			if (!conf_duration(path, lineno, key, val, &conf_timeout))
				return 0;
		} else if (strcmp(key, "kill_grace") == 0) {
			if (!conf_duration(path, lineno, key, val, &conf_grace))
				return 0;
		} else if (strcmp(key, "collect_timeout") == 0) {
			if (!conf_duration(path, lineno, key, val, &conf_collect))
				return 0;
		} else if (strcmp(key, "run_timeout") == 0) {
			if (!conf_duration(path, lineno, key, val, &conf_run))
				return 0;
		} else if (strcmp(key, "deadlock_after") == 0) {
			if (!conf_duration(path, lineno, key, val, &conf_deadlock))
				return 0;
		} else if (strcmp(key, "likely_after") == 0) {
			if (!conf_duration(path, lineno, key, val, &conf_likely))
				return 0;
		} else if (strcmp(key, "leak_grace") == 0) {
			if (!conf_duration(path, lineno, key, val, &conf_leak))
				return 0;
		} else if (strcmp(key, "lock_ledger") == 0) {
			conf_ledger = strcmp(val, "yes") == 0 ? 1 : strcmp(val, "no") == 0 ? 0 : -2;
			if (conf_ledger < -1) {
				mt_msg("%s:%d: lock_ledger: want yes or no, got '%s'", path, lineno, val);
				return 0;
			}
		} else if (strcmp(key, "budget") == 0) {
			if (!conf_duration(path, lineno, key, val, &conf_budget))
				return 0;
		} else if (strcmp(key, "cgroup") == 0) {
			if (strcmp(val, "auto") != 0 && strcmp(val, "off") != 0 && val[0] != '/') {
				mt_msg("%s:%d: cgroup: want auto, off or an absolute path, got '%s'", path,
				       lineno, val);
				return 0;
			}
			snprintf(conf_cgroup, sizeof conf_cgroup, "%s", val);
		} else if (mem_key(key) >= 0) {
			if (!parse_limit(val, &conf_mem[mem_key(key)])) {
				mt_msg("%s:%d: %s: want a size such as 512M or 2G, or max, got '%s'", path,
				       lineno, key, val);
				return 0;
			}
		} else if (strcmp(key, "cpu_weight") == 0 || strcmp(key, "io_weight") == 0) {
			if (!parse_count(val, 1, 10000, key[0] == 'c' ? &conf_cpu_weight :
						       &conf_io_weight)) {
				mt_msg("%s:%d: %s: want a number from 1 to 10000, got '%s'", path, lineno,
				       key, val);
				return 0;
			}
		} else if (strcmp(key, "jobs") == 0) {
			if (!parse_jobs(val, &conf_jobs)) {
				mt_msg("%s:%d: jobs: want a number from 1 to %d or auto, got '%s'", path,
				       lineno, MT_LANES_MAX, val);
				return 0;
			}
		} else if (strcmp(key, "dist") == 0) {
			if (!parse_dist(val, &conf_dist)) {
				mt_msg("%s:%d: dist: want file or test, got '%s'", path, lineno, val);
				return 0;
			}
		} else if (strcmp(key, "keep") == 0) {
			if (!parse_count(val, 1, MT_RUNS_MAX, &conf_keep)) {
				mt_msg("%s:%d: keep: want a number from 1 to %d, got '%s'", path, lineno,
				       MT_RUNS_MAX, val);
				return 0;
			}
		} else if (strcmp(key, "workers") == 0) {
			conf_spawn = strcmp(val, "spawn") == 0 ? 1 : strcmp(val, "fork") == 0 ? 0 : -1;
			if (conf_spawn < 0) {
				mt_msg("%s:%d: workers: want fork or spawn, got '%s'", path, lineno, val);
				return 0;
			}
		} else if (strcmp(key, "timeout_scale") == 0) {
			if (!mt_parse_scale(val, &conf_scale)) {
				mt_msg("%s:%d: timeout_scale: want a number from 0.1 to 100, got '%s'",
				       path, lineno, val);
				return 0;
			}
		} else if (strncmp(key, "group.", 6) == 0) {
			if (!conf_group(path, lineno, key, val))
				return 0;
		} else if (strcmp(key, "kmsg_markers") == 0) {
			conf_markers = parse_onoff(val);
			if (conf_markers < 0) {
				mt_msg("%s:%d: kmsg_markers: want on or off, got '%s'", path, lineno, val);
				return 0;
			}
		} else if (strcmp(key, "restart_on_dirty") == 0) {
			conf_restart = strcmp(val, "file") == 0 ? MT_RESTART_FILE :
				       strcmp(val, "test") == 0 ? MT_RESTART_TEST :
				       strcmp(val, "never") == 0 ? MT_RESTART_NEVER : -1;
			if (conf_restart < 0) {
				mt_msg("%s:%d: restart_on_dirty: want file, test or never, got '%s'",
				       path, lineno, val);
				return 0;
			}
		} else {
			mt_msg("%s:%d: unknown key '%s'", path, lineno, key);
			return 0;
		}
	}
	return 1;
}

/* Bazel's sharding: TEST_TOTAL_SHARDS and TEST_SHARD_INDEX (from 0); it
 * also wants TEST_SHARD_STATUS_FILE touched to know the runner shards. */
static int bazel_shard(struct mt_opts *o)
{
	const char *tot = getenv("TEST_TOTAL_SHARDS"), *idx = getenv("TEST_SHARD_INDEX");
	const char *status = getenv("TEST_SHARD_STATUS_FILE");
	long n, k;

	if (!tot || !*tot)
		return 1;
	if (!parse_count(tot, 1, MT_SHARDS_MAX, &n) || !idx ||
	    !parse_count(idx, 0, n - 1, &k)) {
		mt_msg("TEST_TOTAL_SHARDS=%s, TEST_SHARD_INDEX=%s: want 0 <= index < total <= %d",
		       tot, idx ? idx : "(unset)", MT_SHARDS_MAX);
		return 0;
	}
	o->shard_n = (int)n;
	o->shard_k = (int)k + 1;
	if (status && *status) {
		int fd = open(status, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);

		if (fd >= 0)
			close(fd);
	}
	return 1;
}

static char junit_path[MT_PATH_MAX];

/* A relative path made absolute now: a resumed run starts elsewhere. */
static int absolute_path(const char *p, char *out, size_t cap)
{
	char cwd[MT_PATH_MAX];

	if (!*p)
		return 0;
	if (p[0] == '/')
		return snprintf(out, cap, "%s", p) < (int)cap;
	if (!getcwd(cwd, sizeof cwd))
		return 0;
	return snprintf(out, cap, "%s/%s", cwd, p) < (int)cap;
}

/* The first option given other than --state-dir, --config, --board. */
static char other_opt[32];

/* The commands that do not run tests, and what they take. */
static int commands(struct mt_opts *o)
{
	int n = o->report + o->history + o->quarantine + o->resume + o->led + o->self_check;

	if (n > 1) {
		mt_msg("led, --report, --history, --quarantine, --resume and --self-check are "
		       "separate commands: give one");
		return 0;
	}
	if (o->self_check && (o->npaths || o->npytest)) {
		mt_msg("--self-check runs its own scenarios: it takes no paths and no pytest "
		       "options, got '%s'", o->npaths ? o->paths[0] : o->pytest_args[0]);
		return 0;
	}
	if (!o->led && (o->led_show != MT_LED_COUNT || o->led_lamp || o->led_for_us >= 0 ||
			o->led_codes)) {
		mt_msg("--show, --lamp-test, --for and --codes are for mtest led");
		return 0;
	}
	if (o->led) {
		if (o->npaths || o->npytest) {
			mt_msg("mtest led takes no paths and no pytest options, got '%s'",
			       o->npaths ? o->paths[0] : o->pytest_args[0]);
			return 0;
		}
		if (o->led_show != MT_LED_COUNT && o->led_lamp) {
			mt_msg("mtest led: --show or --lamp-test, not both");
			return 0;
		}
		return 1;
	}
	if (o->resume && (other_opt[0] || o->npaths || o->npytest)) {
		mt_msg("--resume continues a run with the options, paths and pytest options it "
		       "was started with: give it only --state-dir, --config or --board, got '%s'",
		       other_opt[0] ? other_opt : o->npaths ? o->paths[0] : o->pytest_args[0]);
		return 0;
	}
	if (o->report_run && !o->report) {
		mt_msg("--run chooses the run --report shows: give --report too");
		return 0;
	}
	if (o->quarantine) {
		const char *a = o->npaths ? o->paths[0] : "list";

		o->quar_action = strcmp(a, "list") == 0 ? 'l' : strcmp(a, "in") == 0 ? 'i' :
				 strcmp(a, "out") == 0 ? 'o' : strcmp(a, "auto") == 0 ? 'a' : 0;
		if (!o->quar_action || (o->quar_action == 'l') != (o->npaths <= 1)) {
			mt_msg("--quarantine: want nothing (or list), or in, out or auto followed "
			       "by test ids, got '%s%s'", a, o->npaths == 1 && o->quar_action ?
			       " (no test id)" : "");
			return 0;
		}
		return 1;
	}
	if ((o->report || o->history) && o->npaths) {
		mt_msg("%s takes no paths, got '%s'", o->report ? "--report" : "--history",
		       o->paths[0]);
		return 0;
	}
	if (o->history && (o->junit || o->lava)) {
		mt_msg("--history writes no JUnit XML and no LAVA signals (try --report)");
		return 0;
	}
	return 1;
}

/* --board NAME|PATH, MTEST_BOARD, the config's board: where the LEDs are,
 * and the box's defaults, which come after every other source. */
static struct mt_board board;
static char board_path[MT_PATH_MAX];
static char *suite_path[2];

static int load_board(struct mt_opts *o)
{
	char err[1024];
	const char *env = getenv("MTEST_BOARD");

	if (!o->board_name && env && *env)
		o->board_name = env;
	if (!o->board_name && conf_board[0])
		o->board_name = conf_board;
	if (!o->board_name)
		return 1;
	if (!mt_board_find(o->board_name, board_path, sizeof board_path, err, sizeof err) ||
	    !mt_board_load(&board, board_path, err, sizeof err)) {
		mt_msg("%s", err);
		return 0;
	}
	o->board = &board;
	if (!o->state_dir && board.state_dir[0])
		o->state_dir = board.state_dir;
	if (!o->python && !getenv("MTEST_PYTHON") && !conf_python[0] && board.python[0])
		o->python = board.python;
	return 1;
}

static int board_defaults(struct mt_opts *o)
{
	const char *suite = conf_suite[0] ? conf_suite : o->board ? board.suite : "";
	int64_t v, *lim[4] = { &o->memory_max, &o->memory_high, &o->lane_memory_max,
			       &o->lane_memory_high };
	int k;

	/* The box's suite, when a plain run names none: the config file's,
	 * then the board's. */
	if (!o->npaths && suite[0] && !o->report && !o->history && !o->quarantine &&
	    !o->resume && !o->led && !o->self_check) {
		suite_path[0] = (char *)suite;
		o->paths = suite_path;
		o->npaths = 1;
	}
	if (!o->board)
		return 1;
	if (o->timeout_us < 0 && board.timeout[0]) {
		if (!mt_parse_duration(board.timeout, &v)) {
			mt_msg("%s: defaults.timeout: not a duration: '%s'", board.path, board.timeout);
			return 0;
		}
		o->timeout_us = v;
	}
	if (!o->timeout_scale_how && board.timeout_scale[0]) {
		if (!mt_parse_scale(board.timeout_scale, &o->timeout_scale)) {
			mt_msg("%s: timeout_scale: want a number from 0.1 to 100, got %s", board.path,
			       board.timeout_scale);
			return 0;
		}
		o->timeout_scale_how = "the board file";
	}
	for (k = 0; k < 4; k++) {
		if (*lim[k] || !board.limit[k][0])
			continue;
		if (!parse_limit(board.limit[k], &v)) {
			mt_msg("%s: limits.%s: want a size such as 512M or 2G, or max, got '%s'",
			       board.path, mem_keys[k], board.limit[k]);
			return 0;
		}
		*lim[k] = v;
	}
	if (!o->cpu_weight)
		o->cpu_weight = board.cpu_weight;
	if (!o->io_weight)
		o->io_weight = board.io_weight;
	if (o->budget_us < 0 && board.budget[0]) {
		if (!mt_parse_duration(board.budget, &v) || v <= 0) {
			mt_msg("%s: defaults.budget: not a duration above 0: '%s'", board.path,
			       board.budget);
			return 0;
		}
		o->budget_us = v;
	}
	return 1;
}

static char venv_python[MT_PATH_MAX];

static void resolve_python(struct mt_opts *o)
{
	const char *env;

	if (o->python) {
		o->python_how = "--python";
		return;
	}
	if ((env = getenv("MTEST_PYTHON")) && *env) {
		o->python = env;
		o->python_how = "MTEST_PYTHON";
	} else if (conf_python[0]) {
		o->python = conf_python;
		o->python_how = "the config file";
	} else if ((env = getenv("VIRTUAL_ENV")) && *env &&
		   snprintf(venv_python, sizeof venv_python, "%s/bin/python", env) <
			   (int)sizeof venv_python) {
		o->python = venv_python;
		o->python_how = "VIRTUAL_ENV";
	} else {
		o->python = MT_DEFAULT_PYTHON;
		o->python_how = "the default";
	}
}

enum { OPT_PYTHON = 256, OPT_STATE, OPT_CONFIG, OPT_TIMEOUT, OPT_GRACE,
       OPT_COLLECT, OPT_RUN, OPT_MAXTESTS, OPT_PROGRESS, OPT_REPORT, OPT_VERSION,
       OPT_DEADLOCK, OPT_LIKELY, OPT_CAPTURE, OPT_LEAK, OPT_RESTART, OPT_ISOLATE,
       OPT_RECHECK, OPT_KEEP, OPT_DIST, OPT_TIER, OPT_SHARD, OPT_BUDGET, OPT_FAILFAST,
       OPT_RESUME, OPT_HISTORY, OPT_SELFCHECK, OPT_QUARANTINE, OPT_RUNSEL, OPT_JUNIT, OPT_LAVA, OPT_BOARD,
       OPT_SHOW, OPT_LAMP, OPT_FOR, OPT_CODES, OPT_SPAWN, OPT_MARKERS, OPT_SCALE,
       OPT_NOLEDGER };

static const struct option longopts[] = {
	{ "python", required_argument, NULL, OPT_PYTHON },
	{ "state-dir", required_argument, NULL, OPT_STATE },
	{ "config", required_argument, NULL, OPT_CONFIG },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "kill-grace", required_argument, NULL, OPT_GRACE },
	{ "collect-timeout", required_argument, NULL, OPT_COLLECT },
	{ "run-timeout", required_argument, NULL, OPT_RUN },
	{ "max-tests", required_argument, NULL, OPT_MAXTESTS },
	{ "progress", required_argument, NULL, OPT_PROGRESS },
	{ "deadlock-after", required_argument, NULL, OPT_DEADLOCK },
	{ "likely-after", required_argument, NULL, OPT_LIKELY },
	{ "capture-after", required_argument, NULL, OPT_CAPTURE },
	{ "no-lock-ledger", no_argument, NULL, OPT_NOLEDGER },
	{ "leak-grace", required_argument, NULL, OPT_LEAK },
	{ "restart-on-dirty", required_argument, NULL, OPT_RESTART },
	{ "isolate", required_argument, NULL, OPT_ISOLATE },
	{ "recheck", no_argument, NULL, OPT_RECHECK },
	{ "spawn", no_argument, NULL, OPT_SPAWN },
	{ "kmsg-markers", required_argument, NULL, OPT_MARKERS },
	{ "timeout-scale", required_argument, NULL, OPT_SCALE },
	{ "keep", required_argument, NULL, OPT_KEEP },
	{ "jobs", required_argument, NULL, 'j' },
	{ "dist", required_argument, NULL, OPT_DIST },
	{ "tier", required_argument, NULL, OPT_TIER },
	{ "shard", required_argument, NULL, OPT_SHARD },
	{ "budget", required_argument, NULL, OPT_BUDGET },
	{ "fail-fast", no_argument, NULL, OPT_FAILFAST },
	{ "resume", no_argument, NULL, OPT_RESUME },
	{ "report", no_argument, NULL, OPT_REPORT },
	{ "run", required_argument, NULL, OPT_RUNSEL },
	{ "history", no_argument, NULL, OPT_HISTORY },
	{ "self-check", no_argument, NULL, OPT_SELFCHECK },
	{ "quarantine", no_argument, NULL, OPT_QUARANTINE },
	{ "junit-xml", required_argument, NULL, OPT_JUNIT },
	{ "lava", no_argument, NULL, OPT_LAVA },
	{ "board", required_argument, NULL, OPT_BOARD },
	{ "show", required_argument, NULL, OPT_SHOW },
	{ "lamp-test", no_argument, NULL, OPT_LAMP },
	{ "for", required_argument, NULL, OPT_FOR },
	{ "codes", no_argument, NULL, OPT_CODES },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 },
};

static int absolute_path(const char *p, char *out, size_t cap);
static int commands(struct mt_opts *o);
static int load_board(struct mt_opts *o);
static int board_defaults(struct mt_opts *o);

/* mtest's path variables: set but empty is an unset shell variable, not
 * "the current directory" nor "not set". */
static int env_paths_set(void)
{
	static const char *const vars[] = { "MTEST_STATE_DIR", "MTEST_CONFIG", "MTEST_BOARD",
					    "MTEST_PYTHON", "MTEST_BOARD_DIR", "MTEST_RUNTIME_DIR",
					    "MTEST_SELFCHECK_DIR" };
	const char *v;
	unsigned k;

	for (k = 0; k < sizeof vars / sizeof vars[0]; k++)
		if ((v = getenv(vars[k])) && !*v) {
			mt_msg("%s is set but empty (an unset shell variable?): give a path or "
			       "unset it", vars[k]);
			return 0;
		}
	return 1;
}

static int duration_opt(const char *name, const char *val, int64_t *out)
{
	if (mt_parse_duration(val, out))
		return 1;
	mt_msg("--%s: %s: '%s' (try 2, 1.5, 500ms, 5m)", name, duration_why(val), val);
	return 0;
}

int mt_cli_parse(struct mt_opts *o, int argc, char **argv)
{
	static char *own[MT_ARGV_MAX];
	const char *refused, *env, *config = NULL;
	int own_argc, i, c, dashdash = argc, explicit_config = 0, r;
	int64_t grace = -1, collect = -1, run = -1, v, deadlock = -1, likely = -1,
		capture = -1, leak = -1;
	int restart_given = 0, markers = -1, no_ledger = 0;
	long keep = -1, jobs = -1, dist = -1;
	int64_t budget = -1;
	int tier_given = 0, li;
	char *end;
	unsigned long n;

	memset(o, 0, sizeof *o);
	o->timeout_us = -1;
	o->timeout_scale = 1.0;
	o->led_show = MT_LED_COUNT;
	o->led_for_us = -1;
	conf_python[0] = conf_state_dir[0] = conf_board[0] = conf_suite[0] = '\0';
	conf_timeout = conf_grace = conf_collect = conf_run = -1;
	conf_deadlock = conf_likely = conf_leak = -1;
	conf_restart = conf_spawn = conf_markers = conf_ledger = -1;
	conf_ngroups = 0;
	conf_scale = -1;
	conf_keep = conf_jobs = conf_dist = -1;
	conf_budget = -1;
	conf_cgroup[0] = '\0';
	memset(conf_mem, 0, sizeof conf_mem);
	conf_cpu_weight = conf_io_weight = 0;
	o->argv = argv;
	o->argc = argc;
	for (i = 1; i < argc; i++)
		if (strcmp(argv[i], "--") == 0) {
			dashdash = i;
			break;
		}
	if (dashdash >= MT_ARGV_MAX) {
		mt_msg("too many arguments (MT_ARGV_MAX=%d)", MT_ARGV_MAX);
		return 0;
	}
	/* "mtest led ...": the LED daemon's command (a path named led: ./led). */
	o->led = argc > 1 && strcmp(argv[1], "led") == 0;
	for (own_argc = 0, i = 0; i < dashdash; i++)
		if (i != 1 || !o->led)
			own[own_argc++] = argv[i];
	own[own_argc] = NULL;
	opterr = 0;
	optind = 0;	/* 0, not 1: glibc then forgets a previous parse entirely */
	other_opt[0] = '\0';
	while ((li = -1, c = getopt_long(own_argc, own, ":hj:", longopts, &li)) != -1) {
		/* The first option that is not one of those that find the
		 * state directory: --resume refuses it (commands()). */
		if (!other_opt[0] && c != OPT_STATE && c != OPT_CONFIG && c != OPT_BOARD &&
		    c != OPT_RESUME && c != ':' && c != '?')
			snprintf(other_opt, sizeof other_opt, "%s%s", li >= 0 ? "--" : "-",
				 li >= 0 ? longopts[li].name : c == 'j' ? "j" : "h");
		if (optarg && !*optarg && li >= 0 && (c == OPT_PYTHON || c == OPT_STATE ||
						      c == OPT_CONFIG || c == OPT_JUNIT ||
						      c == OPT_BOARD)) {
			mt_msg("--%s: an empty path (an unset shell variable?)", longopts[li].name);
			return 0;
		}
		switch (c) {
		case OPT_PYTHON: o->python = optarg; break;
		case OPT_STATE: o->state_dir = optarg; break;
		case OPT_CONFIG: config = optarg; explicit_config = 1; break;
		case OPT_TIMEOUT:
			if (!duration_opt("timeout", optarg, &o->timeout_us))
				return 0;
			break;
		case OPT_GRACE:
			if (!duration_opt("kill-grace", optarg, &grace))
				return 0;
			break;
		case OPT_COLLECT:
			if (!duration_opt("collect-timeout", optarg, &collect))
				return 0;
			break;
		case OPT_RUN:
			if (!duration_opt("run-timeout", optarg, &run))
				return 0;
			break;
		case OPT_DEADLOCK:
			if (!duration_opt("deadlock-after", optarg, &deadlock))
				return 0;
			break;
		case OPT_LIKELY:
			if (!duration_opt("likely-after", optarg, &likely))
				return 0;
			break;
		case OPT_CAPTURE:
			if (!duration_opt("capture-after", optarg, &capture))
				return 0;
			break;
		case OPT_LEAK:
			if (!duration_opt("leak-grace", optarg, &leak))
				return 0;
			break;
		case OPT_NOLEDGER:
			no_ledger = 1;
			break;
		case OPT_RESTART:
			restart_given = 1;
			if (strcmp(optarg, "file") == 0)
				o->restart_on_dirty = MT_RESTART_FILE;
			else if (strcmp(optarg, "test") == 0)
				o->restart_on_dirty = MT_RESTART_TEST;
			else if (strcmp(optarg, "never") == 0)
				o->restart_on_dirty = MT_RESTART_NEVER;
			else {
				mt_msg("--restart-on-dirty: want file, test or never, got '%s'", optarg);
				return 0;
			}
			break;
		case OPT_ISOLATE:
			if (strcmp(optarg, "file") == 0)
				o->isolate = MT_ISOLATE_FILE;
			else if (strcmp(optarg, "test") == 0)
				o->isolate = MT_ISOLATE_TEST;
			else {
				mt_msg("--isolate: want file or test, got '%s'", optarg);
				return 0;
			}
			break;
		case OPT_RECHECK:
			o->recheck = 1;
			break;
		case OPT_SPAWN:
			o->spawn = 1;
			break;
		case OPT_SCALE:
			if (!mt_parse_scale(optarg, &o->timeout_scale)) {
				mt_msg("--timeout-scale: want a number from 0.1 to 100, got '%s'", optarg);
				return 0;
			}
			o->timeout_scale_how = "--timeout-scale";
			break;
		case OPT_MARKERS:
			if ((markers = parse_onoff(optarg)) < 0) {
				mt_msg("--kmsg-markers: want on or off, got '%s'", optarg);
				return 0;
			}
			break;
		case 'j':
			if (!parse_jobs(optarg, &jobs)) {
				mt_msg("-j: want a number from 1 to %d (MT_LANES_MAX) or auto, got '%s'",
				       MT_LANES_MAX, optarg);
				return 0;
			}
			break;
		case OPT_TIER:
			if (!parse_tier(optarg, &o->tier_lo, &o->tier_hi)) {
				mt_msg("--tier: want a tier from 0 to 3 or a range such as 0-2, got '%s'",
				       optarg);
				return 0;
			}
			tier_given = 1;
			break;
		case OPT_SHARD:
			if (!parse_shard(optarg, &o->shard_k, &o->shard_n)) {
				mt_msg("--shard: want K/N with 1 <= K <= N <= %d, got '%s'", MT_SHARDS_MAX,
				       optarg);
				return 0;
			}
			break;
		case OPT_BUDGET:
			if (!mt_parse_duration(optarg, &budget) || budget <= 0) {
				mt_msg("--budget: want a time above 0 (try 90, 1.5, 500ms, 5m), got '%s'",
				       optarg);
				return 0;
			}
			break;
		case OPT_FAILFAST:
			o->fail_fast = 1;
			break;
		case OPT_RESUME:
			o->resume = 1;
			break;
		case OPT_DIST:
			if (!parse_dist(optarg, &dist)) {
				mt_msg("--dist: want file or test, got '%s'", optarg);
				return 0;
			}
			break;
		case OPT_KEEP:
			if (!parse_count(optarg, 1, MT_RUNS_MAX, &keep)) {
				mt_msg("--keep: want a number from 1 to %d, got '%s'", MT_RUNS_MAX, optarg);
				return 0;
			}
			break;
		case OPT_MAXTESTS:
			errno = 0;
			n = strtoul(optarg, &end, 10);
			if (*end || errno || n == 0 || n > MT_TESTS_MAX) {
				mt_msg("--max-tests: want a number from 1 to %d (MT_TESTS_MAX), got '%s'",
				       MT_TESTS_MAX, optarg);
				return 0;
			}
			o->max_tests = (uint32_t)n;
			break;
		case OPT_PROGRESS:
			if (strcmp(optarg, "auto") == 0)
				o->progress = MT_PROGRESS_AUTO;
			else if (strcmp(optarg, "tty") == 0)
				o->progress = MT_PROGRESS_TTY;
			else if (strcmp(optarg, "plain") == 0)
				o->progress = MT_PROGRESS_PLAIN;
			else if (strcmp(optarg, "quiet") == 0)
				o->progress = MT_PROGRESS_QUIET;
			else {
				mt_msg("--progress: want auto, tty, plain or quiet, got '%s'", optarg);
				return 0;
			}
			break;
		case OPT_REPORT: o->report = 1; break;
		case OPT_RUNSEL: o->report_run = optarg; break;
		case OPT_HISTORY: o->history = 1; break;
		case OPT_SELFCHECK: o->self_check = 1; break;
		case OPT_QUARANTINE: o->quarantine = 1; break;
		case OPT_JUNIT:
			if (!absolute_path(optarg, junit_path, sizeof junit_path)) {
				mt_msg("--junit-xml: not a usable path: '%s'", optarg);
				return 0;
			}
			o->junit = junit_path;
			break;
		case OPT_LAVA: o->lava = 1; break;
		case OPT_BOARD: o->board_name = optarg; break;
		case OPT_SHOW:
			o->led_show = mt_led_code_named(optarg);
			if (o->led_show == MT_LED_COUNT) {
				mt_msg("--show: not an LED code: '%.64s' (mtest led --help lists them)",
				       optarg);
				return 0;
			}
			break;
		case OPT_LAMP: o->led_lamp = 1; break;
		case OPT_CODES: o->led_codes = 1; break;
		case OPT_FOR:
			if (!duration_opt("for", optarg, &o->led_for_us))
				return 0;
			break;
		case 'h': o->help = 1; return 1;
		case OPT_VERSION: o->version = 1; return 1;
		case ':':
			mt_msg("option %s needs a value (see mtest --help)", own[optind - 1]);
			return 0;
		default:
			if (optopt && optopt < 256)
				mt_msg("unknown option -%c (see mtest --help; pytest options go after --)",
				       optopt);
			else
				mt_msg("unknown option %s (see mtest --help; pytest options go after --)",
				       own[optind - 1]);
			return 0;
		}
	}
	o->paths = own + optind;
	o->npaths = own_argc - optind;
	o->pytest_args = argv + dashdash + (dashdash < argc);
	o->npytest = argc - dashdash - (dashdash < argc);
	refused = mt_cli_refused(o->pytest_args, o->npytest);
	if (refused) {
		mt_msg("pytest option %s fights mtest and is refused (see mtest --help)", refused);
		return 0;
	}
	for (i = 0; i < o->npaths; i++)
		if (!o->paths[i][0]) {
			mt_msg("an empty path argument");
			return 0;
		}
	if (!commands(o) || !env_paths_set())
		return 0;

	if (!config && (env = getenv("MTEST_CONFIG")) && *env) {
		config = env;
		explicit_config = 1;
	}
	if (!config)
		config = MT_DEFAULT_CONFIG;
	r = conf_load(config, explicit_config);
	if (r == 0)
		return 0;
	o->config = r == 1 ? config : NULL;

	if (!o->state_dir && (env = getenv("MTEST_STATE_DIR")) && *env)
		o->state_dir = env;
	if (!o->state_dir && conf_state_dir[0])
		o->state_dir = conf_state_dir;
	if (!load_board(o))
		return 0;
	if (o->timeout_us < 0 && conf_timeout >= 0)
		o->timeout_us = conf_timeout;
	v = grace >= 0 ? grace : conf_grace;
	o->kill_grace_us = v >= 0 ? v : MT_DEFAULT_KILL_GRACE_US;
	v = collect >= 0 ? collect : conf_collect;
	o->collect_timeout_us = v >= 0 ? v : MT_DEFAULT_COLLECT_TIMEOUT_US;
	v = run >= 0 ? run : conf_run;
	o->run_timeout_us = v > 0 ? v : -1;
	if (!o->max_tests)
		o->max_tests = MT_TESTS_MAX;
	v = deadlock >= 0 ? deadlock : conf_deadlock;
	o->deadlock_after_us = v >= 0 ? v : MT_DEFAULT_DEADLOCK_AFTER_US;
	v = likely >= 0 ? likely : conf_likely;
	o->likely_after_us = v >= 0 ? v : 3 * o->deadlock_after_us;
	/* --spawn, else MTEST_WORKERS, else the config file's workers. */
	if (!o->spawn && (env = getenv("MTEST_WORKERS")) && *env) {
		if (strcmp(env, "spawn") != 0 && strcmp(env, "fork") != 0) {
			mt_msg("MTEST_WORKERS: want fork or spawn, got '%s'", env);
			return 0;
		}
		o->spawn = strcmp(env, "spawn") == 0;
	} else if (!o->spawn && conf_spawn > 0) {
		o->spawn = 1;
	}
	o->kmsg_markers = markers >= 0 ? markers : conf_markers >= 0 ? conf_markers : 1;
	if (!o->timeout_scale_how && conf_scale > 0) {
		o->timeout_scale = conf_scale;
		o->timeout_scale_how = "the config file";
	}
	o->groups = conf_groups;
	o->ngroups = conf_ngroups;
	if (!restart_given && conf_restart >= 0)
		o->restart_on_dirty = (enum mt_restart)conf_restart;
	o->capture_after_us = capture > 0 ? capture : -1;
	o->lock_ledger = !no_ledger && conf_ledger != 0;
	v = leak >= 0 ? leak : conf_leak;
	o->leak_grace_us = v >= 0 ? v : MT_DEFAULT_LEAK_GRACE_US;
	o->keep = (unsigned)(keep > 0 ? keep : conf_keep > 0 ? conf_keep : MT_DEFAULT_KEEP);
	o->lanes = (int)(jobs > 0 ? jobs : conf_jobs > 0 ? conf_jobs : 1);
	o->dist = (enum mt_dist)(dist >= 0 ? dist : conf_dist >= 0 ? conf_dist : MT_DIST_FILE);
	if (!tier_given) {
		o->tier_lo = 0;
		o->tier_hi = 3;
	}
	o->budget_us = budget > 0 ? budget : conf_budget > 0 ? conf_budget : -1;
	o->memory_max = conf_mem[0];
	o->memory_high = conf_mem[1];
	o->lane_memory_max = conf_mem[2];
	o->lane_memory_high = conf_mem[3];
	o->cpu_weight = (int)conf_cpu_weight;
	o->io_weight = (int)conf_io_weight;
	if (!board_defaults(o))
		return 0;
	/* Unset anywhere: no limit. */
	if (!o->memory_max)
		o->memory_max = -1;
	if (!o->memory_high)
		o->memory_high = -1;
	if (!o->lane_memory_max)
		o->lane_memory_max = -1;
	if (!o->lane_memory_high)
		o->lane_memory_high = -1;
	if ((env = getenv("MTEST_CGROUP")) && *env) {
		if (strcmp(env, "auto") != 0 && strcmp(env, "off") != 0 && env[0] != '/') {
			mt_msg("MTEST_CGROUP: want auto, off or an absolute path, got '%s'", env);
			return 0;
		}
		o->cgroup = env;
	} else if (conf_cgroup[0]) {
		o->cgroup = conf_cgroup;
	}
	if (!o->shard_n && !bazel_shard(o))
		return 0;
	resolve_python(o);
	return 1;
}
