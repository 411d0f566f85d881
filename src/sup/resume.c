/* mtest: --resume. The last run that did not end (SIGINT, SIGTERM, the run
 * timeout, kill -9, a power cut) goes on in its own folder, with the
 * options it was started with: its journal is made whole again
 * (run/journal.c), each verdict it holds is taken back into the table,
 * and only the tests without one run (docs/formats.md, "Resuming"). */
#include "sup.h"

#include "mtest/base/json.h"
#include "mtest/run/journal.h"

/* ---- finding the run and its options ------------------------------------ */

static char *argv2[MT_ARGV_MAX + 1];
static char argbytes[MT_ARGV_BYTES];
static char cwd2[MT_PATH_MAX], python2[MT_PATH_MAX];
static struct mt_opts o2;
static char dir2[MT_PATH_MAX], name2[64];

/* The run_start record and its "argv" records, read back. */
static struct start {
	struct mt_json js;
	int lines;		/* read so far */
	int want;		/* 1 while argv records are to follow */
	int open;		/* the last argument goes on in the next record */
	int bad;		/* not a whole command line */
	int has_opts;
	int argc;		/* arguments read so far */
	size_t used;
	struct mt_opts opts;	/* as they took effect */
} S2;

static int64_t opt_int(int obj, const char *key, int64_t dflt)
{
	int64_t v;

	return mt_json_get_int(&S2.js, obj, key, &v) ? v : dflt;
}

/* timeout_scale, a number (1 when a journal has none). */
static double opt_scale(int obj)
{
	int t = mt_json_get(&S2.js, obj, "timeout_scale");
	char num[32];
	double v = 1.0;

	if (t < 0 || S2.js.tok[t].type != JSMN_PRIMITIVE)
		return 1.0;
	snprintf(num, sizeof num, "%.*s", S2.js.tok[t].end - S2.js.tok[t].start,
		 S2.js.s + S2.js.tok[t].start);
	return mt_parse_scale(num, &v) ? v : 1.0;
}

static void take_opts(int obj)
{
	struct mt_opts *o = &S2.opts;

	S2.has_opts = mt_json_get_str(&S2.js, obj, "python", python2, sizeof python2) > 0;
	o->timeout_us = opt_int(obj, "timeout_us", -1);
	o->kill_grace_us = opt_int(obj, "kill_grace_us", MT_DEFAULT_KILL_GRACE_US);
	o->collect_timeout_us = opt_int(obj, "collect_timeout_us", MT_DEFAULT_COLLECT_TIMEOUT_US);
	o->run_timeout_us = opt_int(obj, "run_timeout_us", -1);
	o->max_tests = (uint32_t)opt_int(obj, "max_tests", MT_TESTS_MAX);
	o->deadlock_after_us = opt_int(obj, "deadlock_after_us", MT_DEFAULT_DEADLOCK_AFTER_US);
	o->likely_after_us = opt_int(obj, "likely_after_us", 3 * o->deadlock_after_us);
	o->capture_after_us = opt_int(obj, "capture_after_us", -1);
	o->leak_grace_us = opt_int(obj, "leak_grace_us", MT_DEFAULT_LEAK_GRACE_US);
	o->restart_on_dirty = (enum mt_restart)opt_int(obj, "restart", MT_RESTART_FILE);
	o->isolate = (enum mt_isolate)opt_int(obj, "isolate", 0);
	o->recheck = (int)opt_int(obj, "recheck", 0);
	o->keep = (unsigned)opt_int(obj, "keep", MT_DEFAULT_KEEP);
	o->lanes = (int)opt_int(obj, "jobs", 1);
	o->dist = (enum mt_dist)opt_int(obj, "dist", MT_DIST_FILE);
	o->tier_lo = (int)opt_int(obj, "tier_lo", 0);
	o->tier_hi = (int)opt_int(obj, "tier_hi", 3);
	o->shard_k = (int)opt_int(obj, "shard_k", 0);
	o->shard_n = (int)opt_int(obj, "shard_n", 0);
	o->budget_us = opt_int(obj, "budget_us", -1);
	o->fail_fast = (int)opt_int(obj, "fail_fast", 0);
	o->kmsg_markers = opt_int(obj, "kmsg_markers", 1) != 0;
	o->timeout_scale = opt_scale(obj);
	if (o->max_tests < 1 || o->max_tests > MT_TESTS_MAX || o->lanes < 1 ||
	    o->lanes > MT_LANES_MAX || o->shard_n < 0 || o->shard_n > MT_SHARDS_MAX ||
	    o->shard_k < 0 || o->shard_k > o->shard_n || o->tier_lo < 0 || o->tier_hi > 3 ||
	    o->tier_lo > o->tier_hi || o->keep < 1 || o->keep > MT_RUNS_MAX ||
	    (unsigned)o->restart_on_dirty > MT_RESTART_NEVER ||
	    (unsigned)o->isolate > MT_ISOLATE_TEST || (unsigned)o->dist > MT_DIST_TEST)
		S2.has_opts = 0;	/* not what this mtest wrote: the command line's */
}

