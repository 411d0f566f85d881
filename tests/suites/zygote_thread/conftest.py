"""A conftest that starts a thread as it is imported (a metrics poller, a
watchdog): forking the process that collected would copy a process with a
second thread in it, so mtest must spawn its workers instead, and say why."""
import threading
import time


def _poll():
    while True:
        time.sleep(0.05)


threading.Thread(target=_poll, name="poller", daemon=True).start()
