"""Test MX servers for the relay tests: what postern's remote delivery
agent talks to.

MXPeer: a controllable SMTP server (aiosmtpd) on one loopback address,
port 25 by default. It records every session (commands, EHLO name,
TLS, AUTH) and every message (envelope, MAIL parameters, the exact
content), and answers from a script: a list of replies per command
used up in order across sessions ("451 on the first RCPT, then 250"),
fixed replies per recipient ("550 for nobody@"), a SIZE advertisement,
STARTTLS with a given certificate, AUTH with given credentials, a delay
before the DATA reply.

RawMX: a bare socket server, one thread per connection, that runs a
behaviour function (endless multi-line replies, a 10000-octet line, a
4xx greeting, silence, or any function the test writes) against each
client. Every connection has a deadline and a cap on the octets it
sends, so nothing runs away.

Both bind with SO_REUSEADDR, are started and stopped by the test, and
stop by themselves after `lifetime` seconds at the latest. They never
look anything up in the DNS: every name they use is given.
"""
import asyncio
import os
import socket
import subprocess
import threading
import time

from conftest import wait_for

try:
    from aiosmtpd.smtp import SMTP, AuthResult
    HAVE_AIOSMTPD = True
except ImportError:  # tests/install-deps.sh installs python3-aiosmtpd
    SMTP = object
    AuthResult = None
    HAVE_AIOSMTPD = False

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def make_cert(directory, host):
    """etc/make-cert.sh: a CA of its own and a certificate for host (and
    localhost, 127.0.0.1, ::1) signed by it. A dict with the paths of
    ca (the CA certificate), cert (leaf then CA) and key."""
    directory = str(directory)
    subprocess.run(["sh", os.path.join(ROOT, "etc", "make-cert.sh"), directory, host],
                   check=True, timeout=60)
    return {n: os.path.join(directory, n + ".pem") for n in ("ca", "cert", "key")}


def _listen(host, port, backlog=128):
    """A listening TCP socket on host:port with SO_REUSEADDR (an IPv6
    socket for an address with a colon, IPv6 only)."""
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if fam == socket.AF_INET6:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        s.bind((host, port))
        s.listen(backlog)
    except BaseException:
        s.close()
        raise
    return s


# ---------------------------------------------------------------------------
# aiosmtpd-based peer

class Session:
    """One connection to an MXPeer, as the peer saw it."""

    def __init__(self, peer):
        self.peer = peer            # (address, port, ...) of the client
        self.commands = []          # (VERB, argument or None), in order
        self.ehlo = None            # the EHLO (or HELO) argument
        self.tls = None             # (cipher, protocol version, bits) once STARTTLS is done
        self.auth = None            # (mechanism, login, password) of the first AUTH attempt
        self.authenticated = False
        self.started = time.monotonic()
        self.ended = None

    def verbs(self):
        return [c for c, _ in self.commands]


class Message:
    """One message an MXPeer accepted (DATA answered with 2xx)."""

    def __init__(self, session, envelope, reply):
        self.session = session
        self.mail_from = envelope.mail_from
        self.mail_options = list(envelope.mail_options)   # upper-cased, e.g. "SIZE=1234"
        self.rcpt_tos = list(envelope.rcpt_tos)
        self.content = envelope.original_content           # bytes, CRLF, dots unstuffed
        self.tls = session.tls
        self.auth = session.auth if session.authenticated else None
        self.reply = reply

    def option(self, name):
        """The value of a MAIL FROM parameter (None if absent, "" if it has none)."""
        for o in self.mail_options:
            k, _, v = o.partition("=")
            if k == name.upper():
                return v
        return None


