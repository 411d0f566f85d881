"""mtest's lock ledger: who holds which lock, since when, taken where, and
who waits for it (docs/watchdog.md, "The lock ledger").

At the worker's boot, before the suite is imported, install() replaces the
factories that test code and the code under test call (threading.Lock,
threading.RLock, the default lock of threading.Condition) with thin
wrappers, and watches the waits of threading.Semaphore and
BoundedSemaphore. mtest reads the ledger from its stack-capture helper,
while the worker's threads stand still, without the GIL: a fixed-size table
in a memfd that mtest opens through /proc.

The hot path stays small: an uncontended acquire notes, on the lock object
itself, its holder's thread id, where (code object and instruction) and
since when (CLOCK_MONOTONIC) it was taken; nothing is allocated, nothing is
written to the table. A thread that cannot take a lock at once registers
as its waiter, publishes the holder (from those notes) into the lock's
slot, made then, and writes its own wait row (which lock, where, since
when, with what timeout) while it waits; as long as a lock has waiters,
whoever takes it publishes itself, and a lock once published is cleared in
the table at each release. Places become text (file, line, function, the
lock as written on that line) once, when first published. A thread that
dies holding a lock leaves its id behind: that is how mtest knows that it
exited.

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
      untracked (locks that found the table full), sites_full, waits_full
  locks x 32:  holder tid, site taken at, since (ns), address of the lock
               object, kind, flags, site made at
  waits x 32:  tid, lock (slot + 1), since, site, flags, timeout (us)
  sites x 256: line, func[56], expr[64] (the lock as written there),
               file[128]
A fork gives the child a private copy, which mtest never reads; a zygote
that forks workers calls attach() in each one, after the fork.
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
_INTERNAL = ("concurrent.", "multiprocessing.", "mtest_")

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
_sites = {}           # (code, lasti) -> site index (1-based)
_slot_of = {}         # id of a published lock -> its slot (setdefault: atomic)
_site_text = []       # site index - 1 -> its 256 bytes
_T = threading.local()
_TG = threading.__dict__
_forking = [0]        # the thread that forks, in the parent
_forked_from = set()  # in a forked child: the forking threads' ids in its ancestors
_forked_to = [0]      # ... which are this thread here
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
    lock's). Never None: at worst the outermost."""
    while (frame.f_globals is _TG or frame.f_globals is _MG) and frame.f_back is not None:
        frame = frame.f_back
    return frame


# --- places ------------------------------------------------------------------------

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


def _line_of(code, lasti):
    try:
        for start, end, line in code.co_lines():
            if start <= lasti < end:
                return line or code.co_firstlineno
    except AttributeError:  # before 3.10
        import dis
        found = code.co_firstlineno
        for offset, line in dis.findlinestarts(code):
            if offset > lasti:
                break
            found = line
        return found
    return code.co_firstlineno


def _cut(text, size):
    raw = text.encode("utf-8", "backslashreplace")
    if len(raw) >= size:  # keep the tail of a path, the head of a name
        raw = raw[len(raw) - size + 1:] if size == 128 else raw[:size - 1]
    return raw


def _site_at(code, lasti):
    """The site index (1-based; 0 when the table is full) of an instruction:
    its text written once, cached."""
    if code is None:
        return 0
    key = (code, lasti)
    index = _sites.get(key)
    if index is not None:
        return index
    if len(_site_text) >= _NSITES:
        _bump(32)
        return 0
    line = _line_of(code, lasti)
    text = struct.pack("=II56s64s128s", line, 0, _cut(code.co_name, 56),
                       _cut(_expr(code.co_filename, line), 64),
                       _cut(code.co_filename, 128))
    _site_text.append(text)
    index = len(_site_text)
    _MEM[_SITES_AT + (index - 1) * SITE:_SITES_AT + index * SITE] = text
    _sites[key] = index
    return index


# --- slots, publication, waits ---------------------------------------------------------

