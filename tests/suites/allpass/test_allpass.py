"""Nothing misbehaves: three passing tests, mtest must exit 0."""


def test_one():
    pass


def test_two():
    pass


def test_three():
    pass
