"""A test file that does not parse (SyntaxError at collection)."""


def test_never(:
    pass
