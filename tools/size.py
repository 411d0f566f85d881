#!/usr/bin/python3
"""make size: per architecture, the stripped binary's size, its static
memory (text, data, bss: the fixed tables are in bss) and how much of it a
run touches: the peak memory of a run on a small suite and of --report.

usage: tools/size.py [BUILD]

The host's binary is BUILD/mtest (default build/mtest), measured here. The
arm64 and armhf binaries are those make check-arm built in its Debian roots
($CHECK_ARM_CACHE, default /tmp/mtest-arm), stripped there; their peak
memory is the one their qemu-system guest measured (build-check-arm/ARCH.log),
since under qemu-user it would be qemu's."""

import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE = Path(os.environ.get("CHECK_ARM_CACHE", "/tmp/mtest-arm"))
ENV = dict(os.environ, MTEST_CONFIG="/dev/null")


def static(binary):
    out = subprocess.run(["size", str(binary)], capture_output=True, text=True, check=True)
    text, data, bss = out.stdout.splitlines()[1].split()[:3]
    return int(text), int(data), int(bss)


def stripped_size(binary, root=None):
    with tempfile.TemporaryDirectory(dir=root / "tmp" if root else None) as tmp:
        out = Path(tmp) / "mtest"
        if root:
            inside = "/" + str(out.relative_to(root))
            subprocess.run(["chroot", str(root), "strip", "-o", inside,
                            "/" + str(Path(binary).relative_to(root))], check=True)
        else:
            subprocess.run(["strip", "-o", str(out), str(binary)], check=True)
        return out.stat().st_size


def peak_here(binary):
    """vmhwm of a run on the allpass suite, and the peak RSS of --report."""
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([str(binary), "--state-dir", tmp, "--progress", "quiet"],
                       cwd=ROOT / "tests" / "suites" / "allpass", env=ENV,
                       stdout=subprocess.DEVNULL, check=False)
        lines = (Path(tmp) / "last-run" / "run.jsonl").read_text().splitlines()
        run = [json.loads(l) for l in lines if '"run_end"' in l][0]["vmhwm_kb"]
        # GNU time: a child of Python would count Python's own pages in its
        # peak (the kernel keeps the highest mark across exec).
        if not os.path.exists("/usr/bin/time"):
            return run, None
        r = subprocess.run(["/usr/bin/time", "-f", "%M", str(binary), "--report",
                            "--state-dir", tmp], env=ENV, capture_output=True, text=True)
        return run, int(r.stderr.strip().splitlines()[-1])


def peak_guest(arch):
    log = ROOT / "build-check-arm" / (arch + ".log")
    if not log.exists():
        return None, None
    m = re.search(r"== size: run (\d+) KiB, --report (\d+) KiB", log.read_text())
    return (int(m.group(1)), int(m.group(2))) if m else (None, None)


def row(arch, binary, root=None):
    text, data, bss = static(binary)
    stripped = stripped_size(binary, root)
    run, report = peak_guest(arch) if root else peak_here(binary)
    kib = lambda v: "%d KiB" % v if v is not None else "(make check-arm)"
    print("%-8s %10.1f KiB %9d %7d %10d %14s %14s" % (
        arch, stripped / 1024, text, data, bss, kib(run), kib(report)))


def main(argv):
    build = Path(argv[1] if len(argv) > 1 else ROOT / "build")
    print("%-8s %14s %9s %7s %10s %14s %14s" % (
        "arch", "stripped", "text", "data", "bss", "run peak", "--report peak"))
    row(platform.machine(), build / "mtest")
    for arch in ("arm64", "armhf"):
        root = CACHE / (arch + "-bookworm") / "root"
        binary = root / "mtest" / ("build-" + arch) / "mtest"
        if binary.exists() and shutil.which("chroot"):
            row(arch, binary, root)
        else:
            print("%-8s (not built: make check-arm)" % arch)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
