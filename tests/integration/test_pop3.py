"""POP3 (RFC 1939, RFC 2449) against a real pop3d with real clients:
Python's poplib, curl and fetchmail. Mail goes in over SMTP and comes
out over POP3 byte for byte; the maildrop semantics (lock, DELE only at
QUIT, stable UIDLs, Maildir flags) and the abuse limits are checked as
a client and an administrator would see them."""
import os
import poplib
import re
import smtplib
import socket
import subprocess
import time

import pytest

from conftest import LineClient, wait_for

# every test has its own client address, so the failed-login delays
# one test earns (they are per address) do not slow another down
_next_ip = [10]


def client_ip():
    _next_ip[0] += 1
    return f"127.0.3.{_next_ip[0]}"


class Pop3(poplib.POP3):
    """poplib from a chosen loopback source address."""

    def __init__(self, port, source=None, timeout=30):
        self.source = source or client_ip()
        super().__init__("127.0.0.1", port, timeout=timeout)

    def _create_socket(self, timeout):
        return socket.create_connection((self.host, self.port), timeout,
                                        source_address=(self.source, 0))


def login(p, user="alice", password="wonderland", source=None):
    c = Pop3(p.pop3_port, source)
    c.user(user)
    c.pass_(password)
    return c


class Pop3Lines:
    """A command and its one-line answer; a multi-line answer's lines."""

    def cmd(self, text):
        self.send(text.encode() + b"\r\n")
        return self.line()

    def multi(self):
        lines = []
        while True:
            ln = self.line()
            if ln == ".":
                return lines
            lines.append(ln)


class Raw(Pop3Lines, LineClient):
    """POP3 with exact bytes on the wire."""

    def __init__(self, port, source=None):
        super().__init__(port, source or client_ip())
        self.greeting = self.line()

    def closed(self, timeout=10):
        return super().closed(timeout)


def send(p, body, to="alice@example.test", eightbit=False):
    with smtplib.SMTP("127.0.0.1", p.port, timeout=60) as s:
        s.sendmail("sender@example.org", [to], body,
                   mail_options=["BODY=8BITMIME"] if eightbit else [])


def maildir_count(p, user="alice"):
    n = 0
    for sub in ("new", "cur"):
        d = os.path.join(p.mail, user, sub)
        if os.path.isdir(d):
            n += len(os.listdir(d))
    return n


def wait_delivered(p, count, user="alice"):
    wait_for(lambda: maildir_count(p, user) >= count, timeout=60,
             what=f"{count} message(s) in {user}'s Maildir")


@pytest.fixture
def pop(make_postern):
    return make_postern(pop3=True, extra_conf="auth_failure_delay 200ms")


DOTS = (b"Subject: dots\r\n\r\n.leading dot\r\n..two dots\r\n.\r\n"
        b"a line\r\n. space\r\n")
EIGHT = ("Subject: 8bit\r\nContent-Type: text/plain; charset=utf-8\r\n"
         "Content-Transfer-Encoding: 8bit\r\n\r\n"
         "Gr\u00fc\u00dfe aus K\u00f6ln \u2013 \u00e9t\u00e9\r\n").encode()
BIG = b"Subject: big\r\n\r\n" + b"".join(
    b"%07d " % i + b"x" * 68 + b"\r\n" for i in range(13800))  # about 1 MiB


def three_messages(p):
    send(p, DOTS)
    send(p, EIGHT, eightbit=True)
    send(p, BIG)
    wait_delivered(p, 3)


def retr_bytes(c, n):
    resp, lines, octets = c.retr(n)
    return resp, b"".join(ln + b"\r\n" for ln in lines), octets


def test_retrieve_byte_exact(pop):
    three_messages(pop)
    assert len(BIG) > 1024 * 1024
    c = login(pop)
    count, total = c.stat()
    assert count == 3
    sizes = {int(a): int(b) for a, b in (x.split() for x in c.list()[1])}
    got = []
    for i in (1, 2, 3):
        resp, data, octets = retr_bytes(c, i)
        # the octet count of LIST and of the +OK line is what RETR sends
        assert resp == b"+OK %d octets" % sizes[i]
        assert len(data) == octets == sizes[i]
        got.append(data)
    assert sum(sizes.values()) == total
    # delivery adds Return-Path, Delivered-To and Received; the rest is
    # the message as it was sent, dot lines and 8-bit bytes included
    for data, sent in zip(got, (DOTS, EIGHT, BIG)):
        assert data.startswith(b"Return-Path: <sender@example.org>\r\n"
                               b"Delivered-To: alice@example.test\r\n")
        assert data.endswith(sent)
    c.quit()


