"""Fixed memory: no heap use by the supervisor after start-up, and peak
memory within the binary's static size plus 4 MiB, even when a test prints
200 MB."""

import os
import shutil
import subprocess
import sys

import pytest

from conftest import MTEST, ROOT

HEAPCHECK = os.environ.get("MTEST_HEAPCHECK_SO")


def static_size():
    """text + data + bss of the mtest binary, from `size`."""
    out = subprocess.run(["size", MTEST], capture_output=True, text=True, check=True).stdout
    text, data, bss = out.splitlines()[1].split()[:3]
    return int(text) + int(data) + int(bss)


@pytest.mark.skipif(not HEAPCHECK, reason="needs MTEST_HEAPCHECK_SO (make e2e sets it)")
@pytest.mark.parametrize("suite", ["crash", "hang", "collect", "basic"])
def test_no_heap_after_startup(mtest, tmp_path, suite):
    out = tmp_path / "heapcheck.txt"
    run = mtest(suite, "--collect-timeout", "2",
                env={"LD_PRELOAD": HEAPCHECK, "MTEST_HEAPCHECK_OUT": str(out)})
    assert run.code == 1
    assert out.read_text().startswith("allocations 0 "), out.read_text()


def test_peak_memory_with_huge_output(mtest):
    run = mtest("output")
    end = run.of_type("run_end")[0]
    assert end["vmhwm_kb"] > 0
    assert end["vmhwm_kb"] * 1024 <= static_size() + 4 * 1024 * 1024
    # Tighter than the rule, on every architecture and under transparent
    # huge pages set to "always" (Debian's kernels): 3.4 MiB measured.
    assert end["vmhwm_kb"] < 4 * 1024
    # 200 MB went through mtest's console pipe; the log kept a bounded part.
    assert (run.last / "console.log").stat().st_size <= 16 * 1024 * 1024


THP = "/sys/kernel/mm/transparent_hugepage/enabled"


def test_peak_memory_under_huge_pages_always(mtest):
    """Debian's kernels set transparent huge pages to "always": a first
    touch of the mostly idle static tables would fault in 2 MiB each (21 MiB
    peak instead of 3.4, as measured on arm64 before mtest kept THP off its
    static data). Run with THP "always" when this machine lets us set it."""
    try:
        with open(THP) as f:
            was = f.read().split("[")[1].split("]")[0]
        with open(THP, "w") as f:
            f.write("always")
    except (OSError, IndexError):
        pytest.skip("cannot set %s here" % THP)
    try:
        run = mtest("allpass")
    finally:
        with open(THP, "w") as f:
            f.write(was)
    assert run.code == 0
    assert run.of_type("run_end")[0]["vmhwm_kb"] < 4 * 1024


VALGRIND_RUN = ROOT / "tools" / "valgrind-run"


def test_valgrind_run_fails_on_a_crash(tmp_path):
    """make valgrind's tools/valgrind-run took any exit but valgrind's 99
    as a pass; a segfault under valgrind exits 139. A program that
    segfaults stands in for mtest: it must fail, naming the signal; one
    that exits 1 (as mtest does on these suites) must pass."""
    assert shutil.which("valgrind"), "valgrind is missing: tools/install-deps installs it"
    src = tmp_path / "segv.c"
    src.write_text("int main(void) { *(volatile int *)0 = 1; return 0; }\n")
    segv = tmp_path / "segv"
    subprocess.run(["gcc", "-o", str(segv), str(src)], check=True, timeout=60)
    r = subprocess.run([str(VALGRIND_RUN), str(segv)], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "valgrind: FAIL: mtest died of signal 11 on crash (exit 139)" in r.stderr, r.stderr
    assert "no errors" not in r.stdout
    r = subprocess.run([str(VALGRIND_RUN), "/bin/false"], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0 and r.stdout.endswith("valgrind: no errors\n"), r.stdout + r.stderr


@pytest.mark.skipif(not HEAPCHECK, reason="needs MTEST_HEAPCHECK_SO (make e2e sets it)")
def test_peak_memory_per_test(mtest, tmp_path):
    """What a run holds grows by at most 0.15 KiB per test (1,000 and 3,000
    trivial tests, a first run and one with history): measured on mtest's
    anonymous memory at its end (the heap check's RssAnon), since the peak
    (VmHWM) also holds shared libraries' pages, which vary by 100 KiB from run
    to run with what the page cache holds. And the peak stays under 4.5 MiB
    at 1,000 tests (make bench: 4 MiB without the heap check). (0.25 KiB per
    test before the test table, the history and the quarantine were made
    compact.)"""
    peaks, anon = {}, {}
    out = tmp_path / "heapcheck.txt"
    for n in (1000, 3000):
        suite = tmp_path / ("gen%d" % n)
        subprocess.run([sys.executable, str(ROOT / "tools" / "gen-suite.py"), str(suite),
                        str(n), "20"], check=True)
        for r in (1, 2):
            run = mtest(None, "--", "-p", "no:cacheprovider", cwd=suite,
                        env={"LD_PRELOAD": HEAPCHECK, "MTEST_HEAPCHECK_OUT": str(out)})
            assert run.code == 0, run.stderr
            peaks[n, r] = run.of_type("run_end")[0]["vmhwm_kb"]
            anon[n, r] = int(out.read_text().split("rss_anon_kb ")[1])
        (tmp_path / "state").rename(tmp_path / ("state%d" % n))
    for r in (1, 2):
        # make bench holds the peak to its goal, 4 MiB at 1,000 tests,
        # without the heap check's preload (docs/testing.md); here a guard
        # with room for the preload and a newer distribution's libraries
        # (Debian 12 here: 3,828 and 4,016 KiB; Debian 13: 4,020 and 4,104).
        assert peaks[1000, r] < 4.5 * 1024, (peaks, anon)
        assert (anon[3000, r] - anon[1000, r]) / 2000 <= 0.15, (anon, peaks)
