"""DANE for SMTP (RFC 7672) in queued's remote delivery agent, end to end.

A DNSSEC-signed zone, dane.test, is made for the test run (keys and
signatures by ldns-keygen and ldns-signzone, Debian's ldnsutils) and
served by a private Debian unbound on a loopback port as an auth-zone;
that unbound refuses every other name and may send no query anywhere
(do-not-query-address for all of IPv4 and IPv6), so nothing here ever
reaches a real nameserver. Postern's resolver forwards to it and
validates with the zone's KSK (its DS record) as the trust anchor.

Each mail domain of the zone has one MX host, on a loopback address of
its own where a small aiosmtpd server listens on port 25:

  domain           MX host            peer                     TLSA of the MX host
  dane.test        mx.dane.test       127.0.0.52, STARTTLS     3 1 1 its SPKI: matches
  bad.dane.test    mxbad.dane.test    127.0.0.53, STARTTLS     3 1 1 another key's SPKI
  notls.dane.test  mxnotls.dane.test  127.0.0.54, no STARTTLS  3 1 1 (any)
  ta.dane.test     mxta.dane.test     127.0.0.55, STARTTLS     2 0 1 its issuer (its CA)
  bogus.dane.test  mxbogus.dane.test  127.0.0.56, STARTTLS     3 1 1 its SPKI, but the
                                                               RRSIG is corrupted: bogus

(127.0.0.52 and up: test_relay.py's peers use 127.0.0.7 and .11-.25.)
Every test asserts something only DANE explains: verified=dane, or a
delivery refused for a DANE reason to a peer that a postern configured
the same way but without the trust anchor (no DNSSEC, so no DANE)
delivers to at once.
Port 25 needs root; without it the tests skip.
"""
import base64
import hashlib
import os
import random
import re
import shutil
import smtplib
import ssl
import struct
import subprocess
import socket
import time

import pytest

from conftest import ROOT, UNBOUND, UnboundServer, wait_for

try:
    from aiosmtpd.controller import Controller
    HAVE_AIOSMTPD = True
except ImportError:  # tests/install-deps.sh installs python3-aiosmtpd
    Controller = None
    HAVE_AIOSMTPD = False

LDNS_KEYGEN = shutil.which("ldns-keygen") or shutil.which("ldns-keygen", path="/usr/bin")
LDNS_SIGNZONE = shutil.which("ldns-signzone") or shutil.which("ldns-signzone", path="/usr/bin")

pytestmark = [
    pytest.mark.skipif(not os.path.exists(UNBOUND), reason="unbound is not installed"),
    pytest.mark.skipif(not HAVE_AIOSMTPD, reason="aiosmtpd is not installed"),
    pytest.mark.skipif(not (LDNS_KEYGEN and LDNS_SIGNZONE),
                       reason="ldns-keygen/ldns-signzone (Debian ldnsutils) are not installed"),
]

ZONE = "dane.test"
SENDER = "alice@example.test"
# MX host (below ZONE) -> the loopback address of its peer
HOSTS = {
    "mx": "127.0.0.52",
    "mxbad": "127.0.0.53",
    "mxnotls": "127.0.0.54",
    "mxta": "127.0.0.55",
    "mxbogus": "127.0.0.56",
}
# mail domain -> its one MX host
DOMAIN_MX = {
    "dane.test": "mx",
    "bad.dane.test": "mxbad",
    "notls.dane.test": "mxnotls",
    "ta.dane.test": "mxta",
    "bogus.dane.test": "mxbogus",
}
T_A, T_NS, T_SOA, T_MX, T_AAAA, T_OPT, T_RRSIG, T_NSEC, T_DNSKEY, T_TLSA = (
    1, 2, 6, 15, 28, 41, 46, 47, 48, 52)
RCODE_NOERROR, RCODE_NXDOMAIN, RCODE_REFUSED = 0, 3, 5


def run(args, cwd=None, data=None):
    r = subprocess.run(args, cwd=cwd, input=data, capture_output=True, timeout=60)
    if r.returncode != 0:
        raise AssertionError(f"{args[0]} failed: {r.stderr.decode(errors='replace')}")
    return r.stdout


def make_cert(directory, host):
    """etc/make-cert.sh: a CA of its own and a certificate for host
    signed by it (cert.pem holds the leaf, then the CA)."""
    run(["sh", os.path.join(ROOT, "etc", "make-cert.sh"), str(directory), host])
    return {n: os.path.join(str(directory), n + ".pem") for n in ("ca", "cert", "key")}


