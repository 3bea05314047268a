"""The supervisor files in etc/ under real supervisors.

- etc/systemd: `systemd-analyze verify` (syntax, every key known, the
  binaries and man pages named exist) on copies whose paths point at
  this build; systemd is never started.
- etc/runit, etc/s6, etc/supervisord: the shipped files, with only their
  paths changed to this build, this test's config and a temporary log
  directory, run under Debian's runsvdir, s6-svscan and supervisord
  (each started by the test in the foreground, with its own state in a
  temporary directory; never a system service). All four daemons come
  up; then, while 20 clients send mail, each daemon's top process in
  turn is killed with SIGKILL, and the supervisor must start it again.
  Every message that got a 250 must reach both Maildirs. At the end
  every daemon must stop cleanly, and nothing the test started may be
  left running.
- The systemd units' sandbox without systemd (unit_sandbox.py): each
  daemon runs as its unit's ExecStart says, with the unit's capability
  bounding set, no new privileges, read-only tree but for
  ReadWritePaths, InaccessiblePaths, no writable-and-executable memory
  and a seccomp filter of its SystemCallFilter, and does its work.
- A restart beside a queue manager that is still finishing (expected to
  fail until queued waits for it; see the test).

The supervisors come from Debian packages (runit, s6, supervisor,
systemd; tests/install-deps.sh installs them). A missing one is
installed here as root with --no-install-recommends (so no init system
comes along), or the test is skipped with the reason.
"""
import email.parser
import os
import poplib
import re
import shutil
import signal
import smtplib
import subprocess
import threading
import time
import uuid

import pytest

from conftest import (BUILD, IS_ROOT, ROOT, Postern, children_of, cmdline, greets,
                      wait_for)

DAEMONS = ("queued", "smtpd", "pop3d", "resolver")
ETC = os.path.join(ROOT, "etc")
INSTALLED_LIBEXEC = "/usr/local/libexec/postern/"
INSTALLED_CONF = "/etc/postern/postern.conf"

CLIENTS = 20
PER_CLIENT = 200          # at most this many messages per client
LOAD_SECONDS = 240        # and never longer than this
RECIPIENTS = ("alice@example.test", "bob@example.test")


# ---------------------------------------------------------------- tools

_apt_updated = False


def apt_install(package):
    """apt-get install -y --no-install-recommends package, as root; None
    when it worked, else why not."""
    global _apt_updated
    if not IS_ROOT:
        return "not root"
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    try:
        if not _apt_updated:
            subprocess.run(["apt-get", "update", "-q"], env=env, timeout=600,
                           capture_output=True)
            _apt_updated = True
        r = subprocess.run(["apt-get", "install", "-y", "-q", "--no-install-recommends",
                            package], env=env, timeout=900, capture_output=True, text=True)
    except (OSError, subprocess.TimeoutExpired) as e:
        return str(e)
    return None if r.returncode == 0 else (r.stderr or r.stdout)[-500:]


def need(binary, package):
    """The path of binary; as root, installs package first when it is
    missing (--no-install-recommends, so no init system comes along);
    otherwise skips the test."""
    if os.path.exists(binary):
        return binary
    why = apt_install(package)
    if why is not None or not os.path.exists(binary):
        pytest.skip(f"{binary} missing and Debian's {package} could not be installed "
                    f"({why or 'no such file after installing'}); tests/install-deps.sh "
                    "installs it")
    return binary


def need_module(module, package):
    import importlib
    try:
        return importlib.import_module(module)
    except ImportError:
        pass
    why = apt_install(package)
    importlib.invalidate_caches()
    try:
        return importlib.import_module(module)
    except ImportError:
        pytest.skip(f"Python module {module} missing and Debian's {package} could not be "
                    f"installed ({why or 'not importable after installing'})")


def render(src, dst, subs, mode=None, strict=True):
    """Copies a shipped file with its paths replaced (and only those);
    fails if an installed path is left over (strict: the daemons',
    the config's and the log directory's)."""
    with open(src) as f:
        text = f.read()
    for old, new in subs.items():
        text = text.replace(old, new)
    for old in subs:
        assert old not in text, f"{src}: {old} left after substitution"
    for left in (INSTALLED_LIBEXEC, INSTALLED_CONF, "/var/log/postern") if strict else ():
        assert left not in text, f"{src}: {left} not substituted"
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    with open(dst, "w") as f:
        f.write(text)
    if mode is not None:
        os.chmod(dst, mode)


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except OSError:
        return False


def run(args, timeout=90, **kw):
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, **kw)


# --------------------------------------------------------------- systemd

