"""POP3 under TLS against a real pop3d: implicit TLS on the pop3s port
(RFC 8314) and STLS on the pop3 port (RFC 2595), with real clients
(Python's poplib and ssl, openssl s_client, curl, fetchmail) that check
the certificate against the demo CA. Also AUTH PLAIN (RFC 5034), the
rule that passwords travel only under TLS (or from loopback, if the
config allows), failed-login delays and the per-address limit, the
login process relaying a TLS client's bytes to its mail session (large
messages byte for byte, pipelining, slow readers, ends of sessions),
that the mail session still runs as postern-vmail in the Maildir, and
certificate reload on SIGHUP."""
import base64
import json
import os
import poplib
import re
import shutil
import signal
import socket
import ssl
import subprocess
import time

import pytest

from conftest import (IS_ROOT, LineClient, netns_with_address, own_cert_dir, ROOT, client_tls_context, free_port, tls_files,
                      wait_for)
from test_pop3 import Pop3, Pop3Lines, client_ip, maildir_count, pipelined_session, send, wait_delivered

NAME = "mail.example.test"  # what the demo certificate is for
NOT_SECURE = ("-ERR [AUTH] Plaintext authentication disallowed on non-secure "
              "(SSL/TLS) connections")
TOO_MANY = "-ERR [AUTH] Too many failed logins from your address, try again later"


def plain(user, password, authz=""):
    """An RFC 4616 PLAIN response, base64."""
    return base64.b64encode(f"{authz}\0{user}\0{password}".encode()).decode()


class Pop3S(poplib.POP3_SSL):
    """poplib over implicit TLS from a chosen loopback source address,
    verifying the server as NAME against the demo CA."""

    def __init__(self, port, source=None, context=None, timeout=30):
        self.source = source or client_ip()
        super().__init__("127.0.0.1", port, timeout=timeout,
                         context=context or client_tls_context())

    def _create_socket(self, timeout):
        sock = socket.create_connection((self.host, self.port), timeout,
                                        source_address=(self.source, 0))
        return self.context.wrap_socket(sock, server_hostname=NAME)


class RawTls(Pop3Lines, LineClient):
    """POP3 with exact bytes on the wire: TLS from the start (pop3s) or
    after STLS (starttls())."""

    def __init__(self, port, source=None, implicit=True, context=None, sock=None):
        self.ctx = context or client_tls_context()
        # an EOF without close_notify is an error, not the end
        self.ctx.options &= ~getattr(ssl, "OP_IGNORE_UNEXPECTED_EOF", 0)
        if sock is None:
            super().__init__(port, source or client_ip())
        else:
            self.s, self.buf = sock, b""
        if implicit:
            self.wrap()
        self.greeting = self.line()

    def wrap(self):
        self.s = self.ctx.wrap_socket(self.s, server_hostname=NAME, suppress_ragged_eofs=False)

    def starttls(self):
        assert self.buf == b"", "server sent more after the STLS answer"
        self.wrap()

    def closed(self, timeout=10):
        """True once the server closes cleanly (under TLS: with a
        close_notify; an EOF without one raises)."""
        self.s.settimeout(timeout)
        try:
            while True:
                chunk = self.s.recv(65536)
                if not chunk:
                    return True
                self.buf += chunk
        except socket.timeout:
            return False


@pytest.fixture
def pop(make_postern):
    return make_postern(pop3=True, extra_conf="auth_failure_delay 200ms")


def peer_der(sock):
    return sock.getpeercert(binary_form=True)


def file_der(path):
    with open(path) as f:
        pem = f.read()
    first = pem[:pem.index("-----END CERTIFICATE-----") + len("-----END CERTIFICATE-----")]
    return ssl.PEM_cert_to_DER_cert(first)


def capa(r):
    assert r.cmd("CAPA").startswith("+OK")
    return r.multi()


# ---- implicit TLS and STLS with real clients ----

def test_pop3s_poplib_verified(pop):
    send(pop, b"Subject: over tls\r\n\r\nsecret words\r\n")
    wait_delivered(pop, 1)
    c = Pop3S(pop.pop3s_port)
    assert c.getwelcome() == b"+OK postern POP3 server ready"
    assert peer_der(c.sock) == file_der(pop.tls["cert"])
    assert c.sock.version() in ("TLSv1.2", "TLSv1.3")
    caps = c.capa()
    # under TLS: passwords may be sent, STLS is no longer on offer
    assert "USER" in caps and caps.get("SASL") == ["PLAIN"] and "STLS" not in caps
    c.user("alice")
    assert c.pass_("wonderland").startswith(b"+OK Logged in, 1 messages")
    resp, lines, octets = c.retr(1)
    assert lines[-1] == b"secret words"
    assert c.quit().startswith(b"+OK Logging out")
    wait_for(lambda: re.search(r"TLS: TLSv1\.[23] with cipher", pop.log("pop3d")),
             what="TLS log line")
    assert "alice authenticated over TLSv1." in pop.log("pop3d")


