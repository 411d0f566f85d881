"""mtest's lock ledger: who holds which lock, since when, taken where, and
who waits for it (docs/watchdog.md, "The lock ledger").

At the worker's boot, before the suite is imported, install() replaces the
factories that test code and the code under test call (threading.Lock,
threading.RLock, the default lock of threading.Condition) with thin
wrappers, and watches threading.Semaphore and BoundedSemaphore's waits.
Each tracked lock owns a slot of a fixed-size table in shared memory (a
memfd, which mtest opens through /proc and reads without the GIL, from its
stack-capture helper): its holder's thread id, where and since when it was
taken; each thread blocked on one owns a wait row while it waits. A write is
one struct.pack_into into the mapping: no allocation per acquire. A thread
that dies holding a lock leaves its id in the slot, which is how mtest
knows that it exited.

The wrappers never change what the code sees: the same return values and
exceptions, Condition.wait releasing and taking again, RLock counts,
locked(), acquire(False) and acquire(timeout=...). isinstance() against
threading.Lock / RLock accepts both the wrappers and CPython's own locks;
pickling fails as for CPython's locks. Locks made by threading itself
(Event, Thread.join, Semaphore, Barrier), by queue, concurrent.futures and
multiprocessing stay CPython's own, untracked; so are locks made before
install() and those made with _thread directly.

Table layout (native byte order; include/mtest/watch/ledger.h reads it):
  header 64 bytes: magic "MTLEDG01", version, locks, waits, sites, pid,
      untracked (locks made while the table was full), sites_full,
      waits_full
  locks x 32:  holder tid, site taken at, since (CLOCK_MONOTONIC ns),
               address of the lock object, kind, flags, site made at
  waits x 32:  tid, lock (slot + 1), since, site, flags, timeout (us)
  sites x 256: line, func[56], expr[64] (the lock as written there),
               file[128]
A fork gives the child a private copy (its writes never reach the
worker's table); a zygote that forks workers calls attach() in each one.
"""

import _thread
import mmap
import os
import re
import struct
import sys
import threading

MAGIC = b"MTLEDG01"
VERSION = 1
HEADER, SLOT, ROW, SITE = 64, 32, 32, 256
KIND_LOCK, KIND_RLOCK, KIND_COND, KIND_SEM, KIND_BSEM = 1, 2, 3, 4, 5
FLAG_CROSS = 1                  # slot: released by a thread that did not take it
WAIT_TIMED, WAIT_RESTORE, WAIT_SEM = 1, 2, 4

# Modules whose locks are machinery, not the code under test's.
_INTERNAL = ("threading", "queue", "concurrent.", "multiprocessing.", "mtest_")

_raw_lock = _thread.allocate_lock
_raw_rlock = getattr(threading, "_CRLock", None) or threading._PyRLock
_RawLockType = _thread.LockType
_getframe = sys._getframe
_now = __import__("time").monotonic_ns
_native_id = threading.get_native_id
_TIMEOUT_MAX = threading.TIMEOUT_MAX

_HOLD = struct.Struct("=IIq").pack_into      # holder, site, since
_CLEAR = struct.Struct("=I").pack_into       # holder 0 (or a wait row's tid 0)
_STATIC = struct.Struct("=QHHI").pack_into   # address, kind, flags, site made at
_WAIT = struct.Struct("=IIqIIq").pack_into   # a wait row
_U32 = struct.Struct("=I")

# The table; rebound by attach() and at fork. The hot paths read these
# module globals at each call.
_MEM = None
_FD = -1
_SIZE = 0
_NSLOTS = _NROWS = _NSITES = 0
_ROWS_AT = _SITES_AT = _SCRATCH = 0
_free_slots = []
_free_rows = []
_slot_static = {}     # slot offset -> (address, kind, site made at)
_sites = {}           # (code, lasti) -> site index (1-based; 0: not recorded)
_site_text = []       # site index - 1 -> its 256 bytes
_T = threading.local()
_TG = threading.__dict__
_forker = [0]
_kept = []
_installed = [False]


def _sizes(spec):
    out = {"locks": 4096, "waits": 1024, "sites": 2048}
    for part in (spec or "").split(","):
        key, _, val = part.partition(":")
        if key in out and val.isdigit() and 1 <= int(val) <= 1 << 20:
            out[key] = int(val)
    return out["locks"], out["waits"], out["sites"]


def _bump(offset):
    """A header counter: a table was full."""
    _U32.pack_into(_MEM, offset, _U32.unpack_from(_MEM, offset)[0] + 1)


