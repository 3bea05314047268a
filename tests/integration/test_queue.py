"""queued's behaviour seen from outside: 451 while it is down and
recovery after, reconciliation at start, temporary failures retried."""
import os
import signal
import smtplib

from conftest import wait_for


def test_451_while_queued_is_down_then_recovers(postern, smtp_client):
    postern.stop("queued")
    c = smtp_client(postern.port)
    c.cmd("EHLO x.example.net")
    wait_for(lambda: c.cmd("MAIL FROM:<a@example.net>")[1].startswith("451 4.3.0"),
             what="451 while queued is down")
    assert postern.procs["smtpd"].poll() is None
    postern.start("queued")
    wait_for(lambda: c.cmd("MAIL FROM:<a@example.net>")[0] == 250, timeout=30,
             what="smtpd reconnected")
    assert c.cmd("RCPT TO:<alice@example.test>")[0] == 250
    c.send(b"DATA\r\n")
    assert c.reply()[0] == 354
    c.send(b"Subject: back\r\n\r\nok\r\n.\r\n")
    assert c.reply()[0] == 250
    postern.wait_mail("alice", 1)


def test_reconcile_removes_orphans_and_keeps_queued_mail(make_postern):
    p = make_postern(relay="127.0.0.0/8")
    with smtplib.SMTP("127.0.0.1", p.port, timeout=30) as s:
        s.sendmail("a@example.test", ["x@remote.example"], b"Subject: stays\r\n\r\nq\r\n")
    wait_for(lambda: len(p.queue_files()) == 1, what="queued message")
    p.stop("smtpd")
    p.stop("queued")
    orphan = os.path.join(p.spool, "queue", "00000000000000AB")
    with open(orphan, "w") as f:
        f.write("half written")
    p.start("queued")
    wait_for(lambda: "reconcile: 1 message(s) queued, 1 orphan file(s) removed" in p.log("queued"),
             what="reconcile log line")
    assert not os.path.exists(orphan)
    assert len(p.queue_files()) == 1


def test_reconcile_drops_an_unreadable_record_and_its_schedule(make_postern):
    import lmdb  # python3-lmdb, from tests/install-deps.sh
    p = make_postern()
    p.stop("smtpd")
    p.stop("queued")
    index = os.path.join(p.spool, "index")
    bad = (0x1A2B3C4D5E6F7000).to_bytes(8, "big")
    env = lmdb.open(index, max_dbs=2, map_size=1 << 32, subdir=True)
    msgs, sched = env.open_db(b"msgs", create=False), env.open_db(b"sched", create=False)
    with env.begin(write=True) as txn:
        txn.put(bad, b"\xffnot a record", db=msgs)
        txn.put((1).to_bytes(8, "big") + bad, b"", db=sched)  # due since 1970
    env.close()
    assert "index record unreadable" not in p.log("queued")
    p.start("queued")
    # the summary line is logged after the index commit: wait for it, not
    # for the per-record warning logged before
    wait_for(lambda: "1 index entry without a file dropped" in p.log("queued"),
             what="reconcile's summary")
    assert "index record unreadable; dropping the index entry" in p.log("queued")
    env = lmdb.open(index, max_dbs=2, map_size=1 << 32, subdir=True, readonly=True, lock=False)
    msgs, sched = env.open_db(b"msgs", create=False), env.open_db(b"sched", create=False)
    with env.begin() as txn:
        assert txn.get(bad, db=msgs) is None
        assert [k for k, _ in txn.cursor(db=sched) if k.endswith(bad)] == []
    env.close()
    # and the queue goes on
    p.start("smtpd")
    p.wait_ready()
    with smtplib.SMTP("127.0.0.1", p.port, timeout=30) as s:
        s.sendmail("a@example.net", ["alice@example.test"], b"Subject: after\r\n\r\nok\r\n")
    p.wait_mail("alice", 1)