def test_wire_form_is_stuffed_and_crlf(pop):
    send(pop, DOTS)
    wait_delivered(pop, 1)
    # on disk the Maildir file has LF line ends
    r = Raw(pop.pop3_port)
    r.cmd("USER alice")
    assert r.cmd("PASS wonderland").startswith("+OK")
    first = r.cmd("RETR 1")
    assert first.startswith("+OK")
    r.send(b"QUIT\r\n")
    assert r.closed()
    wire = r.buf
    assert b"\r\n..leading dot\r\n...two dots\r\n..\r\na line\r\n.. space\r\n.\r\n+OK" in wire
    assert b"\n" not in wire.replace(b"\r\n", b"")
    cur = os.listdir(os.path.join(pop.mail, "alice", "cur"))
    with open(os.path.join(pop.mail, "alice", "cur", cur[0]), "rb") as f:
        assert b"\r" not in f.read()


def test_top(pop):
    send(pop, b"Subject: top\r\nX-Other: 1\r\n\r\nbody 1\r\nbody 2\r\n.body 3\r\nbody 4\r\n")
    wait_delivered(pop, 1)
    c = login(pop)
    _, lines, _ = c.top(1, 2)
    blank = lines.index(b"")
    assert lines[blank - 2:] == [b"Subject: top", b"X-Other: 1", b"", b"body 1", b"body 2"]
    _, lines, _ = c.top(1, 0)
    assert lines[-1] == b"" and lines[-2] == b"X-Other: 1"
    _, lines, _ = c.top(1, 100)
    assert lines[-2:] == [b".body 3", b"body 4"]
    with pytest.raises(poplib.error_proto):
        c.top(2, 1)
    c.quit()


def test_uidl_stable_and_unique(pop):
    for i in range(3):
        send(pop, b"Subject: %d\r\n\r\nsame body\r\n" % i)
    wait_delivered(pop, 3)
    c = login(pop)
    first = c.uidl()[1]
    one = c.uidl(2)
    c.quit()
    c = login(pop)
    second = c.uidl()[1]
    c.quit()
    assert first == second
    uids = [ln.split()[1] for ln in first]
    assert len(set(uids)) == 3
    for u in uids:
        assert 1 <= len(u) <= 70 and all(0x21 <= b <= 0x7e for b in u)
    assert one == b"+OK 2 " + uids[1]


def test_dele_quit_removes(pop):
    for i in range(3):
        send(pop, b"Subject: %d\r\n\r\nbody %d\r\n" % (i, i))
    wait_delivered(pop, 3)
    c = login(pop)
    uids = [ln.split()[1] for ln in c.uidl()[1]]
    c.dele(2)
    # a deleted message is gone from the listing at once
    assert c.stat()[0] == 2
    with pytest.raises(poplib.error_proto, match="deleted"):
        c.retr(2)
    assert c.quit().startswith(b"+OK")
    c = login(pop)
    assert c.stat()[0] == 2
    assert [ln.split()[1] for ln in c.uidl()[1]] == [uids[0], uids[2]]
    c.quit()
    assert maildir_count(pop) == 2


def test_dele_then_dropped_connection_keeps(pop):
    send(pop, b"Subject: keep\r\n\r\nkeep me\r\n")
    wait_delivered(pop, 1)
    r = Raw(pop.pop3_port)
    r.cmd("USER alice")
    assert r.cmd("PASS wonderland").startswith("+OK")
    assert r.cmd("DELE 1").startswith("+OK")
    r.close()  # no QUIT: no UPDATE state
    wait_for(lambda: "connection closed without QUIT" in pop.log("pop3d"), what="session end")
    # (logged before the session process lets go of the maildrop's lock)
    wait_for(lambda: not pop.child("pop3d", "session alice"), what="session process gone")
    c = login(pop)
    assert c.stat()[0] == 1
    c.quit()
    assert maildir_count(pop) == 1


def test_dele_rset_keeps(pop):
    send(pop, b"Subject: rset\r\n\r\nbody\r\n")
    wait_delivered(pop, 1)
    c = login(pop)
    c.dele(1)
    assert c.stat()[0] == 0
    assert c.rset().startswith(b"+OK 1 messages")
    assert c.stat()[0] == 1
    c.quit()
    c = login(pop)
    assert c.stat()[0] == 1
    c.quit()


