/* mtest: the supervisor loop. */
#include "mtest/super.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mtest/bundle.h"
#include "mtest/capture.h"
#include "mtest/clock.h"
#include "mtest/events.h"
#include "mtest/fsx.h"
#include "mtest/heapcheck.h"
#include "mtest/msg.h"
#include "mtest/plugin.h"
#include "mtest/procs.h"
#include "mtest/progress.h"
#include "mtest/records.h"
#include "mtest/run.h"
#include "mtest/statedir.h"
#include "mtest/summary.h"
#include "mtest/verdict.h"
#include "mtest/watch.h"
#include "mtest/worker.h"

extern char **environ;

#define RUN_TAG_VAR "MTEST_RUN"

/* Why the run stops before its tests are done. */
enum stop {
	STOP_NONE = 0,
	STOP_INTERRUPTED,	/* SIGINT, SIGTERM, SIGHUP */
	STOP_RUN_TIMEOUT,
	STOP_NO_PROGRESS,	/* workers keep dying without a verdict */
	STOP_FATAL,		/* a usage or internal error */
};

/* The test a worker is running. */
struct inflight {
	uint32_t slot;		/* MT_NONE when idle */
	int64_t start_us, start_wall_us, deadline_us, timeout_us;
	struct mt_phases ph;
	char crash[MT_DETAIL_MAX];
	char tb[MT_TBTAIL_MAX];
	char fail[MT_FAILBUF_MAX];
	struct mt_buf fb;
};

/* Why a capture was started, and so what its end means. */
enum capture_for {
	CAPTURE_NONE = 0,
	CAPTURE_DEADLOCK,	/* a certain deadlock: end the test */
	CAPTURE_LIKELY,		/* a likely one: keep the evidence, wait */
	CAPTURE_TIMEOUT,	/* the test's timeout: end it */
	CAPTURE_AFTER,		/* --capture-after: evidence only */
	CAPTURE_CRASH,		/* stopped by its crash handler: then SIGCONT */
};

/* The watch over the test in flight (docs/watchdog.md). */
struct watch {
	struct mt_sample sample[2];
	int newest;			/* index of the newest sample */
	int samples;			/* taken for this test */
	int64_t next_us;		/* next sample, MT_NEVER when idle */
	struct mt_diag diag;
	int have_diag;
	int64_t stall_since_us;		/* 0 unless deadlocked so far */
	int likely_captured, legit_wait, after_captured, timed_out;
	uint32_t slot;			/* the test a capture is for */

	pid_t helper;			/* capture in progress, or 0 */
	enum capture_for why;
	int64_t helper_deadline_us;
	int helper_status;
	int helper_done;
	char path[MT_PATH_MAX];		/* the capture being written */
	char kept[MT_PATH_MAX];		/* the last finished one */
	char headline[MT_DETAIL_MAX];
};

struct super {
	const struct mt_opts *o;
	struct mt_statedir sd;
	struct mt_run run;
	struct mt_records rec;
	struct mt_progress prog;
	struct mt_notes notes;
	struct mt_fingerprint fp;
	struct mt_worker w;
	struct inflight cur;
	struct mt_event ev;
	struct watch watch;
	struct mt_names names;
	uint64_t interp;		/* the worker's PyInterpreterState */
	long hexversion;
	int ncaptures;
	const char *capture_for_bundle;	/* stacks to put in the next bundle */
	char preload[MT_PATH_MAX];	/* the crash handler, "" if not found */
	pid_t crash_tid;		/* the worker's crash handler spoke */
	int crash_sig;
	char crash_capture[MT_PATH_MAX];

	int sigfd;
	int console_fd;
	uint64_t console_logged;
	int nworkers;
	enum stop stop;
	const char *stop_reason;	/* not_run reason for the rest */
	int exit_code;			/* set by a fatal stop */
	char fatal[1024];
	int deaths;			/* in a row, without a new verdict */
	uint32_t settled_at_spawn;
	int table_closed;		/* a collection finished */
	uint32_t collected, deselected;
	int64_t start_us, start_wall_us, run_deadline_us;
	int64_t suite_timeout_us;	/* pytest-timeout's setting, -1 if none */
	int got_config;			/* the worker's pytest configured */
	int recollect;			/* collection aborted: collect again */
	int hopeless;			/* an initial conftest failed */
	int exit_event;			/* the worker reported pytest.exit */
	char exit_msg[256];
	char holders[MT_EVENT_TEXT_MAX];	/* threads keeping it alive */
	int64_t exit_deadline_us;	/* for a worker that should exit */
	char collecting_id[MT_ID_MAX + 32];
	char collecting_path[MT_PATH_MAX];
	int64_t collect_deadline_us;
	uint32_t ignore[MT_IGNORES_MAX];	/* arena offsets of paths */
	int nignores;
	char rootdir[MT_PATH_MAX];
	char run_tag[64];

	char *argv[MT_ARGV_MAX + 1];
	char argbytes[MT_ARGV_BYTES];
	char *envp[MT_ENV_MAX + 1];
	char envbytes[MT_ENV_BYTES];
};

static struct super S;

static void watch_reset(struct super *s, int64_t start_us);

/* Scratch for texts read at a hang or a crash. */
static char cap_out[MT_TAIL_MAX + 1], cap_err[MT_TAIL_MAX + 1];
static char console_tail[MT_TAIL_MAX + 1];

/* ---- notes, bundles and verdicts ------------------------------------- */

