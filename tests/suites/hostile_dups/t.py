"""Given twice with --keep-duplicates, pytest collects each test twice
under the same node id: mtest must keep four verdicts."""


def test_one():
    pass


def test_two():
    assert False
