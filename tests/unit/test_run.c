/* Unit tests: include/mtest/run.h (the test table, verdicts, exit codes). */
#include <stdio.h>
#include <string.h>

#include "mtest/run/run.h"
#include "suites.h"

static struct mt_run R;	/* far too big for the stack */

/* What the verdict callback heard. */
static struct {
	int calls;
	uint32_t slot;
	enum mt_verdict verdict;
	char id[256];
	char reason[256];
} heard;

static void on_verdict(void *ctx, struct mt_run *r, uint32_t slot, const struct mt_vinfo *v)
{
	ck_assert_ptr_eq(ctx, &heard);
	ck_assert_ptr_eq(r, &R);
	heard.calls++;
	heard.slot = slot;
	heard.verdict = v->verdict;
	snprintf(heard.id, sizeof heard.id, "%s", v->id ? v->id : "");
	snprintf(heard.reason, sizeof heard.reason, "%s", v->reason ? v->reason : "");
}

static void setup(void)
{
	memset(&heard, 0, sizeof heard);
	mt_run_init(&R, on_verdict, &heard);
}

static uint32_t add(const char *id, const char *file)
{
	return mt_run_add(&R, MT_KIND_TEST, id, file, file ? "/abs/suite/x.py" : NULL, 1, -1);
}

static int decide(uint32_t slot, enum mt_verdict v, const char *reason)
{
	struct mt_vinfo vi = { .verdict = v, .reason = reason, .attempt = 1 };

	return mt_run_decide(&R, slot, &vi);
}

/* ---- the table ------------------------------------------------------------ */

START_TEST(test_add_and_find)
{
	uint32_t a, b, f;

	a = mt_run_add(&R, MT_KIND_TEST, "tests/a.py::t1", "tests/a.py", "/s/tests/a.py", 3,
		       2500000);
	b = mt_run_add(&R, MT_KIND_TEST, "tests/a.py::t2", "tests/a.py", "/s/tests/a.py", 9, -1);
	ck_assert_uint_ne(a, MT_NONE);
	ck_assert_uint_ne(b, MT_NONE);
	ck_assert_uint_ne(a, b);
	ck_assert_uint_eq(R.n, 2);
	ck_assert_uint_eq(R.ntests, 2);
	ck_assert_uint_eq(mt_run_find(&R, MT_KIND_TEST, "tests/a.py::t1"), a);
	ck_assert_uint_eq(mt_run_find(&R, MT_KIND_TEST, "tests/a.py::t2"), b);
	ck_assert_uint_eq(mt_run_find(&R, MT_KIND_TEST, "tests/a.py::t3"), MT_NONE);
	ck_assert_uint_eq(mt_run_find(&R, MT_KIND_FILE, "tests/a.py::t1"), MT_NONE);
	ck_assert_str_eq(mt_run_str(&R, R.t[a].id), "tests/a.py::t1");
	ck_assert_uint_eq(R.t[a].line, 3);
	ck_assert_int_eq(R.t[a].timeout_us, 2500000);
	ck_assert_int_eq(R.t[b].timeout_us, -1);
	ck_assert_int_eq(R.t[a].verdict, MT_V_NONE);

	f = mt_run_find_file(&R, "tests/a.py");
	ck_assert_uint_eq(f, 0);
	ck_assert_uint_eq(R.nf, 1);
	ck_assert_uint_eq(R.t[a].file, f);
	ck_assert_uint_eq(R.t[b].file, f);
	ck_assert_str_eq(mt_run_str(&R, R.f[f].rel), "tests/a.py");
	ck_assert_str_eq(mt_run_str(&R, R.f[f].abs), "/s/tests/a.py");
	ck_assert_uint_eq(R.f[f].pending, 2);
	ck_assert_uint_eq(mt_run_find_file(&R, "tests/b.py"), MT_NONE);
	ck_assert_uint_eq(mt_run_left(&R), 2);
}
END_TEST

START_TEST(test_add_without_file)
{
	uint32_t a = add("loose::t", NULL);

	ck_assert_uint_ne(a, MT_NONE);
	ck_assert_uint_eq(R.t[a].file, MT_NONE);
	ck_assert_uint_eq(R.nf, 0);
	ck_assert(decide(a, MT_V_PASSED, NULL));
	ck_assert_uint_eq(R.count[MT_V_PASSED], 1);
}
END_TEST

