import nonexistent_module_for_mtest  # noqa: F401  (a collection error)