def _tid():
    t = _T.tid = _native_id()
    return t


def _internal(frame):
    name = frame.f_globals.get("__name__", "")
    return name in ("threading", "queue") or name.startswith(_INTERNAL)


def _user_frame(frame):
    """The first frame outside threading and this module: where the code
    under test took or waits for the lock (Condition's methods call the
    lock's)."""
    while frame is not None and (frame.f_globals is _TG or frame.f_globals is _MG):
        frame = frame.f_back
    return frame


# A lock as written at a line: "with self._state_lock:", "x.acquire(",
# "self._lock = threading.Lock()".
_EXPR_WITH = re.compile(r"^\s*(?:async\s+)?with\s+([A-Za-z_][\w.]*)\s*(?:as\s+\w+\s*)?:")
_EXPR_CALL = re.compile(r"([A-Za-z_][\w.]*)\s*\.\s*(?:acquire|wait|wait_for|__enter__)\s*\(")
_EXPR_MADE = re.compile(r"^\s*([A-Za-z_][\w.]*)\s*(?::[^=]*)?=\s*[\w.]*"
                        r"(?:Lock|RLock|Condition|Semaphore|BoundedSemaphore)\s*\(")


def _expr(filename, line):
    try:
        import linecache
        text = linecache.getline(filename, line)
    except Exception:
        return ""
    for pattern in (_EXPR_WITH, _EXPR_MADE, _EXPR_CALL):
        m = pattern.search(text)
        if m:
            return m.group(1)
    return ""


def _cut(text, size):
    raw = text.encode("utf-8", "backslashreplace")
    if len(raw) >= size:  # keep the tail of a path, the head of a name
        raw = raw[len(raw) - size + 1:] if size == 128 else raw[:size - 1]
    return raw


def _site(frame):
    """The site index (1-based) of a frame's line: recorded once, cached by
    code object and instruction."""
    key = (frame.f_code, frame.f_lasti)
    index = _sites.get(key)
    if index is not None:
        return index
    if len(_site_text) >= _NSITES:
        _bump(32)
        return 0
    code = frame.f_code
    line = frame.f_lineno or 0
    text = struct.pack("=II56s64s128s", line, 0, _cut(code.co_name, 56),
                       _cut(_expr(code.co_filename, line), 64),
                       _cut(code.co_filename, 128))
    _site_text.append(text)
    index = len(_site_text)
    _MEM[_SITES_AT + (index - 1) * SITE:_SITES_AT + index * SITE] = text
    _sites[key] = index
    return index


def _slot_new(obj, kind, frame):
    """A slot for a new lock (the scratch slot when the table is full:
    counted, never written where mtest reads)."""
    if not _free_slots:
        _bump(28)
        return _SCRATCH
    off = _free_slots.pop()
    made = _site(frame) if frame is not None else 0
    _slot_static[off] = (id(obj), kind, made)
    _HOLD(_MEM, off, 0, 0, 0)
    _STATIC(_MEM, off + 16, id(obj), kind, 0, made)
    return off


def _slot_free(off):
    if off != _SCRATCH and _slot_static.pop(off, None) is not None:
        _MEM[off:off + SLOT] = bytes(SLOT)
        _free_slots.append(off)


def _wait(off, frame, flags, timeout):
    """Take a wait row (None when all are taken: counted)."""
    try:
        t = _T.tid
    except AttributeError:
        t = _tid()
    if not _free_rows:
        _bump(36)
        return None
    row = _free_rows.pop()
    f = _user_frame(frame)
    _WAIT(_MEM, row, t, (off - HEADER) // SLOT + 1 if off != _SCRATCH else 0, _now(),
          _site(f) if f is not None else 0, flags, timeout)
    return row


def _unwait(row):
    if row is not None:
        _CLEAR(_MEM, row, 0)
        _free_rows.append(row)


def _held(lock, frame):
    """Write the holder: this thread, here, now."""
    try:
        t = _T.tid
    except AttributeError:
        t = _tid()
    f = _user_frame(frame)
    lock._w = t
    _HOLD(_MEM, lock._o, t, _site(f) if f is not None else 0, _now())


def _timeout_us(timeout):
    try:
        return min(int(timeout * 1e6), 1 << 62) if timeout >= 0 else -1
    except (TypeError, ValueError, OverflowError):
        return -1


class _Meta(type):
    """isinstance(x, threading.Lock) holds for the wrappers and for
    CPython's own locks (made before install, or by threading itself)."""

    def __instancecheck__(cls, obj):
        return type.__instancecheck__(cls, obj) or isinstance(obj, cls._raw_types)

    def __subclasscheck__(cls, sub):
        return type.__subclasscheck__(cls, sub) or issubclass(sub, cls._raw_types)