static void note(struct super *s, const char *what, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void note(struct super *s, const char *what, const char *fmt, ...)
{
	char text[MT_EVENT_TEXT_MAX];
	struct mt_buf *b;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	mt_notes_add(&s->notes, what, text);
	b = mt_records_begin(&s->rec, "event");
	mt_rec_str(b, "what", what, 64);
	mt_rec_str(b, "text", text, 2048);
	mt_records_end(&s->rec, mt_now_us());
	mt_progress_note(&s->prog, text);
}

/* The record of a verdict, and its progress line: run.c calls this once
 * per test, from mt_run_decide. */
static void on_verdict(void *ctx, struct mt_run *r, uint32_t slot, const struct mt_vinfo *v)
{
	struct super *s = ctx;
	const struct mt_test *t = slot != MT_NONE ? &r->t[slot] : NULL;
	const char *id = t ? mt_run_str(r, t->id) : v->id;
	const char *file = t && t->file != MT_NONE ? mt_run_str(r, r->f[t->file].rel) : v->file;
	struct mt_buf *b = mt_records_begin(&s->rec, "test");
	int64_t now = mt_now_us();

	mt_rec_str(b, "id", id, 8192);
	if (t && t->kind == MT_KIND_FILE)
		mt_rec_str(b, "kind", "file", 8);
	mt_rec_str(b, "file", file, 4096);
	if (t)
		mt_rec_int(b, "line", t->line);
	mt_rec_str(b, "verdict", mt_verdict_name(v->verdict), 32);
	mt_rec_str(b, "reason", v->reason, 1024);
	if (v->detail && *v->detail)
		mt_rec_str(b, "detail", v->detail, 2048);
	if (v->tbtail && *v->tbtail)
		mt_rec_str(b, "tb", v->tbtail, 6144);
	mt_rec_secs(b, "duration", v->duration_us);
	if (v->start_wall_us)
		mt_rec_time(b, "start", v->start_wall_us);
	mt_rec_time(b, "end", v->end_wall_us ? v->end_wall_us : mt_wall_us());
	mt_rec_int(b, "worker", v->worker);
	mt_rec_int(b, "attempt", v->attempt ? v->attempt : 1);
	if (v->bundle && *v->bundle)
		mt_rec_str(b, "bundle", v->bundle, 2048);
	if (v->capture && *v->capture)
		mt_rec_str(b, "capture", v->capture, 2048);
	mt_records_end(&s->rec, now);
	mt_progress_verdict(&s->prog, r, slot, id, v, now);
}

/* Write the bundle of a bad verdict and point the verdict at it. */
static void bundle(struct super *s, const char *id, struct mt_vinfo *v, const char *failure,
		   int with_inflight_output, char *name, size_t cap)
{
	struct mt_bundle b = { 0 };
	char dir[MT_PATH_MAX + 16], file[512];

	if (!mt_verdict_is_bad(v->verdict))
		return;
	mt_bundle_name(id, file, sizeof file);
	snprintf(dir, sizeof dir, "%s/failures", s->sd.last);
	b.id = id;
	b.verdict = mt_verdict_name(v->verdict);
	b.reason = v->reason;
	b.detail = v->detail;
	b.duration_us = v->duration_us;
	b.timeout_us = s->cur.slot != MT_NONE ? s->cur.timeout_us : 0;
	b.start_wall_us = v->start_wall_us ? v->start_wall_us : mt_wall_us();
	b.worker = v->worker;
	b.attempt = v->attempt ? v->attempt : 1;
	b.pid = s->w.pid;
	b.failure = failure;
	if (with_inflight_output) {
		b.cap_out = cap_out;
		b.cap_err = cap_err;
	}
	mt_ring_tail(&s->w.console, console_tail, sizeof console_tail);
	b.console = console_tail;
	b.stacks_path = s->capture_for_bundle;
	b.fp = &s->fp;
	if (!mt_bundle_write(dir, file, &b)) {
		note(s, "bundle", "cannot write bundle %s/%s: %s", dir, file,
		     mt_strerror(errno));
		return;
	}
	snprintf(name, cap, "failures/%s", file);
	v->bundle = name;
}

/* Output of the test in flight, from pytest's capture files: read before
 * a kill, or after a death (mtest holds the files open). */
static void read_inflight_output(struct super *s)
{
	cap_out[0] = cap_err[0] = '\0';
	if (s->w.cap_fd[0] >= 0 && mt_read_tail(s->w.cap_fd[0], cap_out, MT_TAIL_MAX) < 0)
		cap_out[0] = '\0';
	if (s->w.cap_fd[1] >= 0 && mt_read_tail(s->w.cap_fd[1], cap_err, MT_TAIL_MAX) < 0)
		cap_err[0] = '\0';
}

static void inflight_reset(struct super *s)
{
	struct inflight *c = &s->cur;

	c->slot = MT_NONE;
	c->deadline_us = MT_NEVER;
	mt_phases_reset(&c->ph);
	c->crash[0] = c->tb[0] = '\0';
	mt_buf_init(&c->fb, c->fail, sizeof c->fail, -1);
	s->watch.next_us = MT_NEVER;
}

/* Stacks that --capture-after took of a test that then ended: kept in
 * last-run/captures/ (a hung test's go into its bundle instead); stacks of
 * a likely deadlock that came to nothing are dropped. */
static void keep_capture(struct super *s, const char *id, struct mt_vinfo *v, char *name,
			 size_t cap)
{
	struct watch *wt = &s->watch;
	char file[512], path[MT_PATH_MAX + 600];

	if (!wt->kept[0])
		return;
	if (wt->after_captured) {
		mt_bundle_name(id, file, sizeof file);
		snprintf(path, sizeof path, "%s/captures", s->sd.last);
		if (mt_mkdir_p(path, 0755)) {
			snprintf(path, sizeof path, "%s/captures/%s", s->sd.last, file);
			if (rename(wt->kept, path) == 0) {
				snprintf(name, cap, "captures/%s", file);
				v->capture = name;
			}
		}
	}
	unlink(wt->kept);	/* gone already if it was moved */
	wt->kept[0] = '\0';
}

/* Give the test in flight its verdict, with a bundle when it is bad. */
static void settle_inflight(struct super *s, enum mt_verdict verdict, const char *reason,
			    const char *detail, int with_output)
{
	struct inflight *c = &s->cur;
	struct mt_vinfo v = { 0 };
	char name[600], capname[600];
	int64_t now = mt_now_us();

	if (c->slot == MT_NONE)
		return;
	v.verdict = verdict;
	v.reason = reason;
	v.detail = detail && *detail ? detail : c->crash;
	v.tbtail = c->tb;
	v.duration_us = now - c->start_us;
	v.start_wall_us = c->start_wall_us;
	v.end_wall_us = mt_wall_us();
	v.worker = s->w.num;
	v.attempt = 1;
	bundle(s, mt_run_str(&s->run, s->run.t[c->slot].id), &v, c->fail, with_output,
	       name, sizeof name);
	keep_capture(s, mt_run_str(&s->run, s->run.t[c->slot].id), &v, capname,
		     sizeof capname);
	mt_run_decide(&s->run, c->slot, &v);
	inflight_reset(s);
}

/* ---- stopping and killing --------------------------------------------- */

static void kill_worker(struct super *s, int64_t now, const char *why)
{
	struct mt_worker *w = &s->w;

	if (w->state == MT_W_NONE || w->state == MT_W_DEAD || w->state == MT_W_KILLING)
		return;
	w->state = MT_W_KILLING;
	w->killing = 1;
	snprintf(w->kill_reason, sizeof w->kill_reason, "%s", why);
	if (s->watch.helper)
		kill(s->watch.helper, SIGKILL);	/* it detaches as it dies */
	if (s->o->kill_grace_us == 0) {
		mt_worker_signal(w, SIGKILL);
		w->kill_sent = 1;
		w->kill_at_us = MT_NEVER;
		return;
	}
	mt_worker_signal(w, SIGTERM);
	w->kill_at_us = now + s->o->kill_grace_us;
}

static void stop_run(struct super *s, enum stop why, const char *reason, int64_t now)
{
	if (s->stop != STOP_NONE)
		return;
	s->stop = why;
	s->stop_reason = reason;
	/* The test in flight did not fail: the run was stopped around it. */
	settle_inflight(s, MT_V_NOT_RUN, reason, NULL, 0);
	kill_worker(s, now, reason);
}

static void fatal(struct super *s, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void fatal(struct super *s, int code, const char *fmt, ...)
{
	va_list ap;

	if (s->stop == STOP_FATAL)
		return;
	va_start(ap, fmt);
	vsnprintf(s->fatal, sizeof s->fatal, fmt, ap);
	va_end(ap);
	mt_msg("%s", s->fatal);
	s->exit_code = code;
	s->stop = STOP_NONE;	/* a fatal error outranks any earlier stop */
	stop_run(s, STOP_FATAL, "fatal error", mt_now_us());
}

/* ---- feeding the worker ------------------------------------------------ */

static uint32_t item_file(struct super *s, uint32_t item)
{
	uint32_t slot = s->w.map[item];

	return slot == MT_NONE ? MT_NONE : s->run.t[slot].file;
}

/* Keep about two batches of tests queued in the worker, with a fence at
 * each file boundary; "e" once all are sent. */
static void top_up(struct super *s)
{
	struct mt_worker *w = &s->w;
	char line[MT_CONTROL_BATCH * 8 + 16];
	struct mt_buf b;
	uint32_t sent = 0;

	if (s->stop != STOP_NONE || w->state != MT_W_RUNNING)
		return;
	while (w->qsent < w->qlen && w->qsent - w->qdone < 2 * MT_CONTROL_BATCH) {
		mt_buf_init(&b, line, sizeof line, -1);
		if (w->qsent > 0 &&
		    item_file(s, w->queue[w->qsent]) != item_file(s, w->queue[w->qsent - 1]))
			mt_buf_puts(&b, "f\n");
		mt_buf_putc(&b, 'r');
		for (sent = 0; w->qsent < w->qlen && sent < MT_CONTROL_BATCH; sent++) {
			if (sent && item_file(s, w->queue[w->qsent]) !=
					    item_file(s, w->queue[w->qsent - 1]))
				break;	/* the fence goes on the next line */
			mt_buf_printf(&b, " %u", w->queue[w->qsent++]);
		}
		mt_buf_putc(&b, '\n');
		if (!mt_worker_send(w, b.p, b.len)) {
			fatal(s, MT_EXIT_INTERNAL, "control pipe to worker %d is full", w->num);
			return;
		}
	}
	if (w->qsent == w->qlen && !w->ended) {
		mt_worker_send(w, "e\n", 2);
		w->ended = 1;
	}
}

/* ---- events from the plugin -------------------------------------------- */

static int64_t test_timeout(struct super *s, uint32_t slot)
{
	int64_t t = s->run.t[slot].timeout_us;

	if (t >= 0)
		return t;	/* its marker */
	if (s->o->timeout_us >= 0)
		return s->o->timeout_us;
	if (s->suite_timeout_us >= 0)
		return s->suite_timeout_us;
	return MT_DEFAULT_TIMEOUT_US;
}

static void ev_hello(struct super *s, const struct mt_event *e)
{
	struct mt_buf *b;

	snprintf(s->fp.python, sizeof s->fp.python, "%s", e->python);
	snprintf(s->fp.pytest, sizeof s->fp.pytest, "%s", e->pytest);
	snprintf(s->fp.executable, sizeof s->fp.executable, "%s", e->executable);
	s->interp = e->interp;
	s->hexversion = (long)e->hexversion;
	b = mt_records_begin(&s->rec, "worker");
	mt_rec_int(b, "worker", s->w.num);
	mt_rec_int(b, "pid", s->w.pid);
	mt_rec_str(b, "python", e->python, 64);
	mt_rec_str(b, "executable", e->executable, 1024);
	mt_rec_str(b, "pytest", e->pytest, 64);
	mt_rec_str(b, "command", s->fp.cmdline, 8192);
	mt_records_end(&s->rec, mt_now_us());
}

static void ev_config(struct super *s, const struct mt_event *e, int64_t now)
{
	s->got_config = 1;
	snprintf(s->fp.rootdir, sizeof s->fp.rootdir, "%s", e->rootdir);
	snprintf(s->fp.timeout_plugin, sizeof s->fp.timeout_plugin, "%s", e->timeout_plugin);
	if (!s->rootdir[0])
		snprintf(s->rootdir, sizeof s->rootdir, "%s", e->rootdir);
	if (s->suite_timeout_us < 0)
		s->suite_timeout_us = e->suite_timeout_us;
	/* pytest-timeout's --session-timeout becomes mtest's run limit. */
	if (s->o->run_timeout_us < 0 && e->session_timeout_us > 0 &&
	    s->run_deadline_us == MT_NEVER)
		s->run_deadline_us = s->start_us + e->session_timeout_us;
	mt_worker_open_capture(&s->w, 0, (int)e->out_fd);
	mt_worker_open_capture(&s->w, 1, (int)e->err_fd);
	s->w.state = MT_W_COLLECTING;
	s->collect_deadline_us = s->o->collect_timeout_us > 0 ?
				 now + s->o->collect_timeout_us : MT_NEVER;
}

static void ev_collecting(struct super *s, const struct mt_event *e, int64_t now)
{
	snprintf(s->collecting_id, sizeof s->collecting_id, "%s",
		 e->id[0] ? e->id : e->what[0] ? e->what : e->path);
	snprintf(s->collecting_path, sizeof s->collecting_path, "%s", e->path);
	s->collect_deadline_us = s->o->collect_timeout_us > 0 ?
				 now + s->o->collect_timeout_us : MT_NEVER;
}

/* A file (or a directory, through its conftest) that cannot be collected. */
static void collection_error(struct super *s, const char *id, const char *path,
			     const char *reason, const char *detail, const char *text)
{
	struct mt_vinfo v = { 0 };
	uint32_t slot = mt_run_find(&s->run, MT_KIND_FILE, id);
	char name[600];

	if (slot != MT_NONE && s->run.t[slot].verdict != MT_V_NONE)
		return;		/* a later worker met it again */
	if (slot == MT_NONE)
		slot = mt_run_add(&s->run, MT_KIND_FILE, id, NULL, path, 0, -1);
	v.verdict = MT_V_COLLECTION_ERROR;
	v.reason = reason;
	v.detail = detail;
	v.worker = s->w.num;
	v.attempt = 1;
	v.end_wall_us = mt_wall_us();
	bundle(s, id, &v, text, 0, name, sizeof name);
	if (slot == MT_NONE) {
		v.id = id;
		v.file = id;
		mt_run_decide_unstored(&s->run, id, &v);
		return;
	}
	mt_run_decide(&s->run, slot, &v);
}

static void ignore_path(struct super *s, const char *path)
{
	if (s->nignores < MT_IGNORES_MAX)
		s->ignore[s->nignores++] = mt_run_intern(&s->run, path);
	else
		note(s, "limit", "cannot leave out %s: MT_IGNORES_MAX reached", path);
}

static void ev_collect_error(struct super *s, const struct mt_event *e)
{
	collection_error(s, e->id, e->path, e->exc, e->conftest ?
			 "its conftest.py failed to import, which hides every test below it" :
			 "", e->text);
	if (e->initial)
		s->hopeless = 1;	/* pytest cannot start without it */
	else if (e->aborted && e->conftest) {
		/* pytest 7 drops the whole collection for one bad conftest:
		 * collect again without that directory. */
		ignore_path(s, e->path);
		s->recollect = 1;
	}
}

static void ev_item(struct super *s, const struct mt_event *e)
{
	struct mt_worker *w = &s->w;
	uint32_t slot = MT_NONE;
	struct mt_vinfo v = { 0 };

	if (e->i < 0 || e->i >= MT_TESTS_MAX || (uint64_t)e->i != w->nitems) {
		if (e->i >= MT_TESTS_MAX && !s->table_closed) {
			/* Beyond the table: a verdict now, never a slot. */
			v.verdict = MT_V_NOT_RUN;
			v.reason = "over a limit";
			v.detail = "MT_TESTS_MAX";
			v.id = e->id;
			v.file = e->file;
			s->run.ntests++;
			if (!s->run.limit)
				s->run.limit = "MT_TESTS_MAX";
			mt_run_decide_unstored(&s->run, e->id, &v);
		}
		return;
	}
	if (s->table_closed) {
		slot = mt_run_find(&s->run, MT_KIND_TEST, e->id);
	} else if (mt_run_find(&s->run, MT_KIND_TEST, e->id) != MT_NONE) {
		slot = mt_run_find(&s->run, MT_KIND_TEST, e->id);
	} else if (s->run.ntests >= s->o->max_tests) {
		v.verdict = MT_V_NOT_RUN;
		v.reason = "over a limit";
		v.detail = s->o->max_tests < MT_TESTS_MAX ? "--max-tests" : "MT_TESTS_MAX";
		v.id = e->id;
		v.file = e->file;
		s->run.ntests++;
		if (!s->run.limit)
			s->run.limit = v.detail;
		mt_run_decide_unstored(&s->run, e->id, &v);
	} else {
		slot = mt_run_add(&s->run, MT_KIND_TEST, e->id, e->file, e->path,
				  (uint32_t)e->line, e->timeout_us);
		if (slot == MT_NONE) {
			v.verdict = MT_V_NOT_RUN;
			v.reason = "over a limit";
			v.detail = s->run.limit;
			v.id = e->id;
			v.file = e->file;
			mt_run_decide_unstored(&s->run, e->id, &v);
		}
	}
	w->map[w->nitems++] = slot;
}

static void ev_collected(struct super *s, const struct mt_event *e, int64_t now)
{
	struct mt_worker *w = &s->w;
	struct mt_buf *b;
	uint32_t k, slot;

	s->collecting_id[0] = '\0';
	s->collect_deadline_us = MT_NEVER;
	if (s->recollect) {
		/* This collection is incomplete: let the worker go. */
		s->recollect = 0;
		w->state = MT_W_STOPPING;
		s->exit_deadline_us = now + MT_DEFAULT_TIMEOUT_US;
		mt_worker_send(w, "e\n", 2);
		w->ended = 1;
		return;
	}
	if (!s->table_closed) {
		s->table_closed = 1;
		s->collected = (uint32_t)e->n;
		s->deselected = (uint32_t)e->deselected;
		b = mt_records_begin(&s->rec, "collected");
		mt_rec_int(b, "tests", e->n);
		mt_rec_int(b, "deselected", e->deselected);
		mt_rec_int(b, "files", s->run.nf);
		mt_rec_int(b, "collection_errors", s->run.nfiles_bad);
		mt_records_end(&s->rec, now);
	}
	w->qlen = 0;
	for (k = 0; k < w->nitems; k++) {
		slot = w->map[k];
		if (slot != MT_NONE && s->run.t[slot].verdict == MT_V_NONE &&
		    !s->run.t[slot].started)
			w->queue[w->qlen++] = k;
	}
	w->state = MT_W_RUNNING;
	top_up(s);
}

static void ev_start(struct super *s, const struct mt_event *e, int64_t now)
{
	struct inflight *c = &s->cur;
	uint32_t slot;

	/* A worker being killed may still start its next test (its SIGTERM
	 * handler failed the hung one): that test never ran under mtest. */
	if (s->w.state != MT_W_RUNNING)
		return;
	if (e->i < 0 || (uint64_t)e->i >= s->w.nitems || s->w.map[e->i] == MT_NONE)
		return;
	slot = s->w.map[e->i];
	inflight_reset(s);
	c->slot = slot;
	s->run.t[slot].started = 1;
	c->start_us = now;
	c->start_wall_us = mt_wall_us();
	c->timeout_us = test_timeout(s, slot);
	c->deadline_us = c->timeout_us > 0 ? now + c->timeout_us : MT_NEVER;
	watch_reset(s, now);
	mt_progress_start(&s->prog, &s->run, slot, now);
}

/* The last `max` bytes of text, starting on a line. */
static void keep_tail(char *out, size_t max, const char *text)
{
	size_t n = strlen(text);
	const char *p = text;

	if (n >= max) {
		p = text + n - (max - 1);
		while (*p && (*p & 0xc0) == 0x80)
			p++;
		if (strchr(p, '\n'))
			p = strchr(p, '\n') + 1;
	}
	snprintf(out, max, "%s", p);
}

static void ev_phase(struct super *s, const struct mt_event *e)
{
	struct inflight *c = &s->cur;
	static const char *const when[] = { "setup", "call", "teardown" };

	if (c->slot == MT_NONE || e->phase < 0)
		return;
	c->ph.outcome[e->phase] = (unsigned char)e->outcome;
	c->ph.wasxfail[e->phase] = (unsigned char)e->wasxfail;
	snprintf(c->ph.exc[e->phase], sizeof c->ph.exc[0], "%s", e->exc);
	if (e->skip[0])
		snprintf(c->ph.skip, sizeof c->ph.skip, "%s", e->skip);
	if (e->wasxfail)
		snprintf(c->ph.xfail, sizeof c->ph.xfail, "%s", e->xfail);
	if (e->outcome != MT_O_FAILED)
		return;
	if (!c->crash[0])
		snprintf(c->crash, sizeof c->crash, "%s", e->crash);
	if (!c->tb[0])
		keep_tail(c->tb, sizeof c->tb, e->text);
	mt_buf_printf(&c->fb, "--- %s failed ---\n%s\n", when[e->phase], e->text);
	if (e->out[0])
		mt_buf_printf(&c->fb, "--- captured stdout ---\n%s\n", e->out);
	if (e->err[0])
		mt_buf_printf(&c->fb, "--- captured stderr ---\n%s\n", e->err);
	if (e->log[0])
		mt_buf_printf(&c->fb, "--- captured log ---\n%s\n", e->log);
}

static void ev_done(struct super *s, const struct mt_event *e)
{
	struct inflight *c = &s->cur;
	char reason[MT_REASON_MAX + 16], extra[MT_REASON_MAX + 32], detail[MT_DETAIL_MAX + 64];
	enum mt_verdict v;

	(void)e;
	s->w.qdone++;
	if (c->slot != MT_NONE) {
		v = mt_verdict_of(&c->ph, reason, sizeof reason, extra, sizeof extra);
		if (extra[0])
			snprintf(detail, sizeof detail, "%s (%s)", c->crash, extra);
		else
			snprintf(detail, sizeof detail, "%s", c->crash);
		settle_inflight(s, v, reason, detail, 0);
	}
	top_up(s);
}

static void ev_fence(struct super *s)
{
	mt_worker_send(&s->w, s->stop == STOP_NONE ? "g\n" : "s\n", 2);
}

static void ev_exit(struct super *s, const struct mt_event *e)
{
	s->exit_event = 1;
	snprintf(s->exit_msg, sizeof s->exit_msg, "%s: %s",
		 strcmp(e->exc, "Exit") == 0 ? "pytest.exit" : e->exc, e->text);
}

static void on_line(void *ctx, struct mt_worker *w, char *line, size_t len)
{
	struct super *s = ctx;
	struct mt_event *e = &s->ev;
	int64_t now = mt_now_us();

	switch (mt_event_parse(e, line, len, w->token)) {
	case MT_EV_HELLO: ev_hello(s, e); break;
	case MT_EV_CONFIG: ev_config(s, e, now); break;
	case MT_EV_COLLECTING: ev_collecting(s, e, now); break;
	case MT_EV_COLLECT_ERROR: ev_collect_error(s, e); break;
	case MT_EV_ITEM: ev_item(s, e); break;
	case MT_EV_COLLECTED: ev_collected(s, e, now); break;
	case MT_EV_START: ev_start(s, e, now); break;
	case MT_EV_PHASE: ev_phase(s, e); break;
	case MT_EV_DONE: ev_done(s, e); break;
	case MT_EV_FENCE: ev_fence(s); break;
	case MT_EV_EXIT: ev_exit(s, e); break;
	case MT_EV_BYE:
		snprintf(s->holders, sizeof s->holders, "%s", e->threads);
		if (w->state != MT_W_KILLING) {
			w->state = MT_W_STOPPING;
			s->exit_deadline_us = now + s->o->kill_grace_us;
		}
		break;
	case MT_EV_NOPYTEST:
		fatal(s, MT_EXIT_USAGE, "%s (from %s) cannot run pytest: %s", s->o->python,
		      s->o->python_how, e->text);
		break;
	case MT_EV_EXECFAIL:
		fatal(s, MT_EXIT_USAGE, "cannot run %s (from %s): %s", s->o->python,
		      s->o->python_how, mt_strerror((int)e->err_no));
		break;
	case MT_EV_WARN:
		note(s, "plugin", "worker %d: %s", w->num, e->text);
		break;
	case MT_EV_THREAD:
		mt_names_set(&s->names, (pid_t)e->tid, e->name, e->daemon);
		break;
	case MT_EV_FATAL:
		s->crash_tid = (pid_t)e->tid;
		s->crash_sig = (int)e->sig;
		break;
	case MT_EV_UNKNOWN:
		break;
	case MT_EV_BAD:
		if (w->bad_lines++ == 0)
			note(s, "protocol", "worker %d wrote a line that is not an event of its own",
			     w->num);
		break;
	}
}

/* ---- spawning ----------------------------------------------------------- */

static char *arg_copy(struct super *s, size_t *used, const char *a)
{
	size_t n = strlen(a) + 1;
	char *p;

	if (n > sizeof s->argbytes - *used)
		return NULL;
	p = s->argbytes + *used;
	memcpy(p, a, n);
	*used += n;
	return p;
}

/* The worker's command line. Later workers get only the files whose tests
 * still wait (and pytest's rootdir, so node ids stay the same); a worker
 * after a failed collection gets the original paths with --ignore for
 * the files that hung or crashed it. */
static int build_argv(struct super *s)
{
	const struct mt_opts *o = s->o;
	char opt[MT_PATH_MAX + 16];
	size_t used = 0;
	int n = 0, i, ok = 1;
	uint32_t f;

#define ADD(str) do { if (n >= MT_ARGV_MAX || !(s->argv[n++] = arg_copy(s, &used, (str)))) ok = 0; } while (0)
	ADD(o->python);
	ADD("-m");
	ADD(MT_BOOT_MODULE);
	ADD("-p");
	ADD(MT_PLUGIN_MODULE);
	for (i = 0; i < o->npytest && ok; i++)
		ADD(o->pytest_args[i]);
	if (s->table_closed && s->rootdir[0]) {
		snprintf(opt, sizeof opt, "--rootdir=%s", s->rootdir);
		ADD(opt);
		for (f = 0; f < s->run.nf && ok; f++)
			if (s->run.f[f].pending)
				ADD(mt_run_str(&s->run, s->run.f[f].abs));
	} else {
		for (i = 0; i < o->npaths && ok; i++)
			ADD(o->paths[i]);
	}
	for (i = 0; i < s->nignores && ok; i++) {
		snprintf(opt, sizeof opt, "--ignore=%s", mt_run_str(&s->run, s->ignore[i]));
		ADD(opt);
	}
	/* Last, so that they win over addopts and the arguments above. */
	ADD("--capture=fd");
	ADD("-o");
	ADD("faulthandler_timeout=0");
	ADD("--continue-on-collection-errors");
#undef ADD
	s->argv[n] = NULL;
	if (!ok)
		mt_msg("worker command line too long (MT_ARGV_MAX=%d, MT_ARGV_BYTES=%u)",
		       MT_ARGV_MAX, MT_ARGV_BYTES);
	return ok;
}

static const char *const own_vars[] = {
	"MTEST_EVENT_FD=", "MTEST_CONTROL_FD=", "MTEST_TOKEN=", "MTEST_LIMITS=",
	"MTEST_WORKER=", RUN_TAG_VAR "=", "PYTHONPATH=", "PYTHONBREAKPOINT=",
	"MTEST_PID=", "MTEST_PRELOAD=", "LD_PRELOAD=",
};

static int build_env(struct super *s)
{
	size_t used = 0, len;
	int n = 0, ok = 1;
	unsigned k;
	char **e;
	const char *old_pp = getenv("PYTHONPATH");
	char tmp[MT_PATH_MAX * 2];

#define PUT(str) do { len = strlen(str) + 1; \
	if (n >= MT_ENV_MAX || len > sizeof s->envbytes - used) ok = 0; \
	else { memcpy(s->envbytes + used, (str), len); s->envp[n++] = s->envbytes + used; used += len; } } while (0)
	for (e = environ; *e && ok; e++) {
		for (k = 0; k < sizeof own_vars / sizeof own_vars[0]; k++)
			if (strncmp(*e, own_vars[k], strlen(own_vars[k])) == 0)
				break;
		if (k == sizeof own_vars / sizeof own_vars[0])
			PUT(*e);
	}
	snprintf(tmp, sizeof tmp, "MTEST_EVENT_FD=%d", MT_WORKER_EVENT_FD);
	PUT(tmp);
	snprintf(tmp, sizeof tmp, "MTEST_CONTROL_FD=%d", MT_WORKER_CONTROL_FD);
	PUT(tmp);
	snprintf(tmp, sizeof tmp, "MTEST_TOKEN=%s", s->w.token);
	PUT(tmp);
	snprintf(tmp, sizeof tmp, "MTEST_LIMITS=line:%u,text:%u,tail:%u,id:%u,reason:%u,"
		 "detail:%u,markers:%u,marker:%u", MT_LINE_MAX, MT_TEXT_MAX, MT_TAIL_MAX,
		 MT_ID_MAX, MT_REASON_MAX - 1, MT_DETAIL_MAX - 1, MT_MARKERS_MAX,
		 MT_MARKER_NAME_MAX - 1);
	PUT(tmp);
	snprintf(tmp, sizeof tmp, "MTEST_WORKER=%d", s->w.num);
	PUT(tmp);
	snprintf(tmp, sizeof tmp, RUN_TAG_VAR "=%s", s->run_tag);
	PUT(tmp);
	snprintf(tmp, sizeof tmp, "PYTHONPATH=%s%s%s", s->sd.plugin, old_pp && *old_pp ? ":" : "",
		 old_pp ? old_pp : "");
	PUT(tmp);
	/* A breakpoint() in a worker without a terminal would wait forever. */
	PUT("PYTHONBREAKPOINT=0");
	snprintf(tmp, sizeof tmp, "MTEST_PID=%d", (int)getpid());
	PUT(tmp);
	if (s->preload[0]) {
		const char *old_pl = getenv("LD_PRELOAD");

		snprintf(tmp, sizeof tmp, "LD_PRELOAD=%s%s%s", s->preload,
			 old_pl && *old_pl ? ":" : "", old_pl ? old_pl : "");
		PUT(tmp);
		snprintf(tmp, sizeof tmp, "MTEST_PRELOAD=%s", s->preload);
		PUT(tmp);
	}
#undef PUT
	s->envp[n] = NULL;
	if (!ok)
		mt_msg("worker environment too big (MT_ENV_MAX=%d, MT_ENV_BYTES=%u)",
		       MT_ENV_MAX, MT_ENV_BYTES);
	return ok;
}

static void new_token(struct super *s)
{
	unsigned char r[8];
	unsigned k;

	if (getrandom(r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r) {
		uint64_t x = (uint64_t)mt_now_us() ^ ((uint64_t)getpid() << 32);

		memcpy(r, &x, sizeof r);
	}
	for (k = 0; k < sizeof r; k++)
		snprintf(s->w.token + 2 * k, 3, "%02x", r[k]);
}

static void spawn_worker(struct super *s, int64_t now)
{
	struct mt_worker *w = &s->w;

	mt_worker_reset(w, ++s->nworkers);
	new_token(s);
	s->got_config = 0;
	s->exit_event = 0;
	s->holders[0] = '\0';
	s->exit_deadline_us = MT_NEVER;
	s->collecting_id[0] = s->collecting_path[0] = '\0';
	s->settled_at_spawn = s->run.decided + s->run.nfiles_bad;
	inflight_reset(s);
	mt_names_reset(&s->names);
	s->interp = 0;
	s->hexversion = 0;
	if (!build_argv(s) || !build_env(s)) {
		fatal(s, MT_EXIT_USAGE, "cannot build the worker's command line");
		return;
	}
	mt_bundle_quote_argv(s->fp.cmdline, sizeof s->fp.cmdline, s->argv);
	if (!mt_worker_spawn(w, s->argv, s->envp)) {
		fatal(s, MT_EXIT_INTERNAL, "cannot start a worker: %s", mt_strerror(errno));
		return;
	}
	w->spawned_us = now;
	s->collect_deadline_us = s->o->collect_timeout_us > 0 ?
				 now + s->o->collect_timeout_us : MT_NEVER;
}

/* ---- a worker's end ------------------------------------------------------ */

static void describe_status(int status, char *out, size_t cap)
{
	char scratch[16];

	if (WIFSIGNALED(status))
		snprintf(out, cap, "%s", mt_signame(WTERMSIG(status), scratch, sizeof scratch));
	else
		snprintf(out, cap, "exit %d", WEXITSTATUS(status));
}

static void reap(void *ctx)
{
	struct super *s = ctx;
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG | WUNTRACED)) > 0) {
		if (WIFSTOPPED(status)) {
			if (pid == s->w.pid)
				s->w.stopped = 1;
			continue;
		}
		if (pid == s->w.pid && s->w.state != MT_W_DEAD) {
			s->w.status = status;
			s->w.died_in = s->w.state;
			s->w.state = MT_W_DEAD;
		} else if (pid == s->watch.helper) {
			s->watch.helper_done = 1;
			s->watch.helper_status = WIFEXITED(status) ? WEXITSTATUS(status) :
						 128 + WTERMSIG(status);
		}
	}
}

