"""mtest's pytest plugin: the worker's half of the protocol.

mtest starts pytest with ``-p mtest_plugin``. This plugin reports to mtest,
as JSON lines on an inherited pipe, what was collected and how each test
went, and takes from mtest, on a second pipe, which tests to run and when to
stop. It decides nothing: timeouts, hangs, crashes and verdicts are mtest's.
It uses only hooks that exist from pytest 7.0 to 9.x (docs/plugin.md).
"""

import json
import math
import os
import select
import sys
import threading
import time

import pytest

_STATE = None  # the _Channel of this worker process, once configured


def _limits():
    out = {"line": 65536, "text": 16384, "tail": 4096, "id": 1024,
           "reason": 160, "detail": 512, "markers": 16, "marker": 64, "items": 32}
    for part in os.environ.get("MTEST_LIMITS", "").split(","):
        key, _, val = part.partition(":")
        if key in out and val.isdigit():
            out[key] = int(val)
    return out


def _utf8_cut(text, limit):
    """At most `limit` bytes of text, cut on a character boundary."""
    raw = text.encode("utf-8", "backslashreplace")
    if len(raw) <= limit:
        return text if isinstance(text, str) else raw.decode("utf-8", "replace")
    return raw[:limit].decode("utf-8", "ignore")


def _tail(text, limit):
    """The last `limit` bytes of text, marked when cut."""
    raw = text.encode("utf-8", "backslashreplace")
    if len(raw) <= limit:
        return raw.decode("utf-8", "replace")
    cut = len(raw) - limit + 40
    return "[mtest: %d bytes cut]\n" % cut + raw[cut:].decode("utf-8", "ignore")


def _cap(text, limit):
    """Head and tail of text within `limit` bytes: tracebacks end with the
    line that matters, so the tail gets three quarters."""
    raw = text.encode("utf-8", "backslashreplace")
    if len(raw) <= limit:
        return raw.decode("utf-8", "replace")
    head = limit // 4
    tail = limit - head - 48
    mark = "\n[mtest: %d bytes cut]\n" % (len(raw) - head - tail)
    return (raw[:head].decode("utf-8", "ignore") + mark +
            raw[len(raw) - tail:].decode("utf-8", "ignore"))


def _short_id(nodeid, limit):
    """Node ids over the limit keep a prefix and a hash of the whole id."""
    raw = nodeid.encode("utf-8", "backslashreplace")
    if len(raw) <= limit:
        return raw.decode("utf-8", "replace")
    import hashlib
    digest = hashlib.sha1(raw).hexdigest()[:16]
    return raw[:limit - 17].decode("utf-8", "ignore") + "~" + digest


def _exc_name(exc):
    """The name of the exception that matters: the cause of pytest's own
    collection wrappers, the original error of a failed conftest import."""
    info = getattr(exc, "excinfo", None)
    if isinstance(info, tuple) and info and isinstance(info[0], type):
        return info[0].__name__
    if type(exc).__name__ in ("CollectError", "ConftestImportFailure"):
        inner = exc.__cause__ or exc.__context__
        if inner is not None:
            return type(inner).__name__
    return type(exc).__name__


# Each event line is framed as RS + JSON + LF (RFC 7464's JSON text
# sequence): a reader that meets stray bytes (a test writing to our pipe)
# resynchronises at the next RS. "q" numbers the lines of this worker,
# 1, 2, 3...: mtest sees a gap or a forgery.
_RS = b"\x1e"


# One encoder for every line: json.dumps() with options builds a new one
# each call, which costs more than the encoding of a small line.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _high_fd(fd):
    """Move an inherited descriptor out of the way of test code: to a high
    number, close-on-exec, so that a test closing, reusing or dup2()ing
    over fd 3 or 4 (or its children) never touches mtest's pipes."""
    import fcntl
    import resource
    try:
        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    except (ValueError, OSError):
        soft = 1024
    if soft == resource.RLIM_INFINITY or soft > 1 << 20:
        soft = 1 << 20
    floor = max(10, min(soft - 16, 1000))
    try:
        high = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, floor)
    except OSError:
        os.set_inheritable(fd, False)
        return fd
    os.close(fd)
    return high


