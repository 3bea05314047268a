"""benchlib.py: what postern's benchmarks (bench/*/run.py) share: the
process table from /proc, CPU ticks, free loopback ports, bounded
waits, and the facts about the tree and the machine a report starts
with. Imported by the run scripts; runs with their privileges."""
import os
import socket
import subprocess
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


def wait(pred, timeout, what, check=None, step=0.05, fail=None):
    """Polls pred until true; check() runs first each round; after
    timeout seconds calls fail(message) (which must not return)."""
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
