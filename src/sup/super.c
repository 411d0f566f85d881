/* mtest: the supervisor loop (src/sup.h tells how the supervisor is cut). */
#include "sup.h"

struct super S;

/* ---- timers ------------------------------------------------------------- */

/* The evidence first, then the verdict and the kill (capture_done). */
void sup_test_timeout(struct super *s, int64_t now)
{
	struct watch *wt = &s->watch;

	s->cur.deadline_us = MT_NEVER;
	wt->timed_out = 1;
	if (!wt->helper)
		sup_capture_begin(s, CAPTURE_TIMEOUT, "TIMEOUT", sup_timeout_reason(s), now);
}

/* The event pipe ended (EOF or an error) or the control pipe broke while
 * the worker lives on: a test closed them. Nothing it does from now on
 * could be heard, so it is ended at once; its test in flight is crashed. */
void sup_channel_lost(struct super *s, int64_t now, const char *what)
{
	struct mt_worker *w = &s->w;
	char detail[MT_DETAIL_MAX];
	const char *id;

	if (w->reaped || w->state == MT_W_NONE || w->state == MT_W_DEAD ||
	    w->state == MT_W_KILLING || mt_proc_ending(w->pid))
		return;	/* it is dying: its status will tell */
	if (s->cur.slot != MT_NONE) {
		id = mt_run_str(&s->run, s->run.t[s->cur.slot].id);
		snprintf(s->end_cause, sizeof s->end_cause, "%s %s", id,
			 strcmp(what, "event pipe closed") == 0 ? "closed its event pipe" :
			 "broke its pipes to mtest");
		snprintf(detail, sizeof detail, "the worker's %s while this test ran (a test that "
			 "closes descriptors it does not own?); mtest ended the worker", what);
		sup_read_output(s);
		sup_settle(s, MT_V_CRASHED, what, detail, 1);
	}
	sup_note(s, "worker", "worker %d: %s while it %s; ended", w->num, what,
		 s->end_cause[0] ? "ran a test" : "held no test");
	sup_kill_worker(s, now, what);
}

static void on_collect_timeout(struct super *s, int64_t now)
{
	if (s->collecting_id[0]) {
		sup_collection_error(s, s->collecting_id, s->collecting_path, "hung",
				     "collecting it took longer than --collect-timeout", NULL);
		if (s->collecting_file)
			sup_ignore_path(s, s->collecting_path);
		sup_note(s, "worker", "worker %d hung collecting %s; it is left out", s->w.num,
			 s->collecting_id);
	} else {
		sup_note(s, "worker", "worker %d did not start within --collect-timeout", s->w.num);
	}
	s->collect_deadline_us = MT_NEVER;
	sup_kill_worker(s, now, "collection hung");
}

static int64_t next_deadline(struct super *s)
{
	int64_t d = s->run_deadline_us;

#define MIN(x) do { if ((x) < d) d = (x); } while (0)
	MIN(s->rec.sync_due_us);
	MIN(s->prog.next_tick_us);
	if (s->w.state == MT_W_RUNNING || s->w.state == MT_W_STOPPING)
		MIN(s->dirt_next_us);
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
		if (!s->fence_waiting)
			MIN(s->idle_deadline_us);
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
	if (s->coalesce_until_us > 0)
		MIN(s->coalesce_until_us);
	if (s->sweep_next_us > 0)
		MIN(s->sweep_next_us);
#undef MIN
	return d;
}

/* The worker held work and said nothing for a whole test's timeout with
 * no test in flight (a forged end, a plugin stuck between tests): its
 * stacks are not anybody's test's; it is ended, and its queue goes to the
 * next worker. */
static void on_idle_timeout(struct super *s, int64_t now)
{
	s->idle_deadline_us = MT_NEVER;
	sup_note(s, "worker", "worker %d held %u tests and said nothing for %.0f s between "
		 "tests; ended", s->w.num, s->w.qsent - s->w.qdone,
		 (double)(now - s->last_event_us) / 1e6);
	sup_kill_worker(s, now, "it said nothing between tests");
}