static struct mt_buf left_text;
static char left_bytes[MT_EVENT_TEXT_MAX];
static int left_count;

static void on_leftover(void *ctx, const struct mt_proc *p)
{
	(void)ctx;
	if (left_count++ < 6)
		mt_buf_printf(&left_text, "%s%s (pid %d)", left_count > 1 ? ", " : "", p->comm,
			      (int)p->pid);
}

/* Kill every process the worker left behind: setsid daemons and children
 * re-parented to mtest (a child subreaper) included. */
static void sweep(struct super *s, const char *whose)
{
	int alive;

	mt_buf_init(&left_text, left_bytes, sizeof left_bytes, -1);
	left_count = 0;
	alive = mt_procs_sweep(0, on_leftover, reap, s);
	if (left_count)
		note(s, "leftovers", "%s left %d process%s behind, killed: %s%s", whose,
		     left_count, left_count == 1 ? "" : "es", left_text.p,
		     left_count > 6 ? ", ..." : "");
	if (alive)
		note(s, "leftovers", "%d process%s of %s could not be killed", alive,
		     alive == 1 ? "" : "es", whose);
}

/* The first line of the console tail that says why pytest refused to
 * start ("...: error: ..."), for a one-line message. */
static void refusal_line(struct super *s, char *out, size_t cap)
{
	char *line, *next, *best = NULL;

	mt_ring_tail(&s->w.console, console_tail, sizeof console_tail);
	for (line = console_tail; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (strstr(line, "error:") || strncmp(line, "ERROR:", 6) == 0) {
			best = line;
			if (strstr(line, ": error: "))
				break;
		}
		if (!best && *line)
			best = line;
	}
	snprintf(out, cap, "%s", best ? best : "(no message)");
}

