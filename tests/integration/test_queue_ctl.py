"""posternctl's queue commands against a real queue: held, deferred and
bounced mail made by a test MX (the relayhost here) that answers 451 to
some recipients and 550 to others. Every command's effect is checked
through the index (show queue --json, read back) and the Maildirs or
the MX; the JSON outputs are parsed; a user who is neither root nor in
group postern-admin is refused, a member of that group is not.

The queue:
  m_defer   alice -> d1@defer.test                 deferred (451)
  m_mixed   alice -> d2@defer.test, ok@ok.test     ok delivered, d2 deferred
  m_partial bob   -> x@bounce.test, d3@defer.test  x bounced (550), d3 deferred
A long retry back-off keeps deferred mail waiting unless told to retry.
"""
import grp
import json
import os
import poplib
import pwd
import re
import smtplib
import subprocess
import time

import pytest

from conftest import BUILD, IS_ROOT, USERS, free_port, wait_for

DEFER_REPLY = "451 4.7.1 Greylisted, try again later"
BOUNCE_REPLY = "550 5.1.1 No such user here"


def send(p, sender, rcpts, subject):
    msg = (f"From: {sender}\r\nTo: {', '.join(rcpts)}\r\nSubject: {subject}\r\n"
           f"Message-ID: <{subject.replace(' ', '.')}@client.example.test>\r\n\r\nbody of {subject}\r\n")
    c = smtplib.SMTP(p.smtp_host, p.port, local_hostname="client.example.test", timeout=30)
    try:
        assert c.sendmail(sender, rcpts, msg) == {}
    finally:
        c.quit()


def queue_json(p):
    r = p.ctl("show", "queue", "--json")
    return json.loads(r.stdout)


def by_subject_rcpt(q, addr):
    return [m for m in q if any(r["address"] == addr for r in m["recipients"])]


def state_of(m, addr):
    return [r for r in m["recipients"] if r["address"] == addr][0]


@pytest.fixture
def queue(make_postern, mx_peer, unbound_server):
    port = free_port()
    peer = mx_peer("127.0.0.1", port=port, rcpt_replies={
        "d1@defer.test": DEFER_REPLY, "d2@defer.test": DEFER_REPLY,
        "d3@defer.test": DEFER_REPLY, "x@bounce.test": BOUNCE_REPLY})
    p = make_postern(relay="127.0.0.0/8", dns=unbound_server, start=False,
                     extra_conf=f"relayhost 127.0.0.1:{port}\n")
    with open(p.conf) as f:
        text = f.read()
    with open(p.conf, "w") as f:
        f.write(text.replace("retry_min 1s\nretry_max 2s\n", "retry_min 1h\nretry_max 4h\n"))
    p.start_all()
    send(p, "alice@example.test", ["d1@defer.test"], "m defer")
    send(p, "alice@example.test", ["d2@defer.test", "ok@ok.test"], "m mixed")
    send(p, "bob@example.test", ["x@bounce.test", "d3@defer.test"], "m partial")

    def settled():
        q = queue_json(p)
        states = {r["address"]: r["state"] for m in q for r in m["recipients"]}
        return len(q) == 3 and states == {
            "d1@defer.test": "deferred", "d2@defer.test": "deferred", "ok@ok.test": "delivered",
            "x@bounce.test": "bounced", "d3@defer.test": "deferred"} and q
    # bob's report about x@bounce.test: delivered first, then out of the
    # index (its Maildir file comes before the index entry goes)
    p.wait_mail("bob", 1)
    wait_for(settled, timeout=60, what="the queue to settle")
    return p, peer


def ids(p):
    q = queue_json(p)
    return {m["recipients"][0]["address"]: m["id"] for m in q}


def rcpt_count(peer, addr):
    return sum(1 for s in peer.sessions for verb, arg in s.commands
               if verb == "RCPT" and arg and addr in arg)