def spki_sha256(cert_pem):
    """SHA-256 of the DER SubjectPublicKeyInfo of the (first) certificate
    in cert_pem: the data of a TLSA x 1 1 record."""
    pub = run(["openssl", "x509", "-in", cert_pem, "-noout", "-pubkey"])
    der = run(["openssl", "pkey", "-pubin", "-outform", "DER"], data=pub)
    return hashlib.sha256(der).hexdigest()


def cert_sha256(cert_pem):
    """SHA-256 of the whole DER certificate: a TLSA x 0 1 record."""
    with open(cert_pem) as f:
        der = ssl.PEM_cert_to_DER_cert(f.read())
    return hashlib.sha256(der).hexdigest()


# ---- the signed zone ----

class SignedZone:
    """dane.test with its keys, signed zone file and trust anchor."""

    def __init__(self, root):
        self.root = root
        os.makedirs(root, exist_ok=True)
        self.certs = {h: make_cert(os.path.join(root, "cert-" + h), f"{h}.{ZONE}")
                      for h in HOSTS if h != "mxnotls"}
        self.spki = {h: spki_sha256(c["cert"]) for h, c in self.certs.items()}
        self.tlsa = {
            "mx": f"3 1 1 {self.spki['mx']}",
            # the key of another host: never this host's
            "mxbad": f"3 1 1 {self.spki['mx']}",
            "mxnotls": f"3 1 1 {self.spki['mx']}",
            # DANE-TA: the issuer of mxta's certificate, which it sends
            "mxta": f"2 0 1 {cert_sha256(self.certs['mxta']['ca'])}",
            # would match, but its signature is broken below
            "mxbogus": f"3 1 1 {self.spki['mxbogus']}",
        }
        assert self.spki["mxbad"] != self.spki["mx"]
        self.records = [
            f"{ZONE}. 300 IN SOA ns.{ZONE}. hostmaster.{ZONE}. 1 3600 600 86400 300",
            f"{ZONE}. 300 IN NS ns.{ZONE}.",
            f"ns.{ZONE}. 300 IN A 127.0.0.1",
        ]
        for dom, mx in DOMAIN_MX.items():
            self.records.append(f"{dom}. 300 IN MX 10 {mx}.{ZONE}.")
        for h, addr in HOSTS.items():
            self.records.append(f"{h}.{ZONE}. 300 IN A {addr}")
            self.records.append(f"_25._tcp.{h}.{ZONE}. 300 IN TLSA {self.tlsa[h]}")
        self.unsigned = os.path.join(root, "dane.test.zone")
        with open(self.unsigned, "w") as f:
            f.write("\n".join(self.records) + "\n")
        ksk = run([LDNS_KEYGEN, "-a", "ECDSAP256SHA256", "-k", ZONE], cwd=root).decode().strip()
        zsk = run([LDNS_KEYGEN, "-a", "ECDSAP256SHA256", ZONE], cwd=root).decode().strip()
        self.signed = os.path.join(root, "dane.test.zone.signed")
        # signatures valid from yesterday (no clock-skew trouble) for 4 weeks
        run([LDNS_SIGNZONE, "-i", str(int(time.time()) - 86400), "-o", ZONE + ".",
             "-f", self.signed, self.unsigned, zsk, ksk], cwd=root)
        self._break_signature(f"_25._tcp.mxbogus.{ZONE}.", "TLSA")
        # the trust anchor: the DS (SHA-256) of the KSK, as ldns-keygen wrote it
        with open(os.path.join(root, ksk + ".ds")) as f:
            ds = [ln.strip() for ln in f if "\tDS\t" in ln or " DS " in ln]
        assert len(ds) == 1 and ds[0].startswith(ZONE + "."), ds
        self.ds = ds[0]
        self.trust_anchor = os.path.join(root, "trust-anchor")
        with open(self.trust_anchor, "w") as f:
            f.write(f"; the KSK of the test zone {ZONE}\n{self.ds}\n")

    def _break_signature(self, owner, covered):
        """Flips a byte of the signature over owner's covered RRset."""
        with open(self.signed) as f:
            lines = f.read().splitlines()
        hit = 0
        for i, ln in enumerate(lines):
            fields = ln.split()
            if len(fields) > 5 and fields[0] == owner and fields[3] == "RRSIG" and \
                    fields[4] == covered:
                sig = bytearray(base64.b64decode("".join(fields[12:])))
                sig[len(sig) // 2] ^= 0x55
                lines[i] = "\t".join(fields[:12] + [base64.b64encode(bytes(sig)).decode()])
                hit += 1
        assert hit == 1, f"no single RRSIG {covered} for {owner} in the signed zone"
        with open(self.signed, "w") as f:
            f.write("\n".join(lines) + "\n")


# ---- DNS, by hand, against the test server only ----

def _name(name):
    labels = [x for x in name.strip(".").encode().split(b".") if x]
    return b"".join(bytes([len(x)]) + x for x in labels) + b"\0"


def _skip_name(msg, off):
    while True:
        ln = msg[off]
        if ln & 0xC0 == 0xC0:
            return off + 2
        off += 1 + ln
        if ln == 0:
            return off


def dns_query(port, name, qtype, do=True, timeout=2.0):
    """One UDP query to 127.0.0.1:port, with EDNS0 and the DO bit: (rcode,
    the types of the answer section, the types of the authority section)."""
    qid = random.randrange(65536)
    q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 1) + _name(name) + \
        struct.pack(">HH", qtype, 1)
    # OPT: root owner, 4096-octet payload, DO set in the flags
    q += b"\0" + struct.pack(">HHIH", T_OPT, 4096, 0x8000 if do else 0, 0)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(q, ("127.0.0.1", port))
        end = time.monotonic() + timeout
        while True:
            s.settimeout(max(0.01, end - time.monotonic()))
            msg = s.recv(65535)
            if msg[:2] == q[:2]:
                break
    _, flags, qd, an, ns, _ = struct.unpack(">HHHHHH", msg[:12])
    off = 12
    for _ in range(qd):
        off = _skip_name(msg, off) + 4
    sections = []
    for count in (an, ns):
        types = []
        for _ in range(count):
            off = _skip_name(msg, off)
            rtype, _, _, rdlen = struct.unpack(">HHIH", msg[off:off + 10])
            types.append(rtype)
            off += 10 + rdlen
        sections.append(types)
    return flags & 0xF, sections[0], sections[1]


