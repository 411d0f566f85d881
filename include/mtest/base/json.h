/* mtest: reading JSON with jsmn (Debian's jsmn 1.1.0, strict mode), over
 * a fixed token array; strings are unescaped into caller buffers. */
#ifndef MTEST_JSON_H
#define MTEST_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "mtest/limits.h"

#define JSMN_HEADER
#define JSMN_STRICT
#include <jsmn.h>

struct mt_json {
	const char *s;
	int n;
	jsmntok_t tok[MT_JSON_TOKENS];
};

/* Parse one JSON object. Returns 1, or 0 if it is not a valid object or
 * has more than MT_JSON_TOKENS tokens. */
int mt_json_parse(struct mt_json *j, const char *s, size_t len);
/* The same with jsmn alone (mt_json_parse takes an object of strings and
 * scalars in one pass of its own, to the same tokens): for tests. */
int mt_json_parse_jsmn(struct mt_json *j, const char *s, size_t len);
/* The value token of `key` in the object at token `obj`, or -1. */
int mt_json_get(const struct mt_json *j, int obj, const char *key);
/* Keys looked up at once in many objects (a run's records), indexed once
 * by mt_json_keys; names without quotes, backslashes or escapes. Keys
 * that are only skipped may be listed too: a key not listed is looked up
 * each time, a listed one is found by its place in the last objects. */
#define MT_JSON_MANY 40
#define MT_JSON_KEYLEN 32
struct mt_json_keys {
	const char *const *name;
	int n;				/* at most MT_JSON_MANY */
	int len[MT_JSON_MANY], next[MT_JSON_MANY], head[MT_JSON_KEYLEN + 1];
	uint64_t word[MT_JSON_MANY], mask[MT_JSON_MANY];	/* a short name and its quote */
	signed char guess[MT_JSON_TOKENS / 2][2];	/* the keys last seen at each place */
};
void mt_json_keys(struct mt_json_keys *k, const char *const name[], int n);
/* The keys of k in the object at token `obj`, in one pass: vals[i] is the
 * value token of k's name[i] (its first pair's, as mt_json_get), or -1. */
void mt_json_get_many(const struct mt_json *j, int obj, const struct mt_json_keys *k, int vals[]);
/* mt_json_parse, then mt_json_get_many on the object, in one pass when the
 * object is flat (the place of each key in the last one is tried first).
 * Returns 0 (and no keys) if the text is not an object. */
int mt_json_parse_keys(struct mt_json *j, const char *s, size_t len, struct mt_json_keys *k,
		       int vals[]);
/* A journal's next line, parsed as mt_json_parse_keys parses it, when it
 * is a flat object whose newline is within the `avail` bytes at s: returns
 * the line's length without its newline. Else 0, and nothing is parsed:
 * find the line's end, then mt_json_parse_keys. */
size_t mt_json_parse_line(struct mt_json *j, const char *s, size_t avail, struct mt_json_keys *k,
			  int vals[]);
/* The token after the subtree rooted at token i. */
int mt_json_next(const struct mt_json *j, int i);
int mt_json_is_str(const struct mt_json *j, int t);
/* Unescape a string token into out (NUL-terminated, cut at cap on a UTF-8
 * boundary). Returns the length, or 0 for a missing or non-string token. */
size_t mt_json_str(const struct mt_json *j, int t, char *out, size_t cap);
/* String value of a key, "" when absent. */
size_t mt_json_get_str(const struct mt_json *j, int obj, const char *key,
		       char *out, size_t cap);
/* Integer value of a key; returns 1 if present and numeric. */
int mt_json_get_int(const struct mt_json *j, int obj, const char *key, int64_t *v);
/* A number of seconds (such as 1.5) as microseconds; 1 if present. */
int mt_json_get_us(const struct mt_json *j, int obj, const char *key, int64_t *us);
/* true/false; 1 if present. */
int mt_json_get_bool(const struct mt_json *j, int obj, const char *key, int *v);
/* The same three of a value token t (from mt_json_get_many; -1: absent). */
int mt_json_int(const struct mt_json *j, int t, int64_t *v);
int mt_json_us(const struct mt_json *j, int t, int64_t *us);
int mt_json_bool(const struct mt_json *j, int t, int *v);
/* Token text equals the literal (raw bytes, no unescaping). */
int mt_json_eq(const struct mt_json *j, int t, const char *lit);

#endif
