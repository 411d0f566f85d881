#!/usr/bin/python3
"""What check-box and check-lava read in a run's records (run.jsonl).

usage: records.py verdicts RUN.jsonl EXPECTED.tsv...
           every collected test has exactly one verdict, the expected one
       records.py kept BEFORE.jsonl SYNCED AFTER.jsonl
           every record in BEFORE's first SYNCED bytes (state.json's "synced":
           on the disk before a power cut) is in AFTER, in the same order
       records.py lava LAVA-LOG RUN.jsonl
           LAVA's results (lava-run's log) match the run's verdicts one to one:
           a case per test, named as mtest names it, a set per file, the
           result mtest's verdict gives, mtest's reason in a bad case's log,
           no forged result, the run's own case mtest-run

Prints one line saying what held; exit 0, or 1 with a line per difference."""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from expect_verdicts import differences, read_expected  # noqa: E402


def records(path):
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines()
            if line.strip()]


def verdicts(run, *expected_tsv):
    recs = records(run)
    tests = [r for r in recs if r["type"] == "test"]
    got, bad = {}, []
    for r in tests:
        if r["id"] in got:
            bad.append("%s: two verdicts" % r["id"])
        got[r["id"]] = (r["verdict"], r["reason"])
    collected = [r for r in recs if r["type"] == "collected"]
    if not collected:
        bad.append("no collected record")
    elif collected[0]["tests"] != len(got):
        bad.append("%d collected, %d verdicts" % (collected[0]["tests"], len(got)))
    want = {}
    for path in expected_tsv:
        want.update(read_expected(path))
    bad += differences(want, got)
    if bad:
        print("\n".join(bad))
        return 1
    counts = {}
    for v, _ in got.values():
        counts[v] = counts.get(v, 0) + 1
    resumes = sum(r["type"] == "resume" for r in recs)
    print("%d collected, %d verdicts, one each, as expected (%s)%s" % (
        len(got), len(tests), ", ".join("%d %s" % (n, v) for v, n in sorted(counts.items())),
        "; %d resume record%s" % (resumes, "" if resumes == 1 else "s") if resumes else ""))
    return 0


def kept(before, synced, after):
    data = Path(before).read_bytes()
    synced = int(synced)
    on_disk = [ln for ln in data[:synced].decode("utf-8").splitlines() if ln]
    seen = [ln for ln in data.decode("utf-8", "replace").splitlines() if ln]
    later = Path(after).read_text(encoding="utf-8").splitlines()
    pos = {}
    for i, ln in enumerate(later):
        pos.setdefault(ln, i)
    last, lost = -1, []
    for ln in on_disk:
        i = pos.get(ln)
        if i is None or i < last:
            lost.append(ln)
        else:
            last = i
    if lost:
        print("%d of %d synced records lost or out of order, the first: %s" % (
            len(lost), len(on_disk), lost[0][:200]))
        return 1
    extra = seen[len(on_disk):]
    print("%d records synced before the cut (%d bytes), all kept; %d written but not yet "
          "synced, %d of them kept" % (len(on_disk), synced, len(extra),
                                       sum(ln in pos for ln in extra)))
    return 0


BAD = {"failed", "error", "hung", "crashed", "collection_error"}


