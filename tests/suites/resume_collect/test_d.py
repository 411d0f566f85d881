"""Two passing tests of file d."""


def test_d1():
    pass


def test_d2():
    pass