class _Channel:
    """The two pipes to mtest. Lines are written only from the process that
    opened the channel (a forked child must not speak for the worker),
    under one lock (the main thread and new threads announcing themselves),
    and carry the worker's token and their sequence number."""

    def __init__(self, event_fd, control_fd, token):
        self.pid = os.getpid()
        self.event_fd = _high_fd(event_fd)
        self.control_fd = _high_fd(control_fd)
        self.token = token
        self.limits = _limits()
        self.inbox = b""
        self.pending = []  # bodies: ',"t":...}' without the frame and "q"
        self.seq = 0
        self.lock = threading.Lock()
        self._head = (',"t":"%%s","k":%s' % json.dumps(token)).encode()
        os.set_blocking(self.control_fd, False)
        _tell_crash_handler(self.event_fd)

    def mine(self):
        return os.getpid() == self.pid

    def send(self, kind, flush=True, **fields):
        self.body(self._encode(kind, fields), flush or len(self.pending) >= 256)

    def body(self, body, flush=True):
        """Queue a line's body. A pipe write wakes mtest, which costs more
        than the write: a test's "done" waits for the next "start" (or any
        other line, or a wait) to go with it."""
        with self.lock:
            self.pending.append(body)
        if flush:
            self.flush()

    def flush(self):
        if not self.mine():
            return
        with self.lock:
            if not self.pending:
                return
            frames = []
            for body in self.pending:
                self.seq += 1
                frames.append(b'%s{"q":%d%s\n' % (_RS, self.seq, body))
            self.pending = []
            self._write(b"".join(frames))

    def now(self, body):
        """Write one line at once, in sequence (a new thread's hello)."""
        if not self.mine():
            return
        with self.lock:
            self.seq += 1
            self._write(b'%s{"q":%d%s\n' % (_RS, self.seq, body))

    def _write(self, data):
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(self.event_fd, view):]
        except OSError:
            pass  # mtest is gone; PR_SET_PDEATHSIG ends us soon

    def _encode(self, kind, fields):
        limit = self.limits["line"] - 64  # the frame and "q" come on top
        head = self._head % kind.encode()
        while True:
            try:
                text = _ENCODER.encode(fields)
            except ValueError:  # inf or nan: not JSON; mtest would lose the line
                fields = {k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                          for k, v in fields.items()}
                continue
            body = text[1:].encode("utf-8", "backslashreplace")
            body = head + (b"," + body if body != b"}" else body)
            if len(body) <= limit:
                return body
            # Halve the biggest string field until the line fits.
            key = max((k for k, v in fields.items() if isinstance(v, str)),
                      key=lambda k: len(fields[k]), default=None)
            if key is None or len(fields[key]) < 64:
                return self._head % b"warn" + b',"msg":"event too long"}'
            fields[key] = _cap(fields[key], len(fields[key].encode("utf-8",
                               "backslashreplace")) // 2)

    def commands(self, block):
        """Complete control lines from mtest; waits for one if `block`."""
        if not self.mine():
            return [b"s"]  # a forked child never runs mtest's queue
        if block:
            self.flush()
        while b"\n" not in self.inbox:
            if block:
                select.select([self.control_fd], [], [])
            try:
                # Non-blocking: a read that finds nothing is cheaper than a
                # select() per test.
                chunk = os.read(self.control_fd, 65536)
            except BlockingIOError:
                if block:
                    continue
                break
            except OSError:
                chunk = b""  # the pipe is broken: as if mtest went away
            if not chunk:
                self.inbox += b"s\n"  # mtest went away: stop
                break
            self.inbox += chunk
        lines, _, self.inbox = self.inbox.rpartition(b"\n")
        return lines.split(b"\n") if lines else []


def _tell_crash_handler(event_fd):
    """mtest_crash.so (preloaded) writes its last words to the event pipe:
    tell it where the pipe went."""
    try:
        import ctypes
        ctypes.c_int.in_dll(ctypes.CDLL(None), "mtest_crash_event_fd").value = event_fd
    except (OSError, ValueError, AttributeError):
        pass


def _forget_preload(env):
    """mtest preloads its crash handler into this worker only: the
    programs the tests run must not inherit it."""
    ours = env.pop("MTEST_PRELOAD", None)
    if ours and "LD_PRELOAD" in env:
        rest = [p for p in env["LD_PRELOAD"].split(":") if p and p != ours]
        if rest:
            env["LD_PRELOAD"] = ":".join(rest)
        else:
            del env["LD_PRELOAD"]


def _open_channel():
    env = os.environ
    _forget_preload(env)
    try:
        event_fd = int(env.pop("MTEST_EVENT_FD"))
        control_fd = int(env.pop("MTEST_CONTROL_FD"))
    except (KeyError, ValueError):
        return None
    return _Channel(event_fd, control_fd, env.pop("MTEST_TOKEN", ""))


def _allow_tracing():
    """Under Yama's ptrace_scope=1 only an ancestor may trace us: name
    mtest, so that its stack-capture helper may."""
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(0x59616d61, int(os.environ.get("MTEST_PID", "0")), 0, 0, 0)
    except (OSError, ValueError, AttributeError):
        pass


def _interpreter_address():
    """The PyInterpreterState of this process, for mtest's stack reader."""
    try:
        import ctypes
        get = ctypes.pythonapi.PyInterpreterState_Get
        get.restype = ctypes.c_void_p
        return get() or 0
    except (OSError, AttributeError):
        return 0


def _runtime_address():
    """_PyRuntime: where 3.13+ publishes its own layout (_Py_DebugOffsets)."""
    try:
        import ctypes
        return ctypes.addressof(ctypes.c_char.in_dll(ctypes.pythonapi, "_PyRuntime"))
    except (OSError, AttributeError, ValueError):
        return 0


def _traceback_on_signal(path):
    """For interpreters mtest cannot read from outside: on a signal,
    faulthandler writes every thread's traceback (without the GIL) to the
    file mtest named, opened for appending so that mtest may empty it
    between two asks. Returns the signal, or 0."""
    global _PYTB_FILE
    try:
        import faulthandler
        import signal
        sig = signal.SIGRTMAX - 2
        if _PYTB_FILE is not None:
            _PYTB_FILE.close()  # a forked worker's own file replaces the zygote's
        _PYTB_FILE = open(path, "a")
        faulthandler.register(sig, file=_PYTB_FILE, all_threads=True, chain=False)
        return int(sig)
    except (OSError, ValueError, AttributeError, RuntimeError):
        return 0


_PYTB_FILE = None


def _lock_ledger():
    """The lock ledger (mtest_locks.py), installed now, before the suite is
    imported, unless mtest said --no-lock-ledger: hello's fields. Also,
    ledger or not, where CPython's RLock type is, so that mtest may read an
    RLock's owner from outside."""
    import _thread
    fields = {"ledger": -1, "rlock": id(_thread.RLock)}
    spec = os.environ.pop("MTEST_LEDGER", None)
    if spec is None:
        return fields
    try:
        import mtest_locks
        mtest_locks.install(spec)
        mtest_locks.attach()
        fields.update(mtest_locks.hello_fields())
    except Exception as error:  # never the worker's end: the diagnosis is poorer
        fields["ledger_err"] = "%s: %s" % (type(error).__name__, error)
    return fields


def _ledger_anew():
    """A worker forked from the zygote keeps a ledger of its own (the
    zygote's state, in a new memfd): hello tells mtest where."""
    locks = sys.modules.get("mtest_locks")
    if locks is not None and locks._installed[0]:
        locks.attach()
        _LEDGER.update(locks.hello_fields())


_LEDGER = {}  # hello's fields of the lock ledger, this worker's


def _watch_threads():
    """Tell mtest each new thread's native id and name: the kernel calls
    every thread "python3", and stacks and leaks need names."""
    original = threading.Thread._bootstrap_inner

    def _bootstrap_inner(self):
        ch = _ch()  # the worker's channel (a forked worker has its own)
        try:
            if ch is not None:
                ch.now(b',"t":"thread","k":%s,"tid":%d,"name":%s,"daemon":%s}' % (
                    json.dumps(ch.token).encode(), threading.get_native_id(),
                    json.dumps(_utf8_cut(self.name, 120)).encode(),
                    b"true" if self.daemon else b"false"))
        except Exception:
            pass
        original(self)

    threading.Thread._bootstrap_inner = _bootstrap_inner


_THREAD_ORIGIN = {}  # id(thread) -> "file:line", in a zygote only


def _note_thread_starts():
    """A zygote must not fork while another thread runs: note where each
    thread was started, so that mtest can say who made forking unsafe."""
    original = threading.Thread.start

    def start(self):
        try:
            frame = sys._getframe(1)
            while frame is not None and frame.f_code.co_filename == threading.__file__:
                frame = frame.f_back
            if frame is not None:
                _THREAD_ORIGIN[id(self)] = "%s:%d" % (_rel(frame.f_code.co_filename),
                                                      frame.f_lineno)
        except Exception:
            pass
        return original(self)

    threading.Thread.start = start


# The channel opens when the plugin is imported, before pytest parses its
# configuration, so that mtest hears from the worker even when pytest
# fails early.
def _hello(ch, pytb_path):
    ch.send("hello", pid=os.getpid(), python=sys.version.split()[0],
            executable=sys.executable, pytest=pytest.__version__,
            hexversion=sys.hexversion, interp=_interpreter_address(),
            runtime=_runtime_address(), pytb=_traceback_on_signal(pytb_path), **_LEDGER)


# What the console pipe to mtest is (stdout and stderr at exec): a worker
# forked from the zygote puts its own pipe wherever the zygote's was.
try:
    _CONSOLE = (os.fstat(1).st_dev, os.fstat(1).st_ino)
except OSError:
    _CONSOLE = None
# A zygote (docs/protocol.md): collects, then only forks workers.
_ZYGOTE_SOCK = os.environ.pop("MTEST_ZYGOTE_FD", None)
_STATE = _open_channel()
if _STATE is not None:
    _allow_tracing()
    _watch_threads()
    if _ZYGOTE_SOCK is not None:
        try:
            _ZYGOTE_SOCK = _high_fd(int(_ZYGOTE_SOCK))
        except (ValueError, OSError):
            _ZYGOTE_SOCK = None
    if _ZYGOTE_SOCK is not None:
        _note_thread_starts()
    _LEDGER.update(_lock_ledger())
    _hello(_STATE, os.environ.pop("MTEST_PYTB", ""))
else:
    _ZYGOTE_SOCK = None


def _ch():
    """The channel, in the worker itself only (never in a forked child)."""
    return _STATE if _STATE is not None and _STATE.mine() else None


def _capture_fds(config):
    """pytest keeps a running test's output in temp files behind fd 1 and 2;
    mtest opens them through /proc so that a crash or a kill cannot take
    the output with it."""
    capman = config.pluginmanager.getplugin("capturemanager")
    fds = {}
    try:
        multi = capman._global_capturing
        for name in ("out", "err"):
            cap = getattr(multi, name, None)
            tmp = getattr(cap, "tmpfile", None)
            if tmp is not None and hasattr(tmp, "fileno"):
                fds[name + "_fd"] = tmp.fileno()
    except Exception:
        pass
    return fds


def _plugin_version(name):
    try:
        from importlib.metadata import version
        return version(name)
    except Exception:
        return None


# Options that stop tests from running or change what their outcome means,
# or that fight mtest for the session, as a suite's addopts (or
# PYTEST_ADDOPTS, or -o addopts=) may set them: (config.option dest,
# neutral value, the flag as the user wrote it). mtest refuses the same
# flags on its own command line (src/cli.c); docs/options.md says why.
# Checked against pytest 7.0 to 9.1 and the plugins named.
_NEUTRAL_CORE = (
    ("collectonly", False, "--collect-only"),
    ("setuponly", False, "--setup-only"),
    ("setupplan", False, "--setup-plan"),      # sets setuponly itself, later
    ("showfixtures", False, "--fixtures"),
    ("show_fixtures_per_test", False, "--fixtures-per-test"),
    ("markers", False, "--markers"),
    ("version", 0, "--version"),
    ("cacheshow", None, "--cache-show"),
    ("maxfail", 0, "--maxfail/-x"),            # also stops collection
    ("stepwise", False, "--stepwise"),
    ("stepwise_skip", False, "--stepwise-skip"),  # turns stepwise back on
    ("stepwise_reset", False, "--stepwise-reset"),  # pytest 8.4+
    ("lf", False, "--last-failed"),            # drops passing tests from collection
    ("failedfirst", False, "--failed-first"),
    ("newfirst", False, "--new-first"),
    ("last_failed_no_failures", "all", "--last-failed-no-failures"),
    ("runxfail", False, "--runxfail"),         # the suite's xfail marks win
    ("usepdb", False, "--pdb"),                # stdin is /dev/null: quits the run
    ("usepdb_cls", None, "--pdbcls"),
    ("trace", False, "--trace"),               # skips every body, reports PASSED
)
# Plugins' options: neutralised only when the plugin itself is loaded (a
# suite's conftest may define its own --count): (module, dest, neutral, flag).
_NEUTRAL_PLUGINS = (
    ("xdist.plugin", "numprocesses", None, "-n"),
    ("xdist.plugin", "dist", "no", "--dist"),
    ("xdist.plugin", "tx", [], "--tx"),
    ("xdist.plugin", "distload", False, "-d"),
    ("xdist.looponfail", "looponfail", False, "--looponfail"),
    ("pytest_forked", "forked", False, "--forked"),
    ("pytest_rerunfailures", "reruns", 0, "--reruns"),  # 0, not None: the ini key
    ("pytest_rerunfailures", "force_reruns", None, "--force-reruns"),
    ("pytest_repeat", "count", 1, "--count"),
    ("pytest_benchmark.plugin", "benchmark_only", False, "--benchmark-only"),
)
# Always, when loaded: a new order in every worker is not the collection
# mtest plans and replays.
_ALWAYS = (("pytest_randomly", "randomly_reorganize", False),)
_NEUTRALISED = []  # the flags set by the suite's configuration, for mtest


def _loaded(config, module):
    mod = sys.modules.get(module)
    return mod is not None and config.pluginmanager.is_registered(mod)


def _unset(value, neutral):
    return value == neutral or value in (None, False, 0, [], "no", "all")


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_cmdline_main(config):
    """Neutralise options that would fight mtest (docs/options.md). A
    wrapper's first half runs before every plugin's own pytest_cmdline_main
    (xdist's tryfirst one, --setup-plan's, --cache-show's, --fixtures',
    --markers', --version's), so they all see the neutral values."""
    opt = config.option
    if getattr(opt, "help", False):
        # -h stops pytest's parsing where it stands: what came after it
        # (mtest's own arguments among them) is lost.
        raise pytest.UsageError("mtest: the suite's configuration (addopts or PYTEST_ADDOPTS) "
                                "passes -h/--help: pytest would show its help, not run")
    for dest, neutral, flag in _NEUTRAL_CORE:
        if hasattr(opt, dest):
            if not _unset(getattr(opt, dest), neutral):
                _NEUTRALISED.append(flag)
            setattr(opt, dest, neutral)
    for module, dest, neutral, flag in _NEUTRAL_PLUGINS:
        if hasattr(opt, dest) and _loaded(config, module):
            if not _unset(getattr(opt, dest), neutral):
                _NEUTRALISED.append(flag)
            setattr(opt, dest, list(neutral) if isinstance(neutral, list) else neutral)
    for module, dest, neutral in _ALWAYS:
        if hasattr(opt, dest) and _loaded(config, module):
            setattr(opt, dest, neutral)
    if config.pluginmanager.getplugin("capturemanager") is None:
        _NEUTRALISED.append("-p no:capture (cannot be undone: crashed tests lose their output)")
    yield


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_load_initial_conftests(early_config, parser, args):
    ch = _ch()
    if ch is not None:
        ch.send("collecting", nodeid="", path=os.getcwd(),
                what="initial conftest files")
    outcome = yield
    if ch is not None and outcome.excinfo is not None:
        # pytest ends here ("ImportError while loading conftest", exit 4).
        _conftest_error(ch, outcome.excinfo[1], initial=True,
                        text="".join(_format_exc(outcome.excinfo)))


def _format_exc(excinfo):
    import traceback
    return traceback.format_exception(*excinfo)


_ROOT = [os.getcwd()]


def _rel(path):
    """A path relative to pytest's rootdir when it lies below it."""
    path = str(path)
    root = _ROOT[0]
    if path == root:
        return "."
    if path.startswith(root + os.sep):
        return path[len(root) + 1:]
    return path


def _conftest_error(ch, exc, initial, text, aborted=False):
    """A conftest.py that fails to import hides every test below its
    directory: report it against that directory."""
    lim = ch.limits
    conftest = str(getattr(exc, "path", "") or "")
    where = os.path.dirname(conftest) if conftest else os.getcwd()
    ch.send("collect_error", nodeid=_short_id(_rel(where), lim["id"]), path=where,
            exc=_utf8_cut(_exc_name(exc), lim["reason"]), conftest=True,
            initial=initial, aborted=aborted or initial,
            lr=_cap(text, lim["text"]))


@pytest.hookimpl(trylast=True)
def pytest_configure(config):
    # Registered, so that a suite with --strict-markers takes it.
    config.addinivalue_line(
        "markers", "mtest_group(name, ...): tests of one group never run on two "
        "of mtest's lanes at once (a sound card, a fixed port, a GPIO line)")
    ch = _ch()
    if ch is not None:
        _send_config(ch, config)


def _send_config(ch, config):
    suite_timeout = None
    for getter in (lambda: config.getoption("timeout", None),
                   lambda: os.environ.get("PYTEST_TIMEOUT"),
                   lambda: config.getini("timeout")):
        try:
            value = getter()
        except (ValueError, KeyError):
            value = None
        if value not in (None, ""):
            try:
                suite_timeout = float(value)
            except (TypeError, ValueError):
                suite_timeout = None
            if suite_timeout is not None and not math.isfinite(suite_timeout):
                suite_timeout = None
            break
    session_timeout = None
    try:
        session_timeout = config.getoption("session_timeout", None)
    except ValueError:
        pass
    inifile = getattr(config, "inipath", None)
    _ROOT[0] = str(config.rootpath)
    ch.send("config", rootdir=str(config.rootpath),
            inifile=str(inifile) if inifile else None,
            suite_timeout=suite_timeout,
            session_timeout=float(session_timeout) if session_timeout else None,
            timeout_plugin=_plugin_version("pytest-timeout"),
            neutralised=_NEUTRALISED,
            **_capture_fds(config))


# --- pytest-timeout and faulthandler_timeout stay valid but never act -------

@pytest.hookimpl(tryfirst=True, optionalhook=True)
def pytest_timeout_set_timer(item, settings):
    return True


@pytest.hookimpl(tryfirst=True, optionalhook=True)
def pytest_timeout_cancel_timer(item):
    return True


# --- collection -------------------------------------------------------------

@pytest.hookimpl
def pytest_collectstart(collector):
    ch = _ch()
    if ch is None or isinstance(collector, pytest.Class):
        return
    path = getattr(collector, "path", None)
    if path is None:
        return
    ch.send("collecting", nodeid=_short_id(collector.nodeid, ch.limits["id"]),
            path=str(path))


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    outcome = yield
    rep = outcome.get_result()
    call = getattr(rep, "call", None)
    if rep.failed and call is not None and call.excinfo is not None:
        rep._mtest_error = call.excinfo.value


@pytest.hookimpl
def pytest_collectreport(report):
    ch = _ch()
    if ch is None or not report.failed:
        return
    lim = ch.limits
    error = getattr(report, "_mtest_error", None)
    if type(error).__name__ == "ConftestImportFailure":
        # pytest 7 fails the whole session's collection here (node id
        # ""); pytest 8 and later fail only the directory.
        _conftest_error(ch, error, initial=False, text=str(report.longrepr),
                        aborted=report.nodeid == "")
        return
    path = getattr(report, "fspath", None) or report.nodeid
    ch.send("collect_error", nodeid=_short_id(report.nodeid or "<session>", lim["id"]),
            path=os.path.abspath(str(path)),
            exc=_utf8_cut(_exc_name(error) if error is not None else "error",
                          lim["reason"]),
            conftest=False, aborted=report.nodeid == "",
            lr=_cap(str(report.longrepr), lim["text"]))


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session, config, items):
    """Collection's files are done; plugins now sort and filter: a hang
    here is theirs, not the last file's."""
    ch = _ch()
    if ch is not None:
        ch.send("collecting", nodeid="", path=str(config.rootpath),
                what="collection hooks (pytest_collection_modifyitems)")


