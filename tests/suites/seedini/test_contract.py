"""A tower-style suite (addopts with --timeout=60 --timeout-method=thread) with one hanger."""
import time

import pytest


@pytest.mark.contract
def test_contract_one():
    pass


@pytest.mark.contract
def test_contract_two():
    pass


@pytest.mark.contract
def test_contract_fails():
    assert 2 * 2 == 5


@pytest.mark.contract
def test_contract_hangs():
    time.sleep(10**6)


@pytest.mark.contract
def test_contract_after_hang():
    pass
