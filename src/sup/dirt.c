/* mtest: leaks, fixtures' helpers, and their deaths (include/mtest/dirt.h
 * gives the one attribution rule). */
#include "mtest/sup/dirt.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "mtest/base/clock.h"
#include "mtest/base/fsx.h"
#include "mtest/base/msg.h"
#include "mtest/run/run.h"

void mt_dirt_reset(struct mt_dirt *d, pid_t worker, int num)
{
	d->worker = worker;
	d->num = num;
	d->nforeign = d->shared = 0;
	d->spare = 0;
	d->cg = NULL;
	d->leaf = -1;
	d->based = 0;
	d->cursor = -1;
	d->nfx = d->nck = d->nhp = d->ncand = d->nwin = d->win_head = d->dropped = 0;
}

/* ---- what lives under the worker ------------------------------------------ */

static struct mt_seen seen[MT_SCAN_MAX];
static int nseen;
static struct mt_proc procs[MT_SCAN_MAX];

static unsigned char not_mine[MT_SCAN_MAX];

/* Is procs[i] (a breadth-first list: parents come first) this worker's?
 * Not another lane's worker or helper, nor below one, nor a daemon that
 * another lane's worker sent back to mtest. */
static int mine(const struct mt_dirt *d, int i)
{
	char num[16];
	int k;

	not_mine[i] = 0;
	if (!d->nforeign)
		return 1;
	for (k = 0; k < d->nforeign; k++)
		if (procs[i].pid == d->foreign[k])
			return !(not_mine[i] = 1);
	for (k = 0; k < i; k++)
		if (procs[k].pid == procs[i].ppid)
			return !(not_mine[i] = not_mine[k]);
	/* Its parent is mtest: a daemon that came back, or a worker. */
	if (d->shared && procs[i].pid != d->worker &&
	    (!mt_proc_env(procs[i].pid, "MTEST_WORKER", num, sizeof num) || atoi(num) != d->num))
		return !(not_mine[i] = 1);
	return 1;
}

/* The members of the worker's cgroup leaf but the worker: everything it
 * started, wherever it went since. Returns 0 if they cannot be read. */
static int scan_leaf(struct mt_dirt *d)
{
	static pid_t pids[MT_SCAN_MAX];
	struct mt_proc p;
	int i, n, more;

	n = mt_cgroup_pids(d->cg, d->leaf, pids, MT_SCAN_MAX, &more);
	if (n < 0)
		return 0;
	for (i = 0; i < n && nseen < MT_SCAN_MAX; i++)
		if (pids[i] != d->worker && pids[i] != d->spare && mt_proc_stat(pids[i], &p) &&
		    p.state != 'Z')
			seen[nseen++] = (struct mt_seen){ .id = p.pid, .ppid = p.ppid, .start = p.start };
	return 1;
}

/* The worker's threads, and every process below mtest (the worker's, and
 * daemons re-parented to mtest) but the worker and the capture helper; or,
 * when the run's cgroups hold its processes, its leaf's members. */
static void scan_procs(struct mt_dirt *d)
{
	static pid_t tids[MT_THREADS_MAX];
	int i, n, more;

	nseen = 0;
	n = mt_proc_tasks(d->worker, tids, MT_THREADS_MAX, &more);
	for (i = 0; i < n && nseen < MT_SCAN_MAX; i++)
		if (tids[i] != d->worker)
			seen[nseen++] = (struct mt_seen){ .id = tids[i], .ppid = d->worker,
							  .thread = 1 };
	if (mt_cgroup_held(d->cg) && scan_leaf(d))
		return;
	n = mt_proc_descendants(getpid(), procs, MT_SCAN_MAX, &more);
	for (i = 0; i < n && nseen < MT_SCAN_MAX; i++) {
		if (!mine(d, i))
			continue;
		if (procs[i].pid != d->worker && procs[i].pid != d->spare)
			seen[nseen++] = (struct mt_seen){ .id = procs[i].pid, .ppid = procs[i].ppid,
							  .start = procs[i].start };
	}
}

/* Counted and timed, for make bench. */
static void scan(struct mt_dirt *d)
{
	int64_t t0 = mt_now_us();

	scan_procs(d);
	d->scans++;
	d->scan_us += mt_now_us() - t0;
}

