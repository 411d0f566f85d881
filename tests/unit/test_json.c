/* Unit tests: include/mtest/json.h (jsmn over a fixed token array). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "mtest/base/buf.h"
#include "mtest/base/json.h"
#include "suites.h"

static struct mt_json J;

static int parse(const char *s)
{
	return mt_json_parse(&J, s, strlen(s));
}

START_TEST(test_parse_object)
{
	ck_assert(parse("{}"));
	ck_assert(parse("{\"a\":1,\"b\":\"x\",\"c\":[1,2],\"d\":{\"e\":null}}"));
	ck_assert_int_gt(J.n, 1);
	ck_assert(parse(" {\"a\" : true } "));
}
END_TEST

/* mt_json_parse takes an object of strings and scalars in one pass of its
 * own: it must give jsmn's very tokens, and take nothing jsmn would not. */
static void same_as_jsmn(const char *s, size_t n)
{
	static struct mt_json a, b;
	int ra = mt_json_parse(&a, s, n), rb = mt_json_parse_jsmn(&b, s, n), i;

	ck_assert_msg(ra == rb, "%.*s: %d, jsmn %d", (int)n, s, ra, rb);
	if (!ra)
		return;
	ck_assert_msg(a.n == b.n, "%.*s: %d tokens, jsmn %d", (int)n, s, a.n, b.n);
	for (i = 0; i < a.n; i++)
		ck_assert_msg(a.tok[i].type == b.tok[i].type && a.tok[i].start == b.tok[i].start &&
			      a.tok[i].end == b.tok[i].end && a.tok[i].size == b.tok[i].size,
			      "%.*s: token %d differs", (int)n, s, i);
}

/* A journal's line parsed in place, up to its newline, is the line as
 * mt_json_parse_keys parses it: the same tokens and keys. */
static void line_as_whole(const char *s, size_t avail)
{
	static const char *const names[] = { "k", "a", "b", "c" };
	static struct mt_json a, b;
	static struct mt_json_keys ka, kb;
	int va[4], vb[4], i;
	size_t m;

	if (!ka.name) {
		mt_json_keys(&ka, names, 4);
		mt_json_keys(&kb, names, 4);
	}
	m = mt_json_parse_line(&a, s, avail, &ka, va);
	if (!m)
		return;
	ck_assert_msg(m < avail && s[m] == '\n' && !memchr(s, '\n', m), "%.*s", (int)avail, s);
	ck_assert(mt_json_parse_keys(&b, s, m, &kb, vb));
	ck_assert_int_eq(a.n, b.n);
	for (i = 0; i < a.n; i++)
		ck_assert(a.tok[i].type == b.tok[i].type && a.tok[i].start == b.tok[i].start &&
			  a.tok[i].end == b.tok[i].end && a.tok[i].size == b.tok[i].size);
	for (i = 0; i < 4; i++)
		ck_assert_int_eq(va[i], vb[i]);
}

