"""The kernel's word on each test (docs/box.md). Run as root: a test writes
a line into the kernel's log (echo ... > /dev/kmsg, a stand-in for a
driver's error or a warning), each tagged with MTEST_E2E_KMSG so that a run
on a busy machine finds its own lines; one is killed by the kernel's OOM
killer for real, in a memory cgroup of its own (MTEST_E2E_MEMCG names it)."""
import os

TAG = os.environ.get("MTEST_E2E_KMSG", "mtest-e2e")


def say(level, text):
    with open("/dev/kmsg", "w") as f:
        f.write("<%d>%s (%s)\n" % (level, text, TAG))


def test_quiet():
    pass


def test_driver_error():
    say(3, "usb 1-1: device descriptor read/64, error -71 (a driver's error, stand-in)")


def test_warning_then_fails():
    say(4, "WARNING: CPU: 0 PID: %d at sound/core/pcm_native.c:1 stand-in" % os.getpid())
    assert False, "the sound card misbehaved"


def test_info_line():
    say(6, "snd-usb-audio 1-1:1.0: an info line, stand-in")


def test_oom():
    """Killed by the kernel's OOM killer, within a memory cgroup made for
    it below this process's own (so nothing else on the machine is)."""
    path = os.environ.get("MTEST_E2E_MEMCG")
    if not path:
        return
    os.makedirs(path)
    limit = "memory.max" if os.path.exists(os.path.join(path, "memory.max")) else \
        "memory.limit_in_bytes"
    with open(os.path.join(path, limit), "w") as f:
        f.write(str(48 << 20))
    with open(os.path.join(path, "cgroup.procs"), "w") as f:
        f.write(str(os.getpid()))
    hog = bytearray(256 << 20)
    for i in range(0, len(hog), 4096):
        hog[i] = 1


def test_after_oom():
    pass