/* Is id in the window (lo, hi], which wraps when hi < lo? */
static int in_window(const struct mt_window *w, pid_t id)
{
	if (w->lo < 0 || w->hi < 0 || w->lo == w->hi)
		return 0;
	return w->lo < w->hi ? id > w->lo && id <= w->hi : id > w->lo || id <= w->hi;
}

/* ---- fixtures and helpers ----------------------------------------------- */

static void watch(struct mt_dirt *d, pid_t pid, unsigned long long start, const char *fixture,
		  int plugin)
{
	struct mt_helper *h;
	int k;

	for (k = 0; k < d->nhp; k++)
		if (d->hp[k].pid == pid && d->hp[k].start == start)
			return;
	if (d->nhp == MT_HELPERS_MAX) {
		d->dropped++;
		return;
	}
	h = &d->hp[d->nhp++];
	h->pid = pid;
	h->start = start;
	snprintf(h->fixture, sizeof h->fixture, "%s", fixture ? fixture : "");
#ifdef SYS_pidfd_open
	/* Close-on-exec already: pidfd_open(2) sets it. */
	h->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
#else
	h->pidfd = -1;
#endif
	h->plugin = plugin;
	h->cmd[0] = '\0';
	h->cmd_known = mt_proc_cmdline(pid, "", h->cmd, sizeof h->cmd);
}

void mt_dirt_fixture(struct mt_dirt *d, int64_t key, const char *name, const char *scope,
		     const int *tids, int nt, const int *pids, const unsigned long long *starts,
		     char (*cmds)[160], int np)
{
	struct mt_fixture *f;
	int i;

	if (d->nfx == MT_FIXTURES_MAX) {
		d->dropped++;
		return;
	}
	f = &d->fx[d->nfx++];
	f->key = key;
	snprintf(f->name, sizeof f->name, "%s", name);
	snprintf(f->scope, sizeof f->scope, "%s", scope);
	f->ended = 0;
	f->ended_in = MT_NONE;
	f->nt = nt < MT_FIXTURE_ITEMS ? nt : MT_FIXTURE_ITEMS;
	f->np = np < MT_FIXTURE_ITEMS ? np : MT_FIXTURE_ITEMS;
	for (i = 0; i < f->nt; i++)
		f->t[i] = (struct mt_owned){ .pid = tids[i] };
	for (i = 0; i < f->np; i++) {
		f->p[i] = (struct mt_owned){ .pid = pids[i], .start = starts[i] };
		watch(d, pids[i], starts[i], f->name, 1);
		/* The plugin read it while the process lived: better than an
		 * exe path, and than nothing once it is dead. */
		if (cmds && cmds[i][0] && d->nhp && d->hp[d->nhp - 1].pid == pids[i] &&
		    !d->hp[d->nhp - 1].cmd_known) {
			snprintf(d->hp[d->nhp - 1].cmd, sizeof d->hp[0].cmd, "%s", cmds[i]);
			d->hp[d->nhp - 1].cmd_known = 1;
		}
	}
}

static struct mt_cand *cand_of(struct mt_dirt *d, pid_t id, int thread)
{
	int i;

	for (i = 0; i < d->ncand; i++)
		if (d->cand[i].id == id && d->cand[i].thread == thread)
			return &d->cand[i];
	return NULL;
}

static void add_cand(struct mt_dirt *d, const struct mt_seen *x, uint32_t slot)
{
	if (d->ncand == MT_CANDS_MAX) {
		/* The oldest goes first: its check is long done. */
		d->dropped++;
		memmove(&d->cand[0], &d->cand[1], sizeof d->cand[0] * (MT_CANDS_MAX - 1));
		d->ncand--;
	}
	d->cand[d->ncand++] = (struct mt_cand){ .id = x->id, .ppid = x->ppid, .start = x->start,
						.slot = slot, .thread = x->thread };
}

/* A fixture whose scope ended in a test's teardown: what it owned is that
 * test's to account for now. */
