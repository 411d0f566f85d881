"""Passing tests collected after the hanging/crashing imports: they must still run."""


def test_a1():
    pass


def test_a2():
    pass
