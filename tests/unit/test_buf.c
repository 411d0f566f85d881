/* Unit tests: include/mtest/buf.h (bounded and fd buffers, JSON strings,
 * seconds, terminal-safe lines, UTF-8 cuts). */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mtest/base/buf.h"
#include "mtest/base/json.h"
#include "suites.h"

#include <fnmatch.h>

/* A strict UTF-8 check, independent of the code under test. */
static int valid_utf8(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, len, k;
	unsigned long cp;

	while (i < n) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if (s[i] >= 0xc2 && s[i] <= 0xdf) {
			len = 2;
			cp = s[i] & 0x1f;
		} else if (s[i] >= 0xe0 && s[i] <= 0xef) {
			len = 3;
			cp = s[i] & 0x0f;
		} else if (s[i] >= 0xf0 && s[i] <= 0xf4) {
			len = 4;
			cp = s[i] & 0x07;
		} else {
			return 0;
		}
		if (i + len > n)
			return 0;
		for (k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
		    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
			return 0;
		i += len;
	}
	return 1;
}

/* The deterministic byte stream of the fd tests: never NUL. */
static char pattern(size_t k)
{
	return (char)((k * 31 + k / 997) % 251 + 1);
}

/* ---- bounded mode ------------------------------------------------------- */

START_TEST(test_bounded_cut_counts)
{
	char a[8];
	struct mt_buf b = MT_BUF_INIT(a);

	mt_buf_puts(&b, "hello world");
	ck_assert_uint_eq(b.len, 7);
	ck_assert_uint_eq(b.cut, 4);
	ck_assert_str_eq(mt_buf_str(&b), "hello w");
	ck_assert_int_eq(a[7], '\0');
	mt_buf_putc(&b, 'x');
	mt_buf_put(&b, "abc", 3);
	ck_assert_uint_eq(b.cut, 8);
	ck_assert_str_eq(mt_buf_str(&b), "hello w");
	ck_assert_int_eq(b.err, 0);
}
END_TEST

START_TEST(test_bounded_fills_exactly)
{
	char a[6];
	struct mt_buf b = MT_BUF_INIT(a);

	mt_buf_puts(&b, "ab");
	mt_buf_putc(&b, 'c');
	mt_buf_put(&b, "de", 2);
	ck_assert_str_eq(mt_buf_str(&b), "abcde");
	ck_assert_uint_eq(b.cut, 0);
	mt_buf_putc(&b, 'f');
	ck_assert_uint_eq(b.cut, 1);
	ck_assert_str_eq(a, "abcde");
}
END_TEST

START_TEST(test_bounded_cap_one)
{
	char a[1] = { 'z' };
	struct mt_buf b;

	mt_buf_init(&b, a, sizeof a, -1);
	ck_assert_int_eq(a[0], '\0');
	mt_buf_puts(&b, "abc");
	mt_buf_printf(&b, "%d", 42);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_uint_eq(b.cut, 5);
	ck_assert_str_eq(mt_buf_str(&b), "");
}
END_TEST

START_TEST(test_bounded_printf_cut)
{
	char a[16];
	struct mt_buf b = MT_BUF_INIT(a);

	mt_buf_printf(&b, "%s-%d", "abcdefghij", 12345);
	ck_assert_str_eq(mt_buf_str(&b), "abcdefghij-1234");
	ck_assert_uint_eq(b.len, 15);
	ck_assert_uint_eq(b.cut, 1);
	mt_buf_printf(&b, "%s", "more");
	ck_assert_uint_eq(b.cut, 5);
	ck_assert_str_eq(a, "abcdefghij-1234");
}
END_TEST

START_TEST(test_bounded_printf_appends)
{
	char a[64];
	struct mt_buf b = MT_BUF_INIT(a);

	mt_buf_puts(&b, "n=");
	mt_buf_printf(&b, "%d,%s", -7, "x");
	mt_buf_printf(&b, "%05u", 42u);
	ck_assert_str_eq(mt_buf_str(&b), "n=-7,x00042");
	ck_assert_uint_eq(b.len, strlen(a));
	ck_assert_uint_eq(b.cut, 0);
}
END_TEST