/* The arguments of one record, after those of the records before it. */
static void take_argv(int t)
{
	struct mt_json *js = &S2.js;
	int i, k, b = 0;
	size_t n;

	if (t < 0 || js->tok[t].type != JSMN_ARRAY) {
		S2.bad = 1;
		return;
	}
	for (i = t + 1, k = 0; k < js->tok[t].size && i < js->n; k++, i = mt_json_next(js, i)) {
		if (k == 0 && S2.open) {
			/* The last argument goes on: over its NUL. */
			S2.used--;
		} else {
			if (S2.argc >= MT_ARGV_MAX) {
				S2.bad = 1;
				return;
			}
			argv2[S2.argc++] = argbytes + S2.used;
		}
		n = mt_json_str(js, i, argbytes + S2.used, sizeof argbytes - S2.used);
		S2.used += n + 1;
		if (S2.used >= sizeof argbytes) {
			S2.bad = 1;
			return;
		}
	}
	S2.open = mt_json_get_bool(js, 0, "open", &b) && b;
	b = 0;
	S2.want = mt_json_get_bool(js, 0, "more", &b) && b;
}

static void start_line(void *ctx, const char *s, size_t n)
{
	struct mt_json *js = &S2.js;
	int first = S2.lines++ == 0;

	(void)ctx;
	if (!first && !S2.want)
		return;
	if (!mt_json_parse(js, s, n) ||
	    !mt_json_eq(js, mt_json_get(js, 0, "type"), first ? "run_start" : "argv")) {
		S2.bad = 1;
		S2.want = 0;
		return;
	}
	if (first) {
		if (mt_json_get(js, 0, "argv_cut") >= 0)
			S2.bad = 1;	/* an older mtest cut it: not whole */
		mt_json_get_str(js, 0, "cwd", cwd2, sizeof cwd2);
		if (mt_json_get(js, 0, "opts") >= 0)
			take_opts(mt_json_get(js, 0, "opts"));
	}
	take_argv(mt_json_get(js, 0, "argv"));
}

/* The run_start record (and its argv records): the command line, where
 * it ran, and the options as they took effect. */
static int read_start(const char *path)
{
	memset(&S2, 0, sizeof S2);
	if (!mt_journal_lines(path, start_line, NULL) || S2.bad || S2.want || S2.open ||
	    S2.argc == 0)
		return 0;
	argv2[S2.argc] = NULL;
	return 1;
}

/* The options as the run had them, over what the command line gives now
 * (the environment, the config file or the board may have changed). */
static void apply_opts(struct mt_opts *o)
{
	const struct mt_opts *r = &S2.opts;

	if (!S2.has_opts)
		return;
	o->python = python2;
	o->python_how = "the run's journal";
	o->timeout_us = r->timeout_us;
	o->kill_grace_us = r->kill_grace_us;
	o->collect_timeout_us = r->collect_timeout_us;
	o->run_timeout_us = r->run_timeout_us;
	o->max_tests = r->max_tests;
	o->deadlock_after_us = r->deadlock_after_us;
	o->likely_after_us = r->likely_after_us;
	o->capture_after_us = r->capture_after_us;
	o->leak_grace_us = r->leak_grace_us;
	o->restart_on_dirty = r->restart_on_dirty;
	o->isolate = r->isolate;
	o->recheck = r->recheck;
	o->keep = r->keep;
	o->lanes = r->lanes;
	o->dist = r->dist;
	o->tier_lo = r->tier_lo;
	o->tier_hi = r->tier_hi;
	o->shard_k = r->shard_k;
	o->shard_n = r->shard_n;
	o->budget_us = r->budget_us;
	o->fail_fast = r->fail_fast;
	o->kmsg_markers = r->kmsg_markers;
	o->timeout_scale = r->timeout_scale;
	o->timeout_scale_how = "the run's journal";
}

/* Without state.json: did the run's journal end as a run that ran its
 * course? Its last line is then a run_end that no stop wrote. */
