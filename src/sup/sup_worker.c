/* mtest: starting a worker, and a worker's end (src/sup.h tells how the supervisor is cut). */
#include "sup.h"

extern char **environ;

/* ---- spawning ----------------------------------------------------------- */

/* A NULL-terminated string vector packed into a fixed byte buffer: the
 * worker's argv and envp are both built this way. A full vector or buffer
 * clears ok and drops the string. */
struct pack {
	char **vec;
	int max, n;
	char *bytes;
	size_t cap, used;
	int ok;
};

/* Formats straight into the buffer: a string too long is refused, never cut. */
__attribute__((format(printf, 2, 3)))
static void pack_printf(struct pack *p, const char *fmt, ...)
{
	va_list ap;
	int len;

	if (p->n >= p->max || p->used >= p->cap) {
		p->ok = 0;
		return;
	}
	va_start(ap, fmt);
	len = vsnprintf(p->bytes + p->used, p->cap - p->used, fmt, ap);
	va_end(ap);
	if (len < 0 || (size_t)len >= p->cap - p->used) {
		p->ok = 0;
		return;
	}
	p->vec[p->n++] = p->bytes + p->used;
	p->used += (size_t)len + 1;
}

static void pack_put(struct pack *p, const char *str)
{
	pack_printf(p, "%s", str);
}

static int pack_end(struct pack *p)
{
	p->vec[p->n] = NULL;
	return p->ok;
}

/* The worker's command line. Later workers get only the files whose tests
 * still wait (and pytest's rootdir, so node ids stay the same); a worker
 * after a failed collection gets the original paths with --ignore for
 * the files that hung or crashed it. */
static int build_argv(struct super *s)
{
	const struct mt_opts *o = s->o;
	struct pack p = { s->argv, MT_ARGV_MAX, 0, s->argbytes, sizeof s->argbytes, 0, 1 };
	int i;
	uint32_t f;

	pack_put(&p, o->python);
	pack_put(&p, "-m");
	pack_put(&p, MT_BOOT_MODULE);
	pack_put(&p, "-p");
	pack_put(&p, MT_PLUGIN_MODULE);
	for (i = 0; i < o->npytest && p.ok; i++)
		pack_put(&p, o->pytest_args[i]);
	if (s->rechecking) {
		/* One test, alone: its file, and only it is sent. */
		pack_printf(&p, "--rootdir=%s", s->rootdir);
		f = s->run.t[s->rc[s->rc_index].slot].file;
		pack_put(&p, mt_run_str(&s->run, s->run.f[f].abs));
	} else if (s->table_closed && s->rootdir[0]) {
		pack_printf(&p, "--rootdir=%s", s->rootdir);
		/* pytest collects an explicit path even when --ignore names it:
		 * a left-out file is never named. */
		for (f = 0; f < s->run.nf && p.ok; f++)
			if (s->run.f[f].pending && !sup_ignored(s, mt_run_str(&s->run, s->run.f[f].abs)))
				pack_put(&p, mt_run_str(&s->run, s->run.f[f].abs));
	} else {
		for (i = 0; i < o->npaths && p.ok; i++)
			pack_put(&p, o->paths[i]);
	}
	for (i = 0; i < s->nignores && p.ok; i++)
		pack_printf(&p, "--ignore=%s", mt_run_str(&s->run, s->ignore[i]));
	/* Last, so that they win over addopts and the arguments above. */
	pack_put(&p, "--capture=fd");
	pack_put(&p, "-o");
	pack_put(&p, "faulthandler_timeout=0");
	pack_put(&p, "--continue-on-collection-errors");
	if (!pack_end(&p))
		mt_msg("worker command line too long (MT_ARGV_MAX=%d, MT_ARGV_BYTES=%u)",
		       MT_ARGV_MAX, MT_ARGV_BYTES);
	return p.ok;
}

static const char *const own_vars[] = {
	"MTEST_EVENT_FD=", "MTEST_CONTROL_FD=", "MTEST_TOKEN=", "MTEST_LIMITS=",
	"MTEST_WORKER=", RUN_TAG_VAR "=", "PYTHONPATH=", "PYTHONBREAKPOINT=",
	"MTEST_PID=", "MTEST_PRELOAD=", "LD_PRELOAD=",
};

