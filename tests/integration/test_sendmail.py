"""The sendmail command and local submission (run/submit.sock). As root,
a test makes an ordinary Unix user of its own (useradd, removed at the
end) and runs sendmail as that user (setpriv), with no privileges; those
tests skip for other users.
Mail arrives with that user as the envelope sender and its uid in the
Received: line; -i keeps a line holding only "."; -t takes To:, Cc: and
Bcc: and removes Bcc:; -f and -F; the exit codes of sysexits.h for an
unknown local user, a stopped queued and an over-long line. Then the
queue manager's side on its own, with a raw client that does not play
by the rules (queued never trusts the client): NUL octets, long lines,
bare line ends, a client that leaves or goes silent, broken frames.
-bp and the name mailq run posternctl mailq."""
import os
import pathlib
import pwd
import re
import shutil
import socket
import struct
import subprocess
import tempfile
import time
import uuid

import pytest

from conftest import BUILD, IS_ROOT, wait_for

SENDMAIL = os.path.join(BUILD, "sendmail")

SUB_BEGIN, SUB_DATA, SUB_END, SUB_OK, SUB_FAIL = 700, 701, 702, 750, 751
FAIL_TEMP, FAIL_PERM, FAIL_NOUSER, FAIL_DATA = 0, 1, 2, 3


@pytest.fixture
def tmp_path():
    """Replaces pytest's own: the ordinary user must reach the config
    and run/submit.sock, and pytest's base directory is root's alone."""
    d = tempfile.mkdtemp(prefix="postern-sendmail-")
    os.chmod(d, 0o755)
    yield pathlib.Path(d)
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def user():
    if not IS_ROOT:
        pytest.skip("needs root: makes a Unix user to send as")
    name = "pst" + uuid.uuid4().hex[:8]
    subprocess.run(["useradd", "-M", "-d", "/nonexistent", "-s", "/usr/sbin/nologin",
                    "-c", "Sam Sender,Room 1,,", name], check=True, timeout=60)
    try:
        yield pwd.getpwnam(name)
    finally:
        subprocess.run(["userdel", name], timeout=60)


@pytest.fixture
def p(make_postern):
    # mail.example.test is local here too, so bare names reach users
    return make_postern(domains="example.test example.org mail.example.test",
                        extra_conf="timeout_command 3s\n")


def sendmail(p, user, args, data, exe=SENDMAIL):
    """Runs sendmail as the user (no capabilities, the user's groups)."""
    cmd = ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--init-groups",
           "--inh-caps=-all", exe, "-C", p.conf, *args]
    if isinstance(data, str):
        data = data.encode()
    return subprocess.run(cmd, input=data, capture_output=True, timeout=60, env=p.env())


def one_mail(p, who):
    return p.wait_mail(who, 1)[0].decode("utf-8", "replace")


def mail_about(p, who, subject):
    """The message to who with this Subject: (Maildir names do not sort
    by arrival)."""
    def find():
        for m in p.read_mail(who):
            text = m.decode("utf-8", "replace")
            if f"\nSubject: {subject}\n" in text:
                return text
        return None
    return wait_for(find, timeout=60, what=f"'{subject}' for {who}")


def headers(msg):
    return msg.split("\n\n", 1)[0]


def queue_empty(p):
    return wait_for(lambda: p.queue_files() == [] or None, timeout=30, what="an empty queue")


def test_delivers_as_the_invoking_user(p, user):
    r = sendmail(p, user, ["-t"], "To: Alice <alice@example.test>\nSubject: cron\n\nall good\n")
    assert r.returncode == 0, r.stderr
    assert r.stderr == b""
    msg = one_mail(p, "alice")
    me = f"{user.pw_name}@mail.example.test"
    head = headers(msg)
    assert msg.startswith(f"Return-Path: <{me}>\n")
    received = re.search(r"^Received: by mail\.example\.test \(postern\) id ([0-9A-F]{16}) "
                         rf"\(uid {user.pw_uid}\);\n\t\S", head, re.M | re.I)
    assert received, head
    assert f"\nFrom: Sam Sender <{me}>\n" in head
    assert re.search(r"^Date: \w{3}, \d\d \w{3} \d{4} ", head, re.M)
    assert re.search(r"^Message-ID: <[^@>]+@mail\.example\.test>$", head, re.M)
    assert "\nSubject: cron\n" in head
    assert msg.endswith("\n\nall good\n")
    # one line with the uid, then the queue manager's own
    qid = received.group(1)
    log = p.log("queued")
    assert f"{qid}: uid={user.pw_uid}, from=<{me}>" in log
    assert re.search(rf"{qid}: from=<{me}>, size=\d+, nrcpt=1", log)