START_TEST(test_duplicates_same_slot)
{
	uint32_t a = add("tests/a.py::t1", "tests/a.py");
	uint32_t again = add("tests/a.py::t1", "tests/a.py");

	ck_assert_uint_eq(a, again);
	ck_assert_uint_eq(R.n, 1);
	ck_assert_uint_eq(R.ntests, 1);
	ck_assert_uint_eq(R.nf, 1);
	ck_assert_uint_eq(R.f[0].pending, 1);
	ck_assert_uint_eq(mt_run_left(&R), 1);
}
END_TEST

START_TEST(test_kinds_distinct)
{
	uint32_t file = mt_run_add(&R, MT_KIND_FILE, "tests/bad.py", "tests/bad.py",
				   "/s/tests/bad.py", 0, -1);
	uint32_t test = add("tests/bad.py", "tests/bad.py");

	ck_assert_uint_ne(file, MT_NONE);
	ck_assert_uint_ne(test, MT_NONE);
	ck_assert_uint_ne(file, test);
	ck_assert_uint_eq(mt_run_find(&R, MT_KIND_FILE, "tests/bad.py"), file);
	ck_assert_uint_eq(mt_run_find(&R, MT_KIND_TEST, "tests/bad.py"), test);
	ck_assert_int_eq(R.t[file].kind, MT_KIND_FILE);
	ck_assert_int_eq(R.t[test].kind, MT_KIND_TEST);
	ck_assert_uint_eq(R.ntests, 1);
	ck_assert_uint_eq(R.n, 2);
	/* the file entry is not one of its file's pending tests */
	ck_assert_uint_eq(R.f[R.t[test].file].pending, 1);
	ck_assert_uint_eq(mt_run_add(&R, MT_KIND_FILE, "tests/bad.py", NULL, NULL, 0, -1), file);
	ck_assert_uint_eq(R.ntests, 1);
}
END_TEST

/* Many ids with both kinds: probing chains cross the other kind's entry
 * of the same id, which must never be taken for its own. */
START_TEST(test_kinds_distinct_many)
{
	static uint32_t tslot[3000];
	char id[32];
	uint32_t i, f;

	for (i = 0; i < 3000; i++) {
		snprintf(id, sizeof id, "d/test_%u.py", i);
		tslot[i] = add(id, id);
		ck_assert_uint_eq(tslot[i], 2 * i);
		f = mt_run_add(&R, MT_KIND_FILE, id, id, "/abs", 0, -1);
		ck_assert_msg(f == 2 * i + 1, "file entry of %s got slot %u", id, f);
	}
	for (i = 0; i < 3000; i++) {
		snprintf(id, sizeof id, "d/test_%u.py", i);
		ck_assert_uint_eq(mt_run_find(&R, MT_KIND_TEST, id), tslot[i]);
		ck_assert_uint_eq(mt_run_find(&R, MT_KIND_FILE, id), tslot[i] + 1);
		ck_assert_int_eq(R.t[tslot[i] + 1].kind, MT_KIND_FILE);
	}
	ck_assert_uint_eq(R.ntests, 3000);
	ck_assert_uint_eq(R.nf, 3000);
}
END_TEST

START_TEST(test_intern)
{
	uint32_t a = mt_run_intern(&R, "hello"), b = mt_run_intern(&R, "world");

	ck_assert_uint_eq(mt_run_intern(&R, ""), 0);
	ck_assert_uint_eq(mt_run_intern(&R, NULL), 0);
	ck_assert_str_eq(mt_run_str(&R, 0), "");
	ck_assert_str_eq(mt_run_str(&R, a), "hello");
	ck_assert_str_eq(mt_run_str(&R, b), "world");
	ck_assert_str_eq(mt_run_str(&R, R.arena_len + 10), "");
	ck_assert_str_eq(mt_run_str(&R, MT_NONE), "");
}
END_TEST

