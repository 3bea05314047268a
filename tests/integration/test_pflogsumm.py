"""Debian's pflogsumm reads postern's log and counts what happened.

pflogsumm is the Postfix log summariser administrators already run from
cron. postern's per-message lines follow Postfix's forms, and its
daemons log under the program names postern/smtpd, postern/queued,
postern/relay; pflogsumm's --syslog-name=postern makes it read
"postern/NAME[PID]: QID: ..." as it reads "postfix/NAME[PID]: QID: ...".
What pflogsumm counts, from which line:
  received   smtpd's   "QID: client=..." (one per message accepted over SMTP)
  sizes      queued's  "QID: from=<SENDER>, size=N, nrcpt=N ..."
  delivered  queued's and the relay agent's
             "QID: to=<RCPT>, relay=..., delay=..., dsn=..., status=sent (...)"
             (one per recipient, so a message to three users counts three;
             a delivery through an alias counts under the mailbox's address,
             as Postfix logs it: "to=<alice@example.test>, orig_to=<team@example.test>")
  deferred   the same with status=deferred (messages; attempts as "deferrals")
  bounced    the same with status=bounced

The test sends a known set of messages over SMTP and submission: local
users, several recipients, an alias, the null sender, a null-MX domain
(bounced at once, and the report to the sender delivered locally), a
domain whose DNS never answers (deferred), and, where port 25 can be
bound (root), one message delivered to a test MX. It waits until each
has reached its end, merges the daemons' logs as a syslog file would
hold them, and checks pflogsumm's totals and its per-sender and
per-recipient tables against what was sent.

Why the lines are touched before pflogsumm reads them: in the tests the
daemons log to stderr ("log stderr"), and a stderr line has no host
field ("2026-11-22T10:00:00.123Z postern/queued[123]: ..."). Written
through syslog, the same line gets the host name after the timestamp
("2026-11-22T10:00:00.123Z mail.example.test postern/queued[123]: ...",
rsyslog's RFC 3339 form), and pflogsumm expects that field: it reads
"TIMESTAMP HOST PROGRAM[PID]: ...". So the test inserts the host name
and nothing else; postern's own timestamp, program names and message
text reach pflogsumm as postern wrote them, and a line that loses its
form stops being counted.
"""
import os
import re
import shutil
import smtplib
import subprocess

import pytest

import mxpeer
from conftest import UNBOUND, client_tls_context, wait_for

PFLOGSUMM = shutil.which("pflogsumm") or "/usr/sbin/pflogsumm"

pytestmark = [
    pytest.mark.skipif(not os.path.exists(PFLOGSUMM),
                       reason="pflogsumm is not installed (tests/install-deps.sh installs it)"),
    pytest.mark.skipif(not os.path.exists(UNBOUND), reason="unbound is not installed"),
]

HOST = "mail.example.test"
# a stderr log line: an RFC 3339 timestamp (the forms pflogsumm reads),
# then the program and PID as syslog writes them
STDERR_LINE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)) "
                         r"(postern/[a-z0-9-]+\[\d+\]: .*)$")


def syslog_form(text):
    """The daemons' stderr lines as a syslog daemon writes them: the host
    name inserted after the timestamp. Lines of another form are kept
    as they are (pflogsumm then skips them, and the counts show it)."""
    out = []
    for line in text.splitlines():
        m = STDERR_LINE.match(line)
        out.append(f"{m.group(1)} {HOST} {m.group(2)}" if m else line)
    return out


def merged_log(p):
    """Every daemon's log in one file's order, by timestamp (a stable
    sort: lines of the same millisecond keep their order, smtpd's first)."""
    lines = []
    for name in ("smtpd", "queued", "resolver"):
        lines += syslog_form(p.log(name))
    lines.sort(key=lambda ln: ln.split(" ", 1)[0])
    return "\n".join(lines) + "\n"


