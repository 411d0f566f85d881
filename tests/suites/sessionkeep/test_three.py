"""Tests of file three using the session's service and a module helper."""


def test_three_a(service, module_thread):
    assert service.poll() is None and module_thread.is_alive()


def test_three_b(service):
    assert service.poll() is None
