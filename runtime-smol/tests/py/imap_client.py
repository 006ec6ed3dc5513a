"""IMAP client steps for the localserve tests, with Python's imaplib.

Usage: imap_client.py STEP HOST PORT
  append-fetch  IMAPS: login, LIST, SELECT INBOX, APPEND, FETCH
  fetch         IMAPS: login, SELECT INBOX, FETCH 1
  starttls      plain IMAP: CAPABILITY, STARTTLS, CAPABILITY, login, SELECT INBOX

Each step prints one line per exchange, `name: repr(result)`; the Rust test
compares the output exactly. The certificate is self-signed: not verified.
"""

import imaplib
import ssl
import sys

MESSAGE = (
    b"From: mox@localhost\r\n"
    b"To: mox@localhost\r\n"
    b"Subject: moxide localserve test\r\n"
    b"Message-ID: <localserve-test-1@localhost>\r\n"
    b"\r\n"
    b"Hello from the localserve test.\r\n"
)


def context():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def show(name, value):
    print(f"{name}: {value!r}", flush=True)


def login_select(m):
    show("login", m.login("mox@localhost", "moxmoxmox")[0])
    show("select", m.select("INBOX"))


def main():
    step, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if step == "append-fetch":
        m = imaplib.IMAP4_SSL(host, port, ssl_context=context(), timeout=20)
        login_select(m)
        show("list", m.list())
        show("append", m.append("INBOX", r"(\Seen)", None, MESSAGE))
        show("fetch", m.fetch("1", "(UID FLAGS BODY.PEEK[])"))
        show("same", m.fetch("1", "(BODY.PEEK[])")[1][0][1] == MESSAGE)
        show("logout", m.logout()[0])
    elif step == "fetch":
        m = imaplib.IMAP4_SSL(host, port, ssl_context=context(), timeout=20)
        login_select(m)
        show("same", m.fetch("1", "(BODY.PEEK[])")[1][0][1] == MESSAGE)
        show("logout", m.logout()[0])
    elif step == "starttls":
        m = imaplib.IMAP4(host, port, timeout=20)
        show("plain STARTTLS offered", "STARTTLS" in m.capabilities)
        show("starttls", m.starttls(ssl_context=context())[0])
        show("tls STARTTLS offered", "STARTTLS" in m.capabilities)
        login_select(m)
        show("logout", m.logout()[0])
    else:
        sys.exit(f"unknown step {step}")


if __name__ == "__main__":
    main()
