/* mtest: the kernel's word on a lane's test: its log lines, the taint
 * flags it brought, markers in the kernel's log (docs/box.md; src/sup/sup.h
 * tells how the supervisor is cut). What it finds goes into the test's
 * record and bundle (verdicts.c); it changes no worker's state. */
#include "sup.h"

/* While a test runs, its lines are read this often, so that a chatty
 * kernel's ring cannot overwrite them before the test ends. */
#define KMSG_EVERY_US 1000000

/* Markers a test's start (and a plain end) leave for the end markers of
 * tests the kernel spoke in: the kernel's rate limit takes what comes
 * after (docs/box.md). */
#define MARK_RESERVE 2

static void kern_reset(struct kern *k)
{
	k->taken = k->others = k->start_marked = 0;
	k->taint[0] = k->summary[0] = k->head[0] = '\0';
	k->next_us = MT_NEVER;
	k->until_us = MT_NEVER;
	k->taint_known = mt_kmsg_taint_read(MT_TAINT_PATH, &k->taint_start);
}

/* A worker that is ready for its first test: what comes in the kernel's
 * log from now on is that test's (lines a test makes as it starts are
 * not missed: its start event comes later). */
void sup_kmsg_cursor(struct sup *s, struct lane *l)
{
	(void)s;
	mt_kmsg_cursor(&l->kmsg);
	kern_reset(&l->kern);
}

/* A time of the kernel's clock as dmesg shows it ("[ 5553.463813]"): a
 * marker is written when mtest hears of a test's start or end, which may
 * be after the kernel's lines of it; its times say when it really was. */
static void kernel_time(const struct lane *l, int64_t mono_us, char *out, size_t cap)
{
	int64_t t = mono_us + l->kmsg.offset_us;

	if (mono_us <= 0 || t < 0)
		snprintf(out, cap, "?");
	else
		snprintf(out, cap, "[%5lld.%06lld]", (long long)(t / 1000000),
			 (long long)(t % 1000000));
}

void sup_kmsg_start(struct sup *s, struct lane *l, const char *id, int64_t mono_us, int64_t now)
{
	struct lane *o;
	char at[40];

	if (l->kmsg.fd >= 0)
		l->kern.next_us = now + KMSG_EVERY_US;
	FOR_LANES(s, o)
		if (o != l && o->cur.slot != MT_NONE)
			o->kern.others = l->kern.others = 1;
	kernel_time(l, mono_us, at, sizeof at);
	l->kern.start_marked = mt_kmsg_mark(&s->marks, now, MARK_RESERVE, "lane %d: start %.800s "
					    "at %s", l->idx + 1, id, at);
}

/* Read while the test runs, but not its last second: the worker may have
 * ended it and started the next, which mtest has not read yet. (The
 * worker's clock is CLOCK_MONOTONIC, never a paused one.) */
#define POLL_LAG_US 1000000

void sup_kmsg_poll(struct lane *l, int64_t now)
{
	if (l->cur.slot != MT_NONE)
		mt_kmsg_drain_until(&l->kmsg, mt_now_us() - POLL_LAG_US);
	l->kern.next_us = l->cur.slot != MT_NONE && l->kmsg.fd >= 0 ? now + KMSG_EVERY_US : MT_NEVER;
}

/* What the kernel said while the test ran, read once at its end (or at
 * its worker's death, for the OOM killer's word). */
void sup_kmsg_collect(struct sup *s, struct lane *l)
{
	struct kern *k = &l->kern;
	struct mt_kmsg *m = &l->kmsg;
	unsigned long brought;
	struct mt_buf b;
	struct lane *o;

	if (k->taken)
		return;
	k->taken = 1;
	k->next_us = MT_NEVER;
	/* Up to the worker's own moment of the test's end: what the kernel
	 * stamped later is the next test's (the worker runs ahead of what
	 * mtest has read). */
	mt_kmsg_drain_until(m, k->until_us);
	FOR_LANES(s, o)
		if (o != l && o->cur.slot != MT_NONE)
			k->others = 1;
	if (k->taint_known && mt_kmsg_taint_read(MT_TAINT_PATH, &k->taint_end) &&
	    (brought = k->taint_end & ~k->taint_start))
		mt_kmsg_taint_text(brought, k->taint, sizeof k->taint);
	if (m->lines + m->dropped)
		snprintf(k->summary, sizeof k->summary, "%s: %s", mt_kmsg_kind_name(m->worst),
			 m->worst_line);
	mt_buf_init(&b, k->head, sizeof k->head, -1);
	if (m->lines + m->dropped)
		mt_buf_printf(&b, "%u line%s (kernel log records %llu to %llu)", m->lines + m->dropped,
			      m->lines + m->dropped == 1 ? "" : "s", (unsigned long long)m->first_seq,
			      (unsigned long long)m->last_seq);
	if (m->dropped)
		mt_buf_printf(&b, "; %u not kept (MT_KMSG_BYTES)", m->dropped);
	if (m->overwritten)
		mt_buf_puts(&b, "; the kernel's ring overwrote lines before mtest read them: "
			    "some are missing");
	if (m->err)
		mt_buf_printf(&b, "; reading the kernel's log failed: %s", mt_strerror(m->err));
	if (k->others && m->lines + m->dropped)
		mt_buf_puts(&b, "; another lane ran a test meanwhile: a line that names no process "
			    "may be its");
}

/* The test is settled: an end marker, and the next test's cursor. */
void sup_kmsg_end(struct sup *s, struct lane *l, const char *id, const char *verdict, int64_t now)
{
	struct mt_kmsg *m = &l->kmsg;
	char letters[40] = "", at[40];

	sup_kmsg_collect(s, l);
	if (l->kern.taint[0])
		mt_kmsg_taint_letters(l->kern.taint_end & ~l->kern.taint_start, letters,
				      sizeof letters);
	kernel_time(l, l->kern.until_us != MT_NEVER ? l->kern.until_us : mt_now_us(), at,
		    sizeof at);
	if (m->lines + m->dropped || letters[0])
		mt_kmsg_mark(&s->marks, now, 0, "lane %d: end %.640s (%s) at %s: %u kernel line%s "
			     "came in this test%s%s", l->idx + 1, id, verdict, at,
			     m->lines + m->dropped, m->lines + m->dropped == 1 ? "" : "s",
			     letters[0] ? "; it tainted the kernel: " : "", letters);
	else if (l->kern.start_marked)
		mt_kmsg_mark(&s->marks, now, MARK_RESERVE, "lane %d: end %.800s (%s) at %s",
			     l->idx + 1, id, verdict, at);
	/* The next test's lines are those read from here on. */
	mt_kmsg_next(m);
	kern_reset(&l->kern);
}

/* Did the kernel say anything worth a bundle of its own? */
int sup_kmsg_said(const struct lane *l)
{
	return l->kern.taint[0] || mt_kmsg_notable(&l->kmsg);
}
