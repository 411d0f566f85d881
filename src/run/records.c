/* mtest: the run journal. */
#include "mtest/run/records.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "mtest/base/clock.h"
#include "mtest/base/fsx.h"

int mt_records_open(struct mt_records *r, int run_fd)
{
	r->dirty = 0;
	r->sync_due_us = MT_NEVER;
	r->err = 0;
	r->written = r->lost = 0;
	r->size = r->synced = 0;
	mt_buf_init(&r->b, r->line, sizeof r->line, -1);
	r->fd = openat(run_fd, "run.jsonl",
		       O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0644);
	/* The new name itself must survive a power cut, not only its data. */
	if (r->fd >= 0 && fsync(run_fd) < 0) {
		close(r->fd);
		r->fd = -1;
	}
	return r->fd >= 0;
}

int mt_records_reopen(struct mt_records *r, int run_fd, int64_t size)
{
	r->dirty = 0;
	r->sync_due_us = MT_NEVER;
	r->err = 0;
	r->written = r->lost = 0;
	r->size = r->synced = (off_t)size;
	mt_buf_init(&r->b, r->line, sizeof r->line, -1);
	r->fd = openat(run_fd, "run.jsonl", O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
	return r->fd >= 0;
}

struct mt_buf *mt_records_begin(struct mt_records *r, const char *type)
{
	mt_buf_reset(&r->b);
	mt_buf_printf(&r->b, "{\"v\":%d,\"type\":\"%s\"", MT_RECORDS_VERSION, type);
	mt_rec_time(&r->b, "time", mt_wall_us());
	return &r->b;
}

void mt_records_end(struct mt_records *r, int64_t now_us)
{
	mt_buf_puts(&r->b, "}\n");
	if (r->b.cut) {
		/* Field budgets keep records far below the limit; if one
		 * still overflows, write a valid stub rather than bad JSON. */
		mt_buf_reset(&r->b);
		mt_buf_printf(&r->b, "{\"v\":%d,\"type\":\"overflow\",\"limit\":\"MT_RECORD_MAX\"}\n",
			      MT_RECORDS_VERSION);
	}
	if (r->fd < 0)
		return;
	if (!mt_write_all(r->fd, r->b.p, r->b.len)) {
		/* A full disk takes part of a record: cut the journal back to
		 * the last whole one, so that every line stays a record. */
		if (!r->err)
			r->err = errno;
		r->lost++;
		if (ftruncate(r->fd, r->size) < 0 && !r->err)
			r->err = errno;
		return;
	}
	r->size += (off_t)r->b.len;
	r->written++;
	if (!r->dirty) {
		r->dirty = 1;
		r->sync_due_us = now_us + MT_SYNC_EVERY_US;
	}
}

void mt_records_sync(struct mt_records *r)
{
	if (r->dirty && r->fd >= 0 && fdatasync(r->fd) < 0 && !r->err)
		r->err = errno;
	else if (r->fd >= 0)
		r->synced = r->size;
	r->dirty = 0;
	r->sync_due_us = MT_NEVER;
}

void mt_records_close(struct mt_records *r)
{
	mt_records_sync(r);
	if (r->fd >= 0 && close(r->fd) < 0 && !r->err)
		r->err = errno;
	r->fd = -1;
}

static void key(struct mt_buf *b, const char *k)
{
	mt_buf_puts(b, ",\"");
	mt_buf_puts(b, k);
	mt_buf_puts(b, "\":");
}

void mt_rec_str(struct mt_buf *b, const char *k, const char *val, size_t max)
{
	key(b, k);
	mt_buf_json_max(b, val ? val : "", val ? strlen(val) : 0, max);
}

void mt_rec_int(struct mt_buf *b, const char *k, int64_t val)
{
	key(b, k);
	mt_buf_int(b, val);
}

void mt_rec_secs(struct mt_buf *b, const char *k, int64_t us)
{
	key(b, k);
	mt_buf_secs(b, us, 6);
}

void mt_rec_time(struct mt_buf *b, const char *k, int64_t wall_us)
{
	key(b, k);
	mt_buf_putc(b, '"');
	mt_buf_utc(b, wall_us);
	mt_buf_putc(b, '"');
}

void mt_rec_null(struct mt_buf *b, const char *k)
{
	key(b, k);
	mt_buf_puts(b, "null");
}
