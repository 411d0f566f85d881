"""Two passing tests of file e."""


def test_e1():
    pass


def test_e2():
    pass
