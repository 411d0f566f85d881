/* mtest: the wait-for graph in words (waitfor.h). Runs in the capture
 * helper. */
#include "mtest/watch/waitfor.h"

#include <stdio.h>
#include <string.h>

static const char *base(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

const struct mt_pyframe *mt_wf_frame(const struct mt_pythread *py)
{
	int i;

	for (i = 0; py && i < py->nframes; i++)
		if (strcmp(base(py->f[i].file), "mtest_locks.py") != 0)
			return &py->f[i];
	return NULL;
}

/* Where a thread waits for a lock, as its code says it: the first frame
 * outside the ledger's wrappers and threading's (a Condition's methods). */
static const struct mt_pyframe *wait_frame(const struct mt_pythread *py)
{
	int i;

	for (i = 0; py && i < py->nframes; i++)
		if (strcmp(base(py->f[i].file), "mtest_locks.py") != 0 &&
		    strcmp(base(py->f[i].file), "threading.py") != 0)
			return &py->f[i];
	return mt_wf_frame(py);
}

static struct mt_wfview *view_of(const struct mt_wfctx *c, pid_t tid)
{
	int i;

	for (i = 0; i < c->n; i++)
		if (c->v[i].tid == tid)
			return &c->v[i];
	return NULL;
}

/* A thread's name; one that exited has the name the plugin heard. */
static void put_name(struct mt_buf *o, const struct mt_wfctx *c, pid_t tid)
{
	const struct mt_wfview *v = view_of(c, tid);
	const char *name = v ? v->name : c->names ? mt_names_get(c->names, tid, c->pid) : NULL;

	if (name)
		mt_buf_puts(o, name);
	else if (tid > 0)
		mt_buf_printf(o, "thread %d", (int)tid);
	else
		mt_buf_puts(o, "a thread that exited");
}

static int site(const struct mt_wfctx *c, uint32_t index, struct mt_lsite *s)
{
	return c->lg && index && mt_ledger_site(c->lg, index, s);
}

/* "x.py:12", from a ledger site or else the thread's Python frame. */
static int put_place(struct mt_buf *o, const struct mt_wfctx *c, uint32_t index, pid_t tid)
{
	const struct mt_wfview *v = view_of(c, tid);
	const struct mt_pyframe *f = v ? wait_frame(v->py) : NULL;
	struct mt_lsite s;

	if (site(c, index, &s)) {
		mt_buf_printf(o, "%s:%d", base(s.file), s.line);
		return 1;
	}
	if (f) {
		mt_buf_printf(o, "%s:%d", base(f->file), f->line);
		return 1;
	}
	return 0;
}

/* The last name of an expression: "self._state_lock" -> "_state_lock". */
static int put_expr(struct mt_buf *o, const char *expr)
{
	const char *dot = strrchr(expr, '.');

	if (!*expr)
		return 0;
	mt_buf_puts(o, dot && dot[1] ? dot + 1 : expr);
	return 1;
}

static int ident_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       ch == '_' || ch == '.';
}

/* The lock as the source line says it, without the ledger: "with X:",
 * "with X as y:", "X.acquire(". */
static int source_expr(const char *file, int line, char *out, size_t cap)
{
	char text[1024], *p, *q;
	FILE *f = line > 0 ? fopen(file, "re") : NULL;
	int n = 0;

	out[0] = '\0';
	if (!f)
		return 0;
	while (fgets(text, sizeof text, f) && ++n < line)
		;
	fclose(f);
	if (n != line)
		return 0;
	for (p = text; *p == ' ' || *p == '\t'; p++)
		;
	if (strncmp(p, "async ", 6) == 0)
		p += 6;
	if (strncmp(p, "with ", 5) == 0) {
		for (p += 5; *p == ' '; p++)
			;
		for (q = p; ident_char(*q); q++)
			;
	} else if ((q = strstr(p, ".acquire(")) != NULL) {
		for (p = q; p > text && ident_char(p[-1]); p--)
			;
	} else {
		return 0;
	}
	if (q == p || (size_t)(q - p) >= cap)
		return 0;
	memcpy(out, p, (size_t)(q - p));
	out[q - p] = '\0';
	return 1;
}

/* The lock as written where it is waited for, or where it was made; else
 * its type and address. */
static void put_lock(struct mt_buf *o, const struct mt_wfctx *c, const struct mt_wfedge *e)
{
	const struct mt_wfview *v = view_of(c, e->waiter);
	const struct mt_pyframe *f = v ? wait_frame(v->py) : NULL;
	struct mt_lsite s;
	char expr[128];

	if (e->from_ledger && !e->wait.lock) {
		mt_buf_puts(o, "an untracked lock");
		return;
	}
	if (site(c, e->wait.site, &s) && put_expr(o, s.expr))
		return;
	if (site(c, e->lock.made, &s) && put_expr(o, s.expr))
		return;
	if (!e->from_ledger && f && source_expr(f->file, f->line, expr, sizeof expr) &&
	    put_expr(o, expr))
		return;
	mt_buf_printf(o, "a%s %s at %#llx", e->lock.kind == MT_LK_RLOCK ? "n" : "",
		      mt_lock_kind_name(e->lock.kind), (unsigned long long)e->lock.addr);
}

