/* mtest: the lock ledger's table, and the wait-for graph (ledger.h). The
 * layout is mtest_locks.py's, in the worker's byte order (the helper runs
 * on the same machine). */
#include "mtest/watch/ledger.h"

#include <stdio.h>
#include <string.h>

enum { HEADER = 64, SLOT = 32, ROW = 32, SITE = 256, LIMIT = 1 << 20 };

static uint32_t u32(const unsigned char *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof v);
	return v;
}

static uint16_t u16(const unsigned char *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof v);
	return v;
}

static int64_t i64(const unsigned char *p)
{
	int64_t v;

	memcpy(&v, p, sizeof v);
	return v;
}

int mt_ledger_open(struct mt_ledger *lg, const void *p, size_t len, char *err, size_t cap)
{
	const unsigned char *b = p;
	uint64_t need;

	memset(lg, 0, sizeof *lg);
	if (len < HEADER || memcmp(b, MT_LEDGER_MAGIC, 8) != 0) {
		snprintf(err, cap, "not a lock ledger (%zu bytes, no magic)", len);
		return 0;
	}
	if (u32(b + 8) != MT_LEDGER_VERSION) {
		snprintf(err, cap, "a lock ledger of version %u (mtest reads %d)", u32(b + 8),
			 MT_LEDGER_VERSION);
		return 0;
	}
	lg->nlocks = u32(b + 12);
	lg->nwaits = u32(b + 16);
	lg->nsites = u32(b + 20);
	lg->pid = u32(b + 24);
	lg->untracked = u32(b + 28);
	lg->sites_full = u32(b + 32);
	lg->waits_full = u32(b + 36);
	need = HEADER + (uint64_t)lg->nlocks * SLOT + (uint64_t)lg->nwaits * ROW +
	       (uint64_t)lg->nsites * SITE;
	if (lg->nlocks > LIMIT || lg->nwaits > LIMIT || lg->nsites > LIMIT || need > len) {
		snprintf(err, cap, "a lock ledger cut short (%zu bytes, %llu needed)", len,
			 (unsigned long long)need);
		return 0;
	}
	lg->p = b;
	lg->len = len;
	return 1;
}

/* Slot `index` (from 1), which the caller keeps within 1..nlocks. */
static const unsigned char *slot_in(const struct mt_ledger *lg, uint32_t index)
{
	return lg->p + HEADER + (size_t)(index - 1) * SLOT;
}

static const unsigned char *slot_at(const struct mt_ledger *lg, uint32_t index)
{
	return index >= 1 && index <= lg->nlocks ? slot_in(lg, index) : NULL;
}

static const unsigned char *row_at(const struct mt_ledger *lg, uint32_t i)
{
	return lg->p + HEADER + (size_t)lg->nlocks * SLOT + (size_t)i * ROW;
}

int mt_ledger_lock(const struct mt_ledger *lg, uint32_t index, struct mt_llock *out)
{
	const unsigned char *s = lg->p ? slot_at(lg, index) : NULL;

	memset(out, 0, sizeof *out);
	if (!s)
		return 0;
	out->index = index;
	out->holder = (pid_t)u32(s);
	out->site = u32(s + 4);
	out->since_ns = i64(s + 8);
	memcpy(&out->addr, s + 16, sizeof out->addr);
	out->kind = u16(s + 24);
	out->flags = u16(s + 26);
	out->made = u32(s + 28);
	return out->kind > MT_LK_NONE && out->kind < MT_LK_COUNT;
}

/* A NUL-terminated copy of a fixed field (the writer cut it to fit). */
static void field(char *out, size_t cap, const unsigned char *p, size_t n)
{
	size_t k = 0;

	while (k < n && k + 1 < cap && p[k]) {
		out[k] = (char)(p[k] < 32 || p[k] == 127 ? '?' : p[k]);
		k++;
	}
	out[k] = '\0';
}