static void on_worker_dead(struct super *s, int64_t now)
{
	struct mt_worker *w = &s->w;
	char why[64], whose[48], line[512];
	int by_us = w->killing;
	uint32_t settled;

	/* Whatever the worker said before dying is in the pipes: hear it. */
	mt_worker_read_events(w, on_line, s);
	mt_worker_read_console(w, s->console_fd, &s->console_logged);
	describe_status(w->status, why, sizeof why);
	snprintf(whose, sizeof whose, "worker %d (pid %d)", w->num, (int)w->pid);

	if (s->stop == STOP_FATAL) {
		/* Said already. */
	} else if (s->cur.slot != MT_NONE) {
		/* Died in a test. A pytest.exit() is the test's doing too. */
		read_inflight_output(s);
		s->capture_for_bundle = s->crash_capture[0] ? s->crash_capture : NULL;
		settle_inflight(s, MT_V_CRASHED, s->exit_event ? "pytest.exit" : why,
				s->exit_event ? s->exit_msg : "", 1);
		s->capture_for_bundle = NULL;
		note(s, "worker", "%s died (%s) in a test; %s", whose, why,
		     mt_run_left(&s->run) ? "a new worker takes the rest" : "no tests were left");
	} else if (w->died_in == MT_W_STARTING || w->died_in == MT_W_COLLECTING) {
		if (s->hopeless) {
			/* An initial conftest failed: nothing can be collected. */
			s->table_closed = 1;
		} else if (!by_us && WIFEXITED(w->status) &&
			   WEXITSTATUS(w->status) == MT_BOOT_NO_PYTEST) {
			fatal(s, MT_EXIT_USAGE, "%s (from %s) cannot import pytest", s->o->python,
			      s->o->python_how);
		} else if (!by_us && !s->got_config && WIFEXITED(w->status) &&
			   (WEXITSTATUS(w->status) == 4 || WEXITSTATUS(w->status) == 2)) {
			refusal_line(s, line, sizeof line);
			fatal(s, MT_EXIT_USAGE, "pytest refused its arguments: %s", line);
		} else if (s->collecting_id[0] && !by_us) {
			collection_error(s, s->collecting_id, s->collecting_path, "crashed", why,
					 NULL);
			ignore_path(s, s->collecting_path);
			note(s, "worker", "%s died (%s) collecting %s; it is left out", whose, why,
			     s->collecting_id);
		} else if (!by_us) {
			note(s, "worker", "%s died (%s) before it collected any test", whose, why);
		}
	} else if (by_us) {
		note(s, "worker", "mtest ended %s (%s)%s%s", whose, why,
		     w->kill_reason[0] ? ": " : "", w->kill_reason);
	} else if (w->qdone < w->qlen || WIFSIGNALED(w->status)) {
		note(s, "worker", "%s ended (%s) between tests, with %u of its tests left", whose,
		     why, w->qlen - w->qdone);
	}
	if (s->crash_capture[0])
		unlink(s->crash_capture);
	s->crash_capture[0] = '\0';
	s->crash_tid = 0;
	mt_worker_close(w);
	w->state = MT_W_NONE;
	sweep(s, whose);
	w->pid = -1;	/* never signal a pid that may be reused */

	settled = s->run.decided + s->run.nfiles_bad;
	s->deaths = settled == s->settled_at_spawn ? s->deaths + 1 : 0;
	if (s->deaths >= MT_DEATHS_WITHOUT_PROGRESS && s->stop == STOP_NONE) {
		snprintf(line, sizeof line, "%d workers in a row ended without a verdict; "
			 "the last: %s", s->deaths, why);
		note(s, "worker", "%s", line);
		s->stop = STOP_NO_PROGRESS;
		s->stop_reason = "no progress";
		mt_run_settle_rest(&s->run, "no progress", line);
	}
	(void)now;
}