START_TEST(test_reset)
{
	char a[8];
	struct mt_buf b = MT_BUF_INIT(a);

	mt_buf_puts(&b, "too long for it");
	ck_assert_uint_ne(b.cut, 0);
	mt_buf_reset(&b);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_uint_eq(b.cut, 0);
	ck_assert_str_eq(mt_buf_str(&b), "");
	mt_buf_puts(&b, "ok");
	ck_assert_str_eq(mt_buf_str(&b), "ok");
}
END_TEST

/* ---- fd mode ------------------------------------------------------------- */

#define FD_TOTAL (100u * 1024)

/* Write FD_TOTAL bytes of pattern() through an 8 KB buffer in pieces of
 * assorted sizes and with all the writing calls. */
static int write_pattern(int fd)
{
	static const size_t sizes[] = { 1, 7, 100, 3000, 8191, 8192, 10000, 33, 4000, 2 };
	static char chunk[16384];
	char store[8192];
	struct mt_buf b;
	size_t done = 0, n, k, i = 0;

	mt_buf_init(&b, store, sizeof store, fd);
	while (done < FD_TOTAL) {
		n = sizes[i++ % (sizeof sizes / sizeof sizes[0])];
		if (n > FD_TOTAL - done)
			n = FD_TOTAL - done;
		for (k = 0; k < n; k++)
			chunk[k] = pattern(done + k);
		chunk[n] = '\0';
		if (n == 1)
			mt_buf_putc(&b, chunk[0]);
		else if (n <= 4000 && i % 2)
			mt_buf_printf(&b, "%.*s", (int)n, chunk);
		else if (i % 3 == 0)
			mt_buf_puts(&b, chunk);
		else
			mt_buf_put(&b, chunk, n);
		done += n;
	}
	if (!mt_buf_flush(&b))
		return 0;
	return b.err == 0 && b.cut == 0 && b.len == 0;
}

static void check_pattern(const char *got, size_t n)
{
	size_t k;

	ck_assert_uint_eq(n, FD_TOTAL);
	for (k = 0; k < n; k++)
		if (got[k] != pattern(k))
			ck_abort_msg("byte %zu differs", k);
}

START_TEST(test_fd_tmpfile_loses_nothing)
{
	static char got[FD_TOTAL + 16];
	char path[] = "/tmp/mtest-unit-buf-XXXXXX";
	int fd = mkstemp(path);
	ssize_t n;

	ck_assert_int_ge(fd, 0);
	unlink(path);
	ck_assert(write_pattern(fd));
	ck_assert_int_eq((int)lseek(fd, 0, SEEK_SET), 0);
	n = read(fd, got, sizeof got);
	ck_assert_int_ge(n, 0);
	check_pattern(got, (size_t)n);
	close(fd);
}
END_TEST

START_TEST(test_fd_pipe_loses_nothing)
{
	static char got[FD_TOTAL + 16];
	size_t have = 0;
	ssize_t r;
	int p[2], status;
	pid_t pid;

	ck_assert_int_eq(pipe(p), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(p[0]);
		_exit(write_pattern(p[1]) ? 0 : 1);
	}
	close(p[1]);
	while ((r = read(p[0], got + have, sizeof got - have)) > 0)
		have += (size_t)r;
	ck_assert_int_eq(r, 0);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	check_pattern(got, have);
	close(p[0]);
}
END_TEST

/* buf.h: an fd buffer drops output only after a write error. A single
 * printf longer than the buffer must reach the file whole. */
START_TEST(test_fd_printf_longer_than_buffer)
{
	char path[] = "/tmp/mtest-unit-buf-XXXXXX";
	char store[64], text[301], got[512];
	struct mt_buf b;
	int fd = mkstemp(path);
	ssize_t n;

	ck_assert_int_ge(fd, 0);
	unlink(path);
	memset(text, 'q', 300);
	text[300] = '\0';
	mt_buf_init(&b, store, sizeof store, fd);
	mt_buf_puts(&b, "<");
	mt_buf_printf(&b, "%s", text);
	mt_buf_puts(&b, ">");
	ck_assert(mt_buf_flush(&b));
	ck_assert_int_eq((int)lseek(fd, 0, SEEK_SET), 0);
	n = read(fd, got, sizeof got - 1);
	ck_assert_int_ge(n, 0);
	got[n] = '\0';
	ck_assert_uint_eq(b.cut, 0);
	ck_assert_int_eq(n, 302);
	ck_assert_int_eq(got[0], '<');
	ck_assert_int_eq(got[301], '>');
	close(fd);
}
END_TEST