class _Handler:
    """aiosmtpd hooks: scripted replies and recording."""

    def __init__(self, peer):
        self.peer = peer

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        rec = server.rec
        rec.ehlo = hostname
        session.host_name = hostname
        scripted = self.peer._scripted("EHLO")
        if scripted:
            return [scripted]
        p = self.peer
        lines = [responses[0][4:]]
        if p.size is not None:
            lines.append(f"SIZE {p.size}")
        if p.pipelining:
            lines.append("PIPELINING")
        for r in responses[1:]:
            kw = r[4:]
            if kw.split()[0].upper() in p.ehlo_drop or kw.startswith("SIZE"):
                continue
            lines.append(kw)
        lines += list(p.ehlo_extra)
        return [("250-" if i < len(lines) - 1 else "250 ") + t for i, t in enumerate(lines)]

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        scripted = self.peer._scripted("MAIL")
        if scripted:
            return scripted
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 2.1.0 Ok"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        fixed = self.peer.rcpt_replies.get(address.lower())
        if fixed:
            return fixed
        scripted = self.peer._scripted("RCPT")
        if scripted:
            return scripted
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 Ok"

    async def handle_DATA(self, server, session, envelope):
        p = self.peer
        if p.data_delay:
            await asyncio.sleep(p.data_delay)
        scripted = p._scripted("DATA")
        if scripted:
            return scripted
        with p.lock:
            p.serial += 1
            reply = f"250 2.0.0 Ok: queued as {p.tag}{p.serial}"
            p.messages.append(Message(server.rec, envelope, reply))
        return reply


class _PeerSMTP(SMTP):
    """aiosmtpd's SMTP, recording each command and the TLS state in a
    Session that outlives STARTTLS (aiosmtpd starts a new session
    object then)."""

    def __init__(self, peer, handler, **kw):
        super().__init__(handler, **kw)
        self.mxpeer = peer
        self.rec = None
        self._lost = False
        for verb, meth in list(self._smtp_methods.items()):
            self._smtp_methods[verb] = self._recording(verb, meth)

    def _recording(self, verb, meth):
        async def wrapper(arg):
            if self.rec is not None:
                self.rec.commands.append((verb, arg))
            return await meth(arg)
        return wrapper

    def connection_made(self, transport):
        first = self.rec is None
        super().connection_made(transport)
        p = self.mxpeer
        if first:
            self.rec = Session(transport.get_extra_info("peername"))
            with p.lock:
                p.sessions.append(self.rec)
                p.active += 1
                p.max_active = max(p.max_active, p.active)
                p.protocols.add(self)
        elif self.session.ssl is not None:
            self.rec.tls = self.session.ssl.get("cipher")

    def connection_lost(self, error):
        p = self.mxpeer
        if not self._lost and self.rec is not None:
            self._lost = True
            self.rec.ended = time.monotonic()
            with p.lock:
                p.active -= 1
                p.protocols.discard(self)
        super().connection_lost(error)