def test_systemd_units_verify(tmp_path):
    """systemd-analyze verify on the units, with ExecStart pointing at
    this build and the man pages from docs/ on MANPATH (verify runs
    man for each Documentation= page)."""
    analyze = need("/usr/bin/systemd-analyze", "systemd")
    units = sorted(f for f in os.listdir(os.path.join(ETC, "systemd")))
    assert {f"postern-{d}.service" for d in DAEMONS} <= set(units)
    udir = tmp_path / "units"
    for u in units:
        render(os.path.join(ETC, "systemd", u), str(udir / u),
               {INSTALLED_LIBEXEC: BUILD + "/"}, strict=False)
    man = tmp_path / "man"
    for sec in ("5", "8"):
        (man / f"man{sec}").mkdir(parents=True)
    for f in os.listdir(os.path.join(ROOT, "docs")):
        if re.fullmatch(r".+\.[58]", f):
            shutil.copy(os.path.join(ROOT, "docs", f), man / f"man{f[-1]}" / f)
    env = dict(os.environ, MANPATH=str(man), SYSTEMD_LOG_LEVEL="info")
    r = run([analyze, "verify"] + [f"./{u}" for u in units], cwd=str(udir), env=env)
    # unknown keys are only warnings (exit 0): any line at all is a failure
    assert r.returncode == 0 and not r.stderr.strip() and not r.stdout.strip(), \
        f"systemd-analyze verify:\n{r.stdout}{r.stderr}"

    # and the check has teeth: a wrong key and a missing binary are caught
    bad = udir / "postern-smtpd.service"
    text = bad.read_text()
    bad.write_text(text.replace("ProtectClock=", "ProtectClocks="))
    r = run([analyze, "verify", "./postern-smtpd.service"], cwd=str(udir), env=env)
    assert "Unknown key" in r.stderr, r.stderr
    bad.write_text(text.replace(BUILD + "/smtpd", BUILD + "/no-such-smtpd"))
    r = run([analyze, "verify", "./postern-smtpd.service"], cwd=str(udir), env=env)
    assert r.returncode != 0, r.stderr
    bad.write_text(text)

    for d in DAEMONS:
        text = (udir / f"postern-{d}.service").read_text()
        assert re.search(rf"^ExecStart={re.escape(BUILD)}/{d} -F -f {INSTALLED_CONF}$",
                         text, re.M), text
        for line in ("Type=simple", "ExecReload=/bin/kill -HUP $MAINPID",
                     "Restart=on-failure", "KillMode=mixed"):
            assert line in text.splitlines(), f"{d}: {line} missing"
        assert not re.search(r"^(User|DynamicUser)=", text, re.M), \
            f"{d}: the daemons start as root and drop privileges themselves"


# ------------------------------------------------------------ supervised

