/* mtest: run.jsonl read back (include/mtest/run/journal.h). */
#include "mtest/run/journal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "mtest/base/fsx.h"
#include "mtest/base/json.h"

static struct mt_json js;
static struct mt_jrec rec;

static int decode(const char *s, size_t n)
{
	struct mt_json *j = &js;
	int b = 0;

	if (!mt_json_parse(j, s, n) || !mt_json_get_str(j, 0, "type", rec.type, sizeof rec.type))
		return 0;
	mt_json_get_str(j, 0, "id", rec.id, sizeof rec.id);
	mt_json_get_str(j, 0, "file", rec.file, sizeof rec.file);
	mt_json_get_str(j, 0, "kind", rec.kind, sizeof rec.kind);
	mt_json_get_str(j, 0, "verdict", rec.verdict, sizeof rec.verdict);
	mt_json_get_str(j, 0, "reason", rec.reason, sizeof rec.reason);
	mt_json_get_str(j, 0, "detail", rec.detail, sizeof rec.detail);
	mt_json_get_str(j, 0, "tb", rec.tb, sizeof rec.tb);
	mt_json_get_str(j, 0, "bundle", rec.bundle, sizeof rec.bundle);
	mt_json_get_str(j, 0, "what", rec.what, sizeof rec.what);
	if (!mt_json_get_str(j, 0, "text", rec.text, sizeof rec.text))
		mt_json_get_str(j, 0, "cause", rec.text, sizeof rec.text);
	rec.line = rec.worker = rec.attempt = rec.tests = rec.deselected = 0;
	rec.duration_us = 0;
	mt_json_get_int(j, 0, "line", &rec.line);
	mt_json_get_us(j, 0, "duration", &rec.duration_us);
	mt_json_get_int(j, 0, "worker", &rec.worker);
	mt_json_get_int(j, 0, "attempt", &rec.attempt);
	mt_json_get_int(j, 0, "tests", &rec.tests);
	mt_json_get_int(j, 0, "deselected", &rec.deselected);
	rec.planned = mt_json_get_bool(j, 0, "planned", &b) && b;
	rec.js = j;
	/* A remembered record of an older mtest names no store: both. */
	rec.durations = rec.quarantine = 1;
	if (mt_json_get_bool(j, 0, "durations", &b))
		rec.durations = b;
	if (mt_json_get_bool(j, 0, "quarantine", &b))
		rec.quarantine = b;
	return 1;
}

/* What a resumed run takes back from the stop. */
static int taken_back(void)
{
	if (strcmp(rec.type, "run_end") == 0)
		return 1;
	return strcmp(rec.type, "test") == 0 && strcmp(rec.verdict, "not_run") == 0 &&
	       (strcmp(rec.reason, "interrupted") == 0 || strcmp(rec.reason, "run timeout") == 0 ||
		strcmp(rec.reason, "no progress") == 0);
}

/* Each whole line of fd to fn(line, len, ctx); a last line without its
 * newline is torn. Returns 0 on a read error. */
typedef void line_fn(void *ctx, const char *s, size_t n);

static int lines(int fd, line_fn *fn, void *ctx, int *torn)
{
	static char buf[MT_RECORD_MAX + 1];
	size_t len = 0, used;
	char *start, *nl;
	ssize_t r;
	int skipping = 0;

	*torn = 0;
	for (;;) {
		r = read(fd, buf + len, sizeof buf - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return 0;
		if (r == 0)
			break;
		len += (size_t)r;
		start = buf;
		while ((nl = memchr(start, '\n', len - (size_t)(start - buf)))) {
			if (!skipping)
				fn(ctx, start, (size_t)(nl - start));
			skipping = 0;
			start = nl + 1;
		}
		used = (size_t)(start - buf);
		memmove(buf, start, len - used);
		len -= used;
		if (len == sizeof buf) {
			skipping = 1;	/* longer than any record: dropped */
			len = 0;
		}
	}
	*torn = len > 0;
	return 1;
}

struct fixing {
	struct mt_buf *out;
	struct mt_journal_fix *f;
};

static void fix_line(void *ctx, const char *s, size_t n)
{
	struct fixing *x = ctx;

	x->f->lines++;
	if (!decode(s, n)) {
		x->f->bad++;	/* not a record: not kept */
		return;
	}
	if (taken_back()) {
		x->f->dropped_stop++;
		return;
	}
	mt_buf_put(x->out, s, n);
	mt_buf_putc(x->out, '\n');
	x->f->kept++;
}

int mt_journal_fix(const char *path, struct mt_journal_fix *out)
{
	static struct mt_atomic a;
	struct fixing x;
	int fd, ok, e;

	memset(out, 0, sizeof *out);
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if (!mt_atomic_open(&a, path)) {
		e = errno;
		close(fd);
		errno = e;
		return 0;
	}
	x.out = &a.out;
	x.f = out;
	ok = lines(fd, fix_line, &x, &out->torn);
	e = errno;
	close(fd);
	out->size = (int64_t)(a.out.flushed + a.out.len);
	if (!ok || !mt_atomic_commit(&a)) {
		if (ok)
			e = errno;
		mt_atomic_abort(&a);
		errno = e;
		return 0;
	}
	return 1;
}

int mt_journal_lines(const char *path, void (*fn)(void *ctx, const char *s, size_t n), void *ctx)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), ok, torn, e;

	if (fd < 0)
		return 0;
	ok = lines(fd, fn, ctx, &torn);
	e = errno;
	close(fd);
	errno = e;
	return ok;
}

struct replaying {
	mt_jrec_fn *fn;
	void *ctx;
};

static void replay_line(void *ctx, const char *s, size_t n)
{
	struct replaying *x = ctx;

	if (decode(s, n))
		x->fn(x->ctx, &rec);
}

int mt_journal_replay(const char *path, mt_jrec_fn *fn, void *ctx)
{
	struct replaying x = { fn, ctx };
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), ok, torn, e;

	if (fd < 0)
		return 0;
	ok = lines(fd, replay_line, &x, &torn);
	e = errno;
	close(fd);
	errno = e;
	return ok;
}
