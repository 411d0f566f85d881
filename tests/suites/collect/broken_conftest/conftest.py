"""A conftest.py that raises at import: its directory fails to collect."""
raise RuntimeError("conftest blew up")