def test_pop3s_refuses_unverified_and_plaintext_clients(pop):
    # a client that trusts another CA fails the handshake (its side)
    other = ssl.create_default_context()  # the system CAs, not the demo CA
    with pytest.raises(ssl.SSLCertVerificationError):
        Pop3S(pop.pop3s_port, context=other, timeout=10)
    # a client that speaks plain POP3 to the pop3s port gets nothing
    with socket.create_connection(("127.0.0.1", pop.pop3s_port), timeout=10,
                                  source_address=(client_ip(), 0)) as s:
        s.sendall(b"USER alice\r\nPASS wonderland\r\n")
        s.settimeout(10)
        got = b""
        try:
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                got += chunk
        except ConnectionResetError:
            pass
    assert b"+OK" not in got
    wait_for(lambda: pop.log("pop3d").count("TLS handshake failed") >= 2,
             what="handshake failures logged")
    assert "authenticated" not in pop.log("pop3d")


def test_stls_poplib(pop):
    send(pop, b"Subject: stls\r\n\r\nvia STLS\r\n")
    wait_delivered(pop, 1)
    c = Pop3(pop.pop3_port)
    before = c.capa()
    assert "STLS" in before and "USER" in before and before.get("SASL") == ["PLAIN"]
    assert c.stls(context=client_tls_context()).startswith(b"+OK Begin TLS")
    assert peer_der(c.sock) == file_der(pop.tls["cert"])
    after = c.capa()
    assert "STLS" not in after and "USER" in after and after.get("SASL") == ["PLAIN"]
    c.user("alice")
    assert c.pass_("wonderland").startswith(b"+OK Logged in")
    assert c.retr(1)[1][-1] == b"via STLS"
    c.quit()


