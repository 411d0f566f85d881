"""In the audio group by the config's key: group.audio = test_alsa_b*.py."""
from card import use_card


def test_mixer():
    use_card("test_alsa_b.py::test_mixer")


def test_loopback():
    use_card("test_alsa_b.py::test_loopback")
