def test_other_passes():
    pass