void mt_dirt_fixture_end(struct mt_dirt *d, int64_t key, uint32_t slot)
{
	struct mt_fixture *f;
	struct mt_cand *c;
	int i, k;

	for (i = 0; i < d->nfx; i++) {
		f = &d->fx[i];
		if (f->key != key || f->ended)
			continue;
		f->ended = 1;
		f->ended_in = slot;
		if (slot == MT_NONE)
			continue;	/* the session's end: the sweep follows */
		for (k = 0; k < f->nt + f->np; k++) {
			int thread = k < f->nt;
			const struct mt_owned *o = thread ? &f->t[k] : &f->p[k - f->nt];
			struct mt_seen x = { .id = o->pid, .start = o->start, .thread = (unsigned char)thread };
			struct mt_proc st;

			if (thread && mt_task_stat(d->worker, o->pid, &st))
				x.start = st.start;

			c = cand_of(d, o->pid, thread);
			if (c)
				c->slot = slot;
			else
				add_cand(d, &x, slot);
		}
	}
}

/* Owned by a fixture whose scope lives (for this test: a scope that ended
 * in its own teardown owns nothing any more). */
static int owned(const struct mt_dirt *d, const struct mt_cand *c)
{
	int i, k;

	for (i = 0; i < d->nfx; i++) {
		const struct mt_fixture *f = &d->fx[i];

		if (f->ended && f->ended_in == c->slot)
			continue;
		if (c->thread) {
			for (k = 0; k < f->nt; k++)
				if (f->t[k].pid == c->id)
					return 1;
		} else {
			for (k = 0; k < f->np; k++)
				if ((f->p[k].pid == c->id && f->p[k].start == c->start) ||
				    f->p[k].pid == c->ppid)
					return 1;
		}
	}
	return 0;
}

/* ---- windows ---------------------------------------------------------------- */

/* A command line is empty for an instant after an exec: read again the
 * ones that were not known. */
static void refresh_cmds(struct mt_dirt *d)
{
	int i;

	for (i = 0; i < d->nhp; i++)
		if (!d->hp[i].cmd_known)
			d->hp[i].cmd_known = mt_proc_cmdline(d->hp[i].pid, d->hp[i].cmd, d->hp[i].cmd,
							     sizeof d->hp[i].cmd);
}

void mt_dirt_baseline(struct mt_dirt *d, long cursor)
{
	int i;

	if (d->based)
		return;
	/* What lives now was born at import or collection: the session's.
	 * The worker's children among it are watched as helpers (the plugin
	 * took the same list, and reports their deaths); daemons that came
	 * back to mtest, mtest watches alone. */
	d->based = 1;
	d->cursor = cursor;
	scan(d);
	for (i = 0; i < nseen; i++)
		if (!seen[i].thread && (seen[i].ppid == d->worker || seen[i].ppid == getpid()))
			watch(d, seen[i].id, seen[i].start, "", seen[i].ppid == d->worker);
}

void mt_dirt_test_start(struct mt_dirt *d, long cursor)
{
	d->cursor = cursor;
}

static int check_of(const struct mt_dirt *d, uint32_t slot)
{
	int k;

	for (k = 0; k < d->nck; k++)
		if (d->ck[k].w.slot == slot)
			return k;
	return -1;
}

int mt_dirt_test_end(struct mt_dirt *d, uint32_t slot, long cursor, int64_t grace_us,
		     int64_t now)
{
	struct mt_window w = { .slot = slot, .lo = d->cursor, .hi = cursor };
	int i, any = 0;

	refresh_cmds(d);
	d->cursor = cursor;
	/* Every window is kept a while, to blame the orphans a dead worker
	 * leaves on the test that started them. */
	d->win[d->win_head] = w;	/* a ring: the oldest goes, no copying */
	d->win_head = (d->win_head + 1) % MT_CHECKS_MAX;
	if (d->nwin < MT_CHECKS_MAX)
		d->nwin++;
	for (i = 0; i < d->ncand; i++)
		any |= d->cand[i].slot == slot && !d->cand[i].reported;
	/* Nothing was born anywhere while it ran, and it holds no fixture's
	 * leftovers: nothing to check, no scan. */
	if ((!in_window(&w, (pid_t)cursor) && !any) || check_of(d, slot) >= 0)
		return check_of(d, slot) >= 0;
	if (d->nck == MT_CHECKS_MAX) {
		d->dropped++;	/* the oldest check goes first, unchecked */
		memmove(&d->ck[0], &d->ck[1], sizeof d->ck[0] * (MT_CHECKS_MAX - 1));
		d->nck--;
	}
	d->ck[d->nck++] = (struct mt_check){ .w = w, .due_us = now + grace_us };
	return 1;
}