def dns_answers(port):
    try:
        return dns_query(port, ZONE, T_SOA, timeout=0.5)[0] == RCODE_NOERROR
    except OSError:
        return False


class ZoneServer(UnboundServer):
    """Debian's unbound, a private instance: 127.0.0.1 on a free port, in
    the foreground, its own config; authoritative for the signed zone
    (auth-zone) and refusing every other name. It may not send a query
    to any address at all, so it can never recurse to the internet.
    Stopped by PID."""

    def __init__(self, root, zone):
        super().__init__(root, zone=[], ptr=[])
        self.zone = zone  # the SignedZone, which _write_conf serves

    def _ready(self):
        # the auth-zone is loaded, not merely the server up
        return dns_answers(self.port)

    def _write_conf(self):
        with open(self.conf, "w") as f:
            f.write(f"""server:
  interface: 127.0.0.1
  port: {self.port}
  do-daemonize: no
  chroot: ""
  username: ""
  directory: "{self.root}"
  pidfile: "{self.root}/unbound.pid"
  use-syslog: no
  logfile: ""
  verbosity: 1
  log-queries: yes
  do-ip6: no
  module-config: "iterator"
  access-control: 127.0.0.0/8 allow
  # no outgoing query to any address: never the root servers, never
  # the machine's nameserver
  do-not-query-address: 0.0.0.0/0
  do-not-query-address: ::/0
  # every name is refused but the test zone, which passes through to
  # the auth-zone below ("test." too: unbound's built-in zone for it
  # would answer NXDOMAIN)
  local-zone: "." refuse
  local-zone: "test." refuse
  local-zone: "{ZONE}." transparent
auth-zone:
  name: "{ZONE}."
  zonefile: "{self.zone.signed}"
  for-downstream: yes
  for-upstream: yes
  fallback-enabled: no
remote-control:
  control-enable: no
""")


@pytest.fixture(scope="module")
def zone(tmp_path_factory):
    return SignedZone(str(tmp_path_factory.mktemp("dane-zone")))


@pytest.fixture(scope="module")
def zone_server(zone, tmp_path_factory):
    u = ZoneServer(str(tmp_path_factory.mktemp("dane-unbound")), zone)
    u.start()
    yield u
    u.stop()
    # unbound's statistics at exit: it answered everything itself
    stats = re.findall(r"server stats for thread \d+: \d+ queries, \d+ answers from cache, "
                       r"(\d+) recursions", u.logtext())
    assert stats and all(n == "0" for n in stats), u.logtext()[-2000:]