START_TEST(test_tests_max)
{
	char id[32];
	uint32_t i, slot;

	for (i = 0; i < MT_TESTS_MAX; i++) {
		snprintf(id, sizeof id, "m/t%u", i);
		slot = add(id, i % 2 ? "m/odd.py" : "m/even.py");
		ck_assert_uint_eq(slot, i);
	}
	ck_assert_ptr_null(R.limit);
	ck_assert_uint_eq(mt_run_add(&R, MT_KIND_TEST, "m/one-too-many", NULL, NULL, 0, -1),
			  MT_NONE);
	ck_assert_ptr_nonnull(R.limit);
	ck_assert_str_eq(R.limit, "MT_TESTS_MAX");
	ck_assert_uint_eq(R.n, MT_TESTS_MAX);
	ck_assert_uint_eq(mt_run_find(&R, MT_KIND_TEST, "m/one-too-many"), MT_NONE);
	/* known tests are still found, and their slot is given again */
	ck_assert_uint_eq(mt_run_find(&R, MT_KIND_TEST, "m/t16383"), MT_TESTS_MAX - 1);
	ck_assert_uint_eq(add("m/t0", "m/even.py"), 0);
	ck_assert_uint_eq(mt_run_add(&R, MT_KIND_FILE, "m/other.py", NULL, NULL, 0, -1), MT_NONE);
	ck_assert_str_eq(R.limit, "MT_TESTS_MAX");
	ck_assert_uint_eq(R.f[0].pending + R.f[1].pending, MT_TESTS_MAX);
}
END_TEST

/* Fill the arena until exactly `left` bytes are free. */
static void fill_arena(uint32_t left)
{
	static char big[65536];
	size_t room;

	memset(big, 'a', sizeof big - 1);
	for (;;) {
		room = sizeof R.arena - R.arena_len;
		if (room - left <= sizeof big)
			break;
		big[0] = big[0] == 'a' ? 'b' : 'a';	/* a repeat would be reused */
		ck_assert_uint_ne(mt_run_intern(&R, big), 0);	/* 64 KB a time */
	}
	if (room > left) {
		big[0] = big[0] == 'a' ? 'b' : 'a';
		big[room - left - 1] = '\0';
		ck_assert_uint_ne(mt_run_intern(&R, big), 0);
	}
	ck_assert_uint_eq(sizeof R.arena - R.arena_len, left);
	ck_assert_ptr_null(R.limit);
}

START_TEST(test_arena_full_on_add)
{
	uint32_t before;

	fill_arena(10);
	before = R.n;
	ck_assert_uint_eq(mt_run_add(&R, MT_KIND_TEST, "an-id-longer-than-ten", NULL, NULL, 0,
				     -1), MT_NONE);
	ck_assert_ptr_nonnull(R.limit);
	ck_assert_str_eq(R.limit, "MT_ARENA_BYTES");
	ck_assert_uint_eq(R.n, before);
	ck_assert_uint_eq(mt_run_find(&R, MT_KIND_TEST, "an-id-longer-than-ten"), MT_NONE);
}
END_TEST

START_TEST(test_arena_full_on_file)
{
	fill_arena(30);
	ck_assert_uint_eq(mt_run_add(&R, MT_KIND_TEST, "t", "some/rather/long/path/to/test_file.py",
				     "/abs/some/rather/long/path/to/test_file.py", 0, -1), MT_NONE);
	ck_assert_ptr_nonnull(R.limit);
	ck_assert_str_eq(R.limit, "MT_ARENA_BYTES");
	ck_assert_uint_eq(R.n, 0);
}
END_TEST

START_TEST(test_arena_full_intern)
{
	fill_arena(4);
	ck_assert_uint_ne(mt_run_intern(&R, "abc"), 0);	/* 4 bytes: fits */
	ck_assert_ptr_null(R.limit);
	ck_assert_uint_eq(mt_run_intern(&R, "x"), 0);
	ck_assert_ptr_nonnull(R.limit);
	ck_assert_str_eq(R.limit, "MT_ARENA_BYTES");
}
END_TEST

/* ---- verdicts ------------------------------------------------------------- */

