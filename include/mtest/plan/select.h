/* mtest: which collected tests this run runs (docs/planning.md).
 *
 * After the first collection, in this order: tiers (--tier), shards
 * (--shard K/N, or Bazel's TEST_SHARD_INDEX/TEST_TOTAL_SHARDS), then the
 * time budget (--budget). Tests left out get not_run, reason "tier",
 * "shard" or "budget": planned, so they do not make the run incomplete. */
#ifndef MTEST_SELECT_H
#define MTEST_SELECT_H

#include <stdint.h>

#include "mtest/cli.h"
#include "mtest/plan/durations.h"
#include "mtest/plan/plan.h"
#include "mtest/run/run.h"

/* A test's tier from its markers: smoke 0; contract, property,
 * regression, fuzz, integration 1; concurrency, conformance, use_case 2;
 * perf, stress, e2e, slow 3; the highest one wins; unmarked 1. */
int mt_tier_of(const char (*markers)[MT_MARKER_NAME_MAX], int n);

struct mt_selection {
	uint32_t tier_out, shard_out, budget_out;	/* tests left out */
	uint32_t kept;
	int64_t predicted_us;	/* the budget's plan: the longest lane's work */
};

/* Apply --tier, --shard and --budget to the waiting tests; the estimates
 * must be in the plan already. `hist` (may be NULL) gives recent bad
 * verdicts, which the budget takes first after tier 0. */
void mt_select(struct mt_run *r, struct mt_plan *p, struct mt_history *hist,
	       const struct mt_opts *o, struct mt_selection *out);

/* --budget's choice: the slots it kept, in the order they run (value,
 * highest first; ties in collection order). Returns how many. */
uint32_t mt_select_chosen(const struct mt_run *r, const struct mt_plan *p, uint32_t *out);
/* Why the budget took a test of this value: "tier 0", "failed recently",
 * "short". */
const char *mt_select_why(int64_t value);

#endif