START_TEST(test_parse_flat_as_jsmn)
{
	static const char *const texts[] = {
		"{}", " { } ", "{\"a\":1}", "{\"a\":\"b\",\"c\":-1.5e3,\"d\":true,\"e\":null}",
		"{\"v\":1,\"type\":\"test\",\"id\":\"t.py::x[a\\\"b]\",\"d\":\"\\u00e9\\n\\\\\"}",
		"\t{ \"a\" :\r\n\"b\" , \"c\":false }\n", "{\"a\":\"\\ud83d\\ude00\"}",
		"{\"a\":1,}", "{\"a\":1 \"b\":2}", "{\"a\"::1}", "{\"a\":tru\"e}", "{\"a\":1:2}",
		"{\"a\":[1]}", "{\"a\":{}}", "{\"a\":\"\\x\"}", "{\"a\":\"\\u12\"}", "{\"a\":1}x",
		"{\"a\":1}{}", "{\"a\":\"b\\", "{\"a\":1", "{\"a\"}", "{1:2}", "{\"a\":+1}",
		"{\"a\":\"\x01\x7f\xc3\xa9\"}", "{\"a\":1]", "{,\"a\":1}",
		"{\"d\":[0.1,0.2,3],\"g\":[],\"m\":[\"x\", \"y\" ],\"z\":1}", "{\"a\":[[1]]}",
		"{\"a\":[1,]}", "{\"a\":[,1]}", "{\"a\":[1 2]}", "{\"a\":[{}]}", "{\"a\":[1}",
		"{\"a\":]}", "{\"a\":[\"b\":1]}", "{\"t\":[[\"a\",\"f\"],[\"b\",\"g\"]],\"n\":2}",
		"{\"a\":[[[[[1]]]]]}", "{\"a\":[[[[1]]]]}", "{\"a\":[[1],[]]}", "{\"a\":[[1]2]}",
	};
	static const char *const pieces[] = {
		"{", "}", "\"k\"", ":", ",", "\"v\"", "1", "-2.5e3", "true", "null", " ", "\n",
		"\"a\\u00e9\"", "\"\\\"\"", "[", "]", "\\", "x", "\"\\q\"", "\"", "\"\\u0\"", "+",
		"\xc3\xa9", "\t", "\n", "\r\n", "\"a\"", "\"b\"", "[1,2]", "[]", "[\"s\"",
	};
	char buf[256];
	uint32_t seed = 12345;
	size_t k, n, len;
	int i;

	for (k = 0; k < sizeof texts / sizeof texts[0]; k++)
		same_as_jsmn(texts[k], strlen(texts[k]));
	same_as_jsmn("{\"a\":\"b\0c\"}", 11);	/* a NUL ends jsmn's text */
	same_as_jsmn("{\"a\":1}\0", 8);
	same_as_jsmn("{\"a\":1\0}", 8);
	/* Random texts of those pieces, and valid objects with a byte changed. */
	for (k = 0; k < 200000; k++) {
		len = 0;
		n = 1 + (seed = seed * 1103515245 + 12345) % 12;
		if (k % 2) {
			len = (size_t)snprintf(buf, sizeof buf,
					       "{\"a\":\"x\\ny\",\"b\":-12.5,\"c\":[true,\"z\"]}");
			seed = seed * 1103515245 + 12345;
			buf[(seed >> 8) % len] = (char)(seed >> 16);
		} else {
			buf[len++] = '{';	/* an object, most of the time */
			for (i = 0; i < (int)n; i++) {
				const char *p;

				seed = seed * 1103515245 + 12345;
				p = pieces[(seed >> 16) % (sizeof pieces / sizeof pieces[0])];
				if (len + strlen(p) >= sizeof buf)
					break;
				memcpy(buf + len, p, strlen(p));
				len += strlen(p);
			}
		}
		same_as_jsmn(buf, len);
		line_as_whole(buf, len);
		if (len + 2 < sizeof buf) {	/* and as a journal's line */
			buf[len] = '\n';
			buf[len + 1] = '{';
			line_as_whole(buf, len + 2);
		}
	}
}
END_TEST

START_TEST(test_parse_rejects)
{
	ck_assert(!parse("[1,2,3]"));
	ck_assert(!parse("[{\"a\":1}]"));
	ck_assert(!parse("garbage"));
	ck_assert(!parse(""));
	ck_assert(!parse("42"));
	ck_assert(!parse("\"str\""));
	ck_assert(!parse("{\"a\":"));
	ck_assert(!parse("{\"a\":1"));
	ck_assert(!parse("{\"a\" 1}"));
	ck_assert(!parse("{'a':1}"));
	ck_assert(!mt_json_parse(&J, "{\"a\":1}", 5));
}
END_TEST

/* An object of `pairs` "kN":N members. */
static const char *object_of(int pairs)
{
	static char s[32768];
	struct mt_buf b = MT_BUF_INIT(s);
	int i;

	mt_buf_putc(&b, '{');
	for (i = 0; i < pairs; i++)
		mt_buf_printf(&b, "%s\"k%d\":%d", i ? "," : "", i, i);
	mt_buf_putc(&b, '}');
	ck_assert_uint_eq(b.cut, 0);
	return s;
}

START_TEST(test_parse_token_limit)
{
	int64_t v;

	/* 1 + 2 * pairs tokens */
	ck_assert(parse(object_of((MT_JSON_TOKENS - 1) / 2)));
	ck_assert(mt_json_get_int(&J, 0, "k126", &v));
	ck_assert_int_eq(v, 126);
	ck_assert(!parse(object_of(MT_JSON_TOKENS / 2)));
	ck_assert(!parse(object_of(1000)));
}
END_TEST

