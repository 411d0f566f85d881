/* mtest: jsmn, wrapped. The only file that holds jsmn's code. */
#undef JSMN_HEADER
#define JSMN_STATIC
#define JSMN_STRICT
#include <jsmn.h>
#define JSMN_HEADER	/* the header below must not pull jsmn in again */

#include "mtest/base/json.h"

#include <string.h>

#include "mtest/base/buf.h"

/* Bytes that end a run of plain string bytes. */
static int string_stop(unsigned char c)
{
	return c == '"' || c == '\\' || c == '\0';
}

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Bytes of a number, true, false or null, as the flat path takes them. */
static int is_scalar(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       c == '-' || c == '+' || c == '.';
}

static int add_tok(struct mt_json *j, int *n, jsmntype_t type, const char *s, const char *from,
		   const char *to)
{
	jsmntok_t *t;

	if (*n >= MT_JSON_TOKENS)
		return 0;
	t = &j->tok[(*n)++];
	t->type = type;
	t->start = (int)(from - s);
	t->end = (int)(to - s);
	t->size = 0;
	return 1;
}

/* Does any byte of w equal b (SWAR: eight bytes a step)? */
#define ONES 0x0101010101010101ULL
static uint64_t has_byte(uint64_t w, unsigned char b)
{
	w ^= ONES * b;
	return (w - ONES) & ~w & (ONES << 7);
}

/* A string from its opening quote: the position of its closing quote, or
 * NULL when it is not plainly valid (jsmn judges those). */
static const char *flat_string(const char *p, const char *end)
{
	uint64_t w;

	for (p++; p < end; p++) {
		/* Plain bytes eight at a time, up to a quote, a backslash or a NUL
		 * (the lowest flag of has_byte is exact; the ones above it not). */
		while (end - p >= 8) {
			memcpy(&w, p, 8);
			w = has_byte(w, '"') | has_byte(w, '\\') | has_byte(w, 0);
			if (w) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
				p += __builtin_ctzll(w) / 8;
#endif
				break;
			}
			p += 8;
		}
		while (p < end && !string_stop((unsigned char)*p))
			p++;
		if (p == end)
			break;
		if (*p == '"')
			return p;
		if (*p == '\0' || end - p < 2)
			return NULL;
		p++;	/* the escaped byte */
		if (*p == 'u') {
			if (end - p < 5 || !is_hex(p[1]) || !is_hex(p[2]) || !is_hex(p[3]) ||
			    !is_hex(p[4]))
				return NULL;
			p += 4;
		} else if (!*p || !strchr("\"/\\bfnrt", *p)) {
			return NULL;
		}
	}
	return NULL;
}

/* An object whose values are all strings and scalars ({"k":"v","n":1}),
 * the shape of nearly every event and record, tokenized in one pass into
 * the very tokens jsmn makes of it. Returns their count, or 0 for
 * anything else (nesting, odd spacing or escapes, more tokens than
 * MT_JSON_TOKENS), which jsmn then reads as before. */
static int flat_object(struct mt_json *j, const char *s, size_t len)
{
	const char *p = s, *end = s + len, *q;
	int n = 0;

	while (p < end && is_space(*p))
		p++;
	if (p == end || *p != '{' || !add_tok(j, &n, JSMN_OBJECT, s, p, p))
		return 0;
	for (p++; p < end && is_space(*p); p++)
		;
	while (p < end && *p != '}') {
		/* "key" : */
		if (*p != '"' || !(q = flat_string(p, end)) ||
		    !add_tok(j, &n, JSMN_STRING, s, p + 1, q))
			return 0;
		j->tok[0].size++;
		j->tok[n - 1].size = 1;
		for (p = q + 1; p < end && is_space(*p); p++)
			;
		if (p == end || *p != ':')
			return 0;
		for (p++; p < end && is_space(*p); p++)
			;
		/* the value */
		if (p < end && *p == '"') {
			if (!(q = flat_string(p, end)) || !add_tok(j, &n, JSMN_STRING, s, p + 1, q))
				return 0;
			p = q + 1;
		} else if (p < end && ((*p >= '0' && *p <= '9') || *p == '-' || *p == 't' ||
				       *p == 'f' || *p == 'n')) {
			for (q = p; q < end && is_scalar(*q); q++)
				;
			if (q == end || !add_tok(j, &n, JSMN_PRIMITIVE, s, p, q))
				return 0;
			p = q;
		} else {
			return 0;
		}
		for (; p < end && is_space(*p); p++)
			;
		if (p < end && *p == ',') {
			for (p++; p < end && is_space(*p); p++)
				;
			if (p == end || *p != '"')
				return 0;
		} else if (p == end || *p != '}') {
			return 0;
		}
	}
	if (p == end)
		return 0;
	j->tok[0].end = (int)(p + 1 - s);
	for (p++; p < end && is_space(*p); p++)
		;
	return p == end ? n : 0;
}

int mt_json_parse(struct mt_json *j, const char *s, size_t len)
{
	j->s = s;
	j->n = flat_object(j, s, len);
	return j->n ? 1 : mt_json_parse_jsmn(j, s, len);
}