def _slot_new(obj, kind, made, flags):
    """A slot for a lock's first publication (the scratch slot when the
    table is full: counted, never written where mtest reads)."""
    if not _free_slots:
        _bump(28)
        return _SCRATCH
    off = _free_slots.pop()
    _HOLD(_MEM, off, 0, 0, 0)
    _STATIC(_MEM, off + 16, id(obj), kind, flags, _site_at(*made))
    return off


def _slot_free(off):
    if off and off != _SCRATCH:
        _MEM[off:off + SLOT] = bytes(SLOT)
        _free_slots.append(off)


def _forget(obj):
    """A tracked lock (or a semaphore's notes) is gone: its slot too."""
    if _slot_of.pop(id(obj), None) is not None:
        _slot_free(obj._o)


def _publish(lock):
    """Write the lock's holder, as its notes say, into its slot. Read again
    after the write: a holder that changed meanwhile is written again (a
    new holder also publishes itself, seeing waiters)."""
    off = lock._o
    if not off:
        # Two waiters may publish at once: the first slot set is the one.
        mine = _slot_new(lock, lock._k, lock._m, lock._x)
        off = _slot_of.setdefault(id(lock), mine)
        if off != mine:
            _slot_free(mine)
        lock._o = off
    if off == _SCRATCH:
        return
    for _ in range(8):
        w, s = lock._w, lock._s
        if w:
            # Held by a forking thread: this one, here.
            _HOLD(_MEM, off, _forked_to[0] if w in _forked_from else w,
                  _site_at(lock._c, lock._i), s)
        else:
            _HOLD(_MEM, off, 0, 0, 0)
        if lock._w == w and lock._s == s:
            break


def _index(lock):
    off = lock._o
    return (off - HEADER) // SLOT + 1 if off and off != _SCRATCH else 0


def _wait(lock, frame, flags, timeout):
    """The lock's holder published, then this thread's wait row (None when
    all are taken: counted)."""
    _publish(lock)
    try:
        t = _T.tid
    except AttributeError:
        t = _tid()
    if not _free_rows:
        _bump(36)
        return None
    row = _free_rows.pop()
    f = _user_frame(frame)
    _WAIT(_MEM, row, t, _index(lock), _now(), _site_at(f.f_code, f.f_lasti), flags, timeout)
    return row


def _unwait(row):
    if row is not None:
        _CLEAR(_MEM, row, 0)
        _free_rows.append(row)


def _take(lock, frame, waited):
    """This thread holds the lock now, here: noted, and published after a
    wait or while others wait."""
    try:
        t = _T.tid
    except AttributeError:
        t = _tid()
    f = _user_frame(frame)
    lock._w = t
    lock._c = f.f_code
    lock._i = f.f_lasti
    lock._s = _now()
    if waited or lock._q:
        _publish(lock)


def _cross(lock):
    """A plain Lock released by a thread that did not take it: a signal
    between threads, whose holder binds no one (mtest never calls a wait
    for it certain)."""
    lock._x = FLAG_CROSS
    if lock._o and lock._o != _SCRATCH:
        struct.pack_into("=H", _MEM, lock._o + 26, FLAG_CROSS)


def _timeout_us(timeout):
    try:
        return min(int(timeout * 1e6), 1 << 62) if timeout >= 0 else -1
    except (TypeError, ValueError, OverflowError):
        return -1


def _new(cls, frame, raw):
    self = object.__new__(cls)
    self._l = raw
    self._o = self._w = self._i = self._s = self._x = 0
    self._c = None
    self._q = []
    f = _user_frame(frame)
    self._m = (f.f_code, f.f_lasti)
    return self


# --- the wrappers --------------------------------------------------------------------

class _Meta(type):
    """isinstance(x, threading.Lock) holds for the wrappers and for
    CPython's own locks (made before install, or by threading itself)."""

    def __instancecheck__(cls, obj):
        return type.__instancecheck__(cls, obj) or isinstance(obj, cls._raw_types)

    def __subclasscheck__(cls, sub):
        return type.__subclasscheck__(cls, sub) or issubclass(sub, cls._raw_types)