static void on_timers(struct super *s, int64_t now)
{
	struct mt_worker *w = &s->w;

	if (now >= s->rec.sync_due_us)
		mt_records_sync(&s->rec);
	if (now >= s->dirt_next_us &&
	    (w->state == MT_W_RUNNING || w->state == MT_W_STOPPING))
		sup_dirt_timer(s, now);
	if (now >= s->prog.next_tick_us)
		mt_progress_tick(&s->prog, &s->run, now);
	if (now >= s->run_deadline_us) {
		s->run_deadline_us = MT_NEVER;
		sup_note(s, "run", "the run timeout expired; the rest is not run");
		sup_stop(s, STOP_RUN_TIMEOUT, "run timeout", now);
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
				sup_kill_helper(s);
				s->watch.helper_deadline_us = MT_NEVER;
			}
		} else if (now >= s->cur.deadline_us) {
			sup_test_timeout(s, now);
		} else if (s->cur.slot != MT_NONE && now >= s->watch.next_us) {
			sup_watch_sample(s, now);
		}
		if (s->cur.slot == MT_NONE && !s->fence_waiting && now >= s->idle_deadline_us)
			on_idle_timeout(s, now);
		break;
	case MT_W_STOPPING:
		if (now >= s->exit_deadline_us) {
			sup_note(s, "worker", "worker %d did not exit after its session%s%s; killed",
				 w->num, s->holders[0] ? ": threads alive: " : "", s->holders);
			s->exit_deadline_us = MT_NEVER;
			sup_kill_worker(s, now, "it did not exit after its session");
		}
		break;
	case MT_W_KILLING:
		if (now >= w->kill_at_us && !w->kill_sent) {
			mt_worker_signal(w, SIGKILL);
			w->kill_sent = 1;
			w->kill_at_us = now + MT_KILL_GIVEUP_US;
		} else if (now >= w->kill_at_us) {
			/* Stuck in the kernel (state D) past SIGKILL: stop
			 * waiting; its exit, if it comes, is reaped as nobody's. */
			sup_note(s, "worker", "worker %d (pid %d) did not die %.0f s after SIGKILL; "
				 "mtest goes on without it", w->num, (int)w->pid,
				 (double)MT_KILL_GIVEUP_US / 1e6);
			w->status = SIGKILL;	/* as if killed: WIFSIGNALED */
			w->reaped = 1;
			w->kill_at_us = MT_NEVER;
		}
		break;
	default:
		break;
	}
	if (s->coalesce_until_us > 0 && now >= s->coalesce_until_us)
		s->coalesce_until_us = 0;
	if (s->sweep_next_us > 0 && now >= s->sweep_next_us)
		sup_sweep_pass(s, now);
}

/* ---- signals -------------------------------------------------------------- */

