/* mtest: the test table and its verdicts. */
#include "mtest/run/run.h"

#include <string.h>

#include "mtest/base/hash.h"

/* A run's peak memory grows by this much per test (docs/architecture.md). */
_Static_assert(sizeof(struct mt_test) <= 64, "struct mt_test grew past 64 bytes");

static const char *const names[MT_V_COUNT] = {
	[MT_V_NONE] = "none",
	[MT_V_PASSED] = "passed",
	[MT_V_FAILED] = "failed",
	[MT_V_ERROR] = "error",
	[MT_V_SKIPPED] = "skipped",
	[MT_V_XFAILED] = "xfailed",
	[MT_V_XPASSED] = "xpassed",
	[MT_V_HUNG] = "hung",
	[MT_V_CRASHED] = "crashed",
	[MT_V_NOT_RUN] = "not_run",
	[MT_V_COLLECTION_ERROR] = "collection_error",
};

const char *mt_verdict_name(enum mt_verdict v)
{
	return (unsigned)v < MT_V_COUNT ? names[v] : "none";
}

enum mt_verdict mt_verdict_parse(const char *s)
{
	int v;

	for (v = MT_V_PASSED; v < MT_V_COUNT; v++)
		if (strcmp(s, names[v]) == 0)
			return (enum mt_verdict)v;
	return MT_V_NONE;
}

int mt_verdict_is_bad(enum mt_verdict v)
{
	return v == MT_V_FAILED || v == MT_V_ERROR || v == MT_V_HUNG ||
	       v == MT_V_CRASHED || v == MT_V_COLLECTION_ERROR;
}

void mt_run_init(struct mt_run *r, mt_verdict_fn *fn, void *ctx)
{
	/* An index holds cells only while its table holds entries: a table
	 * that starts zeroed (static) keeps them untouched until used. */
	if (r->n)
		memset(r->tidx, 0, sizeof r->tidx);
	if (r->nf)
		memset(r->fidx, 0, sizeof r->fidx);
	r->n = r->nf = 0;
	memset(r->count, 0, sizeof r->count);
	r->arena[0] = '\0';
	r->arena_len = 1;	/* offset 0 is "" */
	r->last_str = 0;
	r->last_file = 0;
	r->nwhy = 0;
	r->ntests = r->nfiles_bad = r->decided = r->over_limit = r->refused = r->planned = 0;
	r->quar = r->quar_bad = r->gone = 0;
	r->limit = NULL;
	r->on_verdict = fn;
	r->ctx = ctx;
}

const char *mt_run_str(const struct mt_run *r, uint32_t off)
{
	return off < r->arena_len ? r->arena + off : "";
}

static uint32_t intern(struct mt_run *r, const char *s, int *full)
{
	size_t n;
	uint32_t off;

	if (!s || !*s)
		return 0;
	/* The same reason for many tests (not_run by an interruption, the
	 * budget) is stored once. */
	if (r->last_str && strcmp(r->arena + r->last_str, s) == 0)
		return r->last_str;
	n = strlen(s) + 1;
	if (n > sizeof r->arena - r->arena_len) {
		if (!r->limit)
			r->limit = "MT_ARENA_BYTES";
		if (full)
			*full = 1;
		return 0;
	}
	off = r->arena_len;
	memcpy(r->arena + off, s, n);
	r->arena_len += (uint32_t)n;
	r->last_str = off;
	return off;
}

static const struct mt_why *why_of(const struct mt_run *r, const struct mt_test *t)
{
	static const struct mt_why none;

	return t->why && t->why <= r->nwhy ? &r->why[t->why - 1] : &none;
}

const char *mt_run_reason(const struct mt_run *r, const struct mt_test *t)
{
	return mt_run_str(r, why_of(r, t)->reason);
}

const char *mt_run_detail(const struct mt_run *r, const struct mt_test *t)
{
	return mt_run_str(r, why_of(r, t)->detail);
}

const char *mt_run_tbtail(const struct mt_run *r, const struct mt_test *t)
{
	return mt_run_str(r, why_of(r, t)->tbtail);
}

uint32_t mt_run_intern(struct mt_run *r, const char *s)
{
	return intern(r, s, NULL);
}

