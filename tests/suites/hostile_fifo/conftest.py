"""Make the plugin report a FIFO as pytest's capture file: mtest opens the
file it is told about through /proc/<worker>/fd/<N>, and an open() of a
FIFO with no writer blocks. The worker itself holds the FIFO open for
reading, non-blocking, so that it never blocks on it."""
import atexit
import os
import shutil
import sys
import tempfile

# In $HOSTILE_DIR when the e2e test gives one (a worker ended by a signal
# never runs atexit), else in a temporary directory of its own.
_DIR = tempfile.mkdtemp(prefix="mtest-fifo-", dir=os.environ.get("HOSTILE_DIR") or None)
_FIFO = os.path.join(_DIR, "capture")
os.mkfifo(_FIFO)
FIFO_FD = os.open(_FIFO, os.O_RDONLY | os.O_NONBLOCK)
atexit.register(shutil.rmtree, _DIR, True)

_plugin = sys.modules.get("mtest_plugin")
if _plugin is not None:
    # pytest_configure of the plugin is trylast: it calls this after us.
    _plugin._capture_fds = lambda config: {"out_fd": FIFO_FD, "err_fd": FIFO_FD}
