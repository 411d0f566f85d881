"""File C depends on the helper."""


def test_c1_needs_helper(helper):
    assert helper.poll() is None, "the session's helper is dead"
