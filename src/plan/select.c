/* mtest: tiers, shards and the time budget (include/mtest/plan/select.h). */
#include "mtest/plan/select.h"

#include <stdio.h>
#include <string.h>

static const struct { const char *name; int tier; } tiers[] = {
	{ "smoke", 0 },
	{ "contract", 1 }, { "property", 1 }, { "regression", 1 }, { "fuzz", 1 },
	{ "integration", 1 },
	{ "concurrency", 2 }, { "conformance", 2 }, { "use_case", 2 },
	{ "perf", 3 }, { "stress", 3 }, { "e2e", 3 }, { "slow", 3 },
};

int mt_tier_of(const char (*markers)[MT_MARKER_NAME_MAX], int n)
{
	int i, k, tier = -1;

	for (i = 0; i < n; i++)
		for (k = 0; k < (int)(sizeof tiers / sizeof tiers[0]); k++)
			if (strcmp(markers[i], tiers[k].name) == 0 && tiers[k].tier > tier)
				tier = tiers[k].tier;
	return tier < 0 ? 1 : tier;	/* unmarked: an ordinary test, tier 1 */
}

static void leave_out(struct mt_run *r, uint32_t slot, const char *reason, const char *detail)
{
	struct mt_vinfo v = { .verdict = MT_V_NOT_RUN, .reason = reason, .detail = detail,
			      .attempt = 1, .planned = 1 };

	mt_run_decide(r, slot, &v);
}

static void by_tier(struct mt_run *r, const struct mt_opts *o, struct mt_selection *out)
{
	char detail[64];
	uint32_t i;

	if (o->tier_lo <= 0 && o->tier_hi >= 3)
		return;
	for (i = 0; i < r->n; i++) {
		if (!mt_plan_waiting(r, i) || (r->t[i].tier >= o->tier_lo && r->t[i].tier <= o->tier_hi))
			continue;
		if (o->tier_lo == o->tier_hi)
			snprintf(detail, sizeof detail, "not in --tier %d", o->tier_lo);
		else
			snprintf(detail, sizeof detail, "not in --tier %d-%d", o->tier_lo, o->tier_hi);
		leave_out(r, i, "tier", detail);
		out->tier_out++;
	}
}

/* Heap sort of idx by key descending, ties by index (deterministic). */
static void sift(uint32_t *idx, uint32_t n, uint32_t i, const int64_t *key)
{
	uint32_t c, t;

	for (;;) {
		c = 2 * i + 1;
		if (c >= n)
			return;
		if (c + 1 < n && (key[idx[c]] != key[idx[c + 1]] ? key[idx[c]] > key[idx[c + 1]] :
				  idx[c] < idx[c + 1]))
			c++;
		if (!(key[idx[i]] != key[idx[c]] ? key[idx[i]] > key[idx[c]] : idx[i] < idx[c]))
			return;
		t = idx[i];
		idx[i] = idx[c];
		idx[c] = t;
		i = c;
	}
}

static void sort_desc(uint32_t *idx, uint32_t n, const int64_t *key)
{
	uint32_t i, t;

	for (i = n / 2; i-- > 0;)
		sift(idx, n, i, key);
	for (i = n; i-- > 1;) {
		t = idx[0];
		idx[0] = idx[i];
		idx[i] = t;
		sift(idx, i, 0, key);
	}
}

/* Files by their number of tests, most first, ties by path: the shards'
 * order (heap sort: no allocation). */
static int before(const struct mt_run *r, const uint32_t *count, uint32_t a, uint32_t b)
{
	if (count[a] != count[b])
		return count[a] > count[b];
	return strcmp(mt_run_str(r, r->f[a].rel), mt_run_str(r, r->f[b].rel)) < 0;
}

static void sift_files(const struct mt_run *r, const uint32_t *count, uint32_t *idx, uint32_t n,
		       uint32_t i)
{
	uint32_t c, t;

	for (;;) {
		c = 2 * i + 1;
		if (c >= n)
			return;
		/* A max-heap of "comes last": the sort ends in order. */
		if (c + 1 < n && before(r, count, idx[c], idx[c + 1]))
			c++;
		if (!before(r, count, idx[i], idx[c]))
			return;
		t = idx[i];
		idx[i] = idx[c];
		idx[c] = t;
		i = c;
	}
}

