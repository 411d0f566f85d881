"""Two passing tests of file a."""


def test_a1():
    pass


def test_a2():
    pass
