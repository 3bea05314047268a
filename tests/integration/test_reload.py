"""SIGHUP reloads postern.conf (posternctl reload, or a supervisor's
reload): what can change while the daemons run changes in every process
that uses it (smtpd and its auth helper; queued's queue manager, local
and remote delivery agents; pop3d's login process, auth helper and new
sessions) without a restart: the same pids serve before and after. What
needs a restart (listen, spool, ...) keeps its running value and the log
says so; a file that does not parse changes nothing and the log says
where it is wrong, as file:line."""
import os
import poplib
import re
import signal
import smtplib

import pytest

from conftest import free_port, wait_for


def edit_conf(p, *pairs):
    """Replaces lines of postern.conf (old, new); new "" drops a line,
    old None appends new."""
    with open(p.conf) as f:
        text = f.read()
    for old, new in pairs:
        if old is None:
            text += new + "\n"
        else:
            assert old + "\n" in text, old
            text = text.replace(old + "\n", new + "\n" if new else "")
    with open(p.conf, "w") as f:
        f.write(text)


def reloaded(p, name, count):
    """The log once it shows count reloads (taken or refused)."""
    log = p.log(name)
    done = re.findall(r"SIGHUP: .*(?:reloaded; changed|the running configuration stays)", log)
    return len(done) >= count and log


def pids(p, roles):
    return {(d, r): p.child(d, r) for d, r in roles} | {d: p.procs[d].pid for d, _ in roles}


def ehlo(p):
    with smtplib.SMTP(local_hostname="client.example.test", timeout=30) as s:
        code, banner = s.connect(p.smtp_host, p.port)
        assert code == 220
        code, text = s.ehlo()
        assert code == 250
        return banner.decode(), s.esmtp_features


def rcpt_code(p, rcpt):
    with smtplib.SMTP(p.smtp_host, p.port, local_hostname="client.example.test", timeout=30) as s:
        s.ehlo()
        s.mail("someone@example.net")
        code, text = s.rcpt(rcpt)
        return code, text.decode()


ROLES = [("smtpd", "sessions"), ("smtpd", "auth helper"), ("queued", "queue manager"),
         ("queued", "local delivery"), ("queued", "auth helper"), ("queued", "remote delivery")]


def test_reload_changes_live_settings_in_place(postern):
    p = postern
    banner, feats = ehlo(p)
    assert banner.startswith("mail.example.test ESMTP")
    assert feats["size"] == str(35 * 1024 * 1024)
    code, text = rcpt_code(p, "alice@example.net")
    assert code == 554 or code == 550, text
    before = pids(p, ROLES)
    assert all(before.values()), before
    # a session open across the reload: not a relay client before it
    held = smtplib.SMTP(p.smtp_host, p.port, timeout=30)
    held.ehlo("client.example.test")
    held.mail("someone@example.net")
    assert held.rcpt("x@remote.example")[0] == 554

    new_port = free_port()
    edit_conf(p, ("hostname mail.example.test", "hostname mx2.example.test"),
              ("domain example.test example.org", "domain example.test example.org example.net"),
              (f"listen smtp 127.0.0.1:{p.port}", f"listen smtp 127.0.0.1:{new_port}"),
              ("relay_networks 10.255.255.0/24", "relay_networks 127.0.0.0/8"),
              (None, "max_message_size 64k"))
    r = p.ctl("reload")
    assert "signalled" in r.stdout
    for name in ("smtpd", "queued"):
        log = wait_for(lambda: reloaded(p, name, 1), timeout=10, what=f"{name} reloaded")
        line = [ln for ln in log.splitlines() if "SIGHUP: " in ln and "reloaded" in ln][-1]
        assert "changed: hostname, domain, relay_networks, max_message_size" in line, line
        assert "needs a restart to change: listen" in line, line

    # the same processes, on the old listener, with the new settings
    # (the log line is the monitor's; the worker takes them just after)
    banner, feats = wait_for(lambda: (lambda b, f: b.startswith("mx2.example.test ESMTP") and (b, f))(
        *ehlo(p)), timeout=10, what="smtpd's new settings")
    assert feats["size"] == str(64 * 1024)
    assert pids(p, ROLES) == before
    # relay_networks is asked at each RCPT: the open session may relay now
    held.rset()
    held.mail("someone@example.net")
    assert held.rcpt("x@remote.example")[0] == 250
    held.quit()
    # a new local domain: smtpd takes the recipient, the queue manager
    # and the local agent deliver it, the Maildir file name says the new
    # host name
    with smtplib.SMTP(p.smtp_host, p.port, timeout=30) as s:
        assert s.sendmail("someone@example.net", ["alice@example.net"],
                          b"Subject: after reload\r\n\r\nhello\r\n") == {}
        with pytest.raises(smtplib.SMTPSenderRefused) as e:
            s.sendmail("someone@example.net", ["alice@example.test"],
                       b"Subject: big\r\n\r\n" + b"x" * 70000 + b"\r\n")
        assert e.value.smtp_code == 552
    (msg,) = p.wait_mail("alice", 1)
    assert b"Subject: after reload" in msg
    assert b"by mx2.example.test" in msg
    assert ".mx2.example.test," in os.path.basename(p.maildir_files("alice")[0])
    # the listen change waits for a restart
    with pytest.raises(OSError):
        smtplib.SMTP("127.0.0.1", new_port, timeout=5)


