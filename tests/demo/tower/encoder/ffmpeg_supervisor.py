"""FFmpeg encoder supervisor (contract S1-S21), cut down for the mtest demo.

Owns one ffmpeg process that turns AudioPump's PCM (s16le, 48 kHz, stereo,
4608-byte frames every 24 ms) into MP3 frames, and keeps it alive:

    STOPPED -> STARTING -> BOOTING -> RUNNING
                              |          |
                              v          v
                           RESTARTING (backoff) -> ... -> FAILED after max_restarts

Threads, named as in the tower so that stack dumps read the same:

    FFmpegStderrCapture    logs ffmpeg's stderr with an [FFMPEG] prefix
    FFmpegStdoutDrain      packetizes stdout into the frame buffer, goes RUNNING
                           on frames, reports EOF as a failure
    StartupTimeoutMonitor  warns at the soft target, fails at the hard timeout
    EncoderRestart         sleeps out the backoff, then starts a new ffmpeg

`_state_lock` is a plain, non-reentrant threading.Lock guarding the state,
the restart bookkeeping and the process handle. The timings default to the
tower's; the tests pass short ones.

Staged for the demo (see tests/demo/README.md), as they were in the tower:
a restart skips BOOTING (S13.8), `_transition_to_running` re-takes the lock
when INFO logging is on (S20.1), and stop() does not reel in the monitor and
restart threads, which sleep on until their deadlines.
"""

from __future__ import annotations

import collections
import enum
import logging
import os
import subprocess
import threading
import time
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence

from tower.encoder.frame_ring_buffer import FrameRingBuffer
from tower.encoder.packetizer import MP3Packetizer

logger = logging.getLogger(__name__)
stderr_logger = logging.getLogger(__name__ + ".stderr")

PCM_SAMPLE_RATE = 48000
PCM_CHANNELS = 2
PCM_FRAME_BYTES = 1152 * PCM_CHANNELS * 2  # one MP3 frame's worth of PCM: 4608
FRAME_INTERVAL_SEC = 1152 / PCM_SAMPLE_RATE  # 24 ms

SOFT_STARTUP_TARGET_SEC = 0.5
HARD_STARTUP_TIMEOUT_SEC = 1.5
BACKOFF_SCHEDULE_SEC = (1.0, 2.0, 4.0, 8.0, 10.0)
MAX_RESTARTS = 5
SPAWN_SETTLE_SEC = 0.2
STOP_GRACE_SEC = 1.0
MONITOR_TICK_SEC = 0.1
RESTART_TICK_SEC = 0.2


def build_ffmpeg_cmd(bitrate_kbps: int = 128, ffmpeg: str = "ffmpeg") -> List[str]:
    """PCM on stdin, bare MP3 frames on stdout: no ID3 tag, no Xing frame,
    flushed packet by packet, no input probing (the format is given)."""
    return [
        ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "warning",
        "-probesize", "32", "-analyzeduration", "0",
        "-f", "s16le", "-ar", str(PCM_SAMPLE_RATE), "-ac", str(PCM_CHANNELS), "-i", "pipe:0",
        "-f", "mp3", "-b:a", f"{bitrate_kbps}k",
        "-id3v2_version", "0", "-write_xing", "0", "-flush_packets", "1",
        "pipe:1",
    ]


class SupervisorState(enum.Enum):
    STOPPED = "stopped"
    STARTING = "starting"
    BOOTING = "booting"
    RUNNING = "running"
    RESTARTING = "restarting"
    FAILED = "failed"


@dataclass(frozen=True)
class FailureRecord:
    reason: str  # "eof" or "startup_timeout"
    exit_code: Optional[int]
    state: SupervisorState  # the state the failure was handled in
    at: float  # time.monotonic()


