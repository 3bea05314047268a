#!/usr/bin/python3
"""bench/ctl-scale/run.py: posternctl and queued restart on a large queue
(see README.md here).

Fills a postern of its own with N deferred messages (default 100000) for
a blackholed relayhost (a loopback TCP port where a socket is bound but
nothing listens, so every connection is refused at once; retry_min 1h,
so nothing is tried again during the run), then times `posternctl show
queue`, `show queue --json`, `shape`, `mailq` and `stats`, and queued's
restart (SIGTERM, start again, until the control socket answers and
until smtpd's next message gets 250). Then does the same with a Postfix
of its own, run from the unpacked Debian .deb (never installed), for
`postqueue -p`, `postqueue -j`, `qshape` and a restart of its master.

Prints a table: wall time (min / median / max of the repeats), CPU
time and peak RSS of the command (GNU time), and the CPU time the
daemons spent on it.

Needs root (postern's privilege separation; Postfix's master). Listens on
loopback only, never asks the machine's nameserver (postern's resolver
forwards to a loopback UDP socket this script holds; Postfix has DNS
turned off), bounds every loop in count and time, and stops every
process it starts by its PID. Not part of `make check`.
"""
import argparse
import datetime
import grp
import json
import os
import pwd
import re
import shutil
import signal
import smtplib
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchlib import children, cpu_ticks, free_port, proc_stat, tree_rev, cpu_model  # noqa: E402
from benchlib import Abort, Spawner, die, greets, label, machine_busy, wait  # noqa: E402

CACHE = os.path.join(ROOT, "build", "bench-cache")
PROG = "ctl-scale"
START_TIMEOUT = 30       # each daemon up and answering
STOP_TIMEOUT = 30        # each daemon gone after SIGTERM
STALL_TIMEOUT = 120      # the fill's progress not moving
CMD_TIMEOUT = 120        # one timed command
RESTART_TIMEOUT = 120    # a restart until the first 250
TICKS = os.sysconf("SC_CLK_TCK")
SENDER = "bench@example.test"
PF_USER = "pfbench"          # Postfix's mail_owner for the comparison
PF_GROUP = "pfbench-drop"    # and its setgid_group


def note(msg):
    print(f"{PROG}: {msg}", file=sys.stderr, flush=True)


def pgrp_members(pgid):
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            f = proc_stat(int(d))
            if f and int(f[2]) == pgid and f[0] != "Z":
                out.append(int(d))
    return out


def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def nlines(out):
    return out.count(b"\n")


def fmt_s(x):
    return f"{x:.3f} s" if x is not None else "n/a"


GNU_TIME = "/usr/bin/time"


def run_timed(argv, env=None, stdout=subprocess.DEVNULL, timeout=CMD_TIMEOUT, rusage_file=None):
    """Runs argv; returns (wall s, user+sys s, peak RSS KiB, exit status,
    stdout bytes or None). Wall time is from just before the fork to the
    reaping. CPU and peak RSS come from GNU time, which forks the command
    from its own small process: a child forked from this Python would
    carry Python's RSS as its high-water mark across exec (the kernel
    keeps the larger of the two), so os.wait4's ru_maxrss would show
    Python's size, not the command's."""
    cmd = argv
    if rusage_file and os.access(GNU_TIME, os.X_OK):
        cmd = [GNU_TIME, "-f", "%U %S %M", "-o", rusage_file, *argv]
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=stdout,
                         stderr=subprocess.PIPE, env=env)
    killer = threading.Timer(timeout, lambda: p.kill())
    killer.start()
    try:
        if stdout == subprocess.PIPE:
            out, err = _drain(p)
        else:
            out, err = None, p.stderr.read()
        p.wait()
    finally:
        killer.cancel()
    wall = time.monotonic() - t0
    if p.returncode != 0:
        sys.stderr.write(err.decode(errors="replace")[-2000:])
    cpu = rss = None
    if cmd is not argv:
        try:
            with open(rusage_file) as f:
                u, s_, m = f.read().split()[-3:]
            cpu, rss = float(u) + float(s_), int(m)
        except (OSError, ValueError):
            pass
    return wall, cpu, rss, p.returncode, out


def _drain(p):
    """Reads a child's stdout and stderr to the end (both pipes)."""
    res = {}

    def rd(name, f):
        res[name] = f.read()
    t = threading.Thread(target=rd, args=("err", p.stderr))
    t.start()
    out = p.stdout.read()
    t.join()
    return out, res.get("err", b"")