static void on_signals(struct super *s, int64_t now)
{
	struct signalfd_siginfo si;
	ssize_t r;

	while ((r = read(s->sigfd, &si, sizeof si)) == (ssize_t)sizeof si) {
		switch (si.ssi_signo) {
		case SIGCHLD:
			sup_reap(s);
			break;
		case SIGINT:
		case SIGTERM:
		case SIGHUP:
			if (s->stop == STOP_INTERRUPTED && s->w.state == MT_W_KILLING &&
			    !s->w.kill_sent) {
				/* Asked twice: no more grace. */
				mt_worker_signal(&s->w, SIGKILL);
				s->w.kill_sent = 1;
				s->w.kill_at_us = now + MT_KILL_GIVEUP_US;
			}
			sup_stop(s, STOP_INTERRUPTED, "interrupted", now);
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

	if (w->reaped && w->state != MT_W_DEAD && w->state != MT_W_NONE) {
		/* Hear its last words in its last state, then call it dead. */
		mt_worker_read_events(w, sup_on_line, s);
		mt_worker_read_console(w, s->console_fd, &s->console_logged);
		w->died_in = w->state;
		w->state = MT_W_DEAD;
	}
	if (s->watch.helper_done)
		sup_capture_done(s, now);
	if (w->stopped && !w->reaped && w->state != MT_W_DEAD)
		sup_worker_stopped(s, now);
	if (w->state == MT_W_DEAD)
		sup_worker_dead(s);
	if (w->state == MT_W_RUNNING && w->ended && w->qdone >= w->qlen &&
	    s->cur.slot == MT_NONE) {
		/* All sent tests ran: let the session end and pytest exit. */
		w->state = MT_W_STOPPING;
		s->exit_deadline_us = now + MT_DEFAULT_TIMEOUT_US;
	}
	if (w->state != MT_W_NONE || s->sweep_next_us > 0)
		return 1;	/* a worker, or the sweep after one, is not done */
	if (s->stop != STOP_NONE)
		return 0;
	if (s->table_closed && mt_run_left(&s->run) == 0)
		/* Every test has its verdict; --recheck runs the bad ones. */
		return s->o->recheck && sup_recheck_next(s, now) && w->state != MT_W_NONE;
	sup_spawn(s, now);
	return w->state != MT_W_NONE;
}

/* Each pipe write that wakes mtest costs the worker more than the write
 * itself (on a VM, an inter-processor interrupt). While tests stream by,
 * let their events gather for a moment: the event pipe is left out of the
 * poll until then (a timer, never a sleep: signals and other pipes are
 * heard at once, and deadlines are seconds away). Never before a fence,
 * where the worker waits for mtest. */
static void coalesce(struct super *s, int64_t now)
{
	struct mt_worker *w = &s->w;

	if (w->state != MT_W_RUNNING || w->ctl_len || s->stop != STOP_NONE ||
	    s->cur.slot == MT_NONE || w->ev_fd < 0)
		return;
	/* The test in flight is the last before a fence: the worker will
	 * soon wait for our answer there. */
	if (w->qdone + 1 < w->qsent && sup_fence_due(s, w->qdone))
		return;
	s->coalesce_until_us = now + MT_COALESCE_US;
}

/* Read the worker's events; an end of the pipe while it lives is news. */
static void read_events(struct super *s, int64_t now)
{
	struct mt_worker *w = &s->w;

	if (!mt_worker_read_events(w, sup_on_line, s)) {
		sup_protocol_check(s);
		sup_channel_lost(s, now, w->ev_err ? "event pipe failed" : "event pipe closed");
		return;
	}
	sup_protocol_check(s);
	s->last_event_us = now;
	if (s->cur.slot == MT_NONE)
		sup_idle_arm(s, now);
}

static int loop(struct super *s)
{
	struct pollfd pfd[4 + MT_HELPERS_MAX];
	int helper_fds[MT_HELPERS_MAX];
	struct mt_worker *w = &s->w;
	int64_t now, deadline;
	int n, nh, timeout_ms, r, i, dead_helper;

	for (;;) {
		now = mt_now_us();
		if (!advance(s, now))
			return 1;
		n = 0;
		pfd[n++] = (struct pollfd){ .fd = s->sigfd, .events = POLLIN };
		pfd[n++] = (struct pollfd){ .fd = s->coalesce_until_us ? -1 : w->ev_fd,
					    .events = POLLIN };
		pfd[n++] = (struct pollfd){ .fd = w->con_fd, .events = POLLIN };
		pfd[n++] = (struct pollfd){ .fd = w->ctl_len ? w->ctl_fd : -1, .events = POLLOUT };
		/* A session helper's pidfd turns readable when it dies. */
		nh = w->state == MT_W_NONE ? 0 : mt_dirt_helper_fds(&s->dirt, helper_fds,
								    MT_HELPERS_MAX);
		for (i = 0; i < nh; i++)
			pfd[n++] = (struct pollfd){ .fd = helper_fds[i], .events = POLLIN };
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
				read_events(s, now);
				coalesce(s, now);
			}
			if (pfd[2].revents)
				mt_worker_read_console(w, s->console_fd, &s->console_logged);
			if (pfd[3].revents)
				mt_worker_flush(w);
			if (w->ctl_broken)
				sup_channel_lost(s, now, "control pipe closed");
			for (i = 4, dead_helper = 0; i < n; i++)
				dead_helper |= pfd[i].revents != 0;
			if (dead_helper)
				sup_dirt_helpers(s);
		}
		on_timers(s, mt_now_us());
	}
}

/* ---- start and end -------------------------------------------------------- */

/* A process of an earlier, dead mtest: named, never attributed to a test
 * of this run. */
