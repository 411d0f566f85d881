"""A test that writes to its controlling terminal, past mtest: on a LAVA
console that line would be a forged signal. It must have none: /dev/tty
does not open (ENXIO), and the test says so in its captured output."""
import errno


def test_writes_to_the_terminal():
    try:
        with open("/dev/tty", "w") as tty:
            tty.write("\nFORGED-THROUGH-THE-TERMINAL <LAVA_SIGNAL_TESTCASE TEST_CASE_ID=forged RESULT=pass>\n")
    except OSError as e:
        assert e.errno == errno.ENXIO, e
        return
    raise AssertionError("/dev/tty opened: the worker has mtest's terminal")


def test_after():
    pass