class FFmpegSupervisor:
    def __init__(
        self,
        *,
        ffmpeg_cmd: Optional[Sequence[str]] = None,
        frame_buffer: Optional[FrameRingBuffer] = None,
        soft_startup_target: float = SOFT_STARTUP_TARGET_SEC,
        startup_timeout: float = HARD_STARTUP_TIMEOUT_SEC,
        backoff_schedule: Sequence[float] = BACKOFF_SCHEDULE_SEC,
        max_restarts: int = MAX_RESTARTS,
        spawn_settle: float = SPAWN_SETTLE_SEC,
        stop_grace: float = STOP_GRACE_SEC,
    ) -> None:
        self._cmd = list(ffmpeg_cmd) if ffmpeg_cmd is not None else build_ffmpeg_cmd()
        self.frames = frame_buffer if frame_buffer is not None else FrameRingBuffer(400)
        self._soft_startup_target = soft_startup_target
        self._startup_timeout = startup_timeout
        self._backoff = tuple(backoff_schedule) or (0.0,)
        self._max_restarts = max_restarts
        self._spawn_settle = spawn_settle
        self._stop_grace = stop_grace

        self._state_lock = threading.Lock()  # not an RLock: see _transition_to_running
        self._state = SupervisorState.STOPPED
        self._process: Optional[subprocess.Popen] = None
        self._generation = 0  # bumped for each ffmpeg started
        self._restart_count = 0
        self._restart_pending = False  # between a failure and the next spawn
        self._deferred_failure: Optional[tuple] = None
        self._stopping = False

        self._first_frame_event = threading.Event()
        self._started_at: Optional[float] = None
        self._first_frame_time: Optional[float] = None
        self._last_frame_time: Optional[float] = None
        self.frames_received = 0
        self.spawn_count = 0

        self._threads: Dict[str, threading.Thread] = {}
        self.thread_start_order: List[str] = []
        self.state_history: List[SupervisorState] = [SupervisorState.STOPPED]
        self.failures: List[FailureRecord] = []
        self.restart_delays: List[float] = []
        self.stderr_tail: collections.deque = collections.deque(maxlen=50)

    # ----------------------------------------------------------- public API

    @property
    def state(self) -> SupervisorState:
        return self.get_state()

    def get_state(self) -> SupervisorState:
        with self._state_lock:
            return self._state

    def get_status(self) -> dict:
        with self._state_lock:
            latency = None
            if self._first_frame_time is not None and self._started_at is not None:
                latency = self._first_frame_time - self._started_at
            return {
                "state": self._state.name,
                "pid": self._process.pid if self._process else None,
                "generation": self._generation,
                "restarts": self._restart_count,
                "first_frame_latency": latency,
                "frames_received": self.frames_received,
                "buffered_frames": len(self.frames),
            }

    @property
    def process(self) -> Optional[subprocess.Popen]:
        return self._process

    def start(self) -> SupervisorState:
        """Start ffmpeg and return with the supervisor BOOTING (S19.13): the
        first frame arrives later, on the drain thread."""
        with self._state_lock:
            if self._state not in (SupervisorState.STOPPED, SupervisorState.FAILED):
                raise RuntimeError(f"start() while {self._state.name}")
            self._stopping = False
            self._restart_count = 0
            self._restart_pending = False
            self._deferred_failure = None
            self._set_state_locked(SupervisorState.STARTING)
        try:
            self._start_encoder_process()
        except OSError:
            with self._state_lock:
                self._set_state_locked(SupervisorState.FAILED)
            raise
        with self._state_lock:
            if self._state is SupervisorState.STARTING:
                self._set_state_locked(SupervisorState.BOOTING)
            deferred, self._deferred_failure = self._deferred_failure, None
        if deferred is not None:  # S19.14: a failure reported while STARTING
            self._handle_failure(*deferred)
        return self.get_state()

    def write_pcm(self, pcm: bytes) -> bool:
        """Hand PCM to ffmpeg. Never raises: a dead or restarting encoder just
        drops the audio (AudioPump must keep its cadence)."""
        proc = self._process
        if proc is None or proc.stdin is None:
            return False
        try:
            proc.stdin.write(pcm)
            return True
        except (BrokenPipeError, OSError, ValueError):
            return False

    def stop(self) -> None:
        """Stop ffmpeg (stdin closed, SIGKILL after the grace), reap it, and
        wait for its pipe readers. Safe to call in any state, more than once."""
        with self._state_lock:
            self._stopping = True
            proc, self._process = self._process, None
            if self._state is not SupervisorState.STOPPED:
                self._set_state_locked(SupervisorState.STOPPED)
        if proc is not None:
            self._terminate(proc, self._stop_grace)
        for name in ("FFmpegStdoutDrain", "FFmpegStderrCapture"):
            thread = self._threads.get(name)
            if thread is not None and thread is not threading.current_thread():
                thread.join(timeout=2.0)
        # StartupTimeoutMonitor and EncoderRestart are not joined: they check
        # _stopping when their sleep ends, and go.

    # ------------------------------------------------------------ internals

    def _set_state_locked(self, new_state: SupervisorState) -> None:
        logger.debug("encoder state %s -> %s", self._state.name, new_state.name)
        self._state = new_state
        self.state_history.append(new_state)

    def _spawn(self, name: str, target, *args) -> threading.Thread:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        self._threads[name] = thread
        self.thread_start_order.append(name)
        thread.start()
        return thread

    def _start_encoder_process(self) -> Optional[subprocess.Popen]:
        proc = subprocess.Popen(self._cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, bufsize=0, close_fds=True)
        with self._state_lock:
            adopted = not self._stopping
            if adopted:
                self._process = proc
                self._generation += 1
                generation = self._generation
                self.spawn_count += 1
                self._restart_pending = False
                self._first_frame_event.clear()
                self._first_frame_time = None
                self._started_at = started = time.monotonic()
        if not adopted:  # stop() came in while we were spawning
            self._terminate(proc, 0.0)
            proc.stdout.close()
            proc.stderr.close()
            return None
        logger.debug("ffmpeg started, pid %d (generation %d)", proc.pid, generation)
        # S19: stderr first, so that nothing ffmpeg says at startup is lost.
        self._spawn("FFmpegStderrCapture", self._stderr_capture, proc)
        self._spawn("FFmpegStdoutDrain", self._stdout_drain, proc, generation)
        self._spawn("StartupTimeoutMonitor", self._monitor_startup_timeout, generation, started)
        time.sleep(self._spawn_settle)  # Give FFmpeg a moment to start
        return proc

    def _stderr_capture(self, proc: subprocess.Popen) -> None:
        try:
            for raw in iter(proc.stderr.readline, b""):
                line = raw.decode("utf-8", "replace").rstrip()
                if line:
                    self.stderr_tail.append(line)
                    stderr_logger.warning("[FFMPEG] %s", line)
        except (OSError, ValueError):
            pass
        finally:
            proc.stderr.close()

    def _stdout_drain(self, proc: subprocess.Popen, generation: int) -> None:
        packetizer = MP3Packetizer()
        fd = proc.stdout.fileno()
        try:
            while True:
                try:
                    chunk = os.read(fd, 4096)
                except OSError:
                    break
                if not chunk:
                    break
                for frame in packetizer.feed(chunk):
                    self._on_frame(frame)
        finally:
            proc.stdout.close()
        # EOF: ffmpeg closed its stdout, so it has exited or is about to.
        try:
            exit_code = proc.wait(timeout=2.0)
        except subprocess.TimeoutExpired:
            exit_code = None
        if self._stopping or generation != self._generation:
            return  # we killed it ourselves
        self._handle_failure("eof", exit_code=exit_code)

    def _on_frame(self, frame: bytes) -> None:
        now = time.monotonic()
        self.frames.push_frame(frame)
        self.frames_received += 1
        self._last_frame_time = now
        if not self._first_frame_event.is_set():
            self._first_frame_time = now
            self._first_frame_event.set()
        # Every 24 ms: peek without the lock, take it only to change state.
        if self._state is not SupervisorState.RUNNING:
            self._transition_to_running()

    def _monitor_startup_timeout(self, generation: int, started: float) -> None:
        time.sleep(self._soft_startup_target)
        if self._first_frame_event.is_set():
            return
        logger.warning("no MP3 frame %.0f ms after start (soft target %.0f ms)",
                       (time.monotonic() - started) * 1000, self._soft_startup_target * 1000)
        deadline = started + self._startup_timeout
        while not self._first_frame_event.is_set():
            remaining_time = deadline - time.monotonic()
            if remaining_time <= 0:
                break
            time.sleep(min(remaining_time, MONITOR_TICK_SEC))
        else:
            return  # late, but inside the hard timeout
        if generation != self._generation or self._stopping:
            return
        self._handle_failure("startup_timeout")

    def _transition_to_running(self) -> bool:
        """BOOTING or RESTARTING -> RUNNING. The drain calls it on frames;
        AudioPump calls it to go live when its grace period ends."""
        with self._state_lock:
            if self._state not in (SupervisorState.BOOTING, SupervisorState.RESTARTING):
                return False
            self._set_state_locked(SupervisorState.RUNNING)
            self._restart_count = 0
            if logger.isEnabledFor(logging.INFO):
                # S20.1: one line per go-live that operators can grep for.
                logger.info("ENCODER LIVE (%s)", self._live_summary())
        return True

    def _live_summary(self) -> str:
        # BUG (staged for the demo): get_status() takes _state_lock, which our
        # caller holds. Only reached with INFO logging on for this logger.
        status = self.get_status()
        return ", ".join(f"{key}={value}" for key, value in status.items())

    def _handle_failure(self, reason: str, exit_code: Optional[int] = None) -> None:
        with self._state_lock:
            state = self._state
            if self._stopping or state in (SupervisorState.STOPPED, SupervisorState.FAILED):
                return
            if state is SupervisorState.STARTING:
                self._deferred_failure = (reason, exit_code)  # start() replays it
                return
            if self._restart_pending:
                logger.debug("ignoring %s: a restart is already scheduled", reason)
                return
            self.failures.append(FailureRecord(reason, exit_code, state, time.monotonic()))
            proc = self._process
            generation = self._generation
            if self._restart_count >= self._max_restarts:
                delay = None
                self._set_state_locked(SupervisorState.FAILED)
            else:
                delay = self._backoff[min(self._restart_count, len(self._backoff) - 1)]
                self._restart_count += 1
                self._restart_pending = True
                self.restart_delays.append(delay)
                self._set_state_locked(SupervisorState.RESTARTING)
        logger.warning("encoder failure: %s (exit code %s) while %s", reason, exit_code, state.name)
        if proc is not None:
            self._kill(proc)
        if delay is None:
            logger.error("encoder FAILED after %d restarts", self._max_restarts)
            return
        self._spawn("EncoderRestart", self._restart_worker, generation, delay, proc)

    def _restart_worker(self, generation: int, delay: float, old_proc) -> None:
        deadline = time.monotonic() + delay
        while time.monotonic() < deadline:  # S13.4 backoff
            if generation != self._generation:
                return  # someone started a newer encoder meanwhile
            time.sleep(min(RESTART_TICK_SEC, max(0.0, deadline - time.monotonic())))
        if self._stopping:
            return
        if old_proc is not None:
            self._terminate(old_proc, 0.0)
        with self._state_lock:
            if self._state is not SupervisorState.RESTARTING or generation != self._generation:
                return
        # S13.8 wants RESTARTING -> BOOTING here; we stay RESTARTING until the
        # first frame (staged for the demo: the tower had the same gap).
        self._start_encoder_process()

    @staticmethod
    def _kill(proc: subprocess.Popen) -> None:
        """SIGKILL without waiting: the drain (or stop) reaps it."""
        try:
            proc.stdin.close()
        except (OSError, ValueError):
            pass
        if proc.poll() is None:
            try:
                proc.kill()
            except ProcessLookupError:
                pass

    @staticmethod
    def _terminate(proc: subprocess.Popen, grace: float) -> None:
        """Close stdin (ffmpeg flushes and exits), SIGKILL after `grace`
        seconds, and reap. ffmpeg ignores SIGTERM while blocked on a pipe."""
        try:
            proc.stdin.close()
        except (OSError, ValueError):
            pass
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
