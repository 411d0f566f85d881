/* mtest: the zygote (src/sup/sup.h tells how the supervisor is cut).
 *
 * One Python process per run imports pytest, the plugin and the suite's
 * conftests and collects the selection once, as the first worker would;
 * then it never runs a test: it forks a worker whenever a lane needs one
 * (a first worker, or a new one after a crash, a hang, a dirty file or an
 * --isolate boundary). A fork costs milliseconds where a new Python, its
 * imports and a collection cost a second on the box.
 *
 * If collecting left a thread or a process running in it, forking is not
 * safe (a lock held by another thread stays held in the child): the zygote
 * says why and workers are spawned, as with --spawn. A zygote that dies or
 * stops answering is replaced; after ZYG_FAILS_MAX failures in a row,
 * workers are spawned for the rest of the run. No failure of the zygote
 * costs a verdict: a lane whose fork is lost asks again. */
#include "sup.h"

#include <sys/socket.h>

#define ZYG_FAILS_MAX 3

void zyg_init(struct sup *s)
{
	lane_init(&s->z.l, -1);
	s->z.use = !s->o->spawn;
	s->z.sock = -1;
}

int zyg_is(const struct sup *s, const struct lane *l)
{
	return l == &s->z.l;
}

int zyg_wanted(const struct sup *s)
{
	return s->z.use;
}

static void close_sock(struct sup *s)
{
	if (s->z.sock >= 0)
		close(s->z.sock);
	s->z.sock = -1;
	s->z.ready = 0;
}

/* Workers are spawned from now on; said once, with why. */
__attribute__((format(printf, 2, 3)))
static void fall_back(struct sup *s, const char *fmt, ...)
{
	char why[MT_EVENT_TEXT_MAX];
	va_list ap;

	if (!s->z.use)
		return;
	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	s->z.use = 0;
	sup_note(s, "zygote", "workers are spawned, not forked: %s", why);
}

/* Start the zygote if it is not there. Returns 1 while it lives (it
 * starts, collects or serves), 0 if it could not start. */
int zyg_start(struct sup *s, int64_t now)
{
	struct lane *l = &s->z.l;
	int sv[2];

	if (l->w.state != MT_W_NONE || l->sweep_next_us)
		return 1;
	if (!s->z.use)
		return 0;
	close_sock(s);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		fall_back(s, "cannot make the zygote's socket: %s", mt_strerror(errno));
		return 0;
	}
	if (!mt_set_nonblock(sv[0])) {
		close(sv[0]);
		close(sv[1]);
		fall_back(s, "cannot set up the zygote's socket: %s", mt_strerror(errno));
		return 0;
	}
	s->z.sock = sv[0];
	s->z.stopping = 0;
	s->nzygotes++;
	sup_exec_worker(s, l, now, sv[1]);
	close(sv[1]);
	if (l->w.state == MT_W_NONE) {
		close_sock(s);
		return 0;
	}
	return 1;
}

/* The zygote failed in a way that is not a collection's: it is ended and
 * replaced, or forking is given up after too many failures in a row. */