class Lock(metaclass=_Meta):
    """threading.Lock, tracked. Notes: _w holder's thread id (0: free), _c
    and _i where it was taken, _s since when, _q waiters (a list: appends
    and pops are atomic), _o its slot (0: never published), _m where it
    was made, _x its flags."""

    __slots__ = ("_l", "_o", "_w", "_c", "_i", "_s", "_q", "_m", "_x", "__weakref__")
    _raw_types = (_RawLockType,)
    _k = KIND_LOCK

    def __new__(cls):
        frame = _getframe(1)
        if _internal(frame):
            return _raw_lock()
        return _new(cls, frame, _raw_lock())

    def acquire(self, blocking=True, timeout=-1):
        if timeout == -1 and self._l.acquire(False):
            f = _getframe(1)
            if f.f_globals is _TG:
                f = _user_frame(f)
            try:
                self._w = _T.tid
            except AttributeError:
                self._w = _tid()
            self._c = f.f_code
            self._i = f.f_lasti
            self._s = _now()
            if self._q:
                _publish(self)
            return True
        return _acquire_slow(self, blocking, timeout, _getframe(1))

    __enter__ = acquire

    def release(self):
        try:
            t = _T.tid
        except AttributeError:
            t = _tid()
        if self._w != t and self._l.locked() and self._w not in _forked_from:
            _cross(self)
        if self._o:
            _CLEAR(_MEM, self._o, 0)
        self._w = 0
        self._l.release()

    def __exit__(self, t, v, tb):  # release(), inlined: the with statement's hot path
        try:
            t = _T.tid
        except AttributeError:
            t = _tid()
        if self._w != t and self._l.locked() and self._w not in _forked_from:
            _cross(self)
        if self._o:
            _CLEAR(_MEM, self._o, 0)
        self._w = 0
        self._l.release()

    def locked(self):
        return self._l.locked()

    acquire_lock = acquire
    release_lock = release
    locked_lock = locked

    def _at_fork_reinit(self):
        self._l._at_fork_reinit()
        self._w = 0

    def __del__(self):
        try:
            _forget(self)
        except Exception:
            pass

    def __reduce_ex__(self, protocol):
        raise TypeError("cannot pickle '_thread.lock' object")

    def __repr__(self):
        return "<%s mtest_locks.Lock object at %#x>" % (
            "locked" if self._l.locked() else "unlocked", id(self))


def _acquire_slow(lock, blocking, timeout, frame):
    """Lock.acquire when the lock is taken, or with a timeout: a waiter
    while it waits."""
    if timeout == -1 and not blocking:
        return False
    if timeout != -1 and blocking and type(timeout) in (int, float) and \
            0 <= timeout <= _TIMEOUT_MAX and lock._l.acquire(False):
        _take(lock, frame, False)
        return True
    q = lock._q
    q.append(None)
    try:
        row = _wait(lock, frame, 0 if timeout == -1 else WAIT_TIMED, _timeout_us(timeout))
        try:
            got = lock._l.acquire() if timeout == -1 else lock._l.acquire(blocking, timeout)
        finally:
            _unwait(row)
    finally:
        q.pop()
    if got:
        _take(lock, frame, True)
    return got


