"""The one sound card: a test holds it (a lock file made with O_EXCL) for a
while, and fails at once if another test holds it already, so two tests of
the group that overlap cannot both pass (tests/e2e/test_groups.py)."""
import os
import time

LOCK = os.path.join(os.environ.get("E2E_LOCKDIR", "/tmp"), "audio.lock")


def use_card(who, hold=0.6):
    try:
        fd = os.open(LOCK, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        with open(LOCK) as f:
            raise AssertionError("the card is busy: %s holds it" % f.read())
    os.write(fd, who.encode())
    os.close(fd)
    try:
        time.sleep(hold)
    finally:
        os.unlink(LOCK)
