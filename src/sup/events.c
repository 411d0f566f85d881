/* mtest: event lines from the plugin. */
#include "mtest/sup/events.h"

#include <stdio.h>
#include <string.h>

#include "mtest/base/buf.h"
#include "mtest/base/json.h"
#include "mtest/run/verdict.h"

static struct mt_json js;	/* one parse at a time, no stack giant */

static const struct { const char *name; enum mt_ev type; } types[] = {
	{ "start", MT_EV_START }, { "done", MT_EV_DONE }, { "phase", MT_EV_PHASE },
	{ "item", MT_EV_ITEM }, { "fence", MT_EV_FENCE },
	{ "collecting", MT_EV_COLLECTING }, { "collected", MT_EV_COLLECTED },
	{ "collect_error", MT_EV_COLLECT_ERROR }, { "hello", MT_EV_HELLO },
	{ "config", MT_EV_CONFIG }, { "exit", MT_EV_EXIT }, { "bye", MT_EV_BYE },
	{ "nopytest", MT_EV_NOPYTEST }, { "execfail", MT_EV_EXECFAIL },
	{ "warn", MT_EV_WARN }, { "thread", MT_EV_THREAD },
	{ "fatal", MT_EV_FATAL }, { "fixture", MT_EV_FIXTURE },
	{ "fixture_end", MT_EV_FIXTURE_END }, { "zygote", MT_EV_ZYGOTE },
	{ "forked", MT_EV_FORKED },
};

static int64_t get_int(const char *key, int64_t dflt)
{
	int64_t v;

	return mt_json_get_int(&js, 0, key, &v) ? v : dflt;
}

static int64_t get_us(const char *key)
{
	int64_t v;

	return mt_json_get_us(&js, 0, key, &v) ? v : -1;
}

#define STR(key, field) mt_json_get_str(&js, 0, key, e->field, sizeof e->field)

static void parse_markers(struct mt_event *e)
{
	int t = mt_json_get(&js, 0, "m"), i, k;

	e->nmarkers = 0;
	if (t < 0 || js.tok[t].type != JSMN_ARRAY)
		return;
	for (i = t + 1, k = 0; k < js.tok[t].size && i < js.n; k++, i = mt_json_next(&js, i))
		if (e->nmarkers < MT_MARKERS_MAX &&
		    mt_json_str(&js, i, e->markers[e->nmarkers], MT_MARKER_NAME_MAX))
			e->nmarkers++;
}

static void parse_groups(struct mt_event *e)
{
	int t = mt_json_get(&js, 0, "g"), i, k;

	e->ngroups = 0;
	if (t < 0 || js.tok[t].type != JSMN_ARRAY)
		return;
	for (i = t + 1, k = 0; k < js.tok[t].size && i < js.n; k++, i = mt_json_next(&js, i))
		if (e->ngroups < MT_TEST_GROUPS_MAX &&
		    mt_json_str(&js, i, e->groups[e->ngroups], MT_GROUP_NAME_MAX) && e->groups[e->ngroups][0])
			e->ngroups++;
}

static void parse_durations(struct mt_event *e)
{
	int t = mt_json_get(&js, 0, "d"), i, k;
	struct mt_json one;

	e->phase_us[0] = e->phase_us[1] = e->phase_us[2] = 0;
	if (t < 0 || js.tok[t].type != JSMN_ARRAY)
		return;
	/* Reuse the number parser: wrap each element as {"v":...}. */
	for (i = t + 1, k = 0; k < js.tok[t].size && k < 3; k++, i = mt_json_next(&js, i)) {
		char tmp[48];
		int len = js.tok[i].end - js.tok[i].start;

		if (js.tok[i].type != JSMN_PRIMITIVE || len <= 0 || len > 32)
			continue;
		memcpy(tmp, "{\"v\":", 5);
		memcpy(tmp + 5, js.s + js.tok[i].start, (size_t)len);
		tmp[5 + len] = '}';
		if (mt_json_parse(&one, tmp, (size_t)len + 6))
			mt_json_get_us(&one, 0, "v", &e->phase_us[k]);
	}
}

