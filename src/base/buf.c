/* mtest: bounded text buffers. No allocation: the caller owns the bytes. */
#include "mtest/base/buf.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int mt_write_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	ssize_t w;

	while (n) {
		w = write(fd, c, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return 0;
		}
		c += w;
		n -= (size_t)w;
	}
	return 1;
}


void mt_buf_init(struct mt_buf *b, char *p, size_t cap, int fd)
{
	b->p = p;
	b->cap = cap;
	b->fd = fd;
	b->defang = 0;
	mt_buf_reset(b);
}

void mt_buf_reset(struct mt_buf *b)
{
	b->len = 0;
	b->err = 0;
	b->cut = 0;
	b->flushed = 0;
	if (b->cap)
		b->p[0] = '\0';
}

void mt_defang(char *p, size_t n)
{
	char *q;

	while ((q = memchr(p, '<', n))) {
		*q = '[';
		n -= (size_t)(q - p) + 1;
		p = q + 1;
	}
}

int mt_buf_flush(struct mt_buf *b)
{
	if (b->fd < 0 || b->len == 0)
		return 1;
	if (b->defang)
		mt_defang(b->p, b->len);
	if (!b->err && !mt_write_all(b->fd, b->p, b->len))
		b->err = errno;
	b->flushed += b->len;
	b->len = 0;
	if (b->err) {
		errno = b->err;
		return 0;
	}
	return 1;
}

/* Room left, keeping one byte for the terminating NUL. */
static size_t room(const struct mt_buf *b)
{
	return b->cap - 1 - b->len;
}