static int ran_its_course(const char *path, int *code)
{
	static struct mt_json js;
	static char tail[MT_RECORD_MAX];
	char stopped[32] = "";
	int64_t x = 0;
	off_t size;
	ssize_t n;
	char *last;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return 0;
	size = lseek(fd, 0, SEEK_END);
	n = size > 0 ? pread(fd, tail, sizeof tail - 1,
			     size > (off_t)sizeof tail - 1 ? size - (off_t)sizeof tail + 1 : 0) : 0;
	close(fd);
	if (n <= 1 || tail[n - 1] != '\n')
		return 0;
	tail[n - 1] = '\0';
	last = strrchr(tail, '\n');
	last = last ? last + 1 : tail;
	if (!mt_json_parse(&js, last, strlen(last)) ||
	    !mt_json_eq(&js, mt_json_get(&js, 0, "type"), "run_end"))
		return 0;
	mt_json_get_int(&js, 0, "exit", &x);
	mt_json_get_str(&js, 0, "stopped", stopped, sizeof stopped);
	*code = (int)x;
	return x != MT_EXIT_INTERRUPTED && strcmp(stopped, "run timeout") != 0 &&
	       strcmp(stopped, "no progress") != 0;
}

int mt_super_resume(const struct mt_opts *o, const struct mt_opts **resumed)
{
	struct mt_statedir sd;
	struct mt_runstate st;
	char looked[2048], path[MT_PATH_MAX + 96];
	int r;

	if (!mt_statedir_find(&sd, o, looked, sizeof looked)) {
		mt_msg("no run to resume; looked in %s", looked);
		return MT_EXIT_USAGE;
	}
	r = mt_runstate_read(sd.fd, sd.dir, &st);
	if (r <= 0) {
		/* No state.json (or a damaged one): the newest run's folder
		 * (runs/ is the truth: last-run may dangle). */
		if (!mt_statedir_newest(&sd, st.run, sizeof st.run)) {
			mt_msg("no run to resume in %s", sd.dir);
			return MT_EXIT_USAGE;
		}
		snprintf(path, sizeof path, "%s/runs/%s/run.jsonl", sd.dir, st.run);
		snprintf(st.status, sizeof st.status, "%s",
			 ran_its_course(path, &st.exit_code) ? "done" : "running");
	}
	if (strcmp(st.status, "done") == 0) {
		mt_msg("the last run in %s (%s) ran to its end (exit %d): nothing to resume", sd.dir,
		       st.run, st.exit_code);
		return MT_EXIT_USAGE;
	}
	snprintf(path, sizeof path, "%s/runs/%s/run.jsonl", sd.dir, st.run);
	if (!read_start(path)) {
		mt_msg("%s: no whole run_start record to take the run's options from", path);
		return MT_EXIT_USAGE;
	}
	if (cwd2[0] && chdir(cwd2) < 0) {
		mt_msg_sys("cannot go back to the run's directory %s", cwd2);
		return MT_EXIT_USAGE;
	}
	/* The shard is the run's (its opts), not what the environment says
	 * now: a resume under systemd has no TEST_TOTAL_SHARDS. */
	if (S2.has_opts && (unsetenv("TEST_TOTAL_SHARDS") < 0 || unsetenv("TEST_SHARD_INDEX") < 0)) {
		mt_msg_sys("cannot clear Bazel's shard variables");
		return MT_EXIT_INTERNAL;
	}
	if (!mt_cli_parse(&o2, S2.argc, argv2))
		return MT_EXIT_USAGE;
	apply_opts(&o2);
	snprintf(dir2, sizeof dir2, "%s", sd.dir);
	snprintf(name2, sizeof name2, "%s", st.run);
	o2.state_dir = dir2;
	o2.resume_run = name2;
	o2.resume = 0;
	o2.argv = argv2;
	o2.argc = S2.argc;
	*resumed = &o2;
	return MT_EXIT_OK;
}

/* ---- the journal taken back --------------------------------------------------- */

/* The collection of the stopped run ("items" records): every test it
 * had, so that one the suite no longer has is known, run or not. */
static void take_items(struct sup *s, const struct mt_json *js)
{
	static char id[MT_ID_MAX + 64], file[MT_PATH_MAX];
	int t = mt_json_get(js, 0, "tests"), i, k, e;

	if (t < 0 || js->tok[t].type != JSMN_ARRAY)
		return;
	for (i = t + 1, k = 0; k < js->tok[t].size && i < js->n; k++, i = mt_json_next(js, i)) {
		if (js->tok[i].type != JSMN_ARRAY || js->tok[i].size != 2)
			continue;
		e = i + 1;
		mt_json_str(js, e, id, sizeof id);
		mt_json_str(js, mt_json_next(js, e), file, sizeof file);
		mt_run_add(&s->run, MT_KIND_TEST, id, file, NULL, 0, -1);
	}
}

