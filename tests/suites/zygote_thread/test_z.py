def test_one():
    pass


def test_two():
    assert 0, "fails as it should"
