/* mtest: lanes' work, longest expected first (include/mtest/plan/plan.h). */
#include "mtest/plan/plan.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

void mt_plan_init(struct mt_plan *p, int nlanes, enum mt_dist dist)
{
	p->nlanes = nlanes;
	p->dist = dist;
	p->known = 0;
	p->by_value = 0;
	p->suite_us = MT_DEFAULT_EST_US;
	p->start_us = MT_DEFAULT_START_US;
	memset(p->lane, MT_LANE_NONE, sizeof p->lane);
	memset(p->load_us, 0, sizeof p->load_us);
	p->ngroups = p->groups_over = 0;
}

int mt_plan_group(struct mt_plan *p, const char *name)
{
	int g;

	for (g = 0; g < p->ngroups; g++)
		if (strcmp(p->group_name[g], name) == 0)
			return g;
	if (p->ngroups >= MT_GROUPS_MAX - 1) {
		if (!p->groups_over++)
			snprintf(p->group_name[MT_GROUPS_MAX - 1], MT_GROUP_NAME_MAX,
				 "(over MT_GROUPS_MAX)");
		return MT_GROUPS_MAX - 1;
	}
	snprintf(p->group_name[p->ngroups], MT_GROUP_NAME_MAX, "%s", name);
	return p->ngroups++;
}

void mt_plan_expect(struct mt_plan *p, uint32_t slot, int64_t us)
{
	if (slot < MT_TESTS_MAX && us > 0) {
		p->est_us[slot] = us;
		p->known = 1;
	}
}

int mt_plan_waiting(const struct mt_run *r, uint32_t slot)
{
	const struct mt_test *t = &r->t[slot];

	return t->kind == MT_KIND_TEST && t->verdict == MT_V_NONE && !t->started;
}

void mt_plan_means(struct mt_plan *p, const struct mt_run *r)
{
	static uint32_t count[MT_FILES_MAX];
	int64_t sum = 0;
	uint32_t i, n = 0, f;

	memset(count, 0, sizeof count[0] * r->nf);
	memset(p->file_us, 0, sizeof p->file_us[0] * r->nf);
	for (i = 0; i < r->n; i++) {
		if (p->est_us[i] <= 0)
			continue;
		sum += p->est_us[i];
		n++;
		if ((f = r->t[i].file) != MT_NONE) {
			p->file_us[f] += p->est_us[i];
			count[f]++;
		}
	}
	for (f = 0; f < r->nf; f++)
		p->file_us[f] = count[f] ? p->file_us[f] / count[f] : 0;
	p->suite_us = n ? sum / n : MT_DEFAULT_EST_US;
}

int64_t mt_plan_est(const struct mt_plan *p, const struct mt_run *r, uint32_t slot)
{
	uint32_t f = r->t[slot].file;

	if (p->est_us[slot] > 0)
		return p->est_us[slot];
	if (f != MT_NONE && p->file_us[f] > 0)
		return p->file_us[f];
	return p->suite_us > 0 ? p->suite_us : MT_DEFAULT_EST_US;
}

/* Heap sort of idx[0..n) by key(ctx, idx) descending, then idx ascending:
 * no allocation (the C library's qsort may call malloc). */
typedef int64_t key_fn(const void *ctx, uint32_t i);

static int before(key_fn *key, const void *ctx, uint32_t a, uint32_t b)
{
	int64_t ka = key(ctx, a), kb = key(ctx, b);

	return ka != kb ? ka > kb : a < b;
}

static void sift(uint32_t *idx, uint32_t n, uint32_t i, key_fn *key, const void *ctx)
{
	uint32_t c, t;

	for (;;) {
		c = 2 * i + 1;
		if (c >= n)
			return;
		/* A heap with the last in order at the top. */
		if (c + 1 < n && before(key, ctx, idx[c], idx[c + 1]))
			c++;
		if (!before(key, ctx, idx[i], idx[c]))
			return;
		t = idx[i];
		idx[i] = idx[c];
		idx[c] = t;
		i = c;
	}
}

static void sort_by(uint32_t *idx, uint32_t n, key_fn *key, const void *ctx)
{
	uint32_t i, t;

	for (i = n / 2; i-- > 0;)
		sift(idx, n, i, key, ctx);
	for (i = n; i-- > 1;) {
		t = idx[0];
		idx[0] = idx[i];
		idx[i] = t;
		sift(idx, i, 0, key, ctx);
	}
}

static int64_t in_array(const void *key, uint32_t i)
{
	return ((const int64_t *)key)[i];
}

