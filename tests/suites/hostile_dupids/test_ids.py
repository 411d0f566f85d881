"""Two parametrize ids that differ in pytest (a lone surrogate, and the
text backslash-u-d-c-f-f) but not once mtest has encoded them as UTF-8
with backslashreplace: each must keep its own verdict."""
import pytest


@pytest.mark.parametrize("x", ["\udcff", "\\udcff"])
def test_id(x):
    # The lone surrogate passes, the backslash text fails: each verdict
    # must land on its own test.
    assert x == "\udcff"
