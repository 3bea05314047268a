"""The resolver daemon against a real DNS server on loopback (Debian's
unbound, conftest.UnboundServer, serving conftest.TEST_ZONE): every
record type through `posternctl resolve` and through the raw protocol,
NXDOMAIN against NODATA, many queries at once, dead and silent
upstreams, garbage from clients, an upstream that restarts, DNSSEC
validation, the privilege separation (as root), and the `make run`
demo's DNS set-up."""
import os
import pwd
import signal
import socket
import struct
import subprocess
import threading
import time

import pytest

from conftest import BUILD, IS_ROOT, ROOT, TLSA_HASH, UNBOUND, dns_probe, free_port, wait_for
from test_privsep import as_uid

D_QUERY, D_ANSWER, D_ERROR = 500, 550, 551
TYPES = {"A": 1, "PTR": 12, "MX": 15, "TXT": 16, "AAAA": 28, "TLSA": 52}
STATUS = {0: "OK", 1: "NXDOMAIN", 2: "NODATA", 3: "TEMPFAIL"}
ROOT_KEY = "/usr/share/dns/root.key"

pytestmark = pytest.mark.skipif(not os.path.exists(UNBOUND),
                                reason="unbound is not installed")


class DnsClient:
    """The resolver's protocol over run/dns.sock, by hand."""

    def __init__(self, postern, timeout=15, path=None):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(timeout)
        self.s.connect(path or os.path.join(postern.spool, "run", "dns.sock"))
        self.buf = b""

    def send_frame(self, mtype, reqid, payload, flags=0):
        self.s.sendall(struct.pack(">HHII", mtype, flags, len(payload), reqid) + payload)

    def query(self, reqid, qtype, name):
        qt = TYPES[qtype] if isinstance(qtype, str) else qtype
        raw = name.encode() if isinstance(name, str) else name
        self.send_frame(D_QUERY, reqid, struct.pack(">HI", qt, len(raw)) + raw)

    def _read(self, n):
        while len(self.buf) < n:
            chunk = self.s.recv(65536)
            if not chunk:
                return None
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def recv(self):
        """(type, reqid, payload), or None when the resolver closed."""
        h = self._read(12)
        if h is None:
            return None
        mtype, _flags, length, reqid = struct.unpack(">HHII", h)
        payload = self._read(length) if length else b""
        return mtype, reqid, payload

    def closed(self):
        try:
            return self.recv() is None
        except ConnectionResetError:
            return True

    def close(self):
        self.s.close()


def parse_answer(qtype, payload):
    """A D_ANSWER payload as a dict: status, secure, ttl, records."""
    status, secure, ttl, n = struct.unpack(">BBII", payload[:10])
    p = payload[10:]

    def take_str():
        nonlocal p
        (ln,) = struct.unpack(">I", p[:4])
        v, p = p[4:4 + ln], p[4 + ln:]
        return v
    recs = []
    for _ in range(n):
        if qtype == "MX":
            (pref,) = struct.unpack(">H", p[:2])
            p = p[2:]
            recs.append((pref, take_str().decode()))
        elif qtype in ("A", "AAAA"):
            fam = socket.AF_INET if qtype == "A" else socket.AF_INET6
            recs.append(socket.inet_ntop(fam, take_str()))
        elif qtype == "PTR":
            recs.append(take_str().decode())
        elif qtype == "TXT":
            recs.append(take_str())
        elif qtype == "TLSA":
            u, s, m = p[0], p[1], p[2]
            p = p[3:]
            recs.append((u, s, m, take_str().hex()))
    assert p == b"", "bytes left over in the answer"
    return {"status": STATUS[status], "secure": secure, "ttl": ttl, "records": recs}


def ask(postern, qtype, name):
    c = DnsClient(postern)
    try:
        c.query(7, qtype, name)
        mtype, reqid, payload = c.recv()
        assert reqid == 7
        if mtype == D_ERROR:
            return {"status": "ERROR", "reason": payload[4:].decode()}
        assert mtype == D_ANSWER
        return parse_answer(qtype, payload)
    finally:
        c.close()


@pytest.fixture
def dns_postern(make_postern, unbound_server):
    """The resolver alone (no mail daemons), upstream: the test server."""
    p = make_postern(start=False, dns=unbound_server)
    p.start_resolver()
    return p