void mt_buf_put(struct mt_buf *b, const char *s, size_t n)
{
	if (b->fd >= 0 && n > room(b)) {
		mt_buf_flush(b);
		if (n > room(b)) {
			if (!b->err && !mt_write_all(b->fd, s, n))
				b->err = errno;
			b->flushed += n;
			return;
		}
	}
	if (n > room(b)) {
		b->cut += n - room(b);
		n = room(b);
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void mt_buf_puts(struct mt_buf *b, const char *s)
{
	mt_buf_put(b, s, strlen(s));
}

void mt_buf_putc(struct mt_buf *b, char c)
{
	mt_buf_put(b, &c, 1);
}

void mt_buf_printf(struct mt_buf *b, const char *fmt, ...)
{
	static char big[65536];	/* for fd buffers, when a line is long */
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(b->p + b->len, room(b) + 1, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->p[b->len] = '\0';
		return;
	}
	if ((size_t)n <= room(b)) {
		b->len += (size_t)n;
		return;
	}
	if (b->fd < 0) {
		/* vsnprintf kept what fits, NUL-terminated. */
		b->cut += (size_t)n - room(b);
		b->len = b->cap - 1;
		return;
	}
	b->p[b->len] = '\0';	/* forget the partial text, write the rest */
	mt_buf_flush(b);
	va_start(ap, fmt);
	if ((size_t)n <= room(b)) {
		vsnprintf(b->p, b->cap, fmt, ap);
		b->len = (size_t)n;
	} else {
		vsnprintf(big, sizeof big, fmt, ap);
		if ((size_t)n >= sizeof big)
			b->cut += (size_t)n - (sizeof big - 1);
		mt_buf_put(b, big, (size_t)n < sizeof big ? (size_t)n : sizeof big - 1);
	}
	va_end(ap);
}

/* Length of a valid UTF-8 sequence at s (at most n bytes), or 0. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	size_t len, i;
	unsigned cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

/* The length a lead byte announces (1 for a byte that leads nothing). */
static size_t utf8_want(unsigned char c)
{
	return c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 :
	       c >= 0xf0 && c <= 0xf4 ? 4 : 1;
}

size_t mt_utf8_cut(const char *s, size_t n, size_t max)
{
	size_t i = 0, k;

	while (i < n) {
		k = utf8_seq((const unsigned char *)s + i, n - i);
		if (k == 0) {
			/* A sequence cut short by the end is dropped whole;
			 * a byte that is simply invalid stands alone. */
			if (utf8_want((unsigned char)s[i]) > n - i)
				break;
			k = 1;
		}
		if (i + k > max)
			break;
		i += k;
	}
	return i;
}

void mt_buf_json(struct mt_buf *b, const char *s, size_t n)
{
	mt_buf_json_max(b, s, n, (size_t)-1);
}

/* One unit of a JSON string at s[i]: how many input bytes it takes (*in)
 * and how many bytes its escaped form takes (returned). */
static size_t json_unit(const unsigned char *u, size_t i, size_t n, size_t *in)
{
	size_t k;

	if (u[i] >= 0x80) {
		k = utf8_seq(u + i, n - i);
		*in = k ? k : 1;
		return k ? k : 6;	/* invalid: \ufffd */
	}
	*in = 1;
	if (u[i] == '"' || u[i] == '\\' || u[i] == '\n' || u[i] == '\t' || u[i] == '\r')
		return 2;
	return u[i] < 0x20 ? 6 : 1;
}

static void json_emit(struct mt_buf *b, const unsigned char *u, size_t i, size_t in)
{
	static const char hex[] = "0123456789abcdef";
	char esc[6] = { '\\', 'u', '0', '0', 0, 0 };

	if (u[i] >= 0x80) {
		if (in > 1)	/* a valid sequence; a lone byte is invalid */
			mt_buf_put(b, (const char *)u + i, in);
		else
			mt_buf_puts(b, "\\ufffd");
		return;
	}
	switch (u[i]) {
	case '"': mt_buf_puts(b, "\\\""); return;
	case '\\': mt_buf_puts(b, "\\\\"); return;
	case '\n': mt_buf_puts(b, "\\n"); return;
	case '\t': mt_buf_puts(b, "\\t"); return;
	case '\r': mt_buf_puts(b, "\\r"); return;
	}
	if (u[i] < 0x20) {
		esc[4] = hex[u[i] >> 4];
		esc[5] = hex[u[i] & 15];
		mt_buf_put(b, esc, 6);
		return;
	}
	mt_buf_putc(b, (char)u[i]);
}

void mt_buf_json_max(struct mt_buf *b, const char *s, size_t n, size_t max)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i, in, need = 0, used = 0, run;
	int cut;

	for (i = 0; i < n && need <= max; i += in)
		need += json_unit(u, i, n, &in);
	cut = need > max;
	mt_buf_putc(b, '"');
	for (i = 0; i < n; i += in) {
		/* Runs of plain bytes go in one piece. */
		for (run = i; run < n && u[run] >= 0x20 && u[run] < 0x80 && u[run] != '"' &&
			      u[run] != '\\'; run++)
			;
		if (run > i && !cut) {
			mt_buf_put(b, s + i, run - i);
			in = run - i;
			continue;
		}
		need = json_unit(u, i, n, &in);
		if (cut && used + need + 3 > max)
			break;
		json_emit(b, u, i, in);
		used += need;
	}
	if (cut)
		mt_buf_puts(b, "...");
	mt_buf_putc(b, '"');
}

void mt_buf_jsons(struct mt_buf *b, const char *s)
{
	mt_buf_json(b, s, strlen(s));
}

void mt_buf_digits(struct mt_buf *b, uint64_t v, int width)
{
	char d[24];
	int n = 0;

	do
		d[sizeof d - 1 - n++] = (char)('0' + v % 10);
	while ((v /= 10) && n < (int)sizeof d);
	while (n < width && n < (int)sizeof d)
		d[sizeof d - 1 - n++] = '0';
	mt_buf_put(b, d + sizeof d - n, (size_t)n);
}

void mt_buf_int(struct mt_buf *b, int64_t v)
{
	if (v < 0) {
		mt_buf_putc(b, '-');
		mt_buf_digits(b, (uint64_t)0 - (uint64_t)v, 1);
	} else {
		mt_buf_digits(b, (uint64_t)v, 1);
	}
}

void mt_buf_secs(struct mt_buf *b, int64_t us, int decimals)
{
	static const int64_t scale[] = { 1000000, 100000, 10000, 1000, 100, 10, 1 };
	int64_t whole, frac, unit;

	if (decimals < 1)
		decimals = 1;
	if (decimals > 6)
		decimals = 6;
	if (us < 0) {
		mt_buf_putc(b, '-');
		us = -us;
	}
	unit = scale[decimals];
	us = (us + unit / 2) / unit;	/* round to the shown precision */
	whole = us / scale[6 - decimals];
	frac = us % scale[6 - decimals];
	mt_buf_digits(b, (uint64_t)whole, 1);
	mt_buf_putc(b, '.');
	mt_buf_digits(b, (uint64_t)frac, decimals);
}

void mt_buf_line(struct mt_buf *b, const char *s, size_t max)
{
	size_t n = strlen(s), i, k;

	n = mt_utf8_cut(s, n, max);
	for (i = 0; i < n; i += k) {
		k = utf8_seq((const unsigned char *)s + i, n - i);
		if (k == 0 || (k == 1 && ((unsigned char)s[i] < 0x20 || s[i] == 0x7f))) {
			mt_buf_putc(b, '?');
			k = 1;
		} else {
			mt_buf_put(b, s + i, k);
		}
	}
}

void mt_buf_xml(struct mt_buf *b, const char *s, size_t n)
{
	size_t i, k;
	unsigned char c;

	for (i = 0; i < n; i += k) {
		c = (unsigned char)s[i];
		k = utf8_seq((const unsigned char *)s + i, n - i);
		if (k == 0) {
			mt_buf_puts(b, "\xef\xbf\xbd");	/* U+FFFD */
			k = 1;
		} else if (k > 1) {
			mt_buf_put(b, s + i, k);
		} else if (c == '&') {
			mt_buf_puts(b, "&amp;");
		} else if (c == '<') {
			mt_buf_puts(b, "&lt;");
		} else if (c == '>') {
			mt_buf_puts(b, "&gt;");
		} else if (c == '"') {
			mt_buf_puts(b, "&quot;");
		} else if (c == '\n' || c == '\t') {
			mt_buf_putc(b, (char)c);
		} else if (c < 0x20 || c == 0x7f) {
			mt_buf_putc(b, '?');	/* not allowed in XML 1.0 */
		} else {
			mt_buf_putc(b, (char)c);
		}
	}
}

const char *mt_buf_str(struct mt_buf *b)
{
	if (b->cap)
		b->p[b->len] = '\0';
	return b->p;
}

/* The ']' that ends the bracket expression at pat, or NULL ("[!]x]"). */
static const char *bracket_end(const char *pat)
{
	const char *c = pat + 1;

	if (*c == '!' || *c == '^')
		c++;
	if (*c == ']')
		c++;	/* a ']' first is a member */
	return strchr(c, ']');
}

static int in_bracket(const char *pat, const char *end, char ch)
{
	const char *c = pat + 1;
	int neg = *c == '!' || *c == '^', ok = 0;

	for (c += neg; c < end; c++) {
		if (c + 2 < end && c[1] == '-') {
			ok |= (unsigned char)ch >= (unsigned char)c[0] &&
			      (unsigned char)ch <= (unsigned char)c[2];
			c += 2;
		} else {
			ok |= *c == ch;
		}
	}
	return ok != neg;
}

int mt_glob_match(const char *pat, const char *s)
{
	const char *star = NULL, *resume = NULL, *end;

	while (*s) {
		if (*pat == '*') {
			star = ++pat;
			resume = s;
			continue;
		}
		if (*pat == '[' && (end = bracket_end(pat))) {
			if (in_bracket(pat, end, *s)) {
				pat = end + 1;
				s++;
				continue;
			}
		} else if (*pat && (*pat == '?' || *pat == *s)) {
			pat++;
			s++;
			continue;
		}
		if (!star)
			return 0;
		pat = star;	/* the last '*' takes one more byte */
		s = ++resume;
	}
	while (*pat == '*')
		pat++;
	return *pat == '\0';
}

int mt_parse_size(const char *s, int64_t *bytes)
{
	double v, mult = 1;
	char *end;

	while (*s == ' ')
		s++;
	if (strcmp(s, "max") == 0 || strcmp(s, "none") == 0) {
		*bytes = -1;
		return 1;
	}
	if (!isdigit((unsigned char)*s))
		return 0;
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s)
		return 0;
	while (*end == ' ')
		end++;
	switch (tolower((unsigned char)*end)) {
	case 'k': mult = 1024.0; end++; break;
	case 'm': mult = 1024.0 * 1024; end++; break;
	case 'g': mult = 1024.0 * 1024 * 1024; end++; break;
	case 't': mult = 1024.0 * 1024 * 1024 * 1024; end++; break;
	default: break;
	}
	if (mult > 1 && *end == 'i')
		end++;
	if (*end == 'B' || (*end == 'b' && mult > 1))
		end++;
	if (*end || v * mult >= 9.0e18)
		return 0;
	*bytes = (int64_t)(v * mult);
	return 1;
}

void mt_size_text(int64_t bytes, char *out, size_t cap)
{
	const int64_t ki = 1024, mi = ki * 1024, gi = mi * 1024;

	if (bytes < 0)
		snprintf(out, cap, "unknown");
	else if (bytes >= gi && bytes % gi == 0)
		snprintf(out, cap, "%lld GiB", (long long)(bytes / gi));
	else if (bytes >= gi)
		snprintf(out, cap, "%.1f GiB", (double)bytes / (double)gi);
	else if (bytes >= mi)
		snprintf(out, cap, "%lld MiB", (long long)(bytes / mi));
	else
		snprintf(out, cap, "%lld KiB", (long long)((bytes + ki - 1) / ki));
}
