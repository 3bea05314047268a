"""posternctl and configuration errors as an administrator meets them."""
import os
import re
import subprocess

from conftest import BUILD, IS_ROOT


def test_user_commands(make_postern):
    p = make_postern(start=False)
    assert p.ctl("user", "list").stdout.split() == ["alice", "bob", "carol"]
    with open(os.path.join(p.etc, "users")) as f:
        text = f.read()
    assert "alice:$y$" in text  # yescrypt
    assert "wonderland" not in text
    old = [ln for ln in text.splitlines() if ln.startswith("bob:")][0]
    p.ctl("user", "passwd", "bob", input="newpass\n")
    with open(os.path.join(p.etc, "users")) as f:
        assert old not in f.read()
    r = p.ctl("user", "del", "carol", check=False)
    assert r.returncode == 1 and "target of alias 'all'" in r.stderr
    p.ctl("user", "add", "dave", input="pw\n")
    p.ctl("user", "del", "dave")
    assert p.ctl("user", "list").stdout.split() == ["alice", "bob", "carol"]
    r = p.ctl("user", "add", "alice", input="x\n", check=False)
    assert r.returncode == 1 and "already exists" in r.stderr
    r = p.ctl("user", "add", "../evil", input="x\n", check=False)
    assert r.returncode == 1 and "not a valid user name" in r.stderr
    r = p.ctl("user", "add", "dave", input="\n", check=False)
    assert r.returncode == 1 and "empty password" in r.stderr


def test_check_reports_file_and_line(make_postern):
    p = make_postern(start=False)
    assert "ok" in p.ctl("check").stdout
    with open(p.conf, "a") as f:
        f.write("max_recipients 100000\n")
    lines = open(p.conf).read().count("\n")
    r = p.ctl("check", check=False)
    assert r.returncode == 1
    assert r.stderr.startswith(f"{os.path.realpath(p.conf)}:{lines}: max_recipients:") or \
        f"{p.conf}:{lines}: max_recipients" in r.stderr
    with open(p.conf, "a") as f:
        f.write("")
    text = open(p.conf).read().replace("max_recipients 100000\n", "colour blue\n")
    open(p.conf, "w").write(text)
    r = p.ctl("check", check=False)
    assert r.returncode == 1 and f":{lines}: unknown key 'colour'" in r.stderr
    # the daemons refuse it the same way
    for daemon in ("smtpd", "queued"):
        r = subprocess.run([os.path.join(BUILD, daemon), "-f", p.conf],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 1 and "unknown key 'colour'" in r.stderr


def test_check_reports_bad_alias(make_postern):
    p = make_postern(start=False)
    with open(os.path.join(p.etc, "aliases"), "a") as f:
        f.write("ghost: nobody\n")
    r = p.ctl("check", check=False)
    assert r.returncode == 1 and "target 'nobody' is neither a user nor an alias" in r.stderr
    text = open(os.path.join(p.etc, "aliases")).read().replace("ghost: nobody\n", "")
    open(os.path.join(p.etc, "aliases"), "w").write(text + "loop1: loop2\nloop2: loop1\n")
    r = p.ctl("check", check=False)
    assert r.returncode == 1 and "alias 'loop1': loop" in r.stderr
    open(os.path.join(p.etc, "aliases"), "w").write(text)
    with open(os.path.join(p.etc, "aliases"), "a") as f:
        f.write("broken line without colon\n")
    r = p.ctl("check", check=False)
    assert r.returncode == 1 and "aliases:4: expected" in r.stderr


def test_check_certificate(make_postern, tmp_path):
    """check loads the certificate and key as smtpd and pop3d would: a key
    that does not match is an error (and reload refuses to signal), a
    certificate near its end a warning"""
    p = make_postern(start=False)
    r = p.ctl("check")
    end = subprocess.run(["openssl", "x509", "-enddate", "-noout", "-in", p.tls["cert"]],
                         capture_output=True, text=True, check=True).stdout
    year = end.strip().split()[-2]  # notAfter=Mon DD HH:MM:SS YYYY GMT
    assert f"{p.tls['cert']}: certificate and key match; valid until {year}-" in r.stdout
    assert r.stderr == ""

    other_key = tmp_path / "other.key"
    subprocess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-out", str(other_key)], check=True, capture_output=True)
    text = open(p.conf).read()
    open(p.conf, "w").write(text.replace(f"tls_key {p.tls['key']}", f"tls_key {other_key}"))
    r = p.ctl("check", check=False)
    assert r.returncode == 1 and r.stderr.startswith(p.tls["cert"] + ": "), r.stderr
    assert "ok (" not in r.stdout
    if IS_ROOT:  # (a member of postern-admin asks queued, which checks nothing)
        r = p.ctl("reload", check=False)
        assert r.returncode == 1 and r.stderr.startswith(p.tls["cert"] + ": "), r.stderr
        assert "signalled" not in r.stdout and "no running postern daemon" not in r.stderr

    soon_cert, soon_key = tmp_path / "soon.pem", tmp_path / "soon.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-days", "3", "-subj", "/CN=mail.example.test",
                    "-keyout", str(soon_key), "-out", str(soon_cert)], check=True, capture_output=True)
    open(p.conf, "w").write(text.replace(f"tls_key {p.tls['key']}", f"tls_key {soon_key}")
                            .replace(f"tls_certificate {p.tls['cert']}", f"tls_certificate {soon_cert}"))
    r = p.ctl("check")
    assert f"warning: {soon_cert}: the certificate expires on " in r.stderr, r.stderr
    assert "within 3 days" in r.stderr, r.stderr
    assert "ok (" in r.stdout
