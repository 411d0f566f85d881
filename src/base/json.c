/* mtest: jsmn, wrapped. The only file that holds jsmn's code. */
#undef JSMN_HEADER
#define JSMN_STATIC
#define JSMN_STRICT
#include <jsmn.h>
#define JSMN_HEADER	/* the header below must not pull jsmn in again */

#include "mtest/base/json.h"

#include <string.h>

#include "mtest/base/buf.h"

/* The one-pass path for flat objects. `nl` is '\n' when the text is a
 * journal's rest and the object must end its line (a newline ends a
 * string or a space run there), else '\0' (a NUL ends jsmn's text). */
struct flat {
	const char *s, *end;
	char nl;
};

static int string_stop(const struct flat *f, char c)
{
	return c == '"' || c == '\\' || c == '\0' || c == f->nl;
}

static const unsigned char spaces[256] = { [' '] = 1, ['\t'] = 1, ['\n'] = 1, ['\r'] = 1 };

static int is_space(const struct flat *f, char c)
{
	return spaces[(unsigned char)c] && c != f->nl;
}

static const char *skip_spaces(const struct flat *f, const char *p)
{
	while (p < f->end && is_space(f, *p))
		p++;
	return p;
}

static int is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Bytes of a number, true, false or null, as the flat path takes them. */
static int is_scalar(char c)
{
	return (unsigned char)(c - '0') < 10 || (unsigned char)((c | 0x20) - 'a') < 26 ||
	       c == '-' || c == '+' || c == '.';
}

static int add_tok(struct mt_json *j, int *n, jsmntype_t type, const struct flat *f,
		   const char *from, const char *to)
{
	jsmntok_t *t;

	if (*n >= MT_JSON_TOKENS)
		return 0;
	t = &j->tok[(*n)++];
	t->type = type;
	t->start = (int)(from - f->s);
	t->end = (int)(to - f->s);
	t->size = 0;
	return 1;
}

/* Sixteen bytes at a time (GCC's vector extensions: SSE2 on x86-64, NEON on
 * arm64, plain code elsewhere): flags (0xff) where a byte ends a run of
 * plain string bytes, as two words. */
typedef unsigned char bytes16 __attribute__((vector_size(16)));

static uint64_t stops16(const struct flat *f, const char *p, uint64_t *hi)
{
	bytes16 v, m;
	uint64_t w[2];

	memcpy(&v, p, 16);
	m = (bytes16)(v == '"') | (bytes16)(v == '\\') | (bytes16)(v == 0) |
	    (bytes16)(v == (unsigned char)f->nl);
	memcpy(w, &m, 16);
	*hi = w[1];
	return w[0];
}

/* A string from its opening quote: the position of its closing quote, or
 * NULL when it is not plainly valid (jsmn judges those). */
