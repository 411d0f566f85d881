"""Two passing tests of file f."""


def test_f1():
    pass


def test_f2():
    pass