static const char nested[] =
	"{\"a\":{\"b\":[1,{\"c\":2}],\"c\":3},"
	"\"arr\":[[1,2,[3]],{\"x\":{\"c\":1}}],"
	"\"s\":\"c\","
	"\"c\":\"top\","
	"\"e\":{},"
	"\"last\":7}";

START_TEST(test_get_nested)
{
	int a, c, arr, last;
	int64_t v;

	ck_assert(parse(nested));
	c = mt_json_get(&J, 0, "c");
	ck_assert_int_ge(c, 0);
	ck_assert(mt_json_is_str(&J, c));
	ck_assert(mt_json_eq(&J, c, "top"));
	a = mt_json_get(&J, 0, "a");
	ck_assert_int_ge(a, 0);
	ck_assert_int_eq(J.tok[a].type, JSMN_OBJECT);
	ck_assert(mt_json_get_int(&J, a, "c", &v));
	ck_assert_int_eq(v, 3);
	arr = mt_json_get(&J, 0, "arr");
	ck_assert_int_eq(J.tok[arr].type, JSMN_ARRAY);
	last = mt_json_get(&J, 0, "last");
	ck_assert(mt_json_eq(&J, last, "7"));
	ck_assert(mt_json_get_int(&J, 0, "last", &v));
	ck_assert_int_eq(v, 7);
	ck_assert_int_eq(J.tok[mt_json_get(&J, 0, "e")].type, JSMN_OBJECT);
}
END_TEST

/* Keys looked up at once find what mt_json_get finds, one by one. */
START_TEST(test_get_many_as_get)
{
	static const char *const texts[] = {
		"{\"id\":\"a\",\"tb\":\"x\",\"id\":\"dup\",\"n\":{\"id\":1},\"arr\":[1,{\"tb\":2}],"
		"\"\":0,\"a_key_longer_than_thirty_two_bytes\":1,\"a_key_longer_than_thirty_two_bytez\":2,"
		"\"line\":3}",
		"{}", "{\"x\":{\"id\":1}}",
	};
	static const char *const keys[] = {
		"id", "tb", "n", "arr", "", "a_key_longer_than_thirty_two_bytez",
		"a_key_longer_than_thirty_two_bytes", "line", "missing", "x",
	};
	struct mt_json_keys many, one;
	int vals[10], k;
	unsigned i;

	mt_json_keys(&many, keys, 10);
	mt_json_keys(&one, keys, 1);
	for (i = 0; i < sizeof texts / sizeof texts[0]; i++) {
		ck_assert(parse(texts[i]));
		mt_json_get_many(&J, 0, &many, vals);
		for (k = 0; k < 10; k++)
			ck_assert_msg(vals[k] == mt_json_get(&J, 0, keys[k]), "%s: %s: %d, get %d",
				      texts[i], keys[k], vals[k], mt_json_get(&J, 0, keys[k]));
		/* The last token is a scalar or {}: no keys; nor has a bad index. */
		mt_json_get_many(&J, J.n - 1, &one, vals);
		ck_assert_int_eq(vals[0], -1);
		mt_json_get_many(&J, J.n, &one, vals);
		ck_assert_int_eq(vals[0], -1);
	}
}
END_TEST

START_TEST(test_get_missing)
{
	ck_assert(parse(nested));
	ck_assert_int_eq(mt_json_get(&J, 0, "missing"), -1);
	ck_assert_int_eq(mt_json_get(&J, 0, "b"), -1);	/* nested only */
	ck_assert_int_eq(mt_json_get(&J, 0, "x"), -1);
	ck_assert_int_eq(mt_json_get(&J, 0, "top"), -1);	/* a value, not a key */
	ck_assert_int_eq(mt_json_get(&J, mt_json_get(&J, 0, "arr"), "c"), -1);
	ck_assert_int_eq(mt_json_get(&J, mt_json_get(&J, 0, "last"), "c"), -1);
	ck_assert_int_eq(mt_json_get(&J, -1, "c"), -1);
	ck_assert_int_eq(mt_json_get(&J, J.n, "c"), -1);
	ck_assert_int_eq(mt_json_get(&J, mt_json_get(&J, 0, "e"), "c"), -1);
}
END_TEST

