"""Tests of file two using the session's service and a module helper."""


def test_two_a(service, module_thread):
    assert service.poll() is None and module_thread.is_alive()


def test_two_b(service):
    assert service.poll() is None
