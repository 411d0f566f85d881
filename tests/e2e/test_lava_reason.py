"""--lava gives each bad verdict mtest's reason as its LAVA test case's log
(issue 20: make check-lava found LAVA's results held "fail" for a hung or a
crashed test and nothing of why). LAVA's dispatcher takes only the case's
name from STARTTC and ENDTC, and logs each signal it parses as one line,
which its result points at (starttc, endtc) and its server shows as the
case's log; the reason rides in ENDTC after the name."""

import json
import re

from conftest import expected

# lava_dispatcher/actions/test/shell.py (Linaro/lava): the signal pattern.
LAVA_SIGNAL = re.compile(r"<LAVA_SIGNAL_(\S+) ([^>]+)>")
BAD = {"failed", "error", "hung", "crashed", "collection_error"}


def cases_with_logs(stdout):
    """[(case, result, the text ENDTC carried after the name, or None)], as
    LAVA's test shell parses them: a STARTTC/ENDTC pair names the case whose
    result comes next with that name."""
    out, open_case, logs = [], None, {}
    for m in LAVA_SIGNAL.finditer(stdout):
        name, raw = m.group(1), m.group(2)
        params = raw.split()
        if name == "STARTTC":
            assert open_case is None and len(params) == 1, raw
            open_case = params[0]
        elif name == "ENDTC":
            assert open_case == params[0], raw
            logs[open_case], open_case = raw[len(params[0]):].strip(), None
        elif name == "TESTCASE":
            p = dict(x.split("=", 1) for x in params)
            out.append((p["TEST_CASE_ID"], p["RESULT"], logs.pop(p["TEST_CASE_ID"], None)))
    assert open_case is None and not logs, (open_case, logs)
    return out


def check(stdout, records):
    cases = cases_with_logs(stdout)
    assert len(cases) == len(records)
    for (case, result, log), rec in zip(cases, records):
        if rec["verdict"] in BAD:
            assert result == "fail"
            want = "mtest: %s (%s)" % (rec["verdict"],
                                       rec["reason"].replace("<", "[").replace(">", "]"))
            assert log is not None and log.startswith(want), (log, want)
        else:
            assert log is None, (case, log)


def test_bad_verdicts_carry_their_reason(mtest):
    run = mtest("results", "--lava")
    assert run.code == 1
    records = run.of_type("test")
    assert {(r["id"], (r["verdict"], r["reason"])) for r in records} == \
        set(expected("results").items())
    check(run.stdout, records)
    hung = [r for r in records if r["verdict"] == "hung"][0]
    assert hung["detail"][:40].replace("<", "[").replace(">", "]") in run.stdout  # diagnosis
    rep = run.report("--lava")
    assert rep.returncode == 1
    check(rep.stdout, records)


def test_lava_definition_runs_its_suite_on_a_box_whose_config_names_another(tmp_path):
    """tools/lava/mtest.yaml on a set-up box (make check-lava found it
    running the box's own suite from mtest.conf, not the job's SUITE)."""
    import os
    import subprocess
    from pathlib import Path

    import yaml

    from conftest import MTEST, ROOT, SUITES, _env
    d = yaml.safe_load((ROOT / "tools" / "lava" / "mtest.yaml").read_text())
    conf = tmp_path / "mtest.conf"
    conf.write_text("suite = %s\n" % (SUITES / "allpass"))
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for tool in ("lava-test-case", "lava-test-set"):
        (bindir / tool).write_text("#!/bin/sh\nexit 0\n")
        (bindir / tool).chmod(0o755)
    params = dict(d["params"], SUITE=str(SUITES / "results"), MTEST=MTEST,
                  STATE_DIR=str(tmp_path / "state"))
    script = "set -e\n" + "".join("%s='%s'\n" % kv for kv in params.items()) + \
        "\n".join(d["run"]["steps"]) + "\n"
    env = _env({"PATH": str(bindir) + ":" + os.environ["PATH"], "MTEST_CONFIG": str(conf)})
    r = subprocess.run(["/bin/sh", "-c", script], capture_output=True, text=True, env=env,
                       timeout=200)
    assert r.returncode == 0, r.stderr
    run = Path(tmp_path / "state" / "last-run" / "run.jsonl").read_text()
    ids = {json.loads(l)["id"] for l in run.splitlines() if '"type":"test"' in l}
    assert ids == set(expected("results")), ids
