"""pop3d's privilege separation, checked in /proc (root only): the
login process runs as postern-pop3 in an empty root and cannot read the
users file; each mail session runs as postern-vmail with the user's own
Maildir as its root, so it can reach no other mailbox; and a plaintext
login from a non-loopback address is refused (in a network namespace
the test makes)."""
import os
import pwd
import subprocess

import pytest

from conftest import IS_ROOT, netns_with_address, wait_for
from test_pop3 import Raw, login, send, wait_delivered
from test_privsep import as_process, check_identity, ids, try_open

pytestmark = pytest.mark.skipif(not IS_ROOT, reason="needs root")


@pytest.fixture
def pop(make_postern):
    return make_postern(pop3=True)


def test_login_process_identity_and_empty_root(pop):
    pid = pop.child("pop3d", "login")
    assert pid
    empty = os.path.join(pop.spool, "empty")
    check_identity(pid, "postern-pop3", empty)
    assert os.listdir(empty) == []
    st = os.stat(empty)
    assert st.st_uid == 0 and st.st_mode & 0o222 == 0
    check_identity(pop.child("pop3d", "auth helper"), "postern-auth", pop.etc)
    assert ids(pop.procs["pop3d"].pid)["Uid"][0] == "0"


def test_login_process_cannot_read_users_or_mail(pop):
    pid = pop.child("pop3d", "login")
    users = os.path.join(pop.etc, "users")
    # not in its root, and not readable by its uid from the real root
    assert as_process(pid, try_open("/etc/postern/users")) == "absent"
    assert as_process(pid, try_open(users)) == "absent"
    st = ids(pid)
    uid, gid = int(st["Uid"][0]), int(st["Gid"][0])
    r = subprocess.run(["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups",
                        "cat", users], capture_output=True)
    assert r.returncode != 0 and b"Permission denied" in r.stderr
    fds = os.listdir(f"/proc/{pid}/fd")
    for fd in fds:
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        assert "users" not in target and pop.mail not in target


def test_session_runs_in_the_users_maildir(pop):
    send(pop, b"Subject: x\r\n\r\nx\r\n")
    wait_delivered(pop, 1)
    c = login(pop)
    sess = wait_for(lambda: pop.child("pop3d", "session alice"), what="session process")
    check_identity(sess, "postern-vmail", os.path.join(pop.mail, "alice"))
    # from inside: its own Maildir is /, bob's is nowhere
    assert as_process(sess, lambda: str(sorted(os.listdir("/")))) == str(["cur", "new", "tmp"])
    assert as_process(sess, try_open("/../bob/new")) == "absent"
    c.quit()
    wait_for(lambda: not pop.child("pop3d", "session alice"), what="session exit")


def test_first_login_creates_maildir_owned_by_vmail(pop):
    # carol has never had mail
    assert not os.path.exists(os.path.join(pop.mail, "carol"))
    c = login(pop, "carol", "secret")
    assert c.stat() == (0, 0)
    c.quit()
    st = os.stat(os.path.join(pop.mail, "carol"))
    assert st.st_uid == pwd.getpwnam("postern-vmail").pw_uid
    assert st.st_mode & 0o777 == 0o700


def test_symlinked_maildir_refused(pop):
    # a Maildir that is a symlink (say, planted to reach another tree)
    # is never entered
    os.symlink("/etc", os.path.join(pop.mail, "bob"))
    r = Raw(pop.pop3_port)
    r.cmd("USER bob")
    assert r.cmd("PASS builder").startswith("-ERR [SYS/TEMP]")
    wait_for(lambda: "Maildir of bob" in pop.log("pop3d"), what="refusal logged")


def test_plaintext_refused_off_loopback(make_postern):
    with netns_with_address("192.0.2.1") as ns:
        p = make_postern(start=False, extra_conf="listen pop3 192.0.2.1:110")
        p.prefix = ["ip", "netns", "exec", ns]
        p.start("pop3d")
        client = (
            "import socket,sys,time\n"
            "for i in range(100):\n"
            "    try:\n"
            "        s=socket.create_connection(('192.0.2.1',110),5); break\n"
            "    except OSError: time.sleep(0.1)\n"
            "f=s.makefile('rb')\n"
            "out=[f.readline()]\n"
            "for c in (b'CAPA',b'USER alice',b'PASS wonderland',b'QUIT'):\n"
            "    s.sendall(c+b'\\r\\n')\n"
            "    out.append(f.readline())\n"
            "    if c==b'CAPA':\n"
            "        while out[-1]!=b'.\\r\\n': out.append(f.readline())\n"
            "sys.stdout.write(b''.join(out).decode())\n")
        r = subprocess.run(["ip", "netns", "exec", ns, "/usr/bin/python3", "-c", client],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        lines = r.stdout.splitlines()
        assert lines[0].startswith("+OK") and "loopback only" in lines[0]
        capa = lines[1:lines.index(".")]
        assert "USER" not in capa and "UIDL" in capa
        rest = lines[lines.index(".") + 1:]
        assert rest[0].startswith("-ERR [AUTH]") and rest[1].startswith("-ERR [AUTH]")
        assert rest[2].startswith("+OK")
        assert "authenticated" not in p.log("pop3d")


def steal_fd(pid, fd):
    """A copy of another process's fd (pidfd_getfd, Linux 5.6; root)."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    pidfd = libc.syscall(434, pid, 0)  # pidfd_open
    assert pidfd >= 0, os.strerror(ctypes.get_errno())
    try:
        got = libc.syscall(438, pidfd, fd, 0)  # pidfd_getfd
        assert got >= 0, os.strerror(ctypes.get_errno())
        return got
    finally:
        os.close(pidfd)


def frame(type_, reqid, fields):
    import struct
    payload = b"".join(struct.pack(">I", len(f)) + f for f in fields)
    return struct.pack(">HHII", type_, 1, len(payload), reqid) + payload


@pytest.mark.skipif(os.uname().machine != "x86_64", reason="syscall numbers for x86_64")
def test_forged_session_request_from_login_process_refused(pop):
    """A compromised login process cannot open a mailbox: the monitor
    starts a session only with a ticket from the auth helper."""
    import socket
    send(pop, b"Subject: secret\r\n\r\nfor bob only\r\n", to="bob@example.test")
    wait_delivered(pop, 1, "bob")
    login_pid = pop.child("pop3d", "login")
    socks = []
    for fd in os.listdir(f"/proc/{login_pid}/fd"):
        if os.readlink(f"/proc/{login_pid}/fd/{fd}").startswith("socket:"):
            socks.append(steal_fd(login_pid, int(fd)))
    client, attacker = socket.socketpair()
    P_SESSION = 401
    forged = [frame(P_SESSION, 7, [b"bob", b"\0" * 48, b"127.0.0.1", b"RETR 1\r\n"]),
              frame(P_SESSION, 8, [b"bob", b"", b"127.0.0.1", b""])]
    for fd in socks:
        s = socket.socket(fileno=fd)
        if s.family == socket.AF_UNIX:
            for f in forged:
                try:
                    socket.send_fds(s, [f], [client.fileno()])
                except OSError:
                    pass
        s.detach()
        os.close(fd)
    wait_for(lambda: pop.log("pop3d").count("without a valid ticket") >= 2,
             what="monitor refusing the forged requests")
    attacker.settimeout(1)
    try:
        got = attacker.recv(100)
    except socket.timeout:
        got = b""
    assert b"for bob only" not in got and not got.startswith(b"+OK")
    assert pop.child("pop3d", "session bob") is None
    assert "logged in" not in pop.log("pop3d")