def test_openssl_s_client_starttls(pop):
    send(pop, b"Subject: s_client\r\n\r\nhello s_client\r\n")
    wait_delivered(pop, 1)
    r = subprocess.run(
        ["openssl", "s_client", "-quiet", "-crlf", "-starttls", "pop3",
         "-connect", f"127.0.0.1:{pop.pop3_port}", "-servername", NAME,
         "-CAfile", pop.tls["ca"], "-verify_hostname", NAME, "-verify_return_error"],
        input=b"CAPA\nUSER alice\nPASS wonderland\nSTAT\nRETR 1\nQUIT\n",
        capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr
    out = r.stdout.decode()
    assert "+OK Logged in, 1 messages" in out
    assert "hello s_client" in out and "+OK Logging out" in out
    # the capabilities after STLS do not offer it again
    caps = out.split("+OK Capability list follows\r\n", 1)[1].split("\r\n.\r\n", 1)[0]
    assert "STLS" not in caps.split("\r\n") and "SASL PLAIN" in caps.split("\r\n")


def curl(*args):
    return subprocess.run(["curl", "-sS", "--max-time", "30", *args],
                          capture_output=True, timeout=60)


def test_curl_pop3s_and_stls(pop):
    body = b"Subject: curl tls\r\n\r\nfetched by curl over TLS\r\n.dot\r\n"
    send(pop, body)
    wait_delivered(pop, 1)
    resolve = ["--resolve", f"{NAME}:{pop.pop3s_port}:127.0.0.1",
               "--resolve", f"{NAME}:{pop.pop3_port}:127.0.0.1", "--cacert", pop.tls["ca"]]
    pop3s = f"pop3s://{NAME}:{pop.pop3s_port}"
    listing = curl(*resolve, "-u", "alice:wonderland", pop3s + "/")
    assert listing.returncode == 0, listing.stderr
    assert re.match(rb"1 \d+\r\n$", listing.stdout)
    # AUTH PLAIN with the initial response on the AUTH line
    msg = curl(*resolve, "--sasl-ir", "-u", "alice:wonderland", pop3s + "/1")
    assert msg.returncode == 0, msg.stderr
    assert msg.stdout.endswith(body)
    # STLS on the pop3 port, required
    msg = curl(*resolve, "--ssl-reqd", "-u", "alice:wonderland",
               f"pop3://{NAME}:{pop.pop3_port}/1")
    assert msg.returncode == 0, msg.stderr
    assert msg.stdout.endswith(body)
    bad = curl(*resolve, "-u", "alice:wrong", pop3s + "/1")
    assert bad.returncode != 0
    # without the CA, curl does not trust the server
    untrusted = curl("--resolve", f"{NAME}:{pop.pop3s_port}:127.0.0.1", "-u",
                     "alice:wonderland", pop3s + "/1")
    assert untrusted.returncode != 0


def fetchmail(p, tmp_path, name, port, tls_options):
    out = tmp_path / f"fetched-{name}"
    rc = tmp_path / f"fetchmailrc-{name}"
    home = tmp_path / f"home-{name}"
    home.mkdir()
    rc.write_text(
        f"poll 127.0.0.1 protocol pop3 port {port} timeout 30\n"
        f"  user alice password wonderland\n"
        f"  {tls_options} sslcertck sslcertfile {p.tls['ca']} sslcommonname {NAME}\n"
        f"  mda \"/bin/sh -c 'cat >> {out}; echo ===END=== >> {out}'\"\n")
    os.chmod(rc, 0o600)
    env = dict(os.environ, HOME=str(home), FETCHMAILHOME=str(home))
    r = subprocess.run(["fetchmail", "-v", "-f", str(rc), "--nodetach", "--nosyslog",
                        "--invisible", "--pidfile", str(home / "fm.pid")],
                       capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    return out.read_bytes(), r.stdout


def test_fetchmail_pop3s(pop, tmp_path):
    send(pop, b"Subject: fm tls 1\r\n\r\nfirst\r\n")
    send(pop, b"Subject: fm tls 2\r\n\r\n.second\r\n")
    wait_delivered(pop, 2)
    data, log = fetchmail(pop, tmp_path, "ssl", pop.pop3s_port, "ssl")
    assert "SSL/TLS: using protocol TLSv1" in log
    assert data.count(b"===END===") == 2
    assert b"Subject: fm tls 1" in data and b"\n.second\n" in data
    assert maildir_count(pop) == 0


def test_fetchmail_stls(pop, tmp_path):
    send(pop, b"Subject: fm stls\r\n\r\nupgraded\r\n")
    wait_delivered(pop, 1)
    # sslproto without "ssl": STLS on the plain port, and nothing without it
    data, log = fetchmail(pop, tmp_path, "stls", pop.pop3_port, "sslproto 'tls1.2+'")
    assert "upgrade to TLS succeeded" in log
    assert data.count(b"===END===") == 1 and b"\nupgraded\n" in data
    assert maildir_count(pop) == 0


# ---- STLS: what the client said before does not count ----

def test_stls_discards_pipelined_commands(pop):
    # everything in one packet: the USER behind STLS must not be acted on
    r = RawTls(pop.pop3_port, implicit=False)
    r.send(b"STLS\r\nUSER alice\r\n")
    assert r.line() == "+OK Begin TLS negotiation"
    r.starttls()
    assert r.cmd("PASS wonderland") == "-ERR Send USER first"
    assert r.cmd("USER alice") == "+OK"
    assert r.cmd("PASS wonderland").startswith("+OK Logged in")
    assert r.cmd("QUIT").startswith("+OK Logging out")
    wait_for(lambda: "octets sent after STLS before the handshake: discarded"
             in pop.log("pop3d"), what="discard logged")
    # a whole login injected behind STLS leaves the client logged out
    r = RawTls(pop.pop3_port, implicit=False)
    r.send(b"STLS\r\nUSER alice\r\nPASS wonderland\r\nSTAT\r\n")
    assert r.line() == "+OK Begin TLS negotiation"
    r.starttls()
    assert r.cmd("STAT") == "-ERR Not logged in"
    assert r.cmd("QUIT").startswith("+OK")


def test_stls_resets_authorization_state(pop):
    r = RawTls(pop.pop3_port, implicit=False)
    before = capa(r)
    assert "STLS" in before and "USER" in before and "SASL PLAIN" in before
    assert r.cmd("USER alice") == "+OK"
    assert r.cmd("STLS") == "+OK Begin TLS negotiation"
    r.starttls()
    after = capa(r)
    assert "STLS" not in after and "USER" in after and "SASL PLAIN" in after
    assert "UIDL" in after and any(c.startswith("IMPLEMENTATION ") for c in after)
    # the USER given before STLS is forgotten
    assert r.cmd("PASS wonderland") == "-ERR Send USER first"
    assert r.cmd("STLS") == "-ERR Command not permitted when TLS active"
    assert r.cmd("AUTH PLAIN " + plain("alice", "wonderland")).startswith("+OK Logged in")
    # after login CAPA has nothing of the AUTHORIZATION state
    logged = capa(r)
    assert "STLS" not in logged and "USER" not in logged and "SASL PLAIN" not in logged
    assert "UIDL" in logged and "TOP" in logged
    assert r.cmd("QUIT").startswith("+OK")
    assert r.closed()


def test_stls_refused_on_pop3s(pop):
    r = RawTls(pop.pop3s_port)
    assert r.cmd("STLS") == "-ERR Command not permitted when TLS active"
    assert r.cmd("NOOP") == "-ERR Not logged in"
    assert r.cmd("QUIT") == "+OK Logging out"
    assert r.closed()


# ---- AUTH PLAIN and the plaintext rule ----

def test_auth_plain_over_tls(pop):
    send(pop, b"Subject: sasl\r\n\r\nx\r\n")
    wait_delivered(pop, 1)
    r = RawTls(pop.pop3s_port)
    assert r.cmd("AUTH") == "+OK SASL mechanisms follow"
    assert r.multi() == ["PLAIN"]
    assert r.cmd("AUTH LOGIN") == "-ERR Unsupported authentication mechanism"
    assert r.cmd("AUTH CRAM-MD5") == "-ERR Unsupported authentication mechanism"
    assert r.cmd("AUTH PL@IN").startswith("-ERR Syntax")
    # "*" cancels the exchange (RFC 5034 4)
    assert r.cmd("AUTH PLAIN") == "+ "
    assert r.cmd("*") == "-ERR Authentication cancelled"
    assert r.cmd("AUTH PLAIN") == "+ "
    assert r.cmd("not base64!") == "-ERR Invalid SASL PLAIN response"
    assert r.cmd("AUTH PLAIN =") == "-ERR Invalid SASL PLAIN response"
    # wrong password, and an authzid other than the authcid: both fail
    assert r.cmd("AUTH PLAIN " + plain("alice", "wrong")) == "-ERR [AUTH] Authentication failed"
    assert (r.cmd("AUTH PLAIN " + plain("alice", "wonderland", authz="bob")) ==
            "-ERR [AUTH] Authentication failed")
    # a response after "+ " may be longer than a command line (512)
    assert r.cmd("AUTH PLAIN") == "+ "
    long_resp = plain("alice", "p" * 500)
    assert len(long_resp) > 600
    assert r.cmd(long_resp) == "-ERR [AUTH] Authentication failed"
    # but not without limit
    assert r.cmd("AUTH PLAIN") == "+ "
    assert r.cmd("A" * 13000) == "-ERR Authentication response too long"
    # an authzid equal to the authcid is fine, with the response after "+ "
    assert r.cmd("AUTH PLAIN") == "+ "
    assert r.cmd(plain("alice", "wonderland", authz="alice")).startswith("+OK Logged in, 1")
    assert r.cmd("STAT").startswith("+OK 1 ")
    assert r.cmd("QUIT").startswith("+OK")
    log = pop.log("pop3d")
    assert "authentication failed for \"alice\"" in log
    # and with the initial response on the AUTH line, after STLS
    r = RawTls(pop.pop3_port, implicit=False)
    assert r.cmd("STLS").startswith("+OK")
    r.starttls()
    assert r.cmd("auth plain " + plain("ALICE", "wonderland")).startswith("+OK Logged in")
    assert r.cmd("QUIT").startswith("+OK")


def test_plaintext_refused_when_config_says_no(make_postern):
    p = make_postern(pop3=True, extra_conf="auth_loopback_plaintext no\nauth_failure_delay 0")
    r = RawTls(p.pop3_port, implicit=False)
    assert r.greeting.startswith("+OK") and "STLS" in r.greeting
    caps = capa(r)
    assert "STLS" in caps and "USER" not in caps and "SASL PLAIN" not in caps
    assert r.cmd("USER alice") == NOT_SECURE
    assert r.cmd("PASS wonderland") == NOT_SECURE
    assert r.cmd("AUTH PLAIN " + plain("alice", "wonderland")) == NOT_SECURE
    assert r.cmd("AUTH") == NOT_SECURE
    assert r.cmd("STLS") == "+OK Begin TLS negotiation"
    r.starttls()
    caps = capa(r)
    assert "USER" in caps and "SASL PLAIN" in caps
    assert r.cmd("AUTH PLAIN " + plain("alice", "wonderland")).startswith("+OK Logged in")
    assert r.cmd("QUIT").startswith("+OK")
    # poplib's plain USER/PASS gets the same answer
    c = Pop3(p.pop3_port)
    with pytest.raises(poplib.error_proto, match=r"disallowed on non-secure"):
        c.user("alice")
    c.quit()
    assert p.log("pop3d").count("authenticated") == 1


@pytest.mark.skipif(not IS_ROOT, reason="needs root (network namespace)")
def test_plaintext_refused_off_loopback_but_stls_logs_in(make_postern):
    """From a non-loopback address (in a network namespace the test
    makes) a password is taken only after STLS, and the session then
    runs through the TLS relay."""
    with netns_with_address("192.0.2.1") as ns:
        p = make_postern(start=False, extra_conf="listen pop3 192.0.2.1:110")
        p.prefix = ["ip", "netns", "exec", ns]
        p.start("pop3d")
        ir = plain("alice", "wonderland")
        client = (
            "import json,socket,ssl,sys,time\n"
            "for i in range(100):\n"
            "    try:\n"
            "        s=socket.create_connection(('192.0.2.1',110),5); break\n"
            "    except OSError: time.sleep(0.1)\n"
            "s.settimeout(20)\n"
            "f=s.makefile('rb')\n"
            "out=[f.readline()]\n"
            "def cmd(c, multi=False):\n"
            "    s.sendall(c+b'\\r\\n'); out.append(f.readline())\n"
            "    while multi and out[-1]!=b'.\\r\\n': out.append(f.readline())\n"
            "cmd(b'CAPA', True)\n"
            f"cmd(b'AUTH PLAIN {ir}')\n"
            "cmd(b'USER alice')\n"
            "cmd(b'STLS')\n"
            f"ctx=ssl.create_default_context(cafile={p.tls['ca']!r})\n"
            f"s=ctx.wrap_socket(s, server_hostname={NAME!r})\n"
            "f=s.makefile('rb')\n"
            "cmd(b'CAPA', True)\n"
            f"cmd(b'AUTH PLAIN {ir}')\n"
            "cmd(b'STAT')\n"
            "cmd(b'QUIT')\n"
            "sys.stdout.write(json.dumps([l.decode() for l in out]))\n")
        r = subprocess.run(["ip", "netns", "exec", ns, "/usr/bin/python3", "-c", client],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr + p.log("pop3d")
        lines = [ln.rstrip("\r\n") for ln in json.loads(r.stdout)]
        assert lines[0].startswith("+OK") and "STLS" in lines[0]
        end = lines.index(".")
        caps, rest = lines[1:end], lines[end + 1:]
        assert "STLS" in caps and "USER" not in caps and "SASL PLAIN" not in caps
        assert rest[0] == NOT_SECURE and rest[1] == NOT_SECURE
        assert rest[2] == "+OK Begin TLS negotiation"
        end = rest.index(".")
        caps, rest = rest[3:end], rest[end + 1:]
        assert "STLS" not in caps and "USER" in caps and "SASL PLAIN" in caps
        assert rest[0].startswith("+OK Logged in") and rest[1] == "+OK 0 0"
        assert rest[2].startswith("+OK Logging out")
        wait_for(lambda: "[192.0.2.1]: TLS relay closed" in p.log("pop3d"), what="relay end")
        assert "[192.0.2.1]: alice authenticated over TLSv1." in p.log("pop3d")


# ---- failed logins ----

def test_failure_delays_and_limit(make_postern):
    p = make_postern(pop3=True, extra_conf="auth_failure_delay 200ms\nauth_failure_limit 4")
    bad = client_ip()
    times = []
    for i in range(4):
        r = RawTls(p.pop3s_port, bad)
        t = time.monotonic()
        if i % 2:
            assert r.cmd("USER alice") == "+OK"
            ans = r.cmd(f"PASS guess{i}")
        else:
            ans = r.cmd("AUTH PLAIN " + plain("alice", f"guess{i}"))
        times.append(time.monotonic() - t)
        assert ans == "-ERR [AUTH] Authentication failed"
        r.cmd("QUIT")
    # 200 ms, doubling per failure of this address (and of alice)
    for got, want in zip(times, (0.2, 0.4, 0.8, 1.6)):
        assert got >= want - 0.02, times
    checked = p.log("pop3d").count("authentication failed for")
    # over the limit: refused at once, even the right password, without
    # asking the auth helper
    r = RawTls(p.pop3s_port, bad)
    t = time.monotonic()
    assert r.cmd("AUTH PLAIN " + plain("alice", "wonderland")) == TOO_MANY
    assert r.cmd("USER alice") == "+OK"
    assert r.cmd("PASS wonderland") == TOO_MANY
    assert time.monotonic() - t < 1.0
    r.cmd("QUIT")
    assert p.log("pop3d").count("authentication failed for") == checked
    assert "authenticated" not in p.log("pop3d")
    assert "too many failed logins from this address" in p.log("pop3d")
    # alice from her own address with the right password: no delay
    t = time.monotonic()
    c = Pop3S(p.pop3s_port)
    c.user("alice")
    assert c.pass_("wonderland").startswith(b"+OK Logged in")
    assert time.monotonic() - t < 1.5
    c.quit()
    # a wrong password for alice from a third address waits out the
    # delay that alice's name has earned (the fifth failure: 3.2 s)
    r = RawTls(p.pop3s_port)
    t = time.monotonic()
    assert r.cmd("AUTH PLAIN " + plain("alice", "guess5")) == "-ERR [AUTH] Authentication failed"
    assert time.monotonic() - t >= 3.1
    r.cmd("QUIT")


# ---- the TLS relay ----

BIG = b"Subject: big over tls\r\n\r\n" + b"".join(
    (b".%07d dotted line\r\n" % i) if i % 500 == 0 else
    (b"%07d " % i + bytes(range(0x21, 0x7e)) + b"\r\n") for i in range(20500))


def test_large_message_byte_exact_over_pop3s(pop):
    assert len(BIG) > 2 * 1024 * 1024
    send(pop, BIG)
    wait_delivered(pop, 1)
    c = Pop3S(pop.pop3s_port)
    c.user("alice")
    c.pass_("wonderland")
    size = int(c.list(1).split()[2])
    resp, lines, octets = c.retr(1)
    data = b"".join(ln + b"\r\n" for ln in lines)
    assert resp == b"+OK %d octets" % size
    assert len(data) == octets == size
    assert data.endswith(BIG)
    assert data.startswith(b"Return-Path: <sender@example.org>\r\n")
    # and once more, through STLS
    c.quit()
    c = Pop3(pop.pop3_port)
    c.stls(context=client_tls_context())
    c.user("alice")
    c.pass_("wonderland")
    assert b"".join(ln + b"\r\n" for ln in c.retr(1)[1]).endswith(BIG)
    c.quit()
    wait_for(lambda: pop.log("pop3d").count("TLS relay closed") >= 2, what="relay ends")
    m = re.findall(r"TLS relay closed: (\d+) octets to the client", pop.log("pop3d"))
    assert all(int(n) > len(BIG) for n in m)


def test_pipelining_through_tls_relay(pop):
    send(pop, b"Subject: p\r\n\r\npipelined over TLS\r\n")
    wait_delivered(pop, 1)
    for implicit in (True, False):
        r = RawTls(pop.pop3s_port if implicit else pop.pop3_port, implicit=implicit)
        if not implicit:
            assert r.cmd("STLS").startswith("+OK")
            r.starttls()
        # one write: what the login process holds past the login must reach the session
        pipelined_session(r, "pipelined over TLS")


def login_unix_queues(pid):
    """Bytes waiting unread in each Unix socket the process holds (ss)."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            t = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if t.startswith("socket:["):
            inodes.add(t[8:-1])
    out = subprocess.run(["ss", "-xnH"], capture_output=True, text=True, timeout=30).stdout
    queues = []
    for line in out.splitlines():
        f = line.split()
        # u_str ESTAB RECV-Q SEND-Q LOCAL-PATH LOCAL-INODE PEER-PATH PEER-INODE
        if len(f) >= 8 and f[5] in inodes:
            queues.append(int(f[2]))
    return queues


def test_slow_reader_backpressure(pop):
    """A client that does not read makes the relay stop reading from the
    session (rather than buffer the message), and still gets every byte."""
    big = BIG + BIG  # about 4 MiB
    send(pop, big)
    wait_delivered(pop, 1)
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32 * 1024)
    s.bind((client_ip(), 0))
    s.settimeout(30)
    s.connect(("127.0.0.1", pop.pop3s_port))
    r = RawTls(None, sock=s)
    assert r.cmd("USER alice") == "+OK"
    assert r.cmd("PASS wonderland").startswith("+OK Logged in")
    r.send(b"RETR 1\r\n")
    login = pop.child("pop3d", "login")
    # while the client reads nothing, the session's bytes wait in the
    # socketpair (the session blocks), not in the login process's memory:
    # without backpressure the relay would have drained it long since.
    # (How much a full socketpair holds varies with the kernel's
    # accounting, so any clearly non-empty queue that stays counts.)
    wait_for(lambda: max(login_unix_queues(login) or [0]) > 16 * 1024, timeout=20,
             what="the session's output waiting in the socketpair")
    time.sleep(1.5)
    for _ in range(3):
        assert max(login_unix_queues(login) or [0]) > 16 * 1024
        time.sleep(0.3)
    assert pop.child("pop3d", "session alice")  # blocked, not dead
    first = r.line()
    assert first.startswith("+OK ")
    lines = r.multi()
    data = b"".join(ln.encode("latin-1") + b"\r\n" for ln in lines)
    unstuffed = data.replace(b"\r\n..", b"\r\n.")
    assert unstuffed.endswith(big)
    assert r.cmd("QUIT").startswith("+OK Logging out")
    assert r.closed()


def test_relay_ends_and_frees_slots(make_postern):
    p = make_postern(pop3=True, extra_conf="max_sessions_per_ip 2")
    ip = client_ip()
    a = RawTls(p.pop3s_port, ip)
    assert a.cmd("AUTH PLAIN " + plain("alice", "wonderland")).startswith("+OK Logged in")
    b = RawTls(p.pop3_port, ip, implicit=False)
    assert b.cmd("STLS").startswith("+OK")
    b.starttls()
    assert b.cmd("AUTH PLAIN " + plain("bob", "builder")).startswith("+OK Logged in")
    # two relayed sessions count against the address
    refused = LineClient(p.pop3_port, ip)
    assert refused.line() == "-ERR [SYS/TEMP] Too many connections from your address"
    refused.close()
    # the client vanishes without QUIT: the session ends, nothing is
    # deleted, the lock and the place are free again
    assert a.cmd("DELE 1").startswith("-ERR")  # alice has no mail; still a command
    a.s.close()
    wait_for(lambda: "alice [" + ip + "]: connection closed without QUIT" in p.log("pop3d"),
             what="session end")
    assert b.cmd("QUIT").startswith("+OK Logging out")
    assert b.closed()

    def free():
        try:
            r = RawTls(p.pop3s_port, ip)
        except (OSError, ConnectionError):
            return False
        ok = r.cmd("AUTH PLAIN " + plain("alice", "wonderland")).startswith("+OK Logged in")
        r.cmd("QUIT")
        return ok
    wait_for(free, timeout=10, what="place and lock free after the session ended")
    wait_for(lambda: p.log("pop3d").count("TLS relay closed") >= 3, what="relays closed")


def test_session_timeout_reaches_tls_client(make_postern):
    p = make_postern(pop3=True, extra_conf="timeout_pop3 1s")
    r = RawTls(p.pop3s_port)
    assert r.cmd("AUTH PLAIN " + plain("alice", "wonderland")).startswith("+OK Logged in")
    t = time.monotonic()
    # the session's last words are relayed, then a clean TLS close
    assert r.closed(timeout=10)
    assert b"-ERR Disconnected for inactivity" in r.buf
    assert time.monotonic() - t < 5
    wait_for(lambda: "idle timeout" in p.log("pop3d"), what="idle log line")


@pytest.mark.skipif(not IS_ROOT, reason="needs root")
def test_tls_session_runs_as_vmail_in_the_maildir(pop):
    from test_privsep import as_process, check_identity, try_open
    send(pop, b"Subject: x\r\n\r\nx\r\n")
    wait_delivered(pop, 1)
    c = Pop3S(pop.pop3s_port)
    c.user("alice")
    c.pass_("wonderland")
    sess = wait_for(lambda: pop.child("pop3d", "session alice"), what="session process")
    check_identity(sess, "postern-vmail", os.path.join(pop.mail, "alice"))
    assert as_process(sess, lambda: str(sorted(os.listdir("/")))) == str(["cur", "new", "tmp"])
    assert as_process(sess, try_open("/../bob/new")) == "absent"
    # the session's only socket is the relay's Unix socket, not the TCP
    # connection: the TLS state stays in the login process
    with open("/proc/net/unix") as f:
        unix = {ln.split()[6] for ln in f.readlines()[1:]}
    socks = []
    for fd in os.listdir(f"/proc/{sess}/fd"):
        t = os.readlink(f"/proc/{sess}/fd/{fd}")
        if t.startswith("socket:["):
            socks.append(t[8:-1])
    assert socks and all(s in unix for s in socks)
    check_identity(pop.child("pop3d", "login"), "postern-pop3", os.path.join(pop.spool, "empty"))
    assert c.stat()[0] == 1
    c.quit()
    wait_for(lambda: not pop.child("pop3d", "session alice"), what="session exit")


# ---- SIGHUP ----

def pop3s_with_own_cert(make_postern, tmp_path):
    """A pop3d on its own POP3S port whose certificate files (copies of
    the demo ones) the test may replace: (their directory, port, postern)."""
    certs = own_cert_dir(tmp_path)
    port = free_port()
    p = make_postern(pop3=True, tls=False, extra_conf=(
        f"tls_certificate {certs}/cert.pem\ntls_key {certs}/key.pem\n"
        f"listen pop3s 127.0.0.1:{port}\n"))
    return certs, port, p


def test_sighup_reloads_certificate(make_postern, tmp_path):
    old = tls_files()
    certs, port, p = pop3s_with_own_cert(make_postern, tmp_path)
    send(p, b"Subject: before\r\n\r\nreload\r\n")
    wait_delivered(p, 1)
    before = Pop3S(port)
    assert peer_der(before.sock) == file_der(old["cert"])
    before.user("alice")
    before.pass_("wonderland")
    # a new certificate from a new CA replaces the files
    new = tmp_path / "new"
    subprocess.run(["sh", os.path.join(ROOT, "etc", "make-cert.sh"), str(new), NAME],
                   check=True, timeout=60)
    for n in ("cert", "key"):
        shutil.copy(new / f"{n}.pem", certs / f"{n}.pem.tmp")
        os.replace(certs / f"{n}.pem.tmp", certs / f"{n}.pem")
    p.procs["pop3d"].send_signal(signal.SIGHUP)
    wait_for(lambda: "TLS: certificate reloaded" in p.log("pop3d"), what="reload")
    new_ctx = ssl.create_default_context(cafile=str(new / "ca.pem"))
    after = Pop3S(port, context=new_ctx)
    assert peer_der(after.sock) == file_der(str(new / "cert.pem")) != file_der(old["cert"])
    after.user("bob")
    assert after.pass_("builder").startswith(b"+OK")
    after.quit()
    # a client that only trusts the old CA no longer gets in
    with pytest.raises(ssl.SSLCertVerificationError):
        Pop3S(port, timeout=10)
    # the session opened before the reload goes on, on its old context
    assert before.retr(1)[1][-1] == b"reload"
    assert before.quit().startswith(b"+OK")
    assert p.procs["pop3d"].poll() is None


def test_sighup_with_broken_key_keeps_certificate(make_postern, tmp_path):
    old = tls_files()
    certs, port, p = pop3s_with_own_cert(make_postern, tmp_path)
    # a key that does not belong to the certificate
    new = tmp_path / "new"
    subprocess.run(["sh", os.path.join(ROOT, "etc", "make-cert.sh"), str(new), NAME],
                   check=True, timeout=60)
    shutil.copy(new / "key.pem", certs / "key.pem")
    p.procs["pop3d"].send_signal(signal.SIGHUP)
    wait_for(lambda: "keeping the certificate in use" in p.log("pop3d"), what="refused reload")
    c = Pop3S(port)
    assert peer_der(c.sock) == file_der(old["cert"])
    c.user("alice")
    assert c.pass_("wonderland").startswith(b"+OK")
    c.quit()
    assert "certificate reloaded" not in p.log("pop3d")


def test_sighup_without_tls_keeps_serving(make_postern):
    p = make_postern(pop3=True, tls=False)
    login = p.child("pop3d", "login")
    p.procs["pop3d"].send_signal(signal.SIGHUP)
    wait_for(lambda: "SIGHUP" in p.log("pop3d"), what="SIGHUP logged")
    time.sleep(0.5)
    assert p.procs["pop3d"].poll() is None and p.child("pop3d", "login") == login
    c = Pop3(p.pop3_port)
    c.user("alice")
    assert c.pass_("wonderland").startswith(b"+OK")
    c.quit()
