"""TLS and authenticated submission in smtpd: STARTTLS on 25 and 587
(RFC 3207), implicit TLS on 465 (RFC 8314), AUTH PLAIN and LOGIN
(RFC 4954) through the auth helper, the submission rules (RFC 6409), the
plaintext-injection class of CVE-2011-0411, failed-login delays, and
certificate reload on SIGHUP. Real clients: swaks, curl, msmtp,
openssl s_client and Python's smtplib/ssl verifying against the demo
CA."""
import base64
import email
import os
import shutil
import signal
import smtplib
import socket
import ssl
import subprocess
import threading
import time

import pytest

from conftest import IS_ROOT, ROOT, client_tls_context, free_port, own_cert_dir, wait_for

HOST = "mail.example.test"


def ca(p):
    return p.tls["ca"]


def swaks(p, port, *args):
    r = subprocess.run(["swaks", "--server", "127.0.0.1", "--port", str(port),
                        "--tls-ca-path", ca(p), "--tls-verify",
                        *args], capture_output=True, text=True, timeout=60)
    return r


def submit(port, user="alice", password="wonderland", implicit=False, source=None):
    """An smtplib client, logged in over verified TLS."""
    ctx = client_tls_context()
    src = (source, 0) if source else None
    if implicit:
        c = smtplib.SMTP_SSL("127.0.0.1", port, context=ctx, timeout=30, source_address=src,
                             local_hostname="client.example")
    else:
        c = smtplib.SMTP("127.0.0.1", port, timeout=30, source_address=src,
                         local_hostname="client.example")
        c.starttls(context=ctx)
    c.ehlo("client.example")
    if user:
        c.login(user, password)
    return c


def verified_ctx():
    ctx = client_tls_context()
    ctx.check_hostname = False  # we connect to 127.0.0.1; the chain is still verified
    return ctx


def message(frm="alice@example.test", to="bob@example.test", extra=""):
    return (f"From: {frm}\r\nTo: {to}\r\nSubject: hello\r\n{extra}\r\n"
            "body line\r\n").encode()


# ---- TLS itself ----

def test_swaks_starttls_and_auth_plain_on_587(postern):
    r = swaks(postern, postern.sub_port, "--tls", "--auth", "PLAIN", "--auth-user", "alice",
              "--auth-password", "wonderland", "--from", "alice@example.test",
              "--to", "bob@example.test")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "TLS started" in r.stdout
    assert "235 2.7.0" in r.stdout
    postern.wait_mail("bob", 1)


def test_swaks_implicit_tls_and_auth_login_on_465(postern):
    r = swaks(postern, postern.subs_port, "--tlsc", "--auth", "LOGIN", "--auth-user", "bob",
              "--auth-password", "builder", "--from", "bob@example.test",
              "--to", "alice@example.test")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "334 VXNlcm5hbWU6" in r.stdout and "235 2.7.0" in r.stdout
    postern.wait_mail("alice", 1)


