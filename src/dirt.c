/* mtest: leaks, fixtures' helpers, and their deaths. */
#include "mtest/dirt.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "mtest/clock.h"
#include "mtest/fsx.h"
#include "mtest/msg.h"
#include "mtest/procs.h"
#include "mtest/run.h"

static int64_t read_clock_us(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void mt_dirt_reset(struct mt_dirt *d, pid_t worker)
{
	d->worker = worker;
	d->spare = 0;
	d->hz = sysconf(_SC_CLK_TCK);
	if (d->hz <= 0)
		d->hz = 100;
	d->boot_offset_us = read_clock_us(CLOCK_BOOTTIME) - read_clock_us(CLOCK_MONOTONIC);
	d->nfx = d->nck = d->nhp = d->nleaked = d->nborn = d->nkids = d->dropped = 0;
	d->first_test_us = 0;
}

int64_t mt_dirt_ticks_to_us(const struct mt_dirt *d, unsigned long long start)
{
	return (int64_t)(start * 1000000ULL / (unsigned long long)d->hz) - d->boot_offset_us;
}

void mt_dirt_thread(struct mt_dirt *d, pid_t tid, uint32_t slot)
{
	int i;

	for (i = 0; i < d->nborn && d->born[i].tid != tid; i++)
		;
	if (i == d->nborn) {
		if (d->nborn == MT_THREADS_MAX)
			return;	/* fall back on start times for the rest */
		d->nborn++;
	}
	d->born[i].tid = tid;
	d->born[i].slot = slot;
}

static void watch(struct mt_dirt *d, pid_t pid, unsigned long long start, const char *comm);

void mt_dirt_fixture(struct mt_dirt *d, int64_t key, const char *name, const char *scope,
		     const int *tids, int nt, const int *pids, const unsigned long long *starts,
		     int np)
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
	for (i = 0; i < f->nt; i++) {
		f->t[i].pid = tids[i];
		f->t[i].start = 0;
	}
	for (i = 0; i < f->np; i++) {
		struct mt_proc st;

		f->p[i].pid = pids[i];
		f->p[i].start = starts[i];
		watch(d, pids[i], starts[i], mt_proc_stat(pids[i], &st) ? st.comm : name);
	}
}

void mt_dirt_fixture_end(struct mt_dirt *d, int64_t key, uint32_t slot)
{
	int i;

	for (i = 0; i < d->nfx; i++)
		if (d->fx[i].key == key && !d->fx[i].ended) {
			d->fx[i].ended = 1;
			d->fx[i].ended_in = slot;
		}
}

/* ---- what lives under the worker ------------------------------------------ */

struct seen {
	pid_t pid, ppid;
	unsigned long long start;
	int thread;
	char name[64];
};

static struct seen seen[MT_SCAN_MAX];
static int nseen;

static void add_seen(pid_t pid, pid_t ppid, unsigned long long start, int thread,
		     const char *name)
{
	if (nseen >= (int)(sizeof seen / sizeof seen[0]))
		return;
	seen[nseen].pid = pid;
	seen[nseen].ppid = ppid;
	seen[nseen].start = start;
	seen[nseen].thread = thread;
	snprintf(seen[nseen].name, sizeof seen[0].name, "%s", name);
	nseen++;
}

/* Start time (ticks after boot) of a thread of the worker. */
static unsigned long long task_start(pid_t pid, pid_t tid)
{
	char path[96], text[1024], *p;
	unsigned long long v = 0;
	int field;

	snprintf(path, sizeof path, "/proc/%d/task/%d/stat", (int)pid, (int)tid);
	if (mt_read_file(path, text, sizeof text) <= 0 || !(p = strrchr(text, ')')))
		return 0;
	/* Field 22 (starttime) is the 20th after the ')'. */
	for (field = 0, p += 2; *p && field < 19; p++)
		if (*p == ' ')
			field++;
	sscanf(p, "%llu", &v);
	return v;
}

static void scan_children(pid_t pid, int depth)
{
	struct mt_dir dir;
	char path[96], text[2048], *p, *end;
	const char *task;
	struct mt_proc st;
	long kid;

	if (depth > 6)
		return;
	snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
	if (!mt_dir_open(&dir, AT_FDCWD, path))
		return;
	while ((task = mt_dir_next(&dir, NULL))) {
		snprintf(path, sizeof path, "/proc/%d/task/%s/children", (int)pid, task);
		if (mt_read_file(path, text, sizeof text) <= 0)
			continue;
		for (p = text;; p = end) {
			kid = strtol(p, &end, 10);
			if (end == p)
				break;
			if (!mt_proc_stat((pid_t)kid, &st) || st.state == 'Z')
				continue;
			add_seen((pid_t)kid, st.ppid, st.start, 0, st.comm);
			scan_children((pid_t)kid, depth + 1);
		}
	}
	mt_dir_close(&dir);
}

