"""Shared fixtures for the tower's contract tests."""

import os
import sys

import pytest

# The demo root (the directory holding `tower/`), so that `import tower` works
# in any import mode; the default mode finds it through the __init__.py files.
_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from tower.encoder.ffmpeg_supervisor import FFmpegSupervisor  # noqa: E402
from tower.tests.support import ffmpeg_children  # noqa: E402

# Test timings: short backoffs and settle, but a generous hard startup timeout
# so that a slow box never restarts an encoder a test is still feeding.
FAST = dict(soft_startup_target=0.3, startup_timeout=10.0, backoff_schedule=(0.05, 0.1, 0.2),
            max_restarts=3, spawn_settle=0.01, stop_grace=0.5)


@pytest.fixture
def make_supervisor():
    """Factory for supervisors with test timings; stops them all afterwards
    and checks that no ffmpeg (running or zombie) is left behind."""
    made = []

    def make(**overrides):
        supervisor = FFmpegSupervisor(**{**FAST, **overrides})
        made.append(supervisor)
        return supervisor

    yield make
    for supervisor in made:
        supervisor.stop()
    leftovers = ffmpeg_children()
    assert not leftovers, f"ffmpeg left behind: {leftovers}"