def pflogsumm(log_text):
    r = subprocess.run([PFLOGSUMM, "--syslog-name=postern"],
                       input=log_text, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout


def grand_totals(report):
    """pflogsumm's "Grand Totals" as a dict: received, delivered,
    deferred, deferrals, bounced, rejected, bytes received, ..."""
    totals = {}
    section = report.split("Grand Totals", 1)[1].split("Per-Day", 1)[0].split("Per-Hour", 1)[0]
    for line in section.splitlines():
        m = re.match(r"^\s*(\d+)([km ]?)\s+([a-z][a-z /-]*?)\s*(?:\(|$)", line)
        if m:
            assert m.group(2).strip() == "", line  # counts this small have no unit
            totals[m.group(3)] = int(m.group(1))
        m = re.search(r"\((\d+)\s+deferrals\)", line)
        if m:
            totals["deferrals"] = int(m.group(1))
    return totals


def table(report, title):
    """One of pflogsumm's "count  name" tables, as {name: count}."""
    parts = report.split(title + "\n", 1)
    assert len(parts) == 2, f"no table {title!r} in:\n{report}"
    rows = {}
    for line in parts[1].splitlines()[1:]:   # [0] is the dashes
        m = re.match(r"^\s+(\d+)\s+(\S+)$", line)
        if not m:
            break
        rows[m.group(2)] = int(m.group(1))
    return rows


def host_table(report):
    """pflogsumm's "Messages Received" table by host or domain: {name: count}."""
    parts = report.split("Host/Domain Summary: Messages Received \n", 1)
    assert len(parts) == 2, report
    rows = {}
    for line in parts[1].splitlines()[3:]:   # dashes, headings, dashes
        m = re.match(r"^\s+(\d+)\s+\d+[km ]?\s+(\S+)$", line)
        if not m:
            break
        rows[m.group(2)] = int(m.group(1))
    return rows


def send(p, sender, rcpts, subject):
    c = smtplib.SMTP("127.0.0.1", p.port, local_hostname="client.example", timeout=30)
    try:
        msg = (f"From: <{sender}>\r\nTo: {', '.join(rcpts)}\r\nSubject: {subject}\r\n"
               f"\r\n{subject}\r\n").encode()
        assert c.sendmail(sender, rcpts, msg) == {}
    finally:
        c.quit()


def submit(p, user, password, sender, rcpts, subject):
    c = smtplib.SMTP("127.0.0.1", p.sub_port, local_hostname="client.example", timeout=30)
    try:
        c.starttls(context=client_tls_context())
        c.ehlo("client.example")
        c.login(user, password)
        msg = (f"From: <{sender}>\r\nTo: {', '.join(rcpts)}\r\nSubject: {subject}\r\n"
               f"\r\n{subject}\r\n").encode()
        assert c.sendmail(sender, rcpts, msg) == {}
    finally:
        c.quit()


def test_pflogsumm_counts_received_delivered_deferred_bounced(make_postern, unbound_server):
    # a test MX for good.example.test, where port 25 can be bound
    mx = None
    if mxpeer.HAVE_AIOSMTPD:
        try:
            mx = mxpeer.MXPeer("127.0.0.21")
            mx.start()
        except PermissionError:
            mx = None
    try:
        _run(make_postern, unbound_server, mx)
    finally:
        if mx is not None:
            mx.stop()


def _run(make_postern, unbound_server, mx):
    # no delay warnings: the deferred message must stay one message with
    # deferrals, and no report of its own
    p = make_postern(relay="127.0.0.0/8", dns=unbound_server,
                     extra_conf="delay_warning 0\nqueue_lifetime 5d\n")
    ext = "sender@client.example"
    send(p, ext, ["alice@example.test"], "one")
    send(p, ext, ["alice@example.test", "bob@example.test", "carol@example.test"], "three")
    send(p, ext, ["team@example.test"], "alias to alice and bob")
    send(p, "", ["bob@example.test"], "from the null sender")
    submit(p, "bob", "builder", "bob@example.test",
           ["alice@example.test", "carol@example.test"], "submitted")
    # null MX: bounced at once; the report goes to alice
    send(p, "alice@example.test", ["henry@nullmx.example.test"], "to a null MX")
    # slow.example.test's DNS never answers: deferred, again and again
    send(p, "alice@example.test", ["ida@slow.example.test"], "deferred")
    received = 7
    delivered = 1 + 3 + 2 + 1 + 2 + 1   # the last: the bounce report to alice
    senders = {ext: 3, "from=<>": 1, "bob@example.test": 1, "alice@example.test": 2}
    recipients = {"alice@example.test": 5, "bob@example.test": 3, "carol@example.test": 2}
    if mx is not None:
        send(p, "alice@example.test", ["quinn@good.example.test"], "remote")
        received += 1
        delivered += 1
        senders["alice@example.test"] += 1
        recipients["quinn@good.example.test"] = 1
        assert mx.wait_messages(1)[0].rcpt_tos == ["quinn@good.example.test"]

    # every message at its end: the Maildirs full (the report too), and
    # nothing left in the queue but the deferred message, once tried
    # (queued removes a message's file after its last recipient's line)
    p.wait_mail("alice", 5)
    p.wait_mail("bob", 3)
    p.wait_mail("carol", 2)
    wait_for(lambda: len(p.queue_files()) == 1, timeout=60, what="only the deferred message queued")
    wait_for(lambda: "status=deferred" in p.log("queued"), timeout=60,
             what="a deferral logged")
    assert len(p.maildir_files("alice")) == 5

    log = merged_log(p)
    report = pflogsumm(log)
    t = grand_totals(report)
    detail = f"pflogsumm said:\n{report}\nof this log:\n{log}"
    assert t["received"] == received, detail
    assert t["delivered"] == delivered, detail
    assert t["bounced"] == 1, detail
    assert t["deferred"] == 1, detail
    assert t["deferrals"] >= 1, detail
    assert t["forwarded"] == 0, detail
    # the sizes come from queued's from=<...>, size=N lines
    assert t["bytes received"] > 0 and t["bytes delivered"] > 0, detail
    assert table(report, "Senders by message count") == senders, detail
    # by sender domain, and by the client's address (from smtpd's
    # client= field) for the null sender
    senders_by_domain = {"client.example": 3, "127.0.0.1": 1,
                         "example.test": senders["alice@example.test"] + 1}
    assert host_table(report) == senders_by_domain, detail
    # who got the mail: the alias team@example.test delivered to alice and bob
    assert table(report, "Recipients by message count") == recipients, detail
    # pflogsumm's problem tables name the bounce's and the deferral's causes
    assert "accepts no mail (null MX" in report.split("message bounce detail", 1)[1], detail
    assert "message deferral detail: none" not in report, detail