def test_show_queue_text_json_filters_mailq(queue):
    p, _ = queue
    q = queue_json(p)
    assert [m["sender"] for m in q] == ["alice@example.test", "alice@example.test", "bob@example.test"]
    mixed = by_subject_rcpt(q, "ok@ok.test")[0]
    assert mixed["size"] > 0 and re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", mixed["arrival"])
    d2 = state_of(mixed, "d2@defer.test")
    assert d2["state"] == "deferred" and d2["attempts"] == 1 and d2["next_try"]
    assert d2["last_error"].startswith("451 4.7.1"), d2
    assert state_of(mixed, "ok@ok.test")["state"] == "delivered"

    # text: one line per message, in arrival order, with each recipient's state and error
    lines = p.ctl("show", "queue").stdout.splitlines()
    assert len(lines) == 3
    for line, m in zip(lines, q):
        assert line.startswith(m["id"] + " ")
        assert f"<{m['sender']}>" in line
    assert "d2@defer.test deferred (451 4.7.1 Greylisted" in lines[1]
    assert "ok@ok.test delivered" in lines[1]
    assert "x@bounce.test bounced" in lines[2]

    def listed(*filters):
        return [m["id"] for m in json.loads(p.ctl("show", "queue", "--json", *filters).stdout)]
    assert listed("--sender", "bob@example.test") == [q[2]["id"]]
    assert listed("--sender", "@EXAMPLE.test") == [m["id"] for m in q]
    assert listed("--sender", "<>") == []
    assert listed("--state", "bounced") == [q[2]["id"]]
    assert listed("--domain", "ok.test") == []          # delivered: not waiting
    assert listed("--domain", "bounce.test") == []      # bounced: done
    assert listed("--domain", "defer.test") == [m["id"] for m in q]
    assert listed("--older-than", "1h") == []
    assert listed("--newer-than", "1h") == [m["id"] for m in q]
    r = p.ctl("show", "queue", "--state", "frozen", check=False)
    assert r.returncode == 2 and "unknown state" in r.stderr

    mq = p.ctl("mailq").stdout
    assert mq.splitlines()[0].startswith("-Queue ID-")
    assert "(451 4.7.1 Greylisted, try again later)" in mq
    assert re.search(r"^-- \d+ Kbytes in 3 Requests\.$", mq, re.M)
    # x@bounce.test is done: not listed as waiting
    assert "x@bounce.test" not in mq


def test_show_envelope_and_message(queue):
    p, _ = queue
    i = ids(p)["d1@defer.test"]
    env = p.ctl("show", "envelope", i).stdout
    assert f"id: {i}" in env and "sender: <alice@example.test>" in env
    assert re.search(r"recipient: <d1@defer.test> remote deferred attempts=1 next=\S+ "
                     r"last=\"451 4.7.1 Greylisted", env), env
    j = json.loads(p.ctl("show", "envelope", "--json", i.lower()).stdout)
    assert j["id"] == i and j["recipients"][0]["state"] == "deferred"
    msg = p.ctl("show", "message", i).stdout
    head, _, rest = msg.partition("\n\n")
    assert head == env.rstrip("\n")
    assert rest.startswith("Received: ") and "\nSubject: m defer\n" in rest
    assert "\r" not in rest  # shown with a terminal's line ends
    assert "body of m defer" in rest
    missing = "0" * 16
    r = p.ctl("show", "envelope", missing, check=False)
    assert r.returncode == 3 and "no such message" in r.stderr
    r = p.ctl("show", "message", "not-an-id", check=False)
    assert r.returncode == 2


