/* mtest: the supervisor's loop over its lanes, and the run's start and
 * end (src/sup/sup.h tells how the supervisor is cut). */
#include "sup.h"

/* The one run of this process: main.c's only way in is mt_super_main. */
static struct sup S;

/* ---- timers ------------------------------------------------------------- */

static int64_t next_deadline(struct sup *s)
{
	struct lane *l;
	int64_t d = s->run_deadline_us, x;

	if (s->rec.sync_due_us < d)
		d = s->rec.sync_due_us;
	if (s->prog.next_tick_us < d)
		d = s->prog.next_tick_us;
	if ((x = mt_leds_next_us(&s->leds)) < d)
		d = x;
	if ((x = mt_notify_next_us(&s->notify)) < d)
		d = x;
	FOR_ALL_LANES(s, l)
		if ((x = lane_deadline(s, l)) < d)
			d = x;
	return d;
}

static void on_timers(struct sup *s, int64_t now)
{
	struct lane *l;

	if (now >= s->rec.sync_due_us) {
		mt_records_sync(&s->rec);
		sup_state(s, "running", -1);	/* what is on the disk now */
	}
	if (now >= s->prog.next_tick_us)
		mt_progress_tick(&s->prog, &s->run, now);
	mt_leds_tick(&s->leds, now);
	/* A loop that turns pings systemd; a frozen one is restarted. */
	mt_notify_tick(&s->notify, now);
	if (now >= s->run_deadline_us) {
		s->run_deadline_us = MT_NEVER;
		if (s->budget_deadline) {
			sup_note(s, "run", "the budget's time is up; the rest is not run");
			sup_stop(s, STOP_BUDGET, "budget", now);
		} else {
			sup_note(s, "run", "the run timeout expired; the rest is not run");
			sup_stop(s, STOP_RUN_TIMEOUT, "run timeout", now);
		}
	}
	FOR_ALL_LANES(s, l)
		lane_timers(s, l, now);
	lanes_decide(s, now);	/* a stop above wants every worker ended */
}

/* ---- signals -------------------------------------------------------------- */

/* Ctrl-Z (SIGTSTP): the run pauses as a whole, as a job-control citizen
 * should. Each worker's process group (the zygote's too) and each capture
 * helper gets SIGSTOP (a worker its crash handler holds stopped, or that
 * a capture helper holds, is left as it is); then mtest stops itself with
 * the signal's default action, so that the shell sees its job stopped and
 * takes the terminal back. SIGCONT (fg, bg) goes on: the workers get
 * SIGCONT, and the time stopped is left out of the supervisor's clock, so
 * that no deadline (a test's timeout, the deadlock windows, the collection,
 * the budget) counts it. In an orphaned process group the kernel discards
 * SIGTSTP: mtest then goes on at once (docs/options.md). */
static void pause_run(struct sup *s)
{
	sigset_t tstp;
	struct lane *l;
	int64_t t0 = mt_now_us(), held;
	int stopped = 0;

	FOR_ALL_LANES(s, l) {
		l->paused = 0;
		if (l->watch.helper > 0 && !l->watch.helper_done) {
			l->paused = kill(l->watch.helper, SIGSTOP) == 0 ? 2 : 0;
		} else if (l->w.pid > 0 && !l->w.reaped && !l->w.stopped &&
			   l->w.state != MT_W_NONE && l->w.state != MT_W_DEAD) {
			mt_worker_signal(&l->w, SIGSTOP);
			l->paused = 1;
		}
		stopped += l->paused != 0;
	}
	mt_progress_note(&s->prog, "paused (SIGTSTP): workers stopped, every timer held; fg or bg "
			 "goes on");
	sigemptyset(&tstp);
	sigaddset(&tstp, SIGTSTP);
	/* SIGTSTP's default action, now: stop until SIGCONT. */
	if (raise(SIGTSTP) == 0) {
		sigprocmask(SIG_UNBLOCK, &tstp, NULL);
		sigprocmask(SIG_BLOCK, &tstp, NULL);
	}
	FOR_ALL_LANES(s, l) {
		if (l->paused == 2)
			kill(l->watch.helper, SIGCONT);
		else if (l->paused == 1)
			mt_worker_signal(&l->w, SIGCONT);
		l->paused = 0;
	}
	held = mt_now_us() - t0;
	s->paused_us += held;
	s->pauses++;
	sup_note(s, "run", "paused %.1f s by SIGTSTP (%d process%s stopped): no timer counted it",
		 (double)held / 1e6, stopped, stopped == 1 ? "" : "es");
}