START_TEST(test_decide_once)
{
	uint32_t a = add("tests/a.py::t1", "tests/a.py");
	struct mt_vinfo v = { .verdict = MT_V_PASSED, .reason = "", .detail = "d:1: x",
			      .duration_us = 1234, .worker = 3, .attempt = 2 };

	ck_assert_int_eq(mt_run_decide(&R, a, &v), 1);
	ck_assert_int_eq(heard.calls, 1);
	ck_assert_uint_eq(heard.slot, a);
	ck_assert_int_eq(heard.verdict, MT_V_PASSED);
	ck_assert_int_eq(R.t[a].verdict, MT_V_PASSED);
	ck_assert_str_eq(mt_run_detail(&R, &R.t[a]), "d:1: x");
	ck_assert_int_eq(R.t[a].duration_us, 1234);
	ck_assert_int_eq(R.t[a].worker, 3);
	ck_assert_int_eq(R.t[a].attempt, 2);
	ck_assert_uint_eq(R.count[MT_V_PASSED], 1);
	ck_assert_uint_eq(R.decided, 1);
	ck_assert_uint_eq(mt_run_left(&R), 0);
}
END_TEST

START_TEST(test_second_decision_refused)
{
	uint32_t a = add("tests/a.py::t1", "tests/a.py");

	ck_assert(decide(a, MT_V_FAILED, "AssertionError"));
	ck_assert(!decide(a, MT_V_PASSED, "later"));
	ck_assert(!decide(a, MT_V_HUNG, "later"));
	ck_assert_uint_eq(R.refused, 2);
	ck_assert_int_eq(heard.calls, 1);
	ck_assert_int_eq(R.t[a].verdict, MT_V_FAILED);
	ck_assert_str_eq(mt_run_reason(&R, &R.t[a]), "AssertionError");
	ck_assert_uint_eq(R.count[MT_V_FAILED], 1);
	ck_assert_uint_eq(R.count[MT_V_PASSED], 0);
	ck_assert_uint_eq(R.count[MT_V_HUNG], 0);
	ck_assert_uint_eq(R.decided, 1);
	ck_assert_uint_eq(R.f[0].pending, 0);
}
END_TEST

START_TEST(test_decide_invalid)
{
	uint32_t a = add("tests/a.py::t1", "tests/a.py");

	ck_assert(!decide(a, MT_V_NONE, NULL));
	ck_assert(!decide(a, MT_V_COUNT, NULL));
	ck_assert(!decide(a + 1, MT_V_PASSED, NULL));
	ck_assert(!decide(MT_NONE, MT_V_PASSED, NULL));
	ck_assert_uint_eq(R.refused, 0);
	ck_assert_int_eq(heard.calls, 0);
	ck_assert_uint_eq(R.decided, 0);
	ck_assert(decide(a, MT_V_SKIPPED, "why"));
}
END_TEST

START_TEST(test_decide_file_entry)
{
	uint32_t t = add("tests/bad.py::t", "tests/bad.py");
	uint32_t f = mt_run_add(&R, MT_KIND_FILE, "tests/bad.py", "tests/bad.py", "/s/bad.py", 0,
				-1);

	ck_assert(decide(f, MT_V_COLLECTION_ERROR, "ImportError"));
	ck_assert_uint_eq(R.nfiles_bad, 1);
	ck_assert_uint_eq(R.decided, 0);
	ck_assert_uint_eq(R.count[MT_V_COLLECTION_ERROR], 1);
	ck_assert_uint_eq(R.f[R.t[t].file].pending, 1);
	ck_assert_uint_eq(mt_run_left(&R), 1);
}
END_TEST

START_TEST(test_decide_unstored)
{
	struct mt_vinfo v = { .verdict = MT_V_NOT_RUN, .reason = "over a limit",
			      .id = "tests/z.py::t_far", .file = "tests/z.py" };

	mt_run_decide_unstored(&R, MT_KIND_TEST, &v);
	ck_assert_uint_eq(R.over_limit, 1);
	ck_assert_uint_eq(R.count[MT_V_NOT_RUN], 1);
	ck_assert_int_eq(heard.calls, 1);
	ck_assert_uint_eq(heard.slot, MT_NONE);
	ck_assert_str_eq(heard.id, "tests/z.py::t_far");
	ck_assert_str_eq(heard.reason, "over a limit");
	ck_assert_uint_eq(R.n, 0);
}
END_TEST

