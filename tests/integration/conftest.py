"""Test harness for postern's integration tests.

Starts real queued, smtpd and (when asked) pop3d daemons on free loopback ports with a
per-test configuration under a temporary directory, and gives the tests
helpers to read Maildirs, find the daemons' processes and restart them.
Run as root, the daemons use the real postern-* users and chroots; run
as another user they run unprivileged (and the privilege tests skip).

DNS: the unbound_server fixture runs Debian's unbound on a loopback port
with a local test zone (TEST_ZONE); make_postern(dns=...) points postern's
resolver at it and starts the resolver too. Every postern config names a
loopback upstream ("forward"), so no test's resolver ever falls back to
the machine's own nameserver in /etc/resolv.conf.

Remote delivery: the mx_peer and raw_mx fixtures start test MX servers
(mxpeer.py) on loopback addresses, port 25, for the hosts RELAY_ZONE
names; make_postern(hostname=, domains=, smtp_listen=) makes a second
instance that plays an MX itself.
"""
import contextlib
import os
import re
import signal
import socket
import subprocess
import time

import pytest

BUILD = os.environ.get("POSTERN_BUILD") or os.path.join(
    os.path.dirname(__file__), "..", "..", "build")
BUILD = os.path.abspath(BUILD)
SANITIZER = os.environ.get("POSTERN_SANITIZER") == "1"
IS_ROOT = os.geteuid() == 0

USERS = {"alice": "wonderland", "bob": "builder", "carol": "secret"}
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
_tls_dir = None


def tls_files():
    """The demo CA and server certificate (etc/make-cert.sh), made once
    per test run: a dict with ca, cert and key paths."""
    global _tls_dir
    if _tls_dir is None:
        import tempfile
        _tls_dir = tempfile.mkdtemp(prefix="postern-tls-")
        os.chmod(_tls_dir, 0o755)
        subprocess.run(["sh", os.path.join(ROOT, "etc", "make-cert.sh"), _tls_dir,
                        "mail.example.test"], check=True, timeout=60)
    return {n: os.path.join(_tls_dir, n + ".pem") for n in ("ca", "cert", "key")}


def own_cert_dir(tmp_path):
    """A directory under tmp_path with copies of the demo certificate and
    key, for a test that replaces them (SIGHUP reload)."""
    import shutil
    d = tmp_path / "certs"
    d.mkdir()
    shutil.copy(tls_files()["cert"], d / "cert.pem")
    shutil.copy(tls_files()["key"], d / "key.pem")
    return d


def client_tls_context():
    """What a careful client uses: verify the chain against the demo CA
    and the host name."""
    import ssl
    ctx = ssl.create_default_context(cafile=tls_files()["ca"])
    return ctx


_ports_given = set()


def free_port():
    """A loopback TCP port nobody listens on, never one this test run
    has handed out before (the kernel may offer a just-closed port
    again, and one config takes several)."""
    for _ in range(100):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _ports_given:
            _ports_given.add(port)
            return port
    raise AssertionError("no fresh loopback port")


def wait_for(pred, timeout=30.0, interval=0.05, what="condition"):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(interval)
    raise AssertionError("timed out waiting for " + what)


def children_of(ppid):
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                st = f.read()
        except OSError:
            continue
        fields = st[st.rindex(")") + 2:].split()
        if int(fields[1]) == ppid:
            out.append(int(d))
    return out


def greets(port, prefix, host="127.0.0.1"):
    """True when a server on the loopback port answers with prefix."""
    try:
        with socket.create_connection((host, port), timeout=2) as s:
            s.settimeout(5)
            return s.recv(100).startswith(prefix)
    except OSError:
        return False


def dns_probe(port, timeout=0.5):
    """True when something answers a DNS query on 127.0.0.1:port (UDP)."""
    import struct
    q = struct.pack(">HHHHHH", 0x5053, 0x0100, 1, 0, 0, 0)
    q += b"".join(bytes([len(x)]) + x for x in (b"example", b"test")) + b"\0"
    q += struct.pack(">HH", 6, 1)  # SOA IN
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        try:
            s.sendto(q, ("127.0.0.1", port))
            return s.recv(4096)[:2] == q[:2]
        except OSError:
            return False


UNBOUND = "/usr/sbin/unbound"