def test_maildir_flags_like_dovecot(pop):
    send(pop, b"Subject: one\r\n\r\n1\r\n")
    send(pop, b"Subject: two\r\n\r\n2\r\n")
    wait_delivered(pop, 2)
    new = os.path.join(pop.mail, "alice", "new")
    cur = os.path.join(pop.mail, "alice", "cur")
    assert len(os.listdir(new)) == 2
    c = login(pop)
    # opening the maildrop moves new mail to cur/ with an empty flag set
    assert os.listdir(new) == []
    assert sorted(f[-3:] for f in os.listdir(cur)) == [":2,", ":2,"]
    c.retr(1)
    c.top(2, 0)
    c.quit()
    # RETR (not TOP) marks the message seen
    flags = sorted(f.rsplit(":2,", 1)[1] for f in os.listdir(cur))
    assert flags == ["", "S"]


def test_mail_during_session_shows_next_time(pop):
    send(pop, b"Subject: first\r\n\r\n1\r\n")
    wait_delivered(pop, 1)
    c = login(pop)
    assert c.stat()[0] == 1
    send(pop, b"Subject: second\r\n\r\n2\r\n")
    wait_delivered(pop, 2)
    assert c.stat()[0] == 1
    c.dele(1)
    c.quit()
    c = login(pop)
    assert c.stat()[0] == 1
    assert b"Subject: second" in c.retr(1)[1]
    c.quit()


def test_second_login_in_use(pop):
    send(pop, b"Subject: x\r\n\r\nx\r\n")
    wait_delivered(pop, 1)
    c = login(pop)
    with pytest.raises(poplib.error_proto, match=r"\[IN-USE\]"):
        login(pop)
    c.quit()
    # the lock goes with the session
    c = login(pop)
    assert c.stat()[0] == 1
    c.quit()


def test_lock_released_when_client_vanishes(pop):
    r = Raw(pop.pop3_port)
    r.cmd("USER alice")
    assert r.cmd("PASS wonderland").startswith("+OK")
    r.close()
    wait_for(lambda: "connection closed without QUIT" in pop.log("pop3d"), what="session end")
    # (logged before the session process lets go of the maildrop's lock)
    wait_for(lambda: not pop.child("pop3d", "session alice"), what="session process gone")
    login(pop).quit()


def test_wrong_password_delay_grows_per_address(pop):
    ip = client_ip()
    times = []
    for _ in range(3):
        c = Pop3(pop.pop3_port, ip)
        c.user("alice")
        t = time.monotonic()
        with pytest.raises(poplib.error_proto, match=r"^b'-ERR \[AUTH\]"):
            c.pass_("not the password")
        times.append(time.monotonic() - t)
        c.quit()
    # 200 ms, then 400 ms, then 800 ms
    assert times[0] >= 0.18
    assert times[1] >= 0.38
    assert times[2] >= 0.78
    # the right password from the same connection still works after a failure
    c = Pop3(pop.pop3_port, ip)
    c.user("alice")
    with pytest.raises(poplib.error_proto):
        c.pass_("wrong")
    c.user("alice")
    assert c.pass_("wonderland").startswith(b"+OK")
    c.quit()
    # another address is not slowed by these failures
    c = Pop3(pop.pop3_port)
    c.user("bob")
    t = time.monotonic()
    with pytest.raises(poplib.error_proto):
        c.pass_("nope")
    assert time.monotonic() - t < 0.9


def test_unknown_user_same_answer(pop):
    c = Pop3(pop.pop3_port)
    c.user("nosuchuser")
    with pytest.raises(poplib.error_proto) as e:
        c.pass_("wonderland")
    assert str(e.value) == str(b"-ERR [AUTH] Authentication failed")


def test_user_name_forms(pop):
    send(pop, b"Subject: x\r\n\r\nx\r\n")
    wait_delivered(pop, 1)
    for name in ("ALICE", "alice@example.test", "Alice@Example.ORG"):
        c = login(pop, name)
        assert c.stat()[0] == 1
        c.quit()
    # a foreign domain is not alice
    with pytest.raises(poplib.error_proto, match=r"\[AUTH\]"):
        login(pop, "alice@elsewhere.test")


