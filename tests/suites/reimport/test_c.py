def test_c1():
    pass


def test_c2():
    pass