class SmtpFirst250:
    """Sends one message, again and again on new connections, until it
    gets 250 after DATA (bounded in count and time)."""

    def __init__(self, port, rcpt):
        self.port, self.rcpt = port, rcpt
        self.t250 = None
        self.tries = 0
        self.replies = {}

    def run(self, deadline, stop):
        msg = (f"From: <{SENDER}>\r\nTo: <{self.rcpt}>\r\nSubject: restart probe\r\n\r\n"
               "probe\r\n").encode()
        while time.monotonic() < deadline and not stop.is_set() and self.tries < 100000:
            self.tries += 1
            try:
                c = smtplib.SMTP("127.0.0.1", self.port, local_hostname="probe.bench.test",
                                 timeout=10)
                try:
                    c.sendmail(SENDER, [self.rcpt], msg)
                    self.t250 = time.monotonic()
                    return
                finally:
                    try:
                        c.quit()
                    except (smtplib.SMTPException, OSError):
                        pass
            except smtplib.SMTPResponseException as e:
                self.replies[e.smtp_code] = self.replies.get(e.smtp_code, 0) + 1
            except smtplib.SMTPRecipientsRefused as e:
                code = next(iter(e.recipients.values()))[0]
                self.replies[code] = self.replies.get(code, 0) + 1
            except (smtplib.SMTPException, OSError) as e:
                k = type(e).__name__
                self.replies[k] = self.replies.get(k, 0) + 1
            time.sleep(0.02)


