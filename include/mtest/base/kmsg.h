/* mtest: the kernel's word on each test (docs/box.md): its log lines,
 * read from /dev/kmsg without blocking from a cursor taken at the test's
 * start; the taint flags (/proc/sys/kernel/tainted), decoded; and markers
 * written into the log, so that dmesg tells which test a line came in.
 *
 * Fixed buffers only: what one test's lines do not fit in is counted, not
 * kept. A reader is an open file of /dev/kmsg: each has a cursor of its
 * own (lseek SEEK_END), and reading it never blocks (O_NONBLOCK). */
#ifndef MTEST_KMSG_H
#define MTEST_KMSG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "mtest/limits.h"

#define MT_KMSG_PATH "/dev/kmsg"
#define MT_TAINT_PATH "/proc/sys/kernel/tainted"
#define MT_DEVKMSG_SYSCTL "/proc/sys/kernel/printk_devkmsg"

/* How bad a kernel line is, the worst last. */
enum mt_kmsg_kind {
	MT_KMSG_NONE = 0,
	MT_KMSG_LINE,		/* anything else */
	MT_KMSG_ERROR,		/* level err or worse: a driver's error */
	MT_KMSG_SEGFAULT,	/* a process's segfault, trap or unhandled fault */
	MT_KMSG_WARNING,	/* the kernel's WARNING (it taints W) */
	MT_KMSG_OOM,		/* the OOM killer at work */
	MT_KMSG_LOCKUP,		/* a soft or hard lockup, a hung task, an RCU stall */
	MT_KMSG_OOPS,		/* an oops, a BUG, a panic */
	MT_KMSG_KINDS
};

/* One record of /dev/kmsg ("PRI,SEQ,TS,FLAGS;TEXT"), parsed. */
struct mt_kmsg_line {
	int level, facility;
	uint64_t seq;
	int64_t ts_us;			/* since boot */
	enum mt_kmsg_kind kind;
	pid_t pid;			/* the process it names, or 0 */
	int oom_kill;			/* "Killed process PID": pid is the OOM killer's victim */
	const char *text;		/* the message (not NUL-terminated) */
	size_t len;
};

/* What the kernel said since the cursor. */
struct mt_kmsg {
	int fd;				/* -1: nothing is read */
	ssize_t (*read)(int fd, void *p, size_t n);	/* read(2); a fake in tests */
	uint32_t lines;			/* kept in text */
	uint32_t dropped;		/* came, but text was full */
	uint32_t overwritten;		/* the kernel overwrote lines not read yet (EPIPE) */
	uint64_t first_seq, last_seq;	/* of the lines that came */
	enum mt_kmsg_kind worst;
	char worst_line[MT_KMSG_LINE_MAX];	/* the first line of the worst kind */
	int nvictims;
	pid_t victims[MT_KMSG_VICTIMS];	/* killed by the OOM killer */
	char oom_line[MT_KMSG_LINE_MAX];	/* the first "Killed process" line */
	int err;			/* a read error (errno) that stopped reading, or 0 */
	int64_t offset_us;		/* the kernel's clock (its lines' time) less CLOCK_MONOTONIC */
	size_t held_len;		/* records read past a boundary: the next test's */
	char held[MT_KMSG_HELD];
	size_t len;
	char text[MT_KMSG_BYTES];	/* the lines, one each, as dmesg shows them */
};

void mt_kmsg_init(struct mt_kmsg *k);
/* Open a reader (O_RDONLY | O_NONBLOCK). Returns 1, or 0 with errno. */
int mt_kmsg_open(struct mt_kmsg *k, const char *path);
void mt_kmsg_close(struct mt_kmsg *k);
/* The cursor: forget what came, and read only what comes after now
 * (lseek SEEK_END; a pipe, which cannot seek, is drained instead). */
void mt_kmsg_cursor(struct mt_kmsg *k);
/* The next test's: forget what came, and go on reading from where the
 * last drain stopped (records held past its boundary included). */
