"""Memory per test, and a lane's limit (tests/e2e/test_cgroup.py runs it
with lane_memory_max = 256M and -j 2). test_noop's peak is the worker's
own; test_peak's is that plus what it allocated (MEMLIMIT_PEAK_MIB, every
page touched); test_hog allocates past the lane's limit until the kernel
ends its lane (memory.oom.group); test_after runs in a fresh worker."""
import os

MIB = 1 << 20


def test_noop():
    pass


def test_peak():
    block = b"\x01" * (int(os.environ.get("MEMLIMIT_PEAK_MIB", "128")) * MIB)
    assert block[-1] == 1


def _memory_max():
    """The memory.max of this process's cgroup v2, or None (no limit)."""
    try:
        with open("/proc/self/cgroup") as f:
            path = [line[3:].strip() for line in f if line.startswith("0::")][0]
        with open("/proc/self/mountinfo") as f:
            mount = [line.split()[4] for line in f if " - cgroup2 " in line][0]
        with open(mount + path + "/memory.max") as f:
            text = f.read().strip()
        return None if text == "max" else int(text)
    except (OSError, IndexError, ValueError):
        return None


def test_hog():
    # Never on a machine without a limit: it would be the machine's OOM.
    limit = _memory_max()
    assert limit is not None and limit <= 1 << 30, "no lane limit of 1 GiB or less: not run"
    hold = []
    for _ in range(2 * limit // (16 * MIB)):  # twice the limit: the kernel ends it first
        hold.append(b"\x02" * (16 * MIB))


def test_after():
    pass
