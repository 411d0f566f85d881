/* Unit tests: include/mtest/cli.h (durations, refused pytest options, the
 * command line, the environment and the config file). */
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mtest/cli.h"
#include "suites.h"

/* ---- durations ------------------------------------------------------------ */

static int64_t dur(const char *s)
{
	int64_t us = -42;

	ck_assert_msg(mt_parse_duration(s, &us), "'%s' refused", s);
	return us;
}

START_TEST(test_duration_valid)
{
	ck_assert_int_eq(dur("2"), 2000000);
	ck_assert_int_eq(dur("1.5"), 1500000);
	ck_assert_int_eq(dur("500ms"), 500000);
	ck_assert_int_eq(dur("2s"), 2000000);
	ck_assert_int_eq(dur("5m"), 300000000LL);
	ck_assert_int_eq(dur("1h"), 3600000000LL);
	ck_assert_int_eq(dur("0"), 0);
	ck_assert_int_eq(dur("0.5ms"), 500);
	ck_assert_int_eq(dur("90"), 90000000LL);
	ck_assert_int_eq(dur("0.000001"), 1);
}
END_TEST

/* A positive duration below half a microsecond would round to 0, "no
 * limit": refused, so that --timeout 0.0000001 never lets a hang run
 * forever (issue 16). */
START_TEST(test_duration_tiny_refused)
{
	int64_t us = -42;

	ck_assert(!mt_parse_duration("0.0000001", &us));
	ck_assert(!mt_parse_duration("0.0000004", &us));
	ck_assert(!mt_parse_duration("0.0001ms", &us));
	ck_assert_int_eq(us, -42);
	ck_assert_int_eq(dur("0.0000005"), 1);
	ck_assert_int_eq(dur("0.0"), 0);
	ck_assert_int_eq(dur("0ms"), 0);
}
END_TEST

START_TEST(test_duration_rejects)
{
	static const char *const bad[] = { "", "abc", "-1", "5x", "-0.5s", "5 m", "5mm",
					   "1sec", "ms", "inf", "1e10" };
	unsigned i;
	int64_t us;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		us = -42;
		ck_assert_msg(!mt_parse_duration(bad[i], &us), "'%s' accepted", bad[i]);
		ck_assert_int_eq(us, -42);
	}
}
END_TEST

/* cli.h: seconds to microseconds. "nan" is no number of seconds (and
 * converting NaN to int64_t is undefined behaviour). */
START_TEST(test_duration_rejects_nan)
{
	int64_t us = -42;

	ck_assert(!mt_parse_duration("nan", &us));
	ck_assert(!mt_parse_duration("NaN", &us));
	ck_assert(!mt_parse_duration("nans", &us));
}
END_TEST

/* ---- refused pytest options ----------------------------------------------- */

static const char *refused(const char *const *v)
{
	static char *args[16];
	int n = 0;

	while (v[n]) {
		args[n] = (char *)v[n];
		n++;
	}
	args[n] = NULL;
	return mt_cli_refused(args, n);
}

#define REFUSED(...) refused((const char *const[]){ __VA_ARGS__, NULL })

START_TEST(test_refused_each)
{
	static const struct { const char *args[4]; const char *name; } cases[] = {
		{ { "-x" }, "-x" },
		{ { "-xvs" }, "-x" },
		{ { "-vxs" }, "-x" },
		{ { "-s" }, "-s" },
		{ { "-n", "4" }, "-n" },
		{ { "-nauto" }, "-n" },
		{ { "-f" }, "-f" },
		{ { "--maxfail=3" }, "--maxfail" },
		{ { "--maxfail", "3" }, "--maxfail" },
		{ { "--exitfirst" }, "--exitfirst" },
		{ { "--pdb" }, "--pdb" },
		{ { "--pdbcls=IPython.terminal.debugger:Pdb" }, "--pdbcls" },
		{ { "--trace" }, "--trace" },
		{ { "--capture=no" }, "--capture" },
		{ { "--co" }, "--co" },
		{ { "--collect-only" }, "--collect-only" },
		{ { "--setup-only" }, "--setup-only" },
		{ { "--setup-plan" }, "--setup-plan" },
		{ { "--sw" }, "--sw" },
		{ { "--stepwise" }, "--stepwise" },
		{ { "--looponfail" }, "--looponfail" },
		{ { "--forked" }, "--forked" },
		{ { "--numprocesses=auto" }, "--numprocesses" },
		{ { "--dist", "load" }, "--dist" },
		{ { "-v", "-s" }, "-s" },
		{ { "-W", "error", "-s" }, "-s" },
		{ { "-k", "x_test", "-x" }, "-x" },
		{ { "-p", "no:cacheprovider", "--pdb" }, "--pdb" },
		/* the options audit (docs/options.md): every alias, no prefix */
		{ { "--setuponly" }, "--setuponly" },
		{ { "--setupplan" }, "--setupplan" },
		{ { "--collectonly" }, "--collectonly" },
		{ { "--fixtures" }, "--fixtures" },
		{ { "--funcargs" }, "--funcargs" },
		{ { "--fixtures-per-test" }, "--fixtures-per-test" },
		{ { "--markers" }, "--markers" },
		{ { "--cache-show=x" }, "--cache-show" },
		{ { "--lf" }, "--lf" }, { { "--last-failed" }, "--last-failed" },
		{ { "--ff" }, "--ff" }, { { "--nf" }, "--nf" }, { { "--lfnf=none" }, "--lfnf" },
		{ { "--sw-skip" }, "--sw-skip" }, { { "--sw-reset" }, "--sw-reset" },
		{ { "--runxfail" }, "--runxfail" },
		{ { "-h" }, "-h" }, { { "--help" }, "--help" },
		{ { "-V" }, "-V" }, { { "--version" }, "--version" },
		{ { "-d" }, "-d" }, { { "--tx", "popen" }, "--tx" },
		{ { "--reruns=2" }, "--reruns" }, { { "--force-reruns", "1" }, "--force-reruns" },
		{ { "--count=3" }, "--count" }, { { "--benchmark-only" }, "--benchmark-only" },
		{ { "-p", "no:capture" }, "no:capture" }, { { "-pno:mtest_plugin" }, "no:mtest_plugin" },
		{ { "-vp", "no:capture" }, "no:capture" },
		{ { "@args.txt" }, "@file" },
		{ { "-v", "--", "x" }, "--" },
	};
	unsigned i;
	const char *r;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		r = refused(cases[i].args);
		ck_assert_msg(r != NULL, "case %u (%s) not refused", i, cases[i].args[0]);
		ck_assert_msg(strcmp(r, cases[i].name) == 0, "case %u: %s, want %s", i, r,
			      cases[i].name);
	}
}
END_TEST