START_TEST(test_fd_write_error_kept)
{
	char store[16];
	struct mt_buf b;
	int fd = open("/dev/null", O_RDONLY);

	ck_assert_int_ge(fd, 0);
	mt_buf_init(&b, store, sizeof store, fd);
	mt_buf_puts(&b, "0123456789");
	ck_assert_int_eq(b.err, 0);
	mt_buf_puts(&b, "0123456789");	/* does not fit: flushes, fails */
	ck_assert_int_eq(b.err, EBADF);
	errno = 0;
	ck_assert_int_eq(mt_buf_flush(&b), 0);
	ck_assert_int_eq(errno, EBADF);
	mt_buf_puts(&b, "0123456789abcdefghijklmnop");
	ck_assert_int_eq(b.err, EBADF);
	ck_assert_uint_lt(b.len, sizeof store);
	close(fd);
}
END_TEST

START_TEST(test_flush_bounded_is_noop)
{
	char a[8];
	struct mt_buf b = MT_BUF_INIT(a);

	mt_buf_puts(&b, "abc");
	ck_assert_int_eq(mt_buf_flush(&b), 1);
	ck_assert_str_eq(mt_buf_str(&b), "abc");
}
END_TEST

/* ---- JSON strings -------------------------------------------------------- */

static const char *json_of(const char *s, size_t n)
{
	static char out[4096];
	struct mt_buf b = MT_BUF_INIT(out);

	mt_buf_json(&b, s, n);
	ck_assert_uint_eq(b.cut, 0);
	return mt_buf_str(&b);
}

START_TEST(test_json_escapes)
{
	static const char in[] = "a\"b\\c\nd\te\x01" "f\r\x1f/";

	ck_assert_str_eq(json_of(in, sizeof in - 1),
			 "\"a\\\"b\\\\c\\nd\\te\\u0001f\\r\\u001f/\"");
	ck_assert_str_eq(json_of("", 0), "\"\"");
}
END_TEST

START_TEST(test_json_nul_byte)
{
	ck_assert_str_eq(json_of("a\0b", 3), "\"a\\u0000b\"");
}
END_TEST

START_TEST(test_json_utf8_passes)
{
	static const char in[] = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80";

	ck_assert_str_eq(json_of(in, sizeof in - 1),
			 "\"" "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80" "\"");
}
END_TEST

START_TEST(test_json_invalid_utf8)
{
	/* a stray byte, a lead without continuation, an overlong '/', a
	 * UTF-16 surrogate, a truncated sequence at the end */
	ck_assert_str_eq(json_of("x\xffy", 3), "\"x\\ufffdy\"");
	ck_assert_str_eq(json_of("\xc3(", 2), "\"\\ufffd(\"");
	ck_assert_str_eq(json_of("\xc0\xaf", 2), "\"\\ufffd\\ufffd\"");
	ck_assert_str_eq(json_of("\xed\xa0\x80", 3), "\"\\ufffd\\ufffd\\ufffd\"");
	ck_assert_str_eq(json_of("ok\xe2\x82", 4), "\"ok\\ufffd\\ufffd\"");
	ck_assert_str_eq(json_of("\xf4\x90\x80\x80", 4),
			 "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");
}
END_TEST

START_TEST(test_jsons_round_trip)
{
	static const char in[] = "quote\" back\\ nl\n tab\t ctl\x02 \xc3\xa9\xf0\x9f\x98\x80";
	char wrapped[512], back[256];
	struct mt_buf b = MT_BUF_INIT(wrapped);
	static struct mt_json j;

	mt_buf_puts(&b, "{\"v\":");
	mt_buf_jsons(&b, in);
	mt_buf_puts(&b, "}");
	ck_assert(mt_json_parse(&j, wrapped, b.len));
	ck_assert_uint_eq(mt_json_get_str(&j, 0, "v", back, sizeof back), strlen(in));
	ck_assert_str_eq(back, in);
}
END_TEST

/* The escaped contents of mt_buf_json_max output: between the quotes. */
static size_t contents_len(const char *out)
{
	size_t n = strlen(out);

	ck_assert_uint_ge(n, 2);
	ck_assert_int_eq(out[0], '"');
	ck_assert_int_eq(out[n - 1], '"');
	return n - 2;
}

