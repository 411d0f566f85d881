"""Module-level state that tests share, on purpose."""
ENCODER = {"bitrate": 128}
