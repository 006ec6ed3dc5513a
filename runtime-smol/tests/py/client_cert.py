"""TLS client-certificate login with Python's imaplib and smtplib, for the
localserve tests: an ssl context carrying the client certificate.

Usage: client_cert.py HOST IMAP IMAPS SUBMISSIONS CA CERT KEY

  1. IMAPS: the greeting is PREAUTH, the state AUTH; SELECT INBOX.
  2. IMAP with STARTTLS: not authenticated; AUTHENTICATE EXTERNAL with an
     empty response logs in.
  3. submissions: EHLO, then sendmail without AUTH.
  4. IMAPS again: the message is in the Inbox.

Each check prints one line, `name: value`; the Rust test compares the
output exactly.
"""

import imaplib
import smtplib
import ssl
import sys


def context(ca, cert, key):
    ctx = ssl.create_default_context(cafile=ca)
    ctx.load_cert_chain(certfile=cert, keyfile=key)
    return ctx


def main():
    host, imap, imaps, submissions, ca, cert, key = sys.argv[1:8]
    ctx = context(ca, cert, key)

    m = imaplib.IMAP4_SSL(host, int(imaps), ssl_context=ctx)
    print("imaps-welcome-preauth:", m.welcome.startswith(b"* PREAUTH [CAPABILITY "))
    print("imaps-state:", m.state)
    typ, _ = m.select("INBOX")
    print("imaps-select:", typ)
    m.logout()

    m = imaplib.IMAP4(host, int(imap))
    m.starttls(ssl_context=ctx)
    print("starttls-state:", m.state)
    print("starttls-external-offered:", "AUTH=EXTERNAL" in m.capabilities)
    typ, data = m.authenticate("EXTERNAL", lambda _challenge: b"")
    print("starttls-external:", typ)
    m.logout()

    s = smtplib.SMTP_SSL(host, int(submissions), context=ctx)
    s.ehlo("client.example")
    refused = s.sendmail(
        "mox@localhost",
        ["mox@localhost"],
        b"From: mox@localhost\r\nSubject: python-client-cert\r\n\r\nsent by key\r\n",
    )
    print("submissions-refused:", refused)
    s.quit()

    m = imaplib.IMAP4_SSL(host, int(imaps), ssl_context=ctx)
    m.select("INBOX")
    typ, data = m.search(None, "SUBJECT", '"python-client-cert"')
    print("readback-count:", len(data[0].split()))
    m.logout()


if __name__ == "__main__":
    main()
