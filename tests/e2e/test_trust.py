"""The state directory is trusted only when it is the user's alone: the
plugin every worker imports lives there. Planted files and links never
run, never get followed, and never cost a record (issue 7, suspected)."""

import json
import os
import subprocess

from conftest import MTEST, SUITES, wait_for


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