/* Cut `in` with every budget in [lo, hi]: fits, ends in "...", parses. */
static void check_json_max(const char *in, size_t n, size_t lo, size_t hi)
{
	static char out[8192], wrapped[8300], back[8192];
	static struct mt_json j;
	struct mt_buf b, w;
	size_t max, got;

	for (max = lo; max <= hi; max++) {
		mt_buf_init(&b, out, sizeof out, -1);
		mt_buf_json_max(&b, in, n, max);
		ck_assert_uint_eq(b.cut, 0);
		ck_assert_msg(contents_len(out) <= max, "max %zu: %zu bytes: %s", max,
			      contents_len(out), out);
		ck_assert_msg(contents_len(out) >= 3 &&
			      memcmp(out + strlen(out) - 4, "...\"", 4) == 0,
			      "max %zu: no \"...\": %s", max, out);
		mt_buf_init(&w, wrapped, sizeof wrapped, -1);
		mt_buf_puts(&w, "{\"v\":");
		mt_buf_puts(&w, out);
		mt_buf_puts(&w, "}");
		ck_assert_msg(mt_json_parse(&j, wrapped, w.len), "max %zu: not JSON: %s", max,
			      wrapped);
		got = mt_json_get_str(&j, 0, "v", back, sizeof back);
		ck_assert_uint_ge(got, 3);
		ck_assert(memcmp(back + got - 3, "...", 3) == 0);
		ck_assert_msg(valid_utf8(back, got), "max %zu: cut inside a character", max);
	}
}

START_TEST(test_json_max_plain)
{
	static char in[1000];

	memset(in, 'a', sizeof in);
	check_json_max(in, sizeof in, 9, 300);
}
END_TEST

START_TEST(test_json_max_escapes)
{
	static char in[600];
	size_t i;

	for (i = 0; i < sizeof in; i++)
		in[i] = "\"\\\x01\nab"[i % 6];
	check_json_max(in, sizeof in, 9, 300);
}
END_TEST