int mt_json_parse_jsmn(struct mt_json *j, const char *s, size_t len)
{
	jsmn_parser p;
	int r;

	jsmn_init(&p);
	r = jsmn_parse(&p, s, len, j->tok, MT_JSON_TOKENS);
	j->s = s;
	j->n = r > 0 ? r : 0;
	/* Debian's jsmn 1.1.0 numbers its types 1..4: compare with ==. */
	return r > 0 && j->tok[0].type == JSMN_OBJECT;
}

int mt_json_next(const struct mt_json *j, int i)
{
	int pending = 1;

	while (pending > 0 && i < j->n) {
		pending += j->tok[i].size;
		pending--;
		i++;
	}
	return i;
}

int mt_json_eq(const struct mt_json *j, int t, const char *lit)
{
	size_t n = strlen(lit);

	return t >= 0 && t < j->n &&
	       (size_t)(j->tok[t].end - j->tok[t].start) == n &&
	       memcmp(j->s + j->tok[t].start, lit, n) == 0;
}

int mt_json_get(const struct mt_json *j, int obj, const char *key)
{
	int i, k, pairs;

	int n = (int)strlen(key);

	if (obj < 0 || obj >= j->n || j->tok[obj].type != JSMN_OBJECT)
		return -1;
	pairs = j->tok[obj].size;
	i = obj + 1;
	/* Length, then first byte, then the rest: most keys differ early. */
	for (k = 0; k < pairs && i + 1 < j->n; k++) {
		const jsmntok_t *t = &j->tok[i];

		if (t->type == JSMN_STRING && t->end - t->start == n &&
		    (n == 0 || j->s[t->start] == key[0]) &&
		    memcmp(j->s + t->start, key, (size_t)n) == 0)
			return i + 1;
		/* A scalar value is one token: skip it without a walk. */
		i = j->tok[i + 1].size == 0 ? i + 2 : mt_json_next(j, i + 1);
	}
	return -1;
}

void mt_json_get_many(const struct mt_json *j, int obj, const char *const keys[], int nkeys,
		      int vals[])
{
	/* The keys chained by length (the longest share the last chain): a
	 * pair's key is compared only with those of its own length. */
	enum { LONG = 32 };
	int len[MT_JSON_MANY], next[MT_JSON_MANY], head[LONG + 1];
	int i, k, pairs, left = nkeys, n;
	const jsmntok_t *t;

	for (n = 0; n <= LONG; n++)
		head[n] = -1;
	for (k = nkeys; k-- > 0;) {
		vals[k] = -1;
		len[k] = (int)strlen(keys[k]);
		n = len[k] < LONG ? len[k] : LONG;
		next[k] = head[n];
		head[n] = k;
	}
	if (obj < 0 || obj >= j->n || j->tok[obj].type != JSMN_OBJECT)
		return;
	pairs = j->tok[obj].size;
	for (i = obj + 1; pairs-- > 0 && left > 0 && i + 1 < j->n;
	     i = j->tok[i + 1].size == 0 ? i + 2 : mt_json_next(j, i + 1)) {
		t = &j->tok[i];
		if (t->type != JSMN_STRING)
			continue;
		n = t->end - t->start;
		for (k = head[n < LONG ? n : LONG]; k >= 0; k = next[k])
			if (vals[k] < 0 && len[k] == n &&
			    (n == 0 || (j->s[t->start] == keys[k][0] &&
					memcmp(j->s + t->start, keys[k], (size_t)n) == 0))) {
				vals[k] = i + 1;	/* the first pair of a key, as mt_json_get */
				left--;
				break;
			}
	}
}

int mt_json_is_str(const struct mt_json *j, int t)
{
	return t >= 0 && t < j->n && j->tok[t].type == JSMN_STRING;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static long hex4(const char *s, const char *end)
{
	long v = 0;
	int i, h;

	if (end - s < 4)
		return -1;
	for (i = 0; i < 4; i++) {
		h = hexval(s[i]);
		if (h < 0)
			return -1;
		v = v * 16 + h;
	}
	return v;
}

/* Encode a code point as UTF-8 into b (U+FFFD for surrogates). */
static void put_cp(struct mt_buf *b, unsigned long cp)
{
	char u[4];

	if (cp >= 0xd800 && cp <= 0xdfff)
		cp = 0xfffd;
	if (cp < 0x80) {
		mt_buf_putc(b, (char)cp);
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | (cp >> 6));
		u[1] = (char)(0x80 | (cp & 0x3f));
		mt_buf_put(b, u, 2);
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | (cp >> 12));
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		mt_buf_put(b, u, 3);
	} else {
		u[0] = (char)(0xf0 | (cp >> 18));
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[3] = (char)(0x80 | (cp & 0x3f));
		mt_buf_put(b, u, 4);
	}
}

