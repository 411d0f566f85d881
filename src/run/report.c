/* mtest: --report. The journal is replayed into the same test table the
 * supervisor uses, and rendered by the same summary code. */
#include "mtest/run/report.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "mtest/base/buf.h"
#include "mtest/base/clock.h"
#include "mtest/base/fsx.h"
#include "mtest/base/json.h"
#include "mtest/base/msg.h"
#include "mtest/run/junit.h"
#include "mtest/run/lava.h"
#include "mtest/run/run.h"
#include "mtest/state/runstate.h"
#include "mtest/state/statedir.h"
#include "mtest/run/summary.h"

struct replay {
	uint32_t lines;			/* lines read */
	uint32_t bad;			/* of them, not a record */
	uint32_t first_bad;		/* the first such line's number */
	int torn;			/* the last line had no newline */
	struct mt_run run;
	struct mt_notes notes;
	struct mt_dirties dirties;
	struct mt_meta meta;
	struct mt_json js;
	int ended;
	int64_t last_wall_us;
	char sec_text[20];		/* the last stamp's second, "2026-12-01T02:00:01." */
	int64_t sec_us;			/* and its time */
	char python[64], pytest[64], stopped[64], fatal[1024], processes[512];
	/* Decoded fields of one record. */
	char id[MT_ID_MAX + 32], file[MT_PATH_MAX], reason[MT_REASON_MAX * 2];
	char detail[MT_DETAIL_MAX * 2], tb[MT_TBTAIL_MAX * 2], bundle[MT_PATH_MAX];
	char text[MT_EVENT_TEXT_MAX], kind[16], verdict[32], what[32], stamp[40];
};

static struct replay R[2];	/* --history compares two runs */
static char line[MT_RECORD_MAX];

/* One of mtest's own 24-byte stamps (no escapes in them), or 0; most
 * records are of the second before them: only the milliseconds. */
static int64_t stamp24(struct replay *p, const char *raw)
{
	int64_t us = 0;
	int ms = raw[20] >= '0' && raw[20] <= '9' && raw[21] >= '0' && raw[21] <= '9' &&
		 raw[22] >= '0' && raw[22] <= '9' && raw[23] == 'Z' ?
		 (raw[20] - '0') * 100 + (raw[21] - '0') * 10 + (raw[22] - '0') : -1;

	if (ms >= 0 && p->sec_text[0] && memcmp(raw, p->sec_text, 20) == 0)
		return p->sec_us + ms * 1000;
	if (mt_parse_utc24(raw, &us)) {
		memcpy(p->sec_text, raw, 20);
		p->sec_us = us - ms * 1000;
		return us;
	}
	return 0;
}

static int64_t get_time(struct replay *p, int t)
{
	const struct mt_json *j = &p->js;
	int64_t us = 0;

	if (mt_json_is_str(j, t) && j->tok[t].end - j->tok[t].start == 24 &&
	    (us = stamp24(p, j->s + j->tok[t].start)))
		return us;
	mt_json_str(j, t, p->stamp, sizeof p->stamp);
	return mt_parse_utc(p->stamp, &us) ? us : 0;
}

/* A record's keys that a replay reads from thousands: found while the
 * record is parsed (the rarer records' keys are looked up one by one);
 * the rest of their keys, skipped, are known too (json.h). */
enum {
	K_TYPE, K_TIME, K_ID, K_FILE, K_KIND, K_VERDICT, K_REASON, K_DETAIL, K_TB, K_BUNDLE,
	K_LINE, K_DURATION, K_WORKER, K_ATTEMPT, K_PLANNED, K_QUARANTINED, K_DIRTY_EVENT,
	K_STARTED, K_V, K_START, K_END, K_LANE, K_MEM, K_COUNT
};
static const char *const record_keys[K_COUNT] = {
	[K_TYPE] = "type", [K_TIME] = "time", [K_V] = "v", [K_START] = "start", [K_END] = "end",
	[K_LANE] = "lane",
	[K_ID] = "id", [K_FILE] = "file", [K_KIND] = "kind", [K_VERDICT] = "verdict",
	[K_REASON] = "reason", [K_DETAIL] = "detail", [K_TB] = "tb", [K_BUNDLE] = "bundle",
	[K_LINE] = "line", [K_DURATION] = "duration", [K_WORKER] = "worker",
	[K_ATTEMPT] = "attempt", [K_PLANNED] = "planned", [K_QUARANTINED] = "quarantined",
	[K_DIRTY_EVENT] = "dirty_event", [K_STARTED] = "started", [K_MEM] = "mem_peak_kib",
};