/* Tests and files share a probing scheme over their own index tables. */
static uint32_t *probe(uint32_t *tab, uint32_t size, const struct mt_run *r,
		       const char *key, uint64_t salt, int files)
{
	uint32_t mask = size - 1, i = (uint32_t)(mt_hash_index(key, strlen(key)) ^ salt) & mask;
	const char *have;

	for (;; i = (i + 1) & mask) {
		if (tab[i] == 0)
			return &tab[i];
		have = files ? mt_run_str(r, r->f[tab[i] - 1].rel)
			     : mt_run_str(r, r->t[tab[i] - 1].id);
		if (strcmp(have, key) == 0 &&
		    (files || r->t[tab[i] - 1].kind == salt))
			return &tab[i];
	}
}

void mt_run_file_abs(struct mt_run *r, uint32_t f, const char *abs)
{
	if (f < r->nf && !r->f[f].abs && abs && *abs)
		r->f[f].abs = intern(r, abs, NULL);
}

uint32_t mt_run_find(const struct mt_run *r, enum mt_kind kind, const char *id)
{
	uint32_t *cell = probe((uint32_t *)r->tidx, 2 * MT_TESTS_MAX, r, id, kind, 0);

	return *cell ? *cell - 1 : MT_NONE;
}

uint32_t mt_run_find_file(const struct mt_run *r, const char *rel)
{
	uint32_t *cell = probe((uint32_t *)r->fidx, 2 * MT_FILES_MAX, r, rel, 0, 1);

	return *cell ? *cell - 1 : MT_NONE;
}

static uint32_t add_file(struct mt_run *r, const char *rel, const char *abs)
{
	uint32_t *cell;
	int full = 0;
	struct mt_file *f;

	if (!rel || !*rel)
		return MT_NONE;
	/* A file's tests come together: most often, the last file again. */
	if (r->last_file < r->nf && strcmp(mt_run_str(r, r->f[r->last_file].rel), rel) == 0)
		return r->last_file;
	cell = probe(r->fidx, 2 * MT_FILES_MAX, r, rel, 0, 1);
	if (*cell)
		return r->last_file = *cell - 1;
	if (r->nf >= MT_FILES_MAX) {
		if (!r->limit)
			r->limit = "MT_FILES_MAX";
		return MT_NONE;
	}
	f = &r->f[r->nf];
	f->rel = intern(r, rel, &full);
	f->abs = intern(r, abs, &full);
	f->pending = 0;
	if (full)
		return MT_NONE;
	*cell = ++r->nf;
	r->last_file = r->nf - 1;
	return r->nf - 1;
}

uint32_t mt_run_add(struct mt_run *r, enum mt_kind kind, const char *id,
		    const char *file_rel, const char *file_abs, uint32_t line,
		    int64_t timeout_us)
{
	uint32_t *cell, file = MT_NONE;
	struct mt_test *t;
	int full = 0;

	if (kind == MT_KIND_TEST)
		r->ntests++;
	cell = probe(r->tidx, 2 * MT_TESTS_MAX, r, id, kind, 0);
	if (*cell) {
		if (kind == MT_KIND_TEST)
			r->ntests--;	/* known already */
		return *cell - 1;
	}
	if (r->n >= MT_TESTS_MAX) {
		if (!r->limit)
			r->limit = "MT_TESTS_MAX";
		return MT_NONE;
	}
	if (file_rel && *file_rel) {
		file = add_file(r, file_rel, file_abs);
		if (file == MT_NONE)
			return MT_NONE;
	}
	t = &r->t[r->n];
	memset(t, 0, sizeof *t);
	r->mem_kib[r->n] = 0;
	t->id = intern(r, id, &full);
	if (full)
		return MT_NONE;
	t->kind = (uint8_t)kind;
	t->file = file;
	t->line = line;
	t->timeout_us = timeout_us;
	if (file != MT_NONE && kind == MT_KIND_TEST)
		r->f[file].pending++;
	*cell = ++r->n;
	return r->n - 1;
}

static void count(struct mt_run *r, enum mt_kind kind, enum mt_verdict v)
{
	r->count[v]++;
	if (kind == MT_KIND_TEST)
		r->decided++;
	else
		r->nfiles_bad++;
}