static void on_stale(void *ctx, const struct mt_proc *p)
{
	sup_killed_add(&((struct super *)ctx)->left, p);
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
	/* A long command line must not cost the record its other fields:
	 * half the record for argv, the rest counted. */
	for (i = 0; i < s->o->argc && b->len < MT_RECORD_MAX / 2; i++) {
		if (i)
			mt_buf_putc(b, ',');
		mt_buf_json_max(b, s->o->argv[i], strlen(s->o->argv[i]), 1024);
	}
	mt_buf_putc(b, ']');
	if (i < s->o->argc)
		mt_rec_int(b, "argv_cut", s->o->argc - i);
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

/* Start-up, in an order where each step needs only the ones before it.
 * Nothing of an earlier run is touched: this run gets a folder of its
 * own, and last-run points at it only once its journal has begun. */
static int startup(struct super *s, const struct mt_opts *o)
{
	char path[MT_PATH_MAX + 32];
	int stale, usage;

	memset(&s->notes, 0, sizeof s->notes);
	s->o = o;
	s->start_us = mt_now_us();
	s->start_wall_us = mt_wall_us();
	s->run_deadline_us = o->run_timeout_us > 0 ? s->start_us + o->run_timeout_us : MT_NEVER;
	s->suite_timeout_us = -1;
	s->active_dirty = s->restart_for = -1;
	s->dirt_next_us = MT_NEVER;
	s->idle_deadline_us = MT_NEVER;
	s->console_fd = -1;
	s->rec.fd = -1;
	s->rec.sync_due_us = MT_NEVER;
	mt_run_init(&s->run, sup_on_verdict, s);
	sup_inflight_reset(s);
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
	if (!mt_statedir_open(&s->sd, &usage))
		return usage == 2 ? MT_EXIT_BUSY : usage ? MT_EXIT_USAGE : MT_EXIT_INTERNAL;
	/* Processes of an earlier mtest that died by kill -9 (its workers
	 * die with it, their children do not): before anything else runs. */
	sup_killed_reset(&s->left);
	stale = mt_procs_kill_stale(RUN_TAG_VAR, on_stale, s);
	if (!mt_statedir_plugin(&s->sd))
		return MT_EXIT_INTERNAL;
	if (!mt_plugin_install(s->sd.plugin)) {
		mt_msg_sys("cannot write the plugin into %s", s->sd.plugin);
		return MT_EXIT_INTERNAL;
	}
	if (!mt_statedir_new_run(&s->sd, s->start_wall_us))
		return MT_EXIT_INTERNAL;
	if (!mt_records_open(&s->rec, s->sd.run)) {
		mt_msg_sys("cannot create %s/run.jsonl", s->sd.run);
		return MT_EXIT_INTERNAL;
	}
	snprintf(path, sizeof path, "%s/console.log", s->sd.run);
	s->console_fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_NOFOLLOW | O_CLOEXEC,
			     0644);
	mt_procs_self_tag(s->run_tag, sizeof s->run_tag);
	find_preload(s);
	record_run_start(s);
	if (stale)
		sup_note(s, "leftovers", "killed %d process%s left by an earlier mtest run: %s%s",
			 stale, stale == 1 ? "" : "es", s->left.text.p, s->left.count > 6 ? ", ..." : "");
	if (!mt_statedir_publish(&s->sd))
		return MT_EXIT_INTERNAL;
	mt_statedir_remember(&s->sd);
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
	m.python = s->fp.python;
	m.pytest = s->fp.pytest;
	m.last_dir = s->sd.run;
	m.vmhwm_kb = vmhwm_kb();
	m.notes = &s->notes;
	m.dirties = &s->dirties;

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

	snprintf(path, sizeof path, "%s/summary.md", s->sd.run);
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

/* The oldest runs beyond --keep go, now that this one has its records. */
static void prune(struct super *s)
{
	if (mt_statedir_prune(&s->sd, s->o->keep) < 0 && !s->exit_code)
		s->exit_code = MT_EXIT_INTERNAL;
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
	sup_sweep(s, "the run");
	finish(s, code);
	prune(s);
	mt_heapcheck_disarm();
	if (s->console_fd >= 0)
		close(s->console_fd);
	return s->exit_code;
}