static const char *flat_string(const struct flat *f, const char *p)
{
	const char *end = f->end;
	uint64_t lo, hi;

	for (p++; p < end; p++) {
		/* Plain bytes sixteen at a time, up to a stop. */
		while (end - p >= 16) {
			lo = stops16(f, p, &hi);
			if (lo | hi) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
				p += lo ? __builtin_ctzll(lo) / 8 : 8 + __builtin_ctzll(hi) / 8;
#endif
				break;
			}
			p += 16;
		}
		while (p < end && !string_stop(f, *p))
			p++;
		if (p == end)
			break;
		if (*p == '"')
			return p;
		if (*p != '\\' || end - p < 2)
			return NULL;	/* a NUL or the line's end */
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

static int same_bytes(const char *a, const char *b, int n)
{
	while (n-- > 0)
		if (*a++ != *b++)
			return 0;
	return 1;
}

/* The key of k named by n bytes at s, or -1: compared only with the keys of
 * its length. */
static int key_index(const struct mt_json_keys *k, const char *s, int n)
{
	int x;

	for (x = k->head[n < MT_JSON_KEYLEN ? n : MT_JSON_KEYLEN]; x >= 0; x = k->next[x])
		if (k->len[x] == n && same_bytes(s, k->name[x], n))
			return x;
	return -1;
}

/* A key's closing quote when it is a key that stood at this place in the
 * last objects (records of a kind share their layout; two kinds may
 * alternate): no scan, no lookup. Its name has no quote, backslash, NUL or
 * newline, so the bytes are the string. */
static const char *guessed_key(const struct mt_json_keys *k, int pair, const char *p,
			       const char *end, int *x)
{
	int w, g;

	uint64_t bytes;

	for (w = 0; pair < MT_JSON_TOKENS / 2 && w < 2; w++) {
		g = k->guess[pair][w];
		if (g < 0 || end - p <= k->len[g] + 1)
			continue;
		/* A short name and its closing quote: one word compared. */
		if (k->len[g] < 8 && end - p > 8) {
			memcpy(&bytes, p + 1, 8);
			if ((bytes & k->mask[g]) != k->word[g])
				continue;
		} else if (p[1 + k->len[g]] != '"' || !same_bytes(p + 1, k->name[g], k->len[g])) {
			continue;
		}
		*x = g;
		return p + 1 + k->len[g];
	}
	return NULL;
}

/* A key seen at this place: the newest of two guesses. */
static void learn_key(struct mt_json_keys *k, int pair, int x)
{
	if (pair < MT_JSON_TOKENS / 2 && x >= 0) {
		k->guess[pair][1] = k->guess[pair][0];
		k->guess[pair][0] = (signed char)x;
	}
}

/* A scalar's end: its bytes, then a delimiter (jsmn's strict primitives end
 * at one), or NULL. */
static const char *flat_scalar(const struct flat *f, const char *p)
{
	if (!((*p >= '0' && *p <= '9') || *p == '-' || *p == 't' || *p == 'f' || *p == 'n'))
		return NULL;
	while (p < f->end && is_scalar(*p))
		p++;
	return p < f->end ? p : NULL;
}

/* A string or a scalar value's token; the position after it, or NULL. */
static inline const char *flat_value(struct mt_json *j, int *n, const struct flat *f,
				      const char *p)
{
	const char *q;

	if (*p == '"') {
		if (!(q = flat_string(f, p)) || !add_tok(j, n, JSMN_STRING, f, p + 1, q))
			return NULL;
		return q + 1;
	}
	if (!(q = flat_scalar(f, p)) || !add_tok(j, n, JSMN_PRIMITIVE, f, p, q))
		return NULL;
	return q;
}

/* Arrays in arrays, at most this deep ("tests":[["id","file"],...]). */
#define FLAT_DEPTH 4

/* An array of strings, scalars and such arrays ("d":[0.1,0.2]), from its
 * '[': its token and theirs; the position after its ']', or NULL (an
 * object in it, deeper arrays, or odd). */
static const char *flat_array(struct mt_json *j, int *n, const struct flat *f, const char *p,
			      int depth)
{
	const char *end = f->end;
	int arr = *n;

	if (depth > FLAT_DEPTH || !add_tok(j, n, JSMN_ARRAY, f, p, p))
		return NULL;
	p = skip_spaces(f, p + 1);
	while (p < end && *p != ']') {
		if (*p == '{' || !(p = *p == '[' ? flat_array(j, n, f, p, depth + 1) :
					       flat_value(j, n, f, p)))
			return NULL;
		j->tok[arr].size++;
		p = skip_spaces(f, p);
		if (p < end && *p == ',') {
			p = skip_spaces(f, p + 1);
			if (p == end || *p == ']')
				return NULL;
		} else if (p == end || *p != ']') {
			return NULL;
		}
	}
	if (p == end)
		return NULL;
	j->tok[arr].end = (int)(p + 1 - f->s);
	return p + 1;
}

/* An object whose values are all strings and scalars ({"k":"v","n":1}),
 * or arrays of them,
 * the shape of nearly every event and record, tokenized in one pass into
 * the very tokens jsmn makes of it; with k, its keys of k found in the same
 * pass (vals, as mt_json_get_many). Returns the text's length up to the
 * object's end and the spaces after it: all of it, or (f->nl) up to the
 * newline that ends its line; or -1 for anything else (nesting, odd
 * escapes, a NUL, which ends jsmn's text, more tokens than
 * MT_JSON_TOKENS), which jsmn then reads as before. */
static long flat_object(struct mt_json *j, const struct flat *f, struct mt_json_keys *k,
			int vals[])
{
	const char *p = skip_spaces(f, f->s), *end = f->end, *q;
	int n = 0, pair = 0, x;

	if (p == end || *p != '{' || !add_tok(j, &n, JSMN_OBJECT, f, p, p))
		return -1;
	p = skip_spaces(f, p + 1);
	for (; p < end && *p != '}'; pair++) {
		/* "key": mtest writes no spaces, so a colon is looked for first */
		x = -1;
		if (*p != '"')
			return -1;
		if (!k || !(q = guessed_key(k, pair, p, end, &x))) {
			if (!(q = flat_string(f, p)))
				return -1;
			if (k) {
				x = key_index(k, p + 1, (int)(q - p - 1));
				learn_key(k, pair, x);
			}
		}
		if (!add_tok(j, &n, JSMN_STRING, f, p + 1, q))
			return -1;
		j->tok[n - 1].size = 1;
		j->tok[0].size++;
		if (x >= 0 && vals[x] < 0)
			vals[x] = n;	/* the value's token, next */
		p = q + 1;
		if (p == end || *p != ':') {
			p = skip_spaces(f, p);
			if (p == end || *p != ':')
				return -1;
		}
		p = skip_spaces(f, p + 1);
		/* the value */
		if (p == end || *p == '{' || !(p = *p == '[' ? flat_array(j, &n, f, p, 1) :
					       flat_value(j, &n, f, p)))
			return -1;
		/* then a comma and the next key, or the end */
		if (p < end && *p != ',' && *p != '}')
			p = skip_spaces(f, p);
		if (p < end && *p == ',') {
			p++;
			if (p < end && *p != '"')
				p = skip_spaces(f, p);
			if (p == end || *p != '"')
				return -1;
		} else if (p == end || *p != '}') {
			return -1;
		}
	}
	if (p == end)
		return -1;
	j->tok[0].end = (int)(p + 1 - f->s);
	j->n = n;
	p = skip_spaces(f, p + 1);
	if (f->nl)
		return p < end && *p == f->nl ? p - f->s : -1;
	return p == end ? p - f->s : -1;
}

/* The flat pass over s, with its token count in j->n (0 if it gave up). */
static long flat(struct mt_json *j, const char *s, size_t len, char nl, struct mt_json_keys *k,
		 int vals[])
{
	struct flat f = { s, s + len, nl };
	long r;

	if (k)	/* every byte 0xff: -1 */
		memset(vals, 0xff, sizeof vals[0] * (size_t)k->n);
	j->s = s;
	j->n = 0;
	r = flat_object(j, &f, k, vals);
	if (r < 0) {
		if (k)	/* what it found before it gave up */
			memset(vals, 0xff, sizeof vals[0] * (size_t)k->n);
		j->n = 0;
		return -1;
	}
	return r;
}

int mt_json_parse(struct mt_json *j, const char *s, size_t len)
{
	return flat(j, s, len, '\0', NULL, NULL) >= 0 || mt_json_parse_jsmn(j, s, len);
}

int mt_json_parse_keys(struct mt_json *j, const char *s, size_t len, struct mt_json_keys *k,
		       int vals[])
{
	if (flat(j, s, len, '\0', k, vals) >= 0)
		return 1;
	if (!mt_json_parse_jsmn(j, s, len))
		return 0;
	mt_json_get_many(j, 0, k, vals);
	return 1;
}

size_t mt_json_parse_line(struct mt_json *j, const char *s, size_t avail, struct mt_json_keys *k,
			  int vals[])
{
	long r = flat(j, s, avail, '\n', k, vals);

	return r > 0 ? (size_t)r : 0;
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

void mt_json_keys(struct mt_json_keys *k, const char *const name[], int n)
{
	int i, b;

	k->name = name;
	k->n = n;
	for (b = 0; b <= MT_JSON_KEYLEN; b++)
		k->head[b] = -1;
	for (i = 0; i < MT_JSON_TOKENS / 2; i++)
		k->guess[i][0] = k->guess[i][1] = -1;
	/* Chained by length (the longest share the last chain): a pair's key
	 * is compared only with the keys of its own length. */
	for (i = n; i-- > 0;) {
		k->len[i] = (int)strlen(name[i]);
		/* A short name with its closing quote, as memory holds them. */
		memset(&k->word[i], 0, 8);
		memset(&k->mask[i], 0, 8);
		if (k->len[i] < 8) {
			memcpy(&k->word[i], name[i], (size_t)k->len[i]);
			((char *)&k->word[i])[k->len[i]] = '"';
			memset(&k->mask[i], 0xff, (size_t)k->len[i] + 1);
		}
		b = k->len[i] < MT_JSON_KEYLEN ? k->len[i] : MT_JSON_KEYLEN;
		k->next[i] = k->head[b];
		k->head[b] = i;
	}
}

void mt_json_get_many(const struct mt_json *j, int obj, const struct mt_json_keys *k, int vals[])
{
	int i, x, pairs, left = k->n;
	const jsmntok_t *t;

	for (x = 0; x < k->n; x++)
		vals[x] = -1;
	if (obj < 0 || obj >= j->n || j->tok[obj].type != JSMN_OBJECT)
		return;
	pairs = j->tok[obj].size;
	for (i = obj + 1; pairs-- > 0 && left > 0 && i + 1 < j->n;
	     i = j->tok[i + 1].size == 0 ? i + 2 : mt_json_next(j, i + 1)) {
		t = &j->tok[i];
		if (t->type != JSMN_STRING)
			continue;
		x = key_index(k, j->s + t->start, t->end - t->start);
		if (x >= 0 && vals[x] < 0) {
			vals[x] = i + 1;	/* the first pair of a key, as mt_json_get */
			left--;
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
	s = j->s + j->tok[t].start;
	end = j->s + j->tok[t].end;
	/* Most strings: nothing to unescape, room to spare (a string that
	 * fills out is cut at a UTF-8 boundary, below). */
	n = (size_t)(end - s);
	if (n + 1 < cap && !memchr(s, '\\', n)) {
		memcpy(out, s, n);
		out[n] = '\0';
		return n;
	}
	mt_buf_init(&b, out, cap, -1);
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
