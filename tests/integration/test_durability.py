"""Durability: kill -9 a daemon while 20 clients send; every message that
got a 250 is delivered after the restart (counted, not sampled)."""
import os
import signal
import smtplib
import threading
import time

from conftest import wait_for

CLIENTS = 20
PER_CLIENT = 40


def run_load(p, kill):
    accepted = set()
    lock = threading.Lock()
    deadline = time.monotonic() + 180

    def client(n):
        i = 0
        while i < PER_CLIENT and time.monotonic() < deadline:
            try:
                with smtplib.SMTP("127.0.0.1", p.port, timeout=30) as s:
                    while i < PER_CLIENT:
                        token = f"c{n}-m{i}"
                        s.sendmail("d@example.net", ["bob@example.test"],
                                   f"Subject: durable\r\nX-Token: {token}\r\n\r\n{token}\r\n".encode())
                        with lock:
                            accepted.add(token)
                        i += 1
            except (smtplib.SMTPException, OSError):
                i += 1  # that message may or may not be queued: not counted
                time.sleep(0.2)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for t in threads:
        t.start()
    wait_for(lambda: len(accepted) >= 150, timeout=120, what="load under way")
    kill()
    for t in threads:
        t.join(timeout=240)
    return accepted


def delivered_tokens(p):
    out = []
    for m in p.read_mail("bob"):
        for ln in m.split(b"\n"):
            if ln.startswith(b"X-Token: "):
                out.append(ln[9:].decode())
    return out


def check_all_delivered(p, accepted):
    assert len(accepted) >= 150
    wait_for(lambda: accepted <= set(delivered_tokens(p)), timeout=120,
             what="every accepted message delivered")
    missing = accepted - set(delivered_tokens(p))
    assert not missing


def test_kill_queue_manager(make_postern):
    p = make_postern()

    def kill():
        pid = p.child("queued", "queue manager")
        assert pid
        os.kill(pid, signal.SIGKILL)
        p.procs["queued"].wait(timeout=30)  # its monitor stops too
        time.sleep(0.5)  # clients meanwhile get 451 or a closed connection
        p.start("queued")
    accepted = run_load(p, kill)
    check_all_delivered(p, accepted)
    assert "reconcile:" in p.log("queued")
    assert p.procs["smtpd"].poll() is None, "smtpd must survive queued's death"
    assert "lost connection to queued" in p.log("smtpd")


def test_kill_smtpd(make_postern):
    p = make_postern()

    def kill():
        pid = p.child("smtpd", "sessions")
        assert pid
        os.kill(pid, signal.SIGKILL)
        p.procs["smtpd"].wait(timeout=30)
        p.start("smtpd")
    accepted = run_load(p, kill)
    check_all_delivered(p, accepted)
    wait_for(lambda: p.queue_files() == [], timeout=60, what="no orphan queue files")


def test_kill_delivery_agent(make_postern):
    p = make_postern()

    def kill():
        pid = p.child("queued", "local delivery")
        assert pid
        os.kill(pid, signal.SIGKILL)
    accepted = run_load(p, kill)
    check_all_delivered(p, accepted)
    assert "restarting it" in p.log("queued")
    assert p.child("queued", "local delivery") is not None