/* The worker's threads, its processes, and processes re-parented to
 * mtest (double-forked daemons), with their descendants. */
static void scan(struct mt_dirt *d)
{
	static struct mt_dir dir;
	char path[64];
	const char *name;
	pid_t tid;

	nseen = 0;
	snprintf(path, sizeof path, "/proc/%d/task", (int)d->worker);
	if (mt_dir_open(&dir, AT_FDCWD, path)) {
		while ((name = mt_dir_next(&dir, NULL))) {
			tid = (pid_t)atoi(name);
			if (tid != d->worker)
				add_seen(tid, d->worker, task_start(d->worker, tid), 1, "");
		}
		mt_dir_close(&dir);
	}
	scan_children(d->worker, 0);
	{
		/* mtest's own children other than the worker and its helper. */
		pid_t self = getpid();
		char text[2048], *p, *end;
		long kid;
		struct mt_proc st;

		snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int)self, (int)self);
		if (mt_read_file(path, text, sizeof text) > 0)
			for (p = text;; p = end) {
				kid = strtol(p, &end, 10);
				if (end == p)
					break;
				if (kid == d->worker || kid == d->spare || !mt_proc_stat((pid_t)kid, &st) ||
				    st.state == 'Z')
					continue;
				add_seen((pid_t)kid, st.ppid, st.start, 0, st.comm);
				scan_children((pid_t)kid, 1);
			}
	}
}

static int owned(const struct mt_dirt *d, const struct seen *x, uint32_t for_slot)
{
	int i, k;

	for (i = 0; i < d->nfx; i++) {
		const struct mt_fixture *f = &d->fx[i];

		/* A fixture's helpers stop being its own once its scope ended
		 * in another test's teardown... then they are that test's. */
		if (f->ended && f->ended_in == for_slot)
			continue;
		if (x->thread) {
			for (k = 0; k < f->nt; k++)
				if (f->t[k].pid == x->pid)
					return 1;
		} else {
			for (k = 0; k < f->np; k++)
				if ((f->p[k].pid == x->pid && f->p[k].start == x->start) ||
				    f->p[k].pid == x->ppid)
					return 1;
		}
	}
	return 0;
}

static int reported(const struct mt_dirt *d, const struct seen *x)
{
	int i;

	for (i = 0; i < d->nleaked; i++)
		if (d->leaked[i].pid == x->pid && d->leaked[i].start == x->start)
			return 1;
	return 0;
}

static void mark_reported(struct mt_dirt *d, const struct seen *x)
{
	if (d->nleaked < MT_LEAKED_MAX) {
		d->leaked[d->nleaked].pid = x->pid;
		d->leaked[d->nleaked].start = x->start;
		d->nleaked++;
	}
}

static int check_of(const struct mt_dirt *d, uint32_t slot)
{
	int k;

	for (k = 0; k < d->nck; k++)
		if (d->ck[k].slot == slot)
			return k;
	return -1;
}

/* Which check's test started this thread or process? */
static int owner_check(const struct mt_dirt *d, const struct seen *x)
{
	int64_t born;
	int i, tick_us = (int)(1000000 / d->hz);

	if (x->thread)
		for (i = 0; i < d->nborn; i++)
			if (d->born[i].tid == x->pid)
				return check_of(d, d->born[i].slot);
	for (i = 0; !x->thread && i < d->nkids; i++)
		if (d->kids[i].pid == x->pid && d->kids[i].start == x->start)
			return check_of(d, d->kids[i].slot);
	/* By start time. The kernel counts it in clock ticks (10 ms at
	 * 100 Hz), rounded down: the birth lies in [born, born + tick). The
	 * test is the last one that started before that interval ended and
	 * had not ended before it began. */
	born = mt_dirt_ticks_to_us(d, x->start);
	for (i = d->nck - 1; i >= 0; i--)
		if (d->ck[i].start_us <= born + tick_us && d->ck[i].end_us >= born - tick_us)
			return i;
	/* A fixture that ended in a test's teardown left it behind. */
	for (i = 0; i < d->nfx; i++) {
		const struct mt_fixture *f = &d->fx[i];
		int k, mine = 0;

		if (!f->ended)
			continue;
		for (k = 0; k < f->nt && x->thread; k++)
			mine |= f->t[k].pid == x->pid;
		for (k = 0; k < f->np && !x->thread; k++)
			mine |= f->p[k].pid == x->pid;
		if (mine)
			for (k = 0; k < d->nck; k++)
				if (d->ck[k].slot == f->ended_in)
					return k;
	}
	return -1;
}

