/* mtest: bounded text buffers, optionally flushed to a file descriptor. */
#ifndef MTEST_BUF_H
#define MTEST_BUF_H

#include <stddef.h>
#include <stdint.h>

/* write() until all n bytes are written (EINTR retried): 1, or 0 with
 * errno. What a buffer's flush does; the file helpers (fsx.h) use it too. */
int mt_write_all(int fd, const void *p, size_t n);

/* A buffer over caller-owned storage. With fd < 0 it is a bounded string:
 * what does not fit is dropped and counted in `cut`. With fd >= 0 it is a
 * write buffer: a full buffer is written to fd, and a write error is kept
 * in `err` (an errno) while later output is dropped. */
struct mt_buf {
	char *p;
	size_t len;
	size_t cap;
	int fd;
	int err;
	size_t cut;
	uint64_t flushed;	/* bytes written to fd so far */
	int defang;		/* flush writes '<' as '[' (--lava: no forged signals) */
};

#define MT_BUF_INIT(arr) { (arr), 0, sizeof(arr), -1, 0, 0, 0, 0 }

void mt_buf_init(struct mt_buf *b, char *p, size_t cap, int fd);
void mt_buf_reset(struct mt_buf *b);
void mt_buf_put(struct mt_buf *b, const char *s, size_t n);
void mt_buf_puts(struct mt_buf *b, const char *s);
void mt_buf_putc(struct mt_buf *b, char c);
void mt_buf_printf(struct mt_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* A JSON string literal, quoted; invalid UTF-8 becomes U+FFFD. */
void mt_buf_json(struct mt_buf *b, const char *s, size_t n);
void mt_buf_jsons(struct mt_buf *b, const char *s);
/* A JSON string literal whose escaped contents take at most `max` bytes:
 * a longer string is cut (on a character) and ends in "...". */
void mt_buf_json_max(struct mt_buf *b, const char *s, size_t n, size_t max);
/* A decimal integer; an unsigned one zero-padded to `width` digits. Without
 * printf: records write several per test (callgrind: printf was a third of
 * mtest's instructions per test). */
void mt_buf_int(struct mt_buf *b, int64_t v);
void mt_buf_digits(struct mt_buf *b, uint64_t v, int width);
/* Microseconds as seconds with `decimals` digits (1 to 6): "12.345". */
void mt_buf_secs(struct mt_buf *b, int64_t us, int decimals);
/* Text made safe for one line of a terminal or log: control bytes become
 * '?', at most `max` bytes, cut on a UTF-8 boundary. */
void mt_buf_line(struct mt_buf *b, const char *s, size_t max);
/* Text or attribute content for XML 1.0: & < > " escaped, control bytes
 * other than tab and newline '?', invalid UTF-8 U+FFFD. */
void mt_buf_xml(struct mt_buf *b, const char *s, size_t n);
/* NUL-terminated contents (a bounded buffer always keeps room for it). */
const char *mt_buf_str(struct mt_buf *b);
/* '<' becomes '[' in place: text that cannot hold a LAVA signal. */
void mt_defang(char *p, size_t n);
/* Write out what is buffered (fd buffers). Returns 1, or 0 with errno. */
int mt_buf_flush(struct mt_buf *b);

/* Does a glob (*, ?, [...] with ranges and ! or ^, as fnmatch without
 * flags: '*' crosses '/') match the whole of s? No allocation. */
int mt_glob_match(const char *pat, const char *s);

/* Length of the longest prefix of s[0..n) that is at most max bytes and
 * does not end inside a UTF-8 sequence. */
size_t mt_utf8_cut(const char *s, size_t n, size_t max);

/* "512M", "1G", "1.5G", "300MiB", "1048576", "max" (-1): bytes. */
int mt_parse_size(const char *s, int64_t *bytes);
/* 512 MiB, 1.5 GiB, 300 KiB: for messages. */
void mt_size_text(int64_t bytes, char *out, size_t cap);

#endif
