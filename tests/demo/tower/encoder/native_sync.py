"""Fast MP3 sync-word scan through libc's memchr (the packetizer's opt-in
native path on the ARM box, where the pure-Python scan costs ~3% CPU).

In the tower this is a small C helper; the demo binds libc through ctypes so
that no compiled extension is needed. It carries the helper's bug: memchr's
result type is declared as an integer, so "not found" (NULL) comes back as 0
instead of None, the None check never fires, and the scan then dereferences
address 1. Any chunk without a 0xFF byte kills the process with SIGSEGV.
"""

from __future__ import annotations

import ctypes

_libc = ctypes.CDLL(None)
_memchr = _libc.memchr
_memchr.argtypes = (ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t)
_memchr.restype = ctypes.c_size_t  # BUG (staged for the demo): must be c_void_p


def find_sync(buf: bytes, start: int = 0) -> int:
    """Offset of the first MP3 sync word (0xFF, then 3 set bits) at or after
    `start`, or -1. Same answer as the pure-Python scan, but in C."""
    buf = bytes(buf)
    end = len(buf) - 1  # a sync word needs two bytes
    if start >= end:
        return -1
    keep = ctypes.c_char_p(buf)  # keeps buf's address valid during the scan
    base = ctypes.cast(keep, ctypes.c_void_p).value
    pos = start
    while pos < end:
        hit = _memchr(base + pos, 0xFF, end - pos)
        if hit is None:  # never true: see the restype above
            return -1
        second = ctypes.string_at(hit + 1, 1)[0]
        if second & 0xE0 == 0xE0:
            return hit - base
        pos = hit - base + 1
    return -1