def test_command_line_recipients_and_bare_names(p, user):
    # a bare name gets @hostname (a local domain here); an alias; a list
    r = sendmail(p, user, ["--", "bob", "Carol <carol@example.test>, team@example.test"],
                 "Subject: hi\n\nbody\n")
    assert r.returncode == 0, r.stderr
    for who in ("alice", "bob", "carol"):
        assert "\n\nbody\n" in one_mail(p, who)
    # team is alice and bob: one copy each
    time.sleep(0.5)
    assert len(p.maildir_files("alice")) == 1 and len(p.maildir_files("bob")) == 1
    head = headers(one_mail(p, "bob"))
    assert "\nTo:" not in head and "\nCc:" not in head  # nothing made up from the envelope
    assert "Delivered-To: bob@mail.example.test" in head


def test_dot_line_kept_with_i(p, user):
    body = "first\n.\n..stuffed?\nlast\n"
    r = sendmail(p, user, ["-i", "alice@example.test"], "Subject: dots\n\n" + body)
    assert r.returncode == 0, r.stderr
    assert mail_about(p, "alice", "dots").endswith("\n\n" + body)
    # -oi is the same
    r = sendmail(p, user, ["-oi", "alice@example.test"], "Subject: dots 2\n\n" + body)
    assert r.returncode == 0, r.stderr
    assert mail_about(p, "alice", "dots 2").endswith("\n\n" + body)


def test_dot_line_ends_the_message_without_i(p, user):
    r = sendmail(p, user, ["alice@example.test"],
                 "Subject: dots\r\n\r\nfirst\r\n..two\r\n.\r\nnever sent\r\n")
    assert r.returncode == 0, r.stderr
    msg = one_mail(p, "alice")
    assert msg.endswith("\n\nfirst\n..two\n")
    assert "never sent" not in msg


def test_bcc_removed_yet_delivered(p, user):
    r = sendmail(p, user, ["-t"],
                 "To: alice@example.test\nBcc: Secret\n (folded) <bob@example.test>\n"
                 "Cc: \"Doe, Carol\" <carol@example.test>, undisclosed:;\nSubject: x\n\nhello\n")
    assert r.returncode == 0, r.stderr
    for who in ("alice", "bob", "carol"):
        msg = one_mail(p, who)
        assert "bcc" not in headers(msg).lower(), msg
        assert "(folded)" not in msg and "Secret" not in msg
        assert msg.endswith("\n\nhello\n")
    assert 'Cc: "Doe, Carol" <carol@example.test>, undisclosed:;' in one_mail(p, "alice")