/* An empty key is a key like any other (fuzz_json found it missed: the
 * first-byte test read the closing quote). */
START_TEST(test_get_empty_key)
{
	ck_assert(parse("{\"\":1,\"a\":2}"));
	ck_assert_int_eq(mt_json_get(&J, 0, ""), 2);
	ck_assert(mt_json_eq(&J, mt_json_get(&J, 0, ""), "1"));
	ck_assert(parse("{\"a\":2}"));
	ck_assert_int_eq(mt_json_get(&J, 0, ""), -1);
}
END_TEST

START_TEST(test_next_skips_subtree)
{
	int a, arr;

	ck_assert(parse(nested));
	a = mt_json_get(&J, 0, "a");
	/* after the value of "a" comes the key "arr" */
	ck_assert(mt_json_eq(&J, mt_json_next(&J, a), "arr"));
	arr = mt_json_get(&J, 0, "arr");
	ck_assert(mt_json_eq(&J, mt_json_next(&J, arr), "s"));
	ck_assert_int_eq(mt_json_next(&J, 0), J.n);
}
END_TEST

static const char *str_of(const char *obj, size_t cap)
{
	static char out[256];
	size_t n;

	ck_assert_uint_le(cap, sizeof out);
	ck_assert(parse(obj));
	memset(out, 'Z', sizeof out);
	n = mt_json_get_str(&J, 0, "s", out, cap);
	ck_assert_uint_eq(n, strlen(out));
	return out;
}

START_TEST(test_str_unescape)
{
	ck_assert_str_eq(str_of("{\"s\":\"a\\nb\\\"c\\\\d\\/e\\u00e9f\"}", 256),
			 "a\nb\"c\\d/e\xc3\xa9" "f");
	ck_assert_str_eq(str_of("{\"s\":\"\\b\\f\\r\\t\"}", 256), "\b\f\r\t");
	ck_assert_str_eq(str_of("{\"s\":\"\\u0041\\u20AC\"}", 256), "A\xe2\x82\xac");
	ck_assert_str_eq(str_of("{\"s\":\"plain \xc3\xa9\"}", 256), "plain \xc3\xa9");
	ck_assert_str_eq(str_of("{\"s\":\"\"}", 256), "");
}
END_TEST

START_TEST(test_str_surrogates)
{
	ck_assert_str_eq(str_of("{\"s\":\"\\ud83d\\ude00\"}", 256), "\xf0\x9f\x98\x80");
	ck_assert_str_eq(str_of("{\"s\":\"<\\uD83D\\uDE00>\"}", 256), "<\xf0\x9f\x98\x80>");
	/* lone halves become U+FFFD */
	ck_assert_str_eq(str_of("{\"s\":\"\\ud83dx\"}", 256), "\xef\xbf\xbdx");
	ck_assert_str_eq(str_of("{\"s\":\"\\ude00\"}", 256), "\xef\xbf\xbd");
	ck_assert_str_eq(str_of("{\"s\":\"\\ud83d\"}", 256), "\xef\xbf\xbd");
	ck_assert_str_eq(str_of("{\"s\":\"\\ud83d\\u0041\"}", 256), "\xef\xbf\xbd" "A");
	ck_assert_str_eq(str_of("{\"s\":\"\\ud83d\\ud83d\\ude00\"}", 256),
			 "\xef\xbf\xbd\xf0\x9f\x98\x80");
}
END_TEST

START_TEST(test_str_cut_plain)
{
	ck_assert_str_eq(str_of("{\"s\":\"abcdef\"}", 4), "abc");
	ck_assert_str_eq(str_of("{\"s\":\"abcdef\"}", 1), "");
	ck_assert_str_eq(str_of("{\"s\":\"a\\nbc\"}", 3), "a\n");
	ck_assert_str_eq(str_of("{\"s\":\"a\xc3\xa9\"}", 4), "a\xc3\xa9");
	ck_assert_str_eq(str_of("{\"s\":\"\\ud83d\\ude00\"}", 5), "\xf0\x9f\x98\x80");
}
END_TEST

