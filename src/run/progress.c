/* mtest: progress. */
#include "mtest/run/progress.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "mtest/base/buf.h"
#include "mtest/base/clock.h"
#include "mtest/base/fsx.h"

#define TICK_US 1000000

void mt_progress_init(struct mt_progress *p, enum mt_progress_mode mode, int nlanes,
		      int64_t now)
{
	int i;

	int tty = isatty(1);

	if (mode == MT_PROGRESS_AUTO)
		mode = tty ? MT_PROGRESS_TTY : MT_PROGRESS_PLAIN;
	p->mode = mode;
	p->dead = 0;
	p->color = tty;
	p->shown = 0;
	p->dropped = 0;
	p->start_us = now;
	p->next_tick_us = MT_NEVER;
	p->nlanes = nlanes < 1 ? 1 : nlanes > MT_LANES_MAX ? MT_LANES_MAX : nlanes;
	for (i = 0; i < MT_LANES_MAX; i++)
		p->current[i] = MT_NONE;
}

static void out_raw(struct mt_progress *p, const char *s, size_t n, int defang)
{
	struct pollfd pfd = { .fd = 1, .events = POLLOUT };
	char copy[MT_ID_MAX + 1024];

	if (p->dead || p->mode == MT_PROGRESS_QUIET)
		return;
	if (defang && p->defang) {
		/* Lines are short; a longer text (none today) is left out. */
		if (n > sizeof copy)
			return;
		memcpy(copy, s, n);
		mt_defang(copy, n);
		s = copy;
	}
	/* Nobody reads (mtest | less, scrolled back): drop the line rather
	 * than stop the loop that ends hung tests. */
	if (poll(&pfd, 1, 0) != 1 || !(pfd.revents & POLLOUT)) {
		p->dropped++;
		return;
	}
	if (!mt_write_all(1, s, n))
		p->dead = 1;	/* EPIPE, EIO: the terminal is gone */
}

static void out(struct mt_progress *p, const char *s, size_t n)
{
	out_raw(p, s, n, 1);
}