def test_f_and_F(p, user):
    r = sendmail(p, user, ["-f", "<robot@example.org>", "-F", "Robo Cop", "alice@example.test"],
                 "Subject: from\n\nx\n")
    assert r.returncode == 0, r.stderr
    msg = mail_about(p, "alice", "from")
    assert msg.startswith("Return-Path: <robot@example.org>\n")
    # the added From: names the envelope sender, as Postfix's does
    assert "\nFrom: Robo Cop <robot@example.org>\n" in headers(msg)
    # a From: of the message's own stays as it is; a name that needs it
    # is encoded (RFC 2047); -r is -f
    r = sendmail(p, user, ["-r", "list@example.org", "-F", "José", "alice@example.test"],
                 "Subject: second\n\nx\n")
    assert r.returncode == 0, r.stderr
    msg = mail_about(p, "alice", "second")
    assert msg.startswith("Return-Path: <list@example.org>\n")
    assert "\nFrom: =?UTF-8?B?Sm9zw6k=?= <list@example.org>\n" in msg
    r = sendmail(p, user, ["-f", "", "-F", "Ignored", "alice@example.test"],
                 "From: Me Myself <me@example.org>\nSubject: third\n\nx\n")
    assert r.returncode == 0, r.stderr
    msg = mail_about(p, "alice", "third")
    assert msg.startswith("Return-Path: <>\n")
    assert "From: Me Myself <me@example.org>" in msg and "Ignored" not in msg
    # the null sender and no From: of the message's own
    r = sendmail(p, user, ["-f", "<>", "alice@example.test"], "Subject: fourth\n\nx\n")
    assert r.returncode == 0, r.stderr
    msg = mail_about(p, "alice", "fourth")
    assert "\nFrom: <MAILER-DAEMON@mail.example.test>\n" in headers(msg)
    # without -f: the user's own address
    r = sendmail(p, user, ["alice@example.test"], "Subject: fifth\n\nx\n")
    assert r.returncode == 0, r.stderr
    assert f"<{user.pw_name}@mail.example.test>\n" in headers(mail_about(p, "alice", "fifth"))
    # a bad -f is refused before anything is read
    r = sendmail(p, user, ["-f", "bad address@", "alice@example.test"], "x\n")
    assert r.returncode == 65 and r.stderr.startswith(b"sendmail: bad sender address")


def test_unknown_local_user(p, user):
    r = sendmail(p, user, ["alice@example.test", "nobody@example.test"], "Subject: x\n\nx\n")
    assert r.returncode == 67, r.stderr
    assert r.stderr == b"sendmail: <nobody@example.test>: unknown user\n"
    assert "refused (permanent): <nobody@example.test>: unknown user" in p.log("queued")
    queue_empty(p)
    time.sleep(1)
    assert p.maildir_files("alice") == []


def test_bad_addresses_and_usage(p, user):
    r = sendmail(p, user, ["alice@@example.test"], "x\n")
    assert r.returncode == 65 and r.stderr.startswith(b"sendmail: "), r.stderr
    r = sendmail(p, user, ["-t"], "To: Just A Name\n\nx\n")
    assert r.returncode == 65 and b"To: field" in r.stderr, r.stderr
    r = sendmail(p, user, [], "Subject: nobody\n\nx\n")
    assert r.returncode == 64 and r.stderr.startswith(b"sendmail: no recipients")
    r = sendmail(p, user, ["-t"], "Subject: nobody\n\nx\n")
    assert r.returncode == 64 and r.stderr.startswith(b"sendmail: no recipients")
    r = sendmail(p, user, ["-bs"], "")
    assert r.returncode == 64 and r.stderr.count(b"\n") == 1
    r = sendmail(p, user, ["-Z"], "")
    assert r.returncode == 64 and r.stderr.startswith(b"sendmail: usage:")
    # accepted and ignored, as other sendmails' callers use them
    r = sendmail(p, user, ["-v", "-odi", "-oem", "-N", "never", "-U", "alice@example.test"],
                 "Subject: ok\n\nx\n")
    assert r.returncode == 0, r.stderr
    one_mail(p, "alice")


def test_over_long_line_refused(p, user):
    r = sendmail(p, user, ["alice@example.test"], "Subject: long\n\n" + "x" * 999 + "\n")
    assert r.returncode == 65, r.stderr
    assert r.stderr == b"sendmail: the message has a line longer than 998 octets\n"
    assert "uid=" not in p.log("queued")
    assert p.queue_files() == []
    # 998 is fine
    r = sendmail(p, user, ["alice@example.test"], "Subject: long\n\n" + "y" * 998 + "\n")
    assert r.returncode == 0, r.stderr
    assert ("y" * 998 + "\n") in one_mail(p, "alice")


def test_too_large_refused(make_postern, user):
    p = make_postern(extra_conf="max_message_size 2k\n")
    r = sendmail(p, user, ["alice@example.test"], ("z" * 70 + "\n") * 40)
    assert r.returncode == 65, r.stderr
    assert b"larger than the limit of 2048 octets" in r.stderr
    assert p.queue_files() == []


