"""Remote delivery: queued's remote delivery agent (postern-relay)
against test MX servers on loopback.

Every test runs postern with relay_networks 127.0.0.0/8 and its resolver
pointed at the test DNS server (conftest.UnboundServer), whose zone
(conftest.RELAY_ZONE) gives each test domain MX hosts on loopback
addresses of their own, 127.0.0.N; the test starts MX servers on port 25
of those addresses (mxpeer.py: MXPeer, scripted and recording, on
aiosmtpd; RawMX, bare sockets for malicious replies) and sends mail from
alice@example.test with smtplib. Covered: MX preference and fallback,
the implicit MX, null MX, IPv6, deferral and retry, per-recipient
bounces as RFC 3464 reports, SIZE, BODY=8BITMIME and PIPELINING,
opportunistic STARTTLS and certificate verification, malicious servers
(which must never kill the agent), a dead resolver or upstream,
concurrency limits, relayhost with AUTH, two postern instances mailing
each other, and (as root) the agent's uid, gid and chroot.

The agent logs one line per recipient and attempt in queued's log:
  QID: to=<rcpt>, relay=HOST[ADDR]:PORT, delay=S, dsn=X.Y.Z, status=sent (reply) tls=...
Port 25 needs root; without it these tests skip.
"""
import email
import os
import re
import smtplib
import time
from email import policy

import pytest

import mxpeer
from conftest import IS_ROOT, UNBOUND, tls_files, wait_for
from test_bounce import status_blocks

pytestmark = [
    pytest.mark.skipif(not os.path.exists(UNBOUND), reason="unbound is not installed"),
    pytest.mark.skipif(not mxpeer.HAVE_AIOSMTPD, reason="aiosmtpd is not installed"),
    # aiosmtpd itself sets the deprecated attribute on a successful AUTH
    pytest.mark.filterwarnings("ignore:Session.login_data is deprecated"),
]

RELAY = "127.0.0.0/8"
SENDER = "alice@example.test"


# ---- helpers ----

def relay_postern(make_postern, dns, extra_conf="", **kw):
    """A postern that relays for 127.0.0.0/8, its resolver asking dns."""
    return make_postern(relay=RELAY, dns=dns, extra_conf=extra_conf, **kw)


def message(rcpts, subject="relay test", body=None, sender=SENDER):
    if body is None:
        body = (b"Hello,\r\n"
                b".a line that starts with a dot\r\n"
                b"..two dots\r\n"
                b".\r\n"
                b"a lone dot above, and a long line below\r\n"
                + b"x" * 900 + b"\r\n"
                b"the end\r\n")
    head = (f"From: {sender}\r\nTo: {', '.join(rcpts)}\r\nSubject: {subject}\r\n"
            f"Date: Thu, 1 Jan 2026 00:00:00 +0000\r\n"
            f"Message-ID: <{abs(hash((subject, tuple(rcpts))))}@client.example.test>\r\n\r\n")
    return head.encode() + body


def send(p, rcpts, msg=None, sender=SENDER, mail_options=(), subject="relay test"):
    """Submits one message to p's smtp listener; returns the bytes sent."""
    if msg is None:
        msg = message(rcpts, subject=subject, sender=sender)
    c = smtplib.SMTP(p.smtp_host, p.port, local_hostname="client.example.test", timeout=30)
    try:
        refused = c.sendmail(sender, rcpts, msg, mail_options=list(mail_options))
        assert refused == {}, refused
    finally:
        c.quit()
    return msg


def relay_lines(p, rcpt, status=None):
    """queued's relay log lines for rcpt (optionally one status only), as
    dicts: qid, relay, delay, dsn, status, text (the reply in
    parentheses), and tls, cipher, verified from the tail after it."""
    out = []
    pat = re.compile(r"(\S+): to=<" + re.escape(rcpt) + r">, relay=([^,\s]+),")
    for line in p.log("queued").splitlines():
        m = pat.search(line)
        if not m:
            continue
        d = {"line": line, "qid": m.group(1), "relay": m.group(2)}
        # the reply in parentheses may hold parentheses itself, and so
        # may the tail ("verified=no (reason)"): the tail starts at " tls="
        ms = re.search(r"status=(sent|deferred|bounced) \(", line)
        d["status"] = ms.group(1) if ms else None
        head = line[:ms.start()] if ms else line
        rest = line[ms.end():] if ms else ""
        cut = rest.rfind(") tls=")
        if cut < 0:
            cut = rest.rfind(")")
        d["text"] = rest[:cut] if cut >= 0 else rest
        tail = rest[cut + 1:] if cut >= 0 else ""
        for key in ("delay", "dsn"):
            mm = re.search(r"\b" + key + r"=([^\s,]+)", head)
            d[key] = mm.group(1) if mm else None
        for key in ("tls", "cipher", "verified"):
            mm = re.search(r"\b" + key + r"=([^\s,]+)", tail)
            d[key] = mm.group(1) if mm else None
        if status is None or d["status"] == status:
            out.append(d)
    return out