/* "tids": [1, 2], "pids": [[pid, start], ...] */
static void parse_owned(struct mt_event *e)
{
	int t, i, k;
	int64_t v;
	struct mt_json one;
	char tmp[64];

	e->ntids = e->npids = 0;
	t = mt_json_get(&js, 0, "tids");
	if (t >= 0 && js.tok[t].type == JSMN_ARRAY)
		for (i = t + 1, k = 0; k < js.tok[t].size && i < js.n; k++, i = mt_json_next(&js, i)) {
			int len = js.tok[i].end - js.tok[i].start;

			if (e->ntids >= MT_FIXTURE_ITEMS || len <= 0 || len > 20)
				continue;
			snprintf(tmp, sizeof tmp, "{\"v\":%.*s}", len, js.s + js.tok[i].start);
			if (mt_json_parse(&one, tmp, strlen(tmp)) && mt_json_get_int(&one, 0, "v", &v))
				e->tids[e->ntids++] = (int)v;
		}
	t = mt_json_get(&js, 0, "pids");
	if (t >= 0 && js.tok[t].type == JSMN_ARRAY)
		for (i = t + 1, k = 0; k < js.tok[t].size && i < js.n; k++, i = mt_json_next(&js, i)) {
			int64_t pid, start;

			if (e->npids >= MT_FIXTURE_ITEMS || js.tok[i].type != JSMN_ARRAY || js.tok[i].size != 2)
				continue;
			snprintf(tmp, sizeof tmp, "{\"p\":%.*s,\"s\":%.*s}",
				 js.tok[i + 1].end - js.tok[i + 1].start, js.s + js.tok[i + 1].start,
				 js.tok[i + 2].end - js.tok[i + 2].start, js.s + js.tok[i + 2].start);
			if (mt_json_parse(&one, tmp, strlen(tmp)) &&
			    mt_json_get_int(&one, 0, "p", &pid) && mt_json_get_int(&one, 0, "s", &start)) {
				e->pids[e->npids] = (int)pid;
				e->pid_starts[e->npids++] = (unsigned long long)start;
			}
		}
}

/* "cmds": the command lines of "pids", in order. */
static void parse_cmds(struct mt_event *e)
{
	int t = mt_json_get(&js, 0, "cmds"), i, k;

	for (k = 0; k < MT_FIXTURE_ITEMS; k++)
		e->cmds[k][0] = '\0';
	if (t < 0 || js.tok[t].type != JSMN_ARRAY)
		return;
	for (i = t + 1, k = 0; k < js.tok[t].size && i < js.n; k++, i = mt_json_next(&js, i))
		if (k < MT_FIXTURE_ITEMS)
			mt_json_str(&js, i, e->cmds[k], sizeof e->cmds[k]);
}

/* An array of strings as "a, b, c" (thread names, neutralised flags). */
static void parse_names(struct mt_event *e, const char *key)
{
	int t = mt_json_get(&js, 0, key), i, k;
	struct mt_buf b;
	char name[128];

	mt_buf_init(&b, e->threads, sizeof e->threads, -1);
	if (t < 0 || js.tok[t].type != JSMN_ARRAY)
		return;
	for (i = t + 1, k = 0; k < js.tok[t].size && i < js.n; k++, i = mt_json_next(&js, i)) {
		mt_json_str(&js, i, name, sizeof name);
		if (k)
			mt_buf_puts(&b, ", ");
		mt_buf_puts(&b, name);
	}
}

/* "gone": [[pid, start, status], ...] */
static void parse_gone(struct mt_event *e)
{
	int t = mt_json_get(&js, 0, "gone"), i, k, j;
	int64_t v[3];
	struct mt_json one;
	char tmp[96];

	e->ngone = 0;
	if (t < 0 || js.tok[t].type != JSMN_ARRAY)
		return;
	for (i = t + 1, k = 0; k < js.tok[t].size && i < js.n; k++, i = mt_json_next(&js, i)) {
		if (e->ngone >= MT_HELPERS_MAX || js.tok[i].type != JSMN_ARRAY ||
		    js.tok[i].size != 3 || i + 3 >= js.n)
			continue;
		for (j = 0; j < 3; j++) {
			const jsmntok_t *x = &js.tok[i + 1 + j];

			if (x->type != JSMN_PRIMITIVE || x->end - x->start > 24)
				break;
			snprintf(tmp, sizeof tmp, "{\"v\":%.*s}", x->end - x->start, js.s + x->start);
			if (!mt_json_parse(&one, tmp, strlen(tmp)) || !mt_json_get_int(&one, 0, "v", &v[j]))
				break;
		}
		if (j < 3 || v[0] <= 0 || v[1] < 0)
			continue;
		e->gone[e->ngone].pid = (int)v[0];
		e->gone[e->ngone].start = (unsigned long long)v[1];
		e->gone[e->ngone].status = (int)v[2];
		e->ngone++;
	}
}