def test_queued_stopped_keeps_mail_offline(p, user):
    """With queued down, sendmail keeps the message in offline/ and exits
    0, as Postfix's postdrop does; queued sends it on as that user when it
    starts again."""
    r = sendmail(p, user, ["alice@example.test"], "Subject: before\n\nx\n")
    assert r.returncode == 0, r.stderr
    one_mail(p, "alice")
    p.stop("queued")
    r = sendmail(p, user, ["-t"], "To: alice@example.test\nSubject: while stopped\n\nx\n")
    assert r.returncode == 0, r.stderr
    assert r.stderr == b""
    offline = os.path.join(p.spool, "offline")
    if IS_ROOT:
        st = os.stat(offline)
        assert st.st_uid == 0 and oct(st.st_mode & 0o7777) == "0o1733"
    files = os.listdir(offline)
    assert len(files) == 1 and not files[0].startswith("."), files
    st = os.stat(os.path.join(offline, files[0]))
    assert st.st_uid == user.pw_uid and st.st_mode & 0o777 == 0o600
    assert p.queue_files() == []

    p.start("queued")
    msg = mail_about(p, "alice", "while stopped")
    me = f"{user.pw_name}@mail.example.test"
    assert msg.startswith(f"Return-Path: <{me}>\n")
    assert f"(uid {user.pw_uid});" in headers(msg)
    assert f"\nFrom: Sam Sender <{me}>\n" in headers(msg)
    wait_for(lambda: os.listdir(offline) == [], what="the offline file removed")
    assert re.search(rf"offline/{files[0]}: uid={user.pw_uid}: queued as [0-9A-F]{{16}}",
                     p.log("queued"))
    # the pickup process ran as the user, not as root
    qid = re.search(r"queued as ([0-9A-F]{16})", p.log("queued")).group(1)
    assert f"{qid}: uid={user.pw_uid}, from=<{me}>" in p.log("queued")

    r = sendmail(p, user, ["alice@example.test"], "Subject: after\n\nx\n")
    assert r.returncode == 0, r.stderr
    mail_about(p, "alice", "after")
    assert len(p.maildir_files("alice")) == 3
    queue_empty(p)


def test_offline_files_are_sent_as_their_owner(p, user, tmp_path):
    """Whatever a file in offline/ says, queued's pickup sends it as the
    file's owner, through the same socket and checks as sendmail; it never
    opens what is not a regular file of one link, sets aside what queued
    refuses, and one user's file that cannot go holds up no one else's."""
    p.stop("queued")
    offline = os.path.join(p.spool, "offline")

    def put(name, data, uid, gid):
        path = os.path.join(offline, name)
        with open(path, "wb") as f:
            f.write(data)
        os.chown(path, uid, gid)
        return path
    # frames written by hand, naming root as the sender
    forged = begin("root@example.test", ["alice@example.test"]) + \
        frame(SUB_DATA, s(b"Subject: forged\n\nx\n")) + frame(SUB_END)
    put("0000", b"", 0, 0)  # root's, first in line: queued waits for frames in vain
    put("0001", forged, user.pw_uid, user.pw_gid)
    put("0002", b"not frames at all", user.pw_uid, user.pw_gid)
    put("0003", forged, 54321, 54321)  # a uid with no user
    secret = tmp_path / "secret"
    secret.write_text("root's own\n")
    os.symlink(str(secret), os.path.join(offline, "0004"))
    os.link(str(secret), os.path.join(offline, "0005"))  # a second link to root's file
    os.mkfifo(os.path.join(offline, "0006"))
    old_tmp = put(".tmp.0007", forged, user.pw_uid, user.pw_gid)
    os.utime(old_tmp, (time.time() - 2 * 86400, time.time() - 2 * 86400))
    young_tmp = put(".tmp.0008", forged, user.pw_uid, user.pw_gid)
    put(".junk", b"x", user.pw_uid, user.pw_gid)  # no name sendmail makes
    os.mkdir(os.path.join(offline, "0009"))
    put("0009/inside", b"x", 0, 0)  # a directory that cannot be removed

    p.start("queued")
    # in the first round (a minute apart), though root's file before it cannot go
    msg = wait_for(lambda: p.read_mail("alice") and p.read_mail("alice")[0].decode(), timeout=40,
                   what="the forged message delivered in the first round")
    assert f"(uid {user.pw_uid});" in headers(msg)
    assert msg.startswith("Return-Path: <root@example.test>\n")  # -f is free, as in Postfix
    log = wait_for(lambda: (lambda t: all(f"offline/{n}: " in t for n in (
        "0000", "0001", "0002", "0003", "0004", "0005", "0006", ".junk")) and t)(p.log("queued")),
        what="every file looked at: " + "\n".join(l for l in p.log("queued").splitlines() if "offline" in l or "pickup" in l or "signal" in l))
    assert re.search(rf"offline/0001: uid={user.pw_uid}: queued as ", log)
    assert f"offline/0002: uid={user.pw_uid}: refused: " in log
    assert "offline/0002: kept as offline/.refused.0002" in log
    assert "offline/0003: owner uid 54321 has no user name; kept as offline/.refused.0003" in log
    for name in ("0004", "0005", "0006"):
        assert f"offline/{name}: not a regular file with one link" in log
    assert "offline/0000: uid=0: " in log and "tried again later" in log
    assert sorted(os.listdir(offline)) == [".refused.0002", ".refused.0003", ".tmp.0008", "0000",
                                           "0009"]
    assert secret.read_text() == "root's own\n" and os.stat(secret).st_nlink == 1
    assert not os.path.exists(old_tmp) and os.path.exists(young_tmp)
    assert len(p.maildir_files("alice")) == 1