# The zone the test DNS server serves (unbound local-data). The relay
# tests (test_relay.py) use it too: every MX host is a loopback address
# where a test peer (mxpeer.py) listens on port 25 (RELAY_ZONE below).
TLSA_HASH = "0123456789abcdef" * 4
TEST_ZONE = [
    "example.test. 300 IN SOA ns.example.test. hostmaster.example.test. 1 3600 600 86400 300",
    "example.test. 300 IN NS ns.example.test.",
    "example.test. 300 IN MX 10 mx1.example.test.",
    # several MX, equal and different preferences
    "multi.example.test. 300 IN MX 10 mx1.example.test.",
    "multi.example.test. 300 IN MX 10 mx2.example.test.",
    "multi.example.test. 300 IN MX 20 mx3.example.test.",
    "multi.example.test. 300 IN MX 30 mx4.example.test.",
    # RFC 7505 null MX
    "nullmx.example.test. 300 IN MX 0 .",
    # no MX, but an address
    "nomx.example.test. 300 IN A 127.0.0.5",
    "mx1.example.test. 300 IN A 127.0.0.2",
    "mx1.example.test. 300 IN AAAA ::1",
    "mx2.example.test. 300 IN A 127.0.0.3",
    "mx3.example.test. 300 IN A 127.0.0.4",
    "mx4.example.test. 300 IN A 127.0.0.6",
    "v6.example.test. 300 IN AAAA 2001:db8::1",
    "v6.example.test. 300 IN AAAA 2001:db8::25",
    "alias.example.test. 300 IN CNAME mx1.example.test.",
    'txt.example.test. 300 IN TXT "v=spf1 -all"',
    'split.example.test. 300 IN TXT "v=DKIM1; k=rsa; " "p=MIGfMA0G"',
    f"_25._tcp.mx1.example.test. 300 IN TLSA 3 1 1 {TLSA_HASH}",
    # many names, for concurrency: hN -> 127.0.1.N
    *[f"h{i}.example.test. 300 IN A 127.0.{1 + i // 250}.{i % 250}" for i in range(250)],
]
# For test_relay.py: a domain (or two) per test, each MX host on an
# address of its own, 127.0.0.11 and up (127.0.0.2-6, above, serve
# multi.example.test and nomx.example.test there too). RELAY_ADDR maps
# each host name to the address its peer listens on.
RELAY_ADDR = {
    "relayhost.example.test": "127.0.0.11",    # relayhost tests, port 2526
    "mx-best.example.test": "127.0.0.12",      # pref.example.test, MX 10
    "mx-worse.example.test": "127.0.0.13",     # pref.example.test, MX 20
    "mx-later1.example.test": "127.0.0.14",    # later.example.test, MX 10
    "mx-later2.example.test": "127.0.0.15",    # later.example.test, MX 20
    "mx-reject.example.test": "127.0.0.16",    # reject.example.test: 550 per recipient
    "mx-flaky.example.test": "127.0.0.17",     # flaky.example.test: 451, then 250
    "mx-tls.example.test": "127.0.0.18",       # tls.example.test: STARTTLS
    "mx-evil.example.test": "127.0.0.19",      # evil.example.test: malicious replies
    "mx-good.example.test": "127.0.0.21",      # good.example.test: plain, well-behaved
    "mx-big.example.test": "127.0.0.22",       # big.example.test: SIZE 10000
    "mx-elsewhere.example.test": "127.0.0.23", # elsewhere.example.test
    "mx-pipe.example.test": "127.0.0.24",      # pipe.example.test: PIPELINING check
    "mx-slow.example.test": "127.0.0.25",      # slow-mx.example.test: concurrency limits
    "mx.far.example.test": "127.0.0.7",        # far.example.test: a second postern
}
RELAY_ZONE = [
    "pref.example.test. 300 IN MX 10 mx-best.example.test.",
    "pref.example.test. 300 IN MX 20 mx-worse.example.test.",
    # both MX hosts down, then the worse one comes up
    "later.example.test. 300 IN MX 10 mx-later1.example.test.",
    "later.example.test. 300 IN MX 20 mx-later2.example.test.",
    *[f"{d}.example.test. 300 IN MX 10 mx-{d}.example.test."
      for d in ("reject", "flaky", "tls", "evil", "good", "big", "elsewhere", "pipe")],
    "slow-mx.example.test. 300 IN MX 10 mx-slow.example.test.",
    "far.example.test. 300 IN MX 10 mx.far.example.test.",
    *[f"{host}. 300 IN A {addr}" for host, addr in RELAY_ADDR.items()],
    # a relayhost is looked up by address only: its MX (elsewhere) must not be used
    "relayhost.example.test. 300 IN MX 10 mx-elsewhere.example.test.",
    # IPv6 only
    "v6only.example.test. 300 IN MX 10 mx-v6.example.test.",
    "mx-v6.example.test. 300 IN AAAA ::1",
]
TEST_ZONE += RELAY_ZONE
TEST_PTR = ["127.0.0.2 mx1.example.test."]