def wait_relay_line(p, rcpt, status, timeout=60):
    return wait_for(lambda: relay_lines(p, rcpt, status), timeout=timeout,
                    what=f"a status={status} relay log line for <{rcpt}>")


def agent_pid(p, timeout=15):
    """The remote delivery agent's PID, once it has dropped privileges
    (it logs "ready" after the chroot)."""
    pid = wait_for(lambda: p.child("queued", "remote delivery"), timeout=timeout,
                   what="queued's remote delivery agent")
    wait_for(lambda: f"postern/relay[{pid}]: ready" in p.log("queued"), timeout=timeout,
             what="the remote delivery agent ready")
    return pid


def reports(p, user):
    return [email.message_from_bytes(m, policy=policy.default) for m in p.read_mail(user)]


def unfold(v):
    return " ".join(str(v).split())


def only_report(p, user="alice", timeout=60):
    """Waits for one report in user's Maildir: (message, per-message
    block, per-recipient blocks, returned headers)."""
    raw = p.wait_mail(user, 1, timeout=timeout)[0]
    assert raw.startswith(b"Return-Path: <>\n"), raw[:200]
    m = reports(p, user)[0]
    assert m.get_content_type() == "multipart/report"
    assert m.get_param("report-type") == "delivery-status"
    per_msg, per_rcpt, headers = status_blocks(m)
    return m, per_msg, per_rcpt, headers


def queue_empty(p, timeout=30):
    wait_for(lambda: p.queue_files() == [], timeout=timeout, what="an empty queue")


# ---- MX selection ----

def test_delivery_to_the_preferred_mx(make_postern, unbound_server, mx_peer):
    """pref.example.test: MX 10 mx-best (127.0.0.12), MX 20 mx-worse
    (127.0.0.13), both up. The best one gets the message: the envelope
    as sent, the content as sent (dots and all) under postern's own
    Received: line, MAIL FROM with SIZE=; the other is never asked."""
    best = mx_peer("127.0.0.12")
    worse = mx_peer("127.0.0.13")
    p = relay_postern(make_postern, unbound_server)
    rcpt = "bob@pref.example.test"
    msg = send(p, [rcpt])
    m = best.wait_messages(1)[0]
    assert m.mail_from == SENDER
    assert m.rcpt_tos == [rcpt]
    assert m.content.endswith(msg), m.content[-300:]
    trace = m.content[:-len(msg)]
    assert trace.startswith(b"Received: ") and trace.endswith(b"\r\n")
    assert b"by mail.example.test (postern)" in trace
    for ln in trace[:-2].split(b"\r\n"):
        assert re.match(rb"[A-Za-z0-9-]+: |[ \t]", ln), ln
    # SIZE was offered: MAIL FROM says how big the message is, roughly
    size = m.option("SIZE")
    assert size is not None and size.isdigit(), m.mail_options
    assert len(m.content) // 2 <= int(size) <= 2 * len(m.content) + 1024, (size, len(m.content))
    s = best.sessions[0]
    assert s.ehlo == "mail.example.test"
    assert s.verbs()[0] == "EHLO"
    assert worse.sessions == []
    d = wait_relay_line(p, rcpt, "sent")[0]
    assert d["relay"] == "mx-best.example.test[127.0.0.12]:25", d["line"]
    assert d["dsn"] and d["dsn"].startswith("2."), d["line"]
    assert float(d["delay"]) >= 0
    assert m.reply.split("Ok: ")[1] in d["text"], d["line"]   # the remote reply
    assert d["tls"] == "none", d["line"]
    queue_empty(p)
    time.sleep(1)
    assert len(best.messages) == 1 and worse.sessions == []
    assert p.maildir_files("alice") == []


def test_next_mx_when_the_preferred_are_down(make_postern, unbound_server, mx_peer):
    """multi.example.test: MX 10 mx1 (127.0.0.2, ::1) and mx2
    (127.0.0.3), nobody listening; MX 20 mx3 (127.0.0.4) up; MX 30 mx4
    (127.0.0.6) up but never needed."""
    mx3 = mx_peer("127.0.0.4")
    mx4 = mx_peer("127.0.0.6")
    p = relay_postern(make_postern, unbound_server)
    rcpt = "carol@multi.example.test"
    send(p, [rcpt])
    m = mx3.wait_messages(1)[0]
    assert m.rcpt_tos == [rcpt]
    d = wait_relay_line(p, rcpt, "sent")[0]
    assert d["relay"] == "mx3.example.test[127.0.0.4]:25", d["line"]
    queue_empty(p)
    assert mx4.sessions == []