static void put_age(struct mt_buf *o, const struct mt_wfctx *c, int64_t since_ns)
{
	int64_t us = since_ns > 0 && c->now_ns > since_ns ? (c->now_ns - since_ns) / 1000 : 0;

	mt_buf_secs(o, us, 1);
	mt_buf_puts(o, " s");
}

/* A lock wait of threading's or queue's, said as such: the innermost
 * frames tell a queue (its get waits on a condition), a join, a condition. */
static const char *py_wait(const struct mt_pythread *py)
{
	static const struct { const char *file, *func, *says; } waits[] = {
		{ "queue.py", NULL, "waits on a queue" },
		{ "threading.py", "join", "waits in a join" },
		{ "threading.py", "_wait_for_tstate_lock", "waits in a join" },
		{ "threading.py", "wait", "waits on a condition" },
	};
	unsigned k;
	int i;

	for (k = 0; k < sizeof waits / sizeof waits[0]; k++)
		for (i = 0; py && i < py->nframes && i < 6; i++)
			if (strcmp(base(py->f[i].file), waits[k].file) == 0 &&
			    (!waits[k].func || strcmp(py->f[i].func, waits[k].func) == 0))
				return waits[k].says;
	return mt_wait_name(MT_WAIT_LOCK);
}

/* What a thread does now: "sleeps in f (x.py:3)". */
static void put_does(struct mt_buf *o, const struct mt_wfctx *c, pid_t tid)
{
	const struct mt_wfview *v = view_of(c, tid);
	const struct mt_pyframe *f = v ? mt_wf_frame(v->py) : NULL;
	int i;

	if (!v || !v->d) {
		mt_buf_puts(o, "is here");
	} else if (v->d->wait == MT_WAIT_RUN) {
		mt_buf_printf(o, "runs (%d%% CPU)", v->d->cpu_pct);
	} else {
		mt_buf_puts(o, v->d->wait == MT_WAIT_LOCK ? py_wait(v->py) : mt_wait_name(v->d->wait));
		if (v->d->wait == MT_WAIT_LOCK && !v->d->stalled)
			mt_buf_puts(o, " (not stalled)");
	}
	/* Where: the first frame outside threading, queue and the ledger. */
	for (i = 0; v && v->py && i < v->py->nframes; i++) {
		const char *file = base(v->py->f[i].file);

		if (strcmp(file, "threading.py") && strcmp(file, "queue.py") &&
		    strcmp(file, "mtest_locks.py")) {
			f = &v->py->f[i];
			break;
		}
	}
	if (f)
		mt_buf_printf(o, " in %s (%s:%d)", f->func, base(f->file), f->line);
}

static void mark(const struct mt_wfctx *c, pid_t tid)
{
	struct mt_wfview *v = view_of(c, tid);

	if (v)
		v->told = 1;
}

static int same_lock(const struct mt_wfedge *a, const struct mt_wfedge *b)
{
	if (a->from_ledger != b->from_ledger)
		return 0;
	if (a->from_ledger)
		return a->wait.lock && a->wait.lock == b->wait.lock;
	return a->lock.addr && a->lock.addr == b->lock.addr;
}

/* "X waits for L (f.py:3), held by H since g.py:9 (2.3 s)" for edge k. */
static void put_edge(struct mt_buf *o, const struct mt_wfctx *c, const struct mt_wfedge *e,
		     int first)
{
	const struct mt_wfview *h;
	struct mt_lsite s;
	int again;

	if (first) {
		put_name(o, c, e->waiter);
		mt_buf_puts(o, " waits");
	} else {
		mt_buf_puts(o, ", which waits");
	}
	if (e->wait.flags & MT_WAIT_F_TIMED && e->wait.timeout_us >= 0) {
		mt_buf_puts(o, " up to ");
		mt_buf_secs(o, e->wait.timeout_us, 1);
		mt_buf_puts(o, " s");
	}
	mt_buf_puts(o, " for ");
	put_lock(o, c, e);
	mt_buf_puts(o, " (");
	if (!put_place(o, c, e->wait.site, e->waiter))
		mt_buf_puts(o, "?");
	mt_buf_putc(o, ')');
	mark(c, e->waiter);
	if (e->holder_gone) {
		mt_buf_puts(o, ", held by a thread that exited");
		return;
	}
	if (!e->lock.holder)
		return;
	h = view_of(c, e->lock.holder);
	again = h && h->told && e->lock.holder != e->waiter;	/* a cycle closes */
	if (e->lock.holder == e->waiter) {
		mt_buf_puts(o, ", which it holds itself");
	} else {
		mt_buf_puts(o, ", held by ");
		put_name(o, c, e->lock.holder);
		mark(c, e->lock.holder);
	}
	if (e->from_ledger && !again) {
		mt_buf_puts(o, " since ");
		if (site(c, e->lock.site, &s))
			mt_buf_printf(o, "%s:%d (", base(s.file), s.line);
		else
			mt_buf_puts(o, "(");
		put_age(o, c, e->lock.since_ns);
		mt_buf_putc(o, ')');
	}
}

