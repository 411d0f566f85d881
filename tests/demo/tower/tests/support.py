"""Helpers for the contract tests: PCM, encoder commands, polling, /proc."""

import array
import math
import os
import time

from tower.encoder.ffmpeg_supervisor import PCM_FRAME_BYTES, PCM_SAMPLE_RATE, build_ffmpeg_cmd


def sine_pcm_frame(freq: float = 440.0) -> bytes:
    """One 24 ms stereo s16le frame (4608 bytes) of a sine tone."""
    samples = array.array("h")
    for n in range(PCM_FRAME_BYTES // 4):
        value = int(8000 * math.sin(2 * math.pi * freq * n / PCM_SAMPLE_RATE))
        samples.extend((value, value))
    return samples.tobytes()


PCM_FRAME = sine_pcm_frame()


def feed_pcm(supervisor, seconds: float) -> int:
    """Write `seconds` of tone at once (faster than real time)."""
    frames = max(1, round(seconds * PCM_SAMPLE_RATE / 1152))
    ok = sum(bool(supervisor.write_pcm(PCM_FRAME)) for _ in range(frames))
    return ok


# The bound of a wait: it only catches what never happens, so it is wide. A
# box just booted after a power cut, or emulated, takes seconds to start or
# fail an ffmpeg (make check-box found 5 and 10 s too short there).
BOUND = 30.0


def pump_until(supervisor, condition, timeout: float = BOUND) -> bool:
    """Play AudioPump: feed tone, a little faster than real time, until
    `condition()` holds. Writes to a dead or restarting encoder are dropped."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        supervisor.write_pcm(PCM_FRAME)
        time.sleep(0.01)
    return condition()


def wait_until(condition, timeout: float = BOUND, interval: float = 0.01) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()


def failing_encoder_cmd() -> list:
    """An ffmpeg that dies at once: its input does not exist (a nonzero exit
    code: 1 from ffmpeg 5, Debian 12; 254 from ffmpeg 7, Debian 13)."""
    cmd = build_ffmpeg_cmd()
    cmd[cmd.index("pipe:0")] = "/nonexistent/tower-encoder-input.pcm"
    return cmd


def instant_failure_cmd() -> list:
    """An encoder that exits (status 1) before it reads or writes anything.
    A failing ffmpeg first loads its 215 libraries: 0.2 s on an x86 box,
    seconds on a slow or emulated ARM one, which outlasts a settle of 1 s."""
    return ["/bin/false"]


def slow_boot_encoder_cmd(boot_delay: float = 1.0, duration: float = 0.3) -> list:
    """An ffmpeg that stays silent for `boot_delay` seconds, then emits
    `duration` seconds of MP3 and exits on its own: a cold ARM box's encoder.
    Ignores stdin."""
    total = boot_delay + duration
    return ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "warning", "-re",
            "-f", "lavfi", "-i", f"sine=f=440:r={PCM_SAMPLE_RATE}:d={total}",
            "-af", f"atrim=start={boot_delay}", "-ac", "2",
            "-f", "mp3", "-b:a", "128k", "-id3v2_version", "0", "-write_xing", "0",
            "-flush_packets", "1", "pipe:1"]


def ffmpeg_children(parent: int = None) -> list:
    """(pid, state) of this process's ffmpeg children, zombies included."""
    parent = os.getpid() if parent is None else parent
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        if comm == "ffmpeg" and int(fields[1]) == parent:
            found.append((int(entry), fields[0]))
    return found


def is_mp3_frame(frame: bytes) -> bool:
    return len(frame) >= 4 and frame[0] == 0xFF and frame[1] & 0xE0 == 0xE0
