"""SMTP client steps for the localserve tests, with Python's smtplib; each
message is then read back over IMAPS with imaplib.

Usage: smtp_client.py STEP HOST PORT IMAPS_PORT
  smtp          port 1025: EHLO, STARTTLS, send to an unknown recipient
                (localserve delivers it to mox@localhost)
  submission    port 1587: AUTH PLAIN without TLS (loopback), send a
                message without Message-ID and Date
  submission-starttls  port 1587: STARTTLS, then as submission
  submissions   port 1465: implicit TLS, AUTH, send
  errors        port 1025: the recipients that fail on purpose
  readback SUBJECT   (PORT unused) the messages with SUBJECT: count, and of
                the first its header field names and body

Each step prints one line per check, `name: value`; the Rust test compares
the output exactly. The certificate is self-signed: not verified.
"""

import imaplib
import smtplib
import ssl
import sys
import uuid


def context():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def message(subject, full):
    head = b"From: mox@localhost\r\nTo: mox@localhost\r\nSubject: " + subject.encode() + b"\r\n"
    if full:
        head += b"Message-ID: <" + subject.encode() + b"@localhost>\r\n"
        head += b"Date: Tue, 02 Jan 2024 03:04:05 +0000\r\n"
    return head + b"\r\nHello from smtplib.\r\n"


def read_back(host, imaps, subject, count=1):
    """The first stored message with this subject (prefix + file)."""
    m = imaplib.IMAP4_SSL(host, imaps, ssl_context=context())
    m.login("mox@localhost", "moxmoxmox")
    m.select("INBOX")
    typ, data = m.search(None, "SUBJECT", '"' + subject + '"')
    nums = data[0].split()
    if len(nums) != count:
        raise SystemExit("found %d messages with subject %s" % (len(nums), subject))
    if count == 0:
        m.logout()
        return None
    typ, data = m.fetch(nums[0], "(BODY.PEEK[])")
    m.logout()
    return data[0][1]


def show_stored(stored, sent):
    print("received-prefix:", stored.startswith(b"Received: from "))
    print("stored-ends-with-sent:", stored.endswith(sent))


def main():
    step, host, port, imaps = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    if step == "readback":
        want = int(sys.argv[6]) if len(sys.argv) > 6 else 1
        stored = read_back(host, imaps, sys.argv[5], want)
        print("count:", want)
        if stored is None:
            return
        head, body = stored.split(b"\r\n\r\n", 1)
        names = [l.split(b":", 1)[0].decode() for l in head.split(b"\r\n") if l[:1] not in (b" ", b"\t")]
        print("fields:", " ".join(names))
        print("body:", repr(body))
        return
    subject = "moxide-" + step + "-" + uuid.uuid4().hex
    if step == "smtp":
        msg = message(subject, True)
        with smtplib.SMTP(host, port, local_hostname="client.example") as s:
            code, _ = s.ehlo()
            print("ehlo:", code)
            print("starttls-offered:", s.has_extn("starttls"))
            print("starttls:", s.starttls(context=context())[0])
            print("auth-offered:", s.has_extn("auth"))
            print("refused:", s.sendmail("sender@example.org", ["someone@elsewhere.example"], msg))
        show_stored(read_back(host, imaps, subject), msg)
    elif step in ("submission", "submission-starttls", "submissions"):
        msg = message(subject, False)
        if step == "submission":
            s = smtplib.SMTP(host, port, local_hostname="client.example")
        elif step == "submission-starttls":
            s = smtplib.SMTP(host, port, local_hostname="client.example")
            s.starttls(context=context())
        else:
            s = smtplib.SMTP_SSL(host, port, local_hostname="client.example", context=context())
        with s:
            s.ehlo()
            s.user, s.password = "mox@localhost", "moxmoxmox"
            print("login:", s.auth("PLAIN", s.auth_plain)[0])
            try:
                s.sendmail("other@example.org", ["mox@localhost"], msg)
            except smtplib.SMTPSenderRefused as e:
                print("wrong-mail-from:", e.smtp_code)
            print("refused:", s.sendmail("mox@localhost", ["mox@localhost"], msg))
        stored = read_back(host, imaps, subject)
        print("received-prefix:", stored.startswith(b"Received: from "))
        print("message-id-added:", b"\r\nMessage-ID: <" in stored)
        print("date-added:", b"\r\nDate: " in stored)
        print("stored-ends-with-sent:", stored.endswith(msg))
    elif step == "errors":
        msg = message(subject, True)
        with smtplib.SMTP(host, port, local_hostname="client.example") as s:
            for rcpt in ["temperror@localhost", "permerror@localhost", "x452@localhost"]:
                try:
                    s.sendmail("a@example.org", [rcpt], msg)
                    print(rcpt, "accepted")
                except smtplib.SMTPDataError as e:
                    print(rcpt + ":", "data", e.smtp_code, e.smtp_error.decode())
            try:
                s.sendmail("a@example.org", ["rcptto550@localhost"], msg)
            except smtplib.SMTPRecipientsRefused as e:
                for r, (code, text) in e.recipients.items():
                    print(r + ":", "rcpt", code, text.decode())
            try:
                s.sendmail("mailfrom451@localhost", ["mox@localhost"], msg)
            except smtplib.SMTPSenderRefused as e:
                print("mailfrom451@localhost:", "mail", e.smtp_code, e.smtp_error.decode())
    else:
        raise SystemExit("unknown step " + step)


main()
