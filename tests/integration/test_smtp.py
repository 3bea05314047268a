"""SMTP receiving as a user sees it: real clients (smtplib, swaks, curl),
exact replies for bad input, and delivery into Maildir."""
import shutil
import smtplib
import subprocess
import time

import pytest

from conftest import wait_for

BODY = ("Subject: hello\r\nFrom: sender@example.net\r\nTo: alice@example.test\r\n\r\n"
        "line one\r\n.line starting with a dot\r\n..two dots\r\n\r\n"
        "8-bit: caf\xe9 na\xefve\r\nlast line\r\n")


def lf(b):
    return b.replace(b"\r\n", b"\n")


def test_smtplib_delivers_body_byte_for_byte(postern):
    body = BODY.encode("latin-1")
    with smtplib.SMTP("127.0.0.1", postern.port, timeout=30) as s:
        code, _ = s.ehlo("client.example.net")
        assert code == 250
        for ext in ("pipelining", "size", "8bitmime", "enhancedstatuscodes", "smtputf8"):
            assert s.has_extn(ext), ext
        s.sendmail("sender@example.net", ["alice@example.test"], body)
    (msg,) = postern.wait_mail("alice", 1)
    head, _, rest = msg.partition(b"\n")
    assert head == b"Return-Path: <sender@example.net>"
    second, _, rest = rest.partition(b"\n")
    assert second == b"Delivered-To: alice@example.test"
    assert rest.startswith(b"Received: from client.example.net ([127.0.0.1])\n\tby mail.example.test")
    # smtplib dot-stuffs; the server must unstuff: the body arrives as sent
    assert rest.endswith(lf(body))
    assert b"\r" not in msg
    assert postern.read_mail("bob") == []