static void replay_test(struct replay *p, const int *k)
{
	struct mt_json *j = &p->js;
	struct mt_vinfo v = { 0 };
	int64_t x;
	uint32_t slot;
	enum mt_kind kind;

	mt_json_str(j, k[K_ID], p->id, sizeof p->id);
	mt_json_str(j, k[K_FILE], p->file, sizeof p->file);
	mt_json_str(j, k[K_KIND], p->kind, sizeof p->kind);
	mt_json_str(j, k[K_VERDICT], p->verdict, sizeof p->verdict);
	mt_json_str(j, k[K_REASON], p->reason, sizeof p->reason);
	mt_json_str(j, k[K_DETAIL], p->detail, sizeof p->detail);
	mt_json_str(j, k[K_TB], p->tb, sizeof p->tb);
	mt_json_str(j, k[K_BUNDLE], p->bundle, sizeof p->bundle);
	v.verdict = mt_verdict_parse(p->verdict);
	if (v.verdict == MT_V_NONE)
		return;
	kind = strcmp(p->kind, "file") == 0 ? MT_KIND_FILE : MT_KIND_TEST;
	slot = mt_run_add(&p->run, kind, p->id, kind == MT_KIND_TEST ? p->file : NULL, NULL,
			  mt_json_int(j, k[K_LINE], &x) ? (uint32_t)x : 0, -1);
	v.reason = p->reason;
	v.detail = p->detail;
	v.tbtail = p->tb;
	v.bundle = p->bundle;
	if (mt_json_us(j, k[K_DURATION], &x))
		v.duration_us = x;
	if (mt_json_int(j, k[K_MEM], &x))
		v.mem_kib = x;
	if (mt_json_int(j, k[K_WORKER], &x))
		v.worker = (int)x;
	if (mt_json_int(j, k[K_ATTEMPT], &x))
		v.attempt = (int)x;
	{
		int planned = 0;

		if (mt_json_bool(j, k[K_PLANNED], &planned))
			v.planned = planned;
	}
	v.id = p->id;
	v.file = p->file;
	{
		int q = 0;

		if (slot != MT_NONE && mt_json_bool(j, k[K_QUARANTINED], &q))
			p->run.t[slot].quarantined = (uint8_t)q;
	}
	if (slot == MT_NONE)
		mt_run_decide_unstored(&p->run, kind, &v);
	else
		mt_run_decide(&p->run, slot, &v);
	/* Which dirty event it started after: its shadow, or its restart. */
	if (mt_json_int(j, k[K_DIRTY_EVENT], &x) && x >= 1 && x <= p->dirties.n) {
		mt_json_str(j, k[K_STARTED], p->kind, sizeof p->kind);
		if (strcmp(p->kind, "dirty") == 0)
			p->dirties.d[x - 1].shadow++;
		else if (strcmp(p->kind, "restarted") == 0)
			p->dirties.d[x - 1].restarted = 1;
	}
}

static void replay_dirty(struct replay *p)
{
	struct mt_dirty *d;

	if (p->dirties.n == MT_DIRTY_MAX) {
		p->dirties.dropped++;
		return;
	}
	d = &p->dirties.d[p->dirties.n++];
	d->id = p->dirties.n;
	d->shadow = 0;
	d->restarted = 0;
	mt_json_get_str(&p->js, 0, "cause", d->cause, sizeof d->cause);
}

static void replay_recheck(struct replay *p)
{
	uint32_t slot;

	mt_json_get_str(&p->js, 0, "id", p->id, sizeof p->id);
	mt_json_get_str(&p->js, 0, "class", p->verdict, sizeof p->verdict);
	slot = mt_run_find(&p->run, MT_KIND_TEST, p->id);
	if (slot != MT_NONE)
		p->run.t[slot].recheck = mt_run_intern(&p->run, p->verdict);
}

static struct mt_json_keys *keys(void)
{
	static struct mt_json_keys k;

	if (!k.name)
		mt_json_keys(&k, record_keys, K_COUNT);
	return &k;
}