int mt_ledger_site(const struct mt_ledger *lg, uint32_t index, struct mt_lsite *out)
{
	const unsigned char *s;

	memset(out, 0, sizeof *out);
	if (!lg->p || index < 1 || index > lg->nsites)
		return 0;
	s = lg->p + HEADER + (size_t)lg->nlocks * SLOT + (size_t)lg->nwaits * ROW +
	    (size_t)(index - 1) * SITE;
	out->line = (int)u32(s);
	field(out->func, sizeof out->func, s + 8, 56);
	field(out->expr, sizeof out->expr, s + 64, 64);
	field(out->file, sizeof out->file, s + 128, 128);
	return out->file[0] != '\0';
}

int mt_ledger_wait_of(const struct mt_ledger *lg, pid_t tid, struct mt_lwait *out)
{
	const unsigned char *r;
	uint32_t i;

	memset(out, 0, sizeof *out);
	for (i = 0; lg->p && tid > 0 && i < lg->nwaits; i++) {
		r = row_at(lg, i);
		if ((pid_t)u32(r) != tid)
			continue;
		out->tid = tid;
		out->lock = u32(r + 4);
		out->since_ns = i64(r + 8);
		out->site = u32(r + 16);
		out->flags = u32(r + 20);
		out->timeout_us = i64(r + 24);
		return 1;
	}
	return 0;
}

int mt_ledger_held_by(const struct mt_ledger *lg, pid_t tid, uint32_t *index, int max)
{
	uint32_t i;
	int n = 0;

	for (i = 1; lg->p && tid > 0 && i <= lg->nlocks && n < max; i++)
		if ((pid_t)u32(slot_in(lg, i)) == tid)
			index[n++] = i;
	return n;
}

void mt_ledger_count(const struct mt_ledger *lg, uint32_t *locks, uint32_t *held, uint32_t *waits)
{
	uint32_t i;

	*locks = *held = *waits = 0;
	for (i = 1; lg->p && i <= lg->nlocks; i++) {
		const unsigned char *s = slot_in(lg, i);

		*locks += u16(s + 24) != 0;
		*held += u16(s + 24) != 0 && u32(s) != 0;
	}
	for (i = 0; lg->p && i < lg->nwaits; i++)
		*waits += u32(row_at(lg, i)) != 0;
}

const char *mt_lock_kind_name(unsigned kind)
{
	static const char *const names[MT_LK_COUNT] = {
		[MT_LK_NONE] = "lock", [MT_LK_LOCK] = "Lock", [MT_LK_RLOCK] = "RLock",
		[MT_LK_COND] = "Condition", [MT_LK_SEM] = "Semaphore",
		[MT_LK_BSEM] = "BoundedSemaphore",
	};

	return kind < MT_LK_COUNT ? names[kind] : "lock";
}

/* ---- the wait-for graph ----------------------------------------------------- */

void mt_wf_from_ledger(struct mt_wfgraph *g, const struct mt_ledger *lg,
		       const struct mt_wfthread *threads, int n)
{
	struct mt_wfedge e;
	int i;

	for (i = 0; i < n; i++) {
		memset(&e, 0, sizeof e);
		if (!mt_ledger_wait_of(lg, threads[i].tid, &e.wait))
			continue;
		e.waiter = threads[i].tid;
		e.from_ledger = 1;
		if (e.wait.lock)
			mt_ledger_lock(lg, e.wait.lock, &e.lock);
		mt_wf_add(g, &e);
	}
}

const struct mt_wfedge *mt_wf_edge_of(const struct mt_wfgraph *g, pid_t waiter)
{
	int i;

	for (i = 0; i < g->n; i++)
		if (g->e[i].waiter == waiter)
			return &g->e[i];
	return NULL;
}

void mt_wf_add(struct mt_wfgraph *g, const struct mt_wfedge *e)
{
	if (g->n < MT_THREADS_MAX && !mt_wf_edge_of(g, e->waiter))
		g->e[g->n++] = *e;
}

static const struct mt_wfthread *thread_of(const struct mt_wfthread *t, int n, pid_t tid)
{
	int i;

	for (i = 0; i < n; i++)
		if (t[i].tid == tid)
			return &t[i];
	return NULL;
}

