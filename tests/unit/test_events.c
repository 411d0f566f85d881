/* Unit tests: include/mtest/events.h (the plugin's event lines). The lines
 * below are written as src/plugin/mtest_plugin.py writes them:
 * json.dumps(..., ensure_ascii=False, separators=(",", ":")) with "t" and
 * "k" last; mtest_boot.py and worker.c write the few others. */
#include <stdio.h>
#include <string.h>

#include "mtest/base/buf.h"
#include "mtest/sup/events.h"
#include "mtest/run/verdict.h"
#include "suites.h"

#define TOKEN "b7f3c0de9a1e"
#define TK ",\"k\":\"" TOKEN "\"}"

static struct mt_event E;	/* tens of KB */

static enum mt_ev parse(const char *line)
{
	return mt_event_parse(&E, line, strlen(line), TOKEN);
}

START_TEST(test_bad_lines)
{
	/* Valid events of another worker (or of no worker): foreign. */
	ck_assert_int_eq(parse("{\"i\":1,\"t\":\"start\",\"k\":\"someone-else\"}"), MT_EV_FOREIGN);
	ck_assert_int_eq(parse("{\"i\":1,\"t\":\"start\"}"), MT_EV_FOREIGN);
	ck_assert_int_eq(parse("{\"i\":1,\"t\":\"start\",\"k\":\"" TOKEN "x\"}"), MT_EV_FOREIGN);
	ck_assert_int_eq(parse("{\"i\":1,\"t\":\"start\",\"k\":\"b7f3c0de9a1\"}"), MT_EV_FOREIGN);
	ck_assert_int_eq(parse("not json at all"), MT_EV_BAD);
	ck_assert_int_eq(parse("{\"i\":1,\"t\":\"start\",\"k\":\"" TOKEN "\""), MT_EV_BAD);
	ck_assert_int_eq(parse("[\"start\",\"" TOKEN "\"]"), MT_EV_BAD);
	ck_assert_int_eq(parse(""), MT_EV_BAD);
	ck_assert_int_eq(parse("{\"k\":\"" TOKEN "\"}"), MT_EV_BAD);	/* no type */
	ck_assert_int_eq(parse("{\"t\":5" TK), MT_EV_BAD);
	ck_assert_int_eq(parse("{\"t\":\"\"" TK), MT_EV_BAD);
	ck_assert_int_eq(E.type, MT_EV_BAD);
}
END_TEST

START_TEST(test_unknown_type)
{
	ck_assert_int_eq(parse("{\"x\":1,\"t\":\"frobnicate\"" TK), MT_EV_UNKNOWN);
	ck_assert_int_eq(E.type, MT_EV_UNKNOWN);
	ck_assert_int_eq(parse("{\"t\":\"Start\"" TK), MT_EV_UNKNOWN);
}
END_TEST

START_TEST(test_hello)
{
	ck_assert_int_eq(parse("{\"pid\":4242,\"python\":\"3.11.2\",\"executable\":"
			       "\"/usr/bin/python3\",\"pytest\":\"8.3.4\",\"t\":\"hello\"" TK),
			 MT_EV_HELLO);
	ck_assert_int_eq(E.pid, 4242);
	ck_assert_str_eq(E.python, "3.11.2");
	ck_assert_str_eq(E.executable, "/usr/bin/python3");
	ck_assert_str_eq(E.pytest, "8.3.4");
	ck_assert_int_eq(E.i, -1);
}
END_TEST

START_TEST(test_config)
{
	ck_assert_int_eq(parse("{\"rootdir\":\"/srv/suite\",\"inifile\":null,\"suite_timeout\":2.5,"
			       "\"session_timeout\":null,\"timeout_plugin\":\"2.3.1\",\"out_fd\":7,"
			       "\"t\":\"config\"" TK), MT_EV_CONFIG);
	ck_assert_str_eq(E.rootdir, "/srv/suite");
	ck_assert_str_eq(E.inifile, "");
	ck_assert_int_eq(E.suite_timeout_us, 2500000);
	ck_assert_int_eq(E.session_timeout_us, -1);
	ck_assert_str_eq(E.timeout_plugin, "2.3.1");
	ck_assert_int_eq(E.out_fd, 7);
	ck_assert_int_eq(E.err_fd, -1);

	ck_assert_int_eq(parse("{\"rootdir\":\"/r\",\"inifile\":\"/r/pytest.ini\","
			       "\"suite_timeout\":null,\"session_timeout\":600.0,"
			       "\"timeout_plugin\":null,\"out_fd\":9,\"err_fd\":10,"
			       "\"t\":\"config\"" TK), MT_EV_CONFIG);
	ck_assert_str_eq(E.inifile, "/r/pytest.ini");
	ck_assert_int_eq(E.suite_timeout_us, -1);
	ck_assert_int_eq(E.session_timeout_us, 600000000LL);
	ck_assert_str_eq(E.timeout_plugin, "");
	ck_assert_int_eq(E.err_fd, 10);
}
END_TEST

