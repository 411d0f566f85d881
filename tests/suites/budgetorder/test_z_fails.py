"""A short test that fails: --budget takes it first (it failed recently),
and must also run it first."""


def test_fails():
    assert 1 == 2
