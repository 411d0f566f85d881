"""MP3 packetizer: turns ffmpeg's stdout, read in chunks of any size, into
whole MP3 frames.

Contract (P1-P6): accepts chunks of any size; buffers until a full frame is
there; yields frames one by one; resyncs on garbage; never yields a partial
frame, not even at the end of the stream; handles headers and frames split
across chunks. Frames are passed through byte for byte.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Optional

from tower.encoder import native_sync

# Bitrates (kbps) by index, Layer III only. MPEG-2 and 2.5 share a table.
_BITRATES_V1 = (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)
_BITRATES_V2 = (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160)
_SAMPLE_RATES = {
    "1": (44100, 48000, 32000),
    "2": (22050, 24000, 16000),
    "2.5": (11025, 12000, 8000),
}
_VERSIONS = {0b00: "2.5", 0b10: "2", 0b11: "1"}  # 0b01 is reserved


@dataclass(frozen=True)
class FrameHeader:
    version: str
    bitrate_kbps: int
    sample_rate: int
    padding: int
    channel_mode: int

    @property
    def samples_per_frame(self) -> int:
        return 1152 if self.version == "1" else 576

    @property
    def frame_length(self) -> int:
        coeff = 144 if self.version == "1" else 72
        return coeff * self.bitrate_kbps * 1000 // self.sample_rate + self.padding


def parse_header(data: bytes) -> Optional[FrameHeader]:
    """The Layer III frame header in the first 4 bytes of `data`, or None."""
    if len(data) < 4 or data[0] != 0xFF or data[1] & 0xE0 != 0xE0:
        return None
    version = _VERSIONS.get((data[1] >> 3) & 0b11)
    layer_bits = (data[1] >> 1) & 0b11
    bitrate_index = data[2] >> 4
    rate_index = (data[2] >> 2) & 0b11
    if version is None or layer_bits != 0b01 or bitrate_index in (0, 15) or rate_index == 3:
        return None
    table = _BITRATES_V1 if version == "1" else _BITRATES_V2
    return FrameHeader(
        version=version,
        bitrate_kbps=table[bitrate_index],
        sample_rate=_SAMPLE_RATES[version][rate_index],
        padding=(data[2] >> 1) & 1,
        channel_mode=data[3] >> 6,
    )


class MP3Packetizer:
    def __init__(self, max_buffer: int = 64 * 1024, native_sync: bool = False) -> None:
        self._buf = bytearray()
        self._max_buffer = max_buffer
        self._native_sync = native_sync
        self.frames_emitted = 0
        self.bytes_discarded = 0

    @property
    def buffered(self) -> int:
        return len(self._buf)

    def feed(self, chunk: bytes) -> Iterator[bytes]:
        """Add `chunk` (now, not lazily) and return an iterator over the whole
        frames that are complete so far."""
        self._buf += chunk
        overflow = len(self._buf) - self._max_buffer
        if overflow > 0:  # cap: drop the oldest bytes, then resync
            self._discard(overflow)
        return self._frames()

    def _frames(self) -> Iterator[bytes]:
        while True:
            pos = self._find_sync()
            if pos < 0:
                # Keep a trailing 0xFF: it may be the first half of a split header.
                keep = 1 if self._buf[-1:] == b"\xff" else 0
                self._discard(len(self._buf) - keep)
                return
            self._discard(pos)
            if len(self._buf) < 4:
                return
            header = parse_header(self._buf)
            if header is None:  # false sync: skip one byte, look again
                self._discard(1)
                continue
            size = header.frame_length
            if len(self._buf) < size:
                return  # P2/P5: wait for the rest, never emit a partial frame
            frame = bytes(self._buf[:size])
            del self._buf[:size]
            self.frames_emitted += 1
            yield frame

    def _find_sync(self) -> int:
        if self._native_sync:
            return native_sync.find_sync(self._buf)
        pos = self._buf.find(b"\xff")
        while pos >= 0 and pos + 1 < len(self._buf):
            if self._buf[pos + 1] & 0xE0 == 0xE0:
                return pos
            pos = self._buf.find(b"\xff", pos + 1)
        return -1

    def _discard(self, count: int) -> None:
        if count > 0:
            del self._buf[:count]
            self.bytes_discarded += count