def resolver_alive(p):
    return p.procs["resolver"].poll() is None and p.child("resolver", "worker")


# ---- answers ----

def test_each_type_through_posternctl(dns_postern):
    p = dns_postern
    rc, out, _ = p.resolve("mx", "multi.example.test")
    assert rc == 0
    assert out[0] == "status OK ttl 300 insecure"
    assert sorted(out[1:]) == ["MX 10 mx1.example.test", "MX 10 mx2.example.test",
                               "MX 20 mx3.example.test", "MX 30 mx4.example.test"]
    rc, out, _ = p.resolve("MX", "nullmx.example.test.")
    assert (rc, out[1:]) == (0, ["MX 0 ."])
    rc, out, _ = p.resolve("a", "mx1.example.test")
    assert (rc, out[1:]) == (0, ["A 127.0.0.2"])
    rc, out, _ = p.resolve("a", "nomx.example.test")
    assert (rc, out[1:]) == (0, ["A 127.0.0.5"])
    rc, out, _ = p.resolve("aaaa", "v6.example.test")
    assert rc == 0 and sorted(out[1:]) == ["AAAA 2001:db8::1", "AAAA 2001:db8::25"]
    rc, out, _ = p.resolve("aaaa", "mx1.example.test")
    assert (rc, out[1:]) == (0, ["AAAA ::1"])
    rc, out, _ = p.resolve("ptr", "127.0.0.2")
    assert (rc, out[1:]) == (0, ["PTR mx1.example.test"])
    rc, out2, _ = p.resolve("ptr", "2.0.0.127.in-addr.arpa")
    assert (rc, out2[1:]) == (0, ["PTR mx1.example.test"])
    rc, out, _ = p.resolve("txt", "txt.example.test")
    assert (rc, out[1:]) == (0, ['TXT "v=spf1 -all"'])
    # several character-strings are joined
    rc, out, _ = p.resolve("txt", "split.example.test")
    assert (rc, out[1:]) == (0, ['TXT "v=DKIM1; k=rsa; p=MIGfMA0G"'])
    rc, out, _ = p.resolve("tlsa", "_25._tcp.mx1.example.test")
    assert (rc, out[1:]) == (0, [f"TLSA 3 1 1 {TLSA_HASH}"])
    # a CNAME is followed: the records are the target's
    rc, out, _ = p.resolve("a", "alias.example.test")
    assert (rc, out[1:]) == (0, ["A 127.0.0.2"])


def test_each_type_through_the_protocol(dns_postern):
    p = dns_postern
    a = ask(p, "MX", "multi.example.test")
    assert a["status"] == "OK" and a["secure"] == 0 and a["ttl"] == 300
    assert sorted(a["records"]) == [(10, "mx1.example.test"), (10, "mx2.example.test"),
                                    (20, "mx3.example.test"), (30, "mx4.example.test")]
    assert ask(p, "MX", "nullmx.example.test")["records"] == [(0, ".")]
    assert ask(p, "A", "mx2.example.test")["records"] == ["127.0.0.3"]
    assert sorted(ask(p, "AAAA", "v6.example.test")["records"]) == ["2001:db8::1",
                                                                     "2001:db8::25"]
    assert ask(p, "PTR", "2.0.0.127.in-addr.arpa")["records"] == ["mx1.example.test"]
    assert ask(p, "TXT", "split.example.test")["records"] == [b"v=DKIM1; k=rsa; p=MIGfMA0G"]
    assert ask(p, "TLSA", "_25._tcp.mx1.example.test")["records"] == [(3, 1, 1, TLSA_HASH)]


def test_nxdomain_and_nodata(dns_postern):
    p = dns_postern
    rc, out, _ = p.resolve("mx", "nosuch.example.test")
    assert rc == 1 and out[0].startswith("status NXDOMAIN ") and len(out) == 1
    # the name exists (it has an A record) but no MX
    rc, out, _ = p.resolve("mx", "nomx.example.test")
    assert rc == 1 and out[0].startswith("status NODATA ") and len(out) == 1
    rc, out, _ = p.resolve("aaaa", "mx2.example.test")
    assert rc == 1 and out[0].startswith("status NODATA ")
    a = ask(p, "A", "nosuch.example.test")
    assert a["status"] == "NXDOMAIN" and a["records"] == []
    assert ask(p, "TXT", "mx1.example.test")["status"] == "NODATA"