static void sort_files(const struct mt_run *r, const uint32_t *count, uint32_t *idx, uint32_t n)
{
	uint32_t i, t;

	for (i = n / 2; i-- > 0;)
		sift_files(r, count, idx, n, i);
	for (i = n; i-- > 1;) {
		t = idx[0];
		idx[0] = idx[i];
		idx[i] = t;
		sift_files(r, count, idx, i, 0);
	}
}

/* Whole files to shards by their number of collected tests in the
 * selected tiers, most first, ties by path, each to the shard with the
 * fewest tests so far. Only the collection decides: never the duration
 * history, which every run (every shard) rewrites, nor what earlier runs
 * or a stopped run already did. So shards run one after another on one
 * state directory, on boxes with different histories, or resumed, cover
 * the selection exactly once (docs/planning.md). */
static void by_shard(struct mt_run *r, const struct mt_opts *o, struct mt_selection *out)
{
	static uint32_t count[MT_FILES_MAX];
	static uint32_t order[MT_FILES_MAX];
	static uint16_t shard_of[MT_FILES_MAX];
	uint32_t load[MT_SHARDS_MAX] = { 0 };
	char detail[64];
	uint32_t i, n = 0, f;
	int k, best;

	if (o->shard_n <= 1)
		return;
	memset(count, 0, sizeof count[0] * r->nf);
	for (i = 0; i < r->n; i++)
		if (r->t[i].kind == MT_KIND_TEST && r->t[i].file != MT_NONE && r->t[i].seen_by &&
		    r->t[i].tier >= o->tier_lo && r->t[i].tier <= o->tier_hi)
			count[r->t[i].file]++;
	for (f = 0; f < r->nf; f++)
		if (count[f] > 0)
			order[n++] = f;
	sort_files(r, count, order, n);
	for (i = 0; i < n; i++) {
		for (best = 0, k = 1; k < o->shard_n; k++)
			if (load[k] < load[best])
				best = k;
		shard_of[order[i]] = (uint16_t)best;
		load[best] += count[order[i]];
	}
	for (i = 0; i < r->n; i++) {
		if (!mt_plan_waiting(r, i) || r->t[i].file == MT_NONE)
			continue;
		k = count[r->t[i].file] ? shard_of[r->t[i].file] : 0;
		if (k == o->shard_k - 1)
			continue;
		snprintf(detail, sizeof detail, "not in shard %d/%d", o->shard_k, o->shard_n);
		leave_out(r, i, "shard", detail);
		out->shard_out++;
	}
}

/* The longest lane's work if the kept tests' files went to `lanes` lanes
 * longest first (as the plan will give them). */
static int64_t makespan(struct mt_run *r, struct mt_plan *p, const unsigned char *keep,
			int lanes)
{
	static int64_t file_us[MT_FILES_MAX], file_value[MT_FILES_MAX];
	static uint32_t order[MT_FILES_MAX];
	int64_t load[MT_LANES_MAX] = { 0 }, worst = 0;
	uint32_t i, n = 0, f;
	int k, best;

	memset(file_us, 0, sizeof file_us[0] * r->nf);
	memset(file_value, 0, sizeof file_value[0] * r->nf);
	for (i = 0; i < r->n; i++)
		if (keep[i] && r->t[i].file != MT_NONE) {
			file_us[r->t[i].file] += mt_plan_est(p, r, i);
			if (p->value[i] > file_value[r->t[i].file])
				file_value[r->t[i].file] = p->value[i];
		}
	for (f = 0; f < r->nf; f++)
		if (file_us[f] > 0)
			order[n++] = f;
	/* In the order mt_plan_assign will give them: by value. */
	sort_desc(order, n, file_value);
	/* The first lane's worker collects the suite before the others
	 * start theirs: each lane begins that late. */
	for (k = 0; k < lanes; k++)
		load[k] = p->start_us * (k ? 2 : 1);
	for (i = 0; i < n; i++) {
		for (best = 0, k = 1; k < lanes; k++)
			if (load[k] < load[best])
				best = k;
		load[best] += file_us[order[i]];
	}
	for (k = 0; k < lanes; k++)
		if (load[k] > worst)
			worst = load[k];
	return worst;
}

