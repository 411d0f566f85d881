"""mtest's worker entry point: ``python -m mtest_boot -p mtest_plugin ...``.

Like ``python -m pytest``, but a Python without pytest (or without the
plugin) is reported to mtest as an event instead of a traceback.
"""

import json
import os
import sys


def _report(error):
    line = json.dumps({"t": "nopytest", "k": os.environ.get("MTEST_TOKEN", ""),
                       "msg": "%s: %s" % (type(error).__name__, error)})
    try:
        # Framed as every event line is (RS, JSON, LF), without a
        # sequence number: it is the only line this worker will write.
        os.write(int(os.environ["MTEST_EVENT_FD"]), b"\x1e" + (line + "\n").encode())
    except (KeyError, ValueError, OSError):
        pass


try:
    import pytest
    import mtest_plugin  # noqa: F401  (opens the channel to mtest)
except Exception as error:  # ImportError, or a broken installation
    _report(error)
    sys.exit(121)

code = pytest.console_main()
if mtest_plugin.quick_exit_ok():
    mtest_plugin.quick_exit(code)
sys.exit(code)