START_TEST(test_collecting)
{
	ck_assert_int_eq(parse("{\"nodeid\":\"\",\"path\":\"/srv/suite\",\"what\":"
			       "\"initial conftest files\",\"t\":\"collecting\"" TK),
			 MT_EV_COLLECTING);
	ck_assert_str_eq(E.id, "");
	ck_assert_str_eq(E.path, "/srv/suite");
	ck_assert_str_eq(E.what, "initial conftest files");
	ck_assert_int_eq(parse("{\"nodeid\":\"tests/test_a.py\",\"path\":\"/srv/suite/tests/test_a.py\","
			       "\"t\":\"collecting\"" TK), MT_EV_COLLECTING);
	ck_assert_str_eq(E.id, "tests/test_a.py");
	ck_assert_str_eq(E.what, "");
}
END_TEST

START_TEST(test_collect_error)
{
	ck_assert_int_eq(parse("{\"nodeid\":\"tests/test_bad.py\",\"path\":\"/s/tests/test_bad.py\","
			       "\"exc\":\"SyntaxError\",\"conftest\":false,\"aborted\":false,"
			       "\"lr\":\"E     x = (\\n      ^\\nSyntaxError: '(' was never closed\","
			       "\"t\":\"collect_error\"" TK), MT_EV_COLLECT_ERROR);
	ck_assert_str_eq(E.id, "tests/test_bad.py");
	ck_assert_str_eq(E.path, "/s/tests/test_bad.py");
	ck_assert_str_eq(E.exc, "SyntaxError");
	ck_assert_str_eq(E.text, "E     x = (\n      ^\nSyntaxError: '(' was never closed");
	ck_assert_int_eq(E.conftest, 0);
	ck_assert_int_eq(E.initial, 0);
	ck_assert_int_eq(E.aborted, 0);

	ck_assert_int_eq(parse("{\"nodeid\":\"sub\",\"path\":\"/s/sub\",\"exc\":\"ImportError\","
			       "\"conftest\":true,\"initial\":true,\"aborted\":true,\"lr\":\"x\","
			       "\"t\":\"collect_error\"" TK), MT_EV_COLLECT_ERROR);
	ck_assert_int_eq(E.conftest, 1);
	ck_assert_int_eq(E.initial, 1);
	ck_assert_int_eq(E.aborted, 1);
}
END_TEST

START_TEST(test_item)
{
	ck_assert_int_eq(parse("{\"i\":3,\"id\":\"tests/test_a.py::test_x[caf\xc3\xa9]\","
			       "\"file\":\"tests/test_a.py\",\"path\":\"/s/tests/test_a.py\","
			       "\"line\":12,\"m\":[\"parametrize\",\"slow\",\"timeout\"],\"to\":2.5,"
			       "\"t\":\"item\"" TK), MT_EV_ITEM);
	ck_assert_int_eq(E.i, 3);
	ck_assert_str_eq(E.id, "tests/test_a.py::test_x[caf\xc3\xa9]");
	ck_assert_str_eq(E.file, "tests/test_a.py");
	ck_assert_str_eq(E.path, "/s/tests/test_a.py");
	ck_assert_int_eq(E.line, 12);
	ck_assert_int_eq(E.nmarkers, 3);
	ck_assert_str_eq(E.markers[0], "parametrize");
	ck_assert_str_eq(E.markers[2], "timeout");
	ck_assert_int_eq(E.timeout_us, 2500000);

	ck_assert_int_eq(parse("{\"i\":4,\"id\":\"t.py::u\",\"file\":\"t.py\",\"path\":\"/s/t.py\","
			       "\"line\":1,\"m\":[],\"t\":\"item\"" TK), MT_EV_ITEM);
	ck_assert_int_eq(E.nmarkers, 0);
	ck_assert_int_eq(E.timeout_us, -1);
	ck_assert_int_eq(E.i, 4);
}
END_TEST