/* ---- the watch over a stuck test, and captures ------------------------ */

static int64_t sample_every(const struct super *s)
{
	int64_t every = MT_SAMPLE_EVERY_US, half = s->o->deadlock_after_us / 2;

	if (half > 0 && half < every)
		every = half < 100000 ? 100000 : half;
	return every;
}

static void watch_reset(struct super *s, int64_t start_us)
{
	struct watch *wt = &s->watch;

	wt->samples = wt->have_diag = 0;
	wt->stall_since_us = 0;
	wt->likely_captured = wt->legit_wait = wt->after_captured = 0;
	wt->timed_out = 0;
	wt->kept[0] = wt->headline[0] = '\0';
	wt->next_us = start_us == MT_NEVER ? MT_NEVER : start_us + MT_WATCH_AFTER_US;
}

static const char *const legit_reasons[] = {
	NULL, "waiting in a join", "waiting on a queue", "waiting on a condition",
};

/* The reason of a test that ran to its timeout: what it was doing. */
static const char *timeout_reason(const struct super *s)
{
	const struct watch *wt = &s->watch;

	if (!wt->have_diag)
		return "timeout";
	switch (wt->diag.hang) {
	case MT_HANG_PROGRESS:
	case MT_HANG_UNKNOWN:
		return "timeout";
	case MT_HANG_LIKELY:
		/* A join, a queue or a condition that never ended: not called
		 * a deadlock, for another thread might have ended it. */
		if (wt->legit_wait > 0 && wt->legit_wait < 4)
			return legit_reasons[wt->legit_wait];
		return mt_hang_name(wt->diag.hang);
	default:
		return mt_hang_name(wt->diag.hang);
	}
}

