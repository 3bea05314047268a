"""Privilege separation, checked in /proc (root only): every daemon
process runs under its own uid and gid in the root DESIGN.md gives it,
and smtpd's worker can reach neither the users file nor the queue."""
import os
import pwd

import pytest

from conftest import IS_ROOT, wait_for

pytestmark = pytest.mark.skipif(not IS_ROOT, reason="needs root")


def ids(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("Uid", "Gid", "Groups", "NoNewPrivs", "CapEff"):
                out[k] = v.split()
    return out


ROLES = [
    ("smtpd", "sessions", "postern-smtpd", "spool"),
    ("smtpd", "auth helper", "postern-auth", "etc"),
    ("queued", "queue manager", "postern-queue", "spool"),
    ("queued", "local delivery", "postern-vmail", "mail"),
    ("queued", "auth helper", "postern-auth", "etc"),
]


def check_identity(pid, user, root):
    """pid runs as user (all ids, one group), with no capabilities, no
    way to gain privileges, and root as its root directory."""
    pw = pwd.getpwnam(user)
    # (a helper just forked may still be root, on its way down: the uid
    # changes last, so once it is the user's everything else must hold)
    st = wait_for(lambda: (lambda st: st["Uid"] == [str(pw.pw_uid)] * 4 and st)(ids(pid)),
                  timeout=10, what=f"pid {pid} running as {user}")
    assert st["Gid"] == [str(pw.pw_gid)] * 4
    assert st["Groups"] == [str(pw.pw_gid)]
    assert st["NoNewPrivs"] == ["1"]
    assert int(st["CapEff"][0], 16) == 0
    assert os.readlink(f"/proc/{pid}/root") == os.path.realpath(root)


@pytest.mark.parametrize("daemon,role,user,rootdir", ROLES)
def test_process_identity_and_root(postern, daemon, role, user, rootdir):
    pid = postern.child(daemon, role)
    assert pid, f"no {role} process"
    check_identity(pid, user, getattr(postern, rootdir))


def test_monitors_are_root_and_unchrooted(postern):
    for name in ("smtpd", "queued"):
        pid = postern.procs[name].pid
        assert ids(pid)["Uid"][0] == "0"
        assert os.readlink(f"/proc/{pid}/root") == "/"


def as_process(pid, fn):
    """Runs fn() in a child with pid's root directory, uid and gid."""
    st = ids(pid)
    return as_uid(int(st["Uid"][0]), int(st["Gid"][0]), f"/proc/{pid}/root", fn)


def as_uid(uid, gid, root, fn):
    """Runs fn() in a child chrooted to root with that uid and gid;
    returns fn's string."""
    r, w = os.pipe()
    child = os.fork()
    if child == 0:
        os.close(r)
        try:
            os.chroot(root)
            os.chdir("/")
            os.setgroups([gid])
            os.setgid(gid)
            os.setuid(uid)
            result = fn()
        except BaseException as e:  # noqa: BLE001
            result = f"error {e!r}"
        os.write(w, result.encode())
        os._exit(0)
    os.close(w)
    out = b""
    while True:
        chunk = os.read(r, 4096)
        if not chunk:
            break
        out += chunk
    os.close(r)
    os.waitpid(child, 0)
    return out.decode()


def try_open(path, flags=os.O_RDONLY):
    def fn():
        try:
            os.close(os.open(path, flags))
            return "opened"
        except PermissionError:
            return "denied"
        except FileNotFoundError:
            return "absent"
    return fn


def test_smtpd_cannot_open_users_file_or_queue(postern):
    pid = postern.child("smtpd", "sessions")
    users = os.path.join(postern.etc, "users")
    assert as_process(pid, try_open(users)) == "absent"
    assert as_process(pid, try_open("/../../" + users)) == "absent"
    assert as_process(pid, try_open("/queue", os.O_RDONLY | os.O_DIRECTORY)) == "denied"
    assert as_process(pid, try_open("/index", os.O_RDONLY | os.O_DIRECTORY)) == "denied"
    # but it can reach queued's socket directory
    assert as_process(pid, try_open("/run", os.O_RDONLY | os.O_DIRECTORY)) == "opened"
    # the auth helper alone can read the users file
    apid = postern.child("smtpd", "auth helper")
    assert as_process(apid, try_open("/users")) == "opened"


def test_users_file_mode(postern):
    st = os.stat(os.path.join(postern.etc, "users"))
    assert st.st_mode & 0o777 == 0o640
    assert st.st_uid == 0
    assert st.st_gid == pwd.getpwnam("postern-auth").pw_gid


@pytest.mark.parametrize("link", ["symlink", "hardlink"])
def test_root_does_not_follow_links_planted_in_the_index(make_postern, tmp_path, link):
    """index/ belongs to the queue manager's user; root sets the group
    and modes of LMDB's files there at each start. A link planted there
    (as a compromised queue manager could) must not hand root's file
    to that user."""
    import subprocess
    p = make_postern()
    p.stop("smtpd")
    p.stop("queued")
    target = tmp_path / "secret"
    target.write_text("root's\n")
    os.chmod(target, 0o600)
    data = os.path.join(p.spool, "index", "data.mdb")
    os.unlink(data)
    if link == "symlink":
        os.symlink(target, data)
    else:
        os.link(target, data)
    before = os.stat(target)
    q = p.start("queued")
    assert q.wait(timeout=30) != 0
    assert "index/data.mdb" in p.log("queued")
    after = os.stat(target)
    assert (after.st_uid, after.st_gid, after.st_mode) == (before.st_uid, before.st_gid, before.st_mode)
    assert subprocess.run(["cat", str(target)], capture_output=True, text=True).stdout == "root's\n"
