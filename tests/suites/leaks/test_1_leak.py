"""A test that leaks a thread and a real ffmpeg child process."""
import subprocess
import threading
import time


def test_leaks_thread_and_ffmpeg():
    def restart_loop():
        while True:
            time.sleep(0.1)

    threading.Thread(target=restart_loop, name="EncoderRestart", daemon=True).start()
    subprocess.Popen(["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-re",
                      "-f", "lavfi", "-i", "sine=frequency=440:duration=1000",
                      "-f", "null", "-"])


def test_after_the_leak_in_the_same_file():
    pass
