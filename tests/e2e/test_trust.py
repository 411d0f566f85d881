"""The state directory is trusted only when it is the user's alone: the
plugin every worker imports lives there. Planted files and links never
run, never get followed, and never cost a record (issue 7, suspected)."""

import json
import os
import subprocess

import pytest

from conftest import (MTEST, NOBODY, SUITES, as_nobody, needs_root,  # noqa: F401
                      open_base, wait_for)


def run(state, *args, cwd=SUITES / "allpass", timeout=120):
    return subprocess.run([MTEST, "--state-dir", str(state), "--progress", "quiet", *args],
                          cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env=dict(os.environ, MTEST_CONFIG="/dev/null"))


def one_line(r):
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("mtest: "), r.stderr
    return r.stderr


def test_state_dir_writable_by_others_is_refused(tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    for mode in (0o777, 0o775, 0o757):
        os.chmod(state, mode)
        r = run(state)
        assert r.returncode == 4, r.stderr
        assert "writable by others" in one_line(r) and str(state) in r.stderr
    assert not (state / "plugin").exists(), "nothing may be written into it"


def test_state_dir_of_another_user_is_refused(tmp_path):
    state = tmp_path / "state"
    state.mkdir(mode=0o755)
    os.chown(state, 65534, 65534)
    r = run(state)
    assert r.returncode == 4
    assert "belongs to uid 65534" in one_line(r)


def test_planted_plugin_never_runs(tmp_path):
    """A compiled file planted beside the real plugin, stamped with the
    real source's mtime and size, is what Python would import."""
    import importlib._bootstrap_external as ext

    state = tmp_path / "state"
    state.mkdir(mode=0o755)
    assert run(state).returncode == 0
    marker = tmp_path / "planted-ran"
    plugin = state / "plugin"
    src = plugin / "mtest_plugin.py"
    st = src.stat()
    code = compile("open(%r, 'w').write('x')\n" % str(marker), str(src), "exec")
    cache = plugin / "__pycache__"
    cache.mkdir(exist_ok=True)
    for tag in ("cpython-311", "cpython-312", "cpython-313"):
        (cache / ("mtest_plugin.%s.pyc" % tag)).write_bytes(
            ext._code_to_timestamp_pyc(code, int(st.st_mtime), st.st_size))
    r = run(state)
    assert r.returncode == 0, r.stdout + r.stderr
    assert not marker.exists(), "the planted plugin ran"
    assert oct(os.stat(plugin).st_mode & 0o777) == "0o700"


def test_plugin_bytecode_is_the_plugin(tmp_path):
    """mtest writes the plugin's bytecode (compiled when mtest was built)
    beside its source, so that workers do not compile it: it must be that
    source's code, for this Python, and never checked against a file a
    worker could find changed (unchecked-hash)."""
    import importlib.util
    import marshal
    import sys

    state = tmp_path / "state"
    state.mkdir(mode=0o755)
    assert run(state).returncode == 0
    plugin = state / "plugin"
    for module in ("mtest_plugin", "mtest_boot", "mtest_locks"):
        pyc = plugin / "__pycache__" / ("%s.%s.pyc" % (module, sys.implementation.cache_tag))
        data = pyc.read_bytes()
        assert data[:4] == importlib.util.MAGIC_NUMBER
        assert int.from_bytes(data[4:8], "little") == 1  # hash-based, unchecked
        src = plugin / (module + ".py")
        assert marshal.loads(data[16:]) == compile(src.read_bytes(), str(src), "exec")


def test_links_are_never_followed(tmp_path):
    state = tmp_path / "state"
    state.mkdir(mode=0o755)
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "keep.txt").write_text("mine")
    # An old run's folder that is really a link to elsewhere: pruning
    # removes the link, never what it points at.
    (state / "runs").mkdir()
    os.symlink(precious, state / "runs" / "20000101T000000.000Z-1")
    r = run(state, "--keep", "1")
    assert r.returncode == 0, r.stderr
    assert (precious / "keep.txt").read_text() == "mine"
    assert not os.path.lexists(state / "runs" / "20000101T000000.000Z-1")
    # A lock file that is a link: refused, its target untouched.
    target = tmp_path / "target"
    target.write_text("untouched")
    os.unlink(state / "lock")
    os.symlink(target, state / "lock")
    r = run(state)
    assert r.returncode != 0
    assert "lock" in one_line(r)
    assert target.read_text() == "untouched"