START_TEST(test_item_markers_cut)
{
	static char line[4096];
	struct mt_buf b = MT_BUF_INIT(line);
	int k;

	mt_buf_puts(&b, "{\"i\":0,\"id\":\"t.py::m\",\"file\":\"t.py\",\"path\":\"/s/t.py\","
			"\"line\":5,\"m\":[");
	for (k = 0; k < MT_MARKERS_MAX + 5; k++)
		mt_buf_printf(&b, "%s\"mark%d\"", k ? "," : "", k);
	mt_buf_puts(&b, "],\"to\":30,\"t\":\"item\"" TK);
	ck_assert_uint_eq(b.cut, 0);
	ck_assert_int_eq(parse(line), MT_EV_ITEM);
	ck_assert_int_eq(E.nmarkers, MT_MARKERS_MAX);
	ck_assert_str_eq(E.markers[0], "mark0");
	ck_assert_str_eq(E.markers[MT_MARKERS_MAX - 1], "mark15");
	/* what follows the array is still read */
	ck_assert_int_eq(E.timeout_us, 30000000);
	ck_assert_int_eq(E.line, 5);
}
END_TEST

START_TEST(test_item_long_marker_name)
{
	static char line[4096];
	char name[200];
	struct mt_buf b = MT_BUF_INIT(line);

	memset(name, 'n', 150);
	name[150] = '\0';
	mt_buf_printf(&b, "{\"i\":0,\"id\":\"t.py::m\",\"m\":[\"%s\",\"ok\"],\"t\":\"item\"" TK,
		      name);
	ck_assert_int_eq(parse(line), MT_EV_ITEM);
	ck_assert_int_eq(E.nmarkers, 2);
	ck_assert_uint_eq(strlen(E.markers[0]), MT_MARKER_NAME_MAX - 1);
	ck_assert_str_eq(E.markers[1], "ok");
}
END_TEST

START_TEST(test_collected)
{
	ck_assert_int_eq(parse("{\"n\":10,\"deselected\":2,\"t\":\"collected\"" TK),
			 MT_EV_COLLECTED);
	ck_assert_int_eq(E.n, 10);
	ck_assert_int_eq(E.deselected, 2);
}
END_TEST

START_TEST(test_start_and_fence)
{
	ck_assert_int_eq(parse("{\"i\":4,\"t\":\"start\"" TK), MT_EV_START);
	ck_assert_int_eq(E.i, 4);
	ck_assert_int_eq(parse("{\"i\":null,\"t\":\"start\"" TK), MT_EV_START);
	ck_assert_int_eq(E.i, -1);
	ck_assert_int_eq(parse("{\"t\":\"fence\"" TK), MT_EV_FENCE);
	ck_assert_int_eq(E.i, -1);
}
END_TEST

START_TEST(test_phase_failed)
{
	ck_assert_int_eq(parse("{\"i\":4,\"w\":\"call\",\"o\":\"failed\",\"d\":0.25,"
			       "\"exc\":\"AssertionError\",\"crash\":\"tests/a.py:13: assert 1 == 2\","
			       "\"lr\":\"def test_x():\\n>       assert 1 == 2\\nE       assert 1 == 2\","
			       "\"out\":\"hello \xc3\xa9\\n\",\"err\":\"careful\\n\",\"log\":\"INFO root:a.py:3 x\","
			       "\"t\":\"phase\"" TK), MT_EV_PHASE);
	ck_assert_int_eq(E.i, 4);
	ck_assert_int_eq(E.phase, MT_CALL);
	ck_assert_int_eq(E.outcome, MT_O_FAILED);
	ck_assert_int_eq(E.dur_us, 250000);
	ck_assert_int_eq(E.wasxfail, 0);
	ck_assert_str_eq(E.exc, "AssertionError");
	ck_assert_str_eq(E.crash, "tests/a.py:13: assert 1 == 2");
	ck_assert_str_eq(E.text, "def test_x():\n>       assert 1 == 2\nE       assert 1 == 2");
	ck_assert_str_eq(E.out, "hello \xc3\xa9\n");
	ck_assert_str_eq(E.err, "careful\n");
	ck_assert_str_eq(E.log, "INFO root:a.py:3 x");
	ck_assert_str_eq(E.xfail, "");
}
END_TEST