static void take(void *ctx, const struct mt_jrec *j)
{
	struct sup *s = ctx;
	struct mt_vinfo v = { 0 };
	enum mt_kind kind;
	uint32_t slot;

	if (strcmp(j->type, "start") == 0) {
		slot = mt_run_add(&s->run, MT_KIND_TEST, j->id, j->file, NULL, 0, -1);
		if (slot != MT_NONE && s->run.t[slot].verdict == MT_V_NONE)
			s->run.t[slot].resumed = 1;
		return;
	}
	if (strcmp(j->type, "items") == 0) {
		take_items(s, j->js);
		return;
	}
	if (strcmp(j->type, "gone") == 0) {
		mt_run_gone(&s->run, mt_run_find(&s->run, MT_KIND_TEST, j->id));
		return;
	}
	if (strcmp(j->type, "remembered") == 0) {
		/* The stopped run told durations and quarantine (those that
		 * it could write) of every verdict before this record: the
		 * resumed run will not again. */
		for (slot = 0; slot < s->run.n; slot++)
			if (s->run.t[slot].verdict != MT_V_NONE)
				s->run.t[slot].noted |= (uint8_t)((j->durations ? MT_NOTED_DURATIONS : 0) |
								  (j->quarantine ? MT_NOTED_QUARANTINE : 0));
		return;
	}
	if (strcmp(j->type, "event") == 0) {
		mt_notes_add(&s->notes, j->what, j->text);
		return;
	}
	if (strcmp(j->type, "dirty") == 0) {
		if (s->dirties.n < MT_DIRTY_MAX) {
			struct mt_dirty *d = &s->dirties.d[s->dirties.n++];

			d->id = s->dirties.n;
			d->shadow = 0;
			d->restarted = 0;
			snprintf(d->cause, sizeof d->cause, "%s", j->text);
		}
		return;
	}
	if (strcmp(j->type, "test") != 0 || (v.verdict = mt_verdict_parse(j->verdict)) == MT_V_NONE)
		return;
	kind = strcmp(j->kind, "file") == 0 ? MT_KIND_FILE : MT_KIND_TEST;
	slot = mt_run_add(&s->run, kind, j->id, kind == MT_KIND_TEST ? j->file : NULL, NULL,
			  (uint32_t)j->line, -1);
	v.reason = j->reason;
	v.detail = j->detail;
	v.tbtail = j->tb;
	v.bundle = j->bundle;
	v.duration_us = j->duration_us;
	v.worker = (int)j->worker;
	v.attempt = (int)j->attempt;
	v.planned = j->planned;
	v.id = j->id;
	v.file = j->file;
	if (slot == MT_NONE)
		mt_run_decide_unstored(&s->run, kind, &v);
	else
		mt_run_decide(&s->run, slot, &v);
}

int sup_resume_journal(struct sup *s)
{
	char path[64], shown[MT_PATH_MAX + 16];
	struct mt_journal_fix fix;
	mt_verdict_fn *fn = s->run.on_verdict;

	if (!mt_statedir_use_run(&s->sd, s->o->resume_run))
		return 0;
	/* Through the held folder; named as the user knows it. */
	snprintf(path, sizeof path, "%s/run.jsonl", s->sd.run_at);
	snprintf(shown, sizeof shown, "%s/run.jsonl", s->sd.run);
	if (!mt_journal_fix(path, &fix)) {
		mt_msg_sys("cannot make %s whole again", shown);
		return 0;
	}
	/* Taken back quietly: these verdicts are in the journal already. */
	s->run.on_verdict = NULL;
	if (!mt_journal_replay(path, take, s)) {
		s->run.on_verdict = fn;
		mt_msg_sys("cannot read %s", shown);
		return 0;
	}
	s->run.on_verdict = fn;
	s->resumed_verdicts = s->run.decided + s->run.nfiles_bad;
	if (!mt_records_reopen(&s->rec, s->sd.run_fd, fix.size)) {
		mt_msg_sys("cannot append to %s", shown);
		return 0;
	}
	s->fix_torn = fix.torn;
	s->fix_dropped = fix.dropped_stop;
	s->fix_bad = fix.bad;
	return 1;
}
