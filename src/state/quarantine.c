/* mtest: quarantine.json (include/mtest/state/quarantine.h). */
#include "mtest/state/quarantine.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "mtest/base/buf.h"
#include "mtest/base/fsx.h"
#include "mtest/base/hash.h"
#include "mtest/base/json.h"
#include "mtest/base/msg.h"

static uint32_t *cell(struct mt_quarantine *q, const char *id)
{
	uint32_t mask = 2 * MT_TESTS_MAX - 1, i = (uint32_t)mt_hash_index(id, strlen(id)) & mask;

	while (q->idx[i] && strcmp(q->arena + q->e[q->idx[i] - 1].id, id) != 0)
		i = (i + 1) & mask;
	return &q->idx[i];
}

struct mt_qentry *mt_quar_find(struct mt_quarantine *q, const char *id)
{
	uint32_t *c = cell(q, id);

	return *c ? &q->e[*c - 1] : NULL;
}

const char *mt_quar_id(const struct mt_quarantine *q, const struct mt_qentry *e)
{
	return q->arena + e->id;
}

static struct mt_qentry *add(struct mt_quarantine *q, const char *id)
{
	uint32_t *c = cell(q, id);
	size_t n = strlen(id) + 1;
	struct mt_qentry *e;

	if (*c)
		return &q->e[*c - 1];
	if (q->n >= MT_TESTS_MAX || n > sizeof q->arena - q->arena_len)
		return NULL;
	e = &q->e[q->n];
	memset(e, 0, sizeof *e);
	e->id = q->arena_len;
	memcpy(q->arena + q->arena_len, id, n);
	q->arena_len += (uint32_t)n;
	*c = ++q->n;
	return e;
}

int mt_quar_is_in(const struct mt_qentry *e)
{
	return e && (e->pin == 'i' || (e->pin != 'o' && e->in));
}

int mt_quar_note(struct mt_quarantine *q, const char *id, enum mt_verdict v)
{
	struct mt_qentry *e;
	size_t n;
	int bad, i, was;
	char r;

	switch (v) {
	case MT_V_PASSED: case MT_V_XFAILED: case MT_V_XPASSED: r = 'P'; break;
	case MT_V_FAILED: case MT_V_ERROR: case MT_V_HUNG: case MT_V_CRASHED: r = 'F'; break;
	default: return 0;	/* skipped, not run: says nothing of flakiness */
	}
	/* A good result of a test with no entry changes nothing (only a
	 * failure can put it in, and such an entry is never saved): no entry,
	 * so that a passing suite costs no memory per test here. */
	e = r == 'P' ? mt_quar_find(q, id) : add(q, id);
	if (!e)
		return 0;
	n = strlen(e->h);
	if (n == MT_QUAR_RUNS) {
		memmove(e->h, e->h + 1, MT_QUAR_RUNS - 1);
		n--;
	}
	e->h[n++] = r;
	e->h[n] = '\0';
	was = e->in;
	for (bad = 0, i = 0; e->h[i]; i++)
		bad += e->h[i] == 'F';
	if (!e->in && bad >= 3)
		e->in = 1;
	else if (e->in && n >= 3 && strcmp(e->h + n - 3, "PPP") == 0)
		e->in = 0;
	return e->in == was ? 0 : e->in ? 1 : -1;
}

int mt_quar_pin(struct mt_quarantine *q, const char *id, char pin)
{
	struct mt_qentry *e = add(q, id);

	if (!e)
		return 0;
	e->pin = pin;
	return 1;
}

/* Empty. Only an index that holds entries is cleared: a table that
 * starts zeroed (static) keeps its index untouched, and so not resident,
 * until a test fails. */
static void reset(struct mt_quarantine *q)
{
	if (q->n)
		memset(q->idx, 0, sizeof q->idx);
	q->n = q->arena_len = 0;
}