static void capture_begin(struct super *s, enum capture_for why, const char *kind,
			  const char *hang, int64_t now)
{
	struct watch *wt = &s->watch;
	struct mt_capture_req r = { 0 };
	pid_t pid;

	if (wt->helper)
		return;
	snprintf(wt->path, sizeof wt->path, "%s/failures/.capture-%d.txt", s->sd.last,
		 ++s->ncaptures);
	r.pid = s->w.pid;
	r.interp = s->interp;
	r.hexversion = s->hexversion;
	r.diag = wt->have_diag ? &wt->diag : NULL;
	r.sample = wt->samples ? &wt->sample[wt->newest] : NULL;
	r.names = &s->names;
	r.kind = kind;
	r.hang = hang;
	r.stalled_us = (why == CAPTURE_DEADLOCK || why == CAPTURE_LIKELY) ?
		       now - wt->stall_since_us : now - s->cur.start_us;
	r.crash_tid = s->crash_tid;
	r.crash_sig = s->crash_sig;
	r.path = wt->path;
	pid = mt_capture_start(&r);
	if (pid < 0) {
		note(s, "capture", "cannot start the stack capture: %s", mt_strerror(errno));
		snprintf(wt->headline, sizeof wt->headline, "%s (no stacks: cannot fork)", kind);
		wt->path[0] = '\0';
		wt->why = why;
		wt->helper_done = 1;
		wt->helper_status = -1;
		return;
	}
	wt->helper = pid;
	wt->why = why;
	wt->slot = s->cur.slot;
	wt->helper_done = 0;
	wt->helper_deadline_us = now + MT_CAPTURE_TIMEOUT_US;
}

/* End the test in flight as hung, with the evidence kept so far. */
static void finish_hung(struct super *s, const char *reason, int64_t now)
{
	struct watch *wt = &s->watch;

	read_inflight_output(s);	/* before the kill takes it */
	s->capture_for_bundle = wt->kept[0] ? wt->kept : NULL;
	settle_inflight(s, MT_V_HUNG, reason, wt->headline, 1);
	s->capture_for_bundle = NULL;
	if (wt->kept[0])
		unlink(wt->kept);
	wt->kept[0] = '\0';
	kill_worker(s, now, "its test hung");
}

static void capture_done(struct super *s, int64_t now)
{
	struct watch *wt = &s->watch;
	int legit = 0;

	wt->helper = 0;
	wt->helper_done = 0;
	if (wt->why == CAPTURE_CRASH) {
		/* Keep it for the crashed test's bundle, and let it die. */
		snprintf(s->crash_capture, sizeof s->crash_capture, "%s", wt->path);
		s->w.stopped = 0;
		kill(s->w.pid, SIGCONT);
		return;
	}
	if (s->cur.slot == MT_NONE || s->cur.slot != wt->slot || s->w.state != MT_W_RUNNING) {
		if (wt->path[0])
			unlink(wt->path);	/* the test ended meanwhile */
		return;
	}
	if (wt->path[0] && mt_capture_result(wt->path, wt->headline, sizeof wt->headline, &legit)) {
		if (wt->kept[0] && strcmp(wt->kept, wt->path) != 0)
			unlink(wt->kept);
		snprintf(wt->kept, sizeof wt->kept, "%s", wt->path);
	} else if (wt->path[0]) {
		note(s, "capture", "the stack capture of worker %d failed (status %d)", s->w.num,
		     wt->helper_status);
	}
	wt->legit_wait = legit;
	/* A capture stops every thread for a moment, which a stalled thread
	 * may see as a wake-up: start the comparison afresh. */
	wt->samples = 0;
	wt->next_us = now + sample_every(s);
	if (wt->timed_out) {
		finish_hung(s, timeout_reason(s), now);
		return;
	}
	switch (wt->why) {
	case CAPTURE_DEADLOCK:
		finish_hung(s, "deadlock (certain)", now);
		break;
	case CAPTURE_LIKELY:
		wt->likely_captured = 1;
		break;
	case CAPTURE_TIMEOUT:
		finish_hung(s, timeout_reason(s), now);
		break;
	case CAPTURE_AFTER:
		wt->after_captured = 1;
		break;
	default:
		break;
	}
}

static void watch_sample(struct super *s, int64_t now)
{
	struct watch *wt = &s->watch;
	const struct mt_diag *d = &wt->diag;
	const struct mt_opts *o = s->o;
	int stalled;

	wt->next_us = now + sample_every(s);
	if (wt->samples)
		wt->newest ^= 1;
	if (!mt_sample_take(&wt->sample[wt->newest], s->w.pid, now))
		return;
	if (++wt->samples < 2)
		goto after;
	mt_diagnose(&wt->diag, &wt->sample[!wt->newest], &wt->sample[wt->newest]);
	wt->have_diag = 1;
	stalled = (d->hang == MT_HANG_CERTAIN || d->hang == MT_HANG_LIKELY) && !d->progress;
	if (!stalled) {
		wt->stall_since_us = 0;
		wt->likely_captured = 0;
		goto after;
	}
	if (!wt->stall_since_us)
		wt->stall_since_us = wt->sample[!wt->newest].at_us;
	if (o->deadlock_after_us <= 0)
		goto after;
	if (d->hang == MT_HANG_CERTAIN && now - wt->stall_since_us >= o->deadlock_after_us) {
		capture_begin(s, CAPTURE_DEADLOCK, "DEADLOCK (certain)", NULL, now);
		return;
	}
	if (d->hang == MT_HANG_LIKELY && now - wt->stall_since_us >= o->deadlock_after_us) {
		/* The evidence now; the end only at --likely-after, and never
		 * for a join, a queue or a condition (its timeout decides). */
		if (!wt->likely_captured) {
			capture_begin(s, CAPTURE_LIKELY, "DEADLOCK (likely)", NULL, now);
			return;
		}
		if (!wt->legit_wait && now - wt->stall_since_us >= o->likely_after_us) {
			finish_hung(s, "deadlock (likely)", now);
			return;
		}
	}
after:
	if (o->capture_after_us > 0 && !wt->after_captured &&
	    now - s->cur.start_us >= o->capture_after_us)
		capture_begin(s, CAPTURE_AFTER, "STILL RUNNING",
			      wt->have_diag ? mt_hang_name(d->hang) : "running", now);
}

/* The worker's crash handler stopped it: capture its stacks, then let it
 * die (capture_done sends SIGCONT). A stop without the handler's word is
 * not ours to judge: the test's timeout will. */
static void on_worker_stopped(struct super *s, int64_t now)
{
	static char signame[16];
	struct watch *wt = &s->watch;

	if (!s->crash_tid || wt->helper)
		return;
	if (s->cur.slot == MT_NONE || s->w.state == MT_W_KILLING) {
		s->w.stopped = 0;
		kill(s->w.pid, SIGCONT);
		return;
	}
	wt->helper_done = 0;
	capture_begin(s, CAPTURE_CRASH, "CRASH", mt_signame(s->crash_sig, signame, sizeof signame),
		      now);
	if (!wt->helper) {	/* could not start: do not keep it stopped */
		s->w.stopped = 0;
		kill(s->w.pid, SIGCONT);
	}
}

/* ---- timers ------------------------------------------------------------- */

/* The evidence first, then the verdict and the kill (capture_done). */
static void on_test_timeout(struct super *s, int64_t now)
{
	struct watch *wt = &s->watch;

	s->cur.deadline_us = MT_NEVER;
	wt->timed_out = 1;
	if (!wt->helper)
		capture_begin(s, CAPTURE_TIMEOUT, "TIMEOUT", timeout_reason(s), now);
}

