/* mtest: sampling a stuck worker through /proc, and the diagnosis. */
#include "mtest/watch/watch.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>

#include "mtest/base/fsx.h"
#include "mtest/base/procs.h"

static const char *const wait_names[MT_WAIT_COUNT] = {
	[MT_WAIT_RUN] = "runs",
	[MT_WAIT_LOCK] = "waits for a lock",
	[MT_WAIT_LOCK_SHARED] = "waits for a lock shared with another process",
	[MT_WAIT_TIMED] = "sleeps",
	[MT_WAIT_IO] = "waits on I/O",
	[MT_WAIT_CHILD] = "waits for a child process",
	[MT_WAIT_SIGNAL] = "waits for a signal",
	[MT_WAIT_OTHER] = "is in a system call",
};

const char *mt_wait_name(enum mt_wait w)
{
	return (unsigned)w < MT_WAIT_COUNT ? wait_names[w] : "?";
}

static const char *const hang_names[MT_HANG_COUNT] = {
	[MT_HANG_PROGRESS] = "progress",
	[MT_HANG_CERTAIN] = "deadlock (certain)",
	[MT_HANG_LIKELY] = "deadlock (likely)",
	[MT_HANG_CROSS_PROCESS] = "waiting across processes",
	[MT_HANG_BLOCKED_ACTIVE] = "blocked on an active thread",
	[MT_HANG_BUSY] = "busy loop",
	[MT_HANG_SLEEPING] = "sleeping",
	[MT_HANG_IO] = "waiting on I/O",
	[MT_HANG_CHILD] = "waiting for a child",
	[MT_HANG_SIGNAL] = "waiting for a signal",
	[MT_HANG_UNKNOWN] = "unclassified",
};

const char *mt_hang_name(enum mt_hang h)
{
	return (unsigned)h < MT_HANG_COUNT ? hang_names[h] : "?";
}

#define FUTEX_CMD(op) ((op) & ~(128UL | 256UL))
#define FUTEX_PRIVATE(op) ((op) & 128UL)

static int is_futex_wait(unsigned long cmd)
{
	/* WAIT, LOCK_PI, WAIT_BITSET, WAIT_REQUEUE_PI, LOCK_PI2 */
	return cmd == 0 || cmd == 6 || cmd == 9 || cmd == 11 || cmd == 13;
}

static int one_of(long nr, const long *list, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++)
		if (list[i] == nr)
			return 1;
	return 0;
}

#define LIST(...) ((const long[]){ __VA_ARGS__, -999 }), \
	(sizeof((const long[]){ __VA_ARGS__, -999 }) / sizeof(long))

enum mt_wait mt_wait_of(const char *line, long *nr, unsigned long *addr)
{
	unsigned long a[6] = { 0 };
	char *end;
	long n;
	int i;