static int stalled_untimed(const struct mt_wfthread *t)
{
	return t && t->stalled && t->wait == MT_WAIT_LOCK;
}

/* Can any thread outside the chain act (release, notify, put)? Threads
 * that wait without a timeout cannot; those that run, sleep or wait on
 * I/O can. */
static int others_can_act(const struct mt_wfgraph *g, const struct mt_wfthread *t, int n)
{
	int i, k, in_chain;

	for (i = 0; i < n; i++) {
		for (k = 0, in_chain = 0; k < g->nchain; k++)
			in_chain |= g->chain[k] == t[i].tid;
		if (!in_chain && !stalled_untimed(&t[i]))
			return 1;
	}
	return 0;
}

void mt_wf_analyse(struct mt_wfgraph *g, const struct mt_wfthread *threads, int n, pid_t main_tid)
{
	const struct mt_wfthread *cur_t, *h_t;
	const struct mt_wfedge *e;
	pid_t cur = main_tid, h;
	int k, i;

	g->nchain = 1;
	g->nedge = 0;
	g->chain[0] = main_tid;
	g->end = MT_WF_NONE;
	for (k = 0; k < MT_WF_CHAIN_MAX; k++) {
		e = mt_wf_edge_of(g, cur);
		cur_t = thread_of(threads, n, cur);
		if (!e) {
			if (k == 0)
				return;	/* MT_WF_NONE */
			/* A live holder that waits for nothing the graph knows. */
			if (!cur_t || cur_t->wait != MT_WAIT_LOCK || !cur_t->stalled)
				g->end = MT_WF_ACTIVE;
			else
				g->end = others_can_act(g, threads, n) ? MT_WF_BLOCKED : MT_WF_FOREVER;
			return;
		}
		g->edge[k] = (int)(e - g->e);
		g->nedge = k + 1;
		if (e->wait.flags & MT_WAIT_F_TIMED) {
			g->end = MT_WF_TIMED;
			return;
		}
		if (!stalled_untimed(cur_t)) {
			g->end = MT_WF_MOVING;
			return;
		}
		h = e->lock.holder;
		if (e->holder_gone) {
			g->end = MT_WF_EXITED;
			return;
		}
		if (!h) {
			g->end = MT_WF_UNKNOWN;
			return;
		}
		if (e->lock.kind == MT_LK_LOCK && (e->lock.flags & MT_LOCK_CROSS)) {
			g->end = MT_WF_SIGNAL;
			return;
		}
		g->chain[g->nchain++] = h;
		h_t = thread_of(threads, n, h);
		if (!h_t) {
			g->end = MT_WF_EXITED;
			return;
		}
		if (h == cur) {
			g->end = MT_WF_SELF;
			return;
		}
		for (i = 0; i < g->nchain - 1; i++)
			if (g->chain[i] == h) {
				g->end = MT_WF_CYCLE;
				return;
			}
		cur = h;
	}
	g->end = MT_WF_BLOCKED;	/* a chain longer than we follow */
}

int mt_wf_certain(enum mt_wf_end end)
{
	return end == MT_WF_EXITED || end == MT_WF_SELF || end == MT_WF_CYCLE ||
	       end == MT_WF_FOREVER;
}

const char *mt_wf_end_name(enum mt_wf_end end)
{
	static const char *const names[MT_WF_COUNT] = {
		[MT_WF_NONE] = "none", [MT_WF_UNKNOWN] = "holder not known",
		[MT_WF_SIGNAL] = "a lock used as a signal", [MT_WF_TIMED] = "a timed wait",
		[MT_WF_MOVING] = "still moving", [MT_WF_ACTIVE] = "holder active",
		[MT_WF_BLOCKED] = "holder blocked", [MT_WF_EXITED] = "holder exited",
		[MT_WF_SELF] = "waits for itself", [MT_WF_CYCLE] = "cycle",
		[MT_WF_FOREVER] = "holder waits forever",
	};

	return (unsigned)end < MT_WF_COUNT ? names[end] : "?";
}
