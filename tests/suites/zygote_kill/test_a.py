"""The e2e test kills the zygote with SIGKILL while test_waits runs, then
lets it end; test_crashes then ends its worker, so that the next worker must
come from a new zygote."""
import os
import time


def test_waits():
    mark = os.environ["MTEST_E2E_MARK"]
    open(mark + ".running", "w").close()
    deadline = time.monotonic() + 120
    while not os.path.exists(mark):
        assert time.monotonic() < deadline, "the e2e test never let it go"
        time.sleep(0.01)


def test_crashes():
    os._exit(3)


def test_after_the_crash():
    pass