@pytest.mark.parametrize("behaviour", ["421-greeting", "silent", "garbage"])
def test_a_failing_host_falls_through_to_the_next(behaviour, make_postern, unbound_server,
                                                  mx_peer, raw_mx):
    """The preferred MX answers with a 4xx greeting, says nothing (past
    relay_timeout), or sends garbage: the agent goes on to the next MX
    in the same attempt."""
    beh = {"421-greeting": mxpeer.greeting_only("421 4.3.2 too busy, try later"),
           "silent": mxpeer.silent(), "garbage": mxpeer.garbage()}[behaviour]
    bad = raw_mx("127.0.0.12", beh, deadline=30)
    worse = mx_peer("127.0.0.13")
    p = relay_postern(make_postern, unbound_server, "relay_timeout 3s\n")
    rcpt = "dave@pref.example.test"
    t0 = time.monotonic()
    send(p, [rcpt])
    worse.wait_messages(1, timeout=60)
    assert len(bad.conns) >= 1
    d = wait_relay_line(p, rcpt, "sent")[0]
    assert d["relay"] == "mx-worse.example.test[127.0.0.13]:25", d["line"]
    if behaviour == "silent":
        assert time.monotonic() - t0 < 30   # relay_timeout 3s, not the default 300s
    queue_empty(p)


def test_all_mx_down_is_deferred_then_delivered_once(make_postern, unbound_server, mx_peer):
    """later.example.test: MX 10 (127.0.0.14) and MX 20 (127.0.0.15)
    both down: deferred, naming the last host tried. Then the MX 20 host comes up:
    the next retry delivers, exactly once."""
    later2 = mx_peer("127.0.0.15", start=False)
    p = relay_postern(make_postern, unbound_server)
    rcpt = "erin@later.example.test"
    send(p, [rcpt])
    d = wait_relay_line(p, rcpt, "deferred")[0]
    # every address refused the connection: the line names the last one tried
    assert d["relay"] == "mx-later2.example.test[127.0.0.15]:25", d["line"]
    assert d["dsn"] and d["dsn"].startswith("4."), d["line"]
    assert "Connection refused" in d["text"], d["line"]
    assert p.queue_files() != []
    assert relay_lines(p, rcpt, "sent") == []
    later2.start()
    m = later2.wait_messages(1, timeout=60)[0]
    assert m.rcpt_tos == [rcpt]
    d = wait_relay_line(p, rcpt, "sent")[0]
    assert d["relay"] == "mx-later2.example.test[127.0.0.15]:25", d["line"]
    queue_empty(p)
    time.sleep(3)  # longer than retry_max: no second copy
    assert len(later2.messages) == 1
    assert len(relay_lines(p, rcpt, "sent")) == 1
    assert p.maildir_files("alice") == []


def test_implicit_mx_a_record(make_postern, unbound_server, mx_peer):
    """nomx.example.test has no MX (NODATA) but an A record, 127.0.0.5:
    RFC 5321 5.1's implicit MX."""
    peer = mx_peer("127.0.0.5")
    p = relay_postern(make_postern, unbound_server)
    rcpt = "frank@nomx.example.test"
    send(p, [rcpt])
    assert peer.wait_messages(1)[0].rcpt_tos == [rcpt]
    d = wait_relay_line(p, rcpt, "sent")[0]
    assert d["relay"] == "nomx.example.test[127.0.0.5]:25", d["line"]
    queue_empty(p)


def test_ipv6_only_mx(make_postern, unbound_server, mx_peer):
    """v6only.example.test: MX mx-v6, which has an AAAA record (::1) only."""
    peer = mx_peer("::1")
    p = relay_postern(make_postern, unbound_server)
    rcpt = "gina@v6only.example.test"
    send(p, [rcpt])
    m = peer.wait_messages(1)[0]
    assert m.rcpt_tos == [rcpt]
    assert m.session.peer[0] == "::1"
    d = wait_relay_line(p, rcpt, "sent")[0]
    assert d["relay"] == "mx-v6.example.test[::1]:25", d["line"]
    queue_empty(p)


