"""Contract: the FFmpeg encoder supervisor (S5-S21), against the real ffmpeg."""

import logging
import os
import signal
import threading
import time

import pytest

from tower.encoder.ffmpeg_supervisor import SupervisorState as S
from tower.encoder.packetizer import parse_header
from tower.tests.support import (
    failing_encoder_cmd, feed_pcm, ffmpeg_children, instant_failure_cmd, is_mp3_frame,
    pump_until, slow_boot_encoder_cmd, wait_until,
)

pytestmark = [pytest.mark.contract, pytest.mark.ffmpeg]

SUPERVISOR_LOGGER = "tower.encoder.ffmpeg_supervisor"


def running(sup):
    return sup.state is S.RUNNING


def start_running(sup):
    """Start, then feed tone until the first frame puts it RUNNING."""
    assert sup.start() is S.BOOTING
    assert pump_until(sup, lambda: running(sup)), sup.get_status()


def kill_encoder(sup):
    os.kill(sup.process.pid, signal.SIGKILL)


class TestFFmpegSupervisorLiveness:
    def test_s5_process_starts_successfully(self, make_supervisor):
        sup = make_supervisor()
        sup.start()
        pid = sup.process.pid
        os.kill(pid, 0)  # alive
        assert pid in [child for child, _ in ffmpeg_children()]
        assert sup.process.args[0] == "ffmpeg" and "pipe:0" in sup.process.args

    def test_s6_stderr_capture_thread_started(self, make_supervisor):
        sup = make_supervisor()
        sup.start()
        live = {t.name: t for t in threading.enumerate()}
        for name in ("FFmpegStderrCapture", "FFmpegStdoutDrain", "StartupTimeoutMonitor"):
            assert sup._threads[name].is_alive(), name
            assert sup._threads[name].daemon, name  # S14.4: never blocks interpreter exit
            assert name in live

    def test_s6a_booting_state_transition(self, make_supervisor):
        sup = make_supervisor()
        start_running(sup)
        assert sup.state_history == [S.STOPPED, S.STARTING, S.BOOTING, S.RUNNING]

    def test_s7_first_frame_latency_recorded(self, make_supervisor):
        sup = make_supervisor()
        start_running(sup)
        latency = sup.get_status()["first_frame_latency"]
        assert latency is not None and 0 < latency < 10.0

    def test_s8_continuous_frames_within_interval(self, make_supervisor):
        sup = make_supervisor()
        start_running(sup)
        feed_pcm(sup, 1.0)
        assert wait_until(lambda: sup.frames_received >= 30), sup.get_status()
        frames = [sup.frames.pop_frame() for _ in range(len(sup.frames))]
        assert all(is_mp3_frame(f) for f in frames)
        assert {parse_header(f).frame_length for f in frames} == {384}  # 128 kbps, 48 kHz


class TestFFmpegSupervisorFailureDetection:
    def test_s9_process_failure_detection(self, make_supervisor):
        sup = make_supervisor(backoff_schedule=(30.0,))  # no restart during the test
        start_running(sup)
        kill_encoder(sup)
        assert wait_until(lambda: sup.state is S.RESTARTING)
        assert [(f.reason, f.exit_code, f.state) for f in sup.failures] == [
            ("eof", -signal.SIGKILL, S.RUNNING)]

    def test_s10_startup_timeout_detection(self, make_supervisor):
        sup = make_supervisor(soft_startup_target=0.05, startup_timeout=0.3,
                              backoff_schedule=(30.0,))
        sup.start()  # and no PCM: ffmpeg never produces a frame
        assert wait_until(lambda: sup.failures)
        assert sup.failures[0].reason == "startup_timeout"
        assert sup.state is S.RESTARTING
        assert wait_until(lambda: sup.process.poll() is not None)  # the hung encoder was killed


class TestFFmpegSupervisorRestartBehavior:
    def test_s13_3_preserves_mp3_buffer(self, make_supervisor):
        sup = make_supervisor(backoff_schedule=(30.0,))
        start_running(sup)
        assert wait_until(lambda: len(sup.frames) > 0)
        kill_encoder(sup)
        assert wait_until(lambda: sup.state is S.RESTARTING)
        before = len(sup.frames)
        assert before > 0 and sup.frames.pop_frame() is not None

    def test_s13_4_follows_backoff_schedule(self, make_supervisor):
        sup = make_supervisor(ffmpeg_cmd=failing_encoder_cmd(),
                              backoff_schedule=(0.01, 0.02), max_restarts=3)
        sup.start()
        assert wait_until(lambda: sup.state is S.FAILED), sup.state_history
        assert sup.restart_delays == [0.01, 0.02, 0.02]  # the last step repeats

    def test_s13_5_max_restarts_enforced(self, make_supervisor):
        sup = make_supervisor(ffmpeg_cmd=failing_encoder_cmd(), max_restarts=2)
        sup.start()
        assert wait_until(lambda: sup.state is S.FAILED), sup.state_history
        assert sup.spawn_count == 3  # the first start and two restarts
        assert [f.reason for f in sup.failures] == ["eof"] * 3
        assert all(f.exit_code not in (None, 0) for f in sup.failures), sup.failures
        time.sleep(0.1)
        assert sup.spawn_count == 3 and sup.state is S.FAILED

    def test_s13_8_restart_goes_through_booting_state(self, make_supervisor):
        sup = make_supervisor(backoff_schedule=(0.05,))
        start_running(sup)
        kill_encoder(sup)
        assert wait_until(lambda: sup.state is S.RESTARTING)
        assert pump_until(sup, lambda: running(sup) and sup.spawn_count == 2), sup.state_history
        after_failure = sup.state_history[sup.state_history.index(S.RESTARTING):]
        assert after_failure == [S.RESTARTING, S.BOOTING, S.RUNNING]

    def test_s13_9_recovers_to_running_after_restart(self, make_supervisor):
        sup = make_supervisor(backoff_schedule=(0.05,))
        start_running(sup)
        first_pid = sup.process.pid
        kill_encoder(sup)
        assert wait_until(lambda: sup.state is S.RESTARTING)
        assert pump_until(sup, lambda: running(sup) and sup.spawn_count == 2), sup.state_history
        assert sup.process.pid != first_pid
        assert sup.get_status()["restarts"] == 0  # reset once live again
        assert len(sup.failures) == 1