/* Returns 1 if the command line was read, 0 if `comm` stands in. Right
 * after a vfork and exec, the new program's arguments are briefly not set
 * up yet, and read as nothing: callers try again later. */
static int cmdline(pid_t pid, const char *comm, char *out, size_t cap)
{
	char path[64], text[512];
	ssize_t n, i;

	snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
	n = mt_read_file(path, text, sizeof text);
	if (n <= 0) {
		/* The executable is known from the start of the exec. */
		snprintf(path, sizeof path, "/proc/%d/exe", (int)pid);
		n = readlink(path, text, sizeof text - 1);
		if (n > 0) {
			text[n] = '\0';
			snprintf(out, cap, "%s", text);
		} else if (comm != out) {
			snprintf(out, cap, "%s", comm);
		}
		return 0;
	}
	for (i = 0; i < n - 1; i++)
		if (text[i] == '\0')
			text[i] = ' ';
	snprintf(out, cap, "%s", text);
	return 1;
}

/* Watch a long-lived child for its death. */
static void watch(struct mt_dirt *d, pid_t pid, unsigned long long start, const char *comm)
{
	int k;

	for (k = 0; k < d->nhp; k++)
		if (d->hp[k].pid == pid && d->hp[k].start == start)
			return;
	if (d->nhp == MT_HELPERS_MAX) {
		d->dropped++;
		return;
	}
	d->hp[d->nhp].pid = pid;
	d->hp[d->nhp].start = start;
#ifdef SYS_pidfd_open
	/* Close-on-exec already: pidfd_open(2) sets it. A helper without a
	 * pidfd is still checked at each test boundary. */
	d->hp[d->nhp].pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
#else
	d->hp[d->nhp].pidfd = -1;
#endif
	d->hp[d->nhp].cmd_known = cmdline(pid, comm, d->hp[d->nhp].cmd, sizeof d->hp[0].cmd);
	d->nhp++;
}

void mt_dirt_test_end(struct mt_dirt *d, uint32_t slot, int64_t start_us, int64_t end_us,
		      int64_t grace_us, int64_t now)
{
	struct mt_check *c;
	int i;

	if (d->nck == MT_CHECKS_MAX) {
		d->dropped++;	/* the oldest check goes first, unchecked */
		memmove(&d->ck[0], &d->ck[1], sizeof d->ck[0] * (MT_CHECKS_MAX - 1));
		d->nck--;
	}
	c = &d->ck[d->nck++];
	if (!d->first_test_us)
		d->first_test_us = start_us;
	c->slot = slot;
	c->start_us = start_us;
	c->end_us = end_us;
	c->due_us = now + grace_us;

	/* A command line may be unreadable for an instant after a fork. */
	for (i = 0; i < d->nhp; i++)
		if (!d->hp[i].cmd_known)
			d->hp[i].cmd_known = cmdline(d->hp[i].pid, d->hp[i].cmd, d->hp[i].cmd,
						     sizeof d->hp[i].cmd);

	/* Processes first seen now were born in this test (the scan at the
	 * last boundary did not see them): finer than start times in clock
	 * ticks. Those born before any test (at import) and alive across a
	 * boundary are the session's helpers: watch them for their death
	 * (fixtures' own are watched from the plugin's word, mt_dirt_fixture).
	 * Others born in a test are leaks, not helpers. */
	scan(d);	/* the worker's processes, and daemons adopted by mtest */
	for (i = 0; i < nseen; i++) {
		struct seen *x = &seen[i];
		int k, known = 0;

		if (x->thread)
			continue;
		for (k = 0; k < d->nkids; k++)
			known |= d->kids[k].pid == x->pid && d->kids[k].start == x->start;
		if (known || reported(d, x))
			continue;
		if (mt_dirt_ticks_to_us(d, x->start) >= d->first_test_us -
							 (int64_t)(1000000 / d->hz)) {
			if (d->nkids < (int)(sizeof d->kids / sizeof d->kids[0])) {
				d->kids[d->nkids].pid = x->pid;
				d->kids[d->nkids].start = x->start;
				d->kids[d->nkids].slot = slot;
				d->nkids++;
			}
		} else if (x->ppid == d->worker || x->ppid == getpid()) {
			watch(d, x->pid, x->start, x->name);
		}
	}
}

static void leak_add(struct mt_leak *l, const struct seen *x)
{
	if (x->thread) {
		if (l->nthreads < 16) {
			l->t[l->nthreads].tid = x->pid;
			snprintf(l->t[l->nthreads].name, sizeof l->t[0].name, "%s", x->name);
			l->nthreads++;
		} else {
			l->more_threads++;
		}
	} else if (l->nprocs < 16) {
		l->p[l->nprocs].pid = x->pid;
		cmdline(x->pid, x->name, l->p[l->nprocs].cmd, sizeof l->p[0].cmd);
		l->nprocs++;
	} else {
		l->more_procs++;
	}
}

