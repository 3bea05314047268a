"""benchlib.py: what postern's benchmarks (bench/*/run.py) share: the
process table from /proc, CPU ticks, process labels, free loopback
ports, bounded waits, SMTP greetings, and the facts about the tree and
the machine a report starts with. Imported by the run scripts; runs
with their privileges."""
import ctypes
import os
import re
import signal
import socket
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Abort(Exception):
    """A run that cannot go on: the script reports it and cleans up."""


def die(msg):
    raise Abort(msg)


def proc_stat(pid):
    """The fields of /proc/PID/stat after the command name, or None."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            st = f.read()
    except OSError:
        return None
    return st[st.rindex(")") + 2:].split()


def children(ppid):
    """PIDs whose parent is ppid."""
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            f = proc_stat(int(d))
            if f and int(f[1]) == ppid:
                out.append(int(d))
    return out


def cpu_ticks(pid):
    """utime + stime (and those of reaped children) of pid, 0 when gone."""
    f = proc_stat(pid)
    return sum(int(x) for x in f[11:15]) if f else 0


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def machine_busy():
    """(busy ticks, all ticks) of the whole machine, from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return v[0] + v[1] + v[2] + v[5] + v[6] + v[7], sum(v[:8])


def label(pid, parent_suffix=""):
    """A postern process by its title ("postern-queued: queue manager"),
    anything else by its program name, then parent_suffix."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            a = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return f"pid {pid}"
    if a.startswith("postern-"):
        return re.sub(r"[\s.]+$", "", re.sub(r"\s+", " ", a))
    return os.path.basename(a.split(" ")[0]) + parent_suffix


def die_with_parent(new_session=False):
    """A preexec_fn: the child gets SIGTERM when the script dies without
    cleaning up (and, with new_session, a session of its own)."""
    def f():
        if new_session:
            os.setsid()
        try:
            ctypes.CDLL(None).prctl(1, signal.SIGTERM, 0, 0, 0)   # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    return f


def greets(port, addr="127.0.0.1"):
    """Whether an SMTP server there answers with a 220 greeting."""
    try:
        with socket.create_connection((addr, port), timeout=2) as s:
            s.settimeout(5)
            return s.recv(100).startswith(b"220")
    except OSError:
        return False


class Spawner:
    """For a run's Bench class: the processes it starts, each writing to
    STATE/NAME.log. The class sets self.state (a directory), self.procs
    and self.logs (dicts by name)."""

    def spawn(self, name, argv, new_session=False, stdout=None, **kw):
        """Starts argv; stdout a pipe or the like, when given, leaves
        only stderr to the log."""
        log = open(os.path.join(self.state, f"{name}.log"), "ab")
        self.logs[name] = log
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log if stdout is None else stdout,
                             stderr=subprocess.STDOUT if stdout is None else log,
                             preexec_fn=die_with_parent(new_session), cwd=self.state, **kw)
        self.procs[name] = p
        return p

    def log_text(self, name):
        try:
            with open(os.path.join(self.state, f"{name}.log"), errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def check_alive(self, names=None):
        """A check for wait(): dies, with the end of its log, when one of
        names (default: every process started) has exited."""
        def check():
            for name in names if names is not None else list(self.procs):
                p = self.procs.get(name)
                if p is not None and p.poll() is not None:
                    sys.stderr.write("".join(self.log_text(name).splitlines(True)[-20:]))
                    die(f"{name} exited with status {p.returncode}")
        return check


def wait(pred, timeout, what, check=None, step=0.05, fail=die):
    """Polls pred until true; check() runs first each round; after
    timeout seconds calls fail(message) (which must not return: die
    raises Abort)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if check:
            check()
        if pred():
            return
        time.sleep(step)
    fail(f"timed out after {timeout} s waiting for {what}")


def tree_rev():
    """The checkout's commit, with a note when tracked files changed."""
    rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                         text=True).stdout.strip() or "?"
    if subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                      capture_output=True, text=True).stdout.strip():
        rev += " + uncommitted changes"
    return rev


def cpu_model():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return "unknown model"