static void on_collect_timeout(struct super *s, int64_t now)
{
	if (s->collecting_id[0]) {
		collection_error(s, s->collecting_id, s->collecting_path, "hung",
				 "collecting it took longer than --collect-timeout", NULL);
		ignore_path(s, s->collecting_path);
		note(s, "worker", "worker %d hung collecting %s; it is left out", s->w.num,
		     s->collecting_id);
	} else {
		note(s, "worker", "worker %d did not start within --collect-timeout", s->w.num);
	}
	s->collect_deadline_us = MT_NEVER;
	kill_worker(s, now, "collection hung");
}

static int64_t next_deadline(struct super *s)
{
	int64_t d = s->run_deadline_us;

#define MIN(x) do { if ((x) < d) d = (x); } while (0)
	MIN(s->rec.sync_due_us);
	MIN(s->prog.next_tick_us);
	switch (s->w.state) {
	case MT_W_STARTING:
	case MT_W_COLLECTING:
		MIN(s->collect_deadline_us);
		break;
	case MT_W_RUNNING:
		if (s->watch.helper) {
			MIN(s->watch.helper_deadline_us);
		} else {
			MIN(s->cur.deadline_us);
			if (s->cur.slot != MT_NONE)
				MIN(s->watch.next_us);
		}
		break;
	case MT_W_STOPPING:
		MIN(s->exit_deadline_us);
		break;
	case MT_W_KILLING:
		MIN(s->w.kill_at_us);
		break;
	default:
		break;
	}
#undef MIN
	return d;
}

static void on_timers(struct super *s, int64_t now)
{
	struct mt_worker *w = &s->w;

	if (now >= s->rec.sync_due_us)
		mt_records_sync(&s->rec);
	if (now >= s->prog.next_tick_us)
		mt_progress_tick(&s->prog, &s->run, now);
	if (now >= s->run_deadline_us) {
		s->run_deadline_us = MT_NEVER;
		note(s, "run", "the run timeout expired; the rest is not run");
		stop_run(s, STOP_RUN_TIMEOUT, "run timeout", now);
	}
	switch (w->state) {
	case MT_W_STARTING:
	case MT_W_COLLECTING:
		if (now >= s->collect_deadline_us)
			on_collect_timeout(s, now);
		break;
	case MT_W_RUNNING:
		if (s->watch.helper) {
			if (now >= s->watch.helper_deadline_us) {
				kill(s->watch.helper, SIGKILL);	/* its tracees run on */
				s->watch.helper_deadline_us = MT_NEVER;
			}
		} else if (now >= s->cur.deadline_us) {
			on_test_timeout(s, now);
		} else if (s->cur.slot != MT_NONE && now >= s->watch.next_us) {
			watch_sample(s, now);
		}
		break;
	case MT_W_STOPPING:
		if (now >= s->exit_deadline_us) {
			note(s, "worker", "worker %d did not exit after its session%s%s; killed",
			     w->num, s->holders[0] ? ": threads alive: " : "", s->holders);
			s->exit_deadline_us = MT_NEVER;
			kill_worker(s, now, "it did not exit after its session");
		}
		break;
	case MT_W_KILLING:
		if (now >= w->kill_at_us) {
			mt_worker_signal(w, SIGKILL);
			w->kill_sent = 1;
			w->kill_at_us = MT_NEVER;
		}
		break;
	default:
		break;
	}
}

/* ---- signals -------------------------------------------------------------- */

static void on_signals(struct super *s, int64_t now)
{
	struct signalfd_siginfo si;
	ssize_t r;

	while ((r = read(s->sigfd, &si, sizeof si)) == (ssize_t)sizeof si) {
		switch (si.ssi_signo) {
		case SIGCHLD:
			reap(s);
			break;
		case SIGINT:
		case SIGTERM:
		case SIGHUP:
			if (s->stop == STOP_INTERRUPTED && s->w.state == MT_W_KILLING) {
				/* Asked twice: no more grace. */
				mt_worker_signal(&s->w, SIGKILL);
				s->w.kill_sent = 1;
			}
			stop_run(s, STOP_INTERRUPTED, "interrupted", now);
			break;
		default:
			break;
		}
	}
}

/* ---- the loop ------------------------------------------------------------ */

/* After a verdict the worker may stop being needed; when it has gone, the
 * next one starts if tests are left. Returns 0 when the run is over. */
static int advance(struct super *s, int64_t now)
{
	struct mt_worker *w = &s->w;

	if (s->watch.helper_done)
		capture_done(s, now);
	if (w->stopped && w->state != MT_W_DEAD)
		on_worker_stopped(s, now);
	if (w->state == MT_W_DEAD)
		on_worker_dead(s, now);
	if (w->state == MT_W_RUNNING && w->ended && w->qdone >= w->qlen &&
	    s->cur.slot == MT_NONE) {
		/* All sent tests ran: let the session end and pytest exit. */
		w->state = MT_W_STOPPING;
		s->exit_deadline_us = now + MT_DEFAULT_TIMEOUT_US;
	}
	if (w->state != MT_W_NONE)
		return 1;
	if (s->stop != STOP_NONE)
		return 0;
	if (s->table_closed && mt_run_left(&s->run) == 0)
		return 0;
	spawn_worker(s, now);
	return w->state != MT_W_NONE;
}

/* Each pipe write that wakes mtest costs the worker more than the write
 * itself (on a VM, an inter-processor interrupt). While tests stream by,
 * let their events gather for a moment and read them in one go; deadlines
 * are seconds away, and a fence or a signal is never kept waiting. */
static void coalesce(struct super *s)
{
	struct timespec pause = { 0, MT_COALESCE_US * 1000 };

	if (s->w.state == MT_W_RUNNING && s->w.ctl_len == 0 && s->stop == STOP_NONE &&
	    s->cur.slot != MT_NONE)
		nanosleep(&pause, NULL);
}

static int loop(struct super *s)
{
	struct pollfd pfd[4];
	struct mt_worker *w = &s->w;
	int64_t now, deadline;
	int n, timeout_ms, r;

	for (;;) {
		now = mt_now_us();
		if (!advance(s, now))
			return 1;
		n = 0;
		pfd[n++] = (struct pollfd){ .fd = s->sigfd, .events = POLLIN };
		pfd[n++] = (struct pollfd){ .fd = w->ev_fd, .events = POLLIN };
		pfd[n++] = (struct pollfd){ .fd = w->con_fd, .events = POLLIN };
		pfd[n++] = (struct pollfd){ .fd = w->ctl_len ? w->ctl_fd : -1, .events = POLLOUT };
		deadline = next_deadline(s);
		timeout_ms = deadline == MT_NEVER ? -1 :
			     deadline <= now ? 0 :
			     (deadline - now + 999) / 1000 > 60000 ? 60000 :
			     (int)((deadline - now + 999) / 1000);
		r = poll(pfd, (nfds_t)n, timeout_ms);
		if (r < 0 && errno != EINTR) {
			mt_msg_sys("poll");
			return 0;
		}
		now = mt_now_us();
		if (r > 0) {
			if (pfd[0].revents)
				on_signals(s, now);
			if (pfd[1].revents) {
				mt_worker_read_events(w, on_line, s);
				coalesce(s);
			}
			if (pfd[2].revents)
				mt_worker_read_console(w, s->console_fd, &s->console_logged);
			if (pfd[3].revents)
				mt_worker_flush(w);
		}
		on_timers(s, mt_now_us());
	}
}

/* ---- start and end -------------------------------------------------------- */

static void on_stale(void *ctx, const struct mt_proc *p)
{
	on_leftover(ctx, p);
}

static void fingerprint(struct super *s)
{
	struct utsname u;

	if (uname(&u) == 0) {
		snprintf(s->fp.kernel, sizeof s->fp.kernel, "%s %s %s", u.sysname, u.release,
			 u.version);
		snprintf(s->fp.machine, sizeof s->fp.machine, "%s", u.machine);
		snprintf(s->fp.host, sizeof s->fp.host, "%s", u.nodename);
	}
}

static int64_t vmhwm_kb(void)
{
	char text[4096], *p;
	long long kb;

	if (mt_read_file("/proc/self/status", text, sizeof text) < 0)
		return -1;
	p = strstr(text, "VmHWM:");
	if (!p || sscanf(p + 6, "%lld", &kb) != 1)
		return -1;
	return kb;
}

static int setup_signals(struct super *s)
{
	sigset_t set;
	struct sigaction ign = { .sa_handler = SIG_IGN };

	/* A closed terminal or pipe gives EPIPE, never a deadly signal. */
	if (sigaction(SIGPIPE, &ign, NULL) < 0)
		return 0;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return 0;
	s->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	return s->sigfd >= 0;
}

/* Descriptors inherited from whoever started mtest must not reach the
 * workers: mark them close-on-exec. */
static void cloexec_inherited(void)
{
	struct mt_dir d;
	const char *name;
	int fd;

	if (!mt_dir_open(&d, AT_FDCWD, "/proc/self/fd"))
		return;
	while ((name = mt_dir_next(&d, NULL))) {
		fd = atoi(name);
		if (fd > 2 && fd != d.fd)
			fcntl(fd, F_SETFD, FD_CLOEXEC);
	}
	mt_dir_close(&d);
}