def test_null_mx_bounces_at_once(make_postern, unbound_server):
    """nullmx.example.test has "MX 0 ." (RFC 7505): a bounce with
    5.1.10 right away, however long the queue lifetime."""
    p = relay_postern(make_postern, unbound_server, "queue_lifetime 5d\ndelay_warning 0\n")
    rcpt = "henry@nullmx.example.test"
    t0 = time.monotonic()
    send(p, [rcpt], subject="to a null MX")
    m, per_msg, per_rcpt, headers = only_report(p, timeout=30)
    assert time.monotonic() - t0 < 30
    assert m["To"] == SENDER
    assert len(per_rcpt) == 1
    assert per_rcpt[0]["Final-Recipient"] == f"rfc822; {rcpt}"
    assert per_rcpt[0]["Action"] == "failed"
    assert per_rcpt[0]["Status"] == "5.1.10"
    assert "Subject: to a null MX" in headers.get_content()
    d = wait_relay_line(p, rcpt, "bounced", timeout=10)[0]
    assert d["dsn"] == "5.1.10", d["line"]
    queue_empty(p)


# ---- replies ----

def test_550_bounces_that_recipient_only(make_postern, unbound_server, mx_peer):
    """One message to two recipients at reject.example.test: the MX
    takes one and refuses the other with 550. The first is delivered,
    the second bounces: a report to the sender with the remote reply
    in its Diagnostic-Code."""
    bad = "nobody@reject.example.test"
    good = "ivan@reject.example.test"
    peer = mx_peer("127.0.0.16", rcpt_replies={
        bad: "550 5.1.1 <nobody@reject.example.test>: mailbox unavailable here"})
    p = relay_postern(make_postern, unbound_server)
    send(p, [good, bad], subject="half of it bounces")
    m = peer.wait_messages(1)[0]
    assert m.rcpt_tos == [good]
    rep, per_msg, per_rcpt, headers = only_report(p)
    assert rep["To"] == SENDER
    assert per_msg["Reporting-MTA"] == "dns; mail.example.test"
    assert len(per_rcpt) == 1
    r = per_rcpt[0]
    assert r["Final-Recipient"] == f"rfc822; {bad}"
    assert r["Action"] == "failed"
    assert re.fullmatch(r"5\.\d{1,3}\.\d{1,3}", str(r["Status"])), r["Status"]
    diag = unfold(r["Diagnostic-Code"])
    assert "550" in diag and "mailbox unavailable here" in diag, diag
    assert "Subject: half of it bounces" in headers.get_content()
    d = wait_relay_line(p, bad, "bounced")[0]
    assert d["dsn"].startswith("5."), d["line"]
    assert "mailbox unavailable here" in d["text"], d["line"]
    d = wait_relay_line(p, good, "sent")[0]
    assert d["relay"] == "mx-reject.example.test[127.0.0.16]:25"
    queue_empty(p)
    time.sleep(3)
    assert len(peer.messages) == 1 and len(p.maildir_files("alice")) == 1


def test_451_then_250_is_delivered_once(make_postern, unbound_server, mx_peer):
    """flaky.example.test answers the first RCPT with 451 (greylisting),
    later ones with 250: deferred, then delivered once, no report."""
    peer = mx_peer("127.0.0.17", replies={"RCPT": ["451 4.7.1 greylisted, come back later"]})
    p = relay_postern(make_postern, unbound_server)
    rcpt = "judy@flaky.example.test"
    send(p, [rcpt])
    m = peer.wait_messages(1, timeout=60)[0]
    assert m.rcpt_tos == [rcpt]
    d = wait_relay_line(p, rcpt, "deferred")[0]
    assert d["relay"] == "mx-flaky.example.test[127.0.0.17]:25", d["line"]
    assert d["dsn"].startswith("4."), d["line"]
    assert "greylisted" in d["text"], d["line"]
    wait_relay_line(p, rcpt, "sent")
    # asked twice (in one cached connection or two)
    assert peer.all_verbs().count("RCPT") >= 2, peer.all_verbs()
    queue_empty(p)
    time.sleep(3)
    assert len(peer.messages) == 1
    assert p.maildir_files("alice") == []


def test_size_precheck_bounces_without_sending(make_postern, unbound_server, mx_peer):
    """big.example.test advertises SIZE 10000 (without enforcing it): a
    50 KB message bounces with 5.3.4 and the message is never sent."""
    peer = mx_peer("127.0.0.22", size=10000)
    p = relay_postern(make_postern, unbound_server)
    rcpt = "kim@big.example.test"
    body = b"".join(b"%05d " % i + b"y" * 94 + b"\r\n" for i in range(500))
    send(p, [rcpt], msg=message([rcpt], subject="too big", body=body))
    m, per_msg, per_rcpt, headers = only_report(p)
    assert len(per_rcpt) == 1
    assert per_rcpt[0]["Final-Recipient"] == f"rfc822; {rcpt}"
    assert per_rcpt[0]["Status"] == "5.3.4"
    assert len(peer.sessions) >= 1    # it learnt the limit from the EHLO reply
    verbs = peer.all_verbs()
    assert "DATA" not in verbs and "MAIL" not in verbs, verbs
    assert peer.messages == []
    d = wait_relay_line(p, rcpt, "bounced")[0]
    assert d["dsn"] == "5.3.4", d["line"]
    queue_empty(p)


