"""Run before the interruption: a pass and a failure."""


def test_pass():
    pass


def test_fail():
    assert 1 == 2