static void record_run_start(struct super *s)
{
	struct mt_buf *b = mt_records_begin(&s->rec, "run_start");
	char cwd[MT_PATH_MAX];
	int i;

	mt_rec_int(b, "pid", getpid());
	mt_rec_str(b, "mtest", MT_VERSION, 32);
	mt_buf_puts(b, ",\"argv\":[");
	for (i = 0; i < s->o->argc; i++) {
		if (i)
			mt_buf_putc(b, ',');
		mt_buf_json_max(b, s->o->argv[i], strlen(s->o->argv[i]), 1024);
	}
	mt_buf_putc(b, ']');
	mt_rec_str(b, "cwd", getcwd(cwd, sizeof cwd) ? cwd : "", 4096);
	mt_rec_str(b, "state_dir", s->sd.dir, 4096);
	mt_rec_str(b, "python", s->o->python, 4096);
	mt_rec_str(b, "kernel", s->fp.kernel, 256);
	mt_rec_str(b, "machine", s->fp.machine, 64);
	mt_rec_str(b, "host", s->fp.host, 128);
	mt_records_end(&s->rec, mt_now_us());
}

/* The crash handler lives next to mtest (the build tree), or in
 * ../lib/mtest/ (installed). Without it, crashes keep their Python
 * traceback (faulthandler) but lose the native stacks. */
static void find_preload(struct super *s)
{
	static const char *const where[] = { "%s/mtest_crash.so", "%s/../lib/mtest/mtest_crash.so" };
	char exe[MT_PATH_MAX], *slash;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	unsigned k;

	s->preload[0] = '\0';
	if (n <= 0)
		return;
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (slash)
		*slash = '\0';
	for (k = 0; k < sizeof where / sizeof where[0]; k++) {
		snprintf(s->preload, sizeof s->preload, where[k], exe);
		if (access(s->preload, R_OK) == 0)
			return;
	}
	s->preload[0] = '\0';
}

static int startup(struct super *s, const struct mt_opts *o)
{
	char path[MT_PATH_MAX + 32];
	int stale;

	memset(&s->notes, 0, sizeof s->notes);
	s->o = o;
	s->start_us = mt_now_us();
	s->start_wall_us = mt_wall_us();
	s->run_deadline_us = o->run_timeout_us > 0 ? s->start_us + o->run_timeout_us : MT_NEVER;
	s->suite_timeout_us = -1;
	s->console_fd = -1;
	s->rec.fd = -1;
	s->rec.sync_due_us = MT_NEVER;
	mt_run_init(&s->run, on_verdict, s);
	inflight_reset(s);
	mt_worker_reset(&s->w, 0);
	fingerprint(s);
	mt_progress_init(&s->prog, o->progress, s->start_us);
	s->prog.next_tick_us = MT_NEVER;
	cloexec_inherited();
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) {
		mt_msg_sys("cannot become a child subreaper");
		return MT_EXIT_INTERNAL;
	}
	if (!setup_signals(s)) {
		mt_msg_sys("cannot set up signals");
		return MT_EXIT_INTERNAL;
	}
	if (!mt_statedir_for_run(&s->sd, o))
		return MT_EXIT_USAGE;
	if (!mt_statedir_open(&s->sd))
		return MT_EXIT_INTERNAL;
	if (!mt_plugin_install(s->sd.plugin)) {
		mt_msg_sys("cannot write the plugin into %s", s->sd.plugin);
		return MT_EXIT_INTERNAL;
	}
	if (!mt_records_open(&s->rec, s->sd.last)) {
		mt_msg_sys("cannot create %s/run.jsonl", s->sd.last);
		return MT_EXIT_INTERNAL;
	}
	snprintf(path, sizeof path, "%s/console.log", s->sd.last);
	s->console_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
	mt_statedir_remember(&s->sd);
	mt_procs_self_tag(s->run_tag, sizeof s->run_tag);
	find_preload(s);
	record_run_start(s);
	/* Processes of an earlier mtest that died by kill -9 (its workers
	 * die with it, their children do not). */
	mt_buf_init(&left_text, left_bytes, sizeof left_bytes, -1);
	left_count = 0;
	stale = mt_procs_kill_stale(RUN_TAG_VAR, on_stale, s);
	if (stale)
		note(s, "leftovers", "killed %d process%s left by an earlier mtest run: %s", stale,
		     stale == 1 ? "" : "es", left_text.p);
	return MT_EXIT_OK;
}

static void finish(struct super *s, int code)
{
	static char text[MT_OUTBUF];
	static struct mt_atomic a;
	struct mt_meta m = { 0 };
	struct mt_buf *b, out;
	char path[MT_PATH_MAX + 16];
	int64_t now = mt_now_us();
	uint32_t v;

	if (mt_run_left(&s->run))
		mt_run_settle_rest(&s->run, s->stop_reason ? s->stop_reason : "no progress",
				   s->stop == STOP_FATAL ? s->fatal : NULL);
	if (s->run.refused)
		note(s, "bug", "%u second verdicts were refused (a bug in mtest)", s->run.refused);
	if (s->run.over_limit)
		note(s, "limit", "%u tests were over a limit (%s)", s->run.over_limit,
		     s->run.limit ? s->run.limit : "?");
	if (!code)
		code = s->exit_code ? s->exit_code :
		       s->stop == STOP_INTERRUPTED ? MT_EXIT_INTERRUPTED : mt_run_exit_code(&s->run);
	s->exit_code = code;
	if (s->rec.err && code != MT_EXIT_INTERRUPTED) {
		mt_msg("writing %s/run.jsonl failed: %s", s->sd.last, mt_strerror(s->rec.err));
		code = MT_EXIT_INTERNAL;
	}

	m.state = MT_RUN_DONE;
	m.start_wall_us = s->start_wall_us;
	m.elapsed_us = now - s->start_us;
	m.pid = getpid();
	m.exit_code = code;
	m.stopped = s->stop == STOP_NONE || s->stop == STOP_FATAL ? NULL : s->stop_reason;
	m.fatal = s->fatal[0] ? s->fatal : NULL;
	m.collected_known = s->table_closed;
	m.collected = s->collected;
	m.deselected = s->deselected;
	m.workers = s->nworkers;
	m.python = s->fp.python;
	m.pytest = s->fp.pytest;
	m.last_dir = s->sd.last;
	m.vmhwm_kb = vmhwm_kb();
	m.notes = &s->notes;

	b = mt_records_begin(&s->rec, "run_end");
	mt_rec_int(b, "exit", code);
	mt_rec_int(b, "tests", s->run.ntests);
	mt_buf_puts(b, ",\"counts\":{");
	for (v = MT_V_PASSED; v < MT_V_COUNT; v++)
		mt_buf_printf(b, "%s\"%s\":%u", v > MT_V_PASSED ? "," : "",
			      mt_verdict_name((enum mt_verdict)v), s->run.count[v]);
	mt_buf_putc(b, '}');
	if (m.stopped)
		mt_rec_str(b, "stopped", m.stopped, 64);
	if (m.fatal)
		mt_rec_str(b, "fatal", m.fatal, 1024);
	mt_rec_int(b, "workers", s->nworkers);
	mt_rec_secs(b, "duration", m.elapsed_us);
	mt_rec_int(b, "vmhwm_kb", m.vmhwm_kb);
	mt_records_end(&s->rec, now);
	mt_records_close(&s->rec);

	snprintf(path, sizeof path, "%s/summary.md", s->sd.last);
	if (mt_atomic_open(&a, path)) {
		mt_summary_render(&a.out, &s->run, &m, 0);
		if (!mt_atomic_commit(&a)) {
			mt_msg_sys("cannot write %s", path);
			mt_atomic_abort(&a);
		}
	} else {
		mt_msg_sys("cannot write %s", path);
	}
	/* A usage error said its one line already; otherwise the summary
	 * always shows (on a dead terminal it fails quietly). */
	if (code == MT_EXIT_USAGE && s->nworkers <= 1 && s->run.decided == 0)
		return;
	mt_progress_print(&s->prog, "", 0);
	mt_buf_init(&out, text, sizeof text, 1);
	mt_buf_putc(&out, '\n');
	mt_summary_render(&out, &s->run, &m, s->prog.color);
	mt_buf_flush(&out);
}

int mt_super_main(const struct mt_opts *o)
{
	struct super *s = &S;
	int code = startup(s, o);

	if (code != MT_EXIT_OK) {
		if (s->rec.fd >= 0)
			mt_records_close(&s->rec);
		return code;
	}
	/* From here on the supervisor allocates nothing. */
	mt_heapcheck_arm();
	if (!loop(s))
		code = MT_EXIT_INTERNAL;
	mt_worker_signal(&s->w, SIGKILL);
	sweep(s, "the run");
	finish(s, code);
	mt_heapcheck_disarm();
	if (s->console_fd >= 0)
		close(s->console_fd);
	return s->exit_code;
}