/* json.h: "cut at cap on a UTF-8 boundary": half a character must not be
 * left at the end, whether the text came raw or escaped. */
START_TEST(test_str_cut_utf8_boundary)
{
	ck_assert_str_eq(str_of("{\"s\":\"a\xc3\xa9\"}", 3), "a");
	ck_assert_str_eq(str_of("{\"s\":\"a\\u00e9\"}", 3), "a");
	ck_assert_str_eq(str_of("{\"s\":\"ab\xe2\x82\xac\"}", 4), "ab");
	ck_assert_str_eq(str_of("{\"s\":\"x\\ud83d\\ude00\"}", 5), "x");
}
END_TEST

START_TEST(test_str_non_string)
{
	char out[16] = "junk";

	ck_assert(parse("{\"n\":12,\"t\":true,\"z\":null,\"o\":{}}"));
	ck_assert_uint_eq(mt_json_get_str(&J, 0, "n", out, sizeof out), 0);
	ck_assert_str_eq(out, "");
	strcpy(out, "junk");
	ck_assert_uint_eq(mt_json_get_str(&J, 0, "z", out, sizeof out), 0);
	ck_assert_str_eq(out, "");
	strcpy(out, "junk");
	ck_assert_uint_eq(mt_json_get_str(&J, 0, "missing", out, sizeof out), 0);
	ck_assert_str_eq(out, "");
	strcpy(out, "junk");
	ck_assert_uint_eq(mt_json_str(&J, mt_json_get(&J, 0, "o"), out, sizeof out), 0);
	ck_assert_str_eq(out, "");
	ck_assert(!mt_json_is_str(&J, mt_json_get(&J, 0, "t")));
	ck_assert(!mt_json_is_str(&J, -1));
}
END_TEST

START_TEST(test_get_int)
{
	int64_t v = 99;

	ck_assert(parse("{\"a\":42,\"b\":-7,\"c\":\"5\",\"e\":true,\"z\":0,"
			"\"big\":1234567890123,\"n\":null}"));
	ck_assert(mt_json_get_int(&J, 0, "a", &v));
	ck_assert_int_eq(v, 42);
	ck_assert(mt_json_get_int(&J, 0, "b", &v));
	ck_assert_int_eq(v, -7);
	ck_assert(mt_json_get_int(&J, 0, "z", &v));
	ck_assert_int_eq(v, 0);
	ck_assert(mt_json_get_int(&J, 0, "big", &v));
	ck_assert_int_eq(v, 1234567890123LL);
	v = 99;
	ck_assert(!mt_json_get_int(&J, 0, "c", &v));
	ck_assert(!mt_json_get_int(&J, 0, "e", &v));
	ck_assert(!mt_json_get_int(&J, 0, "n", &v));
	ck_assert(!mt_json_get_int(&J, 0, "missing", &v));
	ck_assert_int_eq(v, 99);
}
END_TEST

static int us_of(const char *num, int64_t *us)
{
	static char s[128];

	snprintf(s, sizeof s, "{\"v\":%s}", num);
	ck_assert_msg(parse(s), "not parsed: %s", s);
	return mt_json_get_us(&J, 0, "v", us);
}

START_TEST(test_get_us)
{
	int64_t us = 0;

	ck_assert(us_of("1.5", &us));
	ck_assert_int_eq(us, 1500000);
	ck_assert(us_of("0.000001", &us));
	ck_assert_int_eq(us, 1);
	ck_assert(us_of("60", &us));
	ck_assert_int_eq(us, 60000000);
	ck_assert(us_of("60.0", &us));
	ck_assert_int_eq(us, 60000000);
	ck_assert(us_of("-2.25", &us));
	ck_assert_int_eq(us, -2250000);
	ck_assert(us_of("-0.5", &us));
	ck_assert_int_eq(us, -500000);
	ck_assert(us_of("0", &us));
	ck_assert_int_eq(us, 0);
	ck_assert(us_of("86400.123456", &us));
	ck_assert_int_eq(us, 86400123456LL);
}
END_TEST