/* A line parsed (ok) or not: counted, and a record replayed. */
static void replay_parsed(struct replay *p, int ok, const int *k)
{
	struct mt_json *j = &p->js;
	char type[32];
	int64_t x;

	p->lines++;
	if (!ok || !mt_json_str(j, k[K_TYPE], type, sizeof type)) {
		if (!p->bad++)
			p->first_bad = p->lines;
		return;
	}
	x = get_time(p, k[K_TIME]);
	if (x)
		p->last_wall_us = x;
	if (strcmp(type, "test") == 0) {
		replay_test(p, k);
	} else if (strcmp(type, "start") == 0) {
		/* a test's start: its time only (half of a journal's records) */
	} else if (strcmp(type, "dirty") == 0) {
		replay_dirty(p);
	} else if (strcmp(type, "recheck_class") == 0) {
		replay_recheck(p);
	} else if (strcmp(type, "resume") == 0) {
		/* The run goes on under another mtest: that one is alive or not. */
		if (mt_json_get_int(j, 0, "pid", &x))
			p->meta.pid = (int)x;
	} else if (strcmp(type, "run_start") == 0) {
		p->meta.start_wall_us = x;
		if (mt_json_get_int(j, 0, "pid", &x))
			p->meta.pid = (int)x;
		if (mt_json_get_str(j, 0, "processes", p->processes, sizeof p->processes) > 0)
			p->meta.processes = p->processes;
	} else if (strcmp(type, "worker") == 0) {
		char role[16] = "";

		mt_json_get_str(j, 0, "role", role, sizeof role);
		if (strcmp(role, "zygote") != 0)
			p->meta.workers++;
		if (strcmp(role, "forked") == 0)
			p->meta.forked++;
		mt_json_get_str(j, 0, "python", p->python, sizeof p->python);
		mt_json_get_str(j, 0, "pytest", p->pytest, sizeof p->pytest);
	} else if (strcmp(type, "gone") == 0) {
		mt_json_get_str(j, 0, "id", p->id, sizeof p->id);
		mt_run_gone(&p->run, mt_run_find(&p->run, MT_KIND_TEST, p->id));
	} else if (strcmp(type, "plan") == 0 && mt_json_get_int(j, 0, "part", &x) && x == 0) {
		p->meta.plan_known = 1;
		mt_json_get_int(j, 0, "budget_us", &p->meta.plan_budget_us);
		mt_json_get_int(j, 0, "predicted_us", &p->meta.plan_predicted_us);
		if (mt_json_get_int(j, 0, "chosen", &x))
			p->meta.plan_chosen = (uint32_t)x;
		if (mt_json_get_int(j, 0, "left_out", &x))
			p->meta.plan_left_out = (uint32_t)x;
	} else if (strcmp(type, "collected") == 0) {
		p->meta.collected_known = 1;
		if (mt_json_get_int(j, 0, "tests", &x))
			p->meta.collected = (uint32_t)x;
		if (mt_json_get_int(j, 0, "deselected", &x))
			p->meta.deselected = (uint32_t)x;
	} else if (strcmp(type, "event") == 0) {
		mt_json_get_str(j, 0, "what", p->what, sizeof p->what);
		mt_json_get_str(j, 0, "text", p->text, sizeof p->text);
		mt_notes_add(&p->notes, p->what, p->text);
	} else if (strcmp(type, "run_end") == 0) {
		p->ended = 1;
		if (mt_json_get_int(j, 0, "exit", &x))
			p->meta.exit_code = (int)x;
		if (mt_json_get_us(j, 0, "duration", &x))
			p->meta.elapsed_us = x;
		if (mt_json_get_int(j, 0, "vmhwm_kb", &x))
			p->meta.vmhwm_kb = x;
		if (mt_json_get_str(j, 0, "stopped", p->stopped, sizeof p->stopped))
			p->meta.stopped = p->stopped;
		if (mt_json_get_str(j, 0, "fatal", p->fatal, sizeof p->fatal))
			p->meta.fatal = p->fatal;
	}
}

static void replay_line(struct replay *p, const char *s, size_t n)
{
	int k[K_COUNT];

	replay_parsed(p, mt_json_parse_keys(&p->js, s, n, keys(), k), k);
}

/* A test's start record, as mtest writes it: only its time counts here, so
 * it is taken without a parse (a third of a journal's bytes). Returns the
 * length up to its newline, or 0 for any other line (parsed as usual). */