class TestFFmpegSupervisorStderrCapture:
    def test_s14_3_logs_with_ffmpeg_prefix(self, make_supervisor, caplog):
        sup = make_supervisor(ffmpeg_cmd=failing_encoder_cmd(), max_restarts=0)
        sup.start()
        assert wait_until(lambda: sup.state is S.FAILED)
        assert sup._threads["FFmpegStderrCapture"].join(2) is None
        lines = [r.getMessage() for r in caplog.records if r.name.endswith(".stderr")]
        assert any(line.startswith("[FFMPEG] ") and "No such file" in line for line in lines)


class TestFFmpegSupervisorStartupSequence:
    def test_s19_startup_sequence_order(self, make_supervisor):
        sup = make_supervisor()
        sup.start()
        assert sup.thread_start_order == [
            "FFmpegStderrCapture", "FFmpegStdoutDrain", "StartupTimeoutMonitor"]

    def test_s19_13_start_completion_guarantee_returns_booting(self, make_supervisor):
        sup = make_supervisor()
        assert sup.start() is S.BOOTING
        with pytest.raises(RuntimeError):
            sup.start()  # only from STOPPED or FAILED

    def test_s19_14_deferred_failure_handling_during_starting(self, make_supervisor):
        # The encoder dies while start() is still settling: the failure is
        # held back until BOOTING, then handled (here: no restarts left).
        sup = make_supervisor(ffmpeg_cmd=instant_failure_cmd(), spawn_settle=1.0, max_restarts=0)
        assert sup.start() is S.FAILED
        assert sup.state_history == [S.STOPPED, S.STARTING, S.BOOTING, S.FAILED]
        assert sup.failures[0].reason == "eof"


class TestFFmpegSupervisorErrorLogging:
    def test_s20_1_logs_process_exit(self, make_supervisor, caplog):
        sup = make_supervisor(backoff_schedule=(30.0,))
        start_running(sup)
        kill_encoder(sup)
        assert wait_until(lambda: f"exit code {-signal.SIGKILL}" in caplog.text), caplog.text
        assert sup.state is S.RESTARTING

    @pytest.mark.timeout(8)
    def test_s20_1_logs_encoder_live_on_running_transition(self, make_supervisor, caplog):
        # Force the go-live as AudioPump does when its grace period ends, and
        # check the ENCODER LIVE line. The slow-booting encoder keeps the drain
        # from getting there first. (Deadlocks: see tests/demo/README.md.)
        sup = make_supervisor(ffmpeg_cmd=slow_boot_encoder_cmd(boot_delay=1.0, duration=0.3),
                              soft_startup_target=0.2, startup_timeout=0.6)
        assert sup.start() is S.BOOTING
        with caplog.at_level(logging.INFO, logger=SUPERVISOR_LOGGER):
            assert sup._transition_to_running()
        assert "ENCODER LIVE" in caplog.text
        assert sup.state is S.RUNNING


class TestFFmpegSupervisorShutdown:
    def test_s21_1_stop_reaps_ffmpeg_without_zombie(self, make_supervisor):
        sup = make_supervisor()
        start_running(sup)
        proc = sup.process
        sup.stop()
        assert proc.returncode is not None
        assert not os.path.exists(f"/proc/{proc.pid}")  # reaped, not a zombie
        assert sup.state is S.STOPPED
        assert sup.write_pcm(b"\x00" * 4608) is False  # never raises after stop
        sup.stop()  # idempotent

    def test_s21_2_stop_during_backoff_starts_nothing(self, make_supervisor):
        sup = make_supervisor(backoff_schedule=(0.2,))
        start_running(sup)
        kill_encoder(sup)
        assert wait_until(lambda: sup.state is S.RESTARTING)
        sup.stop()
        time.sleep(0.4)  # past the backoff: the restart thread must stand down
        assert sup.spawn_count == 1
        assert ffmpeg_children() == []