def test_8bit_and_line_ends(p, user):
    r = sendmail(p, user, ["alice@example.test"],
                 "Subject: caf\xe9\r\n\r\nbare\rcr\nlf only\r\ncrlf\nno newline at the end")
    assert r.returncode == 0, r.stderr
    msg = p.wait_mail("alice", 1)[0]
    # Maildir files have LF lines: every line end became one
    assert msg.endswith(b"\n\nbare\ncr\nlf only\ncrlf\nno newline at the end\n")
    assert b"\r" not in msg
    assert "Subject: café\n" in msg.decode()


# ---- -bp and mailq ----

def test_bp_and_mailq_run_posternctl(p, tmp_path):
    # a message that stays put (remote delivery paused) for the listing
    qid = None
    if p.ctl("pause", "remote", check=False).returncode == 0:
        t, payload, _ = submit_raw(p, b"Subject: waits\n\nx\n", ["someone@elsewhere.test"])
        assert t == SUB_OK
        qid = "%016X" % struct.unpack(">Q", payload)[0]
    want = subprocess.run([os.path.join(BUILD, "posternctl"), "-f", p.conf, "mailq"],
                          capture_output=True, timeout=60)
    env = dict(p.env(), PATH="/usr/bin:/bin")  # not BUILD: found next to the binary
    r = subprocess.run([SENDMAIL, "-C", p.conf, "-bp"], capture_output=True, timeout=60, env=env)
    assert (r.returncode, r.stdout, r.stderr) == (want.returncode, want.stdout, want.stderr)
    link = tmp_path / "mailq"
    link.symlink_to(SENDMAIL)
    r = subprocess.run([str(link), "-C", p.conf], capture_output=True, timeout=60, env=env)
    assert (r.returncode, r.stdout, r.stderr) == (want.returncode, want.stdout, want.stderr)
    # posternctl's own words, never sendmail's
    assert not r.stderr.startswith(b"sendmail:")
    if qid and want.returncode == 0:
        assert qid in want.stdout.decode(), want.stdout


# ---- the queue manager's side, with a raw client ----

def frame(t, payload=b""):
    return struct.pack(">HHII", t, 0, len(payload), 0) + payload


def s(b):
    if isinstance(b, str):
        b = b.encode()
    return struct.pack(">I", len(b)) + b


def begin(sender, rcpts):
    return frame(SUB_BEGIN, s(sender) + struct.pack(">I", len(rcpts)) + b"".join(s(r) for r in rcpts))


