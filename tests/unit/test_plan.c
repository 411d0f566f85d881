/* Unit tests: include/mtest/plan/plan.h, a lane's queue in order, and the
 * lanes' work with exclusive groups: a group's tests go to one lane, with
 * the files (or tests) they share a group with; the rest is spread as
 * before. */
#include <stdio.h>
#include <string.h>

#include "mtest/plan/plan.h"
#include "suites.h"

static struct mt_run R;
static struct mt_plan P;

/* files[f] tests each, in files named f0.py, f1.py, ... */
static void suite(const int *files, int nfiles, enum mt_dist dist, int lanes)
{
	char id[64], file[32];
	int f, k;

	mt_run_init(&R, NULL, NULL);
	mt_plan_init(&P, lanes, dist);
	memset(P.groups, 0, sizeof P.groups);
	for (f = 0; f < nfiles; f++)
		for (k = 0; k < files[f]; k++) {
			snprintf(file, sizeof file, "f%d.py", f);
			snprintf(id, sizeof id, "f%d.py::t%d", f, k);
			ck_assert_uint_ne(mt_run_add(&R, MT_KIND_TEST, id, file, file, 1, -1), MT_NONE);
		}
	mt_plan_means(&P, &R);
}

static uint32_t slot(const char *id)
{
	return mt_run_find(&R, MT_KIND_TEST, id);
}

START_TEST(test_group_one_lane_by_file)
{
	static const int files[] = { 2, 2, 2, 2 };
	int audio = 0;
	uint32_t i;

	suite(files, 4, MT_DIST_FILE, 2);
	audio = mt_plan_group(&P, "audio");
	ck_assert_int_eq(audio, 0);
	ck_assert_int_eq(mt_plan_group(&P, "audio"), 0);
	/* f0 and f1 hold the group: without it they would go to two lanes. */
	P.groups[slot("f0.py::t0")] = 1u << audio;
	P.groups[slot("f1.py::t1")] = 1u << audio;
	ck_assert_uint_eq(mt_plan_assign(&P, &R, 3), 8);
	for (i = 0; i < R.n; i++)
		ck_assert_uint_ne(P.lane[i], MT_LANE_NONE);
	ck_assert_uint_eq(P.lane[slot("f0.py::t0")], P.lane[slot("f1.py::t1")]);
	/* Whole files: the group joined them, not split them. */
	ck_assert_uint_eq(P.lane[slot("f0.py::t1")], P.lane[slot("f1.py::t0")]);
	ck_assert_uint_eq(P.lane[slot("f0.py::t0")], P.lane[slot("f0.py::t1")]);
	/* The other two files go to the other lane (LPT). */
	ck_assert_uint_ne(P.lane[slot("f2.py::t0")], P.lane[slot("f0.py::t0")]);
	ck_assert_uint_ne(P.lane[slot("f3.py::t0")], P.lane[slot("f0.py::t0")]);
}
END_TEST

/* Without groups the same suite spreads f0 and f1 over two lanes: the
 * test above could fail. */
START_TEST(test_no_group_spreads)
{
	static const int files[] = { 2, 2, 2, 2 };

	suite(files, 4, MT_DIST_FILE, 2);
	mt_plan_assign(&P, &R, 3);
	ck_assert_uint_ne(P.lane[slot("f0.py::t0")], P.lane[slot("f1.py::t0")]);
}
END_TEST

/* A test in two groups joins them: three files end on one lane. */
START_TEST(test_groups_join_transitively)
{
	static const int files[] = { 1, 1, 1, 1, 1, 1 };
	int a, b;

	suite(files, 6, MT_DIST_FILE, 3);
	a = mt_plan_group(&P, "audio");
	b = mt_plan_group(&P, "gpio");
	P.groups[slot("f0.py::t0")] = 1u << a;
	P.groups[slot("f2.py::t0")] = (1u << a) | (1u << b);
	P.groups[slot("f4.py::t0")] = 1u << b;
	mt_plan_assign(&P, &R, 7);
	ck_assert_uint_eq(P.lane[slot("f0.py::t0")], P.lane[slot("f2.py::t0")]);
	ck_assert_uint_eq(P.lane[slot("f2.py::t0")], P.lane[slot("f4.py::t0")]);
}
END_TEST

