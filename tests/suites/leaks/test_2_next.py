"""The next file: it must start in a fresh worker."""


def test_next_file_starts_fresh():
    pass
