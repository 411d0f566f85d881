"""File B depends on the helper."""


def test_b1_needs_helper(helper):
    assert helper.poll() is None, "the session's helper is dead"


def test_b2_needs_helper(helper):
    assert helper.poll() is None, "the session's helper is dead"
