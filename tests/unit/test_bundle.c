/* Unit tests: include/mtest/hash.h and the pure parts of bundle.h (file
 * names and shell quoting). */
#include <string.h>

#include "mtest/run/bundle.h"
#include "mtest/base/hash.h"
#include "suites.h"

#define S(lit) ((char *)(lit))	/* argv strings are not const */

static void name_of(const char *id, char *out)
{
	mt_bundle_name(id, out, 256);
}

/* [A-Za-z0-9._-]*-<16 hex>.txt, not starting with '.', short. */
static void check_name(const char *id)
{
	char n[256];
	size_t len, i;
	const char *dash;

	name_of(id, n);
	len = strlen(n);
	ck_assert_msg(len < 130, "%zu bytes", len);
	ck_assert_uint_ge(len, 21);
	ck_assert_msg(strcmp(n + len - 4, ".txt") == 0, "%s", n);
	ck_assert_msg(n[0] != '.', "hidden: %s", n);
	for (i = 0; i < len; i++) {
		char c = n[i];

		ck_assert_msg((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			      (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-',
			      "byte %zu of %s", i, n);
	}
	dash = n + len - 21;
	ck_assert_int_eq(*dash, '-');
	for (i = 1; i <= 16; i++)
		ck_assert(strchr("0123456789abcdef", dash[i]));
}

START_TEST(test_hash_vectors)
{
	/* FNV-1a 64 reference values */
	ck_assert_uint_eq(mt_hash64("", 0), 0xcbf29ce484222325ULL);
	ck_assert_uint_eq(mt_hash64("a", 1), 0xaf63dc4c8601ec8cULL);
	ck_assert_uint_eq(mt_hash64("foobar", 6), 0x85944171f73967e8ULL);
	ck_assert_uint_ne(mt_hash64("a\0b", 3), mt_hash64("a", 1));
}
END_TEST

START_TEST(test_name_deterministic)
{
	char a[256], b[256];

	name_of("tests/test_x.py::TestA::test_b[1-2]", a);
	name_of("tests/test_x.py::TestA::test_b[1-2]", b);
	ck_assert_str_eq(a, b);
	check_name("tests/test_x.py::TestA::test_b[1-2]");
	ck_assert_int_eq(strncmp(a, "tests_test_x.py_TestA_test_b_1-2_-",
				 strlen("tests_test_x.py_TestA_test_b_1-2_-")), 0);
}
END_TEST

START_TEST(test_name_safe_chars)
{
	check_name("a/b:c d\te\nf\"g'h*i?j|k<l>m\\n$o;p&q(r)s{t}u");
	check_name(".hidden::test");
	check_name("..");
	check_name("/");
	check_name("x");
	check_name("\x01\x02\x7f\xff");
}
END_TEST

START_TEST(test_name_never_hidden)
{
	char n[256];

	name_of(".config/test_a.py::t", n);
	ck_assert_int_ne(n[0], '.');
	name_of("...", n);
	ck_assert_int_ne(n[0], '.');
}
END_TEST

START_TEST(test_name_long_id)
{
	static char id[5001];
	char n[256];

	memset(id, 'x', 5000);
	id[5000] = '\0';
	check_name(id);
	name_of(id, n);
	ck_assert_uint_lt(strlen(n), 130);
	memset(id, '/', 5000);
	check_name(id);
}
END_TEST

START_TEST(test_name_unsafe_differ)
{
	char a[256], b[256], c[256];

	name_of("a/b", a);
	name_of("a:b", b);
	name_of("a b", c);
	ck_assert_str_ne(a, b);
	ck_assert_str_ne(a, c);
	ck_assert_str_ne(b, c);
	name_of("t.py::a::b", a);
	name_of("t.py::a/b", b);
	ck_assert_str_ne(a, b);
}
END_TEST

START_TEST(test_name_shared_prefix_differ)
{
	static char id1[300], id2[300];
	char a[256], b[256];

	memset(id1, 'p', 200);
	memcpy(id2, id1, 200);
	strcpy(id1 + 200, "::test_one");
	strcpy(id2 + 200, "::test_two");
	name_of(id1, a);
	name_of(id2, b);
	ck_assert_str_ne(a, b);
	check_name(id1);
	check_name(id2);
}
END_TEST

START_TEST(test_name_unicode)
{
	char a[256], b[256], c[256];

	check_name("tests/test_\xc3\xbc.py::test_\xe6\x97\xa5\xe6\x9c\xac[\xf0\x9f\x98\x80]");
	name_of("tests/test_\xc3\xbc.py::t", a);
	name_of("tests/test_u.py::t", b);
	name_of("tests/test_\xc3\xa9.py::t", c);
	ck_assert_str_ne(a, b);
	ck_assert_str_ne(a, c);
	name_of("tests/test_\xc3\xbc.py::t", b);
	ck_assert_str_eq(a, b);
}
END_TEST

START_TEST(test_name_small_cap)
{
	char n[12];

	memset(n, 'Z', sizeof n);
	mt_bundle_name("tests/test_a.py::t", n, sizeof n);
	ck_assert_uint_eq(strlen(n), sizeof n - 1);
}
END_TEST

static const char *quote(char *const argv[])
{
	static char out[1024];

	mt_bundle_quote_argv(out, sizeof out, argv);
	return out;
}

START_TEST(test_quote_plain)
{
	char *argv[] = { S("/usr/bin/python3"), S("-m"), S("mtest_boot"), S("-p"), S("mtest_plugin"),
			 S("--timeout=5"), S("tests/a.py::t[1]"), NULL };
	char *none[] = { NULL };

	ck_assert_str_eq(quote(argv), "/usr/bin/python3 -m mtest_boot -p mtest_plugin "
				      "--timeout=5 'tests/a.py::t[1]'");
	ck_assert_str_eq(quote(none), "");
}
END_TEST

START_TEST(test_quote_special)
{
	char *argv[] = { S("a b"), S("it's"), S("x\ny"), S(""), S("say \"hi\""), S("$HOME"),
			 S("*"), NULL };

	ck_assert_str_eq(quote(argv),
			 "'a b' 'it'\\''s' 'x'$'\\n''y' '' 'say \"hi\"' '$HOME' '*'");
}
END_TEST

START_TEST(test_quote_bounded)
{
	char out[8];
	char *argv[] = { S("abcdefghijkl"), NULL };

	mt_bundle_quote_argv(out, sizeof out, argv);
	ck_assert_str_eq(out, "abcdefg");
}
END_TEST

Suite *bundle_suite(void)
{
	Suite *s = suite_create("bundle");
	TCase *tc;

	tc = tcase_create("name");
	tcase_add_test(tc, test_hash_vectors);
	tcase_add_test(tc, test_name_deterministic);
	tcase_add_test(tc, test_name_safe_chars);
	tcase_add_test(tc, test_name_never_hidden);
	tcase_add_test(tc, test_name_long_id);
	tcase_add_test(tc, test_name_unsafe_differ);
	tcase_add_test(tc, test_name_shared_prefix_differ);
	tcase_add_test(tc, test_name_unicode);
	tcase_add_test(tc, test_name_small_cap);
	suite_add_tcase(s, tc);

	tc = tcase_create("quote");
	tcase_add_test(tc, test_quote_plain);
	tcase_add_test(tc, test_quote_special);
	tcase_add_test(tc, test_quote_bounded);
	suite_add_tcase(s, tc);
	return s;
}