def test_another_run_in_progress(tmp_path):
    state = tmp_path / "state"
    mark = tmp_path / "mark"
    first = subprocess.Popen([MTEST, "--state-dir", str(state), "--progress", "quiet"],
                             cwd=SUITES / "interrupt", stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL,
                             env=dict(os.environ, MTEST_CONFIG="/dev/null",
                                      MTEST_E2E_MARK=str(mark)))
    try:
        wait_for(mark.exists, what="the first run's blocking test")
        r = run(state)
        assert r.returncode == 7
        assert "another run is in progress in %s (pid %d, since 20" % (state, first.pid) \
            in one_line(r)
    finally:
        first.kill()
        first.wait(timeout=60)


def test_a_huge_command_line_keeps_its_start_record(tmp_path):
    state = tmp_path / "state"
    args = ["--", "-p", "no:cacheprovider"] + ["-W", "ignore::UserWarning:" + "x" * 200] * 150
    r = run(state, *args)
    assert r.returncode == 0, r.stderr
    records = [json.loads(l) for l in (state / "last-run" / "run.jsonl").read_text().splitlines()]
    first = records[0]
    assert first["type"] == "run_start" and first["pid"] > 0 and first["host"]
    # Never cut (issue 16): what one record cannot hold goes on in argv records.
    argv = list(first["argv"])
    for r in records[1:]:
        if not (argv and r["type"] == "argv"):
            break
        argv += r["argv"]
    assert first["more"] and argv[-len(args):] == args


def test_empty_state_dir_is_a_usage_error(tmp_path):
    """`--state-dir "$UNSET"` made the current directory the state
    directory: its ./plugin/ was deleted and lock, runs/ and state.json
    written into the project (issue 16)."""
    project = tmp_path / "project"
    project.mkdir()
    (project / "plugin").mkdir()
    (project / "plugin" / "mine.py").write_text("precious = 1\n")
    (project / "test_a.py").write_text("def test_a():\n    pass\n")
    env = dict(os.environ, MTEST_CONFIG="/dev/null")
    env.pop("MTEST_STATE_DIR", None)
    for args, extra in ((["--state-dir", ""], {}), (["--state-dir="], {}),
                        ([], {"MTEST_STATE_DIR": ""})):
        r = subprocess.run([MTEST, *args, "--progress", "quiet", "test_a.py"], cwd=project,
                           capture_output=True, text=True, timeout=120, env=dict(env, **extra))
        assert r.returncode == 4, (args, extra, r.stderr)
        assert "empty" in one_line(r), r.stderr
    assert (project / "plugin" / "mine.py").read_text() == "precious = 1\n"
    assert sorted(p.name for p in project.iterdir()) == ["plugin", "test_a.py"]
    conf = tmp_path / "mtest.conf"
    conf.write_text("state_dir = # left empty by a template\n")
    r = subprocess.run([MTEST, "--config", str(conf), "test_a.py"], cwd=project,
                       capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 4 and "state_dir: an empty path" in one_line(r)
    assert sorted(p.name for p in project.iterdir()) == ["plugin", "test_a.py"]


def test_small_cli_edges(tmp_path):
    """Issue 16, item 15: a bad --budget is one line; `key = value #
    comment` is a comment as docs/formats.md says; a timeout below a
    microsecond is refused in one line, never taken as 0 ("no limit": a
    3 s test passed)."""
    r = run(tmp_path / "state", "--budget", "-5")
    assert r.returncode == 4 and "--budget: want a time above 0" in one_line(r)
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "test_sleep.py").write_text("import time\n\ndef test_sleeps():\n"
                                         "    time.sleep(3)\n")
    state = tmp_path / "state"
    r = run(state, "--timeout", "0.0000001", cwd=suite)
    assert r.returncode == 4 and "below a microsecond" in one_line(r)
    conf = tmp_path / "mtest.conf"
    conf.write_text("kill_grace = 0.5  # quick\ntimeout = 1 # the box is fast\n")
    r = subprocess.run([MTEST, "--state-dir", str(state), "--config", str(conf),
                        "--progress", "quiet"], cwd=suite, capture_output=True, text=True,
                       timeout=120, env=dict(os.environ))
    assert r.returncode == 1, r.stdout + r.stderr
    recs = [json.loads(l) for l in (state / "last-run" / "run.jsonl").read_text().splitlines()]
    (t,) = [x for x in recs if x["type"] == "test"]
    assert t["verdict"] == "hung" and t["duration"] < 3, t
    conf.write_text("timeout = 0.0000001 # below a microsecond\n")
    r = subprocess.run([MTEST, "--state-dir", str(state), "--config", str(conf)], cwd=suite,
                       capture_output=True, text=True, timeout=120, env=dict(os.environ))
    assert r.returncode == 4 and "mtest.conf:1: timeout: below a microsecond" in one_line(r)


