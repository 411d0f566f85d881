"""Contract: the MP3 frame ring buffer between the encoder and the clients."""

import threading

import pytest

from tower.encoder.frame_ring_buffer import FrameRingBuffer

pytestmark = pytest.mark.contract


class TestFrameRingBuffer:
    def test_push_pop_fifo(self):
        buf = FrameRingBuffer(capacity=4)
        for i in range(3):
            buf.push_frame(bytes([i]) * 8)
        assert [buf.pop_frame()[0] for _ in range(3)] == [0, 1, 2]
        assert buf.pop_frame() is None

    def test_overflow_drops_oldest(self):
        buf = FrameRingBuffer(capacity=3)
        for i in range(5):
            buf.push_frame(bytes([i]) * 8)
        assert len(buf) == 3
        assert buf.stats()["dropped"] == 2
        assert buf.pop_frame()[0] == 2  # 0 and 1 were dropped, not 3 and 4

    def test_thread_safety_smoke(self):
        buf = FrameRingBuffer(capacity=64)
        popped = []

        def writer(tag):
            for i in range(2000):
                buf.push_frame(bytes([tag, i % 256]))

        def reader():
            for _ in range(4000):
                frame = buf.pop_frame()
                if frame is not None:
                    popped.append(frame)

        threads = [threading.Thread(target=writer, args=(t,)) for t in range(3)]
        threads.append(threading.Thread(target=reader))
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=10)
        stats = buf.stats()
        assert stats["total_pushed"] == 6000
        assert len(popped) + stats["count"] + stats["dropped"] == 6000
        assert stats["count"] <= buf.capacity

    def test_empty_frame_rejected(self):
        buf = FrameRingBuffer(capacity=2)
        with pytest.raises(ValueError):
            buf.push_frame(b"")
        assert len(buf) == 0

    def test_zero_capacity_rejected(self):
        with pytest.raises(ValueError):
            FrameRingBuffer(capacity=0)