START_TEST(test_not_refused)
{
	static const struct { const char *args[4]; } cases[] = {
		{ { "-v" } }, { { "-q" } }, { { "-vv" } }, { { "-k", "not slow" } },
		{ { "-k", "x_test" } }, { { "-kx_test" } }, { { "-k", "-x" } },
		{ { "-m", "smoke" } }, { { "-m", "not xfast" } },
		{ { "-p", "no:cacheprovider" } }, { { "-p", "xdist" } },
		{ { "-o", "key=val" } }, { { "-o", "xfail_strict=true" } },
		{ { "--tb=short" } }, { { "--tb", "short" } }, { { "-rA" } }, { { "-rxs" } },
		{ { "--timeout=5" } }, { { "--color=yes" } }, { { "--collect-in-virtualenv" } },
		{ { "--strict-markers" } }, { { "-W", "ignore::DeprecationWarning" } },
		{ { "-c", "x.ini" } }, { { "-" } }, { { "tests/x_test.py" } },
		{ { "--pdbx" } }, { { "--capturex" } }, { { "--swallow" } },
		{ { "--setup-show" } }, { { "--co-x" } }, { { "-p", "no:randomly" } },
		{ { "./@args.txt" } }, { { "-k", "@x" } }, { { "--lfx" } },
	};
	unsigned i;
	const char *r;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		r = refused(cases[i].args);
		ck_assert_msg(r == NULL, "case %u (%s %s) refused as %s", i, cases[i].args[0],
			      cases[i].args[1] ? cases[i].args[1] : "", r);
	}
	ck_assert_ptr_null(REFUSED("-v", "-q", "-k", "not slow", "-k", "x_test", "-m", "smoke",
				   "-p", "no:cacheprovider", "-o", "key=val", "--tb=short",
				   "-rA", "--timeout=5"));
	ck_assert_ptr_null(mt_cli_refused(NULL, 0));
}
END_TEST

/* ---- mt_cli_parse ----------------------------------------------------------- */

static struct mt_opts O;
static char tmpdir[64];
static char conf_path[128];
static char err_path[128];
static char errtext[4096];
static int saved_stderr = -1;

/* The temporary directory of the test case: an unchecked fixture, made
 * and removed by the runner itself, so that a failed test (whose process
 * ends at once) leaves nothing behind. */
