"""Contract: the MP3 packetizer (P1-P6), pure Python and native sync scan."""

import subprocess

import pytest

from tower.encoder.packetizer import MP3Packetizer, parse_header

pytestmark = pytest.mark.contract


def make_frame(fill: int = 0x00, padding: int = 0) -> bytes:
    """A 384-byte MPEG-1 Layer III frame header (128 kbps, 48 kHz) + payload
    (385 with padding). The payload `fill` must not look like a sync word."""
    header = bytes([0xFF, 0xFB, 0x94 | (padding << 1), 0x64])
    return header + bytes([fill]) * (384 + padding - 4)


@pytest.fixture(scope="module")
def real_mp3():
    """Half a second of tone encoded by the real ffmpeg (bare frames)."""
    cmd = ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error",
           "-f", "lavfi", "-i", "sine=f=440:r=48000:d=0.5", "-ac", "2",
           "-f", "mp3", "-b:a", "128k", "-id3v2_version", "0", "-write_xing", "0", "pipe:1"]
    return subprocess.run(cmd, capture_output=True, check=True, timeout=30).stdout


class TestMP3Packetizer:
    def test_feed_one_frame_returns_frame(self):
        frame = make_frame(0x11)
        assert list(MP3Packetizer().feed(frame)) == [frame]

    def test_feed_partial_frame_then_rest(self):
        packetizer = MP3Packetizer()
        frame = make_frame(0x22)
        assert list(packetizer.feed(frame[:2])) == []  # split inside the header
        assert list(packetizer.feed(frame[2:200])) == []
        assert list(packetizer.feed(frame[200:])) == [frame]

    def test_p4_resync_on_malformed_input_missing_sync(self):
        packetizer = MP3Packetizer()
        frames = list(packetizer.feed(b"\x00\x13garbage\x7f" * 10 + make_frame(0x33)))
        assert frames == [make_frame(0x33)]
        assert packetizer.bytes_discarded == 100

    def test_p5_never_emits_partial_even_on_stream_end(self):
        packetizer = MP3Packetizer()
        stream = make_frame(0x44) + make_frame(0x55, padding=1)[:300]
        assert list(packetizer.feed(stream)) == [make_frame(0x44)]
        assert packetizer.buffered == 300

    def test_real_ffmpeg_stream_any_chunk_size(self, real_mp3):
        for chunk_size in (1, 7, 384, 1000, len(real_mp3)):
            packetizer = MP3Packetizer()
            frames = []
            for i in range(0, len(real_mp3), chunk_size):
                frames.extend(packetizer.feed(real_mp3[i:i + chunk_size]))
            assert b"".join(frames) == real_mp3  # bytes passed through unchanged
            assert {parse_header(f).frame_length for f in frames} == {384}


class TestMP3PacketizerNativeSync:
    """The opt-in native sync scan must give the pure-Python scan's answers."""

    def test_native_sync_finds_header(self):
        packetizer = MP3Packetizer(native_sync=True)
        frames = list(packetizer.feed(b"\x01\x02\xff\x00" + make_frame(0x66)))
        assert frames == [make_frame(0x66)]
        assert packetizer.bytes_discarded == 4

    def test_native_sync_resyncs_on_garbage_chunk(self):
        # A chunk with no 0xFF in it at all: the native scan's memchr finds
        # nothing, and the binding dereferences address 1 (SIGSEGV).
        packetizer = MP3Packetizer(native_sync=True)
        assert list(packetizer.feed(b"\x00\x13garbage\x7f" * 10)) == []
        assert packetizer.bytes_discarded == 100

    def test_native_sync_matches_python_path(self, real_mp3):
        native, python = MP3Packetizer(native_sync=True), MP3Packetizer()
        for i in range(0, len(real_mp3), 500):
            chunk = real_mp3[i:i + 500]
            assert list(native.feed(chunk)) == list(python.feed(chunk))
        assert native.frames_emitted == python.frames_emitted > 0