def test_posternctl_usage_errors(dns_postern):
    p = dns_postern
    for args in (("resolve",), ("resolve", "mx"), ("resolve", "soa", "example.test"),
                 ("resolve", "mx", "bad name.example.test"), ("resolve", "a", "a..b"),
                 ("resolve", "a", "x" * 64 + ".example.test"),
                 ("resolve", "mx", "a", "b")):
        r = p.ctl(*args, check=False)
        assert r.returncode == 64, (args, r.stdout, r.stderr)


def test_posternctl_without_resolver(make_postern):
    p = make_postern(start=False)
    rc, out, err = p.resolve("mx", "example.test")
    assert rc == 2 and "resolver unreachable" in err


# ---- concurrency and timeouts ----

def test_many_concurrent_queries(dns_postern):
    """200 queries for 200 names at once over 4 connections, plus one
    posternctl, all answered correctly."""
    p = dns_postern
    clients = [DnsClient(p) for _ in range(4)]
    want = {}
    start = time.monotonic()
    for i in range(200):
        c = clients[i % 4]
        c.query(1000 + i, "A", f"h{i}.example.test")
        want[1000 + i] = f"127.0.{1 + i // 250}.{i % 250}"
    rc, out, _ = p.resolve("mx", "multi.example.test")
    assert rc == 0 and len(out) == 5
    got = {}
    for c in clients:
        for _ in range(50):
            mtype, reqid, payload = c.recv()
            assert mtype == D_ANSWER
            a = parse_answer("A", payload)
            assert a["status"] == "OK", (reqid, a)
            got[reqid] = a["records"][0]
    assert got == want
    assert time.monotonic() - start < 20
    for c in clients:
        c.close()


def test_silent_name_times_out_without_blocking_others(dns_postern):
    """The test server drops queries for slow.example.test: that query
    fails after dns_timeout (2 s) while other answers keep coming."""
    p = dns_postern
    c = DnsClient(p)
    t0 = time.monotonic()
    c.query(1, "A", "slow.example.test")
    for name in ("mx1.example.test", "mx2.example.test", "h7.example.test"):
        t = time.monotonic()
        rc, out, _ = p.resolve("a", name)
        assert rc == 0
        assert time.monotonic() - t < 1.5
    mtype, reqid, payload = c.recv()
    waited = time.monotonic() - t0
    assert (mtype, reqid) == (D_ANSWER, 1)
    assert parse_answer("A", payload)["status"] == "TEMPFAIL"
    assert 1.5 < waited < 6, waited
    assert "slow.example.test A: no answer within 2000 ms" in p.log("resolver")
    c.close()


def test_dead_upstream_is_a_temporary_failure(make_postern):
    """Nothing listens on the upstream's port."""
    p = make_postern(start=False, dns=f"127.0.0.1@{free_port()}")
    p.start_resolver()
    t = time.monotonic()
    rc, out, _ = p.resolve("mx", "multi.example.test")
    assert rc == 2 and out[0].startswith("status TEMPFAIL")
    assert time.monotonic() - t < 5
    assert resolver_alive(p)


