"""--self-check on a set-up box (issue 20: make check-box found it failing
on every box that followed the README): the config names the box's suite,
and the self-check must still run its own scenarios, not that suite."""

import subprocess

from conftest import MTEST, SLOW, SUITES, _env


def test_a_config_with_a_suite_does_not_replace_the_scenarios(tmp_path):
    conf = tmp_path / "mtest.conf"
    conf.write_text("state_dir = %s\nsuite = %s\n" % (tmp_path / "state", SUITES / "allpass"))
    r = subprocess.run([MTEST, "--self-check"], capture_output=True, text=True,
                       env=_env({"MTEST_CONFIG": str(conf)}), timeout=180 * SLOW, cwd="/")
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.splitlines()[-1].startswith("PASS ("), r.stdout
    assert "collected, want" not in r.stdout
