"""An order-dependent failure (B fails only after A mutated a module
global) and a genuine one."""
import state


def test_a_mutates_global():
    state.ENCODER["bitrate"] = 64


def test_b_depends_on_pristine_global():
    assert state.ENCODER["bitrate"] == 128


def test_c_always_fails():
    assert 1 + 1 == 3