def test_silent_upstream_times_out(make_postern):
    """The upstream takes the queries and never answers."""
    hole = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    hole.bind(("127.0.0.1", 0))
    port = hole.getsockname()[1]
    try:
        p = make_postern(start=False, dns=f"127.0.0.1@{port}")
        p.start_resolver()
        results = {}

        def one(name):
            t = time.monotonic()
            results[name] = (p.resolve("a", name)[0], time.monotonic() - t)
        threads = [threading.Thread(target=one, args=(f"h{i}.example.test",)) for i in range(5)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(30)
        for name, (rc, took) in results.items():
            assert rc == 2, name
            assert 1.5 < took < 6, (name, took)
        assert len(results) == 5
        hole.settimeout(0.1)
        assert hole.recv(4096)  # it did ask
        assert resolver_alive(p)
    finally:
        hole.close()


def test_upstream_restart(dns_postern, unbound_server):
    p = dns_postern
    assert p.resolve("a", "h1.example.test")[0] == 0
    unbound_server.stop()
    t = time.monotonic()
    rc, out, _ = p.resolve("a", "h2.example.test")
    assert rc == 2 and out[0].startswith("status TEMPFAIL")
    assert time.monotonic() - t < 5
    # cached answers still come
    assert p.resolve("a", "h1.example.test")[0] == 0
    unbound_server.restart()
    wait_for(lambda: p.resolve("a", "h3.example.test")[0] == 0, timeout=30, interval=0.5,
             what="answers after the upstream came back")
    assert p.resolve("mx", "multi.example.test")[0] == 0


# ---- bad clients ----

BAD_NAMES = ["bad name.example.test", "a..b", ".example.test", "example.test..",
             "-lead.example.test", "trail-.example.test", "x" * 64 + ".example.test",
             ".".join(["a" * 63] * 4) + "x", "uml\u00e4ut.example.test", "", ".",
             "semi;colon.example.test", "nul\0byte.example.test"]


def test_bad_queries_get_a_clean_error(dns_postern):
    p = dns_postern
    c = DnsClient(p)
    for i, name in enumerate(BAD_NAMES):
        raw = name.encode("utf-8")
        c.query(i, "A", raw)
        mtype, reqid, payload = c.recv()
        assert reqid == i and mtype == D_ERROR, name
        # a NUL inside the string makes the payload itself malformed
        assert payload[4:] in (b"invalid name", b"malformed query"), (name, payload)
    c.query(50, 6, "example.test")  # SOA: not served
    assert c.recv()[0:2] == (D_ERROR, 50)
    c.query(51, 255, "example.test")  # ANY
    assert c.recv()[0:2] == (D_ERROR, 51)
    c.send_frame(D_QUERY, 52, b"\x00")  # truncated
    mtype, reqid, payload = c.recv()
    assert (mtype, reqid, payload[4:]) == (D_ERROR, 52, b"malformed query")
    c.send_frame(D_QUERY, 53, struct.pack(">HI", 1, 3) + b"abcdef")  # bytes left over
    assert c.recv()[0:2] == (D_ERROR, 53)
    c.send_frame(D_QUERY, 54, struct.pack(">HI", 1, 1000) + b"abc")  # length beyond
    assert c.recv()[0:2] == (D_ERROR, 54)
    # the longest valid name is fine (it just does not exist)
    longest = ".".join(["a" * 63, "b" * 63, "c" * 63, "d" * 61])
    assert len(longest) == 253
    c.query(55, "A", longest + ".")
    mtype, reqid, payload = c.recv()
    assert (mtype, reqid) == (D_ANSWER, 55)
    assert parse_answer("A", payload)["status"] in ("NXDOMAIN", "TEMPFAIL")
    # and the same connection still works
    c.query(56, "MX", "nullmx.example.test")
    mtype, reqid, payload = c.recv()
    assert parse_answer("MX", payload)["records"] == [(0, ".")]
    c.close()


def test_garbage_frames_close_only_that_client(dns_postern):
    p = dns_postern
    other = DnsClient(p)
    garbage = [
        b"\xff" * 64,                                         # flags 0xffff
        struct.pack(">HHII", D_QUERY, 0x8000, 0, 1),           # unknown flag
        struct.pack(">HHII", D_QUERY, 0, 2 * 1024 * 1024, 1),  # payload over 1 MiB
        struct.pack(">HHII", 9999, 0, 0, 1),                   # unknown type
        struct.pack(">HHII", D_ANSWER, 0, 0, 1),               # a reply, from a client
        struct.pack(">HHII", D_QUERY, 1, 0, 1),                # fd flag without an fd
    ]
    for g in garbage:
        c = DnsClient(p)
        c.s.sendall(g)
        assert c.closed(), g
        c.close()
    # a descriptor riding along is refused too
    c = DnsClient(p)
    r, w = os.pipe()
    hdr = struct.pack(">HHII", D_QUERY, 1, 0, 1)
    c.s.sendmsg([hdr], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, struct.pack("i", r))])
    os.close(r)
    os.close(w)
    assert c.closed()
    c.close()
    # a half frame, then the client goes away
    c = DnsClient(p)
    c.s.sendall(struct.pack(">HHII", D_QUERY, 0, 100, 1) + b"\0\1")
    c.close()
    other.query(3, "A", "mx1.example.test")
    mtype, reqid, payload = other.recv()
    assert parse_answer("A", payload)["records"] == ["127.0.0.2"]
    other.close()
    assert resolver_alive(p)