# ---- MX peers ----

class Peer:
    """A minimal MX on addr:25 (aiosmtpd): STARTTLS with the given
    certificate, or none; records the messages it accepts."""

    def __init__(self, host, addr, cert=None):
        self.host, self.addr, self.cert = host, addr, cert
        self.messages = []   # (rcpt_tos, content, over TLS?)
        self.ctl = None

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((list(envelope.rcpt_tos), envelope.original_content,
                              session.ssl is not None))
        return "250 2.0.0 accepted"

    def start(self):
        kw = {}
        if self.cert:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(self.cert["cert"], self.cert["key"])
            kw["tls_context"] = ctx
        self.ctl = Controller(self, hostname=self.addr, port=25,
                              server_hostname=f"{self.host}.{ZONE}", ready_timeout=10, **kw)
        try:
            self.ctl.start()
        except PermissionError:
            self.ctl = None
            pytest.skip(f"cannot bind {self.addr}:25 (port 25 needs root)")
        return self

    def stop(self):
        if self.ctl is not None:
            self.ctl.stop()
            self.ctl = None


@pytest.fixture
def peers(zone):
    made = {}
    try:
        for h, addr in HOSTS.items():
            made[h] = Peer(h, addr, zone.certs.get(h)).start()
        yield made
    finally:
        for p in made.values():
            p.stop()


# ---- postern ----

def dane_postern(make_postern, zone_server, anchor):
    """A postern relaying for 127.0.0.0/8, its resolver forwarding to the
    zone server and validating with anchor (a file, or none)."""
    return make_postern(relay="127.0.0.0/8", dns=zone_server.forward,
                        extra_conf=f"dns_trust_anchor {anchor}\nrelay_timeout 5s\n")


def send(p, rcpt, subject):
    msg = (f"From: {SENDER}\r\nTo: {rcpt}\r\nSubject: {subject}\r\n"
           f"Date: Thu, 1 Jan 2026 00:00:00 +0000\r\n"
           f"Message-ID: <{subject.replace(' ', '.')}@client.example.test>\r\n\r\n"
           f"DANE test: {subject}\r\n").encode()
    c = smtplib.SMTP("127.0.0.1", p.port, local_hostname="client.example.test", timeout=30)
    try:
        assert c.sendmail(SENDER, [rcpt], msg) == {}
    finally:
        c.quit()
    return msg


def result_lines(p, rcpt, status=None):
    """queued's per-recipient result lines for rcpt (of one status)."""
    out = []
    for ln in p.log("queued").splitlines():
        if f": to=<{rcpt}>, relay=" in ln and (status is None or f"status={status} " in ln):
            out.append(ln)
    return out


def wait_delivered(p, peer, rcpt, timeout=30):
    try:
        wait_for(lambda: any(rcpt in m[0] for m in peer.messages), timeout=timeout,
                 what=f"the message to {rcpt} at {peer.addr}")
    except AssertionError:
        raise AssertionError(f"not delivered to {rcpt}; queued.log:\n"
                             + p.log("queued")[-3000:] + "\nresolver.log:\n"
                             + p.log("resolver")[-2000:])
    return wait_for(lambda: result_lines(p, rcpt, "sent"), timeout=10,
                    what=f"the sent line for {rcpt}")[0]


def wait_deferred(p, rcpt, times=2, timeout=40):
    """Waits for `times` deferrals of rcpt (first try and retries)."""
    try:
        return wait_for(lambda: len(result_lines(p, rcpt, "deferred")) >= times and
                        result_lines(p, rcpt, "deferred"), timeout=timeout,
                        what=f"{times} deferrals of {rcpt}")
    except AssertionError:
        raise AssertionError(f"{rcpt} not deferred {times} times; queued.log:\n"
                             + p.log("queued")[-3000:] + "\nresolver.log:\n"
                             + p.log("resolver")[-2000:])


def assert_delivered_without_dane(make_postern, zone_server, peer, rcpt):
    """The control: the same mail from a postern that does not validate
    (no trust anchor, so no DNSSEC and no DANE) reaches the peer, without
    verified=dane. The peer is fine; only DANE refused it."""
    before = len(peer.messages)
    q = dane_postern(make_postern, zone_server, "none")
    send(q, rcpt, "control without validation")
    line = wait_delivered(q, peer, rcpt)
    assert len(peer.messages) == before + 1
    assert "verified=dane" not in line, line
    assert "TLSA" not in q.log("queued")
    return line