int mt_wf_clause(struct mt_buf *o, struct mt_wfctx *c)
{
	const struct mt_wfgraph *g = c->g;
	const struct mt_wfedge *e = NULL, *first;
	const struct mt_wfedge *others[MT_THREADS_MAX];
	int k, n = 0, i;

	if (!g || g->end == MT_WF_NONE || !g->nedge)
		return 0;
	mt_buf_puts(o, ": ");
	for (k = 0; k < g->nedge; k++) {
		e = &g->e[g->edge[k]];
		put_edge(o, c, e, k == 0);
	}
	switch (g->end) {
	case MT_WF_EXITED:
		if (!e->holder_gone)
			mt_buf_puts(o, ", which exited");
		break;
	case MT_WF_CYCLE:
		mt_buf_puts(o, ": a cycle");
		break;
	case MT_WF_ACTIVE:
	case MT_WF_BLOCKED:
	case MT_WF_FOREVER:
		mt_buf_puts(o, ", which ");
		put_does(o, c, g->chain[g->nchain - 1]);
		if (g->end == MT_WF_FOREVER)
			mt_buf_puts(o, ", and no other thread can act");
		break;
	case MT_WF_UNKNOWN:
		mt_buf_puts(o, e->from_ledger ? ", whose holder is not known (an untracked lock)" :
				", whose holder is not known");
		break;
	case MT_WF_SIGNAL:
		mt_buf_puts(o, " (a Lock also released by threads that did not take it: "
			    "its holder binds no one)");
		break;
	default:
		break;
	}
	/* Those who wait for the test thread's lock too. */
	first = &g->e[g->edge[0]];
	for (i = 0; i < g->n; i++) {
		const struct mt_wfview *v = view_of(c, g->e[i].waiter);

		if (&g->e[i] != first && same_lock(&g->e[i], first) && v && !v->told)
			others[n++] = &g->e[i];
	}
	for (i = 0; i < n; i++) {
		mt_buf_puts(o, i == 0 ? "; " : i == n - 1 ? " and " : ", ");
		if (i == 4 && n > 5) {
			mt_buf_printf(o, "%d others", n - 4);
			for (; i < n; i++)
				mark(c, others[i]->waiter);
			break;
		}
		put_name(o, c, others[i]->waiter);
		mark(c, others[i]->waiter);
	}
	if (n)
		mt_buf_puts(o, n > 1 ? " wait for it too" : " waits for it too");
	return 1;
}

static void put_site_long(struct mt_buf *o, const struct mt_wfctx *c, uint32_t index)
{
	struct mt_lsite s;

	if (site(c, index, &s))
		mt_buf_printf(o, "%s:%d in %s", s.file, s.line, s.func);
	else
		mt_buf_puts(o, "an unrecorded place");
}

static void put_lock_long(struct mt_buf *o, const struct mt_wfctx *c, const struct mt_wfedge *e)
{
	put_lock(o, c, e);
	mt_buf_printf(o, ": a%s %s at %#llx", e->lock.kind == MT_LK_RLOCK ? "n" : "",
		      mt_lock_kind_name(e->lock.kind), (unsigned long long)e->lock.addr);
	if (e->from_ledger && e->lock.made) {
		mt_buf_puts(o, ", made at ");
		put_site_long(o, c, e->lock.made);
	}
	if (e->lock.flags & MT_LOCK_CROSS)
		mt_buf_puts(o, ", released by threads that did not take it");
}

