"""A test file that defines no tests: nothing is collected."""


def helper_not_a_test():
    pass
