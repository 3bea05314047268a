"""make install and make install-sendmail, staged into a DESTDIR: what
lands where, with which modes (the system users and /etc/postern are
left alone when staging; posternctl setup, tested elsewhere, does that
part)."""
import os
import stat
import subprocess

from conftest import ROOT


def make(*args):
    return subprocess.run(["make", "-C", ROOT, *args], capture_output=True, text=True, timeout=600)


def test_install_layout(tmp_path):
    dest = tmp_path / "stage"
    r = make("install", f"DESTDIR={dest}", "PREFIX=/usr/local")
    assert r.returncode == 0, r.stderr
    base = dest / "usr/local"
    for d in ("smtpd", "queued", "pop3d", "resolver"):
        p = base / "libexec/postern" / d
        assert p.is_file() and stat.S_IMODE(p.stat().st_mode) == 0o755
    assert (base / "sbin/posternctl").is_file()
    # sendmail only when asked
    assert not (base / "sbin/sendmail").exists()
    for page in ("man5/postern.conf.5", "man8/posternctl.8", "man8/sendmail.8", "man8/queued.8",
                 "man8/smtpd.8", "man8/pop3d.8", "man8/resolver.8"):
        assert (base / "share/man" / page).is_file(), page
    unit = (base / "lib/systemd/system/postern-queued.service").read_text()
    assert "/usr/local/libexec/postern/queued" in unit
    assert not (dest / "etc/postern").exists()

    r = make("install-sendmail", f"DESTDIR={dest}", "PREFIX=/usr")
    assert r.returncode == 0, r.stderr
    sm = dest / "usr/sbin/sendmail"
    mode = sm.stat().st_mode
    assert sm.is_file() and not mode & (stat.S_ISUID | stat.S_ISGID)
    assert os.readlink(dest / "usr/bin/mailq") == "../sbin/sendmail"