def test_bad_config_changes_nothing(postern):
    p = postern
    edit_conf(p, (None, "max_message_size 64k"), (None, "max_recipients 0"))
    lineno = open(p.conf).read().splitlines().index("max_recipients 0") + 1
    # posternctl reload checks first and signals nobody
    r = p.ctl("reload", check=False)
    assert r.returncode == 1
    assert f"postern.conf:{lineno}:" in r.stderr
    assert "SIGHUP" not in p.log("smtpd")
    # a SIGHUP from elsewhere (a supervisor) finds the same error
    p.procs["smtpd"].send_signal(signal.SIGHUP)
    log = wait_for(lambda: reloaded(p, "smtpd", 1), timeout=10, what="smtpd SIGHUP")
    assert re.search(rf"SIGHUP: \S*postern\.conf:{lineno}: .*; the running configuration stays", log), log
    _, feats = ehlo(p)
    assert feats["size"] == str(35 * 1024 * 1024)
    assert p.procs["smtpd"].poll() is None


def test_reload_reaches_the_remote_delivery_agent(make_postern, mx_peer, unbound_server):
    port = free_port()
    peer = mx_peer("127.0.0.1", port=port)
    p = make_postern(relay="127.0.0.0/8", dns=unbound_server,
                     extra_conf=f"relayhost 127.0.0.1:{port}\n")
    with smtplib.SMTP(p.smtp_host, p.port, timeout=30) as s:
        s.sendmail("alice@example.test", ["x@remote.test"], b"Subject: one\r\n\r\n1\r\n")
    peer.wait_messages(1)
    # a connection opened before the reload ends when idle, not sooner;
    # the next one greets with the new name
    wait_for(lambda: peer.sessions[0].ended, what="first session over")
    agent = p.child("queued", "remote delivery")
    edit_conf(p, ("hostname mail.example.test", "hostname mx2.example.test"),
              (f"relayhost 127.0.0.1:{port}", f"relayhost 127.0.0.1:{port + 1}"))
    p.ctl("reload")
    log = wait_for(lambda: reloaded(p, "queued", 1), timeout=10, what="queued reloaded")
    assert "needs a restart to change: relayhost" in log
    with smtplib.SMTP(p.smtp_host, p.port, timeout=30) as s:
        s.sendmail("alice@example.test", ["y@remote.test"], b"Subject: two\r\n\r\n2\r\n")
    peer.wait_messages(2)
    assert [ses.ehlo for ses in peer.sessions][-1] == "mx2.example.test"
    assert peer.sessions[0].ehlo == "mail.example.test"
    assert p.child("queued", "remote delivery") == agent


def test_reload_reaches_pop3d(make_postern):
    p = make_postern(pop3=True)
    with smtplib.SMTP(p.smtp_host, p.port, timeout=30) as s:
        s.sendmail("someone@example.net", ["alice@example.test"], b"Subject: pop\r\n\r\nx\r\n")
    p.wait_mail("alice", 1)
    login = p.child("pop3d", "login")
    helper = p.child("pop3d", "auth helper")

    def pop_login(user):
        c = poplib.POP3("127.0.0.1", p.pop3_port, timeout=30)
        try:
            c.user(user)
            c.pass_("wonderland")
            return c.stat()[0]
        finally:
            try:
                c.quit()
            except (poplib.error_proto, OSError):
                pass

    assert pop_login("alice@example.test") == 1
    with pytest.raises(poplib.error_proto):
        pop_login("alice@example.net")
    edit_conf(p, ("domain example.test example.org", "domain example.test example.org example.net"))
    p.procs["pop3d"].send_signal(signal.SIGHUP)
    wait_for(lambda: reloaded(p, "pop3d", 1), timeout=10, what="pop3d reloaded")
    # the auth helper knows the new domain
    wait_for(lambda: pop_login_ok(pop_login, "alice@example.net"), timeout=10,
             what="login with the new domain")
    # passwords without TLS from loopback: refused once turned off
    edit_conf(p, (None, "auth_loopback_plaintext no"))
    p.procs["pop3d"].send_signal(signal.SIGHUP)
    wait_for(lambda: reloaded(p, "pop3d", 2), timeout=10, what="second reload")
    wait_for(lambda: not pop_login_ok(pop_login, "alice@example.test"), timeout=10,
             what="plaintext login refused")
    with pytest.raises(poplib.error_proto):
        pop_login("alice@example.test")
    assert p.child("pop3d", "login") == login and p.child("pop3d", "auth helper") == helper


def pop_login_ok(pop_login, user):
    try:
        return pop_login(user) == 1
    except poplib.error_proto:
        return False


def test_reload_resolver(make_postern, unbound_server):
    p = make_postern(dns=unbound_server)
    worker = p.child("resolver", "worker")
    edit_conf(p, ("dns_timeout 2s", "dns_timeout 7s"),
              (f"forward {p.dns_forward}", f"forward 127.0.0.1@{free_port()}"))
    p.procs["resolver"].send_signal(signal.SIGHUP)
    log = wait_for(lambda: reloaded(p, "resolver", 1), timeout=10, what="resolver reloaded")
    assert "changed: dns_timeout; needs a restart to change: forward" in log
    # still the same worker, still answering from the old upstream
    assert p.child("resolver", "worker") == worker
    code, lines, err = p.resolve("MX", "example.test")
    assert code == 0, err
