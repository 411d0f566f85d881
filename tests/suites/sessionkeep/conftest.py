"""A session fixture that keeps a thread and a subprocess for the whole
session: neither is a leak, nothing is dirty."""
import subprocess
import threading

import pytest


@pytest.fixture(scope="session")
def service():
    stop = threading.Event()
    pump = threading.Thread(target=stop.wait, name="AudioPump", daemon=True)
    pump.start()
    proc = subprocess.Popen(["sleep", "1000"])
    yield proc
    stop.set()
    pump.join()
    proc.kill()
    proc.wait()


@pytest.fixture(scope="module")
def module_thread():
    stop = threading.Event()
    t = threading.Thread(target=stop.wait, name="ModuleHelper", daemon=True)
    t.start()
    yield t
    stop.set()
    t.join()
