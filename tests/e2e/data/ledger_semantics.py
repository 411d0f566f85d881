"""The lock ledger's wrappers (src/plugin/mtest_locks.py) under the
interpreter that runs this file: what the table says, and that the code
under test sees the same locks as without them. Run by
tests/e2e/test_lock_ledger.py; prints "ok" and exits 0, or fails with an
AssertionError naming what differed.

usage: python ledger_semantics.py PLUGIN_DIR"""

import os
import pickle
import queue
import struct
import sys
import threading
import time

sys.path.insert(0, sys.argv[1])
import mtest_locks as L  # noqa: E402

L.install("locks:8,waits:4,sites:64")
FD = L.attach()
assert FD >= 1000, FD  # out of the tests' way


class Table:
    """The table as mtest reads it: through its own descriptor."""

    def __init__(self):
        self.fd = os.open("/proc/self/fd/%d" % FD, os.O_RDONLY)

    def read(self):
        size = os.fstat(self.fd).st_size
        b = os.pread(self.fd, size, 0)
        assert b[:8] == b"MTLEDG01"
        self.b = b
        self.nlocks, self.nwaits, self.nsites = struct.unpack_from("=III", b, 12)
        self.counters = struct.unpack_from("=III", b, 28)
        return self

    def slots(self):
        out = []
        for i in range(self.nlocks):
            off = 64 + i * 32
            holder, site, since, addr, kind, flags, made = struct.unpack_from("=IIqQHHI",
                                                                              self.b, off)
            if kind:
                out.append(dict(index=i + 1, holder=holder, site=site, since=since, addr=addr,
                                kind=kind, flags=flags, made=made))
        return out

    def slot_of(self, obj):
        (s,) = [s for s in self.slots() if s["addr"] == id(obj)]
        return s

    def waits(self):
        out = []
        base = 64 + self.nlocks * 32
        for i in range(self.nwaits):
            tid, lock, since, site, flags, timeout = struct.unpack_from("=IIqIIq", self.b,
                                                                        base + i * 32)
            if tid:
                out.append(dict(tid=tid, lock=lock, since=since, site=site, flags=flags,
                                timeout=timeout))
        return out

    def site(self, index):
        off = 64 + self.nlocks * 32 + self.nwaits * 32 + (index - 1) * 256
        line, _, func, expr, path = struct.unpack_from("=II56s64s128s", self.b, off)
        return line, func.rstrip(b"\0").decode(), expr.rstrip(b"\0").decode(), \
            path.rstrip(b"\0").decode()


T = Table()
me = threading.get_native_id()


def wait_until(predicate, what, bound=10.0):
    deadline = time.monotonic() + bound
    while not predicate():
        assert time.monotonic() < deadline, "gave up waiting for " + what
        time.sleep(0.005)


def published(lock):
    return [s for s in T.read().slots() if s["addr"] == id(lock)]


def contend(lock, name="Waiter"):
    """A thread that waits for the lock (until it gets it, then lets go)."""
    t = threading.Thread(target=lambda: (lock.acquire(), lock.release()), name=name)
    t.start()
    wait_until(lambda: T.read().waits(), "the waiter's row")
    return t


