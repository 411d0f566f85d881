/* mtest: the duration history (include/mtest/plan/durations.h).
 *
 * The run keeps only each test's estimate and last bad time, by a hash of
 * its id (16 bytes a test, and 16 more for a bad one; sorted: no index). The file's whole entries
 * (ids, durations) stay in the file: the save reads it again, line by
 * line, and writes each entry with this run's verdict of that test. */
#include "mtest/plan/durations.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mtest/base/buf.h"
#include "mtest/base/clock.h"
#include "mtest/base/fsx.h"
#include "mtest/base/hash.h"
#include "mtest/base/json.h"
#include "mtest/base/msg.h"

/* One entry of the file, as read and as written. */
struct entry {
	uint8_t n;				/* durations kept */
	int64_t d_us[MT_HISTORY_RUNS];		/* newest last */
	int64_t lb_us;				/* at least this long, 0 if none */
	int64_t bad_wall_us;			/* its last bad verdict, 0 if none */
	uint32_t mem_kib;			/* its last peak memory, 0 unknown */
};

/* The file's lines, one at a time, through a fixed buffer. */
struct lines {
	int fd;
	size_t len, used;
	unsigned lineno;
	char buf[MT_LINE_MAX];
};

/* The load and the save read the file through the same line buffer, and
 * an entry's id through the same bytes: one of each is resident. */
static struct lines L;
static char Id[MT_ID_MAX + 64];

static uint64_t key_of(const char *id)
{
	return mt_hash_index(id, strlen(id));
}