class Lock(metaclass=_Meta):
    """threading.Lock, tracked."""

    __slots__ = ("_l", "_o", "_w", "__weakref__")
    _raw_types = (_RawLockType,)

    def __new__(cls):
        frame = _getframe(1)
        if _internal(frame):
            return _raw_lock()
        self = object.__new__(cls)
        self._l = _raw_lock()
        self._w = 0
        self._o = _slot_new(self, KIND_LOCK, _user_frame(frame))
        return self

    def acquire(self, blocking=True, timeout=-1):
        if timeout == -1 and self._l.acquire(False):
            # The hot path, inlined: one frame walk, one cached site, one write.
            f = _getframe(1)
            if f.f_globals is _TG:
                f = _user_frame(f)
            site = _sites.get((f.f_code, f.f_lasti)) if f is not None else 0
            if site is None:
                site = _site(f)
            try:
                t = _T.tid
            except AttributeError:
                t = _tid()
            self._w = t
            _HOLD(_MEM, self._o, t, site, _now())
            return True
        return _acquire_slow(self, blocking, timeout, _getframe(1))

    __enter__ = acquire

    def release(self):
        try:
            t = _T.tid
        except AttributeError:
            t = _tid()
        if self._w != t and self._l.locked():
            _cross(self)
        _CLEAR(_MEM, self._o, 0)
        self._l.release()

    def __exit__(self, t, v, tb):
        try:
            t = _T.tid
        except AttributeError:
            t = _tid()
        if self._w != t and self._l.locked():
            _cross(self)
        _CLEAR(_MEM, self._o, 0)
        self._l.release()

    def locked(self):
        return self._l.locked()

    acquire_lock = acquire
    release_lock = release
    locked_lock = locked

    def _at_fork_reinit(self):
        self._l._at_fork_reinit()
        _CLEAR(_MEM, self._o, 0)

    def __del__(self):
        try:
            _slot_free(self._o)
        except Exception:
            pass

    def __reduce_ex__(self, protocol):
        raise TypeError("cannot pickle '_thread.lock' object")

    def __repr__(self):
        return "<%s mtest_locks.Lock object at %#x>" % (
            "locked" if self._l.locked() else "unlocked", id(self))


def _cross(lock):
    """A plain Lock released by a thread that did not take it: a signal
    between threads, whose holder binds no one (mtest never calls a wait
    for it certain)."""
    off = lock._o
    if off != _SCRATCH:
        struct.pack_into("=H", _MEM, off + 26, 1)


def _acquire_slow(lock, blocking, timeout, frame):
    """Lock.acquire when the lock is taken, or with a timeout: the wait is
    written in a row while it lasts."""
    if timeout == -1:
        if not blocking:
            return False
        row = _wait(lock._o, frame, 0, -1)
        try:
            got = lock._l.acquire()
        finally:
            _unwait(row)
    else:
        if blocking and type(timeout) in (int, float) and 0 <= timeout <= _TIMEOUT_MAX and \
                lock._l.acquire(False):
            got = True
        else:
            row = _wait(lock._o, frame, WAIT_TIMED, _timeout_us(timeout))
            try:
                got = lock._l.acquire(blocking, timeout)  # its own errors
            finally:
                _unwait(row)
    if got:
        _held(lock, frame)
    return got


