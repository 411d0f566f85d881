"""The next file uses the helper too (a fresh worker starts a fresh one)."""


def test_i1_uses_gui(live_gui):
    assert live_gui.pid > 0