class RLock(metaclass=_Meta):
    """threading.RLock, tracked: noted when the count goes from 0 to 1 (_d
    is the count), cleared when it comes back to 0."""

    __slots__ = ("_l", "_o", "_w", "_c", "_i", "_s", "_q", "_m", "_x", "_d", "__weakref__")
    _raw_types = (_raw_rlock, threading._PyRLock)
    _k = KIND_RLOCK

    def __new__(cls, *args, **kwargs):
        frame = _getframe(1)
        if _internal(frame):
            return _raw_rlock(*args, **kwargs)
        self = _new(cls, frame, _raw_rlock(*args, **kwargs))
        self._d = 0
        return self

    def acquire(self, blocking=True, timeout=-1):
        if timeout == -1 and self._l.acquire(False):
            d = self._d
            self._d = d + 1
            if not d:
                f = _getframe(1)
                if f.f_globals is _TG:
                    f = _user_frame(f)
                try:
                    self._w = _T.tid
                except AttributeError:
                    self._w = _tid()
                self._c = f.f_code
                self._i = f.f_lasti
                self._s = _now()
                if self._q:
                    _publish(self)
            return True
        return _racquire_slow(self, blocking, timeout, _getframe(1))

    __enter__ = acquire

    def release(self):
        if self._d == 1 and self._l._is_owned():
            self._d = 0
            if self._o:
                _CLEAR(_MEM, self._o, 0)
            self._w = 0
            self._l.release()
        else:
            self._l.release()  # raises for a thread that does not own it
            self._d -= 1

    def __exit__(self, t, v, tb):  # release(), inlined
        if self._d == 1 and self._l._is_owned():
            self._d = 0
            if self._o:
                _CLEAR(_MEM, self._o, 0)
            self._w = 0
            self._l.release()
        else:
            self._l.release()
            self._d -= 1

    def _is_owned(self):
        return self._l._is_owned()

    def _release_save(self):
        """Condition.wait: let go of every level."""
        if not self._l._is_owned():
            return self._l._release_save()  # its own error
        d = self._d
        self._d = 0
        if self._o:
            _CLEAR(_MEM, self._o, 0)
        self._w = 0
        return (self._l._release_save(), d)

    def _acquire_restore(self, state):
        """Condition.wait: take it back, a waiter while another holds it."""
        inner, d = state
        frame = _getframe(1)
        q = self._q
        q.append(None)
        try:
            row = _wait(self, frame, WAIT_RESTORE, -1)
            try:
                self._l._acquire_restore(inner)
            finally:
                _unwait(row)
        finally:
            q.pop()
        self._d = d
        _take(self, frame, True)

    def _at_fork_reinit(self):
        self._l._at_fork_reinit()
        self._d = 0
        self._w = 0

    def __getattr__(self, name):  # _recursion_count, locked, ... as CPython's
        if name in RLock.__slots__:  # not set yet: never ask _l for itself
            raise AttributeError(name)
        return getattr(self._l, name)

    def __del__(self):
        try:
            _forget(self)
        except Exception:
            pass

    def __reduce_ex__(self, protocol):
        raise TypeError("cannot pickle '_thread.RLock' object")

    def __repr__(self):
        return "<%s mtest_locks.RLock object count=%d at %#x>" % (
            "locked" if self._d else "unlocked", self._d, id(self))


class _ConditionLock(RLock):
    """The default lock of a threading.Condition."""

    __slots__ = ()
    _k = KIND_COND


def _racquire_slow(lock, blocking, timeout, frame):
    if timeout == -1 and not blocking:
        return False
    q = lock._q
    q.append(None)
    try:
        row = _wait(lock, frame, 0 if timeout == -1 else WAIT_TIMED, _timeout_us(timeout))
        try:
            got = lock._l.acquire() if timeout == -1 else lock._l.acquire(blocking, timeout)
        finally:
            _unwait(row)
    finally:
        q.pop()
    if got:
        d = lock._d
        lock._d = d + 1
        if not d:
            _take(lock, frame, True)
    return got


# --- Condition's default lock, and semaphores' waits --------------------------

_cond_init = threading.Condition.__init__
_sem_init = threading.Semaphore.__init__
_sem_acquire = threading.Semaphore.acquire


def _condition_init(self, lock=None):
    if lock is None:
        frame = _getframe(1)
        if _internal(frame):
            lock = _raw_rlock()
        else:
            lock = _new(_ConditionLock, frame, _raw_rlock())
            lock._d = 0
    _cond_init(self, lock)


