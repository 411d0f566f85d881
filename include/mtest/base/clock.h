/* mtest: time. Deadlines and durations on CLOCK_MONOTONIC (a box without
 * an RTC jumps at NTP sync, a laptop sleeps); wall time only for stamps. */
#ifndef MTEST_CLOCK_H
#define MTEST_CLOCK_H

#include <stdint.h>

struct mt_buf;

#define MT_NEVER INT64_MAX

/* Microseconds on CLOCK_MONOTONIC. */
int64_t mt_now_us(void);
/* Microseconds since the epoch, CLOCK_REALTIME. */
int64_t mt_wall_us(void);
/* "2026-11-25T10:05:25.123Z": UTC, computed without the C library's time
 * zone code (which may allocate on first use). */
void mt_buf_utc(struct mt_buf *b, int64_t wall_us);
/* Parse such a stamp back; returns 1 on success. */
int mt_parse_utc(const char *s, int64_t *wall_us);
/* The same for the form mtest writes only, read from the 24 bytes at s
 * (which need not end there): 0 for anything else. */
int mt_parse_utc24(const char *s, int64_t *wall_us);

#endif