/* Files come back in any order (the last one is remembered, not trusted). */
START_TEST(test_files_in_any_order)
{
	uint32_t a = add("a::1", "a.py"), b = add("b::1", "b.py"), c = add("a::2", "a.py");
	uint32_t d = add("a::3", "a.py"), e = add("b::2", "b.py");

	ck_assert_uint_eq(R.nf, 2);
	ck_assert_uint_eq(R.t[a].file, R.t[c].file);
	ck_assert_uint_eq(R.t[a].file, R.t[d].file);
	ck_assert_uint_eq(R.t[b].file, R.t[e].file);
	ck_assert_uint_ne(R.t[a].file, R.t[b].file);
	ck_assert_uint_eq(R.f[R.t[a].file].pending, 3);
	ck_assert_uint_eq(mt_run_find_file(&R, "b.py"), R.t[b].file);
	mt_run_init(&R, NULL, NULL);
	ck_assert_uint_eq(R.t[add("c::1", "c.py")].file, 0);	/* none left from before */
	ck_assert_uint_eq(R.nf, 1);
}
END_TEST

/* The words of a verdict are kept apart, only for tests that have some, and
 * a reason given to many tests is stored once (peak memory per test). */
START_TEST(test_words_kept_apart_and_once)
{
	uint32_t a = add("a::1", "a.py"), b = add("a::2", "a.py"), c = add("a::3", "a.py");
	uint32_t len;

	ck_assert(decide(a, MT_V_PASSED, NULL));
	ck_assert_uint_eq(R.t[a].why, 0);
	ck_assert_uint_eq(R.nwhy, 0);
	ck_assert_str_eq(mt_run_reason(&R, &R.t[a]), "");
	ck_assert_str_eq(mt_run_detail(&R, &R.t[a]), "");
	ck_assert_str_eq(mt_run_tbtail(&R, &R.t[a]), "");
	len = R.arena_len;
	mt_run_settle_rest(&R, "interrupted", NULL);
	ck_assert_uint_eq(R.arena_len, len + sizeof "interrupted");	/* once for b and c */
	ck_assert_uint_eq(R.nwhy, 2);
	ck_assert_str_eq(mt_run_reason(&R, &R.t[b]), "interrupted");
	ck_assert_str_eq(mt_run_reason(&R, &R.t[c]), "interrupted");
	ck_assert_str_eq(mt_run_detail(&R, &R.t[c]), "");
	ck_assert(sizeof(struct mt_test) <= 64);
}
END_TEST

START_TEST(test_settle_rest)
{
	uint32_t a = add("a::1", "a.py"), b = add("a::2", "a.py"), c = add("b::1", "b.py");
	uint32_t f = mt_run_add(&R, MT_KIND_FILE, "c.py", "c.py", "/s/c.py", 0, -1);

	ck_assert(decide(b, MT_V_PASSED, NULL));
	heard.calls = 0;
	mt_run_settle_rest(&R, "run timeout", "after 5 s");
	ck_assert_int_eq(heard.calls, 2);
	ck_assert_int_eq(R.t[a].verdict, MT_V_NOT_RUN);
	ck_assert_int_eq(R.t[b].verdict, MT_V_PASSED);
	ck_assert_int_eq(R.t[c].verdict, MT_V_NOT_RUN);
	ck_assert_int_eq(R.t[f].verdict, MT_V_NONE);
	ck_assert_str_eq(mt_run_reason(&R, &R.t[a]), "run timeout");
	ck_assert_str_eq(mt_run_detail(&R, &R.t[c]), "after 5 s");
	ck_assert_str_eq(heard.reason, "run timeout");
	ck_assert_uint_eq(R.count[MT_V_NOT_RUN], 2);
	ck_assert_uint_eq(R.count[MT_V_PASSED], 1);
	ck_assert_uint_eq(R.refused, 0);
	ck_assert_uint_eq(mt_run_left(&R), 0);
	mt_run_settle_rest(&R, "again", NULL);
	ck_assert_int_eq(heard.calls, 2);
	ck_assert_uint_eq(R.refused, 0);
}
END_TEST