__attribute__((format(printf, 3, 4)))
static void zyg_failed(struct sup *s, int64_t now, const char *fmt, ...)
{
	char why[MT_EVENT_TEXT_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	/* Still "ready" until it is dead (zyg_dead): it is no longer running,
	 * so nothing forks from it meanwhile. */
	sup_kill_worker(s, &s->z.l, now, "the zygote failed");
	if (++s->z.fails >= ZYG_FAILS_MAX)
		fall_back(s, "the zygote failed %d times in a row (the last: %s)", s->z.fails, why);
	else
		sup_note(s, "zygote", "the zygote (pid %d) %s; a new one takes over",
			 (int)s->z.l.w.pid, why);
}

/* Ask the zygote for a worker for this lane. Returns 1 if asked, 0 if
 * the zygote is not ready (the lane waits, and zyg_start makes one). */
int zyg_fork(struct sup *s, struct lane *l, int64_t now)
{
	struct lane *z = &s->z.l;
	char req[MT_PATH_MAX + 128];
	int n;

	if (!s->z.ready || z->w.state != MT_W_RUNNING || s->z.stopping)
		return 0;
	sup_worker_prepare(s, l, now);
	/* Its faulthandler's file, as build_env names a spawned worker's. */
	n = snprintf(req, sizeof req, "fork %d %s %s/failures/.pytb-%d", l->w.num, l->w.token,
		     s->sd.run, l->w.num);
	if (n < 0 || (size_t)n >= sizeof req || !mt_worker_fork(&l->w, s->z.sock, req, (size_t)n)) {
		mt_worker_reset(&l->w, l->w.num);
		zyg_failed(s, now, "did not take a fork request (%s)",
			   n < 0 || (size_t)n >= sizeof req ? "too long" : mt_strerror(errno));
		return 0;
	}
	snprintf(l->fp.cmdline, sizeof l->fp.cmdline, "%s", z->fp.cmdline);
	memcpy(l->w.map, z->w.map, z->w.nitems * sizeof l->w.map[0]);
	l->w.nitems = z->w.nitems;
	l->w.spawned_us = now;
	s->z.forks++;
	lane_enter(l, MT_W_STARTING, s->o->collect_timeout_us > 0 ?
				     now + s->o->collect_timeout_us : MT_NEVER);
	return 1;
}

/* The zygote collected: "zygote" says whether it forks. */
void zyg_said(struct sup *s, const struct mt_event *e, int64_t now)
{
	struct mt_worker *w = &s->z.l.w;

	(void)now;
	if (e->ok && s->z.use) {
		s->z.ready = 1;
		return;
	}
	if (!e->ok)
		fall_back(s, "collecting left the zygote unsafe to fork: %s", e->text);
	/* An ordinary worker now, with nothing to run: it ends. */
	if (!w->ended) {
		mt_worker_send(w, "e\n", 2);
		w->ended = 1;
	}
	close_sock(s);
}

/* A forked worker's pid, from the zygote ("forked") or from the worker
 * itself (its hello): it is mtest's child from the moment it is known. */
void zyg_adopt(struct sup *s, struct lane *l, pid_t pid)
{
	struct mt_worker *w = &l->w;
	struct mt_proc st;
	unsigned k;

	if (!w->forked || w->pid > 0 || pid <= 1)
		return;
	for (k = 0; k < sizeof s->unclaimed / sizeof s->unclaimed[0]; k++)
		if (s->unclaimed[k].pid == pid) {
			/* It died before anyone named it. */
			w->pid = pid;
			w->status = s->unclaimed[k].status;
			w->reaped = 1;
			s->unclaimed[k].pid = 0;
			sup_dirt_spawned(l);
			return;
		}
	if (!mt_proc_stat(pid, &st) || st.ppid != getpid())
		return;	/* not a child of ours: not this worker */
	w->pid = pid;
	w->start = st.start;
	s->z.fails = 0;
	sup_dirt_spawned(l);	/* its dirt is watched from its pid on */
}

void zyg_forked(struct sup *s, const struct mt_event *e)
{
	struct lane *l;

	FOR_LANES(s, l)
		if (l->w.forked && l->w.num == e->n && l->w.state != MT_W_NONE)
			zyg_adopt(s, l, (pid_t)e->pid);
}

/* A child nobody claimed was reaped: if a fork's pid is still unknown, it
 * may be that worker's status. */
void zyg_reaped(struct sup *s, pid_t pid, int status)
{
	struct lane *l;
	unsigned k, n = sizeof s->unclaimed / sizeof s->unclaimed[0];

	FOR_LANES(s, l)
		if (l->w.forked && l->w.pid <= 0 && l->w.state != MT_W_NONE)
			break;
	if (l == s->lanes + s->nlanes)
		return;
	for (k = 0; k < n && s->unclaimed[k].pid; k++)
		;
	k = k < n ? k : (unsigned)(pid % (pid_t)n);
	s->unclaimed[k].pid = pid;
	s->unclaimed[k].status = status;
}

/* A lane's fork that never came to be (its pipes ended, or no word of it
 * within the bound): the lane is free to ask again, the zygote is blamed.
 * Returns 0 if the lane's worker is not a fork whose pid is unknown. */
int zyg_fork_lost(struct sup *s, struct lane *l, const char *why, int64_t now)
{
	if (!l->w.forked || l->w.pid > 0)
		return 0;
	mt_worker_close(&l->w);
	l->w.pid = -1;
	lane_enter(l, MT_W_NONE, MT_NEVER);
	if (s->z.l.w.state != MT_W_NONE && s->z.l.w.state != MT_W_DEAD &&
	    s->z.l.w.state != MT_W_KILLING)
		zyg_failed(s, now, "%s", why);
	return 1;
}

/* The zygote died after it was ready (sup_worker_dead's, for it). */
void zyg_dead(struct sup *s)
{
	struct lane *l = &s->z.l;
	struct mt_worker *w = &l->w;
	char why[64], scratch[16];

	mt_worker_read_events(w, sup_on_line, s);
	mt_worker_read_console(w, s->console_fd, &s->console_logged);
	if (WIFSIGNALED(w->status))
		snprintf(why, sizeof why, "%s", mt_signame(WTERMSIG(w->status), scratch,
							    sizeof scratch));
	else
		snprintf(why, sizeof why, "exit %d", WEXITSTATUS(w->status));
	if (!w->killing && !s->z.stopping && s->stop == STOP_NONE) {
		if (++s->z.fails >= ZYG_FAILS_MAX)
			fall_back(s, "the zygote died %d times in a row (the last: %s)",
				  s->z.fails, why);
		else
			sup_note(s, "zygote", "the zygote (pid %d) died (%s); a new one takes over",
				 (int)w->pid, why);
	}
	close_sock(s);
	mt_worker_close(w);
	lane_enter(l, MT_W_NONE, MT_NEVER);
	sup_sweep_begin(s, l, "the zygote", mt_now_us());
	w->pid = -1;
}

/* The run is over: the zygote ends its session (it ran no test), within
 * a bound. Returns 1 while it lives. */
int zyg_end(struct sup *s, int64_t now)
{
	struct lane *l = &s->z.l;

	if (l->w.state == MT_W_NONE)
		return l->sweep_next_us > 0;
	if (!s->z.stopping) {
		s->z.stopping = 1;
		s->z.ready = 0;
		if (l->w.state == MT_W_RUNNING) {
			mt_worker_send(&l->w, "s\n", 2);
			lane_enter(l, MT_W_STOPPING, now + MT_SESSION_END_US);
		} else {
			sup_kill_worker(s, l, now, "the run is over");
		}
	}
	return 1;
}
