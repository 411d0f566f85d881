"""The lock ledger's deadlocks (issue 19), each beside a thread that sleeps
in a loop, as the tower's leaked threads do, so that only the wait-for
graph can call them certain. Run with --deadlock-after 1. Every deadlock
forms as the test starts: no sleep comes before it (the e2e test bounds
the time from its start to its verdict)."""
import queue
import threading
import time


def _heartbeat():
    def beat():
        while True:
            time.sleep(0.1)
    threading.Thread(target=beat, name="EncoderHeartbeat", daemon=True).start()


class EncoderSupervisor:
    """The seed's shape: a state lock taken with .acquire() by a thread that
    ends without releasing it."""

    def __init__(self):
        self._state_lock = threading.Lock()

    def _restart_worker(self):
        self._state_lock.acquire()  # and this thread ends holding it

    def _handle_failure(self, why):
        with self._state_lock:
            return why

    def _transition_to_running(self):
        with self._state_lock:
            return "RUNNING"


def test_seed_holder_exited():
    _heartbeat()
    sup = EncoderSupervisor()
    restart = threading.Thread(target=sup._restart_worker, name="EncoderRestart")
    restart.start()
    restart.join()
    for name in ("StartupTimeoutMonitor", "FFmpegStdoutDrain"):
        threading.Thread(target=sup._handle_failure, args=(name,), name=name,
                         daemon=True).start()
    sup._transition_to_running()


def test_cycle_rlock_and_condition():
    """Three threads, two locks: an RLock and a Condition's own lock."""
    _heartbeat()
    registry = threading.RLock()
    frames = threading.Condition()
    registrar_has, notifier_has = threading.Event(), threading.Event()

    def registrar():
        with registry:
            registrar_has.set()
            notifier_has.wait()
            with frames:
                pass

    def notifier():
        with frames:
            notifier_has.set()
            registrar_has.wait()
            with registry:
                pass

    threading.Thread(target=registrar, name="Registrar", daemon=True).start()
    threading.Thread(target=notifier, name="Notifier", daemon=True).start()
    registrar_has.wait()
    notifier_has.wait()
    with registry:
        pass


def test_holder_waits_on_queue_forever():
    """The holder waits for a frame that only the test thread would put,
    once it has the lock."""
    encoder_lock = threading.Lock()
    frames = queue.Queue()
    holding = threading.Event()

    def consume():
        with encoder_lock:
            holding.set()
            frames.get()

    threading.Thread(target=consume, name="QueueConsumer", daemon=True).start()
    holding.wait()
    with encoder_lock:
        frames.put(b"frame")


def test_thread_dies_holding_rlock():
    _heartbeat()
    registry = threading.RLock()

    def load():
        registry.acquire()  # twice, and never released: this thread ends
        registry.acquire()

    loader = threading.Thread(target=load, name="RegistryLoader")
    loader.start()
    loader.join()
    with registry:
        pass


def test_cycle_beside_a_busy_thread():
    """An AB/BA deadlock of RLocks while FrameEncoder keeps a CPU busy: by
    /proc alone the test thread is blocked on an active thread; the graph,
    asked once it has been stalled --deadlock-after, finds the cycle."""
    def encode():
        while True:
            sum(range(1000))

    threading.Thread(target=encode, name="FrameEncoder", daemon=True).start()
    mixer, output = threading.RLock(), threading.RLock()
    mixing = threading.Event()

    def mix():
        with output:
            mixing.set()
            with mixer:
                pass

    with mixer:
        threading.Thread(target=mix, name="MixerThread", daemon=True).start()
        mixing.wait()
        with output:
            pass


def test_after_the_deadlocks():
    pass
