"""Every test notes its own name in $HOSTILE_DIR/ran.log as it starts, so
that the e2e test can see that each ran exactly once."""
import os

import pytest


def hostile_dir():
    return os.environ.get("HOSTILE_DIR") or "."


@pytest.fixture(autouse=True)
def _note_run(request):
    fd = os.open(os.path.join(hostile_dir(), "ran.log"),
                 os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o644)
    try:
        os.write(fd, request.node.nodeid.encode() + b"\n")
    finally:
        os.close(fd)
    yield
