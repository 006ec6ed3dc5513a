"""Client steps of the Postfix interop tests (tests/postfix_interop.rs),
with Python's smtplib and imaplib. The message is read from standard input.

Usage: postfix_interop.py STEP ...
  send HOST PORT FROM TO        SMTP without TLS (Postfix on loopback
                                relays for 127.0.0.0/8): EHLO, MAIL, RCPT,
                                DATA; prints `refused: {}`
  submit HOST PORT USER PASS FROM TO
                                submission with STARTTLS and AUTH as USER;
                                prints `refused: {}`
  fetch HOST IMAPS SUBJECT SECS waits up to SECS seconds for exactly one
                                message with SUBJECT in mox@localhost's
                                Inbox and writes its bytes to stdout

Certificates are self-signed: not verified (the tests check TLS on the
server side's log and headers).
"""

import imaplib
import smtplib
import ssl
import sys
import time


def context():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def main():
    step = sys.argv[1]
    if step in ("send", "submit"):
        host, port = sys.argv[2], int(sys.argv[3])
        if step == "submit":
            user, password = sys.argv[4], sys.argv[5]
        mail_from, rcpt_to = sys.argv[-2], sys.argv[-1]
        msg = sys.stdin.buffer.read()
        s = smtplib.SMTP(host, port, local_hostname="client.interop.test", timeout=30)
        if step == "submit":
            s.starttls(context=context())
            s.login(user, password)
        refused = s.sendmail(mail_from, [rcpt_to], msg)
        s.quit()
        print("refused:", refused)
    elif step == "fetch":
        host, port, subject, secs = sys.argv[2], int(sys.argv[3]), sys.argv[4], float(sys.argv[5])
        m = imaplib.IMAP4_SSL(host, port, ssl_context=context(), timeout=30)
        m.login("mox@localhost", "moxmoxmox")
        deadline = time.monotonic() + secs
        while True:
            m.select("INBOX")
            _, data = m.search(None, "SUBJECT", '"' + subject + '"')
            nums = data[0].split()
            if nums or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        if len(nums) != 1:
            sys.exit("found %d messages with subject %s" % (len(nums), subject))
        _, data = m.fetch(nums[0], "(BODY.PEEK[])")
        m.logout()
        sys.stdout.buffer.write(data[0][1])
    else:
        sys.exit("unknown step " + step)


if __name__ == "__main__":
    main()