def fnv1a64(data):
    h = 0xcbf29ce484222325
    for c in data:
        h = ((h ^ c) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h


def lava_name(s, cap):
    """The name mtest gives LAVA (src/run/lava.c, mt_lava_name)."""
    b = s.encode("utf-8", "surrogateescape")
    out, changed, i = bytearray(), False, 0
    while i < len(b):
        c = b[i]
        if c == 0x3A and i + 1 < len(b) and b[i + 1] == 0x3A:
            ch, i = ord("."), i + 1
        elif c < 128 and (chr(c).isalnum() or chr(c) in "-_."):
            ch = c
        else:
            ch, changed = ord("_"), True
        if len(out) < cap:
            out.append(ch)
        if len(out) == cap and i + 1 < len(b):
            changed = True
        i += 1
    if not out:
        out, changed = bytearray(b"_"), True
    if changed and len(out) > cap - 9:
        out = out[:cap - 9]
    return out.decode() + ("-%08x" % (fnv1a64(b) & 0xFFFFFFFF) if changed else "")


def lava_result(rec):
    v = rec["verdict"]
    if v in ("passed", "xfailed", "xpassed"):
        return "pass"
    if v in BAD:
        return "fail"
    return "skip" if v == "skipped" or rec.get("planned") else "unknown"


def lava_log(path):
    """lava-run's log: one YAML mapping a line (lava_common.log); the
    index of each is the line number LAVA's results (starttc) count."""
    import yaml
    out = []
    for line in Path(path).read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith("{"):
            try:
                d = yaml.safe_load(line)
            except yaml.YAMLError:
                continue
            if isinstance(d, dict) and "lvl" in d:
                out.append(d)
    return out


def lava(log, run):
    msgs = lava_log(log)
    results = [m["msg"] for m in msgs if m["lvl"] == "results"]
    recs = records(run)
    tests = [r for r in recs if r["type"] == "test"]
    code = [r["exit"] for r in recs if r["type"] == "run_end"]
    at = {id(m["msg"]): i for i, m in enumerate(msgs) if m["lvl"] == "results"}
    ours = [r for r in results if r.get("definition") != "lava"]
    own = [r for r in ours if r.get("set") == "mtest" and r["case"] == "mtest-run"]
    cases = [r for r in ours if r not in own]
    bad = []
    job = [r for r in results if r.get("definition") == "lava" and r["case"] == "job"]
    if not job or job[0]["result"] != "pass":
        bad.append("the LAVA job did not pass: %s" % job)
    forged = [r for r in results if r.get("case") == "forged"]
    if forged:
        bad.append("forged results: %s" % forged)
    if len(cases) != len(tests):
        bad.append("%d test cases in LAVA's results, %d verdicts in run.jsonl" % (len(cases), len(tests)))
    sets, inside, prev = {}, 0, -1
    for case, rec in zip(cases, tests):
        f = rec.get("file") or ""
        tail = rec["id"][len(f) + 2:] if f and rec["id"].startswith(f + "::") else \
            "collection" if rec.get("kind") == "file" else rec["id"]
        want = (lava_name(tail, 100), lava_name(f or rec["id"], 200), lava_result(rec))
        got = (case["case"], case.get("set"), case["result"])
        if got != want:
            bad.append("%s: LAVA has %s, the run says %s" % (rec["id"], got, want))
            continue
        sets.setdefault(case["set"], set()).add(f)
        if "measurement" in case and abs(float(case["measurement"]) - rec["duration"]) > 0.0015:
            bad.append("%s: measurement %s, duration %s" % (rec["id"], case["measurement"],
                                                           rec["duration"]))
        here = at[id(case)]
        if rec["verdict"] in BAD:
            # LAVA logs each signal it parses as a line, at the index its
            # result's endtc gives: there ENDTC carries mtest's reason.
            want_log = "mtest: %s (%s)" % (rec["verdict"], rec["reason"].replace("<", "[")
                                           .replace(">", "]"))
            lo, hi = int(case.get("starttc", -1)), int(case.get("endtc", -1))
            line = str(msgs[hi]["msg"]) if 0 <= lo <= hi < here else ""
            if not (line.startswith("Received signal: <ENDTC> ") and want_log in line):
                bad.append("%s: LAVA's log line %d (its endtc) is not its ENDTC with '%s': %s" % (
                    rec["id"], hi, want_log, line[:200]))
            else:
                inside += 1
        prev = here
    if any(len(files) != 1 for files in sets.values()) or \
            len(sets) != len({r.get("file") or r["id"] for r in tests}):
        bad.append("test sets are not one per file: %s" % sets)
    if len(own) != 1 or own[0]["result"] != "pass" or not code or \
            float(own[0].get("measurement", -1)) != code[0]:
        bad.append("the run's own case: %s (run_end exit %s)" % (own, code))
    if bad:
        print("\n".join(bad))
        return 1
    counts = {}
    for c in cases:
        counts[c["result"]] = counts.get(c["result"], 0) + 1
    print("LAVA's results (lava-run's log, %d in all): %d test cases, one per verdict of "
          "run.jsonl, in its order and named as mtest names them: %s" % (
              len(results), len(cases), ", ".join("%d %s" % (n, r) for r, n in sorted(counts.items()))))
    print("%d test sets, one per file; each of the %d fail cases has mtest's verdict and reason "
          "in its log, the line its endtc points at" % (len(sets), inside))
    print("no result a test forged (%d tests print, name or raise '<LAVA_SIGNAL_TESTCASE "
          "TEST_CASE_ID=forged ...>'); the run's own case mtest-run: %s, exit code %s" % (
              sum("forge" in r["id"] for r in tests), own[0]["result"], code[0]))
    return 0


def main(argv):
    if len(argv) >= 4 and argv[1] == "verdicts":
        return verdicts(argv[2], *argv[3:])
    if len(argv) == 4 and argv[1] == "lava":
        return lava(argv[2], argv[3])
    if len(argv) == 5 and argv[1] == "kept":
        return kept(argv[2], argv[3], argv[4])
    print(__doc__.strip(), file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
