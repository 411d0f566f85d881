"""Never ran before the interruption."""


def test_c1():
    pass