	*nr = -1;
	*addr = 0;
	if (strncmp(line, "running", 7) == 0)
		return MT_WAIT_RUN;
	n = strtol(line, &end, 10);
	if (end == line || n < 0)
		return MT_WAIT_RUN;	/* blocked outside a syscall: a fault */
	for (i = 0; i < 6; i++)
		a[i] = strtoul(end, &end, 16);
	*nr = n;
#ifdef SYS_futex_time64
	if (n == SYS_futex || n == SYS_futex_time64) {
#else
	if (n == SYS_futex) {
#endif
		if (!is_futex_wait(FUTEX_CMD(a[1])))
			return MT_WAIT_OTHER;
		if (a[3] != 0)
			return MT_WAIT_TIMED;
		*addr = a[0];
		return FUTEX_PRIVATE(a[1]) ? MT_WAIT_LOCK : MT_WAIT_LOCK_SHARED;
	}
	if (one_of(n, LIST(SYS_clock_nanosleep
#ifdef SYS_nanosleep
			   , SYS_nanosleep
#endif
#ifdef SYS_clock_nanosleep_time64
			   , SYS_clock_nanosleep_time64
#endif
		   )))
		return MT_WAIT_TIMED;
#ifdef SYS_poll
	if (n == SYS_poll)
		return (int)a[2] < 0 ? MT_WAIT_IO : MT_WAIT_TIMED;
#endif
#ifdef SYS_epoll_wait
	if (n == SYS_epoll_wait)
		return (int)a[3] < 0 ? MT_WAIT_IO : MT_WAIT_TIMED;
#endif
	if (n == SYS_epoll_pwait)
		return (int)a[3] < 0 ? MT_WAIT_IO : MT_WAIT_TIMED;
	if (one_of(n, LIST(SYS_ppoll
#ifdef SYS_ppoll_time64
			   , SYS_ppoll_time64
#endif
		   )))
		return a[2] ? MT_WAIT_TIMED : MT_WAIT_IO;
	if (one_of(n, LIST(SYS_pselect6
#ifdef SYS_select
			   , SYS_select
#endif
#ifdef SYS_pselect6_time64
			   , SYS_pselect6_time64
#endif
		   )))
		return a[4] ? MT_WAIT_TIMED : MT_WAIT_IO;
	if (one_of(n, LIST(SYS_read, SYS_readv, SYS_pread64, SYS_preadv, SYS_recvfrom,
			   SYS_recvmsg, SYS_accept, SYS_accept4, SYS_connect, SYS_msgrcv,
			   SYS_write, SYS_writev, SYS_sendto, SYS_sendmsg, SYS_openat)))
		return MT_WAIT_IO;
	if (one_of(n, LIST(SYS_wait4, SYS_waitid)))
		return MT_WAIT_CHILD;
	if (one_of(n, LIST(SYS_rt_sigsuspend
#ifdef SYS_pause
			   , SYS_pause
#endif
		   )))
		return MT_WAIT_SIGNAL;
	if (one_of(n, LIST(SYS_rt_sigtimedwait
#ifdef SYS_rt_sigtimedwait_time64
			   , SYS_rt_sigtimedwait_time64
#endif
		   )))
		return a[2] ? MT_WAIT_TIMED : MT_WAIT_SIGNAL;
	if (n == SYS_flock || n == SYS_semop ||
	    (n == SYS_fcntl && (a[1] == 7 /* F_SETLKW */ || a[1] == 38 /* F_OFD_SETLKW */)))
		return MT_WAIT_LOCK_SHARED;
	return MT_WAIT_OTHER;
}

static int read_small(const char *path, char *buf, size_t cap)
{
	return mt_read_file(path, buf, cap) > 0;
}

/* rchar and wchar of /proc/PID/io (0 when unreadable). */
static void read_io(pid_t pid, uint64_t *rchar, uint64_t *wchar)
{
	char path[64], text[512], *p;
	unsigned long long v;

	*rchar = *wchar = 0;
	snprintf(path, sizeof path, "/proc/%d/io", (int)pid);
	if (!read_small(path, text, sizeof text))
		return;
	if ((p = strstr(text, "rchar:")) && sscanf(p + 6, "%llu", &v) == 1)
		*rchar = v;
	if ((p = strstr(text, "wchar:")) && sscanf(p + 6, "%llu", &v) == 1)
		*wchar = v;
}

static void sample_thread(pid_t pid, pid_t tid, struct mt_tsample *t)
{
	char path[96], text[512];
	unsigned long long run = 0, queue = 0, slices = 0;

	memset(t, 0, sizeof *t);
	t->tid = tid;
	t->nr = -1;
	snprintf(path, sizeof path, "/proc/%d/task/%d/syscall", (int)pid, (int)tid);
	t->wait = read_small(path, text, sizeof text) ? mt_wait_of(text, &t->nr, &t->addr)
						      : MT_WAIT_OTHER;
	snprintf(path, sizeof path, "/proc/%d/task/%d/schedstat", (int)pid, (int)tid);
	if (read_small(path, text, sizeof text) &&
	    sscanf(text, "%llu %llu %llu", &run, &queue, &slices) == 3) {
		t->run_ns = run;
		t->queue_ns = queue;
		t->slices = slices;
	}
}

/* Children of every thread of `pid` (/proc/PID/task/TID/children). */
static void add_children(struct mt_sample *s, pid_t pid, int depth)
{
	static struct mt_dir d[4];
	char path[96], text[1024], *p, *end;
	const char *name;
	struct mt_proc st;
	long child;

	if (depth >= 4)
		return;
	snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
	if (!mt_dir_open(&d[depth], AT_FDCWD, path))
		return;
	while ((name = mt_dir_next(&d[depth], NULL))) {
		snprintf(path, sizeof path, "/proc/%d/task/%s/children", (int)pid, name);
		if (!read_small(path, text, sizeof text))
			continue;
		for (p = text;; p = end) {
			child = strtol(p, &end, 10);
			if (end == p)
				break;
			if (s->np >= MT_CHILDREN_MAX) {
				s->pmore = 1;
				break;
			}
			if (mt_proc_stat((pid_t)child, &st)) {
				struct mt_psample *ps = &s->p[s->np++];
				char sys[512];
				long nr;
				unsigned long addr;

				ps->pid = st.pid;
				ps->ppid = st.ppid;
				ps->start = st.start;
				ps->state = st.state;
				snprintf(ps->comm, sizeof ps->comm, "%s", st.comm);
				snprintf(path, sizeof path, "/proc/%ld/syscall", child);
				ps->wait = read_small(path, sys, sizeof sys) ?
					   mt_wait_of(sys, &nr, &addr) : MT_WAIT_OTHER;
				read_io(ps->pid, &ps->rchar, &ps->wchar);
				add_children(s, (pid_t)child, depth + 1);
			}
		}
	}
	mt_dir_close(&d[depth]);
}

int mt_sample_take(struct mt_sample *s, pid_t pid, int64_t now_us)
{
	static struct mt_dir d;
	char path[64];
	const char *name;

	s->at_us = now_us;
	s->pid = pid;
	s->n = s->more = s->np = s->pmore = 0;
	snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
	if (!mt_dir_open(&d, AT_FDCWD, path))
		return 0;
	while ((name = mt_dir_next(&d, NULL))) {
		if (s->n >= MT_THREADS_MAX) {
			s->more = 1;
			break;
		}
		sample_thread(pid, (pid_t)atoi(name), &s->t[s->n++]);
	}
	mt_dir_close(&d);
	read_io(pid, &s->rchar, &s->wchar);
	add_children(s, pid, 0);
	return s->n > 0;
}

static const struct mt_tsample *find(const struct mt_sample *s, pid_t tid)
{
	int i;

	for (i = 0; i < s->n; i++)
		if (s->t[i].tid == tid)
			return &s->t[i];
	return NULL;
}

static int pct(uint64_t ns, int64_t interval_us)
{
	uint64_t p;

	if (interval_us <= 0)
		return 0;
	p = ns / 10 / (uint64_t)interval_us;	/* ns * 100 / (us * 1000) */
	return p > 100 ? 100 : (int)p;
}

static int group_of(struct mt_diag *d, const struct mt_tdiag *t)
{
	int g, shared = t->wait == MT_WAIT_LOCK_SHARED;

	for (g = 0; g < d->ngroups; g++)
		if (d->g[g].addr == t->addr && d->g[g].shared == shared)
			break;
	if (g == d->ngroups) {
		if (d->ngroups >= MT_THREADS_MAX)
			return -1;
		d->g[g].addr = t->addr;
		d->g[g].shared = shared;
		d->g[g].n = 0;
		d->ngroups++;
	}
	d->g[g].n++;
	return g;
}

void mt_diagnose(struct mt_diag *d, const struct mt_sample *prev, const struct mt_sample *cur)
{
	const struct mt_tsample *a, *b;
	struct mt_tdiag *t;
	int i, all_stalled = cur->n > 0, others_active = 0;
	const struct mt_tdiag *m;

	d->n = d->ngroups = 0;
	d->main_index = -1;
	d->interval_us = cur->at_us - prev->at_us;
	d->progress = d->threads_changed = prev->n != cur->n;	/* threads came or went */
	/* Data moving, in the worker or below it (an encoder at work): told in
	 * the diagnosis, but no progress for a lock wait (no other process
	 * can release a private lock; a thread it feeds would wait on I/O). */
	d->io_moved = cur->rchar != prev->rchar || cur->wchar != prev->wchar;
	for (i = 0; i < cur->np; i++) {
		int k;

		for (k = 0; k < prev->np && prev->p[k].pid != cur->p[i].pid; k++)
			;
		if (k == prev->np || cur->p[i].rchar != prev->p[k].rchar ||
		    cur->p[i].wchar != prev->p[k].wchar)
			d->io_moved = 1;
	}
	for (i = 0; i < cur->n; i++) {
		b = &cur->t[i];
		a = find(prev, b->tid);
		t = &d->t[d->n++];
		t->tid = b->tid;
		t->wait = b->wait;
		t->addr = b->addr;
		t->group = -1;
		if (!a) {
			d->progress = 1;
			t->stalled = 0;
			t->cpu_pct = t->busy_pct = 0;
		} else {
			t->cpu_pct = pct(b->run_ns - a->run_ns, d->interval_us);
			t->busy_pct = pct(b->run_ns - a->run_ns + b->queue_ns - a->queue_ns,
					  d->interval_us);
			t->stalled = (b->wait == MT_WAIT_LOCK || b->wait == MT_WAIT_LOCK_SHARED) &&
				     a->wait == b->wait && a->addr == b->addr &&
				     a->run_ns == b->run_ns && a->slices == b->slices;
			/* Leaving an untimed wait, or using the CPU, is progress;
			 * waking from a timed sleep to sleep again is not. */
			if (t->cpu_pct > 5 ||
			    ((a->wait == MT_WAIT_LOCK || a->wait == MT_WAIT_LOCK_SHARED) &&
			     !t->stalled))
				d->progress = 1;
		}
		if (t->stalled)
			t->group = group_of(d, t);
		if (b->tid == cur->pid)
			d->main_index = d->n - 1;
		if (!t->stalled || t->wait != MT_WAIT_LOCK)
			all_stalled = 0;
	}
	if (d->main_index < 0) {
		d->hang = MT_HANG_UNKNOWN;
		return;
	}
	m = &d->t[d->main_index];
	for (i = 0; i < d->n; i++)
		if (i != d->main_index &&
		    (d->t[i].cpu_pct > 10 || d->t[i].wait == MT_WAIT_IO ||
		     d->t[i].wait == MT_WAIT_CHILD || d->t[i].wait == MT_WAIT_SIGNAL))
			others_active = 1;
	if (all_stalled && !cur->more)
		d->hang = MT_HANG_CERTAIN;
	else if (m->stalled && m->wait == MT_WAIT_LOCK)
		d->hang = others_active ? MT_HANG_BLOCKED_ACTIVE : MT_HANG_LIKELY;
	else if (m->stalled)
		d->hang = MT_HANG_CROSS_PROCESS;
	else if (m->busy_pct >= 50)
		d->hang = MT_HANG_BUSY;
	else if (m->wait == MT_WAIT_TIMED)
		d->hang = MT_HANG_SLEEPING;
	else if (m->wait == MT_WAIT_IO)
		d->hang = MT_HANG_IO;
	else if (m->wait == MT_WAIT_CHILD)
		d->hang = MT_HANG_CHILD;
	else if (m->wait == MT_WAIT_SIGNAL)
		d->hang = MT_HANG_SIGNAL;
	else if (m->wait == MT_WAIT_LOCK_SHARED)
		d->hang = MT_HANG_CROSS_PROCESS;
	else
		d->hang = MT_HANG_UNKNOWN;
}