def test_8bitmime_is_passed_on(make_postern, unbound_server, mx_peer):
    """A message that came with BODY=8BITMIME goes on with it (the MX
    offers 8BITMIME), its octets unchanged; a 7-bit one goes without."""
    peer = mx_peer("127.0.0.21")
    p = relay_postern(make_postern, unbound_server)
    rcpt = "lena@good.example.test"
    body8 = "Gr\u00fc\u00dfe aus K\u00f6ln, \u00e7a va \u2713\r\n".encode()
    msg8 = message([rcpt], subject="eight bit", body=body8)
    send(p, [rcpt], msg=msg8, mail_options=["BODY=8BITMIME"])
    m = peer.wait_messages(1)[0]
    assert m.option("BODY") == "8BITMIME", m.mail_options
    assert m.content.endswith(msg8)
    msg7 = message([rcpt], subject="seven bit")
    send(p, [rcpt], msg=msg7)
    m = peer.wait_messages(2)[1]
    assert m.option("BODY") in (None, "7BIT"), m.mail_options
    assert m.content.endswith(msg7)
    queue_empty(p)


def pipelining_mx(seen):
    """A raw MX that offers PIPELINING and, after MAIL FROM, waits up to
    3 s for more before it answers: a pipelining client has sent its
    RCPT by then, one that waits for each reply has not. Records
    (MAIL line, the line after it or None) in seen, and takes the
    message like any server."""
    def behaviour(c):
        if not c.send(b"220 mx-pipe.example.test ESMTP\r\n"):
            return
        pending = []

        def next_line(timeout=30):
            return pending.pop(0) if pending else c.readline(timeout=timeout)
        while True:
            line = next_line()
            if line is None:
                return
            verb = line.split(" ", 1)[0].upper()
            if verb in ("EHLO", "HELO"):
                c.send(b"250-mx-pipe.example.test\r\n250-PIPELINING\r\n"
                       b"250-8BITMIME\r\n250 SIZE 10485760\r\n")
            elif verb == "MAIL":
                after = c.readline(timeout=3)
                seen.append((line, after))
                if after is not None:
                    pending.append(after)
                c.send(b"250 2.1.0 Ok\r\n")
            elif verb == "RCPT":
                c.send(b"250 2.1.5 Ok\r\n")
            elif verb == "DATA":
                c.send(b"354 go ahead\r\n")
                while True:
                    dl = c.readline(timeout=30)
                    if dl is None:
                        return
                    if dl == ".":
                        break
                seen.append(("DATA done", None))
                c.send(b"250 2.0.0 Ok: queued as PIPE1\r\n")
            elif verb == "QUIT":
                c.send(b"221 2.0.0 Bye\r\n")
                return
            else:
                c.send(b"250 2.0.0 Ok\r\n")
    return behaviour


def test_pipelining_is_used_when_offered(make_postern, unbound_server, raw_mx):
    seen = []
    peer = raw_mx("127.0.0.24", pipelining_mx(seen), deadline=40)
    p = relay_postern(make_postern, unbound_server)
    rcpt = "mike@pipe.example.test"
    send(p, [rcpt])
    d = wait_relay_line(p, rcpt, "sent")[0]
    assert d["relay"] == "mx-pipe.example.test[127.0.0.24]:25"
    assert ("DATA done", None) in seen
    mail_line, after = seen[0]
    assert mail_line.upper().startswith("MAIL FROM:<ALICE@EXAMPLE.TEST>"), mail_line
    assert after is not None and after.upper().startswith(f"RCPT TO:<{rcpt.upper()}>"), \
        f"RCPT did not come before the reply to MAIL: {seen}"
    assert len(peer.conns) >= 1
    queue_empty(p)


# ---- TLS ----

