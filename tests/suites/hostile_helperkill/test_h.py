"""The second test kills the session's helper and reaps it itself, so that
mtest cannot read its exit status from a zombie: it must still name the
helper (its fixture and its command) and the test that was running."""


def test_a1_uses_gui(live_gui):
    assert live_gui.poll() is None


def test_a2_kills_gui(live_gui):
    live_gui.kill()
    live_gui.wait()


def test_a3_after():
    pass