/* --dist test: a group's tests are one unit; the others single. */
START_TEST(test_group_by_test)
{
	static const int files[] = { 4, 4 };
	int a;
	uint32_t i, n[2] = { 0, 0 };

	suite(files, 2, MT_DIST_TEST, 2);
	a = mt_plan_group(&P, "port");
	P.groups[slot("f0.py::t0")] = 1u << a;
	P.groups[slot("f1.py::t3")] = 1u << a;
	P.groups[slot("f0.py::t2")] = 1u << a;
	mt_plan_assign(&P, &R, 3);
	ck_assert_uint_eq(P.lane[slot("f0.py::t0")], P.lane[slot("f1.py::t3")]);
	ck_assert_uint_eq(P.lane[slot("f0.py::t0")], P.lane[slot("f0.py::t2")]);
	for (i = 0; i < R.n; i++)
		n[P.lane[i]]++;
	ck_assert_uint_eq(n[0] + n[1], 8);
	ck_assert_uint_ge(n[0], 3);	/* the rest still spread */
	ck_assert_uint_ge(n[1], 3);
}
END_TEST

/* Long tests of one file are split apart (their hangs overlap), but not
 * when they share a group. */
START_TEST(test_heavy_kept_in_group)
{
	static const int files[] = { 3, 1 };
	int a;

	suite(files, 2, MT_DIST_FILE, 2);
	P.est_us[slot("f0.py::t0")] = 10 * MT_PLAN_SPLIT_US;
	P.est_us[slot("f0.py::t1")] = 10 * MT_PLAN_SPLIT_US;
	P.known = 1;
	mt_plan_means(&P, &R);
	mt_plan_assign(&P, &R, 3);
	ck_assert_uint_ne(P.lane[slot("f0.py::t0")], P.lane[slot("f0.py::t1")]);

	suite(files, 2, MT_DIST_FILE, 2);
	P.est_us[slot("f0.py::t0")] = 10 * MT_PLAN_SPLIT_US;
	P.est_us[slot("f0.py::t1")] = 10 * MT_PLAN_SPLIT_US;
	P.known = 1;
	a = mt_plan_group(&P, "card");
	P.groups[slot("f0.py::t0")] = 1u << a;
	P.groups[slot("f0.py::t1")] = 1u << a;
	mt_plan_means(&P, &R);
	mt_plan_assign(&P, &R, 3);
	ck_assert_uint_eq(P.lane[slot("f0.py::t0")], P.lane[slot("f0.py::t1")]);
}
END_TEST

/* Past MT_GROUPS_MAX - 1 groups, the rest share the last bit. */
START_TEST(test_groups_over)
{
	char name[16];
	int g;

	mt_plan_init(&P, 2, MT_DIST_FILE);
	for (g = 0; g < MT_GROUPS_MAX - 1; g++) {
		snprintf(name, sizeof name, "g%d", g);
		ck_assert_int_eq(mt_plan_group(&P, name), g);
	}
	ck_assert_int_eq(P.groups_over, 0);
	ck_assert_int_eq(mt_plan_group(&P, "one more"), MT_GROUPS_MAX - 1);
	ck_assert_int_eq(mt_plan_group(&P, "and another"), MT_GROUPS_MAX - 1);
	ck_assert_int_ne(P.groups_over, 0);
	ck_assert_int_eq(mt_plan_group(&P, "g3"), 3);
}
END_TEST

/* ---- a lane's queue in order ---- */

static void setup(void)
{
	mt_run_init(&R, NULL, NULL);
	mt_plan_init(&P, 1, MT_DIST_FILE);
}

static uint32_t add(const char *id, const char *file, int64_t est_us)
{
	uint32_t slot = mt_run_add(&R, MT_KIND_TEST, id, file, file, 1, -1);

	ck_assert_uint_ne(slot, MT_NONE);
	mt_plan_expect(&P, slot, est_us);
	return slot;
}