static int build_env(struct super *s)
{
	struct pack p = { s->envp, MT_ENV_MAX, 0, s->envbytes, sizeof s->envbytes, 0, 1 };
	unsigned k;
	char **e;
	const char *old_pp = getenv("PYTHONPATH");

	for (e = environ; *e && p.ok; e++) {
		for (k = 0; k < sizeof own_vars / sizeof own_vars[0]; k++)
			if (strncmp(*e, own_vars[k], strlen(own_vars[k])) == 0)
				break;
		if (k == sizeof own_vars / sizeof own_vars[0])
			pack_put(&p, *e);
	}
	pack_printf(&p, "MTEST_EVENT_FD=%d", MT_WORKER_EVENT_FD);
	pack_printf(&p, "MTEST_CONTROL_FD=%d", MT_WORKER_CONTROL_FD);
	pack_printf(&p, "MTEST_TOKEN=%s", s->w.token);
	pack_printf(&p, "MTEST_LIMITS=line:%u,text:%u,tail:%u,id:%u,reason:%u,"
		    "detail:%u,markers:%u,marker:%u,items:%u", MT_LINE_MAX, MT_TEXT_MAX,
		    MT_TAIL_MAX, MT_ID_MAX, MT_REASON_MAX - 1, MT_DETAIL_MAX - 1, MT_MARKERS_MAX,
		    MT_MARKER_NAME_MAX - 1, MT_FIXTURE_ITEMS);
	pack_printf(&p, "MTEST_WORKER=%d", s->w.num);
	pack_printf(&p, RUN_TAG_VAR "=%s", s->run_tag);
	pack_printf(&p, "PYTHONPATH=%s%s%s", s->sd.plugin, old_pp && *old_pp ? ":" : "",
		    old_pp ? old_pp : "");
	/* A breakpoint() in a worker without a terminal would wait forever. */
	pack_put(&p, "PYTHONBREAKPOINT=0");
	pack_printf(&p, "MTEST_PID=%d", (int)getpid());
	if (s->preload[0]) {
		const char *old_pl = getenv("LD_PRELOAD");

		pack_printf(&p, "LD_PRELOAD=%s%s%s", s->preload,
			    old_pl && *old_pl ? ":" : "", old_pl ? old_pl : "");
		pack_printf(&p, "MTEST_PRELOAD=%s", s->preload);
	}
	if (!pack_end(&p))
		mt_msg("worker environment too big (MT_ENV_MAX=%d, MT_ENV_BYTES=%u)",
		       MT_ENV_MAX, MT_ENV_BYTES);
	return p.ok;
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

void sup_spawn(struct super *s, int64_t now)
{
	struct mt_worker *w = &s->w;

	mt_worker_reset(w, ++s->nworkers);
	new_token(s);
	s->got_config = 0;
	s->got_hello = 0;
	s->exit_event = 0;
	s->holders[0] = '\0';
	s->exit_deadline_us = MT_NEVER;
	s->idle_deadline_us = MT_NEVER;
	s->last_event_us = now;
	s->coalesce_until_us = 0;
	s->collecting_id[0] = s->collecting_path[0] = '\0';
	s->settled_at_spawn = s->run.decided + s->run.nfiles_bad;
	sup_inflight_reset(s);
	mt_names_reset(&s->names);
	s->interp = 0;
	s->hexversion = 0;
	if (!build_argv(s) || !build_env(s)) {
		sup_fatal(s, MT_EXIT_USAGE, "cannot build the worker's command line");
		return;
	}
	mt_bundle_quote_argv(s->fp.cmdline, sizeof s->fp.cmdline, s->argv);
	if (!mt_worker_spawn(w, s->argv, s->envp)) {
		sup_fatal(s, MT_EXIT_INTERNAL, "cannot start a worker: %s", mt_strerror(errno));
		return;
	}
	w->spawned_us = now;
	sup_dirt_spawned(s);
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

void sup_reap(void *ctx)
{
	struct super *s = ctx;
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG | WUNTRACED)) > 0) {
		if (WIFSTOPPED(status)) {
			if (pid == s->w.pid && !s->w.reaped)
				s->w.stopped = 1;
			continue;
		}
		/* Only noted here: what the worker said before it died is
		 * still in its pipes, and is heard first (advance()). */
		if (pid == s->w.pid && !s->w.reaped) {
			s->w.status = status;
			s->w.reaped = 1;
		} else if (pid == s->watch.helper && !s->watch.helper_done) {
			s->watch.helper_done = 1;
			s->watch.helper_status = WIFEXITED(status) ? WEXITSTATUS(status) :
						 128 + WTERMSIG(status);
		}
	}
}