class Supervised:
    """A postern instance (conftest's Postern: config, users, aliases)
    whose daemons a supervisor runs. Subclasses: runit, s6, supervisord."""

    name = "?"

    def __init__(self, tmp_path, p):
        self.tmp = str(tmp_path)
        self.p = p
        self.logdir = os.path.join(self.tmp, "log")
        os.makedirs(self.logdir, exist_ok=True)
        self.proc = None            # the supervisor itself
        self.out = None
        self.seen = set()           # every postern pid seen: checked at the end
        self.tree = {}              # pid -> command line, under the supervisor
        self.subs = {INSTALLED_LIBEXEC: BUILD + "/", INSTALLED_CONF: p.conf}

    # to implement
    def install(self): ...
    def launch(self): ...
    def pid(self, d): ...
    def hup(self, d): ...
    def down(self): ...
    def shutdown(self): ...
    def log(self, d): ...

    def start(self):
        self.install()
        self.out = open(os.path.join(self.tmp, f"{self.name}.out"), "ab")
        self.launch()

    # ------------------------------------------------ process bookkeeping
    def note(self, pid):
        """Remembers a daemon's top pid and its children."""
        if pid:
            self.seen.add(pid)
            self.seen.update(children_of(pid))

    def worker(self, d, pid):
        title = {"queued": "queue manager", "smtpd": "sessions", "pop3d": "login",
                 "resolver": "worker"}[d]
        for c in children_of(pid):
            if f"postern-{d}: {title}" in cmdline(c):
                return c
        return None

    def ready(self, d, pid):
        """The daemon whose top process is pid serves."""
        w = self.worker(d, pid)
        if not w or f"[{w}]: ready" not in self.log(d):
            return False
        if d == "smtpd":
            return greets(self.p.port, b"220")
        if d == "pop3d":
            return greets(self.p.pop3_port, b"+OK")
        return True

    def wait_ready(self, d, old=None, timeout=60):
        def check():
            pid = self.pid(d)
            if not pid or pid == old or not alive(pid):
                return None
            self.note(pid)
            return pid if self.ready(d, pid) else None
        try:
            pid = wait_for(check, timeout=timeout, interval=0.1, what=f"{d} under {self.name}")
        except AssertionError:
            raise AssertionError(f"{d} not ready under {self.name}:\n{self.log(d)[-3000:]}\n"
                                 f"{self.name}:\n{self.outtext()[-2000:]}")
        self.note(pid)
        # the supervisor's pid is the daemon itself (the run script exec'd
        # it), so its signals reach the daemon
        assert os.readlink(f"/proc/{pid}/exe") == os.path.join(BUILD, d), \
            f"{self.name}'s pid {pid} for {d} is {os.readlink(f'/proc/{pid}/exe')}"
        return pid

    def outtext(self):
        try:
            with open(os.path.join(self.tmp, f"{self.name}.out"), errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def snapshot(self):
        """Remembers the supervisor's whole process tree (its service
        supervisors, log processes, daemons), with each command line."""
        todo = [self.proc.pid] if self.proc else []
        while todo:
            for c in children_of(todo.pop()):
                if c not in self.tree:
                    self.tree[c] = cmdline(c)
                    todo.append(c)

    def strays(self):
        """Processes that belong to this test's directories: their command
        line names them, or their working directory or root is in them
        (a supervisor's own, a daemon, a chrooted child)."""
        mine = (self.tmp + "/", self.p.root + "/")
        out = []
        for d in os.listdir("/proc"):
            if not d.isdigit() or int(d) == os.getpid():
                continue
            where = [cmdline(int(d))]
            for link in ("cwd", "root"):
                try:
                    where.append(os.readlink(f"/proc/{d}/{link}") + "/")
                except OSError:
                    pass
            if alive(int(d)) and any(m in w for m in mine for w in where):
                out.append((int(d), where[0]))
        return out

    def leftovers(self):
        """Processes of this test, seen under the supervisor or found in
        its directories, that still run."""
        left = [x for x in self.strays()]
        for pid in sorted(self.seen):
            c = cmdline(pid)
            if alive(pid) and (c.startswith("postern-") or c.startswith(BUILD)) and \
                    (pid, c) not in left:
                left.append((pid, c))
        for pid, c in sorted(self.tree.items()):
            if alive(pid) and cmdline(pid) == c and (pid, c) not in left:
                left.append((pid, c))
        return left

    def cleanup(self):
        """Whatever happened: stop the supervisor and everything it ran,
        each by pid."""
        try:
            if self.proc is not None and self.proc.poll() is None:
                self.snapshot()
                for step in (self.down, self.shutdown):
                    try:
                        step()
                    except Exception:
                        pass
        finally:
            if self.proc is not None and self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(timeout=30)
            # a few rounds: a service supervisor killed in one round may
            # have started something just before
            for _ in range(5):
                left = self.leftovers()
                if not left:
                    break
                for pid, _ in left:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except OSError:
                        pass
                time.sleep(0.5)
            if self.out:
                self.out.close()


class Runit(Supervised):
    name = "runit"

    def install(self):
        self.runsvdir = need("/usr/bin/runsvdir", "runit")
        self.sv = need("/usr/bin/sv", "runit")
        self.svdir = os.path.join(self.tmp, "service")
        self.subs["/var/log/postern"] = self.logdir
        for d in DAEMONS:
            src = os.path.join(ETC, "runit", f"postern-{d}")
            for rel in ("run", "log/run"):
                render(os.path.join(src, rel), os.path.join(self.svdir, f"postern-{d}", rel),
                       self.subs, 0o755)

    def svc(self, d):
        return os.path.join(self.svdir, f"postern-{d}")

    def launch(self):
        # -P: each runsv in a session of its own, as runit's init does
        self.proc = subprocess.Popen([self.runsvdir, "-P", self.svdir, "log: " + "." * 200],
                                     stdout=self.out, stderr=subprocess.STDOUT,
                                     start_new_session=True, env=self.p.env())

    def pid(self, d):
        r = run([self.sv, "status", self.svc(d)], timeout=30)
        m = re.match(r"run: [^:]+: \(pid (\d+)\)", r.stdout)
        return int(m.group(1)) if m else None

    def hup(self, d):
        r = run([self.sv, "hup", self.svc(d)], timeout=30)
        assert r.returncode == 0, r.stdout + r.stderr

    def down(self):
        r = run([self.sv, "-w", "60", "down"] + [self.svc(d) for d in DAEMONS], timeout=120)
        return r.returncode == 0, r.stdout + r.stderr

    def shutdown(self):
        # as runit's stage 3 does: SIGHUP makes runsvdir send SIGTERM to
        # each runsv and exit; a runsv then stops its service and its log
        # service, and exits. (sv exit alone is not enough: runsvdir
        # starts a runsv that exits again.)
        runsv = children_of(self.proc.pid)
        self.proc.send_signal(signal.SIGHUP)
        try:
            self.proc.wait(timeout=30)
            wait_for(lambda: not any(alive(p) for p in runsv), timeout=60,
                     what="runsv processes gone")
        finally:
            for p in runsv:
                if alive(p):
                    os.kill(p, signal.SIGKILL)

    def log(self, d):
        """The daemon's log: svlogd's and s6-log's rotated files, then current."""
        out = []
        try:
            names = sorted(n for n in os.listdir(os.path.join(self.logdir, d))
                           if n.startswith("@")) + ["current"]
        except OSError:
            return ""
        for n in names:
            try:
                with open(os.path.join(self.logdir, d, n), errors="replace") as f:
                    out.append(f.read())
            except OSError:
                pass
        return "".join(out)


class S6(Runit):
    name = "s6"

    def install(self):
        self.svscan = need("/usr/bin/s6-svscan", "s6")
        self.svdir = os.path.join(self.tmp, "scan")
        self.subs["/var/log/postern"] = self.logdir
        for d in DAEMONS:
            src = os.path.join(ETC, "s6", f"postern-{d}")
            for rel in ("run", "log/run"):
                render(os.path.join(src, rel), os.path.join(self.svdir, f"postern-{d}", rel),
                       self.subs, 0o755)
            shutil.copy(os.path.join(src, "timeout-kill"),
                        os.path.join(self.svdir, f"postern-{d}", "timeout-kill"))

    def launch(self):
        self.proc = subprocess.Popen([self.svscan, self.svdir], stdout=self.out,
                                     stderr=subprocess.STDOUT, start_new_session=True,
                                     env=self.p.env())

    def pid(self, d):
        r = run(["s6-svstat", "-o", "up,pid", self.svc(d)], timeout=30)
        f = r.stdout.split()
        return int(f[1]) if len(f) == 2 and f[0] == "true" and int(f[1]) > 0 else None

    def hup(self, d):
        r = run(["s6-svc", "-h", self.svc(d)], timeout=30)
        assert r.returncode == 0, r.stdout + r.stderr

    def down(self):
        ok, out = True, ""
        for d in DAEMONS:
            r = run(["s6-svc", "-wD", "-T", "60000", "-d", self.svc(d)], timeout=90)
            ok &= r.returncode == 0
            out += r.stdout + r.stderr
        return ok, out

    def exit_code(self, d):
        r = run(["s6-svstat", "-o", "up,exitcode,signal", self.svc(d)], timeout=30)
        return r.stdout.split()

    def shutdown(self):
        sup = children_of(self.proc.pid)
        # SIGTERM: s6-svscan tells every s6-supervise to stop its service
        # and exit, then exits
        self.proc.terminate()
        try:
            self.proc.wait(timeout=90)
            wait_for(lambda: not any(alive(p) for p in sup), timeout=60,
                     what="s6-supervise processes gone")
        finally:
            for p in sup:
                if alive(p):
                    os.kill(p, signal.SIGKILL)


class Supervisord(Supervised):
    name = "supervisord"

    def install(self):
        self.bin = need("/usr/bin/supervisord", "supervisor")
        self.subs["/var/log/supervisor"] = self.logdir
        conf = os.path.join(self.tmp, "postern.conf")
        render(os.path.join(ETC, "supervisord", "postern.conf"), conf, self.subs)
        self.sock = os.path.join(self.tmp, "supervisor.sock")
        self.main = os.path.join(self.tmp, "supervisord.conf")
        with open(self.main, "w") as f:
            f.write(f"""[unix_http_server]
file={self.sock}
chmod=0700

[supervisord]
nodaemon=true
user=root
logfile={self.tmp}/supervisord.log
pidfile={self.tmp}/supervisord.pid
childlogdir={self.logdir}

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://{self.sock}

[include]
files = {conf}
""")

    def ctl(self, *args, timeout=60):
        return run(["supervisorctl", "-c", self.main, *args], timeout=timeout)

    def launch(self):
        self.proc = subprocess.Popen([self.bin, "-n", "-c", self.main], stdout=self.out,
                                     stderr=subprocess.STDOUT, start_new_session=True,
                                     env=self.p.env())

    def pid(self, d):
        r = self.ctl("pid", f"postern:{d}", timeout=30)
        try:
            return int(r.stdout.strip()) or None
        except ValueError:
            return None

    def hup(self, d):
        r = self.ctl("signal", "HUP", f"postern:{d}")
        assert "signalled" in r.stdout, r.stdout + r.stderr

    def down(self):
        r = self.ctl("stop", "postern:*", timeout=180)
        return r.returncode == 0, r.stdout + r.stderr

    def shutdown(self):
        self.proc.terminate()
        self.proc.wait(timeout=90)

    def mainlog(self):
        try:
            with open(os.path.join(self.tmp, "supervisord.log"), errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def log(self, d):
        try:
            with open(os.path.join(self.logdir, f"postern-{d}.log"), errors="replace") as f:
                return f.read()
        except OSError:
            return ""


# ----------------------------------------------------------------- load

class Load:
    """CLIENTS threads sending mail to alice and bob, each message with a
    Message-ID of its own; remembers, per recipient, the ids that got
    250 for it."""

    def __init__(self, port):
        self.port = port
        self.tag = uuid.uuid4().hex[:10]
        self.lock = threading.Lock()
        self.accepted = {r: set() for r in RECIPIENTS}
        self.tried = set()
        self.errors = 0
        self.stop = threading.Event()
        self.threads = []

    def count(self):
        with self.lock:
            return len(self.accepted[RECIPIENTS[0]] | self.accepted[RECIPIENTS[1]])

    def client(self, n):
        deadline = time.monotonic() + LOAD_SECONDS
        i = 0
        while i < PER_CLIENT and not self.stop.is_set() and time.monotonic() < deadline:
            try:
                with smtplib.SMTP("127.0.0.1", self.port, timeout=30) as s:
                    while i < PER_CLIENT and not self.stop.is_set():
                        mid = f"<{self.tag}.{n}.{i}@example.test>"
                        i += 1
                        with self.lock:
                            self.tried.add(mid)
                        msg = (f"From: load@example.net\r\nTo: alice@example.test\r\n"
                               f"Subject: supervised {n}/{i}\r\nMessage-ID: {mid}\r\n\r\n"
                               f"client {n} message {i}\r\n")
                        refused = s.sendmail("load@example.net", list(RECIPIENTS), msg.encode())
                        with self.lock:
                            for r in RECIPIENTS:
                                if r not in refused:
                                    self.accepted[r].add(mid)
                        time.sleep(0.01)
            except (smtplib.SMTPException, OSError):
                # refused, or cut off: not counted (it may still arrive)
                with self.lock:
                    self.errors += 1
                time.sleep(0.2)

    def start(self):
        self.threads = [threading.Thread(target=self.client, args=(n,), daemon=True)
                        for n in range(CLIENTS)]
        for t in self.threads:
            t.start()

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join(timeout=120)
        assert not any(t.is_alive() for t in self.threads), "load clients hung"


_parser = email.parser.BytesHeaderParser()


def delivered(p, user):
    """Message-IDs in user's Maildir (new/ and cur/), with repeats."""
    ids = []
    for sub in ("new", "cur"):
        d = os.path.join(p.mail, user, sub)
        if not os.path.isdir(d):
            continue
        for f in os.listdir(d):
            try:
                with open(os.path.join(d, f), "rb") as fh:
                    ids.append(_parser.parse(fh).get("Message-ID", "").strip())
            except FileNotFoundError:
                pass
    return ids


# ------------------------------------------------------------------ test

SUPERVISORS = {"runit": Runit, "s6": S6, "supervisord": Supervisord}
SANITIZER_REPORTS = ("ERROR: AddressSanitizer", "runtime error:", "ERROR: LeakSanitizer")


@pytest.mark.parametrize("kind", list(SUPERVISORS))
def test_kill_each_daemon_under_supervisor(kind, tmp_path, unbound_server):
    if not IS_ROOT:
        pytest.skip("the daemons run as root under a supervisor")
    p = Postern(str(tmp_path / "p"), dns=unbound_server)
    sup = SUPERVISORS[kind](tmp_path / kind, p)
    try:
        sup.start()
        pids = {d: sup.wait_ready(d) for d in DAEMONS}

        # SIGHUP through the supervisor: certificates reloaded, still up
        for d in ("smtpd", "pop3d"):
            sup.hup(d)
            wait_for(lambda: "SIGHUP: reloading" in sup.log(d), timeout=20,
                     what=f"{d} reloading on SIGHUP")
            assert sup.pid(d) == pids[d]

        load = Load(p.port)
        load.start()
        try:
            for d in DAEMONS:
                before = load.count()
                wait_for(lambda: load.count() >= before + 100, timeout=120,
                         what=f"mail accepted before killing {d}")
                os.kill(pids[d], signal.SIGKILL)
                pids[d] = sup.wait_ready(d, old=pids[d], timeout=90)
            # a worker that dies makes its daemon exit 1: restarted too
            w = sup.worker("smtpd", pids["smtpd"])
            os.kill(w, signal.SIGKILL)
            pids["smtpd"] = sup.wait_ready("smtpd", old=pids["smtpd"], timeout=90)
            assert "postern-smtpd: sessions killed by signal 9; stopping" in sup.log("smtpd"), \
                sup.log("smtpd")[-2000:]
            if kind == "supervisord":
                assert "exited: smtpd (exit status 1; not expected)" in sup.mainlog()
            # the restarted set takes mail
            before = load.count()
            wait_for(lambda: load.count() >= before + 100, timeout=120,
                     what="mail accepted after the restarts")
        finally:
            load.finish()

        # every 250 reaches both mailboxes
        for rcpt in RECIPIENTS:
            user = rcpt.split("@")[0]
            want = load.accepted[rcpt]
            try:
                wait_for(lambda: want <= set(delivered(p, user)), timeout=180,
                         what=f"every accepted message in {user}'s Maildir")
            except AssertionError:
                missing = want - set(delivered(p, user))
                raise AssertionError(
                    f"{len(missing)} of {len(want)} accepted message(s) not delivered to "
                    f"{user}, e.g. {sorted(missing)[:5]}\nqueued:\n{sup.log('queued')[-4000:]}")
        for rcpt in RECIPIENTS:
            got = delivered(p, rcpt.split("@")[0])
            stray = set(got) - load.tried
            assert not stray, f"unknown messages delivered: {sorted(stray)[:5]}"
        counts = {r: len(load.accepted[r]) for r in RECIPIENTS}
        dups = {r: len(delivered(p, r.split("@")[0])) - len(set(delivered(p, r.split("@")[0])))
                for r in RECIPIENTS}
        print(f"{kind}: accepted {counts}, tried {len(load.tried)}, client errors "
              f"{load.errors}, repeats {dups}")

        # the restarted daemons serve: POP3 login, a DNS answer
        pop = poplib.POP3("127.0.0.1", p.pop3_port, timeout=30)
        pop.user("alice")
        pop.pass_("wonderland")
        n, _ = pop.stat()
        assert n >= len(load.accepted[RECIPIENTS[0]])
        pop.quit()
        rc, out, err = p.resolve("mx", "example.test")
        assert rc == 0 and any("mx1.example.test" in ln for ln in out), (rc, out, err)

        # a clean stop through the supervisor: each daemon exits 0
        ok, out = sup.down()
        assert ok, f"stopping under {kind}: {out}"
        for d in DAEMONS:
            wait_for(lambda: re.search(rf"postern/{d}\[{pids[d]}\]: stopped", sup.log(d)),
                     timeout=60, what=f"{d} stopped")
        if kind == "supervisord":
            for d in DAEMONS:
                assert re.search(rf"stopped: {d} \(exit status 0\)", sup.mainlog()), \
                    sup.mainlog()[-3000:]
        elif kind == "s6":
            for d in DAEMONS:
                assert sup.exit_code(d) == ["false", "0", "NA"], (d, sup.exit_code(d))
        sup.snapshot()
        sup.shutdown()
        left = sup.leftovers()
        assert not left, f"still running after the supervisor stopped: {left}"
        for d in DAEMONS:
            for pat in SANITIZER_REPORTS:
                assert pat not in sup.log(d), f"{d}: {pat}\n{sup.log(d)[-3000:]}"
    finally:
        sup.cleanup()


# ------------------------------------------------- the units' sandbox

SANDBOX = os.path.join(os.path.dirname(os.path.abspath(__file__)), "unit_sandbox.py")


def unit_settings(path):
    """The [Service] settings of a unit file: key -> its values, one per line."""
    out, section = {}, None
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line[0] in "#;":
                continue
            if line.startswith("["):
                section = line
                continue
            if section == "[Service]":
                k, _, v = line.partition("=")
                out.setdefault(k, []).append(v)
    return out


def syscall_set(analyze, spec):
    """The system calls a SystemCallFilter= allow list names, groups expanded
    as this machine's systemd-analyze lists them."""
    groups, cur = {}, None
    for line in run([analyze, "syscall-filter"]).stdout.splitlines():
        if not line.strip():
            cur = None
        elif not line[0].isspace():
            cur = line.strip() if line.startswith("@") else None
            if cur:
                groups[cur] = []
        elif cur and not line.strip().startswith("#"):
            groups[cur].append(line.strip())
    out, todo, seen = set(), list(spec), set()
    while todo:
        t = todo.pop()
        if t.startswith("@"):
            assert t in groups, f"unknown system call group {t}"
            if t not in seen:
                seen.add(t)
                todo.extend(groups[t])
        else:
            out.add(t)
    return out


def cap_mask(caps):
    import unit_sandbox
    m = 0
    for c in caps:
        m |= 1 << unit_sandbox.CAPS.index(c.removeprefix("CAP_"))
    return m


def proc_status(pid):
    with open(f"/proc/{pid}/status") as f:
        return dict(ln.rstrip("\n").split(":\t", 1) for ln in f if ":\t" in ln)


def test_daemons_in_unit_sandbox(tmp_path, unbound_server):
    """Each daemon runs, as its unit's ExecStart says, inside what the
    unit's sandbox settings allow: capability bounding set, no new
    privileges, a read-only tree but for ReadWritePaths, the mail root
    hidden where InaccessiblePaths says, no writable-and-executable
    memory, and a seccomp allow list of the unit's SystemCallFilter
    (unit_sandbox.py does each, without systemd). Mail is taken,
    delivered and fetched (a first login makes a Maildir), a name is
    resolved, certificates reload on SIGHUP, and SIGTERM ends each with
    status 0. PrivateTmp, PrivateDevices and the Protect*= kernel
    settings are not emulated (the test's files live in /tmp)."""
    if not IS_ROOT:
        pytest.skip("the sandbox is set up as root, as systemd does")
    analyze = need("/usr/bin/systemd-analyze", "systemd")
    need("/usr/bin/unshare", "util-linux")
    need_module("seccomp", "python3-seccomp")  # unit_sandbox.py's seccomp filter

    p = Postern(str(tmp_path / "p"), dns=unbound_server)
    # the units' ReadWritePaths must exist before the first start
    os.makedirs(p.spool, exist_ok=True)
    os.makedirs(p.mail, exist_ok=True)
    os.makedirs(os.path.join(p.spool, "run"), exist_ok=True)
    paths = {"/var/spool/postern": p.spool, "/var/mail/postern": p.mail,
             "/var/spool/postern/run": os.path.join(p.spool, "run")}
    masks = {}
    try:
        for d in ("resolver", "queued", "smtpd", "pop3d"):
            s = unit_settings(os.path.join(ETC, "systemd", f"postern-{d}.service"))
            assert s["ProtectSystem"] == ["strict"] and s["NoNewPrivileges"] == ["yes"]
            assert s["MemoryDenyWriteExecute"] == ["yes"]
            assert s["SystemCallErrorNumber"] == ["EPERM"]
            caps = s["CapabilityBoundingSet"][-1].split()
            masks[d] = cap_mask(caps)
            rw = [paths[x.lstrip("-")] for v in s.get("ReadWritePaths", []) for x in v.split()]
            hide = [paths[x.lstrip("-")] for v in s.get("InaccessiblePaths", [])
                    for x in v.split()]
            calls = tmp_path / f"{d}.syscalls"
            calls.write_text("\n".join(sorted(syscall_set(
                analyze, " ".join(s["SystemCallFilter"]).split()))))
            argv = s["ExecStart"][-1].replace(INSTALLED_LIBEXEC, BUILD + "/")
            argv = argv.replace(INSTALLED_CONF, p.conf).split()
            pre = ["unshare", "--mount", "--propagation", "private", "--", "/usr/bin/python3",
                   SANDBOX, "--caps", ",".join(caps), "--nnp", "--mdwe",
                   "--syscalls", str(calls)]
            pre += [a for x in rw for a in ("--rw", x)]
            pre += [a for x in hide for a in ("--hide", x)]
            log = open(os.path.join(p.logdir, f"{d}.log"), "ab")
            p.logs[d] = log
            p.procs[d] = subprocess.Popen(pre + ["--"] + argv, stdout=log,
                                          stderr=subprocess.STDOUT, env=p.env())
            if d == "resolver":
                wait_for(lambda: "ready:" in p.log("resolver") or
                         p.procs["resolver"].poll() is not None, what="resolver ready")
            elif d == "queued":
                wait_for(lambda: "]: ready" in p.log("queued") or
                         p.procs["queued"].poll() is not None, what="queued ready")
            elif d == "smtpd":
                wait_for(lambda: greets(p.port, b"220") or p.procs["smtpd"].poll() is not None,
                         what="smtpd greeting")
            else:
                wait_for(lambda: greets(p.pop3_port, b"+OK") or
                         p.procs["pop3d"].poll() is not None, what="pop3d greeting")
            assert p.procs[d].poll() is None, f"{d} exited in its sandbox:\n{p.log(d)[-3000:]}"
        p.wait_ready()
        wait_for(lambda: "postern/relay[" in p.log("queued"), what="remote delivery agent up")
        for d, proc in p.procs.items():
            st = proc_status(proc.pid)
            assert int(st["CapBnd"], 16) == masks[d], (d, st["CapBnd"])
            assert st["NoNewPrivs"] == "1" and st["Seccomp"] == "2", (d, st)
            assert os.path.basename(os.readlink(f"/proc/{proc.pid}/exe")) == d

        # mail in, to two Maildirs
        with smtplib.SMTP("127.0.0.1", p.port, timeout=30) as c:
            for i in range(10):
                c.sendmail("s@example.net", list(RECIPIENTS),
                           f"Subject: sandboxed {i}\r\nMessage-ID: <sb{i}@example.test>\r\n\r\n"
                           f"body {i}\r\n".encode())
        for u in ("alice", "bob"):
            wait_for(lambda: len(delivered(p, u)) == 10, what=f"10 messages for {u}")
        # POP3: a first login makes carol's Maildir; alice fetches and deletes
        assert not os.path.exists(os.path.join(p.mail, "carol"))
        c = poplib.POP3("127.0.0.1", p.pop3_port, timeout=30)
        c.user("carol")
        c.pass_("secret")
        assert c.stat()[0] == 0
        c.quit()
        assert os.path.isdir(os.path.join(p.mail, "carol"))
        c = poplib.POP3("127.0.0.1", p.pop3_port, timeout=30)
        c.user("alice")
        c.pass_("wonderland")
        assert c.stat()[0] == 10
        assert b"Subject: sandboxed " in b"\n".join(c.retr(1)[1])
        c.dele(1)
        c.quit()
        assert len(delivered(p, "alice")) == 9
        rc, out, err = p.resolve("mx", "example.test")
        assert rc == 0 and any("mx1.example.test" in ln for ln in out), (rc, out, err)
        for d in ("smtpd", "pop3d"):
            p.procs[d].send_signal(signal.SIGHUP)
            wait_for(lambda: "certificate reloaded" in p.log(d), timeout=20,
                     what=f"{d} reloads its certificate")
        for d in ("pop3d", "smtpd", "queued", "resolver"):
            p.procs[d].send_signal(signal.SIGTERM)
            assert p.procs[d].wait(timeout=40) == 0, f"{d}:\n{p.log(d)[-3000:]}"
        for d in p.procs:
            for bad in ("Operation not permitted", "Permission denied", "Read-only file system",
                        "killed by signal", "exited with") + SANITIZER_REPORTS:
                assert bad not in p.log(d), f"{d}: {bad}\n{p.log(d)[-3000:]}"
    finally:
        p.stop_all()


# ------------------------------------- a restart beside a slow old worker

def tracer_of(pid):
    """TracerPid of a process (0: none), None once it is gone"""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("TracerPid:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def test_restart_beside_slow_queue_manager(tmp_path, unbound_server):
    """queued's top process is killed while its queue manager is inside a
    slow fdatasync (a slow disk, made with strace's fault injection): the
    supervisor starts queued again at once. The new queue manager must
    not start before the old one is gone, and every message that got 250
    must be delivered."""
    if not IS_ROOT:
        pytest.skip("the daemons run as root under a supervisor")
    strace = need("/usr/bin/strace", "strace")
    p = Postern(str(tmp_path / "p"), dns=unbound_server)
    sup = Supervisord(tmp_path / "supervisord", p)
    tracer = None
    try:
        sup.start()
        pids = {d: sup.wait_ready(d) for d in DAEMONS}
        load = Load(p.port)
        load.start()
        try:
            wait_for(lambda: load.count() >= 100, timeout=120, what="mail accepted")
            old = sup.worker("queued", pids["queued"])
            sup.seen.add(old)
            tracer = subprocess.Popen([strace, "-qq", "-o", "/dev/null", "-p", str(old),
                                       "-e", "trace=fdatasync",
                                       "-e", "inject=fdatasync:delay_enter=2000000:when=1"])
            # the next commit waits 2 s in fdatasync once strace holds it
            wait_for(lambda: tracer_of(old) not in (None, 0), timeout=30, what="strace attached")
            os.kill(pids["queued"], signal.SIGKILL)
            pids["queued"] = sup.wait_ready("queued", old=pids["queued"], timeout=90)
            overlap = alive(old)
            tracer.wait(timeout=30)
            before = load.count()
            wait_for(lambda: load.count() >= before + 100, timeout=120,
                     what="mail accepted after the restart")
        finally:
            load.finish()
        def missing():
            out = {}
            for rcpt in RECIPIENTS:
                n = len(load.accepted[rcpt] - set(delivered(p, rcpt.split("@")[0])))
                if n:
                    out[rcpt] = n
            return out
        try:
            wait_for(lambda: not missing(), timeout=180, interval=0.5,
                     what="every accepted message delivered")
        except AssertionError:
            pass
        missing = missing()
        assert not overlap and not missing, \
            (f"new queue manager ready while the old one (pid {old}) still ran: {overlap}; "
             f"accepted but never delivered: {missing}")
    finally:
        if tracer is not None and tracer.poll() is None:
            tracer.kill()
            tracer.wait(timeout=10)
        sup.cleanup()