static void cli_dir_setup(void)
{
	strcpy(tmpdir, "/tmp/mtest-unit-cli-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	snprintf(err_path, sizeof err_path, "%s/stderr", tmpdir);
}

static void cli_dir_teardown(void)
{
	char path[160];
	int i;

	for (i = 0; i < 4; i++) {
		snprintf(path, sizeof path, "%s/mtest%d.conf", tmpdir, i);
		unlink(path);
	}
	unlink(err_path);
	rmdir(tmpdir);
}

static void cli_setup(void)
{
	unsetenv("MTEST_PYTHON");
	unsetenv("MTEST_STATE_DIR");
	unsetenv("MTEST_CONFIG");
	unsetenv("VIRTUAL_ENV");
	unsetenv("MTEST_CGROUP");
	unsetenv("MTEST_BOARD");
	conf_path[0] = '\0';
}

static void cli_teardown(void)
{
	if (saved_stderr >= 0) {	/* CK_FORK=no: a test failed while capturing */
		dup2(saved_stderr, 2);
		close(saved_stderr);
		saved_stderr = -1;
	}
}

/* Write a config file; returns its path. */
static const char *conf(const char *text)
{
	static int k;
	FILE *f;

	snprintf(conf_path, sizeof conf_path, "%s/mtest%d.conf", tmpdir, k++ % 4);
	f = fopen(conf_path, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fputs(text, f) >= 0, 1);
	ck_assert_int_eq(fclose(f), 0);
	return conf_path;
}

/* Point MTEST_CONFIG at a config file with `text`: the machine's own
 * /etc/mtest/mtest.conf stays out of the tests. */
static const char *use_conf(const char *text)
{
	const char *p = conf(text);

	ck_assert_int_eq(setenv("MTEST_CONFIG", p, 1), 0);
	return p;
}

static void capture_stderr(void)
{
	int fd = open(err_path, O_RDWR | O_CREAT | O_TRUNC, 0600);

	ck_assert_int_ge(fd, 0);
	saved_stderr = dup(2);
	ck_assert_int_ge(saved_stderr, 0);
	ck_assert_int_eq(dup2(fd, 2), 2);
	close(fd);
}

static const char *captured(void)
{
	int fd;
	ssize_t n;

	if (saved_stderr >= 0) {
		dup2(saved_stderr, 2);
		close(saved_stderr);
		saved_stderr = -1;
	}
	fd = open(err_path, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	n = read(fd, errtext, sizeof errtext - 1);
	close(fd);
	errtext[n > 0 ? n : 0] = '\0';
	return errtext;
}

static int parse_v(const char *const *v)
{
	static char *args[64];
	int n = 0;

	while (v[n]) {
		args[n] = (char *)v[n];
		n++;
	}
	args[n] = NULL;
	return mt_cli_parse(&O, n, args);
}

#define PARSE(...) parse_v((const char *const[]){ "mtest", __VA_ARGS__, NULL })
#define PARSE0() parse_v((const char *const[]){ "mtest", NULL })

/* A usage error, with its one line on stderr containing `what`. */
static void check_usage_error(const char *const *v, const char *what)
{
	const char *text;

	int r;

	capture_stderr();
	r = parse_v(v);
	text = captured();
	ck_assert_int_eq(r, 0);
	ck_assert_msg(strstr(text, what) != NULL, "stderr '%s' lacks '%s'", text, what);
	ck_assert_msg(strncmp(text, "mtest: ", 7) == 0, "stderr: %s", text);
	ck_assert_msg(strchr(text, '\n') == text + strlen(text) - 1, "not one line: %s", text);
}

#define USAGE_ERROR(what, ...) \
	check_usage_error((const char *const[]){ "mtest", __VA_ARGS__, NULL }, what)

START_TEST(test_parse_defaults)
{
	const char *p = use_conf("");

	ck_assert_int_eq(PARSE0(), 1);
	ck_assert_int_eq(O.npaths, 0);
	ck_assert_int_eq(O.npytest, 0);
	ck_assert_int_eq(O.timeout_us, -1);
	ck_assert_int_eq(O.kill_grace_us, MT_DEFAULT_KILL_GRACE_US);
	ck_assert_int_eq(O.collect_timeout_us, MT_DEFAULT_COLLECT_TIMEOUT_US);
	ck_assert_int_eq(O.run_timeout_us, -1);
	ck_assert_uint_eq(O.max_tests, MT_TESTS_MAX);
	ck_assert_int_eq(O.progress, MT_PROGRESS_AUTO);
	ck_assert_int_eq(O.report, 0);
	ck_assert_int_eq(O.help, 0);
	ck_assert_int_eq(O.version, 0);
	ck_assert_ptr_null(O.state_dir);
	ck_assert_str_eq(O.python, MT_DEFAULT_PYTHON);
	ck_assert_ptr_nonnull(O.config);
	ck_assert_str_eq(O.config, p);
	ck_assert_int_eq(O.argc, 1);
	ck_assert_str_eq(O.argv[0], "mtest");
}
END_TEST

START_TEST(test_parse_paths_and_pytest_args)
{
	use_conf("");
	ck_assert_int_eq(PARSE("tests/a.py", "--timeout", "3", "tests/b.py::t", "--", "-v",
			       "-k", "x_test", "extra", "tail"), 1);
	ck_assert_int_eq(O.npaths, 2);
	ck_assert_str_eq(O.paths[0], "tests/a.py");
	ck_assert_str_eq(O.paths[1], "tests/b.py::t");
	ck_assert_int_eq(O.timeout_us, 3000000);
	ck_assert_int_eq(O.npytest, 5);
	ck_assert_str_eq(O.pytest_args[0], "-v");
	ck_assert_str_eq(O.pytest_args[1], "-k");
	ck_assert_str_eq(O.pytest_args[2], "x_test");
	ck_assert_str_eq(O.pytest_args[3], "extra");
	ck_assert_str_eq(O.pytest_args[4], "tail");
	ck_assert_int_eq(O.argc, 11);
	/* A second "--" would make mtest's own trailing arguments paths. */
	ck_assert_int_eq(PARSE("--", "-v", "--", "tail"), 0);
}
END_TEST

START_TEST(test_parse_dashdash_alone)
{
	use_conf("");
	ck_assert_int_eq(PARSE("a", "--"), 1);
	ck_assert_int_eq(O.npaths, 1);
	ck_assert_str_eq(O.paths[0], "a");
	ck_assert_int_eq(O.npytest, 0);
	ck_assert_int_eq(PARSE("--", "b"), 1);
	ck_assert_int_eq(O.npaths, 0);
	ck_assert_int_eq(O.npytest, 1);
	ck_assert_str_eq(O.pytest_args[0], "b");
}
END_TEST

START_TEST(test_parse_options)
{
	use_conf("");
	ck_assert_int_eq(PARSE("--timeout=1.5", "--kill-grace", "500ms", "--collect-timeout",
			       "5m", "--run-timeout", "1h", "--max-tests", "10", "--progress",
			       "plain", "--state-dir", "/tmp/st", "--python", "/opt/py/bin/python",
			       "t.py"), 1);
	ck_assert_int_eq(O.timeout_us, 1500000);
	ck_assert_int_eq(O.kill_grace_us, 500000);
	ck_assert_int_eq(O.collect_timeout_us, 300000000LL);
	ck_assert_int_eq(O.run_timeout_us, 3600000000LL);
	ck_assert_uint_eq(O.max_tests, 10);
	ck_assert_int_eq(O.progress, MT_PROGRESS_PLAIN);
	ck_assert_str_eq(O.state_dir, "/tmp/st");
	ck_assert_str_eq(O.python, "/opt/py/bin/python");
	ck_assert_int_eq(O.npaths, 1);
	ck_assert_str_eq(O.paths[0], "t.py");
	ck_assert_int_eq(PARSE("--progress", "quiet", "--run-timeout", "0", "--timeout", "0"), 1);
	ck_assert_int_eq(O.progress, MT_PROGRESS_QUIET);
	ck_assert_int_eq(O.run_timeout_us, -1);
	ck_assert_int_eq(O.timeout_us, 0);
	ck_assert_int_eq(PARSE("--progress=tty", "--max-tests", "16384"), 1);
	ck_assert_int_eq(O.progress, MT_PROGRESS_TTY);
	ck_assert_uint_eq(O.max_tests, MT_TESTS_MAX);
}
END_TEST

START_TEST(test_parse_deadlock_options)
{
	use_conf("");
	ck_assert_int_eq(PARSE0(), 1);
	ck_assert_int_eq(O.deadlock_after_us, MT_DEFAULT_DEADLOCK_AFTER_US);
	ck_assert_int_eq(O.likely_after_us, 3 * MT_DEFAULT_DEADLOCK_AFTER_US);
	ck_assert_int_eq(O.capture_after_us, -1);
	ck_assert_int_eq(PARSE("--deadlock-after", "2", "--capture-after", "30s"), 1);
	ck_assert_int_eq(O.deadlock_after_us, 2000000);
	ck_assert_int_eq(O.likely_after_us, 6000000);	/* 3 x --deadlock-after */
	ck_assert_int_eq(O.capture_after_us, 30000000);
	ck_assert_int_eq(PARSE("--deadlock-after=500ms", "--likely-after", "1m",
			       "--capture-after", "0"), 1);
	ck_assert_int_eq(O.deadlock_after_us, 500000);
	ck_assert_int_eq(O.likely_after_us, 60000000);
	ck_assert_int_eq(O.capture_after_us, -1);
	USAGE_ERROR("abc", "--deadlock-after", "abc");
	USAGE_ERROR("5x", "--likely-after", "5x");
	USAGE_ERROR("--capture-after", "--capture-after");
}
END_TEST

START_TEST(test_parse_help_version_report)
{
	use_conf("");
	ck_assert_int_eq(PARSE("-h"), 1);
	ck_assert_int_eq(O.help, 1);
	ck_assert_int_eq(PARSE("--help"), 1);
	ck_assert_int_eq(O.help, 1);
	ck_assert_int_eq(PARSE("--version"), 1);
	ck_assert_int_eq(O.version, 1);
	ck_assert_int_eq(O.help, 0);
	ck_assert_int_eq(PARSE("--report", "--state-dir", "/x"), 1);
	ck_assert_int_eq(O.report, 1);
	ck_assert_str_eq(O.state_dir, "/x");
}
END_TEST

START_TEST(test_parse_unknown_option)
{
	use_conf("");
	USAGE_ERROR("--bogus", "--bogus");
	USAGE_ERROR("-z", "-z");
	USAGE_ERROR("-x", "t.py", "-x");	/* a pytest option before "--" */
}
END_TEST

START_TEST(test_parse_bad_values)
{
	use_conf("");
	USAGE_ERROR("abc", "--timeout", "abc");
	USAGE_ERROR("--timeout", "--timeout");
	USAGE_ERROR("5x", "--kill-grace=5x");
	USAGE_ERROR("-1", "--collect-timeout", "-1");
	USAGE_ERROR("0", "--max-tests", "0");
	USAGE_ERROR("16385", "--max-tests", "16385");
	USAGE_ERROR("5x", "--max-tests", "5x");
	USAGE_ERROR("loud", "--progress", "loud");
	USAGE_ERROR("empty", "a", "", "b");
}
END_TEST

START_TEST(test_parse_refused_after_dashdash)
{
	use_conf("");
	USAGE_ERROR("-x", "--", "-x");
	USAGE_ERROR("--maxfail", "t.py", "--", "-v", "--maxfail=2");
	USAGE_ERROR("-n", "--", "-k", "x_test", "-n", "4");
	ck_assert_int_eq(PARSE("--", "-k", "x_test", "-p", "no:cacheprovider", "-rA"), 1);
	ck_assert_int_eq(O.npytest, 5);
}
END_TEST

START_TEST(test_parse_twice)
{
	use_conf("");
	ck_assert_int_eq(PARSE("a", "--timeout", "2", "--", "-v"), 1);
	ck_assert_int_eq(O.npaths, 1);
	ck_assert_int_eq(O.timeout_us, 2000000);
	ck_assert_int_eq(PARSE("b", "c", "--progress", "quiet"), 1);
	ck_assert_int_eq(O.npaths, 2);
	ck_assert_str_eq(O.paths[0], "b");
	ck_assert_str_eq(O.paths[1], "c");
	ck_assert_int_eq(O.timeout_us, -1);
	ck_assert_int_eq(O.npytest, 0);
	ck_assert_int_eq(O.progress, MT_PROGRESS_QUIET);
}
END_TEST

/* A parse that stopped inside a cluster of short options ("-zq") must not
 * leak into the next parse. */
START_TEST(test_parse_twice_after_cluster_error)
{
	int first, second;

	use_conf("");
	capture_stderr();
	first = PARSE("-zq");
	second = PARSE("b");
	captured();
	ck_assert_int_eq(first, 0);
	ck_assert_int_eq(second, 1);
	ck_assert_int_eq(O.npaths, 1);
	ck_assert_str_eq(O.paths[0], "b");
}
END_TEST

/* A second parse reads its own config file, not what an earlier one read. */
START_TEST(test_parse_twice_config_not_stale)
{
	use_conf("python = /conf/bin/python\ntimeout = 7\nstate_dir = /conf/state\n");
	ck_assert_int_eq(PARSE0(), 1);
	ck_assert_str_eq(O.python, "/conf/bin/python");
	use_conf("# nothing\n");
	ck_assert_int_eq(PARSE0(), 1);
	ck_assert_str_eq(O.python, MT_DEFAULT_PYTHON);
	ck_assert_int_eq(O.timeout_us, -1);
	ck_assert_ptr_null(O.state_dir);
}
END_TEST

/* ---- python precedence: --python > MTEST_PYTHON > config > VIRTUAL_ENV ---- */

static void all_python_sources(void)
{
	use_conf("python = /conf/bin/python\n");
	setenv("MTEST_PYTHON", "/env/bin/python", 1);
	setenv("VIRTUAL_ENV", "/venv", 1);
}

START_TEST(test_python_option_first)
{
	all_python_sources();
	ck_assert_int_eq(PARSE("--python", "/opt/bin/python"), 1);
	ck_assert_str_eq(O.python, "/opt/bin/python");
	ck_assert_str_eq(O.python_how, "--python");
}
END_TEST

START_TEST(test_python_env_second)
{
	all_python_sources();
	ck_assert_int_eq(PARSE0(), 1);
	ck_assert_str_eq(O.python, "/env/bin/python");
	ck_assert_str_eq(O.python_how, "MTEST_PYTHON");
}
END_TEST

START_TEST(test_python_config_third)
{
	all_python_sources();
	unsetenv("MTEST_PYTHON");
	ck_assert_int_eq(PARSE0(), 1);
	ck_assert_str_eq(O.python, "/conf/bin/python");
	ck_assert_ptr_nonnull(strstr(O.python_how, "config"));
}
END_TEST

START_TEST(test_python_venv_fourth)
{
	all_python_sources();
	unsetenv("MTEST_PYTHON");
	use_conf("timeout = 3\n");
	ck_assert_int_eq(PARSE0(), 1);
	ck_assert_str_eq(O.python, "/venv/bin/python");
	ck_assert_str_eq(O.python_how, "VIRTUAL_ENV");
}
END_TEST

START_TEST(test_python_default_last)
{
	use_conf("");
	unsetenv("MTEST_PYTHON");
	setenv("VIRTUAL_ENV", "", 1);	/* not mtest's: empty is unset */
	ck_assert_int_eq(PARSE0(), 1);
	ck_assert_str_eq(O.python, "/usr/bin/python3");
	ck_assert_str_eq(O.python, MT_DEFAULT_PYTHON);
}
END_TEST

/* ---- the config file ---------------------------------------------------- */

START_TEST(test_config_values)
{
	const char *p = use_conf("# mtest config\n"
				 "\n"
				 "  timeout = 7\n"
				 "kill_grace=2s\r\n"
				 "\tcollect_timeout =\t1m  \n"
				 "run_timeout = 10m\n"
				 "state_dir = /var/lib/mtest state\n"
				 "   # indented comment\n");

	ck_assert_int_eq(PARSE0(), 1);
	ck_assert_str_eq(O.config, p);
	ck_assert_int_eq(O.timeout_us, 7000000);
	ck_assert_int_eq(O.kill_grace_us, 2000000);
	ck_assert_int_eq(O.collect_timeout_us, 60000000);
	ck_assert_int_eq(O.run_timeout_us, 600000000LL);
	ck_assert_str_eq(O.state_dir, "/var/lib/mtest state");
}
END_TEST

START_TEST(test_config_watchdog_and_dirt)
{
	use_conf("deadlock_after = 2\nleak_grace = 250ms\nrestart_on_dirty = never\n");
	ck_assert_int_eq(PARSE0(), 1);
	ck_assert_int_eq(O.deadlock_after_us, 2000000);
	ck_assert_int_eq(O.likely_after_us, 6000000);	/* 3 x deadlock_after */
	ck_assert_int_eq(O.leak_grace_us, 250000);
	ck_assert_int_eq(O.restart_on_dirty, MT_RESTART_NEVER);
	ck_assert_int_eq(PARSE("--restart-on-dirty", "test", "--deadlock-after", "1"), 1);
	ck_assert_int_eq(O.restart_on_dirty, MT_RESTART_TEST);
	ck_assert_int_eq(O.deadlock_after_us, 1000000);
	use_conf("restart_on_dirty = sometimes\n");
	ck_assert_int_eq(PARSE0(), 0);
}
END_TEST

/* The box's suite: run when a plain run names no path, never otherwise. */
START_TEST(test_config_suite)
{
	use_conf("suite = /opt/retrowaves/tests\n");
	ck_assert_int_eq(PARSE0(), 1);
	ck_assert_int_eq(O.npaths, 1);
	ck_assert_str_eq(O.paths[0], "/opt/retrowaves/tests");
	ck_assert_int_eq(PARSE("tests/other"), 1);
	ck_assert_int_eq(O.npaths, 1);
	ck_assert_str_eq(O.paths[0], "tests/other");
	ck_assert_int_eq(PARSE("--report"), 1);
	ck_assert_int_eq(O.npaths, 0);
	ck_assert_int_eq(PARSE("--history"), 1);
	ck_assert_int_eq(O.npaths, 0);
}
END_TEST

START_TEST(test_config_overridden)
{
	use_conf("timeout = 7\nkill_grace = 2\nstate_dir = /conf/state\nrun_timeout = 10m\n");
	setenv("MTEST_STATE_DIR", "/env/state", 1);
	ck_assert_int_eq(PARSE("--timeout", "3", "--kill-grace", "1", "--run-timeout", "0"), 1);
	ck_assert_int_eq(O.timeout_us, 3000000);
	ck_assert_int_eq(O.kill_grace_us, 1000000);
	ck_assert_str_eq(O.state_dir, "/env/state");
	ck_assert_int_eq(O.run_timeout_us, -1);	/* 0 on the command line: no limit */
}
END_TEST

START_TEST(test_state_dir_precedence)
{
	use_conf("state_dir = /conf/state\n");
	setenv("MTEST_STATE_DIR", "/env/state", 1);
	ck_assert_int_eq(PARSE("--state-dir", "/opt/state"), 1);
	ck_assert_str_eq(O.state_dir, "/opt/state");
}
END_TEST

START_TEST(test_config_option_beats_env)
{
	char first[128];

	use_conf("python = /env-conf/python\n");
	strcpy(first, conf_path);
	conf("python = /opt-conf/python\n");
	ck_assert_int_eq(PARSE("--config", conf_path), 1);
	ck_assert_str_eq(O.python, "/opt-conf/python");
	ck_assert_str_eq(O.config, conf_path);
	ck_assert_str_ne(O.config, first);
}
END_TEST

/* The box's keys of issue 21: timeout_scale (the option wins), kmsg
 * markers, exclusive groups (a second line adds patterns). */
START_TEST(test_config_box_keys)
{
	use_conf("timeout_scale = 2.5\nkmsg_markers = off\ngroup.audio = tests/test_alsa*.py\n"
		 "group.port = *::test_bind*\ngroup.audio = tests/test_mixer.py\n");
	ck_assert_int_eq(PARSE0(), 1);
	ck_assert(O.timeout_scale == 2.5);
	ck_assert_str_eq(O.timeout_scale_how, "the config file");
	ck_assert_int_eq(O.kmsg_markers, 0);
	ck_assert_int_eq(O.ngroups, 2);
	ck_assert_str_eq(O.groups[0].name, "audio");
	ck_assert_str_eq(O.groups[0].patterns, "tests/test_alsa*.py tests/test_mixer.py");
	ck_assert_str_eq(O.groups[1].name, "port");
	ck_assert_int_eq(PARSE("--timeout-scale", "3", "--kmsg-markers", "on"), 1);
	ck_assert(O.timeout_scale == 3);
	ck_assert_str_eq(O.timeout_scale_how, "--timeout-scale");
	ck_assert_int_eq(O.kmsg_markers, 1);
	ck_assert_int_eq(mt_scale_us(2000000, 3), 6000000);
	ck_assert_int_eq(mt_scale_us(0, 3), 0);	/* no limit stays none */
	use_conf("\n");
	ck_assert_int_eq(PARSE0(), 1);
	ck_assert(O.timeout_scale == 1);
	ck_assert_int_eq(O.kmsg_markers, 1);
	ck_assert_int_eq(O.ngroups, 0);
	USAGE_ERROR("--timeout-scale: want a number from 0.1 to 100, got '0'", "--timeout-scale",
		    "0");
	USAGE_ERROR("--timeout-scale: want a number from 0.1 to 100, got 'x'", "--timeout-scale",
		    "x");
	USAGE_ERROR("--kmsg-markers: want on or off, got 'yes'", "--kmsg-markers", "yes");
	use_conf("timeout_scale = 1000\n");
	USAGE_ERROR(":1: timeout_scale: want a number from 0.1 to 100, got '1000'", "t.py");
	use_conf("group.a/b = x.py\n");
	USAGE_ERROR(":1: group.a/b: a group's name is 1 to 63 of", "t.py");
}
END_TEST

START_TEST(test_config_unknown_key)
{
	use_conf("timeout = 5\nbogus = 1\n");
	USAGE_ERROR("bogus", "t.py");
	ck_assert_ptr_nonnull(strstr(errtext, ":2:"));
}
END_TEST

/* Limits and cgroups (docs/dirt.md): the config's, over the board's; none
by default; MTEST_CGROUP over the config's cgroup. */
START_TEST(test_config_limits)
{
	char board[160];
	FILE *f;

	use_conf("");
	ck_assert_int_eq(PARSE0(), 1);
	ck_assert_int_eq(O.memory_max, -1);
	ck_assert_int_eq(O.lane_memory_max, -1);
	ck_assert_int_eq(O.memory_high, -1);
	ck_assert_int_eq(O.lane_memory_high, -1);
	ck_assert_int_eq(O.cpu_weight, 0);
	ck_assert_ptr_null(O.cgroup);
	use_conf("lane_memory_max = 512M\nmemory_max = 1.5G\nlane_memory_high = max\n"
		 "cpu_weight = 20\nio_weight = 10000\ncgroup = off\n");
	ck_assert_int_eq(PARSE0(), 1);
	ck_assert_int_eq(O.lane_memory_max, 512LL << 20);
	ck_assert_int_eq(O.memory_max, 3LL << 29);
	ck_assert_int_eq(O.lane_memory_high, -1);
	ck_assert_int_eq(O.cpu_weight, 20);
	ck_assert_int_eq(O.io_weight, 10000);
	ck_assert_str_eq(O.cgroup, "off");
	setenv("MTEST_CGROUP", "/sys/fs/cgroup/mtest", 1);
	ck_assert_int_eq(PARSE0(), 1);
	ck_assert_str_eq(O.cgroup, "/sys/fs/cgroup/mtest");
	setenv("MTEST_CGROUP", "here", 1);
	USAGE_ERROR("MTEST_CGROUP: want auto, off or an absolute path, got 'here'", "t.py");
	unsetenv("MTEST_CGROUP");
	/* The board's limits, below the config's. */
	snprintf(board, sizeof board, "%s/box.json", tmpdir);
	f = fopen(board, "w");
	ck_assert_ptr_nonnull(f);
	fputs("{\"board\":\"box\",\"leds\":[{\"role\":\"status\",\"led\":\"x\"}],"
	      "\"limits\":{\"lane_memory_max\":\"256M\",\"memory_max\":\"2G\",\"cpu_weight\":30}}",
	      f);
	fclose(f);
	use_conf("memory_max = 1G\n");
	ck_assert_int_eq(PARSE("--board", board), 1);
	ck_assert_int_eq(O.lane_memory_max, 256LL << 20);
	ck_assert_int_eq(O.memory_max, 1LL << 30);
	ck_assert_int_eq(O.cpu_weight, 30);
}
END_TEST

START_TEST(test_config_bad_limits)
{
	use_conf("lane_memory_max = lots\n");
	USAGE_ERROR(":1: lane_memory_max: want a size such as 512M or 2G, or max, got 'lots'", "t.py");
	use_conf("memory_high = 0\n");
	USAGE_ERROR("memory_high", "t.py");
	use_conf("cpu_weight = 0\n");
	USAGE_ERROR("cpu_weight: want a number from 1 to 10000, got '0'", "t.py");
	use_conf("io_weight = 10001\n");
	USAGE_ERROR("io_weight", "t.py");
	use_conf("cgroup = somewhere\n");
	USAGE_ERROR("cgroup: want auto, off or an absolute path, got 'somewhere'", "t.py");
}
END_TEST

START_TEST(test_config_bad_lines)
{
	use_conf("timeout = abc\n");
	USAGE_ERROR("abc", "t.py");
	use_conf("just some words\n");
	USAGE_ERROR("key = value", "t.py");
	use_conf("kill_grace = -1\n");
	USAGE_ERROR("kill_grace", "t.py");
}
END_TEST

/* docs/formats.md: "#" at the start of a line, or after a space or a
 * tab, starts a comment; a "#" inside a value stays. */
START_TEST(test_config_inline_comment)
{
	use_conf("timeout = 5 # the box is slow\n"
		 "kill_grace = 2s\t# tab before it\n"
		 "state_dir = /srv/a#b   # a hash inside a path stays\n"
		 "python = /usr/bin/python3#\n");
	ck_assert_int_eq(PARSE0(), 1);
	ck_assert_int_eq(O.timeout_us, 5000000);
	ck_assert_int_eq(O.kill_grace_us, 2000000);
	ck_assert_str_eq(O.state_dir, "/srv/a#b");
	ck_assert_str_eq(O.python, "/usr/bin/python3#");
	use_conf("timeout = # nothing\n");
	USAGE_ERROR("timeout: not a duration: ''", "t.py");
	use_conf("timeout = 0.0000001 # a typo\n");
	USAGE_ERROR(":1: timeout: below a microsecond (0 means no limit): '0.0000001'", "t.py");
	use_conf("");
	USAGE_ERROR("--timeout: below a microsecond", "--timeout", "0.0000001", "t.py");
}
END_TEST

/* An empty path from any source is one line, exit 4: never the current
 * directory (issue 16: --state-dir "" deleted ./plugin/). */
START_TEST(test_empty_paths_refused)
{
	use_conf("");
	USAGE_ERROR("--state-dir: an empty path", "--state-dir", "", "t.py");
	USAGE_ERROR("--state-dir: an empty path", "--state-dir=", "t.py");
	USAGE_ERROR("--python: an empty path", "--python", "");
	USAGE_ERROR("--config: an empty path", "--config", "");
	USAGE_ERROR("--junit-xml: an empty path", "--junit-xml", "");
	USAGE_ERROR("--board: an empty path", "--board", "");
	USAGE_ERROR("--state-dir: an empty path", "led", "--state-dir", "");
	setenv("MTEST_STATE_DIR", "", 1);
	USAGE_ERROR("MTEST_STATE_DIR is set but empty", "t.py");
	unsetenv("MTEST_STATE_DIR");
	setenv("MTEST_BOARD", "", 1);
	USAGE_ERROR("MTEST_BOARD is set but empty", "--report");
	unsetenv("MTEST_BOARD");
	setenv("MTEST_PYTHON", "", 1);
	USAGE_ERROR("MTEST_PYTHON is set but empty", "t.py");
	unsetenv("MTEST_PYTHON");
	use_conf("state_dir =\n");
	USAGE_ERROR(":1: state_dir: an empty path", "t.py");
	use_conf("# a generated file\nboard = # unset\n");
	USAGE_ERROR(":2: board: an empty path", "t.py");
	use_conf("python =  \n");
	USAGE_ERROR("python: an empty path", "t.py");
	use_conf("suite=\n");
	USAGE_ERROR("suite: an empty path", "t.py");
}
END_TEST

/* A bad --budget is one line, not two (issue 16). */
START_TEST(test_budget_one_line)
{
	use_conf("");
	USAGE_ERROR("--budget: want a time above 0", "--budget", "-5");
	USAGE_ERROR("--budget: want a time above 0", "--budget", "0");
	USAGE_ERROR("got 'soon'", "--budget", "soon");
}
END_TEST

START_TEST(test_config_missing_explicit)
{
	char missing[160];

	snprintf(missing, sizeof missing, "%s/no-such.conf", tmpdir);
	setenv("MTEST_CONFIG", missing, 1);
	USAGE_ERROR("no-such.conf", "t.py");
	unsetenv("MTEST_CONFIG");
	USAGE_ERROR("no-such.conf", "--config", missing, "t.py");
}
END_TEST

Suite *cli_suite(void)
{
	Suite *s = suite_create("cli");
	TCase *tc;

	tc = tcase_create("duration");
	tcase_add_test(tc, test_duration_valid);
	tcase_add_test(tc, test_duration_rejects);
	tcase_add_test(tc, test_duration_rejects_nan);
	tcase_add_test(tc, test_duration_tiny_refused);
	suite_add_tcase(s, tc);

	tc = tcase_create("refused");
	tcase_add_test(tc, test_refused_each);
	tcase_add_test(tc, test_not_refused);
	suite_add_tcase(s, tc);

	tc = tcase_create("parse");
	tcase_add_unchecked_fixture(tc, cli_dir_setup, cli_dir_teardown);
	tcase_add_checked_fixture(tc, cli_setup, cli_teardown);
	tcase_add_test(tc, test_parse_defaults);
	tcase_add_test(tc, test_parse_paths_and_pytest_args);
	tcase_add_test(tc, test_parse_dashdash_alone);
	tcase_add_test(tc, test_parse_options);
	tcase_add_test(tc, test_parse_deadlock_options);
	tcase_add_test(tc, test_parse_help_version_report);
	tcase_add_test(tc, test_parse_unknown_option);
	tcase_add_test(tc, test_parse_bad_values);
	tcase_add_test(tc, test_parse_refused_after_dashdash);
	tcase_add_test(tc, test_parse_twice);
	tcase_add_test(tc, test_parse_twice_after_cluster_error);
	tcase_add_test(tc, test_parse_twice_config_not_stale);
	tcase_add_test(tc, test_python_option_first);
	tcase_add_test(tc, test_python_env_second);
	tcase_add_test(tc, test_python_config_third);
	tcase_add_test(tc, test_python_venv_fourth);
	tcase_add_test(tc, test_python_default_last);
	tcase_add_test(tc, test_config_values);
	tcase_add_test(tc, test_config_overridden);
	tcase_add_test(tc, test_config_suite);
	tcase_add_test(tc, test_config_watchdog_and_dirt);
	tcase_add_test(tc, test_state_dir_precedence);
	tcase_add_test(tc, test_config_option_beats_env);
	tcase_add_test(tc, test_config_box_keys);
	tcase_add_test(tc, test_config_unknown_key);
	tcase_add_test(tc, test_config_limits);
	tcase_add_test(tc, test_config_bad_limits);
	tcase_add_test(tc, test_config_bad_lines);
	tcase_add_test(tc, test_config_missing_explicit);
	tcase_add_test(tc, test_config_inline_comment);
	tcase_add_test(tc, test_empty_paths_refused);
	tcase_add_test(tc, test_budget_one_line);
	suite_add_tcase(s, tc);
	return s;
}
