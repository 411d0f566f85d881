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
static char cwd2[MT_PATH_MAX];
static struct mt_opts o2;
static char dir2[MT_PATH_MAX], name2[64];
static int argc2, found;

/* The run_start record: the command line and where it ran. */
static int read_start(const char *path)
{
	static struct mt_json js;
	static char line[MT_RECORD_MAX];
	ssize_t n;
	size_t used = 0, k;
	char *nl;
	int t, i, fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return 0;
	n = mt_read_full(fd, line, sizeof line - 1);
	close(fd);
	if (n <= 0 || !(nl = memchr(line, '\n', (size_t)n)))
		return 0;
	if (!mt_json_parse(&js, line, (size_t)(nl - line)) || !mt_json_eq(&js, mt_json_get(&js, 0, "type"),
									    "run_start") ||
	    mt_json_get(&js, 0, "argv_cut") >= 0)
		return 0;
	mt_json_get_str(&js, 0, "cwd", cwd2, sizeof cwd2);
	t = mt_json_get(&js, 0, "argv");
	if (t < 0 || js.tok[t].type != JSMN_ARRAY || js.tok[t].size > MT_ARGV_MAX)
		return 0;
	for (i = t + 1, argc2 = 0; argc2 < js.tok[t].size && i < js.n;
	     argc2++, i = mt_json_next(&js, i)) {
		argv2[argc2] = argbytes + used;
		k = mt_json_str(&js, i, argbytes + used, sizeof argbytes - used);
		used += k + 1;
		if (used >= sizeof argbytes)
			return 0;
	}
	argv2[argc2] = NULL;
	found = argc2 > 0;
	return found;
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

int mt_super_resume(const struct mt_opts *o)
{
	struct mt_statedir sd;
	struct mt_runstate st;
	char looked[2048], path[MT_PATH_MAX + 96];
	int r;

	if (!mt_statedir_find(&sd, o, looked, sizeof looked)) {
		mt_msg("no run to resume; looked in %s", looked);
		return MT_EXIT_USAGE;
	}
	r = mt_runstate_read(sd.dir, &st);
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
	if (!mt_cli_parse(&o2, argc2, argv2))
		return MT_EXIT_USAGE;
	snprintf(dir2, sizeof dir2, "%s", sd.dir);
	snprintf(name2, sizeof name2, "%s", st.run);
	o2.state_dir = dir2;
	o2.resume_run = name2;
	o2.resume = 0;
	o2.argv = argv2;
	o2.argc = argc2;
	return mt_super_main(&o2);
}

/* ---- the journal taken back --------------------------------------------------- */

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
	char path[MT_PATH_MAX + 16];
	struct mt_journal_fix fix;
	mt_verdict_fn *fn = s->run.on_verdict;

	if (!mt_statedir_use_run(&s->sd, s->o->resume_run))
		return 0;
	snprintf(path, sizeof path, "%s/run.jsonl", s->sd.run);
	if (!mt_journal_fix(path, &fix)) {
		mt_msg_sys("cannot make %s whole again", path);
		return 0;
	}
	/* Taken back quietly: these verdicts are in the journal already. */
	s->run.on_verdict = NULL;
	if (!mt_journal_replay(path, take, s)) {
		s->run.on_verdict = fn;
		mt_msg_sys("cannot read %s", path);
		return 0;
	}
	s->run.on_verdict = fn;
	s->resumed_verdicts = s->run.decided + s->run.nfiles_bad;
	if (!mt_records_reopen(&s->rec, s->sd.run, fix.size)) {
		mt_msg_sys("cannot append to %s", path);
		return 0;
	}
	s->fix_torn = fix.torn;
	s->fix_dropped = fix.dropped_stop;
	s->fix_bad = fix.bad;
	return 1;
}