class RLock(metaclass=_Meta):
    """threading.RLock, tracked: the holder is written when the count goes
    from 0 to 1 and cleared when it comes back to 0."""

    __slots__ = ("_l", "_o", "_w", "_d", "__weakref__")
    _raw_types = (_raw_rlock, threading._PyRLock)

    def __new__(cls, *args, **kwargs):
        frame = _getframe(1)
        if _internal(frame):
            return _raw_rlock(*args, **kwargs)
        return _new_rlock(cls, KIND_RLOCK, frame, args, kwargs)

    def acquire(self, blocking=True, timeout=-1):
        if timeout == -1 and self._l.acquire(False):
            d = self._d
            self._d = d + 1
            if not d:
                f = _getframe(1)
                if f.f_globals is _TG:
                    f = _user_frame(f)
                site = _sites.get((f.f_code, f.f_lasti)) if f is not None else 0
                if site is None:
                    site = _site(f)
                try:
                    t = _T.tid
                except AttributeError:
                    t = _tid()
                self._w = t
                _HOLD(_MEM, self._o, t, site, _now())
            return True
        return _racquire_slow(self, blocking, timeout, _getframe(1))

    __enter__ = acquire

    def release(self):
        if self._d == 1 and self._l._is_owned():
            self._d = 0
            _CLEAR(_MEM, self._o, 0)
            self._l.release()
        else:
            self._l.release()  # raises for a thread that does not own it
            self._d -= 1

    def __exit__(self, t, v, tb):
        self.release()

    def _is_owned(self):
        return self._l._is_owned()

    def _release_save(self):
        """Condition.wait: let go of every level; the holder is cleared."""
        if not self._l._is_owned():
            return self._l._release_save()  # its own error
        d = self._d
        self._d = 0
        _CLEAR(_MEM, self._o, 0)
        return (self._l._release_save(), d)

    def _acquire_restore(self, state):
        """Condition.wait: take it again; a wait while another holds it."""
        inner, d = state
        frame = _getframe(1)
        row = _wait(self._o, frame, WAIT_RESTORE, -1)
        try:
            self._l._acquire_restore(inner)
        finally:
            _unwait(row)
        self._d = d
        _held(self, frame)

    def _at_fork_reinit(self):
        self._l._at_fork_reinit()
        self._d = 0
        _CLEAR(_MEM, self._o, 0)

    def __getattr__(self, name):  # _recursion_count, locked, ... as CPython's
        if name in RLock.__slots__:  # not set yet: never ask _l for itself
            raise AttributeError(name)
        return getattr(self._l, name)

    def __del__(self):
        try:
            _slot_free(self._o)
        except Exception:
            pass

    def __reduce_ex__(self, protocol):
        raise TypeError("cannot pickle '_thread.RLock' object")

    def __repr__(self):
        return "<%s mtest_locks.RLock object count=%d at %#x>" % (
            "locked" if self._d else "unlocked", self._d, id(self))


def _new_rlock(cls, kind, frame, args=(), kwargs=None):
    self = object.__new__(cls)
    self._l = _raw_rlock(*args, **(kwargs or {}))
    self._w = 0
    self._d = 0
    self._o = _slot_new(self, kind, _user_frame(frame))
    return self


def _racquire_slow(lock, blocking, timeout, frame):
    if timeout == -1:
        if not blocking:
            return False
        row = _wait(lock._o, frame, 0, -1)
        try:
            got = lock._l.acquire()
        finally:
            _unwait(row)
    else:
        row = _wait(lock._o, frame, WAIT_TIMED, _timeout_us(timeout))
        try:
            got = lock._l.acquire(blocking, timeout)
        finally:
            _unwait(row)
    if got:
        d = lock._d
        lock._d = d + 1
        if not d:
            _held(lock, frame)
    return got


# --- Condition's default lock, and semaphores' waits --------------------------

_cond_init = threading.Condition.__init__
_sem_init = threading.Semaphore.__init__
_sem_acquire = threading.Semaphore.acquire


def _condition_init(self, lock=None):
    if lock is None:
        frame = _getframe(1)
        lock = _raw_rlock() if _internal(frame) else _new_rlock(RLock, KIND_COND, frame)
    _cond_init(self, lock)


class _SemSlot:
    """A semaphore's slot: freed with it. Its waits are written; a
    semaphore has no holder (any thread may release it)."""

    __slots__ = ("_o",)

    def __del__(self):
        try:
            _slot_free(self._o)
        except Exception:
            pass


def _semaphore_init(self, value=1):
    _sem_init(self, value)
    frame = _getframe(1)
    if frame.f_globals is _TG:  # BoundedSemaphore.__init__
        frame = frame.f_back
    if frame is not None and not _internal(frame):
        s = _SemSlot()
        s._o = _slot_new(self, KIND_BSEM if isinstance(self, threading.BoundedSemaphore)
                         else KIND_SEM, _user_frame(frame))
        self._mtest_slot = s


def _semaphore_acquire(self, blocking=True, timeout=None):
    s = self.__dict__.get("_mtest_slot")
    if s is None or not blocking:
        return _sem_acquire(self, blocking, timeout)
    if _sem_acquire(self, False):
        return True
    row = _wait(s._o, _getframe(1), WAIT_SEM | (WAIT_TIMED if timeout is not None else 0),
                _timeout_us(timeout) if timeout is not None else -1)
    try:
        return _sem_acquire(self, blocking, timeout)
    finally:
        _unwait(row)


# --- the table ------------------------------------------------------------------

