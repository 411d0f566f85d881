"""pytest 9 runs subtests in core and reports each through the same hooks as
a test's phases: each collected item must still end with one verdict, its
subtests' failures in the failure text (tests/e2e/test_pytest9.py)."""


def test_all_subtests_pass(subtests):
    for i in range(3):
        with subtests.test(msg="pass", i=i):
            assert i >= 0


def test_one_subtest_fails(subtests):
    for i in range(3):
        with subtests.test(msg="check", i=i):
            assert i != 1, "subtest one fails"


def test_subtest_fails_then_the_test_fails(subtests):
    with subtests.test(msg="first"):
        assert False, "the first subtest fails"
    assert False, "then the test itself"


def test_after():
    assert True
