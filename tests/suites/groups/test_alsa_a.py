"""In the audio group by its marker (unless E2E_GROUPS=off: the control)."""
import os

import pytest

from card import use_card

if os.environ.get("E2E_GROUPS") != "off":
    pytestmark = pytest.mark.mtest_group("audio")


def test_playback():
    use_card("test_alsa_a.py::test_playback")


def test_capture():
    use_card("test_alsa_a.py::test_capture")