_DESELECTED = [0]


@pytest.hookimpl
def pytest_deselected(items):
    _DESELECTED[0] += len(items)


def _marks(item, parents):
    """The item's marks, closest first (as item.iter_markers() gives them):
    its own, then its parents', whose chain is walked once per parent (a
    module's thousand items share it)."""
    chain = parents.get(item.parent)
    if chain is None:
        chain, node = [], item.parent
        while node is not None:
            chain.extend(node.own_markers)
            node = node.parent
        parents[item.parent] = chain
    return item.own_markers + chain


def _item_timeout(marks):
    marker = next((m for m in marks if m.name == "timeout"), None)
    if marker is None:
        return None
    value = marker.kwargs.get("timeout", marker.args[0] if marker.args else None)
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _item_groups(marks, lim):
    """The names its mtest_group markers give (the closest first)."""
    names = []
    for mark in marks:
        if mark.name != "mtest_group":
            continue
        for name in list(mark.args) + list(mark.kwargs.values()):
            if isinstance(name, str) and name and name not in names and len(names) < 8:
                names.append(_utf8_cut(name, lim["marker"]))
    return names


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session):
    ch = _ch()
    if ch is None:
        return
    lim = ch.limits
    parents = {}
    for index, item in enumerate(session.items):
        path, line, _ = item.location
        marks = _marks(item, parents)
        names = []
        for mark in marks:
            if mark.name not in names and len(names) < lim["markers"]:
                names.append(_utf8_cut(mark.name, lim["marker"]))
        fields = dict(i=index, id=_short_id(item.nodeid, lim["id"]),
                      file=_utf8_cut(path, 4096),
                      path=str(getattr(item, "path", "") or ""),
                      line=(line + 1) if isinstance(line, int) else 0, m=names)
        timeout = _item_timeout(marks)
        if timeout is not None:
            fields["to"] = timeout
        groups = _item_groups(marks, lim)
        if groups:
            fields["g"] = groups
        ch.send("item", flush=False, **fields)  # sent with "collected"
    # mtest takes its baseline when it reads "collected", and the worker
    # then waits for its first tests: both see the same helpers.
    _note_helpers()
    ch.send("collected", n=len(session.items), deselected=_DESELECTED[0], lp=_cursor())