def test_admin_action_skips_an_unreadable_record(postern):
    import json
    import lmdb  # python3-lmdb, from tests/install-deps.sh
    p = postern
    p.ctl("pause", "local")
    with smtplib.SMTP("127.0.0.1", p.port, timeout=30) as s:
        s.sendmail("a@example.net", ["alice@example.test"], b"Subject: waits\r\n\r\nq\r\n")
    good = wait_for(lambda: json.loads(p.ctl("show", "queue", "--json").stdout), what="queued")[0]["id"]
    bad = "1A2B3C4D5E6F7000"
    env = lmdb.open(os.path.join(p.spool, "index"), max_dbs=2, map_size=1 << 32)
    with env.begin(write=True) as txn:
        txn.put(bytes.fromhex(bad), b"\xffnot a record", db=env.open_db(b"msgs", txn=txn, create=False))
    env.close()
    # the bad record neither fails the batch nor hides the good message
    r = p.ctl("hold", bad, good, check=False)
    assert r.returncode == 0 and r.stdout.strip() == "1 message held", (r.stdout, r.stderr)
    assert f"{bad}: index record unreadable" in p.log("queued")


def test_temporary_failure_is_retried(postern):
    # a file where carol's Maildir should be: delivery fails temporarily
    blocker = os.path.join(postern.mail, "carol")
    with open(blocker, "w") as f:
        f.write("x")
    with smtplib.SMTP("127.0.0.1", postern.port, timeout=30) as s:
        s.sendmail("a@example.net", ["carol@example.test"], b"Subject: retry\r\n\r\nlater\r\n")
    wait_for(lambda: "status=deferred" in postern.log("queued"), what="deferral")
    assert len(postern.queue_files()) == 1
    os.unlink(blocker)
    (msg,) = postern.wait_mail("carol", 1, timeout=30)
    assert b"Subject: retry" in msg
    wait_for(lambda: postern.queue_files() == [], what="queue file removed")


def test_sighup_keeps_daemons_running(postern):
    for name in ("smtpd", "queued"):
        postern.procs[name].send_signal(signal.SIGHUP)
    wait_for(lambda: "SIGHUP" in postern.log("smtpd") and "SIGHUP" in postern.log("queued"),
             what="SIGHUP logged")
    with smtplib.SMTP("127.0.0.1", postern.port, timeout=30) as s:
        s.sendmail("a@example.net", ["alice@example.test"], b"Subject: hup\r\n\r\nok\r\n")
    postern.wait_mail("alice", 1)
    assert postern.procs["smtpd"].poll() is None and postern.procs["queued"].poll() is None


def test_sigterm_stops_cleanly(postern):
    for name in ("smtpd", "queued"):
        postern.procs[name].send_signal(signal.SIGTERM)
        assert postern.procs[name].wait(timeout=30) == 0
        assert "stopped" in postern.log(name)


def test_log_lines_in_the_form_log_tools_parse(postern):
    """One line when a message is queued and one per recipient outcome,
    queue id first, in the key=value form of Postfix's log (which
    pflogsumm and the like read)."""
    import re
    with smtplib.SMTP("127.0.0.1", postern.port, timeout=30) as s:
        s.sendmail("sender@example.net", ["alice@example.test", "bob@example.test"],
                   b"Subject: log\r\n\r\nbody\r\n")
    postern.wait_mail("alice", 1)
    postern.wait_mail("bob", 1)
    log = wait_for(lambda: (lambda t: t if t.count("status=sent") >= 2 else None)(postern.log("queued")),
                   what="two delivery lines")
    qid = re.search(r"\]: ([0-9A-F]{16}): from=<sender@example\.net>, size=(\d+), nrcpt=2 "
                    r"\(queue active\)", log)
    assert qid, log[-2000:]
    sent = re.findall(qid.group(1) + r": to=<([^>]+)>, relay=local, delay=\d+\.\d, dsn=2\.0\.0, "
                      r"status=sent \(delivered to maildir (\w+)\)", log)
    assert sorted(sent) == [("alice@example.test", "alice"), ("bob@example.test", "bob")], log[-2000:]