/* The entry of a key in a table sorted by key, or NULL. */
static const struct mt_hist *find(const struct mt_hist *a, uint32_t n, uint64_t key)
{
	uint32_t lo = 0, hi = n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (a[mid].key < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && a[lo].key == key ? &a[lo] : NULL;
}

struct mt_hist *mt_history_find(struct mt_history *h, const char *id)
{
	return (struct mt_hist *)find(h->h, h->n, key_of(id));
}

int64_t mt_history_last_bad(const struct mt_history *h, const char *id)
{
	const struct mt_hist *e = find(h->bad, h->nbad, key_of(id));

	return e ? e->us : 0;
}

static int64_t estimate(const struct entry *e)
{
	int64_t s[MT_HISTORY_RUNS], t, med = 0;
	int i, j;

	for (i = 0; i < e->n; i++)
		s[i] = e->d_us[i];
	for (i = 1; i < e->n; i++)	/* a handful: insertion sort */
		for (j = i; j > 0 && s[j - 1] > s[j]; j--) {
			t = s[j];
			s[j] = s[j - 1];
			s[j - 1] = t;
		}
	if (e->n)
		med = e->n % 2 ? s[e->n / 2] : (s[e->n / 2 - 1] + s[e->n / 2]) / 2;
	return med > e->lb_us ? med : e->lb_us;
}

int64_t mt_history_estimate(const struct mt_hist *e)
{
	return e ? e->us : 0;
}

/* This run's verdict of a test, into its entry. */
static void note(struct entry *e, enum mt_verdict v, int64_t duration_us, int64_t wall_us)
{
	if (mt_verdict_is_bad(v))
		e->bad_wall_us = wall_us;
	switch (v) {
	case MT_V_HUNG:
	case MT_V_CRASHED:
	case MT_V_NOT_RUN:
		/* Cut short: at least this long, never this long. */
		if (duration_us > e->lb_us)
			e->lb_us = duration_us;
		return;
	case MT_V_NONE:
	case MT_V_COLLECTION_ERROR:
	case MT_V_COUNT:
		return;
	default:
		break;
	}
	if (duration_us < 0)
		return;
	if (e->n == MT_HISTORY_RUNS) {
		memmove(e->d_us, e->d_us + 1, sizeof e->d_us[0] * (MT_HISTORY_RUNS - 1));
		e->n--;
	}
	e->d_us[e->n++] = duration_us;
	/* It ran to its end: the bound of an older hang is history. */
	if (duration_us >= e->lb_us)
		e->lb_us = 0;
}

/* One entry line: {"id":"...","d":[us,...],"lb":us,"bad":"UTC","m":KiB}. Returns
 * 1 with the entry (id "" for the end marker {}), or 0 if it is damaged. */
static int parse_entry(const char *line, size_t len, char *id, size_t cap, struct entry *e)
{
	static struct mt_json js;
	char stamp[40];
	int t, i, k;
	int64_t v;

	memset(e, 0, sizeof *e);
	id[0] = '\0';
	if (!mt_json_parse(&js, line, len))
		return 0;
	if (js.n == 1)
		return 1;	/* {}: the end marker */
	if (!mt_json_get_str(&js, 0, "id", id, cap))
		return 0;
	t = mt_json_get(&js, 0, "d");
	if (t >= 0 && js.tok[t].type == JSMN_ARRAY)
		for (i = t + 1, k = 0; k < js.tok[t].size && i < js.n; k++, i = mt_json_next(&js, i)) {
			char num[24];
			int n = js.tok[i].end - js.tok[i].start;

			if (js.tok[i].type != JSMN_PRIMITIVE || n <= 0 || n >= (int)sizeof num)
				return 0;
			memcpy(num, js.s + js.tok[i].start, (size_t)n);
			num[n] = '\0';
			v = strtoll(num, NULL, 10);
			if (v >= 0 && e->n < MT_HISTORY_RUNS)
				e->d_us[e->n++] = v;
		}
	if (mt_json_get_int(&js, 0, "lb", &v) && v > 0)
		e->lb_us = v;
	if (mt_json_get_str(&js, 0, "bad", stamp, sizeof stamp))
		mt_parse_utc(stamp, &e->bad_wall_us);
	if (mt_json_get_int(&js, 0, "m", &v) && v > 0 && v <= UINT32_MAX)
		e->mem_kib = (uint32_t)v;
	return 1;
}

/* {"v":1,"start_us":N,"tests":[ (start_us may be absent) */
static int parse_head(const char *s, size_t n, int64_t *start_us)
{
	const char *p = s + 7;
	char *end;

	if (n < 16 || memcmp(s, "{\"v\":1,", 7) != 0 ||
	    memcmp(s + n - 9, "\"tests\":[", 9) != 0)
		return 0;
	if (strncmp(p, "\"start_us\":", 11) == 0) {
		*start_us = strtoll(p + 11, &end, 10);
		if (*start_us < 0 || *end != ',')
			return 0;
	}
	return 1;
}

static int lines_open(struct lines *l, int dirfd, const char *name)
{
	l->fd = mt_open_file_at(dirfd, name);
	l->len = l->used = 0;
	l->lineno = 0;
	return l->fd >= 0;
}

/* The next line, without its newline and a trailing comma. Returns 1, 0 at
 * the end, -1 on a read error or a last line without its newline. */
static int lines_next(struct lines *l, const char **s, size_t *n)
{
	char *nl;
	ssize_t r;

	for (;;) {
		nl = memchr(l->buf + l->used, '\n', l->len - l->used);
		if (nl) {
			*s = l->buf + l->used;
			*n = (size_t)(nl - *s);
			l->used = (size_t)(nl - l->buf) + 1;
			l->lineno++;
			if (*n && (*s)[*n - 1] == ',')
				(*n)--;
			return 1;
		}
		memmove(l->buf, l->buf + l->used, l->len - l->used);
		l->len -= l->used;
		l->used = 0;
		if (l->len == sizeof l->buf)
			return -1;	/* a line longer than any entry */
		do
			r = read(l->fd, l->buf + l->len, sizeof l->buf - l->len);
		while (r < 0 && errno == EINTR);
		if (r < 0)
			return -1;
		if (r == 0)
			return l->len ? -1 : 0;	/* no newline at the end: cut short */
		l->len += (size_t)r;
	}
}

/* The entry line's text without the "]}" that closes the file's last. */
static size_t entry_len(const char *s, size_t n)
{
	return n >= 2 && memcmp(s + n - 2, "]}", 2) == 0 ? n - 2 : n;
}

/* Heap sort by key: no allocation (the C library's qsort may call malloc). */
static void sift(struct mt_hist *a, uint32_t n, uint32_t i)
{
	struct mt_hist t;
	uint32_t c;

	for (;;) {
		c = 2 * i + 1;
		if (c >= n)
			return;
		if (c + 1 < n && a[c].key < a[c + 1].key)
			c++;
		if (a[i].key >= a[c].key)
			return;
		t = a[i];
		a[i] = a[c];
		a[c] = t;
		i = c;
	}
}

static void sort_by_key(struct mt_hist *a, uint32_t n)
{
	struct mt_hist t;
	uint32_t i;

	for (i = n / 2; i-- > 0;)
		sift(a, n, i);
	for (i = n; i-- > 1;) {
		t = a[0];
		a[0] = a[i];
		a[i] = t;
		sift(a, i, 0);
	}
}

static void set_aside(int dirfd, const char *name, const char *shown, const char *why,
		      unsigned lineno)
{
	char aside[MT_PATH_MAX + 16];

	snprintf(aside, sizeof aside, "%s.corrupt", name);
	if (renameat(dirfd, name, dirfd, aside) == 0)
		mt_msg("%s:%u: %s: moved aside to %s.corrupt; this run plans without history",
		       shown, lineno, why, shown);
	else
		mt_msg_sys("%s:%u: %s, and it cannot be moved aside", shown, lineno, why);
}

/* Entries kept: at most MT_TESTS_MAX, and MT_HISTORY_BYTES of ids. */
struct room {
	uint32_t n;
	size_t bytes;
};

static int fits(struct room *room, const char *id)
{
	size_t n = strlen(id) + 1;

	if (room->n >= MT_TESTS_MAX || room->bytes + n > MT_HISTORY_BYTES)
		return 0;
	room->n++;
	room->bytes += n;
	return 1;
}

int mt_history_load(struct mt_history *h, int dirfd, const char *name, const char *shown)
{
	struct lines *l = &L;
	struct room room = { 0, 0 };
	const char *s;
	struct entry e;
	size_t n;
	int ok = 1, got;

	h->n = h->nbad = h->dropped = 0;
	h->merge = 0;
	h->start_us = 0;
	if (!lines_open(l, dirfd, name))
		return 1;	/* none yet (or not a file: replaced at the end) */
	while (ok && (got = lines_next(l, &s, &n)) != 0) {
		if (got < 0)
			ok = 0;
		else if (l->lineno == 1)
			ok = parse_head(s, n, &h->start_us);
		else if ((ok = parse_entry(s, entry_len(s, n), Id, sizeof Id, &e)) && *Id) {
			/* The entries the save keeps (in the file's order). */
			if (!fits(&room, Id)) {
				h->dropped++;
				continue;
			}
			h->h[h->n].key = key_of(Id);
			h->h[h->n].us = estimate(&e);
			if (e.bad_wall_us) {
				h->bad[h->nbad].key = h->h[h->n].key;
				h->bad[h->nbad++].us = e.bad_wall_us;
			}
			h->n++;
		}
	}
	close(l->fd);
	if (!ok) {
		set_aside(dirfd, name, shown, "not a durations file (damaged?)", l->lineno);
		h->n = h->nbad = 0;
		h->start_us = 0;
		return 0;
	}
	sort_by_key(h->h, h->n);
	sort_by_key(h->bad, h->nbad);
	h->merge = 1;
	return 1;
}

static void put_entry(struct mt_buf *out, const char *id, const struct entry *e)
{
	char stamp[40];
	struct mt_buf sb;
	int k;

	mt_buf_puts(out, "{\"id\":");
	mt_buf_jsons(out, id);
	mt_buf_puts(out, ",\"d\":[");
	for (k = 0; k < e->n; k++)
		mt_buf_printf(out, "%s%lld", k ? "," : "", (long long)e->d_us[k]);
	mt_buf_printf(out, "],\"lb\":%lld", (long long)e->lb_us);
	if (e->bad_wall_us) {
		mt_buf_init(&sb, stamp, sizeof stamp, -1);
		mt_buf_utc(&sb, e->bad_wall_us);
		mt_buf_printf(out, ",\"bad\":\"%s\"", stamp);
	}
	if (e->mem_kib)
		mt_buf_printf(out, ",\"m\":%u", e->mem_kib);
	mt_buf_puts(out, "},\n");
}

/* A test whose verdict this run tells: decided, and not told before. */
static int to_note(const struct mt_test *t)
{
	return t->kind == MT_KIND_TEST && t->verdict != MT_V_NONE && !t->gone &&
	       !(t->noted & MT_NOTED_DURATIONS);
}

/* An entry told this run's verdict of its test, and its peak memory. */
static void tell(struct entry *e, const struct mt_run *r, uint32_t slot, int64_t wall_us)
{
	const struct mt_test *t = &r->t[slot];

	note(e, (enum mt_verdict)t->verdict, t->duration_us, wall_us);
	if (r->mem_kib[slot])
		e->mem_kib = r->mem_kib[slot];
}

int mt_history_save(const struct mt_history *h, int dirfd, const char *name,
		    const struct mt_run *r, int64_t wall_us)
{
	static struct mt_atomic a;
	static uint8_t written[MT_TESTS_MAX / 8];
	struct lines *l = &L;
	struct room room = { 0, 0 };
	const struct mt_test *t;
	struct entry e;
	const char *s;
	size_t n;
	uint32_t i, slot;

	memset(written, 0, (r->n + 7) / 8);
	if (!mt_atomic_open_at(&a, dirfd, name))
		return 0;
	mt_buf_printf(&a.out, "{\"v\":1,\"start_us\":%lld,\"tests\":[\n", (long long)h->start_us);
	/* The file's entries, in its order, each with this run's verdict. A
	 * file that did not load well is not read again (it was moved aside,
	 * or could not be). */
	if (h->merge && lines_open(l, dirfd, name)) {
		while (lines_next(l, &s, &n) > 0) {
			if (l->lineno == 1)
				continue;	/* the head, read at load */
			if (!parse_entry(s, entry_len(s, n), Id, sizeof Id, &e))
				break;	/* changed since its load: keep what was read */
			if (!*Id)
				continue;
			slot = mt_run_find(r, MT_KIND_TEST, Id);
			if (slot != MT_NONE) {
				if (written[slot / 8] & (1u << slot % 8))
					continue;	/* twice in the file: once */
				written[slot / 8] |= (uint8_t)(1u << slot % 8);
				t = &r->t[slot];
				if (to_note(t))
					tell(&e, r, slot, wall_us);
			}
			if (fits(&room, Id))
				put_entry(&a.out, Id, &e);
		}
		close(l->fd);
	}
	/* Then the run's tests the file did not know. */
	for (i = 0; i < r->n; i++) {
		t = &r->t[i];
		if (!to_note(t) || (written[i / 8] & (1u << i % 8)))
			continue;
		memset(&e, 0, sizeof e);
		tell(&e, r, i, wall_us);
		if (fits(&room, mt_run_str(r, t->id)))
			put_entry(&a.out, mt_run_str(r, t->id), &e);
	}
	mt_buf_puts(&a.out, "{}]}\n");
	if (!mt_atomic_commit(&a)) {
		mt_atomic_abort(&a);
		return 0;
	}
	return 1;
}
