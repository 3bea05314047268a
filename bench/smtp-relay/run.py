#!/usr/bin/python3
"""bench/smtp-relay/run.py: remote delivery benchmark (see README.md here).

Submits 5000 messages of 4 KiB from 20 parallel SMTP sessions (Postfix's
smtp-source) to a postern of its own on 127.0.0.1:25, for a remote
recipient; postern relays them through its resolver (a private unbound
on a loopback port, which serves one MX record pointing at 127.0.0.100)
to Postfix's smtp-sink on 127.0.0.100:25. Prints messages/s end to end,
from the first submission to the last message seen by smtp-sink, and
the accept rate, CPU per message and the relay log's outcome counts.

smtp-sink and smtp-source come from the Postfix .deb, unpacked, never
installed (tests/fetch-smtp-sink.sh). postern comes from build/ (it runs
`make` first). Needs root: both servers listen on port 25. Everything
listens on loopback only, names are never resolved through the
machine's nameserver, every wait is bounded (600 s in all), and every
process it starts is stopped by its PID at the end. Not part of
`make check`. Settings: BENCH_MSGS (5000), BENCH_SIZE (4096),
BENCH_SESSIONS (20), BENCH_LISTEN (127.0.0.1:25), BENCH_SINK_ADDR
(127.0.0.100), BENCH_KEEP=1 keeps the state directory, POSTERN_BUILD=DIR
takes the binaries from DIR instead of running `make` for build/.
"""
import datetime
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchlib import children, cpu_ticks, free_port, tree_rev, cpu_model  # noqa: E402
from benchlib import Abort, Spawner, die, greets, label, machine_busy, wait  # noqa: E402

# POSTERN_BUILD: binaries built elsewhere (then no `make` here)
BUILD = os.environ.get("POSTERN_BUILD") or os.path.join(ROOT, "build")
CACHE = os.path.join(ROOT, "build", "bench-cache")
PROG = "smtp-relay"
UNBOUND = "/usr/sbin/unbound"
START_TIMEOUT = 30       # each daemon up and answering
WARMUP_TIMEOUT = 60      # the first message through the whole path
TOTAL_BUDGET = 600       # the whole run, hard (SIGALRM)
STALL_TIMEOUT = 60       # smtp-sink's count not moving
TICKS = os.sysconf("SC_CLK_TCK")
SENDER = "alice@example.test"
RCPT = "bench@relay.bench.test"


def note(msg):
    print(f"{PROG}: {msg}", file=sys.stderr, flush=True)


def env_int(name, default, lo, hi):
    v = os.environ.get(name, "").strip()
    if not v:
        return default
    if not re.fullmatch(r"\d+", v) or not lo <= int(v) <= hi:
        die(f"{name} must be a number from {lo} to {hi}")
    return int(v)


def loopback4(addr):
    return re.fullmatch(r"127\.\d{1,3}\.\d{1,3}\.\d{1,3}", addr) is not None and \
        all(int(x) < 256 for x in addr.split("."))


def port_taken(addr, port):
    """True when addr:port cannot be bound (something listens there, or
    on the wildcard address)."""
    s = socket.socket()
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((addr, port))
        return False
    except OSError:
        return True
    finally:
        s.close()


def dns_probe(port):
    q = struct.pack(">HHHHHH", 0x5053, 0x0100, 1, 0, 0, 0)
    q += b"".join(bytes([len(x)]) + x for x in (b"relay", b"bench", b"test")) + b"\0"
    q += struct.pack(">HH", 15, 1)  # MX IN
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.5)
        try:
            s.sendto(q, ("127.0.0.1", port))
            return s.recv(4096)[:2] == q[:2]
        except OSError:
            return False