static void on_signals(struct sup *s, int64_t now)
{
	struct signalfd_siginfo si;
	struct lane *l;
	ssize_t r;

	while ((r = read(s->sigfd, &si, sizeof si)) == (ssize_t)sizeof si) {
		switch (si.ssi_signo) {
		case SIGCHLD:
			sup_reap(s);
			break;
		case SIGTSTP:
			pause_run(s);
			break;
		case SIGINT:
		case SIGTERM:
		case SIGHUP:
			/* Asked twice: no more grace. */
			if (s->stop == STOP_INTERRUPTED)
				FOR_ALL_LANES(s, l)
					lane_kill_now(l, now);
			sup_stop(s, STOP_INTERRUPTED, "interrupted", now);
			lanes_decide(s, now);
			break;
		default:
			break;
		}
	}
}

/* ---- the loop ------------------------------------------------------------ */

/* Lanes account for what happened to their workers; idle ones get work.
 * Returns 0 when the run is over. */
static int advance(struct sup *s, int64_t now)
{
	struct lane *l;
	int busy = 0;

	FOR_LANES(s, l)
		busy |= lane_advance(s, l, now);
	/* The zygote keeps the run going only while it ends with it. */
	lane_advance(s, &s->z.l, now);
	/* Not before the collection ends: a file that fails to collect is a
	 * bad verdict that comes before the tests of the files after it are
	 * known, and stopping then would leave them without a verdict. */
	if (s->fail_fast_due && s->stop == STOP_NONE && s->table_closed) {
		sup_note(s, "run", "--fail-fast: a test failed; the rest is not run");
		sup_stop(s, STOP_FAIL_FAST, "fail-fast", now);
		lanes_decide(s, now);
	}
	if (s->stop != STOP_NONE)
		return busy || sup_end_zygote(s, now);
	if (s->table_closed && mt_run_left(&s->run) == 0) {
		/* Every test has its verdict; --recheck runs the bad ones. */
		if (busy)
			return 1;
		if (s->o->recheck && sup_recheck_next(s, now))
			return 1;
		return sup_end_zygote(s, now);
	}
	return sup_feed(s, now) || busy;
}

/* last-run, the user's last state directory and state.json say that the
 * run is on: once its first worker started, whose Python starts while
 * these wait for the disk (three renames, seven fsyncs: 7 ms here). */
static int publish(struct sup *s)
{
	s->published = 1;
	if (!mt_statedir_publish(&s->sd))
		return 0;
	mt_statedir_remember(&s->sd);
	sup_state(s, "running", -1);
	return 1;
}

static int loop(struct sup *s)
{
	struct pollfd pfd[1 + (MT_LANES_MAX + 1) * LANE_POLLFDS];
	int at[MT_LANES_MAX + 2];
	struct lane *l;
	int64_t now, deadline;
	int n, timeout_ms, r;

	for (;;) {
		now = sup_now(s);
		if (!advance(s, now))
			return 1;
		if (!s->published && !publish(s))
			return 0;
		n = 0;
		pfd[n++] = (struct pollfd){ .fd = s->sigfd, .events = POLLIN };
		FOR_LANES(s, l) {
			at[l->idx] = n;
			n += lane_pollfds(l, pfd + n);
		}
		at[s->nlanes] = n;
		n += lane_pollfds(&s->z.l, pfd + n);
		at[s->nlanes + 1] = n;
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
		now = sup_now(s);
		if (r > 0) {
			if (pfd[0].revents)
				on_signals(s, now);
			FOR_LANES(s, l)
				lane_io(s, l, pfd + at[l->idx], at[l->idx + 1] - at[l->idx], now);
			lane_io(s, &s->z.l, pfd + at[s->nlanes], at[s->nlanes + 1] - at[s->nlanes],
				now);
		}
		on_timers(s, sup_now(s));
	}
}

/* ---- start and end -------------------------------------------------------- */

/* A process of an earlier, dead mtest: named, never attributed to a test
 * of this run. */
static void on_stale(void *ctx, const struct mt_proc *p)
{
	sup_killed_add(ctx, p);
}