int mt_run_decide(struct mt_run *r, uint32_t slot, const struct mt_vinfo *v)
{
	struct mt_test *t;
	struct mt_why w;

	if (slot >= r->n || v->verdict == MT_V_NONE || v->verdict >= MT_V_COUNT)
		return 0;
	t = &r->t[slot];
	if (t->verdict != MT_V_NONE) {
		r->refused++;	/* a second verdict: a bug, and never recorded */
		return 0;
	}
	t->verdict = (uint8_t)v->verdict;
	w.reason = mt_run_intern(r, v->reason);
	w.detail = mt_run_intern(r, v->detail);
	w.tbtail = mt_run_intern(r, v->tbtail);
	if ((w.reason || w.detail || w.tbtail) && r->nwhy < MT_TESTS_MAX) {
		r->why[r->nwhy++] = w;
		t->why = r->nwhy;
	}
	t->bundle = mt_run_intern(r, v->bundle);
	t->duration_us = v->duration_us;
	if (v->mem_kib > 0)
		r->mem_kib[slot] = v->mem_kib < UINT32_MAX ? (uint32_t)v->mem_kib : UINT32_MAX;
	t->worker = (uint16_t)v->worker;
	t->attempt = (uint8_t)v->attempt;
	if (t->kind == MT_KIND_TEST && t->file != MT_NONE && r->f[t->file].pending)
		r->f[t->file].pending--;
	count(r, (enum mt_kind)t->kind, v->verdict);
	if (v->planned && v->verdict == MT_V_NOT_RUN) {
		r->planned++;
		t->planned = 1;
	}
	if (t->quarantined) {
		r->quar++;
		r->quar_bad += mt_verdict_is_bad(v->verdict);
	}
	if (r->on_verdict)
		r->on_verdict(r->ctx, r, slot, v);
	return 1;
}

void mt_run_decide_unstored(struct mt_run *r, enum mt_kind kind, const struct mt_vinfo *v)
{
	if (v->verdict == MT_V_NONE || v->verdict >= MT_V_COUNT)
		return;
	if (kind == MT_KIND_TEST)
		r->over_limit++;
	count(r, kind, v->verdict);
	if (r->on_verdict)
		r->on_verdict(r->ctx, r, MT_NONE, v);
}

void mt_run_gone(struct mt_run *r, uint32_t slot)
{
	struct mt_test *t;

	if (slot >= r->n || r->t[slot].gone || r->t[slot].kind != MT_KIND_TEST)
		return;
	t = &r->t[slot];
	t->gone = 1;
	r->gone++;
	r->ntests--;
	if (t->verdict == MT_V_NONE) {
		if (t->file != MT_NONE && r->f[t->file].pending)
			r->f[t->file].pending--;
		return;
	}
	r->count[t->verdict]--;
	r->decided--;
	if (t->planned)
		r->planned--;
	if (t->quarantined) {
		r->quar--;
		r->quar_bad -= mt_verdict_is_bad((enum mt_verdict)t->verdict);
	}
}

uint32_t mt_run_left(const struct mt_run *r)
{
	return r->ntests - r->decided;
}

void mt_run_settle_rest_planned(struct mt_run *r, const char *reason, const char *detail)
{
	struct mt_vinfo v = { .verdict = MT_V_NOT_RUN, .reason = reason,
			      .detail = detail, .attempt = 1, .planned = 1 };
	uint32_t i;

	for (i = 0; i < r->n; i++)
		if (r->t[i].kind == MT_KIND_TEST && r->t[i].verdict == MT_V_NONE)
			mt_run_decide(r, i, &v);
}

void mt_run_settle_rest(struct mt_run *r, const char *reason, const char *detail)
{
	struct mt_vinfo v = { .verdict = MT_V_NOT_RUN, .reason = reason,
			      .detail = detail, .attempt = 1 };
	uint32_t i;

	for (i = 0; i < r->n; i++)
		if (r->t[i].kind == MT_KIND_TEST && r->t[i].verdict == MT_V_NONE)
			mt_run_decide(r, i, &v);
}

int mt_run_exit_code(const struct mt_run *r)
{
	uint32_t bad = 0;
	int v;

	for (v = MT_V_PASSED; v < MT_V_COUNT; v++)
		if (mt_verdict_is_bad((enum mt_verdict)v))
			bad += r->count[v];
	/* A quarantined test's failure is reported apart, not as the run's. */
	if (bad > r->quar_bad)
		return MT_EXIT_FAILED;
	/* Tests the plan left out (--tier, --shard, --budget) were never
	 * meant to run: they do not make a run incomplete. */
	if (r->count[MT_V_NOT_RUN] > r->planned || mt_run_left(r))
		return MT_EXIT_INCOMPLETE;
	/* A shard or plan that selected none of the collected tests is
	 * empty by construction, not a broken suite: exit 0 (the summary
	 * says so). A suite without tests is 5. */
	if (r->ntests == 0)
		return MT_EXIT_NO_TESTS;
	return MT_EXIT_OK;
}