class Bench(Spawner):
    def __init__(self, a):
        self.a = a
        self.n = a.messages
        self.build = os.environ.get("POSTERN_BUILD") or os.path.join(ROOT, "build")
        self.state = None
        self.procs = {}
        self.logs = {}
        self.sources_running = []
        self.ok = False
        self.fill_timeout = a.fill_timeout or int(300 + self.n / 50)
        self.results = {}         # system -> list of (name, row)
        self.busy = {}            # system -> (% of all CPUs busy during its timings, load)
        self.facts = {}           # system -> dict
        self.domains = [f"d{i}.blackhole.test" for i in range(a.domains)]

    # ---- tools ----

    def tools(self):
        r = subprocess.run(["sh", os.path.join(ROOT, "tests", "fetch-smtp-sink.sh")],
                           capture_output=True, text=True, timeout=300)
        if r.returncode != 0:
            sys.stderr.write(r.stderr[-2000:])
            die("tests/fetch-smtp-sink.sh failed")
        wrapper = r.stdout.strip().splitlines()[-1]
        self.pf_root = os.path.join(os.path.dirname(wrapper), "postfix", "root")
        self.pf_libs = os.path.join(self.pf_root, "usr", "lib", "postfix")
        self.smtp_source = os.path.join(self.pf_root, "usr", "sbin", "smtp-source")
        if not os.access(self.smtp_source, os.X_OK):
            die(f"{self.smtp_source} is missing")
        debs = [f for f in os.listdir(os.path.dirname(self.pf_root)) if f.endswith(".deb")]
        self.pf_version = debs[0][:-4] if debs else "postfix (unknown version)"
        self.pf_env = dict(os.environ)
        self.pf_env["LD_LIBRARY_PATH"] = self.pf_libs
        self.pf_env["PATH"] = os.path.join(self.pf_root, "usr", "sbin") + ":" + \
            os.environ.get("PATH", "/usr/bin:/bin")
        if not os.environ.get("POSTERN_BUILD"):
            note("building postern (make)")
            r = subprocess.run(["make", "-s", "all"], cwd=ROOT, capture_output=True, text=True,
                               timeout=600)
            if r.returncode != 0:
                sys.stderr.write(r.stdout[-2000:] + r.stderr[-2000:])
                die("make failed")
        for b in ("smtpd", "queued", "resolver", "posternctl"):
            if not os.access(os.path.join(self.build, b), os.X_OK):
                die(f"{self.build}/{b} is missing")

    # ---- processes ----

    def stop(self, name, timeout=STOP_TIMEOUT):
        p = self.procs.get(name)
        if p is None or p.poll() is not None:
            return
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=10)

    def stop_all(self):
        for p in self.sources_running:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait(timeout=5)
        for name in ("smtp-source", "smtpd", "queued", "resolver", "postfix"):
            self.stop(name, 20)
        if getattr(self, "pf_pgid", None):
            # Postfix's daemons outlive a killed master: SIGKILL what is
            # left of the process group this script made for it
            for pid in pgrp_members(self.pf_pgid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
        for log in self.logs.values():
            log.close()
        self.logs = {}

    # ---- set-up ----

    def setup(self):
        if os.geteuid() != 0:
            die("run it as root: postern's privilege separation and Postfix's master need it")
        os.makedirs(CACHE, exist_ok=True)
        # on the project's filesystem (not a tmpfs /tmp), so fsync costs what it costs
        self.state = tempfile.mkdtemp(prefix="ctl-state.", dir=CACHE)
        os.chmod(self.state, 0o755)
        # The blackhole: a bound TCP socket that never listens. A SYN to
        # it gets a RST at once (connection refused), and no other
        # program can take the port while the run lasts.
        self.hole = socket.socket()
        self.hole.bind(("127.0.0.1", 0))
        self.hole_port = self.hole.getsockname()[1]
        # postern's resolver upstream: a UDP socket that nobody reads.
        # Queries (none are expected: the relayhost is an address) stay
        # on the machine and are counted at the end.
        self.dns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.dns.bind(("127.0.0.1", 0))
        self.dns_port = self.dns.getsockname()[1]

    def dns_queries(self):
        n = 0
        self.dns.setblocking(False)
        while n < 100000:
            try:
                self.dns.recv(4096)
            except OSError:
                break
            n += 1
        return n

    # ---- postern ----

    def ctl(self, *args):
        return [os.path.join(self.build, "posternctl"), "-f", self.conf, *args]

    def start_postern(self):
        st = os.path.join(self.state, "postern")
        for d in ("etc", "spool", "mail"):
            os.makedirs(os.path.join(st, d), exist_ok=True)
        self.smtp_port = free_port()
        self.conf = os.path.join(st, "etc", "postern.conf")
        self.spool = os.path.join(st, "spool")
        with open(self.conf, "w") as f:
            f.write(f"""# bench/ctl-scale: everything for other domains goes to a dead relayhost
hostname        mail.example.test
domain          example.test
listen          smtp 127.0.0.1:{self.smtp_port}
spool           {st}/spool
mail_root       {st}/mail
relay_networks  127.0.0.0/8
log             stderr
retry_min       1h
retry_max       4h
delay_warning   0
max_sessions_per_ip 1000
relayhost       127.0.0.1:{self.hole_port}
forward         127.0.0.1@{self.dns_port}
dns_trust_anchor none
""")
        for args, inp in ((["setup"], None), (["user", "add", "alice"], "wonderland\n")):
            r = subprocess.run(self.ctl(*args), input=inp, capture_output=True, text=True,
                               timeout=60)
            if r.returncode != 0:
                sys.stderr.write(r.stdout[-2000:] + r.stderr[-2000:])
                die(f"posternctl {' '.join(args)} failed")
        with open(os.path.join(st, "etc", "aliases"), "w") as f:
            f.write("postmaster: alice\n")
        check = self.check_alive(("resolver", "queued", "smtpd"))
        self.spawn("resolver", [os.path.join(self.build, "resolver"), "-f", self.conf])
        wait(lambda: os.path.exists(f"{self.spool}/run/dns.sock") and
             "ready:" in self.log_text("resolver"), START_TIMEOUT, "the resolver", check)
        self.start_queued()
        self.spawn("smtpd", [os.path.join(self.build, "smtpd"), "-f", self.conf])
        wait(lambda: greets(self.smtp_port) and
             ("connected to queued" in self.log_text("smtpd") or
              "connecting to queued" not in self.log_text("smtpd")),
             START_TIMEOUT, "smtpd", check)

    def start_queued(self):
        p = self.spawn("queued", [os.path.join(self.build, "queued"), "-f", self.conf])
        return p

    def postern_stats(self):
        r = subprocess.run(self.ctl("stats", "--json"), capture_output=True, text=True,
                           timeout=CMD_TIMEOUT)
        if r.returncode != 0:
            return None
        return json.loads(r.stdout)

    def postern_fill(self):
        check = self.check_alive(("resolver", "queued", "smtpd"))
        # one message first: it must come out deferred (connection refused)
        c = smtplib.SMTP("127.0.0.1", self.smtp_port, local_hostname="client.bench.test",
                         timeout=30)
        try:
            c.sendmail(SENDER, [f"first@{self.domains[0]}"], b"Subject: first\r\n\r\nfirst\r\n")
        finally:
            c.quit()
        wait(lambda: (self.postern_stats() or {}).get('queue_recipients{state="deferred"}', 0) >= 1,
             60, "the first message to be deferred", check, step=0.2)
        self.extra = 1
        want = self.n + self.extra
        t0 = time.monotonic()
        srcs = self.sources(self.smtp_port, "postern")
        t_acc, t_def = self.wait_fill(
            srcs, t0, lambda: (self.postern_stats() or {}).get(
                'queue_recipients{state="deferred"}', 0), want, check)
        s = self.postern_stats()
        self.facts["postern"] = {
            "fill": (t_acc - t0, t_def - t0),
            "messages": s.get("queue_messages"),
            "deferred": s.get('queue_recipients{state="deferred"}'),
            "queue_bytes": s.get("queue_bytes"),
            "index": os.path.getsize(os.path.join(self.spool, "index", "data.mdb")),
            "files": sum(len(fs) for _, _, fs in os.walk(os.path.join(self.spool, "queue"))),
        }

    def sources(self, port, who):
        """smtp-source processes, one per recipient domain, the sessions
        and messages shared out among them; each session sends several
        messages over its connection (-d)."""
        k = len(self.domains)
        per = [self.n // k + (1 if i < self.n % k else 0) for i in range(k)]
        sess = max(1, self.a.sessions // k)
        srcs = []
        for i, dom in enumerate(self.domains):
            if per[i] == 0:
                continue
            name = f"smtp-source-{who}-{i}"
            srcs.append((name, self.spawn(name, [self.smtp_source, "-d", "-N", "-M", "client.bench.test",
                                          "-s", str(sess), "-m", str(per[i]),
                                          "-l", str(self.a.size), "-f", SENDER,
                                          "-t", f"rcpt@{dom}", f"127.0.0.1:{port}"],
                                   env=self.pf_env)))
            self.sources_running.append(self.procs.pop(name))
        return srcs

    def wait_fill(self, srcs, t0, count, want, check):
        """Waits until the smtp-sources are done and count() reaches want.
        Returns (time all accepted, time all deferred)."""
        t_acc = None
        last, last_change = -1, time.monotonic()
        next_note = t0 + 30
        while True:
            now = time.monotonic()
            check()
            if t_acc is None and all(p.poll() is not None for _, p in srcs):
                t_acc = now
                bad = [(n, p) for n, p in srcs if p.returncode != 0]
                if bad:
                    sys.stderr.write(self.log_text(bad[0][0])[-1000:])
                    die(f"{bad[0][0]} exited with status {bad[0][1].returncode}")
            c = count()
            if c >= want and t_acc is not None:
                return t_acc, now
            if c != last:
                last, last_change = c, now
            if now - last_change > STALL_TIMEOUT:
                die(f"the fill made no progress for {STALL_TIMEOUT} s ({c}/{want} deferred)")
            if now - t0 > self.fill_timeout:
                die(f"the fill took more than {self.fill_timeout} s ({c}/{want} deferred); "
                    "--fill-timeout sets the limit")
            if now >= next_note:
                note(f"  {c}/{want} deferred after {now - t0:.0f} s")
                next_note = now + 30
            time.sleep(2.0 if self.n > 5000 else 0.2)

    def time_cmds(self, system, cmds, env=None, server=None):
        """cmds: (label, argv, check) with check(bytes) -> text or raises.
        server() lists the daemon processes whose CPU time the commands
        also cost (Postfix's showq does the listing for postqueue)."""
        rows = []
        ru = os.path.join(self.state, "rusage.txt")
        b0, a0 = machine_busy()
        for lbl, argv, check in cmds:
            runs = []
            pids = server() if server else []
            before = {p: cpu_ticks(p) for p in pids}
            for _ in range(self.a.repeat):
                wall, cpu, rss, rc, _ = run_timed(argv, env=env, rusage_file=ru)
                if rc != 0:
                    die(f"{' '.join(argv)} exited with status {rc}")
                runs.append((wall, cpu, rss))
            # daemons started by the command (a new showq) count too
            pids2 = server() if server else []
            srv = sum(cpu_ticks(p) - before.get(p, 0) for p in set(pids) | set(pids2))
            srv = srv / TICKS / self.a.repeat if server else None
            # once more, untimed, into a pipe: what it printed, checked
            _, _, _, rc, out = run_timed(argv, env=env, stdout=subprocess.PIPE)
            what = check(out) if check else ""
            walls = [r[0] for r in runs]
            cpus = [r[1] for r in runs if r[1] is not None]
            rsss = [r[2] for r in runs if r[2] is not None]
            rows.append((lbl, min(walls), statistics.median(walls), max(walls),
                         statistics.median(cpus) if cpus else None, srv,
                         max(rsss) if rsss else None, len(out), what))
            note(f"  {lbl}: {statistics.median(walls):.3f} s")
        self.results[system] = rows
        b1, a1 = machine_busy()
        self.busy[system] = ((b1 - b0) / max(1, a1 - a0) * 100,
                             open("/proc/loadavg").read().split()[0])

    def postern_timings(self):
        want = self.n + self.extra

        def lines(out):
            return f"{nlines(out)} lines"

        def js(out):
            a = json.loads(out)
            if len(a) != want:
                die(f"show queue --json gave {len(a)} messages, not {want}")
            return f"{len(a)} messages"

        def mailq(out):
            m = re.search(rb"in (\d+) Requests?", out)
            return f"{nlines(out)} lines" + (f", {m.group(1).decode()} requests" if m else "")
        self.shape_text = {}

        def shape(out):
            self.shape_text["postern"] = out.decode(errors="replace")
            return f"{nlines(out)} lines"
        self.time_cmds("postern", [
            ("show queue", self.ctl("show", "queue"), lines),
            ("show queue --json", self.ctl("show", "queue", "--json"), js),
            ("shape", self.ctl("shape"), shape),
            ("mailq", self.ctl("mailq"), mailq),
            ("stats", self.ctl("stats"), lines),
        ], server=self.postern_pids)

    def postern_restart(self):
        rcpt = f"restart@{self.domains[0]}"
        out = []
        check = self.check_alive(("resolver", "smtpd"))
        for i in range(self.a.restarts):
            q = self.procs["queued"]
            kids = children(q.pid)
            log_from = os.path.getsize(os.path.join(self.state, "queued.log"))
            t0 = time.monotonic()
            q.send_signal(signal.SIGTERM)
            try:
                q.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                die(f"queued did not exit within {STOP_TIMEOUT} s of SIGTERM")
            t_exit = time.monotonic()
            wait(lambda: all(proc_stat(k) is None or proc_stat(k)[0] == "Z" for k in kids),
                 STOP_TIMEOUT, "queued's processes to exit", step=0.005)
            t_gone = time.monotonic()
            self.logs.pop("queued").close()
            t_start = time.monotonic()
            p = self.start_queued()
            probe = SmtpFirst250(self.smtp_port, rcpt)
            stop = threading.Event()
            th = threading.Thread(target=probe.run,
                                  args=(t_start + RESTART_TIMEOUT, stop), daemon=True)
            th.start()
            t_ctl = None
            tries = 0
            while time.monotonic() < t_start + RESTART_TIMEOUT and tries < 100000:
                tries += 1
                check()
                if p.poll() is not None:
                    die(f"queued exited with status {p.returncode} after the restart")
                r = subprocess.run(self.ctl("stats"), capture_output=True, timeout=CMD_TIMEOUT)
                if r.returncode == 0:
                    t_ctl = time.monotonic()
                    break
                time.sleep(0.01)
            th.join(timeout=RESTART_TIMEOUT)
            stop.set()
            if t_ctl is None or probe.t250 is None:
                die(f"queued's restart: no answer within {RESTART_TIMEOUT} s "
                    f"(control socket {'yes' if t_ctl else 'no'}, smtp replies {probe.replies})")
            self.extra += 1
            # the queue manager's CPU and memory just after the start
            qkids = children(p.pid)
            cpu = sum(cpu_ticks(k) for k in [p.pid] + qkids) / TICKS
            rss = {label(k): rss_kib(k) for k in [p.pid] + qkids}
            out.append({"stop": t_exit - t0, "gone": t_gone - t0, "ctl": t_ctl - t_start,
                        "first250": probe.t250 - t_start, "total": probe.t250 - t0,
                        "tries": probe.tries, "replies": probe.replies, "cpu": cpu, "rss": rss,
                        "log": self.queued_log_times(log_from)})
            note(f"  restart {i + 1}: {probe.t250 - t0:.3f} s from SIGTERM to the first 250")
        # did the restarts make queued try the deferred mail again?
        time.sleep(2)
        with open(os.path.join(self.state, "queued.log"), "rb") as f:
            f.seek(log_from)
            log = f.read().decode(errors="replace")
        self.restart_attempts = len([line for line in log.splitlines()
                                     if "status=deferred" in line and "to=<restart@" not in line])
        self.restarts = {"postern": out}

    def queued_log_times(self, offset):
        """From queued's log since offset: how long the queue manager took
        to stop (SIGTERM to 'stopped') and to start ('starting' to
        'ready', reconcile included), by the log's own timestamps."""
        with open(os.path.join(self.state, "queued.log"), "rb") as f:
            f.seek(offset)
            text = f.read(4 << 20).decode(errors="replace")
        marks = {}
        for key, pat in (("sigterm", r"\]: signal 15: stopping"), ("stopped", r"\]: stopped$"),
                         ("starting", r"\]: starting; config"), ("reconciled", r"\]: reconcile: "),
                         ("ready", r"\]: ready$")):
            m = re.search(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+)Z postern/queued\[\d+" + pat,
                          text, re.M)
            if m:
                marks[key] = datetime.datetime.fromisoformat(m.group(1)).timestamp()

        def span(a, b):
            return marks[b] - marks[a] if a in marks and b in marks else None
        return {"stop": span("sigterm", "stopped"), "start": span("starting", "ready"),
                "reconcile": span("starting", "reconciled")}

    def postern_pids(self):
        out = []
        for n in ("queued", "smtpd", "resolver"):
            p = self.procs[n].pid
            out += [p] + children(p)
        return out

    def postern_resources(self):
        return {label(p): rss_kib(p) for p in self.postern_pids()}

    # ---- Postfix ----

    def pf_users(self):
        """Postfix needs a mail_owner and a setgid_group of its own (it
        refuses to share their ids). Created once, left in place."""
        made = []
        if subprocess.run(["getent", "group", PF_GROUP], capture_output=True).returncode != 0:
            subprocess.run(["groupadd", "--system", PF_GROUP], check=True, timeout=60)
            made.append(PF_GROUP)
        if subprocess.run(["getent", "passwd", PF_USER], capture_output=True).returncode != 0:
            subprocess.run(["useradd", "--system", "--user-group", "--no-create-home",
                            "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin",
                            PF_USER], check=True, timeout=60)
            made.append(PF_USER)
        if made:
            note(f"created system user/group {', '.join(made)} for the Postfix comparison")

    def pf_cmd(self, prog, *args):
        return [os.path.join(self.pf_root, "usr", "sbin", prog), "-c", self.pf_etc, *args]

    def start_postfix(self):
        self.pf_users()
        st = os.path.join(self.state, "postfix")
        self.pf_etc = os.path.join(st, "etc")
        self.pf_queue = os.path.join(st, "queue")
        data = os.path.join(st, "data")
        for d in (self.pf_etc, self.pf_queue, data):
            os.makedirs(d, exist_ok=True)
        self.pf_port = free_port()
        pf = self.pf_root
        with open(os.path.join(self.pf_etc, "main.cf"), "w") as f:
            f.write(f"""# bench/ctl-scale: a private Postfix from the unpacked .deb
compatibility_level = 3.6
queue_directory = {self.pf_queue}
data_directory = {data}
command_directory = {pf}/usr/sbin
daemon_directory = {pf}/usr/lib/postfix/sbin
meta_directory = {self.pf_etc}
shlib_directory = {pf}/usr/lib/postfix
mail_owner = {PF_USER}
setgid_group = {PF_GROUP}
import_environment = MAIL_CONFIG MAIL_DEBUG MAIL_LOGTAG TZ LANG=C POSTLOG_SERVICE POSTLOG_HOSTNAME LD_LIBRARY_PATH
maillog_file = {st}/postfix.log
maillog_file_prefixes = {st}
myhostname = pf.bench.test
mydomain = bench.test
myorigin = bench.test
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
relay_domains =
mynetworks = 127.0.0.0/8
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
smtpd_relay_restrictions = permit_mynetworks, reject
smtpd_peername_lookup = no
smtpd_client_connection_count_limit = 0
relayhost = [127.0.0.1]:{self.hole_port}
smtp_dns_support_level = disabled
disable_dns_lookups = yes
minimal_backoff_time = 1h
maximal_backoff_time = 4h
queue_run_delay = 1h
delay_warning_time = 0h
biff = no
append_dot_mydomain = no
""")
        with open(os.path.join(self.pf_etc, "master.cf"), "w") as f:
            f.write(f"""# bench/ctl-scale: no chroot, only the services this run uses
127.0.0.1:{self.pf_port} inet n - n - 100 smtpd
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
""")
        # no dynamically loaded map types (cdb, ldap, ...) are used
        open(os.path.join(self.pf_etc, "dynamicmaps.cf"), "w").close()
        uid = pwd.getpwnam(PF_USER).pw_uid
        gid = pwd.getpwnam(PF_USER).pw_gid
        sgid = grp.getgrnam(PF_GROUP).gr_gid
        # the queue's directories as postfix-files has them
        for d in ("active", "bounce", "corrupt", "defer", "deferred", "flush", "hold",
                  "incoming", "private", "saved", "trace"):
            os.makedirs(os.path.join(self.pf_queue, d), exist_ok=True)
            os.chown(os.path.join(self.pf_queue, d), uid, gid)
            os.chmod(os.path.join(self.pf_queue, d), 0o700)
        for d, mode in (("maildrop", 0o730), ("public", 0o710)):
            os.makedirs(os.path.join(self.pf_queue, d), exist_ok=True)
            os.chown(os.path.join(self.pf_queue, d), uid, sgid)
            os.chmod(os.path.join(self.pf_queue, d), mode)
        os.makedirs(os.path.join(self.pf_queue, "pid"), exist_ok=True)
        os.chown(data, uid, gid)
        os.chmod(data, 0o700)
        self.start_master()

    def start_master(self):
        p = self.spawn("postfix", [os.path.join(self.pf_root, "usr", "lib", "postfix", "sbin",
                                                "master"), "-c", self.pf_etc, "-d"],
                       env=self.pf_env, new_session=True)
        self.pf_pgid = p.pid
        wait(lambda: greets(self.pf_port), START_TIMEOUT, "Postfix's smtpd",
             self.pf_check(p))
        return p

    def pf_check(self, p):
        def check():
            if p.poll() is not None:
                sys.stderr.write(self.log_text("postfix")[-2000:])
                try:
                    sys.stderr.write(open(os.path.join(self.state, "postfix", "postfix.log"))
                                     .read()[-2000:])
                except OSError:
                    pass
                die(f"Postfix's master exited with status {p.returncode}")
        return check

    def pf_count(self, queue):
        n = 0
        for _, _, fs in os.walk(os.path.join(self.pf_queue, queue)):
            n += len(fs)
        return n

    def pf_deferred(self):
        # done when everything is in deferred/, nothing left in incoming/ or active/
        d = self.pf_count("deferred")
        if self.pf_count("incoming") or self.pf_count("active"):
            return min(d, self.n)   # not done yet
        return d

    def postfix_fill(self):
        check = self.pf_check(self.procs["postfix"])
        t0 = time.monotonic()
        srcs = self.sources(self.pf_port, "postfix")
        t_acc, t_def = self.wait_fill(srcs, t0, self.pf_deferred, self.n, check)
        self.facts["postfix"] = {
            "fill": (t_acc - t0, t_def - t0),
            "messages": self.pf_count("deferred"),
            "files": self.pf_count("deferred") + self.pf_count("defer"),
        }

    def postfix_timings(self):
        def pq(out):
            m = re.search(rb"in (\d+) Requests?", out)
            if not m or int(m.group(1)) != self.n:
                die(f"postqueue -p does not list {self.n} requests")
            return f"{nlines(out)} lines, {m.group(1).decode()} requests"

        def pj(out):
            n = sum(1 for line in out.splitlines() if line.strip() and json.loads(line))
            if n != self.n:
                die(f"postqueue -j gave {n} messages, not {self.n}")
            return f"{n} messages"

        def qshape(out):
            self.shape_text["postfix"] = out.decode(errors="replace")
            return f"{nlines(out)} lines"
        cmds = [
            ("postqueue -p", self.pf_cmd("postqueue", "-p"), pq),
            ("postqueue -j", self.pf_cmd("postqueue", "-j"), pj),
        ]
        if os.path.exists("/usr/bin/perl"):
            cmds.append(("qshape", ["/usr/bin/perl", os.path.join(self.pf_root, "usr", "sbin",
                                                                  "qshape"),
                                    "-c", self.pf_etc, "hold", "incoming", "active",
                                    "deferred"], qshape))
        self.time_cmds("postfix", cmds, env=self.pf_env,
                       server=lambda: pgrp_members(self.pf_pgid))

    def postfix_restart(self):
        rcpt = f"restart@{self.domains[0]}"
        out = []
        for i in range(self.a.restarts):
            p = self.procs["postfix"]
            pgid = self.pf_pgid
            t0 = time.monotonic()
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                die(f"Postfix's master did not exit within {STOP_TIMEOUT} s of SIGTERM")
            t_exit = time.monotonic()
            # its daemons hold the listening socket: wait until they are gone
            wait(lambda: not pgrp_members(pgid), STOP_TIMEOUT, "Postfix's daemons to exit",
                 step=0.005)
            t_gone = time.monotonic()
            self.logs.pop("postfix").close()
            t_start = time.monotonic()
            p = self.spawn("postfix", [os.path.join(self.pf_root, "usr", "lib", "postfix", "sbin",
                                                    "master"), "-c", self.pf_etc, "-d"],
                           env=self.pf_env, new_session=True)
            self.pf_pgid = p.pid
            probe = SmtpFirst250(self.pf_port, rcpt)
            probe.run(t_start + RESTART_TIMEOUT, threading.Event())
            if probe.t250 is None:
                die(f"Postfix's restart: no 250 within {RESTART_TIMEOUT} s ({probe.replies})")
            out.append({"stop": t_exit - t0, "gone": t_gone - t0, "ctl": None,
                        "first250": probe.t250 - t_start, "total": probe.t250 - t0,
                        "tries": probe.tries, "replies": probe.replies})
            note(f"  restart {i + 1}: {probe.t250 - t0:.3f} s from SIGTERM to the first 250")
        self.restarts["postfix"] = out

    # ---- report ----

    def header(self):
        rev = tree_rev()
        model = cpu_model()
        mem = "?"
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
        try:
            with open("/etc/debian_version") as f:
                deb = "Debian " + f.read().strip()
        except OSError:
            deb = "?"
        fs = subprocess.run(["df", "--output=fstype", self.state], capture_output=True,
                            text=True).stdout.split()[-1:] or ["?"]
        print(f"bench/ctl-scale: {self.n} deferred messages of {self.a.size} bytes of body, "
              f"{len(self.domains)} recipient domains, relayhost 127.0.0.1:{self.hole_port} "
              "(bound, not listening: connection refused)")
        built = datetime.datetime.fromtimestamp(
            os.path.getmtime(os.path.join(self.build, "queued")), datetime.timezone.utc)
        print(f"postern   tree at {rev}; binaries in {self.build} built "
              f"{built.strftime('%Y-%m-%dT%H:%M:%SZ')}; root: chrooted, privilege-separated")
        print(f"postfix   {self.pf_version}, unpacked, not installed" if self.a.postfix
              else "postfix   not run (--no-postfix)")
        print(f"machine   {os.cpu_count()} CPU(s), {model}, {mem}, {os.uname().sysname} "
              f"{os.uname().release}, {deb}, state on {fs[0]}")
        print(f"date      {datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')}")
        print(f"timings   {self.a.repeat} runs each, stdout to /dev/null, warm page cache; "
              "wall time min / median / max; the command's median user+sys CPU; the CPU "
              "its daemons spent per run (postern: queued, smtpd, resolver; Postfix: showq "
              "and the rest); the command's peak RSS (GNU time)")
        print()

    def report(self):
        self.header()
        for system, facts in self.facts.items():
            acc, dfr = facts["fill"]
            extra = ""
            if system == "postern":
                extra = (f"; index data.mdb {facts['index'] / 1048576:.1f} MiB, "
                         f"{facts['files']} queue files, {facts['queue_bytes']} message bytes")
            print(f"fill {system:8s} {self.n} messages accepted in {acc:.1f} s "
                  f"({self.n / acc:.0f} msg/s), all deferred after {dfr:.1f} s{extra}")
        print()
        print("| system | command | wall min | wall median | wall max | command CPU | "
              "daemons' CPU | command peak RSS | output | under 1 s |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        for system, rows in self.results.items():
            for lbl, lo, med, hi, cpu, srv, rss, size, what in rows:
                print(f"| {system} | `{lbl}` | {lo:.3f} s | {med:.3f} s | {hi:.3f} s | "
                      f"{fmt_s(cpu)} | {fmt_s(srv)} | "
                      f"{f'{rss / 1024:.1f} MiB' if rss is not None else 'n/a'} | "
                      f"{size / 1048576:.1f} MiB, {what} | {'yes' if hi < 1 else 'no'} |")
        for system, (pct, load) in self.busy.items():
            print(f"machine during the {system} timings: {pct:.0f}% of all {os.cpu_count()} CPUs "
                  f"busy (this run's own work included), load {load}")
        print()
        print("restart: SIGTERM -> exited -> all its processes gone -> started again -> "
              "control socket answers `stats` / smtpd's next message gets 250")
        print("| system | # | exit | all gone | start to ctl answer | start to first 250 | "
              "SIGTERM to first 250 | tries | under 1 s |")
        print("|---|---|---|---|---|---|---|---|---|")
        for system, rs in self.restarts.items():
            for i, r in enumerate(rs):
                print(f"| {system} | {i + 1} | {r['stop']:.3f} s | {r['gone']:.3f} s | "
                      f"{fmt_s(r['ctl'])} | {r['first250']:.3f} s | {r['total']:.3f} s | "
                      f"{r['tries']} ({', '.join(f'{k}: {v}' for k, v in r['replies'].items()) or 'first try'}) | "
                      f"{'yes' if r['total'] < 1 else 'no'} |")
        pr = self.restarts.get("postern") or []
        if pr:
            print("\npostern, by queued's own log timestamps: stop = 'signal 15' to 'stopped' "
                  "start = 'starting' to "
                  "'ready' (reconcile included)")
            for i, r in enumerate(pr):
                lg = r["log"]
                print(f"  restart {i + 1}: stop {fmt_s(lg['stop'])}, start {fmt_s(lg['start'])} "
                      f"(of which up to the end of reconcile {fmt_s(lg['reconcile'])})")
            last = pr[-1]
            print(f"\npostern's queued after the last restart: CPU {last['cpu']:.3f} s "
                  f"(all its processes, since the start); RSS "
                  + ", ".join(f"{k} {v / 1024:.1f} MiB" for k, v in last["rss"].items()))
            print(f"deferrals logged by queued in the 2 s after the last restart, the probe's "
                  f"own message left out: {self.restart_attempts} (0: the restart did not try "
                  "the deferred mail again)")
        if self.postern_rss:
            print("postern's processes at the end: " +
                  ", ".join(f"{k} {v / 1024:.1f} MiB" for k, v in self.postern_rss.items()))
        print(f"DNS queries that reached the resolver's upstream (a loopback socket of this "
              f"script): {self.dns_queries()}")
        for system, text in self.shape_text.items():
            print(f"\n{system} shape:")
            print(text.rstrip()[:4000])
        print(f"\nload      {' '.join(open('/proc/loadavg').read().split()[:3])} at end")


def main():
    ap = argparse.ArgumentParser(description="posternctl and queued restart on a large queue")
    ap.add_argument("-n", "--messages", type=int,
                    default=int(os.environ.get("BENCH_MSGS", "100000")),
                    help="deferred messages to queue (default 100000, or BENCH_MSGS)")
    ap.add_argument("--sessions", type=int, default=20, help="parallel SMTP sessions (20)")
    ap.add_argument("--domains", type=int, default=10, help="recipient domains (10)")
    ap.add_argument("--size", type=int, default=512, help="body bytes per message (512)")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each timed command (3)")
    ap.add_argument("--restarts", type=int, default=3, help="restarts timed (3)")
    ap.add_argument("--fill-timeout", type=int, default=0,
                    help="seconds for one fill (default 300 + messages/50)")
    ap.add_argument("--no-postfix", dest="postfix", action="store_false",
                    help="skip the Postfix comparison")
    ap.add_argument("--keep", action="store_true", help="keep the state directory")
    a = ap.parse_args()
    for name, lo, hi in (("messages", 1, 1000000), ("sessions", 1, 500), ("domains", 1, 100),
                         ("size", 1, 1048576), ("repeat", 1, 20), ("restarts", 1, 20),
                         ("fill_timeout", 0, 20000)):
        if not lo <= getattr(a, name) <= hi:
            ap.error(f"--{name.replace('_', '-')} must be from {lo} to {hi}")
    if a.sessions < a.domains:
        ap.error("--sessions must be at least --domains (one smtp-source per domain)")

    b = Bench(a)
    budget = 2 * b.fill_timeout + 1200

    def on_alarm(signum, frame):
        raise Abort(f"the whole run took more than {budget} s")
    signal.signal(signal.SIGALRM, on_alarm)
    signal.signal(signal.SIGTERM, lambda s, f: sys.exit(130))
    b.postern_rss = None
    try:
        b.tools()
        signal.alarm(budget)
        b.setup()
        note(f"postern: starting, then filling with {b.n} messages")
        b.start_postern()
        b.postern_fill()
        note("postern: timing the commands")
        b.postern_timings()
        b.postern_rss = b.postern_resources()
        note("postern: timing queued's restart")
        b.postern_restart()
        for name in ("smtpd", "queued", "resolver"):
            b.stop(name)
        if a.postfix:
            note(f"postfix: starting, then filling with {b.n} messages")
            b.start_postfix()
            b.postfix_fill()
            note("postfix: timing the commands")
            b.postfix_timings()
            note("postfix: timing the master's restart")
            b.postfix_restart()
        signal.alarm(0)
        b.report()
        b.ok = True
    except Abort as e:
        note(str(e))
    except KeyboardInterrupt:
        note("interrupted")
    finally:
        signal.alarm(0)
        b.stop_all()
        if b.state and os.path.isdir(b.state):
            if a.keep or not b.ok:
                note(f"state and logs kept in {b.state}")
            else:
                shutil.rmtree(b.state, ignore_errors=True)
    return 0 if b.ok else 1


if __name__ == "__main__":
    sys.exit(main())
