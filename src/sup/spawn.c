/* mtest: a worker's start: its command line and environment, a spawned
 * Python (src/sup/sup.h tells how the supervisor is cut). Starting changes
 * no state: the lane's state machine (lane.c) does. */
#include "sup.h"

extern char **environ;

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

/* Is this path (a file, or a directory and all below it) left out? */
int sup_ignored(struct sup *s, const char *path)
{
	size_t n;
	int i;

	for (i = 0; i < s->nignores; i++) {
		const char *ig = mt_run_str(&s->run, s->ignore[i]);

		n = strlen(ig);
		if (n && strncmp(path, ig, n) == 0 && (path[n] == '\0' || path[n] == '/'))
			return 1;
	}
	return 0;
}

/* The worker's command line. Later workers get only the files whose tests
 * still wait (and pytest's rootdir, so node ids stay the same); a worker
 * after a failed collection gets the original paths with --ignore for
 * the files that hung or crashed it. */
static int build_argv(struct sup *s, struct lane *l)
{
	static unsigned char wanted[MT_FILES_MAX];
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
	if (zyg_is(s, l)) {
		/* The zygote collects the whole selection, as the first worker
		 * would: its forks run any of it. */
		for (i = 0; i < o->npaths && p.ok; i++)
			pack_put(&p, o->paths[i]);
	} else if (s->rechecking) {
		/* One test, alone: its file, and only it is sent. */
		pack_printf(&p, "--rootdir=%s", s->rootdir);
		f = s->run.t[s->rc[s->rc_index].slot].file;
		pack_put(&p, mt_run_str(&s->run, s->run.f[f].abs));
	} else if (s->table_closed && s->rootdir[0]) {
		/* The files of the tests this lane was given, and only them. */
		uint32_t k;

		memset(wanted, 0, s->run.nf);
		for (k = 0; k < s->run.n; k++)
			if (s->plan.lane[k] == l->idx && mt_plan_waiting(&s->run, k) &&
			    s->run.t[k].file != MT_NONE)
				wanted[s->run.t[k].file] = 1;
		pack_printf(&p, "--rootdir=%s", s->rootdir);
		/* pytest collects an explicit path even when --ignore names it:
		 * a left-out file is never named. */
		for (f = 0; f < s->run.nf && p.ok; f++)
			if (wanted[f] && !sup_ignored(s, mt_run_str(&s->run, s->run.f[f].abs)))
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
	"MTEST_EVENT_FD=", "MTEST_CONTROL_FD=", "MTEST_TOKEN=", "MTEST_LIMITS=", "MTEST_ZYGOTE_FD=",
	"MTEST_WORKER=", RUN_TAG_VAR "=", "PYTHONPATH=", "PYTHONBREAKPOINT=",
	"MTEST_PID=", "MTEST_PRELOAD=", "LD_PRELOAD=", "MTEST_PYTB=", "MTEST_LEDGER=",
	"MTEST_MEM=",
};

static int build_env(struct sup *s, struct lane *l)
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
	pack_printf(&p, "MTEST_TOKEN=%s", l->w.token);
	pack_printf(&p, "MTEST_LIMITS=line:%u,text:%u,tail:%u,id:%u,reason:%u,"
		    "detail:%u,markers:%u,marker:%u,items:%u", MT_LINE_MAX, MT_TEXT_MAX,
		    MT_TAIL_MAX, MT_ID_MAX, MT_REASON_MAX - 1, MT_DETAIL_MAX - 1, MT_MARKERS_MAX,
		    MT_MARKER_NAME_MAX - 1, MT_FIXTURE_ITEMS);
	if (zyg_is(s, l)) {
		/* Ten zeros, which each forked worker overwrites in place with
		 * its own number (its /proc/PID/environ shows this block). */
		pack_put(&p, "MTEST_WORKER=0000000000");
		pack_printf(&p, "MTEST_ZYGOTE_FD=%d", MT_WORKER_ZYGOTE_FD);
	} else {
		pack_printf(&p, "MTEST_WORKER=%d", l->w.num);
	}
	pack_printf(&p, RUN_TAG_VAR "=%s", s->run_tag);
	/* The plugin folder mtest holds open, by a path nobody can swap. */
	pack_printf(&p, "PYTHONPATH=%s%s%s", s->sd.plugin_at, old_pp && *old_pp ? ":" : "",
		    old_pp ? old_pp : "");
	/* How the plugin measures each test's peak memory: its cgroup's
	 * memory.peak, reset at each test's start (Linux 6.12), or the
	 * high-water marks of its processes. */
	pack_printf(&p, "MTEST_MEM=%s", mt_cgroup_held(&s->cg) && (s->cg.have & MT_CG_PEAK_RESET) ?
		    "cgroup" : "hwm");
	/* A breakpoint() in a worker without a terminal would wait forever. */
	pack_put(&p, "PYTHONBREAKPOINT=0");
	pack_printf(&p, "MTEST_PID=%d", (int)getpid());
	/* Where the worker's faulthandler writes every thread's traceback when
	 * asked: the Python stacks of interpreters mtest cannot read. */
	pack_printf(&p, "MTEST_PYTB=%s/failures/.pytb-%d", s->sd.run_at, l->w.num);
	/* The lock ledger's sizes; without it the plugin keeps none. */
	if (s->o->lock_ledger)
		pack_printf(&p, "MTEST_LEDGER=locks:%d,waits:%d,sites:%d", MT_LEDGER_LOCKS,
			    MT_LEDGER_WAITS, MT_LEDGER_SITES);
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

static void new_token(struct lane *l)
{
	unsigned char r[8];
	unsigned k;

	if (getrandom(r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r) {
		uint64_t x = (uint64_t)mt_now_us() ^ ((uint64_t)getpid() << 32);

		memcpy(r, &x, sizeof r);
	}
	for (k = 0; k < sizeof r; k++)
		snprintf(l->w.token + 2 * k, 3, "%02x", r[k]);
}

/* A lane about to get a worker: everything of the last one forgotten. */
void sup_worker_prepare(struct sup *s, struct lane *l, int64_t now)
{
	/* The zygote is worker 0: the workers that run tests count from 1. */
	mt_worker_reset(&l->w, zyg_is(s, l) ? 0 : ++s->nworkers);
	/* Each collection its own mark (zygotes are all worker 0). */
	l->collection = ++s->ncollections;
	new_token(l);
	l->got_config = 0;
	l->got_hello = 0;
	l->exit_event = 0;
	l->holders[0] = '\0';
	l->exit_deadline_us = MT_NEVER;
	l->idle_deadline_us = MT_NEVER;
	l->last_event_us = now;
	l->coalesce_until_us = 0;
	l->collecting_id[0] = l->collecting_path[0] = '\0';
	l->settled_at_spawn = s->run.decided + s->run.nfiles_bad;
	sup_inflight_reset(l);
	mt_names_reset(&l->names);
	l->interp = l->runtime = 0;
	l->pytb_sig = 0;
	l->hexversion = 0;
	sup_ledger_close(l);
	l->rlock_type = 0;
	snprintf(l->fp.kernel, sizeof l->fp.kernel, "%s", s->kernel);
	snprintf(l->fp.machine, sizeof l->fp.machine, "%s", s->machine);
	snprintf(l->fp.host, sizeof l->fp.host, "%s", s->host);
}

/* A new Python for the lane (or the zygote: zygote_fd, its socket).
 * Returns 1 if it started; the state machine (lane.c) takes it from there. */
int sup_exec(struct sup *s, struct lane *l, int64_t now, int zygote_fd)
{
	struct mt_worker *w = &l->w;

	sup_worker_prepare(s, l, now);
	if (!build_argv(s, l) || !build_env(s, l)) {
		sup_fatal(s, MT_EXIT_USAGE, "cannot build the worker's command line");
		return 0;
	}
	mt_bundle_quote_argv(l->fp.cmdline, sizeof l->fp.cmdline, s->argv);
	if (!mt_worker_spawn(w, s->argv, s->envp, zygote_fd, &s->cg, lane_leaf(s, l))) {
		sup_fatal(s, MT_EXIT_INTERNAL, "cannot start a worker: %s", mt_strerror(errno));
		return 0;
	}
	w->spawned_us = now;
	sup_contain(s, l);
	return 1;
}

/* A worker's pid is known: it is in its lane's cgroup leaf (it joined by
 * itself before it ran anything, or mtest moves it now). If that cannot
 * be, the run gives its cgroups up, said once: from then on its processes
 * are found through /proc. */
void sup_contain(struct sup *s, struct lane *l)
{
	int leaf = lane_leaf(s, l);

	if (!mt_cgroup_held(&s->cg) || l->w.pid <= 0 || l->w.reaped)
		return;
	mt_cgroup_oom_mark(&s->cg, leaf);
	if (mt_cgroup_join(&s->cg, leaf, l->w.pid) || errno == ESRCH)
		return;
	s->cg.lost = 1;
	sup_note(s, "cgroup", "cannot put worker %d (pid %d) into %s: %s; processes are found "
		 "through /proc from now on", l->w.num, (int)l->w.pid, s->cg.run, mt_strerror(errno));
}
