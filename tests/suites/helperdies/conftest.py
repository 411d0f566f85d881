"""Seed 001's shape: a session fixture starts a helper process that the
tests of every file depend on."""
import subprocess
import sys

import pytest


@pytest.fixture(scope="session")
def helper():
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(1000)"])
    yield proc
    proc.kill()
    proc.wait()