class Raw:
    def __init__(self, p):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(20)
        self.sock.connect(os.path.join(p.spool, "run", "submit.sock"))

    def send(self, data):
        try:
            self.sock.sendall(data)
            return True
        except (BrokenPipeError, ConnectionResetError):
            return False

    def answer(self):
        buf = b""
        while True:
            if len(buf) >= 12:
                t, _, n, _ = struct.unpack(">HHII", buf[:12])
                if len(buf) >= 12 + n:
                    return t, buf[12:12 + n], self.closed()
            chunk = self.sock.recv(65536)
            if not chunk:
                raise AssertionError(f"closed without an answer; have {buf!r}")
            buf += chunk

    def closed(self):
        try:
            return self.sock.recv(1) == b""
        except ConnectionResetError:
            return True

    def close(self):
        self.sock.close()


def fail_of(payload):
    kind = payload[0]
    (n,) = struct.unpack(">I", payload[1:5])
    return kind, payload[5:5 + n].decode()


def submit_raw(p, data, rcpts=("alice@example.test",), sender="root@example.test"):
    c = Raw(p)
    c.send(begin(sender, list(rcpts)))
    for i in range(0, len(data), 65536):
        c.send(frame(SUB_DATA, s(data[i:i + 65536])))
    c.send(frame(SUB_END))
    ans = c.answer()
    c.close()
    return ans


def test_raw_message_is_filtered_and_uid_recorded(p):
    t, payload, closed = submit_raw(p, b"Subject: raw\n\nbare\rcr\nend")
    assert t == SUB_OK and len(payload) == 8 and closed
    qid = "%016X" % struct.unpack(">Q", payload)[0]
    msg = one_mail(p, "alice")
    assert re.search(rf"^Received: by mail\.example\.test \(postern\) id {qid} \(uid {os.getuid()}\);",
                     msg, re.M | re.I)
    assert msg.endswith("\n\nbare\ncr\nend\n")


@pytest.mark.parametrize("data,why", [
    (b"Subject: x\n\nnul \0 here\n", "NUL"),
    (b"Subject: x\n\n" + b"x" * 999 + b"\r\n", "longer than 998"),
    (b"Subject: x\n\n" + b"x" * 999, "longer than 998"),
])
def test_raw_bad_message_refused(p, data, why):
    t, payload, closed = submit_raw(p, data)
    assert t == SUB_FAIL and closed
    kind, reason = fail_of(payload)
    assert kind == FAIL_DATA and why in reason, reason
    assert p.queue_files() == []


def test_raw_large_message_refused_early(make_postern):
    p = make_postern(extra_conf="max_message_size 100k\n")
    c = Raw(p)
    c.send(begin("", ["alice@example.test"]))
    chunk = frame(SUB_DATA, s((b"y" * 900 + b"\n") * 60))
    sent = 0
    while c.send(chunk) and sent < 10_000_000:
        sent += len(chunk)
    t, payload, _ = c.answer()
    c.close()
    assert t == SUB_FAIL and fail_of(payload) == (FAIL_DATA, "message exceeds the size limit "
                                                            "of 102400 octets")
    assert sent < 1_000_000  # refused while it was sent, not read to the end
    queue_empty(p)


def test_raw_addresses_checked(p):
    for rcpts, kind in ((["alice"], FAIL_DATA), (["alice@exa mple.test"], FAIL_DATA),
                        (["nobody@example.test"], FAIL_NOUSER), ([], FAIL_DATA)):
        t, payload, _ = submit_raw(p, b"x\n", rcpts)
        assert t == SUB_FAIL and fail_of(payload)[0] == kind, (rcpts, payload)
    t, payload, _ = submit_raw(p, b"x\n", sender="not an address")
    assert t == SUB_FAIL and fail_of(payload)[0] == FAIL_DATA
    # a remote recipient is taken (a local user is trusted to relay)
    t, payload, _ = submit_raw(p, b"Subject: out\n\nx\n", ["someone@elsewhere.test"])
    assert t == SUB_OK
    assert p.queue_files() != []


def test_raw_client_leaving_leaves_nothing(p):
    c = Raw(p)
    c.send(begin("", ["alice@example.test"]) + frame(SUB_DATA, s(b"Subject: gone\n\npartial")))
    wait_for(lambda: len(p.queue_files()) == 1, what="the queue file")
    c.close()
    queue_empty(p)
    assert "the client went away; message dropped" in p.log("queued")


