def test_first():
    pass