def test_clients_that_leave_mid_query(dns_postern):
    p = dns_postern
    for round_ in range(10):
        c = DnsClient(p)
        c.query(1, "A", "slow.example.test")  # never answered upstream
        for i in range(20):
            c.query(2 + i, "A", f"h{(round_ * 20 + i) % 250}.example.test")
        c.close()
    # the timers of the abandoned queries must not fire into freed clients
    time.sleep(3)
    assert resolver_alive(p)
    rc, out, _ = p.resolve("mx", "multi.example.test")
    assert rc == 0


def test_sigterm_with_a_query_in_flight(dns_postern):
    p = dns_postern
    c = DnsClient(p)
    c.query(1, "A", "slow.example.test")
    time.sleep(0.2)
    p.procs["resolver"].send_signal(signal.SIGTERM)
    mtype, reqid, payload = c.recv()
    assert parse_answer("A", payload)["status"] == "TEMPFAIL"
    assert p.procs["resolver"].wait(timeout=10) == 0
    c.close()
    assert "exiting" in p.log("resolver")


# ---- DNSSEC ----

@pytest.mark.skipif(not os.path.exists(ROOT_KEY), reason="dns-root-data is not installed")
def test_validation_on_local_zone_still_answers(make_postern, unbound_server):
    """With the root trust anchor, names below dns_insecure_domain are
    answered (insecure); a name whose chain of trust cannot be built
    here (the test server refuses the root zone) is a temporary failure,
    logged as a validation failure."""
    p = make_postern(start=False, dns=unbound_server,
                     extra_conf=f"dns_trust_anchor {ROOT_KEY}\n"
                                "dns_insecure_domain example.test\n")
    p.start_resolver()
    assert "DNSSEC validation on: 2 trust anchor record(s)" in p.log("resolver")
    rc, out, _ = p.resolve("mx", "multi.example.test")
    assert rc == 0 and out[0] == "status OK ttl 300 insecure" and len(out) == 5
    a = ask(p, "A", "mx1.example.test")
    assert a["status"] == "OK" and a["secure"] == 0
    rc, out, _ = p.resolve("ptr", "127.0.0.2")
    assert rc == 2 and out[0].startswith("status TEMPFAIL")
    assert "2.0.0.127.in-addr.arpa PTR: DNSSEC validation failed" in p.log("resolver")


def test_bad_trust_anchor_stops_the_start(make_postern, tmp_path):
    bad = tmp_path / "bad.key"
    bad.write_text(". IN A 127.0.0.1\n")
    p = make_postern(start=False, extra_conf=f"dns_trust_anchor {bad}\n")
    proc = p.start("resolver")
    assert proc.wait(timeout=10) == 1
    assert "not a DS or DNSKEY record" in p.log("resolver")
    p2 = make_postern(start=False, extra_conf=f"dns_trust_anchor {tmp_path}/missing\n")
    assert p2.start("resolver").wait(timeout=10) == 1
    assert "dns-root-data" in p2.log("resolver")


# ---- privileges ----

def task_ids(pid):
    out = []
    for tid in os.listdir(f"/proc/{pid}/task"):
        st = {}
        with open(f"/proc/{pid}/task/{tid}/status") as f:
            for line in f:
                k, _, v = line.partition(":")
                st[k] = v.split()
        out.append(st)
    return out


