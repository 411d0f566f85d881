"""CPython's own tests of its locks (test.lock_tests) against the lock
ledger's wrappers, installed as a worker installs them. Run by
tests/e2e/test_lock_ledger.py with a CPython that has its test package.

usage: python cpython_lock_tests.py PLUGIN_DIR"""

import sys
import threading
import unittest

sys.path.insert(0, sys.argv.pop(1))
import mtest_locks  # noqa: E402

mtest_locks.install("locks:4096,waits:256,sites:512")
assert mtest_locks.attach() >= 0
from test import lock_tests  # noqa: E402


class LockTests(lock_tests.LockTests):
    locktype = staticmethod(threading.Lock)


class RLockTests(lock_tests.RLockTests):
    locktype = staticmethod(threading.RLock)


class ConditionAsRLockTests(lock_tests.RLockTests):
    # A Condition is used as its lock; CPython's own suite does the same.
    locktype = staticmethod(threading.Condition)

    def test_recursion_count(self):
        pass  # a Condition has no _recursion_count in CPython either


class ConditionTests(lock_tests.ConditionTests):
    condtype = staticmethod(threading.Condition)


class SemaphoreTests(lock_tests.SemaphoreTests):
    semtype = staticmethod(threading.Semaphore)


class BoundedSemaphoreTests(lock_tests.BoundedSemaphoreTests):
    semtype = staticmethod(threading.BoundedSemaphore)


class EventTests(lock_tests.EventTests):
    eventtype = staticmethod(threading.Event)


class BarrierTests(lock_tests.BarrierTests):
    barriertype = staticmethod(threading.Barrier)


if __name__ == "__main__":
    assert type(threading.Lock()) is mtest_locks.Lock
    unittest.main(verbosity=1)
