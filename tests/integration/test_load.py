"""Concurrency: 100 clients x 20 messages, all delivered exactly once."""
import smtplib
import threading

from conftest import wait_for

CLIENTS = 100
PER_CLIENT = 20


def test_100_clients_20_messages_each(make_postern):
    p = make_postern("max_sessions_per_ip 200\n")
    errors = []

    def client(n):
        try:
            with smtplib.SMTP("127.0.0.1", p.port, timeout=120) as s:
                for i in range(PER_CLIENT):
                    s.sendmail("load@example.net", ["alice@example.test"],
                               f"Subject: load\r\nX-Token: c{n}-m{i}\r\n\r\nbody {n} {i}\r\n".encode())
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(f"client {n}: {e!r}")

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors, errors[:5]
    total = CLIENTS * PER_CLIENT
    wait_for(lambda: len(p.maildir_files("alice")) >= total, timeout=300, what="all delivered")
    tokens = []
    for m in p.read_mail("alice"):
        line = [ln for ln in m.split(b"\n") if ln.startswith(b"X-Token: ")]
        assert len(line) == 1
        tokens.append(line[0])
    assert len(tokens) == total
    assert len(set(tokens)) == total, "a message was delivered twice"
    wait_for(lambda: p.queue_files() == [], timeout=60, what="queue empty")