def test_swaks_and_curl(postern, tmp_path):
    if not shutil.which("swaks") or not shutil.which("curl"):
        pytest.skip("swaks/curl missing")
    r = subprocess.run(["swaks", "--server", f"127.0.0.1:{postern.port}", "--to", "bob@example.test",
                        "--from", "s@example.net", "--header", "Subject: via swaks",
                        "--body", "swaks body"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "250 2.0.0 Ok: queued as" in r.stdout
    mail = tmp_path / "mail.txt"
    mail.write_bytes(b"Subject: via curl\r\n\r\ncurl body\r\n")
    r = subprocess.run(["curl", "-sS", f"smtp://127.0.0.1:{postern.port}", "--mail-from", "c@example.net",
                        "--mail-rcpt", "bob@example.test", "--upload-file", str(mail)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    msgs = postern.wait_mail("bob", 2)
    assert any(b"Subject: via swaks" in m and b"swaks body" in m for m in msgs)
    assert any(m.endswith(b"Subject: via curl\n\ncurl body\n") for m in msgs)


def test_pipelined_session_replies_in_order(postern, smtp_client):
    c = smtp_client(postern.port)
    c.send(b"EHLO pipe.example.net\r\nMAIL FROM:<p@example.net>\r\nRCPT TO:<alice@example.test>\r\n"
           b"RCPT TO:<nobody@example.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n"
           b"Subject: pipelined\r\n\r\nbody\r\n.\r\nNOOP\r\nRSET\r\nVRFY alice\r\nQUIT\r\n")
    codes = [c.reply()[0] for _ in range(10)]
    assert codes == [250, 250, 250, 550, 250, 354, 250, 250, 250, 252]
    assert c.reply()[0] == 221
    assert c.closed()
    postern.wait_mail("alice", 1)
    postern.wait_mail("bob", 1)


def test_basic_commands(postern, smtp_client):
    c = smtp_client(postern.port)
    assert c.greeting[1].startswith("220 mail.example.test ESMTP")
    assert c.cmd("MAIL FROM:<a@example.net>")[1].startswith("503 5.5.1")
    assert c.cmd("HELO x.example.net")[1] == "250 mail.example.test"
    assert c.cmd("RCPT TO:<alice@example.test>")[1].startswith("503 5.5.1")
    assert c.cmd("DATA")[1].startswith("503 5.5.1")
    assert c.cmd("NOOP")[1].startswith("250 2.0.0")
    assert c.cmd("HELP")[0] == 214
    assert c.cmd("VRFY alice")[1].startswith("252 2.5.2")
    assert c.cmd("EXPN staff")[1].startswith("502 5.5.1")
    assert c.cmd("FOO bar")[1].startswith("500 5.5.2")
    assert c.cmd("EHLO")[1].startswith("501 5.5.4")
    assert c.cmd("MAIL FROM:<a@example.net>")[1].startswith("250 2.1.0")
    assert c.cmd("MAIL FROM:<a@example.net>")[1].startswith("503 5.5.1")
    assert c.cmd("RSET")[1].startswith("250 2.0.0")
    assert c.cmd("MAIL FROM:<>")[1].startswith("250 2.1.0")
    assert c.cmd("DATA")[1].startswith("554 5.5.1")  # no valid recipients (RFC 5321 3.3)
    assert c.cmd("RCPT TO:<bad address>")[1].startswith("501 5.1.3")
    assert c.cmd("RCPT TO:<alice@example.test> FOO=bar")[1].startswith("555 5.5.4")
    assert c.cmd("QUIT")[1].startswith("221 2.0.0")


def test_unknown_user_and_relay_denied(postern, smtp_client):
    c = smtp_client(postern.port)
    c.cmd("EHLO x.example.net")
    c.cmd("MAIL FROM:<a@example.net>")
    code, text, _ = c.cmd("RCPT TO:<nobody@example.test>")
    assert text.startswith("550 5.1.1 <nobody@example.test>")
    code, text, _ = c.cmd("RCPT TO:<someone@elsewhere.example>")
    assert text.startswith("554 5.7.1 <someone@elsewhere.example>: Relay access denied")
    assert c.cmd("RCPT TO:<Alice@EXAMPLE.ORG>")[0] == 250  # second local domain, any case
    c.send(b"DATA\r\n")
    assert c.reply()[0] == 354
    c.send(b"Subject: x\r\n\r\nok\r\n.\r\n")
    assert c.reply()[0] == 250
    postern.wait_mail("alice", 1)


def test_relay_allowed_from_relay_networks(make_postern, smtp_client):
    p = make_postern(relay="127.0.0.0/8")
    c = smtp_client(p.port)
    c.cmd("EHLO x.example.net")
    c.cmd("MAIL FROM:<a@example.test>")
    assert c.cmd("RCPT TO:<someone@elsewhere.example>")[1].startswith("250 2.1.5")
    c.send(b"DATA\r\n")
    assert c.reply()[0] == 354
    c.send(b"Subject: out\r\n\r\nbody\r\n.\r\n")
    assert c.reply()[1].startswith("250 2.0.0 Ok: queued as")
    # no resolver runs (nothing answers the configured forward): deferred
    wait_for(lambda: "status=deferred" in p.log("queued"), what="deferral logged")
    assert len(p.queue_files()) == 1


def test_aliases_and_detail(postern):
    with smtplib.SMTP("127.0.0.1", postern.port, timeout=30) as s:
        s.sendmail("a@example.net", ["alice+lists@example.test"], b"Subject: detail\r\n\r\n1\r\n")
        s.sendmail("a@example.net", ["all@example.test", "alice@example.test"], b"Subject: all\r\n\r\n2\r\n")
        s.sendmail("a@example.net", ["Postmaster"], b"Subject: pm\r\n\r\n3\r\n")
    alice = postern.wait_mail("alice", 3)
    bob = postern.wait_mail("bob", 1)
    carol = postern.wait_mail("carol", 1)
    assert sum(b"Subject: all" in m for m in alice) == 1  # alias + direct: once
    assert any(b"Delivered-To: alice+lists@example.test" in m for m in alice)
    assert any(b"Subject: pm" in m for m in alice)
    assert b"Subject: all" in bob[0] and b"Subject: all" in carol[0]


def test_size_limits(make_postern, smtp_client):
    p = make_postern("max_message_size 10k\n")
    c = smtp_client(p.port)
    assert "250-SIZE 10240" in c.cmd("EHLO x.example.net")[2]
    assert c.cmd("MAIL FROM:<a@example.net> SIZE=20000")[1].startswith("552 5.3.4")
    assert c.cmd("MAIL FROM:<a@example.net>")[0] == 250
    assert c.cmd("RCPT TO:<alice@example.test>")[0] == 250
    c.send(b"DATA\r\n")
    assert c.reply()[0] == 354
    c.send(b"Subject: big\r\n\r\n" + (b"x" * 900 + b"\r\n") * 30 + b".\r\n")
    assert c.reply()[1].startswith("552 5.3.4")
    # the session goes on, and a small message still gets through
    assert c.cmd("MAIL FROM:<a@example.net>")[0] == 250
    assert c.cmd("RCPT TO:<alice@example.test>")[0] == 250
    c.send(b"DATA\r\n")
    assert c.reply()[0] == 354
    c.send(b"Subject: small\r\n\r\nsmall\r\n.\r\n")
    assert c.reply()[0] == 250
    msgs = p.wait_mail("alice", 1)
    time.sleep(0.5)
    assert len(p.read_mail("alice")) == 1 and b"Subject: small" in msgs[0]
    wait_for(lambda: p.queue_files() == [], what="rejected queue file removed")


def test_recipient_limit(make_postern, smtp_client):
    p = make_postern("max_recipients 2\n")
    c = smtp_client(p.port)
    c.cmd("EHLO x.example.net")
    c.cmd("MAIL FROM:<a@example.net>")
    assert c.cmd("RCPT TO:<alice@example.test>")[0] == 250
    assert c.cmd("RCPT TO:<bob@example.test>")[0] == 250
    assert c.cmd("RCPT TO:<carol@example.test>")[1].startswith("452 4.5.3")


def test_bad_input_gets_its_reply_and_daemon_stays_up(postern, smtp_client):
    c = smtp_client(postern.port)
    c.cmd("EHLO x.example.net")
    # overlong command line
    c.send(b"NOOP " + b"a" * 5000 + b"\r\n")
    assert c.reply()[1].startswith("500 5.5.2 Error: line too long")
    assert c.cmd("NOOP")[0] == 250
    # NUL in a command
    c.send(b"NO\0OP\r\n")
    assert c.reply()[1].startswith("500 5.5.2")
    # NUL and an overlong line in DATA
    for body, why in ((b"Subject: n\r\n\r\na\0b\r\n", "NUL"), (b"Subject: l\r\n\r\n" + b"y" * 1200 + b"\r\n", "998")):
        assert c.cmd("MAIL FROM:<a@example.net>")[0] == 250
        assert c.cmd("RCPT TO:<alice@example.test>")[0] == 250
        c.send(b"DATA\r\n")
        assert c.reply()[0] == 354
        c.send(body + b".\r\n")
        code, text, _ = c.reply()
        assert text.startswith("554 5.6.0") and why in text
    assert c.cmd("QUIT")[0] == 221
    # still serving
    with smtplib.SMTP("127.0.0.1", postern.port, timeout=30) as s:
        s.sendmail("a@example.net", ["alice@example.test"], b"Subject: after\r\n\r\nok\r\n")
    msgs = postern.wait_mail("alice", 1)
    assert len(msgs) == 1 and b"Subject: after" in msgs[0]


def test_command_before_greeting(make_postern, smtp_client):
    p = make_postern("greeting_delay 1s\n")
    c = smtp_client(p.port, greeting=False)
    c.send(b"EHLO early.example.net\r\n")
    code, text, _ = c.reply()
    assert text.startswith("554 5.5.0 Protocol error")
    assert c.closed()
    # a patient client is served
    c2 = smtp_client(p.port)
    assert c2.greeting[0] == 220
    assert c2.cmd("EHLO patient.example.net")[0] == 250


def test_connection_limits(make_postern, smtp_client):
    p = make_postern("max_sessions_per_ip 2\n")
    a = smtp_client(p.port)
    b = smtp_client(p.port)
    assert a.greeting[0] == 220 and b.greeting[0] == 220
    c = smtp_client(p.port, greeting=False)
    assert c.reply()[1].startswith("421 4.7.0")
    assert c.closed()
    a.cmd("QUIT")
    wait_for(lambda: smtp_client(p.port).greeting[0] == 220, what="slot freed")
    q = make_postern("max_sessions 1\n")
    a = smtp_client(q.port)
    c = smtp_client(q.port, greeting=False)
    assert c.reply()[1].startswith("421 4.7.0")


def test_command_timeout(make_postern, smtp_client):
    p = make_postern("timeout_command 1s\n")
    c = smtp_client(p.port)
    code, text, _ = c.reply()
    assert text.startswith("421 4.4.2")
    assert c.closed()
