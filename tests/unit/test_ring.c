/* Unit tests: include/mtest/ring.h (the tail of a stream). */
#include <stdint.h>
#include <string.h>

#include "mtest/base/ring.h"
#include "suites.h"

#define RING ((size_t)MT_CONSOLE_RING)

static struct mt_ring R;
static char out[4 * MT_CONSOLE_RING];
static char stream[4 * MT_CONSOLE_RING];

static char byte_at(uint64_t k)
{
	return (char)('a' + (k * 7 + k / 61) % 26);
}

/* Push `total` bytes of the stream in pieces of the given sizes. */
static void push_stream(size_t total, const size_t *sizes, size_t nsizes)
{
	size_t done = 0, n, i = 0, k;

	for (k = 0; k < total; k++)
		stream[k] = byte_at(k);
	while (done < total) {
		n = sizes[i++ % nsizes];
		if (n > total - done)
			n = total - done;
		mt_ring_push(&R, stream + done, n);
		done += n;
	}
	ck_assert_uint_eq(R.total, total);
}

/* The tail with `cap` is the last min(cap - 1, kept) bytes of the stream. */
static void check_tail(size_t total, size_t cap)
{
	size_t kept = total < RING ? total : RING;
	size_t want = kept < cap - 1 ? kept : cap - 1;
	size_t n;

	memset(out, '#', sizeof out);
	n = mt_ring_tail(&R, out, cap);
	ck_assert_uint_eq(n, want);
	ck_assert_int_eq(out[n], '\0');
	ck_assert_msg(memcmp(out, stream + total - want, want) == 0,
		      "tail of %zu bytes with cap %zu differs", total, cap);
}

START_TEST(test_empty)
{
	mt_ring_reset(&R);
	out[0] = 'x';
	ck_assert_uint_eq(mt_ring_tail(&R, out, 100), 0);
	ck_assert_str_eq(out, "");
}
END_TEST

START_TEST(test_before_wrap)
{
	mt_ring_reset(&R);
	mt_ring_push(&R, "hello ", 6);
	mt_ring_push(&R, "world", 5);
	mt_ring_push(&R, "", 0);
	ck_assert_uint_eq(mt_ring_tail(&R, out, 100), 11);
	ck_assert_str_eq(out, "hello world");
	ck_assert_uint_eq(mt_ring_tail(&R, out, 4), 3);
	ck_assert_str_eq(out, "rld");
	ck_assert_uint_eq(mt_ring_tail(&R, out, 1), 0);
	ck_assert_str_eq(out, "");
}
END_TEST

START_TEST(test_after_wrap)
{
	static const size_t sizes[] = { 1000, 1, 4095, 333, 65535, 7 };

	mt_ring_reset(&R);
	push_stream(3 * RING + 123, sizes, 6);
	check_tail(3 * RING + 123, RING + 1);
	check_tail(3 * RING + 123, RING + 1000);
	check_tail(3 * RING + 123, 100);
	check_tail(3 * RING + 123, 124);
	check_tail(3 * RING + 123, 125);
	check_tail(3 * RING + 123, RING);
}
END_TEST

START_TEST(test_exactly_full)
{
	static const size_t sizes[] = { 4096 };

	mt_ring_reset(&R);
	push_stream(RING, sizes, 1);
	check_tail(RING, RING + 1);
	check_tail(RING, 10);
}
END_TEST

START_TEST(test_push_larger_than_ring)
{
	static const size_t one[] = { 2 * RING + 77 };
	static const size_t after[] = { 10, 2 * RING + 77 };

	mt_ring_reset(&R);
	push_stream(2 * RING + 77, one, 1);
	check_tail(2 * RING + 77, RING + 1);
	check_tail(2 * RING + 77, 50);

	mt_ring_reset(&R);
	push_stream(2 * RING + 87, after, 2);
	check_tail(2 * RING + 87, RING + 1);

	mt_ring_reset(&R);
	{
		static const size_t exact[] = { 5, RING };

		push_stream(RING + 5, exact, 2);
		check_tail(RING + 5, RING + 1);
	}
}
END_TEST

START_TEST(test_reset_forgets)
{
	mt_ring_reset(&R);
	mt_ring_push(&R, "old data", 8);
	mt_ring_reset(&R);
	ck_assert_uint_eq(mt_ring_tail(&R, out, 100), 0);
	mt_ring_push(&R, "new", 3);
	ck_assert_uint_eq(mt_ring_tail(&R, out, 100), 3);
	ck_assert_str_eq(out, "new");
}
END_TEST

Suite *ring_suite(void)
{
	Suite *s = suite_create("ring");
	TCase *tc = tcase_create("tail");

	tcase_add_test(tc, test_empty);
	tcase_add_test(tc, test_before_wrap);
	tcase_add_test(tc, test_after_wrap);
	tcase_add_test(tc, test_exactly_full);
	tcase_add_test(tc, test_push_larger_than_ring);
	tcase_add_test(tc, test_reset_forgets);
	suite_add_tcase(s, tc);
	return s;
}
