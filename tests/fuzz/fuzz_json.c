/* libFuzzer target: src/json.c (jsmn, wrapped) on any bytes. Every token
 * is read each way the event and record parsers read one: unescaped into
 * buffers from 1 byte to more than any input, and every key of every
 * object looked up and read as a string, an integer, seconds, a boolean.
 * A cut string must be a prefix of the whole one. mt_json_parse's own pass
 * over flat objects must give jsmn's very tokens, and accept nothing jsmn
 * would not. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mtest/base/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct mt_json J;
static char whole[1 << 17];	/* more than -max_len: never cut */
/* Separate arrays, so that AddressSanitizer's redzones sit right after
 * each: one byte too many is an overflow, not a neighbour's byte. */
static char c1[1], c2[2], c3[3], c4[4], c6[6], c7[7], c16[16], c100[100];
static char *const small[] = { c1, c2, c3, c4, c6, c7, c16, c100 };
static const size_t caps[] = { 1, 2, 3, 4, 6, 7, 16, 100 };

static void check(int ok)
{
	if (!ok)
		abort();
}

static void read_str(int t)
{
	size_t n = mt_json_str(&J, t, whole, sizeof whole), m, k;

	check(n < sizeof whole && whole[n] == '\0');
	check(mt_json_is_str(&J, t) || n == 0);
	check(mt_json_str(&J, t, c1, 0) == 0);
	for (k = 0; k < sizeof caps / sizeof caps[0]; k++) {
		m = mt_json_str(&J, t, small[k], caps[k]);
		check(m < caps[k] && small[k][m] == '\0');
		check(m <= n && memcmp(small[k], whole, m) == 0);
	}
}

/* What the parsers call with a key: each getter, into each buffer. */
static void read_key(int obj, const char *key)
{
	int64_t v;
	int b;
	size_t k, m;

	mt_json_get_int(&J, obj, key, &v);
	mt_json_get_us(&J, obj, key, &v);
	mt_json_get_bool(&J, obj, key, &b);
	m = mt_json_get_str(&J, obj, key, whole, sizeof whole);
	check(m < sizeof whole && whole[m] == '\0');
	for (k = 0; k < sizeof caps / sizeof caps[0]; k++) {
		m = mt_json_get_str(&J, obj, key, small[k], caps[k]);
		check(m < caps[k] && small[k][m] == '\0');
	}
}

static void walk_object(int obj)
{
	static char key[1 << 17];
	int i = obj + 1, k, v;
	size_t len;

	/* The pairs as mt_json_get sees them: key, then the value's subtree. */
	for (k = 0; k < J.tok[obj].size && i + 1 < J.n; k++) {
		len = (size_t)(J.tok[i].end - J.tok[i].start);
		if (J.tok[i].type == JSMN_STRING && len < sizeof key &&
		    !memchr(J.s + J.tok[i].start, '\0', len)) {
			memcpy(key, J.s + J.tok[i].start, len);
			key[len] = '\0';
			v = mt_json_get(&J, obj, key);
			check(v > obj && v < J.n);
			read_key(obj, key);
		}
		i = mt_json_next(&J, i + 1);
		check(i <= J.n);
	}
	read_key(obj, "t");	/* often absent */
}

static void same_as_jsmn(const uint8_t *data, size_t size, int ok)
{
	static struct mt_json K;
	int t;

	check(mt_json_parse_jsmn(&K, (const char *)data, size) == ok);
	if (!ok)
		return;
	check(K.n == J.n);
	for (t = 0; t < J.n; t++)
		check(K.tok[t].type == J.tok[t].type && K.tok[t].start == J.tok[t].start &&
		      K.tok[t].end == J.tok[t].end && K.tok[t].size == J.tok[t].size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int t, nx, ok = mt_json_parse(&J, (const char *)data, size);

	same_as_jsmn(data, size, ok);
	if (!ok) {
		check(J.n >= 0 && J.n <= MT_JSON_TOKENS);
		return 0;
	}
	check(J.n >= 1 && J.n <= MT_JSON_TOKENS);
	for (t = 0; t < J.n; t++) {
		check(J.tok[t].start >= 0 && J.tok[t].end >= J.tok[t].start &&
		      (size_t)J.tok[t].end <= size);
		read_str(t);
		nx = mt_json_next(&J, t);
		check(nx > t && nx <= J.n);
		if (J.tok[t].type == JSMN_OBJECT)
			walk_object(t);
		else
			check(mt_json_get(&J, t, "t") == -1);
	}
	check(mt_json_get(&J, -1, "t") == -1 && mt_json_get(&J, J.n, "t") == -1);
	check(!mt_json_is_str(&J, -1) && !mt_json_is_str(&J, J.n));
	check(mt_json_str(&J, J.n, whole, sizeof whole) == 0 && whole[0] == '\0');
	return 0;
}
