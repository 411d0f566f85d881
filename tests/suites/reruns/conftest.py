"""A small stand-in for pytest-rerunfailures' protocol (reruns=1): each
attempt has its own logstart and logfinish, and a failed attempt that is
rerun reports the outcome "rerun"."""
import pytest
from _pytest.runner import runtestprotocol


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item, nextitem):
    attempt = 0
    while True:
        attempt += 1
        item.ihook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
        rerun = False
        for report in runtestprotocol(item, nextitem=nextitem, log=False):
            if report.failed and attempt <= 1:
                report.outcome = "rerun"
                rerun = True
            item.ihook.pytest_runtest_logreport(report=report)
            if rerun:
                break
        item.ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)
        if not rerun:
            return True