void sup_killed_reset(struct killed *k)
{
	mt_buf_init(&k->text, k->bytes, sizeof k->bytes, -1);
	k->count = 0;
}

void sup_killed_add(struct killed *k, const struct mt_proc *p)
{
	if (k->count++ < 6)
		mt_buf_printf(&k->text, "%s%s (pid %d)", k->count > 1 ? ", " : "", p->comm,
			      (int)p->pid);
}

static void on_leftover(void *ctx, const struct mt_proc *p)
{
	struct super *s = ctx;

	sup_orphan(s, p);
	sup_killed_add(&s->left, p);
}

/* Kill every process the worker left behind: setsid daemons and children
 * re-parented to mtest (a child subreaper) included. A pass now, then one
 * every MT_SWEEP_EVERY_US (a timer: the loop never sleeps) until none is
 * left; no worker starts meanwhile. */
void sup_sweep_begin(struct super *s, const char *whose, int64_t now)
{
	sup_killed_reset(&s->left);
	snprintf(s->sweep_whose, sizeof s->sweep_whose, "%s", whose);
	s->sweep_passes = 0;
	mt_procs_sweep_begin();
	sup_sweep_pass(s, now);
}

void sup_sweep_pass(struct super *s, int64_t now)
{
	int alive = mt_procs_sweep_pass(s->watch.helper, on_leftover, sup_reap, s);

	s->sweep_next_us = 0;
	if (alive && ++s->sweep_passes < MT_SWEEP_PASSES) {
		s->sweep_next_us = now + MT_SWEEP_EVERY_US;
		return;
	}
	if (s->left.count)
		sup_note(s, "leftovers", "%s left %d process%s behind, killed: %s%s", s->sweep_whose,
			 s->left.count, s->left.count == 1 ? "" : "es", s->left.text.p,
			 s->left.count > 6 ? ", ..." : "");
	if (alive)
		sup_note(s, "leftovers", "%d process%s of %s could not be killed", alive,
			 alive == 1 ? "" : "es", s->sweep_whose);
}