# --- what module and session fixtures own --------------------------------------

def _tasks():
    try:
        return set(int(t) for t in os.listdir("/proc/self/task"))
    except OSError:
        return set()


def _children(pid, out, depth=0):
    """(pid, start time) of every process below `pid` (depth 8: only the
    worker's own children)."""
    if depth > 8:
        return out
    try:
        tasks = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return out
    for task in tasks:
        try:
            with open("/proc/%d/task/%s/children" % (pid, task)) as f:
                kids = f.read().split()
        except OSError:
            continue
        for kid in kids:
            try:
                with open("/proc/%s/stat" % kid) as f:
                    start = int(f.read().rsplit(")", 1)[1].split()[19])
            except (OSError, ValueError, IndexError):
                continue
            out.add((int(kid), start))
            _children(int(kid), out, depth + 1)
    return out


_OWNING = {}  # id(fixturedef) -> True for fixtures that own threads or processes


def _cmdline(pid, value):
    """A fixture process's command line, now, while it lives: mtest may
    only read it once it is dead. In the instant after an exec the kernel
    has not set it up yet: then the fixture's Popen (its value, or an
    attribute of it) knows its arguments, and /proc/PID/exe its program."""
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            text = f.read().rstrip(b"\0").replace(b"\0", b" ")
        if text:
            return text.decode("utf-8", "backslashreplace")
    except OSError:
        pass
    import subprocess
    for obj in [value] + [v for v in getattr(value, "__dict__", {}).values()]:
        if isinstance(obj, subprocess.Popen) and obj.pid == pid:
            args = obj.args
            # As /proc shows it: the words, spaces between.
            return " ".join(str(a) for a in args) if isinstance(args, (list, tuple)) \
                else str(args)
    try:
        return os.readlink("/proc/%d/exe" % pid)
    except OSError:
        return "?"