START_TEST(test_phase_xfail_skip_teardown)
{
	/* fields of an earlier line do not stay behind */
	ck_assert_int_eq(parse("{\"i\":4,\"w\":\"call\",\"o\":\"failed\",\"d\":0.25,"
			       "\"exc\":\"AssertionError\",\"lr\":\"x\",\"t\":\"phase\"" TK),
			 MT_EV_PHASE);
	ck_assert_int_eq(parse("{\"i\":5,\"w\":\"call\",\"o\":\"skipped\",\"d\":0.001,"
			       "\"xf\":\"bug 12\",\"t\":\"phase\"" TK), MT_EV_PHASE);
	ck_assert_int_eq(E.i, 5);
	ck_assert_int_eq(E.outcome, MT_O_SKIPPED);
	ck_assert_int_eq(E.wasxfail, 1);
	ck_assert_str_eq(E.xfail, "bug 12");
	ck_assert_str_eq(E.exc, "");
	ck_assert_str_eq(E.text, "");
	ck_assert_int_eq(E.dur_us, 1000);

	ck_assert_int_eq(parse("{\"i\":6,\"w\":\"setup\",\"o\":\"skipped\",\"d\":0.0,"
			       "\"skip\":\"no database\",\"t\":\"phase\"" TK), MT_EV_PHASE);
	ck_assert_int_eq(E.phase, MT_SETUP);
	ck_assert_int_eq(E.wasxfail, 0);
	ck_assert_str_eq(E.skip, "no database");
	ck_assert_int_eq(E.dur_us, 0);

	ck_assert_int_eq(parse("{\"i\":7,\"w\":\"teardown\",\"o\":\"failed\",\"d\":1.5,"
			       "\"exc\":\"OSError\",\"t\":\"phase\"" TK), MT_EV_PHASE);
	ck_assert_int_eq(E.phase, MT_TEARDOWN);
	ck_assert_int_eq(E.outcome, MT_O_FAILED);
	ck_assert_int_eq(E.dur_us, 1500000);
	ck_assert_str_eq(E.skip, "");

	/* an xpass: passed, with wasxfail (an empty reason still counts) */
	ck_assert_int_eq(parse("{\"i\":8,\"w\":\"call\",\"o\":\"passed\",\"d\":0.5,"
			       "\"xf\":\"\",\"t\":\"phase\"" TK), MT_EV_PHASE);
	ck_assert_int_eq(E.outcome, MT_O_PASSED);
	ck_assert_int_eq(E.wasxfail, 1);

	ck_assert_int_eq(parse("{\"i\":9,\"w\":\"sideways\",\"o\":\"weird\",\"t\":\"phase\"" TK),
			 MT_EV_PHASE);
	ck_assert_int_eq(E.phase, -1);
	ck_assert_int_eq(E.outcome, MT_O_PASSED);
	ck_assert_int_eq(E.dur_us, -1);
}
END_TEST

START_TEST(test_phase_long_text)
{
	static char line[MT_LINE_MAX];
	struct mt_buf b = MT_BUF_INIT(line);
	size_t k;

	mt_buf_puts(&b, "{\"i\":1,\"w\":\"call\",\"o\":\"failed\",\"exc\":\"E\",\"lr\":\"");
	for (k = 0; k < MT_TEXT_MAX; k++)
		mt_buf_puts(&b, k % 64 == 63 ? "\\n" : "x");
	mt_buf_puts(&b, "\",\"t\":\"phase\"" TK);
	ck_assert_uint_eq(b.cut, 0);
	ck_assert_int_eq(parse(line), MT_EV_PHASE);
	ck_assert_uint_eq(strlen(E.text), MT_TEXT_MAX);
	ck_assert_int_eq(E.text[63], '\n');
	ck_assert_str_eq(E.exc, "E");
}
END_TEST

START_TEST(test_done)
{
	ck_assert_int_eq(parse("{\"i\":4,\"d\":[0.001,0.25,0.0005],\"t\":\"done\"" TK), MT_EV_DONE);
	ck_assert_int_eq(E.i, 4);
	ck_assert_int_eq(E.phase_us[0], 1000);
	ck_assert_int_eq(E.phase_us[1], 250000);
	ck_assert_int_eq(E.phase_us[2], 500);
	ck_assert_int_eq(parse("{\"i\":5,\"d\":[0,12,3.000001],\"t\":\"done\"" TK), MT_EV_DONE);
	ck_assert_int_eq(E.phase_us[0], 0);
	ck_assert_int_eq(E.phase_us[1], 12000000);
	ck_assert_int_eq(E.phase_us[2], 3000001);
	ck_assert_int_eq(parse("{\"i\":6,\"d\":[0.5],\"t\":\"done\"" TK), MT_EV_DONE);
	ck_assert_int_eq(E.phase_us[0], 500000);
	ck_assert_int_eq(E.phase_us[1], 0);
	ck_assert_int_eq(E.phase_us[2], 0);
	ck_assert_int_eq(parse("{\"i\":7,\"t\":\"done\"" TK), MT_EV_DONE);
	ck_assert_int_eq(E.phase_us[0], 0);
	ck_assert_int_eq(E.i, 7);
}
END_TEST

