"""A test file importing a module that does not exist (ModuleNotFoundError)."""
import mtest_no_such_module_anywhere  # noqa: F401


def test_never():
    pass
