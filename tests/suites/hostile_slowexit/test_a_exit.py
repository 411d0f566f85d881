import pytest

from conftest import EXITING


def test_exits():
    EXITING.append(1)
    pytest.exit("the test ends the session", returncode=3)