START_TEST(test_exit)
{
	ck_assert_int_eq(parse("{\"exc\":\"KeyboardInterrupt\",\"msg\":\"stop\",\"rc\":null,\"i\":4,"
			       "\"t\":\"exit\"" TK), MT_EV_EXIT);
	ck_assert_str_eq(E.exc, "KeyboardInterrupt");
	ck_assert_str_eq(E.text, "stop");
	ck_assert_int_eq(E.rc, -1);
	ck_assert_int_eq(E.i, 4);
	ck_assert_int_eq(parse("{\"exc\":\"Exit\",\"msg\":\"bye\",\"rc\":3,\"i\":null,"
			       "\"t\":\"exit\"" TK), MT_EV_EXIT);
	ck_assert_int_eq(E.rc, 3);
	ck_assert_int_eq(E.i, -1);
}
END_TEST

START_TEST(test_bye)
{
	ck_assert_int_eq(parse("{\"threads\":[\"worker-1\",\"Thread-2 (run)\"],\"t\":\"bye\"" TK),
			 MT_EV_BYE);
	ck_assert_str_eq(E.threads, "worker-1, Thread-2 (run)");
	ck_assert_int_eq(parse("{\"threads\":[],\"t\":\"bye\"" TK), MT_EV_BYE);
	ck_assert_str_eq(E.threads, "");
}
END_TEST

START_TEST(test_boot_and_worker_lines)
{
	/* mtest_boot.py: json.dumps with the default separators and escapes */
	ck_assert_int_eq(parse("{\"t\": \"nopytest\", \"k\": \"" TOKEN "\", \"msg\": "
			       "\"ModuleNotFoundError: No module named 'pyt\\u00e9st'\"}"),
			 MT_EV_NOPYTEST);
	ck_assert_str_eq(E.text, "ModuleNotFoundError: No module named 'pyt\xc3\xa9st'");
	/* worker.c, after a failed exec */
	ck_assert_int_eq(parse("{\"t\":\"execfail\",\"k\":\"" TOKEN "\",\"errno\":2}"),
			 MT_EV_EXECFAIL);
	ck_assert_int_eq(E.err_no, 2);
	/* the plugin's replacement for a line that would not fit */
	ck_assert_int_eq(parse("{\"t\": \"warn\", \"k\": \"" TOKEN "\", \"msg\": \"event too long\"}"),
			 MT_EV_WARN);
	ck_assert_str_eq(E.text, "event too long");
}
END_TEST

START_TEST(test_length_bounds_the_line)
{
	static const char line[] = "{\"i\":1,\"t\":\"start\"" TK "garbage";

	ck_assert_int_eq(mt_event_parse(&E, line, strlen(line) - 7, TOKEN), MT_EV_START);
	ck_assert_int_eq(E.i, 1);
	ck_assert_int_eq(mt_event_parse(&E, line, 10, TOKEN), MT_EV_BAD);
}
END_TEST

Suite *events_suite(void)
{
	Suite *s = suite_create("events");
	TCase *tc = tcase_create("parse");

	tcase_add_test(tc, test_bad_lines);
	tcase_add_test(tc, test_unknown_type);
	tcase_add_test(tc, test_hello);
	tcase_add_test(tc, test_config);
	tcase_add_test(tc, test_collecting);
	tcase_add_test(tc, test_collect_error);
	tcase_add_test(tc, test_item);
	tcase_add_test(tc, test_item_markers_cut);
	tcase_add_test(tc, test_item_long_marker_name);
	tcase_add_test(tc, test_collected);
	tcase_add_test(tc, test_start_and_fence);
	tcase_add_test(tc, test_phase_failed);
	tcase_add_test(tc, test_phase_xfail_skip_teardown);
	tcase_add_test(tc, test_phase_long_text);
	tcase_add_test(tc, test_done);
	tcase_add_test(tc, test_exit);
	tcase_add_test(tc, test_bye);
	tcase_add_test(tc, test_boot_and_worker_lines);
	tcase_add_test(tc, test_length_bounds_the_line);
	suite_add_tcase(s, tc);
	return s;
}