void mt_wf_section(struct mt_buf *o, const struct mt_wfctx *c, const char *status)
{
	const struct mt_wfgraph *g = c->g;
	uint32_t locks = 0, nheld = 0, waits = 0;
	int i, n;

	mt_buf_printf(o, "\nWait-for graph (%s", status);
	if (c->lg) {
		mt_ledger_count(c->lg, &locks, &nheld, &waits);
		mt_buf_printf(o, ": %u locks tracked, %u held, %u waits", locks, nheld, waits);
		if (c->lg->untracked || c->lg->waits_full || c->lg->sites_full)
			mt_buf_printf(o, "; full: %u locks made untracked, %u waits and %u places not "
				      "written (MT_LEDGER_LOCKS, _WAITS, _SITES)", c->lg->untracked,
				      c->lg->waits_full, c->lg->sites_full);
	}
	mt_buf_printf(o, "; the test thread: %s):\n", mt_wf_end_name(g->end));
	for (i = 0; i < g->n; i++) {
		const struct mt_wfedge *e = &g->e[i];

		mt_buf_puts(o, "  ");
		put_name(o, c, e->waiter);
		mt_buf_puts(o, " waits for ");
		put_lock(o, c, e);
		if (e->from_ledger) {
			mt_buf_puts(o, " since ");
			put_age(o, c, e->wait.since_ns);
			mt_buf_puts(o, ", at ");
			put_site_long(o, c, e->wait.site);
		} else {
			const struct mt_wfview *v = view_of(c, e->waiter);
			const struct mt_pyframe *f = v ? wait_frame(v->py) : NULL;

			if (f)
				mt_buf_printf(o, ", at %s:%d in %s", f->file, f->line, f->func);
		}
		if (e->wait.flags & MT_WAIT_F_TIMED)
			mt_buf_puts(o, " (with a timeout)");
		if (e->wait.flags & MT_WAIT_F_RESTORE)
			mt_buf_puts(o, " (taking it back after Condition.wait)");
		mt_buf_puts(o, "\n    ");
		if (e->from_ledger && !e->wait.lock) {
			mt_buf_puts(o, "an untracked lock (the ledger's table was full)\n");
			continue;
		}
		put_lock_long(o, c, e);
		mt_buf_puts(o, "\n    ");
		if (e->holder_gone) {
			mt_buf_puts(o, "held by a thread that exited\n");
		} else if (!e->lock.holder) {
			mt_buf_puts(o, e->lock.kind == MT_LK_SEM || e->lock.kind == MT_LK_BSEM ?
				    "a semaphore: no holder\n" : "holder not known\n");
		} else {
			mt_buf_puts(o, "held by ");
			put_name(o, c, e->lock.holder);
			mt_buf_printf(o, " (thread %d%s)", (int)e->lock.holder,
				      view_of(c, e->lock.holder) ? "" : ", exited");
			if (e->from_ledger) {
				mt_buf_puts(o, " since ");
				put_age(o, c, e->lock.since_ns);
				mt_buf_puts(o, ", taken at ");
				put_site_long(o, c, e->lock.site);
			}
			mt_buf_putc(o, '\n');
		}
	}
	if (!g->n)
		mt_buf_puts(o, "  no thread waits for a lock the graph knows\n");
	if (!c->lg)
		return;
	/* Locks held by threads that exited: nobody may be waiting yet. */
	for (i = 1, n = 0; (uint32_t)i <= c->lg->nlocks; i++) {
		struct mt_llock l;
		struct mt_wfedge e = { 0 };

		if (!mt_ledger_lock(c->lg, (uint32_t)i, &l) || !l.holder || view_of(c, l.holder))
			continue;
		if (n++ == 0)
			mt_buf_puts(o, "Locks held by threads that exited:\n");
		if (n > 32)
			continue;
		e.from_ledger = 1;
		e.lock = l;
		e.wait.lock = l.index;
		mt_buf_puts(o, "  ");
		put_lock_long(o, c, &e);
		mt_buf_puts(o, ", held by ");
		put_name(o, c, l.holder);
		mt_buf_printf(o, " (thread %d) since ", (int)l.holder);
		put_age(o, c, l.since_ns);
		mt_buf_puts(o, ", taken at ");
		put_site_long(o, c, l.site);
		mt_buf_putc(o, '\n');
	}
	if (n > 32)
		mt_buf_printf(o, "  ... and %d more\n", n - 32);
}

void mt_wf_thread_lines(struct mt_buf *o, const struct mt_wfctx *c, pid_t tid)
{
	uint32_t held[8];
	int n, i;

	if (!c->lg)
		return;
	n = mt_ledger_held_by(c->lg, tid, held, 8);
	for (i = 0; i < n; i++) {
		struct mt_wfedge e = { 0 };

		e.from_ledger = 1;
		mt_ledger_lock(c->lg, held[i], &e.lock);
		e.wait.lock = held[i];
		mt_buf_puts(o, "  holds ");
		put_lock(o, c, &e);
		mt_buf_printf(o, " (a%s %s), taken at ", e.lock.kind == MT_LK_RLOCK ? "n" : "",
			      mt_lock_kind_name(e.lock.kind));
		put_site_long(o, c, e.lock.site);
		mt_buf_puts(o, ", ");
		put_age(o, c, e.lock.since_ns);
		mt_buf_puts(o, " ago\n");
	}
	if (n == 8)
		mt_buf_puts(o, "  holds more locks (8 shown)\n");
}