def check_lock():
    lock = threading.Lock()
    assert type(lock) is L.Lock and isinstance(lock, threading.Lock)
    with lock:
        assert not published(lock)  # uncontended: nothing written
        assert lock.locked() and not lock.acquire(False)
        assert not published(lock)
        assert not lock.acquire(timeout=0.01)  # a wait: published
        assert published(lock)[0]["holder"] == me
    assert not lock.locked() and published(lock)[0]["holder"] == 0
    with lock:
        line_taken = sys._getframe().f_lineno - 1
        waiter = contend(lock)
        s = T.read().slot_of(lock)  # the waiter published its holder
        assert s["kind"] == L.KIND_LOCK and s["holder"] == me, s
        line, func, expr, path = T.site(s["site"])
        assert (line, func, expr) == (line_taken, "check_lock", "lock"), T.site(s["site"])
        assert path.endswith("ledger_semantics.py")
        assert T.site(s["made"])[2] == "lock", T.site(s["made"])  # "lock = threading.Lock()"
        (row,) = T.waits()
        assert row["lock"] == s["index"] and T.site(row["site"])[1] == "<lambda>", row
    waiter.join()
    assert T.read().slot_of(lock)["holder"] == 0 and not T.waits()
    assert lock.acquire(blocking=True, timeout=1) is True
    lock.release()
    for bad, exc in (((False, 1), ValueError), ((True, -5), ValueError),
                     ((True, 1e100), OverflowError)):
        try:
            lock.acquire(*bad)
        except exc:
            pass
        else:
            raise AssertionError("acquire%r did not raise %s" % (bad, exc.__name__))
    try:
        lock.release()
    except RuntimeError as e:
        assert "release unlocked lock" in str(e)
    else:
        raise AssertionError("release of an unlocked Lock did not raise")
    try:
        pickle.dumps(lock)
    except TypeError as e:
        assert "cannot pickle" in str(e)
    else:
        raise AssertionError("a lock pickled")
    raw = threading._allocate_lock()
    assert isinstance(raw, threading.Lock)  # CPython's own locks still are Locks


def check_cross_release():
    """A Lock released by a thread that did not take it is flagged."""
    lock = threading.Lock()
    lock.acquire()
    t = threading.Thread(target=lock.release)
    t.start()
    t.join()
    assert not lock.locked()
    lock.acquire()
    waiter = contend(lock)
    assert T.read().slot_of(lock)["flags"] & 1
    lock.release()
    waiter.join()


def check_waits_and_dead_holder():
    """A holder that exits keeps its tid in the slot; a waiter's row names
    the lock, its place and whether it has a timeout."""
    lock = threading.Lock()
    tids = []

    def take():
        tids.append(threading.get_native_id())
        lock.acquire()

    t = threading.Thread(target=take, name="Taker")
    t.start()
    t.join()
    assert not published(lock)
    got = []

    def waiter():
        got.append(lock.acquire(timeout=30))

    w = threading.Thread(target=waiter, name="Waiter")
    w.start()
    wait_until(lambda: T.read().waits(), "the waiter's row")
    (row,) = T.waits()
    assert T.slot_of(lock)["holder"] == tids[0]  # the dead thread, published
    assert row["lock"] == T.slot_of(lock)["index"] and row["flags"] & 1, row
    assert row["timeout"] == 30 * 10**6
    assert T.site(row["site"])[1] == "waiter"
    lock.release()  # by another thread: allowed for a Lock
    w.join()
    assert got == [True] and not T.read().waits()
    assert T.slot_of(lock)["holder"] == w.native_id
    lock.release()


def check_rlock():
    r = threading.RLock()
    assert type(r) is L.RLock and isinstance(r, threading.RLock)
    with r:
        with r:
            waiter = contend(r)
            assert T.read().slot_of(r)["holder"] == me
        assert T.read().slot_of(r)["holder"] == me  # still held once
        assert r._is_owned()
    waiter.join()
    assert T.read().slot_of(r)["holder"] == 0 and not r._is_owned()
    try:
        r.release()
    except RuntimeError as e:
        assert "un-acquired" in str(e)
    else:
        raise AssertionError("release of an unowned RLock did not raise")
    r.acquire()
    t = threading.Thread(target=lambda: r.acquire(timeout=0.05))
    t.start()
    t.join()
    errors = []

    def release_it():  # another thread may not release it
        try:
            r.release()
        except RuntimeError as e:
            errors.append(e)

    t = threading.Thread(target=release_it)
    t.start()
    t.join()
    assert errors and T.read().slot_of(r)["holder"] == me
    r.release()