# ---- a path swapped under a run (issue 16, item 1) ---------------------------

SWAP_SUITE = '''import os, time

def test_a_waits_then_dies():
    open(os.environ["MTEST_E2E_MARK"], "w").close()
    go = os.environ["SWAP_GO"]
    deadline = time.monotonic() + 60
    while not os.path.exists(go) and time.monotonic() < deadline:
        time.sleep(0.02)
    os._exit(3)  # a crash: a new worker imports the plugin again

def test_b_after():
    # What the worker holds: the plugin it imported, and no descriptor
    # of mtest's state directory (mtest's own are close-on-exec).
    import json, sys
    fds = {}
    for fd in os.listdir("/proc/self/fd"):
        try:
            fds[fd] = os.readlink("/proc/self/fd/" + fd)
        except OSError:
            pass
    with open(os.environ["SWAP_SEEN"], "w") as f:
        json.dump({"plugin": sys.modules["mtest_plugin"].__file__, "fds": fds}, f)
'''

DECOY = "open(%r, 'w').write('ran as uid %%d' %% __import__('os').getuid())\n"


def nobody_py(script):
    """A Python snippet run as uid 65534, as a local attacker would."""
    r = as_nobody(["/usr/bin/python3", "-c", script])
    assert r.returncode == 0, r.stderr


def plant(state, marker, who=None):
    """A decoy state directory: its plugin writes `marker` if imported."""
    script = ("import os\nos.makedirs(%r)\n" % str(state / "plugin") +
              "".join("open(%r, 'w').write(%r)\n" % (str(state / "plugin" / m), DECOY % str(marker))
                      for m in ("mtest_boot.py", "mtest_plugin.py")))
    if who == "nobody":
        nobody_py(script)
    else:
        exec(script)


def swap_run(base, state, swap, marker, how="spawn"):
    """Start a run on SWAP_SUITE with `state`; when its first test runs,
    call swap() and let the test crash its worker (spawn: the next worker
    is a new Python that imports the plugin again; fork: the zygote's
    child). Returns the ended process and whether the swap happened."""
    suite = base / "suite"
    suite.mkdir()
    (suite / "test_swap.py").write_text(SWAP_SUITE)
    mark, go = base / "mark", base / "go"
    p = subprocess.Popen([MTEST, "--state-dir", str(state), "--progress", "quiet",
                          "--kill-grace", "0.5"], cwd=suite, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True,
                         env=dict(os.environ, MTEST_CONFIG="/dev/null", MTEST_E2E_MARK=str(mark),
                                  SWAP_GO=str(go), SWAP_SEEN=str(base / "seen.json"),
                                  MTEST_WORKERS=how))
    try:
        wait_for(lambda: mark.exists() or p.poll() is not None, what="the run or its end")
        swapped = mark.exists()
        if swapped:
            swap()
            go.write_text("")
        out, err = p.communicate(timeout=120)
    finally:
        if p.poll() is None:
            p.kill()
            p.communicate()
    return p.returncode, out, err, swapped