def test_hold_release_retry(queue):
    p, peer = queue
    i = ids(p)
    r = p.ctl("hold", i["d1@defer.test"])
    assert r.stdout.strip() == "1 message held"
    q = queue_json(p)
    assert state_of(by_subject_rcpt(q, "d1@defer.test")[0], "d1@defer.test")["state"] == "held"
    held = json.loads(p.ctl("show", "queue", "--json", "--state", "held").stdout)
    assert [m["id"] for m in held] == [i["d1@defer.test"]]
    assert f"{i['d1@defer.test']}!" in p.ctl("mailq").stdout

    # retry --all: the two other deferred messages are tried again now;
    # the held one is not
    before = {a: rcpt_count(peer, a) for a in ("d1@defer.test", "d2@defer.test", "d3@defer.test")}
    r = p.ctl("retry", "--all")
    assert r.stdout.strip() == "2 messages due now"
    wait_for(lambda: rcpt_count(peer, "d2@defer.test") > before["d2@defer.test"] and
             rcpt_count(peer, "d3@defer.test") > before["d3@defer.test"], timeout=30,
             what="deferred recipients tried again")
    time.sleep(1)
    assert rcpt_count(peer, "d1@defer.test") == before["d1@defer.test"]
    # the second failure is recorded, with the next try an hour on
    wait_for(lambda: state_of(by_subject_rcpt(queue_json(p), "d2@defer.test")[0],
                              "d2@defer.test")["attempts"] == 2, timeout=30, what="second attempt recorded")

    # release: held becomes due at once and is tried
    r = p.ctl("release", "--state", "held")
    assert r.stdout.strip() == "1 message released"
    wait_for(lambda: rcpt_count(peer, "d1@defer.test") > before["d1@defer.test"], timeout=30,
             what="released recipient tried")
    wait_for(lambda: state_of(by_subject_rcpt(queue_json(p), "d1@defer.test")[0],
                              "d1@defer.test")["state"] == "deferred", timeout=30)
    # a message already due counts as well (remote delivery paused, so
    # nothing takes it meanwhile)
    p.ctl("pause", "remote")
    send(p, "alice@example.test", ["d4@defer.test"], "m due")
    due = wait_for(lambda: ids(p).get("d4@defer.test"), what="the due message queued")
    r = p.ctl("retry", due)
    assert r.stdout.strip() == "1 message due now", r.stdout
    p.ctl("resume", "remote")
    # an id that is not queued changes nothing: exit 3 for a script
    r = p.ctl("hold", "0" * 16, check=False)
    assert r.returncode == 3 and r.stdout.strip() == "0 messages held"
    r = p.ctl("hold", check=False)
    assert r.returncode == 2


def test_bounce_and_remove(queue):
    p, _ = queue
    i = ids(p)
    alice_before = len(p.maildir_files("alice"))
    r = p.ctl("bounce", i["d1@defer.test"])
    assert r.stdout.strip() == "1 message returned to sender"
    reports = p.wait_mail("alice", alice_before + 1)
    report = reports[-1].decode(errors="replace")
    assert "multipart/report" in report and "d1@defer.test" in report
    assert "returned to sender by the administrator" in report
    wait_for(lambda: i["d1@defer.test"] not in [m["id"] for m in queue_json(p)], timeout=30)
    assert i["d1@defer.test"] not in p.queue_files()

    r = p.ctl("remove", "--sender", "alice@example.test")
    assert r.stdout.strip() == "1 message removed"
    # (alice's report, already in her Maildir, may stay in the index a
    # moment longer)
    wait_for(lambda: [m["sender"] for m in queue_json(p)] == ["bob@example.test"], timeout=30,
             what="bob's message alone in the queue")
    assert i["d2@defer.test"] not in p.queue_files()
    time.sleep(1)
    assert len(p.maildir_files("alice")) == alice_before + 1  # remove sends no report
    assert "removed by the administrator" in p.log("queued")


def test_pause_and_resume(queue):
    p, _ = queue
    assert p.ctl("pause", "local").stdout.strip() == "paused: local"
    send(p, "alice@example.test", ["carol@example.test"], "while paused")
    time.sleep(2)
    assert p.maildir_files("carol") == []
    q = queue_json(p)
    assert state_of(by_subject_rcpt(q, "carol@example.test")[0], "carol@example.test")["state"] == "pending"
    assert p.ctl("resume", "local").stdout.strip() == "paused: nothing"
    p.wait_mail("carol", 1)

    p.ctl("pause", "accept")
    c = smtplib.SMTP(p.smtp_host, p.port, local_hostname="client.example.test", timeout=30)
    with pytest.raises(smtplib.SMTPResponseException) as e:
        c.sendmail("alice@example.test", ["carol@example.test"], "Subject: refused\r\n\r\nx\r\n")
    assert 400 <= e.value.smtp_code < 500
    c.close()
    p.ctl("resume", "all")
    send(p, "alice@example.test", ["carol@example.test"], "after resume")
    p.wait_mail("carol", 2)
    r = p.ctl("pause", "everything", check=False)
    assert r.returncode == 2