/* The last sweep, after the loop: it may wait. */
void sup_sweep(struct super *s, const char *whose)
{
	int alive;

	sup_killed_reset(&s->left);
	alive = mt_procs_sweep(0, on_leftover, sup_reap, s);
	if (s->left.count)
		sup_note(s, "leftovers", "%s left %d process%s behind, killed: %s%s", whose,
			 s->left.count, s->left.count == 1 ? "" : "es", s->left.text.p,
			 s->left.count > 6 ? ", ..." : "");
	if (alive)
		sup_note(s, "leftovers", "%d process%s of %s could not be killed", alive,
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

void sup_worker_dead(struct super *s)
{
	struct mt_worker *w = &s->w;
	char why[64], whose[48], line[512];
	int by_us = w->killing;
	uint32_t settled;

	/* Whatever the worker said before dying is in the pipes: hear it. */
	mt_worker_read_events(w, sup_on_line, s);
	mt_worker_read_console(w, s->console_fd, &s->console_logged);
	describe_status(w->status, why, sizeof why);
	snprintf(whose, sizeof whose, "worker %d (pid %d)", w->num, (int)w->pid);

	if (s->stop == STOP_FATAL) {
		/* Said already. */
	} else if (s->cur.slot != MT_NONE) {
		/* Died in a test. A pytest.exit() is the test's doing too. */
		sup_read_output(s);
		s->capture_for_bundle = s->crash_capture[0] ? s->crash_capture : NULL;
		snprintf(line, sizeof line, "crashed (%s) in %s", why,
			 mt_run_str(&s->run, s->run.t[s->cur.slot].id));
		sup_settle(s, MT_V_CRASHED,
			   !s->exit_event ? why : s->exit_is_pytest_exit ? "pytest.exit" :
			   "KeyboardInterrupt", s->exit_event ? s->exit_msg : "", 1);
		s->capture_for_bundle = NULL;
		sup_dirt_worker_gone(s, line, 1);
		sup_note(s, "worker", "%s died (%s) in a test; %s", whose, why,
			 mt_run_left(&s->run) ? "a new worker takes the rest" : "no tests were left");
	} else if (w->died_in == MT_W_STARTING || w->died_in == MT_W_COLLECTING) {
		if (s->hopeless) {
			/* An initial conftest failed: nothing can be collected. */
			s->table_closed = 1;
		} else if (!by_us && WIFEXITED(w->status) &&
			   WEXITSTATUS(w->status) == MT_BOOT_NO_PYTEST) {
			sup_fatal(s, MT_EXIT_USAGE, "%s (from %s) cannot import pytest", s->o->python,
				  s->o->python_how);
		} else if (!by_us && !s->got_hello && s->nworkers == 1) {
			/* It never ran the plugin: not a Python that can run
			 * pytest (/bin/false), or one that fails as it starts. */
			sup_fatal(s, MT_EXIT_USAGE, "%s (from %s) ended (%s) before it ran mtest's "
				  "plugin: not a Python that can run pytest", s->o->python,
				  s->o->python_how, why);
		} else if (!by_us && !s->got_config && WIFEXITED(w->status) &&
			   (WEXITSTATUS(w->status) == 4 || WEXITSTATUS(w->status) == 2)) {
			refusal_line(s, line, sizeof line);
			sup_fatal(s, MT_EXIT_USAGE, "pytest refused its arguments: %s", line);
		} else if (s->collecting_id[0] && !by_us) {
			sup_collection_error(s, s->collecting_id, s->collecting_path, "crashed", why,
					     NULL);
			if (s->collecting_file)
				sup_ignore_path(s, s->collecting_path);
			sup_note(s, "worker", "%s died (%s) collecting %s; it is left out", whose, why,
				 s->collecting_id);
		} else if (!by_us) {
			sup_note(s, "worker", "%s died (%s) before it collected any test", whose, why);
		}
	} else if (!by_us && WIFEXITED(w->status) && WEXITSTATUS(w->status) == 4 &&
		   s->nworkers == 1 && s->run.ntests == 0 && s->run.nfiles_bad == 0) {
		/* pytest's usage error after it started: a path that does not
		 * exist, a node id it cannot find. */
		refusal_line(s, line, sizeof line);
		sup_fatal(s, MT_EXIT_USAGE, "pytest: %s", line);
	} else if (by_us) {
		sup_note(s, "worker", "mtest ended %s (%s)%s%s", whose, why,
			 w->kill_reason[0] ? ": " : "", w->kill_reason);
		if (s->end_cause[0]) {
			snprintf(line, sizeof line, "was ended by mtest: %s", s->end_cause);
			sup_dirt_worker_gone(s, line, 1);
		}
	} else if (!w->retiring && (w->qdone < w->qlen || WIFSIGNALED(w->status))) {
		sup_note(s, "worker", "%s ended (%s) between tests, with %u of its tests left", whose,
			 why, w->qlen - w->qdone);
	}
	sup_dirt_worker_gone(s, NULL, 0);	/* no-op after the calls above */
	s->end_cause[0] = '\0';
	if (s->crash_capture[0])
		unlink(s->crash_capture);
	s->crash_capture[0] = '\0';
	s->crash_tid = 0;
	mt_worker_close(w);
	w->state = MT_W_NONE;
	sup_sweep_begin(s, whose, mt_now_us());
	w->pid = -1;	/* never signal a pid that may be reused */

	settled = s->run.decided + s->run.nfiles_bad;
	s->deaths = settled == s->settled_at_spawn && !s->rechecking ? s->deaths + 1 : 0;
	if (s->deaths >= MT_DEATHS_WITHOUT_PROGRESS && s->stop == STOP_NONE) {
		snprintf(line, sizeof line, "%d workers in a row ended without a verdict; "
			 "the last: %s", s->deaths, why);
		sup_note(s, "worker", "%s", line);
		s->stop = STOP_NO_PROGRESS;
		s->stop_reason = "no progress";
		mt_run_settle_rest(&s->run, "no progress", line);
	}
}