@pytest.hookimpl(hookwrapper=True)
def pytest_fixture_setup(fixturedef, request):
    """A module or session fixture's threads and processes are not leaks
    while its scope lives: tell mtest which they are."""
    ch = _ch()
    if ch is None or fixturedef.scope == "function":
        yield
        return
    threads, procs = _tasks(), _children(os.getpid(), set())
    yield
    new_threads = sorted(_tasks() - threads)
    new_procs = sorted(_children(os.getpid(), set()) - procs)
    if new_threads or new_procs:
        _OWNING[id(fixturedef)] = True
        value = getattr(fixturedef, "cached_result", None)
        value = value[0] if isinstance(value, tuple) and value else None
        procs = new_procs[:ch.limits["items"]]
        for pid, start in procs:
            _HELPERS[pid] = start
        ch.send("fixture", key=id(fixturedef), name=_utf8_cut(fixturedef.argname, 60),
                scope=fixturedef.scope, tids=new_threads[:ch.limits["items"]],
                pids=[[p, t] for p, t in procs],
                cmds=[_utf8_cut(_cmdline(p, value), 150) for p, _ in procs])


@pytest.hookimpl
def pytest_fixture_post_finalizer(fixturedef, request):
    ch = _ch()
    if ch is not None and _OWNING.pop(id(fixturedef), None):
        ch.send("fixture_end", key=id(fixturedef))


# --- the id cursor: which test a thread or process was born in -----------------

_LOADAVG = [None]


def _cursor():
    """The last id the kernel handed out (threads and processes share
    one counter, which only moves forward until it wraps): mtest gives
    each test the ids born between its start's and its end's cursor."""
    try:
        if _LOADAVG[0] is None:
            _LOADAVG[0] = os.open("/proc/loadavg", os.O_RDONLY | os.O_CLOEXEC)
        return int(os.pread(_LOADAVG[0], 128, 0).rsplit(None, 1)[1])
    except (OSError, ValueError, IndexError):
        return -1


# --- each test's peak memory ------------------------------------------------------
#
# MTEST_MEM says how (mtest decides: docs/dirt.md). "cgroup": the memory.peak
# of the worker's cgroup leaf (its worker and all it started), reset at each
# test's start through a descriptor of our own (Linux 6.12). "hwm": the peak
# resident set of the worker (VmHWM, reset at each start through
# /proc/self/clear_refs), plus the peaks of the processes born during the
# test that are alive at its end, plus the largest of those it waited for
# if that grew (RUSAGE_CHILDREN). Kept per process: a fork starts afresh.

_MEM = {"pid": 0, "how": None, "fd": None, "clear": None, "kids": 0, "ticks": 0}
_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _own_cgroup_dir():
    """The directory of this process's cgroup v2, or None."""
    with open("/proc/self/cgroup") as f:
        path = [line[3:].rstrip("\n") for line in f if line.startswith("0::")][0]
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            dash = fields.index("-")
            if fields[dash + 1] == "cgroup2":
                root, mount = fields[3], fields[4].replace("\\040", " ")
                if root != "/" and path.startswith(root):
                    path = path[len(root):]
                return mount + path.rstrip("/")
    return None


def _mem_open():
    _MEM.update(pid=os.getpid(), how="hwm", fd=None, clear=None)
    if os.environ.get("MTEST_MEM") == "cgroup":
        try:
            fd = os.open(_own_cgroup_dir() + "/memory.peak", os.O_RDWR | os.O_CLOEXEC)
            try:
                os.write(fd, b"reset\n")
            except OSError:
                os.close(fd)
                raise
            _MEM.update(how="cgroup", fd=fd)
            return
        except (OSError, ValueError, IndexError, TypeError):
            pass
    try:
        _MEM["clear"] = os.open("/proc/self/clear_refs", os.O_WRONLY | os.O_CLOEXEC)
    except OSError:
        pass