int64_t mt_dirt_check(struct mt_dirt *d, int64_t now, int all, mt_leak_fn *fn, void *ctx)
{
	static struct mt_leak found;	/* one check's leaks at a time */
	static int owner[sizeof seen / sizeof seen[0]];
	int i, k, ndue = 0, keep;
	int64_t next = MT_NEVER;

	for (i = 0; i < d->nck; i++)
		if (all || d->ck[i].due_us <= now)
			ndue++;
	if (!ndue) {
		for (i = 0; i < d->nck; i++)
			if (d->ck[i].due_us < next)
				next = d->ck[i].due_us;
		return next;
	}
	/* One scan; each thing seen belongs to one check's test, or none. */
	scan(d);
	for (i = 0; i < nseen; i++) {
		k = owner_check(d, &seen[i]);
		owner[i] = k >= 0 && (all || d->ck[k].due_us <= now) && !reported(d, &seen[i]) &&
			   !owned(d, &seen[i], d->ck[k].slot) ? k : -1;
	}
	for (i = 0, keep = 0; i < d->nck; i++) {
		if (all || d->ck[i].due_us <= now) {
			memset(&found, 0, sizeof found);
			found.slot = d->ck[i].slot;
			for (k = 0; k < nseen; k++)
				if (owner[k] == i) {
					mark_reported(d, &seen[k]);
					leak_add(&found, &seen[k]);
				}
			if ((found.nthreads || found.nprocs) && fn)
				fn(ctx, &found);
			continue;
		}
		if (d->ck[i].due_us < next)
			next = d->ck[i].due_us;
		d->ck[keep++] = d->ck[i];
	}
	d->nck = keep;
	return next;
}

int mt_dirt_undecided(struct mt_dirt *d)
{
	int i, k;

	if (!d->nck)
		return 0;
	scan(d);
	for (i = 0; i < nseen; i++) {
		k = owner_check(d, &seen[i]);
		if (k >= 0 && !reported(d, &seen[i]) && !owned(d, &seen[i], d->ck[k].slot))
			return 1;
	}
	/* Nothing that could leak: every waiting check is clean now. */
	d->nck = 0;
	return 0;
}

int mt_dirt_helper_fds(const struct mt_dirt *d, int *fds, int max)
{
	int i, n = 0;

	for (i = 0; i < d->nhp && n < max; i++)
		if (d->hp[i].pidfd >= 0)
			fds[n++] = d->hp[i].pidfd;
	return n;
}

/* The exit status of a dead process that is still a zombie (its parent,
 * the worker, has not reaped it): field 52 of /proc/PID/stat. */
static void exit_status(pid_t pid, unsigned long long start, char *out, size_t cap)
{
	char path[64], text[2048], *p;
	struct mt_proc st;
	int field, code;
	char scratch[16];

	snprintf(out, cap, "unknown");
	if (!mt_proc_stat(pid, &st) || st.start != start || st.state != 'Z')
		return;
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	if (mt_read_file(path, text, sizeof text) <= 0 || !(p = strrchr(text, ')')))
		return;
	for (field = 0, p += 2; *p && field < 49; p++)
		if (*p == ' ')
			field++;
	if (sscanf(p, "%d", &code) != 1)
		return;
	if (code & 0x7f)
		snprintf(out, cap, "%s", mt_signame(code & 0x7f, scratch, sizeof scratch));
	else
		snprintf(out, cap, "exit %d", (code >> 8) & 0xff);
}

int mt_dirt_helpers_dead(struct mt_dirt *d, struct mt_helper_death *out, int max)
{
	struct mt_proc st;
	int i, n = 0, keep = 0, dead;

	for (i = 0; i < d->nhp; i++) {
		struct mt_helper *h = &d->hp[i];

		dead = !mt_proc_stat(h->pid, &st) || st.start != h->start || st.state == 'Z';
		if (!dead || n >= max) {
			d->hp[keep++] = *h;
			continue;
		}
		out[n].pid = h->pid;
		snprintf(out[n].cmd, sizeof out[n].cmd, "%s", h->cmd);
		exit_status(h->pid, h->start, out[n].status, sizeof out[n].status);
		n++;
		if (h->pidfd >= 0)
			close(h->pidfd);
	}
	d->nhp = keep;
	return n;
}

uint32_t mt_dirt_born_in(const struct mt_dirt *d, pid_t pid, unsigned long long start)
{
	int i;

	for (i = 0; i < d->nkids; i++)
		if (d->kids[i].pid == pid && d->kids[i].start == start)
			return d->kids[i].slot;
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