START_TEST(test_pending_goes_down)
{
	uint32_t a = add("x.py::1", "x.py"), b = add("x.py::2", "x.py"), c = add("x.py::3", "x.py");
	uint32_t other = add("y.py::1", "y.py");
	uint32_t fx = mt_run_find_file(&R, "x.py"), fy = mt_run_find_file(&R, "y.py");

	ck_assert_uint_eq(R.f[fx].pending, 3);
	ck_assert_uint_eq(R.f[fy].pending, 1);
	ck_assert(decide(b, MT_V_FAILED, "E"));
	ck_assert_uint_eq(R.f[fx].pending, 2);
	ck_assert(!decide(b, MT_V_FAILED, "E"));
	ck_assert_uint_eq(R.f[fx].pending, 2);
	ck_assert(decide(a, MT_V_PASSED, NULL));
	ck_assert_uint_eq(R.f[fx].pending, 1);
	ck_assert_uint_eq(R.f[fy].pending, 1);
	ck_assert(decide(c, MT_V_CRASHED, "SIGSEGV"));
	ck_assert_uint_eq(R.f[fx].pending, 0);
	ck_assert(decide(other, MT_V_HUNG, "timeout"));
	ck_assert_uint_eq(R.f[fy].pending, 0);
}
END_TEST

/* ---- names and exit codes ------------------------------------------------- */

START_TEST(test_verdict_names)
{
	int v;

	for (v = MT_V_PASSED; v < MT_V_COUNT; v++)
		ck_assert_int_eq(mt_verdict_parse(mt_verdict_name((enum mt_verdict)v)), v);
	ck_assert_str_eq(mt_verdict_name(MT_V_NOT_RUN), "not_run");
	ck_assert_str_eq(mt_verdict_name(MT_V_COLLECTION_ERROR), "collection_error");
	ck_assert_str_eq(mt_verdict_name(MT_V_COUNT), "none");
	ck_assert_int_eq(mt_verdict_parse("bogus"), MT_V_NONE);
	ck_assert_int_eq(mt_verdict_parse("none"), MT_V_NONE);
	ck_assert_int_eq(mt_verdict_parse(""), MT_V_NONE);
	ck_assert(mt_verdict_is_bad(MT_V_FAILED));
	ck_assert(mt_verdict_is_bad(MT_V_ERROR));
	ck_assert(mt_verdict_is_bad(MT_V_HUNG));
	ck_assert(mt_verdict_is_bad(MT_V_CRASHED));
	ck_assert(mt_verdict_is_bad(MT_V_COLLECTION_ERROR));
	ck_assert(!mt_verdict_is_bad(MT_V_PASSED));
	ck_assert(!mt_verdict_is_bad(MT_V_SKIPPED));
	ck_assert(!mt_verdict_is_bad(MT_V_XFAILED));
	ck_assert(!mt_verdict_is_bad(MT_V_XPASSED));
	ck_assert(!mt_verdict_is_bad(MT_V_NOT_RUN));
	ck_assert(!mt_verdict_is_bad(MT_V_NONE));
}
END_TEST

START_TEST(test_exit_nothing_collected)
{
	ck_assert_int_eq(mt_run_exit_code(&R), MT_EXIT_NO_TESTS);
}
END_TEST

START_TEST(test_exit_all_good)
{
	ck_assert(decide(add("t::1", "t.py"), MT_V_PASSED, NULL));
	ck_assert(decide(add("t::2", "t.py"), MT_V_SKIPPED, "s"));
	ck_assert(decide(add("t::3", "t.py"), MT_V_XFAILED, "x"));
	ck_assert(decide(add("t::4", "t.py"), MT_V_XPASSED, "x"));
	ck_assert_int_eq(mt_run_exit_code(&R), MT_EXIT_OK);
}
END_TEST

START_TEST(test_exit_failure_beats_not_run)
{
	ck_assert(decide(add("t::1", "t.py"), MT_V_PASSED, NULL));
	ck_assert(decide(add("t::2", "t.py"), MT_V_FAILED, "E"));
	add("t::3", "t.py");
	mt_run_settle_rest(&R, "stopped", NULL);
	ck_assert_uint_eq(R.count[MT_V_NOT_RUN], 1);
	ck_assert_int_eq(mt_run_exit_code(&R), MT_EXIT_FAILED);
}
END_TEST