static void sort_desc(uint32_t *idx, uint32_t n, const int64_t *key)
{
	sort_by(idx, n, in_array, key);
}

static int least_loaded(const struct mt_plan *p, unsigned mask)
{
	int k, best = -1;

	for (k = 0; k < p->nlanes; k++)
		if ((mask >> k & 1) && (best < 0 || p->load_us[k] < p->load_us[best]))
			best = k;
	return best;
}

/* LPT: the n tests in p->order, longest expected (key) first, each on the
 * lane with the least expected work. Returns n. */
static uint32_t place_tests(struct mt_plan *p, unsigned mask, const int64_t *key, uint32_t n)
{
	uint32_t u;
	int lane;

	sort_desc(p->order, n, key);
	for (u = 0; u < n; u++) {
		lane = least_loaded(p, mask);
		p->lane[p->order[u]] = (uint8_t)lane;
		p->load_us[lane] += key[p->order[u]];
	}
	return n;
}

/* A test whose history says it is long, in a file with another such. */
static uint32_t split_heavy(struct mt_plan *p, const struct mt_run *r, unsigned mask,
			    int64_t *key)
{
	static uint16_t heavy_in[MT_FILES_MAX];
	uint32_t i, n = 0;

	memset(heavy_in, 0, sizeof heavy_in[0] * r->nf);
	for (i = 0; i < r->n; i++)
		if (p->est_us[i] >= MT_PLAN_SPLIT_US && r->t[i].file != MT_NONE &&
		    heavy_in[r->t[i].file] < UINT16_MAX)
			heavy_in[r->t[i].file]++;
	for (i = 0; i < r->n; i++)
		if (mt_plan_waiting(r, i) && p->lane[i] == MT_LANE_NONE &&
		    p->est_us[i] >= MT_PLAN_SPLIT_US && r->t[i].file != MT_NONE &&
		    heavy_in[r->t[i].file] >= 2 && !p->groups[i]) {
			key[i] = p->est_us[i];
			p->order[n++] = i;
		}
	return place_tests(p, mask, key, n);
}

/* Units of work, joined by exclusive groups (union-find, the smaller
 * index the root, so that order is kept): files with --dist file, tests
 * with --dist test. */
static uint32_t uparent[MT_TESTS_MAX];

static uint32_t ufind(uint32_t u)
{
	while (uparent[u] != u) {
		uparent[u] = uparent[uparent[u]];
		u = uparent[u];
	}
	return u;
}

static void ujoin(uint32_t a, uint32_t b)
{
	a = ufind(a);
	b = ufind(b);
	if (a != b)
		uparent[a > b ? a : b] = a < b ? a : b;
}

static int in_pool(const struct mt_plan *p, const struct mt_run *r, uint32_t i)
{
	return mt_plan_waiting(r, i) && p->lane[i] == MT_LANE_NONE;
}

static uint32_t unit_of(const struct mt_plan *p, const struct mt_run *r, uint32_t i)
{
	return p->dist == MT_DIST_FILE ? r->t[i].file : i;
}

/* Every unit that holds a test of a group joins the group's first. */
static void join_groups(const struct mt_plan *p, const struct mt_run *r)
{
	uint32_t first[MT_GROUPS_MAX], i, u;
	int g;

	if (!p->ngroups && !p->groups_over)
		return;
	for (g = 0; g < MT_GROUPS_MAX; g++)
		first[g] = MT_NONE;
	for (i = 0; i < r->n; i++) {
		if (!p->groups[i] || !in_pool(p, r, i) || (u = unit_of(p, r, i)) == MT_NONE)
			continue;
		for (g = 0; g < MT_GROUPS_MAX; g++) {
			if (!(p->groups[i] >> g & 1))
				continue;
			if (first[g] == MT_NONE)
				first[g] = u;
			else
				ujoin(first[g], u);
		}
	}
}

