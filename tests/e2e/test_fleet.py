"""Results where fleets and CI read them (issue 9): JUnit XML checked
against pytest's own schema (tests/e2e/data/junit-10.xsd, from
pytest-dev/pytest testing/example_scripts), for a whole run, an
interrupted one and one that died; LAVA test-shell signals parsed with
LAVA's own pattern and matched one to one with the verdicts."""

import json
import os
import re
import shutil
import signal
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from conftest import MTEST, _env, expected, wait_for

XSD = Path(__file__).parent / "data" / "junit-10.xsd"
# lava_dispatcher/actions/test/shell.py (Linaro/lava): the signal pattern.
LAVA_SIGNAL = re.compile(r"<LAVA_SIGNAL_(\S+) ([^>]+)>")
BAD = {"failed", "error", "hung", "crashed", "collection_error"}


def validate(path):
    xmllint = shutil.which("xmllint")
    assert xmllint, "xmllint is missing: tools/install-deps installs libxml2-utils"
    r = subprocess.run([xmllint, "--noout", "--schema", str(XSD), str(path)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return ET.parse(path).getroot()


def cases(root):
    return {(c.get("classname"), c.get("name")): c for c in root.iter("testcase")}


def test_junit_validates_and_matches_the_run(mtest, tmp_path):
    out = tmp_path / "junit.xml"
    run = mtest("results", "--junit-xml", str(out))
    assert run.code == 1
    assert run.verdicts == expected("results")
    root = validate(out)
    suite = root.find("testsuite")
    tests = run.of_type("test")
    counts = run.of_type("run_end")[0]["counts"]
    assert int(suite.get("tests")) == len(tests) == len(list(root.iter("testcase")))
    assert int(suite.get("failures")) == counts["failed"]
    assert int(suite.get("errors")) == (counts["error"] + counts["hung"] + counts["crashed"]
                                        + counts["collection_error"])
    assert int(suite.get("skipped")) == counts["skipped"] + counts["xfailed"]
    assert suite.get("hostname") == os.uname().nodename
    assert suite.get("timestamp").startswith(run.of_type("run_start")[0]["time"][:16])
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    for verdict, n in counts.items():
        assert props["mtest." + verdict] == str(n)
    assert props["mtest.exit"] == "1"

    c = cases(root)
    hung = c[("test_results", "test_hang")].find("error")
    assert hung.get("type") == "mtest.hung" and hung.get("message") == "hung: timeout"
    assert 'Thread' in hung.text and "test_results.py:" in hung.text  # the stacks
    crashed = c[("test_results", "test_crash")].find("error")
    assert crashed.get("message") == "crashed: SIGSEGV"
    fail = c[("test_results", "test_fail")].find("failure")
    assert fail.get("message") == "failed: AssertionError"
    assert 'x < y & "z" ]]>' in fail.text  # escaped, and read back whole
    assert c[("test_results", "test_skip")].find("skipped").get("type") == "pytest.skip"
    assert c[("test_results", "test_xfail")].find("skipped").get("type") == "pytest.xfail"
    assert len(c[("test_results", "test_xpass")]) == 0
    assert c[("", "test_broken.py")].find("error").get("type") == "mtest.collection_error"
    # The node id's "&" escaped in the file and read back whole; it passed.
    param = c.get(("test_results", "test_param[a&b]"))
    assert param is not None, sorted(c)
    assert len(param) == 0, ET.tostring(param)  # no failure, error or skipped
    # pytest's time attribute is seconds with at most three decimals.
    assert all(re.fullmatch(r"\d+\.\d{3}", t.get("time")) for t in root.iter("testcase"))


def test_junit_of_an_interrupted_run(mtest_bg, tmp_path):
    out = tmp_path / "junit.xml"
    proc, state, mark = mtest_bg("interrupt", "--junit-xml", str(out))
    wait_for(mark.exists, what="the blocking test")
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=60)
    assert proc.returncode == 2
    root = validate(out)
    c = cases(root)
    after = c[("test_c", "test_after")].find("error")
    assert after.get("type") == "mtest.not_run" and after.get("message") == \
        "not_run: interrupted"
    props = {p.get("name"): p.get("value") for p in root.iter("property")}
    assert props["mtest.exit"] == "2" and props["mtest.stopped"] == "interrupted"


def test_junit_of_a_run_that_died_from_report(mtest_bg, tmp_path):
    """kill -9: no end to write the file; --report writes it from the journal."""
    proc, state, mark = mtest_bg("interrupt")
    wait_for(mark.exists, what="the blocking test")
    proc.kill()
    proc.communicate(timeout=60)
    out = tmp_path / "dead.xml"
    r = subprocess.run([MTEST, "--report", "--state-dir", str(state), "--junit-xml", str(out)],
                       capture_output=True, text=True, env=_env(None), timeout=60)
    assert r.returncode == 6, r.stderr  # the run died: incomplete, as test_lifecycle has it
    root = validate(out)
    c = cases(root)
    first = c.get(("test_a", "test_first"))
    assert first is not None, sorted(c)
    assert len(first) == 0, ET.tostring(first)  # passed before the kill
    inc = c[("mtest", "incomplete")].find("error")
    assert inc.get("message").startswith("2 of 3 collected tests have no verdict: the run died")
    assert int(root.find("testsuite").get("errors")) == 1


def test_junit_path_that_cannot_be_written_is_exit_3(mtest, tmp_path):
    run = mtest("allpass", "--junit-xml", str(tmp_path / "no" / "such" / "dir" / "j.xml"))
    assert run.code == 3
    assert "--junit-xml: cannot write" in run.stderr
    assert run.of_type("run_end")[0]["exit"] == 3


def lava_signals(text):
    """(name, params) for each signal, as LAVA's test shell reads them."""
    out = []
    for m in LAVA_SIGNAL.finditer(text):
        name, params = m.groups()
        out.append((name, params.split()))
    return out


def case_params(params):
    d = {}
    for p in params:
        k, v = p.split("=", 1)  # handle_testcase(): malformed is a JobError
        d[k.lower()] = v
    return d


def lava_result(record):
    v = record["verdict"]
    if v in ("passed", "xfailed", "xpassed"):
        return "pass"
    if v in BAD:
        return "fail"
    if v == "skipped" or record.get("planned"):
        return "skip"
    return "unknown"


def check_lava(stdout, records):
    sigs = lava_signals(stdout)
    cases_ = [case_params(p) for n, p in sigs if n == "TESTCASE"]
    sets = [p for n, p in sigs if n == "TESTSET"]
    # Sets open and close in turn, and are named as LAVA allows.
    depth = 0
    for p in sets:
        if p[0] == "START":
            assert depth == 0 and len(p) == 2
            assert re.fullmatch(r"[-_.a-zA-Z0-9]{1,200}", p[1])
            depth = 1
        else:
            assert p == ["STOP"] and depth == 1
            depth = 0
    assert depth == 0
    # One test case per verdict, in the order of the records; no forgery.
    assert len(cases_) == len(records)
    for case, rec in zip(cases_, records):
        assert re.fullmatch(r"[-_.a-zA-Z0-9]{1,100}", case["test_case_id"])
        assert case["result"] == lava_result(rec), (case, rec["id"])
        if "measurement" in case:
            float(case["measurement"])  # LAVA: "Invalid measurement" otherwise
            assert case["units"] == "seconds"
        tail = rec["id"].split("::", 1)[-1] if "::" in rec["id"] else "collection"
        plain = tail.replace("::", ".")
        if re.fullmatch(r"[-_.a-zA-Z0-9]+", plain):
            assert case["test_case_id"] == plain
        else:
            assert re.fullmatch(r"[-_.a-zA-Z0-9]+-[0-9a-f]{8}", case["test_case_id"])
    assert "forged" not in [c["test_case_id"] for c in cases_]
    assert len({c["test_case_id"] for c in cases_}) == len(cases_)  # none merged
    return cases_


def test_lava_signals_match_the_verdicts_one_to_one(mtest):
    run = mtest("results", "--lava")
    assert run.code == 1
    records = run.of_type("test")
    live = check_lava(run.stdout, records)
    # --report --lava says the same of the same run.
    rep = run.report("--lava")
    assert rep.returncode == 1
    again = check_lava(rep.stdout, records)
    assert sorted(map(str, again)) == sorted(map(str, live))


def test_lava_of_a_resumed_run_covers_every_verdict(mtest_bg, tmp_path):
    proc, state, mark = mtest_bg("resume", "--lava")
    journal = state / "last-run" / "run.jsonl"
    wait_for(lambda: journal.exists() and journal.read_text().count('"type":"test"') >= 5,
             what="five verdicts")
    proc.kill()
    proc.communicate(timeout=60)
    r = subprocess.run([MTEST, "--resume", "--state-dir", str(state)], capture_output=True,
                       text=True, env=_env(None), timeout=200)
    assert r.returncode == 1, r.stderr
    records = [json.loads(l) for l in journal.read_text().splitlines()]
    tests = [x for x in records if x["type"] == "test"]
    assert len(tests) == 32
    # The verdicts taken back come first, then those of the resumed part.
    check_lava(r.stdout, tests)


@pytest.mark.parametrize("args,says", [
    (["--history", "--junit-xml", "x.xml"], "--history writes no JUnit XML"),
    (["--run", "2"], "--run chooses the run --report shows"),
    (["--report", "--history"], "separate commands"),
])
def test_bad_combinations(tmp_path, args, says):
    r = subprocess.run([MTEST, "--state-dir", str(tmp_path), *args], capture_output=True,
                       text=True, env=_env(None), timeout=60)
    assert r.returncode == 4 and says in r.stderr and r.stderr.count("\n") == 1


def test_lava_test_definition_runs_as_lava_would(tmp_path):
    """tools/lava/mtest.yaml: the shape LAVA's schema wants (lava_common/
    schemas/test/testdef.py), and its steps run as lava-test-shell runs them
    (params as variables, one script, set -e), with lava-test-case and
    lava-test-set as LAVA ships them (they echo signals)."""
    try:
        import yaml
    except ImportError:
        pytest.fail("python3-yaml is missing: tools/install-deps installs it")
    root = Path(__file__).resolve().parents[2]
    d = yaml.safe_load((root / "tools" / "lava" / "mtest.yaml").read_text())
    assert d["metadata"]["format"] == "Lava-Test Test Definition 1.0"
    assert re.fullmatch(r"[-_a-zA-Z0-9.]+", d["metadata"]["name"])
    assert set(d) <= {"metadata", "install", "parameters", "params", "parse", "run", "expected"}
    assert all(isinstance(s, str) for s in d["run"]["steps"])
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "lava-test-case").write_text(
        '#!/bin/sh\nid=$1; shift; d=""\n'
        'while [ $# -gt 0 ]; do case $1 in --result) d="$d RESULT=$2";; '
        '--units) d="$d UNITS=$2";; --measurement) d="$d MEASUREMENT=$2";; esac; shift 2; done\n'
        'echo "<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=$id$d>"\n')
    (bindir / "lava-test-set").write_text(
        '#!/bin/sh\nif [ "$1" = start ]; then echo "<LAVA_SIGNAL_TESTSET START $2>"; '
        'else echo "<LAVA_SIGNAL_TESTSET STOP>"; fi\n')
    for f in bindir.iterdir():
        f.chmod(0o755)
    params = dict(d["params"], SUITE=str(root / "tests" / "suites" / "results"), MTEST=MTEST,
                  STATE_DIR=str(tmp_path / "state"))
    script = "set -e\n" + "".join("%s='%s'\n" % kv for kv in params.items()) + \
        "\n".join(d["run"]["steps"]) + "\n"
    env = _env({"PATH": str(bindir) + ":" + os.environ["PATH"]})
    r = subprocess.run(["/bin/sh", "-c", script], capture_output=True, text=True, env=env,
                       timeout=200)
    assert r.returncode == 0, r.stderr
    records = [json.loads(l) for l in
               (tmp_path / "state" / "last-run" / "run.jsonl").read_text().splitlines()]
    tail = r.stdout.split("<LAVA_SIGNAL_TESTSET START mtest>")
    assert len(tail) == 2
    check_lava(tail[0], [x for x in records if x["type"] == "test"])
    (run_case,) = [case_params(p) for n, p in lava_signals(tail[1]) if n == "TESTCASE"]
    assert run_case == {"test_case_id": "mtest-run", "result": "pass", "measurement": "1",
                        "units": "exit-code"}
