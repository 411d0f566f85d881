"""Two passing tests of file c."""


def test_c1():
    pass


def test_c2():
    pass
