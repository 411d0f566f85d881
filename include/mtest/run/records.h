/* mtest: last-run/run.jsonl, the run's journal (docs/formats.md).
 *
 * Each record is one JSON object on one line, written with one write() the
 * moment it is known. fdatasync runs at most once a second and at the end:
 * a kill -9 loses nothing already written; a power cut loses at most the
 * last second of records. A write that fails part-way (a full disk) is cut
 * back to the last whole record, and counted. */
#ifndef MTEST_RECORDS_H
#define MTEST_RECORDS_H

#include <stdint.h>
#include <sys/types.h>

#include "mtest/base/buf.h"
#include "mtest/limits.h"

#define MT_RECORDS_VERSION 1
#define MT_SYNC_EVERY_US 1000000

struct mt_records {
	int fd;
	int dirty;
	int64_t sync_due_us;	/* MT_NEVER when nothing waits for a sync */
	int err;		/* first write or sync error (errno) */
	uint64_t written;	/* records */
	uint64_t lost;		/* records that could not be written */
	off_t size;		/* bytes of whole records written */
	off_t synced;		/* of them, known to be on the disk */
	char line[MT_RECORD_MAX];
	struct mt_buf b;
};

/* Create <run_dir>/run.jsonl (it must not exist) and sync its name. */
int mt_records_open(struct mt_records *r, int run_fd);
/* Go on appending to a journal of `size` bytes (a resumed run). */
int mt_records_reopen(struct mt_records *r, int run_fd, int64_t size);
/* Start a record: '{"v":1,"type":"<type>","time":"<UTC>"'. */
struct mt_buf *mt_records_begin(struct mt_records *r, const char *type);
/* Close it and write it in one write(). */
void mt_records_end(struct mt_records *r, int64_t now_us);
/* fdatasync if records wait for it (call when sync_due_us passes). */
void mt_records_sync(struct mt_records *r);
void mt_records_close(struct mt_records *r);

/* Helpers for fields: ',"key":' then the value. */
void mt_rec_str(struct mt_buf *b, const char *key, const char *val, size_t max);
void mt_rec_int(struct mt_buf *b, const char *key, int64_t val);
void mt_rec_secs(struct mt_buf *b, const char *key, int64_t us);
void mt_rec_time(struct mt_buf *b, const char *key, int64_t wall_us);
void mt_rec_null(struct mt_buf *b, const char *key);

#endif