def check_condition():
    """Condition's default lock is a tracked RLock; wait() lets it go (no
    holder while waiting) and takes it back."""
    c = threading.Condition()
    assert type(c._lock) is L._ConditionLock and isinstance(c._lock, threading.RLock)
    state = {}

    def waiter():
        with c:
            state["waiting"] = True
            c.wait(timeout=30)
            state["holder_after"] = T.read().slot_of(c._lock)["holder"]
            state["tid"] = threading.get_native_id()

    w = threading.Thread(target=waiter, name="CondWaiter")
    w.start()
    wait_until(lambda: state.get("waiting") and c._lock._w == 0, "the waiter to let go")
    with c:  # others take it meanwhile: they are its holders
        c.notify()
        # Taking it back after wait() is a wait while this thread holds it.
        wait_until(lambda: T.read().waits(), "the waiter taking it back")
        s = T.read().slot_of(c._lock)
        assert s["kind"] == L.KIND_COND and s["holder"] == me, s
        assert T.waits()[0]["flags"] & 2
    w.join()
    assert state["holder_after"] == state["tid"]
    assert T.read().slot_of(c._lock)["holder"] == 0
    c2 = threading.Condition(threading.Lock())  # a given lock is used as is
    with c2:
        assert c2._lock._w == me
        c2.wait(0.01)
        assert c2._lock._w == me


def check_internals_untracked():
    before = {s["addr"] for s in T.read().slots()}
    e = threading.Event()
    q = queue.Queue()
    b = threading.Barrier(1)
    sem = threading.Semaphore(1)  # tracked: its waits
    t = threading.Thread(target=lambda: None)
    t.start()
    t.join()
    for raw in (e._cond._lock, q.mutex):
        assert type(raw) is threading._allocate_lock().__class__, type(raw)
    assert type(b._cond._lock) is not L.Lock
    new = {s["addr"] for s in T.read().slots()} - before
    assert not new, new  # and the semaphore not yet: nobody waited
    assert sem._mtest_notes._k == L.KIND_SEM


def check_semaphore():
    sem = threading.BoundedSemaphore(1)
    sem.acquire()
    got = []
    w = threading.Thread(target=lambda: got.append(sem.acquire(timeout=30)))
    w.start()
    wait_until(lambda: T.read().waits(), "the semaphore's waiter")
    (row,) = T.waits()
    (s,) = [s for s in T.slots() if s["kind"] == L.KIND_BSEM]
    assert row["lock"] == s["index"] and row["flags"] & 4 and s["holder"] == 0, (row, s)
    sem.release()
    w.join()
    assert got == [True]
    sem.release()
    try:
        sem.release()
    except ValueError:
        pass
    else:
        raise AssertionError("BoundedSemaphore released too many times")


def check_full_table():
    """More contended locks than slots: counted, never a crash; they still
    lock, and their waits say "an untracked lock"."""
    T.read()
    untracked = T.counters[0]
    locks = [threading.Lock() for _ in range(12)]
    for lock in locks:
        with lock:
            waiter = contend(lock)
        waiter.join()
    assert T.read().counters[0] > untracked
    del locks  # their slots come back
    lock = threading.Lock()
    with lock:
        waiter = contend(lock)
        assert T.read().slot_of(lock)["holder"] == me
    waiter.join()


def check_fork():
    """A forked child writes a private copy, never the worker's table."""
    lock = threading.Lock()
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            with lock:
                t = threading.Thread(target=lambda: (lock.acquire(), lock.release()))
                t.start()
                wait_until(lambda: lock._o, "the child's waiter to publish")
                if published(lock):  # read through the worker's descriptor
                    code = 3
            t.join()
        except BaseException:
            code = 4
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status
    assert not published(lock)


def check_zygote_attach():
    """A worker forked from a zygote attaches a ledger of its own: a new
    descriptor, read as mtest reads it; a lock the zygote's thread held
    before the fork is this thread's there."""
    lock = threading.Lock()
    lock.acquire()  # held across the fork, as a zygote's lock could be
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            fd = L.attach()
            assert fd >= 1000, fd  # (the inherited one was closed at the fork)
            T.fd = os.open("/proc/self/fd/%d" % fd, os.O_RDONLY)
            waiter = contend(lock)
            if T.read().slot_of(lock)["holder"] != threading.get_native_id():
                code = 3
            lock.release()
            waiter.join()
        except BaseException:
            import traceback
            traceback.print_exc()
            code = 4
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status
    assert not published(lock)
    lock.release()


for check in (check_lock, check_cross_release, check_waits_and_dead_holder, check_rlock,
              check_condition, check_internals_untracked, check_semaphore, check_full_table,
              check_fork, check_zygote_attach):
    check()
print("ok")