def test_curl_smtps_and_smtp_ssl_reqd(postern, tmp_path):
    msg = tmp_path / "m.txt"
    msg.write_bytes(message())
    for url, extra in ((f"smtps://{HOST}:{postern.subs_port}", []),
                       (f"smtp://{HOST}:{postern.sub_port}", ["--ssl-reqd"])):
        port = url.rsplit(":", 1)[1]
        r = subprocess.run(["curl", "-sS", url, "--resolve", f"{HOST}:{port}:127.0.0.1",
                            "--cacert", ca(postern), "--user", "alice:wonderland",
                            "--mail-from", "alice@example.test", "--mail-rcpt", "bob@example.test",
                            "--upload-file", str(msg), *extra],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
    postern.wait_mail("bob", 2)


def test_msmtp_as_a_users_submission_client(postern, tmp_path):
    rc = tmp_path / "msmtprc"
    rc.write_text(f"""defaults
tls on
tls_trust_file {ca(postern)}
account postern
host 127.0.0.1
tls_host_override {HOST}
port {postern.sub_port}
tls_starttls on
auth plain
user alice
password wonderland
from alice@example.test
account default : postern
""")
    rc.chmod(0o600)
    r = subprocess.run(["msmtp", "-C", str(rc), "bob@example.test"],
                       input=message(), capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr
    postern.wait_mail("bob", 1)


def test_smtplib_starttls_and_smtp_ssl_verify_the_certificate(postern):
    for implicit, port in ((False, postern.sub_port), (True, postern.subs_port)):
        c = submit(port, implicit=implicit)
        assert c.sock.version() in ("TLSv1.2", "TLSv1.3")
        c.sendmail("alice@example.test", ["bob@example.test"], message())
        c.quit()
    postern.wait_mail("bob", 2)
    # a client that trusts nothing but the system CAs refuses the demo certificate
    with pytest.raises(ssl.SSLCertVerificationError):
        smtplib.SMTP_SSL("127.0.0.1", postern.subs_port, timeout=30,
                         context=ssl.create_default_context())


def test_openssl_s_client_starttls_smtp(postern):
    r = subprocess.run(["openssl", "s_client", "-starttls", "smtp", "-connect",
                        f"127.0.0.1:{postern.port}", "-CAfile", ca(postern),
                        "-verify_return_error", "-servername", HOST, "-brief"],
                       input=b"EHLO x\r\nQUIT\r\n", capture_output=True, timeout=60)
    out = (r.stdout + r.stderr).decode(errors="replace")
    assert "Verification: OK" in out, out
    assert "Protocol version: TLSv1.3" in out


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # asking for TLS 1.1 on purpose
def test_only_tls_12_and_13_with_forward_secret_ciphers(postern):
    ctx = verified_ctx()
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    with socket.create_connection(("127.0.0.1", postern.subs_port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname=HOST) as s:
            assert s.version() == "TLSv1.2"
            name = s.cipher()[0]
            assert name.startswith("ECDHE-") and ("GCM" in name or "CHACHA20" in name)
    ctx = verified_ctx()
    ctx.minimum_version = ssl.TLSVersion.TLSv1
    ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    with socket.create_connection(("127.0.0.1", postern.subs_port), timeout=10) as raw:
        with pytest.raises((ssl.SSLError, ConnectionError)):
            ctx.wrap_socket(raw, server_hostname=HOST).recv(10)


def raw_starttls(port, injected):
    """EHLO, then STARTTLS with `injected` in the same packet, then the
    handshake; returns the TLS socket and what it says to EHLO."""
    s = socket.create_connection(("127.0.0.1", port), timeout=20)
    f = s.makefile("rb")
    assert f.readline().startswith(b"220")
    s.sendall(b"EHLO client.example\r\n")
    while not f.readline().startswith(b"250 "):
        pass
    s.sendall(b"STARTTLS\r\n" + injected)
    assert f.readline().startswith(b"220 2.0.0")
    t = verified_ctx().wrap_socket(s, server_hostname=HOST)
    t.sendall(b"EHLO client.example\r\n")
    tf = t.makefile("rb")
    return t, tf


@pytest.mark.parametrize("which", ["smtp", "submission"])
def test_command_pipelined_behind_starttls_is_not_executed(postern, which):
    port = postern.port if which == "smtp" else postern.sub_port
    t, tf = raw_starttls(port, b"NOOP\r\nMAIL FROM:<evil@example.test>\r\n")
    first = tf.readline()
    # the first answer under TLS is EHLO's, not NOOP's 250 2.0.0 Ok
    assert first.startswith(b"250-mail.example.test"), first
    lines = [first]
    while not lines[-1].startswith(b"250 "):
        lines.append(tf.readline())
    assert not any(b"STARTTLS" in l for l in lines)  # not offered twice
    t.sendall(b"STARTTLS\r\n")
    assert tf.readline().startswith(b"554 5.5.1")
    t.sendall(b"RCPT TO:<bob@example.test>\r\n")
    # the injected MAIL did not open a transaction
    assert tf.readline().startswith(b"503 5.5.1")
    t.close()
    wait_for(lambda: "sent after STARTTLS before the handshake: discarded" in postern.log("smtpd"),
             what="discard logged")


def test_session_state_is_reset_by_starttls(postern):
    s = socket.create_connection(("127.0.0.1", postern.port), timeout=20)
    f = s.makefile("rb")
    f.readline()
    s.sendall(b"EHLO client.example\r\n")
    while not f.readline().startswith(b"250 "):
        pass
    s.sendall(b"MAIL FROM:<x@example.test>\r\n")
    assert f.readline().startswith(b"250")
    s.sendall(b"STARTTLS\r\n")
    assert f.readline().startswith(b"220")
    t = verified_ctx().wrap_socket(s, server_hostname=HOST)
    tf = t.makefile("rb")
    # no EHLO yet under TLS: MAIL must wait for it (RFC 3207 4.2)
    t.sendall(b"MAIL FROM:<x@example.test>\r\n")
    assert tf.readline().startswith(b"503 5.5.1")
    t.close()


def test_port_25_starttls_records_esmtps_and_cipher(postern):
    c = smtplib.SMTP("127.0.0.1", postern.port, timeout=30, local_hostname="client.example")
    c.starttls(context=verified_ctx())
    c.sendmail("someone@remote.example", ["bob@example.test"], message("someone@remote.example"))
    c.quit()
    postern.wait_mail("bob", 1)
    msg = email.message_from_bytes(postern.read_mail("bob")[0])
    rcv = msg["Received"]
    assert "with ESMTPS id" in rcv
    assert "using TLSv1.3 with cipher" in rcv
    assert "client.example" in rcv and "[127.0.0.1]" in rcv  # an MX hop names its client


def test_plain_text_on_the_implicit_tls_port_is_a_failed_handshake(postern):
    with socket.create_connection(("127.0.0.1", postern.subs_port), timeout=10) as s:
        s.sendall(b"EHLO client.example\r\n")
        s.settimeout(10)
        try:
            data = s.recv(100)
        except ConnectionResetError:
            data = b""
        assert not data.startswith(b"220")
    wait_for(lambda: "TLS handshake failed" in postern.log("smtpd"), what="handshake failure log")
    c = submit(postern.subs_port, implicit=True)  # still serving
    c.quit()


# ---- AUTH and the submission rules ----

def test_auth_is_offered_on_submission_only_and_never_on_port_25(postern):
    c = smtplib.SMTP("127.0.0.1", postern.port, timeout=30)
    c.starttls(context=verified_ctx())
    c.ehlo()
    assert not c.has_extn("auth")
    code, text = c.docmd("AUTH PLAIN " + base64.b64encode(b"\0alice\0wonderland").decode())
    assert code == 503, text
    c.quit()
    c = submit(postern.sub_port, user=None)
    assert c.has_extn("auth") and "PLAIN" in c.esmtp_features["auth"]
    c.quit()


def test_auth_needs_tls_unless_loopback_is_allowed(make_postern):
    p = make_postern(extra_conf="auth_loopback_plaintext no")
    c = smtplib.SMTP("127.0.0.1", p.sub_port, timeout=30)
    c.ehlo()
    assert not c.has_extn("auth")
    assert c.has_extn("starttls")
    code, text = c.docmd("AUTH PLAIN " + base64.b64encode(b"\0alice\0wonderland").decode())
    assert code == 538 and b"5.7.11" in text
    code, text = c.docmd("MAIL FROM:<alice@example.test>")
    assert code == 530 and b"STARTTLS" in text
    c.starttls(context=verified_ctx())
    c.ehlo()
    assert c.has_extn("auth")
    c.login("alice", "wonderland")
    c.quit()


def test_loopback_plaintext_auth_by_default(postern):
    c = smtplib.SMTP("127.0.0.1", postern.sub_port, timeout=30)
    c.ehlo()
    assert c.has_extn("auth")
    c.login("alice", "wonderland")
    c.sendmail("alice@example.test", ["bob@example.test"], message())
    c.quit()
    postern.wait_mail("bob", 1)
    msg = email.message_from_bytes(postern.read_mail("bob")[0])
    assert "with ESMTPA id" in msg["Received"]


def test_unauthenticated_mail_on_587_is_refused(postern):
    c = submit(postern.sub_port, user=None)
    code, text = c.docmd("MAIL FROM:<alice@example.test>")
    assert code == 530 and b"5.7.0" in text
    code, _ = c.docmd("RCPT TO:<someone@remote.example>")
    assert code == 503
    c.quit()


def test_wrong_password_gets_535_after_the_delay(make_postern):
    p = make_postern(extra_conf="auth_failure_delay 700ms")
    c = submit(p.sub_port, user=None)
    t0 = time.monotonic()
    with pytest.raises(smtplib.SMTPAuthenticationError) as e:
        c.login("alice", "wrong")
    assert time.monotonic() - t0 >= 0.65
    assert e.value.smtp_code == 535 and b"5.7.8" in e.value.smtp_error
    # unknown user: the same answer
    t0 = time.monotonic()
    code, text = c.docmd("AUTH PLAIN " + base64.b64encode(b"\0nobody\0x").decode())
    assert code == 535 and b"5.7.8" in text
    assert time.monotonic() - t0 >= 0.65
    # the session goes on: the right password still works
    c.login("alice", "wonderland")
    c.quit()


def test_auth_protocol_errors(postern):
    c = submit(postern.sub_port, user=None)
    assert c.docmd("AUTH CRAM-MD5")[0] == 504
    assert c.docmd("AUTH PLAIN not*base64")[0] == 501
    code, _ = c.docmd("AUTH PLAIN")
    assert code == 334
    assert c.docmd("*")[0] == 501  # cancelled
    code, _ = c.docmd("AUTH LOGIN")
    assert code == 334
    code, text = c.docmd(base64.b64encode(b"alice").decode())
    assert code == 334 and text == b"UGFzc3dvcmQ6"
    assert c.docmd(base64.b64encode(b"wonderland").decode())[0] == 235
    assert c.docmd("AUTH PLAIN " + base64.b64encode(b"\0alice\0wonderland").decode())[0] == 503
    c.quit()
    # acting as another user (authzid) is not offered
    c = submit(postern.sub_port, user=None)
    code, _ = c.docmd("AUTH PLAIN " + base64.b64encode(b"bob\0alice\0wonderland").decode())
    assert code == 535
    c.quit()


def test_long_auth_line_is_accepted_and_other_long_lines_are_not(postern):
    c = submit(postern.sub_port, user=None)
    pw = "p" * 500
    code, _ = c.docmd("AUTH PLAIN " + base64.b64encode(b"\0alice\0" + pw.encode()).decode())
    assert code == 535  # a 1000+ octet AUTH line reached the password check
    assert c.docmd("NOOP " + "x" * 1200)[0] == 500
    c.quit()


def failing_logins(port, source, n):
    """n wrong-password attempts in parallel from source; their codes."""
    codes = []
    lock = threading.Lock()

    def one():
        try:
            c = submit(port, user=None, source=source)
            code, _ = c.docmd("AUTH PLAIN " + base64.b64encode(b"\0alice\0guess").decode())
            c.close()
        except (OSError, smtplib.SMTPException) as e:
            code = repr(e)
        with lock:
            codes.append(code)
    threads = [threading.Thread(target=one) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return codes


def test_many_wrong_passwords_from_one_address(make_postern):
    p = make_postern(extra_conf="auth_failure_delay 200ms\nauth_failure_limit 20\n"
                                "max_sessions_per_ip 100")
    codes = failing_logins(p.sub_port, "127.0.4.1", 20)
    assert codes.count(535) == 20, codes
    # delays grew: the log shows the doubling up to 16 times
    log = p.log("smtpd")
    assert "answering in 200 ms" in log and "answering in 3200 ms" in log
    t0 = time.monotonic()
    codes = failing_logins(p.sub_port, "127.0.4.1", 30)
    assert codes == [454] * 30, codes  # refused at once, without a password check
    assert time.monotonic() - t0 < 3.2
    # alice herself, from her own address, gets in without waiting out
    # the penalty her name has collected
    t0 = time.monotonic()
    c = submit(p.sub_port, source="127.0.4.2")
    assert time.monotonic() - t0 < 3.2
    c.quit()


def test_sender_must_belong_to_the_user(make_postern):
    p = make_postern(extra_conf="sender_grant bob @partner.example\n"
                                "sender_grant carol news@example.org")
    c = submit(p.sub_port)  # alice
    for sender, want in (("alice@example.test", 250), ("ALICE@example.org", 250),
                         ("postmaster@example.test", 250),  # an alias of alice
                         ("team@example.test", 250),        # a list alice is on
                         ("", 250),                          # auto-replies
                         ("bob@example.test", 553), ("nobody@example.test", 553),
                         ("alice@remote.example", 553), ("x@partner.example", 553)):
        code, text = c.docmd(f"MAIL FROM:<{sender}>")
        assert code == want, (sender, text)
        if code == 553:
            assert b"5.7.1" in text
        c.rset()
    c.quit()
    c = submit(p.sub_port, "bob", "builder")
    assert c.docmd("MAIL FROM:<x@partner.example>")[0] == 250
    c.rset()
    assert c.docmd("MAIL FROM:<postmaster@example.test>")[0] == 553
    c.quit()
    c = submit(p.sub_port, "carol", "secret")
    assert c.docmd("MAIL FROM:<news@example.org>")[0] == 250
    c.rset()
    assert c.docmd("MAIL FROM:<other@example.org>")[0] == 553
    c.quit()


def test_authenticated_user_relays_anywhere(make_postern):
    p = make_postern()  # relay_networks does not include loopback here
    c = submit(p.sub_port)
    c.docmd("MAIL FROM:<alice@example.test>")
    code, _ = c.docmd("RCPT TO:<friend@elsewhere.example>")
    assert code == 250
    c.quit()
    c = smtplib.SMTP("127.0.0.1", p.port, timeout=30)
    c.ehlo()
    c.docmd("MAIL FROM:<alice@example.test>")
    code, text = c.docmd("RCPT TO:<friend@elsewhere.example>")
    assert code == 554 and b"5.7.1" in text  # port 25: relay only for relay_networks
    c.quit()


def test_submission_adds_date_and_message_id_and_hides_the_client(postern):
    c = submit(postern.sub_port)
    c.sendmail("alice@example.test", ["bob@example.test"],
               b"From: alice@example.test\r\nSubject: no date\r\n\r\nhi\r\n")
    c.sendmail("alice@example.test", ["bob@example.test"],
               message(extra="Date: Mon, 1 Jan 2024 00:00:00 +0000\r\n"
                             "Message-ID: <mine@client.example>\r\n"))
    c.quit()
    # port 25 adds nothing
    c = smtplib.SMTP("127.0.0.1", postern.port, timeout=30)
    c.sendmail("x@remote.example", ["bob@example.test"], b"Subject: mx\r\n\r\nhi\r\n")
    c.quit()
    postern.wait_mail("bob", 3)
    msgs = [email.message_from_bytes(m) for m in postern.read_mail("bob")]
    by_subject = {m["Subject"]: m for m in msgs}
    added = by_subject["no date"]
    assert added["Date"] and added["Message-ID"].endswith("@mail.example.test>")
    assert email.utils.parsedate_to_datetime(added["Date"])
    # added where the header section ends, before the body
    raw = added.as_bytes()
    assert raw.index(b"Message-ID:") < raw.index(b"\n\nhi")
    kept = by_subject["hello"]
    assert kept.get_all("Date") == ["Mon, 1 Jan 2024 00:00:00 +0000"]
    assert kept.get_all("Message-ID") == ["<mine@client.example>"]
    mx = by_subject["mx"]
    assert mx["Date"] is None and mx["Message-ID"] is None
    rcv = added["Received"]
    assert "with ESMTPSA" in rcv and "authenticated" in rcv and "TLSv1.3" in rcv
    assert "127.0.0.1" not in rcv and "client.example" not in rcv
    assert "wonderland" not in added.as_string()


def test_missing_headers_with_a_header_section_over_64k(postern):
    """The write buffer fills before the header section ends: Date: and
    Message-ID: go on top, and no header line is split or continued."""
    big = "".join(f" folded-line-{i:05d} " + "x" * 50 + "\r\n" for i in range(1200))
    msg = ("From: alice@example.test\r\nX-Big: start\r\n" + big +
           "Subject: after the big one\r\n\r\nbody\r\n").encode()
    assert len(msg) > 70000
    c = submit(postern.sub_port)
    c.sendmail("alice@example.test", ["bob@example.test"], msg)
    c.quit()
    m = email.message_from_bytes(postern.wait_mail("bob", 1)[0])
    assert m["Subject"] == "after the big one"
    assert m["Date"] and m["Message-ID"]
    assert m["X-Big"].count("folded-line-") == 1200
    assert "folded" not in m["Message-ID"] and "folded" not in m["Date"]
    assert m.get_payload().strip() == "body"


def test_received_names_the_client_when_configured(make_postern):
    p = make_postern(extra_conf="submission_hide_client no")
    c = submit(p.sub_port)
    c.sendmail("alice@example.test", ["bob@example.test"], message())
    c.quit()
    p.wait_mail("bob", 1)
    rcv = email.message_from_bytes(p.read_mail("bob")[0])["Received"]
    assert "from client.example ([127.0.0.1])" in rcv and "ESMTPSA" in rcv


def test_tls_config_errors_name_the_problem(make_postern, tmp_path):
    p = make_postern(start=False, tls=False)
    base = open(p.conf).read()
    smtpd = os.path.join(os.environ.get("POSTERN_BUILD", os.path.join(ROOT, "build")), "smtpd")

    def run_with(extra):
        conf = tmp_path / "bad.conf"
        conf.write_text(base + extra)
        return subprocess.run([smtpd, "-f", str(conf)], capture_output=True, text=True,
                              timeout=30)
    r = run_with(f"listen submissions 127.0.0.1:{free_port()}\n")
    assert r.returncode != 0 and "needs tls_certificate and tls_key" in r.stderr
    r = run_with(f"tls_certificate {p.etc}/cert.pem\n")
    assert r.returncode != 0 and "tls_certificate and tls_key go together" in r.stderr
    bad = tmp_path / "bad.pem"
    bad.write_text("not a certificate\n")
    r = run_with(f"tls_certificate {bad}\ntls_key {bad}\n")
    assert r.returncode != 0 and "TLS:" in r.stderr and "certificate" in r.stderr, r.stderr


def peer_cert(port):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with verified_ctx().wrap_socket(raw, server_hostname=HOST) as s:
            return s.getpeercert(binary_form=True)


def test_sighup_reloads_the_certificate_without_dropping_sessions(make_postern, tmp_path):
    certdir = own_cert_dir(tmp_path)
    subs = free_port()
    p = make_postern(tls=False, extra_conf=f"tls_certificate {certdir}/cert.pem\n"
                                           f"tls_key {certdir}/key.pem\n"
                                           f"listen submissions 127.0.0.1:{subs}")
    p.tls = client_tls_files()
    before = peer_cert(subs)
    c = submit(subs, implicit=True)
    # a new certificate from a new CA, put in place the way certbot does
    newdir = tmp_path / "new"
    subprocess.run(["sh", os.path.join(ROOT, "etc", "make-cert.sh"), str(newdir), HOST],
                   check=True, timeout=60)
    shutil.copy(newdir / "cert.pem", certdir / "cert.pem")
    shutil.copy(newdir / "key.pem", certdir / "key.pem")
    p.procs["smtpd"].send_signal(signal.SIGHUP)
    wait_for(lambda: "TLS: certificate reloaded" in p.log("smtpd"), what="reload")
    ctx = ssl.create_default_context(cafile=str(newdir / "ca.pem"))
    ctx.check_hostname = False
    with socket.create_connection(("127.0.0.1", subs), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname=HOST) as s:
            after = s.getpeercert(binary_form=True)
    assert after != before
    # the session from before goes on
    c.sendmail("alice@example.test", ["bob@example.test"], message())
    c.quit()
    p.wait_mail("bob", 1)
    # a broken file is refused and the certificate in use stays
    (certdir / "key.pem").write_text("garbage\n")
    p.procs["smtpd"].send_signal(signal.SIGHUP)
    wait_for(lambda: "keeping the certificate in use" in p.log("smtpd"), what="bad reload logged")
    with socket.create_connection(("127.0.0.1", subs), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname=HOST) as s:
            assert s.getpeercert(binary_form=True) == after


def client_tls_files():
    from conftest import tls_files
    return tls_files()


@pytest.mark.skipif(not IS_ROOT, reason="needs root")
def test_network_process_never_opens_the_users_file_or_the_key(postern):
    c = submit(postern.sub_port)
    pid = postern.child("smtpd", "sessions")
    users = os.path.realpath(os.path.join(postern.etc, "users"))
    key = os.path.realpath(postern.tls["key"])
    fds = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            fds.append(os.readlink(f"/proc/{pid}/fd/{fd}"))
        except OSError:
            pass
    assert users not in fds and key not in fds
    assert not any(f.endswith("/users") or f.endswith("key.pem") for f in fds), fds
    c.quit()
    # and it could not: neither file exists in its root
    root = os.readlink(f"/proc/{pid}/root")
    assert not users.startswith(root.rstrip("/") + "/")
    assert not key.startswith(root.rstrip("/") + "/")