START_TEST(test_json_max_multibyte)
{
	static char in[1200];
	size_t i;

	/* é (2 bytes), € (3 bytes), 😀 (4 bytes), 'z' */
	for (i = 0; i + 10 <= sizeof in; i += 10)
		memcpy(in + i, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80z", 10);
	check_json_max(in, i, 9, 300);
}
END_TEST

START_TEST(test_json_max_short_untouched)
{
	char out[64];
	struct mt_buf b = MT_BUF_INIT(out);

	mt_buf_json_max(&b, "hello", 5, 50);
	ck_assert_str_eq(mt_buf_str(&b), "\"hello\"");
}
END_TEST

/* buf.h: "a longer string is cut": a string whose escaped contents fit in
 * `max` must come out whole, even when it is close to `max`. */
START_TEST(test_json_max_fitting_not_cut)
{
	char out[64];
	struct mt_buf b = MT_BUF_INIT(out);

	mt_buf_json_max(&b, "abcdefghijklmnop", 16, 20);
	ck_assert_str_eq(mt_buf_str(&b), "\"abcdefghijklmnop\"");
	mt_buf_reset(&b);
	mt_buf_json_max(&b, "abcdefghij", 10, 10);
	ck_assert_str_eq(mt_buf_str(&b), "\"abcdefghij\"");
}
END_TEST

/* ---- seconds ------------------------------------------------------------- */

static const char *secs(int64_t us, int decimals)
{
	static char out[64];
	struct mt_buf b = MT_BUF_INIT(out);

	mt_buf_secs(&b, us, decimals);
	return mt_buf_str(&b);
}

START_TEST(test_secs_rounding)
{
	ck_assert_str_eq(secs(1999999, 3), "2.000");
	ck_assert_str_eq(secs(1500, 3), "0.002");
	ck_assert_str_eq(secs(1499, 3), "0.001");
	ck_assert_str_eq(secs(0, 3), "0.000");
	ck_assert_str_eq(secs(12345678, 6), "12.345678");
	ck_assert_str_eq(secs(1, 6), "0.000001");
	ck_assert_str_eq(secs(999999, 1), "1.0");
	ck_assert_str_eq(secs(1449999, 1), "1.4");
	ck_assert_str_eq(secs(1450000, 1), "1.5");
	ck_assert_str_eq(secs(59999999, 2), "60.00");
	ck_assert_str_eq(secs(3600000000LL, 1), "3600.0");
}
END_TEST

START_TEST(test_secs_negative)
{
	ck_assert_str_eq(secs(-1500, 3), "-0.002");
	ck_assert_str_eq(secs(-1999999, 3), "-2.000");
	ck_assert_str_eq(secs(-2500000, 1), "-2.5");
}
END_TEST

START_TEST(test_secs_decimals_clamped)
{
	ck_assert_str_eq(secs(1250000, 0), "1.3");
	ck_assert_str_eq(secs(1250000, -4), "1.3");
	ck_assert_str_eq(secs(1234567, 9), "1.234567");
}
END_TEST

/* ---- lines --------------------------------------------------------------- */

static const char *line_of(const char *s, size_t max)
{
	static char out[256];
	struct mt_buf b = MT_BUF_INIT(out);

	mt_buf_line(&b, s, max);
	return mt_buf_str(&b);
}

START_TEST(test_line_control_bytes)
{
	ck_assert_str_eq(line_of("a\nb\tc\x1b[0m\x7f\r", 100), "a?b?c?[0m??");
	ck_assert_str_eq(line_of("caf\xc3\xa9", 100), "caf\xc3\xa9");
	ck_assert_str_eq(line_of("bad\xff!", 100), "bad?!");
}
END_TEST

START_TEST(test_line_cut_on_boundary)
{
	ck_assert_str_eq(line_of("a\xc3\xa9", 2), "a");
	ck_assert_str_eq(line_of("a\xc3\xa9", 3), "a\xc3\xa9");
	ck_assert_str_eq(line_of("\xe2\x82\xac\xe2\x82\xac", 5), "\xe2\x82\xac");
	ck_assert_str_eq(line_of("\xf0\x9f\x98\x80x", 3), "");
	ck_assert_str_eq(line_of("abcdef", 4), "abcd");
	ck_assert_str_eq(line_of("abc", 0), "");
}
END_TEST

START_TEST(test_line_appends_bounded)
{
	char out[6];
	struct mt_buf b = MT_BUF_INIT(out);

	mt_buf_puts(&b, ">");
	mt_buf_line(&b, "abcdefgh", 100);
	ck_assert_str_eq(mt_buf_str(&b), ">abcd");
	ck_assert_uint_eq(b.cut, 4);
}
END_TEST

/* ---- mt_utf8_cut --------------------------------------------------------- */

START_TEST(test_utf8_cut)
{
	static const char s[] = "h\xc3\xa9llo";	/* 6 bytes */
	static const char e[] = "\xf0\x9f\x98\x80\xf0\x9f\x98\x80";

	ck_assert_uint_eq(mt_utf8_cut(s, 6, 100), 6);
	ck_assert_uint_eq(mt_utf8_cut(s, 6, 6), 6);
	ck_assert_uint_eq(mt_utf8_cut(s, 6, 0), 0);
	ck_assert_uint_eq(mt_utf8_cut(s, 6, 1), 1);
	ck_assert_uint_eq(mt_utf8_cut(s, 6, 2), 1);
	ck_assert_uint_eq(mt_utf8_cut(s, 6, 3), 3);
	ck_assert_uint_eq(mt_utf8_cut(e, 8, 3), 0);
	ck_assert_uint_eq(mt_utf8_cut(e, 8, 7), 4);
	ck_assert_uint_eq(mt_utf8_cut(e, 8, 8), 8);
	/* an invalid byte is a unit of its own; a sequence cut short by n
	 * (as by a full buffer) is dropped whole */
	ck_assert_uint_eq(mt_utf8_cut("a\xff" "b", 3, 2), 2);
	ck_assert_uint_eq(mt_utf8_cut("a\xff" "b", 3, 3), 3);
	ck_assert_uint_eq(mt_utf8_cut("\xc3(", 2, 2), 2);
	ck_assert_uint_eq(mt_utf8_cut("a\xc3", 2, 2), 1);
	ck_assert_uint_eq(mt_utf8_cut("a\xe2\x82", 3, 3), 1);
	ck_assert_uint_eq(mt_utf8_cut("a\xf0\x9f\x98", 4, 10), 1);
	ck_assert_uint_eq(mt_utf8_cut("ab", 2, 5), 2);
}
END_TEST

/* Globs of the config's group.NAME patterns, against fnmatch(3). */
START_TEST(test_glob)
{
	static const struct {
		const char *pat, *s;
		int want;
	} cases[] = {
		{ "tests/test_alsa*.py", "tests/test_alsa_mixer.py", 1 },
		{ "tests/test_alsa*.py", "tests/test_alsa.py", 1 },
		{ "tests/test_alsa*.py", "tests/test_gpio.py", 0 },
		{ "test_*.py", "sub/test_x.py", 0 },
		{ "*test_x.py", "sub/test_x.py", 1 },
		{ "*::test_port*", "tests/test_net.py::test_port_80", 1 },
		{ "*::test_port*", "tests/test_net.py::test_other", 0 },
		{ "a?c", "abc", 1 }, { "a?c", "ac", 0 },
		{ "[ab]x", "bx", 1 }, { "[!ab]x", "bx", 0 }, { "[^ab]x", "cx", 1 },
		{ "[a-c]x", "bx", 1 }, { "[a-c]x", "dx", 0 }, { "[]]x", "]x", 1 },
		{ "[x", "[x", 1 }, { "*", "", 1 }, { "", "", 1 }, { "", "a", 0 },
		{ "**a", "bba", 1 }, { "*a*b", "xaybzb", 1 }, { "*a*b", "xaybz", 0 },
	};
	unsigned k;

	for (k = 0; k < sizeof cases / sizeof cases[0]; k++) {
		ck_assert_msg(mt_glob_match(cases[k].pat, cases[k].s) == cases[k].want,
			      "%s ~ %s", cases[k].pat, cases[k].s);
		ck_assert_int_eq(fnmatch(cases[k].pat, cases[k].s, 0) == 0, cases[k].want);
	}
}
END_TEST

Suite *buf_suite(void)
{
	Suite *s = suite_create("buf");
	TCase *tc;

	tc = tcase_create("bounded");
	tcase_add_test(tc, test_bounded_cut_counts);
	tcase_add_test(tc, test_bounded_fills_exactly);
	tcase_add_test(tc, test_bounded_cap_one);
	tcase_add_test(tc, test_bounded_printf_cut);
	tcase_add_test(tc, test_bounded_printf_appends);
	tcase_add_test(tc, test_reset);
	suite_add_tcase(s, tc);

	tc = tcase_create("fd");
	tcase_add_test(tc, test_fd_tmpfile_loses_nothing);
	tcase_add_test(tc, test_fd_pipe_loses_nothing);
	tcase_add_test(tc, test_fd_printf_longer_than_buffer);
	tcase_add_test(tc, test_fd_write_error_kept);
	tcase_add_test(tc, test_flush_bounded_is_noop);
	suite_add_tcase(s, tc);

	tc = tcase_create("json");
	tcase_add_test(tc, test_json_escapes);
	tcase_add_test(tc, test_json_nul_byte);
	tcase_add_test(tc, test_json_utf8_passes);
	tcase_add_test(tc, test_json_invalid_utf8);
	tcase_add_test(tc, test_jsons_round_trip);
	tcase_add_test(tc, test_json_max_plain);
	tcase_add_test(tc, test_json_max_escapes);
	tcase_add_test(tc, test_json_max_multibyte);
	tcase_add_test(tc, test_json_max_short_untouched);
	tcase_add_test(tc, test_json_max_fitting_not_cut);
	suite_add_tcase(s, tc);

	tc = tcase_create("secs");
	tcase_add_test(tc, test_secs_rounding);
	tcase_add_test(tc, test_secs_negative);
	tcase_add_test(tc, test_secs_decimals_clamped);
	suite_add_tcase(s, tc);

	tc = tcase_create("line");
	tcase_add_test(tc, test_line_control_bytes);
	tcase_add_test(tc, test_line_cut_on_boundary);
	tcase_add_test(tc, test_line_appends_bounded);
	tcase_add_test(tc, test_utf8_cut);
	tcase_add_test(tc, test_glob);
	suite_add_tcase(s, tc);
	return s;
}