class UnboundServer:
    """Debian's unbound, not the system service: its own config in a
    temporary directory, 127.0.0.1 on a free port, in the foreground,
    authoritative for TEST_ZONE (plus extra lines) and refusing every
    other name, so it never asks anyone else. Stopped by PID."""

    def __init__(self, root, zone=None, ptr=None):
        self.root = root
        os.makedirs(root, exist_ok=True)
        self.conf = os.path.join(root, "unbound.conf")
        self.log = os.path.join(root, "unbound.log")
        self.pidfile = os.path.join(root, "unbound.pid")
        self.zone = TEST_ZONE if zone is None else zone
        self.ptr = TEST_PTR if ptr is None else ptr
        self.port = None
        self.proc = None

    @property
    def forward(self):
        return f"127.0.0.1@{self.port}"

    def _write_conf(self):
        q = '"'
        lines = [
            "server:",
            "  interface: 127.0.0.1",
            f"  port: {self.port}",
            "  do-daemonize: no",
            '  chroot: ""',
            '  username: ""',
            f'  directory: "{self.root}"',
            f'  pidfile: "{self.pidfile}"',
            "  use-syslog: no",
            '  logfile: ""',
            "  verbosity: 1",
            "  log-queries: yes",
            "  do-ip6: no",
            "  module-config: iterator",
            "  access-control: 127.0.0.0/8 allow",
            # everything not below is refused: no recursion, ever
            '  local-zone: "." refuse',
            '  local-zone: "example.test." static',
            # queries for slow.example.test are dropped: never answered
            '  local-zone: "slow.example.test." deny',
        ]
        for rr in self.zone:
            # TXT data has double quotes: quote the whole record with single ones
            lines.append(f"  local-data: '{rr}'" if q in rr else f'  local-data: "{rr}"')
        for ptr in self.ptr:
            lines.append(f'  local-data-ptr: "{ptr}"')
        lines += ["remote-control:", "  control-enable: no", ""]
        with open(self.conf, "w") as f:
            f.write("\n".join(lines))

    def _ready(self):
        """Whether the server answers; subclasses may ask for more."""
        return dns_probe(self.port)

    def _launch(self):
        self._write_conf()
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen([UNBOUND, "-d", "-c", self.conf],
                                         stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_for(lambda: self.proc.poll() is not None or self._ready(),
                     timeout=15, what="unbound")
        except AssertionError:
            pass
        return self.proc.poll() is None and self._ready()

    def start(self):
        # a port free for TCP may still be taken for UDP: try a few
        for _ in range(5):
            self.port = free_port()
            if self._launch():
                return self
            self.stop()
        raise AssertionError("unbound did not start:\n" + self.logtext()[-2000:])

    def restart(self):
        """Stops it and starts it again on the same port."""
        self.stop()
        assert self._launch(), "unbound did not restart:\n" + self.logtext()[-2000:]

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def logtext(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()
        except OSError:
            return ""


@pytest.fixture
def unbound_server(tmp_path):
    if not os.path.exists(UNBOUND):
        pytest.skip("unbound is not installed (tests/install-deps.sh installs it)")
    u = UnboundServer(str(tmp_path / "unbound"))
    u.start()
    yield u
    u.stop()


def cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


class Postern:
    """One postern instance: config, users, both daemons."""

    def __init__(self, root, extra_conf="", relay="10.255.255.0/24", tls=True, dns=None,
                 hostname="mail.example.test", domains="example.test example.org",
                 smtp_listen=None):
        self.root = root
        self.etc = os.path.join(root, "etc")
        self.spool = os.path.join(root, "spool")
        self.mail = os.path.join(root, "mail")
        self.logdir = os.path.join(root, "log")
        for d in (self.etc, self.logdir):
            os.makedirs(d, exist_ok=True)
        os.chmod(root, 0o755)
        # the smtp listener: 127.0.0.1 on a free port, or smtp_listen
        # ("127.0.0.7:25", "[::1]:25") for an instance that plays an MX
        if smtp_listen:
            host, _, port = smtp_listen.rpartition(":")
            self.smtp_host, self.port = host.strip("[]"), int(port)
        else:
            self.smtp_host, self.port = "127.0.0.1", free_port()
        smtp_listen = smtp_listen or f"127.0.0.1:{self.port}"
        self.hostname = hostname
        self.domains = domains.split()
        self.pop3_port = free_port()
        self.sub_port = free_port()    # submission, STARTTLS (587)
        self.subs_port = free_port()   # submissions, implicit TLS (465)
        self.pop3s_port = free_port()  # pop3s, implicit TLS (995)
        self.tls = tls_files() if tls else None
        tls_conf = ""
        if tls:
            tls_conf = f"""tls_certificate {self.tls["cert"]}
tls_key {self.tls["key"]}
listen submission 127.0.0.1:{self.sub_port}
listen submissions 127.0.0.1:{self.subs_port}
listen pop3s 127.0.0.1:{self.pop3s_port}
"""
        # the resolver's upstream: the test DNS server, an "ADDR@PORT",
        # or by default a loopback port where nothing listens (never the
        # machine's nameserver)
        if isinstance(dns, UnboundServer):
            self.dns_forward = dns.forward
        elif dns:
            self.dns_forward = dns
        else:
            self.dns_forward = f"127.0.0.1@{free_port()}"
        self.dns = dns
        dns_conf = f"forward {self.dns_forward}\n"
        if "dns_timeout" not in extra_conf:
            dns_conf += "dns_timeout 2s\n"
        if "dns_trust_anchor" not in extra_conf:
            # the test zone is not signed; test_resolver turns validation on itself
            dns_conf += "dns_trust_anchor none\n"
        self.conf = os.path.join(self.etc, "postern.conf")
        with open(self.conf, "w") as f:
            f.write(f"""hostname {hostname}
domain {domains}
listen smtp {smtp_listen}
listen pop3 127.0.0.1:{self.pop3_port}
spool {self.spool}
mail_root {self.mail}
relay_networks {relay}
log stderr
retry_min 1s
retry_max 2s
{tls_conf}{dns_conf}{extra_conf}
""")
        if IS_ROOT:
            self.ctl("setup")
        for user, pw in USERS.items():
            self.ctl("user", "add", user, input=pw + "\n")
        with open(os.path.join(self.etc, "aliases"), "w") as f:
            f.write("postmaster: alice\nteam: alice, bob\nall: team, carol\n")
        self.procs = {}
        self.logs = {}
        self.prefix = []  # e.g. ["ip", "netns", "exec", NS]
        # a test that kills queued's remote delivery agent on purpose sets this
        self.agent_may_exit = False

    def ctl(self, *args, input=None, check=True):
        r = subprocess.run([os.path.join(BUILD, "posternctl"), "-f", self.conf, *args],
                           input=input, capture_output=True, text=True, timeout=60)
        if check and r.returncode != 0:
            raise AssertionError(f"posternctl {args} failed: {r.stderr}")
        return r

    def env(self):
        e = dict(os.environ)
        if SANITIZER:
            # chrooted processes cannot reach /proc for the leak checker
            e["ASAN_OPTIONS"] = "detect_leaks=0:abort_on_error=0:exitcode=86"
            e["UBSAN_OPTIONS"] = "print_stacktrace=1:halt_on_error=1"
        return e

    def start(self, name):
        log = open(os.path.join(self.logdir, f"{name}.log"), "ab")
        self.logs[name] = log
        p = subprocess.Popen(self.prefix + [os.path.join(BUILD, name), "-f", self.conf],
                             stdout=log, stderr=subprocess.STDOUT, env=self.env())
        self.procs[name] = p
        return p

    def start_all(self, pop3=False):
        if self.dns is not None:
            self.start_resolver()
        self.start("queued")
        wait_for(lambda: os.path.exists(os.path.join(self.spool, "run/queue.sock")),
                 what="queued socket")
        self.start("smtpd")
        self.wait_ready()
        if pop3:
            self.start_pop3d()

    def start_pop3d(self):
        self.start("pop3d")
        wait_for(lambda: greets(self.pop3_port, b"+OK"), what="pop3d greeting")
        wait_for(lambda: self.child("pop3d", "auth helper"), what="pop3d auth helper")

    def start_resolver(self):
        """Starts the resolver (again) and waits until its worker is ready."""
        before = self.log("resolver").count("ready:")
        self.start("resolver")
        wait_for(lambda: os.path.exists(os.path.join(self.spool, "run/dns.sock")) and
                 self.log("resolver").count("ready:") > before, what="resolver ready")

    def resolve(self, qtype, name):
        """posternctl resolve: (exit code, stdout lines, stderr)."""
        r = self.ctl("resolve", qtype, name, check=False)
        return r.returncode, r.stdout.splitlines(), r.stderr

    def wait_ready(self):
        wait_for(lambda: greets(self.port, b"220", self.smtp_host), what="smtpd greeting")
        wait_for(lambda: "connected to queued" in self.log("smtpd") or
                 self.log("smtpd").count("connecting to queued") == 0,
                 what="smtpd connected to queued")

    def stop(self, name, sig=signal.SIGTERM):
        p = self.procs.get(name)
        if p is None or p.poll() is not None:
            return
        p.send_signal(sig)
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()

    def stop_all(self):
        for name in ("pop3d", "smtpd", "queued", "resolver"):
            self.stop(name)
        for log in self.logs.values():
            log.close()

    def log(self, name):
        try:
            with open(os.path.join(self.logdir, f"{name}.log"), errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def child(self, daemon, role):
        """PID of a daemon's child process by role, e.g. ('queued', 'queue manager')."""
        parent = self.procs[daemon].pid
        for pid in children_of(parent):
            if role in cmdline(pid):
                return pid
        return None

    def maildir_files(self, user):
        d = os.path.join(self.mail, user, "new")
        if not os.path.isdir(d):
            return []
        return sorted(os.path.join(d, f) for f in os.listdir(d))

    def read_mail(self, user):
        out = []
        for p in self.maildir_files(user):
            with open(p, "rb") as f:
                out.append(f.read())
        return out

    def wait_mail(self, user, count, timeout=60):
        return wait_for(lambda: len(self.maildir_files(user)) >= count and
                        self.read_mail(user), timeout=timeout,
                        what=f"{count} message(s) for {user}")

    def queue_files(self):
        return os.listdir(os.path.join(self.spool, "queue"))

    def sanitizer_reports(self):
        bad = []
        for name in self.logs:
            text = self.log(name)
            for pat in ("ERROR: AddressSanitizer", "runtime error:", "ERROR: LeakSanitizer"):
                if pat in text:
                    bad.append(f"{name}: {pat}")
        return bad


@pytest.fixture
def make_postern(tmp_path):
    made = []

    def make(extra_conf="", relay="10.255.255.0/24", start=True, pop3=False, tls=True,
             dns=None, hostname="mail.example.test", domains="example.test example.org",
             smtp_listen=None):
        root = tmp_path / f"p{len(made)}"
        root.mkdir()
        p = Postern(str(root), extra_conf, relay, tls, dns, hostname, domains, smtp_listen)
        made.append(p)
        if start:
            p.start_all(pop3=pop3)
        return p

    yield make
    for p in made:
        p.stop_all()
    for p in made:
        reports = p.sanitizer_reports()
        assert not reports, f"sanitizer reports: {reports}"
        for name in ("smtpd", "queued", "pop3d", "resolver"):
            text = p.log(name)
            assert "exited with 86" not in text and "killed by signal 6" not in text, \
                f"{name} crashed:\n{text[-3000:]}"
        # queued's monitor restarts a helper that dies and logs it: the
        # remote delivery agent must survive whatever remote servers send
        if not p.agent_may_exit:
            text = p.log("queued")
            # (a clean exit, status 0, is the agent ending after the queue
            # manager it serves was killed on purpose)
            died = re.search(r"remote delivery (killed by signal \d+|exited with [1-9]\d*)", text)
            assert not died, f"queued's remote delivery agent died:\n{text[-3000:]}"


@pytest.fixture
def postern(make_postern):
    return make_postern()


@pytest.fixture
def mx_peer():
    """Factory for test MX servers (mxpeer.MXPeer, aiosmtpd): mx_peer(host,
    port=25, start=True, **options) gives a started peer (start=False:
    the test calls .start() itself later); all are stopped at the end."""
    import mxpeer
    if not mxpeer.HAVE_AIOSMTPD:
        pytest.skip("aiosmtpd is not installed (tests/install-deps.sh installs it)")
    made = []

    def make(host, port=25, start=True, **kw):
        p = mxpeer.MXPeer(host, port, **kw)
        made.append(p)
        if start:
            start_peer(p)
        return p
    yield make
    for p in made:
        p.stop()


@pytest.fixture
def raw_mx():
    """Factory for bare-socket test MX servers (mxpeer.RawMX):
    raw_mx(host, behaviour, port=25, start=True, **options), e.g.
    raw_mx("127.0.0.19", mxpeer.endless_reply(first="ehlo")); all are
    stopped at the end."""
    import mxpeer
    made = []

    def make(host, behaviour, port=25, start=True, **kw):
        p = mxpeer.RawMX(host, behaviour, port=port, **kw)
        made.append(p)
        if start:
            start_peer(p)
        return p
    yield make
    for p in made:
        p.stop()


def start_peer(p):
    """Starts a test MX server; skips the test when the port cannot be
    bound for want of privileges (port 25 needs root)."""
    try:
        return p.start()
    except PermissionError:
        pytest.skip(f"cannot bind {p.host}:{p.port} (port 25 needs root)")


@contextlib.contextmanager
def netns_with_address(addr="192.0.2.1"):
    """A network namespace of the test's own, whose loopback also has
    addr (a non-loopback address to serve and connect from). Yields its
    name; deleted afterwards."""
    import uuid
    ns = "pst-" + uuid.uuid4().hex[:8]
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        subprocess.run(["ip", "-n", ns, "link", "set", "lo", "up"], check=True)
        subprocess.run(["ip", "-n", ns, "addr", "add", addr + "/24", "dev", "lo"], check=True)
        yield ns
    finally:
        subprocess.run(["ip", "netns", "del", ns])


class LineClient:
    """A raw client for tests that need exact bytes on the wire, from an
    optional loopback source address."""

    def __init__(self, port, source=None):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=20,
                                          source_address=(source, 0) if source else None)
        self.buf = b""

    def send(self, data):
        self.s.sendall(data)

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.s.recv(65536)
            if not chunk:
                raise ConnectionError("closed; have %r" % self.buf)
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode("utf-8", "replace")

    def closed(self, timeout=5):
        """True once the server closes; what it sent before stays in buf."""
        self.s.settimeout(timeout)
        try:
            while True:
                chunk = self.s.recv(65536)
                if not chunk:
                    return True
                self.buf += chunk
        except (ConnectionResetError, socket.timeout):
            return False

    def close(self):
        self.s.close()


class SmtpClient(LineClient):
    """SMTP over LineClient."""

    def __init__(self, port, greeting=True):
        super().__init__(port)
        if greeting:
            self.greeting = self.reply()

    def closed(self, timeout=5):
        """Closed, with nothing more sent before the close."""
        before = len(self.buf)
        return super().closed(timeout) and len(self.buf) == before

    def reply(self):
        """One (multi-line) reply: returns (code, text of last line, all lines)."""
        lines = []
        while True:
            ln = self.line()
            lines.append(ln)
            if len(ln) < 4 or ln[3] != "-":
                break
        return int(lines[-1][:3]), lines[-1], lines

    def cmd(self, text):
        self.send(text.encode() + b"\r\n")
        return self.reply()


@pytest.fixture
def smtp_client():
    made = []

    def make(port, greeting=True):
        c = SmtpClient(port, greeting)
        made.append(c)
        return c
    yield make
    for c in made:
        c.close()


def pytest_report_header(config):
    return [f"postern build: {BUILD}", f"root: {IS_ROOT}", f"sanitizer: {SANITIZER}"]


def pytest_sessionfinish(session, exitstatus):
    if _tls_dir is not None:
        import shutil
        shutil.rmtree(_tls_dir, ignore_errors=True)