class _SemNotes:
    """A semaphore's notes, for its waits: a semaphore has no holder (any
    thread may release it). Its slot is freed with it."""

    __slots__ = ("_o", "_w", "_c", "_i", "_s", "_m", "_x", "_k")

    def __del__(self):
        try:
            _forget(self)
        except Exception:
            pass


def _semaphore_init(self, value=1):
    _sem_init(self, value)
    frame = _getframe(1)
    if frame.f_globals is _TG and frame.f_back is not None:  # BoundedSemaphore.__init__
        frame = frame.f_back
    if not _internal(frame):
        n = _SemNotes()
        n._o = n._w = n._i = n._s = n._x = 0
        n._c = None
        f = _user_frame(frame)
        n._m = (f.f_code, f.f_lasti)
        n._k = KIND_BSEM if isinstance(self, threading.BoundedSemaphore) else KIND_SEM
        self._mtest_notes = n


def _semaphore_acquire(self, blocking=True, timeout=None):
    n = self.__dict__.get("_mtest_notes")
    if n is None or not blocking:
        return _sem_acquire(self, blocking, timeout)
    if _sem_acquire(self, False):
        return True
    row = _wait(n, _getframe(1), WAIT_SEM | (WAIT_TIMED if timeout is not None else 0),
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


def _fresh(mem):
    """The table as this process knows it, copied into a new zeroed mapping:
    the header, the slots and the sites written; no waits (a fork and a
    zygote's worker copy this: only what is in use)."""
    global _free_rows
    if _MEM is not None:
        mem[:_ROWS_AT] = _MEM[:_ROWS_AT]
        used = _SITES_AT + len(_site_text) * SITE
        mem[_SITES_AT:used] = _MEM[_SITES_AT:used]
    _header(mem)
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
    try:
        fd = _high(os.memfd_create("mtest-ledger", os.MFD_CLOEXEC))
        os.ftruncate(fd, _SIZE)
        shared = _map_shared(fd)
    except (AttributeError, OSError, ValueError):
        _MEM = _fresh(mmap.mmap(-1, _SIZE))
        return -1
    _MEM = _fresh(shared)
    _FD = fd
    return fd


def _before_fork():
    try:
        _forking[0] = _T.tid
    except AttributeError:
        _forking[0] = _native_id()


def _after_fork_child():
    """A forked child writes a private copy: never the worker's table (nor
    keeps its descriptor). The forking thread is this one here: the locks
    it held (in the parent, or in a zygote before the middle process) are
    this thread's; other threads' holders do not exist here."""
    global _MEM, _FD, _T
    _T = threading.local()
    _kept.append(_MEM)  # never unmapped: cheap, and no descriptor is closed twice
    _MEM = _fresh(mmap.mmap(-1, _SIZE))
    if _FD >= 0:
        try:
            os.close(_FD)
        except OSError:
            pass
    _FD = -1
    old = _forked_to[0] if _forking[0] in _forked_from else _forking[0]
    _forked_from.add(_forking[0])
    _forked_to[0] = _native_id()
    for off in list(_slot_of.values()):  # the published slots only
        if off != _SCRATCH and _U32.unpack_from(_MEM, off)[0] in (old, _forking[0]):
            _U32.pack_into(_MEM, off, _forked_to[0])


def install(spec=None):
    """Replace threading's factories (once). spec: "locks:N,waits:N,sites:N"."""
    if _installed[0]:
        return
    _installed[0] = True
    _layout(spec)
    global _free_slots
    _free_slots = [HEADER + i * SLOT for i in range(_NSLOTS - 1, -1, -1)]
    threading.Lock = Lock
    threading.RLock = RLock
    threading.Condition.__init__ = _condition_init
    threading.Semaphore.__init__ = _semaphore_init
    threading.Semaphore.acquire = _semaphore_acquire
    threading.Semaphore.__enter__ = _semaphore_acquire
    os.register_at_fork(before=_before_fork, after_in_child=_after_fork_child)


def hello_fields():
    """What the plugin's hello tells mtest of the ledger."""
    return {"ledger": _FD, "ledger_size": _SIZE}


_MG = globals()