/* ---- checks ------------------------------------------------------------------ */

static int alive(const struct mt_dirt *d, const struct mt_cand *c)
{
	struct mt_proc st;

	if (c->thread)
		return mt_task_stat(d->worker, c->id, &st) && st.start == c->start &&
		       st.state != 'Z' && st.state != 'X';
	return mt_proc_is(c->id, c->start);
}

static void leak_add(struct mt_leak *l, const struct mt_cand *c)
{
	if (c->thread) {
		if (l->nthreads < 16)
			l->t[l->nthreads++].tid = c->id;
		else
			l->more_threads++;
	} else if (l->nprocs < 16) {
		l->p[l->nprocs].pid = c->id;
		mt_proc_cmdline(c->id, "?", l->p[l->nprocs].cmd, sizeof l->p[0].cmd);
		l->nprocs++;
	} else {
		l->more_procs++;
	}
}

/* Forget candidates that died, once no check waits for them. The living
 * stay: a fixture's, until its scope ends; a leak's, so that its
 * children and the sweep's orphans are blamed on the same test. */
static void compact(struct mt_dirt *d)
{
	int i, keep = 0;

	for (i = 0; i < d->ncand; i++) {
		struct mt_cand *c = &d->cand[i];

		if (check_of(d, c->slot) < 0 && !alive(d, c))
			continue;
		d->cand[keep++] = *c;
	}
	d->ncand = keep;
}

/* Whose is what lives now? Each thing seen goes to the pending check whose
 * window holds its id, or whose test its parent is blamed on. */
static int owner_check(const struct mt_dirt *d, const struct mt_seen *x)
{
	const struct mt_cand *parent;
	int k;

	for (k = 0; k < d->nck; k++)
		if (in_window(&d->ck[k].w, x->id))
			return k;
	parent = x->thread ? NULL : cand_of((struct mt_dirt *)d, x->ppid, 0);
	return parent ? check_of(d, parent->slot) : -1;
}

/* Blame what is seen on its check's test: each becomes a candidate once. */
static void attribute(struct mt_dirt *d, int all, int64_t now)
{
	struct mt_proc st;
	struct mt_cand *c;
	int i, k;

	scan(d);
	for (i = 0; i < nseen; i++) {
		k = owner_check(d, &seen[i]);
		if (k < 0 || (!all && d->ck[k].due_us > now))
			continue;
		/* A thread's start time tells it from a later one with its id. */
		if (seen[i].thread && mt_task_stat(d->worker, seen[i].id, &st))
			seen[i].start = st.start;
		c = cand_of(d, seen[i].id, seen[i].thread);
		if (c && c->start == seen[i].start)
			continue;	/* known: a fixture's moved, or blamed before */
		add_cand(d, &seen[i], d->ck[k].w.slot);
	}
}

int64_t mt_dirt_check(struct mt_dirt *d, int64_t now, int all, mt_leak_fn *fn, void *ctx)
{
	static struct mt_leak found;	/* one check's leaks at a time */
	int i, k, keep, due = 0;
	int64_t next = MT_NEVER;

	for (i = 0; i < d->nck; i++)
		due |= all || d->ck[i].due_us <= now;
	if (due)
		attribute(d, all, now);
	for (i = 0, keep = 0; i < d->nck; i++) {
		if (!all && d->ck[i].due_us > now) {
			if (d->ck[i].due_us < next)
				next = d->ck[i].due_us;
			d->ck[keep++] = d->ck[i];
			continue;
		}
		memset(&found, 0, sizeof found);
		found.slot = d->ck[i].w.slot;
		for (k = 0; k < d->ncand; k++) {
			struct mt_cand *c = &d->cand[k];

			if (c->slot != found.slot || c->reported || owned(d, c) || !alive(d, c))
				continue;
			c->reported = 1;
			leak_add(&found, c);
		}
		if ((found.nthreads || found.nprocs) && fn)
			fn(ctx, &found);
	}
	d->nck = keep;
	compact(d);
	return next;
}

int mt_dirt_undecided(struct mt_dirt *d)
{
	int i;

	if (!d->nck)
		return 0;
	attribute(d, 1, 0);
	for (i = 0; i < d->ncand; i++) {
		const struct mt_cand *c = &d->cand[i];

		if (!c->reported && check_of(d, c->slot) >= 0 && !owned(d, c) && alive(d, c))
			return 1;
	}
	/* Nothing that could leak: every waiting check is clean now. */
	d->nck = 0;
	compact(d);
	return 0;
}