static int width(void)
{
	struct winsize ws;

	if (ioctl(1, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20)
		return ws.ws_col;
	return 80;
}

static void clear_line(struct mt_progress *p)
{
	if (p->shown)
		out(p, "\r\033[K", 4);
	p->shown = 0;
}

static void draw(struct mt_progress *p, const struct mt_run *r, int64_t now)
{
	char line[1024];
	struct mt_buf b;
	uint32_t bad = r->count[MT_V_FAILED] + r->count[MT_V_ERROR] + r->count[MT_V_HUNG] +
		       r->count[MT_V_CRASHED] + r->nfiles_bad;
	int64_t s = (now - p->start_us) / 1000000;
	int w = width(), i;
	size_t used;

	mt_buf_init(&b, line, sizeof line, -1);
	mt_buf_puts(&b, "\r\033[K");
	mt_buf_printf(&b, "[%u/%u] ", r->decided, r->ntests);
	if (bad)
		mt_buf_printf(&b, "%s%u bad%s ", p->color ? "\033[1;31m" : "", bad,
			      p->color ? "\033[0m" : "");
	mt_buf_printf(&b, "%02lld:%02lld ", (long long)(s / 60), (long long)(s % 60));
	used = b.len - 4 - (bad && p->color ? 11 : 0);
	for (i = 0; i < p->nlanes && (size_t)w > used + 8; i++) {
		const char *id, *name;
		size_t room;

		if (p->current[i] == MT_NONE)
			continue;
		id = mt_run_str(r, r->t[p->current[i]].id);
		/* One lane: the whole id; several: each test's own name. */
		name = p->nlanes > 1 && strrchr(id, ':') ? strrchr(id, ':') + 1 : id;
		if (p->nlanes > 1) {
			mt_buf_printf(&b, "%s%d:", used > b.len ? "" : " ", i + 1);
			used += 3;
		}
		room = (size_t)w - used - 1;
		if (p->nlanes > 1 && room > (size_t)w / (size_t)p->nlanes)
			room = (size_t)w / (size_t)p->nlanes;
		mt_buf_line(&b, name, room);
		used += strlen(name) < room ? strlen(name) + 1 : room + 1;
		if (p->nlanes > 1)
			mt_buf_putc(&b, ' ');
	}
	out(p, b.p, b.len);
	p->shown = 1;
	p->next_tick_us = now + TICK_US;
}

void mt_progress_start(struct mt_progress *p, const struct mt_run *r, int lane, uint32_t slot,
		       int64_t now)
{
	if (lane >= 0 && lane < MT_LANES_MAX)
		p->current[lane] = slot;
	if (p->mode == MT_PROGRESS_TTY)
		draw(p, r, now);
}

void mt_progress_verdict(struct mt_progress *p, const struct mt_run *r, uint32_t slot,
			 const char *id, const struct mt_vinfo *v, int64_t now)
{
	char line[MT_ID_MAX + 512];
	struct mt_buf b;
	int bad = mt_verdict_is_bad(v->verdict);

	int i;

	for (i = 0; i < p->nlanes; i++)
		if (slot == p->current[i])
			p->current[i] = MT_NONE;
	if (p->dead || p->mode == MT_PROGRESS_QUIET)
		return;	/* nothing shown: nothing to format (a line per test) */
	if (p->mode == MT_PROGRESS_TTY && !bad) {
		draw(p, r, now);
		return;
	}
	mt_buf_init(&b, line, sizeof line, -1);
	if (p->mode == MT_PROGRESS_TTY && p->color)
		mt_buf_puts(&b, "\033[1;31m");
	mt_buf_printf(&b, "%-8s", mt_verdict_name(v->verdict));
	if (p->mode == MT_PROGRESS_TTY && p->color)
		mt_buf_puts(&b, "\033[0m");
	mt_buf_putc(&b, ' ');
	mt_buf_line(&b, id, MT_ID_MAX);
	if (v->reason && *v->reason) {
		mt_buf_puts(&b, " (");
		mt_buf_line(&b, v->reason, 120);
		mt_buf_putc(&b, ')');
	}
	if (v->verdict != MT_V_NOT_RUN && v->verdict != MT_V_COLLECTION_ERROR) {
		mt_buf_putc(&b, ' ');
		mt_buf_secs(&b, v->duration_us, 2);
		mt_buf_putc(&b, 's');
	}
	mt_buf_putc(&b, '\n');
	clear_line(p);
	out(p, b.p, b.len);
	if (p->mode == MT_PROGRESS_TTY)
		draw(p, r, now);
}

void mt_progress_tick(struct mt_progress *p, const struct mt_run *r, int64_t now)
{
	if (p->mode == MT_PROGRESS_TTY)
		draw(p, r, now);
	else
		p->next_tick_us = MT_NEVER;
}

void mt_progress_note(struct mt_progress *p, const char *text)
{
	char line[MT_EVENT_TEXT_MAX + 16];
	struct mt_buf b;

	mt_buf_init(&b, line, sizeof line, -1);
	mt_buf_puts(&b, "mtest: ");
	mt_buf_line(&b, text, MT_EVENT_TEXT_MAX);
	mt_buf_putc(&b, '\n');
	clear_line(p);
	out(p, b.p, b.len);
}

void mt_progress_signal(struct mt_progress *p, const char *text, size_t n)
{
	enum mt_progress_mode m = p->mode;

	clear_line(p);
	if (m == MT_PROGRESS_QUIET)
		p->mode = MT_PROGRESS_PLAIN;	/* signals always show */
	out_raw(p, text, n, 0);
	p->mode = m;
}

void mt_progress_print(struct mt_progress *p, const char *text, size_t n)
{
	enum mt_progress_mode m = p->mode;

	clear_line(p);
	if (m == MT_PROGRESS_QUIET)
		p->mode = MT_PROGRESS_PLAIN;	/* the summary always shows */
	out(p, text, n);
	p->mode = m;
}
