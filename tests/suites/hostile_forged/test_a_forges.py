"""A test forges a "done" line for itself on mtest's event pipe (with the
worker's own token and its own index), then sleeps: mtest must reject the
line and end the test as hung."""
import json
import os
import sys
import time

import pytest


@pytest.mark.timeout(2)
def test_forges_its_done():
    plugin = sys.modules["mtest_plugin"]
    ch = plugin._STATE
    line = '{"t":"done","k":%s,"i":%d,"d":[0,0,0]}\n' % (json.dumps(ch.token),
                                                        plugin._CURRENT["i"])
    os.write(ch.event_fd, line.encode())
    time.sleep(3600)