class MXPeer:
    """An SMTP server on host:port (default port 25) that tests script
    and inspect. Keyword arguments:

    name         the host name it gives in its greeting and EHLO reply
    size         advertises "SIZE n" (None: no SIZE); it is not enforced,
                 so a client that ignores it gets its message through
    pipelining   advertises PIPELINING (aiosmtpd reads pipelined
                 commands in order either way)
    ehlo_extra   further EHLO keywords; ehlo_drop: keywords left out
                 (e.g. {"8BITMIME"})
    tls          a dict with cert and key (make_cert): offers STARTTLS
    auth         {login: password}: offers AUTH PLAIN and LOGIN, after
                 STARTTLS only unless auth_require_tls=False
    replies      {VERB: [reply or None, ...]}: the n-th time VERB comes
                 (counted over all sessions) it gets the n-th reply
                 (None: the normal answer); after the list, normal
                 answers. VERB: EHLO, MAIL, RCPT or DATA.
    rcpt_replies {address: reply}: that recipient always gets reply
    data_delay   seconds to wait before answering the end of DATA

    After start(): sessions (list of Session), messages (list of
    Message), max_active (most connections at once); wait_messages(n)
    waits for n messages.
    """

    def __init__(self, host, port=25, *, name=None, size=10 * 1024 * 1024, pipelining=True,
                 ehlo_extra=(), ehlo_drop=(), tls=None, auth=None, auth_require_tls=True,
                 replies=None,
                 rcpt_replies=None, data_delay=0, timeout=60, lifetime=600):
        if not HAVE_AIOSMTPD:
            raise RuntimeError("aiosmtpd is not installed (tests/install-deps.sh installs it)")
        self.host = host
        self.port = port
        self.name = name or f"peer-{host.replace(':', '-').replace('.', '-')}.example.test"
        self.tag = "P" + host.replace(":", "").replace(".", "") + "Q"
        self.size = size
        self.pipelining = pipelining
        self.ehlo_extra = tuple(ehlo_extra)
        self.ehlo_drop = {k.upper() for k in ehlo_drop}
        self.tls = tls
        self.auth = dict(auth) if auth else None
        self.auth_require_tls = auth_require_tls
        self.replies = {k.upper(): list(v) for k, v in (replies or {}).items()}
        self.rcpt_replies = {k.lower(): v for k, v in (rcpt_replies or {}).items()}
        self.data_delay = data_delay
        self.timeout = timeout
        self.lifetime = lifetime
        self.lock = threading.Lock()
        self.sessions = []
        self.messages = []
        self.auth_attempts = []     # (mechanism, login, password) of every AUTH
        self.active = 0
        self.max_active = 0
        self.serial = 0
        self.protocols = set()
        self.loop = None
        self.thread = None
        self.sock = None
        self._counts = {}

    def _scripted(self, verb):
        with self.lock:
            seq = self.replies.get(verb)
            n = self._counts.get(verb, 0)
            self._counts[verb] = n + 1
            if seq and n < len(seq):
                return seq[n]
        return None

    def _authenticator(self, server, session, envelope, mechanism, auth_data):
        login = auth_data.login.decode(errors="replace")
        password = auth_data.password.decode(errors="replace")
        attempt = (mechanism, login, password)
        with self.lock:
            self.auth_attempts.append(attempt)
        if server.rec is not None and server.rec.auth is None:
            server.rec.auth = attempt
        ok = self.auth.get(login) == password
        if ok and server.rec is not None:
            server.rec.authenticated = True
        return AuthResult(success=ok, auth_data=auth_data)

    def _factory(self):
        import ssl
        kw = dict(hostname=self.name, ident="test MX", data_size_limit=None,
                  enable_SMTPUTF8=True, timeout=self.timeout, loop=self.loop)
        if self.tls:
            ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ctx.load_cert_chain(self.tls["cert"], self.tls["key"])
            kw["tls_context"] = ctx
        if self.auth is not None:
            kw["authenticator"] = self._authenticator
            kw["auth_require_tls"] = self.auth_require_tls
        return _PeerSMTP(self, _Handler(self), **kw)

    def start(self):
        self.sock = _listen(self.host, self.port)
        self.sock.setblocking(False)
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()
        failure = []

        def run():
            asyncio.set_event_loop(self.loop)
            try:
                server = self.loop.run_until_complete(
                    self.loop.create_server(self._factory, sock=self.sock))
            except Exception as e:  # noqa: BLE001
                failure.append(e)
                ready.set()
                return
            self.loop.call_later(self.lifetime, self.loop.stop)
            ready.set()
            try:
                self.loop.run_forever()
            finally:
                server.close()
                for proto in list(self.protocols):
                    if proto.transport is not None:
                        proto.transport.close()
                tasks = [t for t in asyncio.all_tasks(self.loop) if not t.done()]
                for t in tasks:
                    t.cancel()
                if tasks:
                    self.loop.run_until_complete(
                        asyncio.wait(tasks, timeout=5))
                self.loop.run_until_complete(asyncio.sleep(0))
                self.loop.close()

        self.thread = threading.Thread(target=run, name=f"mxpeer {self.host}:{self.port}",
                                       daemon=True)
        self.thread.start()
        if not ready.wait(15) or failure:
            self.stop()
            raise RuntimeError(f"MX peer on {self.host}:{self.port} did not start: {failure}")
        return self

    def stop(self):
        if self.thread is not None:
            if self.loop is not None and not self.loop.is_closed():
                try:
                    self.loop.call_soon_threadsafe(self.loop.stop)
                except RuntimeError:
                    pass
            self.thread.join(15)
            self.thread = None
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def wait_messages(self, n, timeout=60):
        wait_for(lambda: len(self.messages) >= n, timeout=timeout,
                   what=f"{n} message(s) at the MX peer {self.host}:{self.port}")
        return self.messages

    def wait_sessions(self, n, timeout=60):
        wait_for(lambda: len(self.sessions) >= n, timeout=timeout,
                   what=f"{n} connection(s) to the MX peer {self.host}:{self.port}")
        return self.sessions

    def all_verbs(self):
        with self.lock:
            return [v for s in self.sessions for v in s.verbs()]


