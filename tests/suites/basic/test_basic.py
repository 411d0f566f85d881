"""Stages every ordinary pytest outcome, plus awkward node ids."""
import pytest


@pytest.fixture
def broken_setup():
    raise RuntimeError("setup blew up")


@pytest.fixture
def broken_teardown():
    yield
    raise RuntimeError("teardown blew up")


def test_pass():
    pass


def test_fail():
    assert 1 + 1 == 3


def test_value_error():
    raise ValueError("bad value")


def test_setup_error(broken_setup):
    pass


def test_teardown_error(broken_teardown):
    pass


def test_fail_and_teardown_error(broken_teardown):
    assert False, "call fails, then teardown fails too"


@pytest.mark.skip(reason="not on this box")
def test_skip_marker():
    pass


def test_skip_inside():
    pytest.skip("skipped inside")


@pytest.mark.xfail(reason="known bug")
def test_xfail():
    assert False


@pytest.mark.xfail(reason="maybe fixed")
def test_xpass():
    pass


@pytest.mark.xfail(reason="must fail", strict=True)
def test_xpass_strict():
    pass


class TestGroup:
    def test_one(self):
        pass

    def test_two(self):
        pass


@pytest.mark.parametrize("v", [1, 2, 3, 4, 5], ids=["a/b", "x::y", "sp ace", "ünï", "[br]"])
def test_odd_ids(v):
    pass


@pytest.mark.parametrize("v", [0], ids=["L" * 2500])
def test_long_id(v):
    pass


def test_café():
    pass
