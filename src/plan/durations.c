/* mtest: the duration history (include/mtest/plan/durations.h). */
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

static uint32_t *cell(struct mt_history *h, const char *id)
{
	uint32_t mask = 2 * MT_TESTS_MAX - 1, i = (uint32_t)mt_hash64(id, strlen(id)) & mask;

	while (h->idx[i] && strcmp(h->arena + h->h[h->idx[i] - 1].id, id) != 0)
		i = (i + 1) & mask;
	return &h->idx[i];
}

struct mt_hist *mt_history_find(struct mt_history *h, const char *id)
{
	uint32_t *c = cell(h, id);

	return *c ? &h->h[*c - 1] : NULL;
}

static struct mt_hist *add(struct mt_history *h, const char *id)
{
	uint32_t *c = cell(h, id);
	size_t n = strlen(id) + 1;
	struct mt_hist *e;

	if (*c)
		return &h->h[*c - 1];
	if (h->n >= MT_TESTS_MAX || n > sizeof h->arena - h->arena_len) {
		h->dropped++;
		return NULL;
	}
	e = &h->h[h->n];
	memset(e, 0, sizeof *e);
	e->id = h->arena_len;
	memcpy(h->arena + h->arena_len, id, n);
	h->arena_len += (uint32_t)n;
	*c = ++h->n;
	return e;
}

int64_t mt_history_estimate(const struct mt_hist *e)
{
	int64_t s[MT_HISTORY_RUNS], t, med = 0;
	int i, j;

	if (!e)
		return 0;
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

void mt_history_note(struct mt_history *h, const char *id, enum mt_verdict v,
		     int64_t duration_us, int64_t wall_us)
{
	struct mt_hist *e = add(h, id);

	if (!e)
		return;
	e->seen = 1;
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

void mt_history_note_mem(struct mt_history *h, const char *id, uint32_t kib)
{
	struct mt_hist *e = kib ? add(h, id) : NULL;

	if (e)
		e->mem_kib = kib;
}

/* One entry line: {"id":"...","d":[us,...],"lb":us,"bad":"UTC","m":KiB}. */
static int parse_entry(struct mt_history *h, const char *line, size_t len)
{
	static struct mt_json js;
	static char id[MT_ID_MAX + 64];
	char stamp[40];
	struct mt_hist *e;
	int t, i, k;
	int64_t v;

	if (!mt_json_parse(&js, line, len))
		return 0;
	if (js.n == 1)
		return 1;	/* {}: the end marker */
	if (!mt_json_get_str(&js, 0, "id", id, sizeof id))
		return 0;
	e = add(h, id);
	if (!e)
		return 1;	/* full: counted, not damage */
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
static int parse_head(struct mt_history *h, const char *s, size_t n)
{
	const char *p = s + 7;
	char *end;

	if (n < 16 || memcmp(s, "{\"v\":1,", 7) != 0 ||
	    memcmp(s + n - 9, "\"tests\":[", 9) != 0)
		return 0;
	if (strncmp(p, "\"start_us\":", 11) == 0) {
		h->start_us = strtoll(p + 11, &end, 10);
		if (h->start_us < 0 || *end != ',')
			return 0;
	}
	return 1;
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

int mt_history_load(struct mt_history *h, int dirfd, const char *name, const char *shown)
{
	static char buf[MT_LINE_MAX];
	size_t len = 0, used;
	unsigned lineno = 0;
	char *nl, *start;
	ssize_t r;
	int fd, ok = 1, first = 1;

	h->n = h->arena_len = h->dropped = 0;
	h->start_us = 0;
	memset(h->idx, 0, sizeof h->idx);
	fd = mt_open_file_at(dirfd, name);
	if (fd < 0)
		return 1;	/* none yet (or not a file: replaced at the end) */
	for (;;) {
		r = read(fd, buf + len, sizeof buf - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			ok = 0;
			break;
		}
		len += (size_t)r;
		start = buf;
		while (ok && (nl = memchr(start, '\n', len - (size_t)(start - buf)))) {
			size_t n = (size_t)(nl - start);

			lineno++;
			if (n && start[n - 1] == ',')
				n--;
			if (first)
				ok = parse_head(h, start, n);
			else if (n >= 2 && memcmp(start + n - 2, "]}", 2) == 0)
				ok = parse_entry(h, start, n - 2);
			else
				ok = parse_entry(h, start, n);
			first = 0;
			start = nl + 1;
		}
		used = (size_t)(start - buf);
		memmove(buf, start, len - used);
		len -= used;
		if (!ok || r == 0 || len == sizeof buf) {
			if (len && ok)
				ok = 0;	/* no newline at the end: cut short */
			break;
		}
	}
	close(fd);
	if (!ok) {
		set_aside(dirfd, name, shown, "not a durations file (damaged?)", lineno);
		h->n = h->arena_len = 0;
		memset(h->idx, 0, sizeof h->idx);
		return 0;
	}
	return 1;
}

int mt_history_save(const struct mt_history *h, int dirfd, const char *name)
{
	static struct mt_atomic a;
	char stamp[40];
	struct mt_buf sb;
	uint32_t i;
	int k;

	if (!mt_atomic_open_at(&a, dirfd, name))
		return 0;
	mt_buf_printf(&a.out, "{\"v\":1,\"start_us\":%lld,\"tests\":[\n", (long long)h->start_us);
	for (i = 0; i < h->n; i++) {
		const struct mt_hist *e = &h->h[i];

		mt_buf_puts(&a.out, "{\"id\":");
		mt_buf_jsons(&a.out, h->arena + e->id);
		mt_buf_puts(&a.out, ",\"d\":[");
		for (k = 0; k < e->n; k++)
			mt_buf_printf(&a.out, "%s%lld", k ? "," : "", (long long)e->d_us[k]);
		mt_buf_printf(&a.out, "],\"lb\":%lld", (long long)e->lb_us);
		if (e->bad_wall_us) {
			mt_buf_init(&sb, stamp, sizeof stamp, -1);
			mt_buf_utc(&sb, e->bad_wall_us);
			mt_buf_printf(&a.out, ",\"bad\":\"%s\"", stamp);
		}
		if (e->mem_kib)
			mt_buf_printf(&a.out, ",\"m\":%u", e->mem_kib);
		mt_buf_puts(&a.out, "},\n");
	}
	mt_buf_puts(&a.out, "{}]}\n");
	if (!mt_atomic_commit(&a)) {
		mt_atomic_abort(&a);
		return 0;
	}
	return 1;
}