/* A greedy knapsack under budget x lanes: tier 0 always, then the tests
 * that failed most recently, then the shortest first (the most tests for
 * the time); then, while the plan's longest lane would overrun the
 * budget, the last taken go. */
static void by_budget(struct mt_run *r, struct mt_plan *p, struct mt_history *hist,
		      const struct mt_opts *o, struct mt_selection *out)
{
	static int64_t key[MT_TESTS_MAX];
	static uint32_t order[MT_TESTS_MAX];
	static unsigned char keep[MT_TESTS_MAX];
	int lanes = o->lanes > 0 ? o->lanes : 1;
	int64_t cap = (o->budget_us - p->start_us) * lanes - p->start_us * (lanes - 1), sum = 0, est;
	uint32_t i, n = 0, taken;
	int64_t bad;

	memset(keep, 0, r->n);
	for (i = 0; i < r->n; i++) {
		if (!mt_plan_waiting(r, i))
			continue;
		est = mt_plan_est(p, r, i);
		bad = hist ? mt_history_last_bad(hist, mt_run_str(r, r->t[i].id)) : 0;
		/* Classes far apart, then within a class: recent bad first,
		 * or shorter first. */
		if (r->t[i].tier == 0)
			key[i] = MT_VALUE_TIER0;
		else if (bad)
			key[i] = MT_VALUE_BAD + bad / 1000;
		else
			key[i] = MT_VALUE_REST - est;
		order[n++] = i;
		p->value[i] = key[i];
	}
	p->by_value = 1;
	sort_desc(order, n, key);
	for (taken = 0; taken < n; taken++) {
		i = order[taken];
		est = mt_plan_est(p, r, i);
		if (r->t[i].tier != 0 && sum + est > cap)
			break;
		keep[i] = 1;
		sum += est;
	}
	/* A few tests at a time: each look at the makespan is a pass. */
	while (taken > 0 && r->t[order[taken - 1]].tier != 0 &&
	       makespan(r, p, keep, lanes) > o->budget_us) {
		uint32_t k = taken / 32 + 1;

		while (k-- && taken > 0 && r->t[order[taken - 1]].tier != 0)
			keep[order[--taken]] = 0;
	}
	out->predicted_us = makespan(r, p, keep, lanes);
	/* What was chosen runs in the order of its value (mt_plan_assign,
	 * mt_plan_order): what the clock cuts is what was worth least. */
	for (i = 0; i < n; i++) {
		p->value[order[i]] = keep[order[i]] ? key[order[i]] : 0;
		if (keep[order[i]])
			continue;
		leave_out(r, order[i], "budget", "not in the plan for --budget");
		out->budget_out++;
	}
}

void mt_select(struct mt_run *r, struct mt_plan *p, struct mt_history *hist,
	       const struct mt_opts *o, struct mt_selection *out)
{
	uint32_t i;

	memset(out, 0, sizeof *out);
	by_tier(r, o, out);
	by_shard(r, o, out);
	if (o->budget_us > 0)
		by_budget(r, p, hist, o, out);
	for (i = 0; i < r->n; i++)
		out->kept += mt_plan_waiting(r, i);
}

uint32_t mt_select_chosen(const struct mt_run *r, const struct mt_plan *p, uint32_t *out)
{
	uint32_t i, n = 0;

	if (!p->by_value)
		return 0;
	for (i = 0; i < r->n; i++)
		if (p->value[i] > 0 && mt_plan_waiting(r, i))
			out[n++] = i;
	sort_desc(out, n, p->value);
	return n;
}

const char *mt_select_why(int64_t value)
{
	return value >= MT_VALUE_TIER0 ? "tier 0" : value >= MT_VALUE_BAD ? "failed recently" :
	       "short";
}