START_TEST(test_exit_each_bad_verdict)
{
	static const enum mt_verdict bad[] = { MT_V_FAILED, MT_V_ERROR, MT_V_HUNG,
					       MT_V_CRASHED };
	unsigned i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		mt_run_init(&R, NULL, NULL);
		ck_assert(decide(add("t::1", "t.py"), MT_V_PASSED, NULL));
		ck_assert(decide(add("t::2", "t.py"), bad[i], "E"));
		ck_assert_msg(mt_run_exit_code(&R) == MT_EXIT_FAILED, "%s",
			      mt_verdict_name(bad[i]));
	}
}
END_TEST

START_TEST(test_exit_collection_error_only)
{
	uint32_t f = mt_run_add(&R, MT_KIND_FILE, "bad.py", "bad.py", "/s/bad.py", 0, -1);

	ck_assert(decide(f, MT_V_COLLECTION_ERROR, "SyntaxError"));
	ck_assert_uint_eq(R.ntests, 0);
	ck_assert_int_eq(mt_run_exit_code(&R), MT_EXIT_FAILED);
}
END_TEST

START_TEST(test_exit_not_run)
{
	ck_assert(decide(add("t::1", "t.py"), MT_V_PASSED, NULL));
	add("t::2", "t.py");
	ck_assert_int_eq(mt_run_exit_code(&R), MT_EXIT_INCOMPLETE);	/* undecided */
	mt_run_settle_rest(&R, "max tests", NULL);
	ck_assert_int_eq(mt_run_exit_code(&R), MT_EXIT_INCOMPLETE);
}
END_TEST

START_TEST(test_exit_over_tests_max)
{
	char id[32];
	uint32_t i;
	struct mt_vinfo v = { .verdict = MT_V_PASSED };

	for (i = 0; i <= MT_TESTS_MAX; i++) {
		snprintf(id, sizeof id, "t%u", i);
		if (add(id, NULL) == MT_NONE)
			break;
		ck_assert(mt_run_decide(&R, i, &v));
	}
	ck_assert_uint_eq(i, MT_TESTS_MAX);
	ck_assert_uint_eq(R.ntests, MT_TESTS_MAX + 1);
	ck_assert_int_eq(mt_run_exit_code(&R), MT_EXIT_INCOMPLETE);
	v.verdict = MT_V_NOT_RUN;
	mt_run_decide_unstored(&R, MT_KIND_TEST, &v);
	ck_assert_uint_eq(mt_run_left(&R), 0);
	ck_assert_int_eq(mt_run_exit_code(&R), MT_EXIT_INCOMPLETE);
}
END_TEST

Suite *run_suite(void)
{
	Suite *s = suite_create("run");
	TCase *tc;

	tc = tcase_create("table");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_add_and_find);
	tcase_add_test(tc, test_add_without_file);
	tcase_add_test(tc, test_duplicates_same_slot);
	tcase_add_test(tc, test_kinds_distinct);
	tcase_add_test(tc, test_kinds_distinct_many);
	tcase_add_test(tc, test_intern);
	tcase_add_test(tc, test_tests_max);
	tcase_add_test(tc, test_arena_full_on_add);
	tcase_add_test(tc, test_arena_full_on_file);
	tcase_add_test(tc, test_arena_full_intern);
	suite_add_tcase(s, tc);

	tc = tcase_create("verdicts");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_decide_once);
	tcase_add_test(tc, test_second_decision_refused);
	tcase_add_test(tc, test_decide_invalid);
	tcase_add_test(tc, test_decide_file_entry);
	tcase_add_test(tc, test_decide_unstored);
	tcase_add_test(tc, test_settle_rest);
	tcase_add_test(tc, test_words_kept_apart_and_once);
	tcase_add_test(tc, test_files_in_any_order);
	tcase_add_test(tc, test_pending_goes_down);
	suite_add_tcase(s, tc);

	tc = tcase_create("exit");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_verdict_names);
	tcase_add_test(tc, test_exit_nothing_collected);
	tcase_add_test(tc, test_exit_all_good);
	tcase_add_test(tc, test_exit_failure_beats_not_run);
	tcase_add_test(tc, test_exit_each_bad_verdict);
	tcase_add_test(tc, test_exit_collection_error_only);
	tcase_add_test(tc, test_exit_not_run);
	tcase_add_test(tc, test_exit_over_tests_max);
	suite_add_tcase(s, tc);
	return s;
}