def _layout(spec):
    global _NSLOTS, _NROWS, _NSITES, _ROWS_AT, _SITES_AT, _SCRATCH, _SIZE
    _NSLOTS, _NROWS, _NSITES = _sizes(spec)
    _ROWS_AT = HEADER + _NSLOTS * SLOT
    _SITES_AT = _ROWS_AT + _NROWS * ROW
    _SCRATCH = _SITES_AT + _NSITES * SITE   # one slot's worth that mtest never reads
    _SIZE = _SCRATCH + SLOT


def _header(mem):
    struct.pack_into("=8sIIIII", mem, 0, MAGIC, VERSION, _NSLOTS, _NROWS, _NSITES,
                     os.getpid())


def _fresh():
    """The table as this process knows it, in a new anonymous mapping:
    the slots' static parts and holders, every site; no waits."""
    global _free_rows
    mem = mmap.mmap(-1, _SIZE)
    if _MEM is not None:
        mem[:] = _MEM[:]
    else:
        _header(mem)
    mem[_ROWS_AT:_SITES_AT] = bytes(_SITES_AT - _ROWS_AT)
    _free_rows = [_ROWS_AT + i * ROW for i in range(_NROWS - 1, -1, -1)]
    return mem


def _map_shared(fd):
    """fd mapped shared, as a writable buffer. Through libc, so that no
    descriptor of ours stays at a low number (Python's mmap keeps a dup of
    the one it maps: a test closing or reusing it would close ours)."""
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        libc.mmap.restype = ctypes.c_void_p
        libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                              ctypes.c_int, ctypes.c_long]
        addr = libc.mmap(None, _SIZE, mmap.PROT_READ | mmap.PROT_WRITE, mmap.MAP_SHARED, fd, 0)
        if addr in (None, ctypes.c_void_p(-1).value):
            raise OSError(ctypes.get_errno(), "mmap")
        return memoryview((ctypes.c_char * _SIZE).from_address(addr)).cast("B")
    except (ImportError, AttributeError):
        return memoryview(mmap.mmap(fd, _SIZE))


def _high(fd):
    """fd moved out of the way of test code (close-on-exec, 1000 and up
    where the limit allows), as the plugin does with its pipes."""
    import fcntl
    try:
        high = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 1000)
    except OSError:
        return fd
    os.close(fd)
    return high


def attach():
    """A table of this process's own, in a memfd that mtest opens through
    /proc/PID/fd: at the worker's boot, and in each worker a zygote forks
    (after the fork). Returns the descriptor, or -1 (the ledger then stays
    private: mtest reads none)."""
    global _MEM, _FD
    mem = _fresh()
    try:
        fd = _high(os.memfd_create("mtest-ledger", os.MFD_CLOEXEC))
        os.ftruncate(fd, _SIZE)
        shared = _map_shared(fd)
    except (AttributeError, OSError, ValueError):
        _MEM = mem
        return -1
    shared[:] = mem[:]
    _header(shared)
    _MEM = shared
    _FD = fd
    return fd


def _before_fork():
    try:
        _forker[0] = _T.tid
    except AttributeError:
        _forker[0] = _native_id()


def _after_fork_child():
    """A forked child writes a private copy: never the worker's table. Locks
    the forking thread held are this thread's now; those other threads held
    keep their holders, which do not exist here."""
    global _MEM, _FD, _T
    _T = threading.local()
    _kept.append(_MEM)  # never freed: a mapping's descriptor is no longer ours
    _MEM = _fresh()
    _header(_MEM)
    _FD = -1
    old, new = _forker[0], _native_id()
    for off in list(_slot_static):
        if _U32.unpack_from(_MEM, off)[0] == old:
            _U32.pack_into(_MEM, off, new)


def install(spec=None):
    """Replace threading's factories (once). spec: "locks:N,waits:N,sites:N"."""
    if _installed[0]:
        return
    _installed[0] = True
    _layout(spec)
    global _free_slots
    _free_slots = [HEADER + i * SLOT for i in range(_NSLOTS - 1, -1, -1)]
    _install_factories()
    os.register_at_fork(before=_before_fork, after_in_child=_after_fork_child)


def _install_factories():
    threading.Lock = Lock
    threading.RLock = RLock
    threading.Condition.__init__ = _condition_init
    threading.Semaphore.__init__ = _semaphore_init
    threading.Semaphore.acquire = _semaphore_acquire
    threading.Semaphore.__enter__ = _semaphore_acquire


def hello_fields():
    """What the plugin's hello tells mtest of the ledger."""
    return {"ledger": _FD, "ledger_size": _SIZE}


_MG = globals()
