#!/usr/bin/python3
"""Compare the verdicts of an mtest run with an expected.tsv.

usage: tools/expect_verdicts.py EXPECTED.tsv STATE_DIR

expected.tsv lines are "verdict<TAB>reason<TAB>node id" (tests/suites/README.md).
Exit 0 when every expected verdict was recorded and nothing else was, else 1
with one line per difference."""

import hashlib
import json
import sys
from pathlib import Path

ID_MAX = 1024  # MT_ID_MAX in include/mtest/limits.h


def short_id(nodeid):
    """mtest's plugin keeps node ids over MT_ID_MAX bytes unique with a hash."""
    raw = nodeid.encode("utf-8", "backslashreplace")
    if len(raw) <= ID_MAX:
        return nodeid
    return raw[:ID_MAX - 17].decode("utf-8", "ignore") + "~" + \
        hashlib.sha1(raw).hexdigest()[:16]


def read_expected(path):
    out = {}
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        verdict, reason, nodeid = line.split("\t", 2)
        out[short_id(nodeid)] = (verdict, reason)
    return out


def read_verdicts(state_dir):
    out = {}
    text = (Path(state_dir) / "last-run" / "run.jsonl").read_text(encoding="utf-8")
    for line in text.splitlines():
        record = json.loads(line)
        if record["type"] == "test":
            if record["id"] in out:
                raise SystemExit("two verdicts for " + record["id"])
            out[record["id"]] = (record["verdict"], record["reason"])
    return out


def differences(expected, got):
    lines = []
    for nodeid, want in expected.items():
        have = got.get(nodeid)
        if have != want:
            lines.append("%s: expected %s, got %s" % (nodeid, "/".join(want),
                                                      "/".join(have) if have else "nothing"))
    for nodeid in got.keys() - expected.keys():
        lines.append("%s: unexpected %s" % (nodeid, "/".join(got[nodeid])))
    return lines


def main(argv):
    if len(argv) != 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    diff = differences(read_expected(argv[1]), read_verdicts(argv[2]))
    for line in diff:
        print(line)
    if not diff:
        print("all %d verdicts as expected" % len(read_expected(argv[1])))
    return 1 if diff else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