# ---- the test DNS server itself ----

def test_zone_server_serves_the_signed_zone_and_refuses_the_rest(zone_server):
    port = zone_server.port
    rcode, an, _ = dns_query(port, f"_25._tcp.mx.{ZONE}", T_TLSA)
    assert rcode == RCODE_NOERROR and sorted(an) == [T_RRSIG, T_TLSA]
    rcode, an, _ = dns_query(port, ZONE, T_DNSKEY)
    assert rcode == RCODE_NOERROR and an.count(T_DNSKEY) == 2 and T_RRSIG in an
    rcode, an, _ = dns_query(port, ZONE, T_MX)
    assert rcode == RCODE_NOERROR and sorted(an) == [T_MX, T_RRSIG]
    # a name without AAAA: NODATA, proved by a signed NSEC
    rcode, an, auth = dns_query(port, f"mx.{ZONE}", T_AAAA)
    assert rcode == RCODE_NOERROR and an == [] and T_NSEC in auth and T_RRSIG in auth
    rcode, _, auth = dns_query(port, f"nosuch.{ZONE}", T_A)
    assert rcode == RCODE_NXDOMAIN and T_NSEC in auth
    # anything else is refused, never looked up
    for name, qtype in (("example.com", T_A), (".", T_NS), ("example.test", T_MX),
                        ("test", T_SOA)):
        rcode, an, _ = dns_query(port, name, qtype)
        assert rcode == RCODE_REFUSED and an == [], name
    log = zone_server.logtext()
    assert "error" not in log.lower(), log[-2000:]


# ---- validation through postern's resolver ----

def test_resolver_validates_the_zone(make_postern, zone_server, zone):
    """posternctl resolve: with the zone's trust anchor the TLSA, MX and
    address answers are secure (a NODATA one too), the tampered TLSA is a
    failure; without it the same answers are insecure. So the DANE tests
    below cannot pass for want of validation."""
    p = make_postern(start=False, dns=zone_server.forward,
                     extra_conf=f"dns_trust_anchor {zone.trust_anchor}\n")
    p.start_resolver()
    assert "DNSSEC validation on: 1 trust anchor record(s)" in p.log("resolver")
    rc, out, err = p.resolve("tlsa", f"_25._tcp.mx.{ZONE}")
    assert rc == 0, (out, err, p.log("resolver"))
    assert re.fullmatch(r"status OK ttl \d+ secure", out[0]), out
    assert out[1:] == [f"TLSA {zone.tlsa['mx']}"]
    rc, out, _ = p.resolve("tlsa", f"_25._tcp.mxta.{ZONE}")
    assert rc == 0 and out[0].endswith(" secure") and out[1:] == [f"TLSA {zone.tlsa['mxta']}"]
    rc, out, _ = p.resolve("mx", ZONE)
    assert rc == 0 and out[0].endswith(" secure") and out[1:] == [f"MX 10 mx.{ZONE}"]
    rc, out, _ = p.resolve("a", f"mx.{ZONE}")
    assert rc == 0 and out[0].endswith(" secure") and out[1:] == ["A 127.0.0.52"]
    rc, out, _ = p.resolve("aaaa", f"mx.{ZONE}")
    assert rc == 1 and re.fullmatch(r"status NODATA ttl \d+ secure", out[0]), out
    # the corrupted signature: not an answer, a (temporary) failure
    rc, out, _ = p.resolve("tlsa", f"_25._tcp.mxbogus.{ZONE}")
    assert rc != 0 and not any(ln.startswith("TLSA") for ln in out), out
    assert out == [] or out[0].startswith("status TEMPFAIL"), out
    assert "DNSSEC validation failed" in p.log("resolver")

    q = make_postern(start=False, dns=zone_server.forward)   # dns_trust_anchor none
    q.start_resolver()
    rc, out, _ = q.resolve("tlsa", f"_25._tcp.mx.{ZONE}")
    assert rc == 0 and re.fullmatch(r"status OK ttl \d+ insecure", out[0]), out
    assert out[1:] == [f"TLSA {zone.tlsa['mx']}"]


# ---- delivery ----