uint32_t mt_plan_assign(struct mt_plan *p, const struct mt_run *r, unsigned mask)
{
	static int64_t key[MT_TESTS_MAX], unit_load[MT_TESTS_MAX];
	static uint8_t unit_lane[MT_TESTS_MAX];
	uint32_t i, n = 0, k, u, nunits, assigned = 0;
	int lane, by_file = p->dist == MT_DIST_FILE;

	if (least_loaded(p, mask) < 0)
		return 0;
	/* --dist file: a file known to hold two or more long tests (hangs,
	 * by their history) is split: those tests are units of their own,
	 * placed first, longest first, so that their waits overlap on
	 * different lanes; the rest of the file stays together. */
	if (by_file)
		assigned += split_heavy(p, r, mask, key);
	/* Units are files (or tests), joined by their groups: each unit's
	 * waiting tests of the pool. */
	nunits = by_file ? r->nf : r->n;
	for (u = 0; u < nunits; u++) {
		uparent[u] = u;
		key[u] = unit_load[u] = 0;
	}
	join_groups(p, r);
	for (i = 0; i < r->n; i++)
		if (in_pool(p, r, i) && (u = unit_of(p, r, i)) != MT_NONE)
			unit_load[ufind(u)] += mt_plan_est(p, r, i);
	for (u = 0; u < nunits; u++)
		key[u] = by_file && p->by_value ? 0 : unit_load[u];
	/* --budget: files by the value of their best test, so that the
	 * first lane to start runs the most valuable first (as the budget's
	 * makespan counted them). */
	for (i = 0; by_file && p->by_value && i < r->n; i++)
		if (in_pool(p, r, i) && (u = unit_of(p, r, i)) != MT_NONE &&
		    p->value[i] > key[ufind(u)])
			key[ufind(u)] = p->value[i];
	for (u = 0; u < nunits; u++)
		if (unit_load[u] > 0 && uparent[u] == u)
			p->order[n++] = u;
	/* Longest first, each to the lane with the least expected work. */
	sort_desc(p->order, n, key);
	for (k = 0; k < n; k++) {
		lane = least_loaded(p, mask);
		p->load_us[lane] += unit_load[p->order[k]];
		unit_lane[p->order[k]] = (uint8_t)lane;
	}
	for (i = 0; i < r->n; i++)
		if (in_pool(p, r, i) && (u = unit_of(p, r, i)) != MT_NONE) {
			p->lane[i] = unit_lane[ufind(u)];
			assigned++;
		}
	return assigned;
}

void mt_plan_release(struct mt_plan *p, const struct mt_run *r, int lane)
{
	uint32_t i;

	for (i = 0; i < r->n; i++)
		if (p->lane[i] == lane && mt_plan_waiting(r, i))
			p->lane[i] = MT_LANE_NONE;
	p->load_us[lane] = 0;
}

uint32_t mt_plan_count(const struct mt_plan *p, const struct mt_run *r, int lane, uint32_t f)
{
	uint32_t i, n = 0;

	for (i = 0; i < r->n; i++)
		n += p->lane[i] == lane && mt_plan_waiting(r, i) && (f == MT_NONE || r->t[i].file == f);
	return n;
}

void mt_plan_done(struct mt_plan *p, const struct mt_run *r, uint32_t slot)
{
	int lane = slot < MT_TESTS_MAX ? p->lane[slot] : MT_LANE_NONE;

	if (lane == MT_LANE_NONE || lane >= p->nlanes)
		return;
	p->load_us[lane] -= mt_plan_est(p, r, slot);
	if (p->load_us[lane] < 0)
		p->load_us[lane] = 0;
}

/* What orders a lane's queue: computed for each item as the sort asks,
 * rather than held in a table as large as the suite. */
struct queue_order {
	const struct mt_plan *p;
	const struct mt_run *r;
	const uint32_t *map;
	const int64_t *file_us;
};

static int64_t queue_key(const void *ctx, uint32_t item)
{
	const struct queue_order *q = ctx;
	uint32_t slot = q->map[item], f = slot != MT_NONE ? q->r->t[slot].file : MT_NONE;

	/* --budget: the knapsack's value, highest first. */
	if (q->p->by_value)
		return slot != MT_NONE ? q->p->value[slot] : 0;
	/* A file's items together, the file expected longest first. */
	return f != MT_NONE ? q->file_us[f] * (int64_t)MT_FILES_MAX * 4 - (int64_t)f : 0;
}

void mt_plan_order(const struct mt_plan *p, const struct mt_run *r, const uint32_t *map,
		   uint32_t *queue, uint32_t n)
{
	static int64_t file_us[MT_FILES_MAX];
	struct queue_order q = { p, r, map, file_us };
	uint32_t k, slot;

	if (n < 2 || (!p->by_value && !p->known))
		return;	/* no history: the collection's order stands */
	if (!p->by_value) {
		memset(file_us, 0, sizeof file_us[0] * r->nf);
		for (k = 0; k < n; k++) {
			slot = map[queue[k]];
			if (slot != MT_NONE && r->t[slot].file != MT_NONE)
				file_us[r->t[slot].file] += mt_plan_est(p, r, slot);
		}
	}
	/* Ties in the collection's order (item indices grow). */
	sort_by(queue, n, queue_key, &q);
}
