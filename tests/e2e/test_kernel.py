"""The kernel's word on each test (docs/box.md): lines the kernel's log
gets while a test runs go into its record and bundle, tied to the test
that made them even when the worker runs ahead of mtest; a real OOM kill
(in a memory cgroup of the test's own) is the test's verdict; markers in
the kernel's log tell dmesg readers which test a line came in, and can be
switched off. Needs root and a readable /dev/kmsg: skipped loudly
elsewhere. (The taint flags: tests/unit/test_kmsg.c decodes them; this
machine's kernel is not ours to taint.)"""

import os
import time
from pathlib import Path

import pytest

from conftest import expected

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not os.access("/dev/kmsg", os.R_OK | os.W_OK),
    reason="NOT TESTED: the kernel's word needs root and /dev/kmsg")


def own_memcg():
    """A new memory cgroup's path below this process's own (v2, else the
    v1 memory hierarchy), or None where none can be made."""
    name = "mtest-e2e-kmsg-%d-%d" % (os.getpid(), time.monotonic_ns())
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        num, ctrl, path = line.split(":", 2)
        if num == "0" and ctrl == "":
            for root in ("/sys/fs/cgroup", "/sys/fs/cgroup/unified"):
                control = Path(root + path) / "cgroup.subtree_control"
                if control.exists() and "memory" in control.read_text().split():
                    return str(control.parent / name)
        if "memory" in ctrl.split(","):
            base = Path("/sys/fs/cgroup/memory" + path)
            if base.is_dir() and os.access(base, os.W_OK):
                return str(base / name)
    return None


def kmsg_records(since_seq):
    """(seq, text) of the kernel's log records after since_seq."""
    fd = os.open("/dev/kmsg", os.O_RDONLY | os.O_NONBLOCK)
    out = []
    try:
        while True:
            try:
                rec = os.read(fd, 8192).decode(errors="replace")
            except BlockingIOError:
                break
            except BrokenPipeError:
                continue
            head, _, text = rec.partition(";")
            seq = int(head.split(",")[1])
            if seq > since_seq:
                out.append((seq, text.split("\n", 1)[0]))
    finally:
        os.close(fd)
    return out


def last_seq():
    recs = kmsg_records(-1)
    return recs[-1][0] if recs else -1


HEAPCHECK = os.environ.get("MTEST_HEAPCHECK_SO")


@pytest.fixture
def kernel_run(mtest, tmp_path):
    def run(*args):
        tag = "mtest-e2e-kmsg-%d-%d" % (os.getpid(), time.monotonic_ns())
        memcg = own_memcg()
        env = {"MTEST_E2E_KMSG": tag}
        if HEAPCHECK:  # no heap after start-up, kernel lines and all
            env.update(LD_PRELOAD=HEAPCHECK, MTEST_HEAPCHECK_OUT=str(tmp_path / "heap.txt"))
        if memcg:
            env["MTEST_E2E_MEMCG"] = memcg
        seq = last_seq()
        try:
            r = mtest("kernel", *args, env=env)
        finally:
            if memcg and os.path.isdir(memcg):
                os.rmdir(memcg)
        if HEAPCHECK:
            heap = (tmp_path / "heap.txt").read_text()
            assert heap.startswith("allocations 0 "), heap
        return r, tag, memcg, seq
    return run


def test_kernel_lines_go_to_the_test_that_made_them(kernel_run):
    run, tag, memcg, seq = kernel_run()
    want = expected("kernel")
    if not memcg:
        print("NOT TESTED: no memory cgroup could be made here: no real OOM kill")
        want["test_kernel.py::test_oom"] = ("passed", "")
    assert run.verdicts == want, run.stdout + run.stderr

    # A driver's error in a passing test: in its record, and a bundle of its own.
    rec = run.record("test_kernel.py::test_driver_error")
    assert rec["kernel"]["worst"] in ("error", "warning", "oom", "lockup", "oops")
    bundle = run.bundle("test_kernel.py::test_driver_error")
    assert "== the kernel's log while the test ran (/dev/kmsg) ==" in bundle
    assert "error -71 (a driver's error, stand-in) (%s)" % tag in bundle
    # The warning of the next test is that test's, though its worker ran
    # on before mtest read the first one's end: never the other's.
    assert "WARNING: CPU: 0 PID:" not in bundle
    bundle = run.bundle("test_kernel.py::test_warning_then_fails")
    assert "user.warn: WARNING: CPU: 0 PID: " in bundle
    assert "at sound/core/pcm_native.c:1 stand-in (%s)" % tag in bundle
    assert "error -71" not in bundle and "an info line" not in bundle
    rec = run.record("test_kernel.py::test_warning_then_fails")
    assert rec["kernel"]["worst"] in ("warning", "oom", "lockup", "oops")
    # An info line is kept in the record; the summary names the others.
    rec = run.record("test_kernel.py::test_info_line")
    assert rec["kernel"]["lines"] >= 1
    notes = [e["text"] for e in run.of_type("event") if e["what"] == "kernel"]
    assert any(n.startswith("test_kernel.py::test_driver_error (passed): the kernel said ")
               for n in notes), notes

    if memcg:
        rec = run.record("test_kernel.py::test_oom")
        worker = [w["pid"] for w in run.of_type("worker") if w.get("role") != "zygote"][0]
        assert rec["detail"].startswith("killed by the kernel's OOM killer: "), rec
        assert "Killed process %d (" % worker in rec["detail"], rec
        assert rec["kernel"]["worst"] == "oom"
        assert "Killed process %d (" % worker in run.bundle("test_kernel.py::test_oom")

    # The markers: the run's first, and the end of a test the kernel spoke
    # in, with the kernel's own time of it (dmesg shows the same clock).
    texts = [t for _, t in kmsg_records(seq) if t.startswith("mtest[%d]: " % run.pid)]
    assert any(t.startswith("mtest[%d]: run starts: " % run.pid) for t in texts), texts
    ends = [t for t in texts if "end test_kernel.py::test_driver_error (passed) at [" in t]
    assert ends and ends[0].endswith("1 kernel line came in this test"), texts


def test_markers_switched_off(kernel_run):
    run, tag, memcg, seq = kernel_run("--kmsg-markers", "off")
    # Without a marker the kernel's clock is not measured against the
    # workers' (docs/box.md: 2 ms apart here, more after a long uptime), so
    # a line may be counted to a test beside the one that made it: heard,
    # though, by a test of the run.
    heard = {r["id"]: r.get("kernel", {}).get("lines", 0) for r in run.of_type("test")}
    assert sum(heard.values()) >= 1, heard
    texts = [t for _, t in kmsg_records(seq) if t.startswith("mtest[%d]: " % run.pid)]
    assert texts == []
    opts = run.of_type("run_start")[0]["opts"]
    assert opts["kmsg_markers"] == 0