@pytest.mark.parametrize("ca", ["own-ca", "default-cas", "other-ca", "wrong-name"])
def test_opportunistic_starttls(ca, tmp_path, make_postern, unbound_server, mx_peer):
    """tls.example.test's MX offers STARTTLS; the message goes over TLS
    in every case. verified=yes only when relay_tls_ca_file has the CA
    that signed the certificate and the certificate names the MX host
    (mx-tls.example.test); otherwise verified=no, delivered all the
    same (opportunistic TLS)."""
    name = "somewhere-else.example.test" if ca == "wrong-name" else "mx-tls.example.test"
    cert = mxpeer.make_cert(tmp_path / "mx-cert", name)
    peer = mx_peer("127.0.0.18", tls=cert)
    conf = {"own-ca": f"relay_tls_ca_file {cert['ca']}\n",
            "default-cas": "",
            "other-ca": f"relay_tls_ca_file {tls_files()['ca']}\n",
            "wrong-name": f"relay_tls_ca_file {cert['ca']}\n"}[ca]
    p = relay_postern(make_postern, unbound_server, conf)
    rcpt = "nina@tls.example.test"
    send(p, [rcpt])
    m = peer.wait_messages(1)[0]
    assert m.rcpt_tos == [rcpt]
    assert m.tls is not None, "the message did not come over TLS"
    cipher, version, _bits = m.tls
    assert version in ("TLSv1.3", "TLSv1.2")
    assert m.session.verbs()[:3] == ["EHLO", "STARTTLS", "EHLO"], m.session.commands
    d = wait_relay_line(p, rcpt, "sent")[0]
    assert d["relay"] == "mx-tls.example.test[127.0.0.18]:25", d["line"]
    assert d["tls"] == version, d["line"]
    assert d["cipher"] == cipher, d["line"]
    assert d["verified"] == ("yes" if ca == "own-ca" else "no"), d["line"]
    queue_empty(p)


# ---- malicious servers ----

EVIL = {
    "endless-ehlo-reply": lambda: mxpeer.endless_reply("250", first="ehlo"),
    "endless-greeting": lambda: mxpeer.endless_reply("220", first="greeting"),
    "10000-octet-ehlo-line": lambda: mxpeer.long_line(10000, "250", first="ehlo"),
    "10000-octet-greeting": lambda: mxpeer.long_line(10000, "220", first="greeting"),
    "garbage": mxpeer.garbage,
    "silent": mxpeer.silent,
}


@pytest.mark.parametrize("kind", list(EVIL))
def test_malicious_mx_is_deferred_and_survived(kind, make_postern, unbound_server, mx_peer,
                                               raw_mx):
    """evil.example.test's only MX misbehaves: the recipient is deferred
    (not bounced), the agent hangs up on it well before the server's own
    30 s limit, the agent process is the same one afterwards, and mail
    to a good domain still goes out."""
    evil = raw_mx("127.0.0.19", EVIL[kind](), deadline=30)
    good = mx_peer("127.0.0.21")
    p = relay_postern(make_postern, unbound_server, "relay_timeout 3s\n")
    agent = agent_pid(p)
    victim = "olga@evil.example.test"
    send(p, [victim])
    d = wait_relay_line(p, victim, "deferred")[0]
    assert d["dsn"] is None or d["dsn"].startswith("4."), d["line"]
    evil.wait_conns(1)
    c = evil.conns[0]
    wait_for(lambda: c.end is not None, timeout=30, what="the agent to hang up")
    assert c.end == "client closed", f"{kind}: the connection ended by {c.end}"
    assert evil.errors == []
    assert agent_pid(p) == agent
    friend = "paul@good.example.test"
    send(p, [friend])
    assert good.wait_messages(1)[0].rcpt_tos == [friend]
    wait_relay_line(p, friend, "sent")
    assert agent_pid(p) == agent
    # still queued for a later try, no report
    assert relay_lines(p, victim, "bounced") == []
    assert p.queue_files() != []
    assert p.maildir_files("alice") == []


# ---- the resolver ----

@pytest.mark.parametrize("what", ["resolver", "upstream"])
def test_dns_failure_defers_then_delivers(what, make_postern, unbound_server, mx_peer):
    """postern's resolver is stopped (the agent cannot reach it), or the
    DNS server it forwards to is (SERVFAIL, timeouts): deferred; once it
    is back, delivered."""
    good = mx_peer("127.0.0.21")
    p = relay_postern(make_postern, unbound_server)
    agent = agent_pid(p)
    if what == "resolver":
        p.stop("resolver")
    else:
        unbound_server.stop()
    rcpt = "quinn@good.example.test"
    send(p, [rcpt])
    d = wait_relay_line(p, rcpt, "deferred")[0]
    assert d["relay"] == "none", d["line"]
    assert good.sessions == []
    assert agent_pid(p) == agent
    if what == "resolver":
        p.start_resolver()
    else:
        unbound_server.restart()
    assert good.wait_messages(1, timeout=60)[0].rcpt_tos == [rcpt]
    wait_relay_line(p, rcpt, "sent")
    assert agent_pid(p) == agent
    queue_empty(p)


