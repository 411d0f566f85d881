"""Bounded, thread-safe FIFO of MP3 frames between the encoder and the clients.

The FFmpegStdoutDrain thread pushes, the broadcast loop pops. Contract:
never blocks, never grows past its capacity, drops the *oldest* frame on
overflow (listeners would rather skip than fall behind).
"""

from __future__ import annotations

import collections
import threading
from typing import Deque, Optional


class FrameRingBuffer:
    def __init__(self, capacity: int) -> None:
        if capacity <= 0:
            raise ValueError(f"capacity must be positive, got {capacity}")
        self._capacity = capacity
        self._frames: Deque[bytes] = collections.deque(maxlen=capacity)
        self._lock = threading.Lock()
        self.total_pushed = 0
        self.dropped = 0

    @property
    def capacity(self) -> int:
        return self._capacity

    def push_frame(self, frame: bytes) -> None:
        if not frame:
            raise ValueError("refusing to buffer an empty frame")
        with self._lock:
            if len(self._frames) == self._capacity:
                self.dropped += 1  # the deque's maxlen drops the oldest for us
            self._frames.append(bytes(frame))
            self.total_pushed += 1

    def pop_frame(self) -> Optional[bytes]:
        with self._lock:
            return self._frames.popleft() if self._frames else None

    def clear(self) -> None:
        with self._lock:
            self._frames.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._frames)

    def stats(self) -> dict:
        with self._lock:
            return {"count": len(self._frames), "capacity": self._capacity,
                    "total_pushed": self.total_pushed, "dropped": self.dropped}
