"""Would pass, but its directory's conftest.py fails to import."""


def test_never():
    pass
