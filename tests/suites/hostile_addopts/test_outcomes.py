"""One pass, one failure, one setup error: the verdicts every option that
fights mtest (in addopts, in PYTEST_ADDOPTS) must leave as they are."""
import pytest


@pytest.fixture
def broken():
    raise RuntimeError("setup fails")


def test_passes():
    pass


def test_fails():
    assert False


def test_setup_errors(broken):
    pass