def _mem_start():
    """A test starts: its peak is measured from here."""
    try:
        if _MEM["pid"] != os.getpid():
            _mem_open()
        if _MEM["how"] == "cgroup":
            os.write(_MEM["fd"], b"reset\n")
            return
        if _MEM["clear"] is not None:
            os.write(_MEM["clear"], b"5")  # VmHWM back to VmRSS
        import resource
        _MEM["kids"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        _MEM["ticks"] = int(time.clock_gettime(time.CLOCK_BOOTTIME) * _TICK)
    except OSError:
        _MEM["how"] = None


def _vmhwm_kib(pid):
    try:
        with open("/proc/%s/status" % pid, "rb") as f:
            for line in f:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _has_children():
    """Whether the worker has a child (alive or a zombie), in one system
    call: most tests start none, and the scan of /proc costs more."""
    try:
        os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:
        return False
    except OSError:
        pass
    return True


def _mem_peak():
    """',"m":KiB' for the test that just ended, or b"" if unknown."""
    try:
        if _MEM["how"] == "cgroup":
            kib = int(os.pread(_MEM["fd"], 32, 0)) // 1024
        elif _MEM["how"] == "hwm":
            import resource
            # The worker's VmHWM, without formatting /proc/self/status:
            # ru_maxrss is the same high-water mark clear_refs reset.
            kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            if _has_children():
                for pid, start in _children(os.getpid(), set(), depth=8):
                    if start >= _MEM["ticks"]:
                        kib += _vmhwm_kib(pid)
            kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
            if kids > _MEM["kids"]:
                kib += kids
        else:
            return b""
    except (OSError, ValueError):
        return b""
    return b',"m":%d' % kib


# --- session helpers: their deaths, placed exactly -------------------------------

_HELPERS = {}  # pid -> start time: the session's helper processes


def _state_of(pid):
    """(state, start time, exit code) of a process, or None if gone."""
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
        return fields[0], int(fields[19]), int(fields[49]) if len(fields) > 49 else -1
    except (OSError, ValueError, IndexError):
        return None


def _note_helpers():
    """Children alive once collected were born at import or collection:
    the session's helpers (fixtures add theirs)."""
    for pid, start in _children(os.getpid(), set(), depth=8):
        st = _state_of(pid)
        if st is not None and st[0] != b"Z":
            _HELPERS.setdefault(pid, start)


def _gone():
    """',"gone":[[pid,start,status],...]' for helpers dead since the last
    look (status: the wait status of a zombie, else -1): sent with start
    and done, so that mtest knows whether a death came between tests or
    within which one, whatever its read batching."""
    if not _HELPERS:
        return b""
    dead = []
    for pid, start in list(_HELPERS.items()):
        st = _state_of(pid)
        if st is None or st[1] != start or st[0] in (b"Z", b"X"):
            code = st[2] if st is not None and st[1] == start and st[0] == b"Z" else -1
            dead.append(b"[%d,%d,%d]" % (pid, start, code))
            del _HELPERS[pid]
    return b',"gone":[' + b",".join(dead) + b"]" if dead else b""


# --- running what mtest asks for ---------------------------------------------

_FENCE = -1


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session):
    """A zygote forks workers here; a worker (spawned, or forked from the
    zygote) runs what mtest sends."""
    if _ch() is None or session.config.option.collectonly:
        return None
    if _ZYGOTE_SOCK is not None and not _zygote(session):
        return True  # the zygote's end: it never runs a test
    _run_loop(session, _ch())
    return True


