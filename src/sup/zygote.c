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
 * costs a verdict: a lane whose fork is lost asks again.
 *
 * This file keeps the zygote's socket, readiness and failures; its lane's
 * states are lane.c's, to which it says what it found (lane_want_end). */
#include "sup.h"

#include <sys/socket.h>

#define ZYG_FAILS_MAX 3

void zyg_init(struct sup *s)
{
	s->z.use = !s->o->spawn;
	s->z.sock = -1;
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

/* A socket for a new zygote: ours kept, the zygote's end returned (to go
 * to it as fd 5), or -1 when none can be made (then workers are spawned). */
int zyg_socket(struct sup *s)
{
	int sv[2];

	close_sock(s);
	s->z.stopping = 0;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		fall_back(s, "cannot make the zygote's socket: %s", mt_strerror(errno));
		return -1;
	}
	if (!mt_set_nonblock(sv[0])) {
		close(sv[0]);
		close(sv[1]);
		fall_back(s, "cannot set up the zygote's socket: %s", mt_strerror(errno));
		return -1;
	}
	s->z.sock = sv[0];
	s->nzygotes++;
	return sv[1];
}

/* The zygote failed in a way that is not a collection's: it is to be
 * ended and replaced, or forking is given up after too many failures in a
 * row. It stays "ready" until it is dead (zyg_dead), but it is no longer
 * running then, so nothing forks from it meanwhile. */
__attribute__((format(printf, 2, 3)))
static void zyg_failed(struct sup *s, const char *fmt, ...)
{
	char why[MT_EVENT_TEXT_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	lane_want_end(&s->z.l, "the zygote failed");
	if (++s->z.fails >= ZYG_FAILS_MAX)
		fall_back(s, "the zygote failed %d times in a row (the last: %s)", s->z.fails, why);
	else
		sup_note(s, "zygote", "the zygote (pid %d) %s; a new one takes over",
			 (int)s->z.l.w.pid, why);
}

/* Ask the zygote for a worker for this lane. Returns 1 if asked (the lane
 * starts), 0 if the zygote is not ready (the lane waits for one). */
int zyg_fork(struct sup *s, struct lane *l, int64_t now)
{
	struct lane *z = &s->z.l;
	char req[MT_PATH_MAX + 128];
	int n;

	if (!s->z.ready || z->w.state != MT_W_RUNNING || s->z.stopping || z->found.end)
		return 0;
	sup_worker_prepare(s, l, now);
	/* Its faulthandler's file, as build_env names a spawned worker's. */
	n = snprintf(req, sizeof req, "fork %d %s %s/failures/.pytb-%d", l->w.num, l->w.token,
		     s->sd.run_at, l->w.num);
	if (n < 0 || (size_t)n >= sizeof req || !mt_worker_fork(&l->w, s->z.sock, req, (size_t)n,
							 mt_cgroup_join_fd(&s->cg, lane_leaf(s, l)))) {
		mt_worker_reset(&l->w, l->w.num);
		zyg_failed(s, "did not take a fork request (%s)",
			   n < 0 || (size_t)n >= sizeof req ? "too long" : mt_strerror(errno));
		return 0;
	}
	snprintf(l->fp.cmdline, sizeof l->fp.cmdline, "%s", z->fp.cmdline);
	memcpy(l->w.map, z->w.map, z->w.nitems * sizeof l->w.map[0]);
	l->w.nitems = z->w.nitems;
	l->w.spawned_us = now;
	s->z.forks++;
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
	sup_contain(s, l);	/* in its lane's cgroup from its birth, or now */
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

/* Is the lane's worker a fork that never came to be (its pipes ended, or
 * no word of it within the bound)? Then the zygote is blamed, and the
 * lane (lane.c) lets it go and asks again. */
int zyg_fork_lost(struct sup *s, struct lane *l, const char *why)
{
	enum mt_wstate z = s->z.l.w.state;

	if (!l->w.forked || l->w.pid > 0)
		return 0;
	if (z != MT_W_NONE && z != MT_W_DEAD && z != MT_W_KILLING)
		zyg_failed(s, "%s", why);
	return 1;
}

/* The zygote died after it was ready: said, unless mtest ended it (a
 * failure noted already, or the run's end), and counted. */
void zyg_dead(struct sup *s)
{
	struct mt_worker *w = &s->z.l.w;
	char why[64], scratch[16];

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
}
