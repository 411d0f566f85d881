"""Seed 001's shape: a session fixture's helper process (the tower's GUI)."""
import subprocess

import pytest


@pytest.fixture(scope="session")
def live_gui():
    proc = subprocess.Popen(["sleep", "3600"])
    yield proc
    if proc.poll() is None:
        proc.kill()
        proc.wait()