void mt_kmsg_next(struct mt_kmsg *k);
/* Read every record that has come, without blocking. Returns the
 * number of lines that came (kept or not). */
uint32_t mt_kmsg_drain(struct mt_kmsg *k);
/* The same, up to a boundary: a record the kernel stamped later than
 * mono_us (CLOCK_MONOTONIC, set against the kernel's clock by
 * offset_us) is held for the next test, and reading stops there. */
uint32_t mt_kmsg_drain_until(struct mt_kmsg *k, int64_t mono_us);
/* Read up to this process's marker (mtest[PID]); its time, the kernel's.
 * What comes before it is dropped. Returns 1, or 0 if it never came. */
int mt_kmsg_find_mark(struct mt_kmsg *k, pid_t pid, int64_t *ts_us);
/* Take one record (what one read(2) of /dev/kmsg returns; a fake file
 * may hold several, a line each). */
void mt_kmsg_take(struct mt_kmsg *k, const char *rec, size_t n);
/* Parse one record's first line. Returns 1, or 0 if it is not one. */
int mt_kmsg_parse(const char *rec, size_t n, struct mt_kmsg_line *out);
const char *mt_kmsg_kind_name(enum mt_kmsg_kind kind);
/* Did the OOM killer kill pid since the cursor? */
int mt_kmsg_killed(const struct mt_kmsg *k, pid_t pid);
/* Worth a test's bundle: an error, a fault, a warning, an OOM kill, a
 * lockup or an oops (or lines lost to the kernel's ring). */
int mt_kmsg_notable(const struct mt_kmsg *k);

/* The taint flags (/proc/sys/kernel/tainted, or path). Returns 1, or 0
 * with errno. */
int mt_kmsg_taint_read(const char *path, unsigned long *bits);
/* Flags as the kernel's letters and what they mean ("W (kernel issued
 * warning), D (...)"); "" for none. */
void mt_kmsg_taint_text(unsigned long bits, char *out, size_t cap);
/* The letters alone ("WD"). */
void mt_kmsg_taint_letters(unsigned long bits, char *out, size_t cap);

/* Markers: a line at a test's start and end, so that `dmesg` tells which
 * test a line came in. Only root may write /dev/kmsg, and the kernel
 * takes at most MT_KMSG_BURST lines per MT_KMSG_INTERVAL_US from one open
 * file when printk_devkmsg is "ratelimit" (its default), dropping the rest
 * without a word; with "off" it drops them all. Markers keep within that
 * limit, and the next one written says how many were skipped. */
#define MT_KMSG_BURST 10
#define MT_KMSG_INTERVAL_US 5000000
/* Our window is longer than the kernel's: its clock is not ours. */
#define MT_KMSG_WINDOW_US (MT_KMSG_INTERVAL_US + 250000)

struct mt_kmsg_marks {
	int fd;				/* -1: no markers */
	int limited;			/* within the kernel's rate limit */
	int64_t window_us;		/* the current window's start */
	int used;			/* markers written in it */
	uint32_t skipped;		/* not written, since the last that was */
	uint64_t written, skipped_total;
	pid_t pid;
};

/* Open the writer, as the kernel's printk_devkmsg (read from `sysctl`)
 * allows. Returns 1, or 0 with why (no markers). */
int mt_kmsg_marks_open(struct mt_kmsg_marks *m, const char *path, const char *sysctl,
		       char *why, size_t cap);
void mt_kmsg_marks_close(struct mt_kmsg_marks *m);
/* Markers the limit lets through now. */
int mt_kmsg_marks_room(struct mt_kmsg_marks *m, int64_t now_us);
/* Write "mtest[PID]: TEXT" if the limit leaves more than `reserve`
 * markers in this window (else it is skipped, and counted). Returns 1 if
 * written. */
int mt_kmsg_mark(struct mt_kmsg_marks *m, int64_t now_us, int reserve, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Is this message one of mtest's markers (any mtest's)? */
int mt_kmsg_is_marker(const char *text, size_t len);

#endif
