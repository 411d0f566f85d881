"""Two passing tests of file b."""


def test_b1():
    pass


def test_b2():
    pass
