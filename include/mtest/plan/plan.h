/* mtest: which lane runs which test, and in what order (docs/planning.md).
 *
 * Every test waiting for its verdict is either in the pool or assigned to
 * a lane. Work goes from the pool to lanes longest expected first, each
 * unit (a whole file, or one test with --dist test) to the lane with the
 * least expected work (LPT), so that slow files and likely hangs start
 * early and their waits overlap. A lane whose worker ends gives back what
 * it had not started; a lane with nothing left may take unsent files from
 * the busiest one. Expected durations come from the history of earlier
 * runs (durations.c); a test without history counts as the mean of its
 * file's, then the suite's, then MT_DEFAULT_EST_US.
 *
 * Exclusive groups (a marker or the config's group.NAME): a group's tests
 * all go to one lane, with the files (--dist file) or tests they share a
 * group with, so that two of them never run on two lanes at once; the
 * supervisor's feeding and stealing keep to it (docs/planning.md).
 *
 * No allocation: every table is sized by MT_TESTS_MAX and MT_FILES_MAX.
 */
#ifndef MTEST_PLAN_H
#define MTEST_PLAN_H

#include <stdint.h>

#include "mtest/cli.h"
#include "mtest/limits.h"
#include "mtest/run/run.h"

#define MT_LANE_NONE 0xff
/* A worker's start to its first test, when the history does not know. */
#define MT_DEFAULT_START_US 500000
/* A test nothing is known about counts this long (microseconds). */
#define MT_DEFAULT_EST_US 100000
/* --dist file: a file whose history holds two or more tests this long (its
 * hangs) is split, those tests placed on lanes of their own. */
#define MT_PLAN_SPLIT_US 5000000

/* A test's value to --budget's knapsack: its class in the top bits (tier
 * 0, then failed recently, then the rest), within it the newer failure or
 * the shorter test first. */
#define MT_VALUE_TIER0 ((int64_t)3 << 60)
#define MT_VALUE_BAD ((int64_t)2 << 60)
#define MT_VALUE_REST ((int64_t)1 << 60)

struct mt_plan {
	int nlanes;
	enum mt_dist dist;
	int known;			/* some estimates come from history */
	int by_value;			/* --budget: each lane runs in value order */
	int64_t value[MT_TESTS_MAX];	/* by slot: the budget's value (MT_VALUE_*) */
	uint8_t lane[MT_TESTS_MAX];	/* by slot: its lane, or MT_LANE_NONE */
	int64_t est_us[MT_TESTS_MAX];	/* by slot: expected duration, 0 unknown */
	int64_t file_us[MT_FILES_MAX];	/* by file: the mean of its tests with history */
	int64_t suite_us;		/* the suite's mean */
	int64_t start_us;		/* a worker's start to its first test */
	uint32_t order[MT_TESTS_MAX];	/* scratch: units sorted */
	int64_t load_us[MT_LANES_MAX];	/* expected work assigned, not done */
	uint32_t groups[MT_TESTS_MAX];	/* by slot: its exclusive groups, a bit each */
	int ngroups;
	int groups_over;		/* more than MT_GROUPS_MAX - 1: the last bit is shared */
	char group_name[MT_GROUPS_MAX][MT_GROUP_NAME_MAX];
};

void mt_plan_init(struct mt_plan *p, int nlanes, enum mt_dist dist);
/* A test's expected duration (from history), set before assignment. */
void mt_plan_expect(struct mt_plan *p, uint32_t slot, int64_t us);
/* The bit of an exclusive group, added if new; past MT_GROUPS_MAX - 1
 * groups, every new one shares the last bit (groups_over). */
int mt_plan_group(struct mt_plan *p, const char *name);
/* After the expectations: the means tests without history count at. */
void mt_plan_means(struct mt_plan *p, const struct mt_run *r);
/* Is this test waiting for a verdict, not yet started? */
int mt_plan_waiting(const struct mt_run *r, uint32_t slot);
/* Waiting tests of the pool go to the lanes whose bit is set in mask,
 * LPT. Returns how many tests were assigned. */
uint32_t mt_plan_assign(struct mt_plan *p, const struct mt_run *r, unsigned mask);
/* The lane's waiting tests go back to the pool. */
void mt_plan_release(struct mt_plan *p, const struct mt_run *r, int lane);
/* Waiting tests assigned to the lane (in file f, or in all when f is
 * MT_NONE). */
uint32_t mt_plan_count(const struct mt_plan *p, const struct mt_run *r, int lane, uint32_t f);
/* The expected duration of a test (its own, its file's mean, the suite's). */
int64_t mt_plan_est(const struct mt_plan *p, const struct mt_run *r, uint32_t slot);
/* A test ended: its lane's expected load goes down. */
void mt_plan_done(struct mt_plan *p, const struct mt_run *r, uint32_t slot);
/* Sort a lane's queue of item indices (map: item -> slot): files expected
 * longest first, collection order within a file (only when there is
 * history: else collection order stays). */
void mt_plan_order(const struct mt_plan *p, const struct mt_run *r, const uint32_t *map,
		   uint32_t *queue, uint32_t n);

#endif