/* ---- helpers' deaths -------------------------------------------------------- */

int mt_dirt_helper_fds(const struct mt_dirt *d, int *fds, int max)
{
	int i, n = 0;

	/* The plugin's helpers are its to report (start and done events). */
	for (i = 0; i < d->nhp && n < max; i++)
		if (d->hp[i].pidfd >= 0 && !d->hp[i].plugin)
			fds[n++] = d->hp[i].pidfd;
	return n;
}

static void death_of(const struct mt_helper *h, struct mt_helper_death *out)
{
	out->pid = h->pid;
	snprintf(out->fixture, sizeof out->fixture, "%s", h->fixture);
	snprintf(out->cmd, sizeof out->cmd, "%s", h->cmd[0] ? h->cmd : "?");
	if (!mt_proc_exit_status(h->pid, h->start, out->status, sizeof out->status))
		out->status[0] = '\0';
}

int mt_dirt_helper_gone(struct mt_dirt *d, pid_t pid, unsigned long long start, int status,
			struct mt_helper_death *out)
{
	char scratch[16];
	int i;

	for (i = 0; i < d->nhp; i++) {
		struct mt_helper *h = &d->hp[i];

		if (h->pid != pid || h->start != start)
			continue;
		death_of(h, out);
		if (status >= 0 && !out->status[0]) {
			if (status & 0x7f)
				snprintf(out->status, sizeof out->status, "%s",
					 mt_signame(status & 0x7f, scratch, sizeof scratch));
			else
				snprintf(out->status, sizeof out->status, "exit %d", (status >> 8) & 0xff);
		}
		if (h->pidfd >= 0)
			close(h->pidfd);
		d->hp[i] = d->hp[--d->nhp];
		return 1;
	}
	return 0;
}

static int helper_dead(const struct mt_helper *h)
{
	struct pollfd p = { .fd = h->pidfd, .events = POLLIN };

	if (h->pidfd >= 0)
		return poll(&p, 1, 0) == 1;
	return !mt_proc_is(h->pid, h->start);
}

int mt_dirt_helpers_dead(struct mt_dirt *d, struct mt_helper_death *out, int max, int all)
{
	int i, n = 0, keep = 0;

	for (i = 0; i < d->nhp; i++) {
		struct mt_helper *h = &d->hp[i];

		if (!h->cmd_known)
			h->cmd_known = mt_proc_cmdline(h->pid, h->cmd, h->cmd, sizeof h->cmd);
		if (n >= max || (h->plugin && !all) || !helper_dead(h)) {
			d->hp[keep++] = *h;
			continue;
		}
		death_of(h, &out[n]);
		n++;
		if (h->pidfd >= 0)
			close(h->pidfd);
	}
	d->nhp = keep;
	return n;
}

uint32_t mt_dirt_owner(const struct mt_dirt *d, const struct mt_proc *p)
{
	int i;

	for (i = 0; i < d->ncand; i++)
		if (!d->cand[i].thread && d->cand[i].id == p->pid && d->cand[i].start == p->start)
			return d->cand[i].slot;
	for (i = 0; i < d->nwin; i++) {	/* newest first */
		const struct mt_window *w = &d->win[(d->win_head - 1 - i + MT_CHECKS_MAX) %
						    MT_CHECKS_MAX];

		if (in_window(w, p->pid))
			return w->slot;
	}
	for (i = 0; i < d->ncand; i++)
		if (!d->cand[i].thread && d->cand[i].id == p->ppid)
			return d->cand[i].slot;
	return MT_NONE;
}

int mt_dirt_fixture_ended_owns(const struct mt_dirt *d, pid_t pid)
{
	int i, k;

	for (i = 0; i < d->nfx; i++)
		for (k = 0; d->fx[i].ended && k < d->fx[i].np; k++)
			if (d->fx[i].p[k].pid == pid)
				return 1;
	return 0;
}

void mt_dirt_close(struct mt_dirt *d)
{
	int i;

	for (i = 0; i < d->nhp; i++)
		if (d->hp[i].pidfd >= 0)
			close(d->hp[i].pidfd);
	d->nhp = 0;
}
