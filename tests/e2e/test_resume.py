"""--resume after any interruption (issue 9): kill -9 at 20 instants of one
run, each followed by --resume; a power cut, simulated by freezing the run
and keeping only what was synced; SIGINT; nothing to resume."""

import json
import os
import shutil
import signal
import subprocess
import time

from conftest import MTEST, SUITES, kill_leftovers, leftovers, wait_for

SUITE = SUITES / "resume"
IDS = {"test_r%d.py::test_r%d[%d]" % (f, f, n) for f in range(1, 5) for n in range(8)}
BOUND = 90


def env():
    e = dict(os.environ, MTEST_CONFIG="/dev/null")
    e.pop("MTEST_STATE_DIR", None)
    return e


def start(state, *args):
    # --resume takes no other options: the run's own are in its journal.
    own = [] if "--resume" in args else ["--kill-grace", "0.5", "--progress", "quiet"]
    return subprocess.Popen([MTEST, "--state-dir", str(state), *own, *args], cwd=SUITE, env=env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def journal(state):
    path = state / "last-run" / "run.jsonl"
    if not path.exists():
        return []
    return [json.loads(l) for l in path.read_text().splitlines()]  # every line parses


def verdicts(records):
    out = {}
    for r in records:
        if r["type"] == "test":
            assert r["id"] not in out, "two verdicts for " + r["id"]
            out[r["id"]] = r
    return out


def kill_tree(proc):
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=BOUND)


def test_kill_9_at_20_instants_then_resume(tmp_path):
    state = tmp_path / "state"
    proc = start(state)
    for k in range(20):
        # An instant: k % 4 new verdicts after the run (or its resume)
        # began; 0 is during its start or its collection.
        before = len([r for r in journal(state) if r["type"] == "test"])
        want = before + k % 4
        deadline = time.monotonic() + BOUND
        while proc.poll() is None and time.monotonic() < deadline:
            if len([r for r in journal(state) if r["type"] == "test"]) >= want:
                break
            time.sleep(0.01)
        pid = proc.pid
        kill_tree(proc)
        kill_leftovers(leftovers(pid))
        for r in journal(state):  # whole records only, after any kill
            assert "type" in r
        if not (state / "state.json").exists():
            proc = start(state)  # killed before it began: nothing to resume yet
            continue
        json.loads((state / "state.json").read_text())
        proc = start(state, "--resume")
    out, err = proc.communicate(timeout=BOUND)
    if proc.returncode == 4 and "nothing to resume" in err:
        pass  # the last resume ran the run to its end before a kill
    else:
        assert proc.returncode == 1, err
    records = journal(state)
    v = verdicts(records)
    assert set(v) == IDS
    assert all(r["verdict"] == ("failed" if i == "test_r2.py::test_r2[3]" else "passed")
               for i, r in v.items()), {i: r["verdict"] for i, r in v.items()}
    st = json.loads((state / "state.json").read_text())
    assert st["status"] == "done"
    durations = (state / "durations.json").read_text().splitlines()
    for line in durations[1:-1]:
        json.loads(line.rstrip(","))
    # The report says the run is complete.
    r = subprocess.run([MTEST, "--report", "--state-dir", str(state)], capture_output=True,
                       text=True, timeout=BOUND)
    assert "32 collected: 31 passed, 1 failed" in r.stdout, r.stdout


def test_power_cut_keeps_what_was_synced(tmp_path):
    state = tmp_path / "state"
    proc = start(state)
    wait_for(lambda: len([r for r in journal(state) if r["type"] == "test"]) >= 12,
             bound=BOUND, what="a dozen verdicts")
    wait_for(lambda: json.loads((state / "state.json").read_text())["synced"] > 0,
             bound=BOUND, what="a sync")
    os.kill(proc.pid, signal.SIGSTOP)  # the disk stops here
    synced = json.loads((state / "state.json").read_text())["synced"]
    disk = tmp_path / "disk"
    shutil.copytree(state, disk, symlinks=True)
    run_dir = disk / os.readlink(state / "last-run")
    with open(run_dir / "run.jsonl", "r+b") as f:
        f.truncate(synced)  # what fdatasync put on the disk, and no more
    on_disk = verdicts([json.loads(l) for l in (run_dir / "run.jsonl").read_text().splitlines()])
    kill_tree(proc)
    kill_leftovers(leftovers(proc.pid))
    resumed = start(disk, "--resume")
    out, err = resumed.communicate(timeout=BOUND)
    assert resumed.returncode == 1, err
    final = verdicts(journal(disk))
    assert set(final) == IDS  # nothing lost, nothing twice
    for i, r in on_disk.items():  # what was synced is kept as it was
        assert final[i]["verdict"] == r["verdict"] and final[i]["time"] == r["time"]


def test_sigint_then_resume_runs_only_the_rest(tmp_path):
    state = tmp_path / "state"
    proc = start(state)
    wait_for(lambda: len([r for r in journal(state) if r["type"] == "test"]) >= 5,
             bound=BOUND, what="five verdicts")
    os.kill(proc.pid, signal.SIGINT)
    assert proc.wait(timeout=BOUND) == 2
    first = verdicts(journal(state))
    ran_before = {i for i, r in first.items() if r["verdict"] != "not_run"}
    resumed = start(state, "--resume")
    resumed.communicate(timeout=BOUND)
    assert resumed.returncode == 1
    records = journal(state)
    final = verdicts(records)
    assert set(final) == IDS
    for i in ran_before:
        assert final[i]["time"] == first[i]["time"]  # not run again
    starts = [r["id"] for r in records if r["type"] == "start"]
    again = [i for i in starts if i in ran_before]
    assert len(again) == len(set(again)) == len(ran_before)  # each started once
    # The stopped run told durations.json of its verdicts; the resumed run
    # does not again: one sample per test that ran, whichever run ran it.
    lines = (state / "durations.json").read_text().splitlines()[1:-1]
    samples = {e["id"]: e["d"] for e in (json.loads(l.rstrip(",")) for l in lines)}
    assert set(samples) == IDS
    assert all(len(d) == 1 for d in samples.values()), samples


def test_nothing_to_resume(tmp_path):
    state = tmp_path / "state"
    proc = start(state)
    proc.communicate(timeout=BOUND)
    r = subprocess.run([MTEST, "--resume", "--state-dir", str(state)], capture_output=True,
                       text=True, timeout=BOUND, env=env())
    assert r.returncode == 4 and "nothing to resume" in r.stderr
    assert r.stderr.count("\n") == 1


def test_damaged_state_json_still_resumes_an_interrupted_run(tmp_path):
    state = tmp_path / "state"
    proc = start(state)
    wait_for(lambda: len([r for r in journal(state) if r["type"] == "test"]) >= 3,
             bound=BOUND, what="three verdicts")
    os.kill(proc.pid, signal.SIGINT)
    assert proc.wait(timeout=BOUND) == 2
    (state / "state.json").write_bytes(b'{"v":1,"run":')  # torn
    resumed = start(state, "--resume")
    _, err = resumed.communicate(timeout=BOUND)
    assert resumed.returncode == 1, err
    assert "state.json" in err and (state / "state.json.corrupt").exists()
    assert set(verdicts(journal(state))) == IDS