# ---------------------------------------------------------------------------
# raw-socket peer

class RawConn:
    """One client of a RawMX, as a behaviour function sees it."""

    def __init__(self, sock, addr, deadline, max_send):
        self.sock = sock
        self.addr = addr
        self.deadline = deadline
        self.max_send = max_send
        self.sent = 0
        self.lines = []           # lines received, without CRLF
        self.buf = b""
        self.end = None           # why it ended: "client closed", "deadline", "cap", "done"

    def left(self):
        return self.deadline - time.monotonic()

    def send(self, data):
        """Sends data; False once the client is gone, the deadline has
        passed or the octet cap is reached."""
        if self.left() <= 0:
            self.end = self.end or "deadline"
            return False
        if self.sent + len(data) > self.max_send:
            self.end = self.end or "cap"
            return False
        try:
            self.sock.settimeout(max(0.05, min(5.0, self.left())))
            self.sock.sendall(data)
        except socket.timeout:
            # the client stopped reading
            self.end = self.end or ("deadline" if self.left() <= 0.1 else "client stalled")
            return False
        except OSError:
            self.end = self.end or "client closed"
            return False
        self.sent += len(data)
        return True

    def readline(self, timeout=None, limit=65536):
        """One line without its CRLF, or None (closed, timed out)."""
        end = time.monotonic() + (self.left() if timeout is None else min(timeout, self.left()))
        while b"\n" not in self.buf:
            wait = end - time.monotonic()
            if len(self.buf) > limit:
                self.buf = b""  # a line too long to keep: dropped
            if wait <= 0:
                return None
            try:
                self.sock.settimeout(min(wait, 1.0))
                chunk = self.sock.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                self.end = self.end or "client closed"
                return None
            if not chunk:
                self.end = self.end or "client closed"
                return None
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        line = line.rstrip(b"\r").decode("utf-8", "replace")
        self.lines.append(line)
        return line

    def wait_closed(self, timeout=None):
        """Reads (and records) until the client closes or the time is up."""
        end = time.monotonic() + (self.left() if timeout is None else min(timeout, self.left()))
        while time.monotonic() < end and self.left() > 0:
            line = self.readline(timeout=max(0.0, end - time.monotonic()))
            if line is None and self.end == "client closed":
                return True
        if self.left() <= 0:
            self.end = self.end or "deadline"
        return False

    def verbs(self):
        return [ln.split(" ", 1)[0].upper() for ln in self.lines]


def endless_reply(code="250", first="greeting"):
    """Greets (or, with first="ehlo", greets normally and waits for
    EHLO) and then sends "CODE-x" lines without end, until the client
    goes away or the connection's deadline or cap is reached."""
    def behaviour(c):
        if first == "ehlo":
            if not c.send(b"220 evil.example.test ESMTP\r\n"):
                return
            if c.readline(timeout=30) is None:
                return
        chunk = (code + "-x\r\n").encode() * 2000
        while c.send(chunk):
            pass
    return behaviour