def test_tlsa_match_delivers_verified_by_dane(make_postern, zone_server, zone, peers):
    """DANE-EE(3) SPKI SHA-256 that matches the MX's key: delivered over
    TLS, verified=dane (the peer's certificate is from a CA the relay
    does not know, so only DANE can have verified it)."""
    p = dane_postern(make_postern, zone_server, zone.trust_anchor)
    rcpt = f"bob@{ZONE}"
    msg = send(p, rcpt, "dane match")
    line = wait_delivered(p, peers["mx"], rcpt)
    assert re.search(rf": to=<{re.escape(rcpt)}>, relay=mx\.dane\.test\[127\.0\.0\.52\]:25, "
                     r".*status=sent \(2\d\d .*\) tls=TLSv1\.[23] cipher=\S+ verified=dane$",
                     line), line
    rcpts, content, over_tls = peers["mx"].messages[0]
    assert rcpts == [rcpt] and over_tls
    assert b"Subject: dane match" in content and msg.split(b"\r\n\r\n", 1)[1] in content
    assert len(peers["mx"].messages) == 1


def test_dane_ta_matches_the_issuer(make_postern, zone_server, zone, peers):
    """DANE-TA(2) full-certificate SHA-256 of the MX's CA, which the MX
    sends in its chain: delivered, verified=dane."""
    p = dane_postern(make_postern, zone_server, zone.trust_anchor)
    rcpt = f"carol@ta.{ZONE}"
    send(p, rcpt, "dane ta")
    line = wait_delivered(p, peers["mxta"], rcpt)
    assert "relay=mxta.dane.test[127.0.0.55]:25" in line and "status=sent" in line
    assert line.endswith(" verified=dane"), line
    assert peers["mxta"].messages[0][2]


def test_tlsa_mismatch_is_deferred(make_postern, zone_server, zone, peers):
    """The MX's certificate matches no TLSA record: nothing is sent to it,
    the mail is deferred (4.7.5) and stays deferred on retry."""
    p = dane_postern(make_postern, zone_server, zone.trust_anchor)
    rcpt = f"dave@bad.{ZONE}"
    send(p, rcpt, "dane mismatch")
    lines = wait_deferred(p, rcpt)
    for ln in lines:
        # the failed address is named in the reason (relay= is the
        # connection that carried the mail: none here)
        assert "dsn=4.7.5" in ln, ln
        assert "mxbad.dane.test[127.0.0.53]:25: the certificate matches no TLSA record" in ln, ln
        assert "verified=no (no matching DANE TLSA records)" in ln, ln
        assert "verified=dane" not in ln
    assert peers["mxbad"].messages == []
    assert not result_lines(p, rcpt, "sent") and not result_lines(p, rcpt, "bounced")
    assert_delivered_without_dane(make_postern, zone_server, peers["mxbad"], rcpt)
    # still nothing from the validating one
    assert all("control without validation" in m[1].decode() for m in peers["mxbad"].messages)


def test_no_starttls_under_dane_is_deferred(make_postern, zone_server, zone, peers):
    """Usable TLSA records make TLS mandatory: an MX that does not offer
    STARTTLS gets no mail (4.7.4), never a cleartext fallback."""
    p = dane_postern(make_postern, zone_server, zone.trust_anchor)
    rcpt = f"erin@notls.{ZONE}"
    send(p, rcpt, "dane no starttls")
    lines = wait_deferred(p, rcpt)
    for ln in lines:
        assert "dsn=4.7.4" in ln, ln
        assert ("mxnotls.dane.test[127.0.0.54]:25: TLS is required (DANE) and STARTTLS is "
                "not offered") in ln, ln
    assert peers["mxnotls"].messages == []
    assert not result_lines(p, rcpt, "sent")
    line = assert_delivered_without_dane(make_postern, zone_server, peers["mxnotls"], rcpt)
    assert line.endswith(" tls=none"), line
    assert all("control without validation" in m[1].decode()
               for m in peers["mxnotls"].messages)


def test_bogus_tlsa_is_deferred(make_postern, zone_server, zone, peers):
    """The MX and its address are secure but its TLSA answer fails
    validation (a tampered signature): RFC 7672 2.2 says not to deliver
    there at all; the mail is deferred without a connection."""
    p = dane_postern(make_postern, zone_server, zone.trust_anchor)
    rcpt = f"frank@bogus.{ZONE}"
    send(p, rcpt, "dane bogus tlsa")
    lines = wait_deferred(p, rcpt)
    for ln in lines:
        assert "relay=none" in ln, ln
        assert "dsn=4.7.5" in ln and "TLSA lookup failed" in ln and "bogus.dane.test" in ln, ln
    assert "DNSSEC validation failed" in p.log("resolver")
    assert peers["mxbogus"].messages == []
    assert_delivered_without_dane(make_postern, zone_server, peers["mxbogus"], rcpt)
