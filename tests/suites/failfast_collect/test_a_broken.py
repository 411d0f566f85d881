"""Fails to collect, first: under --fail-fast its collection_error is a bad
verdict that comes before the collection has ended."""
import no_such_module_for_mtest  # noqa: F401


def test_never():
    pass