size_t mt_json_str(const struct mt_json *j, int t, char *out, size_t cap)
{
	struct mt_buf b;
	const char *s, *end;
	long cp, lo;
	size_t n;

	if (cap == 0)
		return 0;
	out[0] = '\0';
	if (!mt_json_is_str(j, t))
		return 0;
	mt_buf_init(&b, out, cap, -1);
	s = j->s + j->tok[t].start;
	end = j->s + j->tok[t].end;
	while (s < end && !b.cut) {
		const char *bs = memchr(s, '\\', (size_t)(end - s));

		if (!bs)
			bs = end;
		mt_buf_put(&b, s, (size_t)(bs - s));
		s = bs;
		if (s >= end)
			break;
		s++;	/* the backslash; jsmn guarantees a valid escape follows */
		switch (*s) {
		case 'b': mt_buf_putc(&b, '\b'); break;
		case 'f': mt_buf_putc(&b, '\f'); break;
		case 'n': mt_buf_putc(&b, '\n'); break;
		case 'r': mt_buf_putc(&b, '\r'); break;
		case 't': mt_buf_putc(&b, '\t'); break;
		case 'u':
			cp = hex4(s + 1, end);
			if (cp < 0) {
				put_cp(&b, 0xfffd);
				break;
			}
			s += 4;
			if (cp >= 0xd800 && cp <= 0xdbff && end - s >= 7 &&
			    s[1] == '\\' && s[2] == 'u' &&
			    (lo = hex4(s + 3, end)) >= 0xdc00 && lo <= 0xdfff) {
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				s += 6;
			}
			put_cp(&b, (unsigned long)cp);
			break;
		default:
			mt_buf_putc(&b, *s);	/* \" \\ \/ */
		}
		s++;
	}
	/* A cut must not leave half a UTF-8 sequence behind. */
	n = b.cut || b.len == cap - 1 ? mt_utf8_cut(out, b.len, b.len) : b.len;
	out[n] = '\0';
	return n;
}

size_t mt_json_get_str(const struct mt_json *j, int obj, const char *key,
		       char *out, size_t cap)
{
	int t = mt_json_get(j, obj, key);

	if (t < 0) {
		if (cap)
			out[0] = '\0';
		return 0;
	}
	return mt_json_str(j, t, out, cap);
}

int mt_json_get_int(const struct mt_json *j, int obj, const char *key, int64_t *v)
{
	return mt_json_int(j, mt_json_get(j, obj, key), v);
}

int mt_json_int(const struct mt_json *j, int t, int64_t *v)
{
	int neg = 0;
	const char *s, *end;
	int64_t x = 0;

	if (t < 0 || t >= j->n || j->tok[t].type != JSMN_PRIMITIVE)
		return 0;
	s = j->s + j->tok[t].start;
	end = j->s + j->tok[t].end;
	if (s < end && *s == '-') {
		neg = 1;
		s++;
	}
	if (s >= end || *s < '0' || *s > '9')
		return 0;
	while (s < end && *s >= '0' && *s <= '9' && x < INT64_MAX / 10 - 10)
		x = x * 10 + (*s++ - '0');
	*v = neg ? -x : x;
	return 1;
}

int mt_json_get_us(const struct mt_json *j, int obj, const char *key, int64_t *us)
{
	return mt_json_us(j, mt_json_get(j, obj, key), us);
}

int mt_json_us(const struct mt_json *j, int t, int64_t *us)
{
	const char *s, *end;
	int64_t whole = 0, frac = 0, scale = 1000000;
	int neg = 0;

	if (t < 0 || t >= j->n || j->tok[t].type != JSMN_PRIMITIVE)
		return 0;
	s = j->s + j->tok[t].start;
	end = j->s + j->tok[t].end;
	if (s < end && *s == '-') {
		neg = 1;
		s++;
	}
	if (s >= end || *s < '0' || *s > '9')
		return 0;
	/* Saturate at 10^12 s (31,000 years): its microseconds still fit. */
	for (; s < end && *s >= '0' && *s <= '9'; s++)
		whole = whole < 100000000000LL ? whole * 10 + (*s - '0') : 1000000000000LL;
	if (s < end && *s == '.') {
		s++;
		while (s < end && *s >= '0' && *s <= '9') {
			if (scale > 1) {
				scale /= 10;
				frac += (*s - '0') * scale;
			}
			s++;
		}
	}
	if (s < end && (*s == 'e' || *s == 'E'))
		return 0;	/* the plugin never writes exponents */
	*us = whole * 1000000 + frac;
	if (neg)
		*us = -*us;
	return 1;
}

int mt_json_get_bool(const struct mt_json *j, int obj, const char *key, int *v)
{
	return mt_json_bool(j, mt_json_get(j, obj, key), v);
}

int mt_json_bool(const struct mt_json *j, int t, int *v)
{
	if (t < 0 || t >= j->n || j->tok[t].type != JSMN_PRIMITIVE)
		return 0;
	if (mt_json_eq(j, t, "true"))
		*v = 1;
	else if (mt_json_eq(j, t, "false"))
		*v = 0;
	else
		return 0;
	return 1;
}