@pytest.mark.parametrize("name", [
    b"../bob", b"../../etc", b"alice/../bob", b"/etc/passwd", b"al\x00ice",
    b"a" * 65, b"x" * 300, b".alice", b"-alice", b"alice bob", b"alice/", b"..",
])
def test_bad_usernames_rejected_and_nothing_touched(make_postern, name):
    p = make_postern(pop3=True, extra_conf="auth_failure_delay 0")
    before = sorted(os.listdir(p.mail)), sorted(os.listdir(p.root))
    r = Raw(p.pop3_port)
    r.send(b"USER " + name + b"\r\n")
    first = r.line()
    if first.startswith("+OK"):
        r.send(b"PASS wonderland\r\n")
        ans = r.line()
    else:
        ans = first
    assert ans.startswith("-ERR"), (name, first, ans)
    if b"\x00" not in name and len(name) <= 255:
        assert ans.startswith("-ERR [AUTH]"), ans
    r.cmd("QUIT")
    r.close()
    assert (sorted(os.listdir(p.mail)), sorted(os.listdir(p.root))) == before
    assert "logged in" not in p.log("pop3d")


def test_capa(pop):
    r = Raw(pop.pop3_port)
    assert r.greeting.startswith("+OK")
    assert r.cmd("CAPA").startswith("+OK")
    caps = r.multi()
    for cap in ("TOP", "UIDL", "USER", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING"):
        assert cap in caps
    assert any(c.startswith("IMPLEMENTATION ") for c in caps)
    r.cmd("USER alice")
    assert r.cmd("PASS wonderland").startswith("+OK")
    assert r.cmd("CAPA").startswith("+OK")
    after = r.multi()
    # after login USER is no longer a thing to do
    assert "USER" not in after and "UIDL" in after and "TOP" in after
    assert r.cmd("QUIT").startswith("+OK")


def test_pipelining_through_login(pop):
    send(pop, b"Subject: p\r\n\r\npipelined\r\n")
    wait_delivered(pop, 1)
    pipelined_session(Raw(pop.pop3_port), "pipelined")


def pipelined_session(r, body):
    """Sends a whole session in one write, greeting already waiting;
    what the login process read past PASS must reach the mail session,
    which holds one message whose body ends in body."""
    r.send(b"CAPA\r\nUSER alice\r\nPASS wonderland\r\nSTAT\r\nLIST\r\nUIDL 1\r\n"
           b"RETR 1\r\nNOOP\r\nQUIT\r\n")
    assert r.line().startswith("+OK")
    r.multi()
    assert r.line() == "+OK"
    assert r.line().startswith("+OK Logged in, 1 messages")
    assert re.match(r"\+OK 1 \d+$", r.line())
    assert r.line().startswith("+OK 1 messages")
    assert len(r.multi()) == 1
    assert r.line().startswith("+OK 1 ")
    assert r.line().startswith("+OK")
    assert r.multi()[-1] == body
    assert r.line() == "+OK"
    assert r.line().startswith("+OK Logging out")
    assert r.closed()


def test_commands_before_login_and_errors(pop):
    r = Raw(pop.pop3_port)
    assert r.cmd("STAT").startswith("-ERR")
    assert r.cmd("PASS x").startswith("-ERR")
    assert r.cmd("FOO").startswith("-ERR")
    assert r.cmd("RETR x").startswith("-ERR")
    assert r.cmd("NOOP").startswith("-ERR")
    assert r.cmd("QUIT").startswith("+OK")
    assert r.closed()
    c = login(pop)
    for bad in ("RETR 0", "RETR 1", "DELE 99", "LIST 7", "TOP 1", "RETR", "USER bob", "XTND"):
        with pytest.raises(poplib.error_proto):
            c._shortcmd(bad)
    c.quit()


def test_line_too_long(pop):
    r = Raw(pop.pop3_port)
    assert r.cmd("USER " + "a" * 2000) == "-ERR Line too long"
    # the connection goes on
    assert r.cmd("USER alice") == "+OK"
    assert r.cmd("PASS wonderland").startswith("+OK")
    assert r.cmd("NOOP " + "x" * 1000) == "-ERR Line too long"
    assert r.cmd("STAT").startswith("+OK")
    assert r.cmd("QUIT").startswith("+OK")


def test_too_many_errors_closes(pop):
    r = Raw(pop.pop3_port)
    answers = [r.cmd("BOGUS") for _ in range(10)]
    assert all(a.startswith("-ERR") for a in answers)
    assert r.closed()


def test_idle_timeout(make_postern):
    p = make_postern(pop3=True, extra_conf="timeout_pop3 1s")
    r = Raw(p.pop3_port)
    t = time.monotonic()
    assert r.closed(timeout=10)
    assert "inactivity" in r.buf.decode()
    assert time.monotonic() - t < 5
    r = Raw(p.pop3_port)
    r.cmd("USER alice")
    assert r.cmd("PASS wonderland").startswith("+OK")
    assert r.closed(timeout=10)
    assert "inactivity" in r.buf.decode()
    wait_for(lambda: "idle timeout" in p.log("pop3d"), what="idle log line")


def test_command_limit_without_retrieval(make_postern):
    p = make_postern(pop3=True, extra_conf="pop3_command_limit 10")
    with smtplib.SMTP("127.0.0.1", p.port, timeout=60) as s:
        for i in range(12):
            s.sendmail("sender@example.org", ["alice@example.test"], b"Subject: %d\r\n\r\nx\r\n" % i)
    wait_delivered(p, 12)
    r = Raw(p.pop3_port)
    r.cmd("USER alice")
    r.cmd("PASS wonderland")
    for _ in range(9):
        assert r.cmd("NOOP") == "+OK"
    # a retrieval starts the count again
    assert r.cmd("RETR 1").startswith("+OK")
    r.multi()
    for _ in range(9):
        assert r.cmd("NOOP") == "+OK"
    # so does each DELE: deleting more messages than the limit is fine
    for i in range(1, 13):
        assert r.cmd(f"DELE {i}").startswith("+OK")
    for _ in range(10):
        assert r.cmd("NOOP") == "+OK"
    assert r.cmd("NOOP").startswith("-ERR Too many commands")
    assert r.closed()
    # cut off without QUIT: nothing was deleted
    wait_for(lambda: "commands without a retrieval" in p.log("pop3d"), what="log line")
    assert maildir_count(p) == 12


def test_per_ip_connection_limit(make_postern):
    p = make_postern(pop3=True, extra_conf="max_sessions_per_ip 3")
    ip = client_ip()
    held = [Raw(p.pop3_port, ip), Raw(p.pop3_port, ip)]
    # a logged-in session counts too
    c = login(p, source=ip)
    refused = Raw(p.pop3_port, ip)
    assert refused.greeting == "-ERR [SYS/TEMP] Too many connections from your address"
    other = Raw(p.pop3_port)
    assert other.greeting.startswith("+OK")
    c.quit()
    # once the session has ended its place is free again
    wait_for(lambda: Raw(p.pop3_port, ip).greeting.startswith("+OK"), timeout=10,
             what="slot freed after QUIT")
    for h in held:
        h.close()


def test_curl(pop):
    send(pop, b"Subject: curl\r\n\r\nfetched by curl\r\n.dot\r\n")
    wait_delivered(pop, 1)
    base = f"pop3://127.0.0.1:{pop.pop3_port}"
    listing = subprocess.run(["curl", "-sS", "--max-time", "30", "-u", "alice:wonderland",
                              base + "/"], capture_output=True, timeout=60)
    assert listing.returncode == 0, listing.stderr
    assert re.match(rb"1 \d+\r\n$", listing.stdout)
    msg = subprocess.run(["curl", "-sS", "--max-time", "30", "-u", "alice:wonderland",
                          base + "/1"], capture_output=True, timeout=60)
    assert msg.returncode == 0, msg.stderr
    assert msg.stdout.endswith(b"Subject: curl\r\n\r\nfetched by curl\r\n.dot\r\n")
    bad = subprocess.run(["curl", "-sS", "--max-time", "30", "-u", "alice:wrong",
                          base + "/1"], capture_output=True, timeout=60)
    assert bad.returncode != 0


def test_fetchmail(pop, tmp_path):
    send(pop, b"Subject: fm 1\r\n\r\nfirst\r\n")
    send(pop, b"Subject: fm 2\r\n\r\n.second\r\n")
    wait_delivered(pop, 2)
    out = tmp_path / "fetched"
    rc = tmp_path / "fetchmailrc"
    rc.write_text(
        f"poll 127.0.0.1 protocol pop3 port {pop.pop3_port} timeout 30\n"
        f"  user alice password wonderland\n"
        f"  sslproto '' no sslcertck\n"
        f"  mda \"/bin/sh -c 'cat >> {out}; echo ===END=== >> {out}'\"\n")
    os.chmod(rc, 0o600)
    env = dict(os.environ, HOME=str(tmp_path), FETCHMAILHOME=str(tmp_path))
    r = subprocess.run(["fetchmail", "-f", str(rc), "--nodetach", "--nosyslog",
                        "--invisible", "--pidfile", str(tmp_path / "fm.pid")],
                       capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    data = out.read_bytes()
    assert data.count(b"===END===") == 2
    assert b"Subject: fm 1" in data and b"\n.second\n" in data
    # fetchmail deletes what it fetched (no "keep")
    assert maildir_count(pop) == 0
