def test_last():
    pass
