"""Runs a command inside the sandbox a systemd unit describes, without
systemd (test_supervise.py uses it on the etc/systemd units, as root):

    unshare --mount --propagation private -- python3 unit_sandbox.py \
        [--caps CAP_A,CAP_B] [--rw PATH]... [--hide PATH]... \
        [--syscalls FILE] [--mdwe] [--nnp] -- COMMAND ARGS...

In a private mount namespace it makes / read-only except the --rw paths
(ProtectSystem=strict with ReadWritePaths=), puts an empty mode-000
tmpfs over each --hide path (InaccessiblePaths=), then limits the
capability bounding set to --caps (CapabilityBoundingSet=: root's
capabilities after exec are that set), sets no_new_privs
(NoNewPrivileges=), refuses writable-and-executable memory with
PR_SET_MDWE (MemoryDenyWriteExecute=), loads a seccomp filter that
allows only the system calls listed in FILE and fails the rest with
EPERM (SystemCallFilter= with SystemCallErrorNumber=EPERM), and execs
COMMAND.
"""
import argparse
import ctypes
import errno
import os
import subprocess
import sys

CAPS = ["CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID",
        "SETUID", "SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST",
        "NET_ADMIN", "NET_RAW", "IPC_LOCK", "IPC_OWNER", "SYS_MODULE", "SYS_RAWIO",
        "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT", "SYS_ADMIN", "SYS_BOOT", "SYS_NICE",
        "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD", "LEASE", "AUDIT_WRITE",
        "AUDIT_CONTROL", "SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG", "WAKE_ALARM",
        "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF", "CHECKPOINT_RESTORE"]
PR_CAPBSET_DROP = 24
PR_SET_NO_NEW_PRIVS = 38
PR_SET_MDWE = 65
PR_MDWE_REFUSE_EXEC_GAIN = 1

libc = ctypes.CDLL(None, use_errno=True)
libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong,
                       ctypes.c_ulong]


def prctl(op, arg=0):
    if libc.prctl(op, arg, 0, 0, 0) != 0:
        e = ctypes.get_errno()
        raise OSError(e, f"prctl({op}, {arg}): {os.strerror(e)}")


def mount(*args):
    subprocess.run(["mount", *args], check=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--caps", default=None)
    ap.add_argument("--rw", action="append", default=[])
    ap.add_argument("--hide", action="append", default=[])
    ap.add_argument("--syscalls")
    ap.add_argument("--mdwe", action="store_true")
    ap.add_argument("--nnp", action="store_true")
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = a.cmd[1:] if a.cmd[:1] == ["--"] else a.cmd
    if not cmd:
        ap.error("no command")

    # the file system: read-only but for the --rw paths (bound before /
    # turns read-only, so they keep their own writable mounts)
    mount("--make-rprivate", "/")
    for p in a.rw:
        mount("--bind", p, p)
    mount("-o", "remount,bind,ro", "/")
    for p in a.hide:
        if os.path.exists(p):
            mount("-t", "tmpfs", "-o", "mode=000,size=4k", "postern-hidden", p)

    if a.caps is not None:
        keep = set()
        for c in filter(None, a.caps.split(",")):
            keep.add(CAPS.index(c.strip().upper().removeprefix("CAP_")))
        with open("/proc/sys/kernel/cap_last_cap") as f:
            last = int(f.read())
        for n in range(last + 1):
            if n not in keep:
                prctl(PR_CAPBSET_DROP, n)
    if a.nnp:
        prctl(PR_SET_NO_NEW_PRIVS, 1)
    if a.mdwe:
        prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN)
    if a.syscalls:
        import seccomp
        with open(a.syscalls) as f:
            allowed = f.read().split()
        flt = seccomp.SyscallFilter(defaction=seccomp.ERRNO(errno.EPERM))
        for name in allowed:
            try:
                flt.add_rule(seccomp.ALLOW, name)
            except (RuntimeError, ValueError):
                pass  # not a system call on this architecture
        flt.load()
    os.execv(cmd[0], cmd)


if __name__ == "__main__":
    sys.exit(main())