def test_raw_silent_client_dropped(p):
    # timeout_command 3s: a client silent that long is dropped
    silent = Raw(p)
    started = Raw(p)
    started.send(begin("", ["alice@example.test"]))
    wait_for(lambda: len(p.queue_files()) == 1, what="the queue file")
    t0 = time.monotonic()
    for c in (silent, started):
        t, payload, closed = c.answer()
        assert t == SUB_FAIL and fail_of(payload)[0] == FAIL_TEMP and closed
        assert "timed out" in fail_of(payload)[1]
    assert time.monotonic() - t0 < 15
    queue_empty(p)


def test_raw_protocol_errors(p):
    for junk in (b"GET / HTTP/1.0\r\n\r\n", frame(SUB_DATA, s(b"x")), frame(SUB_END),
                 frame(SUB_BEGIN, b"\0\0\0\x01"), frame(999)):
        c = Raw(p)
        c.send(junk)
        t, payload, closed = c.answer()
        c.close()
        assert t == SUB_FAIL and fail_of(payload)[0] == FAIL_PERM and closed, junk
    # a chunk over the limit
    c = Raw(p)
    c.send(begin("", ["alice@example.test"]) + frame(SUB_DATA, s(b"a" * 65537)))
    t, payload, _ = c.answer()
    assert t == SUB_FAIL and fail_of(payload) == (FAIL_PERM, "protocol error")
    queue_empty(p)
    # queued is still fine
    assert submit_raw(p, b"Subject: still here\n\nx\n")[0] == SUB_OK


def test_raw_not_accepting(p):
    r = p.ctl("pause", "accept", check=False)
    if r.returncode != 0:
        pytest.skip("posternctl pause accept is not available: " + r.stderr)
    t, payload, closed = submit_raw(p, b"x\n")
    assert t == SUB_FAIL and fail_of(payload) == (FAIL_TEMP, "not accepting mail")
    p.ctl("resume", "accept")
    assert submit_raw(p, b"Subject: resumed\n\nx\n")[0] == SUB_OK


def test_raw_clients_leaving_at_the_end(p):
    # each sends everything and goes without reading the answer: a
    # message that reached the group commit is delivered (or waits in
    # the queue: remote ones, with no DNS here), any other leaves no file
    for i in range(30):
        c = Raw(p)
        rcpt = "alice@example.test" if i % 2 else f"r{i}@elsewhere.test"
        c.send(begin("", [rcpt]) + frame(SUB_DATA, s(f"Subject: left {i}\n\nx\n".encode())) +
               frame(SUB_END))
        c.close()
        time.sleep(0.02)
    uid = os.getuid()

    def settled():
        # the files first, then the log: a delivery's status=sent line is
        # logged before its queue file goes, after its Maildir file came
        files, mailbox = set(p.queue_files()), len(p.maildir_files("alice"))
        log = p.log("queued")
        committed = set(re.findall(rf"([0-9A-F]{{16}}): uid={uid}, from=<>", log))
        dropped = set(re.findall(
            rf"([0-9A-F]{{16}}): uid={uid}: the client went away; message dropped", log))
        delivered = set(re.findall(r"([0-9A-F]{16}): to=<alice@example\.test>.*status=sent", log))
        if committed == delivered | files and mailbox == len(delivered):
            return committed, dropped, delivered
        return None
    committed, dropped, delivered = wait_for(settled, timeout=60,
                                             what="every committed message delivered or queued")
    assert committed and not committed & dropped


def test_raw_per_uid_limit(p, user):
    held = [Raw(p) for _ in range(16)]
    for c in held:
        c.send(begin("", ["alice@example.test"]))
    wait_for(lambda: len(p.queue_files()) == 16, what="16 submissions in progress")
    c = Raw(p)
    t, payload, closed = c.answer()
    assert t == SUB_FAIL and closed
    assert fail_of(payload) == (FAIL_TEMP, "too many submissions at once from this user")
    # another uid is not held up by root's
    r = sendmail(p, user, ["alice@example.test"], "Subject: other uid\n\nx\n")
    assert r.returncode == 0, r.stderr
    for c in held:
        c.close()
    queue_empty(p)
    assert mail_about(p, "alice", "other uid")
