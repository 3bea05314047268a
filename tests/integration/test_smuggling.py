"""SMTP smuggling (bare LF / bare CR end-of-data tricks): a body holding
"\\n.\\n", "\\n.\\r\\n" or "\\r.\\r" followed by a second envelope must
yield exactly one message, and none with the smuggled envelope."""
import pytest


@pytest.mark.parametrize("fake_end", [b"\n.\n", b"\n.\r\n", b"\r.\r", b"\r\n.\n", b"\r\n.\r"])
def test_smuggled_envelope_is_body(postern, smtp_client, fake_end):
    c = smtp_client(postern.port)
    c.cmd("EHLO outer.example.net")
    assert c.cmd("MAIL FROM:<outer@example.net>")[0] == 250
    assert c.cmd("RCPT TO:<alice@example.test>")[0] == 250
    c.send(b"DATA\r\n")
    assert c.reply()[0] == 354
    smuggled = (b"Subject: outer\r\n\r\nouter body" + fake_end +
                b"MAIL FROM:<smuggled@example.net>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n"
                b"Subject: smuggled\r\n\r\nsmuggled body\r\n.\r\n")
    c.send(smuggled)
    code, text, _ = c.reply()
    # the smuggled ".\r\n" ended DATA: one message; the rest were commands
    # only if a fake end had been honoured, which it must not be
    assert code == 250, text
    assert c.cmd("QUIT")[0] == 221
    (msg,) = postern.wait_mail("alice", 1)
    assert b"Subject: outer" in msg and b"MAIL FROM:<smuggled@example.net>" in msg
    assert postern.read_mail("bob") == []
    assert "smuggled@example.net" not in postern.log("queued").replace(
        "from=<outer@example.net>", "")
    assert postern.log("queued").count(": from=<") == 1