def test_stats_json_prometheus_and_shape(queue):
    p, _ = queue
    c = smtplib.SMTP(p.smtp_host, p.port, local_hostname="client.example.test", timeout=30)
    c.ehlo()
    c.mail("alice@example.test")
    code, _ = c.rcpt("nobody@example.test")
    assert code == 550
    c.quit()

    def stats():
        return json.loads(p.ctl("stats", "--json").stdout)
    wait_for(lambda: any(k.startswith("smtpd_rejected_total{reply=\"550 5.1.1\"}") for k in stats()),
             timeout=10, what="smtpd's counters at queued")
    s = stats()
    assert s['queued_accepted_total{origin="smtp"}'] == 3
    assert s['queued_delivered_total{agent="remote"}'] == 1
    assert s['queued_delivered_total{agent="local"}'] == 1   # bob's report
    assert s["queued_bounced_total"] == 1 and s["queued_deferred_total"] == 3
    assert s["smtpd_accepted_total"] == 3 and s["smtpd_sessions_total"] >= 4
    assert s["queue_messages"] == 3
    assert s['queue_recipients{state="deferred"}'] == 3
    assert s['smtpd_rejected_total{reply="550 5.1.1"}'] == 1

    prom = p.ctl("stats", "--prometheus").stdout.splitlines()
    assert "# TYPE postern_smtpd_rejected_total counter" in prom
    assert "# TYPE postern_queue_messages gauge" in prom
    assert 'postern_smtpd_rejected_total{reply="550 5.1.1"} 1' in prom
    for line in prom:
        assert line.startswith("# TYPE postern_") or \
            re.match(r'^postern_[a-z_]+(\{[a-z]+="[^"]*"\})? \d+$', line), line

    text = p.ctl("shape").stdout.splitlines()
    assert text[0].split() == ["T", "5", "10", "20", "40", "80", "160", "320", "640", "1280", "1280+"]
    assert text[1].split()[:3] == ["TOTAL", "3", "3"]
    assert text[2].split()[:3] == ["defer.test", "3", "3"]
    j = json.loads(p.ctl("shape", "--json").stdout)
    assert j["total"] == 3 and j["domains"] == [{"domain": "defer.test", "total": 3,
                                                 "by_age": [3, 0, 0, 0, 0, 0, 0, 0, 0, 0]}]


def test_help_and_usage_exit_codes(queue):
    p, _ = queue
    for cmd in (["show", "--help"], ["mailq", "--help"], ["shape", "--help"], ["hold", "--help"],
                ["release", "--help"], ["retry", "--help"], ["remove", "--help"],
                ["bounce", "--help"], ["pause", "--help"], ["resume", "--help"],
                ["stats", "--help"], ["reload", "--help"], ["check", "--help"],
                ["user", "--help"], ["--help"]):
        r = p.ctl(*cmd)
        assert r.stdout.startswith("usage: posternctl"), (cmd, r.stdout)
    r = p.ctl("show", "queue", "--bogus", check=False)
    assert r.returncode == 2 and "unknown option" in r.stderr
    r = p.ctl("frobnicate", check=False)
    assert r.returncode == 2


def test_reload_signals_the_daemons(queue):
    p, _ = queue
    r = p.ctl("reload")
    assert "signalled 2 daemons" in r.stdout or "signalled 3 daemons" in r.stdout, r.stdout
    wait_for(lambda: "SIGHUP" in p.log("smtpd") and "SIGHUP" in p.log("queued"), timeout=10,
             what="both daemons reloading")


# ---- who may use it ----

def open_path_to(path):
    """Lets other users traverse the test's directories (pytest makes
    its base directory 0700)."""
    d = os.path.dirname(path)
    while d not in ("/", "/tmp"):
        st = os.stat(d)
        os.chmod(d, st.st_mode | 0o011)
        d = os.path.dirname(d)


def run_as(user, p, *args):
    pw = pwd.getpwnam(user)
    return subprocess.run(["setpriv", "--reuid", str(pw.pw_uid), "--regid", str(pw.pw_gid), "--init-groups",
                           os.path.join(BUILD, "posternctl"), "-f", p.conf, *args],
                          capture_output=True, text=True, timeout=60)


@pytest.fixture
def admin_user():
    name = "pctladmin"
    subprocess.run(["userdel", name], capture_output=True)
    subprocess.run(["useradd", "--system", "--no-create-home", "--user-group", "--shell",
                    "/usr/sbin/nologin", name], check=True)
    yield name
    subprocess.run(["userdel", name], capture_output=True)