/* Found by tests/fuzz/fuzz_json.c: 13 digits of seconds overflowed
 * int64_t microseconds (UB). Huge values saturate at 10^12 s. */
START_TEST(test_get_us_huge)
{
	int64_t us = 0;

	ck_assert(us_of("999999999999", &us));
	ck_assert_int_eq(us, 999999999999000000LL);
	ck_assert(us_of("1000000000000", &us));
	ck_assert_int_eq(us, 1000000000000000000LL);
	ck_assert(us_of("9223372036855", &us));
	ck_assert_int_eq(us, 1000000000000000000LL);
	ck_assert(us_of("99999999999999999999999.5", &us));
	ck_assert_int_eq(us, 1000000000000500000LL);
	ck_assert(us_of("-9999999999999", &us));
	ck_assert_int_eq(us, -1000000000000000000LL);
}
END_TEST

START_TEST(test_get_us_rejects)
{
	int64_t us = 77;

	ck_assert(!us_of("1e3", &us));
	ck_assert(!us_of("1.5E2", &us));
	ck_assert(!us_of("2e-3", &us));
	ck_assert(!us_of("\"1.5\"", &us));
	ck_assert(!us_of("true", &us));
	ck_assert(!us_of("null", &us));
	ck_assert(!us_of("{}", &us));
	ck_assert_int_eq(us, 77);
	ck_assert(!mt_json_get_us(&J, 0, "missing", &us));
}
END_TEST

START_TEST(test_get_bool)
{
	int v = 5;

	ck_assert(parse("{\"t\":true,\"f\":false,\"s\":\"true\",\"n\":1,\"z\":null}"));
	ck_assert(mt_json_get_bool(&J, 0, "t", &v));
	ck_assert_int_eq(v, 1);
	ck_assert(mt_json_get_bool(&J, 0, "f", &v));
	ck_assert_int_eq(v, 0);
	v = 5;
	ck_assert(!mt_json_get_bool(&J, 0, "s", &v));
	ck_assert(!mt_json_get_bool(&J, 0, "n", &v));
	ck_assert(!mt_json_get_bool(&J, 0, "z", &v));
	ck_assert(!mt_json_get_bool(&J, 0, "missing", &v));
	ck_assert_int_eq(v, 5);
}
END_TEST

START_TEST(test_eq)
{
	ck_assert(parse("{\"key\":\"value\"}"));
	ck_assert(mt_json_eq(&J, 1, "key"));
	ck_assert(mt_json_eq(&J, 2, "value"));
	ck_assert(!mt_json_eq(&J, 2, "valu"));
	ck_assert(!mt_json_eq(&J, 2, "values"));
	ck_assert(!mt_json_eq(&J, 3, "value"));
	ck_assert(!mt_json_eq(&J, -1, ""));
}
END_TEST

Suite *json_suite(void)
{
	Suite *s = suite_create("json");
	TCase *tc;

	tc = tcase_create("parse");
	tcase_add_test(tc, test_parse_object);
	tcase_add_test(tc, test_parse_rejects);
	tcase_add_test(tc, test_parse_flat_as_jsmn);
	tcase_add_test(tc, test_parse_token_limit);
	tcase_add_test(tc, test_get_nested);
	tcase_add_test(tc, test_get_missing);
	tcase_add_test(tc, test_get_empty_key);
	tcase_add_test(tc, test_get_many_as_get);
	tcase_add_test(tc, test_next_skips_subtree);
	tcase_add_test(tc, test_eq);
	suite_add_tcase(s, tc);

	tc = tcase_create("strings");
	tcase_add_test(tc, test_str_unescape);
	tcase_add_test(tc, test_str_surrogates);
	tcase_add_test(tc, test_str_cut_plain);
	tcase_add_test(tc, test_str_cut_utf8_boundary);
	tcase_add_test(tc, test_str_non_string);
	suite_add_tcase(s, tc);

	tc = tcase_create("values");
	tcase_add_test(tc, test_get_int);
	tcase_add_test(tc, test_get_us);
	tcase_add_test(tc, test_get_us_huge);
	tcase_add_test(tc, test_get_us_rejects);
	tcase_add_test(tc, test_get_bool);
	suite_add_tcase(s, tc);
	return s;
}