static void fingerprint(struct sup *s)
{
	struct utsname u;

	if (uname(&u) == 0) {
		snprintf(s->kernel, sizeof s->kernel, "%s %s %s", u.sysname, u.release,
			 u.version);
		snprintf(s->machine, sizeof s->machine, "%s", u.machine);
		snprintf(s->host, sizeof s->host, "%s", u.nodename);
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

static int setup_signals(struct sup *s)
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
	sigaddset(&set, SIGTSTP);	/* the run pauses (pause_run) */
	/* In the background under stty tostop, a write to the terminal would
	 * stop mtest behind its workers' backs; blocked, it writes on. */
	sigaddset(&set, SIGTTOU);
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

/* Arguments of one record, and the bytes of one piece of an argument:
 * a record stays within MT_RECORD_MAX and MT_JSON_TOKENS. */
#define ARGS_PER_RECORD 128
#define ARG_PIECE 2048

/* The command line from argument *i (byte *off of it) into b's "argv",
 * as much as one record holds. Returns 1 if more is left. */
static int put_argv(struct mt_buf *b, const struct mt_opts *o, int *i, size_t *off)
{
	size_t n, piece;
	int k = 0;

	mt_buf_puts(b, ",\"argv\":[");
	while (*i < o->argc && k < ARGS_PER_RECORD && b->len < MT_RECORD_MAX / 2) {
		n = strlen(o->argv[*i]) - *off;
		piece = n > ARG_PIECE ? ARG_PIECE : n;
		/* Never inside a UTF-8 sequence. */
		while (piece < n && piece > 1 &&
		       ((unsigned char)o->argv[*i][*off + piece] & 0xc0) == 0x80)
			piece--;
		if (k++)
			mt_buf_putc(b, ',');
		mt_buf_json(b, o->argv[*i] + *off, piece);
		if (piece < n) {
			*off += piece;
			mt_buf_puts(b, "],\"open\":true");	/* it goes on in the next */
			return 1;
		}
		*off = 0;
		(*i)++;
	}
	mt_buf_putc(b, ']');
	return *i < o->argc;
}

/* What the run is, for --resume: every option as it took effect (from
 * the command line, the environment, the config file or the board), so
 * that a resume under another environment runs the same. */
static void put_opts(struct mt_buf *b, const struct mt_opts *o)
{
	mt_buf_puts(b, ",\"opts\":{");
	mt_buf_puts(b, "\"python\":");
	mt_buf_json(b, o->python, strlen(o->python));
	mt_buf_printf(b, ",\"timeout_us\":%lld,\"kill_grace_us\":%lld,\"collect_timeout_us\":%lld,"
		      "\"run_timeout_us\":%lld,\"max_tests\":%u,\"deadlock_after_us\":%lld,"
		      "\"likely_after_us\":%lld,\"capture_after_us\":%lld,\"leak_grace_us\":%lld,"
		      "\"restart\":%d,\"isolate\":%d,\"recheck\":%d,\"keep\":%u,\"jobs\":%d,"
		      "\"dist\":%d,\"tier_lo\":%d,\"tier_hi\":%d,\"shard_k\":%d,\"shard_n\":%d,"
		      "\"budget_us\":%lld,\"fail_fast\":%d,\"kmsg_markers\":%d,\"timeout_scale\":%g}",
		      (long long)o->timeout_us, (long long)o->kill_grace_us,
		      (long long)o->collect_timeout_us, (long long)o->run_timeout_us, o->max_tests,
		      (long long)o->deadlock_after_us, (long long)o->likely_after_us,
		      (long long)o->capture_after_us, (long long)o->leak_grace_us,
		      (int)o->restart_on_dirty, (int)o->isolate, o->recheck, o->keep, o->lanes,
		      (int)o->dist, o->tier_lo, o->tier_hi, o->shard_k, o->shard_n,
		      (long long)o->budget_us, o->fail_fast, o->kmsg_markers, o->timeout_scale);
}

/* run_start (or resume): where and how the run runs, its options, its
 * command line in full: what one record cannot hold goes on in "argv"
 * records right after it (docs/formats.md). */
static void record_run_start(struct sup *s, const char *type)
{
	struct mt_buf *b = mt_records_begin(&s->rec, type);
	char cwd[MT_PATH_MAX];
	size_t off = 0;
	int i = 0, more;

	mt_rec_int(b, "pid", getpid());
	mt_rec_str(b, "mtest", MT_VERSION, 32);
	mt_rec_str(b, "cwd", getcwd(cwd, sizeof cwd) ? cwd : "", 4096);
	mt_rec_str(b, "state_dir", s->sd.dir, 4096);
	mt_rec_str(b, "python", s->o->python, 4096);
	mt_rec_str(b, "kernel", s->kernel, 256);
	mt_rec_str(b, "machine", s->machine, 64);
	mt_rec_str(b, "host", s->host, 128);
	put_opts(b, s->o);
	mt_rec_str(b, "processes", s->containment, sizeof s->containment);
	mt_rec_int(b, "argc", s->o->argc);
	more = put_argv(b, s->o, &i, &off);
	if (more)
		mt_buf_puts(b, ",\"more\":true");
	mt_records_end(&s->rec, sup_now(s));
	while (more) {
		b = mt_records_begin(&s->rec, "argv");
		more = put_argv(b, s->o, &i, &off);
		if (more)
			mt_buf_puts(b, ",\"more\":true");
		mt_records_end(&s->rec, sup_now(s));
	}
}

/* The crash handler lives next to mtest (the build tree), or in
 * ../lib/mtest/ (installed). Without it, crashes keep their Python
 * traceback (faulthandler) but lose the native stacks. */
static void find_preload(struct sup *s)
{
	static const char *const where[] = { "%s/mtest_crash.so", "%s/../lib/mtest/mtest_crash.so" };
	char exe[MT_PATH_MAX];
	unsigned k;

	s->preload[0] = '\0';
	if (!mt_exe_dir(exe, sizeof exe, 1))
		return;
	for (k = 0; k < sizeof where / sizeof where[0]; k++) {
		snprintf(s->preload, sizeof s->preload, where[k], exe);
		if (access(s->preload, R_OK) == 0)
			return;
	}
	s->preload[0] = '\0';
}

/* The kernel's clock against CLOCK_MONOTONIC, which workers stamp a test's
 * end with: the run's first marker, read back. Without markers (not root)
 * the two are taken as one; they differ by a few ms at most on the
 * kernels seen (docs/box.md). */
static void kernel_clock(struct sup *s)
{
	struct lane *l = &s->lanes[0], *o;
	int64_t t0, t1, ts;

	if (l->kmsg.fd < 0 || s->marks.fd < 0)
		return;
	t0 = mt_now_us();
	if (!mt_kmsg_mark(&s->marks, t0, 0, "run starts: %.200s, %d lane%s", s->sd.run, s->nlanes,
			  s->nlanes == 1 ? "" : "s"))
		return;
	t1 = mt_now_us();
	if (!mt_kmsg_find_mark(&l->kmsg, getpid(), &ts))
		return;
	FOR_LANES(s, o)
		o->kmsg.offset_us = ts - (t0 + t1) / 2;
	sup_kmsg_cursor(s, l);
}

/* The kernel's word on each test (docs/box.md): a reader of its log per
 * lane, and, as root, markers in it. */
static void kernel_log(struct sup *s)
{
	char why[256];
	struct lane *l;
	int err = 0;

	FOR_LANES(s, l) {
		if (mt_kmsg_open(&l->kmsg, MT_KMSG_PATH))
			sup_kmsg_cursor(s, l);
		else
			err = errno;
	}
	if (err)
		sup_note(s, "kernel", "the kernel's log cannot be read (%s: %s): tests get no "
			 "kernel lines", MT_KMSG_PATH, mt_strerror(err));
	if (s->o->kmsg_markers && !mt_kmsg_marks_open(&s->marks, MT_KMSG_PATH, MT_DEVKMSG_SYSCTL,
						      why, sizeof why) && geteuid() == 0)
		sup_note(s, "kernel", "no markers in the kernel's log: %s", why);
	kernel_clock(s);
}

/* The run's cgroups (docs/dirt.md), or why not: said once, in the
 * run_start record and the summary. */
static void contain(struct sup *s)
{
	const struct mt_opts *o = s->o;
	struct mt_cg_limits lim = { o->memory_max, o->memory_high, o->lane_memory_max,
				    o->lane_memory_high, o->cpu_weight, o->io_weight };

	mt_cgroup_open(&s->cg, o->cgroup, &lim, s->nlanes);
	mt_cgroup_describe(&s->cg, s->containment, sizeof s->containment);
}

/* What could not be applied of the limits asked for, once. */
static void contain_notes(struct sup *s)
{
	const struct mt_opts *o = s->o;
	int asked = o->memory_max > 0 || o->memory_high > 0 || o->lane_memory_max > 0 ||
		    o->lane_memory_high > 0 || o->cpu_weight > 0 || o->io_weight > 0;

	if (s->cg.on && s->cg.limits_why[0])
		sup_note(s, "cgroup", "%s", s->cg.limits_why);
	else if (!s->cg.on && asked)
		sup_note(s, "cgroup", "limits not applied: %s", s->cg.why);
	if (s->cg.stale)
		sup_note(s, "leftovers", "ended %d cgroup%s left by an earlier mtest run", s->cg.stale,
			 s->cg.stale == 1 ? "" : "s");
}

/* Start-up, in an order where each step needs only the ones before it.
 * Nothing of an earlier run is touched: this run gets a folder of its
 * own, and last-run points at it only once its journal has begun. */
static int startup(struct sup *s, const struct mt_opts *o)
{
	char path[MT_PATH_MAX + 32], why[160];
	int stale, usage, i;
	struct killed left;

	memset(&s->notes, 0, sizeof s->notes);
	s->notify.fd = -1;
	s->notify.next_us = MT_NEVER;
	s->marks.fd = -1;
	s->o = o;
	s->start_us = sup_now(s);
	s->start_wall_us = mt_wall_us();
	s->run_deadline_us = o->run_timeout_us > 0 ? s->start_us + o->run_timeout_us : MT_NEVER;
	s->suite_timeout_us = -1;
	s->collect_timeout_us = mt_scale_us(o->collect_timeout_us, o->timeout_scale);
	s->deadlock_after_us = mt_scale_us(o->deadlock_after_us, o->timeout_scale);
	s->likely_after_us = mt_scale_us(o->likely_after_us, o->timeout_scale);
	s->console_fd = -1;
	s->rec.fd = -1;
	s->rec.sync_due_us = MT_NEVER;
	mt_run_init(&s->run, sup_on_verdict, s);
	fingerprint(s);
	s->nlanes = o->lanes > 0 ? o->lanes : 1;
	for (i = 0; i < s->nlanes; i++)
		lane_init(&s->lanes[i], i);
	lane_init(&s->z.l, -1);
	zyg_init(s);
	mt_progress_init(&s->prog, o->progress, s->nlanes, s->start_us);
	s->prog.defang = o->lava;
	mt_plan_init(&s->plan, s->nlanes, o->dist);
	for (i = 0; i < o->ngroups; i++)	/* the config's groups take the first bits */
		mt_plan_group(&s->plan, o->groups[i].name);
	s->prog.next_tick_us = MT_NEVER;
	cloexec_inherited();
	/* Before anything is spawned: workers must not inherit the socket. */
	if (!mt_notify_open(&s->notify, why, sizeof why))
		mt_msg("%s; systemd will not hear from this run", why);
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
	if (!mt_statedir_open(&s->sd, &usage))
		return usage == 2 ? MT_EXIT_BUSY : usage ? MT_EXIT_USAGE : MT_EXIT_INTERNAL;
	if (!sup_leds_open(s))
		return MT_EXIT_USAGE;	/* a board that cannot work, said in one line */
	/* Processes of an earlier mtest that died by kill -9 (its workers
	 * die with it, their children do not): before anything else runs. */
	sup_killed_reset(&left);
	stale = mt_procs_kill_stale(RUN_TAG_VAR, on_stale, &left);
	/* Before the first worker: each is born in its lane's cgroup. */
	contain(s);
	snprintf(path, sizeof path, "%s/durations.json", s->sd.dir);
	s->hist_damaged = !mt_history_load(&s->hist, s->sd.fd, "durations.json", path);
	snprintf(path, sizeof path, "%s/quarantine.json", s->sd.dir);
	s->quar_damaged = !mt_quar_load(&s->quar, s->sd.fd, "quarantine.json", path);
	if (!mt_statedir_plugin(&s->sd))
		return MT_EXIT_INTERNAL;
	if (!mt_plugin_install(s->sd.plugin_fd)) {
		mt_msg_sys("cannot write the plugin into %s", s->sd.plugin);
		return MT_EXIT_INTERNAL;
	}
	if (o->resume_run) {
		if (!sup_resume_journal(s))
			return MT_EXIT_INTERNAL;
		/* A LAVA job sees every verdict of the run, taken back or not. */
		if (o->lava)
			mt_lava_replay(&s->lava, &s->run);
	} else {
		if (!mt_statedir_new_run(&s->sd, s->start_wall_us))
			return MT_EXIT_INTERNAL;
		if (!mt_records_open(&s->rec, s->sd.run_fd)) {
			mt_msg_sys("cannot create %s/run.jsonl", s->sd.run);
			return MT_EXIT_INTERNAL;
		}
	}
	s->console_fd = openat(s->sd.run_fd, "console.log", O_WRONLY | O_CREAT | O_APPEND |
			       O_NOFOLLOW | O_CLOEXEC | (o->resume_run ? 0 : O_EXCL), 0644);
	mt_procs_self_tag(s->run_tag, sizeof s->run_tag);
	find_preload(s);
	record_run_start(s, o->resume_run ? "resume" : "run_start");
	if (o->resume_run)
		sup_note(s, "resume", "resumed run %s: %u verdicts taken back%s; %u records of its "
			 "stop taken back%s", s->sd.run_name, s->resumed_verdicts,
			 s->fix_torn ? ", its journal ended in a torn line (dropped)" : "",
			 s->fix_dropped, s->fix_bad ? ", and lines that were not records" : "");
	kernel_log(s);
	if (o->timeout_scale != 1.0)
		sup_note(s, "run", "timeouts scaled by %g (%s): each test's timeout, --collect-timeout "
			 "%.1f s, --deadlock-after %.1f s, --likely-after %.1f s", o->timeout_scale,
			 o->timeout_scale_how ? o->timeout_scale_how : "the run's journal",
			 (double)s->collect_timeout_us / 1e6, (double)s->deadlock_after_us / 1e6,
			 (double)s->likely_after_us / 1e6);
	if (s->quar_damaged)
		sup_note(s, "state", "quarantine.json did not parse: moved aside to "
			 "quarantine.json.corrupt; quarantine starts afresh");
	if (s->hist_damaged)
		sup_note(s, "state", "durations.json did not parse: moved aside to "
			 "durations.json.corrupt; this run plans without history");
	contain_notes(s);
	if (stale)
		sup_note(s, "leftovers", "killed %d process%s left by an earlier mtest run: %s%s",
			 stale, stale == 1 ? "" : "es", left.text.p, left.count > 6 ? ", ..." : "");
	return MT_EXIT_OK;
}


/* What this run says of each test, for the next run's plan. Returns 1
 * once durations.json holds it. */
static int remember_durations(struct sup *s)
{
	if (mt_history_save(&s->hist, s->sd.fd, "durations.json", &s->run, mt_wall_us()))
		return 1;
	mt_msg_sys("cannot write %s/durations.json", s->sd.dir);
	return 0;
}

/* Flaky tests in and out of quarantine (3 bad of the last 5 in, 3 good
 * in a row out): the next run reports them apart. Returns 1 once
 * quarantine.json holds it. */
static int remember_quarantine(struct sup *s)
{
	const char *id;
	uint32_t i;
	int moved;

	for (i = 0; i < s->run.n; i++) {
		const struct mt_test *t = &s->run.t[i];

		if (t->kind != MT_KIND_TEST || t->verdict == MT_V_NONE || t->gone ||
		    (t->noted & MT_NOTED_QUARANTINE))
			continue;
		id = mt_run_str(&s->run, t->id);
		moved = mt_quar_note(&s->quar, id, (enum mt_verdict)t->verdict);
		if (moved > 0)
			sup_note(s, "quarantine", "%s enters quarantine (3 bad results in its last 5)",
				 id);
		else if (moved < 0)
			sup_note(s, "quarantine", "%s leaves quarantine (3 good results in a row)", id);
	}
	if (mt_quar_save(&s->quar, s->sd.fd, "quarantine.json"))
		return 1;
	mt_msg_sys("cannot write %s/quarantine.json", s->sd.dir);
	return 0;
}

/* What finding the run's processes cost (make bench): the leak checks'
 * scans and the sweeps' passes, through the cgroups or /proc. */
static void put_scans(struct mt_buf *b, struct sup *s)
{
	struct lane *l;
	uint64_t scans = 0;
	int64_t us = 0;

	FOR_ALL_LANES(s, l) {
		scans += l->dirt.scans;
		us += l->dirt.scan_us;
	}
	mt_rec_int(b, "scans", (int64_t)scans);
	mt_rec_int(b, "scan_us", us);
	mt_rec_int(b, "sweeps", (int64_t)s->sweeps);
	mt_rec_int(b, "sweep_us", s->sweep_us);
}

static void finish(struct sup *s, int code)
{
	static char text[MT_OUTBUF];
	static struct mt_atomic a;
	struct mt_meta m = { 0 };
	struct mt_buf *b, out;
	char path[MT_PATH_MAX + 16];
	int64_t now = sup_now(s);
	uint32_t v;
	int hist_ok, quar_ok;

	if (mt_run_left(&s->run) && s->stop == STOP_BUDGET)
		mt_run_settle_rest_planned(&s->run, "budget", "--budget's time was up");
	else if (mt_run_left(&s->run))
		mt_run_settle_rest(&s->run, s->stop_reason ? s->stop_reason : "no progress",
				   s->stop == STOP_FATAL ? s->fatal : NULL);
	/* A resumed run must not count these verdicts twice, nor lose them:
	 * the record names the stores that took them, and only those. */
	hist_ok = remember_durations(s);
	quar_ok = remember_quarantine(s);
	if (hist_ok || quar_ok) {
		b = mt_records_begin(&s->rec, "remembered");
		mt_buf_printf(b, ",\"durations\":%s,\"quarantine\":%s", hist_ok ? "true" : "false",
			      quar_ok ? "true" : "false");
		mt_records_end(&s->rec, now);
	}
	if (s->o->budget_us > 0)
		sup_note(s, "plan", "budget %.1f s: predicted %.1f s, took %.1f s",
			 (double)s->o->budget_us / 1e6, (double)s->sel.predicted_us / 1e6,
			 (double)(now - s->start_us) / 1e6);
	if (s->marks.skipped_total)
		sup_note(s, "kernel", "%llu of %llu markers were not written to the kernel's log: its "
			 "rate limit for /dev/kmsg (kernel.printk_devkmsg=ratelimit, 10 lines in 5 s); "
			 "tests the kernel spoke in were marked first (docs/box.md)",
			 (unsigned long long)s->marks.skipped_total,
			 (unsigned long long)(s->marks.skipped_total + s->marks.written));
	if (s->run.refused)
		sup_note(s, "bug", "%u second verdicts were refused (a bug in mtest)", s->run.refused);
	if (s->prog.dropped)
		sup_note(s, "progress", "%lu progress lines were dropped: nobody read stdout",
			 s->prog.dropped);
	if (s->run.over_limit)
		sup_note(s, "limit", "%u tests were over a limit (%s)", s->run.over_limit,
			 s->run.limit ? s->run.limit : "?");
	if (s->rec.lost) {
		/* Said on stderr too: the note itself may not reach the disk. */
		mt_msg("%llu records could not be written to %s/run.jsonl: %s",
		       (unsigned long long)s->rec.lost, s->sd.run, mt_strerror(s->rec.err));
		sup_note(s, "records", "%llu records could not be written to run.jsonl: %s",
			 (unsigned long long)s->rec.lost, mt_strerror(s->rec.err));
	}
	/* The one decision of the exit code: the summary, the run_end record
	 * and the process all say this one. */
	if (!code)
		code = s->exit_code ? s->exit_code :
		       s->stop == STOP_INTERRUPTED ? MT_EXIT_INTERRUPTED : mt_run_exit_code(&s->run);
	if (s->rec.err && code != MT_EXIT_INTERRUPTED && code != MT_EXIT_USAGE)
		code = MT_EXIT_INTERNAL;
	s->exit_code = code;

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
	m.forked = s->z.forks;
	m.python = s->python;
	m.pytest = s->pytest;
	m.last_dir = s->sd.run;
	m.processes = s->containment;
	m.vmhwm_kb = vmhwm_kb();
	m.notes = &s->notes;
	m.dirties = &s->dirties;
	m.plan_known = s->o->budget_us > 0 && s->table_closed;
	m.plan_budget_us = s->o->budget_us;
	m.plan_predicted_us = s->sel.predicted_us;
	m.plan_chosen = s->sel.kept;
	m.plan_left_out = s->sel.budget_out;
	/* Before run_end: a JUnit file that cannot be written is exit 3. */
	if (s->o->junit && !mt_junit_write(s->o->junit, &s->run, &m) &&
	    code != MT_EXIT_INTERRUPTED && code != MT_EXIT_USAGE)
		s->exit_code = m.exit_code = code = MT_EXIT_INTERNAL;

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
	mt_rec_int(b, "forked", s->z.forks);
	mt_rec_secs(b, "duration", m.elapsed_us);
	mt_rec_int(b, "vmhwm_kb", m.vmhwm_kb);
	put_scans(b, s);
	mt_records_end(&s->rec, now);
	mt_records_close(&s->rec);
	/* A run that was stopped short may be resumed; one that ran its
	 * course (or failed to start) is done. */
	sup_state(s, code == MT_EXIT_INTERRUPTED || s->stop == STOP_RUN_TIMEOUT ||
		  s->stop == STOP_NO_PROGRESS ? "interrupted" : "done", code);

	snprintf(path, sizeof path, "%s/summary.md", s->sd.run);
	if (mt_atomic_open_at(&a, s->sd.run_fd, "summary.md")) {
		mt_summary_render(&a.out, &s->run, &m, 0);
		if (!mt_atomic_commit(&a)) {
			mt_msg_sys("cannot write %s", path);
			mt_atomic_abort(&a);
		}
	} else {
		mt_msg_sys("cannot write %s", path);
	}
	if (s->o->lava) {
		char end[32];

		mt_buf_init(&out, end, sizeof end, -1);
		mt_lava_end(&s->lava, &out);
		mt_progress_signal(&s->prog, out.p, out.len);
	}
	/* A usage error said its one line already; otherwise the summary
	 * always shows (on a dead terminal it fails quietly). */
	if (code == MT_EXIT_USAGE && s->nworkers + s->nzygotes <= 1 && s->run.decided == 0)
		return;
	mt_progress_print(&s->prog, "", 0);
	mt_buf_init(&out, text, sizeof text, 1);
	out.defang = s->o->lava;
	mt_buf_putc(&out, '\n');
	mt_summary_render(&out, &s->run, &m, s->prog.color);
	mt_buf_flush(&out);
}

/* state.json: how this run stands (include/mtest/state/runstate.h). */
void sup_state(struct sup *s, const char *status, int code)
{
	struct mt_runstate st = { .pid = getpid(), .since_wall_us = s->start_wall_us,
				  .synced = (int64_t)s->rec.synced, .exit_code = code };

	enum mt_led_code led = strcmp(status, "running") == 0 ? MT_LED_RUNNING :
			       strcmp(status, "interrupted") == 0 ? MT_LED_INCOMPLETE :
			       mt_led_code_of_end(code, s->run.count[MT_V_HUNG],
						  s->run.count[MT_V_CRASHED], s->run.quar_bad);

	snprintf(st.run, sizeof st.run, "%s", s->sd.run_name);
	snprintf(st.status, sizeof st.status, "%s", status);
	snprintf(st.led, sizeof st.led, "%s", mt_led_look(led)->name);
	sup_leds_show(s, led);
	if (!mt_runstate_write(s->sd.fd, &st) && !s->state_err++)
		mt_msg_sys("cannot write %s/state.json", s->sd.dir);
}

/* The oldest runs beyond --keep go, now that this one has its records. */
static void prune(struct sup *s)
{
	if (mt_statedir_prune(&s->sd, s->o->keep) < 0 && !s->exit_code)
		s->exit_code = MT_EXIT_INTERNAL;
}

int mt_super_main(const struct mt_opts *o)
{
	struct sup *s = &S;
	struct lane *l;
	int code = startup(s, o);

	if (code != MT_EXIT_OK) {
		if (s->rec.fd >= 0)
			mt_records_close(&s->rec);
		return code;
	}
	/* From here on the supervisor allocates nothing. */
	mt_heapcheck_arm();
	mt_notify_send(&s->notify, "READY=1");
	if (!loop(s) || (!s->published && !publish(s)))
		code = MT_EXIT_INTERNAL;
	mt_notify_send(&s->notify, "STOPPING=1");
	FOR_ALL_LANES(s, l)
		mt_worker_signal(&l->w, SIGKILL);
	sup_sweep(s, &s->lanes[0], "the run");
	if (!mt_cgroup_close(&s->cg))
		sup_note(s, "cgroup", "%s", s->cg.why);
	finish(s, code);
	prune(s);
	mt_heapcheck_disarm();
	if (s->console_fd >= 0)
		close(s->console_fd);
	mt_notify_close(&s->notify);
	return s->exit_code;
}