enum mt_ev mt_event_parse(struct mt_event *e, const char *line, size_t len,
			  const char *token)
{
	char kind[32], tok[48];
	unsigned k;
	int b;

	e->type = MT_EV_BAD;
	e->seq = -1;
	e->ngone = 0;
	if (!mt_json_parse(&js, line, len) || !mt_json_get_str(&js, 0, "t", kind, sizeof kind))
		return e->type;
	mt_json_get_str(&js, 0, "k", tok, sizeof tok);
	if (strcmp(tok, token) != 0)
		return e->type = MT_EV_FOREIGN;
	e->seq = get_int("q", -1);
	e->type = MT_EV_UNKNOWN;
	for (k = 0; k < sizeof types / sizeof types[0]; k++)
		if (strcmp(kind, types[k].name) == 0)
			e->type = types[k].type;
	e->i = get_int("i", -1);
	e->cursor = get_int("lp", -1);
	e->mono_us = get_int("mono", -1);
	switch (e->type) {
	case MT_EV_START:
		parse_gone(e);
		break;
	case MT_EV_FENCE:
		break;
	case MT_EV_DONE:
		e->mem_kib = get_int("m", -1);
		parse_durations(e);
		parse_gone(e);
		break;
	case MT_EV_PHASE: {
		char when[16], outcome[16];

		mt_json_get_str(&js, 0, "w", when, sizeof when);
		mt_json_get_str(&js, 0, "o", outcome, sizeof outcome);
		e->phase = mt_phase_parse(when);
		e->outcome = strcmp(outcome, "failed") == 0 ? MT_O_FAILED :
			     strcmp(outcome, "skipped") == 0 ? MT_O_SKIPPED : MT_O_PASSED;
		e->dur_us = get_us("d");
		e->wasxfail = mt_json_get(&js, 0, "xf") >= 0;
		STR("xf", xfail);
		STR("skip", skip);
		STR("exc", exc);
		STR("crash", crash);
		STR("lr", text);
		STR("out", out);
		STR("err", err);
		STR("log", log);
		break;
	}
	case MT_EV_ITEM:
		STR("id", id);
		STR("file", file);
		STR("path", path);
		e->line = get_int("line", 0);
		e->timeout_us = get_us("to");
		parse_markers(e);
		parse_groups(e);
		break;
	case MT_EV_COLLECTING:
		STR("nodeid", id);
		STR("path", path);
		STR("what", what);
		break;
	case MT_EV_COLLECT_ERROR:
		STR("nodeid", id);
		STR("path", path);
		STR("exc", exc);
		STR("lr", text);
		e->conftest = mt_json_get_bool(&js, 0, "conftest", &b) && b;
		e->initial = mt_json_get_bool(&js, 0, "initial", &b) && b;
		e->aborted = mt_json_get_bool(&js, 0, "aborted", &b) && b;
		break;
	case MT_EV_COLLECTED:
		e->n = get_int("n", 0);
		e->deselected = get_int("deselected", 0);
		break;
	case MT_EV_FIXTURE:
		e->key = get_int("key", 0);
		STR("name", name);
		STR("scope", scope);
		parse_owned(e);
		parse_cmds(e);
		break;
	case MT_EV_FIXTURE_END:
		e->key = get_int("key", 0);
		break;
	case MT_EV_FATAL:
		e->tid = get_int("tid", 0);
		e->sig = get_int("sig", 0);
		break;
	case MT_EV_THREAD:
		e->tid = get_int("tid", 0);
		STR("name", name);
		e->daemon = mt_json_get_bool(&js, 0, "daemon", &b) && b;
		break;
	case MT_EV_HELLO:
		e->pid = get_int("pid", 0);
		e->hexversion = get_int("hexversion", 0);
		e->interp = (uint64_t)get_int("interp", 0);
		e->runtime = (uint64_t)get_int("runtime", 0);
		e->pytb = (int)get_int("pytb", 0);
		e->ledger = get_int("ledger", -1);
		e->rlock = (uint64_t)get_int("rlock", 0);
		STR("ledger_err", text);
		STR("python", python);
		STR("pytest", pytest);
		STR("executable", executable);
		break;
	case MT_EV_CONFIG:
		STR("rootdir", rootdir);
		STR("inifile", inifile);
		STR("timeout_plugin", timeout_plugin);
		e->suite_timeout_us = get_us("suite_timeout");
		e->session_timeout_us = get_us("session_timeout");
		e->out_fd = get_int("out_fd", -1);
		e->err_fd = get_int("err_fd", -1);
		parse_names(e, "neutralised");
		break;
	case MT_EV_EXIT:
		STR("exc", exc);
		STR("msg", text);
		e->rc = get_int("rc", -1);
		break;
	case MT_EV_BYE:
		parse_names(e, "threads");
		break;
	case MT_EV_NOPYTEST:
	case MT_EV_WARN:
		STR("msg", text);
		break;
	case MT_EV_EXECFAIL:
		e->err_no = get_int("errno", 0);
		break;
	case MT_EV_ZYGOTE:
		e->ok = mt_json_get_bool(&js, 0, "ok", &b) && b;
		STR("why", text);
		break;
	case MT_EV_FORKED:
		e->n = get_int("n", 0);
		e->pid = get_int("pid", 0);
		break;
	default:
		break;
	}
	return e->type;
}