@needs_root
@pytest.mark.parametrize("how", ["0777", "nobody's", "nobody's link in /tmp"])
def test_a_path_another_user_controls_is_refused(open_base, how):
    """On 05f578d: `trusted()` stat()ed the path once and never its
    parents; nobody moved the state directory away between the check and
    a worker's restart, and their mtest_boot.py ran as root."""
    base = open_base
    marker = base / "pwned"
    if how == "0777":
        shared = base / "shared"
        shared.mkdir()
        os.chmod(shared, 0o777)  # no sticky bit: anyone may rename what it holds
        state, why = shared / "state", "%s is writable by others (mode 0777)" % shared
    elif how == "nobody's":
        shared = base / "shared"
        shared.mkdir()
        os.chown(shared, NOBODY, NOBODY)
        state, why = shared / "state", "%s belongs to uid 65534" % shared
    else:
        pub = base / "pub"
        pub.mkdir()
        os.chmod(pub, 0o1777)  # sticky, as /tmp
        real = base / "real"
        real.mkdir()
        nobody_py("import os\nos.symlink(%r, %r)\n" % (str(real), str(pub / "link")))
        state = pub / "link" / "state"
        why = "%s/link is a symbolic link of uid 65534" % pub

    def swap():
        if how == "nobody's link in /tmp":
            nobody_py("import os\nos.makedirs(%r)\nos.unlink(%r)\nos.symlink(%r, %r)\n" % (
                str(base / "pub" / "evil"), str(pub / "link"), str(pub / "evil"),
                str(pub / "link")))
            plant(pub / "evil" / "state", marker, "nobody")
        else:
            nobody_py("import os\nos.rename(%r, %r)\n" % (str(state), str(shared / "was")))
            plant(state, marker, "nobody")

    code, out, err, swapped = swap_run(base, state, swap, marker)
    assert not marker.exists(), "the attacker's plugin ran: " + marker.read_text()
    assert code == 4, (code, out, err)
    assert err.count("\n") == 1 and why in err and "refusing it" in err, err
    assert not swapped
    assert not os.path.lexists(state), "nothing may be made there"


@needs_root
@pytest.mark.parametrize("how", ["spawn", "fork"])
def test_the_run_keeps_the_state_directory_it_opened(open_base, tmp_path, how):
    """The state directory's path is swapped mid-run (here by its owner):
    the workers still import the plugin mtest wrote, and every record goes
    to the directory that was opened, none to the one now at the path."""
    base = open_base
    state, moved, marker = base / "state", base / "moved", base / "pwned"

    def swap():
        os.rename(state, moved)
        plant(state, marker)

    code, out, err, swapped = swap_run(base, state, swap, marker, how)
    assert swapped, err
    assert not marker.exists(), "a worker imported the decoy plugin: " + marker.read_text()
    assert code == 1, (code, out, err)
    assert sorted(p.name for p in state.iterdir()) == ["plugin"], "written into the decoy"
    assert sorted(p.name for p in (state / "plugin").iterdir()) == ["mtest_boot.py",
                                                                  "mtest_plugin.py"]
    for name in ("state.json", "durations.json", "quarantine.json", "lock", "last-run"):
        assert os.path.lexists(moved / name), name
    recs = [json.loads(l) for l in (moved / "last-run" / "run.jsonl").read_text().splitlines()]
    verdicts = {r["id"]: r["verdict"] for r in recs if r["type"] == "test"}
    assert verdicts == {"test_swap.py::test_a_waits_then_dies": "crashed",
                        "test_swap.py::test_b_after": "passed"}, verdicts
    assert json.loads((moved / "state.json").read_text())["status"] == "done"
    seen = json.loads((base / "seen.json").read_text())
    pid = recs[0]["pid"]
    assert seen["plugin"].startswith("/proc/%d/fd/" % pid), seen["plugin"]
    # (The faulthandler file is the worker's own, opened from MTEST_PYTB.)
    assert not [t for t in seen["fds"].values() if str(base) in t and "/.pytb-" not in t], \
        seen["fds"]


def test_readers_follow_the_same_rule(tmp_path):
    """--report, --history, --resume and --quarantine read the state
    directory: one that another user could have written (a parent anyone
    may write) could say "passed" for a run that failed. Refused, naming
    why, exit 4."""
    shared = tmp_path / "shared"
    shared.mkdir()
    state = shared / "state"
    r = run(state, cwd=SUITES / "basic")
    assert r.returncode == 1, r.stderr
    os.chmod(shared, 0o777)
    for args in (["--report"], ["--history"], ["--resume"], ["--quarantine"]):
        r = subprocess.run([MTEST, *args, "--state-dir", str(state)], capture_output=True,
                           text=True, timeout=60, env=dict(os.environ, MTEST_CONFIG="/dev/null"))
        assert r.returncode == 4, (args, r.stdout, r.stderr)
        assert "%s is writable by others (mode 0777)" % shared in one_line(r), (args, r.stderr)
        assert r.stdout == "", args
    os.chmod(shared, 0o755)
    r = subprocess.run([MTEST, "--report", "--state-dir", str(state)], capture_output=True,
                       text=True, timeout=60, env=dict(os.environ, MTEST_CONFIG="/dev/null"))
    assert r.returncode == 1 and "FAILED" in r.stdout, r.stderr
