"""Would pass, but comes after the interruption."""


def test_after():
    pass