@pytest.mark.skipif(not IS_ROOT, reason="needs root (users, group postern-admin)")
def test_non_admin_refused_admin_group_allowed(make_postern, admin_user):
    p = make_postern()
    # a member added while queued runs (the kernel tells each
    # connection's groups): admitted without a restart
    subprocess.run(["usermod", "-a", "-G", "postern-admin", admin_user], check=True)
    send(p, "alice@example.test", ["bob@example.test"], "one")
    p.wait_mail("bob", 1)
    p.ctl("pause", "local")
    send(p, "alice@example.test", ["bob@example.test"], "two")
    wait_for(lambda: len(queue_json(p)) == 1, what="a queued message")
    open_path_to(p.conf)
    open_path_to(os.path.join(BUILD, "posternctl"))

    nobody = pwd.getpwnam("nobody").pw_name
    for args in (["show", "queue"], ["mailq"], ["hold", "--all"], ["stats"], ["pause", "remote"],
                 ["reload"]):
        r = run_as(nobody, p, *args)
        assert r.returncode == 4, (args, r.returncode, r.stdout, r.stderr)
        assert "permission denied" in r.stderr or "postern-admin" in r.stderr, r.stderr
    assert queue_json(p)[0]["recipients"][0]["state"] == "pending"  # nothing held

    r = run_as(admin_user, p, "show", "queue", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)[0]["recipients"][0]["address"] == "bob@example.test"
    r = run_as(admin_user, p, "hold", "--all")
    assert r.returncode == 0 and r.stdout.strip() == "1 message held", (r.stdout, r.stderr)
    r = run_as(admin_user, p, "show", "message", queue_json(p)[0]["id"])
    assert r.returncode == 0 and "Subject: two" in r.stdout, r.stderr
    r = run_as(admin_user, p, "stats", "--json")
    assert r.returncode == 0 and json.loads(r.stdout)["queue_messages"] == 1
    r = run_as(admin_user, p, "reload")
    assert r.returncode == 0, r.stderr
    wait_for(lambda: "posternctl reload: SIGHUP sent to" in p.log("queued"), timeout=10)
    # the index stays queued's: readable by the group, never writable
    idx = os.path.join(p.spool, "index")
    assert oct(os.stat(os.path.join(idx, "data.mdb")).st_mode & 0o777) == "0o640"
    assert os.stat(idx).st_mode & 0o2000