def long_line(length=10000, code="250", first="ehlo"):
    """A single reply line of `length` octets (code included), at the
    greeting or as the EHLO reply; then it waits for the client to go."""
    def behaviour(c):
        line = (code + " " + "x" * max(0, length - len(code) - 1)).encode() + b"\r\n"
        if first == "ehlo":
            if not c.send(b"220 evil.example.test ESMTP\r\n"):
                return
            if c.readline(timeout=30) is None:
                return
        if c.send(line):
            c.wait_closed()
    return behaviour


def greeting_only(reply="421 4.3.2 busy, try later"):
    """Greets with reply (a 4xx, say) and closes."""
    def behaviour(c):
        c.send(reply.encode() + b"\r\n")
        c.readline(timeout=2)
    return behaviour


def silent():
    """Accepts and never says anything; waits for the client to give up."""
    def behaviour(c):
        c.wait_closed()
    return behaviour


def garbage(data=b"\x00\xff\xfe binary \x1b[31m\x00" * 64):
    """Sends bytes that are no SMTP reply, then waits."""
    def behaviour(c):
        if c.send(data):
            c.wait_closed()
    return behaviour


class RawMX:
    """A bare TCP server on host:port running behaviour(RawConn) for
    each client in a thread of its own. Each connection gets `deadline`
    seconds and may send at most max_send octets; the server accepts at
    most max_conns connections and stops by itself after `lifetime`."""

    def __init__(self, host, behaviour, port=25, deadline=20.0, max_send=64 * 1024 * 1024,
                 max_conns=200, lifetime=600):
        self.host = host
        self.port = port
        self.behaviour = behaviour
        self.deadline = deadline
        self.max_send = max_send
        self.max_conns = max_conns
        self.lifetime = lifetime
        self.conns = []
        self.errors = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.sock = None
        self.thread = None
        self.workers = []

    def start(self):
        self.sock = _listen(self.host, self.port)
        self.sock.settimeout(0.2)
        self.thread = threading.Thread(target=self._accept_loop, daemon=True,
                                       name=f"rawmx {self.host}:{self.port}")
        self.thread.start()
        return self

    def _accept_loop(self):
        end = time.monotonic() + self.lifetime
        while not self.stopping.is_set() and time.monotonic() < end:
            try:
                s, addr = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                break
            with self.lock:
                if len(self.conns) >= self.max_conns:
                    s.close()
                    continue
                c = RawConn(s, addr, time.monotonic() + self.deadline, self.max_send)
                self.conns.append(c)
            t = threading.Thread(target=self._serve, args=(c,), daemon=True)
            self.workers.append(t)
            t.start()

    def _serve(self, c):
        try:
            self.behaviour(c)
            c.end = c.end or "done"
        except Exception as e:  # noqa: BLE001
            with self.lock:
                self.errors.append(repr(e))
        finally:
            try:
                c.sock.close()
            except OSError:
                pass

    def stop(self):
        self.stopping.set()
        if self.thread is not None:
            self.thread.join(5)
            self.thread = None
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        for c in list(self.conns):
            c.deadline = 0  # the behaviour's next send or read ends it
            try:
                c.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for t in self.workers:
            t.join(10)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def wait_conns(self, n, timeout=60):
        wait_for(lambda: len(self.conns) >= n, timeout=timeout,
                   what=f"{n} connection(s) to the raw MX {self.host}:{self.port}")
        return self.conns

    def wait_ended(self, n, timeout=60):
        """Waits for n connections whose behaviour has returned."""
        wait_for(lambda: sum(1 for c in self.conns if c.end) >= n, timeout=timeout,
                   what=f"{n} finished connection(s) at the raw MX {self.host}:{self.port}")
        return self.conns