# ---- limits ----

@pytest.mark.parametrize("conf,limit", [("relay_destination_concurrency 2\n", 2),
                                        ("relay_concurrency 1\n", 1)])
def test_concurrency_limits(conf, limit, make_postern, unbound_server, mx_peer):
    """Eight messages to one slow MX (a second before each DATA reply):
    never more connections at once than the limit, and all delivered."""
    peer = mx_peer("127.0.0.25", data_delay=1.0)
    p = relay_postern(make_postern, unbound_server, conf)
    rcpts = [f"r{i}@slow-mx.example.test" for i in range(8)]
    for r in rcpts:
        send(p, [r], subject=f"to {r}")
    peer.wait_messages(8, timeout=90)
    assert sorted(x for m in peer.messages for x in m.rcpt_tos) == sorted(rcpts)
    assert 1 <= peer.max_active <= limit, peer.max_active
    queue_empty(p)


# ---- relayhost ----

@pytest.mark.parametrize("spec,addr", [("relayhost.example.test:2526", "127.0.0.11"),
                                       ("127.0.0.11:2526", "127.0.0.11"),
                                       ("[::1]:2526", "::1")])
def test_relayhost_takes_all_remote_mail(spec, addr, make_postern, unbound_server, mx_peer):
    """With relayhost, every remote recipient goes there (port 2526),
    whatever the domains' MX records say, and relayhost.example.test's
    own MX record is not used either; local mail stays local."""
    hub = mx_peer(addr, port=2526)
    elsewhere = mx_peer("127.0.0.23")   # MX of elsewhere.example.test and of relayhost.example.test
    best = mx_peer("127.0.0.12")        # MX of pref.example.test
    p = relay_postern(make_postern, unbound_server, f"relayhost {spec}\n")
    rcpts = ["rose@elsewhere.example.test", "sam@pref.example.test"]
    send(p, rcpts + ["bob@example.test"])
    wait_for(lambda: sorted(x for m in hub.messages for x in m.rcpt_tos) == sorted(rcpts),
             timeout=60, what="both remote recipients at the relayhost")
    p.wait_mail("bob", 1)
    for r in rcpts:
        d = wait_relay_line(p, r, "sent")[0]
        assert d["relay"].endswith(f"[{addr}]:2526"), d["line"]
    assert elsewhere.sessions == [] and best.sessions == []
    assert all(m.mail_from == SENDER for m in hub.messages)
    assert hub.auth_attempts == []
    queue_empty(p)


PASSWORD = "correct horse battery staple"


def relayhost_auth_conf(tmp_path, ca):
    pw = tmp_path / "relay-password"
    pw.write_text(PASSWORD + "\n")
    os.chmod(pw, 0o600)
    return (f"relayhost relayhost.example.test:2526\n"
            f"relayhost_user relayuser\nrelayhost_password_file {pw}\n"
            + (f"relay_tls_ca_file {ca}\n" if ca else ""))


def test_relayhost_auth_after_verified_starttls(tmp_path, make_postern, unbound_server,
                                                mx_peer):
    cert = mxpeer.make_cert(tmp_path / "hub-cert", "relayhost.example.test")
    hub = mx_peer("127.0.0.11", port=2526, tls=cert, auth={"relayuser": PASSWORD})
    p = relay_postern(make_postern, unbound_server, relayhost_auth_conf(tmp_path, cert["ca"]))
    rcpt = "tina@elsewhere.example.test"
    send(p, [rcpt])
    m = hub.wait_messages(1)[0]
    assert m.rcpt_tos == [rcpt]
    assert m.tls is not None
    assert m.auth == ("PLAIN", "relayuser", PASSWORD), m.auth
    assert hub.auth_attempts == [("PLAIN", "relayuser", PASSWORD)]
    verbs = m.session.verbs()
    assert verbs.index("STARTTLS") < verbs.index("AUTH") < verbs.index("MAIL"), verbs
    d = wait_relay_line(p, rcpt, "sent")[0]
    assert d["relay"] == "relayhost.example.test[127.0.0.11]:2526", d["line"]
    assert d["verified"] == "yes", d["line"]
    queue_empty(p)