@pytest.mark.skipif(not IS_ROOT, reason="needs root (users, group postern-admin)")
def test_pop3d_counters_in_stats(make_postern, admin_user):
    p = make_postern(start=False)
    subprocess.run(["usermod", "-a", "-G", "postern-admin", admin_user], check=True)
    p.start_all(pop3=True)

    def stats():
        return json.loads(p.ctl("stats", "--json").stdout)
    # (start_pop3d's probe for the greeting is a connection too)
    base = wait_for(lambda: stats().get("pop3d_connections_total"), timeout=10,
                    what="pop3d's counters")
    send(p, "alice@example.test", ["bob@example.test"], "pop")
    p.wait_mail("bob", 1)
    c = poplib.POP3("127.0.0.1", p.pop3_port, timeout=30)
    c.user("bob")
    with pytest.raises(poplib.error_proto):
        c.pass_("not the password")
    c.quit()
    c = poplib.POP3("127.0.0.1", p.pop3_port, timeout=30)
    c.user("bob")
    c.pass_(USERS["bob"])
    assert c.stat()[0] == 1
    s = wait_for(lambda: (lambda s: s.get('pop3d_logins_total{result="ok"}') == 1 and
                          s["pop3d_sessions_now"] == 1 and s)(stats()),
                 timeout=10, what="the login counted")
    assert s['pop3d_logins_total{result="failed"}'] == 1
    assert s["pop3d_connections_total"] == base + 2 and s["pop3d_sessions_total"] == 1
    c.quit()
    wait_for(lambda: (lambda s: s["pop3d_sessions_now"] == 0 and s["pop3d_connections_now"] == 0)(stats()),
             timeout=10, what="the session over")
    prom = p.ctl("stats", "--prometheus").stdout.splitlines()
    assert "# TYPE postern_pop3d_logins_total counter" in prom
    assert 'postern_pop3d_logins_total{result="ok"} 1' in prom

    # the file is root's, readable by group postern-admin
    path = os.path.join(p.spool, "run", "pop3d.stats")
    st = os.stat(path)
    assert st.st_uid == 0 and st.st_gid == grp.getgrnam("postern-admin").gr_gid
    assert oct(st.st_mode & 0o777) == "0o640"
    open_path_to(p.conf)
    open_path_to(os.path.join(BUILD, "posternctl"))
    r = run_as(admin_user, p, "stats", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["pop3d_sessions_total"] == 1

    # a burst of logins makes root rewrite the file at most once a second,
    # not at every session's start and end
    replaced, elapsed = count_replacements(os.path.dirname(path), "pop3d.stats",
                                           lambda: burst_of_logins(p, 20))
    assert replaced <= elapsed + 2, (replaced, elapsed)
    s = wait_for(lambda: (lambda s: s["pop3d_sessions_now"] == 0 and s)(stats()),
                 timeout=10, what="the burst counted")
    assert s["pop3d_sessions_total"] >= 11

    # a stopped pop3d has no counters
    p.stop("pop3d")
    assert not os.path.exists(path)
    assert not any(k.startswith("pop3d_") for k in stats())


def burst_of_logins(p, n):
    """n POP3 logins in a row, each a mail session (a session that finds
    the maildrop still locked answers -ERR [IN-USE] and closes)"""
    done = 0
    for user in (["alice", "carol"] * n)[:n]:
        c = poplib.POP3("127.0.0.1", p.pop3_port, timeout=30)
        c.user(user)
        try:
            c.pass_(USERS[user])
            done += 1
            c.quit()
        except (poplib.error_proto, OSError):
            c.close()
    assert done >= n // 2, done


def count_replacements(directory, name, action):
    """how often a file in directory was replaced by a rename while
    action ran (inotify IN_MOVED_TO), and how many seconds it ran"""
    import ctypes
    import struct
    libc = ctypes.CDLL(None, use_errno=True)
    fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
    assert fd >= 0, os.strerror(ctypes.get_errno())
    try:
        # IN_CREATE too: the kernel merges an event into an identical
        # unread one, and the temporary file's creation keeps them apart
        assert libc.inotify_add_watch(fd, directory.encode(), 0x100 | 0x80) >= 0
        start = time.monotonic()
        action()
        elapsed = time.monotonic() - start
        time.sleep(2.5)  # the last change's write, a tick later
        count, data = 0, b""
        while True:
            try:
                chunk = os.read(fd, 65536)
            except BlockingIOError:
                break
            data += chunk
        off = 0
        while off + 16 <= len(data):
            _, mask, _, nlen = struct.unpack_from("iIII", data, off)
            if mask & 0x80 and data[off + 16:off + 16 + nlen].rstrip(b"\0") == name.encode():
                count += 1
            off += 16 + nlen
        return count, elapsed + 2.5
    finally:
        os.close(fd)


def test_actions_leave_recipients_in_delivery_alone(make_postern, mx_peer, unbound_server):
    """A message whose local recipient is delivered while its remote one
    is still being sent (the MX takes its time over DATA): bounce and
    hold must not touch either. The local result is in but not yet
    written to the index (it is written when the whole message is
    done); acting on it would report a delivered recipient as failed."""
    port = free_port()
    mx_peer("127.0.0.1", port=port, data_delay=6)
    p = make_postern(relay="127.0.0.0/8", dns=unbound_server,
                     extra_conf=f"relayhost 127.0.0.1:{port}\n")
    send(p, "alice@example.test", ["bob@example.test", "far@slow.test"], "in delivery")
    p.wait_mail("bob", 1)
    qid = queue_json(p)[0]["id"]
    assert p.ctl("bounce", qid, check=False).stdout.strip() == "0 messages returned to sender"
    assert p.ctl("hold", "--all").stdout.strip() == "0 messages held"
    wait_for(lambda: queue_json(p) == [], timeout=60, what="the remote recipient sent")
    time.sleep(1)
    assert p.maildir_files("alice") == []   # no report
    log = p.log("queued")
    assert "to=<far@slow.test>" in log and "status=sent" in log
    assert "returned to sender by the administrator" not in log