static int parse_line(struct mt_quarantine *q, const char *s, size_t n)
{
	static struct mt_json js;
	static char id[MT_ID_MAX + 64];
	char h[16], pin[8];
	struct mt_qentry *e;
	int b = 0;

	if (!mt_json_parse(&js, s, n))
		return 0;
	if (js.n == 1)
		return 1;
	if (!mt_json_get_str(&js, 0, "id", id, sizeof id))
		return 0;
	mt_json_get_str(&js, 0, "h", h, sizeof h);
	if (strspn(h, "PF") != strlen(h) || strlen(h) > MT_QUAR_RUNS)
		return 0;
	if (!(e = add(q, id)))
		return 1;
	snprintf(e->h, sizeof e->h, "%s", h);
	e->in = mt_json_get_bool(&js, 0, "in", &b) && b;
	mt_json_get_str(&js, 0, "pin", pin, sizeof pin);
	e->pin = strcmp(pin, "in") == 0 ? 'i' : strcmp(pin, "out") == 0 ? 'o' : 0;
	return 1;
}

int mt_quar_load(struct mt_quarantine *q, int dirfd, const char *name, const char *shown)
{
	static char buf[MT_LINE_MAX];
	char aside[MT_PATH_MAX + 16];
	size_t len = 0, used, k;
	char *nl, *start;
	unsigned lineno = 0;
	ssize_t r;
	int fd, ok = 1, first = 1;

	reset(q);
	fd = mt_open_file_at(dirfd, name);
	if (fd < 0)
		return 1;
	for (;;) {
		r = read(fd, buf + len, sizeof buf - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			ok = 0;
			break;
		}
		len += (size_t)r;
		for (start = buf; ok && (nl = memchr(start, '\n', len - (size_t)(start - buf)));
		     start = nl + 1) {
			k = (size_t)(nl - start);
			lineno++;
			if (k && start[k - 1] == ',')
				k--;
			if (first)
				ok = k == 16 && memcmp(start, "{\"v\":1,\"tests\":[", 16) == 0;
			else
				ok = parse_line(q, start, k >= 2 && memcmp(start + k - 2, "]}", 2) == 0 ?
						k - 2 : k);
			first = 0;
		}
		used = (size_t)(start - buf);
		memmove(buf, start, len - used);
		len -= used;
		if (!ok || r == 0 || len == sizeof buf) {
			ok = ok && !len;
			break;
		}
	}
	close(fd);
	if (ok)
		return 1;
	snprintf(aside, sizeof aside, "%s.corrupt", name);
	if (renameat(dirfd, name, dirfd, aside) == 0)
		mt_msg("%s:%u: not a quarantine file (damaged?): moved aside to %s.corrupt", shown,
		       lineno, shown);
	else
		mt_msg_sys("%s:%u: not a quarantine file, and it cannot be moved aside", shown,
			   lineno);
	reset(q);
	return 0;
}

int mt_quar_save(const struct mt_quarantine *q, int dirfd, const char *name)
{
	static struct mt_atomic a;
	uint32_t i;

	if (!mt_atomic_open_at(&a, dirfd, name))
		return 0;
	mt_buf_puts(&a.out, "{\"v\":1,\"tests\":[\n");
	for (i = 0; i < q->n; i++) {
		const struct mt_qentry *e = &q->e[i];

		/* Only failures can put a test in: one that never failed of
		 * late need not be remembered (the file stays small). */
		if (!e->in && !e->pin && !strchr(e->h, 'F'))
			continue;
		mt_buf_puts(&a.out, "{\"id\":");
		mt_buf_jsons(&a.out, q->arena + e->id);
		mt_buf_printf(&a.out, ",\"h\":\"%s\",\"in\":%s", e->h, e->in ? "true" : "false");
		if (e->pin)
			mt_buf_printf(&a.out, ",\"pin\":\"%s\"", e->pin == 'i' ? "in" : "out");
		mt_buf_puts(&a.out, "},\n");
	}
	mt_buf_puts(&a.out, "{}]}\n");
	if (!mt_atomic_commit(&a)) {
		mt_atomic_abort(&a);
		return 0;
	}
	return 1;
}