@pytest.mark.skipif(not IS_ROOT, reason="needs root")
def test_worker_identity_and_root(dns_postern):
    from test_privsep import check_identity
    p = dns_postern
    pid = p.child("resolver", "worker")
    assert pid
    check_identity(pid, "postern-dns", os.path.join(p.spool, "empty"))
    # libunbound's thread too: same ids, no way back
    pw = pwd.getpwnam("postern-dns")
    tasks = task_ids(pid)
    assert len(tasks) >= 2
    for st in tasks:
        assert st["Uid"] == [str(pw.pw_uid)] * 4
        assert st["Gid"] == [str(pw.pw_gid)] * 4
        assert st["NoNewPrivs"] == ["1"]
        assert int(st["CapEff"][0], 16) == 0
    monitor = p.procs["resolver"].pid
    assert task_ids(monitor)[0]["Uid"][0] == "0"
    assert os.readlink(f"/proc/{monitor}/root") == "/"
    # the worker's root is empty, and not writable by it
    empty = os.path.join(p.spool, "empty")
    assert os.listdir(empty) == []
    st = os.stat(empty)
    assert (st.st_uid, st.st_mode & 0o777) == (0, 0o555)
    st = os.stat(os.path.join(p.spool, "run"))
    assert (st.st_uid, st.st_mode & 0o777) == (0, 0o755)
    st = os.stat(os.path.join(p.spool, "run", "dns.sock"))
    assert (st.st_uid, st.st_mode & 0o777) == (0, 0o666)


def test_only_allowed_users_may_query(dns_postern):
    p = dns_postern

    def try_query():
        try:
            c = DnsClient(p, timeout=5, path="/run/dns.sock")
            c.query(9, "A", "mx1.example.test")
            got = c.recv()
            c.close()
            if got is None:
                return "refused"
            return STATUS[got[2][0]] if got[0] == D_ANSWER else "error"
        except (ConnectionResetError, BrokenPipeError):
            return "refused"
        except OSError as e:
            return f"oserror {e.errno}"
    nobody = pwd.getpwnam("nobody")
    assert as_uid(nobody.pw_uid, nobody.pw_gid, p.spool, try_query) == "refused"
    assert f"refusing resolver client with uid {nobody.pw_uid}" in p.log("resolver")
    # the resolver's own user is no client either, nor the relay agent's
    # (the queue manager connects for it)
    for user in ("postern-dns", "postern-relay"):
        pw = pwd.getpwnam(user)
        assert as_uid(pw.pw_uid, pw.pw_gid, p.spool, try_query) == "refused", user
    for user in ("postern-queue", "postern-smtpd"):
        pw = pwd.getpwnam(user)
        assert as_uid(pw.pw_uid, pw.pw_gid, p.spool, try_query) == "OK", user


# ---- the demo ----

def test_demo_points_the_resolver_at_loopback(tmp_path):
    """`make run` (etc/demo-run.sh) starts a DNS server of its own on
    loopback and the resolver with it as the only upstream."""
    state = tmp_path / "demo"
    ports = (2525, 2110, 2587, 2465, 2995, 2053)
    for port in ports:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                pytest.skip(f"port {port} is in use (a demo running?)")
    log = open(tmp_path / "demo.log", "wb")
    proc = subprocess.Popen(["sh", os.path.join(ROOT, "etc", "demo-run.sh"), BUILD, str(state)],
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        conf = state / "etc" / "postern.conf"
        wait_for(lambda: "postern demo is up" in (tmp_path / "demo.log").read_text(errors="replace"),
                 timeout=90, what="the demo")
        text = conf.read_text()
        forwards = [ln.split()[1:] for ln in text.splitlines() if ln.split()[:1] == ["forward"]]
        assert forwards, "the demo config has no forward line"
        for line in forwards:
            for addr in line:
                host = addr.split("@")[0].strip("[]")
                assert host.startswith("127.") or host == "::1", addr
        wait_for(lambda: dns_probe(2053), timeout=30, what="the demo's DNS server")
        ctl = os.path.join(BUILD, "posternctl")
        wait_for(lambda: subprocess.run([ctl, "-f", str(conf), "resolve", "mx", "example.test"],
                                        capture_output=True).returncode == 0,
                 timeout=30, what="the demo resolver")
        r = subprocess.run([ctl, "-f", str(conf), "resolve", "mx", "example.test"],
                           capture_output=True, text=True)
        assert "MX 10 mail.example.test" in r.stdout
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        finally:
            log.close()
    text = (tmp_path / "demo.log").read_text(errors="replace")
    assert "postern demo stopped" in text
    # every daemon the demo started is gone
    for port in ports:
        with socket.socket() as s:
            assert s.connect_ex(("127.0.0.1", port)) != 0, port