def _run_loop(session, ch):
    """Run the tests mtest sends, in its order. Control lines:
    ``r I J ...`` queue items by index, ``f`` a fence (report, then wait for
    ``g`` go or ``s`` stop), ``s`` stop after the current test, ``e`` no
    more items. Each test runs with the next queued item as `nextitem`, so
    fixtures are torn down as pytest would; at a stop, pytest's session
    finish tears down what is left."""
    items = session.items
    queue = []
    head = 0
    state = {"ended": False, "stopped": False, "go": False}
    token = json.dumps(ch.token).encode()
    # "mono": CLOCK_MONOTONIC (us) at the boundary, which mtest sets against
    # the kernel's log (a test's lines are those before its done's "mono").
    start = b',"t":"start","k":' + token + b',"i":%d,"lp":%d,"mono":%d%s}'
    done = b',"t":"done","k":' + token + b',"i":%d,"lp":%d,"mono":%d,"d":[%.6f,%.6f,%.6f]%s%s}'
    mono = time.clock_gettime_ns
    clock = time.CLOCK_MONOTONIC

    def take(block):
        for line in ch.commands(block):
            word, _, rest = line.partition(b" ")
            if word == b"r":
                queue.extend(int(x) for x in rest.split())
            elif word == b"f":
                queue.append(_FENCE)
            elif word == b"g":
                state["go"] = True
            elif word == b"s":
                state["stopped"] = True
            elif word == b"e":
                state["ended"] = True

    def lookahead(pos):
        while pos < len(queue):
            if queue[pos] != _FENCE:
                return items[queue[pos]]
            pos += 1
        return None

    while True:
        take(block=False)
        if state["stopped"]:
            break
        if head < len(queue) and queue[head] == _FENCE:
            head += 1
            ch.send("fence")
            state["go"] = False
            while not (state["go"] or state["stopped"]):
                take(block=True)
            continue
        # Wait until the next item is known, so that nextitem is right.
        if head >= len(queue) or (lookahead(head + 1) is None and
                                  not state["ended"]):
            if state["ended"] and head >= len(queue):
                break
            take(block=True)
            continue
        index = queue[head]
        head += 1
        item = items[index]
        # One start and one done per test, around the whole protocol: a
        # plugin that reruns a test inside it (pytest-rerunfailures) calls
        # logstart and logfinish once per attempt.
        _CURRENT["i"] = index
        _CURRENT["d"] = [0.0, 0.0, 0.0]
        _CURRENT["subexc"] = None
        ch.body(start % (index, _cursor(), mono(clock) // 1000, _gone()))
        _mem_start()
        item.config.hook.pytest_runtest_protocol(item=item,
                                                 nextitem=lookahead(head))
        mem = _mem_peak()
        d = _CURRENT["d"]
        gone = _gone()
        ch.body(done % (index, _cursor(), mono(clock) // 1000, d[0], d[1], d[2], mem, gone),
                flush=False)
        _CURRENT["i"] = -1
    ch.flush()


# --- the zygote: collected once, it forks a worker whenever mtest asks ---------
#
# mtest asks on a unix socket: "fork NUM TOKEN PYTB" with the worker's three
# pipe ends attached (events, control, console). The zygote forks twice, so
# that the worker is orphaned to mtest (a child subreaper) and is mtest's own
# child, in a process group of its own; the middle process tells the zygote
# the worker's pid, which the zygote reports ("forked"). The worker then
# stands where a spawned worker stands after its collection: it says hello,
# config and collected (without items: mtest has the zygote's), and runs
# what mtest sends.

def _fork_unsafe():
    """Why forking this process would be unsafe, or None: a fork copies
    only the thread that calls it, so a lock another thread holds stays
    held for ever in the child, and a child process would not be the
    worker's."""
    me = threading.current_thread()
    others = [t for t in threading.enumerate() if t is not me]
    if others:
        where = _THREAD_ORIGIN.get(id(others[0]))
        return "thread %r%s runs in it%s" % (
            _utf8_cut(others[0].name, 80), " (started at %s)" % where if where else "",
            " (and %d more)" % (len(others) - 1) if len(others) > 1 else "")
    try:
        tasks = len(os.listdir("/proc/self/task"))
    except OSError:
        tasks = 1
    if tasks > 1:
        return "%d threads that Python's threading did not start run in it " \
               "(a C extension's?)" % (tasks - 1)
    for pid, _ in sorted(_children(os.getpid(), set(), depth=8)):
        st = _state_of(pid)
        if st is not None and st[0] != b"Z":
            return "process %s (pid %d), started at import or collection, runs" % (
                _utf8_cut(_cmdline(pid, None), 80), pid)
    return None


def _zygote(session):
    """Serve fork requests until mtest says stop. Returns True in a forked
    worker (which goes on to run tests), False in the zygote at its end."""
    ch = _ch()
    why = _fork_unsafe()
    ch.send("zygote", ok=why is None, why=why or "")
    if why is not None:
        return True  # an ordinary worker now: mtest sends it "e"
    import socket
    sock = socket.socket(fileno=_ZYGOTE_SOCK)
    while True:
        ch.flush()
        try:
            ready = select.select([sock, ch.control_fd], [], [])[0]
        except InterruptedError:
            continue
        if ch.control_fd in ready:
            if any(line[:1] in (b"s", b"e") for line in ch.commands(False)):
                return False
        if sock in ready:
            try:
                msg, anc, _, _ = sock.recvmsg(512, socket.CMSG_SPACE(3 * 4))
            except InterruptedError:
                continue
            except OSError:
                return False
            if not msg:
                return False  # mtest is gone
            fds = []
            for level, kind, data in anc:
                if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                    fds.extend(int.from_bytes(data[k:k + 4], sys.byteorder)
                               for k in range(0, len(data) - len(data) % 4, 4))
            if _fork_worker(session, ch, sock, msg, fds):
                return True


def _fork_worker(session, ch, sock, msg, fds):
    """Fork a worker for "fork NUM TOKEN PYTB". Returns True in the worker."""
    try:
        word, num, token, pytb = msg.decode().split(" ", 3)
        num = int(num)
        ev, ctl, con, cg = (fds + [None])[:4] if len(fds) in (3, 4) else fds
        assert word == "fork"
    except (ValueError, UnicodeDecodeError, AssertionError):
        for fd in fds:
            os.close(fd)
        ch.send("warn", msg="the zygote ignored a malformed fork request")
        return False
    r, w = os.pipe()
    first = os.fork()
    if first == 0:
        # The middle process: into the lane's cgroup (its cgroup.procs came
        # with the request), so that the worker is born there; then fork
        # the worker, tell its pid, vanish.
        try:
            os.close(r)
            if cg is not None:
                _join_cgroup(cg)
            worker = os.fork()
            if worker:
                os.write(w, b"%d" % worker)
                os._exit(0)
            os.close(w)
        except BaseException:
            os._exit(1)
        try:
            _become_worker(session, sock, num, token, pytb, ev, ctl, con)
        except BaseException as error:
            try:
                os.write(2, ("mtest: the forked worker could not start: %r\n" %
                             (error,)).encode())
            finally:
                os._exit(121)
        return True
    os.close(w)
    for fd in (ev, ctl, con, cg):
        if fd is not None:
            os.close(fd)
    pid = b""
    while True:
        chunk = os.read(r, 32)
        if not chunk:
            break
        pid += chunk
    os.close(r)
    os.waitpid(first, 0)
    ch.send("forked", n=num, pid=int(pid) if pid.isdigit() else 0)
    return False


def _join_cgroup(fd):
    """Write "0" into a cgroup.procs: this process moves there, and what it
    forks from now on is born there. A failure is said on the console;
    mtest then moves the worker itself once it knows its pid."""
    try:
        os.write(fd, b"0")
    except OSError as error:
        os.write(2, ("mtest: the fork could not join its lane's cgroup: %s\n" %
                     error.strerror).encode())
    finally:
        os.close(fd)


def _become_worker(session, sock, num, token, pytb, ev, ctl, con):
    """In the worker just forked: mtest's child, its own pipes and console,
    its own capture files and crash handler; then hello, config and
    collected, as a spawned worker would say them."""
    global _STATE, _ZYGOTE_SOCK
    import ctypes
    _FORKED[0] = True
    os.setpgid(0, 0)
    mtest = int(os.environ.get("MTEST_PID", "0"))
    libc = ctypes.CDLL(None, use_errno=True)
    deadline = time.monotonic() + 5
    while os.getppid() != mtest:  # until the middle process is gone
        if time.monotonic() > deadline:
            os._exit(122)
        time.sleep(0.0001)
    libc.prctl(1, 9, 0, 0, 0)  # PR_SET_PDEATHSIG, SIGKILL: die with mtest
    if os.getppid() != mtest:
        os._exit(0)
    sock.close()
    _ZYGOTE_SOCK = None
    os.close(_STATE.event_fd)
    os.close(_STATE.control_fd)
    _STATE = _Channel(ev, ctl, token)
    _rearm_crash_handler(libc, _STATE.event_fd, token)
    _set_worker_number(num)
    _take_console(con)
    _fresh_capture_files(session.config)
    _HELPERS.clear()
    _OWNING.clear()
    _allow_tracing()
    _ledger_anew()
    _hello(_STATE, pytb)
    _send_config(_STATE, session.config)
    _STATE.send("collected", n=len(session.items), deselected=_DESELECTED[0], lp=_cursor())


def quick_exit_ok():
    """Is this process the zygote, or a worker it forked? Neither needs
    the interpreter's teardown at its end."""
    return (_FORKED[0] or _ZYGOTE_SOCK is not None) and _ch() is not None


def quick_exit(code):
    """The end of the zygote or of a forked worker, without the
    interpreter's teardown (tens of milliseconds freeing what the zygote
    built, a fork's whole restart budget, and time the run waits for at its
    end): as a normal exit would, it waits for non-daemon threads and runs
    the atexit handlers; then it flushes and leaves."""
    try:
        threading._shutdown()
    except Exception:
        pass
    try:
        import atexit
        atexit._run_exitfuncs()
    except Exception:
        pass
    for f in (sys.stdout, sys.stderr):
        try:
            f.flush()
        except Exception:
            pass
    os._exit(int(code) if isinstance(code, int) else 1)


_FORKED = [False]


def _rearm_crash_handler(libc, event_fd, token):
    """mtest_crash.so speaks only for the process that armed it."""
    try:
        libc.mtest_crash_rearm(event_fd, token.encode())
    except AttributeError:
        pass  # not preloaded


def _set_worker_number(num):
    """MTEST_WORKER says whose a process is: for the programs this worker
    runs (its environment), and for /proc/PID/environ of the worker and
    of what it forks, which shows the block the zygote was started with
    (mtest gives the zygote ten zeros there, to be overwritten)."""
    os.environ["MTEST_WORKER"] = "%d" % num
    try:
        import ctypes
        with open("/proc/self/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
        start, end = int(fields[47]), int(fields[48])
        block = ctypes.string_at(start, end - start)
        key = b"MTEST_WORKER=0000000000\0"
        at = 0 if block.startswith(key) else block.find(b"\0" + key) + 1
        if at > 0 or block.startswith(key):
            ctypes.memmove(start + at + len(b"MTEST_WORKER="), b"%010d" % num, 10)
    except (OSError, ValueError, IndexError):
        pass


def _take_console(con):
    """Wherever the zygote's console pipe is open (stdout, stderr, the
    copies pytest's capture and faulthandler keep), this worker's goes."""
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        try:
            st = os.fstat(fd)
        except OSError:
            continue
        if fd != con and (st.st_dev, st.st_ino) == _CONSOLE:
            os.dup2(con, fd, inheritable=os.get_inheritable(fd))
    os.close(con)


def _fresh_capture_files(config):
    """pytest's capture files are shared with the zygote (and so with
    every other worker): each worker gets its own, under the same fds."""
    import tempfile
    capman = config.pluginmanager.getplugin("capturemanager")
    multi = getattr(capman, "_global_capturing", None)
    for name in ("out", "err"):
        tmp = getattr(getattr(multi, name, None), "tmpfile", None)
        if tmp is None or not hasattr(tmp, "fileno"):
            continue
        with tempfile.TemporaryFile(buffering=0) as fresh:
            os.dup2(fresh.fileno(), tmp.fileno(), inheritable=False)


# --- reporting each test -------------------------------------------------------

_CURRENT = {"i": -1, "d": [0.0, 0.0, 0.0], "exc": {}, "subexc": None}
_WHEN = {"setup": 0, "call": 1, "teardown": 2}


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_makereport(item, call):
    # Only looks: the exception type is gone from the report pytest makes.
    # Kept by phase: a rerun plugin may make every report before it logs
    # any of them.
    _CURRENT["exc"][call.when] = None if call.excinfo is None else \
        _exc_name(call.excinfo.value)


def _sections(report, kind, limit):
    parts = [body for title, body in report.sections if kind in title]
    return _tail("\n".join(parts), limit) if parts else None


@pytest.hookimpl
def pytest_runtest_logreport(report):
    ch = _ch()
    if ch is None:
        return
    when = _WHEN.get(report.when)
    if when is None or report.outcome not in ("passed", "failed", "skipped"):
        return  # "rerun" and the like: an attempt that does not count
    _CURRENT["d"][when] = float(report.duration)
    wasxfail = getattr(report, "wasxfail", None)
    if report.passed and wasxfail is None:
        return
    lim = ch.limits
    fields = dict(i=_CURRENT["i"], w=report.when, o=report.outcome,
                  d=float(report.duration))
    if wasxfail is not None:
        reason = str(wasxfail)
        if reason.startswith("reason: "):
            reason = reason[len("reason: "):]
        fields["xf"] = _utf8_cut(reason, lim["reason"])
    if report.skipped and wasxfail is None:
        longrepr = report.longrepr
        reason = longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 \
            else str(longrepr)
        if reason.startswith("Skipped: "):
            reason = reason[len("Skipped: "):]
        fields["skip"] = _utf8_cut(reason, lim["reason"])
    if report.failed:
        text = str(report.longrepr)
        crash = getattr(report.longrepr, "reprcrash", None)
        # A subtest's report (pytest 9 core, pytest-subtests) is made by the
        # subtests machinery, not by the item's makereport: its exception
        # type is in the crash line, and its label goes before it.
        sub = _subtest_label(report)
        exc = None if sub else _CURRENT["exc"].get(report.when)
        if exc is None and crash is not None:
            exc = _exc_of(crash.message)
        if sub and _CURRENT["subexc"] is None:
            _CURRENT["subexc"] = exc
        elif exc is None and crash is None:
            # The item's own report, failed by its subtests alone.
            exc = _CURRENT["subexc"]
        if exc is None and text.startswith("[XPASS(strict)]"):
            exc = "XPASS(strict)"
        fields["exc"] = _utf8_cut(exc or "error", lim["reason"])
        if crash is not None:
            fields["crash"] = _utf8_cut("%s%s:%s: %s" % (sub, _rel(crash.path), crash.lineno,
                                                         crash.message), lim["detail"])
        fields["lr"] = _cap(text, lim["text"])
        for key, kind in (("out", "stdout"), ("err", "stderr"), ("log", "log")):
            body = _sections(report, kind, lim["tail"])
            if body:
                fields[key] = body
    ch.send("phase", **fields)


def _subtest_label(report):
    """'subtest [msg] (k=v): ' for a subtest's report, else ''."""
    context = getattr(report, "context", None)
    if context is None or not hasattr(context, "kwargs"):
        return ""
    msg = getattr(context, "msg", None)
    kwargs = ", ".join("%s=%r" % kv for kv in sorted(context.kwargs.items()))
    return "subtest%s%s: " % (" [%s]" % msg if msg is not None else "",
                              " (%s)" % kwargs if kwargs else "")


def _exc_of(message):
    """The exception type that starts pytest's crash message
    ('AssertionError: ...'), or None."""
    head = message.split(":", 1)[0].strip()
    name = head.rsplit(".", 1)[-1]
    return name if name.isidentifier() and name[:1].isupper() else None


@pytest.hookimpl
def pytest_keyboard_interrupt(excinfo):
    ch = _ch()
    if ch is None:
        return
    value = excinfo.value
    ch.send("exit", exc=type(value).__name__,
            msg=_utf8_cut(str(getattr(value, "msg", value)), 512),
            rc=getattr(value, "returncode", None), i=_CURRENT["i"])


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    ch = _ch()
    if ch is None:
        return
    holders = [t.name for t in threading.enumerate()
               if t is not threading.main_thread() and not t.daemon and t.is_alive()]
    ch.send("bye", threads=holders[:32])