@pytest.mark.parametrize("case", ["no-starttls", "unverified-certificate"])
def test_relayhost_credentials_need_verified_tls(case, tmp_path, make_postern, unbound_server,
                                                 mx_peer):
    """The relayhost offers AUTH in clear text (no STARTTLS), or STARTTLS
    with a certificate that does not verify: the credentials are not
    sent, and neither is the mail: deferred."""
    if case == "no-starttls":
        hub = mx_peer("127.0.0.11", port=2526, auth={"relayuser": PASSWORD},
                      auth_require_tls=False)
        ca = None
    else:
        cert = mxpeer.make_cert(tmp_path / "hub-cert", "relayhost.example.test")
        hub = mx_peer("127.0.0.11", port=2526, tls=cert, auth={"relayuser": PASSWORD})
        ca = tls_files()["ca"]   # not the CA that signed the relayhost's certificate
    p = relay_postern(make_postern, unbound_server, relayhost_auth_conf(tmp_path, ca))
    rcpt = "uma@elsewhere.example.test"
    send(p, [rcpt])
    wait_relay_line(p, rcpt, "deferred")
    hub.wait_sessions(1)
    time.sleep(1)
    assert "AUTH" not in hub.all_verbs(), hub.all_verbs()
    assert hub.auth_attempts == []
    assert hub.messages == []
    assert relay_lines(p, rcpt, "sent") == [] and relay_lines(p, rcpt, "bounced") == []
    assert p.queue_files() != []


# ---- two postern instances ----

@pytest.mark.skipif(not IS_ROOT, reason="listening on port 25 needs root")
def test_two_posterns_exchange_mail(make_postern, unbound_server):
    """far.example.test's MX (127.0.0.7) is a second postern; the first
    one is example.test's MX (mx1: 127.0.0.2, and ::1 where nothing
    listens). alice@example.test writes to bob@far.example.test, and bob
    answers: each message lands in the other instance's Maildir with the
    receiving instance's Received: line on top."""
    near = make_postern(relay=RELAY, dns=unbound_server, smtp_listen="127.0.0.2:25")
    far = make_postern(relay=RELAY, dns=unbound_server, hostname="mx.far.example.test",
                       domains="far.example.test", smtp_listen="127.0.0.7:25")
    send(near, ["bob@far.example.test"], subject="hello far")
    raw = far.wait_mail("bob", 1)[0]
    assert raw.startswith(b"Return-Path: <alice@example.test>\n")
    head = raw.split(b"\n\n", 1)[0]
    assert b"Subject: hello far" in head
    received = re.findall(rb"^Received: .*(?:\n[ \t].*)*", head, re.M)
    assert len(received) >= 2, head
    assert re.match(rb"Received: from mail\.example\.test \(\[127\.[0-9.]+\]\)\n\s*"
                    rb"by mx\.far\.example\.test \(postern\) with ESMTPS?", received[0]), received[0]
    assert b"by mail.example.test (postern)" in received[1]
    d = wait_relay_line(near, "bob@far.example.test", "sent")[0]
    assert d["relay"] == "mx.far.example.test[127.0.0.7]:25", d["line"]
    # and back
    send(far, ["alice@example.test"], sender="bob@far.example.test", subject="hello near")
    raw = near.wait_mail("alice", 1)[0]
    assert raw.startswith(b"Return-Path: <bob@far.example.test>\n")
    assert b"Subject: hello near" in raw
    assert re.search(rb"^Received: from mx\.far\.example\.test \(\[127\.[0-9.]+\]\)\n\s*"
                     rb"by mail\.example\.test \(postern\)", raw, re.M), raw[:600]
    d = wait_relay_line(far, "alice@example.test", "sent")[0]
    assert d["relay"] == "mx1.example.test[127.0.0.2]:25", d["line"]
    queue_empty(near)
    queue_empty(far)


# ---- privileges ----

@pytest.mark.skipif(not IS_ROOT, reason="needs root")
def test_agent_identity_and_root(make_postern, unbound_server):
    from test_privsep import check_identity, ids
    p = relay_postern(make_postern, unbound_server)
    pid = agent_pid(p)
    assert "postern-queued: remote delivery" in open(f"/proc/{pid}/cmdline").read()
    check_identity(pid, "postern-relay", os.path.join(p.spool, "empty"))
    assert ids(p.procs["queued"].pid)["Uid"][0] == "0"


def test_missing_relayhost_password_file_stops_queued(make_postern):
    """A relayhost password file that cannot be read stops queued at
    start with the reason, instead of a delivery agent that keeps dying."""
    p = make_postern(relay=RELAY, start=False, extra_conf=(
        "relayhost 127.0.0.11:2526\nrelayhost_user relayuser\n"
        "relayhost_password_file /nonexistent/relay-password\n"))
    proc = p.start("queued")
    assert proc.wait(timeout=30) != 0
    assert "relayhost_password_file /nonexistent/relay-password" in p.log("queued")
    assert "No such file or directory" in p.log("queued")
