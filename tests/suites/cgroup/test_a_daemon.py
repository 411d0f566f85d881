"""A test that starts a daemon the /proc method cannot tell apart from
another lane's: double-forked (so it comes back to mtest, the subreaper),
in a session of its own, with its environment rewritten (no MTEST_WORKER,
no MTEST_RUN). Its pid goes to $CGROUP_SUITE_DIR/daemon.pid. In a cgroup,
its lane's leaf holds it all the same: it is found (a leak) and killed by
its lane's sweep, while the other lane still runs (test_b_waits.py)."""
import os


def test_daemon():
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # middle child: new session, fork the daemon, exit
        try:
            os.close(r)
            os.setsid()
            if os.fork() == 0:
                os.write(w, b"%d" % os.getpid())
                os.execve("/bin/sleep", ["sleep", "300"], {"PATH": "/bin"})
        finally:
            os._exit(0)
    os.close(w)
    os.waitpid(pid, 0)
    daemon = int(os.read(r, 32))
    os.close(r)
    with open(os.path.join(os.environ["CGROUP_SUITE_DIR"], "daemon.pid.tmp"), "w") as f:
        f.write("%d" % daemon)
    os.rename(os.path.join(os.environ["CGROUP_SUITE_DIR"], "daemon.pid.tmp"),
              os.path.join(os.environ["CGROUP_SUITE_DIR"], "daemon.pid"))


def _cgroup(pid):
    with open("/proc/%s/cgroup" % pid) as f:
        return [l[3:].strip() for l in f if l.startswith("0::")][0]


def test_after():
    """Where this worker and the zygote (if any) are: their cgroups, for
    the e2e test to check (the zygote must not be in a lane's)."""
    run = os.environ["MTEST_RUN"].encode()
    zygote = None
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open("/proc/%s/environ" % pid, "rb") as f:
                env = f.read().split(b"\0")
        except OSError:
            continue
        # The zygote's block says worker 0000000000; its forks overwrite it.
        if b"MTEST_RUN=" + run in env and b"MTEST_WORKER=0000000000" in env:
            zygote = _cgroup(pid)
    with open(os.path.join(os.environ["CGROUP_SUITE_DIR"], "where"), "w") as f:
        f.write("%s\n%s\n" % (_cgroup("self"), zygote or ""))