/* The queue as the slots' ids, "a1 b1 ...". */
static const char *ids(const uint32_t *map, const uint32_t *queue, uint32_t n)
{
	static char out[256];
	uint32_t k;

	out[0] = '\0';
	for (k = 0; k < n; k++) {
		if (k)
			strcat(out, " ");
		strcat(out, mt_run_str(&R, R.t[map[queue[k]]].id));
	}
	return out;
}

/* Files expected longest first, each file's items together and in the
 * collection's order; ties between files by their first collection. */
START_TEST(test_order_files_longest_first)
{
	uint32_t map[6], queue[6] = { 0, 1, 2, 3, 4, 5 };

	map[0] = add("a1", "a.py", 10);
	map[1] = add("b1", "b.py", 50);
	map[2] = add("a2", "a.py", 10);
	map[3] = add("c1", "c.py", 20);
	map[4] = add("b2", "b.py", 5);
	map[5] = add("c2", "c.py", 0);	/* unknown: its file's mean */
	mt_plan_means(&P, &R);
	mt_plan_order(&P, &R, map, queue, 6);
	ck_assert_str_eq(ids(map, queue, 6), "b1 b2 c1 c2 a1 a2");
}
END_TEST

START_TEST(test_order_ties_and_no_history)
{
	uint32_t map[4], queue[4] = { 3, 2, 1, 0 };

	map[0] = add("a1", "a.py", 0);
	map[1] = add("b1", "b.py", 0);
	map[2] = add("a2", "a.py", 0);
	map[3] = add("b2", "b.py", 0);
	mt_plan_means(&P, &R);
	/* Nothing known: the queue stays as it is. */
	mt_plan_order(&P, &R, map, queue, 4);
	ck_assert_str_eq(ids(map, queue, 4), "b2 a2 b1 a1");
	/* Equal files: the first file first, items by their index. */
	mt_plan_expect(&P, map[0], 7);
	mt_plan_expect(&P, map[1], 7);
	mt_plan_expect(&P, map[2], 7);
	mt_plan_expect(&P, map[3], 7);
	mt_plan_means(&P, &R);
	mt_plan_order(&P, &R, map, queue, 4);
	ck_assert_str_eq(ids(map, queue, 4), "a1 a2 b1 b2");
}
END_TEST

/* Under a budget, the knapsack's value first (ties in item order), whatever
 * the files say. */
START_TEST(test_order_by_value)
{
	uint32_t map[5], queue[5] = { 0, 1, 2, 3, 4 };

	map[0] = add("a1", "a.py", 100);
	map[1] = add("a2", "a.py", 100);
	map[2] = add("b1", "b.py", 1);
	map[3] = add("b2", "b.py", 1);
	map[4] = MT_NONE;	/* an item the table had no room for */
	P.value[map[0]] = MT_VALUE_REST - 100;
	P.value[map[1]] = MT_VALUE_REST - 100;
	P.value[map[2]] = MT_VALUE_BAD + 5;
	P.value[map[3]] = MT_VALUE_TIER0;
	P.by_value = 1;
	mt_plan_means(&P, &R);
	mt_plan_order(&P, &R, map, queue, 4);
	ck_assert_str_eq(ids(map, queue, 4), "b2 b1 a1 a2");
	mt_plan_order(&P, &R, map, queue, 5);
	ck_assert_uint_eq(queue[4], 4);	/* no value: last */
}
END_TEST

Suite *plan_suite(void)
{
	Suite *s = suite_create("plan");
	TCase *tc = tcase_create("groups"), *tq;

	tcase_add_test(tc, test_group_one_lane_by_file);
	tcase_add_test(tc, test_no_group_spreads);
	tcase_add_test(tc, test_groups_join_transitively);
	tcase_add_test(tc, test_group_by_test);
	tcase_add_test(tc, test_heavy_kept_in_group);
	tcase_add_test(tc, test_groups_over);
	suite_add_tcase(s, tc);

	tq = tcase_create("queue order");
	tcase_add_checked_fixture(tq, setup, NULL);
	tcase_add_test(tq, test_order_files_longest_first);
	tcase_add_test(tq, test_order_ties_and_no_history);
	tcase_add_test(tq, test_order_by_value);
	suite_add_tcase(s, tq);
	return s;
}
