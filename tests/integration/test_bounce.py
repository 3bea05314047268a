"""Bounces and delay warnings (RFC 3464 DSNs) from queued: a delay
warning once a message has waited `delay_warning`, a bounce when the
queue lifetime runs out, both to the envelope sender as multipart/report
that Python's email package reads; never a bounce to the null sender;
a report to an unknown local sender goes to the postmaster; a report
that cannot be delivered comes back to the postmaster as a double
bounce, and a double bounce that fails is dropped with a log line.
Remote delivery is not built yet, so mail to other domains stays
deferred until the queue lifetime ends: that is the failure used here."""
import email
import smtplib
import time
from email import policy

from conftest import wait_for

FAST = "delay_warning 2s\nqueue_lifetime 6s\n"
NO_WARN = "delay_warning 0\nqueue_lifetime 6s\n"


def send(p, sender, rcpt, subject="original subject"):
    c = smtplib.SMTP("127.0.0.1", p.port, timeout=30)
    c.sendmail(sender, [rcpt], f"From: {sender or 'nobody@example.test'}\r\nTo: {rcpt}\r\n"
               f"Subject: {subject}\r\nMessage-ID: <orig@client.example>\r\n\r\nbody\r\n".encode())
    c.quit()


def reports(p, user):
    return [email.message_from_bytes(m, policy=policy.default) for m in p.read_mail(user)]


def status_blocks(msg):
    parts = list(msg.iter_parts())
    assert [x.get_content_type() for x in parts] == [
        "text/plain", "message/delivery-status", "text/rfc822-headers"]
    blocks = parts[1].get_payload()
    return blocks[0], blocks[1:], parts[2]


def test_delay_warning_then_bounce_to_a_local_sender(make_postern):
    p = make_postern(extra_conf=FAST, relay="127.0.0.0/8")
    send(p, "alice@example.test", "friend@remote.example")
    msgs = p.wait_mail("alice", 2, timeout=60)
    got = reports(p, "alice")
    by_subject = {m["Subject"]: m for m in got}
    warn = by_subject["Delayed Mail (still being retried)"]
    bounce = by_subject["Undelivered Mail Returned to Sender"]
    for m in (warn, bounce):
        assert m.get_content_type() == "multipart/report"
        assert m.get_param("report-type") == "delivery-status"
        assert m["From"] == "Mail Delivery System <MAILER-DAEMON@mail.example.test>"
        assert m["To"] == "alice@example.test"
        assert m["Auto-Submitted"] == "auto-replied"
        per_msg, per_rcpt, headers = status_blocks(m)
        assert per_msg["Reporting-MTA"] == "dns; mail.example.test"
        assert len(per_rcpt) == 1
        assert per_rcpt[0]["Final-Recipient"] == "rfc822; friend@remote.example"
        assert "Subject: original subject" in headers.get_content()
        assert "Message-ID: <orig@client.example>" in headers.get_content()
    assert status_blocks(warn)[1][0]["Action"] == "delayed"
    assert status_blocks(warn)[1][0]["Status"].startswith("4.")
    assert status_blocks(warn)[1][0]["Will-Retry-Until"]
    assert status_blocks(bounce)[1][0]["Action"] == "failed"
    assert status_blocks(bounce)[1][0]["Status"].startswith("5.")
    # the reports come from the null sender: nothing can bounce back at them
    for raw in msgs:
        assert raw.startswith(b"Return-Path: <>\n")
    # one warning only, however many retries there were
    time.sleep(2)
    assert len(p.read_mail("alice")) == 2
    log = p.log("queued")
    assert "report to <alice@example.test> queued as" in log


def test_no_bounce_to_the_null_sender(make_postern):
    p = make_postern(extra_conf=FAST, relay="127.0.0.0/8")
    send(p, "", "friend@remote.example")
    wait_for(lambda: "no bounce: the sender is the null sender" in p.log("queued"),
             timeout=60, what="null sender logged")
    wait_for(lambda: p.queue_files() == [], timeout=30, what="queue empty")
    assert p.maildir_files("alice") == []


def test_report_to_an_unknown_local_sender_goes_to_the_postmaster(make_postern):
    p = make_postern(extra_conf=NO_WARN, relay="127.0.0.0/8")
    send(p, "nobody@example.test", "friend@remote.example")
    raw = p.wait_mail("alice", 1, timeout=60)[0]  # postmaster: alice
    m = reports(p, "alice")[0]
    # the report as it was made, delivered to the postmaster instead
    assert m["To"] == "nobody@example.test"
    assert m["Delivered-To"] == "postmaster@example.test"
    assert raw.startswith(b"Return-Path: <>\n")
    assert "is unknown here; the report goes to the postmaster" in p.log("queued")


def test_undeliverable_bounce_becomes_a_double_bounce_then_is_dropped(make_postern, tmp_path):
    p = make_postern(extra_conf=NO_WARN, relay="127.0.0.0/8")
    # the sender is remote: its bounce cannot go out (no remote delivery
    # yet), so after the lifetime the postmaster gets a double bounce
    send(p, "someone@remote.example", "friend@elsewhere.example")
    p.wait_mail("alice", 1, timeout=90)
    m = reports(p, "alice")[0]
    assert m["To"] == "postmaster@example.test"
    per_rcpt = status_blocks(m)[1]
    assert per_rcpt[0]["Final-Recipient"] == "rfc822; someone@remote.example"
    assert "double bounce to <postmaster@example.test> queued as" in p.log("queued")
    wait_for(lambda: p.queue_files() == [], timeout=30, what="queue empty")


def test_double_bounce_without_a_postmaster_is_dropped(make_postern):
    p = make_postern(extra_conf=NO_WARN, relay="127.0.0.0/8", start=False)
    with open(f"{p.etc}/aliases", "w") as f:
        f.write("team: alice, bob\n")  # no postmaster
    p.start_all()
    send(p, "nobody@example.test", "friend@remote.example")
    wait_for(lambda: "no postmaster to send the double bounce to; dropped" in p.log("queued"),
             timeout=60, what="double bounce dropped")
    wait_for(lambda: p.queue_files() == [], timeout=30, what="queue empty")