static size_t start_record(struct replay *p, const char *s, size_t avail)
{
	static const char head[] = "{\"v\":1,\"type\":\"start\",\"time\":\"";
	const size_t hn = sizeof head - 1;
	const char *nl;
	int64_t x;

	if (avail < hn + 26 || memcmp(s, head, hn) != 0 || s[hn + 24] != '"' ||
	    s[hn + 25] != ',' || !(x = stamp24(p, s + hn)))
		return 0;
	nl = memchr(s + hn + 26, '\n', avail - hn - 26);
	if (!nl || nl[-1] != '}')
		return 0;	/* cut short, or not ours: the parser says what it is */
	p->lines++;
	p->last_wall_us = x;
	return (size_t)(nl - s);
}

/* The journal's lines, read from fd or, when fd < 0, taken from text:
 * the same line buffer and limits either way. */
static void replay_lines(struct replay *p, int fd, const char *text, size_t n)
{
	size_t len = 0, used, m;
	ssize_t r;
	char *nl, *start;
	int skipping = 0, k[K_COUNT];

	for (;;) {
		if (fd >= 0) {
			r = read(fd, line + len, sizeof line - len);
		} else {
			r = (ssize_t)(n < sizeof line - len ? n : sizeof line - len);
			if (r) {
				memcpy(line + len, text, (size_t)r);
				text += r;
				n -= (size_t)r;
			}
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
		start = line;
		for (;;) {
			if (!skipping && (m = start_record(p, start, len - (size_t)(start - line)))) {
				start += m + 1;
				continue;
			}
			/* Most lines: parsed up to their newline in one pass. */
			if (!skipping && (m = mt_json_parse_line(&p->js, start,
								 len - (size_t)(start - line),
								 keys(), k))) {
				replay_parsed(p, 1, k);
				start += m + 1;
				continue;
			}
			if (!(nl = memchr(start, '\n', len - (size_t)(start - line))))
				break;
			if (!skipping)
				replay_line(p, start, (size_t)(nl - start));
			skipping = 0;
			start = nl + 1;
		}
		used = (size_t)(start - line);
		memmove(line, start, len - used);
		len -= used;
		if (len == sizeof line) {
			/* Longer than any record mtest writes. */
			if (!skipping && !p->bad++)
				p->first_bad = p->lines + 1;
			if (!skipping)
				p->lines++;
			skipping = 1;
			len = 0;
		}
	}
	if (len && !skipping) {
		/* No newline: a record cut by a power cut, or not a record. */
		p->torn = 1;
		replay_line(p, line, len);
	}
}

static int replay_file(struct replay *p, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	replay_lines(p, fd, NULL, 0);
	close(fd);
	return 1;
}

static void replay_reset(struct replay *p)
{
	memset(&p->meta, 0, sizeof p->meta);
	p->notes.len = p->notes.dropped = 0;
	p->dirties.n = p->dirties.dropped = 0;
	p->ended = 0;
	p->sec_text[0] = '\0';
	p->lines = p->bad = p->first_bad = 0;
	p->torn = 0;
	p->meta.vmhwm_kb = -1;
	mt_run_init(&p->run, NULL, NULL);
}

/* Is folder the newest run's? Only that one may be live: the lock is the
 * newest run's. */
static int newest(const struct mt_statedir *sd, const char *folder)
{
	char name[64];
	const char *base = strrchr(folder, '/');

	if (strcmp(folder, sd->last) == 0)
		return 1;
	return base && mt_statedir_newest(sd, name, sizeof name) && strcmp(name, base + 1) == 0;
}

/* A run whose run_end did not reach the disk (a full disk) but that
 * ended: state.json, written apart, may say so. Then it is done, with
 * that exit code, and not said to have died. */
static int ended_per_state(struct replay *p, const struct mt_statedir *sd, const char *folder)
{
	char text[1024];
	const char *base = strrchr(folder, '/');
	struct mt_runstate st;
	ssize_t n;

	/* Through the state directory found (and checked): a regular file only. */
	n = mt_read_file_at(sd->fd, "state.json", text, sizeof text);
	if (n <= 0 || !base || !mt_runstate_parse(text, (size_t)n, &st) ||
	    strcmp(st.run, base + 1) != 0 || strcmp(st.status, "running") == 0 || st.exit_code < 0)
		return 0;
	p->meta.state = MT_RUN_DONE;
	p->meta.exit_code = st.exit_code;
	snprintf(text, sizeof text, "run.jsonl has no run_end record (a full disk?); state.json "
		 "says the run ended with exit %d", st.exit_code);
	mt_notes_add(&p->notes, "records", text);
	return 1;
}

/* How a replayed run stands: done, or without its end live if sd says
 * so, else dead (sd NULL: a journal with no state directory). Returns its
 * exit code, or what it would be if it ended now. */
static int replay_settle(struct replay *p, const struct mt_statedir *sd, const char *folder)
{
	p->meta.python = p->python;
	p->meta.pytest = p->pytest;
	p->meta.last_dir = folder;
	p->meta.notes = &p->notes;
	p->meta.dirties = &p->dirties;
	if (p->ended) {
		p->meta.state = MT_RUN_DONE;
		return p->meta.exit_code;
	}
	p->meta.state = sd && newest(sd, folder) && mt_statedir_busy(sd) ? MT_RUN_LIVE :
			MT_RUN_DEAD;
	if (p->meta.state == MT_RUN_DEAD && sd && ended_per_state(p, sd, folder)) {
		if (p->meta.collected_known && p->meta.collected > p->run.ntests)
			p->run.ntests = p->meta.collected;
		return p->meta.exit_code;
	}
	p->meta.elapsed_us = (p->meta.state == MT_RUN_LIVE ? mt_wall_us() : p->last_wall_us) -
			     p->meta.start_wall_us;
	if (p->meta.collected_known && p->meta.collected > p->run.ntests)
		p->run.ntests = p->meta.collected;	/* tests with no record yet */
	return mt_run_exit_code(&p->run);
}

int mt_report_replay(const char *text, size_t n, struct mt_buf *out)
{
	int code;

	replay_reset(&R[0]);
	replay_lines(&R[0], -1, text, n);
	code = replay_settle(&R[0], NULL, NULL);
	mt_summary_render(out, &R[0].run, &R[0].meta, 0);
	return code;
}

int mt_report_view(int k, const char *folder, const struct mt_statedir *sd,
		   struct mt_runview *v)
{
	struct replay *p = &R[k & 1];
	char path[MT_PATH_MAX + 16];

	replay_reset(p);
	snprintf(path, sizeof path, "%s/run.jsonl", folder);
	if (!replay_file(p, path))
		return 0;
	v->code = replay_settle(p, sd, folder);
	v->run = &p->run;
	v->meta = &p->meta;
	v->lines = p->lines;
	v->bad = p->bad;
	v->first_bad = p->first_bad;
	v->torn = p->torn;
	return 1;
}

int mt_report_main(const struct mt_opts *o)
{
	static char out_bytes[MT_OUTBUF];
	struct mt_statedir sd;
	struct mt_runview v;
	char looked[2048], folder[MT_PATH_MAX + 80], name[64];
	struct mt_buf out;

	if (!mt_statedir_find(&sd, o, looked, sizeof looked)) {
		mt_msg("no run to report; looked in %s", looked);
		return MT_EXIT_USAGE;
	}
	if (!o->report_run && mt_statedir_newest(&sd, name, sizeof name))
		snprintf(folder, sizeof folder, "%s/runs/%s", sd.dir, name);
	else if (!o->report_run)
		snprintf(folder, sizeof folder, "%s", sd.last);	/* an old layout's */
	else if (!mt_runs_pick(&sd, o->report_run, folder, sizeof folder))
		return MT_EXIT_USAGE;
	if (!mt_report_view(0, folder, &sd, &v)) {
		mt_msg_sys("cannot read %s/run.jsonl", folder);
		return MT_EXIT_INTERNAL;
	}
	if (v.bad)
		mt_msg("%s/run.jsonl:%u: not a record%s; %u line%s of %u skipped, the rest reported",
		       folder, v.first_bad, v.torn && v.first_bad == v.lines ?
		       " (cut short: a power cut?)" : "", v.bad, v.bad == 1 ? "" : "s", v.lines);
	if (o->junit && !mt_junit_write(o->junit, v.run, v.meta))
		return MT_EXIT_INTERNAL;
	if (o->lava) {
		struct mt_lava l = { { 0 } };
		char end[32];

		mt_buf_init(&out, end, sizeof end, 1);
		mt_lava_replay(&l, v.run);
		mt_lava_end(&l, &out);
		mt_buf_flush(&out);
	}
	mt_buf_init(&out, out_bytes, sizeof out_bytes, 1);
	out.defang = o->lava;
	R[0].meta.heaviest = 1;	/* --report's own: the tests that took most memory */
	mt_summary_render(&out, v.run, v.meta, isatty(1));
	mt_buf_flush(&out);
	return v.code;
}