class Bench(Spawner):
    def __init__(self):
        self.msgs = env_int("BENCH_MSGS", 5000, 1, 1000000)
        self.size = env_int("BENCH_SIZE", 4096, 1, 10 * 1024 * 1024)
        self.sessions = env_int("BENCH_SESSIONS", 20, 1, 1000)
        listen = os.environ.get("BENCH_LISTEN", "127.0.0.1:25").strip()
        self.listen_addr, _, port = listen.rpartition(":")
        self.sink_addr = os.environ.get("BENCH_SINK_ADDR", "127.0.0.100").strip()
        if not loopback4(self.listen_addr) or not port.isdigit():
            die(f"BENCH_LISTEN must be 127.x.y.z:PORT, not {listen}")
        self.listen_port = int(port)
        if not loopback4(self.sink_addr):
            die(f"BENCH_SINK_ADDR must be a 127.x.y.z address, not {self.sink_addr}")
        if self.sink_addr == self.listen_addr and self.listen_port == 25:
            die("postern and smtp-sink cannot share an address on port 25")
        self.keep = os.environ.get("BENCH_KEEP") == "1"
        self.state = None
        self.procs = {}           # name -> Popen
        self.logs = {}
        self.sink = None
        self.sink_count = 0
        self.sink_times = []      # (monotonic, count) on each change
        self.sink_lock = threading.Lock()
        self.unbound_port = None

    # ---- tools ----

    def tools(self):
        r = subprocess.run(["sh", os.path.join(ROOT, "tests", "fetch-smtp-sink.sh")],
                           capture_output=True, text=True, timeout=300)
        if r.returncode != 0:
            sys.stderr.write(r.stderr[-2000:])
            die("tests/fetch-smtp-sink.sh failed")
        self.sink_wrapper = r.stdout.strip().splitlines()[-1]
        unpacked = os.path.join(os.path.dirname(self.sink_wrapper), "postfix", "root")
        self.smtp_source = os.path.join(unpacked, "usr", "sbin", "smtp-source")
        self.postfix_libs = os.path.join(unpacked, "usr", "lib", "postfix")
        if not os.access(self.smtp_source, os.X_OK):
            die(f"{self.smtp_source} is missing")
        debs = [f for f in os.listdir(os.path.dirname(unpacked)) if f.endswith(".deb")]
        self.postfix_version = debs[0][:-4] if debs else "postfix (unknown version)"
        if not os.path.exists(UNBOUND):
            die("unbound is not installed (tests/install-deps.sh installs it)")
        if not os.environ.get("POSTERN_BUILD"):
            note("building postern (make)")
            r = subprocess.run(["make", "-s", "all"], cwd=ROOT, capture_output=True, text=True,
                               timeout=600)
            if r.returncode != 0:
                sys.stderr.write(r.stdout[-2000:] + r.stderr[-2000:])
                die("make failed")
        for b in ("smtpd", "queued", "resolver", "posternctl"):
            if not os.access(os.path.join(BUILD, b), os.X_OK):
                die(f"{BUILD}/{b} is missing")

    # ---- processes ----

    def stop_all(self):
        # the load first, then postern (smtpd, queued, resolver), then the peers
        for name in ("smtp-source", "smtpd", "queued", "resolver", "smtp-sink", "unbound"):
            p = self.procs.get(name)
            if p is None or p.poll() is not None:
                continue
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=5)
        for log in self.logs.values():
            log.close()
        self.logs = {}

    # ---- set-up ----

    def setup(self):
        if os.geteuid() != 0:
            die("run it as root: postern and smtp-sink both listen on port 25")
        for addr, port in ((self.listen_addr, self.listen_port), (self.sink_addr, 25)):
            if port_taken(addr, port):
                die(f"{addr}:{port} is taken (another MTA?); set BENCH_LISTEN / BENCH_SINK_ADDR")
        os.makedirs(CACHE, exist_ok=True)
        # on the project's filesystem (not a tmpfs /tmp), so fsync costs what it costs
        self.state = tempfile.mkdtemp(prefix="relay-state.", dir=CACHE)
        os.chmod(self.state, 0o755)
        st = self.state
        for d in ("etc", "spool", "mail", "dns"):
            os.makedirs(os.path.join(st, d), exist_ok=True)
        self.start_unbound()
        self.start_sink()
        self.start_postern()

    def start_unbound(self):
        conf = os.path.join(self.state, "dns", "unbound.conf")
        for _ in range(5):      # a port free for TCP may be taken for UDP
            self.unbound_port = free_port()
            with open(conf, "w") as f:
                f.write(f"""# bench/smtp-relay: the MX of relay.bench.test, nothing else
server:
  interface: 127.0.0.1
  port: {self.unbound_port}
  do-daemonize: no
  chroot: ""
  username: ""
  directory: "{self.state}/dns"
  pidfile: "{self.state}/dns/unbound.pid"
  use-syslog: no
  logfile: ""
  do-ip6: no
  module-config: iterator
  access-control: 127.0.0.0/8 allow
  local-zone: "." refuse
  local-zone: "bench.test." static
  local-data: "bench.test. 300 IN SOA ns.bench.test. hostmaster.bench.test. 1 3600 600 86400 300"
  local-data: "relay.bench.test. 300 IN MX 10 sink.bench.test."
  local-data: "sink.bench.test. 300 IN A {self.sink_addr}"
remote-control:
  control-enable: no
""")
            p = self.spawn("unbound", [UNBOUND, "-d", "-c", conf])
            end = time.monotonic() + 15
            while time.monotonic() < end and p.poll() is None and not dns_probe(self.unbound_port):
                time.sleep(0.05)
            if p.poll() is None and dns_probe(self.unbound_port):
                return
            if p.poll() is None:
                p.terminate()
                p.wait(timeout=10)
            del self.procs["unbound"]
        sys.stderr.write(self.log_text("unbound")[-2000:])
        die("unbound did not start")

    def start_sink(self):
        p = self.spawn("smtp-sink", [self.sink_wrapper, "-u", "nobody", "-c", "-h",
                                     "sink.bench.test", f"{self.sink_addr}:25", "256"],
                       stdout=subprocess.PIPE)
        self.sink = p

        def reader():
            buf = b""
            fd = p.stdout.fileno()
            while True:
                try:
                    chunk = os.read(fd, 65536)
                except OSError:
                    return
                if not chunk:
                    return
                buf += chunk
                *done, buf = buf.split(b"\r")
                for rec in done:
                    m = re.search(rb"mesg=(\d+)", rec)
                    if m:
                        n = int(m.group(1))
                        with self.sink_lock:
                            if n != self.sink_count:
                                self.sink_count = n
                                self.sink_times.append((time.monotonic(), n))
        threading.Thread(target=reader, daemon=True).start()
        wait(lambda: greets(25, self.sink_addr), START_TIMEOUT, "smtp-sink", self.check_alive())

    def start_postern(self):
        st = self.state
        self.conf = os.path.join(st, "etc", "postern.conf")
        with open(self.conf, "w") as f:
            f.write(f"""# bench/smtp-relay: relays everything from 127.0.0.0/8 by MX
hostname        mail.example.test
domain          example.test
listen          smtp {self.listen_addr}:{self.listen_port}
spool           {st}/spool
mail_root       {st}/mail
relay_networks  127.0.0.0/8
log             stderr
retry_min       5s
retry_max       30s
max_sessions_per_ip 1000
forward         127.0.0.1@{self.unbound_port}
dns_trust_anchor none
""")
        ctl = os.path.join(BUILD, "posternctl")
        for args, inp in ((["setup"], None), (["user", "add", "alice"], "wonderland\n")):
            r = subprocess.run([ctl, "-f", self.conf, *args], input=inp, capture_output=True,
                               text=True, timeout=60)
            if r.returncode != 0:
                sys.stderr.write(r.stdout[-2000:] + r.stderr[-2000:])
                die(f"posternctl {' '.join(args)} failed")
        with open(os.path.join(st, "etc", "aliases"), "w") as f:
            f.write("postmaster: alice\n")
        self.spawn("resolver", [os.path.join(BUILD, "resolver"), "-f", self.conf])
        wait(lambda: os.path.exists(f"{st}/spool/run/dns.sock") and
             "ready:" in self.log_text("resolver"), START_TIMEOUT, "the resolver",
             self.check_alive())
        self.spawn("queued", [os.path.join(BUILD, "queued"), "-f", self.conf])
        wait(lambda: os.path.exists(f"{st}/spool/run/queue.sock"), START_TIMEOUT, "queued",
             self.check_alive())
        self.spawn("smtpd", [os.path.join(BUILD, "smtpd"), "-f", self.conf])
        wait(lambda: greets(self.listen_port, self.listen_addr) and
             ("connected to queued" in self.log_text("smtpd") or
              "connecting to queued" not in self.log_text("smtpd")),
             START_TIMEOUT, "smtpd", self.check_alive())
        wait(lambda: any("remote delivery" in label(c) for c in children(self.procs["queued"].pid)),
             START_TIMEOUT, "queued's remote delivery agent", self.check_alive())

    def server_pids(self):
        out = []
        for name in ("resolver", "queued", "smtpd"):
            pid = self.procs[name].pid
            out += [pid] + children(pid)
        return out

    # ---- the run ----

    def warm_up(self):
        """One message through the whole path before the clock starts."""
        import smtplib
        c = smtplib.SMTP(self.listen_addr, self.listen_port, local_hostname="bench.example.test",
                         timeout=30)
        try:
            c.sendmail(SENDER, [RCPT], b"Subject: warm-up\r\n\r\nwarm-up\r\n")
        finally:
            c.quit()
        try:
            wait(lambda: self.sink_count >= 1, WARMUP_TIMEOUT, "the warm-up message at smtp-sink",
                 self.check_alive())
        except Abort:
            sys.stderr.write("".join(self.log_text("queued").splitlines(True)[-20:]))
            raise

    def run(self):
        env = dict(os.environ)
        env["LD_LIBRARY_PATH"] = self.postfix_libs + (
            ":" + env["LD_LIBRARY_PATH"] if env.get("LD_LIBRARY_PATH") else "")
        base = self.sink_count
        want = base + self.msgs
        pids = self.server_pids()
        before = {p: cpu_ticks(p) for p in pids}
        sink_before = cpu_ticks(self.sink.pid)
        m0 = machine_busy()[0]
        t0 = time.monotonic()
        src = self.spawn("smtp-source", [self.smtp_source, "-s", str(self.sessions),
                                         "-m", str(self.msgs), "-l", str(self.size),
                                         "-f", SENDER, "-t", RCPT,
                                         f"{self.listen_addr}:{self.listen_port}"], env=env)
        t_accept = None
        last_change, last_count = t0, base
        result = None
        while True:
            now = time.monotonic()
            if t_accept is None and src.poll() is not None:
                t_accept = now
                if src.returncode != 0:
                    sys.stderr.write(self.log_text("smtp-source")[-2000:])
                    result = f"smtp-source exited with status {src.returncode}"
                    break
            with self.sink_lock:
                count = self.sink_count
                times = list(self.sink_times)
            if count >= want:
                t_end = next(t for t, n in times if n >= want)
                break
            if count != last_count:
                last_change, last_count = now, count
            if now - last_change > STALL_TIMEOUT:
                result = f"incomplete: {count - base}/{self.msgs} at smtp-sink, no progress for {STALL_TIMEOUT} s"
                break
            if now - t0 > TOTAL_BUDGET - 60:
                result = f"incomplete: {count - base}/{self.msgs} at smtp-sink when the time ran out"
                break
            for name in ("smtpd", "queued", "resolver", "smtp-sink", "unbound"):
                if self.procs[name].poll() is not None:
                    result = f"{name} exited during the run"
                    break
            if result:
                break
            time.sleep(0.02)
        if src.poll() is None:
            src.wait(timeout=30)
            t_accept = t_accept or time.monotonic()
        after = {p: cpu_ticks(p) for p in pids}
        sink_cpu = cpu_ticks(self.sink.pid) - sink_before
        machine = machine_busy()[0] - m0
        self.report(t0, t_accept, None if result else t_end, result, pids, before, after,
                    sink_cpu, machine)
        return result is None

    def report(self, t0, t_accept, t_end, failure, pids, before, after, sink_cpu, machine):
        n = self.msgs
        rev = tree_rev()
        model = cpu_model()
        print(f"bench/smtp-relay: {n} messages of {self.size} bytes, {self.sessions} sessions "
              f"(smtp-source, one message per connection), to <{RCPT}>")
        print(f"postern   {rev}, own instance on {self.listen_addr}:{self.listen_port}, "
              f"root: chrooted, privilege-separated")
        print(f"path      smtp-source -> postern -> resolver -> unbound (127.0.0.1:{self.unbound_port}, "
              f"MX relay.bench.test -> {self.sink_addr}) -> smtp-sink on {self.sink_addr}:25")
        print(f"peers     smtp-source and smtp-sink from {self.postfix_version} (not installed)")
        print(f"machine   {os.cpu_count()} CPU(s), {model}, {os.uname().sysname} "
              f"{os.uname().release}")
        print(f"date      {datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')}")
        print()
        if t_accept:
            print(f"accepted  {n / (t_accept - t0):8.1f} msg/s   ({n} messages in "
                  f"{t_accept - t0:.2f} s: smtp-source's wall time)")
        if t_end:
            print(f"relayed   {n / (t_end - t0):8.1f} msg/s   end to end ({t_end - t0:.2f} s from the "
                  f"first submission to the last message at smtp-sink)")
        else:
            print(f"relayed   FAILED: {failure}")
        total = 0
        lines = []
        for p in pids:
            d = after[p] - before[p]
            total += d
            lines.append(f"  {label(p, ' (parent)'):40s} {d * 1000 / TICKS / n:6.3f}")
        print(f"server CPU {total * 1000 / TICKS / n:.3f} ms/msg (postern's processes); "
              f"smtp-sink {sink_cpu * 1000 / TICKS / n:.3f} ms/msg; "
              f"whole machine {machine * 1000 / TICKS / n:.3f} ms/msg")
        print("\n".join(lines))
        log = self.log_text("queued")
        sent = len(re.findall(r"to=<[^>]*>, relay=\S+ .*status=sent", log))
        deferred = len(re.findall(r"to=<[^>]*>, relay=\S+ .*status=deferred", log))
        bounced = len(re.findall(r"to=<[^>]*>, relay=\S+ .*status=bounced", log))
        tls = sorted(set(re.findall(r"status=sent .* tls=(\S+)", log)))
        print(f"relay log {sent} sent (warm-up included), {deferred} deferred, {bounced} bounced; "
              f"tls: {', '.join(tls) or 'n/a'}")
        print(f"load      {' '.join(open('/proc/loadavg').read().split()[:3])} at end")


def main():
    def on_alarm(signum, frame):
        raise Abort(f"the whole run took more than {TOTAL_BUDGET} s")
    signal.signal(signal.SIGALRM, on_alarm)
    signal.signal(signal.SIGTERM, lambda s, f: sys.exit(130))
    b = None
    ok = False
    try:
        b = Bench()
        b.tools()
        signal.alarm(TOTAL_BUDGET)
        b.setup()
        b.warm_up()
        ok = b.run()
    except Abort as e:
        note(str(e))
    except KeyboardInterrupt:
        note("interrupted")
    finally:
        signal.alarm(0)
        if b is not None:
            b.stop_all()
            if b.state and os.path.isdir(b.state):
                if b.keep or not ok:
                    note(f"state and logs kept in {b.state}")
                else:
                    shutil.rmtree(b.state, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
