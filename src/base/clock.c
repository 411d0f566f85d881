/* mtest: clocks and UTC stamps. */
#include "mtest/base/clock.h"

#include <stdio.h>
#include <time.h>

#include "mtest/base/buf.h"

static int64_t read_clock(clockid_t id)
{
	struct timespec ts;

	/* clock_gettime cannot fail for these clocks on Linux. */
	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t mt_now_us(void)
{
	return read_clock(CLOCK_MONOTONIC);
}

int64_t mt_wall_us(void)
{
	return read_clock(CLOCK_REALTIME);
}

/* Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm). */
static void civil(int64_t days, int *y, unsigned *m, unsigned *d)
{
	int64_t z = days + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;

	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

void mt_buf_utc(struct mt_buf *b, int64_t wall_us)
{
	int64_t secs = wall_us / 1000000, days = secs / 86400, rem = secs % 86400;
	int y;
	unsigned m, d;

	if (rem < 0) {
		rem += 86400;
		days--;
	}
	civil(days, &y, &m, &d);
	if (y < 0 || y > 9999) {
		mt_buf_printf(b, "%04d-%02u-%02uT%02u:%02u:%02u.%03uZ", y, m, d,
			      (unsigned)(rem / 3600), (unsigned)(rem / 60 % 60),
			      (unsigned)(rem % 60), (unsigned)(wall_us / 1000 % 1000));
		return;
	}
	/* Several per test: digits without printf. */
	mt_buf_digits(b, (uint64_t)y, 4);
	mt_buf_putc(b, '-');
	mt_buf_digits(b, m, 2);
	mt_buf_putc(b, '-');
	mt_buf_digits(b, d, 2);
	mt_buf_putc(b, 'T');
	mt_buf_digits(b, (uint64_t)(rem / 3600), 2);
	mt_buf_putc(b, ':');
	mt_buf_digits(b, (uint64_t)(rem / 60 % 60), 2);
	mt_buf_putc(b, ':');
	mt_buf_digits(b, (uint64_t)(rem % 60), 2);
	mt_buf_putc(b, '.');
	mt_buf_digits(b, (uint64_t)(wall_us < 0 ? (1000000 + wall_us % 1000000) % 1000000 :
				    wall_us % 1000000) / 1000, 3);
	mt_buf_putc(b, 'Z');
}

/* Days since 1970-01-01 of a civil date (the inverse of civil()). */
static int64_t days_from_civil(int y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

/* n digits at s, or -1 at the first other byte (a NUL included). */
static int digits(const char *s, int n)
{
	int v = 0;

	for (; n > 0; n--, s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (*s - '0');
	}
	return v;
}

/* The form mtest writes, "2026-12-01T02:00:01.000Z", without sscanf (a
 * replay reads one per record), left to right (a shorter string ends at
 * its NUL, which matches nothing); anything else goes to sscanf, which
 * reads it as before. v: year, month, day, hour, minute, second, ms. */
static int parse_canonical(const char *s, int *v)
{
	return (v[0] = digits(s, 4)) >= 0 && s[4] == '-' && (v[1] = digits(s + 5, 2)) >= 0 &&
	       s[7] == '-' && (v[2] = digits(s + 8, 2)) >= 0 && s[10] == 'T' &&
	       (v[3] = digits(s + 11, 2)) >= 0 && s[13] == ':' && (v[4] = digits(s + 14, 2)) >= 0 &&
	       s[16] == ':' && (v[5] = digits(s + 17, 2)) >= 0 && s[19] == '.' &&
	       (v[6] = digits(s + 20, 3)) >= 0 && s[23] == 'Z';
}

/* Microseconds of a valid date and time. */
static int to_us(int y, unsigned mo, unsigned d, unsigned h, unsigned mi, unsigned sec,
		 unsigned ms, int64_t *wall_us)
{
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60 || ms > 999)
		return 0;
	*wall_us = ((days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec) * 1000 +
		    ms) * 1000;
	return 1;
}

int mt_parse_utc24(const char *s, int64_t *wall_us)
{
	int v[8];

	return parse_canonical(s, v) &&
	       to_us(v[0], (unsigned)v[1], (unsigned)v[2], (unsigned)v[3], (unsigned)v[4],
		     (unsigned)v[5], (unsigned)v[6], wall_us);
}

int mt_parse_utc(const char *s, int64_t *wall_us)
{
	int y;
	unsigned mo, d, h, mi, sec, ms;

	if (mt_parse_utc24(s, wall_us))
		return 1;
	if (sscanf(s, "%4d-%2u-%2uT%2u:%2u:%2u.%3uZ", &y, &mo, &d, &h, &mi, &sec, &ms) != 7)
		return 0;
	return to_us(y, mo, d, h, mi, sec, ms, wall_us);
}
